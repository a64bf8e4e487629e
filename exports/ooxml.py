"""Fast WordprocessingML building blocks on lxml, and Markdown (markdown-it tokens) to OOXML.

python-docx's high-level API resolves styles by name and inserts before ``sectPr`` for every
paragraph; the exporter instead resolves each style id once and builds elements directly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from docx.oxml.parser import OxmlElement
from lxml import etree
from markdown_it import MarkdownIt
from markdown_it.rules_core.inline import inline as _core_inline
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from drafting.text.markdown import figure_of

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def w(tag: str) -> str:
    """Return the Clark name of a w: element or attribute."""
    return f"{{{W_NS}}}{tag}"


def sub(parent: Any, tag: str, **attrs: str) -> Any:
    """Append a w: child element with w: attributes."""
    el = etree.SubElement(parent, w(tag))
    for key, value in attrs.items():
        el.set(w(key), value)
    return el


def new(tag: str, **attrs: str) -> Any:
    """Create a free-standing w: element of python-docx's element classes."""
    el = OxmlElement(f"w:{tag}")
    for key, value in attrs.items():
        el.set(w(key), value)
    return el


def word_date(value: datetime) -> str:
    """Format a timestamp the way w:date attributes want it (UTC, no fractions)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunStyle:
    """Character formatting of a run."""

    bold: bool = False
    italic: bool = False
    strike: bool = False
    code: bool = False
    link: str | None = None
    underline: bool = False
    vert: str = ""  # "subscript" | "superscript"


def set_text(t: Any, text: str) -> None:
    """Put text into a w:t (or w:delText), keeping leading and trailing spaces."""
    t.text = text
    if text[:1].isspace() or text[-1:].isspace():
        t.set(f"{{{XML_NS}}}space", "preserve")


def run(
    parent: Any,
    text: str,
    style: RunStyle | None = None,
    *,
    deleted: bool = False,
    char_style: str | None = None,
) -> Any:
    """Append a run with text (line breaks become w:br) to a paragraph-like parent."""
    r = sub(parent, "r")
    if style is not None and (
        style.bold
        or style.italic
        or style.strike
        or style.code
        or style.underline
        or style.vert
        or char_style
    ):
        rpr = sub(r, "rPr")
        if char_style:
            sub(rpr, "rStyle", val=char_style)
        if style.code and not char_style:
            sub(rpr, "rFonts", ascii="Courier New", hAnsi="Courier New", cs="Courier New")
        if style.bold:
            sub(rpr, "b")
        if style.italic:
            sub(rpr, "i")
        if style.strike:
            sub(rpr, "strike")
        if style.underline:
            sub(rpr, "u", val="single")
        if style.vert:
            sub(rpr, "vertAlign", val=style.vert)
    elif char_style:
        sub(sub(r, "rPr"), "rStyle", val=char_style)
    parts = text.split("\n")
    for index, part in enumerate(parts):
        if index:
            sub(r, "br")
        if part:
            set_text(sub(r, "delText" if deleted else "t"), part)
    return r


def paragraph(style_id: str | None = None) -> Any:
    """Create a paragraph with an optional paragraph style."""
    p = new("p")
    if style_id:
        sub(sub(p, "pPr"), "pStyle", val=style_id)
    return p


def ppr(p: Any) -> Any:
    """Return (creating) a paragraph's w:pPr, kept as its first child."""
    found = p.find(w("pPr"))
    if found is None:
        found = etree.Element(w("pPr"))
        p.insert(0, found)
    return found


def field_runs(p: Any, instruction: str, placeholder: str = "") -> None:
    """Append a complex field (PAGE, NUMPAGES, TOC …) to a paragraph."""
    sub(sub(p, "r"), "fldChar", fldCharType="begin")
    instr = sub(sub(p, "r"), "instrText")
    set_text(instr, f" {instruction} ")
    sub(sub(p, "r"), "fldChar", fldCharType="separate")
    if placeholder:
        run(p, placeholder)
    sub(sub(p, "r"), "fldChar", fldCharType="end")


