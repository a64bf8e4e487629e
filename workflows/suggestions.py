"""Suggestions (Änderungsvorschläge): proposed texts that editors accept or reject."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_

from drafting.extensions import db
from drafting.models import (
    PaperStatus,
    Role,
    Section,
    SectionVersion,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
    User,
    utcnow,
)
from drafting.text import changes as text_changes
from workflows import activity, search
from workflows.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    OutlineConflict,
    PaperLocked,
    TooLarge,
    ValidationFailed,
)
from workflows.notifications import Target, notify, paper_people
from workflows.papers import get_paper
from workflows.permissions import can_comment, is_writer
from workflows.sections import (
    SaveResult,
    add_section,
    check_base_version,
    check_body,
    check_level,
    check_title,
    get_section,
    list_sections,
    move_section_to,
    remove_section,
    save_section,
    version_of,
)
from workflows.uow import use_case


@use_case
def create_suggestion(
    actor: User,
    section_id: int,
    *,
    body: str,
    base_version: int,
    note: str = "",
    title: str | None = None,
) -> Suggestion:
    """Propose a new text for a section, based on one of its versions.

    :raises ValidationFailed: for an unknown base version or a text equal to it.
    """
    body = check_body(body)
    if title is not None:
        title = check_title(title)
    note = (note or "").strip()
    if len(note) > current_app.config["MAX_BODY_CHARS"]:
        raise TooLarge(_l("The note is too long."), field="note")
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    if not can_comment(access.member):
        raise NotAllowed(_l("Only members of participating organisations may suggest changes."))
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(_l("The paper is frozen; suggestions are not possible now."))
    base_number = check_base_version(base_version)
    base = version_of(section.id, base_number)
    if base is None:
        raise ValidationFailed(
            _l("Version %(n)s of this section does not exist.", n=base_version),
            field="base_version",
        )
    if body == base.body and (title is None or title == base.title):
        raise ValidationFailed(_l("The suggestion does not change the text."), field="body")
    suggestion = Suggestion(
        paper_id=section.paper_id,
        section_id=section.id,
        author_id=actor.id,
        base_version=base.number,
        title=title,
        body=body,
        note=note,
        status=SuggestionStatus.OPEN,
        created_at=utcnow(),
    )
    db.session.add(suggestion)
    db.session.flush()
    search.index_suggestion(suggestion, actor.organisation_id)
    activity.record(
        section.paper_id,
        actor,
        "suggestion.created",
        section_id=section.id,
        version=base.number,
        suggestion=suggestion.id,
    )
    # The paper's editors decide on suggestions: each of them hears of a new one.
    notify(
        paper_people(section.paper_id, role=Role.EDITOR),
        "suggestion_made",
        paper_id=section.paper_id,
        section_id=section.id,
        actor=actor,
        target=Target.SUGGESTION,
        target_id=suggestion.id,
    )
    return suggestion


def get_suggestion(actor: User, suggestion_id: int) -> Suggestion:
    """Return a suggestion on a paper the user may see.

    :raises NotFound: otherwise.
    """
    suggestion = db.session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(_l("Suggestion not found."))
    get_paper(actor, suggestion.paper_id, missing=_l("Suggestion not found."))
    return suggestion


def _decidable(actor: User, suggestion_id: int) -> Suggestion:
    suggestion = get_suggestion(actor, suggestion_id)
    access = get_paper(actor, suggestion.paper_id, lock=True)
    db.session.refresh(suggestion)
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators may decide on suggestions."))
    if suggestion.status != SuggestionStatus.OPEN:
        raise InvalidTransition(
            _l("This suggestion was already decided."), state=suggestion.status.value
        )
    return suggestion


def changes_of(suggestion: Suggestion) -> list[text_changes.Change]:
    """Return a suggestion's changes against the version it was based on, ids from 1.

    A suggestion of the outline (a new, removed or moved section) has none.
    """
    if suggestion.structural:
        return []
    assert suggestion.section_id is not None, "a text suggestion has its section"
    base = version_of(suggestion.section_id, suggestion.base_version)
    assert base is not None, "a suggestion's base version always exists"
    return text_changes.changes(base.body, suggestion.body)


@use_case
def accept(
    actor: User,
    suggestion_id: int,
    *,
    resolved_body: str | None = None,
    resolved_base: int | None = None,
    changes: Collection[int] | None = None,
) -> SaveResult:
    """Accept a suggestion: a new version authored by the suggester, merged if needed.

    With ``resolved_body`` an editor saves the text they combined on the conflict page,
    against ``resolved_base``. A version's author is whoever chose its text (ASVS V4.1.3,
    four-eyes): a combined text that differs from the suggestion is the editor's, with the
    suggester as co-author, so that neither of them can approve it. With ``changes`` (ids of
    :func:`changes_of`) only those changes are taken and the others rejected: the suggestion
    is then partly accepted, unless the ids name every change; the version stays the
    suggester's, and the editor who chose the changes is its co-author.

    A suggested new, removed or moved section is carried out whole by the section actions
    (:func:`_accept_outline`).

    :raises ValidationFailed: for no or unknown change ids.
    :raises EditConflict: when the section moved on in the same words.
    :raises OutlineConflict: for a removal of a section changed since, a move to a place gone.
    """
    suggestion = _decidable(actor, suggestion_id)
    suggester = db.session.get(User, suggestion.author_id)
    assert suggester is not None
    if suggestion.structural:
        if changes is not None or resolved_body is not None:
            raise ValidationFailed(
                _l("A suggestion of a new, removed or moved section is accepted as a whole."),
                field="changes",
            )
        return _accept_outline(actor, suggestion, suggester)
    section_id = suggestion.section_id
    assert section_id is not None
    if resolved_body is not None:
        resolved_body = check_body(resolved_body)
    body = suggestion.body if resolved_body is None else resolved_body
    author, coauthor = suggester, None
    if body != suggestion.body:
        author = actor
        coauthor = suggester if suggester.id != actor.id else None
    base = suggestion.base_version if resolved_base is None else resolved_base
    title = suggestion.title
    decided: dict[str, list[int]] | None = None
    if changes is not None:
        found = changes_of(suggestion)
        known = {change.id for change in found}
        chosen = set(changes)
        if not chosen:
            raise ValidationFailed(
                _l("Choose at least one change, or reject the suggestion."), field="changes"
            )
        if not chosen <= known:
            raise ValidationFailed(
                _l("The suggestion has no change %(ids)s.", ids=sorted(chosen - known)),
                field="changes",
            )
        decided = {"accepted": sorted(chosen), "rejected": sorted(known - chosen)}
        if decided["rejected"]:
            base_version = version_of(section_id, suggestion.base_version)
            assert base_version is not None
            body = text_changes.apply(base_version.body, found, chosen)
            base, title = suggestion.base_version, None
            # Only the suggester's words, but chosen by the editor: neither may approve it.
            author, coauthor = suggester, actor if actor.id != suggester.id else None
    with force_locale(actor.locale or "de"):
        # Stored text, so translated now: in the editor's language, in a request or not
        # (outside one, the locale selector has no request to ask and would fail).
        note = str(_l("Suggestion #%(n)s accepted", n=suggestion.id))
    suggestion_id = suggestion.id

    def close(version: int) -> None:
        # Runs in the save's transaction (one unit of work): version and decision commit
        # together. Read again under the paper's lock the save took: a decision made
        # meanwhile shows here.
        closing = db.session.get(Suggestion, suggestion_id, populate_existing=True)
        assert closing is not None
        if closing.status != SuggestionStatus.OPEN:
            raise InvalidTransition(
                _l("This suggestion was already decided."), state=closing.status.value
            )
        partly = decided is not None and bool(decided["rejected"])
        closing.status = SuggestionStatus.PARTLY_ACCEPTED if partly else SuggestionStatus.ACCEPTED
        closing.decided_by_id = actor.id
        closing.decided_at = utcnow()
        closing.result_version = version
        closing.decided_changes = decided
        details = {"changes": decided} if decided is not None else {}
        activity.record(
            closing.paper_id,
            actor,
            "suggestion.partly_accepted" if partly else "suggestion.accepted",
            section_id=closing.section_id,
            version=version,
            suggestion=closing.id,
            **details,
        )
        _tell_author(closing, actor, accepted=True)

    result = save_section(
        actor,
        section_id,
        body=body,
        base_version=base,
        title=title,
        note=str(note),
        author=author,
        coauthor=coauthor,
    )
    close(result.version)
    return result


@use_case
def reject(actor: User, suggestion_id: int, reason: str) -> Suggestion:
    """Reject a suggestion with a reason.

    :raises ValidationFailed: without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _l("Please give a reason for rejecting the suggestion."), field="reason"
        )
    suggestion = _decidable(actor, suggestion_id)
    suggestion.status = SuggestionStatus.REJECTED
    suggestion.decided_by_id = actor.id
    suggestion.decided_at = utcnow()
    suggestion.reason = reason
    titled = {"title": suggestion.title} if suggestion.section_id is None else {}
    activity.record(
        suggestion.paper_id,
        actor,
        "suggestion.rejected",
        section_id=suggestion.section_id,
        version=suggestion.base_version or None,
        suggestion=suggestion.id,
        reason=reason,
        **titled,
    )
    _tell_author(suggestion, actor, accepted=False)
    return suggestion


