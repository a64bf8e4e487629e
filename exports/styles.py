"""The styles an export uses beyond headings and lists: comments, code, quotes, table text,
footnotes and captions — each taken from the reference document when it has it.

Word stores built-in styles under their English names ("annotation text", "footnote text",
"caption") whatever the language of the user interface, with ids that depend on it
("CommentText" in an English Word, "Kommentartext" in a German one). A style is looked up by
its name (or a common alias, e.g. LibreOffice's "Table Contents"), case-insensitively; only a
style the reference lacks is defined here. The ids python-docx writes into comments
(``CommentText``, ``CommentReference``) are given to the reference's own comment styles, so no
part refers to a style id that is not defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.shared import Pt

from exports.ooxml import w

PARAGRAPH, CHARACTER = WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.CHARACTER

# Names under which the builder (and the footnote and figure modules) find the style ids.
COMMENT_TEXT = "annotation text"
COMMENT_REFERENCE = "annotation reference"
CODE = "Code"
CODE_BLOCK = "Code Block"
QUOTE = "Quote"
TABLE_TEXT = "Table Text"
FOOTNOTE_TEXT = "footnote text"
FOOTNOTE_REFERENCE = "footnote reference"
CAPTION = "caption"


def _comment_text(style: Any) -> None:
    style.font.size = Pt(10)


def _comment_reference(style: Any) -> None:
    style.font.size = Pt(8)


def _code(style: Any) -> None:
    style.font.name = "Courier New"


def _code_block(style: Any) -> None:
    style.font.name = "Courier New"
    style.font.size = Pt(10)
    style.paragraph_format.space_before = Pt(0)
    style.paragraph_format.space_after = Pt(0)


def _quote(style: Any) -> None:
    style.font.italic = True


def _table_text(style: Any) -> None:
    style.paragraph_format.space_before = Pt(0)
    style.paragraph_format.space_after = Pt(0)


def _footnote_text(style: Any) -> None:
    style.font.size = Pt(10)
    style.paragraph_format.space_after = Pt(0)


def _footnote_reference(style: Any) -> None:
    style.font.superscript = True


def _caption(style: Any) -> None:
    style.font.italic = True
    style.font.size = Pt(9)
    style.paragraph_format.space_after = Pt(10)


@dataclass(frozen=True)
class Spec:
    """A style the export needs: its name, the id it gets when defined here, fallbacks."""

    name: str
    style_id: str
    kind: WD_STYLE_TYPE
    defaults: Callable[[Any], None]
    aliases: tuple[str, ...] = ()
    fixed_id: bool = False  # python-docx writes this id itself: the style must carry it
    based_on: str | None = None


SPECS: tuple[Spec, ...] = (
    Spec(COMMENT_TEXT, "CommentText", PARAGRAPH, _comment_text, fixed_id=True, based_on="Normal"),
    Spec(COMMENT_REFERENCE, "CommentReference", CHARACTER, _comment_reference, fixed_id=True),
    Spec(CODE, "Code", CHARACTER, _code, aliases=("HTML Code", "Verbatim Char")),
    Spec(CODE_BLOCK, "CodeBlock", PARAGRAPH, _code_block, aliases=("HTML Preformatted",)),
    Spec(QUOTE, "Quote", PARAGRAPH, _quote, aliases=("Quotations",)),
    Spec(TABLE_TEXT, "TableText", PARAGRAPH, _table_text, aliases=("Table Contents", "Compact")),
    Spec(FOOTNOTE_TEXT, "FootnoteText", PARAGRAPH, _footnote_text, based_on="Normal"),
    Spec(FOOTNOTE_REFERENCE, "FootnoteReference", CHARACTER, _footnote_reference),
    Spec(CAPTION, "Caption", PARAGRAPH, _caption, based_on="Normal"),
)


def _name(style: Any) -> str:
    """Return a style's name as stored (python-docx shows "Caption" for "caption")."""
    el = style.element.find(w("name"))
    return str(el.get(w("val")) if el is not None else style.name or "").lower()


def ensure(doc: Any) -> dict[str, str]:
    """Find or define every style of :data:`SPECS`; return their ids by the names above."""
    found: dict[tuple[Any, str], Any] = {}
    for style in doc.styles:
        found.setdefault((style.type, _name(style)), style)
    ids: dict[str, str] = {}
    for spec in SPECS:
        style = next(
            (
                found[(spec.kind, candidate.lower())]
                for candidate in (spec.name, *spec.aliases)
                if (spec.kind, candidate.lower()) in found
            ),
            None,
        )
        if style is None:
            taken = doc.styles.element.find(f"{w('style')}[@{w('styleId')}='{spec.style_id}']")
            if taken is not None and spec.fixed_id:
                style = next(s for s in doc.styles if s.style_id == spec.style_id)
            else:
                style = doc.styles.add_style(spec.name, spec.kind)
                if taken is None:
                    style.style_id = spec.style_id
                if spec.based_on and spec.kind == PARAGRAPH:
                    base = next((s for s in doc.styles if s.name == spec.based_on), None)
                    if base is not None:
                        style.base_style = base
                spec.defaults(style)
        if spec.fixed_id and style.style_id != spec.style_id:
            if doc.styles.element.find(f"{w('style')}[@{w('styleId')}='{spec.style_id}']") is None:
                _rename(doc, style.style_id, spec.style_id)
        ids[spec.name] = style.style_id
    return ids


def _rename(doc: Any, old: str, new: str) -> None:
    """Give a style another id, and every reference to it in the styles part."""
    root = doc.styles.element
    for el in root.iter(w("style")):
        if el.get(w("styleId")) == old:
            el.set(w("styleId"), new)
    for tag in ("basedOn", "next", "link"):
        for el in root.iter(w(tag)):
            if el.get(w("val")) == old:
                el.set(w("val"), new)