@dataclass
class Styles:
    """Style ids of the document, resolved once by name."""

    ids: dict[str, str]

    def get(self, name: str) -> str | None:
        """Return the id of a paragraph or character style, or None when absent."""
        return self.ids.get(name)


@dataclass
class Context:
    """What the Markdown renderer needs from the document being built."""

    styles: Styles
    link: Callable[[str], str]  # url -> relationship id
    new_list: Callable[[bool, int], int]  # (ordered?, start number) -> fresh numId
    on_paragraph: Callable[[Any], None] | None = None  # e.g. progress or comment anchoring
    # Footnotes and figures (exports.footnotes / exports.figures): a reference run for a note
    # made of blocks, and the blocks of a placed figure (id, caption).
    footnote: Callable[[Any, list[Any]], Any] | None = None
    figure: Callable[[int, str], list[Any]] | None = None
    notes: dict[int, list[Any]] = field(default_factory=dict)  # the text's notes, by index


# Raw HTML is parsed so that it can be handled as on the web: the allowed inline tags become
# Word formatting (see ``_HTML_INLINE``), everything else is dropped, never shown as tags.
MD = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
# The same with footnotes, used only for texts that have some (its rules cost time on every
# parse, and most sections have none).
MD_NOTES = (
    MarkdownIt("commonmark", {"html": True})
    .enable("table")
    .enable("strikethrough")
    .use(footnote_plugin, inline=False)
)


@dataclass
class _ListLevel:
    num_id: int
    ordered: bool


@dataclass
class _State:
    out: list[Any] = field(default_factory=list)
    lists: list[_ListLevel] = field(default_factory=list)
    item_first_paragraph: list[bool] = field(default_factory=list)
    quote: int = 0
    table: Any = None
    row: Any = None
    cell: Any = None
    header_row: bool = False
    current: Any = None
    body_style: str | None = None


