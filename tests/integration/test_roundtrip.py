"""Word round trip (issue 6): exporting a paper and importing the file gives back its sections.

A Hypothesis test generates papers — sections of levels 1–3 whose bodies use the Markdown the
exporter supports (paragraphs with bold, italic, code and links; bullet and numbered lists
nested up to three deep; tables; quotes; rules) — builds each in memory with the exporter,
reads it back with the importer, and compares titles, levels and the Markdown, normalised to
its structure: blocks, list depth and kind, and for every character its formatting and link.
One more test makes the round trip through the API with a real paper.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from drafting.extensions import db
from drafting.text.canonical import structure as normalised
from drafting.text.markdown import render
from drafting.text.outline import heading_numbers
from exports.builder import build_document
from exports.data import ExportData, SectionData
from exports.docx_import import read
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import fresh, isolated_client
from workflows import sections as section_flow


def test_normalised_markdown_ignores_how_formatting_is_spelt() -> None:
    assert normalised("**a** **b** *c* [d](https://x.example)") == normalised(
        "**a b** *c* [d](https://x.example)"
    )
    assert normalised("- a\n  - b\n- c") == normalised("- a\n\n    - b\n\n- c")
    assert normalised("*a* b") != normalised("a *b*")
    assert normalised("1. a\n   - b") != normalised("1. a\n- b")
    assert normalised("| **H** |\n|---|\n| x |") == normalised("| H |\n|---|\n| x |")


# --- generated papers ------------------------------------------------------------------------

WORDS = [
    "Innenstadt", "Handel", "Wohnen", "Größe", "Maß", "Straße", "Bürger", "Ämter", "Öl",
    "Übergang", "grün", "mehr", "und", "für", "die", "Kultur_2030", "Quartier", "2027",
    "Fußgängerzone", "Stadtteil", "Förderung",
]  # fmt: skip
LINKS = ["https://example.org/a", "https://example.org/b?x=1&y=2", "mailto:info@example.org"]


@st.composite
def inline_text(draw: st.DrawFn, max_words: int = 8) -> str:
    """Words with bold, italic, bold-italic, code spans and links on whole words."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=max_words))
    parts = []
    for word in words:
        style = draw(st.sampled_from(["", "", "", "**", "*", "***", "`", "``", "link", "boldlink"]))
        if style == "``":  # a code span with a backtick inside
            parts.append(f"``{word}`s``")
        elif style == "link":
            parts.append(f"[{word}]({draw(st.sampled_from(LINKS))})")
        elif style == "boldlink":
            parts.append(f"[**{word}**]({draw(st.sampled_from(LINKS))})")
        elif style == "`":
            parts.append(f"`{word}`")
        else:
            parts.append(f"{style}{word}{style}")
    text = " ".join(parts)
    if draw(st.booleans()):
        text += "."
    return text


@dataclass
class Item:
    text: str
    children: list[Item]
    ordered_children: bool


@st.composite
def list_items(draw: st.DrawFn, depth: int = 1) -> list[Item]:
    count = draw(st.integers(1, 3))
    items = []
    for _ in range(count):
        children: list[Item] = []
        if depth < 3 and draw(st.integers(0, 2)) == 0:
            children = draw(list_items(depth + 1))
        items.append(Item(draw(inline_text(5)), children, draw(st.booleans())))
    return items


def render_list(items: list[Item], ordered: bool, indent: str = "") -> list[str]:
    lines = []
    for number, item in enumerate(items, start=1):
        marker = f"{number}. " if ordered else "- "
        lines.append(f"{indent}{marker}{item.text}")
        if item.children:
            lines += render_list(item.children, item.ordered_children, indent + " " * len(marker))
    return lines


@st.composite
def blocks(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["p", "p", "p", "list", "table", "quote", "hr"]))
    if kind == "p":
        # Lines may open with what looks like a list item or heading ("1. Januar"), escaped
        # in the source; lines are joined by hard breaks.
        lines = [
            draw(st.sampled_from(["", "", "", "1\\. Januar ", "\\- ", "\\# ", "2027\\) "]))
            + draw(inline_text())
            for _ in range(draw(st.integers(1, 2)))
        ]
        return "  \n".join(lines)
    if kind == "list":
        return "\n".join(render_list(draw(list_items()), draw(st.booleans())))
    if kind == "table":
        cols = draw(st.integers(1, 3))
        header = [draw(st.sampled_from(WORDS)) for _ in range(cols)]
        body = [[draw(inline_text(3)) for _ in range(cols)] for _ in range(draw(st.integers(1, 3)))]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * cols]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    if kind == "quote":
        return "> " + draw(inline_text())
    return "---"


@st.composite
def bodies(draw: st.DrawFn) -> str:
    parts = draw(st.lists(blocks(), min_size=0, max_size=5))
    # A rule right after a paragraph without a blank line would be a heading; two lists of
    # the same kind in a row would be one list: blank lines keep the blocks apart, and a
    # rule never comes first (Word cannot tell it from an empty paragraph there).
    while parts and parts[0] == "---":
        parts.pop(0)
    return "\n\n".join(parts)


titles = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
sections = st.lists(st.tuples(st.integers(1, 3), titles, bodies()), min_size=1, max_size=6)


