"""The canonical form of Markdown: what a text means, not how its formatting is spelt.

Two texts with the same canonical form show the same: the same blocks (paragraphs, list items
with their depth and kind, quotes, tables, rules) and, for every character, the same
formatting and link. List markers, emphasis markers, escaping, blank lines, table alignment
and bold table headers do not count. A Word import compares a section's text with the file's
text in this form, so formatting noise never becomes a suggestion.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

MD = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


Run = tuple[str, frozenset[str], str]  # text, marks, link target


def _inline(children: list[Token], *, header: bool = False) -> tuple[Run, ...]:
    """Characters with their formatting, merged into runs; spaces carry no marks."""
    chars: list[tuple[str, frozenset[str], str]] = []
    marks: set[str] = set()
    href = ""
    for tok in children:
        kind = tok.type
        if kind in ("strong_open", "em_open", "s_open"):
            marks.add(kind.split("_")[0])
        elif kind in ("strong_close", "em_close", "s_close"):
            marks.discard(kind.split("_")[0])
        elif kind == "link_open":
            href = str(tok.attrGet("href") or "")
        elif kind == "link_close":
            href = ""
        elif kind in ("text", "code_inline"):
            extra = {"code"} if kind == "code_inline" else set()
            for ch in tok.content:
                chars.append((ch, frozenset(marks | extra), href))
        elif kind == "softbreak":
            chars.append((" ", frozenset(), href))
        elif kind == "hardbreak":
            chars.append(("\n", frozenset(), href))
    runs: list[list[Any]] = []
    for ch, ch_marks, ch_href in chars:
        if ch.isspace():
            ch, ch_marks = (" " if ch != "\n" else "\n"), frozenset()
        if header:  # header cells are bold anyway; Word shows them bold either way
            ch_marks = ch_marks - {"strong"}
        if runs and runs[-1][1] == ch_marks and runs[-1][2] == ch_href:
            runs[-1][0] += ch
        else:
            runs.append([ch, ch_marks, ch_href])
    out = [(re.sub(r" +", " ", text), m, h) for text, m, h in runs]
    if out:
        out[0] = (out[0][0].lstrip(" "), out[0][1], out[0][2])
        out[-1] = (out[-1][0].rstrip(" "), out[-1][1], out[-1][2])
    return tuple(r for r in out if r[0])


def structure(markdown: str) -> list[tuple[Any, ...]]:
    """The structure of Markdown: blocks, list depth and kind, formatted runs."""
    blocks: list[tuple[Any, ...]] = []
    lists: list[bool] = []
    first_in_item: list[bool] = []
    quote = 0
    header = False
    rows: list[tuple[tuple[Run, ...], ...]] = []
    row: list[tuple[Run, ...]] = []
    in_cell = False
    for tok in MD.parse(markdown):
        kind = tok.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            first_in_item.append(True)
        elif kind == "list_item_close":
            first_in_item.pop()
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "thead_open":
            header = True
        elif kind == "thead_close":
            header = False
        elif kind == "table_open":
            rows = []
        elif kind == "table_close":
            blocks.append(("table", tuple(rows)))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            rows.append(tuple(row))
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "hr":
            blocks.append(("hr",))
        elif kind == "inline":
            runs = _inline(tok.children or [], header=header and in_cell)
            if in_cell:
                row.append(runs)
            elif lists and first_in_item and first_in_item[-1]:
                blocks.append(("item", len(lists), lists[-1], runs))
                first_in_item[-1] = False
            elif quote:
                blocks.append(("quote", runs))
            else:
                blocks.append(("p", runs))
    return blocks


def same(a: str, b: str) -> bool:
    """Tell whether two Markdown texts mean the same."""
    return a == b or structure(a) == structure(b)
