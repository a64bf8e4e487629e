"""Figures in the Word document: an inline picture and a caption "Abbildung N: …".

A section places a figure with a paragraph of its own, ``![Caption](figure:<id>)``. The
picture (the stored, re-encoded PNG or JPEG) is scaled to fit the text width at 96 dpi; the
caption paragraph has the style Caption and its number is a ``SEQ`` field whose result is
written, so every reader shows it without updating fields. Numbers run through the document;
:func:`renumber` sets them once all blocks are in place (a redline renders old and new text,
and a deleted figure takes no number).
"""

from __future__ import annotations

import io
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.shape import CT_Inline
from docx.shared import Emu, Pt

from exports.data import FigureData
from exports.ooxml import paragraph, ppr, run, sub, w

__all__ = ["FigureWriter", "ensure_styles", "renumber"]

EMU_PER_PX = 9525  # 96 dpi


def ensure_styles(doc: Any) -> None:
    """Define the Caption style unless the document has it."""
    ids = {s.style_id for s in doc.styles}
    names = {s.name for s in doc.styles}
    if "Caption" not in ids and "caption" not in names:
        caption = doc.styles.add_style("Caption", WD_STYLE_TYPE.PARAGRAPH)
        caption.style_id = "Caption"
        caption.font.size = Pt(9)
        caption.font.italic = True
        caption.paragraph_format.space_after = Pt(10)


class FigureWriter:
    """Writes figure blocks into one document."""

    def __init__(
        self,
        doc: Any,
        figures: dict[int, FigureData],
        *,
        label: str,
        body_style: str | None,
        caption_style: str | None,
        max_width_emu: int,
    ) -> None:
        self.doc = doc
        self.figures = figures
        self.label = label
        self.body_style = body_style
        self.caption_style = caption_style
        self.max_width = max_width_emu
        self._shape = 300_000  # drawing ids apart from bookmarks and comments
        self._inlines: dict[int, tuple[str, str, int, int]] = {}

    def blocks(self, figure_id: int, caption: str) -> list[Any]:
        """Return the picture paragraph and the caption paragraph of one placed figure."""
        out = []
        figure = self.figures.get(figure_id)
        if figure is not None:
            picture = paragraph(self.body_style)
            pr = ppr(picture)
            sub(pr, "keepNext")
            sub(pr, "jc", val="center")
            drawing = sub(sub(picture, "r"), "drawing")
            drawing.append(self._inline(figure, caption))
            out.append(picture)
        cap = paragraph(self.caption_style or self.body_style)
        run(cap, f"{self.label} ")
        _seq_field(cap, "".join(self.label.split()) or "Figure", "1")
        run(cap, f": {caption}" if caption else "")
        out.append(cap)
        return out

    def _inline(self, figure: FigureData, caption: str) -> Any:
        known = self._inlines.get(figure.id)
        if known is None:
            rid, image = self.doc.part.get_or_add_image(io.BytesIO(figure.data))
            cx, cy = figure.width * EMU_PER_PX, figure.height * EMU_PER_PX
            if cx > self.max_width:
                cx, cy = self.max_width, cy * self.max_width // cx
            known = self._inlines[figure.id] = (rid, image.filename, cx, cy)
        rid, filename, cx, cy = known
        self._shape += 1
        inline = CT_Inline.new_pic_inline(self._shape, rid, filename, Emu(cx), Emu(cy))
        inline.docPr.set("descr", caption)  # the alternative text readers announce
        return inline


def _seq_field(p: Any, name: str, result: str) -> None:
    sub(sub(p, "r"), "fldChar", fldCharType="begin")
    instr = sub(sub(p, "r"), "instrText")
    instr.text = f" SEQ {name} \\* ARABIC "
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    sub(sub(p, "r"), "fldChar", fldCharType="separate")
    run(p, result)
    sub(sub(p, "r"), "fldChar", fldCharType="end")


def renumber(blocks: list[Any]) -> int:
    """Number the figure captions of the blocks 1, 2, … in order, skipping deleted ones.

    Returns how many figures were numbered.
    """
    number = 0
    for block in blocks:
        if block.tag != w("p") or block.find(f".//{w('instrText')}") is None:
            continue
        if block.find(f"{w('pPr')}/{w('rPr')}/{w('del')}") is not None:
            continue  # a deleted figure takes no number
        result = _seq_result(block)
        if result is not None:
            number += 1
            result.text = str(number)
    return number


def _seq_result(p: Any) -> Any:
    """Return the w:t holding the result of the paragraph's SEQ field, if it has one."""
    in_seq = separated = False
    for el in p.iter(w("instrText"), w("fldChar"), w("t")):
        if el.tag == w("instrText"):
            in_seq = (el.text or "").strip().startswith("SEQ ")
        elif el.tag == w("fldChar"):
            kind = el.get(w("fldCharType"))
            separated = in_seq and kind == "separate"
            if kind == "end":
                in_seq = False
        elif separated:
            return el
    return None
