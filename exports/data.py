"""What an export contains, gathered from the database into plain data for the Word builder.

The builder (``exports.builder``) only sees these dataclasses, never ORM objects or sessions,
so it can run in a worker and be tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Change:
    """One version of a section: who saved it and when (for tracked-change attribution)."""

    number: int
    author: str
    created_at: datetime
    title: str
    body: str


@dataclass(frozen=True)
class CommentData:
    """An open comment to put into Word as a real comment on its passage."""

    author: str
    initials: str
    created_at: datetime
    body: str
    quote: str  # the passage in the section's Markdown body; empty = on the heading
    replies: tuple[tuple[str, datetime, str], ...] = ()  # (author, date, body)


@dataclass(frozen=True)
class SectionData:
    """One section as exported."""

    section_id: int
    number: str  # "1", "1.2", "1.2.3"
    level: int
    title: str
    body: str  # Markdown
    version: int
    author: str
    saved_at: datetime
    comments: tuple[CommentData, ...] = ()
    # For a redline: the section's text in the earlier edition (None = new section) and the
    # versions in between, oldest first, that made the changes.
    old_title: str | None = None
    old_body: str | None = None
    history: tuple[Change, ...] = ()
    # For a section removed since the earlier edition: who removed it and when, and the
    # section it followed there (None = it came first), so it stays at its old place.
    removed_by: str = ""
    removed_at: datetime | None = None
    follows: int | None = None


@dataclass(frozen=True)
class DecisionData:
    """One organisation's sign-off decision for the annex."""

    organisation: str
    decision: str  # approve | approve_with_reservation | reject | "" (open)
    signatory: str
    decided_at: datetime | None
    note: str


@dataclass(frozen=True)
class FigureData:
    """A figure's stored image (PNG or JPEG, re-encoded at upload) and its size in pixels."""

    id: int
    data: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ExportData:
    """Everything the Word document shows."""

    paper_id: int
    title: str
    summary: str
    lead_organisation: str
    participants: tuple[str, ...]
    status: str  # drafting | signing | final | archived → ENTWURF / ZUR MITZEICHNUNG / ENDFASSUNG
    edition_label: str  # e.g. "Gesamtfassung 2" or "Arbeitsstand"
    edition_number: int | None
    edition_hash: str | None
    date: datetime
    sections: tuple[SectionData, ...]
    decisions: tuple[DecisionData, ...] = ()
    # Sections of the earlier edition that are gone in this one (shown deleted in a redline).
    removed_sections: tuple[SectionData, ...] = ()
    redline_against: int | None = None
    language: str = "de"
    timezone: str = "Europe/Berlin"  # dates in the text are shown in this zone, not in UTC
    extra: dict[str, str] = field(default_factory=dict)
    figures: dict[int, FigureData] = field(default_factory=dict)  # placed figures by id
