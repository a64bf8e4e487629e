"""Sections and their immutable versions: add, save (with three-way merge), move, remove."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from drafting.extensions import db
from drafting.models import (
    Draft,
    Paper,
    PaperStatus,
    Section,
    SectionVersion,
    User,
    utcnow,
)
from drafting.text.markdown import render
from drafting.text.merge import MergeResult, merge3
from drafting.text.outline import heading_numbers
from workflows import activity, reviewstate, search, uow
from workflows.errors import (
    ConflictInfo,
    EditConflict,
    NotAllowed,
    NotFound,
    PaperLocked,
    SectionRemoved,
    TextState,
    TooLarge,
    ValidationFailed,
)
from workflows.numbers import to_int
from workflows.papers import PaperAccess, check_title, get_paper
from workflows.permissions import is_writer
from workflows.uow import use_case

MAX_SAVE_ATTEMPTS = 8


@dataclass(frozen=True)
class SaveResult:
    """The outcome of a save: the version now current and how it came about."""

    section: Section
    version: int
    created: bool
    merged: bool
    merged_with: int | None = None


def get_section(
    user: User | None,
    section_id: int,
    *,
    lock: bool = False,
    include_removed: bool = True,
    missing: object = None,
) -> tuple[Section, PaperAccess]:
    """Return a section of a paper the user may see.

    A hidden section answers like a missing one (``missing``: the message of an object
    reached through the section, e.g. a comment).

    :raises NotFound: when the section or its paper is not visible to the user.
    """
    missing = missing or _l("Section not found.")
    section = db.session.get(Section, section_id)
    if section is None:
        raise NotFound(missing)
    access = get_paper(user, section.paper_id, lock=lock, missing=missing)
    if lock:
        section = db.session.scalar(
            select(Section)
            .where(Section.id == section_id)
            .execution_options(populate_existing=True)
        )
        assert section is not None
    if section.removed_at is not None and not include_removed:
        raise NotFound(missing)
    return section, access


def _require_edit(access: PaperAccess) -> None:
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators of this paper may change sections."))
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(
            _l("The paper is frozen for sign-off or final; its sections cannot be changed now."),
            status=access.paper.status.value,
        )


def check_base_version(base_version: Any) -> int:
    """Return the number of the version an edit was based on, or refuse anything else."""
    try:
        return to_int(base_version)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _l("The base version must be a version number."), field="base_version"
        ) from None


def check_body(body: str) -> str:
    """Return the body with normalised line ends or refuse one over the size limit."""
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    limit = current_app.config["MAX_BODY_CHARS"]
    if len(body) > limit:
        raise TooLarge(
            lazy_ngettext(
                "The text is longer than %(num)d character.",
                "The text is longer than %(num)d characters.",
                limit,
            ),
            field="body",
            limit=limit,
        )
    return body


def check_level(level: Any) -> int:
    """Return a heading level 1–3 or refuse anything else."""
    try:
        value = to_int(level)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("The level must be 1, 2 or 3."), field="level") from None
    if value not in (1, 2, 3) or isinstance(level, bool):
        raise ValidationFailed(_l("The level must be 1, 2 or 3."), field="level")
    return value


def _new_version(
    section: Section,
    number: int,
    actor: User,
    *,
    title: str,
    level: int,
    body: str,
    note: str,
    **extra: Any,
) -> SectionVersion:
    version = SectionVersion(
        section_id=section.id,
        number=number,
        title=title,
        level=level,
        body=body,
        body_html=str(render(body)),
        author_id=actor.id,
        note=(note or "").strip()[:500],
        created_at=utcnow(),
        **extra,
    )
    db.session.add(version)
    db.session.flush()
    previous_head = section.head_id
    section.head_id = version.id
    section.head = version
    search.index_version(section.paper_id, version, actor.organisation_id, previous_head)
    return version


@use_case
def add_section(
    actor: User,
    paper_id: int,
    *,
    title: str,
    level: Any = 1,
    body: str = "",
    note: str = "",
    after: int | None = None,
    author: User | None = None,
) -> Section:
    """Add a section at the end of the paper (or after a given section) with its version 1.

    ``author``: whose text version 1 is when not the actor's (an accepted suggestion's).
    """
    title, level, body = check_title(title), check_level(level), check_body(body)
    access = get_paper(actor, paper_id, lock=True)
    _require_edit(access)
    last = db.session.scalar(select(func.max(Section.position)).where(Section.paper_id == paper_id))
    position = (last or 0) + 1
    if after is not None:
        anchor = db.session.get(Section, after)
        if anchor is None or anchor.paper_id != paper_id:
            raise NotFound(_l("Section not found."))
        position = anchor.position + 1
        for later in db.session.scalars(
            select(Section).where(Section.paper_id == paper_id, Section.position >= position)
        ):
            later.position += 1
    section = Section(paper_id=paper_id, position=position)
    db.session.add(section)
    db.session.flush()
    _new_version(section, 1, author or actor, title=title, level=level, body=body, note=note)
    access.paper.updated_at = utcnow()
    activity.record(
        paper_id, actor, "section.created", section_id=section.id, version=1, title=title
    )
    return section


@dataclass(frozen=True)
class NewSection:
    """A section to append: its title, level and the Markdown of its version 1."""

    title: str
    level: int
    body: str


@use_case
def add_sections(
    actor: User,
    paper_id: int,
    items: Sequence[NewSection],
    *,
    note: str = "",
) -> list[Section]:
    """Append many sections at the end of a paper, each with its version 1.

    Everything is checked before the first write; the paper is locked once and the rows go
    in with a few batched flushes (an import of hundreds of sections).

    :raises ValidationFailed: for a bad title or level.
    :raises TooLarge: for an overlong body.
    """
    checked = [(check_title(i.title), check_level(i.level), check_body(i.body)) for i in items]
    access = get_paper(actor, paper_id, lock=True)
    _require_edit(access)
    last = db.session.scalar(select(func.max(Section.position)).where(Section.paper_id == paper_id))
    now = utcnow()
    sections = [
        Section(paper_id=paper_id, position=(last or 0) + n, created_at=now)
        for n in range(1, len(checked) + 1)
    ]
    db.session.add_all(sections)
    db.session.flush()
    note = (note or "").strip()[:500]
    versions = [
        SectionVersion(
            section_id=section.id,
            number=1,
            title=title,
            level=level,
            body=body,
            body_html=str(render(body)),
            author_id=actor.id,
            note=note,
            created_at=now,
        )
        for section, (title, level, body) in zip(sections, checked, strict=True)
    ]
    db.session.add_all(versions)
    db.session.flush()
    for section, version in zip(sections, versions, strict=True):
        section.head_id = version.id
        section.head = version
        activity.record(
            paper_id,
            actor,
            "section.created",
            section_id=section.id,
            version=1,
            title=version.title,
        )
    search.index_new_sections(paper_id, versions, actor.organisation_id)
    access.paper.updated_at = now
    return sections


def version_of(section_id: int, number: int) -> SectionVersion | None:
    """Return one version of a section."""
    return db.session.scalar(
        select(SectionVersion).where(
            SectionVersion.section_id == section_id, SectionVersion.number == number
        )
    )


def conflict_info(
    section_id: int,
    base_number: int,
    head: SectionVersion,
    yours: TextState,
    body_merge: MergeResult | None = None,
    title_merge: MergeResult | None = None,
) -> ConflictInfo:
    """Describe a conflict of ``yours`` (started from ``base_number``) with ``head``.

    Without the merges they are made here, from the stored base version.
    """
    if body_merge is None or title_merge is None:
        base = version_of(section_id, base_number)
        if base is None:
            raise ValidationFailed(
                _l("Version %(n)s of this section does not exist.", n=base_number),
                field="base_version",
            )
        body_merge = merge3(base.body, head.body, yours.body)
        title_merge = merge3(base.title, head.title, yours.title)
    author = head.author
    return ConflictInfo(
        section_id=section_id,
        base_version=base_number,
        current_version=head.number,
        current=TextState(title=head.title, body=head.body, level=head.level),
        yours=yours,
        theirs_name=author.display_name,
        theirs_organisation=author.organisation.short_name
        if author.organisation is not None
        else "",
        theirs_saved_at=head.created_at,
        conflicts=tuple(body_merge.conflicts),
        title_conflicts=tuple(title_merge.conflicts),
        merged_title=title_merge.text if title_merge.clean else head.title,
        body_merge=body_merge,
    )


@use_case
def save_section(
    actor: User,
    section_id: int,
    *,
    body: str,
    base_version: Any,
    title: str | None = None,
    level: Any = None,
    note: str = "",
    editorial: bool = False,
    author: User | None = None,
    coauthor: User | None = None,
    on_saved: Callable[[int], None] | None = None,
) -> SaveResult:
    """Save a new text of a section started from ``base_version``, merging if others saved.

    :raises EditConflict: when the other change and this one touch the same words.
    :raises SectionRemoved: when the section was removed meanwhile.
    :raises PaperLocked: while the paper is frozen.
    :raises ValidationFailed: for a base version that does not exist or bad input.
    """
    body = check_body(body)
    if title is not None:
        title = check_title(title)
    if level is not None:
        level = check_level(level)
    base_number = check_base_version(base_version)
    for _attempt in range(MAX_SAVE_ATTEMPTS):
        try:
            with uow.attempt():
                return _save_once(
                    actor,
                    section_id,
                    body=body,
                    title=title,
                    level=level,
                    base_number=base_number,
                    note=note,
                    editorial=editorial,
                    author=author,
                    coauthor=coauthor,
                    on_saved=on_saved,
                )
        except IntegrityError:
            # Another save took the same version number first: merge on top of it (the
            # failed try was rolled back).
            continue
    raise EditConflict(_l("The section is being saved by many people at once; please save again."))


def _save_once(
    actor: User,
    section_id: int,
    *,
    body: str,
    title: str | None,
    level: int | None,
    base_number: int,
    note: str,
    editorial: bool = False,
    author: User | None = None,
    coauthor: User | None = None,
    on_saved: Callable[[int], None] | None = None,
) -> SaveResult:
    section, access = get_section(actor, section_id, lock=True)
    _require_edit(access)
    yours = {"title": title, "body": body}
    if section.removed_at is not None:
        raise SectionRemoved(
            _l("The section was removed meanwhile; your text is kept below."), yours=yours
        )
    head = db.session.scalar(
        select(SectionVersion)
        .where(SectionVersion.section_id == section.id)
        .order_by(SectionVersion.number.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    assert head is not None
    base = head if base_number == head.number else version_of(section.id, base_number)
    if base is None:
        raise ValidationFailed(
            _l("Version %(n)s of this section does not exist.", n=base_number), field="base_version"
        )
    mine_title = base.title if title is None else title
    mine_level = base.level if level is None else level
    merged = False
    if base.number == head.number:
        new_title, new_body, new_level = mine_title, body, mine_level
    else:
        title_merge = merge3(base.title, head.title, mine_title)
        body_merge = merge3(base.body, head.body, body)
        level_conflict = mine_level not in (base.level, head.level) and head.level != base.level
        if not (title_merge.clean and body_merge.clean) or level_conflict:
            raise EditConflict(
                _l("Someone else changed the same sentences meanwhile; nothing was saved."),
                info=conflict_info(
                    section.id,
                    base.number,
                    head,
                    TextState(title=mine_title, body=body, level=mine_level),
                    body_merge,
                    title_merge,
                ),
            )
        new_title, new_body = title_merge.text, body_merge.text
        new_level = mine_level if mine_level != base.level else head.level
        merged = True
    if (new_title, new_body, new_level) == (head.title, head.body, head.level):
        if author is None:
            _clear_draft(actor, section.id)
        if on_saved is not None:
            on_saved(head.number)
        return SaveResult(section, head.number, created=False, merged=merged)
    version = _new_version(
        section,
        head.number + 1,
        author or actor,
        title=new_title,
        level=new_level,
        body=new_body,
        note=note,
        merged_with=head.number if merged else None,
        coauthor_id=coauthor.id if coauthor is not None else None,
    )
    access.paper.updated_at = utcnow()
    activity.record(
        section.paper_id,
        actor,
        "section.saved",
        section_id=section.id,
        version=version.number,
        merged_with=head.number if merged else None,
        editorial=editorial,
    )
    reviewstate.after_save(section, head, version, actor, editorial=editorial)
    if author is None:
        # The user's own text is saved: their autosaved draft has done its job.
        _clear_draft(actor, section.id)
    if on_saved is not None:
        on_saved(version.number)  # runs in the same transaction as the save
    return SaveResult(
        section,
        version.number,
        created=True,
        merged=merged,
        merged_with=head.number if merged else None,
    )


@use_case
def restore_version(actor: User, section_id: int, number: int) -> SaveResult:
    """Make an old version current again by saving its text as a new version."""
    section, access = get_section(actor, section_id, lock=True)
    _require_edit(access)
    if section.removed_at is not None:
        raise SectionRemoved(_l("Restore the section before restoring one of its versions."))
    old = version_of(section.id, number)
    if old is None:
        raise NotFound(_l("Version not found."))
    head = section.head
    assert head is not None
    if (old.title, old.body, old.level) == (head.title, head.body, head.level):
        return SaveResult(section, head.number, created=False, merged=False)
    version = _new_version(
        section,
        head.number + 1,
        actor,
        title=old.title,
        level=old.level,
        body=old.body,
        note=f"v{number}",
        restored_from=number,
    )
    access.paper.updated_at = utcnow()
    activity.record(
        section.paper_id,
        actor,
        "version.restored",
        section_id=section.id,
        version=version.number,
        restored_from=number,
    )
    reviewstate.after_save(section, head, version, actor, editorial=False)
    return SaveResult(section, version.number, created=True, merged=False)


@use_case
def remove_section(actor: User, section_id: int) -> Section:
    """Remove a section from the paper; its history stays and the removal can be undone."""
    section, access = get_section(actor, section_id, lock=True)
    _require_edit(access)
    if section.removed_at is None:
        section.removed_at = utcnow()
        section.removed_by_id = actor.id
        search.unindex_section(section.id)
        access.paper.updated_at = utcnow()
        activity.record(
            section.paper_id,
            actor,
            "section.removed",
            section_id=section.id,
            version=section.version,
        )
    return section


@use_case
def undo_remove(actor: User, section_id: int) -> Section:
    """Bring a removed section back at its old place."""
    section, access = get_section(actor, section_id, lock=True)
    _require_edit(access)
    if section.removed_at is not None:
        section.removed_at = None
        section.removed_by_id = None
        db.session.flush()
        search.index_section(section.id)
        access.paper.updated_at = utcnow()
        activity.record(
            section.paper_id,
            actor,
            "section.restored",
            section_id=section.id,
            version=section.version,
        )
    return section


@use_case
def move_section(actor: User, section_id: int, direction: str) -> Section:
    """Move a section one place up or down among the paper's present sections."""
    if direction not in ("up", "down"):
        raise ValidationFailed(_l("Direction must be up or down."), field="direction")
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    _require_edit(access)
    siblings = list(
        db.session.scalars(
            select(Section)
            .where(Section.paper_id == section.paper_id, Section.removed_at.is_(None))
            .order_by(Section.position, Section.id)
        )
    )
    index = next(i for i, s in enumerate(siblings) if s.id == section.id)
    other_index = index - 1 if direction == "up" else index + 1
    if 0 <= other_index < len(siblings):
        siblings[index], siblings[other_index] = siblings[other_index], siblings[index]
        _renumber(siblings, access.paper)
        activity.record(
            section.paper_id, actor, "section.moved", section_id=section.id, direction=direction
        )
    return section


