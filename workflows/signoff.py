"""Sign-off (Mitzeichnung): frozen editions, one decision per organisation, the paper's lifecycle.

Paper states: drafting → signing → final → archived; signing → drafting when the coordinator
cancels the round; final → drafting only by starting a new edition cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from drafting.extensions import db
from drafting.models import (
    Edition,
    EditionSection,
    EditionStatus,
    Paper,
    PaperRole,
    PaperStatus,
    Participant,
    Role,
    Section,
    SectionVersion,
    SignoffDecision,
    SignoffDecisionKind,
    User,
    utcnow,
)
from drafting.text.outline import heading_numbers
from workflows import activity, figures
from workflows.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from workflows.labels import paper_status_label
from workflows.notifications import Target, notify, paper_people
from workflows.papers import PaperAccess, get_paper
from workflows.permissions import can_manage, can_sign
from workflows.reviewstate import is_approved_at, statuses_for, transition
from workflows.sections import list_sections
from workflows.uow import use_case

REMIND_DAYS_BEFORE = 2


class PaperAction(StrEnum):
    START = "start"
    CANCEL = "cancel"
    FINALISE = "finalise"
    NEW_CYCLE = "new_cycle"
    ARCHIVE = "archive"


P = PaperStatus
PAPER_TRANSITIONS: dict[tuple[PaperAction, PaperStatus], PaperStatus] = {
    (PaperAction.START, P.DRAFTING): P.SIGNING,
    (PaperAction.CANCEL, P.SIGNING): P.DRAFTING,
    (PaperAction.FINALISE, P.SIGNING): P.FINAL,
    (PaperAction.NEW_CYCLE, P.FINAL): P.DRAFTING,
    (PaperAction.ARCHIVE, P.FINAL): P.ARCHIVED,
}


def paper_next(action: PaperAction, status: PaperStatus) -> PaperStatus:
    """Return the paper state an action leads to.

    :raises InvalidTransition: when the action is not possible in this state.
    """
    refusal = _l(
        "This is not possible while the paper is “%(state)s”.",
        state=paper_status_label(status),
    )
    return transition(PAPER_TRANSITIONS, action, status, refusal)


def content_hash(
    versions: Sequence[SectionVersion], paper_id: int | None = None, *, recompute: bool = False
) -> str:
    """Hash the ordered section titles, levels and bodies of an edition (SHA-256).

    With ``paper_id``, the figures the bodies place enter the hash by their content digest
    (``recompute``: from the stored bytes rather than the stored digest); a text without
    figures hashes exactly as before figures existed.
    """
    payload: list[Any] = [[v.title, v.level, v.body] for v in versions]
    if paper_id is not None:
        placed = figures.figures_digest(paper_id, [v.body for v in versions], recompute=recompute)
        if placed:
            payload.append({"figures": placed})
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def content_mac(paper_id: int, number: int, hash_value: str) -> str:
    """Return the keyed seal (HMAC-SHA256 under ``AUDIT_KEY``) of an edition's content hash.

    The plain hash is what signatories see and third parties recompute; the seal binds it to
    the paper and edition number with a key outside the database, so a rewrite of the texts
    with a recomputed plain hash is still found (ASVS 4.0.3 V7.3.3).
    """
    return activity.keyed(f"edition:{paper_id}:{number}:{hash_value}")


def _require_coordinator(access: PaperAccess) -> None:
    if not can_manage(access.member):
        raise NotAllowed(_l("Only the paper's coordinators may do this."))


def current_edition(paper: Paper) -> Edition | None:
    """Return the edition being signed or the final edition of a paper."""
    if paper.current_edition_id is None:
        return None
    return db.session.get(Edition, paper.current_edition_id)


def pending_for(user: User) -> list[tuple[Paper, Edition]]:
    """The open rounds the user signs for whose organisation has not decided yet ("My
    work"), oldest deadline first; only papers the user's organisation takes part in."""
    decided = select(SignoffDecision.edition_id).where(
        SignoffDecision.organisation_id == user.organisation_id
    )
    rows = db.session.execute(
        select(Paper, Edition)
        .join(Edition, Edition.id == Paper.current_edition_id)
        .join(
            Participant,
            (Participant.paper_id == Paper.id)
            & (Participant.organisation_id == user.organisation_id),
        )
        .join(
            PaperRole,
            (PaperRole.paper_id == Paper.id)
            & (PaperRole.user_id == user.id)
            & (PaperRole.role == Role.SIGNATORY),
        )
        .where(
            Paper.status == PaperStatus.SIGNING,
            Edition.status == EditionStatus.SIGNING,
            Edition.id.not_in(decided),
        )
        .order_by(Edition.deadline.is_(None), Edition.deadline, Paper.id)
    ).all()
    return [(paper, edition) for paper, edition in rows]


def _unapproved(sections: list[Section]) -> list[dict[str, Any]]:
    statuses = statuses_for(s.id for s in sections)
    unapproved = []
    for s in sections:
        st = statuses.get(s.id)
        if not is_approved_at(st, s.version):
            unapproved.append(
                {"id": s.id, "title": s.title, "review_state": st.state.value if st else "draft"}
            )
    return unapproved


def unapproved_sections(paper_id: int) -> list[dict[str, Any]]:
    """The paper's sections whose current version is not approved, in order, numbered:
    the start page lists them before anyone tries to start the sign-off."""
    sections = list_sections(paper_id)
    numbers = {
        s.id: n for n, s in zip(heading_numbers(s.level for s in sections), sections, strict=True)
    }
    return [{**u, "number": numbers[u["id"]]} for u in _unapproved(sections)]


@use_case
def start(
    actor: User,
    paper_id: int,
    *,
    label: str = "",
    deadline: date | None = None,
    today: date | None = None,
) -> Edition:
    """Freeze an edition and open the sign-off round.

    :raises InvalidTransition: when not every section is approved (``unapproved`` lists them).
    """
    access = get_paper(actor, paper_id, lock=True)
    _require_coordinator(access)
    paper = access.paper
    new_status = paper_next(PaperAction.START, paper.status)
    sections = list_sections(paper_id)
    if not sections:
        raise InvalidTransition(_l("The paper has no sections to sign."), unapproved=[])
    unapproved = _unapproved(sections)
    if unapproved:
        raise InvalidTransition(
            _l("Sign-off can only start when every section is approved."),
            unapproved=unapproved,
        )
    label = (label or "").strip()[:200]
    if deadline is not None and deadline < (today or date.today()):
        raise ValidationFailed(_l("The deadline lies in the past."), field="deadline")
    number = (
        db.session.scalar(select(func.max(Edition.number)).where(Edition.paper_id == paper_id)) or 0
    ) + 1
    versions = [s.head for s in sections]
    edition = Edition(
        paper_id=paper_id,
        number=number,
        label=label or str(_l("Edition %(n)s", n=number)),
        status=EditionStatus.SIGNING,
        content_hash=content_hash(versions, paper_id),  # type: ignore[arg-type]
        deadline=deadline,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    edition.content_mac = content_mac(paper_id, number, edition.content_hash)
    db.session.add(edition)
    db.session.flush()
    for position, s in enumerate(sections, start=1):
        assert s.head is not None
        db.session.add(
            EditionSection(
                edition_id=edition.id, section_id=s.id, version_id=s.head.id, position=position
            )
        )
    paper.status = new_status
    paper.current_edition_id = edition.id
    paper.updated_at = utcnow()
    activity.record(
        paper_id,
        actor,
        "signoff.started",
        edition=number,
        hash=edition.content_hash,
        label=edition.label,
        deadline=deadline.isoformat() if deadline else None,
    )
    notify(
        paper_people(paper_id, role=Role.SIGNATORY),
        "signoff_started",
        paper_id=paper_id,
        actor=actor,
        params={
            "paper": paper.title,
            "actor": actor.display_name,
            "due": deadline.isoformat() if deadline else "",
        },
        target=Target.SIGNOFF,
    )
    return edition


@use_case
def decide(
    actor: User,
    paper_id: int,
    decision: SignoffDecisionKind | str,
    note: str = "",
    *,
    edition_hash: str | None = None,
) -> SignoffDecision:
    """Record (or change) the actor's organisation's decision on the edition being signed.

    :raises NotAllowed: for users without the signatory role.
    :raises ValidationFailed: for a reservation or rejection without text.
    :raises InvalidTransition: when no round is open or the edition hash does not match.
    """
    try:
        kind = SignoffDecisionKind(decision)
    except ValueError:
        raise ValidationFailed(
            _l("The decision must be approve, approve with reservation or reject."),
            field="decision",
        ) from None
    note = (note or "").strip()
    if kind == SignoffDecisionKind.APPROVE_WITH_RESERVATION and not note:
        raise ValidationFailed(_l("Please state the reservation."), field="note")
    if kind == SignoffDecisionKind.REJECT and not note:
        raise ValidationFailed(_l("Please give a reason for the rejection."), field="note")
    if len(note) > 20000:
        raise ValidationFailed(_l("The text is too long."), field="note")
    access = get_paper(actor, paper_id, lock=True)
    if not can_sign(access.member):
        raise NotAllowed(
            _l("Only signatories of this paper may give their organisation's decision.")
        )
    paper = access.paper
    if paper.status != PaperStatus.SIGNING:
        raise InvalidTransition(
            _l("No sign-off round is open for this paper."), state=paper.status.value
        )
    edition = current_edition(paper)
    assert edition is not None
    if edition_hash is not None and edition_hash != edition.content_hash:
        raise InvalidTransition(
            _l("The edition you saw is not the one being signed; please reload."),
            state=paper.status.value,
        )
    record = db.session.scalar(
        select(SignoffDecision).where(
            SignoffDecision.edition_id == edition.id,
            SignoffDecision.organisation_id == actor.organisation_id,
        )
    )
    if record is None:
        record = SignoffDecision(edition_id=edition.id, organisation_id=actor.organisation_id)
        db.session.add(record)
    changed = record.decision is not None and (record.decision, record.note) != (kind, note)
    record.decision, record.note = kind, note
    record.user_id, record.decided_at = actor.id, utcnow()
    record.edition_hash = edition.content_hash
    db.session.flush()
    activity.record(
        paper_id,
        actor,
        "signoff.decided",
        edition=edition.number,
        organisation=actor.organisation.short_name,
        decision=kind.value,
        note=note,
        hash=edition.content_hash,
        changed=changed,
    )
    if kind == SignoffDecisionKind.REJECT:
        notify(
            paper_people(paper_id, role=Role.COORDINATOR),
            "signoff_decided",
            paper_id=paper_id,
            actor=actor,
            params={
                "paper": paper.title,
                "actor": actor.display_name,
                "organisation": actor.organisation.name,
                "decision": kind.value,
                "reason": note,
            },
            target=Target.SIGNOFF,
        )
    if _all_assent(paper_id, edition.id):
        _finalise(actor, paper, edition)
    return record


def _all_assent(paper_id: int, edition_id: int) -> bool:
    org_ids = set(
        db.session.scalars(
            select(Participant.organisation_id).where(Participant.paper_id == paper_id)
        )
    )
    assent = set(
        db.session.scalars(
            select(SignoffDecision.organisation_id).where(
                SignoffDecision.edition_id == edition_id,
                SignoffDecision.decision.in_(
                    [SignoffDecisionKind.APPROVE, SignoffDecisionKind.APPROVE_WITH_RESERVATION]
                ),
            )
        )
    )
    return bool(org_ids) and org_ids <= assent


def _finalise(actor: User, paper: Paper, edition: Edition) -> None:
    paper.status = paper_next(PaperAction.FINALISE, paper.status)
    edition.status = EditionStatus.FINAL
    edition.closed_at = utcnow()
    paper.updated_at = utcnow()
    activity.record(
        paper.id, actor, "signoff.final", edition=edition.number, hash=edition.content_hash
    )
    notify(
        paper_people(paper.id),
        "paper_final",
        paper_id=paper.id,
        actor=None,
        params={"paper": paper.title, "edition": edition.label},
        target=Target.EDITION,
        target_id=edition.number,
    )


@use_case
def cancel(actor: User, paper_id: int) -> Edition:
    """Cancel the open round: the paper goes back to drafting and can be edited again."""
    access = get_paper(actor, paper_id, lock=True)
    _require_coordinator(access)
    paper = access.paper
    paper.status = paper_next(PaperAction.CANCEL, paper.status)
    edition = current_edition(paper)
    assert edition is not None
    edition.status = EditionStatus.CANCELLED
    edition.closed_at = utcnow()
    paper.current_edition_id = None
    paper.updated_at = utcnow()
    activity.record(paper_id, actor, "signoff.cancelled", edition=edition.number)
    notify(
        paper_people(paper_id, role=Role.SIGNATORY),
        "signoff_cancelled",
        paper_id=paper_id,
        actor=actor,
        params={"paper": paper.title, "actor": actor.display_name},
        target=Target.SIGNOFF,
    )
    return edition


@use_case
def new_cycle(actor: User, paper_id: int) -> Paper:
    """Reopen a final paper for drafting; the final edition stays as it is."""
    access = get_paper(actor, paper_id, lock=True)
    _require_coordinator(access)
    paper = access.paper
    paper.status = paper_next(PaperAction.NEW_CYCLE, paper.status)
    paper.updated_at = utcnow()
    final = current_edition(paper)
    activity.record(
        paper_id,
        actor,
        "paper.new_cycle",
        final_edition=final.number if final is not None else None,
    )
    paper.current_edition_id = None
    return paper


@use_case
def archive(actor: User, paper_id: int) -> Paper:
    """Archive a final paper."""
    access = get_paper(actor, paper_id, lock=True)
    _require_coordinator(access)
    paper = access.paper
    paper.status = paper_next(PaperAction.ARCHIVE, paper.status)
    paper.updated_at = utcnow()
    activity.record(paper_id, actor, "paper.archived")
    return paper


def editions(paper_id: int) -> list[Edition]:
    """List a paper's editions, newest first."""
    return list(
        db.session.scalars(
            select(Edition).where(Edition.paper_id == paper_id).order_by(Edition.number.desc())
        )
    )


def edition(user: User, paper_id: int, number: int) -> tuple[PaperAccess, Edition]:
    """Return one edition of a paper the user may see, with its sections loaded.

    :raises NotFound: for unknown editions.
    """
    access = get_paper(user, paper_id)
    found = db.session.scalar(
        select(Edition)
        .where(Edition.paper_id == paper_id, Edition.number == number)
        .options(selectinload(Edition.entries).joinedload(EditionSection.version))
    )
    if found is None:
        raise NotFound(_l("Edition not found."))
    return access, found


def previous_edition(found: Edition) -> Edition | None:
    """Return the edition numbered just before this one, if any."""
    return db.session.scalar(
        select(Edition)
        .where(Edition.paper_id == found.paper_id, Edition.number < found.number)
        .order_by(Edition.number.desc())
        .limit(1)
        .options(selectinload(Edition.entries).joinedload(EditionSection.version))
    )


@dataclass(frozen=True)
class OrgRow:
    """One line of the sign-off matrix."""

    organisation_id: int
    name: str
    short_name: str
    decision: SignoffDecision | None
    overdue: bool


def matrix(paper_id: int, found: Edition, today: date | None = None) -> list[OrgRow]:
    """Return each participating organisation with its decision on an edition."""
    today = today or date.today()
    decisions = {
        d.organisation_id: d
        for d in db.session.scalars(
            select(SignoffDecision).where(SignoffDecision.edition_id == found.id)
        )
    }
    orgs = {org_id: d.organisation for org_id, d in decisions.items()}
    if found.status != EditionStatus.FINAL:
        # A final edition's record names the organisations that signed it, even after a new
        # cycle changed who takes part; open rounds list every participant.
        for part in db.session.scalars(select(Participant).where(Participant.paper_id == paper_id)):
            orgs.setdefault(part.organisation_id, part.organisation)
    rows = []
    for org_id, org in orgs.items():
        decision = decisions.get(org_id)
        overdue = (
            found.status == EditionStatus.SIGNING
            and decision is None
            and found.deadline is not None
            and found.deadline < today
        )
        rows.append(OrgRow(org_id, org.name, org.short_name, decision, overdue))
    return sorted(rows, key=lambda r: r.name)


@use_case
def send_reminders(today: date | None = None) -> int:
    """Remind signatories of organisations that have not decided before a deadline passes."""
    today = today or date.today()
    due = db.session.scalars(
        select(Edition).where(
            Edition.status == EditionStatus.SIGNING,
            Edition.deadline.is_not(None),
            Edition.deadline <= today + timedelta(days=REMIND_DAYS_BEFORE),
            Edition.reminded_at.is_(None),
        )
    ).all()
    sent = 0
    for found in due:
        # The activity log needs the paper's write lock; a user may have cancelled meanwhile.
        paper = db.session.scalar(
            select(Paper)
            .where(Paper.id == found.paper_id)
            .with_for_update(of=Paper)  # not the eager-loaded lead organisation (PostgreSQL)
            .execution_options(populate_existing=True)
        )
        db.session.refresh(found)
        if found.status != EditionStatus.SIGNING or found.reminded_at is not None:
            continue
        assert paper is not None and found.deadline is not None
        decided = set(
            db.session.scalars(
                select(SignoffDecision.organisation_id).where(
                    SignoffDecision.edition_id == found.id
                )
            )
        )
        waiting = (
            set(
                db.session.scalars(
                    select(Participant.organisation_id).where(Participant.paper_id == paper.id)
                )
            )
            - decided
        )
        reminded = notify(
            paper_people(paper.id, role=Role.SIGNATORY, organisation_ids=waiting),
            "signoff_reminder",
            paper_id=paper.id,
            actor=None,
            params={"paper": paper.title, "due": found.deadline.isoformat()},
            target=Target.SIGNOFF,
        )
        found.reminded_at = utcnow()
        activity.record(
            paper.id, None, "signoff.reminded", edition=found.number, organisations=len(waiting)
        )
        sent += len(reminded)  # notify skips deactivated signatories
    return sent


@dataclass(frozen=True)
class HashProblem:
    """A stored hash that does not match the stored texts."""

    edition: int
    problem: str


def verify(paper_id: int) -> list[HashProblem]:
    """Recompute every edition's hash from its stored versions and check its keyed seal;
    list the mismatches."""
    problems = []
    for found in db.session.scalars(
        select(Edition)
        .where(Edition.paper_id == paper_id)
        .order_by(Edition.number)
        .options(selectinload(Edition.entries).joinedload(EditionSection.version))
    ):
        actual = content_hash([e.version for e in found.entries], paper_id, recompute=True)
        if actual != found.content_hash:
            problems.append(HashProblem(found.number, "the texts do not match the stored hash"))
        elif not hmac.compare_digest(
            found.content_mac or "", content_mac(paper_id, found.number, found.content_hash)
        ):
            problems.append(
                HashProblem(
                    found.number, "keyed seal does not match (hash recomputed without the key)"
                )
            )
        for decision in db.session.scalars(
            select(SignoffDecision).where(SignoffDecision.edition_id == found.id)
        ):
            if decision.edition_hash != actual:
                problems.append(
                    HashProblem(
                        found.number,
                        f"the decision of organisation {decision.organisation.short_name} was "
                        "given for another text",
                    )
                )
    return problems
