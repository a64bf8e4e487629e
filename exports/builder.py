"""Build the Word document of a paper: title page, contents, sections, comments, redline, annex."""

from __future__ import annotations

import functools
import gc
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import support
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.parser import OxmlElement
from docx.shared import Mm, Pt, RGBColor
from docx.text.run import Run
from lxml import etree

from drafting.text.markdown import plain_text
from exports import figures, footnotes, headings, properties, redline, styles
from exports.data import Change, CommentData, ExportData, SectionData
from exports.ooxml import (
    BlockMemo,
    Context,
    RunStyle,
    Styles,
    field_runs,
    markdown_blocks,
    new,
    paragraph,
    ppr,
    run,
    set_column_widths,
    set_text,
    sub,
    w,
    word_date,
)

Progress = Callable[[int], None]

LANGUAGES = ("de", "en")


@functools.lru_cache(maxsize=len(LANGUAGES))
def _catalog(language: str) -> support.NullTranslations:
    # The app's own compiled catalog, read directly: the export runs in jobs and tests that
    # have no request (and possibly no app) whose locale Flask-Babel could switch.
    folder = Path(__file__).resolve().parent.parent / "drafting" / "translations"
    return support.Translations.load(str(folder), [language], domain="messages")


def labels(language: str) -> dict[str, str]:
    """Return the fixed words of the Word document in the paper's language (German otherwise).

    They come from the app's message catalog under the context "Word export", so the words in
    the document and on the pages are translated in one place.
    """
    catalog = _catalog(language if language in LANGUAGES else "de")

    def pgettext(context: str, message: str) -> str:
        return str(catalog.pgettext(context, message))

    final = pgettext("Word export", "FINAL")
    return {
        "drafting": pgettext("Word export", "DRAFT"),
        "signing": pgettext("Word export", "FOR SIGN-OFF"),
        "final": final,
        "archived": final,
        "lead": pgettext("Word export", "Lead"),
        "participants": pgettext("Word export", "Participants"),
        "edition": pgettext("Word export", "Edition"),
        "working": pgettext("Word export", "Working draft"),
        "contents": pgettext("Word export", "Contents"),
        "toc_hint": pgettext(
            "Word export", "Word updates the table of contents when the document is opened."
        ),
        "page": pgettext("Word export", "Page"),
        "of": pgettext("Word export", "of"),
        "annex": pgettext("Word export", "Annex: sign-off"),
        "org": pgettext("Word export", "Organisation"),
        "decision": pgettext("Word export", "Decision"),
        "signatory": pgettext("Word export", "Signed by"),
        "date": pgettext("Word export", "Date"),
        "note": pgettext("Word export", "Reservation / reason"),
        "approve": pgettext("Word export", "Approve"),
        "approve_with_reservation": pgettext("Word export", "Approve with reservation"),
        "reject": pgettext("Word export", "Reject"),
        "open": pgettext("Word export", "Open"),  # not decided yet: capitalised like the rest
        "hash": pgettext("Word export", "Checksum (SHA-256) of the edition"),
        "redline": pgettext("Word export", "Changes against edition"),
        "summary": pgettext("Word export", "Summary"),
        "figure": pgettext("Word export", "Figure"),
    }


BULLETS = ("•", "◦", "▪")
DECIMALS = (("decimal", "%1."), ("lowerLetter", "%2)"), ("lowerRoman", "%3."))


