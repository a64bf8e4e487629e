"""Render user-written Markdown to safe HTML and to plain text.

Section bodies, comments and the like are written in Markdown: CommonMark plus GFM
tables and strikethrough. Raw HTML is allowed in the source, but every rendering goes
through one allowlist sanitiser (nh3, i.e. Ammonia) *after* Markdown, so neither raw HTML
nor a crafted Markdown link can smuggle script, styles, frames or dangerous URLs into a
page. The allowlist lives in this module and nowhere else.

Choices a reader of a rendered paper will notice:

* **Headings are shifted down.** The paper page uses ``<h1>`` for the paper and
  ``<h2>``–``<h4>`` for section headings, so a heading inside a body must never reach
  that range: ``# x`` renders as ``<h5>``, ``##`` and deeper as ``<h6>``. Raw HTML
  ``<h1>``–``<h4>`` are not in the allowlist and are unwrapped to their text.
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
* **Tables** always get ``class="md-table"``; GFM column alignment becomes
  ``md-align-left|center|right`` classes, because ``style`` attributes are dropped.
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
    "plain_text",
    "render",
    "render_inline",
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

_FIRST_BODY_HEADING: Final = 5  # h2–h4 belong to the paper page's section headings
_LAST_HEADING: Final = 6

_ALIGN_CLASSES: Final = {
    "text-align:left": "md-align-left",
    "text-align:center": "md-align-center",
    "text-align:right": "md-align-right",
}

_ALLOWED_TAGS: Final = frozenset(
    "a b blockquote br code del em figcaption figure h5 h6 hr i img ins li ol p pre s section"
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
        "th": set(_ALIGN_CLASSES.values()),
        "td": set(_ALIGN_CLASSES.values()),
        "sup": {"footnote-ref"},
        "a": {"footnote-backref"},
        "li": {"footnote-item"},
        "ol": {"footnotes-list"},
        "section": {"footnotes"},
        "figure": {"md-figure"},
    },
    set_tag_attribute_values={"table": {"class": "md-table"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="pass_through",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def render(text: str) -> Markup:
    """Render Markdown to sanitised HTML with body headings shifted to h5–h6.

    ``#`` becomes ``<h5>`` and ``##`` or deeper ``<h6>``, so a body heading never collides
    with the paper page's own h1–h4; the module docstring lists the other choices.
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


def figure_of(inline: Token) -> tuple[int, str] | None:
    """Return (id, caption) when an inline token holds nothing but one figure image."""
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


def _sanitise(html: str) -> Markup:
    clean = _sanitiser.clean(html)
    if "<img" in clean:
        # Only the renderer's own figure image stays: raw HTML images are dropped.
        clean = _STRAY_IMG.sub("", clean)
    return Markup(clean)  # noqa: S704  # nosec B704 # nh3 output is the trust boundary


_BLOCK_TAGS: Final = frozenset(
    {
        "p",
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
    {"p", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "figure"}
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
