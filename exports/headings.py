"""Section headings as Word does them: multilevel list numbering linked to Heading 1–3.

The numbers are not typed into the heading text: one multilevel list (``w:abstractNum``) has
a level per heading style, and each of the styles Heading 1–3 refers to it, so that a clerk
who inserts a heading in Word gets the next number and everything after it renumbers.

The web view numbers sections by counting levels (:func:`drafting.text.outline
.heading_numbers`): a section that skips a level shows a 0 there ("0.1" for a paper that
opens with a level-2 section, "1.0.1" for a level-3 section right after a level-1 one).
Word and LibreOffice show the start value of a level no heading used yet. So a paper that
opens below level 1 gets start values of 0 for the levels above its first heading, and a
heading that skips a level further down keeps its number as text, outside the list (numbering
switched off on that paragraph, ``w:numId`` 0): every number in the document is the one the
web view shows.

Each section heading also carries a hidden bookmark ``_kw_s<section id>_v<version>`` naming
the section and the version exported, which the Word import uses to map headings back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.parser import OxmlElement

from exports.ooxml import new, ppr, sub, w

#: Heading levels that are sections (Heading 4 is used for headings inside a section's text).
LEVELS = 3
#: Text of each level's number: 1, 1.1, 1.1.1 (as on the web).
_TEXTS = ("%1", "%1.%2", "%1.%2.%3")
#: Indentation of each level (twips): the heading text starts after the widest number.
_INDENTS = (432, 576, 720)

BOOKMARK_PREFIX = "_kw_s"


def bookmark_name(section_id: int, version: int) -> str:
    """Return the bookmark around a section's heading: ``_kw_s<section>_v<version>``."""
    return f"{BOOKMARK_PREFIX}{section_id}_v{version}"


def parse_bookmark(name: str) -> tuple[int, int] | None:
    """Return (section id, version) of a section bookmark's name, or None."""
    if not name.startswith(BOOKMARK_PREFIX):
        return None
    section, _sep, version = name[len(BOOKMARK_PREFIX) :].partition("_v")
    if not (section.isdigit() and version.isdigit()):
        return None
    return int(section), int(version)


def start_values(levels: Sequence[int]) -> list[int]:
    """Return the start value of each list level: 0 above the paper's first heading, else 1."""
    first = min(max(int(levels[0]), 1), LEVELS) if levels else 1
    return [0 if level < first - 1 else 1 for level in range(LEVELS)]


def typed_numbers(levels: Sequence[int], numbers: Sequence[str]) -> list[bool]:
    """Return for each heading whether its number must be typed because Word would show another.

    Counts as Word and LibreOffice do with :func:`start_values`: a level not used since its
    parent shows its start value and counts as used. A heading whose number would differ from
    the web view's (``numbers``) is typed and left out of the list, so it counts nothing.
    """
    starts = start_values(levels)
    counters: list[int | None] = [None] * LEVELS  # None: not used since the parent's last
    typed: list[bool] = []
    for raw, number in zip(levels, numbers, strict=True):
        depth = min(max(int(raw), 1), LEVELS)
        after = list(counters)
        for index in range(depth - 1):
            if after[index] is None:
                after[index] = starts[index]
        current = after[depth - 1]
        after[depth - 1] = starts[depth - 1] if current is None else current + 1
        for index in range(depth, LEVELS):
            after[index] = None
        shown = ".".join(str(after[index]) for index in range(depth))
        typed.append(shown != number)
        if shown == number:
            counters = after
    return typed


def add_heading_list(
    numbering: Any, abstract_id: int, num_id: int, starts: Sequence[int], ids: dict[int, str]
) -> None:
    """Add the multilevel list of the section headings to ``word/numbering.xml``.

    ``ids`` are the style ids of Heading 1–3 (a reference document may have its own, e.g. a
    German Word's "berschrift1"). Lists of a reference document no longer claim them.
    """
    for lvl in numbering.iterfind(f"{w('abstractNum')}/{w('lvl')}"):
        link = lvl.find(w("pStyle"))
        if link is not None and link.get(w("val")) in ids.values():
            lvl.remove(link)
    el = OxmlElement("w:abstractNum")
    el.set(w("abstractNumId"), str(abstract_id))
    sub(el, "multiLevelType", val="multilevel")
    for level in range(LEVELS):
        lvl = sub(el, "lvl", ilvl=str(level))
        sub(lvl, "start", val=str(starts[level]))
        sub(lvl, "numFmt", val="decimal")
        sub(lvl, "pStyle", val=ids[level + 1])
        sub(lvl, "lvlText", val=_TEXTS[level])
        sub(lvl, "lvlJc", val="left")
        sub(sub(lvl, "pPr"), "ind", left=str(_INDENTS[level]), hanging=str(_INDENTS[level]))
    first_num = numbering.find(w("num"))
    if first_num is not None:
        first_num.addprevious(el)
    else:
        numbering.append(el)
    num = sub(numbering, "num", numId=str(num_id))
    sub(num, "abstractNumId", val=str(abstract_id))


def link_styles(doc: Any, num_id: int) -> dict[int, str]:
    """Make Heading 1–3 numbered by the list ``num_id``; return their style ids by level.

    A reference document's heading styles keep their fonts, sizes and spacing; their own
    numbering, if any, is replaced.
    """
    by_name = {s.name.lower(): s for s in doc.styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
    ids: dict[int, str] = {}
    for level in range(1, LEVELS + 1):
        style = by_name.get(f"heading {level}")
        if style is None:
            style = doc.styles.add_style(f"Heading {level}", WD_STYLE_TYPE.PARAGRAPH)
            style.style_id = f"Heading{level}"
            style.font.bold = True
            style.paragraph_format.keep_with_next = True
        pr = style.element.get_or_add_pPr()
        num_pr = pr.get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = level - 1
        num_pr.get_or_add_numId().val = num_id
        outline = pr.find(w("outlineLvl"))
        if outline is None:
            outline = OxmlElement("w:outlineLvl")
            pr.insert_element_before(outline, *_AFTER_OUTLINE)
        outline.set(w("val"), str(level - 1))
        ids[level] = style.style_id
    # Styles based on a heading (Word's "TOC Heading" is based on Heading 1) would inherit
    # its number: they keep none.
    headings = set(ids.values())
    for style in doc.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH or style.style_id in headings:
            continue
        base, seen = style.base_style, 0
        while base is not None and base.style_id not in headings and seen < 20:
            base, seen = base.base_style, seen + 1
        if base is None or style.element.pPr is not None and style.element.pPr.numPr is not None:
            continue
        num_pr = style.element.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_numId().val = 0
    return ids


# Children of w:pPr that come after w:outlineLvl (ECMA-376 CT_PPrBase, then CT_PPr).
_AFTER_OUTLINE = ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


def switch_off_numbering(heading: Any) -> None:
    """Take a heading paragraph out of the list (its number is typed instead)."""
    pr = ppr(heading)
    num_pr = new("numPr")
    sub(num_pr, "ilvl", val="0")
    sub(num_pr, "numId", val="0")
    style = pr.find(w("pStyle"))
    if style is not None:
        style.addnext(num_pr)
    else:
        pr.insert(0, num_pr)
