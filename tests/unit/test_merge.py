"""Tests for the word-level three-way merge (``merge3_words``), kept next to the sentence merge.

The sentence-level ``merge3`` that saves use is tested in ``test_merge_sentences.py``; these
word-level cases (edits of neighbouring words of one sentence merge) describe the earlier
merge, which is kept for comparison in the benchmark.
"""

from __future__ import annotations

import pytest

from drafting.text import textdiff
from drafting.text.merge import Chunk, Conflict, MergeResult, changed_ranges, resolve
from drafting.text.merge import merge3_words as merge3

pytestmark = pytest.mark.filterwarnings("error")

BASE = (
    "Das Bündnis fordert mehr Radwege in der Innenstadt.\n\n"
    "Die Straße vor der Schule wird verkehrsberuhigt. Das Maß an Lärm sinkt."
)


def conflict_of(result: MergeResult) -> Conflict:
    assert not result.clean
    assert len(result.conflicts) == 1
    return result.conflicts[0]


# --- changed_ranges ------------------------------------------------------------------------


def test_changed_ranges_use_character_offsets_of_the_base() -> None:
    assert changed_ranges("Größe und Maß", "Größe und Gewicht") == [(10, 13, "Gewicht")]


def test_changed_ranges_of_identical_and_empty_texts() -> None:
    assert changed_ranges("gleich", "gleich") == []
    assert changed_ranges("", "") == []
    assert changed_ranges("", "neu") == [(0, 0, "neu")]
    assert changed_ranges("alt", "") == [(0, 3, "")]


def test_changed_ranges_several_hunks() -> None:
    assert changed_ranges("eins zwei drei vier", "EINS zwei drei VIER") == [
        (0, 4, "EINS"),
        (15, 19, "VIER"),
    ]


def test_an_inserted_or_deleted_word_takes_the_space_before_it() -> None:
    # The convention decides which neighbour such an edit touches (see below).
    assert changed_ranges("eins zwei drei", "eins neu zwei drei") == [(4, 4, " neu")]
    assert changed_ranges("eins zwei drei", "eins drei") == [(4, 9, "")]


# --- shortcuts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "theirs", "mine", "expected"),
    [
        (BASE, BASE, BASE, BASE),
        (BASE, "Neu von anderen.", BASE, "Neu von anderen."),
        (BASE, BASE, "Mein neuer Text.", "Mein neuer Text."),
        (BASE, "Beide gleich.", "Beide gleich.", "Beide gleich."),
        ("", "", "", ""),
        ("", "", "neu", "neu"),
        ("alt", "", "", ""),
        ("alt", "alt", "", ""),
    ],
)
def test_shortcuts(base: str, theirs: str, mine: str, expected: str) -> None:
    result = merge3(base, theirs, mine)
    assert result.clean
    assert result.conflicts == []
    assert result.text == expected


def test_an_empty_merge_has_no_chunks() -> None:
    assert merge3("", "", "").chunks == ()


# --- clean merges --------------------------------------------------------------------------


def test_edits_in_different_sentences_are_merged() -> None:
    theirs = BASE.replace("mehr Radwege", "breitere Radwege")
    mine = BASE.replace("Lärm sinkt", "Lärm sinkt deutlich")
    result = merge3(BASE, theirs, mine)
    assert result.clean
    assert result.text == (
        "Das Bündnis fordert breitere Radwege in der Innenstadt.\n\n"
        "Die Straße vor der Schule wird verkehrsberuhigt. Das Maß an Lärm sinkt deutlich."
    )
    assert result.chunks == (Chunk(text=result.text, conflict=None),)


def test_edits_at_start_and_end_are_merged() -> None:
    result = merge3(BASE, "Unser " + BASE[4:], BASE[:-1] + "!")
    assert result.text == "Unser " + BASE[4:-1] + "!"


def test_neighbouring_words_edited_by_each_side_do_not_touch() -> None:
    result = merge3("die große Straße", "die breite Straße", "die große Gasse")
    assert result.text == "die breite Gasse"


def test_words_either_side_of_punctuation_do_not_touch() -> None:
    result = merge3("Maß, Ziel", "Maße, Ziel", "Maß, Ziele")
    assert result.text == "Maße, Ziele"


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    theirs = BASE.replace("Straße", "Gasse")
    mine = theirs.replace("Lärm", "Krach")
    result = merge3(BASE, theirs, mine)
    assert result.clean
    assert result.text == mine


def test_the_same_insertion_on_both_sides_is_taken_once() -> None:
    result = merge3("eins drei", "eins zwei drei", "eins zwei drei vier")
    assert result.text == "eins zwei drei vier"


def test_an_insertion_joins_the_word_before_it() -> None:
    # Inserting between two words touches the word before, not the one after.
    assert merge3("eins zwei drei", "eins neu zwei drei", "eins ZWEI drei").text == (
        "eins neu ZWEI drei"
    )
    assert not merge3("eins zwei drei", "eins neu zwei drei", "EINS zwei drei").clean


def test_a_word_both_sides_kept_survives_a_conflict_next_to_it() -> None:
    # Regression: a shortest diff paired "bündnis" with "größe" and resolving the conflict
    # for theirs dropped "bündnis", which both sides had kept.
    result = merge3(
        "straße bündnis größe maß müssen",
        "straße bündnis GRÜN müssen",
        "straße ZUSATZ bündnis  müssen",
    )
    assert resolve(result, {}) == "straße ZUSATZ bündnis GRÜN müssen"
    assert resolve(result, {0: "yours"}) == "straße ZUSATZ bündnis  müssen"


def test_each_side_deleting_one_of_two_equal_words() -> None:
    assert merge3("straße straße", "straße ", " straße").text == " "


