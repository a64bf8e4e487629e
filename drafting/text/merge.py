"""Three-way merge of section texts with conflict detection of its own.

A save carries the version it started from. When others saved in the meantime, ``base`` is
that starting text, ``theirs`` the current text and ``mine`` the submitted one.

:func:`merge3` merges whole sentences. All three texts are cut into units
(:func:`drafting.text.sentences.segment`: a sentence or a table cell with the whitespace and
markup after it), and both sides are diffed against the base unit by unit. Each diff yields
hunks, ranges of base units it replaces. Hunks of the two sides that overlap form a conflict
region, as do two insertions at the same place and an insertion inside a range the other
side replaced; nothing in a conflict region is merged. All other hunks are applied to the
base in order, so every sentence of a merged text is the base's, theirs or mine — never a
mix of words of two people. Edits of different sentences of one paragraph still merge, an
insertion next to a sentence the other side changed merges too, and a change both sides
made the same way is taken once.

:func:`merge3_words` is the earlier merge at word level, kept for comparison (the benchmark
runs both) and for callers that want it. Its hunks come from the exact word diff
(:func:`drafting.text.textdiff.diff_ops` with ``semantic=False``); hunks ``[a, b)`` and
``[c, d)`` conflict when they overlap or touch (``b == c`` or ``d == a``). Word-level diffs
stay what people see: the conflict page highlights changed words inside each sentence.
There is no fuzzy patching: ``diff_match_patch.patch_apply`` would merge two edits of the
same words and report success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import fast_diff_match_patch

from drafting.text.sentences import CELL, MARKUP, SENTENCE, Unit, pieces
from drafting.text.textdiff import EQUAL, INSERT, diff_ops

Hunk = tuple[int, int, str]

THEIRS = "theirs"
YOURS = "yours"
EDITED = "edited"
PARAGRAPH = "paragraph"
UNIT_KINDS = (SENTENCE, CELL, PARAGRAPH)


@dataclass(frozen=True)
class Conflict:
    """A base region both sides changed differently, with each side's text for it."""

    base_start: int
    base_end: int
    base: str
    theirs: str
    yours: str
    unit: str = SENTENCE  # what the region holds: one "sentence", one "cell" or a "paragraph"


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


def merge3_words(base: str, theirs: str, mine: str) -> MergeResult:
    """Merge word by word: the merge before sentences were its unit (see the module text)."""
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


def resolve(
    result: MergeResult, choices: Mapping[int, str], texts: Mapping[int, str] | None = None
) -> str:
    """Build the combined text choosing 'theirs' or 'yours' per conflict index (default 'theirs').

    With ``texts``, the choice ``'edited'`` takes that conflict's own text from there.

    :raises ValueError: for an unknown conflict index or a choice other than the two sides
        (or 'edited' with a text).
    """
    count = len(result.conflicts)
    texts = texts or {}
    for key, choice in choices.items():
        if not 0 <= key < count:
            raise ValueError(f"no conflict with index {key}")
        if choice == EDITED and key in texts:
            continue
        if choice not in (THEIRS, YOURS):
            raise ValueError(f"choice must be {THEIRS!r} or {YOURS!r}, not {choice!r}")
    parts: list[str] = []
    index = 0
    for chunk in result.chunks:
        if chunk.conflict is None:
            parts.append(chunk.text or "")
            continue
        choice = choices.get(index, THEIRS)
        if choice == EDITED:
            parts.append(texts[index])
        else:
            parts.append(chunk.conflict.yours if choice == YOURS else chunk.conflict.theirs)
        index += 1
    return "".join(parts)


# --- sentence-level merge -------------------------------------------------------------

UnitHunk = tuple[int, int, tuple[str, ...]]
_WORDS_RE = re.compile(r"\w+")


