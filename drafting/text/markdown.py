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
* **Images render as their alt text**, except figures: a paragraph holding nothing but
  ``![Caption](figure:<id>)`` becomes ``<figure>`` with the image from the paper's own
  authorised route ``/figures/<id>`` and the caption as ``<figcaption>`` (the page adds
  "Abbildung N:", numbered through the paper, see :func:`label_figures`). Remote images in a
  shared paper would be tracking pixels and mixed content; no other ``src`` survives.
* **Footnotes** (``[^1]`` with a definition ``[^1]: …``, pandoc's syntax, by mdit-py-plugins)
  are numbered per section and listed under it with a back-link to each reference; their ids
  carry a digest of the text so that two sections on one page never share an id.
* **Links** keep only ``http``, ``https``, ``mailto`` and relative/fragment targets, and
  always carry ``rel="noopener noreferrer nofollow"``.
* **Tables** always get ``class="md-table"``; GFM column alignment becomes classes, because
  ``style`` attributes are dropped: one on the table per aligned column (``md-r2``: column 2
  right-aligned; ``l``, ``c``, ``r``; the style sheet has rules for columns 1–12), not one on
  every cell; a column beyond 12 keeps ``md-align-left|center|right`` on its cells (as older
  stored versions have them everywhere).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from html import escape
from html.parser import HTMLParser
from typing import Any, Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.footnote import footnote_plugin

__all__ = [
    "FIGURE_SRC",
    "figure_of",
    "label_figures",
    "omit_end_tags",
    "plain_text",
    "render",
    "render_inline",
    "shift_headings",
    "tighten",
]

# Built once: the instance only holds parser configuration, every call gets a fresh state.
_md: Final = (
    MarkdownIt("commonmark", {"html": True, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    .use(footnote_plugin, inline=False)
)

#: Where the web serves a figure (a paper's own authorised route, see drafting.papers).
FIGURE_SRC: Final = "/figures/{id}"
_FIGURE_TARGET: Final = re.compile(r"figure:(\d+)")
_FIGURE_SRC_RE: Final = re.compile(r"/figures/\d+")
_NOTE_ID: Final = re.compile(r"fn(?:ref)?-[0-9a-f]{8}-\d+(?::\d+)?")
_NOTE_LINK: Final = re.compile(r"#fn(?:ref)?-[0-9a-f]{8}-\d+(?::\d+)?")


def _note_name(tokens: Sequence[Token], idx: int, env: dict[str, Any]) -> str:
    return f"{env.get('docId', '0' * 8)}-{tokens[idx].meta['id'] + 1}"


def _sub(tokens: Sequence[Token], idx: int) -> str:
    sub = tokens[idx].meta.get("subId", -1)
    return f":{sub}" if isinstance(sub, int) and sub > 0 else ""


def _render_note_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    name = _note_name(tokens, idx, env)
    number = tokens[idx].meta["id"] + 1
    return (
        f'<sup class="footnote-ref"><a href="#fn-{name}" id="fnref-{name}{_sub(tokens, idx)}">'
        f"{number}</a></sup>"
    )


def _render_notes_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<section class="footnotes">\n<ol class="footnotes-list">\n'


def _render_note_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<li id="fn-{_note_name(tokens, idx, env)}" class="footnote-item">'


def _render_note_anchor(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    target = f"fnref-{_note_name(tokens, idx, env)}{_sub(tokens, idx)}"
    # U+FE0E keeps the arrow a text glyph (no emoji); the page adds an aria-label.
    return f' <a href="#{target}" class="footnote-backref">\u21a9\ufe0e</a>'


_md.add_render_rule("footnote_ref", _render_note_ref)
_md.add_render_rule("footnote_block_open", _render_notes_open)
_md.add_render_rule("footnote_open", _render_note_open)
_md.add_render_rule("footnote_anchor", _render_note_anchor)

_FIRST_BODY_HEADING: Final = 3  # "#" under a level-1 section (whose heading is an h2)
_LAST_HEADING: Final = 6
_BODY_HEADING_TAG: Final = re.compile(r"<(/?)h([3-6])>")

_ALIGN_CLASSES: Final = {
    "text-align:left": "md-align-left",
    "text-align:center": "md-align-center",
    "text-align:right": "md-align-right",
}

_ALIGN_LETTERS: Final = {"text-align:left": "l", "text-align:center": "c", "text-align:right": "r"}
_ALIGNED_COLUMNS: Final = 12  # columns with a table class each (app.css has their rules)
_TABLE_CLASSES: Final = frozenset(
    {"md-table"} | {f"md-{a}{n}" for a in "lcr" for n in range(1, _ALIGNED_COLUMNS + 1)}
)
_BARE_TABLE: Final = re.compile(r'<table(?: class="")?(?=[ >])(?![^>]*\bclass=)')

_ALLOWED_TAGS: Final = frozenset(
    "a b blockquote br code del em figcaption figure h3 h4 h5 h6 hr i img ins li ol p pre s section"
    " strong sub sup table tbody td th thead tr ul".split()
)
# Dropped together with their content, not just unwrapped: their text is code or markup,
# never prose a reader meant to show.
_DROPPED_WITH_CONTENT: Final = frozenset(
    "script style template noscript iframe object embed textarea select svg math title"
    " xmp noembed noframes".split()
)


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    """Keep only the ids, links and image sources that the renderer itself writes."""
    if name == "id":
        return value if _NOTE_ID.fullmatch(value) else None
    if tag == "img" and name == "src":
        return value if _FIGURE_SRC_RE.fullmatch(value) else None
    return value


_sanitiser: Final = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes={
        "a": {"href", "title", "id"},
        "ol": {"start"},
        "li": {"id"},
        "img": {"src", "alt"},
    },
    attribute_filter=_attribute_filter,
    allowed_classes={
        "table": set(_TABLE_CLASSES),
        "th": set(_ALIGN_CLASSES.values()),
        "td": set(_ALIGN_CLASSES.values()),
        "sup": {"footnote-ref"},
        "a": {"footnote-backref"},
        "li": {"footnote-item"},
        "ol": {"footnotes-list"},
        "section": {"footnotes"},
        "figure": {"md-figure"},
    },
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
    env = _env(text)
    tokens = _parse(text, env)
    return _sanitise(_md.renderer.render(tokens, _md.options, env))


def render_inline(text: str) -> Markup:
    """Render short Markdown to sanitised HTML, without ``<p>`` around a lone paragraph."""
    env = _env(text)
    tokens = _parse(text, env)
    if [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]:
        # The renderer skips hidden paragraph tokens, exactly as it does in tight lists.
        tokens[0].hidden = tokens[2].hidden = True
    return _sanitise(_md.renderer.render(tokens, _md.options, env))


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


# End tags HTML lets a page leave out (HTML Living Standard, "Optional tags"), each only where
# the rule for it holds: the next tag closes the element anyway, so the DOM a browser builds is
# the same. A ``</p>`` before inline content (possible with raw HTML) stays.
_OPTIONAL_END: Final = re.compile(
    r"</li>(?=<li[ >]|</[ou]l>)"
    r"|</p>(?=<(?:p|ul|ol|table|h[1-6]|blockquote|pre|hr|figure|section|div|details)[ >]"
    r"|</(?:li|blockquote|td|th|section|div)>|$)"
    r"|</t[dh]>(?=<t[dh][ >]|</tr>)"
    r"|</tr>(?=<tr[ >]|</t(?:body|head)>)"
    r"|</thead>(?=<tbody>)"
    r"|</tbody>(?=</table>)"
)


def omit_end_tags(html: str) -> str:
    """Leave out the end tags of ``<p>``, ``<li>``, table cells, rows and row groups where
    HTML allows it, for a page whose ``html`` is the whole content of a ``<div>`` (a ``</p>``
    at the end is closed by the div's end tag): the same DOM in fewer bytes.

    For the browser only: code that reads rendered HTML (plain text, highlighting, tracked
    changes) gets the stored form with every end tag.
    """
    return _OPTIONAL_END.sub("", html)


def label_figures(html: str, label: str, start: int | None = 1) -> tuple[Markup, int]:
    """Put "Abbildung N:" (``label`` N:) before every figure caption of sanitised HTML.

    Numbers run from ``start``; with ``start=None`` the label carries no number (a single
    section shown outside its paper). Returns the HTML and the next number.
    """
    number = start

    def caption(found: re.Match[str]) -> str:
        nonlocal number
        if number is None:
            text = f"{label}:"
        else:
            text, number = f"{label} {number}:", number + 1
        return f'{found.group(1)}<figcaption><span class="figure-label">{escape(text)}</span> '

    labelled = _FIGCAPTION.sub(caption, html)
    return Markup(labelled), (number if number is not None else 1)  # noqa: S704  # nosec B704


_FIGCAPTION: Final = re.compile(r'(<figure class="md-figure"><img [^>]*>)<figcaption>')
_STRAY_IMG: Final = re.compile(r'(?<!<figure class="md-figure">)<img\b[^>]*>')


def _env(text: str) -> dict[str, Any]:
    # Footnote ids carry a digest of the text: sections on one page never share an id.
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return {"docId": digest}


def plain_text(text: str) -> str:
    """Convert Markdown to readable plain text for previews and search snippets.

    The result is text, not HTML: it may contain ``<`` or ``&`` and must be escaped when
    written into a page (Jinja's autoescaping does that).
    """
    extractor = _TextExtractor()
    extractor.feed(render(text))
    extractor.close()
    return extractor.text()


def _parse(text: str, env: dict[str, Any] | None = None) -> list[Token]:
    tokens = _md.parse(text, env if env is not None else {})
    _mark_figures(tokens)
    table: list[str] = []  # the classes of the table being read
    table_open: Token | None = None
    column = 0
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + _FIRST_BODY_HEADING - 1, _LAST_HEADING)
            token.tag = f"h{level}"
        elif token.type == "table_open":
            table = ["md-table"]
            token.attrSet("class", "md-table")
            table_open = token
        elif token.type == "tr_open":
            column = 0
        elif token.type in ("th_open", "td_open"):
            column += 1
            style = token.attrs.pop("style", None)
            if not isinstance(style, str) or style not in _ALIGN_CLASSES:
                continue
            if column > _ALIGNED_COLUMNS:
                token.attrSet("class", _ALIGN_CLASSES[style])
            elif table_open and (name := f"md-{_ALIGN_LETTERS[style]}{column}") not in table:
                table.append(name)  # GFM aligns whole columns: the header row names them all
                table_open.attrSet("class", " ".join(table))
        elif token.type == "inline" and token.children:
            token.children = [_image_as_text(child) for child in token.children]
    return tokens


def figure_of(inline: Token) -> tuple[int, str] | None:
    """Return (id, caption) when an inline token holds nothing but one figure image."""
    if "](figure:" not in inline.content:
        return None
    children = [
        c for c in inline.children or () if not (c.type == "text" and not c.content.strip())
    ]
    if len(children) != 1 or children[0].type != "image":
        return None
    found = _FIGURE_TARGET.fullmatch(str(children[0].attrGet("src") or ""))
    if found is None:
        return None
    return int(found.group(1)), _alt_text(children[0])


def _mark_figures(tokens: list[Token]) -> None:
    """Turn each paragraph that is only ``![Caption](figure:<id>)`` into a figure block."""
    for i in range(len(tokens) - 2):
        opening, inline, closing = tokens[i], tokens[i + 1], tokens[i + 2]
        if opening.type != "paragraph_open" or inline.type != "inline":
            continue
        if closing.type != "paragraph_close":
            continue
        found = figure_of(inline)
        if found is None:
            continue
        figure_id, caption = found
        opening.tag = closing.tag = "figure"
        opening.hidden = closing.hidden = False
        opening.attrSet("class", "md-figure")
        src = FIGURE_SRC.format(id=figure_id)
        html = (
            f'<img src="{src}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption>'
        )
        inline.children = [Token("html_inline", "", 0, content=html)]


def _alt_text(token: Token) -> str:
    return "".join(
        child.content for child in token.children or () if child.type in ("text", "code_inline")
    )


def _image_as_text(token: Token) -> Token:
    if token.type != "image":
        return token
    alt = "".join(
        child.content for child in token.children or () if child.type in ("text", "code_inline")
    )
    return Token("text", "", 0, content=alt)


# The line breaks markdown-it writes around block tags are no text a reader sees (white space
# next to a block collapses), but a 300-section page carried thousands of them: the big paper
# page leaves them out where they touch a block tag, except inside <pre>, where white space is
# text. A line break between inline content (a soft break between two words) stays.
_BLOCK_SPACE: Final = re.compile(
    r"(</?(?:p|h[3-6]|blockquote|table|thead|tbody|tr|th|td|ul|ol|li|figure|figcaption|section)"
    r"(?: [^>]*)?>|<hr>)\n+"
    r"|\n+(?=<(?:p|h[3-6]|blockquote|table|ul|ol|li|pre|hr|figure|section)[ >])"
)
_PRE: Final = re.compile(r"(<pre[ >].*?</pre>)", re.S)


def tighten(html: str) -> str:
    """Drop the line breaks next to block tags of rendered HTML (not inside ``<pre>``)."""
    if "<pre" not in html:
        return _BLOCK_SPACE.sub(r"\1", html)
    parts = _PRE.split(html)
    return "".join(
        part if i % 2 else _BLOCK_SPACE.sub(r"\1", part.lstrip("\n") if i else part)
        for i, part in enumerate(parts)
    )


def _sanitise(html: str) -> Markup:
    clean = _sanitiser.clean(html)
    if "<table" in clean:
        # Every table, a raw HTML one too, is an md-table (the renderer's own carry it already).
        clean = _BARE_TABLE.sub('<table class="md-table"', clean)
    if "<img" in clean:
        # Only the renderer's own figure image stays: raw HTML images are dropped.
        clean = _STRAY_IMG.sub("", clean)
    return Markup(clean)  # noqa: S704  # nosec B704 # nh3 output is the trust boundary


_BLOCK_TAGS: Final = frozenset(
    {
        "p",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "table",
        "ul",
        "ol",
        "hr",
        "tr",
        "li",
        "figure",
        "figcaption",
        "section",
    }
)


_PARAGRAPH_ENDS: Final = frozenset(
    {"p", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "figure"}
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
        self._skip = False

    def text(self) -> str:
        self._flush()
        while self._lines and not self._lines[-1]:
            self._lines.pop()
        return "\n".join(self._lines)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and dict(attrs).get("class") == "footnote-backref":
            self._skip = True  # the back-link arrow is no text
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
        if tag == "a":
            self._skip = False
        if tag not in _BLOCK_TAGS:
            return
        self._flush()
        if tag == "pre":
            self._in_pre = False
        elif tag == "li":
            self._prefix = ""
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        if not self._lists and tag in _PARAGRAPH_ENDS:
            self._blank_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if not self._skip:
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
