"""Sections through the web UI: add, save as immutable versions, reorder, remove and undo,
history, a version, compare, restore."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Section, SectionVersion
from tests import factories
from tests.integration.support import english, isolated_client, login

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app)


@pytest.fixture
def editor(client: FlaskClient, world: factories.World) -> FlaskClient:
    """A browser with the paper's editor logged in, reading English."""
    english(world)
    login(client, world.editor.email)
    return client


def versions(section_id: int) -> list[SectionVersion]:
    """Every stored version of a section, oldest first."""
    return list(
        db.session.scalars(
            select(SectionVersion)
            .where(SectionVersion.section_id == section_id)
            .order_by(SectionVersion.number)
        )
    )


def snapshot(section_id: int) -> list[tuple[Any, ...]]:
    """Every stored column of every version of a section."""
    columns = SectionVersion.__table__.columns
    return [tuple(getattr(v, c.key) for c in columns) for v in versions(section_id)]


def save(client: FlaskClient, section_id: int, base: int, **fields: str) -> Any:
    data = {
        "title": "Ausgangslage",
        "level": "1",
        "body": BODY,
        "note": "",
        "base_version": str(base),
    }
    data.update(fields)
    return client.post(f"/sections/{section_id}/edit", data=data)


def order_on_page(client: FlaskClient, paper_id: int) -> list[str]:
    page = client.get(f"/papers/{paper_id}").get_data(as_text=True)
    return re.findall(r'<h\d id="section-\d+-h"><span>[\d.]+</span> ([^<]+)</h', page)


def flashes(response: Any) -> list[str]:
    return re.findall(r'<p class="flash[^"]*">(.*?)</p>', response.get_data(as_text=True))


def test_add_a_section(editor: FlaskClient, world: factories.World) -> None:
    assert editor.get(f"/papers/{world.paper.id}/sections/new").status_code == 200
    response = editor.post(
        f"/papers/{world.paper.id}/sections/new",
        data={
            "title": "Ziele",
            "level": "2",
            "body": "- mehr Grün\n- weniger Leerstand",
            "note": "erster Entwurf",
        },
    )
    assert response.status_code == 302
    section_id = int(re.search(r"#section-(\d+)$", response.location).group(1))  # type: ignore[union-attr]
    [v1] = versions(section_id)
    assert (v1.number, v1.title, v1.level, v1.note, v1.author_id) == (
        1,
        "Ziele",
        2,
        "erster Entwurf",
        world.editor.id,
    )
    assert "<li>mehr Grün</li>" in v1.body_html
    assert order_on_page(editor, world.paper.id) == ["Ausgangslage", "Ziele"]


def test_add_a_section_after_another(editor: FlaskClient, world: factories.World) -> None:
    factories.section(world.editor, world.paper, title="Schluss")
    response = editor.post(
        f"/papers/{world.paper.id}/sections/new?after={world.section.id}",
        data={"title": "Mitte", "level": "1", "body": ""},
    )
    assert response.status_code == 302
    assert order_on_page(editor, world.paper.id) == ["Ausgangslage", "Mitte", "Schluss"]


def test_every_save_is_a_new_immutable_version(editor: FlaskClient, world: factories.World) -> None:
    before = snapshot(world.section.id)
    started = datetime.now(UTC) - timedelta(seconds=1)

    response = save(
        editor, world.section.id, 1, body=BODY + "\n\nUnd von Kultur.", note="Kultur ergänzt"
    )
    assert response.status_code == 302
    assert "Saved as version 2." in flashes(editor.get(response.location))
    coordinator = isolated_client(editor.application)
    login(coordinator, world.coordinator.email)
    response = save(
        coordinator, world.section.id, 2, title="Lage heute", body=BODY + "\n\nUnd von Kultur."
    )
    assert response.status_code == 302

    stored = versions(world.section.id)
    assert [v.number for v in stored] == [1, 2, 3]
    assert snapshot(world.section.id)[0] == before[0]  # version 1 is untouched
    v2, v3 = stored[1], stored[2]
    assert (v2.author_id, v2.note, v2.title) == (world.editor.id, "Kultur ergänzt", "Ausgangslage")
    assert (v3.author_id, v3.note, v3.title) == (world.coordinator.id, "", "Lage heute")
    assert started <= v2.created_at <= v3.created_at <= datetime.now(UTC)
    section = db.session.get_one(Section, world.section.id)
    assert section.head_id == v3.id