def _unit_hunks(
    base: list[Unit], other: list[Unit], codes: dict[tuple[str, str], str]
) -> list[UnitHunk]:
    """List the (start, end, replacement pieces) ranges of base pieces that other replaces."""

    def encode(units: list[Unit]) -> str:
        out = []
        for unit in units:
            key = (unit.kind, unit.text)
            code = codes.get(key)
            if code is None:
                if len(codes) >= 0xFFFE:
                    raise OverflowError("too many distinct sentences")
                code = codes[key] = chr(0xF0000 + len(codes))
            out.append(code)
        return "".join(out)

    # Sentences and cells are matched first, the markup between them only then: matching
    # spaces first could pair a kept sentence with an edited one.
    a_content = [i for i, unit in enumerate(base) if unit.kind != MARKUP]
    b_content = [i for i, unit in enumerate(other) if unit.kind != MARKUP]
    a_codes, b_codes = encode(base), encode(other)
    if a_codes == b_codes:
        return []
    ops = fast_diff_match_patch.diff(
        "".join(a_codes[i] for i in a_content),
        "".join(b_codes[i] for i in b_content),
        counts_only=True,
        cleanup="No",
        checklines=False,
    )
    anchors: list[tuple[int, int]] = []
    x = y = 0
    for op, count in ops:
        if op == "=":
            anchors += zip(a_content[x : x + count], b_content[y : y + count], strict=True)
        x += count if op != "+" else 0
        y += count if op != "-" else 0
    anchors.append((len(base), len(other)))
    texts = [unit.text for unit in other]
    hunks: list[UnitHunk] = []
    a_from = b_from = 0
    for a_at, b_at in anchors:
        # Trim equal pieces at both ends of the stretch between two matched sentences.
        while a_from < a_at and b_from < b_at and a_codes[a_from] == b_codes[b_from]:
            a_from += 1
            b_from += 1
        a_to, b_to = a_at, b_at
        while a_to > a_from and b_to > b_from and a_codes[a_to - 1] == b_codes[b_to - 1]:
            a_to -= 1
            b_to -= 1
        if a_from < a_to or b_from < b_to:
            hunks.append((a_from, a_to, tuple(texts[b_from:b_to])))
        a_from, b_from = a_at + 1, b_at + 1
    base_texts = [unit.text for unit in base]
    kinds = {unit.text: unit.kind for unit in (*base, *other)}
    return [
        piece for hunk in hunks for piece in _split(base_texts, _slide(base_texts, hunk), kinds)
    ]


def _slide(base: list[str], hunk: UnitHunk) -> UnitHunk:
    """Move a pure insertion or deletion as far left as it goes, the same way on both sides.

    Deleting "B." from "A. B. C." may remove " B." or "B. "; slid left, both sides that
    deleted it report the same hunk, and it never starts in the middle of a later edit.
    """
    start, end, replacement = hunk
    if start == end and replacement:
        items = list(replacement)
        while start > 0 and base[start - 1] == items[-1]:
            items = [items[-1], *items[:-1]]
            start -= 1
        return start, start, tuple(items)
    if not replacement:
        while start > 0 and base[start - 1] == base[end - 1]:
            start -= 1
            end -= 1
        return start, end, ()
    return hunk


def _similar(a: str, b: str, *, part: bool = False) -> bool:
    """Tell whether two sentences share half of their words (one is an edit of the other).

    With ``part``, half of the words of the shorter one suffice (it may be part of the other).
    """
    words_a, words_b = set(_WORDS_RE.findall(a.lower())), set(_WORDS_RE.findall(b.lower()))
    measure = min if part else max
    return len(words_a & words_b) * 2 >= max(measure(len(words_a), len(words_b)), 1)


def _pairs(a: str, b: str, kinds: Mapping[str, str]) -> bool:
    if (kinds.get(a) == MARKUP) != (kinds.get(b) == MARKUP):
        return False
    return kinds.get(a) == MARKUP or _similar(a, b)


def _joined_or_split(old: Sequence[str], new: Sequence[str], kinds: Mapping[str, str]) -> bool:
    """Tell whether a sentence of one side is an edit of two of the other (joined or split).

    A sentence counts as taking part in another when it shares half of its words with it,
    and half of the words that none of its neighbours in the hunk has.
    """
    old = [text for text in old if kinds.get(text) != MARKUP]
    new = [text for text in new if kinds.get(text) != MARKUP]
    if len(old) * len(new) > 400:
        return True

    def parts(many: list[str], one: str) -> int:
        words = [set(_WORDS_RE.findall(text.lower())) for text in many]
        target = set(_WORDS_RE.findall(one.lower()))
        found = 0
        for index, own in enumerate(words):
            others = set().union(*(w for i, w in enumerate(words) if i != index))
            unique = own - others
            if _similar(many[index], one, part=True) and len(unique & target) * 2 >= len(unique):
                found += 1
        return found

    return any(parts(old, text) > 1 for text in new) or any(parts(new, text) > 1 for text in old)


def _split(base: list[str], hunk: UnitHunk, kinds: Mapping[str, str]) -> list[UnitHunk]:
    """Cut a hunk into one hunk per edited sentence where the sentences pair up.

    A diff joins neighbouring changes into one hunk: "sentence 2 edited and a sentence added
    after it" replaces one sentence by two and the space between them. Paired from either
    end with the base sentence it is an edit of, each edited sentence becomes a hunk of its
    own, so that the other side's identical edit of sentence 2 is taken once and an edit of
    sentence 3 is not held up. Where one sentence became two, or two one, the hunk stays
    whole: a conflict with it covers the paragraph.
    """
    start, end, replacement = hunk
    count = min(end - start, len(replacement))
    if count == 0:
        return [hunk]
    if end - start != len(replacement) and _joined_or_split(base[start:end], replacement, kinds):
        return [hunk]
    head = 0
    while head < count and _pairs(base[start + head], replacement[head], kinds):
        head += 1
    tail = 0
    while tail < count - head and _pairs(base[end - 1 - tail], replacement[-1 - tail], kinds):
        tail += 1
    if not head and not tail:
        return [hunk]
    pieces: list[UnitHunk] = [(start + i, start + i + 1, (replacement[i],)) for i in range(head)]
    middle_start, middle_end = start + head, end - tail
    middle = replacement[head : len(replacement) - tail]
    if middle_start < middle_end or middle:
        pieces.append((middle_start, middle_end, middle))
    pieces += [
        (end - tail + i, end - tail + i + 1, (replacement[len(replacement) - tail + i],))
        for i in range(tail)
    ]
    return [piece for piece in pieces if base[piece[0] : piece[1]] != list(piece[2])]