def _tell_author(suggestion: Suggestion, actor: User, *, accepted: bool) -> None:
    titled = {"section": suggestion.title} if suggestion.section_id is None else {}
    notify(
        [suggestion.author_id],
        "suggestion_decided",
        paper_id=suggestion.paper_id,
        section_id=suggestion.section_id,
        actor=actor,
        params={
            "accepted": accepted,
            "actor": actor.display_name,
            "reason": suggestion.reason,
            "suggestion": suggestion.id,
            **titled,
        },
        target=Target.SUGGESTION,
        target_id=suggestion.id,
    )


def for_section(section_id: int, *, open_only: bool = False) -> list[Suggestion]:
    """List a section's suggestions of its text, newest first."""
    query = select(Suggestion).where(
        Suggestion.section_id == section_id, Suggestion.kind == SuggestionKind.TEXT
    )
    if open_only:
        query = query.where(Suggestion.status == SuggestionStatus.OPEN)
    return list(db.session.scalars(query.order_by(Suggestion.id.desc())))


def open_counts(paper_id: int) -> dict[int, int]:
    """Count open suggestions per section of a paper with one query."""
    from sqlalchemy import func

    rows = db.session.execute(
        select(Suggestion.section_id, func.count())
        .where(
            Suggestion.paper_id == paper_id,
            Suggestion.status == SuggestionStatus.OPEN,
            Suggestion.kind == SuggestionKind.TEXT,
        )
        .group_by(Suggestion.section_id)
    ).all()
    return {section_id: count for section_id, count in rows if section_id is not None}


