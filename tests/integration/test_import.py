"""Word import (issue 6): new papers and appended sections from .docx, Markdown from Word's
formatting, a partner's tracked changes as suggestions, and hostile uploads refused.

Uploads go through the API (``POST /api/v1/imports``) and the HTML forms (``/papers/import``,
``/papers/<id>/import``); every request runs in a context of its own, and the test reads the
database afresh after each one.
"""

from __future__ import annotations

import html
import io
import random
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import parse_xml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Paper,
    PaperRole,
    Role,
    Section,
    SectionVersion,
    Suggestion,
)
from drafting.text.markdown import render
from exports import docx_safety
from exports.docx_import import read
from tests import docx_samples, factories
from tests.conftest import api_headers
from tests.docx_samples import TRACKED_AUTHOR, Tracked
from tests.integration.support import configured_app, english, fresh, isolated_client, login
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

# --- helpers -------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    """How many papers, roles, sections, versions, suggestions and activity rows exist."""
    fresh()
    return {
        model.__name__: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Paper, PaperRole, Section, SectionVersion, Suggestion, ActivityEntry)
    }


def upload(data: bytes, filename: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename, content_type=docx_samples.DOCX_MIME)


def multipart(form: dict[str, Any]) -> tuple[bytes, str]:
    """Encode a multipart body in memory (the test client would spool large ones to a
    temporary file that it never closes)."""
    boundary, body = encode_multipart(form)
    return body, f"multipart/form-data; boundary={boundary}"


def upload_api(
    client: FlaskClient,
    token: str,
    data: bytes,
    paper_id: int | None = None,
    filename: str = "konzept.docx",
) -> Any:
    form: dict[str, Any] = {"file": upload(data, filename)}
    if paper_id is not None:
        form["paper_id"] = str(paper_id)
    body, content_type = multipart(form)
    response = client.post(
        "/api/v1/imports",
        data=body,
        headers={**api_headers(token), "Accept-Language": "en"},
        content_type=content_type,
    )
    fresh()
    return response


def upload_form(
    client: FlaskClient, data: bytes, paper_id: int | None = None, filename: str = "konzept.docx"
) -> Any:
    url = f"/papers/{paper_id}/import" if paper_id is not None else "/papers/import"
    body, content_type = multipart({"file": upload(data, filename)})
    response = client.post(url, data=body, content_type=content_type)
    fresh()
    return response


def form_errors(page: str) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(r'<ul class="errors"[^>]*>\s*<li>(.*?)</li>', page, re.S)
    ]


def sections_of(paper_id: int) -> list[Section]:
    fresh()
    return section_flow.list_sections(paper_id)


def suggestions_of(paper_id: int) -> list[Suggestion]:
    fresh()
    return list(
        db.session.scalars(
            select(Suggestion).where(Suggestion.paper_id == paper_id).order_by(Suggestion.id)
        )
    )


@pytest.fixture
def w(world: factories.World) -> factories.World:
    """The world in English, with a second section "Ziele" next to "Ausgangslage"."""
    factories.section(
        world.editor, world.paper, title="Ziele", body="Mehr Leben am Abend.", level=2
    )
    english(world)
    return world


@pytest.fixture
def editor_browser(app: Flask, w: factories.World) -> FlaskClient:
    client = isolated_client(app)
    login(client, w.editor.email)
    return client


@pytest.fixture
def editor_api(app: Flask, w: factories.World) -> tuple[FlaskClient, str]:
    return isolated_client(app), factories.token(w.editor)


# --- a new paper, and Markdown from Word's formatting -------------------------------------------


