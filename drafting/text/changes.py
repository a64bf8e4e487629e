"""A suggestion's changes, one per sentence, that editors accept or reject one by one.

The word diff of the base text and the suggested text (:func:`drafting.text.textdiff.diff_ops`,
exact flavour) gives hunks; hunks in the same sentence of the base are one change, as Word
shows a rewritten sentence as one revision. Each change is then trimmed to the words that
really differ, so its ``before``/``after`` are as short as the diff allows and the same
whichever way the differ aligned the words inside the sentence.

Applying any subset of the changes to the base gives a text whose changes against the base
are exactly that subset (tests/unit/test_changes.py checks it as a property).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

from drafting.text.textdiff import EQUAL, INSERT, diff_ops, tokenize

__all__ = ["Change", "apply", "changes", "tracked_html"]

Kind = Literal["insert", "delete", "replace"]

# A sentence ends after . ! ? or : followed by whitespace, and at every line break; the
# whitespace after it belongs to the sentence it ends.
_SENTENCE_END = re.compile(r"[.!?:]+[ \t]+|[ \t]*\n+")


@dataclass(frozen=True)
class Change:
    """One change of a suggestion: ``before`` at ``start``–``end`` of the base becomes ``after``."""

    id: int
    kind: Kind
    start: int
    end: int
    before: str
    after: str
    context: str

    def as_json(self) -> dict[str, object]:
        """Return the API's view of the change."""
        return {
            "id": self.id,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "context": self.context,
        }


def _sentence_starts(text: str) -> list[int]:
    starts = [0]
    for match in _SENTENCE_END.finditer(text):
        if 0 < match.end() < len(text):
            starts.append(match.end())
    return starts


def _sentence_of(starts: list[int], position: int) -> int:
    return bisect.bisect_right(starts, position) - 1


def changes(base: str, proposed: str) -> list[Change]:
    """Return the changes that turn ``base`` into ``proposed``, in text order, ids from 1."""
    if base == proposed:
        return []
    starts = _sentence_starts(base)
    # Hunks as (base start, base end, replacement), from the exact word diff.
    hunks: list[tuple[int, int, str]] = []
    position = 0
    for op, text in diff_ops(base, proposed, semantic=False):
        if op == EQUAL:
            position += len(text)
            continue
        if not hunks or hunks[-1][1] != position:
            hunks.append((position, position, ""))
        start, end, inserted = hunks[-1]
        if op == INSERT:
            hunks[-1] = (start, end, inserted + text)
        else:
            position += len(text)
            hunks[-1] = (start, position, inserted)
    # Group by sentence: a group covers whole sentences of the base.
    groups: list[list[tuple[int, int, str]]] = []
    spans: list[tuple[int, int]] = []
    for hunk in hunks:
        start, end, _ = hunk
        first = _sentence_of(starts, start)
        last = _sentence_of(starts, max(start, end - 1))
        if spans and first <= spans[-1][1]:
            groups[-1].append(hunk)
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            groups.append([hunk])
            spans.append((first, last))
    result: list[Change] = []
    for group, (first, last) in zip(groups, spans, strict=True):
        span_start = starts[first]
        span_end = starts[last + 1] if last + 1 < len(starts) else len(base)
        old = base[span_start:span_end]
        new_parts, cursor = [], span_start
        for start, end, inserted in group:
            new_parts += [base[cursor:start], inserted]
            cursor = end
        new_parts.append(base[cursor:span_end])
        new = "".join(new_parts)
        if old == new:
            continue
        before_start, before, after = _trim(old, new)
        start = span_start + before_start
        kind: Kind = "insert" if not before else "delete" if not after else "replace"
        result.append(Change(len(result) + 1, kind, start, start + len(before), before, after, old))
    return result


def _trim(old: str, new: str) -> tuple[int, str, str]:
    """Cut the tokens two texts share at their start and end; return offset, rest, rest."""
    a, b = tokenize(old), tokenize(new)
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    offset = sum(len(token) for token in a[:head])
    return offset, "".join(a[head : len(a) - tail]), "".join(b[head : len(b) - tail])


def apply(base: str, all_changes: Sequence[Change], accepted: Collection[int]) -> str:
    """Return ``base`` with exactly the accepted changes (by id) applied."""
    parts, cursor = [], 0
    for change in sorted(all_changes, key=lambda c: c.start):
        if change.id not in accepted:
            continue
        parts += [base[cursor : change.start], change.after]
        cursor = change.end
    parts.append(base[cursor:])
    return "".join(parts)


_PILCROW = Markup('<span class="diff-newline" aria-hidden="true">¶</span>\n')
_MARK = Markup(
    '<{tag}><span class="visually-hidden">[{label}: </span>{body}'
    '<span class="visually-hidden">]</span></{tag}>'
)
_CHANGE = Markup(
    '<span class="change change-{kind}{state}" id="{prefix}-{id}" data-change="{id}">'
    '<span class="change-number" aria-hidden="true">{id}</span>'
    '<span class="visually-hidden">{name} </span>{marks}</span>'
)


def _mark(tag: str, label: str, text: str) -> Markup:
    body = escape(text).replace("\n", _PILCROW)
    return _MARK.format(tag=tag, label=label, body=body)


def tracked_html(
    base: str,
    all_changes: Sequence[Change],
    *,
    deleted_label: str = "deleted",
    inserted_label: str = "inserted",
    change_label: str = "Change %(n)s:",
    prefix: str = "change",
    states: dict[int, str] | None = None,
) -> Markup:
    """Render ``base`` with every change shown inline as a tracked change, like Word does.

    Each change is a ``<span class="change" id="<prefix>-<id>">`` holding a ``<del>`` of
    the words it removes and an ``<ins>`` of the words it adds; each mark carries visually
    hidden text ("[deleted: …]") so that the change is announced and never shown by colour
    alone. ``states`` maps change ids to ``"accepted"`` or ``"rejected"`` (a CSS class).
    Render the result in an element styled ``white-space: pre-wrap``.
    """
    parts: list[Markup] = []
    cursor = 0
    for change in sorted(all_changes, key=lambda c: c.start):
        parts.append(escape(base[cursor : change.start]))
        marks = Markup("")
        if change.before:
            marks += _mark("del", deleted_label, change.before)
        if change.after:
            marks += _mark("ins", inserted_label, change.after)
        state = (states or {}).get(change.id)
        parts.append(
            _CHANGE.format(
                kind=change.kind,
                state=f" change-{state}" if state else "",
                prefix=prefix,
                id=change.id,
                name=change_label % {"n": change.id},
                marks=marks,
            )
        )
        cursor = change.end
    parts.append(escape(base[cursor:]))
    return Markup("").join(parts)