def test_a_save_without_change_makes_no_version(
    editor: FlaskClient, world: factories.World
) -> None:
    response = save(editor, world.section.id, 1, note="nur eine Notiz")
    assert response.status_code == 302
    assert "Nothing changed, so no new version was made." in flashes(editor.get(response.location))
    assert [v.number for v in versions(world.section.id)] == [1]
    # Line ends sent by browsers (CRLF) are no change either.
    save(editor, world.section.id, 1, body=BODY.replace("\n", "\r\n"))
    assert [v.number for v in versions(world.section.id)] == [1]


def test_the_editor_shows_the_current_text(editor: FlaskClient, world: factories.World) -> None:
    page = editor.get(f"/sections/{world.section.id}/edit").get_data(as_text=True)
    assert "Die Innenstadt lebt vom Handel." in page
    assert re.search(r'<input[^>]*name="base_version"[^>]*value="1"', page)


def test_move_sections_up_and_down(editor: FlaskClient, world: factories.World) -> None:
    second = factories.section(world.editor, world.paper, title="Zwei")
    third = factories.section(world.editor, world.paper, title="Drei")
    assert order_on_page(editor, world.paper.id) == ["Ausgangslage", "Zwei", "Drei"]

    response = editor.post(f"/sections/{third.id}/move", data={"direction": "up"})
    assert response.status_code == 302
    assert order_on_page(editor, world.paper.id) == ["Ausgangslage", "Drei", "Zwei"]
    editor.post(f"/sections/{world.section.id}/move", data={"direction": "down"})
    assert order_on_page(editor, world.paper.id) == ["Drei", "Ausgangslage", "Zwei"]
    # At the edges nothing happens.
    editor.post(f"/sections/{third.id}/move", data={"direction": "up"})
    editor.post(f"/sections/{second.id}/move", data={"direction": "down"})
    assert order_on_page(editor, world.paper.id) == ["Drei", "Ausgangslage", "Zwei"]
    # Moving makes no version.
    assert [v.number for v in versions(third.id)] == [1]

    response = editor.post(f"/sections/{third.id}/move", data={"direction": "sideways"})
    assert response.status_code == 422


def test_remove_and_undo(editor: FlaskClient, world: factories.World) -> None:
    factories.section(world.editor, world.paper, title="Zwei")
    factories.section(world.editor, world.paper, title="Drei")
    save(editor, world.section.id, 1, body="Zweite Fassung.")
    history_before = snapshot(world.section.id)

    response = editor.post(f"/sections/{world.section.id}/remove")
    assert response.status_code == 302
    assert response.location.endswith("#removed")
    shown = editor.get(response.location)
    assert flashes(shown)[-1] == (
        "The section “Ausgangslage” was removed. You can undo this below the paper."
    )
    removed = re.search(r'<section id="removed".*?</section>', shown.get_data(as_text=True), re.S)
    assert removed and "Ausgangslage" in removed.group(0)
    assert order_on_page(editor, world.paper.id) == ["Zwei", "Drei"]
    # The history stays readable, and the removed section cannot be edited.
    assert editor.get(f"/sections/{world.section.id}/history").status_code == 200
    assert editor.get(f"/sections/{world.section.id}/versions/1").status_code == 200
    assert editor.get(f"/sections/{world.section.id}/edit").status_code == 404
    assert snapshot(world.section.id) == history_before

    response = editor.post(f"/sections/{world.section.id}/undo-remove")
    assert response.status_code == 302
    assert order_on_page(editor, world.paper.id) == ["Ausgangslage", "Zwei", "Drei"]
    assert snapshot(world.section.id) == history_before
    assert 'id="removed"' not in editor.get(f"/papers/{world.paper.id}").get_data(as_text=True)