class _Numbering:
    """Numbering definitions: one abstract list per kind, a fresh w:num per Markdown list."""

    def __init__(self, doc: Any) -> None:
        self.root = doc.part.numbering_part.element
        ids = [int(x) for x in self.root.xpath("./w:abstractNum/@w:abstractNumId")]
        nums = [int(x) for x in self.root.xpath("./w:num/@w:numId")]
        self.next_abstract = max(ids, default=0) + 1
        self.next_num = max(nums, default=0) + 1
        self.bullet = self._abstract(ordered=False)
        self.decimal = self._abstract(ordered=True)

    def _abstract(self, *, ordered: bool) -> int:
        ident = self.next_abstract
        self.next_abstract += 1
        el = OxmlElement("w:abstractNum")
        el.set(w("abstractNumId"), str(ident))
        sub(el, "multiLevelType", val="hybridMultilevel")
        for level in range(3):
            lvl = sub(el, "lvl", ilvl=str(level))
            sub(lvl, "start", val="1")
            if ordered:
                fmt, text = DECIMALS[level]
            else:
                fmt, text = "bullet", BULLETS[level]
            sub(lvl, "numFmt", val=fmt)
            sub(lvl, "lvlText", val=text)
            sub(lvl, "lvlJc", val="left")
            sub(sub(lvl, "pPr"), "ind", left=str(720 * (level + 1)), hanging="360")
        first_num = self.root.find(w("num"))
        if first_num is not None:
            first_num.addprevious(el)
        else:
            self.root.append(el)
        return ident

    def heading_list(self, doc: Any, starts: list[int]) -> None:
        """Number the section headings with one multilevel list linked to Heading 1–3."""
        abstract, num = self.next_abstract, self.next_num
        self.next_abstract += 1
        self.next_num += 1
        ids = headings.link_styles(doc, num)
        headings.add_heading_list(self.root, abstract, num, starts, ids)

    def new_list(self, ordered: bool, start: int = 1) -> int:
        ident = self.next_num
        self.next_num += 1
        num = sub(self.root, "num", numId=str(ident))
        sub(num, "abstractNumId", val=str(self.decimal if ordered else self.bullet))
        for level in range(3):
            override = sub(num, "lvlOverride", ilvl=str(level))
            sub(override, "startOverride", val=str(start if level == 0 else 1))
        return ident


