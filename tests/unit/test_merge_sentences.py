"""The three-way merge by sentences: a merged sentence is always one person's sentence."""

from __future__ import annotations

import pytest

from drafting.text.merge import CELL, PARAGRAPH, SENTENCE, MergeResult, merge3, resolve

pytestmark = pytest.mark.filterwarnings("error")

AYLIN_BASE = (
    "Erstens richten die Städte bis 2027 ein Flächenmanagement ein. "
    "Zweitens melden sie freie Flächen. Drittens berichten sie jährlich."
)


def only_conflict(result: MergeResult):  # type: ignore[no-untyped-def]
    assert not result.clean
    assert len(result.conflicts) == 1
    return result.conflicts[0]


def test_the_same_sentence_changed_by_both_is_one_whole_sentence_conflict() -> None:
    # The case from the issue: word-level merging made a sentence nobody wrote.
    aylin = AYLIN_BASE.replace("ein Flächenmanagement", "ein gemeinsames Flächenmanagement")
    marta = AYLIN_BASE.replace(
        "richten die Städte bis 2027 ein Flächenmanagement ein",
        "wird bis 2027 ein regionales Flächenmanagement aufgebaut",
    )
    conflict = only_conflict(merge3(AYLIN_BASE, marta, aylin))
    assert conflict.unit == SENTENCE
    assert conflict.base == "Erstens richten die Städte bis 2027 ein Flächenmanagement ein."
    assert conflict.theirs == "Erstens wird bis 2027 ein regionales Flächenmanagement aufgebaut."
    assert conflict.yours == (
        "Erstens richten die Städte bis 2027 ein gemeinsames Flächenmanagement ein."
    )
    assert AYLIN_BASE[conflict.base_start : conflict.base_end] == conflict.base
    assert resolve(merge3(AYLIN_BASE, marta, aylin), {0: "yours"}) == aylin
    assert resolve(merge3(AYLIN_BASE, marta, aylin), {0: "theirs"}) == marta


def test_numbers_in_one_sentence_are_not_mixed() -> None:
    base = "Der Anteil liegt bei zehn Prozent."
    result = merge3(
        base, "Der Anteil liegt bei knapp zehn Prozent.", "Der Anteil liegt bei elf Prozent."
    )
    conflict = only_conflict(result)
    assert "knapp elf" not in conflict.theirs + conflict.yours


def test_different_sentences_of_one_paragraph_merge() -> None:
    theirs = AYLIN_BASE.replace("freie Flächen", "alle freien Flächen")
    mine = AYLIN_BASE.replace("jährlich", "halbjährlich")
    result = merge3(AYLIN_BASE, theirs, mine)
    assert result.text == AYLIN_BASE.replace("freie Flächen", "alle freien Flächen").replace(
        "jährlich", "halbjährlich"
    )


def test_neighbouring_sentences_merge() -> None:
    theirs = AYLIN_BASE.replace("bis 2027", "bis 2028")
    mine = AYLIN_BASE.replace("freie Flächen", "brache Flächen")
    assert merge3(AYLIN_BASE, theirs, mine).text == theirs.replace("freie", "brache")


def test_a_sentence_added_after_a_changed_one_merges() -> None:
    theirs = AYLIN_BASE.replace("jährlich", "halbjährlich")
    mine = AYLIN_BASE + " Viertens laden sie ein."
    assert merge3(AYLIN_BASE, theirs, mine).text == theirs + " Viertens laden sie ein."


def test_identical_changes_are_taken_once() -> None:
    changed = AYLIN_BASE.replace("freie", "brache") + " Neu ist das."
    assert merge3(AYLIN_BASE, changed, changed).text == changed
    theirs = changed
    mine = changed.replace("jährlich", "monatlich")
    assert merge3(AYLIN_BASE, theirs, mine).text == mine


