"""Helpers shared by the blueprints' forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import render_template
from wtforms.fields.choices import SelectChoice

from drafting.text.quotes import unnest_quotes


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms select choices, labels translated now."""
    return [SelectChoice(value=str(value), label=str(label)) for value, label in pairs]


def confirmation(
    question: str, consequence: str, action: str, label: str, back: str, back_label: str
) -> str:
    """Render the page that asks before a destructive action (issue 15): the question, what
    happens, a button posting to ``action`` and a way ``back``. Reached by a plain link, so
    it works without JavaScript; the POST endpoint itself does the action."""
    return render_template(
        "confirm.html",
        question=unnest_quotes(question),
        consequence=consequence,
        action=action,
        label=label,
        back=back,
        back_label=back_label,
    )
