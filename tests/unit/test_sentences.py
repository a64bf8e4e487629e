"""Sentence segmentation of German section texts: the corpus of edge cases the merge relies on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drafting.text.sentences import CELL, MARKUP, SENTENCE, segment, sentences

pytestmark = pytest.mark.filterwarnings("error")

CORPUS: list[tuple[str, list[str]]] = [
    (
        "Das gilt z. B. für Kitas. Danach kommt Nr. 5 der Liste.",
        ["Das gilt z. B. für Kitas.", "Danach kommt Nr. 5 der Liste."],
    ),
    (
        "Siehe Abs. 3 bzw. S. 12 des Plans. Es kostet ca. 3,5 Mio. Euro.",
        ["Siehe Abs. 3 bzw. S. 12 des Plans.", "Es kostet ca. 3,5 Mio. Euro."],
    ),
    (
        "Am 5. Dezember 2026 beginnt die Frist. Der 3. Abschnitt folgt.",
        ["Am 5. Dezember 2026 beginnt die Frist.", "Der 3. Abschnitt folgt."],
    ),
    (
        "Die Quote liegt bei 10.5 Prozent. Mehr unter https://example.org/a.b?x=1. Danke.",
        ["Die Quote liegt bei 10.5 Prozent.", "Mehr unter https://example.org/a.b?x=1.", "Danke."],
    ),
    (
        "Schreiben Sie an info@bund.example.org. Wir antworten.",
        ["Schreiben Sie an info@bund.example.org.", "Wir antworten."],
    ),
    ("Wir planen bis 2027. Danach wird geprüft.", ["Wir planen bis 2027.", "Danach wird geprüft."]),
    (
        "Das gilt u. a. für Schulen, d. h. auch z.B. Horte. Siehe Punkt 3.2. Ende.",
        ["Das gilt u. a. für Schulen, d. h. auch z.B. Horte.", "Siehe Punkt 3.2.", "Ende."],
    ),
    (
        "Er sagte: „Wir kommen.“ Dann ging er! Wirklich? Ja … Gut.",
        ["Er sagte: „Wir kommen.“", "Dann ging er!", "Wirklich?", "Ja …", "Gut."],
    ),
    ("Es sind ca. zehn Orte usw. und mehr.", ["Es sind ca. zehn Orte usw. und mehr."]),
    (
        "1. Erstens gilt das. Zweitens nicht.\n2. Drittens.\n- Punkt a. Punkt b.\n* Stern",
        ["Erstens gilt das.", "Zweitens nicht.", "Drittens.", "Punkt a.", "Punkt b.", "Stern"],
    ),
    ("## Ziele bis 2030\n\nText eins. Text zwei.", ["Ziele bis 2030", "Text eins.", "Text zwei."]),
    (
        "| Ort | Ziel. Mehr. |\n|---|---|\n| Kassel | 5 % |\n| | leer |",
        ["Ort", "Ziel. Mehr.", "Kassel", "5 %", "leer"],
    ),
    ("> Zitat eins. Zitat zwei.", ["Zitat eins.", "Zitat zwei."]),
]


@pytest.mark.parametrize(("text", "expected"), CORPUS)
def test_german_edge_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected
    assert "".join(unit.text for unit in segment(text)) == text


def test_every_table_cell_is_its_own_unit() -> None:
    units = segment("Vorher.\n\n| a | b. c. |\n|---|---|\n| d | e |\nNachher.")
    assert [(u.kind, u.content) for u in units] == [
        (SENTENCE, "Vorher."),
        (CELL, "a"),
        (CELL, "b. c."),
        (CELL, "d"),
        (CELL, "e"),
        (SENTENCE, "Nachher."),
    ]


def test_separators_start_the_next_unit_and_end_the_last() -> None:
    units = segment("Eins. Zwei.\n\n- Drei.\n")
    assert [u.text for u in units] == ["Eins.", " Zwei.", "\n\n- Drei.\n"]
    assert [u.start for u in units] == [0, 5, 11]


def test_texts_without_sentences() -> None:
    assert segment("") == []
    assert [(u.kind, u.text) for u in segment(" \n\n")] == [(MARKUP, " \n\n")]


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "Cc", "S"])))
def test_units_join_back_to_any_text(text: str) -> None:
    units = segment(text)
    assert "".join(unit.text for unit in units) == text
    position = 0
    for unit in units:
        assert unit.start == position
        position += len(unit.text)
