"""Tests for the word-level diff and its HTML renderings."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from drafting.text import textdiff
from drafting.text.textdiff import (
    DELETE,
    EQUAL,
    INSERT,
    Row,
    diff_ops,
    diff_stats,
    inline_html,
    side_by_side,
    tokenize,
)

pytestmark = pytest.mark.filterwarnings("error")

WORDS = ["Straße", "müssen", "Größe", "Bündnis", "öffentlich", "Maß", "und", "die", "Ärger"]
TEXT_CHARS = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "Cc", "Mn"])


def side(ops: list[tuple[int, str]], keep: int) -> str:
    return "".join(text for op, text in ops if op in (EQUAL, keep))


def assert_well_formed(ops: list[tuple[int, str]]) -> None:
    assert all(text for _, text in ops), "no empty operations"
    assert all(a[0] != b[0] for a, b in zip(ops, ops[1:], strict=False)), "neighbours merged"


# --- tokenize ------------------------------------------------------------------------------


def test_tokenize_keeps_german_words_whole() -> None:
    assert tokenize("Die Straße, groß & schön.") == [
        "Die", " ", "Straße", ",", " ", "groß", " ", "&", " ", "schön", ".",
    ]  # fmt: skip


def test_tokenize_cuts_whitespace_into_single_characters() -> None:
    assert tokenize("a\n\n b") == ["a", "\n", "\n", " ", "b"]


def test_tokenize_keeps_soft_hyphens_and_combining_accents_inside_words() -> None:
    assert tokenize("Konzept\u00adpapier Mu\u0308ll") == ["Konzept\u00adpapier", " ", "Mu\u0308ll"]


@given(st.text(TEXT_CHARS))
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


# --- diff_ops ------------------------------------------------------------------------------


def test_identical_texts_are_one_equal_operation() -> None:
    assert diff_ops("Gleicher Text", "Gleicher Text") == [(EQUAL, "Gleicher Text")]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", []),
        ("", "Neu", [(INSERT, "Neu")]),
        ("Alt", "", [(DELETE, "Alt")]),
    ],
)
def test_empty_texts(a: str, b: str, expected: list[tuple[int, str]]) -> None:
    assert diff_ops(a, b) == expected


def test_a_changed_ending_replaces_the_whole_word() -> None:
    ops = diff_ops("Wir bauen die Straße aus.", "Wir bauen die Straßen aus.")
    assert ops == [
        (EQUAL, "Wir bauen die "),
        (DELETE, "Straße"),
        (INSERT, "Straßen"),
        (EQUAL, " aus."),
    ]


def test_an_inserted_word_is_one_insertion() -> None:
    ops = diff_ops("die Welt ist groß", "die neue Welt ist groß")
    assert [op for op in ops if op[0] != EQUAL] == [(INSERT, " neue")] or [
        op for op in ops if op[0] != EQUAL
    ] == [(INSERT, "neue ")]
    assert side(ops, INSERT) == "die neue Welt ist groß"


def test_edits_at_start_and_end() -> None:
    ops = diff_ops("Maß und Ziel", "Mehr Maß und Ziele")
    assert ops[0][0] == INSERT and ops[0][1].startswith("Mehr")
    assert ops[-2:] == [(DELETE, "Ziel"), (INSERT, "Ziele")]


def test_a_rewritten_sentence_is_not_shredded() -> None:
    ops = diff_ops(
        "Das Bündnis fordert mehr Radwege. Der Rest bleibt.",
        "Die Stadt plant weniger Parkplätze. Der Rest bleibt.",
    )
    assert ops == [
        (DELETE, "Das Bündnis fordert mehr Radwege"),
        (INSERT, "Die Stadt plant weniger Parkplätze"),
        (EQUAL, ". Der Rest bleibt."),
    ]


def test_paragraph_changes() -> None:
    a = "Erster Absatz.\n\nZweiter Absatz."
    b = "Erster Absatz.\n\nNeuer Absatz.\n\nZweiter Absatz."
    ops = diff_ops(a, b)
    assert [op for op in ops if op[0] != EQUAL] == [(INSERT, "Neuer Absatz.\n\n")] or [
        op for op in ops if op[0] != EQUAL
    ] == [(INSERT, "\n\nNeuer Absatz.")]


def test_many_distinct_tokens_fall_back_to_a_character_diff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(textdiff, "_CODE_RANGES", ((0xE000, 0xE003),))
    a, b = "eins zwei drei vier", "eins zwo drei fünf"
    for semantic in (True, False):
        ops = diff_ops(a, b, semantic=semantic)
        assert side(ops, DELETE) == a
        assert side(ops, INSERT) == b


def test_out_of_time_the_rest_is_reported_as_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textdiff, "_TIME_LIMIT_SECONDS", 0)
    for semantic in (True, False):
        ops = diff_ops("eins zwei drei", "eins ZWEI drei", semantic=semantic)
        assert ops == [(DELETE, "eins zwei drei"), (INSERT, "eins ZWEI drei")]


def test_the_exact_diff_matches_words_before_spaces() -> None:
    # A shortest diff could keep both spaces and pair "bündnis" with "größe".
    ops = diff_ops("straße bündnis größe maß", "straße NEU bündnis GRÜN", semantic=False)
    assert ops == [
        (EQUAL, "straße"),
        (INSERT, " NEU"),
        (EQUAL, " bündnis "),
        (DELETE, "größe maß"),
        (INSERT, "GRÜN"),
    ]


def test_the_exact_diff_places_an_insertion_after_the_word_before() -> None:
    assert diff_ops("eins drei", "eins zwei drei", semantic=False) == [
        (EQUAL, "eins"),
        (INSERT, " zwei"),
        (EQUAL, " drei"),
    ]
    assert diff_ops("eins drei", "eins zwei drei vier", semantic=False) == [
        (EQUAL, "eins"),
        (INSERT, " zwei"),
        (EQUAL, " drei"),
        (INSERT, " vier"),
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(TEXT_CHARS), st.text(TEXT_CHARS), st.booleans())
def test_operations_rebuild_both_texts(a: str, b: str, semantic: bool) -> None:
    ops = diff_ops(a, b, semantic=semantic)
    assert side(ops, DELETE) == a
    assert side(ops, INSERT) == b
    assert_well_formed(ops)


word_texts = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from([" ", ", ", ".\n\n", "-"])), max_size=40
).map("".join)


@settings(max_examples=200, deadline=None)
@given(word_texts, word_texts, st.booleans())
def test_operations_cover_whole_tokens(a: str, b: str, semantic: bool) -> None:
    ops = diff_ops(a, b, semantic=semantic)
    assert side(ops, DELETE) == a
    assert side(ops, INSERT) == b
    assert_well_formed(ops)
    for keep, text in ((DELETE, a), (INSERT, b)):
        boundaries = {0}
        for token in tokenize(text):
            boundaries.add(max(boundaries) + len(token))
        position = 0
        for op, piece in ops:
            if op in (EQUAL, keep):
                position += len(piece)
                assert position in boundaries, f"{piece!r} ends inside a word"


# --- diff_stats ----------------------------------------------------------------------------


def test_diff_stats_counts_words_not_characters() -> None:
    ops = diff_ops("Die große Straße wird gebaut.", "Die Straße wird schnell neu gebaut.")
    assert diff_stats(ops) == (2, 1)
    assert diff_stats([(DELETE, "Maß, und"), (INSERT, " - ")]) == (0, 2)


def test_diff_stats_of_no_change() -> None:
    assert diff_stats(diff_ops("gleich", "gleich")) == (0, 0)


# --- inline_html ---------------------------------------------------------------------------

HIDDEN = re.compile(
    r'<span class="visually-hidden">.*?</span>|<span [^>]*aria-hidden[^>]*>.*?</span>'
)


def visible(markup: str, drop: str) -> str:
    """Return the text a sighted reader sees with the `drop` marks (del/ins) removed."""
    text = HIDDEN.sub("", markup)
    text = re.sub(rf"<{drop}>.*?</{drop}>", "", text, flags=re.DOTALL)
    return html.unescape(re.sub(r"</?(?:del|ins)>", "", text))


def test_inline_html_marks_changes_for_eyes_and_screen_readers() -> None:
    out = inline_html(
        diff_ops("Die Straße ist breit.", "Die Straße ist schmal."),
        deleted_label="gelöscht",
        inserted_label="eingefügt",
    )
    assert isinstance(out, Markup)
    assert out == (
        "Die Straße ist "
        '<del><span class="visually-hidden">[gelöscht: </span>breit'
        '<span class="visually-hidden">]</span></del>'
        '<ins><span class="visually-hidden">[eingefügt: </span>schmal'
        '<span class="visually-hidden">]</span></ins>.'
    )


def test_inline_html_default_labels() -> None:
    out = inline_html([(DELETE, "a"), (INSERT, "b")])
    assert "[deleted: " in out and "[inserted: " in out


def test_inline_html_escapes_text_and_labels() -> None:
    out = inline_html(
        diff_ops('<b>"alt"</b> & gut', "<script>alert(1)</script> & gut"),
        deleted_label="<i>weg</i>",
    )
    assert "<script>" not in out and "<b>" not in out and "<i>" not in out
    assert "script&gt;" in out and "&amp; gut" in out and "&#34;alt&#34;" in out
    assert "[&lt;i&gt;weg&lt;/i&gt;: " in out
    assert visible(str(out), "ins") == '<b>"alt"</b> & gut'


def test_inline_html_keeps_newlines_and_shows_changed_ones() -> None:
    out = inline_html(diff_ops("Eins.\n\nZwei.", "Eins.\n\nNeu.\n\nZwei."))
    assert out.count("\n") == 4
    assert out.count('aria-hidden="true">¶</span>') == 2


def test_inline_html_of_nothing() -> None:
    assert inline_html([]) == Markup("")


@settings(max_examples=200, deadline=None)
@given(word_texts, word_texts)
def test_inline_html_shows_both_texts(a: str, b: str) -> None:
    out = str(inline_html(diff_ops(a, b)))
    assert visible(out, "ins") == a
    assert visible(out, "del") == b


# --- side_by_side --------------------------------------------------------------------------


def test_side_by_side_pairs_lines() -> None:
    rows = side_by_side(
        diff_ops("eins\nzwei\ndrei\nvier", "eins\nzwo\ndrei\nneu\nvier"),
        deleted_label="gelöscht",
        inserted_label="eingefügt",
    )
    assert [(r.left_number, r.right_number, r.changed) for r in rows] == [
        (1, 1, False),
        (2, 2, True),
        (3, 3, False),
        (None, 4, True),
        (4, 5, False),
    ]
    assert rows[0] == Row(Markup("eins"), Markup("eins"), False, 1, 1)
    assert "<del>" in rows[1].left and "zwei" in rows[1].left and "zwo" not in rows[1].left
    assert "<ins>" in rows[1].right and "[eingefügt: " in rows[1].right
    assert rows[3].left == Markup("")


def test_side_by_side_highlights_words_inside_a_changed_line() -> None:
    rows = side_by_side(diff_ops("Die Straße ist breit.", "Die Straße ist schmal."))
    assert len(rows) == 1 and rows[0].changed
    assert str(rows[0].left).startswith("Die Straße ist <del>")
    assert str(rows[0].right).startswith("Die Straße ist <ins>")


def test_side_by_side_removed_lines_and_escaping() -> None:
    rows = side_by_side(diff_ops("<a>\nweg\nbleibt", "<a>\nbleibt"))
    assert [(r.left_number, r.right_number) for r in rows] == [(1, 1), (2, None), (3, 2)]
    assert rows[0].left == Markup("&lt;a&gt;")
    assert rows[1].right == Markup("") and "weg" in rows[1].left


def test_side_by_side_of_identical_and_empty_texts() -> None:
    assert side_by_side([]) == []
    rows = side_by_side(diff_ops("a\nb", "a\nb"))
    assert [r.changed for r in rows] == [False, False]


@settings(max_examples=200, deadline=None)
@given(word_texts, word_texts)
def test_side_by_side_shows_every_line_of_both_texts(a: str, b: str) -> None:
    rows = side_by_side(diff_ops(a, b))
    if not a and not b:
        assert rows == []
        return
    left = [visible(str(r.left), "ins") for r in rows if r.left_number is not None]
    right = [visible(str(r.right), "del") for r in rows if r.right_number is not None]
    assert left == a.split("\n")
    assert right == b.split("\n")
    assert [r.left_number for r in rows if r.left_number] == list(range(1, len(left) + 1))
    assert all(r.changed for r in rows if r.left_number is None or r.right_number is None)