# Top-level blocks already rendered, by kind and Markdown source (see ``markdown_blocks``):
# their elements, and the list numbering instances they asked for ((ordered, start, numId)).
class BlockMemo(dict[tuple[str, str], tuple[list[Any], list[tuple[bool, int, int]]]]):
    """Blocks rendered before, and markdown-it's inline tokens of each inline source seen."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: dict[str, list[Token]] = {}


_INLINE_MEMO = "konzeptwerk_inline_memo"


def _memo_inline(state: StateCore) -> None:
    """markdown-it's core "inline" rule, taking the tokens of an inline source seen before.

    The inline tokens depend only on the source (and the text's link reference definitions:
    with those, every inline is parsed); the renderer only reads them, so equal sources share
    one list.
    """
    memo: dict[str, list[Token]] | None = state.env.get(_INLINE_MEMO)
    if memo is None or state.env.get("references"):
        _core_inline(state)
        return
    parse = state.md.inline.parse
    for token in state.tokens:
        if token.type == "inline":
            children = memo.get(token.content)
            if children is None:
                children = memo[token.content] = []
                parse(token.content, state.md, state.env, children)
            token.children = children


# MD for the redline's two renders of a changed section (see markdown_blocks).
MD_MEMO = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
MD_MEMO.core.ruler.at("inline", _memo_inline)


def markdown_blocks(text: str, ctx: Context, memo: BlockMemo | None = None) -> list[Any]:
    """Render Markdown to a list of w:p / w:tbl elements.

    With ``memo`` (the redline renders both texts of a changed section, mostly the same), a
    top-level block whose Markdown was rendered before in the same memo is a copy of that
    rendering instead of a new one; its lists still get numbering instances of their own, in
    the same order, so the document is the same as without the memo. Not for texts with
    footnotes or figures, nor with link reference definitions, nor when paragraphs are
    reported (``on_paragraph``).
    """
    body_style = ctx.styles.get("Body Text") or ctx.styles.get("Normal")
    with_notes = "[^" in (text or "")
    env: dict[str, Any] = {}
    md = MD_NOTES if with_notes else MD
    if memo is not None and not with_notes and "figure:" not in (text or ""):
        # Inline sources seen in the other render are not parsed again.
        md, env[_INLINE_MEMO] = MD_MEMO, memo.inline
    tokens = md.parse(text or "", env)
    if memo is not None and (
        with_notes or "figure:" in (text or "") or env.get("references") or ctx.on_paragraph
    ):
        memo = None
    saved = ctx.notes
    ctx.notes = {}
    try:
        # Footnote definitions come last (footnote_block_open …): rendered first, so that a
        # reference finds its note's blocks.
        end = None
        if with_notes:
            end = next((i for i, t in enumerate(tokens) if t.type == "footnote_block_open"), None)
        if end is not None:
            ctx.notes = _notes(tokens[end:], ctx, body_style)
            tokens = tokens[:end]
        st = _State(body_style=body_style)
        if memo is None:
            for tok in tokens:
                handler = _BLOCK_HANDLERS.get(tok.type)
                if handler is not None:
                    handler(st, ctx, tok)
        else:
            _render_with_memo(st, ctx, tokens, text.split("\n"), memo)
    finally:
        ctx.notes = saved
    return st.out


def _render_with_memo(
    st: _State, ctx: Context, tokens: list[Token], lines: list[str], memo: BlockMemo
) -> None:
    """Render the tokens block by block, taking top-level blocks seen before from ``memo``."""
    new_list = ctx.new_list
    lists: list[tuple[bool, int, int]] = []

    def recording(ordered: bool, start: int) -> int:
        ident = new_list(ordered, start)
        lists.append((ordered, start, ident))
        return ident

    at = 0
    try:
        while at < len(tokens):
            first = tokens[at]
            end = at + 1
            if first.level == 0 and first.nesting == 1:  # up to its closing token
                while tokens[end].level != 0 or tokens[end].nesting != -1:
                    end += 1
                end += 1
            key = None
            if first.level == 0 and first.map is not None:
                key = (first.type, "\n".join(lines[first.map[0] : first.map[1]]))
                seen = memo.get(key)
                if seen is not None:
                    st.out.extend(_copy_blocks(seen, new_list))
                    at = end
                    continue
            start = len(st.out)
            lists = []
            ctx.new_list = recording
            for tok in tokens[at:end]:
                handler = _BLOCK_HANDLERS.get(tok.type)
                if handler is not None:
                    handler(st, ctx, tok)
            ctx.new_list = new_list
            if key is not None:
                memo[key] = (st.out[start:], lists)
            at = end
    finally:
        ctx.new_list = new_list


_NUM_ID = f"{w('numPr')}/{w('numId')}"


def _copy_blocks(
    seen: tuple[list[Any], list[tuple[bool, int, int]]], new_list: Callable[[bool, int], int]
) -> list[Any]:
    """Copy rendered blocks; each list in them gets a numbering instance of its own."""
    blocks, lists = seen
    copies = [copy.deepcopy(el) for el in blocks]
    if lists:
        ids = {str(old): str(new_list(ordered, start)) for ordered, start, old in lists}
        for el in copies:
            for ppr_el in el.iter(w("pPr")):
                num = ppr_el.find(_NUM_ID)
                if num is not None:
                    num.set(w("val"), ids.get(num.get(w("val")), num.get(w("val"))))
    return copies


def _notes(tokens: list[Token], ctx: Context, body_style: str | None) -> dict[int, list[Any]]:
    notes: dict[int, list[Any]] = {}
    st: _State | None = None
    plain = replace(ctx, on_paragraph=None, figure=None)
    for tok in tokens:
        if tok.type == "footnote_open":
            st = _State(body_style=body_style)
            notes[int(tok.meta["id"])] = st.out
        elif tok.type == "footnote_close":
            st = None
        elif st is not None:
            handler = _BLOCK_HANDLERS.get(tok.type)
            if handler is not None:
                handler(st, plain, tok)
    return notes


# One handler per markdown-it block token type; tokens not listed are ignored.
_BlockHandler = Callable[[_State, Context, Token], None]


def _list_open(st: _State, ctx: Context, tok: Token) -> None:
    ordered = tok.type == "ordered_list_open"
    # "3. …" starts the list at 3, as on the web and in the signed-off text.
    start = str(tok.attrGet("start") or "1") if ordered else "1"
    st.lists.append(
        _ListLevel(ctx.new_list(ordered, int(start) if start.isdigit() else 1), ordered)
    )


def _list_close(st: _State, ctx: Context, tok: Token) -> None:
    st.lists.pop()


def _item_open(st: _State, ctx: Context, tok: Token) -> None:
    st.item_first_paragraph.append(True)


def _item_close(st: _State, ctx: Context, tok: Token) -> None:
    st.item_first_paragraph.pop()


def _quote_open(st: _State, ctx: Context, tok: Token) -> None:
    st.quote += 1


def _quote_close(st: _State, ctx: Context, tok: Token) -> None:
    st.quote -= 1


def _paragraph_open(st: _State, ctx: Context, tok: Token) -> None:
    if st.cell is not None:
        st.current = st.cell.find(w("p"))
        return
    st.current = _block_paragraph(st, ctx, st.body_style)


def _heading_open(st: _State, ctx: Context, tok: Token) -> None:
    # Headings inside a section body sit below the section headings (levels 1–3).
    st.current = _block_paragraph(st, ctx, ctx.styles.get("Heading 4") or st.body_style)


def _inline(st: _State, ctx: Context, tok: Token) -> None:
    if ctx.figure is not None and st.cell is None and not st.lists and not st.quote:
        found = figure_of(tok)
        if found is not None:
            # A paragraph that is only ``![Caption](figure:<id>)``: picture and caption.
            blocks = ctx.figure(*found)
            for block in blocks:
                st.out.append(block)
                if ctx.on_paragraph is not None:
                    ctx.on_paragraph(block)
            st.current = None
            return
    if st.current is None:
        st.current = _block_paragraph(st, ctx, st.body_style)
    inline(st.current, tok.children or [], ctx, bold=st.header_row)


def _block_close(st: _State, ctx: Context, tok: Token) -> None:
    if st.current is not None and st.cell is None:
        st.out.append(st.current)
        if ctx.on_paragraph is not None:
            ctx.on_paragraph(st.current)
    st.current = None


def _code(st: _State, ctx: Context, tok: Token) -> None:
    code_style = ctx.styles.get("Code Block")
    for line in tok.content.rstrip("\n").split("\n"):
        p = _block_paragraph(st, ctx, code_style or st.body_style)
        if code_style is None:
            sub(ppr(p), "spacing", before="0", after="0")
        run(p, line, RunStyle(code=True), char_style=ctx.styles.get("Code"))
        st.out.append(p)


def _rule(st: _State, ctx: Context, tok: Token) -> None:
    p = paragraph(st.body_style)
    bdr = sub(ppr(p), "pBdr")
    sub(bdr, "bottom", val="single", sz="6", space="1", color="808080")
    st.out.append(p)


def _table_open(st: _State, ctx: Context, tok: Token) -> None:
    st.table = _table(ctx)


def _table_close(st: _State, ctx: Context, tok: Token) -> None:
    finish_table(st.table)
    st.out.append(st.table)
    st.table = None


def _thead_open(st: _State, ctx: Context, tok: Token) -> None:
    st.header_row = True


def _thead_close(st: _State, ctx: Context, tok: Token) -> None:
    st.header_row = False


def _row_open(st: _State, ctx: Context, tok: Token) -> None:
    st.row = sub(st.table, "tr")
    if st.header_row:
        sub(sub(st.row, "trPr"), "tblHeader")


def _cell_open(st: _State, ctx: Context, tok: Token) -> None:
    st.cell = sub(st.row, "tc")
    sub(sub(st.cell, "tcPr"), "tcW", w="0", type="auto")
    cell_p = sub(st.cell, "p")
    table_text = ctx.styles.get("Table Text")
    if table_text:
        sub(sub(cell_p, "pPr"), "pStyle", val=table_text)
    align = str(tok.attrGet("style") or "").replace("text-align:", "").strip()
    if align in ("center", "right"):
        sub(ppr(cell_p), "jc", val="center" if align == "center" else "right")
    st.current = cell_p


def _cell_close(st: _State, ctx: Context, tok: Token) -> None:
    st.cell = None
    st.current = None


_BLOCK_HANDLERS: dict[str, _BlockHandler] = {
    "bullet_list_open": _list_open,
    "ordered_list_open": _list_open,
    "bullet_list_close": _list_close,
    "ordered_list_close": _list_close,
    "list_item_open": _item_open,
    "list_item_close": _item_close,
    "blockquote_open": _quote_open,
    "blockquote_close": _quote_close,
    "paragraph_open": _paragraph_open,
    "heading_open": _heading_open,
    "inline": _inline,
    "paragraph_close": _block_close,
    "heading_close": _block_close,
    "fence": _code,
    "code_block": _code,
    "hr": _rule,
    "table_open": _table_open,
    "table_close": _table_close,
    "thead_open": _thead_open,
    "thead_close": _thead_close,
    "tr_open": _row_open,
    "th_open": _cell_open,
    "td_open": _cell_open,
    "th_close": _cell_close,
    "td_close": _cell_close,
}


def _block_paragraph(st: _State, ctx: Context, body_style: str | None) -> Any:
    if st.lists:
        p = paragraph(ctx.styles.get("List Paragraph") or body_style)
        level = st.lists[-1]
        depth = min(len(st.lists), 3) - 1
        if st.item_first_paragraph and st.item_first_paragraph[-1]:
            num = sub(ppr(p), "numPr")
            sub(num, "ilvl", val=str(depth))
            sub(num, "numId", val=str(level.num_id))
            st.item_first_paragraph[-1] = False
        else:
            sub(ppr(p), "ind", left=str(720 * (depth + 1)))
        return p
    if st.quote:
        return paragraph(ctx.styles.get("Quote") or body_style)
    return paragraph(body_style)


def _table(ctx: Context) -> Any:
    tbl = new("tbl")
    pr = sub(tbl, "tblPr")
    style = ctx.styles.get("Table Grid")
    if style:
        sub(pr, "tblStyle", val=style)
    sub(pr, "tblW", w="5000", type="pct")
    borders = sub(pr, "tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        sub(borders, edge, val="single", sz="4", space="0", color="808080")
    sub(tbl, "tblGrid")
    return tbl


def finish_table(tbl: Any, width: int = 9000) -> None:
    """Add the grid and preferred column widths taken from the content (autofit stays on).

    Every column gets at least its longest word (so no word is broken inside it), the rest
    of ``width`` (twips) goes to the columns by the length of their text.
    """
    rows = tbl.findall(w("tr"))
    cols = max((len(r.findall(w("tc"))) for r in rows), default=1) or 1
    longest = [1] * cols
    total = [1] * cols
    for r in rows:
        for index, cell in enumerate(r.findall(w("tc"))):
            text = "".join(t.text or "" for t in cell.iter(w("t")))
            words = text.split()
            longest[index] = max(longest[index], *(len(x) for x in words), 1)
            total[index] = max(total[index], len(text))
    # Up to 150 twips per character of 11-point text (wide letters, bold headers), plus the
    # cell margins and borders.
    minimum = [n * 150 + 300 for n in longest]
    spare = width - sum(minimum)
    if spare > 0:
        wanted = [max(t * 150 + 300 - m, 0) for t, m in zip(total, minimum, strict=True)]
        share = sum(wanted) or 1
        widths = [m + spare * x // share for m, x in zip(minimum, wanted, strict=True)]
    else:
        widths = [m * width // sum(minimum) for m in minimum]
    set_column_widths(tbl, widths)


def set_column_widths(tbl: Any, widths: list[int]) -> None:
    """Write the grid columns and each cell's preferred width (twips)."""
    grid = tbl.find(w("tblGrid"))
    for col in list(grid):
        grid.remove(col)
    for value in widths:
        sub(grid, "gridCol", w=str(value))
    pr = tbl.find(w("tblPr"))
    if pr is not None and pr.find(w("tblLayout")) is None:
        layout = sub(pr, "tblLayout", type="autofit")
        borders = pr.find(w("tblBorders"))
        if borders is not None:  # schema order: tblW, …, tblBorders, …, tblLayout
            borders.addnext(layout)
    for r in tbl.findall(w("tr")):
        for index, cell in enumerate(r.findall(w("tc"))):
            if index >= len(widths):
                break
            tcpr = cell.find(w("tcPr"))
            if tcpr is None:
                tcpr = etree.Element(w("tcPr"))
                cell.insert(0, tcpr)
            tcw = tcpr.find(w("tcW"))
            if tcw is None:
                tcw = sub(tcpr, "tcW")
                tcpr.insert(0, tcw)
            tcw.set(w("w"), str(widths[index]))
            tcw.set(w("type"), "dxa")


