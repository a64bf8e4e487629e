"""Numbering, language, raw HTML, column widths, styles and the title page of the Word export.

Read back by pandoc and LibreOffice (independent readers) as well as from the XML.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from exports.builder import build_document
from exports.data import CommentData, ExportData, SectionData
from tests import docx_samples
from tests.conftest import services_required

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

BODY = """Vorweg <u>unterstrichen</u>, CO<sub>2</sub> und m<sup>2</sup>,<br>neue Zeile,
<span class="x">ohne Tag</span> und <script>alert(1)</script>Ende.

3. Dritter Schritt
4. Vierter Schritt

| Begriff | Erläuterung |
|---|---|
| Zwischennutzungsfonds | Innenstadtentwicklungsgesellschaft mit kurzer Erklärung |

`code` im Satz.

```
Block
```"""


def _data(language: str = "de") -> ExportData:
    section = SectionData(
        section_id=1,
        number="1",
        level=1,
        title="Ausgangslage",
        body=BODY,
        version=1,
        author="Erika Erst",
        saved_at=T0,
        comments=(CommentData("Cem Kommentar", "CK", T0, "Quelle?", "Dritter Schritt"),),
    )
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
        sections=(section,),
        language=language,
    )


@pytest.fixture(scope="module")
def docx() -> bytes:
    return build_document(_data(), comments=True)


def _part(docx: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.fromstring(z.read(name))


def _parts(docx: bytes) -> dict[str, etree._Element]:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return {
            n: etree.fromstring(z.read(n))
            for n in z.namelist()
            if n.startswith("word/") and n.endswith(".xml")
        }


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if services_required():
            pytest.fail(f"{tool} is not installed")
        pytest.skip(f"{tool} is not installed")


def _pandoc(docx: bytes, tmp_path: Path, to: str = "html") -> str:
    _need("pandoc")
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    return subprocess.run(
        ["pandoc", "-f", "docx", "-t", to, str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def test_ordered_lists_keep_their_start_number(docx: bytes, tmp_path: Path) -> None:
    numbering = _part(docx, "word/numbering.xml")
    assert "3" in [el.get(f"{W}val") for el in numbering.iter(f"{W}startOverride")]
    assert re.search(r'<ol[^>]*start="3"', _pandoc(docx, tmp_path))


@pytest.mark.parametrize(("language", "tag"), [("de", "de-DE"), ("en", "en-GB")])
def test_language_and_hyphenation(language: str, tag: str) -> None:
    made = build_document(_data(language))
    styles = _part(made, "word/styles.xml")
    lang = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert lang is not None and lang.get(f"{W}val") == tag
    assert {el.get(f"{W}val") for el in styles.iter(f"{W}lang")} == {tag}
    assert _part(made, "word/settings.xml").find(f"{W}autoHyphenation") is not None


def test_raw_inline_html_becomes_formatting_and_never_shows_as_tags(
    docx: bytes, tmp_path: Path
) -> None:
    body = _part(docx, "word/document.xml")
    runs = {"".join(t.text or "" for t in r.iter(f"{W}t")): r for r in body.iter(f"{W}r")}
    assert runs["unterstrichen"].find(f"{W}rPr/{W}u").get(f"{W}val") == "single"
    assert runs["2"].find(f"{W}rPr/{W}vertAlign") is not None
    aligns = {el.get(f"{W}val") for el in body.iter(f"{W}vertAlign")}
    assert aligns == {"subscript", "superscript"}
    html = _pandoc(docx, tmp_path)
    assert "<u>unterstrichen</u>" in html or '<span class="underline">unterstrichen</span>' in html
    assert "<sub>2</sub>" in html and "<sup>2</sup>" in html
    assert "<br />" in html
    text = _pandoc(docx, tmp_path, "plain")
    for tag in ("<u>", "</u>", "<sub>", "<br>", "<span", "<script", "alert"):
        assert tag not in text
    assert "ohne Tag" in text


def test_table_columns_fit_their_longest_word(docx: bytes, tmp_path: Path) -> None:
    body = _part(docx, "word/document.xml")
    (table,) = body.iter(f"{W}tbl")
    assert table.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "autofit"
    widths = [int(c.get(f"{W}w")) for c in table.find(f"{W}tblGrid")]
    # "Zwischennutzungsfonds" (21 letters) gets room for itself; the explanation the rest.
    assert widths[0] >= 21 * 120
    assert widths[1] > widths[0]
    for cell in table.iter(f"{W}tc"):
        assert cell.find(f"{W}tcPr/{W}tcW").get(f"{W}type") == "dxa"
    # LibreOffice lays the table out without breaking either long word.
    _need("soffice")
    (pdf,) = docx_samples.convert([_write(docx, tmp_path)], "pdf", tmp_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Zwischennutzungsfonds" in text
    assert "Innenstadtentwicklungsgesellschaft" in text


def _write(docx: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "paper.docx"
    path.write_bytes(docx)
    return path


def test_every_referenced_style_is_defined(docx: bytes) -> None:
    parts = _parts(docx)
    defined = {s.get(f"{W}styleId") for s in parts["word/styles.xml"].iter(f"{W}style")}
    used: set[str] = set()
    for name, root in parts.items():
        if name == "word/styles.xml":
            continue
        for tag in ("pStyle", "rStyle", "tblStyle"):
            used |= {el.get(f"{W}val") for el in root.iter(f"{W}{tag}")}
    assert {"CommentReference", "CommentText", "Code", "CodeBlock"} <= used
    assert used <= defined, used - defined


def test_code_is_a_style_not_direct_formatting(docx: bytes) -> None:
    body = _part(docx, "word/document.xml")
    assert body.find(f".//{W}rFonts") is None


def test_title_page_has_no_header_or_footer(docx: bytes, tmp_path: Path) -> None:
    body = _part(docx, "word/document.xml")
    sect = body.find(f"{W}body/{W}sectPr")
    assert sect.find(f"{W}titlePg") is not None
    kinds = {
        ref.get(f"{W}type")
        for ref in sect
        if ref.tag in (f"{W}headerReference", f"{W}footerReference")
    }
    assert "first" in kinds and "default" in kinds
    # LibreOffice: the first PDF page has no "Seite 1 von", the second has its footer.
    _need("soffice")
    (pdf,) = docx_samples.convert([_write(docx, tmp_path)], "pdf", tmp_path)
    pages = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout.split("\f")
    assert "Seite" not in pages[0] and "Innenstadt – ENTWURF" not in pages[0]
    assert "Seite 2 von" in pages[1]
