"""Import a .docx: a new paper, or sections appended to one; tracked changes become suggestions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from drafting.extensions import db
from drafting.models import Section, User
from exports.docx_import import ImportedDocument, read
from exports.docx_safety import Limits
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import NotAllowed, PaperLocked, TooLarge, ValidationFailed
from workflows.permissions import is_writer
from workflows.uow import unit_of_work


@dataclass(frozen=True)
class ImportResult:
    """What an import created."""

    paper_id: int
    sections: int
    suggestions: int


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
    """One section to create, checked: title, level, body and the accepted reading."""

    title: str
    level: int
    body: str
    changed: bool
    accepted_title: str
    accepted_body: str
    authors: frozenset[str]


def _validate(doc: ImportedDocument) -> list[_Planned]:
    """Check the whole document against the caps and the section rules before any write.

    ASVS 4.0.3 V12.1.1/V11.1.4 (business limits): a document of thousands of headings is
    refused by the count, before a single section is stored.

    :raises ValidationFailed: no headings, a bad heading level or title (422).
    :raises TooLarge: too many sections, too many characters, an overlong section (413).
    """
    if not doc.sections:
        raise ValidationFailed(
            _l("The document has no headings (Heading 1 to 3) to split into sections."),
            field="file",
        )
    max_sections, max_chars = _caps()
    if len(doc.sections) > max_sections:
        raise TooLarge(
            _l(
                "The document has %(sections)s; at most %(n)s can be imported at once. "
                "Please split it into several documents.",
                sections=lazy_ngettext("%(num)d section", "%(num)d sections", len(doc.sections)),
                n=max_sections,
            ),
            field="file",
            limit=max_sections,
        )
    max_title = current_app.config["MAX_TITLE_CHARS"]
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
        if len(s.title) > max_title or len(s.accepted_title) > max_title:
            raise ValidationFailed(
                lazy_ngettext(
                    "A heading is longer than %(num)d character: %(title)s",
                    "A heading is longer than %(num)d characters: %(title)s",
                    max_title,
                    title=s.title[:80] + "…",
                ),
                field="file",
            )
        if s.level not in (1, 2, 3):
            raise ValidationFailed(
                _l(
                    "The heading “%(title)s” has level %(level)s; only Heading 1 to 3 "
                    "become sections.",
                    title=s.title[:80],
                    level=s.level,
                ),
                field="file",
            )
        if max(len(body), len(accepted_body)) > max_body:
            raise TooLarge(
                lazy_ngettext(
                    "The section “%(title)s” is longer than %(num)d character.",
                    "The section “%(title)s” is longer than %(num)d characters.",
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
                level=s.level,
                body=section_flow.check_body(body),
                changed=body != accepted_body or s.title != accepted_title,
                accepted_title=accepted_title,
                accepted_body=section_flow.check_body(accepted_body),
                authors=frozenset(a for a in s.authors if a),
            )
        )
    return planned


def import_docx(actor: User, data: bytes, *, paper_id: int | None = None) -> ImportResult:
    """Create a paper from a .docx, or append its sections to a paper.

    Sections whose text carries Word's tracked changes get one suggestion each (the accepted
    text), naming the Word authors, instead of having the changes applied.

    The import is one unit of work (ASVS 4.0.3 V11.1.2/V11.1.4): the whole document is read
    and checked before the first write; the actions called join one unit of work
    (:func:`workflows.uow.unit_of_work`): on any error it is rolled back, so no paper and no
    section of a failed import remain; it commits once at the end (or joins the caller's).

    :raises UnsafeDocument: for files that are not safe, readable .docx documents.
    :raises TooLarge: over the caps ``IMPORT_MAX_SECTIONS`` / ``IMPORT_MAX_CHARS`` (413).
    :raises ValidationFailed: for a document that cannot become sections (422).
    """
    doc = read(data, _limits())
    planned = _validate(doc)
    tracked = any(p.changed for p in planned)
    with unit_of_work():
        return _write(actor, doc, planned, tracked, paper_id)


def _write(
    actor: User,
    doc: ImportedDocument,
    planned: list[_Planned],
    tracked: bool,
    paper_id: int | None,
) -> ImportResult:
    existing: dict[str, int] = {}
    if paper_id is not None:
        access = paper_flow.get_paper(actor, paper_id)
        if not is_writer(access.member):
            raise NotAllowed(_l("Only editors and coordinators may import into this paper."))
        if access.paper.status.value != "drafting":
            raise PaperLocked(_l("The paper is frozen; nothing can be imported now."))
        existing = {s.title.casefold(): s.id for s in section_flow.list_sections(paper_id)}
    else:
        title = (doc.title or planned[0].title)[: current_app.config["MAX_TITLE_CHARS"]]
        paper = paper_flow.create_paper(actor, title, "")
        paper_id = paper.id
    targets: list[int | None] = [
        existing.get(s.title.casefold()) if tracked else None for s in planned
    ]
    fresh = [s for s, target in zip(planned, targets, strict=True) if target is None]
    created_ids = iter(
        section.id
        for section in section_flow.add_sections(
            actor,
            paper_id,
            [section_flow.NewSection(s.title, s.level, s.body) for s in fresh],
            note=_("Imported from Word"),
        )
    )
    suggested = 0
    for s, target in zip(planned, targets, strict=True):
        section_id = next(created_ids) if target is None else target
        if not s.changed:
            continue
        base = db.session.get(Section, section_id)
        assert base is not None
        authors = ", ".join(sorted(s.authors)) or _("unknown")
        suggestion_flow.create_suggestion(
            actor,
            section_id,
            body=s.accepted_body,
            base_version=base.version,
            title=s.accepted_title if s.accepted_title != s.title else None,
            note=_("Tracked changes from Word by %(authors)s", authors=authors),
        )
        suggested += 1
    created = len(fresh)
    return ImportResult(paper_id, created, suggested)
