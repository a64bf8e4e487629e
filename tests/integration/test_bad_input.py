"""Bad input gets a clear form error or 413/422, keeps the user's text, and saves nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, Section, SectionVersion
from tests import factories
from tests.integration.support import configured_app, english, isolated_client, login

LIMIT = 1000  # MAX_BODY_CHARS of this module's app
TOO_LONG = "Wort " * (LIMIT // 5) + "zuviel"  # 1006 characters


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose texts may have at most LIMIT characters, inside an application context."""
    with configured_app(tmp_path, MAX_BODY_CHARS=LIMIT) as application:
        with application.app_context():
            yield application
            db.session.remove()


@pytest.fixture
def editor(app: Flask, world: factories.World) -> FlaskClient:
    english(world)
    client = isolated_client(app)
    login(client, world.editor.email)
    return client


def counts() -> tuple[int, int, int, int]:
    """Papers, sections, versions and activity entries stored."""
    return tuple(  # type: ignore[return-value]
        int(db.session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (Paper, Section, SectionVersion, ActivityEntry)
    )


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1))


def errors(page: str) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(r'<ul class="errors"[^>]*>\s*<li>(.*?)</li>', page, re.S)
    ]


NEW_SECTION_CASES = [
    ({"title": ""}, 422, "This field is required."),
    ({"title": "   "}, 422, "This field is required."),
    ({"title": "T" * 201}, 422, "Field cannot be longer than 200 characters."),
    ({"level": "7"}, 422, "Not a valid choice."),
    ({"level": "zwei"}, 422, "Invalid Choice: could not coerce."),
    ({"level": ""}, 422, "This field is required."),
    ({"note": "N" * 501}, 422, "Field cannot be longer than 500 characters."),
    ({"body": TOO_LONG}, 413, f"The text is longer than {LIMIT} characters."),
]
CASE_IDS = [
    "empty title",
    "blank title",
    "long title",
    "level 7",
    "level word",
    "no level",
    "long note",
    "long body",
]


@pytest.mark.parametrize(("fields", "status", "message"), NEW_SECTION_CASES, ids=CASE_IDS)
def test_new_section_refused_keeps_the_text(
    editor: FlaskClient,
    world: factories.World,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = counts()
    data = {"title": "Ziele", "level": "1", "body": "Mein **langer** Text.", "note": ""}
    data.update(fields)
    response = editor.post(f"/papers/{world.paper.id}/sections/new", data=data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "body") == data["body"]
    assert counts() == before


@pytest.mark.parametrize(("fields", "status", "message"), NEW_SECTION_CASES, ids=CASE_IDS)
def test_save_refused_keeps_the_text(
    editor: FlaskClient,
    world: factories.World,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = counts()
    data = {
        "title": "Ausgangslage",
        "level": "1",
        "body": "Mein geänderter Text.",
        "note": "",
        "base_version": "1",
    }
    data.update(fields)
    response = editor.post(f"/sections/{world.section.id}/edit", data=data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "body") == data["body"]
    assert counts() == before


def test_a_body_at_the_limit_is_accepted(editor: FlaskClient, world: factories.World) -> None:
    body = ("x" * (LIMIT - 2)) + "\r\n" + "y"  # a browser's CRLF counts as one character
    assert len(body.replace("\r\n", "\n")) == LIMIT
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": body,
            "base_version": "1",
        },
    )
    assert response.status_code == 302
    stored = db.session.scalars(select(SectionVersion.body).where(SectionVersion.number == 2))
    assert stored.one() == body.replace("\r\n", "\n")


def test_unknown_base_version_is_refused(editor: FlaskClient, world: factories.World) -> None:
    """Only a forged form names a version that does not exist; it is refused all the same."""
    before = counts()
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": "Neu.",
            "base_version": "7",
        },
    )
    assert response.status_code == 422
    assert textarea(response.get_data(as_text=True), "body") == "Neu."
    assert counts() == before


