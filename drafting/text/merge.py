"""Three-way merge of section texts with conflict detection of its own.

A save carries the version it started from. When others saved in the meantime, ``base`` is
that starting text, ``theirs`` the current text and ``mine`` the submitted one. Both sides
are diffed against the base word by word (:func:`drafting.text.textdiff.diff_ops` with
``semantic=False``: the exact diff, which reports an edit both sides made the same way in
both); each diff yields hunks, ranges of the base it replaces. Hunks of the two sides that
overlap or touch form a conflict region, and nothing in it is merged; all other hunks are
applied to the base in order. There is no fuzzy patching: ``diff_match_patch.patch_apply``
would merge two edits of the same words and report success.

Touching: hunks ``[a, b)`` and ``[c, d)`` conflict when they overlap or ``b == c`` or
``d == a``; so two insertions at the same place conflict, and so does an insertion at
either edge of a range the other side replaced. Edits of neighbouring words do not touch:
at least the whitespace or punctuation token between them is left alone. A word inserted
between two words, or deleted with its space, takes the space before it (``" neu"``), so it
touches an edit of the word before it, not of the word after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drafting.text.textdiff import EQUAL, INSERT, diff_ops

Hunk = tuple[int, int, str]

THEIRS = "theirs"
YOURS = "yours"


@dataclass(frozen=True)
class Conflict:
    """A base region both sides changed differently, with each side's text for it."""

    base_start: int
    base_end: int
    base: str
    theirs: str
    yours: str


@dataclass(frozen=True)
class Chunk:
    """A piece of a merge: settled text, or a conflict."""

    text: str | None
    conflict: Conflict | None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.conflict is None):
            raise ValueError("a chunk holds either text or a conflict")


@dataclass(frozen=True)
class MergeResult:
    """A merge as a sequence of settled and conflicting chunks."""

    chunks: tuple[Chunk, ...]

    @property
    def conflicts(self) -> list[Conflict]:
        """List the conflicts in text order; their positions are the indices for resolve()."""
        return [chunk.conflict for chunk in self.chunks if chunk.conflict is not None]

    @property
    def clean(self) -> bool:
        """Tell whether the merge has no conflicts."""
        return all(chunk.conflict is None for chunk in self.chunks)

    @property
    def text(self) -> str:
        """Return the merged text.

        :raises ValueError: if the merge has conflicts.
        """
        if not self.clean:
            raise ValueError("merge has conflicts; use resolve()")
        return "".join(chunk.text or "" for chunk in self.chunks)


def changed_ranges(base: str, other: str) -> list[Hunk]:
    """List the (base_start, base_end, replacement) ranges in which other differs from base."""
    hunks: list[Hunk] = []
    position = 0
    start: int | None = None
    replacement: list[str] = []
    for op, text in diff_ops(base, other, semantic=False):
        if op == EQUAL:
            if start is not None:
                hunks.append((start, position, "".join(replacement)))
                start = None
                replacement = []
            position += len(text)
            continue
        if start is None:
            start = position
        if op == INSERT:
            replacement.append(text)
        else:
            position += len(text)
    if start is not None:
        hunks.append((start, position, "".join(replacement)))
    return hunks


def _apply(base: str, start: int, end: int, hunks: Sequence[Hunk]) -> str:
    """Apply sorted, disjoint hunks inside base[start:end] and return that region's new text."""
    parts: list[str] = []
    position = start
    for hunk_start, hunk_end, replacement in hunks:
        parts.append(base[position:hunk_start])
        parts.append(replacement)
        position = hunk_end
    parts.append(base[position:end])
    return "".join(parts)


def _settled(text: str) -> MergeResult:
    return MergeResult(chunks=(Chunk(text=text, conflict=None),) if text else ())


def merge3(base: str, theirs: str, mine: str) -> MergeResult:
    """Merge the changes base→mine into theirs, reporting overlapping changes as conflicts."""
    if mine == base or theirs == mine:
        return _settled(theirs)
    if theirs == base:
        return _settled(mine)

    # Sort by start; on ties the side does not matter, a cluster only grows.
    tagged = sorted(
        [(s, e, r, 0) for s, e, r in changed_ranges(base, theirs)]
        + [(s, e, r, 1) for s, e, r in changed_ranges(base, mine)]
    )
    chunks: list[Chunk] = []
    settled: list[str] = []
    position = 0
    index = 0
    while index < len(tagged):
        region_start, region_end = tagged[index][0], tagged[index][1]
        sides: tuple[list[Hunk], list[Hunk]] = ([], [])
        # Gather every hunk that overlaps or touches the region so far (start <= region_end
        # covers both, including empty insertion hunks at either edge).
        while index < len(tagged) and tagged[index][0] <= region_end:
            start, end, replacement, side = tagged[index]
            sides[side].append((start, end, replacement))
            region_end = max(region_end, end)
            index += 1
        settled.append(base[position:region_start])
        position = region_end
        theirs_text = _apply(base, region_start, region_end, sides[0])
        mine_text = _apply(base, region_start, region_end, sides[1])
        # One side alone, or both made the same change: settled.
        if not sides[0] or not sides[1] or theirs_text == mine_text:
            settled.append(mine_text if not sides[0] else theirs_text)
            continue
        _flush(settled, chunks)
        conflict = Conflict(
            base_start=region_start,
            base_end=region_end,
            base=base[region_start:region_end],
            theirs=theirs_text,
            yours=mine_text,
        )
        chunks.append(Chunk(text=None, conflict=conflict))
    settled.append(base[position:])
    _flush(settled, chunks)
    return MergeResult(chunks=tuple(chunks))


def _flush(settled: list[str], chunks: list[Chunk]) -> None:
    text = "".join(settled)
    settled.clear()
    if text:
        chunks.append(Chunk(text=text, conflict=None))


def resolve(result: MergeResult, choices: Mapping[int, str]) -> str:
    """Build the combined text choosing 'theirs' or 'yours' per conflict index (default 'theirs').

    :raises ValueError: for an unknown conflict index or a choice other than the two sides.
    """
    count = len(result.conflicts)
    for key, choice in choices.items():
        if not 0 <= key < count:
            raise ValueError(f"no conflict with index {key}")
        if choice not in (THEIRS, YOURS):
            raise ValueError(f"choice must be {THEIRS!r} or {YOURS!r}, not {choice!r}")
    parts: list[str] = []
    index = 0
    for chunk in result.chunks:
        if chunk.conflict is None:
            parts.append(chunk.text or "")
            continue
        choice = choices.get(index, THEIRS)
        parts.append(chunk.conflict.yours if choice == YOURS else chunk.conflict.theirs)
        index += 1
    return "".join(parts)