_SKIP = frozenset({"script", "style", "textarea", "title"})
_HTML_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z]+)[^>]*?(/?)\s*>")


def inline(p: Any, children: Iterable[Token], ctx: Context, *, bold: bool = False) -> None:
    """Render markdown-it inline tokens as runs (and hyperlinks) into a paragraph."""
    style = RunStyle(bold=bold)
    target = p
    skip = ""  # inside <script> or <style>: their content is dropped, as on the web
    for tok in children:
        kind = tok.type
        if skip:
            found = _HTML_TAG.fullmatch(tok.content.strip()) if kind == "html_inline" else None
            if found is not None and found.group(1) == "/" and found.group(2).lower() == skip:
                skip = ""
            continue
        if kind == "text":
            run(
                target,
                tok.content,
                style,
                char_style=ctx.styles.get("Hyperlink") if style.link else None,
            )
        elif kind in ("strong_open", "strong_close"):
            style = replace(style, bold=kind == "strong_open" or bold)
        elif kind in ("em_open", "em_close"):
            style = replace(style, italic=kind == "em_open")
        elif kind in ("s_open", "s_close"):
            style = replace(style, strike=kind == "s_open")
        elif kind == "code_inline":
            run(target, tok.content, replace(style, code=True), char_style=ctx.styles.get("Code"))
        elif kind == "softbreak":
            run(target, " ", style)
        elif kind == "hardbreak":
            run(target, "\n", style)
        elif kind == "link_open":
            href = str(tok.attrGet("href") or "")
            if href.startswith(("http://", "https://", "mailto:")):
                target = sub(p, "hyperlink")
                target.set(f"{{{R_NS}}}id", ctx.link(href))
                style = replace(style, link=href)
        elif kind == "link_close":
            target = p
            style = replace(style, link=None)
        elif kind == "image":
            run(target, tok.content or str(tok.attrGet("alt") or ""), style)
        elif kind == "footnote_ref" and ctx.footnote is not None:
            note = ctx.notes.get(int(tok.meta["id"]))
            if note is not None:
                ctx.footnote(target, note)
        elif kind == "html_inline":
            found = _HTML_TAG.fullmatch(tok.content.strip())
            if found is not None and not found.group(1) and found.group(2).lower() in _SKIP:
                skip = found.group(2).lower()
            else:
                style = _html_inline(target, tok.content, style)


def _html_inline(target: Any, html: str, style: RunStyle) -> RunStyle:
    """Apply an allowed inline HTML tag (u, sub, sup, br) as formatting; drop any other."""
    found = _HTML_TAG.fullmatch(html.strip())
    if found is None:
        return style
    closing, name = found.group(1) == "/", found.group(2).lower()
    if name == "br":
        run(target, "\n", style)
    elif name in ("u", "ins"):
        return replace(style, underline=not closing)
    elif name in ("sub", "sup"):
        vert = "subscript" if name == "sub" else "superscript"
        return replace(style, vert="" if closing else vert)
    return style
