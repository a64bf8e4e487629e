"""Quotation marks inside quotation marks.

A message that quotes a title which has its own quotes would read „Konzeption „Lebendige
Innenstädte““. :func:`unnest_quotes` turns the inner pair into single quotes, as German and
English typography want: „Konzeption ‚Lebendige Innenstädte‘“ and “Plan ‘Mitte’”.
"""

from __future__ import annotations

__all__ = ["unnest_quotes"]

# (opening, closing, inner opening, inner closing)
_GERMAN = ("„", "“", "‚", "‘")
_ENGLISH = ("“", "”", "‘", "’")


def unnest_quotes(text: str) -> str:
    """Replace quotation marks nested inside others by single ones; leave the rest alone."""
    style = _GERMAN if "„" in text else _ENGLISH
    opening, closing, inner_opening, inner_closing = style
    if text.count(opening) < 2:
        return text
    out: list[str] = []
    depth = 0
    for char in text:
        if char == opening:
            out.append(inner_opening if depth >= 1 else char)
            depth += 1
        elif char == closing and depth:
            depth -= 1
            out.append(inner_closing if depth >= 1 else char)
        else:
            out.append(char)
    return "".join(out)
