"""Issue 14: a paper exported, edited in LibreOffice by two authors with tracked changes, a
comment and a footnote, and imported back: per-author suggestions, a comment and a footnote.

The comment is put into the exported file with python-docx before LibreOffice opens and
saves it (a macro inserting a comment aborts this LibreOffice build headless).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from flask import Flask
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Comment
from tests import factories, lo_edit, lo_revisions
from tests.integration.support import english, fresh, isolated_client
from tests.integration.test_import import suggestions_of, upload_api


def with_comment(data: bytes, paragraph: str, author: str, text: str) -> bytes:
    """Put a Word comment on a paragraph (python-docx), as a partner's Word would."""
    document = Document(io.BytesIO(data))
    (target,) = [p for p in document.paragraphs if p.text == paragraph]
    document.add_comment(target.runs, text=text, author=author, initials="PN")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


pytestmark = pytest.mark.skipif(not lo_revisions.available(), reason="LibreOffice not installed")


def test_a_libreoffice_edit_comes_back_as_suggestions_a_comment_and_a_footnote(
    app: Flask, world: factories.World, tmp_path: Path
) -> None:
    from exports import jobs

    english(world)
    paper = world.paper
    factories.section(
        world.editor, paper, "Ziele", "Mehr Leben am Abend.\n\nWeniger Lärm in der Nacht.", level=2
    )
    client = isolated_client(app)
    token = factories.token(world.editor)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    export_id = client.post(
        f"/api/v1/papers/{paper.id}/exports", json={}, headers=headers
    ).get_json()["id"]
    jobs.wait_for_exports(60)
    fresh()
    exported = client.get(f"/api/v1/exports/{export_id}/download", headers=headers).data
    first_body = world.section.head.body  # type: ignore[union-attr]
    word = first_body.split()[1]
    once = lo_edit.edit(
        exported,
        tmp_path,
        author="Bruno Beta",
        old=word,
        new=word.upper(),
        after="Wohnen.",
        note="Siehe Haushaltsplan 2027.",
    )
    twice = lo_edit.edit(
        with_comment(once, "Mehr Leben am Abend.", "Pavel Novák", "Woher kommt diese Zahl?"),
        tmp_path,
        author="Anna Alpha",
        old="Weniger Lärm",
        new="Weniger Verkehr",
    )
    before = {s.id for s in suggestions_of(paper.id)}
    response = upload_api(client, token, twice, paper_id=paper.id, filename="edited.docx")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sections"] == 0
    made = [s for s in suggestions_of(paper.id) if s.id not in before]
    notes = sorted(s.note for s in made)
    assert notes == [
        "Tracked changes from Word by Anna Alpha",
        "Tracked changes from Word by Bruno Beta",
    ], [(s.note, s.body) for s in made]
    by_note = {s.note: s for s in made}
    anna = by_note["Tracked changes from Word by Anna Alpha"]
    bruno = by_note["Tracked changes from Word by Bruno Beta"]
    assert "Weniger Verkehr" in anna.body and "[^1]" not in anna.body
    assert "[^1]: Siehe Haushaltsplan 2027." in bruno.body
    assert body["report"]["comments"] == 1
    (comment,) = db.session.scalars(select(Comment).where(Comment.paper_id == paper.id))
    assert comment.body.startswith("from Word: Pavel Novák, ")
    assert comment.body.endswith("Woher kommt diese Zahl?")
    assert comment.quote == "Mehr Leben am Abend."
    assert comment.anchor_start is not None
