"""Comment anchors: find a quoted passage in a section's Markdown and follow it across versions.

A comment may quote a passage of its section. The quote is looked up in the section's current
Markdown (leniently: the reader selected it in the *rendered* text), and the passage's offsets
in that version are stored as the comment's anchor. Later versions move the anchor through the
word diff between the anchor's version and the current one (:func:`move_anchor`); when the
quoted words themselves were changed, the anchor is lost ("passage changed").

Pure functions over texts and offsets; ``workflows.comments`` loads the versions.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import LRUCache, cached
from diff_match_patch import diff_match_patch

from drafting.text.markdown import plain_text
from drafting.text.merge import changed_ranges
from drafting.text.textdiff import DELETE, EQUAL, INSERT, diff_ops

Anchor = tuple[int, int]
Hunk = tuple[int, int, str]


# --- finding a quote in the text ---------------------------------------------------------

# Between two words of a quote, the plain-text rendering may hold list markers and table
# separators that a browser leaves out of a selection.
_PLAIN_GAP = r"\s+(?:(?:[-|]|\d+\.)\s+)*"
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# The regex fallback over the rendered text is kept for small texts and short quotes only:
# its cost grows with both (a 5 000-word quote in 200 000 characters took 17.7 s).
_FALLBACK_TEXT_CHARS = 20_000
_FALLBACK_QUOTE_CHARS = 1_000

_WORD = re.compile(r"\S+")
# Whole words that are Markdown syntax only: headings, quotes, list markers, table pipes.
_SYNTAX_WORD = re.compile(r"(?:#{1,6}|>+|[-+*]|\d{1,9}[.)]|\|+|\|?(?::?-+:?\|)*:?-+:?\|?)")
_LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
_DROPPED = frozenset("*_~`[]|")


def _digest(*texts: str) -> tuple[bytes, ...]:
    return tuple(hashlib.sha256(text.encode()).digest() for text in texts)


def _normalise_word(word: str, offset: int = 0) -> tuple[str, list[tuple[int, int]]]:
    """Return a word as the rendered text shows it, with each kept character's span.

    Emphasis delimiters, brackets and pipes are dropped, link targets cut out, backslash
    escapes and entities decoded (an entity's one character spans the whole entity).
    """
    if _SYNTAX_WORD.fullmatch(word):
        return "", []
    cut = [(m.start(), m.end()) for m in _LINK_TARGET.finditer(word)]
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(word):
        if cut and cut[0][0] == i:
            i = cut.pop(0)[1]
            continue
        char = word[i]
        if char == "\\" and i + 1 < len(word) and not word[i + 1].isalnum():
            # Dropped characters are dropped escaped or not: the quote's side drops them too.
            if word[i + 1] not in _DROPPED:
                chars.append(word[i + 1])
                spans.append((offset + i, offset + i + 2))
            i += 2
            continue
        if char == "&":
            entity = _ENTITY.match(word, i)
            if entity:
                for decoded in html.unescape(entity.group()):
                    chars.append(decoded)
                    spans.append((offset + i, offset + entity.end()))
                i = entity.end()
                continue
        if char not in _DROPPED:
            chars.append(char)
            spans.append((offset + i, offset + i + 1))
        i += 1
    return "".join(chars), spans


@dataclass(frozen=True)
class _WordIndex:
    """A text's words as rendered, joined by single spaces, mapped back to the Markdown."""

    joined: str
    starts: array[int]  # where each kept word begins in ``joined``
    spans: dict[int, list[tuple[int, int]]]  # per altered word: its characters' spans
    offsets: array[int]  # per word: its offset in the Markdown


# A few MB per 200 000-character text; the texts being discussed right now are few.
@cached(LRUCache(maxsize=16), key=lambda markdown: _digest(markdown), lock=threading.Lock())
def _word_index(markdown: str) -> _WordIndex:
    parts: list[str] = []
    starts: array[int] = array("q")
    spans: dict[int, list[tuple[int, int]]] = {}
    offsets: array[int] = array("q")
    position = 0
    for match in _WORD.finditer(markdown):
        word = match.group()
        if _DROPPED.isdisjoint(word) and "\\" not in word and "&" not in word:
            if _SYNTAX_WORD.fullmatch(word):
                continue
            text = word
        else:
            text, found = _normalise_word(word, match.start())
            if not text:
                continue
            spans[len(parts)] = found
        parts.append(text)
        starts.append(position)
        offsets.append(match.start())
        position += len(text) + 1
    return _WordIndex(" ".join(parts), starts, spans, offsets)


def _markdown_span(index: _WordIndex, position: int) -> tuple[int, int]:
    """Return the Markdown span of the character at ``position`` of ``index.joined``."""
    word = bisect_right(index.starts, position) - 1
    inner = position - index.starts[word]
    spans = index.spans.get(word)
    if spans is None:
        start = index.offsets[word] + inner
        return start, start + 1
    return spans[inner]


def _normalise_quote(quote: str) -> str:
    words = (_normalise_word(word)[0] for word in quote.split())
    return " ".join(word for word in words if word)


@cached(
    LRUCache(maxsize=4096),
    key=lambda markdown, quote: _digest(markdown, quote),
    lock=threading.Lock(),
)
def locate_quote(markdown: str, quote: str) -> Anchor | None:
    """Find a quoted passage in a section's Markdown and return its offsets there.

    The quote may come from the Markdown itself or from the rendered text (a reader's
    selection): differences in whitespace are ignored, and Markdown syntax, entities and
    list markers between the words are bridged. The first occurrence wins.

    Near-linear in the text and the quote: the text's words are indexed once per version
    (as the rendered text shows them) and the quote is found with one ``str.find``. Results
    are cached per (text, quote) digest: versions never change.
    """
    quote = quote.strip()
    if not quote or not markdown:
        return None
    found = markdown.find(quote)
    if found >= 0:
        return found, found + len(quote)
    wanted = _normalise_quote(quote)
    if wanted:
        index = _word_index(markdown)
        at = index.joined.find(wanted)
        if at >= 0:
            first = _markdown_span(index, at)
            last = _markdown_span(index, at + len(wanted) - 1)
            return first[0], last[1]
    if len(markdown) > _FALLBACK_TEXT_CHARS or len(quote) > _FALLBACK_QUOTE_CHARS:
        return None
    words = [re.escape(word) for word in quote.split()]
    plain = plain_text(markdown)
    match = re.search(_PLAIN_GAP.join(words), plain)
    if match is None:
        return None
    return _plain_span_to_markdown(plain, markdown, *match.span())


def _plain_span_to_markdown(plain: str, markdown: str, start: int, end: int) -> Anchor | None:
    """Map a span of the plain-text rendering onto the Markdown it was rendered from."""
    # Plain text is the Markdown minus syntax: their word diff aligns every shown word.
    starts: list[tuple[int, int, int, int]] = []  # (plain_from, plain_to, md_from, op)
    p = m = 0
    for op, text in diff_ops(plain, markdown, semantic=False):
        if op == EQUAL:
            starts.append((p, p + len(text), m, EQUAL))
            p += len(text)
            m += len(text)
        elif op == DELETE:  # only in the plain text (list markers, decoded entities)
            starts.append((p, p + len(text), m, DELETE))
            p += len(text)
        elif op == INSERT:  # only in the Markdown (syntax)
            m += len(text)

    def to_markdown(position: int) -> int | None:
        for p_from, p_to, m_from, op in starts:
            if p_from <= position < p_to:
                return m_from + (position - p_from) if op == EQUAL else m_from
        return None

    first = to_markdown(start)
    last = to_markdown(end - 1)
    if first is None or last is None:
        return None
    entity = _ENTITY.match(markdown, last)
    stop = entity.end() if entity else last + 1
    return (first, stop) if stop > first else None


# --- anchors across versions -------------------------------------------------------------

# A passage whose words were edited counts as found again only where it occurs exactly,
# this close to where the diff would have moved it.
NEARBY = 500
_MATCH_THRESHOLD = 0.1


def _matcher() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Match_Threshold = _MATCH_THRESHOLD
    # Exact matches within NEARBY characters score below the threshold.
    dmp.Match_Distance = int(NEARBY / _MATCH_THRESHOLD)
    return dmp


_DMP = _matcher()


# Diffs between two texts, keyed by their digests: versions never change, so a diff once
# computed serves every later page of the section (and texts are not held twice as keys).
@cached(LRUCache(maxsize=1024), key=lambda old, new: _digest(old, new), lock=threading.Lock())
def changed_hunks(old: str, new: str) -> tuple[Hunk, ...]:
    """Return ``changed_ranges(old, new)``, cached per pair of texts (least recently used out)."""
    return tuple(changed_ranges(old, new))


def move_anchor(
    start: int | None,
    end: int | None,
    current_version_body: str,
    anchor_version_body: str,
    *,
    hunks: Sequence[Hunk] | None = None,
) -> Anchor | None:
    """Return where a passage ``start:end`` of an older version is in the current text.

    None when the passage changed (or the offsets do not fit the older version).

    The stored offsets are shifted by the length changes of every edit before the passage.
    An edit that overlaps the passage means the passage changed, unless the passage still
    occurs exactly nearby (``diff_match_patch.match_main`` with a strict threshold).
    ``hunks`` may carry ``changed_ranges(anchor_version_body, current_version_body)``
    when the caller already has them.
    """
    if start is None or end is None:
        return None
    if not 0 <= start < end <= len(anchor_version_body):
        return None
    if anchor_version_body == current_version_body:
        return start, end
    if hunks is None:
        hunks = changed_hunks(anchor_version_body, current_version_body)
    delta = 0
    overlaps = False
    for hunk_start, hunk_end, replacement in hunks:
        if hunk_end <= start:  # before the passage, or an insertion right at its start
            delta += len(replacement) - (hunk_end - hunk_start)
        elif hunk_start >= end:
            break
        else:
            overlaps = True
            break
    if not overlaps:
        return start + delta, end + delta
    passage = anchor_version_body[start:end]
    return _find_nearby(current_version_body, passage, start + delta)


def _find_nearby(text: str, passage: str, expected: int) -> Anchor | None:
    if passage not in text:
        return None
    expected = max(0, min(expected, len(text)))
    loc = -1
    # Bitap handles patterns up to Match_MaxBits (32) characters; a longer passage is only
    # ever accepted as an exact occurrence anyway, which str.find locates directly.
    if len(passage) <= _DMP.Match_MaxBits:
        loc = _DMP.match_main(text, passage, expected)
    if loc == -1 or text[loc : loc + len(passage)] != passage:
        # None found, or a near-miss scored better than an exact occurrence: take the
        # nearest exact one.
        before = text.rfind(passage, 0, expected + len(passage))
        after = text.find(passage, expected)
        candidates = [c for c in (before, after) if c >= 0]
        loc = min(candidates, key=lambda c: abs(c - expected))
    if abs(loc - expected) > NEARBY:
        return None
    return loc, loc + len(passage)


@dataclass(frozen=True)
class AnchorState:
    """Where a comment's quoted passage stands in the section's current text."""

    anchor: Anchor | None
    passage_changed: bool

    @property
    def start(self) -> int | None:
        return self.anchor[0] if self.anchor else None

    @property
    def end(self) -> int | None:
        return self.anchor[1] if self.anchor else None


NO_ANCHOR = AnchorState(None, False)