def _apply_units(base: list[str], start: int, end: int, hunks: Sequence[UnitHunk]) -> list[str]:
    parts: list[str] = []
    position = start
    for hunk_start, hunk_end, replacement in hunks:
        parts += base[position:hunk_start]
        parts += replacement
        position = hunk_end
    parts += base[position:end]
    return parts


def _kind(sides: Sequence[Sequence[str]], kinds: Mapping[str, str]) -> str:
    """Name what a conflict region holds: one sentence, one cell, or more (a paragraph)."""
    found = set()
    for texts in sides:
        content = [kinds.get(text, SENTENCE) for text in texts if kinds.get(text) != MARKUP]
        if len(content) > 1:
            return PARAGRAPH
        found.update(content)
    return found.pop() if len(found) == 1 else (PARAGRAPH if found else SENTENCE)


def merge3(base: str, theirs: str, mine: str) -> MergeResult:
    """Merge the changes base→mine into theirs sentence by sentence (see the module text).

    Where both sides changed the same sentence or table cell differently (or one changed
    and the other deleted it), the whole sentence is a conflict.
    """
    if mine == base or theirs == mine:
        return _settled(theirs)
    if theirs == base:
        return _settled(mine)
    base_units, theirs_units, mine_units = pieces(base), pieces(theirs), pieces(mine)
    codes: dict[tuple[str, str], str] = {}
    try:
        theirs_hunks = _unit_hunks(base_units, theirs_units, codes)
        mine_hunks = _unit_hunks(base_units, mine_units, codes)
    except OverflowError:  # pragma: no cover - over 65,000 distinct sentences
        return merge3_words(base, theirs, mine)
    b = [unit.text for unit in base_units]
    kinds = {unit.text: unit.kind for unit in (*base_units, *theirs_units, *mine_units)}
    starts = [unit.start for unit in base_units] + [len(base)]
    # Sort by start, insertions (empty ranges) before replacements at the same place.
    tagged = sorted(
        [(s, e, r, 0) for s, e, r in theirs_hunks] + [(s, e, r, 1) for s, e, r in mine_hunks],
        key=lambda hunk: (hunk[0], hunk[1], hunk[3]),
    )
    chunks: list[Chunk] = []
    settled: list[str] = []
    position = 0
    index = 0
    while index < len(tagged):
        region_start, region_end = tagged[index][0], tagged[index][1]
        sides: tuple[list[UnitHunk], list[UnitHunk]] = ([], [])
        insertion_at_end = False
        while index < len(tagged):
            start, end, replacement, side = tagged[index]
            joins = start < region_end or (start == end == region_end and insertion_at_end)
            if (sides[0] or sides[1]) and not joins:
                break
            sides[side].append((start, end, replacement))
            if end >= region_end:
                insertion_at_end = start == end or (end == region_end and insertion_at_end)
            region_end = max(region_end, end)
            index += 1
        settled += b[position:region_start]
        position = region_end
        theirs_part = _apply_units(b, region_start, region_end, sides[0])
        mine_part = _apply_units(b, region_start, region_end, sides[1])
        theirs_text, mine_text = "".join(theirs_part), "".join(mine_part)
        if not sides[0] or not sides[1] or theirs_text == mine_text:
            settled.append(mine_text if not sides[0] else theirs_text)
            continue
        if not any(hunk[2] for hunk in (*sides[0], *sides[1])):
            # Only deletions (of neighbouring sentences, sharing the space between them).
            gone = {i for hunk in (*sides[0], *sides[1]) for i in range(hunk[0], hunk[1])}
            settled += [b[i] for i in range(region_start, region_end) if i not in gone]
            # Each side took one space with each sentence; both wanted the one between them.
            deficit = sum(1 if kinds.get(b[i]) == MARKUP else -1 for i in gone)
            next_start = tagged[index][0] if index < len(tagged) else len(b) + 1
            if deficit < 0 and region_end < len(b) and next_start > region_end:
                if not b[region_end].strip() and (region_start == 0 or "\n" in b[region_start - 1]):
                    position = region_end + 1
            continue
        _flush(settled, chunks)
        conflict = Conflict(
            base_start=starts[region_start],
            base_end=starts[region_end],
            base="".join(b[region_start:region_end]),
            theirs=theirs_text,
            yours=mine_text,
            unit=_kind([b[region_start:region_end], theirs_part, mine_part], kinds),
        )
        chunks.append(Chunk(text=None, conflict=conflict))
    settled += b[position:]
    _flush(settled, chunks)
    return MergeResult(chunks=tuple(chunks))
