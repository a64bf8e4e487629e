"""Tracked changes rendered inline (issue 12, item 4): insertions in <ins>, deletions in <del>,
each with hidden "[inserted: …]" text, and nothing of the text lost or doubled."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drafting.text.changes import changes, tracked_html

pytestmark = pytest.mark.filterwarnings("error")

BASE = "Die Innenstadt lebt vom Handel. Sie braucht <mehr> Wohnungen.\n\nDie Läden schließen."
PROPOSED = (
    "Die Innenstadt lebt vom Handel und Handwerk. Sie braucht Wohnungen.\n\nDie Läden bleiben."
)


def _without(markup: str, tag: str) -> str:
    """The visible text with one kind of mark (and every hidden label) taken out."""
    markup = re.sub(r'<span class="visually-hidden">.*?</span>', "", markup, flags=re.S)
    markup = re.sub(r'<span class="change-number"[^>]*>\d+</span>', "", markup)
    markup = re.sub(rf"<{tag}>.*?</{tag}>", "", markup, flags=re.S)
    markup = markup.replace('<span class="diff-newline" aria-hidden="true">¶</span>', "")
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_marks_labels_and_escaping():
    found = changes(BASE, PROPOSED)
    out = str(
        tracked_html(
            BASE,
            found,
            deleted_label="gelöscht",
            inserted_label="eingefügt",
            change_label="Änderung %(n)s:",
            prefix="change-7",
            states={2: "rejected"},
        )
    )
    assert '<span class="change change-insert" id="change-7-1" data-change="1">' in out
    assert '<ins><span class="visually-hidden">[eingefügt: </span> und Handwerk' in out
    assert '<del><span class="visually-hidden">[gelöscht: </span>&lt;mehr&gt; ' in out
    assert "change-rejected" in out and "<mehr>" not in out
    assert '<span class="visually-hidden">Änderung 3: </span>' in out
    assert _without(out, "ins") == BASE
    assert _without(out, "del") == PROPOSED


words = st.lists(
    st.sampled_from(["Markt", "Stadt", "lebt", "vom", "Handel", "&", "<b>", ".", "\n\n", " "]),
    max_size=30,
).map(" ".join)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(words, words)
def test_hiding_the_insertions_shows_the_base_and_hiding_deletions_the_proposal(base, proposed):
    out = str(tracked_html(base, changes(base, proposed)))
    assert _without(out, "ins") == base
    assert _without(out, "del") == proposed
