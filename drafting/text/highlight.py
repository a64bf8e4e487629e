"""Render a section's Markdown with commented passages wrapped in ``<mark>`` elements.

Anchors are offsets in the Markdown, so the marks cannot be placed into the stored HTML
directly. Instead, one private-use character per anchor boundary is put into the Markdown,
the text is rendered through the one sanitiser (:func:`drafting.text.markdown.render`), and the
boundary characters found in the sanitised *text* are replaced by marks. The marks are
written by this module only (fixed element, numeric ids), and only between tags, never
inside one: a boundary character that lands in an attribute is dropped, and a passage
whose boundaries did not both survive the rendering is simply not highlighted. Each text
run is wrapped on its own, so the marks never change the structure of the HTML.

Boundary characters are placed where they cannot change the Markdown's meaning (after
block syntax, inside emphasis delimiters, outside entities and escapes); and the result,
its boundary characters removed, must equal the plain rendering, or the passages that
disturb it go without highlight.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Final

from cachetools import LRUCache, cached
from markupsafe import Markup

from drafting.text.markdown import render

# Plane 16 private use: the renderer and sanitiser pass these characters through untouched.
_BASE: Final = 0x100000
_LIMIT: Final = 0x10FFFD
_SENTINEL_RE: Final = re.compile("[\U00100000-\U0010fffd]")

# Whitespace directly inside these elements separates blocks; marking it would be invalid.
_CONTAINERS: Final = frozenset({"table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "blockquote"})
_VOID: Final = frozenset({"br", "hr", "img", "wbr"})

# Block syntax at the start of a line: a boundary character in front of it would break it.
_LINE_START_SYNTAX: Final = re.compile(
    r"(?:[ \t]{0,3}(?:#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]?|\|[ \t]*))+"
)
_ENTITY: Final = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_DELIMITERS: Final = "*_~"


def _snap(markdown: str, start: int, end: int) -> tuple[int, int] | None:
    """Move a passage's edges to where a boundary character leaves the Markdown intact."""
    while start < end and markdown[start].isspace():
        start += 1
    line_start = markdown.rfind("\n", 0, start) + 1
    if markdown[line_start:start].strip(" \t") == "":
        syntax = _LINE_START_SYNTAX.match(markdown, line_start)
        if syntax and syntax.end() > start:
            start = syntax.end()
    # Inside emphasis delimiters, not before them: "_x_" must stay left-flanking.
    while start < end and markdown[start] in _DELIMITERS:
        start += 1
    while end > start and markdown[end - 1].isspace():
        end -= 1
    while end > start and markdown[end - 1] in _DELIMITERS:
        end -= 1
    # Never split an entity, nor a backslash from the character it escapes.
    for entity in _ENTITY.finditer(markdown, max(0, start - 40), min(len(markdown), end + 40)):
        if entity.start() < start < entity.end():
            start = entity.start()
        if entity.start() < end < entity.end():
            end = entity.end()
    if start > 0 and _escaped(markdown, start):
        start -= 1
    if end > start and _escaped(markdown, end):
        end -= 1
    return (start, end) if start < end else None


def _escaped(markdown: str, position: int) -> bool:
    """Tell whether the character at position is escaped by an odd run of backslashes."""
    count = 0
    i = position - 1
    while i >= 0 and markdown[i] == "\\":
        count += 1
        i -= 1
    return count % 2 == 1


def _digest(markdown: str) -> bytes:
    return hashlib.sha256(markdown.encode()).digest()


def _key(markdown: str, anchors: Mapping[int, tuple[int, int]]) -> tuple[object, ...]:
    return (_digest(markdown), tuple(sorted(anchors.items())))


@cached(LRUCache(maxsize=32), key=_digest, lock=threading.Lock())
def _plain(markdown: str) -> Markup:
    """The text rendered without marks, kept while comments come and go on one version."""
    return render(markdown)


