"""Word-level diffs of section texts, and their HTML renderings for history and review pages.

The diff runs on tokens, not characters: both texts are cut into words, single whitespace
characters and single punctuation characters (:func:`tokenize`), every distinct token is
replaced by one stand-in character, and the short strings are diffed by the C++ port of
diff-match-patch (``fast_diff_match_patch``). Every operation covers whole tokens, so a
changed word is always shown, and merged (see :mod:`drafting.text.merge`), whole.

Two flavours: the default one, for people, runs the semantic cleanup; the exact one
(``semantic=False``), for the merge and for mapping positions, keeps every unchanged token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import fast_diff_match_patch
from diff_match_patch import diff_match_patch
from markupsafe import Markup, escape

DELETE = -1
EQUAL = 0
INSERT = 1

Op = tuple[int, str]

# Soft hyphens and combining accents (text pasted from Word, decomposed umlauts) belong to
# the word around them; every other character that is neither a word character nor
# whitespace is a token of its own.
_WORD = r"[\w\u00ad\u0300-\u036f]+"
_TOKEN_RE = re.compile(rf"{_WORD}|\s|[^\w\s\u00ad\u0300-\u036f]")
_WORD_RE = re.compile(_WORD)

# Stand-ins come from the private-use planes: neither alphanumeric nor whitespace in any
# locale, so the C++ cleanup (which asks the C library) scores boundaries the same everywhere.
# It then sees every token as punctuation, and ASCII whitespace (which stands for itself) as
# whitespace and line breaks: edits settle next to spaces and paragraph breaks.
_CODE_RANGES: tuple[tuple[int, int], ...] = (
    (0xE000, 0xF900),
    (0xF0000, 0xFFFFE),
    (0x100000, 0x10FFFE),
)
_SELF_CODED = frozenset(" \t\n\r\f\v")

# Time budget of one diff. Past it, what is left is reported as replaced: a coarser diff,
# still exact. Typical 50 KB texts need a tenth of it; two unrelated ones would need seconds.
_TIME_LIMIT_SECONDS = 0.2

_OP_CODES = {"=": EQUAL, "-": DELETE, "+": INSERT}
_DMP = diff_match_patch()  # for its lossless cleanup only; the diffing is done in C++
_DEL = Markup(
    '<del><span class="visually-hidden">[{label}: </span>{body}'
    '<span class="visually-hidden">]</span></del>'
)
_INS = Markup(
    '<ins><span class="visually-hidden">[{label}: </span>{body}'
    '<span class="visually-hidden">]</span></ins>'
)
_NEWLINE_MARK = Markup('<span class="diff-newline" aria-hidden="true">¶</span>\n')


class _VocabularyFull(Exception):
    """More distinct tokens than there are stand-in characters."""


def tokenize(text: str) -> list[str]:
    """Split text into word, whitespace and punctuation tokens that join back to the text."""
    return _TOKEN_RE.findall(text)


def _code(index: int) -> str:
    for low, high in _CODE_RANGES:
        if index < high - low:
            return chr(low + index)
        index -= high - low
    raise _VocabularyFull


class _Codec:
    """Map each distinct token to one stand-in character and back."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {token: token for token in _SELF_CODED}
        self._tokens: dict[str, str] = {}
        self.word_codes: set[str] = set()

    def encode(self, text: str) -> str:
        codes = self._codes
        out = []
        for token in tokenize(text):
            code = codes.get(token)
            if code is None:
                code = codes[token] = _code(len(self._tokens))
                self._tokens[code] = token
                if _WORD_RE.match(token):
                    self.word_codes.add(code)
            out.append(code)
        return "".join(out)

    def decode(self, encoded: str) -> str:
        tokens = self._tokens
        return "".join([tokens.get(code, code) for code in encoded])


def _normalize(ops: Iterable[Op]) -> list[Op]:
    """Drop empty operations; between equalities, put one deletion before one insertion."""
    result: list[Op] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        if deleted:
            result.append((DELETE, "".join(deleted)))
        if inserted:
            result.append((INSERT, "".join(inserted)))
        deleted.clear()
        inserted.clear()

    for op, text in ops:
        if not text:
            continue
        if op == DELETE:
            deleted.append(text)
        elif op == INSERT:
            inserted.append(text)
        else:
            flush()
            if result and result[-1][0] == EQUAL:
                result[-1] = (EQUAL, result[-1][1] + text)
            else:
                result.append((EQUAL, text))
    flush()
    return result


def _fast_diff(a: str, b: str, cleanup: str, deadline: float) -> list[Op]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return [(DELETE, a), (INSERT, b)]
    pairs = fast_diff_match_patch.diff(
        a,
        b,
        counts_only=False,
        cleanup=cleanup,
        checklines=False,  # no line-mode shortcut: the token strings are short already
        timelimit=remaining,
    )
    return [(_OP_CODES[op], text) for op, text in pairs]