# --- tracked changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    """A suggestion with its changes against its base text, for showing them inline."""

    suggestion: Suggestion
    base_body: str
    changes: list[text_changes.Change]

    def states(self) -> dict[int, str]:
        """Return "accepted"/"rejected" per change id once the suggestion is decided."""
        decided = self.suggestion.decided_changes
        if self.suggestion.status == SuggestionStatus.ACCEPTED:
            return {c.id: "accepted" for c in self.changes}
        if self.suggestion.status == SuggestionStatus.REJECTED:
            return {c.id: "rejected" for c in self.changes}
        if decided:
            return {
                **{int(i): "accepted" for i in decided.get("accepted", [])},
                **{int(i): "rejected" for i in decided.get("rejected", [])},
            }
        return {}


def tracked(suggestion: Suggestion) -> Tracked:
    """Return a suggestion's tracked changes against the version it was based on."""
    if suggestion.structural or suggestion.section_id is None:
        return Tracked(suggestion, "", [])
    base = version_of(suggestion.section_id, suggestion.base_version)
    assert base is not None, "a suggestion's base version always exists"
    return Tracked(suggestion, base.body, text_changes.changes(base.body, suggestion.body))


def open_tracked(paper_id: int, *, with_changes: bool = True) -> dict[int, list[Tracked]]:
    """Return the open suggestions of a paper's texts as tracked changes, per section."""
    return open_on_paper(paper_id, with_changes=with_changes)[0]


