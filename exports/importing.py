"""Import a .docx: a new paper, or suggestions on a paper; every loss listed in a report.

A new paper gets the file's sections; Word's tracked changes, footnotes and comments come
along (changes as suggestions, one per Word author). Importing into an existing paper never
changes its text: sections are matched to the paper's — by the bookmark every export writes
around a heading (``_kw_s<section id>_v<version>``), else by heading text and position, else
by similarity — and each section whose text differs in meaning (compared in canonical
Markdown, so formatting noise is no change) gets a suggestion based on the exported version.
Changes of the outline are suggested too, never applied: new headings become suggested new
sections, deleted headings suggested removals, sections out of order suggested moves.

Everything is read and planned before the first write; ``dry_run`` stops there and returns
the report. The writes are one unit of work (committed once, or joined to the caller's).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import format_date, lazy_ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Figure, Section, SuggestionKind, User
from drafting.text.canonical import same
from exports.docx_import import FIGURE_PLACEHOLDER, ImportedDocument, ImportedSection, Lost, read
from exports.docx_safety import Limits
from workflows import comments as comment_flow
from workflows import figures as figure_flow
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import NotAllowed, PaperLocked, TooLarge, ValidationFailed, WorkflowError
from workflows.permissions import is_writer
from workflows.uow import unit_of_work

KINDS = {
    "image": _l("Image"),
    "text box": _l("Text box"),
    "chart": _l("Chart"),
    "drawing": _l("Drawing"),
    "equation": _l("Equation"),
    "merged cell": _l("Merged cells"),
    "nested table": _l("Table inside a table"),
    "field": _l("Field"),
    "symbol": _l("Symbol"),
    "formatting": _l("Formatting"),
    "heading": _l("Heading shortened"),
    "comment": _l("Comment"),
    "removed section": _l("Removed section"),
}
"""Names of the kinds of losses, for the report page."""


@dataclass
class ImportReport:
    """What an import did or would do, and every element not carried over exactly."""

    created: int = 0
    suggested: int = 0
    comments: int = 0
    footnotes: int = 0
    figures: int = 0
    lost: list[Lost] = field(default_factory=list)
    new_sections: int = 0  # suggested new sections (counted in ``suggested`` too)
    removals: int = 0  # suggested removals
    moves: int = 0  # suggested moves

    def by_kind(self) -> dict[str, int]:
        """Count the losses by kind."""
        out: dict[str, int] = {}
        for item in self.lost:
            out[item.kind] = out.get(item.kind, 0) + 1
        return dict(sorted(out.items()))

    def as_json(self) -> dict[str, Any]:
        """The report as the API returns it."""
        return {
            "created": self.created,
            "suggested": self.suggested,
            "comments": self.comments,
            "footnotes": self.footnotes,
            "figures": self.figures,
            "lost": [{"kind": x.kind, "where": x.where, "what": x.what} for x in self.lost],
            "lost_by_kind": self.by_kind(),
            "outline": {
                "new_sections": self.new_sections,
                "removals": self.removals,
                "moves": self.moves,
            },
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import created (or, for a dry run, would create)."""

    paper_id: int | None
    sections: int
    suggestions: int
    report: ImportReport = field(default_factory=ImportReport)
    suggestion_ids: tuple[int, ...] = ()
    dry_run: bool = False


def _limits() -> Limits:
    cfg = current_app.config
    return Limits(
        max_uncompressed=int(cfg.get("IMPORT_MAX_UNCOMPRESSED", 100 * 1024 * 1024)),
        max_members=int(cfg.get("IMPORT_MAX_MEMBERS", 1000)),
    )


def _caps() -> tuple[int, int]:
    cfg = current_app.config
    return int(cfg.get("IMPORT_MAX_SECTIONS", 1000)), int(cfg.get("IMPORT_MAX_CHARS", 5_000_000))


@dataclass(frozen=True)
class _Planned:
    """One section of the file, checked: title, level, body and the readings per author."""

    title: str
    level: int
    body: str
    changed: bool
    accepted_title: str
    accepted_body: str
    authors: frozenset[str]
    source: ImportedSection


