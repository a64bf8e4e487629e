"""The text side of search: German stems, folding, query parsing and snippets."""

from __future__ import annotations

import pytest

from drafting.text.searchtext import (
    Term,
    fts5_expression,
    parse_query,
    plain_text,
    snippet,
    stem,
    terms,
    tsquery_expression,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Innenstädten", "Innenstadt"),
        ("Leerstände", "Leerstand"),
        ("Straße", "strasse"),
        ("STRASSE", "Straße"),
        ("Mobilität", "Mobilitat"),
        ("Café", "Cafe"),
        ("ﬁnanzierung", "Finanzierung"),
    ],
)
def test_forms_meet_in_one_stem(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_terms_are_alphanumeric_words() -> None:
    assert terms("Die Straße_am Markt, 2026!") == "die strass am markt 2026"


def test_query_parsing() -> None:
    parsed = parse_query('Zwischen* "lebt vom Handel" Innenstädten -- ( )')
    assert parsed == [
        Term(("zwisch",), prefix=True),
        Term(("lebt", "vom", "handel")),
        Term(("innenstadt",)),
    ]
    assert fts5_expression(parsed) == '"zwisch"* AND "lebt vom handel" AND "innenstadt"'
    assert tsquery_expression(parsed) == "zwisch:* & (lebt <-> vom <-> handel) & innenstadt"
    assert parse_query('"') == [] and parse_query("* ; --") == []


def test_snippet_escapes_and_marks_only_matches() -> None:
    text = "Vorne <b>fett</b> & hinten: Leerstände in der Innenstadt."
    cut = snippet(text, parse_query("Leerstand"))
    assert (
        cut.html
        == "Vorne &lt;b&gt;fett&lt;/b&gt; &amp; hinten: <mark>Leerstände</mark> in der Innenstadt."
    )
    assert cut.matched == ("Leerstände",)


def test_snippet_cuts_around_the_first_match() -> None:
    text = " ".join(f"wort{i}" for i in range(200)) + " Zwischennutzung am Ende"
    cut = snippet(text, parse_query("Zwischen*"), width=10)
    assert cut.html.startswith("… ") and "<mark>Zwischennutzung</mark>" in cut.html
    assert len(cut.html) < 200


def test_plain_text_of_rendered_html() -> None:
    assert plain_text(
        "<h2>Titel</h2><p>Ein &amp; <strong>zwei</strong></p><ul><li>a</li><li>b</li></ul>"
    ) == ("Titel Ein & zwei a b")
