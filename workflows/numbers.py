"""Whole numbers from outside — forms, JSON, query strings — that the database can hold."""

from __future__ import annotations

from typing import Any, Final

MAX_INT: Final = 2**31 - 1  # ids, version numbers, levels: PostgreSQL `integer` columns


def to_int(value: Any) -> int:
    """Convert like ``int()``, refusing what no integer column can hold (ASVS V5.1.3).

    :raises ValueError: for text that is no whole number, infinity, or a number beyond
        ``±MAX_INT``.
    :raises TypeError: for values ``int()`` refuses by type (``None``, lists).
    """
    try:
        number = int(value)
    except OverflowError:  # int(float("inf"))
        raise ValueError(f"{value!r} is out of range") from None
    if not -MAX_INT <= number <= MAX_INT:
        raise ValueError("the number is out of range")
    return number