def _validate(doc: ImportedDocument) -> list[_Planned]:
    """Check the whole document against the caps and the section rules before any write.

    ASVS 4.0.3 V12.1.1/V11.1.4 (business limits): a document of thousands of headings is
    refused by the count, before a single section is stored.

    :raises ValidationFailed: a document without any text (422).
    :raises TooLarge: too many sections, too many characters, an overlong section (413).
    """
    if not doc.sections:
        raise ValidationFailed(
            _l(
                "The document contains no text to import. If it holds only pictures or "
                "scans, copy its text into a Word document and import that."
            ),
            field="file",
        )
    max_sections, max_chars = _caps()
    if len(doc.sections) > max_sections:
        raise TooLarge(
            lazy_ngettext(
                "The document has %(num)d section; at most %(n)s can be imported at once. "
                "Please split it into several documents.",
                "The document has %(num)d sections; at most %(n)s can be imported at once. "
                "Please split it into several documents.",
                len(doc.sections),
                n=max_sections,
            ),
            field="file",
            limit=max_sections,
        )
    max_figures = int(current_app.config.get("IMPORT_MAX_FIGURES", 200))
    if len(doc.figures) > max_figures:
        raise TooLarge(
            _l(
                "The document has %(count)s pictures; at most %(n)s can be imported at once. "
                "Please split it into several documents.",
                count=len(doc.figures),
                n=max_figures,
            ),
            field="file",
            limit=max_figures,
        )
    max_body = current_app.config["MAX_BODY_CHARS"]
    planned: list[_Planned] = []
    total = 0
    for s in doc.sections:
        body, accepted_body = s.body, s.accepted_body
        total += len(s.title) + max(len(body), len(accepted_body))
        if total > max_chars:
            raise TooLarge(
                lazy_ngettext(
                    "The document has more than %(num)d character of text; "
                    "please split it into several documents.",
                    "The document has more than %(num)d characters of text; "
                    "please split it into several documents.",
                    max_chars,
                ),
                field="file",
                limit=max_chars,
            )
        if max(len(body), len(accepted_body)) > max_body:
            raise TooLarge(
                lazy_ngettext(
                    "The section “%(title)s” is longer than %(num)d character; please split "
                    "it with headings.",
                    "The section “%(title)s” is longer than %(num)d characters; please split "
                    "it with headings.",
                    max_body,
                    title=s.title[:80],
                ),
                field="file",
            )
        title = section_flow.check_title(s.title)
        accepted_title = s.accepted_title or s.title
        if accepted_title != s.title:
            section_flow.check_title(accepted_title)
        planned.append(
            _Planned(
                title=title,
                level=min(max(s.level, 1), 3),
                body=section_flow.check_body(body),
                changed=body != accepted_body or s.title != accepted_title,
                accepted_title=accepted_title,
                accepted_body=section_flow.check_body(accepted_body),
                authors=frozenset(a for a in s.authors if a),
                source=s,
            )
        )
    return planned


@dataclass
class _Suggest:
    section_index: int  # index into planned
    target: int | None  # existing section id (None: the section this import creates)
    base_version: int | None
    body: str
    title: str | None
    note: str


@dataclass
class _Outline:
    """A suggested new section (``section_index``), removal or move (``target``)."""

    kind: SuggestionKind
    note: str
    section_index: int | None = None  # planned index of a new section
    target: int | None = None  # existing section removed or moved
    after: int | None = None  # existing section it goes after (None: the start)


@dataclass
class _Plan:
    paper_id: int | None
    create: list[int]  # indexes of planned sections to create
    targets: dict[int, int]  # planned index → existing section id
    suggestions: list[_Suggest]
    report: ImportReport
    figures: dict[str, int | None] = field(default_factory=dict)  # key → existing id / new
    outline: list[_Outline] = field(default_factory=list)


def _placed(body: str, figures: dict[str, int | None], ids: dict[str, int]) -> str:
    """Point the file's picture placeholders at figures; drop those that cannot be kept."""

    def place(m: Any) -> str:
        key = m.group(2)
        if key not in figures:
            return ""
        found = figures[key] if figures[key] is not None else ids.get(key)
        return f"![{m.group(1)}](figure:{found})" if found is not None else m.group(0)

    return FIGURE_PLACEHOLDER.sub(place, body).strip() if "figure:word" in body else body


