"""Gather an export's content from the database into :mod:`exports.data`."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from drafting.extensions import db
from drafting.models import (
    Comment,
    Edition,
    EditionSection,
    Figure,
    Paper,
    Participant,
    Section,
    SectionVersion,
    User,
    utcnow,
)
from drafting.text.outline import heading_numbers
from exports.data import (
    Change,
    CommentData,
    DecisionData,
    ExportData,
    FigureData,
    SectionData,
)
from workflows import signoff
from workflows.errors import NotFound, ValidationFailed
from workflows.figures import figure_ids
from workflows.sections import list_sections


def _initials(name: str) -> str:
    return "".join(part[0] for part in name.split() if part[:1].isalpha())[:4].upper() or "?"


def _edition(paper_id: int, number: int) -> Edition:
    found = db.session.scalar(
        select(Edition)
        .where(Edition.paper_id == paper_id, Edition.number == number)
        .options(
            selectinload(Edition.entries)
            .joinedload(EditionSection.version)
            .joinedload(SectionVersion.author)
        )
    )
    if found is None:
        raise NotFound(f"edition {number} not found", field="edition")
    return found


def _comments(section_ids: list[int]) -> dict[int, list[CommentData]]:
    if not section_ids:
        return {}
    rows = db.session.scalars(
        select(Comment)
        .where(Comment.section_id.in_(section_ids), Comment.deleted_at.is_(None))
        .order_by(Comment.id)
    ).all()
    replies: dict[int, list[Comment]] = {}
    for c in rows:
        if c.parent_id is not None:
            replies.setdefault(c.parent_id, []).append(c)
    out: dict[int, list[CommentData]] = {}
    for c in rows:
        if c.parent_id is not None or c.resolved_at is not None:
            continue
        out.setdefault(c.section_id, []).append(
            CommentData(
                author=c.author.display_name,
                initials=_initials(c.author.display_name),
                created_at=c.created_at,
                body=c.body,
                quote=c.quote or "",
                replies=tuple(
                    (r.author.display_name, r.created_at, r.body) for r in replies.get(c.id, [])
                ),
            )
        )
    return out


def _history(section_id: int, after: int, upto: int) -> tuple[Change, ...]:
    versions = db.session.scalars(
        select(SectionVersion)
        .where(
            SectionVersion.section_id == section_id,
            SectionVersion.number > after,
            SectionVersion.number <= upto,
        )
        .order_by(SectionVersion.number)
    ).all()
    return tuple(
        Change(v.number, v.author.display_name, v.created_at, v.title, v.body) for v in versions
    )


def collect(
    paper_id: int,
    *,
    edition: int | None = None,
    redline_against: int | None = None,
    comments: bool = False,
) -> ExportData:
    """Return what the Word document of a paper (an edition or the working draft) shows.

    :raises NotFound: for an unknown paper or edition.
    :raises ValidationFailed: for a redline against an edition that is not earlier.
    """
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise NotFound("paper not found")
    participants = tuple(
        sorted(
            p.organisation.name
            for p in db.session.scalars(select(Participant).where(Participant.paper_id == paper_id))
        )
    )
    found: Edition | None = None
    if edition is not None:
        found = _edition(paper_id, edition)
        versions = [e.version for e in found.entries]
    else:
        versions = [s.head for s in list_sections(paper_id) if s.head is not None]
    levels = [v.level for v in versions]
    numbers = heading_numbers(levels)
    old_by_section: dict[int, SectionVersion] = {}
    old_order: list[int] = []
    if redline_against is not None:
        if edition is not None and redline_against >= edition:
            raise ValidationFailed(
                "the redline must be against an earlier edition", field="redline_against"
            )
        earlier = _edition(paper_id, redline_against)
        old_by_section = {e.section_id: e.version for e in earlier.entries}
        old_order = [e.section_id for e in earlier.entries]
    comment_map = _comments([v.section_id for v in versions]) if comments else {}
    sections = []
    for number, v in zip(numbers, versions, strict=True):
        old = old_by_section.get(v.section_id)
        sections.append(
            SectionData(
                section_id=v.section_id,
                number=number,
                level=v.level,
                title=v.title,
                body=v.body,
                version=v.number,
                author=v.author.display_name,
                saved_at=v.created_at,
                comments=tuple(comment_map.get(v.section_id, ())),
                old_title=old.title if old is not None else None,
                old_body=old.body if old is not None else None,
                history=_history(v.section_id, old.number if old is not None else 0, v.number)
                if redline_against is not None
                else (),
            )
        )
    present = {v.section_id for v in versions}
    gone = {
        s.id: s
        for s in db.session.scalars(
            select(Section).where(Section.id.in_([sid for sid in old_order if sid not in present]))
        )
    }
    removers = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({s.removed_by_id for s in gone.values()} - {None}))
        )
    }
    follows: dict[int, int | None] = {}
    previous: int | None = None
    for sid in old_order:
        follows[sid] = previous
        if sid in present:
            previous = sid
    removed = tuple(
        SectionData(
            section_id=sid,
            number="",
            level=old_by_section[sid].level,
            title=old_by_section[sid].title,
            body=old_by_section[sid].body,
            version=old_by_section[sid].number,
            author=old_by_section[sid].author.display_name,
            saved_at=old_by_section[sid].created_at,
            old_title=old_by_section[sid].title,
            old_body=old_by_section[sid].body,
            removed_by=removers.get(gone[sid].removed_by_id or 0, "") if sid in gone else "",
            removed_at=gone[sid].removed_at if sid in gone else None,
            follows=follows[sid],
        )
        for sid in old_order
        if sid not in present
    )
    decisions: tuple[DecisionData, ...] = ()
    if found is not None:
        # The same rows as the web record: a final edition names the organisations that
        # decided on it, even after a new cycle changed who takes part.
        decisions = tuple(
            DecisionData(
                organisation=row.name,
                decision=row.decision.decision.value if row.decision else "",
                signatory=row.decision.user.display_name if row.decision else "",
                decided_at=row.decision.decided_at if row.decision else None,
                note=row.decision.note if row.decision else "",
            )
            for row in signoff.matrix(paper_id, found)
        )
    status = paper.status.value
    if found is not None:
        status = {"signing": "signing", "final": "final"}.get(found.status.value, "drafting")
    bodies = [s.body for s in sections] + [s.old_body or "" for s in (*sections, *removed)]
    return ExportData(
        paper_id=paper.id,
        title=paper.title,
        summary=paper.summary,
        lead_organisation=paper.lead_organisation.name,
        participants=participants,
        status=status if found is not None else "drafting",
        edition_label=found.label if found is not None else "",
        edition_number=found.number if found is not None else None,
        edition_hash=found.content_hash if found is not None else None,
        date=(found.closed_at or found.created_at) if found is not None else utcnow(),
        sections=tuple(sections),
        decisions=decisions,
        removed_sections=removed,
        redline_against=redline_against,
        language=paper.language,
        timezone=str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin"),
        figures=_figures(paper_id, bodies),
    )


def _figures(paper_id: int, bodies: list[str]) -> dict[int, FigureData]:
    """Load the images of the paper's figures that the texts place."""
    ids = figure_ids(bodies)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Figure)
        .options(undefer(Figure.content))
        .where(Figure.paper_id == paper_id, Figure.id.in_(ids))
    )
    return {f.id: FigureData(f.id, f.content, f.media_type, f.width, f.height) for f in rows}
