"""Heading numbers (1, 1.1, 1.1.1) from the ordered levels of a paper's sections."""

from __future__ import annotations

from collections.abc import Iterable


def heading_numbers(levels: Iterable[int]) -> list[str]:
    """Number headings by level, restarting deeper counters after a shallower heading."""
    counters = [0, 0, 0]
    numbers: list[str] = []
    for level in levels:
        depth = min(max(int(level), 1), 3)
        counters[depth - 1] += 1
        for deeper in range(depth, 3):
            counters[deeper] = 0
        numbers.append(".".join(str(c) for c in counters[:depth]))
    return numbers
