"""Read a .docx into sections of Markdown, keeping Word's tracked changes apart.

The main part is found through the package relationships (``_rels/.rels``). Headings are
found by outline level: a paragraph's own ``w:outlineLvl``, else its style's — following the
``w:basedOn`` chain, so a custom style based on "Heading 2" is a level-2 heading. Levels 1–3
start sections; 4–6 are sub-headings inside a section. Text before the first heading becomes
an introductory section; a document without headings becomes one section.

Each section keeps its block elements, so its Markdown can be rendered in several readings:
the original text (no tracked change applied), the accepted text (all applied), or the text
with only one Word author's changes applied (one suggestion per author). Word "moves" count as
a deletion at the source and an insertion at the target.

Footnotes and endnotes become Markdown footnotes (``[^1]`` and a definition at the end of the
section); comments are collected with their passage, author, date and replies. Whatever is not
carried over exactly — images, text boxes, charts, equations, merged cells, fields, formatting
Markdown cannot express — is listed in :attr:`ImportedDocument.lost` with where it was and
what was done with it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from drafting.text.outline import heading_numbers
from exports.docx_safety import SAFE_PARSER, Limits, UnsafeDocument, check
from exports.docx_safety import read_xml as _read_xml

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
DC = "http://purl.org/dc/elements/1.1/"
NS = {"w": W, "r": R}
OFFICE_DOCUMENT = "/officeDocument"
ANNEX_TITLES = {"anlage: mitzeichnung", "annex: sign-off"}
_NUMBER_PREFIX = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_KW_BOOKMARK = re.compile(r"^_kw_s(\d+)_v(\d+)$")


# Strict Open XML (ISO/IEC 29500 strict) spells the namespaces differently: read as transitional.
_STRICT = (
    (b"http://purl.oclc.org/ooxml/wordprocessingml/main", W.encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships", R.encode()),
    (
        b"http://purl.oclc.org/ooxml/drawingml/main",
        b"http://schemas.openxmlformats.org/drawingml/2006/main",
    ),
    (
        b"http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing",
        b"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    ),
    (
        b"http://purl.oclc.org/ooxml/officeDocument/math",
        b"http://schemas.openxmlformats.org/officeDocument/2006/math",
    ),
)


def read_xml(archive: zipfile.ZipFile, name: str) -> Any:
    """Read one part safely; a Strict Open XML part is read in the transitional namespaces."""
    root = _read_xml(archive, name)
    if b"purl.oclc.org/ooxml" not in etree.tostring(root)[:4000]:
        return root
    raw = etree.tostring(root)
    for strict, transitional in _STRICT:
        raw = raw.replace(strict, transitional)
    return etree.fromstring(raw, SAFE_PARSER)  # the safe parser: no DTDs, no entities


def _(message: str, **params: object) -> str:
    """Translate a report message (English outside an application context)."""
    try:
        from flask_babel import gettext

        return str(gettext(message, **params))
    except RuntimeError:
        return message % params if params else message


def ngettext(singular: str, plural: str, num: int, **params: object) -> str:
    """Translate a report message with a count (English outside an application context)."""
    try:
        from flask_babel import ngettext as translate

        return str(translate(singular, plural, num, **params))
    except RuntimeError:
        return (singular if num == 1 else plural) % {"num": num, **params}


def _l(message: str) -> str:
    """Mark a message for extraction (no-op); :func:`_` translates it when used."""
    return message


def q(tag: str) -> str:
    """Return the Clark name of a w: tag."""
    return f"{{{W}}}{tag}"


Accept = Callable[[str], bool]
"""Which tracked changes a reading applies: called with the change's author."""


def accept_none(_author: str) -> bool:
    """The original reading: no tracked change applied."""
    return False


def accept_all(_author: str) -> bool:
    """The accepted reading: every tracked change applied."""
    return True


@dataclass(frozen=True)
class Lost:
    """An element not carried over exactly: its kind, where it was and what was done."""

    kind: str
    where: str
    what: str


@dataclass
class ImportedFigure:
    """An embedded picture: its bytes, file name and caption (alt text or Word caption)."""

    key: str  # the placeholder's id: the Markdown holds ![caption](figure:<key>)
    data: bytes
    filename: str
    caption: str
    where: str = ""


FIGURE_PLACEHOLDER = re.compile(r"!\[((?:\\.|[^\]\\])*)\]\(figure:(word\d+)\)")


@dataclass
class ImportedComment:
    """A Word comment: author, date, text, the passage it marks and its thread."""

    id: str
    author: str
    date: str
    text: str
    section: int = -1  # index into ImportedDocument.sections; -1 = outside any section
    quote: str = ""
    parent: str | None = None


