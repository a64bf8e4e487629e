"""A Word import is one transaction, validated before the first write, with caps.

ASVS 4.0.3 V11.1.2/V11.1.4 (business logic in order, limits against automated abuse of a
single request) and V12.1.1 (files: size and count limits before processing). Issue 9 item 4.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from drafting.extensions import db
from drafting.models import Paper, Section, SectionVersion, Suggestion
from exports import importing
from tests import docx_samples, factories
from tests.docx_samples import Tracked
from tests.integration.support import configured_app, fresh, isolated_client, login
from tests.integration.test_import import upload_api, upload_form
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows import uow


def counts() -> dict[str, int]:
    """How many papers, sections, versions and suggestions exist (fresh from the database)."""
    fresh()
    return {
        model.__name__: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Paper, Section, SectionVersion, Suggestion)
    }


def many_headings(n: int, *, body: bool = False) -> bytes:
    """A tiny .docx with n headings (compresses to a few KB; the issue's file had 6 000)."""
    parts = []
    for i in range(n):
        parts.append(docx_samples.heading_xml(f"H{i}", 1 + i % 3))
        if body:
            parts.append(docx_samples.paragraph_xml(f"Absatz {i}."))
    return docx_samples.raw_docx(body="".join(parts))


@pytest.fixture
def editor(world: factories.World) -> factories.World:
    for person in world.users.values():
        person.locale = "en"
    db.session.commit()
    return world


def test_v12_1_1_six_thousand_headings_are_refused_quickly_by_the_cap(app: Flask, editor):
    data = many_headings(6000)
    assert len(data) < 40_000  # the file was 18.7 KB
    client, token = isolated_client(app), factories.token(editor.editor)
    before = counts()
    started = time.perf_counter()
    response = upload_api(client, token, data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large"
    assert error["message"] == (
        "The document has 6000 sections; at most 1000 can be imported at once. "
        "Please split it into several documents."
    )
    assert counts() == before
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"


def test_v12_1_1_the_form_shows_the_cap_message(app: Flask, editor):
    browser = isolated_client(app)
    login(browser, editor.editor.email)
    before = counts()
    response = upload_form(browser, many_headings(1500))
    assert response.status_code == 413
    assert "at most 1000 can be imported at once" in response.get_data(as_text=True)
    assert counts() == before


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[Flask]:
    with configured_app(tmp_path, IMPORT_MAX_SECTIONS=5, IMPORT_MAX_CHARS=200) as app:
        yield app


def test_v11_1_4_the_caps_come_from_the_configuration(capped: Flask):
    with capped.app_context():
        world = factories.world()
        world.editor.locale = "en"
        db.session.commit()
        token = factories.token(world.editor)
        client = isolated_client(capped)
        before = counts()
        too_many = upload_api(client, token, many_headings(6))
        assert too_many.status_code == 413
        assert "at most 5 can be imported" in too_many.get_json()["error"]["message"]
        long_text = docx_samples.headed_docx([(1, "Lang", ["Wort " * 60])])
        too_long = upload_api(client, token, long_text)
        assert too_long.status_code == 413
        assert too_long.get_json()["error"]["message"] == (
            "The document has more than 200 characters of text; "
            "please split it into several documents."
        )
        assert counts() == before
        fine = upload_api(client, token, many_headings(5))
        assert fine.status_code == 201, fine.get_json()
        assert counts()["Section"] == before["Section"] + 5
        db.session.remove()


def test_v11_1_2_an_overlong_section_half_way_leaves_no_paper_and_no_sections(app: Flask, editor):
    # Issue 14: a "Heading 0" is body text now; an overlong section is still refused whole.
    limit = app.config["MAX_BODY_CHARS"]
    body = (
        "".join(
            docx_samples.heading_xml(f"Teil {i}", 1) + docx_samples.paragraph_xml("Text.")
            for i in range(40)
        )
        + docx_samples.heading_xml("Kaputt", 1)
        + docx_samples.paragraph_xml("x" * (limit + 1))
    )
    client, token = isolated_client(app), factories.token(editor.editor)
    before = counts()
    response = upload_api(client, token, docx_samples.raw_docx(body=body))
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == (
        f"The section “Kaputt” is longer than {limit} characters; please split it with headings."
    )
    assert counts() == before


def _fail_at(n: int, real: Any) -> Any:
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise RuntimeError(f"injected failure at call {n}")
        return real(*args, **kwargs)

    return failing


def test_v11_1_2_a_failure_at_the_nth_section_leaves_no_paper(app: Flask, editor, monkeypatch):
    before = counts()
    monkeypatch.setattr(section_flow, "render", _fail_at(150, section_flow.render))
    with pytest.raises(RuntimeError, match="injected failure"):
        importing.import_docx(editor.editor, many_headings(300, body=True))
    assert counts() == before


def test_v11_1_2_a_failure_at_a_suggestion_leaves_no_paper(app: Flask, editor, monkeypatch):
    data = docx_samples.tracked_docx(
        [
            (1, "Eins", [Tracked("Es ist ", "alt", "neu", ".")]),
            (1, "Zwei", ["Bleibt."]),
            (1, "Drei", [Tracked("Das war ", "vorher", "nachher", ".")]),
        ]
    )
    before = counts()
    monkeypatch.setattr(
        suggestion_flow, "create_suggestion", _fail_at(2, suggestion_flow.create_suggestion)
    )
    with pytest.raises(RuntimeError, match="injected failure"):
        importing.import_docx(editor.editor, data)
    assert counts() == before


def test_v11_1_2_a_failed_import_into_a_paper_keeps_the_paper_as_it_was(
    app: Flask, editor, monkeypatch
):
    pid = editor.paper.id
    factories.section(editor.editor, editor.paper, title="Ziele", body="Mehr Leben.", level=2)
    titles = [s.title for s in section_flow.list_sections(pid)]
    before = counts()
    monkeypatch.setattr(
        suggestion_flow, "create_suggestion", _fail_at(2, suggestion_flow.create_suggestion)
    )
    client: FlaskClient = isolated_client(app)
    token = factories.token(editor.editor)
    changed = [(s.level, s.title, ["Ganz neuer Text."]) for s in section_flow.list_sections(pid)]
    changed.append((1, "Noch ein Teil", ["Text."]))
    response = upload_api(client, token, docx_samples.headed_docx(changed), paper_id=pid)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert counts() == before
    assert [s.title for s in section_flow.list_sections(pid)] == titles


def _statements(n: int, user: Any) -> tuple[int, int]:
    """Import n sections; return the number of INSERTs and of all other statements."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lstrip().upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        importing.import_docx(user, many_headings(n, body=True))
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    inserts = sum(1 for s in seen if s.startswith("INSERT"))
    return inserts, len(seen) - inserts


def test_reads_and_locks_do_not_grow_with_the_sections(app: Flask, editor):
    """One lock, one look-up per import: 300 sections read what 10 read (the ≤ 2 s import).

    Only the rows themselves (section, version, activity entry) grow; PostgreSQL batches
    even those into a few statements.
    """
    small_inserts, small_other = _statements(10, editor.editor)
    large_inserts, large_other = _statements(300, editor.editor)
    assert large_other <= small_other + 2, (small_other, large_other)
    assert large_inserts <= small_inserts + 3 * 290, (small_inserts, large_inserts)
    fresh()
    newest = db.session.scalar(select(Paper).order_by(Paper.id.desc()))
    sections = section_flow.list_sections(newest.id)
    assert [s.title for s in sections] == [f"H{i}" for i in range(300)]
    assert [s.level for s in sections[:4]] == [1, 2, 3, 1]
    assert sections[7].body == "Absatz 7."
    assert [s.position for s in sections] == list(range(1, 301))


def test_v11_1_2_import_docx_leaves_the_commit_to_its_caller(app: Flask, editor, monkeypatch):
    """Issue 10's unit of work on the import path: the caller's boundary commits, once."""
    commits: list[int] = []
    real_commit = db.session.commit

    def counting_commit() -> None:
        commits.append(1)
        real_commit()

    monkeypatch.setattr(db.session, "commit", counting_commit)
    with uow.unit_of_work():
        result = importing.import_docx(editor.editor, many_headings(20, body=True))
        assert commits == []  # paper, sections and activity only flushed so far
    assert commits == [1]
    # Called alone, the import is a unit of work of its own: again one commit.
    importing.import_docx(editor.editor, many_headings(3), paper_id=result.paper_id)
    assert commits == [1, 1]
    monkeypatch.undo()
    assert result.paper_id is not None
    # Importing into a paper never adds sections directly (issue 14): new headings are
    # listed in the report instead.
    assert len(section_flow.list_sections(result.paper_id)) == 20