@use_case
def move_section_to(actor: User, section_id: int, position: Any) -> Section:
    """Move a section to ``position`` (1 = first) among the paper's present sections: the
    "move to…" page, the keyboard-friendly way to move a section more than one place."""
    try:
        target = int(position)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Please choose a place."), field="position") from None
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    _require_edit(access)
    siblings = list_sections(section.paper_id)
    if not 1 <= target <= len(siblings):
        raise ValidationFailed(_l("Please choose a place."), field="position")
    index = next(i for i, s in enumerate(siblings) if s.id == section.id)
    if index != target - 1:
        siblings.insert(target - 1, siblings.pop(index))
        _renumber(siblings, access.paper)
        activity.record(
            section.paper_id,
            actor,
            "section.moved",
            section_id=section.id,
            direction="up" if target - 1 < index else "down",
        )
    return section


def _renumber(ordered: list[Section], paper: Paper) -> None:
    # Removed sections keep their old positions; present ones get a dense order after them.
    removed_max = db.session.scalar(
        select(func.max(Section.position)).where(
            Section.paper_id == paper.id, Section.removed_at.is_not(None)
        )
    )
    start = (removed_max or 0) + 1
    for offset, sec in enumerate(ordered):
        sec.position = start + offset
    paper.updated_at = utcnow()


