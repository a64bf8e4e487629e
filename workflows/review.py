"""Section review actions: submit, approve (four-eyes), send back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    Notification,
    Paper,
    PaperRole,
    PaperStatus,
    Participant,
    ReviewEvent,
    ReviewStatus,
    Role,
    Section,
    SectionVersion,
    Suggestion,
    SuggestionStatus,
    User,
    utcnow,
)
from workflows.errors import InvalidTransition, NotAllowed, PaperLocked, ValidationFailed
from workflows.notifications import Target, notify, paper_people, visible_to
from workflows.permissions import (
    Membership,
    can_review,
    is_writer,
    may_review_version,
    membership,
)
from workflows.reviewstate import Action, S, is_approved_at, next_state, status_of
from workflows.reviewstate import record_event as _event
from workflows.sections import get_section, version_of
from workflows.uow import use_case


def _notify(
    recipients: Iterable[int], kind: str, section: Section, actor: User, **params: object
) -> None:
    notify(
        list(recipients),
        kind,
        paper_id=section.paper_id,
        section_id=section.id,
        actor=actor,
        params={"section": section.title, "actor": actor.display_name, **params},
        target=Target.SECTION,
    )


@use_case
def submit(
    actor: User, section_id: int, *, reviewers: Iterable[str] = (), due: date | None = None
) -> ReviewStatus:
    """Submit the current version of a section for review (idempotent for the same version).

    :raises NotAllowed: for users without the editor or coordinator role.
    :raises InvalidTransition: when the section is approved or sent back and not yet changed.
    """
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators may submit sections for review."))
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(_l("The paper is frozen; reviews cannot start now."))
    status = status_of(section.id)
    if status.state == S.IN_REVIEW and status.version == section.version:
        return status  # submitting twice changes nothing
    named = _resolve_reviewers(access.paper.id, reviewers)
    status.state = next_state(Action.SUBMIT, status.state)
    status.version = section.version
    status.due = due
    status.submitted_by_id = actor.id
    status.submitted_at = utcnow()
    status.reviewer_ids = named
    _event(section, section.version, actor, "submitted")
    # Sent to all reviewers, it never reaches the section's authors since its approval:
    # they may not review their own text (four eyes), so the request is not for them.
    authors = contributors_since_approval(section.id, section.version)
    _notify(
        named or [i for i in paper_people(access.paper.id, role=Role.REVIEWER) if i not in authors],
        "review_requested",
        section,
        actor,
        due=due.isoformat() if due else "",
    )
    return status


def _resolve_reviewers(paper_id: int, emails: Iterable[str]) -> list[int]:
    emails = [e.strip().lower() for e in emails if e and e.strip()]
    if not emails:
        return []
    rows = db.session.execute(
        select(User.id, User.email)
        .join(PaperRole, PaperRole.user_id == User.id)
        .where(
            PaperRole.paper_id == paper_id, PaperRole.role == Role.REVIEWER, User.email.in_(emails)
        )
    ).all()
    found = {email: uid for uid, email in rows}
    missing = [e for e in emails if e not in found]
    if missing:
        raise ValidationFailed(
            _l("Not a reviewer of this paper: %(emails)s", emails=", ".join(missing)),
            field="reviewers",
        )
    return sorted(set(found.values()))


def _check_reviewer(
    actor: User,
    access_member: Membership,
    section: Section,
    number: int,
    version: SectionVersion | None,
) -> None:
    if not can_review(access_member):
        raise NotAllowed(_l("Only reviewers of this paper may approve or send back sections."))
    if version is None:
        raise ValidationFailed(
            _l("Version %(n)s of this section does not exist.", n=number), field="version"
        )
    if version.author_id == actor.id:
        raise NotAllowed(_l("You wrote this version; someone else has to review it."))
    if actor.id in contributors_since_approval(section.id, number):
        raise NotAllowed(
            _l(
                "You wrote or chose text in this section since its last approval; "
                "someone else has to review it."
            )
        )


def contributors_since_approval(section_id: int, number: int) -> set[int]:
    """Return who wrote or chose text of the section's versions since the last approval.

    Every version after the last approved one up to ``number`` counts — not only the newest —
    with its author and co-author (ASVS V4.1.3 four-eyes: nobody approves their own text).
    """
    since = (
        db.session.scalar(
            select(ReviewStatus.approved_version).where(ReviewStatus.section_id == section_id)
        )
        or 0
    )
    rows = db.session.execute(
        select(SectionVersion.author_id, SectionVersion.coauthor_id).where(
            SectionVersion.section_id == section_id,
            SectionVersion.number > since,
            SectionVersion.number <= number,
        )
    ).all()
    return {uid for row in rows for uid in row if uid is not None}


@use_case
def approve(actor: User, section_id: int, version: int, comment: str = "") -> ReviewStatus:
    """Approve the given version of a section (four-eyes; idempotent).

    :raises NotAllowed: without the reviewer role, or for one's own version.
    :raises InvalidTransition: when the version is not the one under review.
    """
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(_l("The paper is frozen; reviews cannot change now."))
    shown = version_of(section.id, version)
    _check_reviewer(actor, access.member, section, version, shown)
    status = status_of(section.id)
    if is_approved_at(status, version) and version == section.version:
        return status  # approving twice changes nothing
    if version != section.version:
        raise InvalidTransition(
            _l(
                "Version %(n)s is not the current version (%(cur)s) of this section.",
                n=version,
                cur=section.version,
            ),
            state=status.state.value,
        )
    if status.state == S.DRAFT and status.reset_from is not None:
        status.state = next_state(Action.REAPPROVE, status.state)
    else:
        status.state = next_state(Action.APPROVE, status.state)
        if status.version != version:
            raise InvalidTransition(
                _l("Version %(n)s is not the version under review.", n=version),
                state=status.state.value,
            )
    status.version = version
    status.approved_version = version
    status.approved_by_id = actor.id
    status.approved_at = utcnow()
    status.carried_to = None
    status.reset_from = None
    _event(section, version, actor, "approved", comment.strip())
    recipients = {shown.author_id} if shown else set()
    if status.submitted_by_id:
        recipients.add(status.submitted_by_id)
    _notify(recipients, "approved", section, actor, version=version)
    return status


@use_case
def request_changes(actor: User, section_id: int, version: int, reason: str) -> ReviewStatus:
    """Send a section back to its editors with a reason.

    :raises ValidationFailed: without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _l("Please give a reason for sending the section back."), field="comment"
        )
    section, access = get_section(actor, section_id, lock=True, include_removed=False)
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(_l("The paper is frozen; reviews cannot change now."))
    shown = version_of(section.id, version)
    if not can_review(access.member):
        raise NotAllowed(_l("Only reviewers of this paper may approve or send back sections."))
    if shown is None:
        raise ValidationFailed(
            _l("Version %(n)s of this section does not exist.", n=version), field="version"
        )
    status = status_of(section.id)
    if status.state == S.CHANGES_REQUESTED and status.version == version:
        return status
    new_state = next_state(Action.REQUEST_CHANGES, status.state)
    if status.version != version:
        raise InvalidTransition(
            _l("Version %(n)s is not the version under review.", n=version), state=S.IN_REVIEW.value
        )
    # Only now: a refusal must leave the session unchanged for callers outside a request.
    status.state = new_state
    _event(section, version, actor, "changes_requested", reason)
    recipients = {shown.author_id}
    if status.submitted_by_id:
        recipients.add(status.submitted_by_id)
    _notify(recipients, "changes_requested", section, actor, reason=reason)
    return status


