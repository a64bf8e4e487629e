"""Heading numbering, section bookmarks, custom properties and styles of the Word export.

Issue 13: section headings are numbered by Word's multilevel list linked to Heading 1–3 (the
same numbers as the web view, none typed), every heading carries the bookmark
``_kw_s<section>_v<version>``, the file names its paper in ``konzeptwerk_paper``, and the
styles for comments, code, quotes, table text, footnotes and captions come from the reference
document when it has them. Read back with python-docx/lxml, LibreOffice and pandoc.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.shared import Pt
from lxml import etree

from drafting.text.outline import heading_numbers
from exports import headings, properties
from exports.builder import build_document
from exports.data import Change, CommentData, ExportData, SectionData
from tests import docx_samples
from tests.conftest import services_required

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = """Text mit `code` und einem Zitat:

> Ein Zitat.

| Stadt | Jahr |
|---|---|
| Halle | 2024 |

```
Block
```"""


def _data(levels: list[int], *, paper_id: int = 7, body: str = BODY) -> ExportData:
    numbers = heading_numbers(levels)
    return ExportData(
        paper_id=paper_id,
        title="Innenstadt",
        summary="",
        lead_organisation="HVM",
        participants=("HVM",),
        status="drafting",
        edition_label="",
        edition_number=None,
        edition_hash=None,
        date=T0,
        sections=tuple(
            SectionData(
                section_id=100 + index,
                number=number,
                level=level,
                title=f"Titel {index}",
                body=body,
                version=index + 2,
                author="Erika Erst",
                saved_at=T0,
                comments=(CommentData("Cem K", "CK", T0, "Quelle?", "Ein Zitat."),),
            )
            for index, (number, level) in enumerate(zip(numbers, levels, strict=True))
        ),
    )


def _parts(docx: bytes) -> dict[str, etree._Element]:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return {n: etree.fromstring(z.read(n)) for n in z.namelist() if n.endswith(".xml")}


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            if services_required():
                pytest.fail(f"{tool} is not installed")
            pytest.skip(f"{tool} is not installed")


def _pdf_lines(docx: bytes, tmp_path: Path) -> list[str]:
    _need("soffice", "pdftotext")
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    (pdf,) = docx_samples.convert([source], "pdf", tmp_path / "pdf")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def _word_shows(levels: list[int], typed: list[bool]) -> list[str]:
    """Count as Word does: list levels with their start values, typed headings left out."""
    starts = headings.start_values(levels)
    counters: list[int | None] = [None] * 3
    shown = []
    numbers = heading_numbers(levels)
    for level, is_typed, number in zip(levels, typed, numbers, strict=True):
        if is_typed:
            shown.append(number)
            continue
        for index in range(level - 1):
            counters[index] = starts[index] if counters[index] is None else counters[index]
        current = counters[level - 1]
        counters[level - 1] = starts[level - 1] if current is None else current + 1
        for index in range(level, 3):
            counters[index] = None
        shown.append(".".join(str(counters[i]) for i in range(level)))
    return shown


# --- numbering ----------------------------------------------------------------------------------


def test_every_outline_shows_the_web_numbers() -> None:
    rng = random.Random(13)
    for _ in range(500):
        levels = [rng.choice((1, 1, 2, 2, 3)) for _ in range(rng.randint(1, 12))]
        numbers = heading_numbers(levels)
        typed = headings.typed_numbers(levels, numbers)
        assert _word_shows(levels, typed) == numbers, levels
        if levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)):
            assert not any(typed), levels  # a regular outline types no number at all


def test_headings_are_linked_to_one_multilevel_list() -> None:
    docx = build_document(_data([1, 2, 3, 1]))
    parts = _parts(docx)
    numbering, styles, body = (
        parts["word/numbering.xml"],
        parts["word/styles.xml"],
        parts["word/document.xml"],
    )
    (abstract,) = [
        a
        for a in numbering.iter(f"{W}abstractNum")
        if "Heading1" in [el.get(f"{W}val") for el in a.iter(f"{W}pStyle")]
    ]
    assert abstract.find(f"{W}multiLevelType").get(f"{W}val") == "multilevel"
    levels = abstract.findall(f"{W}lvl")
    assert [lvl.find(f"{W}pStyle").get(f"{W}val") for lvl in levels] == [
        "Heading1",
        "Heading2",
        "Heading3",
    ]
    assert [lvl.find(f"{W}lvlText").get(f"{W}val") for lvl in levels] == ["%1", "%1.%2", "%1.%2.%3"]
    (num,) = [
        n
        for n in numbering.iter(f"{W}num")
        if n.find(f"{W}abstractNumId").get(f"{W}val") == abstract.get(f"{W}abstractNumId")
    ]
    for level in (1, 2, 3):
        (style,) = styles.xpath(f"w:style[@w:styleId='Heading{level}']", namespaces={"w": W[1:-1]})
        num_pr = style.find(f"{W}pPr/{W}numPr")
        assert num_pr.find(f"{W}numId").get(f"{W}val") == num.get(f"{W}numId")
        assert num_pr.find(f"{W}ilvl").get(f"{W}val") == str(level - 1)
    # No number is typed into a heading, nor set on the heading paragraphs themselves.
    for p in body.iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is not None and style.get(f"{W}val", "").startswith("Heading"):
            text = "".join(t.text or "" for t in p.iter(f"{W}t"))
            assert text.startswith("Titel"), text
            assert p.find(f"{W}pPr/{W}numPr") is None


def test_libreoffice_and_pandoc_show_the_web_numbers(tmp_path: Path) -> None:
    # Opens below level 1 (start values 0) and skips a level further down (typed 1.0.1).
    levels = [2, 2, 1, 3, 2, 3, 1, 2]
    numbers = heading_numbers(levels)
    assert numbers == ["0.1", "0.2", "1", "1.0.1", "1.1", "1.1.1", "2", "2.1"]
    docx = build_document(_data(levels, body="Text."))
    lines = _pdf_lines(docx, tmp_path)
    wanted = [f"{number} Titel {index}" for index, number in enumerate(numbers)]
    at = lines.index("Inhalt")
    # The contents (their entries carry the number as text) …
    assert lines[at + 1 : at + 1 + len(wanted)] == wanted
    # … and the headings themselves, numbered by the list, in order after the contents.
    shown = [line for line in lines[at + 1 + len(wanted) :] if "Titel" in line]
    assert shown == wanted
    _need("pandoc")
    source = tmp_path / "pandoc.docx"
    source.write_bytes(docx)
    markdown = subprocess.run(
        ["pandoc", "-f", "docx", "-t", "markdown", str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for entry in wanted:
        assert f"[{entry}]" in markdown  # the contents' entries, as links to the headings


def test_a_heading_inserted_in_word_is_numbered_and_the_rest_follow(tmp_path: Path) -> None:
    docx = build_document(_data([1, 2, 1], body="Text."))
    document = Document(io.BytesIO(docx))
    # A clerk inserts a level-2 heading before the second section's heading (style only).
    target = next(p for p in document.paragraphs if p.text == "Titel 1")
    inserted = target.insert_paragraph_before("Eingefügt", style=target.style)
    assert inserted.style.name == "Heading 2"
    out = io.BytesIO()
    document.save(out)
    lines = _pdf_lines(out.getvalue(), tmp_path)
    at = lines.index("Inhalt")
    body = [line for line in lines[at + 4 :] if "Titel" in line or "Eingefügt" in line]
    assert body == ["1 Titel 0", "1.1 Eingefügt", "1.2 Titel 1", "2 Titel 2"]


def test_title_page_and_annex_headings_are_not_numbered(tmp_path: Path) -> None:
    docx = build_document(_data([1], body="Text."))
    styles = _parts(docx)["word/styles.xml"]
    (toc_heading,) = styles.xpath("w:style[@w:styleId='TOCHeading']", namespaces={"w": W[1:-1]})
    # Based on Heading 1 in the default template: it keeps no number.
    assert toc_heading.find(f"{W}pPr/{W}numPr/{W}numId").get(f"{W}val") == "0"
    lines = _pdf_lines(docx, tmp_path)
    assert "Inhalt" in lines and "1 Titel 0" in lines


# --- bookmarks and properties ------------------------------------------------------------------


def _bookmarked_headings(docx: bytes) -> dict[str, str]:
    """Return {bookmark name: heading text} of the section bookmarks, read with python-docx."""
    document = Document(io.BytesIO(docx))
    found = {}
    for start in document.element.body.iter(f"{W}bookmarkStart"):
        name = start.get(f"{W}name")
        if headings.parse_bookmark(name) is None:
            continue
        p = start.getparent()
        assert p.find(f"{W}pPr/{W}pStyle").get(f"{W}val").startswith("Heading")
        ends = [e for e in p.iter(f"{W}bookmarkEnd") if e.get(f"{W}id") == start.get(f"{W}id")]
        assert len(ends) == 1  # the bookmark wraps the heading, inside its paragraph
        found[name] = "".join(t.text or "" for t in p.iter(f"{W}t"))
    return found


def _custom_properties(docx: bytes) -> dict[str, str]:
    document = Document(io.BytesIO(docx))
    package = document.part.package
    (rel,) = [r for r in package.rels.values() if r.reltype == RELATIONSHIP_TYPE.CUSTOM_PROPERTIES]
    return properties.read_properties(rel.target_part.blob)


def test_every_heading_has_its_section_bookmark_and_the_paper_is_named() -> None:
    data = _data([1, 2, 1], paper_id=42)
    docx = build_document(data)
    assert _bookmarked_headings(docx) == {
        "_kw_s100_v2": "Titel 0",
        "_kw_s101_v3": "Titel 1",
        "_kw_s102_v4": "Titel 2",
    }
    assert headings.parse_bookmark("_kw_s100_v2") == (100, 2)
    assert headings.parse_bookmark("_Toc100") is None
    assert _custom_properties(docx) == {"konzeptwerk_paper": "42"}
    edition = build_document(replace(data, edition_number=3, edition_label="Gesamtfassung 3"))
    assert _custom_properties(edition) == {"konzeptwerk_paper": "42", "konzeptwerk_edition": "3"}


def test_redline_bookmarks_name_the_exported_versions_also_of_removed_sections() -> None:
    data = _data([1, 1])
    changed = replace(
        data.sections[1],
        old_title="Alt",
        old_body="Alter Text.",
        history=(Change(4, "Ben", T0, "Titel 1", BODY),),
    )
    removed = replace(
        data.sections[0], section_id=99, version=5, number="", old_title="Weg", title="Weg"
    )
    redline = replace(
        data,
        sections=(data.sections[0], changed),
        removed_sections=(replace(removed, follows=100),),
        redline_against=1,
    )
    names = set(_bookmarked_headings(build_document(redline)))
    assert names == {"_kw_s100_v2", "_kw_s101_v3", "_kw_s99_v5"}


def test_libreoffice_keeps_bookmarks_and_properties_docx_to_docx(tmp_path: Path) -> None:
    _need("soffice")
    docx = build_document(_data([1, 2, 3], paper_id=42))
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    (again,) = docx_samples.convert([source], "docx:MS Word 2007 XML", tmp_path / "lo")
    round_tripped = again.read_bytes()
    assert _bookmarked_headings(round_tripped) == _bookmarked_headings(docx)
    assert _custom_properties(round_tripped)["konzeptwerk_paper"] == "42"


# --- styles ------------------------------------------------------------------------------------


def _reference() -> bytes:
    """A reference document whose comment styles carry a German Word's ids."""
    document = Document()
    for name, kind, size in (
        ("Quote", WD_STYLE_TYPE.PARAGRAPH, 13),
        ("Code", WD_STYLE_TYPE.CHARACTER, 9),
        ("Table Contents", WD_STYLE_TYPE.PARAGRAPH, 8),
        ("footnote text", WD_STYLE_TYPE.PARAGRAPH, 7),
        ("footnote reference", WD_STYLE_TYPE.CHARACTER, 7),
    ):
        style = (
            document.styles[name] if name in ("Quote",) else document.styles.add_style(name, kind)
        )
        style.font.size = Pt(size)
        style.font.name = "Georgia"
    caption = document.styles["Caption"]
    caption.font.name = "Georgia"
    for name, ident, kind in (
        ("annotation text", "Kommentartext", WD_STYLE_TYPE.PARAGRAPH),
        ("annotation reference", "Kommentarzeichen", WD_STYLE_TYPE.CHARACTER),
    ):
        style = document.styles.add_style(name, kind)
        style.style_id = ident
        style.font.name = "Georgia"
        style.font.size = Pt(9)
    return docx_samples.to_bytes(document)