def _clear_draft(actor: User, section_id: int) -> None:
    db.session.execute(
        delete(Draft).where(Draft.user_id == actor.id, Draft.section_id == section_id)
    )


@use_case
def save_draft(actor: User, section_id: int, *, title: str, body: str, base_version: Any) -> Draft:
    """Keep the user's unsaved text of a section on the server (autosave)."""
    section, access = get_section(actor, section_id)
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators of this paper may change sections."))
    body = check_body(body)
    title = (title or "")[: current_app.config["MAX_TITLE_CHARS"]]
    base_number = check_base_version(base_version)
    draft = db.session.scalar(
        select(Draft).where(Draft.user_id == actor.id, Draft.section_id == section.id)
    )
    if draft is None:
        draft = Draft(
            user_id=actor.id,
            section_id=section.id,
            title=title,
            body=body,
            base_version=base_number,
        )
        db.session.add(draft)
    else:
        draft.title, draft.body, draft.base_version = title, body, base_number
    draft.updated_at = utcnow()
    try:
        with uow.attempt():
            pass  # flushed at its end: a clash shows here, not at the commit
    except IntegrityError:
        # A second tab created the draft first (the try was rolled back); write into that one.
        return save_draft(actor, section_id, title=title, body=body, base_version=base_version)
    return draft


