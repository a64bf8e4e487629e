"""The one conflict page (issue 11): whole sentences with who wrote the other one, and a
primary button that saves exactly the choices made — with or without JavaScript."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from drafting.extensions import db
from drafting.models import SectionVersion
from tests import factories
from tests.conftest import api_headers

BASE_TITLE = "Ausgangslage"
BASE = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
THEIRS = "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen."
MINE = "Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen am Markt."
MERGED_THEIRS = "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen am Markt."


def bodies(section_id: int) -> list[str]:
    db.session.expire_all()
    query = select(SectionVersion.body).where(SectionVersion.section_id == section_id)
    return list(db.session.scalars(query.order_by(SectionVersion.number)))


def conflict(client: Any, auth: Any, world: factories.World) -> str:
    """Let the editor save THEIRS over version 1, then the coordinator MINE: the page."""
    assert world.section.head is not None and world.section.head.body == BASE
    saved = client.put(
        f"/api/v1/sections/{world.section.id}",
        json={"body": THEIRS, "base_version": 1},
        headers=api_headers(factories.token(world.editor)),
    )
    assert saved.status_code == 200, saved.get_json()
    auth.login(world.coordinator.email)
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data={"title": BASE_TITLE, "level": "1", "note": "", "submit": "Save", "body": MINE,
              "base_version": "1"},
    )  # fmt: skip
    assert response.status_code == 409
    return response.get_data(as_text=True)


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, f"no {name} text area"
    return html.unescape(match.group(1))


def generated(page: str) -> str:
    match = re.search(r'name="generated" id="conflict-generated" value="([^"]*)"', page)
    assert match
    return html.unescape(match.group(1))


def resolve(client: Any, world: factories.World, **fields: Any) -> Any:
    data = {
        "title": BASE_TITLE,
        "level": "1",
        "note": "",
        "base_version": "1",
        "current_version": "2",
        "yours": MINE,
        "submit": "Save",
    }
    data.update(fields)
    return client.post(f"/sections/{world.section.id}/resolve", data=data)


def test_the_page_shows_whole_sentences_and_who_wrote_the_other_one(client, auth, world):
    page = conflict(client, auth, world)
    assert 'id="conflict-0"' in page and 'id="conflict-1"' not in page
    assert 'data-text="Die Innenstadt lebt vom Einzelhandel."' in page
    assert 'data-text="Die Innenstadt lebt vom Handwerk."' in page
    assert "Die Innenstadt lebt vom Handel." in page  # as it was
    assert world.editor.display_name in page
    assert world.editor.organisation.short_name in page
    # The other paragraph merged; the combined text starts with the other person's sentence.
    assert textarea(page, "combined") == MERGED_THEIRS == generated(page)
    assert textarea(page, "yours") == MINE  # the full text stays to copy
    assert 'src="/static/conflict.js"' in page
    for choice in ("theirs", "yours", "edited"):
        assert f'id="choice-0-{choice}"' in page


def test_the_primary_button_saves_the_choice_without_javascript(client, auth, world):
    page = conflict(client, auth, world)
    # No script ran: the combined text is still the one the page was built with.
    response = resolve(
        client, world, combined=textarea(page, "combined"), generated=generated(page),
        **{"choice-0": "yours"},
    )  # fmt: skip
    assert response.status_code == 302
    assert bodies(world.section.id)[-1] == MINE


def test_an_edited_sentence_is_saved_in_its_place(client, auth, world):
    page = conflict(client, auth, world)
    response = resolve(
        client, world, combined=textarea(page, "combined"), generated=generated(page),
        **{"choice-0": "edited", "edit-0": "Die Innenstadt lebt vom Handel und Handwerk."},
    )  # fmt: skip
    assert response.status_code == 302
    assert bodies(world.section.id)[-1] == (
        "Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen am Markt."
    )


def test_a_hand_edited_combined_text_is_saved_as_shown(client, auth, world):
    page = conflict(client, auth, world)
    edited = "Die Innenstadt lebt von allem.\n\nUnd vom Wohnen."
    response = resolve(client, world, combined=edited, generated=generated(page))
    assert response.status_code == 302
    assert bodies(world.section.id)[-1] == edited


def test_changed_choices_and_an_edited_combined_text_are_not_guessed(client, auth, world):
    page = conflict(client, auth, world)
    edited = "Die Innenstadt lebt von allem.\n\nUnd vom Wohnen."
    response = resolve(
        client, world, combined=edited, generated=generated(page), **{"choice-0": "yours"}
    )
    assert response.status_code == 409
    again = response.get_data(as_text=True)
    assert textarea(again, "combined") == edited  # the typed text is kept
    assert len(bodies(world.section.id)) == 2


def test_applying_choices_shows_the_same_page_with_the_new_text(client, auth, world):
    page = conflict(client, auth, world)
    response = resolve(
        client, world, combined=textarea(page, "combined"), generated=generated(page),
        apply="Apply", **{"choice-0": "yours"},
    )  # fmt: skip
    assert response.status_code == 409
    again = response.get_data(as_text=True)
    assert textarea(again, "combined") == MINE == generated(again)
    assert 'id="choice-0-yours" value="yours" checked' in again
    assert len(bodies(world.section.id)) == 2