def _check_figures(
    doc: ImportedDocument, paper_id: int | None, report: ImportReport
) -> dict[str, int | None]:
    """Decide per picture: an existing figure of the paper (same bytes), a new one, or lost."""
    known: dict[str, int] = {}
    if paper_id is not None:
        known = {
            digest: fid
            for fid, digest in db.session.execute(
                select(Figure.id, Figure.digest).where(Figure.paper_id == paper_id)
            )
        }
    out: dict[str, int | None] = {}
    cfg = current_app.config
    for f in doc.figures:
        digest = hashlib.sha256(f.data).hexdigest()
        if digest in known:
            out[f.key] = known[digest]
            continue
        try:
            figure_flow.reencode(
                f.data, max_bytes=cfg["FIGURE_MAX_BYTES"], max_pixels=cfg["FIGURE_MAX_PIXELS"]
            )
        except (ValidationFailed, TooLarge) as err:
            report.lost.append(Lost("image", f.where, f"{f.filename}: {err.message}"))
            continue
        out[f.key] = None
    report.figures = len(out)
    return out


def import_docx(
    actor: User,
    data: bytes,
    *,
    paper_id: int | None = None,
    dry_run: bool = False,
    filename: str = "",
) -> ImportResult:
    """Create a paper from a .docx, or suggest its changes to a paper.

    Sections whose text carries Word's tracked changes get one suggestion per Word author
    (that author's changes applied), instead of having the changes applied.

    The import is one unit of work (ASVS 4.0.3 V11.1.2/V11.1.4): the whole document is read
    and checked before the first write; the actions called join one unit of work
    (:func:`workflows.uow.unit_of_work`): on any error it is rolled back, so no paper and no
    section of a failed import remain; it commits once at the end (or joins the caller's).
    ``dry_run`` writes nothing.

    :raises UnsafeDocument: for files that are not safe, readable .docx documents.
    :raises TooLarge: over the caps ``IMPORT_MAX_SECTIONS`` / ``IMPORT_MAX_CHARS`` (413).
    :raises ValidationFailed: for a document that cannot become sections (422).
    """
    doc = read(
        data,
        _limits(),
        filename=filename,
        intro_title=_("Introduction"),
        max_title=int(current_app.config["MAX_TITLE_CHARS"]),
    )
    planned = _validate(doc)
    plan = _plan(actor, doc, planned, paper_id)
    if dry_run:
        return ImportResult(
            plan.paper_id, len(plan.create), plan.report.suggested, plan.report, (), True
        )
    with unit_of_work():
        return _write(actor, doc, planned, plan)


# --- planning (reads only) -------------------------------------------------------------------


def _note(authors: list[str]) -> str:
    if not authors:
        return _("Changes from a Word file")
    return _("Tracked changes from Word by %(authors)s", authors=", ".join(authors))


def _author_readings(p: _Planned) -> list[tuple[list[str], str, str]]:
    """One (authors, body, title) per Word author whose tracked changes touch the section."""
    authors = sorted(p.authors)
    if len(authors) <= 1:
        return [(authors, p.accepted_body, p.accepted_title)]
    out = []
    for author in authors:
        body = p.source.render_for(author)
        title = p.accepted_title if p.title != p.accepted_title else p.title
        out.append(([author], section_flow.check_body(body), title))
    return out


