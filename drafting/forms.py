"""Helpers shared by the blueprints' forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms select choices, labels translated now."""
    return [SelectChoice(value=str(value), label=str(label)) for value, label in pairs]
