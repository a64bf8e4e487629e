"""Papers, their participating organisations and per-paper roles."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from drafting.extensions import db
from drafting.models import (
    Organisation,
    Paper,
    PaperRole,
    PaperStatus,
    Participant,
    Role,
    User,
    utcnow,
)
from workflows import activity, search
from workflows.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    TooLarge,
    ValidationFailed,
)
from workflows.permissions import Membership, can_manage, can_view, membership
from workflows.uow import use_case


@dataclass(frozen=True)
class PaperAccess:
    """A paper together with what the current user is on it."""

    paper: Paper
    member: Membership


def membership_for(user: User | None, paper: Paper) -> Membership:
    """Load the user's membership on a paper with two small queries."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Membership(user_id=None, participates=False)
    org_ids = set(
        db.session.scalars(
            select(Participant.organisation_id).where(Participant.paper_id == paper.id)
        )
    )
    roles = set(
        db.session.scalars(
            select(PaperRole.role).where(
                PaperRole.paper_id == paper.id, PaperRole.user_id == user.id
            )
        )
    )
    return membership(user, paper, org_ids, roles)


def get_paper(
    user: User | None, paper_id: int, *, lock: bool = False, missing: object = None
) -> PaperAccess:
    """Return a paper the user may see.

    ``missing`` is the refusal's message when the paper is reached through one of its objects
    (a section, comment, export …): a hidden object answers exactly like one that does not
    exist (ASVS V4.2.1, no existence oracle).

    :raises NotFound: when it does not exist or the user's organisation does not take part.
    """
    query = select(Paper).where(Paper.id == paper_id)
    if lock:
        # Serialises writers per paper: version numbers and the activity chain stay gapless.
        # "OF paper": PostgreSQL cannot lock the outer-joined (eager-loaded) lead organisation.
        query = query.with_for_update(of=Paper).execution_options(populate_existing=True)
    paper = db.session.scalar(query)
    if paper is None:
        raise NotFound(missing or _l("Paper not found."))
    member = membership_for(user, paper)
    if not can_view(member):
        raise NotFound(missing or _l("Paper not found."))
    return PaperAccess(paper, member)


def visible_papers(user: User) -> list[Paper]:
    """List the papers whose participants include the user's organisation, newest first."""
    return list(
        db.session.scalars(
            select(Paper)
            .join(Participant, Participant.paper_id == Paper.id)
            .where(Participant.organisation_id == user.organisation_id)
            .order_by(Paper.updated_at.desc(), Paper.id.desc())
        )
    )


def check_title(title: str) -> str:
    """Return a stripped title (of a paper or a section) or refuse an empty or overlong one."""
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(_l("The title must not be empty."), field="title")
    limit = current_app.config["MAX_TITLE_CHARS"]
    if len(title) > limit:
        raise ValidationFailed(
            lazy_ngettext(
                "The title is longer than %(num)d character.",
                "The title is longer than %(num)d characters.",
                limit,
            ),
            field="title",
        )
    return title


def may_create_papers(user: User) -> bool:
    """Tell whether the user's organisation may create papers (a setting per organisation)."""
    org = db.session.get(Organisation, user.organisation_id)
    return bool(org is not None and org.may_create_papers)


def require_paper_creation(user: User) -> None:
    """Refuse users whose organisation may not create papers (ASVS V4.1.3).

    :raises NotAllowed: when the organisation's setting forbids it.
    """
    if not may_create_papers(user):
        raise NotAllowed(_l("Your organisation may not create papers."))


def check_language(language: str | None, default: str) -> str:
    """Return a paper language of the installation's (``LANGUAGES``), ``default`` for none."""
    languages = current_app.config["LANGUAGES"]
    if language is None or language == "":
        return default if default in languages else languages[0]
    if language not in languages:
        raise ValidationFailed(
            _l("The language must be one of: %(languages)s.", languages=", ".join(languages)),
            field="language",
        )
    return language


@use_case
def create_paper(actor: User, title: str, summary: str, language: str | None = None) -> Paper:
    """Create a paper led by the actor's organisation, with the actor as its coordinator.

    The paper is written in ``language``; without one, in the actor's interface language.

    :raises NotAllowed: when the actor's organisation may not create papers.
    """
    require_paper_creation(actor)
    title = check_title(title)
    language = check_language(language, actor.locale)
    summary = (summary or "").strip()
    if len(summary) > current_app.config["MAX_BODY_CHARS"]:
        raise TooLarge(_l("Summary is too long."), field="summary")
    paper = Paper(
        title=title,
        summary=summary,
        lead_organisation_id=actor.organisation_id,
        created_by_id=actor.id,
        language=language,
    )
    db.session.add(paper)
    db.session.flush()
    db.session.add(Participant(paper_id=paper.id, organisation_id=actor.organisation_id))
    db.session.add(PaperRole(paper_id=paper.id, user_id=actor.id, role=Role.COORDINATOR))
    search.index_paper(paper)
    activity.record(paper.id, actor, "paper.created", title=title)
    activity.record(paper.id, actor, "role.granted", user_id=actor.id, role=Role.COORDINATOR.value)
    return paper


@use_case
def update_paper(
    actor: User, paper_id: int, title: str, summary: str, language: str | None = None
) -> Paper:
    """Change a paper's title, summary and language (coordinators, while drafting)."""
    access = get_paper(actor, paper_id, lock=True)
    _require_manage(access)
    if access.paper.status != PaperStatus.DRAFTING:
        raise InvalidTransition(_l("The paper can only be changed while it is being drafted."))
    title = check_title(title)
    access.paper.language = check_language(language, access.paper.language)
    access.paper.title = title
    access.paper.summary = (summary or "").strip()
    access.paper.updated_at = utcnow()
    search.index_paper(access.paper)
    activity.record(paper_id, actor, "paper.updated", title=title)
    return access.paper