def _slide(ops: list[Op]) -> list[Op]:
    """Slide each lone insertion or deletion to its best-scoring place between tokens."""
    ops = _normalize(ops)
    # Equal edits then land at the same place in any diff, whatever surrounds them.
    _DMP.diff_cleanupSemanticLossless(ops)
    return _normalize(ops)


def _words_first(a: str, b: str, word_codes: set[str], deadline: float) -> list[Op]:
    """Diff encoded texts matching their words first, then the tokens between matched words."""
    a_words = [i for i, code in enumerate(a) if code in word_codes]
    b_words = [i for i, code in enumerate(b) if code in word_codes]
    a_text, b_text = "".join(a[i] for i in a_words), "".join(b[i] for i in b_words)
    word_ops = _fast_diff(a_text, b_text, "No", deadline)
    anchors: list[tuple[int, int]] = []
    x = y = 0
    for op, text in word_ops:
        if op == EQUAL:
            anchors += zip(a_words[x : x + len(text)], b_words[y : y + len(text)], strict=True)
        x += len(text) if op != INSERT else 0
        y += len(text) if op != DELETE else 0
    anchors.append((len(a), len(b)))
    ops: list[Op] = []
    a_from = b_from = 0
    for a_at, b_at in anchors:
        a_gap, b_gap = a[a_from:a_at], b[b_from:b_at]
        ops += [(EQUAL, a_gap)] if a_gap == b_gap else _fast_diff(a_gap, b_gap, "No", deadline)
        ops.append((EQUAL, a[a_at : a_at + 1]))
        a_from, b_from = a_at + 1, b_at + 1
    return ops


def _anchored_diff(a: str, b: str, word_codes: set[str], deadline: float) -> list[Op]:
    """Diff encoded texts so that words are matched with words, never with spaces.

    A plain shortest diff may as well match a space as a word. Between a word kept and a
    word replaced, that choice decides which base words a hunk covers, and a merge would then
    weigh a hunk against the wrong words. So units, each a word with the separators after
    it, are matched first (among repeated words this prefers the one followed by the same
    punctuation); in the stretches between matched units, words are matched next, and only
    then the whitespace and punctuation between those.
    """
    unit_codes: dict[str, str] = {}

    def units(text: str) -> tuple[str, list[int]]:
        bounds = [0] + [i for i, code in enumerate(text) if code in word_codes and i] + [len(text)]
        if not text:
            bounds = [0]
        codes = []
        for start, end in zip(bounds, bounds[1:], strict=False):
            unit = text[start:end]
            code = unit_codes.get(unit)
            if code is None:
                code = unit_codes[unit] = _code(len(unit_codes))
            codes.append(code)
        return "".join(codes), bounds

    a_units, a_bounds = units(a)
    b_units, b_bounds = units(b)
    ops: list[Op] = []
    x = y = 0  # units of a and b passed
    a_from = b_from = 0  # start of the stretch not matched yet
    for op, text in _fast_diff(a_units, b_units, "No", deadline):
        if op == EQUAL:
            a_at, b_at = a_bounds[x], b_bounds[y]
            if a_from < a_at or b_from < b_at:
                ops += _words_first(a[a_from:a_at], b[b_from:b_at], word_codes, deadline)
            x += len(text)
            y += len(text)
            a_from, b_from = a_bounds[x], b_bounds[y]
            ops.append((EQUAL, a[a_at:a_from]))
        elif op == DELETE:
            x += len(text)
        else:
            y += len(text)
    if a_from < len(a) or b_from < len(b):
        ops += _words_first(a[a_from:], b[b_from:], word_codes, deadline)
    return _slide(ops)


def diff_ops(a: str, b: str, *, semantic: bool = True) -> list[Op]:
    """Diff two texts word by word into (-1 delete / 0 equal / 1 insert, text) operations.

    The default is for people to read: the semantic cleanup folds short unchanged stretches
    between changes into the changes. ``semantic=False`` gives the exact diff the merge
    needs: words are matched first, then the whitespace and punctuation between them, and
    an edit that two diffs share is reported the same way in both.
    """
    if a == b:
        return [(EQUAL, a)] if a else []
    deadline = time.monotonic() + _TIME_LIMIT_SECONDS
    codec = _Codec()
    try:
        encoded_a, encoded_b = codec.encode(a), codec.encode(b)
        if semantic:
            # One character is one token: the cleanup counts tokens and never splits a word.
            ops = _normalize(_fast_diff(encoded_a, encoded_b, "Semantic", deadline))
        else:
            ops = _anchored_diff(encoded_a, encoded_b, codec.word_codes, deadline)
    except _VocabularyFull:
        # Over 137,000 distinct tokens: a character diff is still exact, only harder to read.
        ops = _fast_diff(a, b, "Semantic" if semantic else "No", deadline)
        return _normalize(ops) if semantic else _slide(ops)
    return [(op, codec.decode(text)) for op, text in ops]


def diff_stats(ops: Iterable[Op]) -> tuple[int, int]:
    """Count the inserted and the deleted words of a diff."""
    inserted = deleted = 0
    for op, text in ops:
        if op == INSERT:
            inserted += len(_WORD_RE.findall(text))
        elif op == DELETE:
            deleted += len(_WORD_RE.findall(text))
    return inserted, deleted


