"""Read a .docx into sections of Markdown, keeping Word's tracked changes apart.

Each paragraph is read twice: as the original text (deletions kept, insertions left out) and
as the accepted text (insertions kept, deletions left out). Sections split at Heading 1–3.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from exports.docx_safety import Limits, check, read_xml

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {"w": W, "r": R}
ANNEX_TITLES = {"anlage: mitzeichnung", "annex: sign-off"}
_NUMBER_PREFIX = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def q(tag: str) -> str:
    """Return the Clark name of a w: tag."""
    return f"{{{W}}}{tag}"


@dataclass
class ImportedSection:
    """A section read from Word: title, level and the original and accepted Markdown."""

    title: str
    level: int
    original: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    accepted_title: str = ""
    authors: set[str] = field(default_factory=set)

    @property
    def body(self) -> str:
        """The section's Markdown without the tracked changes."""
        return _join(self.original)

    @property
    def accepted_body(self) -> str:
        """The section's Markdown with all tracked changes accepted."""
        return _join(self.accepted)

    @property
    def changed(self) -> bool:
        """Tell whether Word's tracked changes touch this section."""
        return self.body != self.accepted_body or self.title != self.accepted_title


@dataclass
class ImportedDocument:
    """What a .docx holds for Konzeptwerk."""

    title: str
    sections: list[ImportedSection]

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


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.document = read_xml(archive, "word/document.xml")
        self.code_styles: set[str] = set()
        self.numbered_styles: set[str] = set()  # paragraph styles with list numbering
        self.styles = self._styles()
        self.links = self._links()
        self.numbering = self._numbering()
        self.counters: dict[tuple[str, str], int] = {}
        # Per reading (accepted?): the markers of the open list items, outermost first.
        self.parents: dict[bool, list[str]] = {False: [], True: []}

    def _styles(self) -> dict[str, str]:
        if "word/styles.xml" not in self.archive.namelist():
            return {}
        root = read_xml(self.archive, "word/styles.xml")
        out = {}
        for style in root.iter(q("style")):
            sid = style.get(q("styleId")) or ""
            name = style.find(q("name"))
            out[sid] = (name.get(q("val")) if name is not None else sid) or sid
            # Character styles that set a code font (our "Code", Word's "HTML Code", …).
            fonts = style.find(f"{q('rPr')}/{q('rFonts')}")
            if style.get(q("type")) == "character" and _is_code_font(fonts):
                self.code_styles.add(sid)
            num_id = style.find(f"{q('pPr')}/{q('numPr')}/{q('numId')}")
            if num_id is not None and num_id.get(q("val")) not in (None, "0"):
                self.numbered_styles.add(sid)
        return out

    def list_numbered(self, p: Any) -> bool:
        """Return whether a paragraph's number comes from list numbering (not typed)."""
        num_id = p.find(f"{q('pPr')}/{q('numPr')}/{q('numId')}")
        if num_id is not None:
            return num_id.get(q("val")) not in (None, "0")
        ps = p.find(f"{q('pPr')}/{q('pStyle')}")
        return ps is not None and ps.get(q("val")) in self.numbered_styles

    def _links(self) -> dict[str, str]:
        name = "word/_rels/document.xml.rels"
        if name not in self.archive.namelist():
            return {}
        root = read_xml(self.archive, name)
        return {
            rel.get("Id", ""): rel.get("Target", "")
            for rel in root.iter(f"{{{PR}}}Relationship")
            if rel.get("TargetMode") == "External"
        }

    def _numbering(self) -> dict[tuple[str, str], bool]:
        """Map (numId, ilvl) → ordered?"""
        if "word/numbering.xml" not in self.archive.namelist():
            return {}
        root = read_xml(self.archive, "word/numbering.xml")
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

    def style_of(self, p: Any) -> str:
        ps = p.find(f"{q('pPr')}/{q('pStyle')}")
        sid = ps.get(q("val")) if ps is not None else ""
        return self.styles.get(sid or "", sid or "")