def formatted_docx() -> bytes:
    """A partner's document: title, headings 1–3, formatting, lists, a table, a link."""
    document = Document()
    document.add_paragraph("Konzept Grünes Quartier", style="Title")
    document.add_paragraph("Vorwort vor der ersten Überschrift.")
    document.add_heading("Ausgangslage", 1)
    p = document.add_paragraph("Die ")
    p.add_run("Innenstadt").bold = True
    p.add_run(" lebt vom ")
    p.add_run("Handel").italic = True
    p.add_run(" und von Straßen für Fußgänger.")
    document.add_heading("Ziele", 2)
    document.add_paragraph("Mehr Grün", style="List Bullet")
    document.add_paragraph("Bäume an der Hauptstraße", style="List Bullet 2")
    document.add_paragraph("Weniger Verkehr", style="List Bullet")
    document.add_paragraph("Planen", style="List Number")
    document.add_paragraph("Bauen", style="List Number")
    document.add_heading("Kennzahlen", 3)
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Maßnahme", "Anteil", "Bäume", "40 %"], strict=True):
        cell.text = text
    link = document.add_paragraph("Mehr unter ")
    rel = document.part.relate_to(
        "https://example.org/quartier", RELATIONSHIP_TYPE.HYPERLINK, is_external=True
    )
    link._p.append(
        parse_xml(
            f'<w:hyperlink {docx_samples.NSDECL} xmlns:r="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships" r:id="{rel}"><w:r><w:t>der Projektseite</w:t>'
            "</w:r></w:hyperlink>"
        )
    )
    return docx_samples.to_bytes(document)


