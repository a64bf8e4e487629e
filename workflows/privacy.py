"""Personal data (GDPR): what the service holds about a person (Art. 15) and erasing a person
who left (Art. 17) without breaking the integrity of papers, logs and signed editions.

docs/privacy.md is the record of processing: every table and field with personal data, why,
and how long. Texts a person wrote stay part of the papers (the legal basis of the alliance's
work is its public task, Art. 6(1)(e)); after erasure they are attributed to a pseudonym.
Activity and administrators' logs name people by id, outside their hashed content, so the
chains stay verifiable; editions hash texts, not people.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    AdminLogEntry,
    ApiToken,
    Comment,
    Draft,
    Export,
    ExternalIdentity,
    Invitation,
    LoginSession,
    Notification,
    NotificationOptOut,
    Paper,
    PaperRole,
    PasswordReset,
    ReviewEvent,
    Role,
    SectionVersion,
    SignoffDecision,
    Suggestion,
    User,
    utcnow,
)
from workflows import accounts, activity, adminlog
from workflows.errors import InvalidTransition, NotAllowed, NotFound
from workflows.uow import use_case

FORMAT_VERSION = 1
#: The address an erased account keeps (unique, never deliverable: .invalid is reserved).
ERASED_DOMAIN = "erased.invalid"


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export(user: User) -> dict[str, Any]:
    """Return everything stored about a person, as plain JSON-ready data (Art. 15)."""
    uid = user.id
    papers = {p.id: p.title for p in db.session.scalars(select(Paper))}

    def rows(query: Any) -> list[Any]:
        return list(db.session.scalars(query))

    return {
        "format": "konzeptwerk-personal-data",
        "version": FORMAT_VERSION,
        "created_at": utcnow().isoformat(),
        "profile": {
            "id": uid,
            "name": user.display_name,
            "email": user.email,
            "organisation": {
                "name": user.organisation.name,
                "short_name": user.organisation.short_name,
            },
            "language": user.locale,
            "active": bool(user.active),
            "administrator": bool(user.is_admin),
            "created_at": _when(user.created_at),
            "last_login_at": _when(user.last_login_at),
        },
        "roles": [
            {
                "paper_id": r.paper_id,
                "paper": papers.get(r.paper_id),
                "role": r.role.value,
                "granted_at": _when(r.granted_at),
            }
            for r in rows(select(PaperRole).where(PaperRole.user_id == uid))
        ],  # fmt: skip
        "versions": [
            {
                "section_id": v.section_id,
                "version": v.number,
                "title": v.title,
                "text": v.body,
                "note": v.note,
                "created_at": _when(v.created_at),
                "role": "author" if v.author_id == uid else "co-author",
            }
            for v in rows(
                select(SectionVersion)
                .where(or_(SectionVersion.author_id == uid, SectionVersion.coauthor_id == uid))
                .order_by(SectionVersion.created_at)
            )
        ],
        "comments": [
            {
                "id": c.id,
                "paper_id": c.paper_id,
                "section_id": c.section_id,
                "reply_to": c.parent_id,
                "text": c.body,
                "quote": c.quote,
                "created_at": _when(c.created_at),
                "deleted": c.deleted_at is not None,
            }
            for c in rows(select(Comment).where(Comment.author_id == uid).order_by(Comment.id))
        ],  # fmt: skip
        "suggestions": [
            {
                "id": s.id,
                "section_id": s.section_id,
                "text": s.body,
                "note": s.note,
                "status": s.status.value,
                "created_at": _when(s.created_at),
            }
            for s in rows(select(Suggestion).where(Suggestion.author_id == uid))
        ],  # fmt: skip
        "decisions": {
            "reviews": [
                {
                    "section_id": e.section_id,
                    "version": e.version,
                    "kind": e.kind,
                    "comment": e.comment,
                    "at": _when(e.created_at),
                }
                for e in rows(select(ReviewEvent).where(ReviewEvent.actor_id == uid))
            ],  # fmt: skip
            "suggestions_decided": [
                {"id": s.id, "status": s.status.value}
                for s in rows(select(Suggestion).where(Suggestion.decided_by_id == uid))
            ],
            "signoff": [
                {
                    "edition_id": d.edition_id,
                    "decision": d.decision.value,
                    "note": d.note,
                    "at": _when(d.decided_at),
                    "edition_hash": d.edition_hash,
                }
                for d in rows(select(SignoffDecision).where(SignoffDecision.user_id == uid))
            ],  # fmt: skip
        },
        "drafts": [
            {
                "section_id": d.section_id,
                "title": d.title,
                "text": d.body,
                "updated_at": _when(d.updated_at),
            }
            for d in rows(select(Draft).where(Draft.user_id == uid))
        ],  # fmt: skip
        "notifications": [
            {
                "kind": n.kind,
                "paper_id": n.paper_id,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
                "emailed_at": _when(n.emailed_at),
            }
            for n in rows(select(Notification).where(Notification.user_id == uid))
        ],  # fmt: skip
        "email_opt_outs": sorted(
            db.session.scalars(
                select(NotificationOptOut.kind).where(NotificationOptOut.user_id == uid)
            )
        ),
        "logins": [
            {
                "started_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
                "ended_at": _when(s.ended_at),
            }
            for s in rows(select(LoginSession).where(LoginSession.user_id == uid))
        ],  # fmt: skip
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _when(t.created_at),
                "expires_at": _when(t.expires_at),
                "revoked_at": _when(t.revoked_at),
            }
            for t in rows(select(ApiToken).where(ApiToken.user_id == uid))
        ],  # fmt: skip
        "single_sign_on": [
            {"issuer": x.issuer, "subject": x.subject, "linked_at": _when(x.created_at)}
            for x in rows(select(ExternalIdentity).where(ExternalIdentity.user_id == uid))
        ],
        "activity_log": [
            {
                "paper_id": e.paper_id,
                "paper": papers.get(e.paper_id),
                "seq": e.seq,
                "action": e.action,
                "by_me": e.actor_id == uid,
                "at": _when(e.created_at),
            }
            for e in rows(
                select(ActivityEntry)
                .where(
                    or_(
                        ActivityEntry.actor_id == uid,
                        ActivityEntry.details["user_id"].as_integer() == uid,
                    )
                )
                .order_by(ActivityEntry.paper_id, ActivityEntry.seq)
            )
        ],  # fmt: skip
        "administration_log": [
            {
                "seq": e.seq,
                "action": e.action,
                "by_me": e.actor_id == uid,
                "at": _when(e.created_at),
            }
            for e in rows(
                select(AdminLogEntry)
                .where(
                    or_(
                        AdminLogEntry.actor_id == uid,
                        (AdminLogEntry.target_kind == "user") & (AdminLogEntry.target_id == uid),
                    )
                )
                .order_by(AdminLogEntry.seq)
            )
        ],  # fmt: skip
    }


def pseudonym(user: User) -> str:
    """Return the name an erased person is shown under: "Ehemalige Person (LIN) #7"."""
    return f"Ehemalige Person ({user.organisation.short_name}) #{user.id}"


def is_erased(user: User) -> bool:
    """Tell whether the account was erased."""
    return user.email.endswith("@" + ERASED_DOMAIN)


def _end_roles(actor: User | None, user: User) -> None:
    """End the person's roles, each logged on its paper (under the paper's write lock, in
    ascending order so that two erasures cannot deadlock)."""
    roles = list(
        db.session.scalars(
            select(PaperRole)
            .where(PaperRole.user_id == user.id)
            .order_by(PaperRole.paper_id, PaperRole.id)
        )
    )
    for paper_id in sorted({r.paper_id for r in roles}):
        paper = db.session.scalar(
            select(Paper)
            .where(Paper.id == paper_id)
            .with_for_update(of=Paper)
            .execution_options(populate_existing=True)
        )
        for granted in (r for r in roles if r.paper_id == paper_id):
            if granted.role == Role.COORDINATOR and paper is not None:
                others = [
                    r for r in paper.roles if r.role == Role.COORDINATOR and r.user_id != user.id
                ]
                if not others:
                    raise InvalidTransition(
                        _l(
                            "This person is the only coordinator of the paper “%(title)s”. "
                            "Give another person that role first.",
                            title=paper.title,
                        )
                    )
            activity.record(
                paper_id,
                actor,
                "role.revoked",
                user_id=user.id,
                role=granted.role.value,
                reason="erased",
            )
            db.session.delete(granted)


@use_case
def erase(actor: User | None, user_id: int) -> str:
    """Erase a person who left (Art. 17); return their pseudonym.

    Name and e-mail address leave the database: the account keeps only its id, organisation
    and the pseudonym, and can never log in again. Drafts, notifications (theirs, and the
    names in other people's notifications), logins, tokens, reset and invitation links,
    single-sign-on links and the exports they requested are deleted; roles end. Texts, comments
    and decisions stay, attributed to the pseudonym. ``actor`` None is the command line.

    :raises NotAllowed: for anyone but administrators, and for one's own account.
    :raises NotFound: for an unknown account.
    :raises InvalidTransition: when the person is the only coordinator of a paper (another
        person must take that role first).
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators may do this."))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("User not found."))
    if actor is not None and actor.id == user.id:
        raise NotAllowed(_l("Administrators cannot erase their own account."))
    old_name, old_email = user.display_name, user.email
    name = pseudonym(user)
    accounts.end_access(user)
    uid = user.id
    for model in (Draft, Notification, NotificationOptOut, LoginSession, ApiToken):
        db.session.execute(delete(model).where(model.user_id == uid))
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == uid))
    db.session.execute(delete(ExternalIdentity).where(ExternalIdentity.user_id == uid))
    _end_roles(actor, user)
    db.session.execute(delete(Export).where(Export.requested_by_id == uid))
    db.session.execute(
        update(Invitation)
        .where(Invitation.email == old_email)
        .values(email=f"{uid}@{ERASED_DOMAIN}")
    )
    # Other people's notifications keep the actor's name as it was: replace it (not hashed).
    for notification in db.session.scalars(
        select(Notification).where(Notification.actor_id == uid)
    ):
        params = dict(notification.params or {})
        notification.params = {
            k: (v.replace(old_name, name) if isinstance(v, str) else v) for k, v in params.items()
        }
    user.display_name = name
    user.email = f"{uid}@{ERASED_DOMAIN}"
    user.password_hash = "!erased"  # noqa: S105  # nosec B105 - no password verifies
    user.active = False
    user.is_admin = False
    user.rotate_sessions()
    adminlog.record(actor, "user.erased", "user", uid)
    return name
