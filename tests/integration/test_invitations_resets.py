"""Invitations and password reset: one-time links by e-mail, stored hashed (issue 16.1, 16.2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    ApiToken,
    Invitation,
    PaperRole,
    PasswordReset,
    Role,
    User,
    utcnow,
)
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import english, fresh, isolated_client, login
from workflows import accounts, invitations, jobs, resets
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed

NEW_PASSWORD = "Kastanienallee-Wochenmarkt-7"
LINK = re.compile(r"https?://\S+/(invitation|password/reset)/([A-Za-z0-9_-]+)")


@pytest.fixture
def outbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EmailMessage]]:
    """E-mails the app sends (through the real job path, with the SMTP call replaced)."""
    sent: list[EmailMessage] = []
    app.config["MAIL_SERVER"] = "smtp.invalid"
    monkeypatch.setattr(jobs, "_send", sent.append)
    yield sent


def delivered(outbox: list[EmailMessage], count: int = 1) -> list[EmailMessage]:
    assert jobs.wait_for_background_jobs(10)
    assert len(outbox) == count, [m["Subject"] for m in outbox]
    return outbox


def link_in(message: EmailMessage) -> tuple[str, str]:
    body = message.get_content()
    found = LINK.search(body)
    assert found, body
    return found.group(0), found.group(2)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")


# ---------------------------------------------------------------- invitations


def test_admin_invites_and_the_person_lands_on_the_papers(
    client: FlaskClient, world: factories.World, outbox: list[EmailMessage]
) -> None:
    english(world)
    login(client, world.admin.email)
    page = client.post(
        "/admin/invitations",
        data={"email": "Neu@Example.org", "organisation": world.city.id, "locale": "en"},
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Invitation sent to neu@example.org." in text
    assert "/invitation/" in text  # shown once for a hand-over without mail
    (message,) = delivered(outbox)
    assert message["To"] == "neu@example.org"
    assert message["Content-Language"] == "en"
    assert "Ada Admin" in message.get_content()
    url, token = link_in(message)
    # Stored hashed only: the token is nowhere in the database.
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None
    assert token not in (invitation.token_hash or "")
    assert invitation.token_hash == invitations.token_digest(token)

    browser = isolated_client(client.application, HTTP_ACCEPT_LANGUAGE="en")
    assert url.endswith(f"/invitation/{token}")
    form = browser.get(f"/invitation/{token}")
    assert form.status_code == 200
    assert "neu@example.org" in form.get_data(as_text=True)
    done = browser.post(
        f"/invitation/{token}",
        data={"display_name": "Nora Neu", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done.location == "/"
    assert "Nora Neu" in browser.get("/profile").get_data(as_text=True)
    fresh()
    user = db.session.scalar(select(User).where(User.email == "neu@example.org"))
    assert user is not None and user.organisation_id == world.city.id
    assert user.locale == "en"
    # The link works once.
    again = isolated_client(client.application, HTTP_ACCEPT_LANGUAGE="en").get(
        f"/invitation/{token}"
    )
    assert again.status_code == 404
    assert "not valid" in again.get_data(as_text=True)


def test_coordinator_invites_to_the_paper_with_a_role(
    client: FlaskClient, world: factories.World, outbox: list[EmailMessage]
) -> None:
    english(world)
    login(client, world.coordinator.email)
    settings = client.get(f"/papers/{world.paper.id}/settings").get_data(as_text=True)
    assert "Invite people without an account" in settings
    response = client.post(
        f"/papers/{world.paper.id}/invitations",
        data={
            "invite-email": "pia@ihk.example",
            "invite-organisation": world.chamber.id,
            "invite-role": "reviewer",
            "invite-locale": "de",
        },
    )
    assert response.status_code == 302
    (message,) = delivered(outbox)
    assert message["Content-Language"] == "de"
    assert world.paper.title in message.get_content()
    _url, token = link_in(message)
    listed = client.get(f"/papers/{world.paper.id}/settings").get_data(as_text=True)
    assert "pia@ihk.example" in listed

    browser = isolated_client(client.application, HTTP_ACCEPT_LANGUAGE="en")
    done = browser.post(
        f"/invitation/{token}",
        data={"display_name": "Pia Prüfer", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done.location == f"/papers/{world.paper.id}"
    assert world.paper.title in browser.get(done.location).get_data(as_text=True)
    fresh()
    user = db.session.scalar(select(User).where(User.email == "pia@ihk.example"))
    assert user is not None
    role = db.session.scalar(select(PaperRole).where(PaperRole.user_id == user.id))
    assert role is not None and role.role == Role.REVIEWER
    actions = db.session.scalars(
        select(ActivityEntry.action).where(ActivityEntry.paper_id == world.paper.id)
    ).all()
    assert "invitation.sent" in actions and "invitation.accepted" in actions


def test_who_may_invite(world: factories.World) -> None:
    # A coordinator only for their paper and its participating organisations.
    with pytest.raises(NotAllowed):
        invitations.invite(world.coordinator, "a@example.org", world.city)
    with pytest.raises(ValidationFailed):
        invitations.invite(
            world.coordinator, "a@example.org", world.outside, paper_id=world.paper.id
        )
    # An editor is no coordinator; an outsider does not even see the paper.
    with pytest.raises(NotAllowed):
        invitations.invite(world.editor, "a@example.org", world.city, paper_id=world.paper.id)
    with pytest.raises(NotFound):
        invitations.invite(world.outsider, "a@example.org", world.city, paper_id=world.paper.id)
    # An address with an account, a pending invitation, an unknown role.
    with pytest.raises(Duplicate):
        invitations.invite(world.admin, world.member.email, world.city)
    invitations.invite(world.admin, "b@example.org", world.city)
    with pytest.raises(Duplicate):
        invitations.invite(world.admin, "B@example.org", world.city)
    with pytest.raises(ValidationFailed):
        invitations.invite(
            world.coordinator, "c@example.org", world.city, paper_id=world.paper.id, role="boss"
        )
    with pytest.raises(ValidationFailed):
        invitations.invite(world.admin, "c@example.org", world.city, role="editor")


def test_expired_withdrawn_and_resent_links(world: factories.World) -> None:
    sent = invitations.invite(world.admin, "d@example.org", world.city)
    sent.invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(NotFound):
        invitations.accept(sent.token, "Dora", NEW_PASSWORD)
    # Resending makes a new link; the old one stays dead.
    again = invitations.resend(world.admin, sent.invitation.id)
    assert again.token != sent.token
    with pytest.raises(NotFound):
        invitations.by_token(sent.token)
    assert invitations.by_token(again.token).id == sent.invitation.id
    invitations.withdraw(world.admin, sent.invitation.id)
    with pytest.raises(NotFound):
        invitations.accept(again.token, "Dora", NEW_PASSWORD)
    with pytest.raises(ValidationFailed):
        invitations.resend(world.admin, sent.invitation.id)
    # Nobody but admins and the paper's coordinators sees it.
    with pytest.raises(NotFound):
        invitations.withdraw(world.coordinator, sent.invitation.id)


def test_weak_password_keeps_the_invitation_open(world: factories.World) -> None:
    sent = invitations.invite(world.admin, "e@example.org", world.city)
    with pytest.raises(ValidationFailed):
        invitations.accept(sent.token, "Eva", "passwort123")
    fresh()
    assert invitations.by_token(sent.token).accepted_at is None
    assert db.session.scalar(select(User).where(User.email == "e@example.org")) is None


def test_guessed_and_malformed_tokens_are_one_answer(client: FlaskClient, app: Flask) -> None:
    for token in ("x", "A" * 43, "A" * 500, "%00"):
        response = client.get(f"/invitation/{token}")
        assert response.status_code == 404
        reset = client.get(f"/password/reset/{token}")
        assert reset.status_code == 404


def test_api_invitation(world: factories.World, app: Flask, outbox: list[EmailMessage]) -> None:
    client = app.test_client()
    token = factories.token(world.coordinator)
    response = client.post(
        "/api/v1/invitations",
        json={
            "email": "api@example.org",
            "organisation": "CITY",
            "paper_id": world.paper.id,
            "role": "editor",
        },
        headers=api_headers(token),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["email"] == "api@example.org"
    assert body["role"] == "editor" and body["paper_id"] == world.paper.id
    assert "token" not in body and "link" not in body
    delivered(outbox)
    refused = client.post(
        "/api/v1/invitations",
        json={"email": "x@example.org", "organisation": "CITY"},
        headers=api_headers(token),
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    outsider = client.post(
        "/api/v1/invitations",
        json={"email": "x@example.org", "organisation": "CITY", "paper_id": world.paper.id},
        headers=api_headers(factories.token(world.outsider)),
    )
    assert outsider.status_code == 404
    bad = client.post(
        "/api/v1/invitations",
        json={"email": "x@example.org", "organisation": "NOPE"},
        headers=api_headers(factories.token(world.admin)),
    )
    assert bad.status_code == 422


# ---------------------------------------------------------------- password reset


def test_reset_flow_ends_every_login_and_token(
    client: FlaskClient, app: Flask, world: factories.World, outbox: list[EmailMessage]
) -> None:
    english(world)
    other = isolated_client(app)
    login(other, world.editor.email)
    api_token = factories.token(world.editor)

    page = client.post("/password/forgot", data={"email": world.editor.email})
    assert page.status_code == 200
    answer = page.get_data(as_text=True)
    assert "If an account exists for" in answer
    (message,) = delivered(outbox)
    url, token = link_in(message)
    assert "60 minutes" in message.get_content()
    assert client.get(f"/password/reset/{token}").status_code == 200
    done = client.post(
        f"/password/reset/{token}", data={"new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done.location == "/login"
    # "Your password was changed" goes out, the other login ended, the token is revoked.
    messages = delivered(outbox, 2)
    assert messages[1]["Subject"] == "Your password was changed"
    assert other.get("/").status_code == 302
    api = app.test_client().get("/api/v1/papers", headers=api_headers(api_token))
    assert api.status_code == 401
    fresh()
    assert db.session.scalars(select(ApiToken.revoked_at)).all()[0] is not None
    login(isolated_client(app), world.editor.email, NEW_PASSWORD)
    # Single use.
    assert client.get(f"/password/reset/{token}").status_code == 404


def test_unknown_address_gets_the_same_answer(
    client: FlaskClient, world: factories.World, outbox: list[EmailMessage]
) -> None:
    english(world)
    known = client.post("/password/forgot", data={"email": world.member.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"})
    invalid = client.post("/password/forgot", data={"email": "not an address"})
    strip = re.compile(r"(name=\"csrf[^\"]*\" (content|value)=\"[^\"]*\")|\S+@\S+|not an address")
    texts = [strip.sub("", r.get_data(as_text=True)) for r in (known, unknown, invalid)]
    assert known.status_code == unknown.status_code == 200
    assert texts[0] == texts[1]
    assert len(delivered(outbox)) == 1


def test_reset_requests_are_throttled(
    client: FlaskClient, app: Flask, world: factories.World, outbox: list[EmailMessage]
) -> None:
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "3 per 15 minutes"
    statuses = [
        client.post("/password/forgot", data={"email": world.member.email}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert len(delivered(outbox, 3)) == 3


def test_reset_link_expires_and_weak_password_is_refused(world: factories.World) -> None:
    link = resets.request_reset(world.member.email)
    assert link is not None
    with pytest.raises(ValidationFailed):
        resets.reset_password(link.token, "12345678901")
    row = db.session.scalar(select(PasswordReset))
    assert row is not None and row.token_hash != link.token
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(NotFound):
        resets.reset_password(link.token, NEW_PASSWORD)
    # Inactive accounts get no link at all.
    accounts.deactivate_user(world.member.email)
    assert resets.request_reset(world.member.email) is None


def test_all_links_of_a_user_end_with_one_reset(world: factories.World) -> None:
    first = resets.request_reset(world.member.email)
    second = resets.request_reset(world.member.email)
    assert first is not None and second is not None
    resets.reset_password(second.token, NEW_PASSWORD)
    with pytest.raises(NotFound):
        resets.by_token(first.token)


def test_login_page_links_to_the_reset(client: FlaskClient) -> None:
    assert "/password/forgot" in client.get("/login").get_data(as_text=True)


def test_cli_invite_prints_the_link(app: Flask, world: factories.World) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "invite",
            "--email",
            "cli@example.org",
            "--organisation",
            "IHK",
            "--paper",
            str(world.paper.id),
            "--role",
            "signatory",
        ]
    )
    assert result.exit_code == 0, result.output
    found = LINK.search(result.output)
    assert found
    fresh()
    invitation = invitations.by_token(found.group(2))
    assert invitation.role == Role.SIGNATORY and invitation.invited_by_id is None
    refused = app.test_cli_runner().invoke(
        args=["users", "invite", "--email", "cli2@example.org", "--organisation", "OUT",
              "--paper", str(world.paper.id)]
    )  # fmt: skip
    assert refused.exit_code != 0
    # The CLI speaks the installation's default language.
    assert "nicht beteiligt" in refused.output or "does not take part" in refused.output
