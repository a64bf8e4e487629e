"""Footnotes and figures (issue 13): the renderer, image validation, Word and the redline.

The Word files are read back by pandoc (an independent reader), also with
``--track-changes=all`` on a redline whose changed section holds a footnote and a figure.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from PIL import Image

from drafting.text.markdown import label_figures, plain_text, render
from exports.builder import build_document
from exports.data import Change, ExportData, FigureData, SectionData
from tests import lo_revisions
from tests.conftest import services_required
from workflows.errors import TooLarge, ValidationFailed
from workflows.figures import figure_ids, reencode

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REL = 'rel="noopener noreferrer nofollow"'


# --- renderer -----------------------------------------------------------------------------


def test_footnotes_are_numbered_per_section_with_back_links() -> None:
    html = render("Erstens[^a], zweitens[^b], wieder[^a].\n\n[^b]: Zwei.\n[^a]: Eins.")
    refs = [chunk.split('"')[0] for chunk in html.split('<a href="#fn-')[1:]]
    assert [r.rsplit("-", 1)[1] for r in refs] == ["1", "2", "1"]
    assert '<section class="footnotes">' in html
    items = html.split('<li id="fn-')[1:]
    assert [i.split('"')[0].rsplit("-", 1)[1] for i in items] == ["1", "2"]
    assert "Eins." in items[0] and "Zwei." in items[1]
    # Each reference has a back-link to exactly its place (the second "a" to ":1").
    assert items[0].count('class="footnote-backref"') == 2
    assert ':1" class="footnote-backref"' in items[0]
    # Another text, other ids: two sections on one page never share an id.
    other = render("Anders[^a].\n\n[^a]: Eins.")
    assert refs[0] not in other


def test_footnote_ids_and_classes_cannot_be_forged_in_raw_html() -> None:
    html = render('<a id="login" class="footnote-backref x" href="#top">a</a><li id="fn-1">x</li>')
    assert 'id="login"' not in html and 'id="fn-1"' not in html
    assert "footnote-backref x" not in html


def test_a_figure_paragraph_becomes_a_figure_other_images_stay_text() -> None:
    html = render(
        "![Karte *Mitte*](figure:12)\n\nIm Satz ![b](figure:3) und ![c](https://x.example/c.png)"
    )
    assert html.startswith(
        '<figure class="md-figure"><img src="/figures/12" alt="Karte Mitte">'
        "<figcaption>Karte Mitte</figcaption></figure>"
    )
    assert "<p>Im Satz b und c</p>" in html
    assert "img" not in render('<img src="/figures/3"> <img src="https://x.example/a.png">')


def test_figure_captions_are_labelled_through_the_page() -> None:
    first = render("![Eins](figure:1)")
    second = render('Text\n\n![Zwei & "drei"](figure:2)')
    one, after = label_figures(first, "Abbildung", 1)
    two, last = label_figures(second, "Abbildung", after)
    assert '<span class="figure-label">Abbildung 1:</span> Eins' in one
    assert '<span class="figure-label">Abbildung 2:</span> Zwei &amp; "drei"' in two
    assert last == 3
    unnumbered, _ = label_figures(first, "Figure", None)
    assert '<span class="figure-label">Figure:</span>' in unnumbered


def test_plain_text_keeps_notes_and_captions_without_arrows() -> None:
    text = plain_text("Satz[^1].\n\n![Karte](figure:4)\n\n[^1]: Quelle.")
    assert text == "Satz1.\n\nKarte\n\n1. Quelle."


def test_figure_ids_in_order_of_first_appearance() -> None:
    assert figure_ids(["![a](figure:3) ![b](figure:1)", "![c](figure:3)\n![d](figure:7)"]) == [
        3,
        1,
        7,
    ]


# --- validation ---------------------------------------------------------------------------


def _png(size: tuple[int, int] = (30, 20), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def test_palette_and_sixteen_bit_pngs_are_redrawn_plainly() -> None:
    assert reencode(_png(mode="P"), max_bytes=10**6, max_pixels=10**6).media_type == "image/png"
    out = reencode(_png(mode="I;16"), max_bytes=10**6, max_pixels=10**6)
    with Image.open(io.BytesIO(out.data)) as image:
        assert image.mode in ("L", "RGB", "I;16", "I")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ValidationFailed),
        (b"%PDF-1.7", ValidationFailed),
        (b"<html><svg></svg></html>", ValidationFailed),
        (b"\xff\xd8\xff\xe0 truncated", ValidationFailed),
    ],
)
def test_what_is_not_an_image_is_refused(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        reencode(data, max_bytes=10**6, max_pixels=10**6)


def test_decompression_bombs_are_refused_before_decoding() -> None:
    # A 10 000 × 10 000 PNG of one colour compresses to a few kB.
    bomb = _png(size=(10_000, 10_000), mode="L")
    assert len(bomb) < 200_000
    with pytest.raises(TooLarge):
        reencode(bomb, max_bytes=10**6, max_pixels=40_000_000)


# --- Word ---------------------------------------------------------------------------------


def _figure(ident: int, color: tuple[int, int, int]) -> FigureData:
    out = io.BytesIO()
    Image.new("RGB", (400, 200), color).save(out, format="PNG")
    return FigureData(ident, out.getvalue(), "image/png", 400, 200)


def _section(sid: int, number: str, title: str, body: str, **kw: Any) -> SectionData:
    return SectionData(sid, number, 1, title, body, 1, "Erika Erst", T0, **kw)


def _data(*sections: SectionData, **kw: Any) -> ExportData:
    fields: dict[str, Any] = {
        "paper_id": 1,
        "title": "Innenstadt",
        "summary": "",
        "lead_organisation": "HVM",
        "participants": ("HVM",),
        "status": "drafting",
        "edition_label": "",
        "edition_number": None,
        "edition_hash": None,
        "date": T0,
        "sections": sections,
        "figures": {1: _figure(1, (200, 0, 0)), 2: _figure(2, (0, 0, 200))},
    }
    return ExportData(**{**fields, **kw})


def _pandoc(docx: bytes, tmp_path: Path, *extra: str) -> Any:
    if shutil.which("pandoc") is None:
        if services_required():
            pytest.fail("pandoc is not installed")
        pytest.skip("pandoc is not installed")
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    out = subprocess.run(
        ["pandoc", "-f", "docx", "-t", "json", *extra, str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return json.loads(out)


def _walk(node: Any, kind: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        if node.get("t") == kind:
            found.append(node)
        for value in node.values():
            found.extend(_walk(value, kind))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value, kind))
    return found


def _text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("t") == "Str":
            return str(node["c"])
        if node.get("t") in ("Space", "SoftBreak", "LineBreak"):
            return " "
        return "".join(_text(v) for v in node.values())
    if isinstance(node, list):
        return "".join(_text(v) for v in node)
    return ""


def test_footnotes_and_figures_are_numbered_through_the_document(tmp_path: Path) -> None:
    docx = build_document(
        _data(
            _section(1, "1", "Eins", "A[^1] B[^2].\n\n![Rot](figure:1)\n\n[^1]: N1.\n[^2]: N2."),
            _section(2, "2", "Zwei", "C[^1].\n\n![Blau](figure:2)\n\n[^1]: N3."),
        )
    )
    tree = _pandoc(docx, tmp_path)
    assert [_text(n) for n in _walk(tree, "Note")] == ["N1.", "N2.", "N3."]
    assert len(_walk(tree, "Image")) == 2
    text = _text(tree)
    assert "Abbildung 1: Rot" in text and "Abbildung 2: Blau" in text
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        document = etree.fromstring(z.read("word/document.xml"))
        content_types = z.read("[Content_Types].xml").decode()
    assert "footnotes+xml" in content_types
    ids = [el.get("id") for el in document.iter("{*}docPr")]
    assert len(ids) == len(set(ids)) == 2  # drawing ids are unique
    seq = [t.text for t in document.iter(f"{W}instrText") if "SEQ" in (t.text or "")]
    assert seq == [" SEQ Abbildung \\* ARABIC "] * 2


OLD = """Die Stadt trägt die Hälfte[^1].

