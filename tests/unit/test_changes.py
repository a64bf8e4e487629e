"""A suggestion's changes: hunks grouped by sentence, and partial acceptance as a property."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drafting.text.changes import apply, changes

pytestmark = pytest.mark.filterwarnings("error")

BASE = (
    "Die Innenstadt lebt vom Handel. Sie braucht mehr Wohnungen. "
    "Der Markt ist samstags voll.\n\nDie Läden schließen früh."
)


def test_one_change_per_sentence_with_the_words_that_differ():
    proposed = (
        "Die Innenstadt lebt vom Handel und vom Handwerk. Sie braucht mehr Wohnungen. "
        "Der Wochenmarkt ist samstags sehr voll.\n\nDie Läden schließen früh."
    )
    found = changes(BASE, proposed)
    assert [(c.id, c.kind, c.before, c.after) for c in found] == [
        (1, "insert", "", " und vom Handwerk"),
        (2, "replace", "Markt ist samstags", "Wochenmarkt ist samstags sehr"),
    ]
    assert found[1].context == "Der Markt ist samstags voll.\n\n"
    assert BASE[found[1].start : found[1].end] == "Markt ist samstags"


def test_kinds_and_a_removed_sentence():
    proposed = "Die Innenstadt lebt vom Handel. Der Markt ist voll.\n\nDie Läden schließen früh."
    found = changes(BASE, proposed)
    assert [(c.kind, c.before, c.after) for c in found] == [
        ("delete", "Sie braucht mehr Wohnungen. ", ""),
        ("delete", "samstags ", ""),
    ]


def test_accepting_all_gives_the_suggestion_and_none_the_base():
    proposed = "Die Stadt lebt vom Handel. Sie braucht Wohnungen.\n\nDie Läden öffnen früh."
    found = changes(BASE, proposed)
    assert apply(BASE, found, {c.id for c in found}) == proposed
    assert apply(BASE, found, set()) == BASE
    assert changes(BASE, BASE) == []


WORDS = st.sampled_from(
    "Innenstadt Handel Wohnen Markt Läden Stadt Kommune Land Platz Straße und die der mit "
    "für soll werden gemeinsam früh abends".split()
)
SENTENCE = st.lists(WORDS, min_size=2, max_size=8).map(lambda w: " ".join(w).capitalize() + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map(" ".join)
TEXT = st.lists(PARAGRAPH, min_size=1, max_size=3).map("\n\n".join)


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    """A base text and a suggestion: words replaced, inserted and deleted here and there."""
    base = draw(TEXT)
    # Prose does not repeat its sentences; where it does, which copy a change belongs to
    # is a guess of the differ, and "exactly that subset" has no single answer.
    sentences = [s for paragraph in base.split("\n\n") for s in paragraph.split(". ")]
    assume(len(set(sentences)) == len(sentences))
    words = base.split(" ")
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(0, len(words) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "replace":
            words[index] = draw(WORDS)
        elif action == "insert":
            words.insert(index, draw(WORDS))
        elif len(words) > 1 and words[index].isalpha():
            del words[index]
    return base, " ".join(words)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited(), st.data())
def test_any_subset_of_accepted_changes_is_exactly_the_diff_to_the_base(pair, data):
    base, proposed = pair
    found = changes(base, proposed)
    assume(found)
    accepted = data.draw(st.sets(st.sampled_from([c.id for c in found])))
    partial = apply(base, found, accepted)
    again = changes(base, partial)
    taken = [c for c in found if c.id in accepted]
    assert [(c.start, c.end, c.before, c.after) for c in again] == [
        (c.start, c.end, c.before, c.after) for c in taken
    ]
