"""Status names are shown the same way everywhere: one label function per status enum, every
member named, capitalised in English and in the German catalogue (issue 15, item 8)."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale

from drafting.models import (
    EditionStatus,
    ExportStatus,
    PaperStatus,
    ReviewState,
    SignoffDecisionKind,
    SuggestionStatus,
)
from workflows import labels

ROOT = Path(__file__).resolve().parents[2]
DE_PO = ROOT / "drafting" / "translations" / "de" / "LC_MESSAGES" / "messages.po"

FUNCTIONS: list[tuple[type[enum.StrEnum], object]] = [
    (PaperStatus, labels.paper_status_label),
    (ReviewState, labels.review_state_label),
    (SuggestionStatus, labels.suggestion_status_label),
    (SignoffDecisionKind, labels.signoff_decision_label),
    (EditionStatus, labels.edition_status_label),
    (ExportStatus, labels.export_status_label),
]
PAPER_STATES_DE = ["Entwurf", "In Mitzeichnung", "Endfassung", "Archiviert"]


def _capitalised(text: str) -> bool:
    return bool(text) and text[0].isupper()


@pytest.mark.parametrize(("kind", "label"), FUNCTIONS, ids=[k.__name__ for k, _ in FUNCTIONS])
def test_every_state_has_a_capitalised_name_in_both_languages(
    app: Flask, kind: type[enum.StrEnum], label: object
) -> None:
    assert callable(label)
    with app.test_request_context():
        for locale in ("en", "de"):
            with force_locale(locale):
                names = [str(label(member)) for member in kind]
                # By member or by its stored value (templates pass either): the same name.
                assert names == [str(label(member.value)) for member in kind]
                assert all(_capitalised(name) for name in names), (locale, names)
                assert len(set(names)) == len(names), (locale, names)
        with force_locale("de"):
            german = [str(label(member)) for member in kind]
        with force_locale("en"):
            assert german != [str(label(member)) for member in kind], "untranslated"


def test_the_paper_states_read_as_the_glossary_has_them(app: Flask) -> None:
    with app.test_request_context(), force_locale("de"):
        assert [str(labels.paper_status_label(s)) for s in PaperStatus] == PAPER_STATES_DE
        assert str(labels.signoff_decision_label(None)) == "Offen"
        assert [str(labels.signoff_decision_label(d)) for d in SignoffDecisionKind] == [
            "Zustimmung",
            "Zustimmung mit Vorbehalt",
            "Ablehnung",
        ]


def test_the_catalogue_names_every_state_capitalised() -> None:
    """Scan the German catalogue: every msgid of a label table has a capitalised msgstr."""
    with DE_PO.open("rb") as handle:
        catalogue = read_po(handle, locale="de")
    names: list[Any] = [name for table in labels.ALL for name in table.values()]
    for value in [*names, labels.SIGNOFF_UNDECIDED]:
        context: tuple[str, ...] = tuple(getattr(value, "_args", ()))
        # lazy_gettext(msgid) or lazy_pgettext(context, msgid)
        ctx, msgid = (context[0], context[1]) if len(context) == 2 else (None, context[0])
        assert _capitalised(msgid), msgid
        message = catalogue.get(msgid, context=ctx)
        assert message is not None and isinstance(message.string, str), msgid
        assert _capitalised(message.string), (msgid, message.string)


def test_templates_name_states_only_through_the_label_functions() -> None:
    """No template looks states up in a table of its own or spells one out."""
    own_tables = re.compile(
        r"\b(STATUS|REVIEW_STATE|SUGGESTION|DECISION|EDITION|EXPORT)_LABELS\b|state_labels\["
    )
    spelled = re.compile(r"""_\(["'](open|draft|final|archived|in review|in sign-off)["']\)""")
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        if template.name == "show.html" and template.parent.name == "papers":
            # The paper page looks up its 300 review states in a table of the label function's
            # names, made once per page by its view (bench_paper_page.py).
            text = text.replace("state_labels[state]", "")
        assert not own_tables.search(text), template
        assert not spelled.search(text), template