def open_on_paper(
    paper_id: int, *, with_changes: bool = True
) -> tuple[dict[int, list[Tracked]], list[Suggestion]]:
    """Return a paper's open suggestions, oldest first, with one query for the paper page.

    First the suggested texts as tracked changes per section; without ``with_changes`` the
    changes are not computed (and base texts not loaded): the lengths of the lists are then
    the open counts, for readers who may not decide. Then the suggested new, removed and
    moved sections.
    """
    found = list(
        db.session.scalars(
            select(Suggestion)
            .where(Suggestion.paper_id == paper_id, Suggestion.status == SuggestionStatus.OPEN)
            .order_by(Suggestion.id)
        ).unique()
    )
    outline = [item for item in found if item.structural]
    items = [item for item in found if not item.structural]
    if not with_changes:
        counted: dict[int, list[Tracked]] = {}
        for item in items:
            assert item.section_id is not None
            counted.setdefault(item.section_id, []).append(Tracked(item, "", []))
        return counted, outline
    if not items:
        return {}, outline
    wanted = {(s.section_id, s.base_version) for s in items}
    rows = db.session.execute(
        select(SectionVersion.section_id, SectionVersion.number, SectionVersion.body).where(
            tuple_(SectionVersion.section_id, SectionVersion.number).in_(list(wanted))
        )
    )
    bodies = {(section_id, number): body for section_id, number, body in rows}
    result: dict[int, list[Tracked]] = {}
    for item in items:
        assert item.section_id is not None
        base = bodies.get((item.section_id, item.base_version), "")
        result.setdefault(item.section_id, []).append(
            Tracked(item, base, text_changes.changes(base, item.body))
        )
    return result, outline


def decide(
    actor: User,
    suggestion_id: int,
    *,
    decision: str,
    choices: Mapping[str, str],
    reason: str = "",
) -> SaveResult | Suggestion:
    """Decide a suggestion change by change, as posted by the tracked-changes form.

    ``decision`` is ``"all"`` (accept every change), ``"none"`` (reject the suggestion, a
    reason is needed) or ``"choice"``: then ``choices`` maps ``change-<id>`` to
    ``"accept"`` or ``"reject"``, and changes not named are accepted. Accepting every
    change is a plain accept; rejecting every change is a rejection.

    :raises ValidationFailed: for an unknown decision, or a rejection without a reason.
    """
    if decision == "all":
        return accept(actor, suggestion_id)
    if decision == "none":
        return reject(actor, suggestion_id, reason)
    if decision != "choice":
        raise ValidationFailed(_l("Choose what to do with the suggestion."), field="decision")
    suggestion = get_suggestion(actor, suggestion_id)
    found = [change.id for change in changes_of(suggestion)]
    rejected = {i for i in found if choices.get(f"change-{i}") == "reject"}
    if not rejected:
        return accept(actor, suggestion_id)
    if len(rejected) == len(found):
        return reject(actor, suggestion_id, reason)
    return accept(actor, suggestion_id, changes=[i for i in found if i not in rejected])


# --- the outline: suggested new, removed and moved sections ------------------------------------