def _marked(template: Markup, label: str, text: str, *, newline_marks: bool) -> Markup:
    body = escape(text)
    if newline_marks:
        # An inserted or deleted line break is otherwise invisible.
        body = body.replace("\n", _NEWLINE_MARK)
    return template.format(label=label, body=body)


def _render(
    ops: Iterable[Op], deleted_label: str, inserted_label: str, *, newline_marks: bool
) -> Markup:
    parts: list[Markup] = []
    for op, text in ops:
        if not text:
            continue
        if op == EQUAL:
            parts.append(escape(text))
        elif op == DELETE:
            parts.append(_marked(_DEL, deleted_label, text, newline_marks=newline_marks))
        else:
            parts.append(_marked(_INS, inserted_label, text, newline_marks=newline_marks))
    return Markup("").join(parts)


def inline_html(
    ops: Iterable[Op], *, deleted_label: str = "deleted", inserted_label: str = "inserted"
) -> Markup:
    """Render a diff as escaped text with ``<del>`` and ``<ins>`` marks.

    Line breaks stay literal ``\\n`` characters: render the result inside
    ``<pre class="diff">`` (styled ``white-space: pre-wrap``). Inserted or deleted line
    breaks get a visible, ``aria-hidden`` pilcrow. Each mark carries visually hidden text
    "[<label>: … ]" for screen readers; pass translated labels from the view.
    """
    return _render(ops, deleted_label, inserted_label, newline_marks=True)


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side diff; a number is None where that side has no line."""

    left: Markup
    right: Markup
    changed: bool
    left_number: int | None = None
    right_number: int | None = None


def _split_lines(ops: Iterable[Op], keep: int) -> list[list[Op]]:
    """Cut the equal and the ``keep`` operations of a diff into lines of operations."""
    lines: list[list[Op]] = [[]]
    for op, text in ops:
        if op != EQUAL and op != keep:
            continue
        first, *rest = text.split("\n")
        if first:
            lines[-1].append((op, first))
        for part in rest:
            lines.append([(op, part)] if part else [])
    return lines


def _line_text(line: Sequence[Op]) -> str:
    return "".join(text for _, text in line)


def side_by_side(
    ops: Sequence[Op], *, deleted_label: str = "deleted", inserted_label: str = "inserted"
) -> list[Row]:
    """Pair the lines of the old and the new text, marking changed words inside changed lines.

    Unchanged lines are paired with each other; within a changed stretch the old and the new
    lines are paired in order and the side with fewer lines is padded with empty cells.
    """
    if not ops:
        return []
    old_lines = _split_lines(ops, DELETE)
    new_lines = _split_lines(ops, INSERT)
    old_texts = [_line_text(line) for line in old_lines]
    new_texts = [_line_text(line) for line in new_lines]

    # Pair lines with a diff of the line sequences, each distinct line one character.
    line_codes: dict[str, str] = {}

    def encode(texts: list[str]) -> str:
        for text in texts:
            if text not in line_codes:
                line_codes[text] = _code(len(line_codes))
        return "".join([line_codes[text] for text in texts])

    try:
        old_encoded, new_encoded = encode(old_texts), encode(new_texts)
    except _VocabularyFull:  # an absurd number of distinct lines: pair them all in order
        line_ops: list[Op] = [(DELETE, "x" * len(old_texts)), (INSERT, "x" * len(new_texts))]
    else:
        deadline = time.monotonic() + _TIME_LIMIT_SECONDS
        line_ops = _normalize(_fast_diff(old_encoded, new_encoded, "No", deadline))

    def render(line: Sequence[Op]) -> Markup:
        return _render(line, deleted_label, inserted_label, newline_marks=False)

    rows: list[Row] = []
    old_at = new_at = 0
    pending_old: list[int] = []
    pending_new: list[int] = []

    def flush() -> None:
        for k in range(max(len(pending_old), len(pending_new))):
            i = pending_old[k] if k < len(pending_old) else None
            j = pending_new[k] if k < len(pending_new) else None
            rows.append(
                Row(
                    left=render(old_lines[i]) if i is not None else Markup(""),
                    right=render(new_lines[j]) if j is not None else Markup(""),
                    changed=True,
                    left_number=None if i is None else i + 1,
                    right_number=None if j is None else j + 1,
                )
            )
        pending_old.clear()
        pending_new.clear()

    for op, codes in line_ops:
        if op == EQUAL:
            flush()
            for _ in codes:
                text = escape(old_texts[old_at])
                rows.append(Row(text, text, False, old_at + 1, new_at + 1))
                old_at += 1
                new_at += 1
        elif op == DELETE:
            pending_old.extend(range(old_at, old_at + len(codes)))
            old_at += len(codes)
        else:
            pending_new.extend(range(new_at, new_at + len(codes)))
            new_at += len(codes)
    flush()
    return rows
