"""Co-editing a section (issue 3): save on a base version, merge, conflicts, removed sections,
autosaved drafts and the conflict page, through the JSON API and the HTML forms."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Draft, Section, SectionVersion
from tests import factories
from tests.conftest import AuthActions, api_headers, make_app
from workflows import sections as section_flow

BASE_TITLE = "Ausgangslage"
BASE_BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."


def put(client: Any, section_id: int, token: str, **payload: Any) -> Any:
    """Save a section through the API."""
    return client.put(f"/api/v1/sections/{section_id}", json=payload, headers=api_headers(token))


def versions(section_id: int) -> list[SectionVersion]:
    """Return every stored version of a section, oldest first, fresh from the database."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(SectionVersion)
            .where(SectionVersion.section_id == section_id)
            .order_by(SectionVersion.number)
        )
    )


def head(section_id: int) -> SectionVersion:
    """Return the newest version of a section."""
    return versions(section_id)[-1]


def form_data(**fields: Any) -> dict[str, Any]:
    """Return the section editor's fields with defaults for those a test does not care about."""
    data: dict[str, Any] = {"title": BASE_TITLE, "level": "1", "note": "", "submit": "Save"}
    data.update(fields)
    return data


def test_the_world_section_starts_at_version_one(world):
    assert [(v.number, v.title, v.body) for v in versions(world.section.id)] == [
        (1, BASE_TITLE, BASE_BODY)
    ]


# --- saving on the current base -------------------------------------------------------------


def test_a_save_on_the_current_version_becomes_the_next_version(client, world, tokens):
    body = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."
    response = put(
        client,
        world.section.id,
        tokens["editor"],
        body=body,
        base_version=1,
        note="Handwerk ergänzt",
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["version"] == 2
    assert data["merged"] is False
    assert data["created"] is True
    assert data["merged_with"] is None
    assert data["body"] == body
    stored = versions(world.section.id)
    assert [v.number for v in stored] == [1, 2]
    assert stored[-1].body == body
    assert stored[-1].note == "Handwerk ergänzt"
    assert stored[-1].merged_with is None
    assert stored[-1].author_id == world.editor.id


def test_a_save_without_changes_makes_no_version(client, world, tokens):
    response = put(client, world.section.id, tokens["editor"], body=BASE_BODY, base_version=1)
    assert response.status_code == 200
    assert response.get_json()["created"] is False
    assert response.get_json()["version"] == 1
    assert len(versions(world.section.id)) == 1


def test_a_save_through_the_form_on_the_current_version(client, auth, world):
    auth.login(world.editor.email)
    body = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt."
    response = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body=body, base_version="1")
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/papers/{world.paper.id}#section-{world.section.id}"
    )
    assert [(v.number, v.body) for v in versions(world.section.id)] == [(1, BASE_BODY), (2, body)]


# --- stale base, edits that do not overlap ------------------------------------------------------


def test_edits_of_different_paragraphs_on_a_stale_base_merge(client, world, tokens):
    theirs = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
    first = put(client, world.section.id, tokens["editor"], body=theirs, base_version=1)
    assert first.get_json()["version"] == 2

    response = put(
        client, world.section.id, tokens["coordinator"], body=mine, base_version=1, note="Fluss"
    )
    assert response.status_code == 200
    data = response.get_json()
    merged = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."
    assert data["merged"] is True
    assert data["created"] is True
    assert data["version"] == 3
    assert data["merged_with"] == 2
    assert data["body"] == merged

    stored = versions(world.section.id)
    assert [v.number for v in stored] == [1, 2, 3]
    assert stored[1].body == theirs  # the earlier save is untouched in the history
    assert stored[2].body == merged
    assert stored[2].merged_with == 2
    assert stored[2].note == "Fluss"
    assert stored[2].author_id == world.coordinator.id

    listed = client.get(
        f"/api/v1/sections/{world.section.id}/versions", headers=api_headers(tokens["editor"])
    ).get_json()["versions"]
    assert [(v["number"], v["merged_with"]) for v in listed] == [(3, 2), (2, None), (1, None)]