@dataclass
class ImportedSection:
    """A section read from Word: title, level and its blocks in every reading."""

    title: str
    level: int
    accepted_title: str = ""
    authors: set[str] = field(default_factory=set)
    elements: list[Any] = field(default_factory=list)
    reader: _Reader | None = field(default=None, repr=False)
    bookmark: tuple[int, int] | None = None  # (section id, version) an export wrote
    title_lost: str = ""  # the full heading when it had to be shortened
    quotes: dict[str, str] = field(default_factory=dict)  # comment id → marked passage
    heading_deleted: bool = False  # the heading is a tracked deletion
    _cache: dict[Any, str] = field(default_factory=dict, repr=False)

    def render(self, accept: Accept) -> str:
        """Return the section's Markdown with the tracked changes ``accept`` applies."""
        if accept in self._cache:
            return self._cache[accept]
        if self.reader is None:
            return ""
        text = _Pass(self.reader, accept, self).body(self.elements)
        self._cache[accept] = text
        return text

    def render_for(self, author: str) -> str:
        """Return the Markdown with only one Word author's tracked changes applied."""
        if self.reader is None:
            return ""
        return _Pass(self.reader, lambda a: a == author, self).body(self.elements)

    @property
    def body(self) -> str:
        """The section's Markdown without the tracked changes."""
        return self.render(accept_none)

    @property
    def accepted_body(self) -> str:
        """The section's Markdown with all tracked changes accepted."""
        return self.render(accept_all)

    @property
    def changed(self) -> bool:
        """Tell whether Word's tracked changes touch this section."""
        return self.body != self.accepted_body or self.title != self.accepted_title


@dataclass
class ImportedDocument:
    """What a .docx holds for Konzeptwerk."""

    title: str
    sections: list[ImportedSection]
    comments: list[ImportedComment] = field(default_factory=list)
    lost: list[Lost] = field(default_factory=list)
    footnotes: int = 0
    figures: list[ImportedFigure] = field(default_factory=list)
    exported: bool = False  # the file is a Konzeptwerk export (numbered, bookmarked headings)

    @property
    def has_tracked_changes(self) -> bool:
        """Tell whether any section carries tracked changes."""
        return any(s.changed for s in self.sections)


def _join(blocks: list[str]) -> str:
    # Consecutive list items stay together; other blocks are separated by blank lines.
    groups: list[list[str]] = []
    for block in blocks:
        if groups and _is_item(block) and _is_item(groups[-1][-1]):
            groups[-1].append(block)
        else:
            groups.append([block])
    out = ("\n".join(group) for group in groups)
    return "\n\n".join(b for b in out if b.strip()).strip()


_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.)\s")


def _is_item(block: str) -> bool:
    # Only the last line counts; rpartition keeps a long list linear to join.
    return _ITEM.match(block.rpartition("\n")[2]) is not None


def strip_number(title: str) -> str:
    """Remove a heading number like "2.1 " that an export put before the title."""
    return _NUMBER_PREFIX.sub("", title).strip()


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


_ORDERED_START = re.compile(r"^(\s*\d{1,9})([.)])(?=\s|$)", re.M)
_OTHER_START = re.compile(r"^(\s*)([-+#=])", re.M)


def _escape_line_starts(text: str) -> str:
    """Escape line starts Markdown would read as a list item, heading or rule.

    "1. Januar" opening a Word paragraph is text, not a numbered list.
    """
    return _OTHER_START.sub(r"\1\\\2", _ORDERED_START.sub(r"\1\\\2", text))