![Karte alt](figure:1)

Unverändert mit Note[^2].

[^1]: Haushalt 2025.
[^2]: Bleibt gleich."""

NEW = """Die Stadt trägt die Hälfte und das Land den Rest[^1].

![Karte neu](figure:2)

Unverändert mit Note[^2].

[^1]: Haushalt 2026.
[^2]: Bleibt gleich."""

BEN = Change(3, "Ben Brandt", datetime(2026, 3, 3, 11, 0, tzinfo=UTC), "Förderung", NEW)


@pytest.fixture(scope="module")
def redline() -> bytes:
    same = "Davor[^a].\n\n![Davor](figure:1)\n\n[^a]: A."
    return build_document(
        _data(
            _section(2, "1", "Davor", same, old_title="Davor", old_body=same),
            _section(1, "2", "Förderung", NEW, old_title="Förderung", old_body=OLD, history=(BEN,)),
            _section(3, "3", "Neu", "Ganz neu[^n].\n\n![Neu](figure:2)\n\n[^n]: Neue Note."),
            status="signing",
            edition_label="Gesamtfassung 2",
            edition_number=2,
            edition_hash="0" * 64,
            redline_against=1,
        )
    )


def test_pandoc_sees_notes_and_pictures_in_a_redline(redline: bytes, tmp_path: Path) -> None:
    tree = _pandoc(redline, tmp_path, "--track-changes=all")
    insertions = [s for s in _walk(tree, "Span") if "insertion" in s["c"][0][1]]
    deletions = [s for s in _walk(tree, "Span") if "deletion" in s["c"][0][1]]
    inserted_notes = [_text(n) for s in insertions for n in _walk(s, "Note")]
    deleted_notes = [_text(n) for s in deletions for n in _walk(s, "Note")]
    assert "Haushalt 2026." in inserted_notes and "Neue Note." in inserted_notes
    assert deleted_notes == ["Haushalt 2025."]
    assert [len(_walk(s, "Image")) for s in deletions if _walk(s, "Image")] == [1]
    assert sum(len(_walk(s, "Image")) for s in insertions) == 2  # changed + new section
    authors = {dict(s["c"][0][2]).get("author") for s in insertions + deletions}
    assert "Ben Brandt" in authors
    # The unchanged note and picture stay outside any change; captions keep their label.
    all_notes = [_text(n) for n in _walk(tree, "Note")]
    assert all_notes.count("Bleibt gleich.") == 1 and all_notes.count("A.") == 1
    text = _text(tree)
    assert "Abbildung 1: Davor" in text and "Abbildung 2: Karte" in text
    assert "Abbildung 3: Neu" in text


def test_redline_writes_only_referenced_notes(redline: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(redline)) as z:
        document = etree.fromstring(z.read("word/document.xml"))
        notes = etree.fromstring(z.read("word/footnotes.xml"))
    refs = {r.get(f"{W}id") for r in document.iter(f"{W}footnoteReference")}
    bodies = {n.get(f"{W}id") for n in notes.iter(f"{W}footnote") if n.get(f"{W}type") is None}
    assert refs == bodies and len(bodies) == 5


def test_libreoffice_accepts_and_rejects_notes_and_pictures(redline: bytes, tmp_path: Path) -> None:
    if not lo_revisions.available():
        if services_required():
            pytest.fail("LibreOffice is not installed")
        pytest.skip("LibreOffice is not installed")
    accepted = lo_revisions.apply_revisions(redline, tmp_path / "accept", accept=True)
    rejected = lo_revisions.apply_revisions(redline, tmp_path / "reject", accept=False)
    assert "und das Land den Rest" in accepted and "Abbildung 2: Karte neu" in accepted
    assert "Karte alt" not in accepted
    assert "und das Land den Rest" not in rejected and "Abbildung 2: Karte alt" in rejected
    assert "Ganz neu" not in rejected