def test_a_merge_through_the_form_tells_the_user(client, auth, world, tokens, english_ui):
    put(
        client,
        world.section.id,
        tokens["editor"],
        base_version=1,
        body="Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen.",
    )
    auth.login(world.coordinator.email)
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data=form_data(
            body="Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss.", base_version="1"
        ),
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Saved as version 3, merged with version 2" in page
    merged = head(world.section.id)
    assert merged.number == 3 and merged.merged_with == 2
    assert merged.body == (
        "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."
    )


def test_title_and_body_merge_independently(client, world, tokens):
    title_change = put(
        client,
        world.section.id,
        tokens["editor"],
        title="Ausgangslage 2030",
        body=BASE_BODY,
        base_version=1,
    )
    assert title_change.get_json()["version"] == 2
    body = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen und Arbeiten."
    # The coordinator sends the title as it was in version 1 and changes only the body.
    response = put(
        client, world.section.id, tokens["coordinator"], title=BASE_TITLE, body=body, base_version=1
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["merged"] is True and data["version"] == 3
    assert (data["title"], data["body"]) == ("Ausgangslage 2030", body)
    stored = head(world.section.id)
    assert (stored.title, stored.body) == ("Ausgangslage 2030", body)


def test_a_body_change_merges_under_a_later_title_change(client, world, tokens):
    body = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen und Arbeiten."
    put(client, world.section.id, tokens["editor"], body=body, base_version=1)
    response = put(
        client,
        world.section.id,
        tokens["coordinator"],
        title="Lage heute",
        body=BASE_BODY,
        base_version=1,
    )
    assert response.status_code == 200
    assert response.get_json()["merged"] is True
    stored = head(world.section.id)
    assert (stored.number, stored.title, stored.body) == (3, "Lage heute", body)


def test_both_changing_the_title_is_a_conflict_even_when_the_bodies_merge(client, world, tokens):
    put(
        client,
        world.section.id,
        tokens["editor"],
        title="Lage 2030",
        base_version=1,
        body="Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen.",
    )
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
    response = put(
        client,
        world.section.id,
        tokens["coordinator"],
        title="Lage heute",
        base_version=1,
        body=mine,
    )
    assert response.status_code == 409
    data = response.get_json()
    assert data["error"]["code"] == "edit_conflict"
    assert data["current"]["title"] == "Lage 2030"
    assert data["yours"]["title"] == "Lage heute"
    assert data["yours"]["body"] == mine
    assert [v.number for v in versions(world.section.id)] == [1, 2]


# --- overlapping edits ----------------------------------------------------------------------


THEIRS_OVERLAP = "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen und Arbeiten."
MINE_OVERLAP = "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen."


def test_overlapping_edits_are_a_conflict_and_nothing_is_saved(client, world, tokens):
    assert (
        put(
            client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1
        ).status_code
        == 200
    )

    response = put(
        client,
        world.section.id,
        tokens["coordinator"],
        body=MINE_OVERLAP,
        base_version=1,
        note="Handwerk",
    )
    assert response.status_code == 409
    data = response.get_json()
    assert {"error", "base_version", "current", "yours", "conflicts"} <= set(data)
    assert data["error"]["code"] == "edit_conflict"
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    assert data["base_version"] == 1
    assert {k: data["current"][k] for k in ("version", "title", "body")} == {
        "version": 2,
        "title": BASE_TITLE,
        "body": THEIRS_OVERLAP,
    }
    assert {k: data["yours"][k] for k in ("title", "body")} == {
        "title": BASE_TITLE,
        "body": MINE_OVERLAP,
    }
    assert len(data["conflicts"]) == 1
    conflict = data["conflicts"][0]
    # Issue 11: each conflict is a whole unit, with who saved the other side.
    assert set(conflict) == {
        "base_start",
        "base_end",
        "theirs",
        "yours",
        "unit",
        "base",
        "theirs_author",
        "theirs_version",
    }
    assert conflict["unit"] == "sentence"
    assert conflict["base"] == "Die Innenstadt lebt vom Handel."
    assert conflict["theirs"] == "Die Innenstadt lebt vom Einzelhandel."
    assert conflict["yours"] == "Die Innenstadt lebt vom Handwerk."
    assert conflict["theirs_author"] == {
        "name": world.editor.display_name,
        "organisation": world.editor.organisation.short_name,
    }
    assert conflict["theirs_version"] == 2
    start, end = conflict["base_start"], conflict["base_end"]
    assert 0 <= start < end <= len(BASE_BODY)
    assert "Handel" in BASE_BODY[start:end]
    assert "Einzelhandel" in conflict["theirs"] and "Handwerk" in conflict["yours"]
    # The region is where the other change was made, not where the non-overlapping one was.
    assert "Wohnen" not in BASE_BODY[start:end]

    # Nothing was saved: the history and the head are as before.
    stored = versions(world.section.id)
    assert [v.number for v in stored] == [1, 2]
    assert stored[-1].body == THEIRS_OVERLAP


def test_the_conflict_form_page_keeps_the_users_text(client, auth, world, tokens):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    auth.login(world.coordinator.email)
    response = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body=MINE_OVERLAP, base_version="1")
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="conflict-form"' in page
    assert f'action="/sections/{world.section.id}/resolve"' in page
    # The user's full text is on the page, and both sides of the conflict region.
    assert str(escape(MINE_OVERLAP)) in page
    assert 'id="conflict-0"' in page and 'id="conflict-1"' not in page
    assert 'name="choice-0"' in page
    assert "Einzelhandel" in page and "Handwerk" in page
    assert [v.number for v in versions(world.section.id)] == [1, 2]