def get_draft(actor: User, section_id: int) -> Draft | None:
    """Return the user's autosaved draft of a section, if any."""
    return db.session.scalar(
        select(Draft).where(Draft.user_id == actor.id, Draft.section_id == section_id)
    )


@use_case
def discard_draft(actor: User, section_id: int) -> None:
    """Throw away the user's autosaved draft of a section."""
    _clear_draft(actor, section_id)


def sections_of_paper(paper_id: int) -> tuple[list[Section], list[Section]]:
    """Return a paper's present and its removed sections, each in order, with one query."""
    from sqlalchemy.orm import joinedload

    every = db.session.scalars(
        select(Section)
        .where(Section.paper_id == paper_id)
        .options(joinedload(Section.head).joinedload(SectionVersion.author))
        .order_by(Section.position, Section.id)
    ).unique()
    present: list[Section] = []
    removed: list[Section] = []
    for section in every:
        (removed if section.removed_at is not None else present).append(section)
    return present, removed


def list_sections(paper_id: int, *, removed: bool = False) -> list[Section]:
    """Return a paper's present (or removed) sections in order, head version and author loaded."""
    from sqlalchemy.orm import joinedload

    condition = Section.removed_at.is_not(None) if removed else Section.removed_at.is_(None)
    return list(
        db.session.scalars(
            select(Section)
            .where(Section.paper_id == paper_id, condition)
            .options(joinedload(Section.head).joinedload(SectionVersion.author))
            .order_by(Section.position, Section.id)
        ).unique()
    )