def _may_suggest(actor: User, paper_id: int) -> None:
    access = get_paper(actor, paper_id, lock=True)
    if not can_comment(access.member):
        raise NotAllowed(_l("Only members of participating organisations may suggest changes."))
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(_l("The paper is frozen; suggestions are not possible now."))


def _present_section(paper_id: int, section_id: int | None, field: str) -> Section:
    section = db.session.get(Section, section_id) if section_id is not None else None
    if section is None or section.paper_id != paper_id or section.removed_at is not None:
        raise ValidationFailed(_l("That section is not in the paper."), field=field)
    return section


def _outline(
    actor: User,
    paper_id: int,
    kind: SuggestionKind,
    section: Section | None,
    *,
    after: int | None,
    note: str,
    title: str | None = None,
    level: int | None = None,
    body: str = "",
) -> Suggestion:
    suggestion = Suggestion(
        paper_id=paper_id,
        kind=kind,
        section_id=section.id if section is not None else None,
        author_id=actor.id,
        base_version=section.version if section is not None else 0,
        title=title,
        level=level,
        body=body,
        after_section_id=after,
        note=(note or "").strip(),
        status=SuggestionStatus.OPEN,
        created_at=utcnow(),
    )
    db.session.add(suggestion)
    db.session.flush()
    search.index_suggestion(suggestion, actor.organisation_id)
    named = title if section is None else section.title
    activity.record(
        paper_id,
        actor,
        "suggestion.section_proposed"
        if kind == SuggestionKind.NEW_SECTION
        else "suggestion.removal_proposed"
        if kind == SuggestionKind.REMOVE_SECTION
        else "suggestion.move_proposed",
        section_id=suggestion.section_id,
        version=section.version if section is not None else None,
        suggestion=suggestion.id,
        title=named,
    )
    notify(
        paper_people(paper_id, role=Role.EDITOR),
        "suggestion_made",
        paper_id=paper_id,
        section_id=suggestion.section_id,
        actor=actor,
        params={"section": named, "outline": kind.value},
        target=Target.SUGGESTION,
        target_id=suggestion.id,
    )
    return suggestion


@use_case
def suggest_new_section(
    actor: User,
    paper_id: int,
    *,
    title: str,
    level: int,
    body: str,
    after: int | None,
    note: str = "",
) -> Suggestion:
    """Suggest a new section after the section ``after`` (at the start when ``None``).

    :raises ValidationFailed: for a bad title or level, or a place not in the paper.
    """
    title, level, body = check_title(title), check_level(level), check_body(body)
    _may_suggest(actor, paper_id)
    if after is not None:
        _present_section(paper_id, after, "after")
    return _outline(
        actor,
        paper_id,
        SuggestionKind.NEW_SECTION,
        None,
        after=after,
        note=note,
        title=title,
        level=level,
        body=body,
    )


@use_case
def suggest_removal(actor: User, section_id: int, *, note: str = "") -> Suggestion:
    """Suggest removing a section, as it stands now (a later change makes it a conflict)."""
    section, _access = get_section(actor, section_id, include_removed=False)
    _may_suggest(actor, section.paper_id)
    return _outline(
        actor, section.paper_id, SuggestionKind.REMOVE_SECTION, section, after=None, note=note
    )


@use_case
def suggest_move(actor: User, section_id: int, *, after: int | None, note: str = "") -> Suggestion:
    """Suggest moving a section after the section ``after`` (to the start when ``None``).

    :raises ValidationFailed: for a place not in the paper or the section itself.
    """
    section, _access = get_section(actor, section_id, include_removed=False)
    _may_suggest(actor, section.paper_id)
    if after == section.id:
        raise ValidationFailed(_l("A section cannot follow itself."), field="after")
    if after is not None:
        _present_section(section.paper_id, after, "after")
    return _outline(
        actor, section.paper_id, SuggestionKind.MOVE_SECTION, section, after=after, note=note
    )


