"""Markdown footnotes as real Word footnotes: ``w:footnoteReference`` and the footnotes part.

Every reference in the text gets its own ``w:footnote`` (Word numbers them through the
document by their place, so a note referred to twice appears twice). Note paragraphs carry
the style FootnoteText, the reference mark FootnoteReference; both are defined here when the
document (or the reference template) lacks them. Links inside a note are related from the
footnotes part, where Word looks for them.

In a redline the old and the new text are both rendered: with ``dedupe`` on, a note whose
content and place are the same in both renders is one footnote, so the reference marks of
unchanged text compare equal; notes nobody refers to are dropped when the part is written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part, XmlPart
from docx.oxml.parser import parse_xml
from docx.shared import Pt
from lxml import etree

from exports.ooxml import R_NS, W_NS, ppr, sub, w

__all__ = ["Footnotes", "ensure_styles"]

_EMPTY = (
    f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0"'
    ' w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0"'
    ' w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p>'
    "</w:footnote></w:footnotes>"
)


def ensure_styles(doc: Any) -> None:
    """Define FootnoteText and FootnoteReference unless the document has them."""
    ids = {s.style_id for s in doc.styles}
    names = {s.name for s in doc.styles}
    if "FootnoteText" not in ids and "footnote text" not in names:
        text = doc.styles.add_style("footnote text", WD_STYLE_TYPE.PARAGRAPH)
        text.style_id = "FootnoteText"
        text.font.size = Pt(9)
        text.paragraph_format.space_before = Pt(0)
        text.paragraph_format.space_after = Pt(0)
    if "FootnoteReference" not in ids and "footnote reference" not in names:
        mark = doc.styles.add_style("footnote reference", WD_STYLE_TYPE.CHARACTER)
        mark.style_id = "FootnoteReference"
        mark.font.superscript = True


class Footnotes:
    """Collects the footnotes of one document; call :meth:`finish` before saving."""

    def __init__(self, doc: Any, text_style: str | None, mark_style: str | None) -> None:
        self.doc = doc
        self.text_style = text_style
        self.mark_style = mark_style
        self.dedupe = False
        self._part: Any = None
        self._root: Any = None
        self._next = 1
        self._seen: dict[tuple[bytes, int], int] = {}
        self._counts: dict[bytes, int] = {}
        self._links: dict[str, str] = {}

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Within: the n-th note of some content is the same footnote in every render."""
        self.dedupe, self._seen, self._counts = True, {}, {}
        try:
            yield
        finally:
            self.dedupe, self._seen, self._counts = False, {}, {}

    def next_render(self) -> None:
        """Start the next render of the same text (counts of equal notes start again)."""
        self._counts = {}

    def reference(self, parent: Any, blocks: Sequence[Any]) -> Any:
        """Append a reference run to ``parent`` for a note made of ``blocks``; return the run."""
        ident = None
        if self.dedupe:
            content = b"".join(etree.tostring(b) for b in blocks)
            nth = self._counts[content] = self._counts.get(content, 0) + 1
            key = (content, nth)
            ident = self._seen.get(key)
        if ident is None:
            ident = self._add(blocks)
            if self.dedupe:
                self._seen[key] = ident
        r = sub(parent, "r")
        if self.mark_style:
            sub(sub(r, "rPr"), "rStyle", val=self.mark_style)
        else:
            sub(sub(r, "rPr"), "vertAlign", val="superscript")
        sub(r, "footnoteReference", id=str(ident))
        return r

    def _add(self, blocks: Sequence[Any]) -> int:
        root = self._ensure_part()
        ident = self._next
        self._next += 1
        note = sub(root, "footnote", id=str(ident))
        first = True
        for block in blocks:
            el = copy.deepcopy(block)
            if el.tag == w("p"):
                self._style(el)
                if first:
                    self._mark(el)
            first = False
            for link in el.iter(w("hyperlink")):
                self._relink(link)
            note.append(el)
        if first:  # an empty note still needs a paragraph with its mark
            p = sub(note, "p")
            self._style(p)
            self._mark(p)
        return ident

    def _style(self, p: Any) -> None:
        pr = ppr(p)
        if pr.find(w("numPr")) is not None or not self.text_style:
            return
        style = pr.find(w("pStyle"))
        if style is None:
            style = etree.Element(w("pStyle"))
            pr.insert(0, style)
        style.set(w("val"), self.text_style)

    def _mark(self, p: Any) -> None:
        r = etree.Element(w("r"))
        rpr = sub(r, "rPr")
        if self.mark_style:
            sub(rpr, "rStyle", val=self.mark_style)
        else:
            sub(rpr, "vertAlign", val="superscript")
        sub(r, "footnoteRef")
        space = etree.Element(w("r"))
        t = sub(space, "t")
        t.text = " "
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        pr = p.find(w("pPr"))
        at = 1 if pr is not None else 0
        p.insert(at, r)
        p.insert(at + 1, space)

    def _relink(self, link: Any) -> None:
        rid = link.get(f"{{{R_NS}}}id")
        if not rid:
            return
        rel = self.doc.part.rels.get(rid)
        if rel is None or not rel.is_external:
            link.attrib.pop(f"{{{R_NS}}}id", None)
            return
        url = rel.target_ref
        if url not in self._links:
            self._links[url] = self._part.relate_to(url, RT.HYPERLINK, is_external=True)
        link.set(f"{{{R_NS}}}id", self._links[url])

    def _ensure_part(self) -> Any:
        if self._root is not None:
            return self._root
        existing = None
        for rel in self.doc.part.rels.values():
            if rel.reltype == RT.FOOTNOTES and not rel.is_external:
                existing = rel.target_part
                break
        if existing is None:
            self._root = parse_xml(_EMPTY)
            self._part = XmlPart(
                PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, self._root, self.doc.part.package
            )
            self.doc.part.relate_to(self._part, RT.FOOTNOTES)
        else:
            # A reference template's own part: keep its separators, drop any notes it holds.
            self._part = existing
            self._root = (
                existing.element if isinstance(existing, XmlPart) else parse_xml(existing.blob)
            )
            for note in list(self._root.findall(w("footnote"))):
                if note.get(w("type")) in (None, "normal"):
                    self._root.remove(note)
            ids = [int(n.get(w("id"), "0")) for n in self._root.findall(w("footnote"))]
            self._next = max([0, *ids]) + 1
        return self._root

    def finish(self, body: Any) -> None:
        """Drop notes no reference in ``body`` points to, and write the part."""
        if self._root is None:
            return
        used = {int(r.get(w("id"), "0")) for r in body.iter(w("footnoteReference"))}
        for note in list(self._root.findall(w("footnote"))):
            if note.get(w("type")) in (None, "normal") and int(note.get(w("id"))) not in used:
                self._root.remove(note)
        if not isinstance(self._part, XmlPart) and isinstance(self._part, Part):
            self._part._blob = etree.tostring(
                self._root, xml_declaration=True, encoding="UTF-8", standalone=True
            )