def test_a_conflict_keeps_the_autosaved_draft(client, auth, world, tokens):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    auth.login(world.coordinator.email)
    client.post(
        f"/sections/{world.section.id}/draft",
        json={"title": BASE_TITLE, "body": MINE_OVERLAP, "base_version": 1},
    )
    response = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body=MINE_OVERLAP, base_version="1")
    )
    assert response.status_code == 409
    draft = client.get(f"/sections/{world.section.id}/draft").get_json()["draft"]
    assert draft is not None and draft["body"] == MINE_OVERLAP


@pytest.mark.parametrize("base_version", [2, 99, 0, -1])
def test_a_base_version_that_does_not_exist_is_422(client, world, tokens, base_version):
    response = put(
        client, world.section.id, tokens["editor"], body="Neu.", base_version=base_version
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert [v.number for v in versions(world.section.id)] == [1]


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "Neu."},
        {"body": "Neu.", "base_version": "1"},
        {"body": "Neu.", "base_version": True},
        {"body": "Neu.", "base_version": None},
    ],
)
def test_a_missing_or_mistyped_base_version_is_422(client, world, tokens, payload):
    response = client.put(
        f"/api/v1/sections/{world.section.id}", json=payload, headers=api_headers(tokens["editor"])
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert [v.number for v in versions(world.section.id)] == [1]


def test_only_editors_may_save_through_the_api(client, world):
    response = put(
        client, world.section.id, factories.token(world.reviewer), body="Neu.", base_version=1
    )
    assert response.status_code == 403
    response = put(
        client, world.section.id, factories.token(world.outsider), body="Neu.", base_version=1
    )
    assert response.status_code == 404
    assert [v.number for v in versions(world.section.id)] == [1]


# --- removed sections -------------------------------------------------------------------------


def test_saving_a_removed_section_is_refused_and_returns_the_text(client, world, tokens):
    section_flow.remove_section(world.coordinator, world.section.id)
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, sagt die Stadt."
    response = put(
        client, world.section.id, tokens["editor"], title="Lage", body=mine, base_version=1
    )
    assert response.status_code == 409
    data = response.get_json()
    assert data["error"]["code"] == "section_removed"
    assert data["error"]["message"]
    assert data["yours"] == {"title": "Lage", "body": mine}
    assert [v.number for v in versions(world.section.id)] == [1]
    db.session.expire_all()
    assert db.session.get(Section, world.section.id).removed_at is not None


def test_the_removed_page_offers_to_bring_the_section_back_with_the_text(client, auth, world):
    section_flow.remove_section(world.coordinator, world.section.id)
    auth.login(world.editor.email)
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, sagt die Stadt."
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data=form_data(title="Lage", body=mine, base_version="1"),
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f'action="/sections/{world.section.id}/restore-with-text"' in page
    assert str(escape(mine)) in page
    assert 'value="Lage"' in page
    assert 'name="base_version" type="hidden" value="1"' in page


def test_the_removed_page_says_bring_back_and_save(client, auth, world, english_ui):
    section_flow.remove_section(world.coordinator, world.section.id)
    auth.login(world.editor.email)
    response = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body="Mein Text.", base_version="1")
    )
    assert "Bring the section back and save my text" in response.get_data(as_text=True)