def comparison_base(
    section_id: int, status: ReviewStatus | None, head_number: int
) -> tuple[int, str] | None:
    """Which version the review page compares the current text with, and why.

    After "changes requested" (and no approval since) it is the version the changes were
    requested on, so the reviewer sees what changed since their request (``"requested"``);
    otherwise the last approved version, or the one whose approval a save reset
    (``"approved"``). None when there is nothing to compare.
    """
    if status is None:
        return None
    latest = db.session.scalar(
        select(ReviewEvent)
        .where(
            ReviewEvent.section_id == section_id,
            ReviewEvent.kind.in_(("changes_requested", "approved")),
        )
        .order_by(ReviewEvent.id.desc())
        .limit(1)
    )
    if latest is not None and latest.kind == "changes_requested":
        if latest.version != head_number:
            return latest.version, "requested"
    reference = status.reset_from or (
        status.approved_version if status.approved_version != head_number else None
    )
    if reference and reference != head_number:
        return reference, "approved"
    return None


def history_events(section_id: int) -> list[ReviewEvent]:
    """Return a section's review events, newest first."""
    return list(
        db.session.scalars(
            select(ReviewEvent)
            .where(ReviewEvent.section_id == section_id)
            .order_by(ReviewEvent.id.desc())
        )
    )


