"""Property tests for the three-way merge: what merges, what conflicts, and what never breaks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from drafting.text.merge import MergeResult, changed_ranges, resolve
from drafting.text.merge import merge3_words as merge3
from drafting.text.textdiff import tokenize

pytestmark = pytest.mark.filterwarnings("error")

PROPERTY = settings(max_examples=200, deadline=None)

# Base texts use lower-case words, edits only upper-case ones: an edit never re-creates base
# text, so where a diff reports it is not a matter of taste.
BASE_WORDS = [
    "straße", "bündnis", "größe", "maß", "öffentlich", "müssen", "über", "wärme", "fuß",
    "kita", "rad", "stadt", "und", "die",
]  # fmt: skip
NEW_WORDS = ["GRÜN", "SCHNELL", "SPÄTER", "WEIß", "NEU", "ÄRGER", "MEHR"]
EXTRA_WORDS = ["ZUSATZ", "ÜBRIGENS"]
SEPARATORS = [" ", " ", " ", " ", ", ", ". ", ".\n\n", " – ", "-"]

TEXT_CHARS = st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "Cc"])


@st.composite
def base_texts(draw: st.DrawFn, min_words: int = 2, unique: bool = False) -> list[str]:
    """Draw a text as its list of tokens."""
    words = draw(
        st.lists(st.sampled_from(BASE_WORDS), min_size=min_words, max_size=40, unique=unique)
    )
    parts = [words[0]]
    for word in words[1:]:
        parts += [draw(st.sampled_from(SEPARATORS)), word]
    return tokenize("".join(parts))


def word_indices(tokens: list[str]) -> list[int]:
    return [i for i, token in enumerate(tokens) if token[0].isalpha()]


new_phrases = st.lists(st.sampled_from(NEW_WORDS), min_size=1, max_size=3).map(" ".join)
REPLACEMENTS = st.one_of(st.just(""), new_phrases)


@dataclass(frozen=True)
class Edit:
    """Replace one word token: by new words, by nothing, or by itself and a new word after."""

    kind: str  # "replace" | "delete" | "append"
    words: str = ""

    def apply(self, token: str) -> str:
        if self.kind == "replace":
            return self.words
        if self.kind == "delete":
            return ""
        return f"{token} {self.words}"


def edits(max_words: int, vocabulary: list[str] = NEW_WORDS) -> st.SearchStrategy[Edit]:
    word = st.sampled_from(vocabulary)
    phrase = st.lists(word, min_size=1, max_size=max_words).map(" ".join)
    return st.one_of(
        st.builds(Edit, st.just("replace"), phrase),
        st.just(Edit("delete")),
        st.builds(Edit, st.just("append"), word),
    )


SMALL_EDITS = edits(1)
EXTRA_EDITS = edits(1, EXTRA_WORDS)


def applied(tokens: list[str], edits_at: dict[int, Edit]) -> str:
    return "".join(
        edits_at[i].apply(token) if i in edits_at else token for i, token in enumerate(tokens)
    )


def check_invariants(base: str, result: MergeResult) -> None:
    previous_end = -1
    for conflict in result.conflicts:
        assert conflict.base == base[conflict.base_start : conflict.base_end]
        assert conflict.theirs != conflict.yours
        assert previous_end < conflict.base_start
        previous_end = conflict.base_end
    assert all(chunk.text for chunk in result.chunks if chunk.conflict is None)
    assert all(
        a.conflict is not None or b.conflict is not None
        for a, b in zip(result.chunks, result.chunks[1:], strict=False)
    ), "settled neighbours are one chunk"


# --- (a) separate edits merge cleanly ------------------------------------------------------


@PROPERTY
@given(st.data(), base_texts(), edits(3), edits(3))
def test_one_edit_each_on_different_words_merges(
    data: st.DataObject, tokens: list[str], their_edit: Edit, my_edit: Edit
) -> None:
    positions = word_indices(tokens)
    theirs_at, mine_at = data.draw(
        st.lists(st.sampled_from(positions), min_size=2, max_size=2, unique=True)
    )
    base = "".join(tokens)
    theirs = applied(tokens, {theirs_at: their_edit})
    mine = applied(tokens, {mine_at: my_edit})
    result = merge3(base, theirs, mine)
    assert result.clean, result.conflicts
    assert result.text == applied(tokens, {theirs_at: their_edit, mine_at: my_edit})
    check_invariants(base, result)


@PROPERTY
@given(st.data(), base_texts(min_words=3))
def test_many_separate_edits_on_both_sides_merge(data: st.DataObject, tokens: list[str]) -> None:
    positions = word_indices(tokens)
    # Every edited word has an untouched word between it and the next edited one.
    chosen = data.draw(st.lists(st.sampled_from(positions[::2]), min_size=2, unique=True))
    sides = data.draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    sides[0] = not sides[1]  # both sides edit
    changes = data.draw(st.lists(SMALL_EDITS, min_size=len(chosen), max_size=len(chosen)))
    their_edits: dict[int, Edit] = {}
    my_edits: dict[int, Edit] = {}
    for at, mine, edit in zip(chosen, sides, changes, strict=True):
        (my_edits if mine else their_edits)[at] = edit
    base = "".join(tokens)
    result = merge3(base, applied(tokens, their_edits), applied(tokens, my_edits))
    assert result.clean, result.conflicts
    assert result.text == applied(tokens, their_edits | my_edits)


# --- (b) edits of the same words conflict and lose nothing ---------------------------------


@st.composite
def overlapping_edits(
    draw: st.DrawFn, min_words: int = 2, unique: bool = False
) -> tuple[list[str], int, int, str, str]:
    tokens = draw(base_texts(min_words, unique))
    positions = word_indices(tokens)
    first, last = sorted(draw(st.lists(st.sampled_from(positions), min_size=2, max_size=2)))
    theirs, mine = draw(st.lists(REPLACEMENTS, min_size=2, max_size=2, unique=True))
    return tokens, first, last + 1, theirs, mine


def replaced(tokens: list[str], start: int, end: int, text: str) -> str:
    return "".join(tokens[:start]) + text + "".join(tokens[end:])


@PROPERTY
@given(overlapping_edits())
def test_different_edits_of_the_same_words_conflict(
    case: tuple[list[str], int, int, str, str],
) -> None:
    tokens, start, end, their_text, my_text = case
    base = "".join(tokens)
    theirs = replaced(tokens, start, end, their_text)
    mine = replaced(tokens, start, end, my_text)
    result = merge3(base, theirs, mine)
    assert not result.clean
    check_invariants(base, result)
    everything = range(len(result.conflicts))
    assert resolve(result, {}) == theirs
    assert resolve(result, dict.fromkeys(everything, "theirs")) == theirs
    assert resolve(result, dict.fromkeys(everything, "yours")) == mine


@PROPERTY
@given(st.data(), overlapping_edits(min_words=4, unique=True), EXTRA_EDITS)
def test_a_conflict_does_not_hold_back_a_separate_edit(
    data: st.DataObject, case: tuple[list[str], int, int, str, str], extra: Edit
) -> None:
    # Unique base words and extra words of their own keep what changed where unambiguous.
    tokens, start, end, their_text, my_text = case
    # A word of mine with at least one untouched word between it and the conflicting ones.
    words = word_indices(tokens)
    first, last = words.index(start), words.index(end - 1)
    far = words[: max(first - 1, 0)] + words[last + 2 :]
    assume(far)
    at = data.draw(st.sampled_from(far))
    with_extra = tokens.copy()
    with_extra[at] = extra.apply(tokens[at])
    base = "".join(tokens)
    theirs = replaced(tokens, start, end, their_text)
    mine = replaced(with_extra, start, end, my_text)
    result = merge3(base, theirs, mine)
    assert len(result.conflicts) >= 1
    check_invariants(base, result)
    everything = range(len(result.conflicts))
    assert resolve(result, {}) == replaced(with_extra, start, end, their_text)
    assert resolve(result, dict.fromkeys(everything, "yours")) == mine


# --- (c) unchanged sides, symmetry and robustness on any text ------------------------------

any_text = st.text(TEXT_CHARS, max_size=60)


@PROPERTY
@given(any_text, any_text)
def test_an_unchanged_side_yields_the_other(base: str, other: str) -> None:
    assert merge3(base, base, other).text == other
    assert merge3(base, other, base).text == other
    assert merge3(base, other, other).text == other


@PROPERTY
@given(any_text, any_text)
def test_changed_ranges_rebuild_the_other_text(base: str, other: str) -> None:
    ranges = changed_ranges(base, other)
    rebuilt, position = [], 0
    for start, end, replacement in ranges:
        assert position <= start <= end
        assert position == 0 or start > position, "hunks are apart"
        rebuilt += [base[position:start], replacement]
        position = end
    rebuilt.append(base[position:])
    assert "".join(rebuilt) == other


def word_soup() -> st.SearchStrategy[str]:
    """Texts drawn from few tokens, so that the three sides share and shuffle much."""
    token = st.sampled_from(["maß", "größe", "die", "NEU", " ", " ", ", ", "\n\n"])
    return st.lists(token, max_size=25).map("".join)


@PROPERTY
@given(st.one_of(any_text, word_soup()), word_soup(), word_soup())
def test_merge_is_symmetric_and_consistent(base: str, theirs: str, mine: str) -> None:
    result = merge3(base, theirs, mine)
    mirrored = merge3(base, mine, theirs)
    check_invariants(base, result)
    assert result.clean == mirrored.clean
    if result.clean:
        assert result.text == mirrored.text
    else:
        assert [(c.base_start, c.base_end) for c in result.conflicts] == [
            (c.base_start, c.base_end) for c in mirrored.conflicts
        ]
        assert [(c.theirs, c.yours) for c in result.conflicts] == [
            (c.yours, c.theirs) for c in mirrored.conflicts
        ]
        assert resolve(result, {}) == resolve(
            mirrored, dict.fromkeys(range(len(mirrored.conflicts)), "yours")
        )