def test_restore_with_text_brings_the_section_back_and_saves_the_text(client, auth, world):
    section_flow.remove_section(world.coordinator, world.section.id)
    auth.login(world.editor.email)
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, sagt die Stadt."
    response = client.post(
        f"/sections/{world.section.id}/restore-with-text",
        data=form_data(title="Lage", body=mine, base_version="1"),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Section, world.section.id).removed_at is None
    stored = versions(world.section.id)
    assert [(v.number, v.title, v.body) for v in stored] == [
        (1, BASE_TITLE, BASE_BODY),
        (2, "Lage", mine),
    ]
    page = client.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    assert "sagt die Stadt" in page


def test_restore_with_text_merges_with_a_version_saved_before_the_removal(
    client, auth, world, tokens
):
    theirs = "Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen."
    put(client, world.section.id, tokens["coordinator"], body=theirs, base_version=1)
    section_flow.remove_section(world.coordinator, world.section.id)
    auth.login(world.editor.email)
    mine = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, sagt die Stadt."
    response = client.post(
        f"/sections/{world.section.id}/restore-with-text",
        data=form_data(body=mine, base_version="1"),
    )
    assert response.status_code == 302
    stored = head(world.section.id)
    assert stored.number == 3 and stored.merged_with == 2
    assert stored.body == (
        "Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen, sagt die Stadt."
    )


# --- autosaved drafts ---------------------------------------------------------------------------


def draft_url(world: factories.World) -> str:
    return f"/sections/{world.section.id}/draft"


def test_a_draft_is_kept_returned_overwritten_and_discarded(client, auth, world):
    auth.login(world.editor.email)
    assert client.get(draft_url(world)).get_json() == {"draft": None}

    saved = client.post(
        draft_url(world), json={"title": "Lage", "body": "Halber Satz", "base_version": 1}
    )
    assert saved.status_code == 200
    assert saved.get_json()["saved"] is True
    draft = client.get(draft_url(world)).get_json()["draft"]
    assert {k: draft[k] for k in ("title", "body", "base_version")} == {
        "title": "Lage",
        "body": "Halber Satz",
        "base_version": 1,
    }

    client.post(draft_url(world), json={"title": "Lage", "body": "Ganzer Satz.", "base_version": 1})
    assert client.get(draft_url(world)).get_json()["draft"]["body"] == "Ganzer Satz."
    assert len(db.session.scalars(select(Draft)).all()) == 1

    discarded = client.post(f"{draft_url(world)}/discard", headers={"Accept": "application/json"})
    assert discarded.status_code == 200
    assert discarded.get_json() == {"discarded": True}
    assert client.get(draft_url(world)).get_json() == {"draft": None}
    # Nothing of the draft went into the history.
    assert [v.number for v in versions(world.section.id)] == [1]


def test_drafts_are_per_user(client, auth, world):
    auth.login(world.editor.email)
    client.post(draft_url(world), json={"title": "Lage", "body": "Entwurf", "base_version": 1})
    auth.logout()
    auth.login(world.coordinator.email)
    assert client.get(draft_url(world)).get_json() == {"draft": None}


