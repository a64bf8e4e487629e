"""What an editorial save may change and keep the approval (issue 9, item 2; ASVS V4.1.3).

Only whitespace, typographic quotes, dashes and apostrophes, the case of a sentence's first
letter and punctuation without meaning may differ; digits, comparison, sign and unit
characters and every other letter and its case are significant.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from workflows.reviewstate import only_editorial

SIGNIFICANT = "0123456789<>=+-±%‰§€$"
# Texts with amounts, shares, signs and words, sentences and paragraphs.
_ALPHABET = st.sampled_from(
    list(SIGNIFICANT) + list("abcKMZäßÄ") + [" ", " ", "\n", ".", ",", ";", "–", "„", "“", "'"]
)
texts = st.text(_ALPHABET, min_size=1, max_size=60)


def test_asvs_v4_1_3_the_issues_example_is_a_change_of_meaning():
    """ASVS V4.1.3: "Kosten < 5 … +10 %" to "Kosten > 5 … -10 ‰" is not editorial."""
    assert not only_editorial(
        "Kosten < 5 Mio. EUR, Anteil +10 %.", "Kosten > 5 Mio. EUR, Anteil -10 ‰."
    )


@pytest.mark.parametrize(
    "old, new",
    [
        ("Anteil 10 %.", "Anteil –10 %."),  # a dash before a number is a minus
        ("Anteil -10 %.", "Anteil +10 %."),
        ("Kosten 5 €.", "Kosten 5 $."),
        ("§ 5 gilt.", "5 gilt."),
        ("im Jahr 2024 5 Projekte", "im Jahr 20245 Projekte"),
        ("Die Stadt lädt ein.", "Die stadt lädt ein."),  # case inside a sentence
        ("Wir essen.", "Wir Essen."),
        ("Temperatur 20°", "Temperatur 20"),
        ("Handel & Wohnen", "Handel Wohnen"),
        ("E-Mail", "EMail"),
    ],
)
def test_changes_of_meaning_reset(old, new):
    assert not only_editorial(old, new)
    assert not only_editorial(new, old)


@pytest.mark.parametrize(
    "old, new",
    [
        ("Die Stadt lädt ein.", "die Stadt lädt ein."),
        ("Sie kommt. Er geht.", "Sie kommt; er geht."),
        ("„Mitte“ – gut.", '"Mitte" - gut.'.replace(" - ", " — ")),
        ("Es geht's", "Es geht’s"),
        ("1 500 Euro", "1  500 Euro"),
        ("Ein Satz.\n\nZwei.", "Ein Satz.\n\n\nzwei"),
    ],
)
def test_meaning_free_changes_keep_the_approval(old, new):
    assert only_editorial(old, new)


@given(text=texts, data=st.data())
def test_asvs_v4_1_3_any_change_of_a_digit_comparison_or_sign_resets(text, data):
    """ASVS V4.1.3: replacing, deleting or inserting a digit, comparison or sign character
    is never editorial."""
    positions = [i for i, ch in enumerate(text) if ch in SIGNIFICANT]
    kinds = ["insert"] + (["replace", "delete"] if positions else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "insert":
        at = data.draw(st.integers(0, len(text)))
        changed = text[:at] + data.draw(st.sampled_from(SIGNIFICANT)) + text[at:]
    else:
        at = data.draw(st.sampled_from(positions))
        if kind == "delete":
            changed = text[:at] + text[at + 1 :]
        else:
            other = data.draw(st.sampled_from(SIGNIFICANT).filter(lambda c: c != text[at]))
            changed = text[:at] + other + text[at + 1 :]
    assume(changed != text)
    assert not only_editorial(text, changed)
    assert not only_editorial(changed, text)


@given(text=texts, data=st.data())
def test_whitespace_and_typographic_quotes_alone_keep_the_approval(text, data):
    """Doubling spaces and swapping typographic quotes never counts as a change."""
    changed = text.replace(" ", data.draw(st.sampled_from(["  ", " ", "\t"])))
    changed = changed.replace("„", '"').replace("“", '"').replace("'", "’")
    assert only_editorial(text, changed)