def _rels_of(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str, bool]]:
    """Return a part's relationships: id → (type, target part or URL, external?)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in archive.namelist():
        return {}
    out = {}
    for rel in read_xml(archive, rels).iter(f"{{{PR}}}Relationship"):
        external = rel.get("TargetMode") == "External"
        target = rel.get("Target", "")
        if not external:
            target = posixpath.normpath(
                target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            )
        out[rel.get("Id", "")] = (rel.get("Type", ""), target, external)
    return out


def main_part(archive: zipfile.ZipFile) -> str:
    """Find the main document part through ``_rels/.rels`` (``word/document.xml`` else)."""
    for kind, target, external in _rels_of(archive, "").values():
        if kind.endswith(OFFICE_DOCUMENT) and not external and target in archive.namelist():
            return target
    if "word/document.xml" in archive.namelist():
        return "word/document.xml"
    raise UnsafeDocument("This ZIP file is not a Word document (.docx).")


@dataclass
class _Style:
    name: str
    based_on: str
    outline: int | None
    code: bool
    kind: str


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.main = main_part(archive)
        self.document = read_xml(archive, self.main)
        self.rels = _rels_of(archive, self.main)
        self.code_styles: set[str] = set()
        self.styles = self._styles()
        self.links = {rid: t for rid, (_k, t, ext) in self.rels.items() if ext}
        self.numbering = self._numbering()
        self.notes = {"footnote": self._notes("footnotes"), "endnote": self._notes("endnotes")}
        self.lost: list[Lost] = []
        self.figures: dict[str, ImportedFigure] = {}
        self.comment_parts = self._comments()

    def part(self, kind: str) -> str | None:
        for rel_kind, target, external in self.rels.values():
            if rel_kind.endswith("/" + kind) and not external and target in self.archive.namelist():
                return target
        return None

    def _styles(self) -> dict[str, _Style]:
        name = self.part("styles")
        if name is None:
            return {}
        root = read_xml(self.archive, name)
        out = {}
        for style in root.iter(q("style")):
            sid = style.get(q("styleId")) or ""
            name_el = style.find(q("name"))
            based = style.find(q("basedOn"))
            outline = style.find(f"{q('pPr')}/{q('outlineLvl')}")
            fonts = style.find(f"{q('rPr')}/{q('rFonts')}")
            kind = style.get(q("type")) or ""
            code = kind == "character" and _is_code_font(fonts)
            if code:
                self.code_styles.add(sid)
            out[sid] = _Style(
                (name_el.get(q("val")) if name_el is not None else sid) or sid,
                (based.get(q("val")) if based is not None else "") or "",
                _int(outline.get(q("val"))) if outline is not None else None,
                code,
                kind,
            )
        return out

    def _numbering(self) -> dict[tuple[str, str], bool]:
        """Map (numId, ilvl) → ordered?"""
        name = self.part("numbering")
        if name is None:
            return {}
        root = read_xml(self.archive, name)
        abstract: dict[str, dict[str, bool]] = {}
        for a in root.iter(q("abstractNum")):
            levels = {}
            for lvl in a.iter(q("lvl")):
                fmt = lvl.find(q("numFmt"))
                levels[lvl.get(q("ilvl")) or "0"] = fmt is not None and fmt.get(q("val")) not in (
                    "bullet",
                    "none",
                )
            abstract[a.get(q("abstractNumId")) or ""] = levels
        out = {}
        for num in root.iter(q("num")):
            ref = num.find(q("abstractNumId"))
            levels = abstract.get(ref.get(q("val")) if ref is not None else "", {})
            for ilvl, ordered in levels.items():
                out[(num.get(q("numId")) or "", ilvl)] = ordered
        return out

    def _notes(self, kind: str) -> dict[str, Any]:
        name = self.part(kind)
        if name is None:
            return {}
        root = read_xml(self.archive, name)
        tag = q(kind[:-1])
        return {
            n.get(q("id")) or "": n for n in root.iter(tag) if n.get(q("type")) in (None, "normal")
        }

    def _comments(self) -> list[ImportedComment]:
        name = self.part("comments")
        if name is None:
            return []
        root = read_xml(self.archive, name)
        comments = []
        para_of: dict[str, str] = {}
        for c in root.iter(q("comment")):
            cid = c.get(q("id")) or ""
            paragraphs = c.findall(f".//{q('p')}")
            plain = _Pass(self, accept_all, None)
            plain.plain = True
            texts = [" ".join(plain.inline(p).split()) for p in paragraphs]
            if paragraphs:
                pid = paragraphs[-1].get(f"{{{W14}}}paraId")
                if pid:
                    para_of[pid] = cid
            comments.append(
                ImportedComment(
                    cid,
                    (c.get(q("author")) or "").strip(),
                    c.get(q("date")) or "",
                    "\n\n".join(t for t in texts if t),
                )
            )
        extended = self.part("commentsExtended")
        if extended is not None:
            by_id = {c.id: c for c in comments}
            for ex in read_xml(self.archive, extended).iter(f"{{{W15}}}commentEx"):
                parent_para = ex.get(f"{{{W15}}}paraIdParent")
                own = para_of.get(ex.get(f"{{{W15}}}paraId") or "")
                if parent_para and own in by_id:
                    by_id[own].parent = para_of.get(parent_para)
        return comments

    def style(self, p: Any) -> str:
        ps = p.find(f"{q('pPr')}/{q('pStyle')}")
        return (ps.get(q("val")) if ps is not None else "") or ""

    def style_name(self, p: Any) -> str:
        sid = self.style(p)
        s = self.styles.get(sid)
        return s.name if s is not None else sid

    def level(self, p: Any) -> int | None:
        """The heading level (1–9) of a paragraph, or None for body text."""
        own = p.find(f"{q('pPr')}/{q('outlineLvl')}")
        if own is not None:
            lvl = _int(own.get(q("val")))
            return lvl + 1 if lvl is not None and lvl < 9 else None
        sid = self.style(p)
        if not sid and not self.styles:
            return None
        seen: set[str] = set()
        while sid and sid not in seen:
            seen.add(sid)
            s = self.styles.get(sid)
            if s is None:
                return _heading_level(sid)
            named = _heading_level(s.name)
            if named is not None:
                return named
            if s.outline is not None:
                return s.outline + 1 if s.outline < 9 else None
            sid = s.based_on
        return None

    def lose(self, kind: str, where: str, what: str) -> None:
        self.lost.append(Lost(kind, where, what))


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _is_code_font(fonts: Any) -> bool:
    if fonts is None:
        return False
    face = (fonts.get(q("ascii")) or fonts.get(q("hAnsi")) or "").lower()
    return "courier" in face or "consolas" in face or face.endswith(" mono")


def _heading_level(style: str) -> int | None:
    m = re.match(r"^(?:heading|überschrift)\s*(\d)$", style.strip(), re.IGNORECASE)
    return int(m.group(1)) if m and m.group(1) != "0" else None


def _on(el: Any) -> bool:
    return el is not None and el.get(q("val")) not in ("0", "false", "off")


_CHANGE = {q("ins"): True, q("moveTo"): True, q("del"): False, q("moveFrom"): False}
_FORMATS = {
    "u": _l("Underline"),
    "highlight": _l("Highlight"),
    "color": _l("Colour"),
    "vertAlign": _l("Superscript or subscript"),
    "smallCaps": _l("Small capitals"),
    "caps": _l("Capitals"),
}


class _Pass:
    """One rendering of a section's blocks: which changes apply, footnote numbers, lists."""

    def __init__(self, reader: _Reader, accept: Accept, section: ImportedSection | None) -> None:
        self.reader = reader
        self.accept = accept
        self.section = section
        self.report = accept is accept_all and section is not None  # report once per section
        self.counters: dict[tuple[str, str], int] = {}
        self.parents: list[str] = []
        self.notes: list[str] = []
        self.paragraph = 0
        self.plain = False
        self.formats: dict[str, int] = {}
        self.field: list[dict[str, Any]] = []
        self.open_comments: set[str] = set()
        self.quotes: dict[str, list[str]] = {}
        self.extra: list[str] = []  # text boxes' paragraphs, after the paragraph holding them
        self.images = 0  # pictures placed so far (a Caption paragraph after one is its caption)

    # -- reporting -----------------------------------------------------------------------

    def where(self) -> str:
        title = self.section.title if self.section is not None else ""
        return f"{title} ¶{self.paragraph}" if self.paragraph else title

    def lose(self, kind: str, what: str) -> None:
        if self.report:
            self.reader.lose(kind, self.where(), what)

    # -- inline ----------------------------------------------------------------------------

    def inline(self, node: Any) -> str:
        """Render a paragraph's inline content as Markdown (this pass's reading)."""
        parts: list[str] = []
        for child in node:
            parts.append(self._child(child))
        return _merge_marks("".join(parts))

    def _child(self, child: Any) -> str:
        tag = child.tag
        if tag == q("r"):
            return self._run(child)
        if tag == q("hyperlink"):
            text = self.inline(child)
            url = self.reader.links.get(child.get(f"{{{R}}}id") or "", "")
            anchor = child.get(q("anchor"))
            if not url and anchor:
                url = f"#{anchor}"
            return f"[{text}]({_url(url)})" if url and text and not self.plain else text
        if tag in _CHANGE:
            author = (child.get(q("author")) or "").strip()
            if self.section is not None:
                self.section.authors.add(author)
            inserted = _CHANGE[tag]
            if self.accept(author) == inserted:
                return self.inline(child)
            return ""
        if tag in (q("smartTag"), q("customXml"), q("fldSimple"), q("bdo"), q("dir")):
            if tag == q("fldSimple"):
                instr = (child.get(q("instr")) or "").strip()
                text = self.inline(child)
                link = _field_link(instr)
                if link and text and not self.plain:
                    return f"[{text}]({_url(link)})"
                if not link and text:
                    self.lose(
                        "field",
                        _(
                            "%(field)s: its result “%(text)s” was kept as text",
                            field=instr.split(" ")[0],
                            text=_short(text),
                        ),
                    )
                return text
            return self.inline(child)
        if tag == q("sdt"):
            content = child.find(q("sdtContent"))
            return self.inline(content) if content is not None else ""
        if tag in (f"{{{M}}}oMath", f"{{{M}}}oMathPara"):
            text = "".join(t.text or "" for t in child.iter(f"{{{M}}}t"))
            self.lose("equation", _("kept as plain text “%(text)s”", text=_short(text)))
            return _escape(text)
        if tag == q("commentRangeStart"):
            self.open_comments.add(child.get(q("id")) or "")
            return ""
        if tag == q("commentRangeEnd"):
            self.open_comments.discard(child.get(q("id")) or "")
            return ""
        if tag == f"{{{MC}}}AlternateContent":
            choice = child.find(f"{{{MC}}}Choice")
            return self.inline(choice) if choice is not None else ""
        return ""

    def _run(self, r: Any) -> str:
        rpr = r.find(q("rPr"))
        bold = italic = strike = code = False
        if rpr is not None and not self.plain:
            bold = _on(rpr.find(q("b")))
            italic = _on(rpr.find(q("i")))
            strike = _on(rpr.find(q("strike"))) or _on(rpr.find(q("dstrike")))
            char_style = rpr.find(q("rStyle"))
            style_id = char_style.get(q("val")) if char_style is not None else ""
            code = _is_code_font(rpr.find(q("rFonts"))) or style_id in self.reader.code_styles
            if self.report and not (style_id or "").lower().startswith(("footnote", "endnote")):
                for tag, kind in _FORMATS.items():
                    el = rpr.find(q(tag))
                    if el is not None and el.get(q("val")) not in ("0", "false", "none", "auto"):
                        if tag == "color" and style_id.lower().startswith("hyperlink"):
                            continue
                        if tag == "vertAlign" and el.get(q("val")) == "baseline":
                            continue
                        self.formats[kind] = self.formats.get(kind, 0) + 1
        text: list[str] = []
        notes: list[str] = []
        for child in r:
            tag = child.tag
            if tag in (q("t"), q("delText")):
                text.append(child.text or "")
            elif tag == q("tab"):
                text.append("\t")
            elif tag in (q("br"), q("cr")) and child.get(q("type")) in (None, "textWrapping"):
                text.append("\n")
            elif tag == q("noBreakHyphen"):
                text.append("-")
            elif tag == q("sym"):
                char = child.get(q("char")) or ""
                self.lose(
                    "symbol",
                    _(
                        "symbol %(char)s of the font %(font)s left out",
                        char=char,
                        font=child.get(q("font")) or "",
                    ),
                )
            elif tag == q("fldChar"):
                self._fld(child.get(q("fldCharType")) or "")
            elif tag == q("instrText"):
                if self.field:
                    self.field[-1]["instr"] += child.text or ""
            elif tag in (q("footnoteReference"), q("endnoteReference")):
                notes.append(self._note(tag, child.get(q("id")) or ""))
            elif tag in (q("drawing"), q("pict"), q("object")):
                notes.append(self._drawing(child))
            elif tag == f"{{{MC}}}AlternateContent":
                choice = child.find(f"{{{MC}}}Choice")
                if choice is not None:
                    for sub in choice:
                        if sub.tag in (q("drawing"), q("pict")):
                            notes.append(self._drawing(sub))
        if self.field and self.field[-1]["state"] == "instr":
            return ""  # field code, not text
        raw = "".join(text)
        for quote in self.open_comments:
            self.quotes.setdefault(quote, []).append(raw)
        note_text = "".join(notes)
        if not raw:
            return note_text
        if self.plain:
            return raw + note_text
        if code:
            # A fence longer than any run of backticks inside keeps the code intact.
            fence = "`" * (max(map(len, re.findall(r"`+", raw)), default=0) + 1)
            pad = " " if raw.startswith("`") or raw.endswith("`") else ""
            return f"{fence}{pad}{raw}{pad}{fence}{note_text}"
        lines = raw.split("\n")
        rendered = []
        for line in lines:
            body = _escape(line)
            core = body.strip()
            if core and (bold or italic or strike):
                lead = body[: len(body) - len(body.lstrip())]
                trail = body[len(body.rstrip()) :]
                mark = ("**" if bold else "") + ("*" if italic else "")
                core = f"{mark}{core}{mark[::-1]}"
                if strike:
                    core = f"~~{core}~~"
                body = lead + core + trail
            rendered.append(body)
        out = "\\\n".join(rendered)
        if self.field and self.field[-1]["state"] == "result":
            self.field[-1]["result"].append(out)
            return ""
        return out + note_text

    def _fld(self, kind: str) -> None:
        if kind == "begin":
            self.field.append({"state": "instr", "instr": "", "result": []})
        elif kind == "separate" and self.field:
            self.field[-1]["state"] = "result"
        elif kind == "end" and self.field:
            done = self.field.pop()
            text = "".join(done["result"])
            instr = done["instr"].strip()
            link = _field_link(instr)
            if link and text and not self.plain:
                out = f"[{text}]({_url(link)})"
            else:
                out = text
                name = instr.split(" ")[0].upper() if instr else ""
                if text and not link and name not in ("PAGEREF", "REF", "NOTEREF"):
                    self.lose(
                        "field",
                        _(
                            "%(field)s: its result “%(text)s” was kept as text",
                            field=name or "FIELD",
                            text=_short(_plain(text)),
                        ),
                    )
            if self.field:
                self.field[-1]["result"].append(out)
            else:
                self.pending.append(out)

    @property
    def pending(self) -> list[str]:
        # Text of fields closed outside any open field, emitted by the paragraph.
        if not hasattr(self, "_pending"):
            self._pending: list[str] = []
        return self._pending

    def _drawing(self, el: Any) -> str:
        descr = ""
        for prop in el.iter(f"{{{WP}}}docPr"):
            descr = (prop.get("descr") or prop.get("title") or "").strip()
            break
        boxes = list(el.iter(q("txbxContent")))
        if boxes:
            texts = []
            for box in boxes[:1]:
                for p in box.iter(q("p")):
                    t = _Pass(self.reader, self.accept, None).inline(p).strip()
                    if t:
                        texts.append(_escape_line_starts(t))
            self.extra.extend(texts)
            self.lose(
                "text box", _("its text was kept as paragraphs after the paragraph holding it")
            )
            return ""
        uris = {g.get("uri") or "" for g in el.iter(f"{{{A}}}graphicData")}
        if any(u.endswith("/chart") for u in uris):
            self.lose("chart", _("left out: %(what)s; add it as a figure", what=descr or "—"))
            return ""
        blips = list(el.iter(f"{{{A}}}blip"))
        embed = blips[0].get(f"{{{R}}}embed") if blips else None
        rel = self.reader.rels.get(embed or "")
        if rel is not None and not rel[2] and rel[1] in self.reader.archive.namelist():
            if self.plain:
                return ""
            figure = self.reader.figures.get(rel[1] + "#" + descr)
            if figure is None:
                figure = ImportedFigure(
                    f"word{len(self.reader.figures) + 1}",
                    self.reader.archive.read(rel[1]),
                    posixpath.basename(rel[1]),
                    descr,
                    self.where(),
                )
                self.reader.figures[rel[1] + "#" + descr] = figure
            caption = re.sub(r"([\\\[\]])", r"\\\1", " ".join(descr.split()))
            self.images += 1
            return f"![{caption}](figure:{figure.key})"
        if blips or el.tag in (q("pict"), q("object")):
            linked = bool(blips) and blips[0].get(f"{{{R}}}link")
            if linked:
                self.lose("image", _("left out: a linked picture, not in the file (%(what)s)",
                                     what=descr or "—"))  # fmt: skip
            else:
                self.lose("image", _("left out: %(what)s; add it as a figure", what=descr or "—"))
        else:
            self.lose("drawing", _("left out: %(what)s", what=descr or "—"))
        return ""

    def _note(self, tag: str, nid: str) -> str:
        kind = "footnote" if tag == q("footnoteReference") else "endnote"
        note = self.reader.notes[kind].get(nid)
        if note is None:
            return ""
        texts = []
        inner = _Pass(self.reader, self.accept, None)
        for p in note.iter(q("p")):
            t = inner.inline(p).strip()
            if t:
                texts.append(t.replace("\n", " "))
        self.notes.append(" ".join(texts) or "—")
        return f"[^{len(self.notes)}]"

    # -- blocks ------------------------------------------------------------------------------

    def body(self, elements: list[Any]) -> str:
        blocks: list[str] = []
        quote: list[str] = []
        for el in elements:
            if el.tag == q("p"):
                self.paragraph += 1
                if self._caption(el, blocks):
                    continue
                block, is_quote = self._paragraph(el)
                if is_quote and block is not None:
                    quote.append(block)
                    continue
                if quote:
                    blocks.append("\n>\n".join(quote))
                    quote = []
                if block is not None:
                    blocks.append(block)
                if self.extra:
                    blocks.extend(self.extra)
                    self.extra = []
            elif el.tag == q("tbl"):
                self.paragraph += 1
                if quote:
                    blocks.append("\n>\n".join(quote))
                    quote = []
                blocks.append(self._table(el))
        if quote:
            blocks.append("\n>\n".join(quote))
        if self.report:
            for kind, n in sorted(self.formats.items()):
                self.paragraph = 0
                self.lose(
                    "formatting",
                    _("%(kind)s on %(n)s passage(s) not kept", kind=_(kind), n=n),
                )
            if self.section is not None:
                self.section.quotes = {k: "".join(v) for k, v in self.quotes.items()}
        text = _join(blocks)
        if self.notes:
            defs = "\n".join(f"[^{n}]: {t}" for n, t in enumerate(self.notes, start=1))
            text = f"{text}\n\n{defs}" if text else defs
        return text

    def _caption(self, p: Any, blocks: list[str]) -> bool:
        """Take a Caption paragraph right after a picture as the picture's caption."""
        if self.reader.style_name(p).lower() not in ("caption", "beschriftung"):
            return False
        if not blocks or not FIGURE_PLACEHOLDER.fullmatch(blocks[-1]):
            return False
        plain = _Pass(self.reader, self.accept, None)
        plain.plain = True
        text = " ".join(plain.inline(p).split())
        text = re.sub(r"^(?:Abbildung|Abb\.|Figure|Fig\.)\s*\d*[.:]?\s*", "", text, flags=re.I)
        key = FIGURE_PLACEHOLDER.fullmatch(blocks[-1]).group(2)  # type: ignore[union-attr]
        escaped = re.sub(r"([\\\[\]])", r"\\\1", text)
        blocks[-1] = f"![{escaped}](figure:{key})"
        for figure in self.reader.figures.values():
            if figure.key == key and not figure.caption:
                figure.caption = text
        return True

    def _paragraph(self, p: Any) -> tuple[str | None, bool]:
        reader = self.reader
        style = reader.style_name(p)
        text = (self.inline(p) + "".join(self.pending)).strip()
        self.pending.clear()
        ppr = p.find(q("pPr"))
        if not text:
            border = ppr.find(f"{q('pBdr')}/{q('bottom')}") if ppr is not None else None
            return ("---" if border is not None else None), False
        num = ppr.find(q("numPr")) if ppr is not None else None
        num_id = ""
        if num is not None:
            id_el = num.find(q("numId"))
            num_id = (id_el.get(q("val")) if id_el is not None else "") or ""
        lowered = style.lower()
        if (num is not None and num_id != "0") or lowered.startswith(
            ("list bullet", "list number")
        ):
            ilvl, ordered = 0, lowered.startswith("list number")
            if num is not None:
                lvl_el = num.find(q("ilvl"))
                ilvl = (_int(lvl_el.get(q("val"))) or 0) if lvl_el is not None else 0
                ordered = reader.numbering.get((num_id, str(ilvl)), ordered)
            else:
                m = re.search(r"(\d)$", style)
                ilvl = int(m.group(1)) - 1 if m else 0
            # A nested item is indented to its parent's content column ("- " 2, "1. " 3,
            # "10. " 4); a fixed width per kind would un-nest a bullet under a numbered item.
            parents = self.parents
            depth = min(ilvl, 2)
            del parents[depth:]
            parents.extend("-" * (depth - len(parents)))
            indent = "".join(" " * (len(m) + 1) for m in parents)
            marker = "-"
            if ordered:
                key = (num_id or style, str(ilvl))
                self.counters[key] = self.counters.get(key, 0) + 1
                marker = f"{self.counters[key]}."
            parents.append(marker)
            body = _escape_line_starts(text).replace("\n", "\n" + indent + " " * (len(marker) + 1))
            return f"{indent}{marker} {body}", False
        if self.parents and (
            lowered.startswith("list continue") or (lowered == "list paragraph" and num is None)
        ):
            # A further paragraph of the open list item: indented to its content column.
            indent = "".join(" " * (len(m) + 1) for m in self.parents)
            body = _escape_line_starts(text).replace("\n", "\n" + indent)
            return f"{indent}{body}", False
        self.parents.clear()
        if lowered in ("quote", "intense quote", "zitat", "block text"):
            return "> " + _escape_line_starts(text).replace("\n", "\n> "), True
        heading = reader.level(p)
        if heading is not None and heading >= 4:
            plain = _plain(text)
            if heading > 6:
                return _escape_line_starts(text), False
            return "#" * min(heading - 3, 6) + " " + plain, False
        return _escape_line_starts(text), False

    def _table(self, tbl: Any) -> str:
        self.parents.clear()
        rows: list[list[str]] = []
        above: dict[int, str] = {}
        merged = 0
        for tr in tbl.findall(q("tr")):
            cells: list[str] = []
            for tc in tr.findall(q("tc")):
                tcpr = tc.find(q("tcPr"))
                span = 1
                vmerge = None
                if tcpr is not None:
                    gs = tcpr.find(q("gridSpan"))
                    span = max(1, min(_int(gs.get(q("val"))) or 1, 50)) if gs is not None else 1
                    vmerge = tcpr.find(q("vMerge"))
                col = len(cells)
                if vmerge is not None and vmerge.get(q("val")) != "restart":
                    value = above.get(col, "")
                    merged += 1
                else:
                    if tc.find(f".//{q('tbl')}") is not None:
                        self.lose("nested table", _("its cells were joined into the outer cell"))
                    texts = []
                    for p in tc.iter(q("p")):
                        t = self.inline(p).strip()
                        if self.pending:
                            t = (t + "".join(self.pending)).strip()
                            self.pending.clear()
                        if t:
                            texts.append(t.replace("\n", "<br>"))
                    value = "<br>".join(texts).replace("|", "\\|")
                if span > 1:
                    merged += span - 1
                for i in range(span):
                    above[col + i] = value
                    cells.append(value)
            rows.append(cells)
        if merged:
            self.lose(
                "merged cell",
                _("%(n)s merged cell(s): the value was repeated in each", n=merged),
            )
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _field_link(instr: str) -> str:
    m = re.match(r'^\s*HYPERLINK\s+(?:"([^"]*)"|(\S+))?(?:.*?\\l\s+"([^"]*)")?', instr, re.I)
    if not m:
        return ""
    url = m.group(1) or m.group(2) or ""
    anchor = m.group(3)
    if anchor:
        return f"{url}#{anchor}"
    return url