def test_only_editors_may_keep_drafts(client, auth, world):
    auth.login(world.reviewer.email)
    response = client.post(
        draft_url(world),
        json={"title": "Lage", "body": "Entwurf", "base_version": 1},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert db.session.scalars(select(Draft)).all() == []


def test_a_draft_needs_a_login(client, world):
    response = client.post(
        draft_url(world), json={"title": "Lage", "body": "Entwurf", "base_version": 1}
    )
    assert response.status_code in (302, 401)
    assert db.session.scalars(select(Draft)).all() == []


def test_saving_through_the_form_clears_the_draft(client, auth, world):
    auth.login(world.editor.email)
    body = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt."
    client.post(draft_url(world), json={"title": BASE_TITLE, "body": body, "base_version": 1})
    assert client.get(draft_url(world)).get_json()["draft"] is not None
    response = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body=body, base_version="1")
    )
    assert response.status_code == 302
    assert client.get(draft_url(world)).get_json() == {"draft": None}


def test_saving_through_the_api_clears_only_the_savers_draft(client, auth, world, tokens):
    auth.login(world.coordinator.email)
    client.post(
        draft_url(world), json={"title": BASE_TITLE, "body": "Koordination", "base_version": 1}
    )
    auth.logout()
    auth.login(world.editor.email)
    client.post(
        draft_url(world), json={"title": BASE_TITLE, "body": "Redaktion", "base_version": 1}
    )
    response = put(client, world.section.id, tokens["editor"], body="Redaktion", base_version=1)
    assert response.get_json()["created"] is True
    assert client.get(draft_url(world)).get_json() == {"draft": None}
    remaining = db.session.scalars(select(Draft)).all()
    assert [(d.user_id, d.body) for d in remaining] == [(world.coordinator.id, "Koordination")]