class Builder:
    """Build one document; call :meth:`build` once."""

    def __init__(
        self,
        data: ExportData,
        *,
        reference: bytes | None = None,
        comments: bool = False,
        progress: Progress | None = None,
        toc_pages: dict[int, int] | None = None,
    ) -> None:
        self.data = data
        self.toc_pages = toc_pages  # section id -> page, as laid out by LibreOffice
        self._bookmarks = 100_000  # apart from the comment ids python-docx hands out
        self.labels = labels(data.language)
        self.comments = comments
        self.progress = progress
        self.doc = Document(io.BytesIO(reference)) if reference else Document()
        if reference:
            self._clear_body()
        else:
            # python-docx's default template is US Letter; German documents are A4 (DIN 5008
            # margins). A reference document brings its own page setup.
            page = self.doc.sections[0]
            page.page_width, page.page_height = Mm(210), Mm(297)
            page.left_margin, page.right_margin = Mm(25), Mm(20)
            page.top_margin, page.bottom_margin = Mm(25), Mm(20)
        self._ensure_styles()
        self.numbering = _Numbering(self.doc)
        self.numbering.heading_list(
            self.doc, headings.start_values([s.level for s in data.sections])
        )
        # Numbers Word would show otherwise (a level skipped) are typed: section id -> typed.
        self._typed = {
            s.section_id
            for s, typed in zip(
                data.sections,
                headings.typed_numbers(
                    [s.level for s in data.sections], [s.number for s in data.sections]
                ),
                strict=True,
            )
            if typed
        }
        self.styles = Styles({s.name: s.style_id for s in self.doc.styles} | self._defined)
        self._links: dict[str, str] = {}
        self.ctx = Context(styles=self.styles, link=self._link, new_list=self.numbering.new_list)
        self._notes_and_figures()
        self.blocks: list[Any] = []
        self._revision = 0
        self._dates: dict[datetime, str] = {}  # w:date of each change's time, formatted once

    # -- setup ------------------------------------------------------------------------------

    def _notes_and_figures(self) -> None:
        """Hook up Word footnotes and figures (exports.footnotes, exports.figures)."""
        self.notes = footnotes.Footnotes(
            self.doc, self.styles.get("footnote text"), self.styles.get("footnote reference")
        )
        self.figures = figures.FigureWriter(
            self.doc,
            self.data.figures,
            label=self.labels["figure"],
            body_style=self.styles.get("Normal"),
            caption_style=self.styles.get("Caption"),
            max_width_emu=self._text_width() * 635,
        )
        self.ctx.footnote = self.notes.reference
        self.ctx.figure = self.figures.blocks

    def _clear_body(self) -> None:
        body = self.doc.element.body
        for child in list(body):
            if child.tag != w("sectPr"):
                body.remove(child)

    def _ensure_styles(self) -> None:
        names = {s.name for s in self.doc.styles}
        if "Hyperlink" not in names:
            style = self.doc.styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
            style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
            style.font.underline = True
        if "Table Grid" not in names:
            self.doc.styles.add_style("Table Grid", WD_STYLE_TYPE.TABLE)
        for level in (1, 2, 3):
            if f"toc {level}" not in names:
                # Word's built-in contents styles: indented by level, page numbers at the
                # right margin behind a dotted leader.
                toc = self.doc.styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
                toc.style_id = f"TOC{level}"
                toc.paragraph_format.left_indent = Mm(5 * (level - 1))
                toc.paragraph_format.space_after = Pt(3)
                toc.paragraph_format.tab_stops.add_tab_stop(
                    Mm(165), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS
                )
        for name in ("Title", "Subtitle", "List Paragraph", "TOC Heading"):
            if name not in names:
                style = self.doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
                if name == "Title":
                    style.font.size = Pt(26)
        # Comments, code, quotes, table text, footnotes, captions: the reference's own styles.
        self._defined = styles.ensure(self.doc)
        footnotes.ensure_styles(self.doc)
        figures.ensure_styles(self.doc)
        self._language()

    def _language(self) -> None:
        """Set the document language (de-DE, en-GB for English papers) and hyphenation."""
        tag = "en-GB" if self.data.language == "en" else "de-DE"
        styles = self.doc.styles.element
        defaults = styles.find(w("docDefaults"))
        if defaults is None:
            defaults = OxmlElement("w:docDefaults")
            styles.insert(0, defaults)
        rpr_default = defaults.find(w("rPrDefault"))
        if rpr_default is None:
            rpr_default = OxmlElement("w:rPrDefault")
            defaults.insert(0, rpr_default)
        rpr = rpr_default.find(w("rPr"))
        if rpr is None:
            rpr = sub(rpr_default, "rPr")
        lang = rpr.find(w("lang"))
        if lang is None:
            lang = sub(rpr, "lang")
        lang.set(w("val"), tag)
        lang.set(w("eastAsia"), tag)
        lang.set(w("bidi"), "ar-SA")
        # Styles that name a language of their own (the template's are en-US) follow suit.
        for other in styles.iter(w("lang")):
            if other is not lang and other.get(w("val")):
                other.set(w("val"), tag)
        settings = self.doc.settings.element
        zoom = settings.find(w("zoom"))
        if zoom is not None and zoom.get(w("percent")) is None:
            zoom.set(w("percent"), "100")  # required by the schema (python-docx's omits it)
        if settings.find(w("autoHyphenation")) is None:
            hyphenation = OxmlElement("w:autoHyphenation")
            anchor = settings.find(w("defaultTabStop"))
            if anchor is not None:
                anchor.addnext(hyphenation)
            else:
                settings.insert(0, hyphenation)

    def _link(self, url: str) -> str:
        if url not in self._links:
            self._links[url] = self.doc.part.relate_to(
                url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True
            )
        return self._links[url]

    def _p(self, text: str = "", style: str | None = None, **run_kw: Any) -> Any:
        p = paragraph(self.styles.get(style) if style else self.styles.get("Normal"))
        if text:
            run(p, text, RunStyle(**run_kw) if run_kw else None)
        self.blocks.append(p)
        return p

    def _page_break(self) -> None:
        p = paragraph()
        sub(sub(p, "r"), "br", type="page")
        self.blocks.append(p)

    # -- parts ------------------------------------------------------------------------------

    def _local(self, value: datetime) -> datetime:
        """Return a timestamp (UTC when naive) in the time zone the readers live in."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(ZoneInfo(self.data.timezone))

    def _status_word(self) -> str:
        return self.labels.get(self.data.status, self.labels["drafting"])

    def title_page(self) -> None:
        """Add the title page."""
        data, lab = self.data, self.labels
        self._p(self._status_word(), "Subtitle", bold=True)
        self._p(data.title, "Title")
        if data.summary:
            self._p(data.summary)
        self._p(f"{lab['lead']}: {data.lead_organisation}")
        if data.participants:
            self._p(f"{lab['participants']}: " + ", ".join(data.participants))
        stand = data.edition_label or lab["working"]
        self._p(f"{lab['edition']}: {stand}, {self._local(data.date).strftime('%d.%m.%Y')}")
        if data.redline_against is not None:
            self._p(f"{lab['redline']} {data.redline_against}", italic=True)
        if data.edition_hash:
            self._p(f"{lab['hash']}: {data.edition_hash}", "Normal")
        self._page_break()

    def contents(self) -> None:
        """Add the table of contents: a TOC field that carries its result.

        Every reader shows the entries without updating fields, and Word does not ask to
        update them on opening: each entry links to its heading's bookmark and, when the
        export job let LibreOffice lay the document out (``toc_pages``), shows its page.
        """
        self._p(self.labels["contents"], "TOC Heading")
        entries = [s for s in self.data.sections if s.level <= 3]
        start = paragraph(self.styles.get("toc 1"))
        sub(sub(start, "r"), "fldChar", fldCharType="begin")
        set_text(sub(sub(start, "r"), "instrText"), ' TOC \\o "1-3" \\h \\z \\u ')
        sub(sub(start, "r"), "fldChar", fldCharType="separate")
        paragraphs = [start] if not entries else []
        for index, s in enumerate(entries):
            p = start if index == 0 else paragraph(self.styles.get(f"toc {s.level}"))
            if index == 0 and s.level != 1:
                style = p.find(f"{w('pPr')}/{w('pStyle')}")
                if style is not None:
                    style.set(w("val"), self.styles.get(f"toc {s.level}") or "")
            link = sub(p, "hyperlink", anchor=self._bookmark(s), history="1")
            if self.data.redline_against is not None and s.old_title is None:
                # A new section's entry is inserted with it: "reject all" leaves the old list.
                change = s.history[-1] if s.history else None
                self._ins_run(link, f"{s.number} {s.title}", change)
                if index:
                    self._mark_inserted_paragraph(p, change)
            else:
                run(link, f"{s.number} {s.title}")
            page = self.toc_pages.get(s.section_id) if self.toc_pages else None
            if page is not None:
                sub(sub(link, "r"), "tab")
                sub(sub(link, "r"), "fldChar", fldCharType="begin")
                set_text(sub(sub(link, "r"), "instrText"), f" PAGEREF {self._bookmark(s)} \\h ")
                sub(sub(link, "r"), "fldChar", fldCharType="separate")
                run(link, str(page))
                sub(sub(link, "r"), "fldChar", fldCharType="end")
            paragraphs.append(p)
        sub(sub(paragraphs[-1], "r"), "fldChar", fldCharType="end")
        self.blocks.extend(paragraphs)
        self._page_break()
        settings = self.doc.settings.element
        # No "update fields on open": the result is already there.
        for update in settings.findall(w("updateFields")):
            settings.remove(update)

    def _bookmark(self, s: SectionData) -> str:
        return f"_Toc{s.section_id}"

    def _mark_heading(self, heading: Any, s: SectionData) -> None:
        """Put the bookmarks around a section heading's text.

        ``_Toc<id>``: the contents link to it; ``_kw_s<id>_v<version>``: names the section and
        the version exported, for the Word import (:mod:`exports.headings`).
        """
        names = [headings.bookmark_name(s.section_id, s.version)]
        if s.number:  # not for a removed section: the contents do not list it
            names.insert(0, self._bookmark(s))
        pr = heading.find(w("pPr"))
        for name in reversed(names):
            self._bookmarks += 1
            ident = str(self._bookmarks)
            start = new("bookmarkStart", id=ident, name=name)
            if pr is not None:
                pr.addnext(start)
            else:
                heading.insert(0, start)
            sub(heading, "bookmarkEnd", id=ident)

    def _heading(self, s: SectionData) -> Any:
        """Return a section's heading paragraph, numbered by the list (typed where it must be)."""
        heading = paragraph(self.styles.get(f"Heading {s.level}"))
        if s.section_id in self._typed and s.number:
            headings.switch_off_numbering(heading)
            run(heading, f"{s.number} ")
        return heading

    def section(self, s: SectionData) -> None:
        """Add one section: numbered heading, body, comments or tracked changes."""
        heading = self._heading(s)
        if (
            self.data.redline_against is not None
            and s.old_title is not None
            and s.old_title != s.title
        ):
            self._tracked(
                heading, redline.blame(s.old_title, s.title, s.history, text_of=lambda c: c.title)
            )
        elif self.data.redline_against is not None and s.old_title is None:
            self._mark_inserted_paragraph(heading, s.history[-1] if s.history else None)
            self._ins_run(heading, s.title, s.history[-1] if s.history else None)
        else:
            run(heading, s.title)
        self._mark_heading(heading, s)
        self.blocks.append(heading)
        start = len(self.blocks)
        if self.data.redline_against is not None and s.old_body is None:
            # A new section: every block is inserted.
            diff = redline.BlockDiff(
                redline.Attribution((), s.history[-1] if s.history else None), self._rev
            )
            self.blocks.extend(diff.inserted(b) for b in markdown_blocks(s.body, self.ctx))
        elif self.data.redline_against is not None and s.old_body != s.body:
            self.blocks.extend(self._redline_body(s))
        else:
            self.blocks.extend(markdown_blocks(s.body, self.ctx))
        if self.comments and s.comments:
            self._comments(s.comments, heading, self.blocks[start:])

    def removed_section(self, s: SectionData) -> None:
        """Show a section of the earlier edition that is gone, as deleted text at its place.

        The deletion is attributed to whoever removed the section, when they did.
        """
        change = Change(0, s.removed_by, s.removed_at or self.data.date, s.title, "")
        heading = paragraph(self.styles.get(f"Heading {s.level}"))
        self._del_run(heading, s.title, change)
        self._mark_deleted_paragraph(heading, change)
        self._mark_heading(heading, s)
        self.blocks.append(heading)
        diff = redline.BlockDiff(redline.Attribution((), change), self._rev)
        self.blocks.extend(diff.deleted(b) for b in markdown_blocks(s.body, self.ctx))

    def annex(self) -> None:
        """Add the annex with each organisation's sign-off decision."""
        if not self.data.decisions:
            return
        lab = self.labels
        self._page_break()
        headings.switch_off_numbering(self._p(lab["annex"], "Heading 1"))
        if self.data.edition_label:
            self._p(f"{lab['edition']}: {self.data.edition_label}")
        tbl = OxmlElement("w:tbl")
        pr = sub(tbl, "tblPr")
        if self.styles.get("Table Grid"):
            sub(pr, "tblStyle", val=self.styles.get("Table Grid") or "")
        sub(pr, "tblW", w="5000", type="pct")
        borders = sub(pr, "tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            sub(borders, edge, val="single", sz="4", space="0", color="808080")
        sub(tbl, "tblGrid")
        header = sub(tbl, "tr")
        sub(sub(header, "trPr"), "tblHeader")
        cell_style = self.styles.get(styles.TABLE_TEXT)
        for text in (lab["org"], lab["decision"], lab["signatory"], lab["date"], lab["note"]):
            run(sub(sub(header, "tc"), "p"), text, RunStyle(bold=True))
        for d in self.data.decisions:
            row = sub(tbl, "tr")
            cells = (
                d.organisation,
                lab.get(d.decision, lab["open"]) if d.decision else lab["open"],
                d.signatory,
                self._local(d.decided_at).strftime("%d.%m.%Y %H:%M") if d.decided_at else "",
                d.note,
            )
            for index, text in enumerate(cells):
                bold = index == 4 and d.decision == "approve_with_reservation"
                run(sub(sub(row, "tc"), "p"), text, RunStyle(bold=bold))
        if cell_style:
            for cell_p in tbl.iter(w("p")):
                cell_p.insert(0, paragraph(cell_style).find(w("pPr")))
        # Five equal columns leave a reservation a fifth of the page, too narrow for long
        # compound words: the text column gets the most room.
        set_column_widths(
            tbl, [self._text_width() * share // 100 for share in (19, 20, 19, 15, 27)]
        )
        self.blocks.append(tbl)
        self._p("")

    def _text_width(self) -> int:
        """Return the width between the page margins in twips."""
        page = self.doc.sections[0]
        if page.page_width is None or page.left_margin is None or page.right_margin is None:
            return 9000
        return int(page.page_width - page.left_margin - page.right_margin) // 635  # EMU

    # -- comments ---------------------------------------------------------------------------

    def _comments(
        self, comments: Sequence[CommentData], heading: Any, blocks: Sequence[Any]
    ) -> None:
        for c in comments:
            runs = _find_runs(blocks, plain_text(c.quote).strip()) if c.quote else None
            if not runs:
                runs = [r for r in heading.iter(w("r"))][:1] or [sub(heading, "r")]
            comment = self.doc.add_comment(
                [Run(r, None) for r in (runs[0], runs[-1])],  # type: ignore[arg-type]
                text=c.body,
                author=c.author,
                initials=c.initials,
            )
            comment._comment_elm.set(w("date"), word_date(c.created_at))
            for author, when, body in c.replies:
                comment.add_paragraph(
                    f"{author} ({self._local(when).strftime('%d.%m.%Y')}): {body}"
                )

    # -- tracked changes --------------------------------------------------------------------

    def _rev(self, el: Any, change: Change | None) -> None:
        self._revision += 1
        el.set(w("id"), str(self._revision))
        el.set(w("author"), change.author if change and change.author else "Konzeptwerk")
        when = change.created_at if change else self.data.date
        date = self._dates.get(when)
        if date is None:
            date = self._dates[when] = word_date(when)
        el.set(w("date"), date)

    def _ins_run(self, p: Any, text: str, change: Change | None) -> None:
        ins = sub(p, "ins")
        self._rev(ins, change)
        run(ins, text)

    def _del_run(self, p: Any, text: str, change: Change | None) -> None:
        deleted = sub(p, "del")
        self._rev(deleted, change)
        run(deleted, text, deleted=True)

    def _mark_inserted_paragraph(self, p: Any, change: Change | None) -> None:
        rpr = sub(ppr(p), "rPr")
        self._rev(sub(rpr, "ins"), change)

    def _mark_deleted_paragraph(self, p: Any, change: Change | None) -> None:
        rpr = sub(ppr(p), "rPr")
        self._rev(sub(rpr, "del"), change)

    def _tracked(self, p: Any, pieces: Sequence[redline.Piece]) -> None:
        for piece in pieces:
            if piece.op == redline.EQUAL:
                run(p, piece.text)
            elif piece.op == redline.INSERT:
                self._ins_run(p, piece.text, piece.change)
            else:
                self._del_run(p, piece.text, piece.change)

    def _redline_body(self, s: SectionData) -> list[Any]:
        """Write a changed section with Word tracked changes inside its real structure.

        Both texts are rendered (tables, lists, quotes, emphasis, links); unchanged blocks
        stay as they are, changed ones carry insertions, deletions and format changes, each
        attributed through the versions in between (see :mod:`exports.redline`).
        """
        # Who changed which word is read from the Markdown of the versions: the markup's own
        # tokens (*, |, #) are simply never asked for (see redline.Attribution).
        # One version in between made every change: nothing to trace.
        pieces = redline.blame(s.old_body or "", s.body, s.history) if len(s.history) > 1 else ()
        diff = redline.BlockDiff(
            redline.Attribution(pieces, s.history[-1] if s.history else None), self._rev
        )
        # A block the same in both texts is rendered once (see markdown_blocks).
        memo = BlockMemo()
        with self.notes.shared():  # an unchanged note is one footnote in both renders
            old = markdown_blocks(s.old_body or "", self.ctx, memo)
            self.notes.next_render()
            new = markdown_blocks(s.body, self.ctx, memo)
        return diff.blocks(old, new)

    # -- header, footer, properties ---------------------------------------------------------

    def header_footer(self) -> None:
        """Put title and status in the header and "Seite X von Y" in the footer."""
        section = self.doc.sections[0]
        # The title page carries neither header nor footer (its own, empty first-page ones).
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False
        section.first_page_footer.is_linked_to_previous = False
        header = section.header
        header.is_linked_to_previous = False
        hp = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        hp.text = f"{self.data.title} – {self._status_word()}"
        footer = section.footer
        footer.is_linked_to_previous = False
        fp = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        for r in list(fp._p.iter(w("r"))):
            r.getparent().remove(r)
        sub(ppr(fp._p), "jc", val="center")
        run(fp._p, f"{self.labels['page']} ")
        field_runs(fp._p, "PAGE", "1")
        run(fp._p, f" {self.labels['of']} ")
        field_runs(fp._p, "NUMPAGES", "1")

    def properties(self) -> None:
        """Set the document properties; nothing of the template's text is left."""
        props = self.doc.core_properties
        props.title = self.data.title[:250]
        props.author = self.data.lead_organisation[:250]
        props.last_modified_by = self.data.lead_organisation[:250]
        props.subject = (self.data.edition_label or self.labels["working"])[:250]
        props.comments = ""
        props.keywords = ""
        props.category = self._status_word()
        props.language = self.data.language
        props.revision = max(self.data.edition_number or 1, 1)
        now = datetime.now(UTC).replace(tzinfo=None)
        props.created = now
        props.modified = now
        custom = {properties.PAPER: str(self.data.paper_id)}
        if self.data.edition_number is not None:
            custom[properties.EDITION] = str(self.data.edition_number)
        properties.set_properties(self.doc, custom)

    # -- assembly ---------------------------------------------------------------------------

    def build(self) -> bytes:
        """Assemble the document and return the .docx bytes."""
        self._report(5)
        self.title_page()
        self.contents()
        total = max(len(self.data.sections), 1)
        removed: dict[int | None, list[SectionData]] = {}
        present = {s.section_id for s in self.data.sections}
        for gone in self.data.removed_sections:
            # A removed section stays after the section it followed in the earlier edition.
            follows = gone.follows if gone.follows in present else None
            removed.setdefault(follows, []).append(gone)
        for gone in removed.get(None, ()):
            self.removed_section(gone)
        for index, s in enumerate(self.data.sections, start=1):
            self.section(s)
            for gone in removed.get(s.section_id, ()):
                self.removed_section(gone)
            if index % 10 == 0 or index == total:
                self._report(5 + int(80 * index / total))
        self.annex()
        body = self.doc.element.body
        sect = body.find(w("sectPr"))
        if sect is not None:
            body.remove(sect)
        body.extend(self.blocks)
        if sect is not None:
            body.append(sect)
        if self.figures.placed:
            figures.renumber(self.blocks)
        self.notes.finish(body)
        self.header_footer()
        self.properties()
        self._report(95)
        out = io.BytesIO()
        self.doc.save(out)
        self._report(100)
        return out.getvalue()

    def _report(self, percent: int) -> None:
        if self.progress is not None:
            self.progress(percent)


def _find_runs(blocks: Sequence[Any], quote: str) -> list[Any] | None:
    """Find the runs covering a quoted passage, splitting runs at its ends."""
    if not quote:
        return None
    for block in blocks:
        for p in [block] if block.tag == w("p") else list(block.iter(w("p"))):
            runs = [r for r in p.iter(w("r")) if r.find(w("t")) is not None]
            texts = ["".join(t.text or "" for t in r.findall(w("t"))) for r in runs]
            joined = "".join(texts)
            at = joined.find(quote)
            if at < 0:
                continue
            end = at + len(quote)
            covered, offset = [], 0
            for r, text in zip(runs, texts, strict=True):
                start, stop = offset, offset + len(text)
                offset = stop
                if stop <= at or start >= end:
                    continue
                # Split the run so the comment covers exactly the quote.
                if start < at:
                    r = _split(r, at - start)
                    start = at
                if stop > end:
                    _split(r, end - start)
                covered.append(r)
            return covered or None
    return None


def _split(r: Any, at: int) -> Any:
    """Split a single-text run at a character offset; return the second half."""
    t = r.find(w("t"))
    text = t.text or ""
    second = r.makeelement(r.tag, r.attrib)
    for child in r:
        if child.tag != w("t"):
            second.append(etree.fromstring(etree.tostring(child)))
    t2 = sub(second, "t")
    set_text(t, text[:at])
    set_text(t2, text[at:])
    r.addnext(second)
    return second


def build_document(
    data: ExportData,
    *,
    reference: bytes | None = None,
    comments: bool = False,
    progress: Progress | None = None,
    toc_pages: dict[int, int] | None = None,
) -> bytes:
    """Build the .docx of an export (with page numbers in the contents when given)."""
    # The build allocates millions of short-lived objects and leaves few cycles (about 7 000
    # for 600 sections). Full collections in between rescan the whole heap ever more often
    # as the document grows: doubling the sections took 2.3 × the time, 1.9 × without them.
    # The cycles are collected once the build is done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return Builder(
            data, reference=reference, comments=comments, progress=progress, toc_pages=toc_pages
        ).build()
    finally:
        if enabled:
            gc.enable()