def _new_section_place(suggestion: Suggestion) -> int | None:
    """The section a suggested new section goes after.

    Its anchor, or the last section made from an earlier suggestion of the same place, so a
    run of new headings from one file keeps its order whichever is accepted first.
    """
    same_place = (
        Suggestion.after_section_id.is_(None)
        if suggestion.after_section_id is None
        else Suggestion.after_section_id == suggestion.after_section_id
    )
    earlier = db.session.scalars(
        select(Section)
        .join(Suggestion, Suggestion.section_id == Section.id)
        .where(
            Suggestion.paper_id == suggestion.paper_id,
            Suggestion.kind == SuggestionKind.NEW_SECTION,
            Suggestion.status == SuggestionStatus.ACCEPTED,
            Suggestion.id < suggestion.id,
            Section.removed_at.is_(None),
            same_place,
        )
    ).all()
    if earlier:
        return max(earlier, key=lambda s: s.position).id
    return suggestion.after_section_id


def _move_target(suggestion: Suggestion, section: Section) -> int:
    """The place (1 = first) among the present sections a suggested move leads to."""
    others = [s.id for s in list_sections(section.paper_id) if s.id != section.id]
    if suggestion.after_section_id is None:
        return 1
    if suggestion.after_section_id not in others:
        raise OutlineConflict(
            _l(
                "The section after which “%(title)s” should go was removed meanwhile; move "
                "it yourself or reject the suggestion.",
                title=section.title,
            )
        )
    return others.index(suggestion.after_section_id) + 2


def _accept_outline(actor: User, suggestion: Suggestion, suggester: User) -> SaveResult:
    """Carry out a suggested new section, removal or move with the section actions.

    :raises OutlineConflict: the section was removed, or changed since its removal was
        suggested, or the place of a move is gone.
    :raises PaperLocked: while the paper is frozen.
    """
    paper = get_paper(actor, suggestion.paper_id).paper
    if paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(
            _l("The paper is frozen; suggestions cannot be accepted now."),
            status=paper.status.value,
        )
    with force_locale(actor.locale or "de"):
        note = str(_l("Suggestion #%(n)s accepted", n=suggestion.id))
    kind = suggestion.kind
    if kind == SuggestionKind.NEW_SECTION:
        after = _new_section_place(suggestion)
        section = add_section(
            actor,
            suggestion.paper_id,
            title=suggestion.title or "",
            level=suggestion.level or 1,
            body=suggestion.body,
            note=note,
            after=after,
            author=suggester,
        )
        if after is None:
            move_section_to(actor, section.id, 1)
        suggestion.section_id = section.id
        # Its search entry now belongs to the new section (removed with it, found in it).
        search.index_suggestion(suggestion, suggester.organisation_id)
    else:
        found = db.session.get(Section, suggestion.section_id)
        assert found is not None
        section = found
        if section.removed_at is not None:
            raise OutlineConflict(
                _l("The section “%(title)s” was removed meanwhile.", title=section.title)
            )
        if kind == SuggestionKind.REMOVE_SECTION:
            if section.version != suggestion.base_version:
                raise OutlineConflict(
                    _l(
                        "“%(title)s” changed after its removal was suggested (version %(base)s, "
                        "now %(now)s). Read it again: remove it yourself if it should still "
                        "go, or reject the suggestion.",
                        title=section.title,
                        base=suggestion.base_version,
                        now=section.version,
                    )
                )
            remove_section(actor, section.id)
        else:
            move_section_to(actor, section.id, _move_target(suggestion, section))
    suggestion.status = SuggestionStatus.ACCEPTED
    suggestion.decided_by_id = actor.id
    suggestion.decided_at = utcnow()
    suggestion.result_version = section.version
    activity.record(
        suggestion.paper_id,
        actor,
        "suggestion.accepted",
        section_id=section.id,
        version=section.version,
        suggestion=suggestion.id,
    )
    _tell_author(suggestion, actor, accepted=True)
    return SaveResult(
        section, section.version, created=kind == SuggestionKind.NEW_SECTION, merged=False
    )