def _require_manage(access: PaperAccess) -> None:
    if not can_manage(access.member):
        raise NotAllowed(_l("Only the paper's coordinators may do this."))


def _require_open_membership(paper: Paper) -> None:
    if paper.status == PaperStatus.SIGNING:
        raise InvalidTransition(
            _l("Participants cannot change during a sign-off round; cancel the round first.")
        )
    if paper.status in (PaperStatus.FINAL, PaperStatus.ARCHIVED):
        raise InvalidTransition(_l("Participants of a final paper cannot change."))


@use_case
def add_participant(actor: User, paper_id: int, short_name: str) -> Participant:
    """Add a participating organisation to a paper."""
    access = get_paper(actor, paper_id, lock=True)
    _require_manage(access)
    _require_open_membership(access.paper)
    org = db.session.scalar(select(Organisation).where(Organisation.short_name == short_name))
    if org is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    exists = db.session.scalar(
        select(Participant).where(
            Participant.paper_id == paper_id, Participant.organisation_id == org.id
        )
    )
    if exists is not None:
        return exists  # adding twice is harmless
    part = Participant(paper_id=paper_id, organisation_id=org.id)
    db.session.add(part)
    access.paper.updated_at = utcnow()
    activity.record(paper_id, actor, "participant.added", organisation=org.short_name)
    return part


@use_case
def remove_participant(actor: User, paper_id: int, organisation_id: int) -> None:
    """Remove a participating organisation and its members' roles on the paper."""
    access = get_paper(actor, paper_id, lock=True)
    _require_manage(access)
    _require_open_membership(access.paper)
    if organisation_id == access.paper.lead_organisation_id:
        raise InvalidTransition(_l("The lead organisation cannot be removed."))
    part = db.session.scalar(
        select(Participant).where(
            Participant.paper_id == paper_id, Participant.organisation_id == organisation_id
        )
    )
    if part is None:
        raise NotFound(_l("Organisation does not take part."))
    user_ids = select(User.id).where(User.organisation_id == organisation_id)
    db.session.execute(
        delete(PaperRole).where(PaperRole.paper_id == paper_id, PaperRole.user_id.in_(user_ids))
    )
    short = part.organisation.short_name
    db.session.delete(part)
    activity.record(paper_id, actor, "participant.removed", organisation=short)


@use_case
def grant_role(actor: User, paper_id: int, email: str, role: Role | str) -> PaperRole:
    """Give a user of a participating organisation a role on the paper."""
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(_l("Unknown role."), field="role") from None
    access = get_paper(actor, paper_id, lock=True)
    _require_manage(access)
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    participant_ids = {p.organisation_id for p in access.paper.participants}
    if user is None or user.organisation_id not in participant_ids:
        raise ValidationFailed(
            _l("No user of a participating organisation has this e-mail address."), field="email"
        )
    existing = db.session.scalar(
        select(PaperRole).where(
            PaperRole.paper_id == paper_id, PaperRole.user_id == user.id, PaperRole.role == role
        )
    )
    if existing is not None:
        return existing
    granted = PaperRole(paper_id=paper_id, user_id=user.id, role=role)
    db.session.add(granted)
    activity.record(paper_id, actor, "role.granted", user_id=user.id, role=role.value)
    return granted


@use_case
def revoke_role(actor: User, paper_id: int, role_id: int) -> None:
    """Take a role on the paper away; the last coordinator cannot be removed."""
    access = get_paper(actor, paper_id, lock=True)
    _require_manage(access)
    granted = db.session.get(PaperRole, role_id)
    if granted is None or granted.paper_id != paper_id:
        raise NotFound(_l("Role not found."))
    if granted.role == Role.COORDINATOR:
        coordinators = [r for r in access.paper.roles if r.role == Role.COORDINATOR]
        if len(coordinators) <= 1:
            raise InvalidTransition(_l("A paper needs at least one coordinator."))
    db.session.delete(granted)
    activity.record(
        paper_id, actor, "role.revoked", user_id=granted.user_id, role=granted.role.value
    )


def role_candidates(paper_id: int) -> list[User]:
    """The active people of the paper's participating organisations, by organisation and
    name: whom the role form offers."""
    return list(
        db.session.scalars(
            select(User)
            .join(
                Participant,
                (Participant.organisation_id == User.organisation_id)
                & (Participant.paper_id == paper_id),
            )
            .where(User.active.is_(True))
            .order_by(User.organisation_id, User.display_name)
        )
    )


def get_participant(actor: User, paper_id: int, organisation_id: int) -> Participant:
    """Return an organisation's participation in a paper the actor manages (for the
    confirmation page before removing it)."""
    access = get_paper(actor, paper_id)
    _require_manage(access)
    part = db.session.scalar(
        select(Participant).where(
            Participant.paper_id == paper_id, Participant.organisation_id == organisation_id
        )
    )
    if part is None:
        raise NotFound(_l("Organisation does not take part."))
    return part


def get_role(actor: User, paper_id: int, role_id: int) -> PaperRole:
    """Return a role on a paper the actor manages (for the confirmation page before
    taking it away)."""
    access = get_paper(actor, paper_id)
    _require_manage(access)
    granted = db.session.get(PaperRole, role_id)
    if granted is None or granted.paper_id != paper_id:
        raise NotFound(_l("Role not found."))
    return granted


def paper_members(paper_id: int) -> list[PaperRole]:
    """List the roles granted on a paper with their users."""
    return list(
        db.session.scalars(
            select(PaperRole)
            .where(PaperRole.paper_id == paper_id)
            .options(selectinload(PaperRole.user))
            .order_by(PaperRole.role, PaperRole.id)
        )
    )