@cached(LRUCache(maxsize=64), key=_key, lock=threading.Lock())
def render_highlighted(markdown: str, anchors: Mapping[int, tuple[int, int]]) -> Markup:
    """Render Markdown with each anchored passage in ``<mark id="anchor-<comment id>">``.

    A boundary character that would change the rendering (inside a link target, say) costs
    its passage the highlight; the text itself is always rendered exactly as without marks.
    The result is cached per (text digest, anchors): a discussion page seen again, or by
    another reader, costs no rendering.
    """
    plain = _plain(markdown)
    if not anchors or _SENTINEL_RE.search(markdown):
        return plain
    edges: dict[int, tuple[int, int]] = {}
    for comment_id, (start, end) in sorted(anchors.items())[: (_LIMIT - _BASE) // 2]:
        if 0 <= start < end <= len(markdown):
            snapped = _snap(markdown, start, end)
            if snapped is not None:
                edges[comment_id] = snapped
    html = _render_marked(markdown, edges, str(plain))
    if html is None and len(edges) > 1:
        # Find the passages that disturb the rendering and leave them out: halving the set
        # costs a few renderings per culprit, not one per passage.
        kept = _undisturbing(markdown, edges, str(plain))
        html = _render_marked(markdown, kept, str(plain))
    return plain if html is None else html


def _undisturbing(
    markdown: str, edges: Mapping[int, tuple[int, int]], plain: str
) -> dict[int, tuple[int, int]]:
    """Return the largest found subset of passages whose marks leave the rendering intact."""
    if not edges or _render_marked(markdown, edges, plain) is not None:
        return dict(edges)
    if len(edges) == 1:
        return {}
    ids = list(edges)
    half = len(ids) // 2
    left = _undisturbing(markdown, {i: edges[i] for i in ids[:half]}, plain)
    right = _undisturbing(markdown, {i: edges[i] for i in ids[half:]}, plain)
    return {**left, **right}


def _render_marked(
    markdown: str, edges: Mapping[int, tuple[int, int]], plain: str
) -> Markup | None:
    """Render with boundary characters and mark them, or None if the rendering changed."""
    if not edges:
        return Markup(plain)  # noqa: S704  # nosec B704 # the stored, sanitised rendering
    ids = list(edges)
    inserts: list[tuple[int, int, str]] = []  # (position, order, character)
    for index, comment_id in enumerate(ids):
        start, end = edges[comment_id]
        # At one position, ends come before starts so adjacent passages do not nest.
        inserts.append((start, 1, chr(_BASE + 2 * index)))
        inserts.append((end, 0, chr(_BASE + 2 * index + 1)))
    inserts.sort()
    parts: list[str] = []
    position = 0
    for at, _order, char in inserts:
        parts.append(markdown[position:at])
        parts.append(char)
        position = at
    parts.append(markdown[position:])
    html = str(render("".join(parts)))
    if _SENTINEL_RE.sub("", html) != plain:
        return None
    return _Marker(ids).mark(html)


class _Marker(HTMLParser):
    """Re-emit sanitised HTML verbatim, turning boundary characters in text into marks."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(convert_charrefs=False)
        self._ids = ids
        # ("tag", raw, "") or ("text", raw, parent element); entities stay as written.
        self._events: list[tuple[str, str, str]] = []
        self._run: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(self.get_starttag_text() or "")
        if tag not in _VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self._tag(f"</{tag}>")
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self._run.append(data)

    def handle_entityref(self, name: str) -> None:
        self._run.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._run.append(f"&#{name};")

    def _tag(self, raw: str) -> None:
        self._flush()
        # A boundary character inside a tag (say, in a link title) is dropped: removing a
        # character from an attribute value can never end the value or the tag.
        self._events.append(("tag", _SENTINEL_RE.sub("", raw), ""))

    def _flush(self) -> None:
        if self._run:
            parent = self._stack[-1] if self._stack else ""
            self._events.append(("text", "".join(self._run), parent))
            self._run = []

    def mark(self, html: str) -> Markup:
        self.feed(html)
        self.close()
        self._flush()
        text = "".join(raw for kind, raw, _ in self._events if kind == "text")
        usable = {
            i
            for i in range(len(self._ids))
            if 0 <= text.find(chr(_BASE + 2 * i)) < text.find(chr(_BASE + 2 * i + 1))
        }
        out: list[str] = []
        active: list[int] = []
        named: set[int] = set()
        for kind, raw, context in self._events:
            if kind == "tag":
                out.append(raw)
            else:
                out.append(self._wrap_run(raw, context, active, named, usable))
        marked = "".join(out)
        return Markup(marked)  # noqa: S704  # nosec B704 # sanitised HTML plus our marks

    def _wrap_run(
        self, raw: str, context: str, active: list[int], named: set[int], usable: set[int]
    ) -> str:
        out: list[str] = []
        piece_start = 0
        for boundary in [*_SENTINEL_RE.finditer(raw), None]:
            piece = raw[piece_start : boundary.start() if boundary else len(raw)]
            if piece:
                out.append(self._wrap_piece(piece, context, active, named))
            if boundary is None:
                break
            piece_start = boundary.end()
            code = ord(boundary.group()) - _BASE
            index, is_end = divmod(code, 2)
            if index not in usable:
                continue
            if is_end:
                if index in active:
                    active.remove(index)
            elif index not in active:
                active.append(index)
        return "".join(out)

    def _wrap_piece(self, piece: str, context: str, active: list[int], named: set[int]) -> str:
        if not active or (piece.isspace() and (context in _CONTAINERS or not context)):
            return piece
        opening = []
        for index in active:
            comment_id = self._ids[index]
            if index in named:
                opening.append(f'<mark class="anchor" data-comment="{comment_id}">')
            else:
                named.add(index)
                opening.append(
                    f'<mark class="anchor" id="anchor-{comment_id}" data-comment="{comment_id}">'
                )
        return "".join(opening) + piece + "</mark>" * len(active)
