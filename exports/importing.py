"""Import a .docx: a new paper, or sections appended to one; tracked changes become suggestions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from drafting.extensions import db
from drafting.models import Section, User
from drafting.permissions import may_edit_role
from exports.docx_import import ImportedDocument, read
from exports.docx_safety import Limits
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import NotAllowed, PaperLocked, TooLarge, ValidationFailed


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


def _validate(doc: ImportedDocument) -> None:
    if not doc.sections:
        raise ValidationFailed(
            _l("The document has no headings (Heading 1 to 3) to split into sections."),
            field="file",
        )
    max_title = current_app.config["MAX_TITLE_CHARS"]
    max_body = current_app.config["MAX_BODY_CHARS"]
    for s in doc.sections:
        if len(s.title) > max_title or len(s.accepted_title) > max_title:
            raise ValidationFailed(
                _l(
                    "A heading is longer than %(n)s characters: %(title)s",
                    n=max_title,
                    title=s.title[:80] + "…",
                ),
                field="file",
            )
        if max(len(s.body), len(s.accepted_body)) > max_body:
            raise TooLarge(
                _l(
                    "The section “%(title)s” is longer than %(n)s characters.",
                    title=s.title[:80],
                    n=max_body,
                ),
                field="file",
            )


def import_docx(actor: User, data: bytes, *, paper_id: int | None = None) -> ImportResult:
    """Create a paper from a .docx, or append its sections to a paper.

    Sections whose text carries Word's tracked changes get one suggestion each (the accepted
    text), naming the Word authors, instead of having the changes applied.

    :raises UnsafeDocument: for files that are not safe, readable .docx documents.
    """
    doc = read(data, _limits())
    _validate(doc)
    existing: dict[str, int] = {}
    if paper_id is not None:
        access = paper_flow.get_paper(actor, paper_id)
        if not may_edit_role(access.member):
            raise NotAllowed(_l("Only editors and coordinators may import into this paper."))
        if access.paper.status.value != "drafting":
            raise PaperLocked(_l("The paper is frozen; nothing can be imported now."))
        existing = {s.title.casefold(): s.id for s in section_flow.list_sections(paper_id)}
    else:
        title = (doc.title or doc.sections[0].title)[: current_app.config["MAX_TITLE_CHARS"]]
        paper = paper_flow.create_paper(actor, title, "")
        paper_id = paper.id
    created = suggested = 0
    for s in doc.sections:
        match = existing.get(s.title.casefold()) if doc.has_tracked_changes else None
        if match is None:
            section = section_flow.add_section(
                actor,
                paper_id,
                title=s.title,
                level=s.level,
                body=s.body,
                note=_("Imported from Word"),
            )
            created += 1
            target = section.id
        else:
            target = match
        if s.changed:
            base = db.session.get(Section, target)
            assert base is not None
            authors = ", ".join(sorted(s.authors)) or _("unknown")
            suggestion_flow.create_suggestion(
                actor,
                target,
                body=s.accepted_body,
                base_version=base.version,
                title=s.accepted_title if s.accepted_title != s.title else None,
                note=_("Tracked changes from Word by %(authors)s", authors=authors),
            )
            suggested += 1
    return ImportResult(paper_id, created, suggested)