def test_the_draft_survives_logging_in_elsewhere_and_is_offered(app, client, auth, world):
    auth.login(world.editor.email)
    unsaved = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen <am> Fluss & Hafen."
    client.post(
        draft_url(world), json={"title": "Lage am Fluss", "body": unsaved, "base_version": 1}
    )
    auth.logout()

    other = app.test_client()  # another browser: no cookies shared with the first one
    AuthActions(other).login(world.editor.email)
    page = other.get(f"/sections/{world.section.id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="draft-offer"' in html
    assert f'<pre class="draft-text" id="draft-text">{escape(unsaved)}</pre>' in html
    assert 'data-title="Lage am Fluss"' in html and 'data-base="1"' in html
    draft = other.get(draft_url(world)).get_json()["draft"]
    assert draft["body"] == unsaved


def test_no_draft_is_offered_without_one(client, auth, world):
    auth.login(world.editor.email)
    html = client.get(f"/sections/{world.section.id}/edit").get_data(as_text=True)
    assert 'id="draft-offer"' not in html
    assert 'id="section-editor"' in html


def test_autosave_works_with_csrf_protection_through_the_header(app, tmp_path, world):
    """The editor's script sends the page's CSRF token in X-CSRFToken (CSRF is on in production)."""
    protected = make_app(
        tmp_path,
        WTF_CSRF_ENABLED=True,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
    )
    browser = protected.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    response = browser.post(
        "/login",
        data={
            "email": world.editor.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_meta(login_page),
        },
    )
    assert response.status_code == 302
    edit = browser.get(f"/sections/{world.section.id}/edit").get_data(as_text=True)
    payload = {"title": BASE_TITLE, "body": "Entwurf", "base_version": 1}
    refused = browser.post(draft_url(world), json=payload)
    assert refused.status_code == 400
    assert browser.get(draft_url(world)).get_json() == {"draft": None}
    accepted = browser.post(
        draft_url(world), json=payload, headers={"X-CSRFToken": csrf_meta(edit)}
    )
    assert accepted.status_code == 200
    assert browser.get(draft_url(world)).get_json()["draft"]["body"] == "Entwurf"
    with protected.app_context():
        db.engine.dispose()


def csrf_meta(page: str) -> str:
    """Return the CSRF token a page hands to its scripts."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


# --- the conflict page: choose per region, then save ------------------------------------------


def resolve_data(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": BASE_TITLE,
        "level": "1",
        "note": "",
        "base_version": "1",
        "current_version": "2",
        "yours": MINE_OVERLAP,
        "combined": "",
    }
    data.update(fields)
    return data


def combined_text(page: str) -> str:
    """Return the content of the page's combined-text textarea, unescaped."""
    match = re.search(r'<textarea[^>]*name="combined"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, "no combined text area on the page"
    return html.unescape(match.group(1))


def test_the_conflict_page_starts_with_the_other_change_in_conflicting_regions(
    client, auth, world, tokens
):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    auth.login(world.coordinator.email)
    page = client.post(
        f"/sections/{world.section.id}/edit", data=form_data(body=MINE_OVERLAP, base_version="1")
    ).get_data(as_text=True)
    # Their change wins the conflict region by default; their other change is kept as well.
    assert combined_text(page) == THEIRS_OVERLAP


def test_applying_choices_recomputes_the_combined_text(client, auth, world, tokens):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    auth.login(world.coordinator.email)
    response = client.post(
        f"/sections/{world.section.id}/resolve",
        data=resolve_data(apply="Apply", **{"choice-0": "yours"}),
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    # Mine in the conflicting region, theirs everywhere else.
    assert combined_text(page) == (
        "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen und Arbeiten."
    )
    assert 'id="choice-0-yours" value="yours" checked' in page
    assert str(escape(MINE_OVERLAP)) in page  # the user's complete text is still there
    assert [v.number for v in versions(world.section.id)] == [1, 2]

    back = client.post(
        f"/sections/{world.section.id}/resolve",
        data=resolve_data(apply="Apply", **{"choice-0": "theirs"}),
    )
    assert combined_text(back.get_data(as_text=True)) == THEIRS_OVERLAP


def test_submitting_the_combined_text_saves_it_on_the_current_version(client, auth, world, tokens):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    auth.login(world.coordinator.email)
    combined = "Die Innenstadt lebt vom Einzelhandel und Handwerk.\n\nUnd vom Wohnen und Arbeiten."
    response = client.post(
        f"/sections/{world.section.id}/resolve",
        data=resolve_data(submit="Save", combined=combined, note="beides"),
    )
    assert response.status_code == 302
    stored = versions(world.section.id)
    assert [v.number for v in stored] == [1, 2, 3]
    assert stored[-1].body == combined
    assert stored[-1].merged_with is None  # saved on version 2, the version the page showed
    assert stored[-1].note == "beides"
    assert stored[-1].author_id == world.coordinator.id


def test_submitting_after_yet_another_save_shows_the_conflict_again(client, auth, world, tokens):
    put(client, world.section.id, tokens["editor"], body=THEIRS_OVERLAP, base_version=1)
    again = "Die Innenstadt lebt vom Großhandel.\n\nUnd vom Wohnen und Arbeiten."
    put(client, world.section.id, tokens["editor"], body=again, base_version=2)
    auth.login(world.coordinator.email)
    combined = "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen und Arbeiten."
    response = client.post(
        f"/sections/{world.section.id}/resolve", data=resolve_data(submit="Save", combined=combined)
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert str(escape(combined)) in page
    assert "Großhandel" in page
    assert 'name="current_version" type="text" value="3"' in page or 'value="3"' in page
    assert [v.number for v in versions(world.section.id)] == [1, 2, 3]
    assert head(world.section.id).body == again


def test_the_save_answer_is_the_saved_version_even_when_another_save_follows(
    client, world, tokens, monkeypatch
):
    """A client bases its next edit on the answer: its number and text must be one version.

    Between the save's commit and the answer, another worker may save; this stands in for it.
    """
    real_save = section_flow.save_section

    def save_then_someone_else_saves(*args: Any, **kwargs: Any) -> section_flow.SaveResult:
        result = real_save(*args, **kwargs)
        real_save(
            world.coordinator,
            world.section.id,
            base_version=result.version,
            body="Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, später.",
        )
        return result

    monkeypatch.setattr(section_flow, "save_section", save_then_someone_else_saves)
    mine = "Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen."
    data = put(client, world.section.id, tokens["editor"], body=mine, base_version=1).get_json()
    assert data["version"] == 2
    assert data["body"] == mine
    assert [v.number for v in versions(world.section.id)] == [1, 2, 3]
