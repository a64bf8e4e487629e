"""Invitations: an administrator, or a coordinator of a paper for its participating
organisations, invites a person by e-mail address; the one-time link lets them set a name and
password, and (when it was sent for a paper) gives them their role there.

Tokens are random (256 bits) and stored only as SHA-256: a database dump cannot be turned into
working links, and a lookup by digest compares no secret byte by byte.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Invitation, Organisation, Paper, PaperRole, Role, User, utcnow
from workflows import accounts, activity, adminlog
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed
from workflows.papers import get_paper
from workflows.permissions import can_manage
from workflows.uow import use_case

#: Rows a page of the invitation list shows.
PAGE_SIZE = 50


def token_digest(token: str) -> str:
    """Return the stored form of an invitation or reset token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """Return a fresh random token and its digest."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


@dataclass(frozen=True)
class Sent:
    """An invitation just created or resent, with the plain token of its link (shown once)."""

    invitation: Invitation
    token: str


def _lifetime() -> timedelta:
    return timedelta(days=int(current_app.config.get("INVITATION_DAYS", 7)))


def _check_inviter(
    actor: User | None, organisation: Organisation, paper_id: int | None
) -> Paper | None:
    """Administrators invite into any organisation; a coordinator only for a paper, into one
    of its participating organisations. ``actor`` None is the command line (trusted)."""
    if paper_id is None:
        if actor is not None and not actor.is_admin:
            raise NotAllowed(_l("Only administrators may invite people without a paper."))
        return None
    if actor is None:
        paper = db.session.get(Paper, paper_id)
        if paper is None:
            raise NotFound(_l("Paper not found."))
    else:
        access = get_paper(actor, paper_id, lock=True)
        if not actor.is_admin and not can_manage(access.member):
            raise NotAllowed(_l("Only coordinators of the paper may invite people to it."))
        paper = access.paper
    if organisation.id not in {p.organisation_id for p in paper.participants}:
        raise ValidationFailed(
            _l("The organisation does not take part in this paper."), field="organisation"
        )
    return paper


@use_case
def invite(
    actor: User | None,
    email: str,
    organisation: Organisation,
    *,
    paper_id: int | None = None,
    role: Role | str | None = None,
    locale: str = "de",
) -> Sent:
    """Invite a person; return the invitation and the token for its link (to be e-mailed).

    :raises NotAllowed: when the actor may not invite into this organisation or paper.
    :raises ValidationFailed: for an invalid address, an unknown role, or an organisation not
        taking part in the paper.
    :raises Duplicate: when an account with the address exists, or an invitation is pending.
    """
    email = accounts.normalise_email(email)
    if role is not None and role != "":
        try:
            role = Role(role)
        except ValueError:
            raise ValidationFailed(_l("Unknown role."), field="role") from None
    else:
        role = None
    if role is not None and paper_id is None:
        raise ValidationFailed(_l("A role needs a paper."), field="role")
    paper = _check_inviter(actor, organisation, paper_id)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Duplicate(
            _l(
                "A user with this e-mail address exists already. Give them a role on the "
                "paper's settings page instead."
            ),
            field="email",
        )
    now = utcnow()
    pending = db.session.scalar(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if pending is not None:
        raise Duplicate(
            _l("An invitation to this address is pending: resend it instead."), field="email"
        )
    token, digest = new_token()
    invitation = Invitation(
        email=email,
        organisation_id=organisation.id,
        paper_id=paper.id if paper is not None else None,
        role=role,
        locale=locale if locale in accounts.LOCALES else "de",
        token_hash=digest,
        invited_by_id=actor.id if actor is not None else None,
        created_at=now,
        sent_at=now,
        expires_at=now + _lifetime(),
    )
    db.session.add(invitation)
    db.session.flush()
    if paper is None:
        adminlog.record(
            actor, "invitation.sent", "invitation", invitation.id, organisation_id=organisation.id
        )
    else:
        activity.record(
            paper.id,
            actor,
            "invitation.sent",
            organisation=organisation.short_name,
            role=role.value if role is not None else "member",
        )
    return Sent(invitation, token)


def _manageable(actor: User, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(_l("Invitation not found."))
    if actor.is_admin:
        return invitation
    if invitation.paper_id is None:
        raise NotFound(_l("Invitation not found."))
    access = get_paper(actor, invitation.paper_id)
    if not can_manage(access.member):
        raise NotFound(_l("Invitation not found."))
    return invitation


@use_case
def resend(actor: User, invitation_id: int) -> Sent:
    """Send a pending or expired invitation again with a new link (the old one stops working).

    :raises InvalidTransition-like ValidationFailed: when it was accepted or withdrawn.
    """
    invitation = _manageable(actor, invitation_id)
    if invitation.accepted_at is not None or invitation.withdrawn_at is not None:
        raise ValidationFailed(_l("This invitation was accepted or withdrawn."))
    token, digest = new_token()
    now = utcnow()
    invitation.token_hash = digest
    invitation.sent_at = now
    invitation.expires_at = now + _lifetime()
    if invitation.paper_id is None:
        adminlog.record(actor, "invitation.resent", "invitation", invitation.id)
    return Sent(invitation, token)


@use_case
def withdraw(actor: User, invitation_id: int) -> Invitation:
    """Withdraw an invitation: its link stops working."""
    invitation = _manageable(actor, invitation_id)
    if invitation.accepted_at is not None:
        raise ValidationFailed(_l("This invitation was accepted already."))
    if invitation.withdrawn_at is None:
        invitation.withdrawn_at = utcnow()
        if invitation.paper_id is None:
            adminlog.record(actor, "invitation.withdrawn", "invitation", invitation.id)
        else:
            activity.record(
                invitation.paper_id,
                actor,
                "invitation.withdrawn",
                organisation=invitation.organisation.short_name,
            )
    return invitation


def open_invitations(
    *, paper_id: int | None = None, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[Invitation], int]:
    """List invitations not yet accepted or withdrawn (newest first), and how many there are."""
    query = select(Invitation).where(
        Invitation.accepted_at.is_(None), Invitation.withdrawn_at.is_(None)
    )
    if paper_id is not None:
        query = query.where(Invitation.paper_id == paper_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(per_page)
        .offset(max(page - 1, 0) * per_page)
    ).all()
    return list(rows), int(total)


def by_token(token: str) -> Invitation:
    """Return the pending invitation of a link.

    :raises NotFound: when the token is unknown, used, withdrawn or expired (one message for
        all: a guesser learns nothing).
    """
    if not token or len(token) > 200:
        raise NotFound(_l("This invitation link is not valid (any more)."))
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_digest(token))
    )
    if invitation is None or not invitation.is_pending():
        raise NotFound(_l("This invitation link is not valid (any more)."))
    return invitation


@use_case
def accept(token: str, display_name: str, password: str) -> User:
    """Create the invited account, give it its role on the paper, and end the invitation.

    :raises NotFound: when the link is not valid (any more).
    :raises ValidationFailed: for a missing name or a weak password.
    """
    invitation = by_token(token)
    user = accounts.create_user(
        invitation.email,
        display_name,
        invitation.organisation,
        password,
        locale=invitation.locale,
    )
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    paper = db.session.get(Paper, invitation.paper_id) if invitation.paper_id else None
    # The organisation may have left the paper since: then the account is made, the role not.
    if paper is not None and user.organisation_id in {
        p.organisation_id for p in paper.participants
    }:
        if invitation.role is not None:
            db.session.add(PaperRole(paper_id=paper.id, user_id=user.id, role=invitation.role))
        activity.record(
            paper.id,
            user,
            "invitation.accepted",
            organisation=invitation.organisation.short_name,
            role=invitation.role.value if invitation.role is not None else "member",
        )
    return user
