"""The JSON API under /api/v1: every endpoint, and every error status it documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Paper, PaperRole, PaperStatus, Role, Section, SectionVersion
from tests import factories
from tests.conftest import api_headers
from tests.support import Api, configured_app, isolated_client, login
from workflows import accounts
from workflows import sections as section_flow

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app)


@pytest.fixture
def as_editor(app: Flask, world: factories.World) -> Api:
    return Api(app, world.editor)


@pytest.fixture
def as_coordinator(app: Flask, world: factories.World) -> Api:
    return Api(app, world.coordinator)


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check an error answer and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- papers


def test_list_papers(as_editor: Api, world: factories.World) -> None:
    factories.paper(world.outsider, "Fremdes Konzept")
    response = as_editor.get("/papers")
    assert response.status_code == 200
    [paper] = response.get_json()["papers"]
    assert paper["id"] == world.paper.id
    assert paper["title"] == world.paper.title
    assert paper["lead_organisation"] == "MIN"
    assert paper["status"] == "drafting"


def test_create_paper(as_editor: Api, world: factories.World) -> None:
    response = as_editor.post("/papers", {"title": "Wochenmarkt", "summary": "Mehr Stände."})
    assert response.status_code == 201
    paper = response.get_json()
    assert (paper["title"], paper["summary"], paper["lead_organisation"]) == (
        "Wochenmarkt",
        "Mehr Stände.",
        "CITY",
    )
    assert paper["participants"] == ["CITY"]
    assert paper["sections"] == []
    roles = db.session.scalars(select(PaperRole).where(PaperRole.paper_id == paper["id"])).all()
    assert [(r.user_id, r.role) for r in roles] == [(world.editor.id, Role.COORDINATOR)]
    assert as_editor.post("/papers", {"title": "Ohne Zusammenfassung"}).status_code == 201


def test_get_paper(as_editor: Api, world: factories.World) -> None:
    second = factories.section(world.editor, world.paper, title="Ziele", level=2)
    section_flow.save_section(world.editor, second.id, body="Neu.", base_version=1)
    response = as_editor.get(f"/papers/{world.paper.id}")
    assert response.status_code == 200
    paper = response.get_json()
    assert {
        "id",
        "title",
        "summary",
        "status",
        "lead_organisation",
        "participants",
        "sections",
    } <= paper.keys()
    assert paper["participants"] == ["CITY", "IHK", "MIN"]
    assert paper["sections"] == [
        {"id": world.section.id, "title": "Ausgangslage", "level": 1, "position": 1, "version": 1},
        {"id": second.id, "title": "Ziele", "level": 2, "position": 2, "version": 2},
    ]


def test_add_participant(as_coordinator: Api, world: factories.World) -> None:
    response = as_coordinator.post(
        f"/papers/{world.paper.id}/participants", {"organisation": "OUT"}
    )
    assert response.status_code == 201
    assert response.get_json()["participants"] == ["CITY", "IHK", "MIN", "OUT"]
    body = error(
        as_coordinator.post(f"/papers/{world.paper.id}/participants", {"organisation": "NOPE"}),
        422,
        "validation_failed",
    )
    assert body["field"] == "organisation"
    error(
        as_coordinator.post(f"/papers/{world.paper.id}/participants", {"organisation": 3}),
        422,
        "validation_failed",
    )


def test_participants_are_frozen_during_sign_off(
    as_coordinator: Api, world: factories.World
) -> None:
    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    error(
        as_coordinator.post(f"/papers/{world.paper.id}/participants", {"organisation": "OUT"}),
        409,
        "invalid_transition",
    )


def test_grant_role(as_coordinator: Api, world: factories.World) -> None:
    response = as_coordinator.post(
        f"/papers/{world.paper.id}/roles", {"email": world.member.email, "role": "signatory"}
    )
    assert response.status_code == 201
    granted = response.get_json()
    assert (granted["email"], granted["role"]) == (world.member.email, "signatory")
    assert db.session.get_one(PaperRole, granted["id"]).user_id == world.member.id

    body = error(
        as_coordinator.post(
            f"/papers/{world.paper.id}/roles", {"email": world.member.email, "role": "owner"}
        ),
        422,
        "validation_failed",
    )
    assert body["field"] == "role"
    body = error(
        as_coordinator.post(
            f"/papers/{world.paper.id}/roles", {"email": world.outsider.email, "role": "editor"}
        ),
        422,
        "validation_failed",
    )
    assert body["field"] == "email"
    error(
        as_coordinator.post(f"/papers/{world.paper.id}/roles", {"role": "editor"}),
        422,
        "validation_failed",
    )


# ---------------------------------------------------------------- sections and versions


def test_create_section(as_editor: Api, world: factories.World) -> None:
    response = as_editor.post(
        f"/papers/{world.paper.id}/sections",
        {"title": "Ziele", "level": 2, "body": "- mehr Grün", "note": "Entwurf"},
    )
    assert response.status_code == 201
    section = response.get_json()
    assert section["version"] == 1
    assert (section["paper_id"], section["title"], section["level"], section["body"]) == (
        world.paper.id,
        "Ziele",
        2,
        "- mehr Grün",
    )
    stored = db.session.get_one(Section, section["id"])
    assert stored.head is not None and stored.head.note == "Entwurf"
    assert stored.head.author_id == world.editor.id
    # Level and body are optional.
    minimal = as_editor.post(f"/papers/{world.paper.id}/sections", {"title": "Kurz"})
    assert (minimal.status_code, minimal.get_json()["level"], minimal.get_json()["body"]) == (
        201,
        1,
        "",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Ziele", "level": 7}, "level"),
        ({"title": "Ziele", "level": 0}, "level"),
        ({"title": "Ziele", "level": "zwei"}, "level"),
        ({"title": "Ziele", "level": True}, "level"),
        ({"title": 5}, "title"),
        ({"title": "Ziele", "body": ["a"]}, "body"),
    ],
    ids=[
        "empty title",
        "blank title",
        "long title",
        "level 7",
        "level 0",
        "level word",
        "level bool",
        "title number",
        "body list",
    ],
)
def test_create_section_refuses_invalid_input(
    as_editor: Api, world: factories.World, payload: dict[str, Any], field: str
) -> None:
    before = count(Section)
    body = error(
        as_editor.post(f"/papers/{world.paper.id}/sections", payload), 422, "validation_failed"
    )
    assert body["field"] == field
    assert count(Section) == before


def test_get_section(as_editor: Api, world: factories.World) -> None:
    response = as_editor.get(f"/sections/{world.section.id}")
    assert response.status_code == 200
    section = response.get_json()
    assert {k: section[k] for k in ("id", "paper_id", "title", "level", "body", "version")} == {
        "id": world.section.id,
        "paper_id": world.paper.id,
        "title": "Ausgangslage",
        "level": 1,
        "body": BODY,
        "version": 1,
    }
    assert section["updated_by"] == world.editor.display_name


def test_save_section(as_editor: Api, world: factories.World) -> None:
    response = as_editor.put(
        f"/sections/{world.section.id}",
        {"body": BODY + "\n\nUnd von Kultur.", "base_version": 1, "note": "Kultur"},
    )
    assert response.status_code == 200
    saved = response.get_json()
    assert (saved["version"], saved["created"], saved["merged"], saved["merged_with"]) == (
        2,
        True,
        False,
        None,
    )
    assert saved["body"].endswith("Und von Kultur.")

    again = as_editor.put(
        f"/sections/{world.section.id}", {"body": BODY + "\n\nUnd von Kultur.", "base_version": 2}
    )
    assert again.status_code == 200
    assert (again.get_json()["version"], again.get_json()["created"]) == (2, False)
    assert count(SectionVersion) == 2


def test_save_section_merges_edits_that_do_not_overlap(
    as_editor: Api, as_coordinator: Api, world: factories.World
) -> None:
    first = as_editor.put(
        f"/sections/{world.section.id}",
        {
            "body": "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen.",
            "base_version": 1,
        },
    )
    assert first.get_json()["version"] == 2
    second = as_coordinator.put(
        f"/sections/{world.section.id}",
        {
            "body": "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt.",
            "base_version": 1,
        },
    )
    assert second.status_code == 200
    merged = second.get_json()
    assert (merged["version"], merged["merged"], merged["merged_with"]) == (3, True, 2)
    assert merged["body"] == "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen am Markt."


def test_save_section_answers_an_edit_conflict_with_both_texts(
    as_editor: Api, as_coordinator: Api, world: factories.World
) -> None:
    as_editor.put(
        f"/sections/{world.section.id}",
        {
            "body": "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen.",
            "base_version": 1,
        },
    )
    mine = "Die Innenstadt lebt vom Tourismus.\n\nUnd vom Wohnen."
    body = error(
        as_coordinator.put(f"/sections/{world.section.id}", {"body": mine, "base_version": 1}),
        409,
        "edit_conflict",
    )
    assert body["base_version"] == 1
    assert body["current"]["version"] == 2
    assert body["current"]["body"].startswith("Die Innenstadt lebt vom Handwerk.")
    assert body["yours"]["body"] == mine
    [conflict] = body["conflicts"]
    assert {"base_start", "base_end", "theirs", "yours"} <= conflict.keys()
    assert "Handwerk" in conflict["theirs"] and "Tourismus" in conflict["yours"]
    # Issue 11: the conflict is the whole sentence, as it was and as each side wrote it.
    assert BODY[conflict["base_start"] : conflict["base_end"]] == "Die Innenstadt lebt vom Handel."
    assert conflict["base"] == "Die Innenstadt lebt vom Handel."
    assert conflict["unit"] == "sentence"
    assert conflict["theirs"] == "Die Innenstadt lebt vom Handwerk."
    assert conflict["yours"] == "Die Innenstadt lebt vom Tourismus."
    assert conflict["theirs_author"] == {
        "name": world.editor.display_name,
        "organisation": world.editor.organisation.short_name,
    }
    assert conflict["theirs_version"] == 2
    assert count(SectionVersion) == 2


def test_save_section_refuses_while_the_paper_is_frozen(
    as_editor: Api, world: factories.World
) -> None:
    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    body = error(
        as_editor.put(f"/sections/{world.section.id}", {"body": "Neu.", "base_version": 1}),
        409,
        "paper_locked",
    )
    assert body["status"] == "signing"
    error(
        as_editor.post(f"/papers/{world.paper.id}/sections", {"title": "Neu"}), 409, "paper_locked"
    )
    assert count(SectionVersion) == 1


def test_save_section_refuses_a_removed_section_and_returns_the_text(
    as_editor: Api, world: factories.World
) -> None:
    section_flow.remove_section(world.coordinator, world.section.id)
    body = error(
        as_editor.put(f"/sections/{world.section.id}", {"body": "Mein Text.", "base_version": 1}),
        409,
        "section_removed",
    )
    assert body["yours"]["body"] == "Mein Text."
    assert count(SectionVersion) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "Neu."}, "base_version"),
        ({"body": "Neu.", "base_version": "1"}, "base_version"),
        ({"body": "Neu.", "base_version": True}, "base_version"),
        ({"body": "Neu.", "base_version": 9}, "base_version"),
        ({"base_version": 1}, "body"),
        ({"body": "Neu.", "base_version": 1, "title": ""}, "title"),
        ({"body": "Neu.", "base_version": 1, "title": 3}, "title"),
        ({"body": "Neu.", "base_version": 1, "level": 7}, "level"),
    ],
    ids=[
        "no base",
        "base string",
        "base bool",
        "base unknown",
        "no body",
        "empty title",
        "title number",
        "level 7",
    ],
)
def test_save_section_refuses_invalid_input(
    as_editor: Api, world: factories.World, payload: dict[str, Any], field: str
) -> None:
    body = error(as_editor.put(f"/sections/{world.section.id}", payload), 422, "validation_failed")
    assert body["field"] == field
    assert count(SectionVersion) == 1


def test_versions(as_editor: Api, world: factories.World) -> None:
    section_flow.save_section(
        world.editor, world.section.id, body="Zweite.", base_version=1, note="kürzer"
    )
    response = as_editor.get(f"/sections/{world.section.id}/versions")
    assert response.status_code == 200
    listed = response.get_json()["versions"]
    assert [v["number"] for v in listed] == [2, 1]
    assert listed[0]["note"] == "kürzer"
    assert listed[0]["author"] == world.editor.display_name
    assert "body" not in listed[0]

    one = as_editor.get(f"/sections/{world.section.id}/versions/1")
    assert one.status_code == 200
    assert (one.get_json()["number"], one.get_json()["body"]) == (1, BODY)
    error(as_editor.get(f"/sections/{world.section.id}/versions/3"), 404, "not_found")


def test_diff(as_editor: Api, world: factories.World) -> None:
    section_flow.save_section(
        world.editor,
        world.section.id,
        base_version=1,
        body="Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen.",
    )
    response = as_editor.get(f"/sections/{world.section.id}/diff?from=1&to=2")
    assert response.status_code == 200
    diff = response.get_json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert [-1, "Handel"] in diff["ops"]
    assert [1, "Handwerk"] in diff["ops"]
    assert "".join(t for op, t in diff["ops"] if op != 1) == BODY
    assert "<del>" in diff["html"] and "<ins>" in diff["html"]

    error(as_editor.get(f"/sections/{world.section.id}/diff?from=1"), 422, "validation_failed")
    error(as_editor.get(f"/sections/{world.section.id}/diff?from=a&to=2"), 422, "validation_failed")
    error(as_editor.get(f"/sections/{world.section.id}/diff?from=1&to=5"), 404, "not_found")


# ---------------------------------------------------------------- errors every endpoint shares


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/papers"),
        ("post", "/papers/{paper}/participants"),
        ("post", "/papers/{paper}/roles"),
        ("post", "/papers/{paper}/sections"),
        ("put", "/sections/{section}"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: FlaskClient, world: factories.World, method: str, url: str
) -> None:
    headers = api_headers(factories.token(world.coordinator))
    url = "/api/v1" + url.format(paper=world.paper.id, section=world.section.id)
    send = getattr(client, method)
    error(
        send(
            url,
            data="title=Formular",
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        400,
        "bad_request",
    )
    error(
        send(url, data="{kaputt", headers={**headers, "Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    error(send(url, json=["eine", "Liste"], headers=headers), 400, "bad_request")
    error(send(url, headers=headers), 400, "bad_request")


def test_authentication_is_required(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    token = factories.token(world.editor)
    url = f"/api/v1/papers/{world.paper.id}"
    for headers in [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer kzw_not-a-token"},
        {"Authorization": token},
    ]:
        error(client.get(url, headers=headers), 401, "unauthorized")
    assert client.get(url, headers={"Authorization": f"bearer  {token} "}).status_code == 200

    # A logged-in browser session is not enough: the API takes tokens only.
    browser = isolated_client(app)
    login(browser, world.editor.email)
    assert browser.get(f"/papers/{world.paper.id}").status_code == 200
    error(browser.get(url), 401, "unauthorized")
    error(browser.post("/api/v1/papers", json={"title": "Per Cookie"}), 401, "unauthorized")
    assert count(Paper) == 1


def test_roles_are_required_for_writing(app: Flask, world: factories.World) -> None:
    reviewer = Api(app, world.reviewer)
    assert reviewer.get(f"/sections/{world.section.id}").status_code == 200
    error(
        reviewer.put(f"/sections/{world.section.id}", {"body": "Neu.", "base_version": 1}),
        403,
        "forbidden",
    )
    error(reviewer.post(f"/papers/{world.paper.id}/sections", {"title": "Neu"}), 403, "forbidden")
    editor = Api(app, world.editor)
    error(
        editor.post(f"/papers/{world.paper.id}/participants", {"organisation": "OUT"}),
        403,
        "forbidden",
    )
    error(
        editor.post(
            f"/papers/{world.paper.id}/roles", {"email": world.member.email, "role": "editor"}
        ),
        403,
        "forbidden",
    )
    assert count(SectionVersion) == 1
    assert count(Section) == 1


def test_revoked_token_is_refused(client: FlaskClient, world: factories.World) -> None:
    token_row, plain = accounts.create_token(world.editor, "kurz")
    assert client.get("/api/v1/papers", headers=api_headers(plain)).status_code == 200
    accounts.revoke_token(world.editor, token_row.id)
    error(client.get("/api/v1/papers", headers=api_headers(plain)), 401, "unauthorized")


def test_the_description_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.")


def test_unknown_routes_and_methods_answer_in_json(as_editor: Api, world: factories.World) -> None:
    error(as_editor.get("/nothing-here"), 404, "not_found")
    error(
        as_editor.client.delete(f"/api/v1/papers/{world.paper.id}", headers=as_editor.headers),
        405,
        "method_not_allowed",
    )


def test_unknown_ids_give_404(as_editor: Api) -> None:
    for url in [
        "/papers/99999",
        "/sections/99999",
        "/sections/99999/versions",
        "/sections/99999/versions/1",
        "/sections/99999/diff?from=1&to=1",
    ]:
        error(as_editor.get(url), 404, "not_found")
    error(as_editor.post("/papers/99999/sections", {"title": "x"}), 404, "not_found")
    error(as_editor.put("/sections/99999", {"body": "x", "base_version": 1}), 404, "not_found")


def test_texts_over_the_limit_are_too_large(tmp_path: Path) -> None:
    with configured_app(tmp_path, MAX_BODY_CHARS=100) as app:
        with app.app_context():
            world = factories.world()
            paper_id, section_id = world.paper.id, world.section.id
            api = Api(app, world.editor)
        long = "Wort " * 21  # 105 characters
        with app.app_context():  # the client reads afresh after each request
            over = api.put(f"/sections/{section_id}", {"body": long, "base_version": 1})
            body = error(over, 413, "too_large")
            assert (body["field"], body["limit"]) == ("body", 100)
            error(
                api.post(f"/papers/{paper_id}/sections", {"title": "Lang", "body": long}),
                413,
                "too_large",
            )
            error(api.post("/papers", {"title": "Lang", "summary": long}), 413, "too_large")
            fits = api.put(f"/sections/{section_id}", {"body": long[:100], "base_version": 1})
            assert fits.status_code == 200
        with app.app_context():
            assert count(SectionVersion) == 2
            assert count(Section) == 1
            assert count(Paper) == 1