@pytest.mark.parametrize(
    ("title", "message"),
    [("", "This field is required."), ("T" * 201, "Field cannot be longer than 200 characters.")],
    ids=["empty", "long"],
)
def test_paper_with_bad_title_is_refused(editor: FlaskClient, title: str, message: str) -> None:
    before = counts()
    response = editor.post("/papers/new", data={"title": title, "summary": "Meine Idee."})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "summary") == "Meine Idee."
    assert counts() == before


def test_paper_settings_with_bad_title_change_nothing(app: Flask, world: factories.World) -> None:
    english(world)
    client = isolated_client(app)
    login(client, world.coordinator.email)
    response = client.post(
        f"/papers/{world.paper.id}/settings", data={"title": "", "summary": "Anders."}
    )
    assert response.status_code == 200
    assert "This field is required." in errors(response.get_data(as_text=True))
    db.session.refresh(world.paper)
    assert (world.paper.title, world.paper.summary) == (
        "Konzept Innenstadt",
        "Eine Zusammenfassung.",
    )


def test_too_large_request_gets_413(
    editor: FlaskClient, app: Flask, world: factories.World
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": "x" * 20_000,
            "base_version": "1",
        },
    )
    assert response.status_code == 413
    assert "The upload or text is larger than allowed." in response.get_data(as_text=True)


# ---------------------------------------------------------------- unknown and foreign ids


@pytest.fixture
def foreign(world: factories.World) -> dict[str, int]:
    """A paper of another organisation, with a section in two versions."""
    paper = factories.paper(world.outsider, "Fremdes Konzept")
    section = factories.section(world.outsider, paper, title="Fremder Abschnitt")
    from workflows import sections as section_flow

    section_flow.save_section(world.outsider, section.id, body="Zwei.", base_version=1)
    return {"paper": paper.id, "section": section.id}


def html_requests(paper: int, section: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", f"/papers/{paper}", {}),
        ("get", f"/papers/{paper}/settings", {}),
        ("get", f"/papers/{paper}/sections/new", {}),
        ("post", f"/papers/{paper}/sections/new", {"title": "x", "level": "1", "body": ""}),
        ("post", f"/papers/{paper}/participants", {"organisation": "CITY"}),
        ("post", f"/papers/{paper}/roles", {"email": "editor@example.org", "role": "editor"}),
        ("get", f"/sections/{section}/edit", {}),
        (
            "post",
            f"/sections/{section}/edit",
            {"title": "x", "level": "1", "body": "y", "base_version": "1"},
        ),
        ("get", f"/sections/{section}/history", {}),
        ("get", f"/sections/{section}/versions/1", {}),
        ("get", f"/sections/{section}/compare?from=1&to=2", {}),
        ("post", f"/sections/{section}/versions/1/restore", {}),
        ("post", f"/sections/{section}/remove", {}),
        ("post", f"/sections/{section}/undo-remove", {}),
        ("post", f"/sections/{section}/move", {"direction": "up"}),
        ("get", f"/sections/{section}/draft", {}),
    ]


@pytest.mark.parametrize("which", ["unknown", "foreign"])
def test_unknown_and_foreign_ids_give_404_pages(
    editor: FlaskClient, foreign: dict[str, int], which: str
) -> None:
    before = counts()
    ids = (99999, 99999) if which == "unknown" else (foreign["paper"], foreign["section"])
    for method, url, data in html_requests(*ids):
        response = getattr(editor, method)(url, data=data)
        assert response.status_code == 404, f"{method.upper()} {url}"
        assert "Fremd" not in response.get_data(as_text=True)
    assert counts() == before


def test_404_in_json_when_asked_for(editor: FlaskClient, foreign: dict[str, int]) -> None:
    for url in (
        f"/papers/{foreign['paper']}",
        "/papers/99999",
        f"/sections/{foreign['section']}/history",
    ):
        response = editor.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_foreign_version_of_a_visible_section_gives_404(
    editor: FlaskClient, world: factories.World
) -> None:
    for url in (
        f"/sections/{world.section.id}/versions/2",
        f"/sections/{world.section.id}/versions/0",
        f"/sections/{world.section.id}/compare?from=1&to=2",
    ):
        assert editor.get(url).status_code == 404, url
