"""The redline read by tools that did not write it: pandoc and LibreOffice.

A changed section with a table, a numbered list starting at 3, bold text and a link keeps
that structure with the tracked changes inside it; every change carries the author of the
version that made it; LibreOffice's "accept all" gives the new edition and "reject all" the
old one, in order, with a removed section at its old place; comments on changed sections
survive.
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

from exports.builder import build_document
from exports.data import Change, CommentData, ExportData, SectionData
from tests import lo_revisions
from tests.conftest import services_required

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

OLD_BODY = """Der Fonds fördert **Zwischennutzungen** in leeren Läden.

| Stadt | Passanten | Jahr |
|---|---|---|
| Leipzig | 1200 | 2023 |
| Halle | 800 | 2023 |

3. Erstens prüft die Stadt den Antrag.
4. Zweitens zahlt der Fonds aus.

Mehr unter [Förderportal](https://example.org/foerderung).

Dieser Absatz fällt weg."""

MID_BODY = OLD_BODY.replace("leeren Läden", "leerstehenden Läden")

NEW_BODY = """Der Fonds fördert **Zwischennutzungen** in leerstehenden Läden der Innenstadt.

| Stadt | Passanten | Jahr |
|---|---|---|
| Leipzig | 1500 | 2024 |
| Halle | 800 | 2023 |
| Dessau | 300 | 2024 |

3. Erstens prüft die Stadt den **vollständigen** Antrag.
4. *Zweitens* zahlt der Fonds aus.

Mehr unter [Förderportal](https://example.org/foerderung).

Ein neuer Absatz von Ben."""

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ANNA = Change(2, "Anna Alt", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "Förderung", MID_BODY)
BEN = Change(3, "Ben Brandt", datetime(2026, 3, 3, 11, 0, tzinfo=UTC), "Förderung", NEW_BODY)


def _section(sid: int, number: str, title: str, body: str, **kw: object) -> SectionData:
    return SectionData(
        section_id=sid,
        number=number,
        level=1,
        title=title,
        body=body,
        version=1,
        author="Erika Erst",
        saved_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def _data() -> ExportData:
    unchanged = _section(
        1,
        "1",
        "Ausgangslage",
        "Die Innenstädte veröden.",
        old_title="Ausgangslage",
        old_body="Die Innenstädte veröden.",
    )
    changed = _section(
        2,
        "2",
        "Förderung",
        NEW_BODY,
        old_title="Förderung",
        old_body=OLD_BODY,
        history=(ANNA, BEN),
        comments=(
            CommentData("Cem Kommentar", "CK", T0, "Quelle?", "Halle"),
            CommentData("Cem Kommentar", "CK", T0, "Welcher Fonds?", "zahlt der Fonds"),
        ),
    )
    removed = _section(
        3,
        "",
        "Altlasten",
        "Ein Abschnitt, der entfällt.",
        old_title="Altlasten",
        old_body="Ein Abschnitt, der entfällt.",
        removed_by="Rita Raus",
        removed_at=datetime(2026, 3, 4, 8, 0, tzinfo=UTC),
        follows=2,
    )
    added = _section(
        4,
        "3",
        "Ausblick",
        "Ganz neu.",
        history=(
            Change(1, "Dora Neu", datetime(2026, 3, 5, 8, 0, tzinfo=UTC), "Ausblick", "Ganz neu."),
        ),
    )
    return ExportData(
        paper_id=1,
        title="Innenstadt",
        summary="",
        lead_organisation="HVM",
        participants=("HVM",),
        status="signing",
        edition_label="Gesamtfassung 2",
        edition_number=2,
        edition_hash=None,
        date=datetime(2026, 3, 6, tzinfo=UTC),
        sections=(unchanged, changed, added),
        removed_sections=(removed,),
        redline_against=1,
    )


@pytest.fixture(scope="module")
def redline() -> bytes:
    return build_document(_data(), comments=True)


def _document(docx: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.fromstring(z.read("word/document.xml"))


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if services_required():
            pytest.fail(f"{tool} is not installed")
        pytest.skip(f"{tool} is not installed")


def _pandoc_html(docx: bytes, tmp_path: Path) -> str:
    _need("pandoc")
    source = tmp_path / "redline.docx"
    source.write_bytes(docx)
    return subprocess.run(
        ["pandoc", "--track-changes=all", "-f", "docx", "-t", "html", str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def _changes(html: str, kind: str) -> list[tuple[str, str]]:
    """Return (author, text) of pandoc's insertion/deletion spans."""
    found = re.findall(
        rf'<span\s+class="{kind}"\s+data-author="([^"]*)"[^>]*>(.*?)</span>', html, flags=re.S
    )
    return [(author, " ".join(re.sub(r"<[^>]+>", "", text).split())) for author, text in found]


def test_pandoc_sees_the_structure_of_a_changed_section(redline: bytes, tmp_path: Path) -> None:
    html = _pandoc_html(redline, tmp_path)
    # The table is a table, with the new row inserted and the changed cell tracked.
    assert "<table" in html
    assert html.count("<tr") >= 4
    assert "Dessau" in html.split("<table", 1)[1].split("</table>", 1)[0]
    # The numbered list still starts at 3 and its items are list items.
    assert re.search(r'<ol[^>]*start="3"', html)
    assert re.search(r"<li>.*Erstens prüft die Stadt", html, flags=re.S)
    # Emphasis and the link survive.
    assert "<strong>Zwischennutzungen</strong>" in html
    assert 'href="https://example.org/foerderung"' in html
    assert "Stadt | Passanten" not in html


def test_pandoc_sees_each_change_by_the_version_that_made_it(
    redline: bytes, tmp_path: Path
) -> None:
    html = _pandoc_html(redline, tmp_path)
    inserted = _changes(html, "insertion")
    deleted = _changes(html, "deletion")
    assert ("Anna Alt", "leerstehenden") in inserted
    assert ("Anna Alt", "leeren") in deleted
    by_ben = " ".join(text for author, text in inserted if author == "Ben Brandt")
    for word in ("der Innenstadt", "1500", "2024", "Dessau", "vollständigen", "neuer", "Ben"):
        assert word in by_ben
    by_ben = " ".join(text for author, text in deleted if author == "Ben Brandt")
    for word in ("1200", "2023", "Dieser", "fällt", "weg"):
        assert word in by_ben
    # The removed section is deleted by whoever removed it; the new one inserted by its author.
    assert any(a == "Rita Raus" and "Altlasten" in t for a, t in deleted)
    assert any(a == "Rita Raus" and "entfällt" in t for a, t in deleted)
    assert any(a == "Dora Neu" and "Ausblick" in t for a, t in inserted)
    assert all(a != "Konzeptwerk" for a, _t in inserted + deleted)


def test_format_only_change_is_a_run_property_change(redline: bytes) -> None:
    body = _document(redline)
    changed = [r for r in body.iter(f"{W}r") if r.find(f"{W}rPr/{W}rPrChange") is not None]
    # "Zweitens" became italic between the editions: the text is unchanged, only its format.
    assert ["".join(t.text or "" for t in r.iter(f"{W}t")) for r in changed] == ["Zweitens"]
    props = changed[0].find(f"{W}rPr")
    before = props.find(f"{W}rPrChange")
    assert props.find(f"{W}i") is not None
    assert before.find(f"{W}rPr/{W}i") is None
    assert before.get(f"{W}author") == "Ben Brandt"
    assert before.get(f"{W}date") == "2026-03-03T11:00:00Z"


def test_rows_and_paragraph_marks_are_tracked(redline: bytes) -> None:
    body = _document(redline)
    assert body.findall(f".//{W}tr/{W}trPr/{W}ins")
    assert body.findall(f".//{W}p/{W}pPr/{W}rPr/{W}ins")
    assert body.findall(f".//{W}p/{W}pPr/{W}rPr/{W}del")
    # Revision ids are unique.
    ids = [el.get(f"{W}id") for el in body.iter(f"{W}ins", f"{W}del", f"{W}rPrChange")]
    assert len(ids) == len(set(ids))


def test_comments_on_changed_sections_are_kept(redline: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(redline)) as z:
        comments = etree.fromstring(z.read("word/comments.xml"))
    texts = ["".join(c.itertext()) for c in comments.iter(f"{W}comment")]
    assert any("Quelle?" in t for t in texts)
    assert any("Welcher Fonds?" in t for t in texts)
    body = _document(redline)
    assert len(body.findall(f".//{W}commentRangeStart")) == 2


def _lines(text: str) -> list[str]:
    """Return the text's lines after the contents (a field result Word regenerates)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[lines.index("Inhalt") + 1 :]


def _in_order(lines: list[str], expected: list[str]) -> None:
    at = 0
    for want in expected:
        for index in range(at, len(lines)):
            if want in lines[index]:
                at = index + 1
                break
        else:
            raise AssertionError(f"{want!r} not found in order in {lines}")


@pytest.mark.slow
def test_libreoffice_accept_all_gives_the_new_edition(redline: bytes, tmp_path: Path) -> None:
    _need("soffice")
    lines = _lines(lo_revisions.apply_revisions(redline, tmp_path, accept=True))
    text = "\n".join(lines)
    _in_order(
        lines,
        [
            "Ausgangslage",
            "Die Innenstädte veröden.",
            "Förderung",
            "Der Fonds fördert Zwischennutzungen in leerstehenden Läden der Innenstadt.",
            "Leipzig",
            "1500",
            "Dessau",
            "Erstens prüft die Stadt den vollständigen Antrag.",
            "Zweitens zahlt der Fonds aus.",
            "Mehr unter Förderportal.",
            "Ein neuer Absatz von Ben.",
            "Ausblick",
            "Ganz neu.",
        ],
    )
    for gone in ("leeren Läden", "1200", "fällt weg", "Altlasten", "entfällt"):
        assert gone not in text


@pytest.mark.slow
def test_libreoffice_reject_all_gives_the_old_edition(redline: bytes, tmp_path: Path) -> None:
    _need("soffice")
    lines = _lines(lo_revisions.apply_revisions(redline, tmp_path, accept=False))
    text = "\n".join(lines)
    _in_order(
        lines,
        [
            "Ausgangslage",
            "Förderung",
            "Der Fonds fördert Zwischennutzungen in leeren Läden.",
            "1200",
            "Erstens prüft die Stadt den Antrag.",
            "Dieser Absatz fällt weg.",
            "Altlasten",
            "Ein Abschnitt, der entfällt.",
        ],
    )
    for new in ("leerstehenden", "1500", "Dessau", "vollständigen", "neuer Absatz", "Ausblick"):
        assert new not in text


def test_blocks_the_same_in_both_texts_are_rendered_once_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The redline takes unchanged top-level blocks from the old text's rendering: the file
    is the same as when both texts are rendered whole (lists keep numbering of their own)."""
    from exports import builder, ooxml

    shared = """- eins
- zwei
  1. verschachtelt

3. drei
4. vier

> Ein Zitat mit [Link](https://example.org/z).

```
Code
```

#### Unterüberschrift

| A | B |
|---|---|
| 1 | 2 |"""
    old = f"Alter Absatz.\n\n{shared}\n\n- eins\n- zwei\n  1. verschachtelt"
    new = f"Neuer Absatz.\n\n{shared}\n\nSchluss."
    data = _data()
    section = replace(data.sections[1], old_body=old, body=new, history=(ANNA, BEN), comments=())
    data = replace(data, sections=(data.sections[0], section))
    calls: list[object] = []
    real = ooxml.markdown_blocks

    def counted(text: str, ctx: ooxml.Context, memo: ooxml.BlockMemo | None = None) -> list:
        calls.append(memo)
        return real(text, ctx, memo)

    monkeypatch.setattr(builder, "markdown_blocks", counted)
    with_memo = build_document(data)
    assert any(memo for memo in calls)  # the memo was filled and offered
    monkeypatch.setattr(builder, "markdown_blocks", lambda text, ctx, memo=None: real(text, ctx))
    without = build_document(data)
    for part in ("word/document.xml", "word/numbering.xml", "word/_rels/document.xml.rels"):
        assert _part(with_memo, part) == _part(without, part), part


def _part(docx: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(docx)).read(name)
