"""Personal data (GDPR): the copy of a person's data (Art. 15) and erasure with integrity
(Art. 17) — issue 16.4."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ActivityEntry, Draft, Notification, PaperRole, User
from exports.builder import build_document
from exports.collect import collect
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import configured_app, english, fresh, isolated_client, login
from workflows import activity, adminlog, comments, privacy, signoff, suggestions
from workflows import sections as section_flow
from workflows.errors import InvalidTransition, NotAllowed

NAME = "Emil Redaktion"
EMAIL = "editor@example.org"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def busy(world: factories.World) -> factories.World:
    """The editor wrote the section, commented, suggested, autosaved a draft, was notified,
    and the paper went into sign-off (an edition exists)."""
    english(world)
    comments.add_comment(world.editor, world.section.id, "Bitte die Zahlen prüfen.", quote="")
    comments.add_comment(world.reviewer, world.section.id, "Erledigt?", quote="")
    head = world.section.head
    assert head is not None
    suggestions.create_suggestion(
        world.member,
        world.section.id,
        body=head.body + "\n\nNoch ein Satz.",
        base_version=head.number,
        note="Ergänzung",
    )
    suggestions.create_suggestion(
        world.editor,
        world.section.id,
        body=head.body + "\n\nVom Editor.",
        base_version=head.number,
        note="Ergänzung",
    )
    section_flow.save_draft(
        world.editor, world.section.id, title=head.title, body="Entwurf", base_version=head.number
    )
    factories.approve_all(world)
    signoff.start(world.coordinator, world.paper.id)
    return world


def test_a_person_gets_a_copy_of_their_data(client: FlaskClient, busy: factories.World) -> None:
    login(client, EMAIL)
    page = client.get("/profile/data")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Personal data stored about Emil Redaktion" in text
    assert "Bitte die Zahlen prüfen." in text
    download = client.get("/profile/data?format=json")
    assert download.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(download.get_data(as_text=True))
    assert data["profile"]["email"] == EMAIL
    assert {r["role"] for r in data["roles"]} == {"editor"}
    assert data["versions"] and data["versions"][0]["role"] == "author"
    assert [c["text"] for c in data["comments"]] == ["Bitte die Zahlen prüfen."]
    assert data["suggestions"][0]["note"] == "Ergänzung"
    assert data["drafts"][0]["text"] == "Entwurf"
    assert data["logins"] and data["activity_log"]
    assert any(e["action"] == "role.granted" and not e["by_me"] for e in data["activity_log"])
    # Only one's own: the reviewer's comment is not in it.
    assert "Erledigt?" not in download.get_data(as_text=True)
    api = client.application.test_client().get(
        "/api/v1/me/export", headers=api_headers(factories.token(busy.editor))
    )
    assert api.status_code == 200 and api.get_json()["profile"]["name"] == NAME
    # Administrators can produce it for a person; nobody else can.
    admin = isolated_client(client.application, HTTP_ACCEPT_LANGUAGE="en")
    login(admin, busy.admin.email)
    assert "Bitte die Zahlen prüfen." in admin.get(f"/admin/users/{busy.editor.id}/data").get_data(
        as_text=True
    )
    assert client.get(f"/admin/users/{busy.reviewer.id}/data").status_code == 403


def _pages(paper_id: int, section_id: int, suggestion_id: int) -> list[str]:
    return [
        "/",
        f"/papers/{paper_id}",
        f"/papers/{paper_id}/settings",
        f"/papers/{paper_id}/activity",
        f"/papers/{paper_id}/activity.csv",
        f"/papers/{paper_id}/signoff",
        f"/papers/{paper_id}/editions",
        f"/papers/{paper_id}/editions/1",
        f"/papers/{paper_id}/editions/1/record",
        f"/papers/{paper_id}/print",
        f"/sections/{section_id}/history",
        f"/sections/{section_id}/versions/1",
        f"/sections/{section_id}/comments",
        f"/sections/{section_id}/review",
        f"/sections/{section_id}/suggestions",
        f"/suggestions/{suggestion_id}",
        "/search?q=Zahlen",
        "/my-work",
        "/inbox",
    ]


def _api(paper_id: int, section_id: int, suggestion_id: int) -> list[str]:
    return [
        f"/api/v1/papers/{paper_id}",
        f"/api/v1/papers/{paper_id}/activity",
        f"/api/v1/papers/{paper_id}/editions/1",
        f"/api/v1/papers/{paper_id}/signoff",
        f"/api/v1/sections/{section_id}",
        f"/api/v1/sections/{section_id}/versions",
        f"/api/v1/sections/{section_id}/comments",
        f"/api/v1/sections/{section_id}/suggestions",
        f"/api/v1/suggestions/{suggestion_id}",
        "/api/v1/search?q=Zahlen",
    ]


def test_erasure_removes_name_and_address_everywhere_and_keeps_integrity(
    app: Flask, client: FlaskClient, busy: factories.World
) -> None:
    paper_id, section_id, editor_id = busy.paper.id, busy.section.id, busy.editor.id
    suggestion_id = suggestions.for_section(section_id)[-1].id
    token = factories.token(busy.coordinator)
    login(client, busy.admin.email)
    page = client.get(f"/admin/users/{editor_id}")
    assert "Erase this person" in page.get_data(as_text=True)
    # The address must be typed to confirm.
    client.post(f"/admin/users/{editor_id}/erase", data={"confirm_email": "wrong@example.org"})
    fresh()
    assert db.session.get(User, editor_id).email == EMAIL  # type: ignore[union-attr]
    done = client.post(f"/admin/users/{editor_id}/erase", data={"confirm_email": EMAIL})
    assert done.status_code == 302
    fresh()
    erased = db.session.get(User, editor_id)
    assert erased is not None
    pseudonym = f"Ehemalige Person (CITY) #{editor_id}"
    assert erased.display_name == pseudonym and not erased.active
    assert EMAIL not in erased.email
    assert db.session.scalar(select(Draft).where(Draft.user_id == editor_id)) is None
    assert db.session.scalar(select(Notification).where(Notification.user_id == editor_id)) is None
    assert db.session.scalar(select(PaperRole).where(PaperRole.user_id == editor_id)) is None

    coordinator = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
    login(coordinator, busy.coordinator.email)
    seen_pseudonym = False
    for path in _pages(paper_id, section_id, suggestion_id):
        response = coordinator.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert NAME not in text and EMAIL not in text, path
        seen_pseudonym = seen_pseudonym or pseudonym in text
    assert seen_pseudonym
    api = app.test_client()
    for path in _api(paper_id, section_id, suggestion_id):
        response = api.get(path, headers=api_headers(token))
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert NAME not in text and EMAIL not in text, path
    # A fresh Word export (with comments) names nobody who left.
    docx = build_document(collect(paper_id, comments=True), comments=True)
    with zipfile.ZipFile(io.BytesIO(docx)) as parts:
        xml = "".join(parts.read(n).decode("utf-8", "replace") for n in parts.namelist()
                      if n.endswith(".xml"))  # fmt: skip
    assert NAME not in xml and EMAIL not in xml
    # The database holds neither any more (other than in nothing: checked table by table).
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).all():
            flat = repr(tuple(row))
            assert EMAIL not in flat and NAME not in flat, table.name
    # Integrity: every chain and every edition verifies.
    assert activity.verify(paper_id) == []
    assert adminlog.verify() == []
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--all"]).exit_code == 0
    assert runner.invoke(args=["editions", "verify", "--all"]).exit_code == 0
    # Role entries still read well: by the pseudonym.
    activity_page = coordinator.get(f"/papers/{paper_id}/activity").get_data(as_text=True)
    assert f"{pseudonym} (CITY) the role Editor" in activity_page
    # And the log of the erasure itself.
    assert "Person erased" in client.get("/admin/log").get_data(as_text=True)
    # The erased account cannot log in, reset, or be erased twice meaningfully.
    assert (
        isolated_client(app)
        .post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
        .status_code
        == 200
    )


def test_changing_hashed_content_still_breaks_the_chain(busy: factories.World) -> None:
    privacy.erase(busy.admin, busy.editor.id)
    entry = db.session.scalar(
        select(ActivityEntry).where(ActivityEntry.action == "role.granted").limit(1)
    )
    assert entry is not None
    entry.details = {**entry.details, "role": "signatory", "user_id": busy.reviewer.id}
    db.session.commit()
    assert [p.problem for p in activity.verify(busy.paper.id)] == ["content was altered"]


def test_only_admins_erase_and_not_themselves(app: Flask, busy: factories.World) -> None:
    with pytest.raises(NotAllowed):
        privacy.erase(busy.coordinator, busy.editor.id)
    with pytest.raises(NotAllowed):
        privacy.erase(busy.admin, busy.admin.id)
    api = app.test_client()
    refused = api.post(
        f"/api/v1/admin/users/{busy.editor.id}/erase",
        headers=api_headers(factories.token(busy.coordinator)),
    )
    assert refused.status_code == 403
    done = api.post(
        f"/api/v1/admin/users/{busy.editor.id}/erase",
        headers=api_headers(factories.token(busy.admin)),
    )
    assert done.status_code == 200
    assert done.get_json() == {"pseudonym": f"Ehemalige Person (CITY) #{busy.editor.id}"}


def test_cli_export_and_erase(app: Flask, busy: factories.World) -> None:
    runner = app.test_cli_runner()
    out = runner.invoke(args=["users", "export", "--email", EMAIL])
    assert out.exit_code == 0 and json.loads(out.output)["profile"]["name"] == NAME
    gone = runner.invoke(args=["users", "erase", "--email", EMAIL, "--yes"])
    assert gone.exit_code == 0 and "Ehemalige Person (CITY)" in gone.output
    assert runner.invoke(args=["users", "export", "--email", EMAIL]).exit_code != 0


def test_erasure_ends_roles_in_the_papers_logs(busy: factories.World) -> None:
    privacy.erase(busy.admin, busy.editor.id)
    ended = db.session.scalars(
        select(ActivityEntry).where(
            ActivityEntry.paper_id == busy.paper.id, ActivityEntry.action == "role.revoked"
        )
    ).all()
    assert [(e.details["user_id"], e.details["reason"]) for e in ended] == [
        (busy.editor.id, "erased")
    ]
    assert activity.verify(busy.paper.id) == []


def test_the_only_coordinator_cannot_be_erased(busy: factories.World) -> None:
    with pytest.raises(InvalidTransition, match="only coordinator|einzige Koordination"):
        privacy.erase(busy.admin, busy.coordinator.id)
    fresh()
    assert db.session.get(User, busy.coordinator.id).email == busy.coordinator.email  # type: ignore[union-attr]


def test_one_time_links_stay_out_of_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "S3cr3t-one-time-token-value"
    with configured_app(tmp_path, LOG_REQUESTS=True) as logged:
        caplog.set_level("INFO")
        browser = logged.test_client()
        assert browser.get(f"/password/reset/{secret}").status_code == 404
        assert browser.get(f"/invitation/{secret}").status_code == 404
    lines = [r for r in caplog.records if r.name.startswith("konzeptwerk")]
    assert any("/password/reset/[redacted]" in r.getMessage() for r in lines)
    assert secret not in caplog.text
    assert all(secret not in str(getattr(r, "path", "")) for r in caplog.records)