def _merge_marks(text: str) -> str:
    # "**a****b**" from adjacent bold runs becomes "**ab**".
    return text.replace("****", "").replace("~~~~", "")


def _plain(markdown: str) -> str:
    text = re.sub(r"\[\^\d+\]", "", markdown)
    text = re.sub(r"(?<!\\)[*~`]+", "", text)
    return re.sub(r"\\(.)", r"\1", text).strip()


def _core_title(archive: zipfile.ZipFile) -> str:
    for kind, target, external in _rels_of(archive, "").values():
        if kind.endswith("/core-properties") and not external and target in archive.namelist():
            el = read_xml(archive, target).find(f"{{{DC}}}title")
            return (el.text or "").strip() if el is not None else ""
    return ""


def _bookmark(p: Any) -> tuple[int, int] | None:
    for b in p.iter(q("bookmarkStart")):
        m = _KW_BOOKMARK.match(b.get(q("name")) or "")
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def _export_mark(p: Any) -> bool:
    return any(
        _KW_BOOKMARK.match(name) or re.fullmatch(r"_Toc\d{1,9}", name)
        for name in (b.get(q("name")) or "" for b in p.iter(q("bookmarkStart")))
    )


def _numbered(text: str, number: str) -> bool:
    return text == number or text.startswith(number + " ")