def _plan(
    actor: User, doc: ImportedDocument, planned: list[_Planned], paper_id: int | None
) -> _Plan:
    report = ImportReport(footnotes=doc.footnotes, lost=list(doc.lost))
    report.comments = len(doc.comments)
    plan = _Plan(paper_id, [], {}, [], report)
    plan.figures = _check_figures(doc, paper_id, report)
    if paper_id is None:
        paper_flow.require_paper_creation(actor)
        plan.create = list(range(len(planned)))
        for i, p in enumerate(planned):
            if not p.changed:
                continue
            for authors, body, title in _author_readings(p):
                if body == p.body and title == p.title:
                    continue
                plan.suggestions.append(
                    _Suggest(i, None, None, body, title if title != p.title else None,
                             _note(authors))
                )  # fmt: skip
        report.created = len(plan.create)
        report.suggested = len(plan.suggestions)
        return plan
    access = paper_flow.get_paper(actor, paper_id)
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators may import into this paper."))
    if access.paper.status.value != "drafting":
        raise PaperLocked(_l("The paper is frozen; nothing can be imported now."))
    existing = section_flow.list_sections(paper_id)
    plan.targets = _match(planned, existing)
    by_id = {s.id: s for s in existing}
    for i, p in enumerate(planned):
        target = plan.targets.get(i)
        if target is None or p.source.heading_deleted:
            continue
        section = by_id[target]
        base_number = p.source.bookmark[1] if p.source.bookmark else None
        base = section_flow.version_of(target, base_number) if base_number else None
        if base is None:
            base = section.head
        assert base is not None
        readings = _author_readings(p) if p.changed else [([], p.body, p.title)]
        for authors, raw, title in readings:
            body = _placed(raw, plan.figures, {})
            title_changed = title != base.title
            if same(body, base.body) and not title_changed:
                continue
            plan.suggestions.append(
                _Suggest(
                    i,
                    target,
                    base.number,
                    base.body if same(body, base.body) else body,
                    title if title_changed else None,
                    _note(authors),
                )
            )
    plan.outline = _plan_outline(planned, existing, plan.targets, report)
    report.suggested = len(plan.suggestions) + len(plan.outline)
    return plan


def _outline_note(kind: SuggestionKind, authors: frozenset[str]) -> str:
    names = ", ".join(sorted(authors))
    if kind == SuggestionKind.NEW_SECTION:
        if names:
            return _("Section added in Word by %(authors)s", authors=names)
        return _("Section added in the Word file")
    if kind == SuggestionKind.REMOVE_SECTION:
        if names:
            return _("Heading deleted in Word by %(authors)s", authors=names)
        return _("Not in the Word file any more")
    return _("Stands elsewhere in the Word file")


def _kept_in_order(positions: list[int]) -> set[int]:
    """Indexes of a longest increasing run of ``positions``: the sections that stay put."""
    tails: list[int] = []  # index into positions of the smallest tail of each length
    before: list[int | None] = []
    for k, value in enumerate(positions):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if positions[tails[mid]] < value:
                lo = mid + 1
            else:
                hi = mid
        before.append(tails[lo - 1] if lo else None)
        if lo == len(tails):
            tails.append(k)
        else:
            tails[lo] = k
    kept: set[int] = set()
    at = tails[-1] if tails else None
    while at is not None:
        kept.add(at)
        at = before[at]
    return kept


def _plan_outline(
    planned: list[_Planned],
    existing: list[Section],
    targets: dict[int, int],
    report: ImportReport,
) -> list[_Outline]:
    """Suggest what the file changed in the outline: new, deleted and moved headings.

    A heading the paper does not have becomes a suggested new section after the paper's
    section that precedes it in the file. A heading deleted with tracked changes becomes a
    suggested removal; so does a section missing from the file when the file is a copy of
    the paper (it carries the export's bookmarks, or holds most of its sections) —
    a partner's own chapter does not suggest removing everything else. Sections out of
    order are suggested moves: as few as keep the file's order (a longest increasing run
    stays put).
    """
    out: list[_Outline] = []
    removed = {
        targets[i] for i, p in enumerate(planned) if i in targets and p.source.heading_deleted
    }
    previous: int | None = None
    for i, p in enumerate(planned):
        target = targets.get(i)
        if target is not None:
            if target not in removed:
                previous = target
            continue
        if p.source.heading_deleted:
            continue  # deleted and not in the paper: nothing to suggest
        out.append(
            _Outline(
                SuggestionKind.NEW_SECTION,
                _outline_note(SuggestionKind.NEW_SECTION, p.authors),
                section_index=i,
                after=previous,
            )
        )
        report.new_sections += 1
    # Moves among the sections that stay.
    position = {s.id: k for k, s in enumerate(existing)}
    order = [i for i in sorted(targets) if targets[i] not in removed]
    kept = _kept_in_order([position[targets[i]] for i in order])
    for k, i in enumerate(order):
        if k in kept:
            continue
        after = targets[order[k - 1]] if k else None
        out.append(
            _Outline(
                SuggestionKind.MOVE_SECTION,
                _outline_note(SuggestionKind.MOVE_SECTION, frozenset()),
                target=targets[i],
                after=after,
            )
        )
        report.moves += 1
    for i, p in enumerate(planned):
        if i in targets and p.source.heading_deleted:
            out.append(
                _Outline(
                    SuggestionKind.REMOVE_SECTION,
                    _outline_note(SuggestionKind.REMOVE_SECTION, p.authors),
                    target=targets[i],
                )
            )
            report.removals += 1
    matched = set(targets.values())
    copy_of_paper = any(p.source.bookmark for p in planned) or 2 * len(matched) > len(existing)
    for s in existing:
        if s.id in matched:
            continue
        if copy_of_paper:
            out.append(
                _Outline(
                    SuggestionKind.REMOVE_SECTION,
                    _outline_note(SuggestionKind.REMOVE_SECTION, frozenset()),
                    target=s.id,
                )
            )
            report.removals += 1
        else:
            report.lost.append(
                Lost(
                    "removed section",
                    s.title,
                    _("not in the file; the section stays in the paper (remove it there)"),
                )
            )
    return out


