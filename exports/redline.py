"""Attribute the difference between two texts to the versions that made each change.

Walking the versions from the old text to the new one, every word keeps the version that
inserted it, and every word of the old text that disappears keeps the version that deleted
it. The result is a sequence of equal, inserted and deleted pieces, each with its author and
date, ready to become Word tracked changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import SequenceMatcher

from drafting.text.textdiff import tokenize
from exports.data import Change

EQUAL, INSERT, DELETE = 0, 1, -1


@dataclass(frozen=True)
class Piece:
    """A run of text that is unchanged, inserted or deleted, with who changed it."""

    op: int
    text: str
    change: Change | None = None


def _opcodes(a: Sequence[str], b: Sequence[str]) -> Sequence[tuple[str, int, int, int, int]]:
    return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def blame(
    old: str,
    new: str,
    history: Sequence[Change],
    text_of: Callable[[Change], str] = lambda c: c.body,
) -> list[Piece]:
    """Return the pieces that turn ``old`` into ``new``, attributed through ``history``.

    ``history`` lists the versions after ``old`` up to ``new`` (oldest first); ``text_of``
    picks the compared text of a change (body by default). When the last change's text is not
    ``new`` (or there is no history), the remainder is attributed to the last change.
    """
    old_tokens = tokenize(old)
    # Each current token: (text, origin) with origin ("old", index) or ("new", change).
    current: list[tuple[str, tuple[str, int] | tuple[str, Change]]] = [
        (tok, ("old", i)) for i, tok in enumerate(old_tokens)
    ]
    deleted_by: dict[int, Change | None] = {}
    steps = list(history)
    texts = [text_of(c) for c in steps]
    if not steps or texts[-1] != new:
        steps.append(
            steps[-1] if steps else Change(0, "", datetime(1970, 1, 1, tzinfo=UTC), "", new)
        )
        texts.append(new)
    for change, text in zip(steps, texts, strict=True):
        target = tokenize(text)
        source = [tok for tok, _origin in current]
        updated: list[tuple[str, tuple[str, int] | tuple[str, Change]]] = []
        for tag, i1, i2, j1, j2 in _opcodes(source, target):
            if tag == "equal":
                updated.extend(current[i1:i2])
                continue
            for _tok, origin in current[i1:i2]:
                if origin[0] == "old":
                    deleted_by[origin[1]] = change  # type: ignore[index]
            updated.extend((tok, ("new", change)) for tok in target[j1:j2])
        current = updated
    pieces: list[Piece] = []
    next_old = 0

    def flush_deleted(upto: int) -> None:
        nonlocal next_old
        while next_old < upto:
            if next_old in deleted_by:
                _add(pieces, DELETE, old_tokens[next_old], deleted_by[next_old])
            next_old += 1

    for tok, origin in current:
        if origin[0] == "old":
            index = origin[1]
            assert isinstance(index, int)
            flush_deleted(index)
            _add(pieces, EQUAL, tok, None)
            next_old = index + 1
        else:
            inserted_by = origin[1]
            assert isinstance(inserted_by, Change)
            _add(pieces, INSERT, tok, inserted_by)
    flush_deleted(len(old_tokens))
    return pieces


def _add(pieces: list[Piece], op: int, text: str, change: Change | None) -> None:
    if pieces and pieces[-1].op == op and pieces[-1].change == change:
        last = pieces[-1]
        pieces[-1] = Piece(op, last.text + text, change)
    else:
        pieces.append(Piece(op, text, change))
