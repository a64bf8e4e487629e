"""The table of contents carries its result: entries, links to the headings, page numbers.

Read in the XML (before any field update), by LibreOffice's PDF (pdftotext) and with the
page numbers LibreOffice computes in the export job's layout pass.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from exports import layout
from exports.builder import build_document
from exports.data import ExportData, SectionData
from tests import docx_samples
from tests.conftest import services_required

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LONG = "\n\n".join(f"Absatz {n} über die Belebung der Innenstadt." for n in range(40))


def _section(sid: int, number: str, level: int, title: str, body: str) -> SectionData:
    return SectionData(
        section_id=sid,
        number=number,
        level=level,
        title=title,
        body=body,
        version=1,
        author="Erika Erst",
        saved_at=T0,
    )


def _data() -> ExportData:
    return ExportData(
        paper_id=1,
        title="Innenstadt",
        summary="",
        lead_organisation="HVM",
        participants=("HVM",),
        status="drafting",
        edition_label="",
        edition_number=None,
        edition_hash=None,
        date=T0,
        sections=(
            _section(11, "1", 1, "Ausgangslage", LONG),
            _section(12, "1.1", 2, "Leerstand", LONG),
            _section(13, "2", 1, "Maßnahmen", "Kurz."),
            _section(14, "2.1.1", 3, "Fonds", LONG),
        ),
    )


def _document(docx: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.fromstring(z.read("word/document.xml"))


def _settings(docx: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.fromstring(z.read("word/settings.xml"))


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            if services_required():
                pytest.fail(f"{tool} is not installed")
            pytest.skip(f"{tool} is not installed")


def _pdf_pages(docx: bytes, tmp_path: Path) -> list[str]:
    _need("soffice", "pdftotext")
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    (pdf,) = docx_samples.convert([source], "pdf", tmp_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")


def _entries(docx: bytes) -> list[tuple[str, str]]:
    """Return (anchor, text) of the contents' entries, from the field's result."""
    body = _document(docx)
    return [
        (link.get(f"{W}anchor"), "".join(t.text or "" for t in link.iter(f"{W}t")))
        for link in body.iter(f"{W}hyperlink")
        if link.get(f"{W}anchor")
    ]


def test_entries_are_in_the_document_before_any_field_update() -> None:
    docx = build_document(_data())
    entries = _entries(docx)
    assert [text for _a, text in entries] == [
        "1 Ausgangslage",
        "1.1 Leerstand",
        "2 Maßnahmen",
        "2.1.1 Fonds",
    ]
    body = _document(docx)
    bookmarks = {b.get(f"{W}name"): b for b in body.iter(f"{W}bookmarkStart")}
    for anchor, text in entries:
        # Each entry links to a bookmark inside its heading; the heading's number comes from
        # Word's list numbering (issue 13), it is not typed into the heading.
        heading = bookmarks[anchor].getparent()
        assert "".join(t.text or "" for t in heading.iter(f"{W}t")) == text.split(" ", 1)[1]
        assert heading.find(f"{W}pPr/{W}pStyle").get(f"{W}val").startswith("Heading")
    styles = [s.get(f"{W}val") for s in body.iter(f"{W}pStyle")]
    assert {"TOC1", "TOC2", "TOC3"} <= set(styles)
    # One field around the entries; Word is not asked to update fields on opening.
    instructions = [t.text.strip() for t in body.iter(f"{W}instrText")]
    assert instructions == ['TOC \\o "1-3" \\h \\z \\u']
    assert _settings(docx).find(f"{W}updateFields") is None
    assert not [f for f in body.iter(f"{W}fldChar") if f.get(f"{W}dirty")]


def test_libreoffice_pdf_shows_the_contents(tmp_path: Path) -> None:
    pages = _pdf_pages(build_document(_data()), tmp_path)
    contents = pages[1]
    assert "Inhalt" in contents
    for entry in ("1 Ausgangslage", "1.1 Leerstand", "2 Maßnahmen", "2.1.1 Fonds"):
        assert entry in contents


def test_page_numbers_from_libreoffice_layout(tmp_path: Path) -> None:
    _need("soffice", "pdftotext")
    data = _data()
    first = build_document(data)
    pages = layout.heading_pages(first, data.sections)
    assert pages is not None
    assert pages[11] == 3 and pages[14] > pages[12] > pages[11]
    docx = build_document(data, toc_pages=pages)
    body = _document(docx)
    instructions = [t.text.strip() for t in body.iter(f"{W}instrText")]
    assert instructions[1:] == [f"PAGEREF _Toc{sid} \\h" for sid in (11, 12, 13, 14)]
    # In LibreOffice's PDF each entry shows the page its heading is on.
    pdf = _pdf_pages(docx, tmp_path)
    for s in data.sections:
        line = next(
            line for line in pdf[1].splitlines() if line.strip().startswith(f"{s.number} {s.title}")
        )
        shown = int(re.findall(r"\d+", line)[-1])
        assert shown == pages[s.section_id]
        assert f"{s.number} {s.title}" in pdf[shown - 1]


def test_find_pages_skips_the_contents_and_fails_softly() -> None:
    sections = _data().sections
    pages = [
        "Titel",
        "Inhalt\n1 Ausgangslage\n1.1 Leerstand\n2 Maßnahmen\n2.1.1 Fonds",
        "1 Ausgangslage\ntext",
        "1.1\nLeerstand text 2 Maßnahmen",
        "2.1.1 Fonds",
    ]
    assert layout.find_pages(pages, sections) == {11: 3, 12: 4, 13: 4, 14: 5}
    assert layout.find_pages(pages[:3], sections) is None
    renamed = (replace(sections[0], title="Anders"), *sections[1:])
    assert layout.find_pages(pages, renamed) is None