def test_import_creates_a_paper_with_sections_and_markdown(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    client, token = editor_api
    before = counts()
    response = upload_api(client, token, formatted_docx())
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["sections"] == 4 and data["suggestions"] == 0
    assert data["report"]["created"] == 4 and data["report"]["lost"] == []
    paper = db.session.get(Paper, data["paper_id"])
    assert paper is not None and paper.title == "Konzept Grünes Quartier"
    assert paper.lead_organisation_id == w.editor.organisation_id
    sections = sections_of(paper.id)
    assert [(s.title, s.level) for s in sections] == [
        ("Introduction", 1),  # the text before the first heading (issue 14)
        ("Ausgangslage", 1),
        ("Ziele", 2),
        ("Kennzahlen", 3),
    ]
    assert sections[0].head.body == "Vorwort vor der ersten Überschrift."  # type: ignore[union-attr]
    bodies = [s.head.body for s in sections[1:]]  # type: ignore[union-attr]
    assert bodies[0] == "Die **Innenstadt** lebt vom *Handel* und von Straßen für Fußgänger."
    assert render(bodies[1]) == render(
        "- Mehr Grün\n  - Bäume an der Hauptstraße\n- Weniger Verkehr\n\n1. Planen\n2. Bauen"
    )
    assert bodies[2] == (
        "| Maßnahme | Anteil |\n|---|---|\n| Bäume | 40 % |\n\n"
        "Mehr unter [der Projektseite](https://example.org/quartier)"
    )
    after = counts()
    assert after["Paper"] == before["Paper"] + 1
    assert after["Section"] == before["Section"] + 4


def test_word_text_that_looks_like_markdown_stays_text_and_lists_nest() -> None:
    document = Document()
    document.add_heading("Termine", 1)
    document.add_paragraph("1. Januar 2027: Das Konzept tritt in Kraft.")
    document.add_paragraph("- kein Listenpunkt, # keine Überschrift")
    document.add_paragraph("Vorbereiten", style="List Number")
    document.add_paragraph("Bürger fragen", style="List Bullet 2")
    document.add_paragraph("Ämter fragen", style="List Bullet 2")
    document.add_paragraph("Umsetzen", style="List Number")
    code = document.add_paragraph("Befehl ")
    run = code.add_run("make `test`")
    run.font.name = "Courier New"
    (section,) = read(docx_samples.to_bytes(document)).sections
    assert render(section.body) == render(
        "1\\. Januar 2027: Das Konzept tritt in Kraft.\n\n"
        "\\- kein Listenpunkt, \\# keine Überschrift\n\n"
        "1. Vorbereiten\n   - Bürger fragen\n   - Ämter fragen\n2. Umsetzen\n\n"
        "Befehl `` make `test` ``"
    ), section.body


def test_import_form_creates_a_paper_and_redirects_to_it(
    app: Flask, w: factories.World, editor_browser: FlaskClient
) -> None:
    assert editor_browser.get("/papers/import").status_code == 200
    response = upload_form(editor_browser, formatted_docx())
    assert response.status_code == 302
    paper_id = int(re.search(r"/papers/(\d+)$", response.location).group(1))  # type: ignore[union-attr]
    assert [s.title for s in sections_of(paper_id)] == [
        "Introduction",
        "Ausgangslage",
        "Ziele",
        "Kennzahlen",
    ]
    page = editor_browser.get(response.location).get_data(as_text=True)
    assert "Imported 4 sections and 0 suggestions from tracked changes." in html.unescape(page)


def test_import_into_a_paper_never_adds_sections_directly(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    """Issue 14: headings the paper does not have become suggested new sections, not sections.

    The file holds none of the paper's sections (a partner's own chapter): the paper's
    sections are not suggested for removal, only listed in the report.
    """
    client, token = editor_api
    before = counts()
    data = docx_samples.headed_docx(
        [(1, "Umsetzung", ["Ab 2027 in drei Schritten."]), (2, "Zeitplan", ["Bis Ende 2028."])]
    )
    response = upload_api(client, token, data, paper_id=w.paper.id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["paper_id"], body["sections"], body["suggestions"]) == (w.paper.id, 0, 2)
    made = suggestions_of(w.paper.id)
    assert sorted(body["suggestion_ids"]) == sorted(s.id for s in made)
    assert [(s.kind.value, s.title, s.level, s.body, s.section_id) for s in made] == [
        ("new_section", "Umsetzung", 1, "Ab 2027 in drei Schritten.", None),
        ("new_section", "Zeitplan", 2, "Bis Ende 2028.", None),
    ]
    assert body["report"]["outline"] == {"new_sections": 2, "removals": 0, "moves": 0}
    lost = body["report"]["lost"]
    assert [(x["kind"], x["where"]) for x in lost] == [
        ("removed section", "Ausgangslage"),
        ("removed section", "Ziele"),
    ]
    assert [(s.title, s.level) for s in sections_of(w.paper.id)] == [
        ("Ausgangslage", 1),
        ("Ziele", 2),
    ]
    assert counts()["Section"] == before["Section"]


def test_import_form_into_a_paper_says_what_it_suggested(
    app: Flask, w: factories.World, editor_browser: FlaskClient
) -> None:
    """Into a paper nothing is applied: the message counts suggestions, from any change."""
    data = docx_samples.headed_docx([(1, "Umsetzung", ["Ab 2027 in drei Schritten."])])
    preview = upload_form(editor_browser, data, paper_id=w.paper.id)
    # The paper's own sections are not in the file: a preview lists them first.
    text = preview.get_data(as_text=True)
    assert "Preview of the import" in text
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text)
    assert token
    done = editor_browser.post(
        f"/papers/{w.paper.id}/import", data={"token": token.group(1), "filename": "k.docx"}
    )
    fresh()
    page = html.unescape(done.get_data(as_text=True))
    assert "1 suggestion made from the changes in the file." in page
    assert "tracked changes" not in page


def test_import_without_headings_is_refused(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    client, token = editor_api
    before = counts()
    data = docx_samples.to_bytes(Document())
    response = upload_api(client, token, data)
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == (
        "The document contains no text to import. If it holds only pictures or scans, "
        "copy its text into a Word document and import that."
    )
    assert counts() == before


def test_a_document_without_headings_becomes_one_section_named_after_the_file(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    client, token = editor_api
    document = Document()
    document.add_paragraph("Ein Brief ohne Überschriften.")
    document.add_paragraph("Zweiter Absatz.")
    response = upload_api(
        client, token, docx_samples.to_bytes(document), filename="Stellungnahme Kammer.docx"
    )
    assert response.status_code == 201, response.get_json()
    (section,) = sections_of(response.get_json()["paper_id"])
    assert section.title == "Stellungnahme Kammer"
    assert section.head.body == "Ein Brief ohne Überschriften.\n\nZweiter Absatz."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("reviewer", 403, "forbidden"), ("member", 403, "forbidden"), ("outsider", 404, "not_found")],
)
def test_import_into_a_paper_needs_the_editor_role(
    app: Flask, w: factories.World, who: str, status: int, code: str
) -> None:
    before = counts()
    client = isolated_client(app)
    data = docx_samples.headed_docx([(1, "Fremd", ["Text."])])
    response = upload_api(client, factories.token(w.users[who]), data, paper_id=w.paper.id)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    after = counts()
    assert after == {**before, "ActivityEntry": after["ActivityEntry"]}  # the token's login


def test_import_into_a_frozen_paper_is_refused(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    min_signatory = factories.user(w.ministry, "min-sig@example.org", name="Mira Amt")
    paper_flow.grant_role(w.coordinator, w.paper.id, min_signatory.email, Role.SIGNATORY)
    factories.approve_all(w)
    signoff_flow.start(w.coordinator, w.paper.id)
    client, token = editor_api
    before = counts()
    response = upload_api(
        client, token, docx_samples.headed_docx([(1, "Neu", ["T."])]), paper_id=w.paper.id
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "paper_locked"
    assert counts() == before


def test_import_form_accepts_only_docx_file_names(
    app: Flask, w: factories.World, editor_browser: FlaskClient
) -> None:
    before = counts()
    response = upload_form(editor_browser, formatted_docx(), filename="konzept.pdf")
    assert response.status_code == 422
    assert form_errors(response.get_data(as_text=True)) == [
        "Only Word documents (.docx) can be imported."
    ]
    assert counts() == before


# --- tracked changes become suggestions ------------------------------------------------------

HANDEL = Tracked("Die Innenstadt lebt vom ", "Handel", "Einzelhandel und der Gastronomie", ".")


def partner_docx(*, title_change: bool = False) -> bytes:
    """The paper as a partner sends it back: tracked changes by Max Mustermann in one section."""
    heading = "Ausgangslage"
    return docx_samples.tracked_docx(
        [
            (1, heading, [HANDEL, "Und vom Wohnen."]),
            (2, "Ziele", ["Mehr Leben am Abend."]),
            (
                2,
                "Kultur",
                [Tracked("Theater und ", "Kinos", "Konzerte", " beleben die Stadt.")]
                if title_change
                else ["Theater und Kinos beleben die Stadt."],
            ),
        ]
    )


def test_docx_reader_keeps_original_and_accepted_text_apart() -> None:
    doc = read(partner_docx())
    assert doc.has_tracked_changes
    first = doc.sections[0]
    assert first.changed and first.authors == {TRACKED_AUTHOR}
    assert first.body == f"{HANDEL.original}\n\nUnd vom Wohnen."
    assert first.accepted_body == f"{HANDEL.accepted}\n\nUnd vom Wohnen."
    assert not doc.sections[1].changed and doc.sections[1].authors == set()


def test_tracked_changes_become_one_suggestion_per_changed_section(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    client, token = editor_api
    before_sections = {s.id: (s.title, s.version, s.head.body) for s in sections_of(w.paper.id)}  # type: ignore[union-attr]
    response = upload_api(client, token, partner_docx(title_change=True), paper_id=w.paper.id)
    assert response.status_code == 201, response.get_json()
    # "Kultur" is not in the paper: the report lists it; nothing is added directly.
    body = response.get_json()
    assert (body["paper_id"], body["sections"], body["suggestions"]) == (w.paper.id, 0, 2)
    sections = sections_of(w.paper.id)
    assert [s.title for s in sections] == ["Ausgangslage", "Ziele"]
    # The matched sections' texts are unchanged: the changes wait as suggestions.
    for s in sections[:2]:
        assert (s.title, s.version, s.head.body) == before_sections[s.id]  # type: ignore[union-attr]
    ausgangslage, kultur = suggestions_of(w.paper.id)
    assert body["suggestion_ids"] == [ausgangslage.id, kultur.id]
    # "Kultur" is not in the paper: a suggested new section, not a section.
    assert (kultur.kind.value, kultur.title, kultur.section_id) == ("new_section", "Kultur", None)
    assert ausgangslage.section_id == sections[0].id
    assert ausgangslage.body == f"{HANDEL.accepted}\n\nUnd vom Wohnen."
    assert ausgangslage.base_version == sections[0].version
    assert ausgangslage.author_id == w.editor.id
    assert TRACKED_AUTHOR in ausgangslage.note
    assert ausgangslage.note == f"Tracked changes from Word by {TRACKED_AUTHOR}"
    # No suggestion for the unchanged section "Ziele".
    assert sections[1].id not in {s.section_id for s in suggestions_of(w.paper.id)}


def test_tracked_changes_from_several_authors_are_all_named(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    client, token = editor_api
    data = docx_samples.tracked_docx(
        [
            (
                1,
                "Ausgangslage",
                [HANDEL, Tracked("Und vom ", "Wohnen", "Arbeiten", ".", author="Erika Beispiel")],
            )
        ]
    )
    response = upload_api(client, token, data, paper_id=w.paper.id)
    assert response.get_json()["suggestions"] == 2  # one per Word author (issue 14)
    erika, max_ = suggestions_of(w.paper.id)
    assert erika.note == "Tracked changes from Word by Erika Beispiel"
    assert erika.body == f"{HANDEL.original}\n\nUnd vom Arbeiten."
    assert max_.note == f"Tracked changes from Word by {TRACKED_AUTHOR}"
    assert max_.body == f"{HANDEL.accepted}\n\nUnd vom Wohnen."


def test_tracked_changes_in_a_new_paper_give_original_sections_and_suggestions(
    app: Flask, w: factories.World, editor_browser: FlaskClient
) -> None:
    response = upload_form(editor_browser, partner_docx(title_change=True))
    assert response.status_code == 302
    paper_id = int(re.search(r"/papers/(\d+)$", response.location).group(1))  # type: ignore[union-attr]
    sections = sections_of(paper_id)
    assert [(s.title, s.head.body) for s in sections] == [  # type: ignore[union-attr]
        ("Ausgangslage", f"{HANDEL.original}\n\nUnd vom Wohnen."),
        ("Ziele", "Mehr Leben am Abend."),
        ("Kultur", "Theater und Kinos beleben die Stadt."),
    ]
    suggestions = suggestions_of(paper_id)
    assert [(s.section_id, s.body) for s in suggestions] == [
        (sections[0].id, f"{HANDEL.accepted}\n\nUnd vom Wohnen."),
        (sections[2].id, "Theater und Konzerte beleben die Stadt."),
    ]
    assert all(TRACKED_AUTHOR in s.note for s in suggestions)
    page = editor_browser.get(response.location).get_data(as_text=True)
    assert "Imported 3 sections and 2 suggestions from tracked changes." in html.unescape(page)


def test_a_tracked_heading_change_suggests_a_new_title(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    document = Document()
    heading = document.add_heading("", 1)
    for child in list(docx_samples.tracked_paragraph(Tracked("Ausgangs", "lage", "punkt", ""), 1)):  # type: ignore[call-overload]
        heading._p.append(child)
    document.add_paragraph("Die Innenstadt lebt vom Handel.")
    document.add_paragraph("Und vom Wohnen.")
    client, token = editor_api
    response = upload_api(client, token, docx_samples.to_bytes(document), paper_id=w.paper.id)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["suggestions"] == 1
    (suggestion,) = suggestions_of(w.paper.id)
    assert suggestion.section_id == w.section.id
    assert suggestion.title == "Ausgangspunkt"
    assert suggestion.body == "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."


# --- hostile uploads -----------------------------------------------------------------------

HOSTILE_MESSAGES = {
    "zip bomb 1000:1": "The file is compressed suspiciously strongly.",
    "zip bomb lying about its size": "The file is damaged or incomplete.",
    "xxe entity": "The file contains XML declarations that are not allowed.",
    # Issue 9, item 15 (ASVS V5.5.2): the check reads the decoded text, not the bytes.
    "xxe entity in UTF-16": "The file contains XML declarations that are not allowed.",
    "xxe entity in UTF-16 without BOM": "The file contains XML declarations that are not allowed.",
    "xxe entity in UTF-32": "The file contains XML declarations that are not allowed.",
    "billion laughs": "The file contains XML declarations that are not allowed.",
    "zip slip ../": "The file contains parts with unsafe names.",
    "zip slip absolute": "The file contains parts with unsafe names.",
    "zip slip backslash": "The file contains parts with unsafe names.",
    "empty": "The file is empty.",
    "truncated": "The file is damaged or incomplete.",
    ".doc renamed": "This is an old Word document (.doc) or a password-protected file.",
    "password-protected .docx": "This is an old Word document (.doc) or a password-protected",
    "zip-encrypted members": "The file is encrypted.",
    ".odt renamed": "This is an OpenDocument file (.odt).",
    ".zip renamed": "This ZIP file is not a Word document (.docx).",
    ".pdf renamed": "This is not a Word document (.docx).",
    "spreadsheet package": "This file is not a Word document (.docx).",
    "too many members": "The file has too many parts to be a normal Word document.",
}


@cache
def hostile_uploads() -> dict[str, bytes]:
    return docx_samples.hostile_uploads()


def hostile(name: str) -> bytes:
    return hostile_uploads()[name]


def test_every_hostile_sample_has_an_expected_message() -> None:
    assert set(hostile_uploads()) == set(HOSTILE_MESSAGES)


@pytest.mark.parametrize("name", list(HOSTILE_MESSAGES))
def test_hostile_upload_is_refused_by_the_api_and_the_form(
    app: Flask,
    w: factories.World,
    editor_api: tuple[FlaskClient, str],
    editor_browser: FlaskClient,
    name: str,
) -> None:
    client, token = editor_api
    before = counts()
    for paper_id in (None, w.paper.id):
        response = upload_api(client, token, hostile(name), paper_id=paper_id)
        assert response.status_code == 422, (name, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "invalid_document"
        assert error["message"].startswith(HOSTILE_MESSAGES[name])
        assert "root:" not in response.get_data(as_text=True)

        response = upload_form(editor_browser, hostile(name), paper_id=paper_id)
        assert response.status_code == 422, name
        page = response.get_data(as_text=True)
        (message,) = form_errors(page)
        assert message.startswith(HOSTILE_MESSAGES[name])
        assert "root:" not in page
    assert counts() == before


def test_zip_slip_writes_nothing_outside(
    app: Flask, w: factories.World, editor_api: tuple[FlaskClient, str]
) -> None:
    target = Path("/tmp/konzeptwerk-zip-slip.txt")
    target.unlink(missing_ok=True)
    client, token = editor_api
    assert upload_api(client, token, hostile("zip slip ../")).status_code == 422
    assert not target.exists()


def test_the_checks_run_before_anything_is_decompressed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bomb must be refused from the archive's directory alone: reading a member is a failure.
    def no_reading(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a member was read")

    samples = {name: hostile(name) for name in HOSTILE_MESSAGES}  # built before the patch:
    # making some samples reads archives (python-docx), and the cache may still be cold.
    monkeypatch.setattr("zipfile.ZipFile.read", no_reading)
    monkeypatch.setattr("zipfile.ZipFile.open", no_reading)
    for name in ("zip bomb 1000:1", "zip slip ../", "too many members", ".odt renamed"):
        with pytest.raises(docx_safety.UnsafeDocument):
            docx_safety.check(samples[name])


def test_uncompressed_limit_comes_from_the_config(tmp_path: Path) -> None:
    # 2 MB of incompressible-ish text (ratio far below 100:1) over a 1 MB limit.
    rng = random.Random(6)
    filler = "".join(
        f"<w:p><w:r><w:t>{rng.getrandbits(64):x}</w:t></w:r></w:p>" for _ in range(50_000)
    )
    data = docx_samples.raw_docx(
        {"word/document.xml": docx_samples.document_xml(docx_samples.heading_xml("A") + filler)}
    )
    with configured_app(tmp_path, IMPORT_MAX_UNCOMPRESSED=1024 * 1024) as application:
        with application.app_context():
            w = factories.world()
            english(w)
            before = counts()
            response = upload_api(isolated_client(application), factories.token(w.editor), data)
            assert response.status_code == 422
            assert response.get_json()["error"]["message"] == (
                "The file would unpack to more data than allowed."
            )
            assert counts() == before


def test_upload_over_the_size_limit_answers_413(tmp_path: Path) -> None:
    data = docx_samples.headed_docx([(1, "Groß", ["x" * 10])])
    noise = random.Random(7).randbytes(250_000)  # incompressible: the upload stays large
    padded = docx_samples.raw_docx({"word/media/noise.bin": noise})
    assert len(padded) > 200_000 > len(data)
    with configured_app(tmp_path, MAX_CONTENT_LENGTH=200_000) as application:
        with application.app_context():
            w = factories.world()
            english(w)
            token = factories.token(w.editor)
            api_client, browser = isolated_client(application), isolated_client(application)
            login(browser, w.editor.email)
            before = counts()
            response = upload_api(api_client, token, padded)
            assert response.status_code == 413
            assert response.get_json()["error"]["code"] == "too_large"
            response = upload_form(browser, padded)
            assert response.status_code == 413
            assert "The upload or text is larger than allowed." in response.get_data(as_text=True)
            assert counts() == before
            # Under the limit the same app imports.
            assert upload_api(api_client, token, data).status_code == 201
            db.session.remove()