def test_change_against_deletion_of_a_sentence_conflicts() -> None:
    theirs = AYLIN_BASE.replace("freie Flächen", "brache Flächen")
    mine = AYLIN_BASE.replace(" Zweitens melden sie freie Flächen.", "")
    conflict = only_conflict(merge3(AYLIN_BASE, theirs, mine))
    assert conflict.theirs == " Zweitens melden sie brache Flächen."
    assert conflict.yours == ""
    assert conflict.base == " Zweitens melden sie freie Flächen."


def test_two_sentences_inserted_at_the_same_place_conflict() -> None:
    conflict = only_conflict(
        merge3(AYLIN_BASE, AYLIN_BASE + " Ihr Satz.", AYLIN_BASE + " Mein Satz.")
    )
    assert (conflict.base, conflict.theirs, conflict.yours) == ("", " Ihr Satz.", " Mein Satz.")


def test_abbreviations_do_not_split_the_merge_unit() -> None:
    base = "Das gilt z. B. für Kitas am 5. Dezember. Nr. 3 folgt."
    theirs = "Das gilt z. B. für Horte am 5. Dezember. Nr. 3 folgt."
    mine = "Das gilt z. B. für Kitas am 6. Dezember. Nr. 3 folgt."
    conflict = only_conflict(merge3(base, theirs, mine))
    assert conflict.base == "Das gilt z. B. für Kitas am 5. Dezember."


def test_each_table_cell_is_its_own_unit() -> None:
    base = "| Ort | Ziel |\n|---|---|\n| Kassel | 5 % |"
    theirs = "| Ort | Ziel |\n|---|---|\n| Kassel | 6 % |"
    mine = "| Ort | Ziel |\n|---|---|\n| Göttingen | 5 % |"
    assert merge3(base, theirs, mine).text == "| Ort | Ziel |\n|---|---|\n| Göttingen | 6 % |"
    conflict = only_conflict(merge3(base, theirs, base.replace("5 %", "7 %")))
    assert conflict.unit == CELL
    assert (conflict.theirs.strip(" |"), conflict.yours.strip(" |")) == ("6 %", "7 %")


def test_each_sentence_changed_on_both_sides_is_a_conflict_of_its_own() -> None:
    theirs = AYLIN_BASE.replace("Erstens", "Zuerst").replace("Zweitens", "Dann")
    mine = AYLIN_BASE.replace("Erstens richten", "Erstens bauen").replace("melden", "nennen")
    result = merge3(AYLIN_BASE, theirs, mine)
    assert [c.unit for c in result.conflicts] == [SENTENCE, SENTENCE]
    assert resolve(result, {0: "yours", 1: "theirs"}) == AYLIN_BASE.replace(
        "Erstens richten", "Erstens bauen"
    ).replace("Zweitens", "Dann")


def test_a_conflict_over_several_sentences_is_a_paragraph() -> None:
    # Theirs joins two sentences into one; mine edits the second of them.
    theirs = AYLIN_BASE.replace(" ein. Zweitens melden sie", " ein und melden")
    mine = AYLIN_BASE.replace("melden", "nennen")
    conflict = only_conflict(merge3(AYLIN_BASE, theirs, mine))
    assert conflict.unit == PARAGRAPH
    assert conflict.base.endswith("Zweitens melden sie freie Flächen.")


def test_paragraphs_merge_independently() -> None:
    base = "Absatz eins. Satz zwei.\n\nAbsatz zwei. Satz vier."
    theirs = "Absatz eins. Satz 2.\n\nAbsatz zwei. Satz vier."
    mine = "Absatz eins. Satz zwei.\n\nAbsatz zwei. Satz 4."
    assert merge3(base, theirs, mine).text == "Absatz eins. Satz 2.\n\nAbsatz zwei. Satz 4."


def test_a_paragraph_split_by_one_side_merges_with_a_change_elsewhere() -> None:
    base = "Eins ist da. Zwei ist da. Drei ist da."
    theirs = "Eins ist da.\n\nZwei ist da. Drei ist da."
    mine = "Eins ist da. Zwei ist da. Drei ist weg."
    assert merge3(base, theirs, mine).text == "Eins ist da.\n\nZwei ist da. Drei ist weg."