def test_history_lists_every_version(editor: FlaskClient, world: factories.World) -> None:
    save(editor, world.section.id, 1, body="Zweite.", note="kürzer")
    save(editor, world.section.id, 2, body="Dritte.", note="noch kürzer")
    page = editor.get(f"/sections/{world.section.id}/history").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td><input.*?</tr>", page, re.S)
    assert len(rows) == 3
    assert [re.search(r"Version (\d+)</a>", r).group(1) for r in rows] == ["3", "2", "1"]  # type: ignore[union-attr]
    assert "noch kürzer" in rows[0] and "kürzer" in rows[1]
    assert all(world.editor.display_name in r for r in rows)


def test_a_version_page_shows_that_version(editor: FlaskClient, world: factories.World) -> None:
    save(editor, world.section.id, 1, body="Ganz **neu**.", note="neu")
    old = editor.get(f"/sections/{world.section.id}/versions/1").get_data(as_text=True)
    assert "Die Innenstadt lebt vom Handel." in old
    assert "Ganz" not in old
    assert "Restore this version" in old
    new = editor.get(f"/sections/{world.section.id}/versions/2").get_data(as_text=True)
    assert "<strong>neu</strong>" in new
    assert "Restore this version" not in new  # it is the current text
    assert editor.get(f"/sections/{world.section.id}/versions/3").status_code == 404


def test_compare_inline_and_side_by_side(editor: FlaskClient, world: factories.World) -> None:
    save(editor, world.section.id, 1, body="Die Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen.")
    response = editor.get(f"/sections/{world.section.id}/compare?from=1&to=2")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    inline = re.search(r'<div class="diff inline-diff">(.*?)</div>', page, re.S)
    assert inline
    assert re.search(r"<del>.*Handel.*</del>", inline.group(1))
    assert re.search(r"<ins>.*Handwerk.*</ins>", inline.group(1))
    table = re.search(r'<table class="side-by-side">(.*?)</table>', page, re.S)
    assert table
    changed = re.findall(r'<tr class="changed"><td>(.*?)</td><td>(.*?)</td></tr>', table.group(1))
    assert changed
    left, right = changed[0]
    assert "Handel" in left and "<del>" in left and "Handwerk" not in left
    assert "Handwerk" in right and "<ins>" in right and "Handel" not in right
    assert "1 word inserted, 1 word deleted" in page  # ngettext (issue 15)

    # Without parameters: the newest version against the one before.
    assert "Version 1 compared with version 2" in editor.get(
        f"/sections/{world.section.id}/compare"
    ).get_data(as_text=True)
    assert editor.get(f"/sections/{world.section.id}/compare?from=1&to=9").status_code == 404


def test_restore_creates_a_new_version(editor: FlaskClient, world: factories.World) -> None:
    save(editor, world.section.id, 1, title="Anders", level="2", body="Anders.")
    response = editor.post(f"/sections/{world.section.id}/versions/1/restore")
    assert response.status_code == 302
    assert "Version 1 was restored as version 3." in flashes(editor.get(response.location))
    v1, v2, v3 = versions(world.section.id)
    assert (v3.title, v3.level, v3.body) == (v1.title, v1.level, v1.body)
    assert (v3.restored_from, v3.author_id) == (1, world.editor.id)
    assert v2.body == "Anders."
    history = editor.get(f"/sections/{world.section.id}/history").get_data(as_text=True)
    assert "restored from version 1" in history

    # Restoring the current text again makes no version.
    editor.post(f"/sections/{world.section.id}/versions/3/restore")
    assert len(versions(world.section.id)) == 3
    assert editor.post(f"/sections/{world.section.id}/versions/9/restore").status_code == 404
