"""Administration for hundreds of people: search and paging, last login, deactivate and
reactivate, and the administrators' own hash-chained log (issue 16.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from drafting.extensions import db
from drafting.models import AdminLogEntry, User, utcnow
from tests import factories
from tests.integration.support import english, fresh, isolated_client, login
from workflows import accounts, adminlog
from workflows.errors import NotAllowed


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")


def test_user_list_searches_and_pages(client: FlaskClient, world: factories.World) -> None:
    english(world)
    for n in range(120):
        factories.user(world.chamber, f"person{n:03d}@ihk.example", name=f"Person {n:03d}")
    login(client, world.admin.email)
    first = client.get("/admin/users").get_data(as_text=True)
    assert "127 accounts found" in first
    assert "Page 1 of 3" in first and 'rel="next"' in first
    third = client.get("/admin/users?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in third and "Person 119" in third
    found = client.get("/admin/users?q=person01").get_data(as_text=True)
    assert "10 accounts found" in found  # person010 … person019
    by_org = client.get("/admin/users?q=IHK").get_data(as_text=True)
    assert "121 accounts found" in by_org  # the reviewer and the 120
    # A wildcard typed by the user is a character, not a pattern.
    assert "0 accounts found" in client.get("/admin/users?q=%25").get_data(as_text=True)
    admins = client.get("/admin/users?state=admin").get_data(as_text=True)
    assert "1 account found" in admins
    assert client.get("/admin/users?state=bogus&page=99999").status_code == 200


def test_dormant_accounts_are_flagged(client: FlaskClient, world: factories.World) -> None:
    english(world)
    old = utcnow() - timedelta(days=400)
    db.session.execute(
        update(User).where(User.id == world.member.id).values(created_at=old, last_login_at=old)
    )
    db.session.commit()
    login(client, world.admin.email)
    page = client.get("/admin/users?state=dormant").get_data(as_text=True)
    assert "1 account found" in page
    assert world.member.display_name in page and "long unused" in page
    # Logging in records the last login and ends the flag.
    login(isolated_client(client.application), world.member.email)
    fresh()
    member = db.session.get(User, world.member.id)
    assert member is not None and member.last_login_at is not None
    assert member.last_login_at > utcnow() - timedelta(minutes=1)
    assert "0 accounts found" in client.get("/admin/users?state=dormant").get_data(as_text=True)


def test_organisation_list_searches(client: FlaskClient, world: factories.World) -> None:
    english(world)
    login(client, world.admin.email)
    page = client.get("/admin/organisations?q=ihk").get_data(as_text=True)
    assert "1 organisation found" in page
    assert world.chamber.name in page


def test_deactivate_and_reactivate(app: Flask, client: FlaskClient, world: factories.World) -> None:
    english(world)
    member = isolated_client(app)
    login(member, world.member.email)
    login(client, world.admin.email)
    response = client.post(f"/admin/users/{world.member.id}/deactivate")
    assert response.status_code == 302
    assert member.get("/").status_code == 302  # logged out
    assert (
        isolated_client(app)
        .post("/login", data={"email": world.member.email, "password": factories.PASSWORD})
        .status_code
        == 200
    )  # refused, the form again
    client.post(f"/admin/users/{world.member.id}/activate")
    login(isolated_client(app), world.member.email)
    with pytest.raises(NotAllowed):
        accounts.set_active(world.admin, world.admin.id, False)
    with pytest.raises(NotAllowed):
        accounts.set_active(world.editor, world.member.id, False)
    fresh()
    actions = db.session.scalars(select(AdminLogEntry.action).order_by(AdminLogEntry.seq)).all()
    assert actions[-2:] == ["user.deactivated", "user.reactivated"]


def test_admin_log_is_chained_and_names_nobody(client: FlaskClient, world: factories.World) -> None:
    english(world)
    login(client, world.admin.email)
    client.post(
        "/admin/users",
        data={
            "email": "neu@example.org",
            "display_name": "Nina Neu",
            "organisation": world.city.id,
            "locale": "de",
            "password": "Kastanienallee-Wochenmarkt-7",
        },
    )
    client.post(
        f"/admin/users/{world.member.id}/password",
        data={"new_password": "Lindenstrasse-Fahrradweg-42"},
    )
    accounts.create_organisation("Handwerkskammer", "HWK", "chamber", audit_as="cli")
    assert adminlog.verify() == []
    entries = db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.seq)).all()
    assert [e.action for e in entries] == [
        "user.created",
        "user.password_set",
        "organisation.created",
    ]
    assert entries[0].actor_id == world.admin.id and entries[2].actor_id is None
    assert entries[2].details == {"via": "cli", "kind": "chamber"}
    # No name or address inside the hashed content.
    for entry in entries:
        text = repr(entry.details)
        assert "@" not in text and "Nina" not in text
    page = client.get("/admin/log").get_data(as_text=True)
    assert "the chain is intact" in page
    assert "Nina Neu" in page and "command line" in page
    assert "Password set by an administrator" in page

    # Changing an entry behind the application's back breaks the chain, and the page says so.
    db.session.execute(
        update(AdminLogEntry).where(AdminLogEntry.seq == 2).values(target_id=world.editor.id)
    )
    db.session.commit()
    problems = adminlog.verify()
    assert [(p.seq, p.problem) for p in problems] == [(2, "content was altered")]
    assert "hash chain is broken" in client.get("/admin/log").get_data(as_text=True)
    result = client.application.test_cli_runner().invoke(args=["audit", "verify", "--all"])
    assert result.exit_code != 0
    assert "administrators' log, entry 2: content was altered" in result.output


def test_admin_log_notices_cut_off_entries(world: factories.World) -> None:
    accounts.create_organisation("Kammer A", "KA", "chamber", audit_as="cli")
    accounts.create_organisation("Kammer B", "KB", "chamber", audit_as="cli")
    newest = db.session.scalar(select(AdminLogEntry).where(AdminLogEntry.seq == 2))
    db.session.delete(newest)
    db.session.commit()
    assert [p.problem for p in adminlog.verify()] == ["the newest entries are missing"]


def test_only_admins_see_the_admin_pages(client: FlaskClient, world: factories.World) -> None:
    login(client, world.coordinator.email)
    for path in ("/admin/users", "/admin/log", "/admin/invitations", "/admin/organisations"):
        assert client.get(path).status_code == 403
    assert client.post(f"/admin/users/{world.member.id}/deactivate").status_code == 403