def test_out_of_time_a_merge_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textdiff, "_TIME_LIMIT_SECONDS", 0)
    result = merge3("eins zwei drei", "EINS zwei drei", "eins zwei DREI")
    assert resolve(result, {}) == "EINS zwei drei"
    assert resolve(result, {0: "yours"}) == "eins zwei DREI"


def test_both_sides_deleting_different_words() -> None:
    result = merge3("eins zwei drei vier fünf", "eins drei vier fünf", "eins zwei drei fünf")
    assert result.text == "eins drei fünf"


def test_umlauts_and_eszett_survive_the_merge() -> None:
    result = merge3("Über Maß und Größe", "Übers Maß und Größe", "Über Maß und Füße")
    assert result.text == "Übers Maß und Füße"


# --- conflicts -----------------------------------------------------------------------------


def test_the_same_word_changed_differently_is_a_conflict() -> None:
    result = merge3(
        BASE,
        BASE.replace("mehr Radwege", "sichere Radwege"),
        BASE.replace("mehr Radwege", "breite Radwege"),
    )
    start = BASE.index("mehr")
    assert conflict_of(result) == Conflict(
        base_start=start, base_end=start + 4, base="mehr", theirs="sichere", yours="breite"
    )
    assert [chunk.text for chunk in result.chunks] == [BASE[:start], None, BASE[start + 4 :]]


def test_delete_versus_edit_of_the_same_word() -> None:
    conflict = conflict_of(merge3("die große Straße", "die Straße", "die breite Straße"))
    assert (conflict.base, conflict.theirs, conflict.yours) == (" große", "", " breite")


def test_two_insertions_at_the_same_point_conflict() -> None:
    conflict = conflict_of(merge3("eins drei", "eins zwei drei", "eins vier drei"))
    assert (conflict.base_start, conflict.base_end, conflict.base) == (4, 4, "")
    assert (conflict.theirs, conflict.yours) == (" zwei", " vier")


def test_insertions_into_an_empty_base_conflict() -> None:
    conflict = conflict_of(merge3("", "Ihr Text.", "Mein Text."))
    assert conflict == Conflict(0, 0, "", "Ihr Text.", "Mein Text.")


def test_an_insertion_at_the_edge_of_a_replaced_range_touches_it() -> None:
    conflict = conflict_of(merge3("eins zwei drei", "eins ZWEI drei", "eins zwei neu drei"))
    assert (conflict.base, conflict.theirs, conflict.yours) == ("zwei", "ZWEI", "zwei neu")


def test_a_word_and_its_punctuation_touch() -> None:
    conflict = conflict_of(
        merge3("Die Straße ist breit.", "Die Straße ist schmal.", "Die Straße ist breit!")
    )
    assert (conflict.base, conflict.theirs, conflict.yours) == ("breit.", "schmal.", "breit!")


def test_deleting_everything_conflicts_with_an_edit() -> None:
    conflict = conflict_of(merge3("eins zwei", "", "eins ZWEI"))
    assert conflict == Conflict(0, 9, "eins zwei", "", "eins ZWEI")


def test_a_conflict_region_is_the_union_of_touching_hunks() -> None:
    result = merge3(
        "eins zwei drei vier fünf sechs",
        "EINS zwei DREI vier FÜNF sechs",
        "eins zwei X sechs",
    )
    conflict = conflict_of(result)
    # Their "drei" and "fünf" hunks both touch my one hunk; "vier" in between stays theirs.
    assert conflict == Conflict(10, 24, "drei vier fünf", "DREI vier FÜNF", "X")
    # Their edit of "eins" stands apart and is merged.
    assert [chunk.text for chunk in result.chunks] == ["EINS zwei ", None, " sechs"]


def test_several_conflicts_keep_their_order() -> None:
    result = merge3("a b c d e", "A b C d e", "X b Y d E")
    assert [(c.base, c.theirs, c.yours) for c in result.conflicts] == [
        ("a", "A", "X"),
        ("c", "C", "Y"),
    ]
    assert [chunk.text for chunk in result.chunks] == [None, " b ", None, " d E"]


def test_text_of_a_conflicted_merge_raises() -> None:
    with pytest.raises(ValueError, match="conflicts"):
        _ = merge3("a", "b", "c").text


def test_a_chunk_holds_text_or_a_conflict() -> None:
    with pytest.raises(ValueError):
        Chunk(text=None, conflict=None)
    with pytest.raises(ValueError):
        Chunk(text="x", conflict=Conflict(0, 0, "", "a", "b"))


# --- resolve -------------------------------------------------------------------------------

TWO_CONFLICTS = ("a b c d e", "A b C d e", "X b Y d E")


def test_resolve_defaults_to_theirs() -> None:
    assert resolve(merge3(*TWO_CONFLICTS), {}) == "A b C d E"


def test_resolve_per_conflict() -> None:
    result = merge3(*TWO_CONFLICTS)
    assert resolve(result, {0: "yours"}) == "X b C d E"
    assert resolve(result, {0: "theirs", 1: "yours"}) == "A b Y d E"
    assert resolve(result, {0: "yours", 1: "yours"}) == "X b Y d E"


def test_resolve_of_a_clean_merge_is_its_text() -> None:
    result = merge3("a b c", "A b c", "a b C")
    assert resolve(result, {}) == result.text == "A b C"


@pytest.mark.parametrize("choices", [{2: "theirs"}, {-1: "yours"}, {0: "beide"}, {0: "base"}])
def test_resolve_rejects_unknown_indices_and_choices(choices: dict[int, str]) -> None:
    with pytest.raises(ValueError):
        resolve(merge3(*TWO_CONFLICTS), choices)