# --- what awaits a user ----------------------------------------------------------------------


@dataclass(frozen=True)
class MyWork:
    """What awaits a user: reviews (and the overdue ones), sections sent back to them as
    writers, unread mentions and open suggestions of papers they write."""

    to_review: list[tuple[ReviewStatus, Section, SectionVersion]]
    sent_back: list[tuple[ReviewStatus, Section, SectionVersion]]
    overdue: list[tuple[ReviewStatus, Section, SectionVersion]]
    mentions: list[Notification]
    open_suggestions: list[Suggestion]


def memberships_of(user: User) -> dict[int, Membership]:
    """Return the user's membership on every paper their organisation takes part in and on
    which they hold a role (roles never outlive visibility)."""
    rows = db.session.execute(
        select(Paper, PaperRole.role)
        .join(PaperRole, PaperRole.paper_id == Paper.id)
        .join(
            Participant,
            (Participant.paper_id == PaperRole.paper_id)
            & (Participant.organisation_id == user.organisation_id),
        )
        .where(PaperRole.user_id == user.id)
    ).all()
    papers: dict[int, Paper] = {}
    roles: dict[int, set[Role]] = {}
    for paper, role in rows:
        papers[paper.id] = paper
        roles.setdefault(paper.id, set()).add(role)
    return {
        pid: membership(user, paper, {user.organisation_id}, roles[pid])
        for pid, paper in papers.items()
    }


def my_work(user: User, today: date | None = None) -> MyWork:
    """Collect what awaits the user (the "my work" page), by the permission predicates."""
    today = today or date.today()
    members = memberships_of(user)
    review_papers = {pid for pid, m in members.items() if can_review(m)}
    edit_papers = {pid for pid, m in members.items() if is_writer(m)}
    rows = db.session.execute(
        select(ReviewStatus, Section, SectionVersion)
        .join(Section, Section.id == ReviewStatus.section_id)
        .join(SectionVersion, SectionVersion.id == Section.head_id)
        .where(Section.paper_id.in_(review_papers | edit_papers), Section.removed_at.is_(None))
    ).all()
    to_review, sent_back, overdue = [], [], []
    for status, section, head in rows:
        if (
            status.state == S.IN_REVIEW
            and section.paper_id in review_papers
            and may_review_version(
                members[section.paper_id],
                contributors_since_approval(section.id, head.number),
            )
            and (not status.reviewer_ids or user.id in status.reviewer_ids)
        ):
            to_review.append((status, section, head))
            if status.due and status.due < today:
                overdue.append((status, section, head))
        if status.state == S.CHANGES_REQUESTED and section.paper_id in edit_papers:
            sent_back.append((status, section, head))
    mentions = db.session.scalars(
        select(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.kind == "mentioned",
            Notification.read_at.is_(None),
            visible_to(user),
        )
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    open_suggestions = db.session.scalars(
        select(Suggestion)
        .where(Suggestion.paper_id.in_(edit_papers), Suggestion.status == SuggestionStatus.OPEN)
        .order_by(Suggestion.id.desc())
        .limit(100)
    ).all()
    return MyWork(to_review, sent_back, overdue, list(mentions), list(open_suggestions))