def _style(styles: etree._Element, ident: str) -> etree._Element:
    (style,) = styles.xpath(f"w:style[@w:styleId='{ident}']", namespaces={"w": W[1:-1]})
    return style


def _used_and_defined(docx: bytes) -> tuple[set[str], set[str]]:
    parts = _parts(docx)
    defined = {s.get(f"{W}styleId") for s in parts["word/styles.xml"].iter(f"{W}style")}
    used: set[str] = set()
    for name, root in parts.items():
        if name.startswith("word/") and name != "word/styles.xml":
            for tag in ("pStyle", "rStyle", "tblStyle"):
                used |= {el.get(f"{W}val") for el in root.iter(f"{W}{tag}")}
    return used, defined


def test_styles_come_from_the_reference_document() -> None:
    docx = build_document(_data([1]), reference=_reference(), comments=True)
    styles = _parts(docx)["word/styles.xml"]
    # The reference's comment styles, under the ids python-docx writes into comments.
    for ident, name in (
        ("CommentText", "annotation text"),
        ("CommentReference", "annotation reference"),
    ):
        style = _style(styles, ident)
        assert style.find(f"{W}name").get(f"{W}val") == name
        assert style.find(f"{W}rPr/{W}rFonts").get(f"{W}ascii") == "Georgia"
    assert not styles.xpath("w:style[@w:styleId='Kommentartext']", namespaces={"w": W[1:-1]})
    names = {s.find(f"{W}name").get(f"{W}val"): s for s in styles.iter(f"{W}style")}
    for name in (
        "Quote",
        "Code",
        "Table Contents",
        "footnote text",
        "footnote reference",
        "caption",
    ):
        fonts = names[name].find(f"{W}rPr/{W}rFonts")
        assert fonts is not None and fonts.get(f"{W}ascii") == "Georgia", name
    # Nothing was defined twice under the export's own names.
    assert "Table Text" not in names and "Code Block" in names
    body = _parts(docx)["word/document.xml"]
    cells = [
        p.find(f"{W}pPr/{W}pStyle") for p in body.iter(f"{W}p") if p.getparent().tag == f"{W}tc"
    ]
    assert cells and {c.get(f"{W}val") for c in cells} == {
        names["Table Contents"].get(f"{W}styleId")
    }
    used, defined = _used_and_defined(docx)
    assert used <= defined, used - defined


@pytest.mark.parametrize("reference", [False, True])
def test_no_part_uses_an_undefined_style(reference: bool) -> None:
    data = _data([1, 2])
    changed = replace(
        data.sections[1], old_title="Alt", old_body="Alter **Text**.\n\n| A |\n|---|\n| b |"
    )
    redline = replace(data, sections=(data.sections[0], changed), redline_against=1)
    template = _reference() if reference else None
    for made in (
        build_document(data, reference=template, comments=True),
        build_document(redline, reference=template, comments=True),
    ):
        used, defined = _used_and_defined(made)
        assert {"CommentText", "CommentReference"} <= used
        assert used <= defined, used - defined
    styles = _parts(build_document(data))["word/styles.xml"]
    names = {s.find(f"{W}name").get(f"{W}val") for s in styles.iter(f"{W}style")}
    for name in ("annotation text", "annotation reference", "Code", "Code Block", "Quote",
                 "Table Text", "footnote text", "footnote reference"):  # fmt: skip
        assert name in names, name
    assert {"caption", "Caption"} & names
