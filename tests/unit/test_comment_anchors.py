"""Finding a quoted passage (a reader's selection of the rendered text) in the Markdown.

Pure functions: no app needed. The texts are padded beyond the size up to which the old
regex search over the rendered text still runs as a fallback, so the word index is what
finds them (issue 9 item 3).
"""

from __future__ import annotations

import pytest

from drafting.text import anchors
from workflows.comments import locate_quote

PAD = "Vorwort. " * 3_000  # > 20 000 characters: no fallback


@pytest.mark.parametrize(
    ("markdown", "quote", "passage"),
    [
        (
            "Die Stadt lebt vom **Handel** und vom *Wohnen*.",
            "vom Handel und vom Wohnen",
            "vom **Handel** und vom *Wohnen",
        ),
        (
            "Mehr auf der [Website der Stadt](https://stadt.example) lesen.",
            "Website der Stadt lesen",
            "Website der Stadt](https://stadt.example) lesen",
        ),
        ("Läden & Gastronomie &amp; Kultur", "Gastronomie & Kultur", "Gastronomie &amp; Kultur"),
        (
            "- Leerstand\n- Frequenz\n- Mischnutzung",
            "Frequenz Mischnutzung",
            "Frequenz\n- Mischnutzung",
        ),
        ("# Ziele\n\nMehr Leben", "Ziele Mehr Leben", "Ziele\n\nMehr Leben"),
        ("| A | B |\n|---|---:|\n| Handel | 45 % |", "Handel 45 %", "Handel | 45 %"),
        ("Preis \\*vorläufig\\* und fest", "*vorläufig* und fest", "vorläufig\\* und fest"),
        ("Zitat &quot;Innenstadt&quot; hier", '"Innenstadt" hier', "&quot;Innenstadt&quot; hier"),
        ("1. Erstens\n2. Zweitens", "Erstens Zweitens", "Erstens\n2. Zweitens"),
    ],
)
def test_a_rendered_selection_is_found_in_a_long_markdown(
    markdown: str, quote: str, passage: str
) -> None:
    text = PAD + "\n\n" + markdown
    anchor = locate_quote(text, quote)
    assert anchor is not None
    assert text[anchor[0] : anchor[1]] == passage


def test_a_quote_that_is_not_there_is_not_found() -> None:
    assert locate_quote(PAD + "\n\nDie Stadt lebt vom Handel.", "vom Tourismus") is None
    assert locate_quote(PAD, "") is None


def test_the_diff_between_two_versions_is_computed_once_and_kept_by_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str]] = []
    real = anchors.changed_ranges

    def counted(old: str, new: str) -> object:
        calls.append((old, new))
        return real(old, new)

    monkeypatch.setattr(anchors, "changed_ranges", counted)
    old, new = "Die Stadt lebt vom Handel.", "Die Stadt lebt vom Wohnen und vom Handel."
    first = anchors.changed_hunks(old, new + " ")
    assert anchors.changed_hunks(old, new + " ") == first
    assert len(calls) == 1
    at = new.index("Handel")
    assert anchors.move_anchor(19, 25, new + " ", old, hunks=first) == (at, at + 6)
    anchors.changed_hunks(new, old)  # another pair: computed anew
    assert len(calls) == 2