def _is_code_font(fonts: Any) -> bool:
    return fonts is not None and "courier" in (fonts.get(q("ascii")) or "").lower()


def _heading_level(style: str) -> int | None:
    m = re.match(r"^(?:heading|überschrift)\s*(\d)$", style.strip(), re.IGNORECASE)
    return int(m.group(1)) if m else None


def _runs_text(node: Any, accepted: bool, reader: _Reader, authors: set[str]) -> str:
    """Render a paragraph's inline content as Markdown (one of the two readings)."""
    parts: list[str] = []
    for child in node:
        tag = child.tag
        if tag == q("r"):
            parts.append(_run(child, reader))
        elif tag == q("hyperlink"):
            text = _runs_text(child, accepted, reader, authors)
            url = reader.links.get(child.get(f"{{{R}}}id") or "", "")
            parts.append(f"[{text}]({url})" if url and text else text)
        elif tag == q("ins"):
            authors.add(child.get(q("author")) or "")
            if accepted:
                parts.append(_runs_text(child, accepted, reader, authors))
        elif tag == q("del"):
            authors.add(child.get(q("author")) or "")
            if not accepted:
                parts.append(_runs_text(child, accepted, reader, authors))
        elif tag in (q("smartTag"), q("customXml"), q("fldSimple")):
            parts.append(_runs_text(child, accepted, reader, authors))
        elif tag == q("sdt"):
            content = child.find(q("sdtContent"))
            if content is not None:
                parts.append(_runs_text(content, accepted, reader, authors))
    return _merge_marks("".join(parts))


def _run(r: Any, reader: _Reader) -> str:
    rpr = r.find(q("rPr"))
    bold = rpr is not None and _on(rpr.find(q("b")))
    italic = rpr is not None and _on(rpr.find(q("i")))
    strike = rpr is not None and _on(rpr.find(q("strike")))
    fonts = rpr.find(q("rFonts")) if rpr is not None else None
    char_style = rpr.find(q("rStyle")) if rpr is not None else None
    code = _is_code_font(fonts) or (
        char_style is not None and char_style.get(q("val")) in reader.code_styles
    )
    text = []
    for child in r:
        if child.tag in (q("t"), q("delText")):
            text.append(child.text or "")
        elif child.tag == q("tab"):
            text.append("\t")
        elif child.tag in (q("br"), q("cr")) and child.get(q("type")) in (None, "textWrapping"):
            text.append("\n")
        elif child.tag == q("instrText"):
            return ""
    raw = "".join(text)
    if not raw:
        return ""
    if code:
        # A fence longer than any run of backticks inside keeps the code intact.
        fence = "`" * (max(map(len, re.findall(r"`+", raw)), default=0) + 1)
        pad = " " if raw.startswith("`") or raw.endswith("`") else ""
        return f"{fence}{pad}{raw}{pad}{fence}"
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
    return "\\\n".join(rendered)


def _merge_marks(text: str) -> str:
    # "**a****b**" from adjacent bold runs becomes "**ab**".
    return text.replace("****", "").replace("~~~~", "")


def _on(el: Any) -> bool:
    return el is not None and el.get(q("val")) not in ("0", "false", "off")