def export_data(spec: list[tuple[int, str, str]]) -> ExportData:
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    numbers = heading_numbers([level for level, _t, _b in spec])
    return ExportData(
        paper_id=1,
        title="Rundreise",
        summary="Eine Zusammenfassung.",
        lead_organisation="Ministerium",
        participants=("Stadt",),
        status="drafting",
        edition_label="",
        edition_number=None,
        edition_hash=None,
        date=now,
        sections=tuple(
            SectionData(n, number, level, title, body, 1, "Emil", now)
            for n, (number, (level, title, body)) in enumerate(
                zip(numbers, spec, strict=True), start=1
            )
        ),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sections)
def test_export_then_import_reproduces_the_sections(spec: list[tuple[int, str, str]]) -> None:
    document = read(build_document(export_data(spec)))
    assert document.title == "Rundreise"
    assert not document.has_tracked_changes
    assert [(s.level, s.title) for s in document.sections] == [(lv, t) for lv, t, _b in spec]
    for section, (_level, _title, body) in zip(document.sections, spec, strict=True):
        assert normalised(section.body) == normalised(body), (body, section.body)


def test_nested_lists_of_mixed_kinds_survive_the_round_trip() -> None:
    body = "\n".join(
        [
            "1. Planen",
            "   - Bürger fragen",
            "     1. online",
            "     2. vor Ort",
            "   - Ämter fragen",
            "2. Bauen",
            "",
            "- Grün",
            "  1. Bäume",
            "     - Linden",
        ]
    )
    (section,) = read(build_document(export_data([(1, "Listen", body)]))).sections
    assert normalised(section.body) == normalised(body), section.body


def test_text_that_looks_like_markdown_stays_text() -> None:
    body = "\n\n".join(
        [
            "1\\. Januar 2027: Das Konzept tritt in Kraft.",
            "Erste Zeile  \n2\\. Februar: zweite Zeile",
            "\\- kein Listenpunkt, \\# keine Überschrift, \\+ kein Plus",
            "\\---",
            "Ein Preis von 5 \\* 3 € und ``Code mit ` Backtick``.",
            "- 1\\. Punkt mit Datum",
        ]
    )
    (section,) = read(build_document(export_data([(1, "Text", body)]))).sections
    assert render(section.body) == render(body), section.body


# --- through the API -----------------------------------------------------------------------


def test_round_trip_through_the_api(app: Flask, world: factories.World) -> None:
    from exports import jobs

    w = world
    section_flow.save_section(
        w.editor,
        w.section.id,
        body="Die **Innenstadt** lebt vom *Handel*.\n\n- Wohnen\n  - Arbeiten\n\n"
        "| Maßnahme | Anteil |\n|---|---|\n| Bäume | 40 % |",
        base_version=1,
    )
    factories.section(w.editor, w.paper, "Ziele", "Mehr [Leben](https://example.org) am Abend.",
                      level=2)  # fmt: skip
    factories.section(w.editor, w.paper, "Kosten", "> Das Land trägt die Hälfte.", level=3)
    originals = [(s.level, s.title, s.head.body) for s in section_flow.list_sections(w.paper.id)]  # type: ignore[union-attr]
    client = isolated_client(app)
    headers = {**api_headers(factories.token(w.editor)), "Accept-Language": "en"}
    export_id = client.post(
        f"/api/v1/papers/{w.paper.id}/exports", json={}, headers=headers
    ).get_json()["id"]
    jobs.wait_for_exports(60)
    fresh()
    download = client.get(f"/api/v1/exports/{export_id}/download", headers=headers)
    assert download.status_code == 200
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(download.data), "k.docx")})
    response = client.post(
        "/api/v1/imports",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["sections"] == 3
    fresh()
    paper_id = response.get_json()["paper_id"]
    copies = section_flow.list_sections(paper_id)
    assert [(s.level, s.title) for s in copies] == [(lv, t) for lv, t, _b in originals]
    for copy, (_level, _title, original) in zip(copies, originals, strict=True):
        assert normalised(copy.head.body) == normalised(original), copy.head.body  # type: ignore[union-attr]
    paper = db.session.get(type(w.paper), paper_id)
    assert paper is not None and paper.title == w.paper.title


# --- issue 14: the benchmark paper and the demo, section by section -------------------------


def _bench_paper(sections: int) -> ExportData:
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parents[2] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import bench_export  # type: ignore[import-not-found]

    return bench_export.paper(sections)  # type: ignore[no-any-return]


def test_the_300_section_benchmark_paper_comes_back_identical() -> None:
    from drafting.text.canonical import same

    data = _bench_paper(300)
    document = read(build_document(data))
    assert len(document.sections) == 300
    equal = sum(
        1
        for got, want in zip(document.sections, data.sections, strict=True)
        if (got.level, got.title) == (want.level, want.title) and same(got.body, want.body)
    )
    assert equal == 300


def test_the_demo_paper_comes_back_identical() -> None:
    from drafting import demo
    from drafting.text.canonical import same

    spec = [(level, versions[-1][0], versions[-1][1]) for level, versions in demo.SECTIONS]
    document = read(build_document(export_data(spec)))
    assert [(s.level, s.title) for s in document.sections] == [(lv, t) for lv, t, _b in spec]
    for section, (_level, title, body) in zip(document.sections, spec, strict=True):
        assert same(section.body, body), (title, body, section.body)