def _match(planned: list[_Planned], existing: list[Section]) -> dict[int, int]:
    """Match the file's sections to the paper's: bookmark, then title, then similarity."""
    ids = {s.id for s in existing}
    out: dict[int, int] = {}
    used: set[int] = set()
    for i, p in enumerate(planned):
        mark = p.source.bookmark
        if mark and mark[0] in ids and mark[0] not in used:
            out[i] = mark[0]
            used.add(mark[0])
    # Same title: the nearest unused one by position.
    for i, p in enumerate(planned):
        if i in out:
            continue
        candidates = [
            (abs(k - i), s.id)
            for k, s in enumerate(existing)
            if s.id not in used and s.title.casefold() in (p.title.casefold(),
                                                           p.accepted_title.casefold())
        ]  # fmt: skip
        if candidates:
            out[i] = min(candidates)[1]
            used.add(out[i])
    # Similar title (a renamed heading) or similar text at the same place.
    for i, p in enumerate(planned):
        if i in out:
            continue
        best: tuple[float, int] | None = None
        for k, s in enumerate(existing):
            if s.id in used:
                continue
            score = difflib.SequenceMatcher(None, s.title.casefold(), p.title.casefold()).ratio()
            if s.head is not None and abs(k - i) <= 1:
                body = difflib.SequenceMatcher(None, s.head.body[:2000], p.body[:2000])
                score = max(score, body.quick_ratio() and body.ratio())
            if score >= 0.75 and (best is None or score > best[0]):
                best = (score, s.id)
        if best is not None:
            out[i] = best[1]
            used.add(best[1])
    return out


# --- writing ---------------------------------------------------------------------------------


def _write(
    actor: User, doc: ImportedDocument, planned: list[_Planned], plan: _Plan
) -> ImportResult:
    paper_id = plan.paper_id
    if paper_id is None:
        title = (doc.title or planned[0].title)[: current_app.config["MAX_TITLE_CHARS"]]
        paper = paper_flow.create_paper(actor, title, "")
        paper_id = paper.id
    ids: dict[str, int] = {}
    new_bodies = [
        planned[o.section_index].accepted_body for o in plan.outline if o.section_index is not None
    ]
    wanted = {
        m.group(2)
        for text in [planned[i].body for i in plan.create]
        + [s.body for s in plan.suggestions]
        + new_bodies
        for m in FIGURE_PLACEHOLDER.finditer(text)
    }
    for f in doc.figures:
        if f.key in wanted and f.key in plan.figures and plan.figures[f.key] is None:
            ids[f.key] = figure_flow.add_figure(
                actor, paper_id, data=f.data, filename=f.filename, caption=f.caption
            ).id
    created = section_flow.add_sections(
        actor,
        paper_id,
        [
            section_flow.NewSection(
                planned[i].title, planned[i].level, _placed(planned[i].body, plan.figures, ids)
            )
            for i in plan.create
        ],
        note=_("Imported from Word"),
    )
    section_of = dict(plan.targets)
    for i, section in zip(plan.create, created, strict=True):
        section_of[i] = section.id
    made: list[int] = []
    for s in plan.suggestions:
        section_id = s.target if s.target is not None else section_of[s.section_index]
        base_version = s.base_version
        if base_version is None:
            base = db.session.get(Section, section_id)
            assert base is not None
            base_version = base.version
        suggestion = suggestion_flow.create_suggestion(
            actor,
            section_id,
            body=_placed(s.body, plan.figures, ids),
            base_version=base_version,
            title=s.title,
            note=s.note,
        )
        made.append(suggestion.id)
    made.extend(_write_outline(actor, paper_id, planned, plan, ids))
    plan.report.comments = _comments(actor, doc, section_of, plan.report)
    return ImportResult(paper_id, len(created), len(made), plan.report, tuple(made), False)