def _is_contents(el: Any, reader: _Reader) -> bool:
    if el.tag == q("sdt"):
        gallery = el.find(f"{q('sdtPr')}/{q('docPartObj')}/{q('docPartGallery')}")
        return gallery is not None and "content" in (gallery.get(q("val")) or "").lower()
    return el.tag == q("p") and reader.style_name(el).lower().startswith(("toc ", "verzeichnis "))


def _blocks(parent: Any, reader: _Reader) -> list[Any]:
    """The body's paragraphs and tables in order, content controls opened."""
    out: list[Any] = []
    for el in parent:
        if el.tag in (q("p"), q("tbl")):
            out.append(el)
        elif el.tag == q("sdt") and not _is_contents(el, reader):
            content = el.find(q("sdtContent"))
            if content is not None:
                out.extend(_blocks(content, reader))
        elif el.tag in (q("customXml"), f"{{{MC}}}AlternateContent"):
            out.extend(_blocks(el, reader))
    return out


def read(
    data: bytes,
    limits: Limits | None = None,
    *,
    filename: str = "",
    intro_title: str = "Introduction",
    max_title: int = 300,
) -> ImportedDocument:
    """Read an uploaded .docx (after the safety checks) into sections.

    :raises UnsafeDocument: for anything that is not a safe, readable .docx.
    """
    archive = check(data, limits)
    reader = _Reader(archive)
    body = reader.document.find(q("body"))
    doc = ImportedDocument("", [])
    if body is None:
        return doc
    elements = _blocks(body, reader)
    headings: list[tuple[int, Any, int]] = []  # (index, paragraph, level)
    for i, el in enumerate(elements):
        if el.tag == q("p"):
            level = reader.level(el)
            if level is not None and level <= 3:
                headings.append((i, el, level))
    title_pass = _Pass(reader, accept_none, None)
    title_pass.plain = True
    accepted_pass = _Pass(reader, accept_all, None)
    accepted_pass.plain = True
    # An export numbers its headings "1", "1.1", … as typed text: strip exactly those.
    raw_titles = [" ".join(title_pass.inline(p).split()) for _i, p, _l in headings]
    raw_accepted = [" ".join(accepted_pass.inline(p).split()) for _i, p, _l in headings]
    # An export numbers its headings "1", "1.1", … as typed text and bookmarks each one:
    # exactly those numbers are stripped; numbers a partner typed ("2030 – Ziele") stay.
    marked = [n for n, (_i, p, _l) in enumerate(headings) if _export_mark(p)]
    numbers = dict(zip(marked, heading_numbers([headings[n][2] for n in marked]), strict=True))
    # An export from this service bookmarks its headings ``_kw_s<id>_v<n>`` (and numbers them
    # with Word's list numbering); older exports typed the numbers before the titles.
    doc.exported = any(_bookmark(p) for _i, p, _l in headings) or (
        bool(marked)
        and all(
            _numbered(raw_titles[n], numbers[n]) or _numbered(raw_accepted[n], numbers[n])
            for n in marked
        )
    )

    def strip(text: str, n: int) -> str:
        number = numbers.get(n)
        if doc.exported and number is not None and _numbered(text, number):
            return text[len(number) :].strip()
        return text

    # The title: a Title paragraph before the first heading, the core properties, the name.
    first = headings[0][0] if headings else len(elements)
    intro: list[Any] = []
    for el in elements[:first]:
        if el.tag == q("p") and reader.style_name(el).lower() in ("title", "titel"):
            if not doc.title:
                doc.title = _plain(" ".join(title_pass.inline(el).split()))
            continue
        if el.tag == q("p") and reader.style_name(el).lower() in ("subtitle", "untertitel"):
            continue
        if _is_contents(el, reader):
            continue
        intro.append(el)
    doc.title = doc.title or _core_title(archive)
    stem = re.sub(r"\.docx$", "", filename.strip(), flags=re.I).strip()
    fallback = doc.title or stem or "Word"
    sections: list[ImportedSection] = []
    if intro and not doc.exported and any(_has_text(e) for e in intro):
        sections.append(
            ImportedSection(
                intro_title if headings else fallback, 1, intro_title if headings else fallback
            )
        )
        sections[0].elements = intro
    bounds = [h[0] for h in headings] + [len(elements)]
    for n, (index, p, level) in enumerate(headings):
        original = strip(raw_titles[n], n)
        accepted = strip(raw_accepted[n], n)
        if doc.exported and original.casefold() in ANNEX_TITLES:
            break  # the sign-off annex of an export is not part of the text
        chunk = [e for e in elements[index + 1 : bounds[n + 1]] if not _is_contents(e, reader)]
        if not (original or accepted):
            if sections:
                sections[-1].elements.extend(chunk)
            elif any(_has_text(e) for e in chunk):
                sections.append(ImportedSection(fallback, 1, fallback))
                sections[-1].elements = chunk
            continue
        section = ImportedSection(original or accepted, level, accepted or original)
        section.heading_deleted = bool(original) and not accepted
        section.elements = chunk
        section.bookmark = _bookmark(p)
        for change in p.iter():
            if change.tag in _CHANGE:
                section.authors.add((change.get(q("author")) or "").strip())
        sections.append(section)
    for s in sections:
        s.reader = reader
        if len(s.title) > max_title or len(s.accepted_title) > max_title:
            full = s.title
            s.title = s.title[: max_title - 1].rstrip() + "…"
            if len(s.accepted_title) > max_title:
                s.accepted_title = s.accepted_title[: max_title - 1].rstrip() + "…"
            s.title_lost = full
            reader.lose(
                "heading",
                s.title[:60],
                ngettext(
                    "shortened from %(n)s to %(num)d character",
                    "shortened from %(n)s to %(num)d characters",
                    max_title,
                    n=len(full),
                ),
            )
    doc.sections = sections
    # Render every section once in the accepted reading: fills the report, quotes and authors.
    footnotes = 0
    for i, s in enumerate(sections):
        s.render(accept_none)
        pass_ = _Pass(reader, accept_all, s)
        s._cache[accept_all] = pass_.body(s.elements)
        footnotes += len(pass_.notes)
        for cid, quote in s.quotes.items():
            for c in reader.comment_parts:
                if c.id == cid:
                    c.section, c.quote = i, " ".join(quote.split())
        s.authors.discard("")
    by_id = {c.id: c for c in reader.comment_parts}
    for c in reader.comment_parts:
        if c.section < 0 and c.parent in by_id:
            c.section = by_id[c.parent].section
    doc.comments = reader.comment_parts
    doc.footnotes = footnotes
    doc.figures = list(reader.figures.values())
    doc.lost = reader.lost
    return doc


def _has_text(el: Any) -> bool:
    return any((t.text or "").strip() for t in el.iter(q("t"))) or any(
        True
        for _ in el.iter(q("drawing"), q("footnoteReference"), q("endnoteReference"), q("pict"))
    )
