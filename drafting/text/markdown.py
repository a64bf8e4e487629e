"""Render user-written Markdown to safe HTML and to plain text.

Section bodies, comments and the like are written in Markdown: CommonMark plus GFM
tables and strikethrough. Raw HTML is allowed in the source, but every rendering goes
through one allowlist sanitiser (nh3, i.e. Ammonia) *after* Markdown, so neither raw HTML
nor a crafted Markdown link can smuggle script, styles, frames or dangerous URLs into a
page. The allowlist lives in this module and nowhere else.

Choices a reader of a rendered paper will notice:

* **Headings are sub-headings of the section.** The paper page uses ``<h1>`` for the
  paper and ``<h2>``–``<h4>`` for sections of level 1–3. A body is rendered (and stored)
  as if its section had level 1: ``# x`` becomes ``<h3>``, ``##`` ``<h4>``, ``###``
  ``<h5>``, deeper ``<h6>``; :func:`shift_headings` moves them under a deeper section's
  heading when the page is shown. Raw HTML ``<h1>``/``<h2>`` are not in the allowlist
  and are unwrapped to their text.
* **Images render as their alt text.** Remote images in a shared paper would be
  tracking pixels and mixed content, and the Word export has no place for them.
* **Links** keep only ``http``, ``https``, ``mailto`` and relative/fragment targets, and
  always carry ``rel="noopener noreferrer nofollow"``.
* **Tables** always get ``class="md-table"``; GFM column alignment becomes
  ``md-align-left|center|right`` classes, because ``style`` attributes are dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

__all__ = ["plain_text", "render", "render_inline", "shift_headings"]

# Built once: the instance only holds parser configuration, every call gets a fresh state.
_md: Final = (
    MarkdownIt("commonmark", {"html": True, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)

_FIRST_BODY_HEADING: Final = 3  # "#" under a level-1 section (whose heading is an h2)
_LAST_HEADING: Final = 6
_BODY_HEADING_TAG: Final = re.compile(r"<(/?)h([3-6])>")

_ALIGN_CLASSES: Final = {
    "text-align:left": "md-align-left",
    "text-align:center": "md-align-center",
    "text-align:right": "md-align-right",
}

_ALLOWED_TAGS: Final = frozenset(
    "a b blockquote br code del em h3 h4 h5 h6 hr i ins li ol p pre s strong sub sup"
    " table tbody td th thead tr ul".split()
)
# Dropped together with their content, not just unwrapped: their text is code or markup,
# never prose a reader meant to show.
_DROPPED_WITH_CONTENT: Final = frozenset(
    "script style template noscript iframe object embed textarea select svg math title"
    " xmp noembed noframes".split()
)

_sanitiser: Final = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    allowed_classes={"th": set(_ALIGN_CLASSES.values()), "td": set(_ALIGN_CLASSES.values())},
    set_tag_attribute_values={"table": {"class": "md-table"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="pass_through",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def render(text: str) -> Markup:
    """Render Markdown to sanitised HTML with body headings as sub-headings of a level-1
    section: ``#`` becomes ``<h3>``, ``##`` ``<h4>``, ``###`` ``<h5>``, deeper ``<h6>``
    (:func:`shift_headings` adapts them to other levels); the module docstring lists the
    other choices.
    """
    tokens = _parse(text)
    return _sanitise(_md.renderer.render(tokens, _md.options, {}))


def render_inline(text: str) -> Markup:
    """Render short Markdown to sanitised HTML, without ``<p>`` around a lone paragraph."""
    tokens = _parse(text)
    if [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]:
        # The renderer skips hidden paragraph tokens, exactly as it does in tight lists.
        tokens[0].hidden = tokens[2].hidden = True
    return _sanitise(_md.renderer.render(tokens, _md.options, {}))


def shift_headings(html: str, level: int) -> str:
    """Move the body headings of HTML from :func:`render` under a section heading of
    ``level`` (1 → ``<h2>``, so ``#`` stays ``<h3>``; 2 → ``#`` becomes ``<h4>``; 0, for a
    page whose ``<h1>`` is the section's title → ``#`` becomes ``<h2>``), at most ``<h6>``.

    Only the bare heading tags :func:`render` writes are touched (the sanitiser allows no
    attributes on them, and a ``<`` in text is always escaped).
    """
    offset = level - 1
    if not offset or "<h" not in html:
        return html

    def shifted(match: re.Match[str]) -> str:
        number = min(max(int(match.group(2)) + offset, 2), _LAST_HEADING)
        return f"<{match.group(1)}h{number}>"

    return _BODY_HEADING_TAG.sub(shifted, html)


def plain_text(text: str) -> str:
    """Convert Markdown to readable plain text for previews and search snippets.

    The result is text, not HTML: it may contain ``<`` or ``&`` and must be escaped when
    written into a page (Jinja's autoescaping does that).
    """
    extractor = _TextExtractor()
    extractor.feed(render(text))
    extractor.close()
    return extractor.text()


def _parse(text: str) -> list[Token]:
    tokens = _md.parse(text, {})
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + _FIRST_BODY_HEADING - 1, _LAST_HEADING)
            token.tag = f"h{level}"
        elif token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if isinstance(style, str) and style in _ALIGN_CLASSES:
                token.attrSet("class", _ALIGN_CLASSES[style])
        elif token.type == "inline" and token.children:
            token.children = [_image_as_text(child) for child in token.children]
    return tokens


def _image_as_text(token: Token) -> Token:
    if token.type != "image":
        return token
    alt = "".join(
        child.content for child in token.children or () if child.type in ("text", "code_inline")
    )
    return Token("text", "", 0, content=alt)


def _sanitise(html: str) -> Markup:
    clean = _sanitiser.clean(html)
    return Markup(clean)  # noqa: S704  # nosec B704 # nh3 output is the trust boundary


_BLOCK_TAGS: Final = frozenset(
    {"p", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "hr", "tr", "li"}
)


_BLANK_AFTER: Final = frozenset(
    {"p", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol"}
)


class _TextExtractor(HTMLParser):
    """Collect the text of sanitised HTML, one block per line, list items marked."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._buffer: list[str] = []
        self._prefix = ""
        self._in_pre = False
        self._lists: list[int | None] = []  # None for <ul>, next number for <ol>
        self._cell_in_row = 0

    def text(self) -> str:
        self._flush()
        while self._lines and not self._lines[-1]:
            self._lines.pop()
        return "\n".join(self._lines)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "pre":
            self._in_pre = True
        elif tag in ("ul", "ol"):
            start = dict(attrs).get("start") if tag == "ol" else None
            number = int(start) if start and start.isdigit() else 1
            self._lists.append(number if tag == "ol" else None)
        elif tag == "li" and self._lists:
            indent = "  " * (len(self._lists) - 1)
            counter = self._lists[-1]
            if counter is None:
                self._prefix = f"{indent}- "
            else:
                self._prefix = f"{indent}{counter}. "
                self._lists[-1] = counter + 1
        elif tag == "tr":
            self._cell_in_row = 0
        elif tag in ("td", "th"):
            if self._cell_in_row:
                self._buffer.append(" | ")
            self._cell_in_row += 1
        elif tag == "br":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag not in _BLOCK_TAGS:
            return
        self._flush()
        if tag == "pre":
            self._in_pre = False
        elif tag == "li":
            self._prefix = ""
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        if not self._lists and tag in _BLANK_AFTER:
            self._blank_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._buffer.append(data)

    def _flush(self) -> None:
        raw = "".join(self._buffer)
        self._buffer.clear()
        if self._in_pre:
            lines = raw.strip("\n").split("\n") if raw.strip() else []
        else:
            collapsed = " ".join(raw.split())
            lines = [collapsed] if collapsed else []
        for line in lines:
            self._lines.append(self._prefix + line)
            # Further lines of the same list item hang under its first line.
            self._prefix = " " * len(self._prefix)

    def _blank_line(self) -> None:
        if self._lines and self._lines[-1]:
            self._lines.append("")