def _paragraph_block(
    p: Any, accepted: bool, reader: _Reader, authors: set[str], style: str
) -> str | None:
    text = _runs_text(p, accepted, reader, authors).strip()
    ppr = p.find(q("pPr"))
    if not text:
        border = ppr.find(f"{q('pBdr')}/{q('bottom')}") if ppr is not None else None
        return "---" if border is not None else None
    num = ppr.find(q("numPr")) if ppr is not None else None
    lowered = style.lower()
    if num is not None or lowered.startswith(("list bullet", "list number")):
        ilvl, ordered = 0, lowered.startswith("list number")
        if num is not None:
            lvl_el, id_el = num.find(q("ilvl")), num.find(q("numId"))
            ilvl = int(lvl_el.get(q("val")) or 0) if lvl_el is not None else 0
            key = (id_el.get(q("val")) if id_el is not None else "", str(ilvl))
            ordered = reader.numbering.get(key, ordered)
        else:
            m = re.search(r"(\d)$", style)
            ilvl = int(m.group(1)) - 1 if m else 0
        # A nested item is indented to its parent's content column ("- " 2, "1. " 3,
        # "10. " 4); a fixed width per kind would un-nest a bullet under a numbered item.
        parents = reader.parents[accepted]
        depth = min(ilvl, 2)
        del parents[depth:]
        parents.extend("-" * (depth - len(parents)))
        indent = "".join(" " * (len(m) + 1) for m in parents)
        marker = "-"
        if ordered:
            key = (
                num.find(q("numId")).get(q("val"))
                if num is not None and num.find(q("numId")) is not None
                else style,
                str(ilvl),
            )
            if accepted:  # count once per paragraph (the accepted reading comes second)
                reader.counters[key] = reader.counters.get(key, 0) + 1
            marker = f"{reader.counters.get(key, 0) + (0 if accepted else 1)}."
        parents.append(marker)
        return f"{indent}{marker} {_escape_line_starts(text)}"
    reader.parents[accepted].clear()
    if lowered in ("quote", "intense quote", "zitat"):
        return "> " + _escape_line_starts(text).replace("\n", "\n> ")
    heading = _heading_level(style)
    if heading is not None and heading >= 4:
        return "#" * min(heading - 3, 6) + " " + text
    return _escape_line_starts(text)


def _table_block(tbl: Any, accepted: bool, reader: _Reader, authors: set[str]) -> str:
    reader.parents[accepted].clear()
    rows = []
    for tr in tbl.iter(q("tr")):
        cells = []
        for tc in tr.findall(q("tc")):
            texts = [_runs_text(p, accepted, reader, authors).strip() for p in tc.iter(q("p"))]
            cells.append(" ".join(t for t in texts if t).replace("\n", " ").replace("|", "\\|"))
        rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def read(data: bytes, limits: Limits | None = None) -> ImportedDocument:
    """Read an uploaded .docx (after the safety checks) into sections.

    :raises UnsafeDocument: for anything that is not a safe, readable .docx.
    """
    archive = check(data, limits)
    reader = _Reader(archive)
    body = reader.document.find(q("body"))
    title = ""
    sections: list[ImportedSection] = []
    current: ImportedSection | None = None
    if body is None:
        return ImportedDocument(title, sections)
    for el in body:
        if el.tag == q("p"):
            style = reader.style_of(el)
            level = _heading_level(style)
            authors: set[str] = set()
            if level is not None and level <= 3:
                # A typed number (earlier exports, a skipped level) is not part of the title;
                # a heading numbered by the list has none in its text.
                strip = (lambda t: t) if reader.list_numbered(el) else strip_number
                original = strip(_plain(_runs_text(el, False, reader, authors)))
                accepted = strip(_plain(_runs_text(el, True, reader, authors)))
                if original.casefold() in ANNEX_TITLES:
                    break  # the sign-off annex of an export is not part of the text
                if not (original or accepted):
                    continue
                current = ImportedSection(
                    original or accepted, level, accepted_title=accepted or original
                )
                reader.parents = {False: [], True: []}
                current.authors |= {a for a in authors if a}
                sections.append(current)
                continue
            if style.lower() == "title" and not title:
                title = _plain(_runs_text(el, True, reader, set()))
                continue
            if current is None:
                continue  # title page, contents: not part of a section
            orig = _paragraph_block(el, False, reader, current.authors, style)
            acc = _paragraph_block(el, True, reader, current.authors, style)
            if orig is not None:
                current.original.append(orig)
            if acc is not None:
                current.accepted.append(acc)
        elif el.tag == q("tbl") and current is not None:
            current.original.append(_table_block(el, False, reader, current.authors))
            current.accepted.append(_table_block(el, True, reader, current.authors))
        elif el.tag == q("sdt") and current is None:
            continue
    for s in sections:
        s.authors.discard("")
    return ImportedDocument(title, sections)


def _plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown.replace("**", "").replace("~~", "")).strip()