def head_titles(paper_id: int) -> dict[int, str]:
    """Return the current title of every section of a paper (removed ones too), by id."""
    rows = db.session.execute(
        select(Section.id, SectionVersion.title)
        .join(SectionVersion, SectionVersion.id == Section.head_id)
        .where(Section.paper_id == paper_id)
    ).all()
    return {sid: title for sid, title in rows}


def history(section_id: int) -> list[SectionVersion]:
    """Return all versions of a section, newest first, without their bodies' HTML."""
    return list(
        db.session.scalars(
            select(SectionVersion)
            .options(defer(SectionVersion.body_html))
            .where(SectionVersion.section_id == section_id)
            .order_by(SectionVersion.number.desc())
        )
    )


def numbered_titles(section_ids: Iterable[int]) -> dict[int, str]:
    """Name sections as the paper page does, "2.1 Title" (lists such as "My work")."""
    wanted = set(section_ids)
    if not wanted:
        return {}
    paper_ids = set(
        db.session.scalars(select(Section.paper_id).where(Section.id.in_(wanted)).distinct())
    )
    named: dict[int, str] = {}
    for paper_id in paper_ids:
        sections = list_sections(paper_id)
        levels = (s.level for s in sections)
        for number, s in zip(heading_numbers(levels), sections, strict=True):
            if s.id in wanted:
                named[s.id] = f"{number} {s.title}"
    for removed_id in wanted - named.keys():
        removed = db.session.get(Section, removed_id)
        named[removed_id] = removed.title if removed is not None else ""
    return named