def _write_outline(
    actor: User, paper_id: int, planned: list[_Planned], plan: _Plan, ids: dict[str, int]
) -> list[int]:
    """Store the suggested new, removed and moved sections; return their ids."""
    made: list[int] = []
    for o in plan.outline:
        if o.section_index is not None:
            p = planned[o.section_index]
            item = suggestion_flow.suggest_new_section(
                actor,
                paper_id,
                title=p.accepted_title,
                level=p.level,
                body=_placed(p.accepted_body, plan.figures, ids),
                after=o.after,
                note=o.note,
            )
        elif o.kind == SuggestionKind.REMOVE_SECTION:
            assert o.target is not None
            item = suggestion_flow.suggest_removal(actor, o.target, note=o.note)
        else:
            assert o.target is not None
            item = suggestion_flow.suggest_move(actor, o.target, after=o.after, note=o.note)
        made.append(item.id)
    return made


def _word_date(value: str) -> str:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return str(format_date(when, format="long"))


def _comments(
    actor: User, doc: ImportedDocument, section_of: dict[int, int], report: ImportReport
) -> int:
    """Add the Word comments to their sections, anchored to their passages; replies as replies."""
    made: dict[str, int] = {}
    by_id = {c.id: c for c in doc.comments}
    count = 0
    ordered = sorted(doc.comments, key=lambda c: c.parent is not None)
    known: dict[int, list[tuple[str, int, int | None]]] = {}
    for c in ordered:
        index = c.section if c.section >= 0 else 0
        section_id = section_of.get(index)
        if section_id is None:
            report.lost.append(Lost("comment", c.author, _("its section is not in the paper")))
            continue
        if section_id not in known:
            known[section_id] = [
                (" ".join(k.body.split()), k.id, k.parent_id)
                for k in comment_flow.section_comments(section_id)
            ]
        text = " ".join(c.text.split())
        same_comment = [
            (kid, parent)
            for body, kid, parent in known[section_id]
            if text
            and (
                body == text
                or (body.startswith(("aus Word:", "from Word:")) and body.endswith(" " + text))
            )
        ]
        if same_comment:
            # A comment the paper already has (an export with comments, sent back): kept once.
            made[c.id] = same_comment[0][1] or same_comment[0][0]
            continue
        date = _word_date(c.date)
        head = _("from Word: %(author)s", author=c.author or _("unknown"))
        if date:
            head = _("from Word: %(author)s, %(date)s", author=c.author or _("unknown"), date=date)
        body = f"{head}\n\n{c.text or '—'}"
        root = c.parent
        seen: set[str] = set()
        while root is not None and root in by_id and by_id[root].parent and root not in seen:
            seen.add(root)
            root = by_id[root].parent
        parent_id = made.get(root) if root is not None else None
        try:
            if parent_id is not None:
                comment = comment_flow.add_comment(actor, section_id, body, parent_id=parent_id)
            else:
                try:
                    comment = comment_flow.add_comment(actor, section_id, body, quote=c.quote)
                except (ValidationFailed, TooLarge):
                    comment = comment_flow.add_comment(actor, section_id, body)
                    report.lost.append(
                        Lost(
                            "comment",
                            c.author,
                            _("the marked passage was not found; the comment is on the section"),
                        )
                    )
        except WorkflowError as err:
            report.lost.append(Lost("comment", c.author, str(err.message)))
            continue
        made[c.id] = comment.id
        count += 1
    return count
