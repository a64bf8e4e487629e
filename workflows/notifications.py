"""Notifications: the in-app inbox with its unread count, and what their e-mails say.

A workflow action calls :func:`notify` before it commits. The rows are part of the action's
transaction; e-mails are only *recorded* here (ids in ``session.info``) and handed to the job
queue by :mod:`workflows.jobs` once that transaction has committed, so a rolled-back action
never sends mail and a request never waits for an SMTP server.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from drafting.extensions import db
from drafting.models import (
    Notification,
    NotificationOptOut,
    Paper,
    PaperRole,
    Participant,
    Role,
    Section,
    User,
    utcnow,
)
from drafting.text.quotes import unnest_quotes
from workflows.errors import NotFound, ValidationFailed
from workflows.uow import use_case

#: Key in ``Session.info`` under which :func:`notify` leaves the ids of notifications to e-mail
#: after the commit (read and cleared by the session hooks in :mod:`workflows.jobs`).
PENDING_EMAILS = "konzeptwerk.pending_notification_emails"

PAGE_SIZE = 20

Params = Mapping[str, Any]

#: Key in ``app.extensions`` of the function that writes a notification's e-mail
#: (``(Notification, User) -> EmailMessage``); the web layer registers it with its templates.
EMAIL_WRITER = "konzeptwerk.notification_email"


class Target(StrEnum):
    """What a notification leads to; the web layer turns it and the ids into a link.

    Without a target a notification leads to its section, else its paper.
    """

    SECTION = "section"  # the section on the paper page (section_id)
    COMMENT = "comment"  # a comment on its section's discussion page (target_id: comment id)
    SUGGESTION = "suggestion"  # a suggestion's page (target_id: suggestion id)
    SIGNOFF = "signoff"  # the paper's sign-off page
    EDITION = "edition"  # an edition of the paper (target_id: edition number)


@dataclass(frozen=True)
class Kind:
    """One kind of notification: its label on the settings page and its one-line text."""

    name: str
    label: Any  # a lazy string: "Someone asks me to review a section"
    render: Callable[[Params], str]


def _who(p: Params) -> str:
    return str(p.get("actor") or _("Someone"))


def _render_approved(p: Params) -> str:
    if p.get("version"):
        return _(
            "%(actor)s approved version %(version)s of “%(section)s”.",
            actor=_who(p),
            version=p["version"],
            section=p.get("section", ""),
        )
    return _("%(actor)s approved “%(section)s”.", actor=_who(p), section=p.get("section", ""))


def _render_suggestion_made(p: Params) -> str:
    outline = p.get("outline")
    if outline == "new_section":
        return _(
            "%(actor)s suggested a new section “%(section)s”.",
            actor=_who(p),
            section=p.get("section", ""),
        )
    if outline == "remove_section":
        return _(
            "%(actor)s suggested removing “%(section)s”.",
            actor=_who(p),
            section=p.get("section", ""),
        )
    if outline == "move_section":
        return _(
            "%(actor)s suggested moving “%(section)s”.",
            actor=_who(p),
            section=p.get("section", ""),
        )
    return _(
        "%(actor)s suggested a change to “%(section)s”.",
        actor=_who(p),
        section=p.get("section", ""),
    )


def _render_suggestion_decided(p: Params) -> str:
    if p.get("accepted"):
        return _(
            "%(actor)s accepted your suggestion for “%(section)s”.",
            actor=_who(p),
            section=p.get("section", ""),
        )
    return _(
        "%(actor)s rejected your suggestion for “%(section)s”.",
        actor=_who(p),
        section=p.get("section", ""),
    )


def _due(p: Params) -> str:
    # Stored as an ISO date so that each reader sees it in their own language.
    raw = str(p.get("due") or "")
    try:
        return format_date(date.fromisoformat(raw), "medium")
    except ValueError:
        return raw


def _render_signoff_started(p: Params) -> str:
    if p.get("due"):
        return _(
            "%(actor)s started the sign-off of “%(paper)s”; the deadline is %(due)s.",
            actor=_who(p),
            paper=p.get("paper", ""),
            due=_due(p),
        )
    return _(
        "%(actor)s started the sign-off of “%(paper)s”.", actor=_who(p), paper=p.get("paper", "")
    )


def _render_signoff_decided(p: Params) -> str:
    org, paper = p.get("organisation") or _who(p), p.get("paper", "")
    if p.get("decision") == "reject":
        return _("%(organisation)s rejected “%(paper)s”.", organisation=org, paper=paper)
    if p.get("decision") == "approve_with_reservation":
        return _(
            "%(organisation)s approved “%(paper)s” with a reservation.",
            organisation=org,
            paper=paper,
        )
    return _("%(organisation)s approved “%(paper)s”.", organisation=org, paper=paper)


# Adding a kind is one entry here; the settings page, the e-mail opt-outs and the tests
# (parametrised over KINDS) pick it up.
_REGISTRY: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "review_requested",
            _l("Someone asks me to review a section"),
            lambda p: _(
                "%(actor)s asked you to review “%(section)s”.",
                actor=_who(p),
                section=p.get("section", ""),
            ),
        ),
        Kind(
            "changes_requested",
            _l("A reviewer requests changes to a section"),
            lambda p: _(
                "%(actor)s requested changes to “%(section)s”.",
                actor=_who(p),
                section=p.get("section", ""),
            ),
        ),
        Kind("approved", _l("A reviewer approves a section"), _render_approved),
        Kind(
            "mentioned",
            _l("Someone mentions me in a comment"),
            lambda p: _(
                "%(actor)s mentioned you in a comment on “%(section)s”.",
                actor=_who(p),
                section=p.get("section", ""),
            ),
        ),
        Kind(
            "reply",
            _l("Someone replies to my comment"),
            lambda p: _(
                "%(actor)s replied to your comment on “%(section)s”.",
                actor=_who(p),
                section=p.get("section", ""),
            ),
        ),
        Kind(
            "suggestion_decided",
            _l("An editor accepts or rejects my suggestion"),
            _render_suggestion_decided,
        ),
        Kind(
            "suggestion_made",
            _l("Someone suggests a change to a section I edit"),
            _render_suggestion_made,
        ),
        Kind(
            "signoff_started",
            _l("A sign-off round starts on a paper I sign for"),
            _render_signoff_started,
        ),
        Kind(
            "signoff_cancelled",
            _l("A sign-off round on a paper I sign for is cancelled"),
            lambda p: _(
                "%(actor)s cancelled the sign-off of “%(paper)s”; the paper is a draft again.",
                actor=_who(p),
                paper=p.get("paper", ""),
            ),
        ),
        Kind(
            "signoff_reminder",
            _l("A sign-off deadline approaches and my organisation has not decided"),
            lambda p: _(
                "The sign-off deadline of “%(paper)s” is %(due)s; "
                "your organisation has not decided yet.",
                paper=p.get("paper", ""),
                due=_due(p),
            ),
        ),
        Kind(
            "signoff_decided",
            _l("An organisation rejects a paper I coordinate"),
            _render_signoff_decided,
        ),
        Kind(
            "paper_final",
            _l("A paper I take part in becomes final"),
            lambda p: _(
                "“%(paper)s” is final: all organisations signed %(edition)s.",
                paper=p.get("paper", ""),
                edition=p.get("edition", ""),
            ),
        ),
    )
}

#: The kinds of notification, in the order the settings page lists them.
KINDS: tuple[str, ...] = tuple(_REGISTRY)

# Free text a caller may pass in params; shown under the message and quoted in the e-mail.
_DETAIL_KEYS = ("reason", "excerpt")


def kind_choices() -> list[tuple[str, str]]:
    """Return (kind, label) pairs in the current language, for the settings form."""
    return [(k.name, str(k.label)) for k in _REGISTRY.values()]


def is_local_url(url: str) -> bool:
    """Tell whether a URL is a path inside this application (no scheme, host or ``//``)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def notify(
    recipient_ids: Iterable[int],
    kind: str,
    *,
    paper_id: int,
    section_id: int | None = None,
    actor: User | None = None,
    params: Params | None = None,
    target: Target | None = None,
    target_id: int | None = None,
    url: str = "",
) -> list[Notification]:
    """Add a notification to each recipient's inbox; the caller commits.

    The actor, inactive users and duplicates are skipped. The paper's and section's titles
    and the actor's name are stored with the notification, so it reads the same later.
    ``target`` and ``target_id`` say what it leads to (the web layer builds the link); ``url``
    is an explicit local path for callers outside the targets.
    E-mails (when mail is configured and the recipient has not opted out of ``kind``) are
    queued only after the caller's transaction commits.

    :raises ValueError: for an unknown kind or a URL that is not a local path
        (programming errors, not user input).
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown notification kind {kind!r}")
    if url and not is_local_url(url):
        raise ValueError(f"notification url must be a local path, got {url!r}")
    wanted = list(dict.fromkeys(int(i) for i in recipient_ids if i is not None))
    if actor is not None:
        wanted = [i for i in wanted if i != actor.id]
    if not wanted:
        return []
    active = set(
        db.session.scalars(select(User.id).where(User.id.in_(wanted), User.active.is_(True)))
    )
    recipients = [i for i in wanted if i in active]
    if not recipients:
        return []

    stored = {str(k): _json_safe(v) for k, v in (params or {}).items()}
    if actor is not None:
        stored.setdefault("actor", actor.display_name)
    if section_id is not None and "section" not in stored:
        section = db.session.get(Section, section_id)
        stored["section"] = section.title if section is not None else ""
    if "paper" not in stored:
        paper = db.session.get(Paper, paper_id)
        stored["paper"] = paper.title if paper is not None else ""

    created = [
        Notification(
            user_id=user_id,
            kind=kind,
            paper_id=paper_id,
            section_id=section_id,
            actor_id=actor.id if actor is not None else None,
            params=dict(stored),
            target=target.value if target is not None else "",
            target_id=target_id,
            url=url,
            created_at=utcnow(),
        )
        for user_id in recipients
    ]
    db.session.add_all(created)
    db.session.flush()

    if emails_enabled():
        opted_out = set(
            db.session.scalars(
                select(NotificationOptOut.user_id).where(
                    NotificationOptOut.user_id.in_(recipients), NotificationOptOut.kind == kind
                )
            )
        )
        pending: list[int] = db.session.info.setdefault(PENDING_EMAILS, [])
        pending.extend(n.id for n in created if n.user_id not in opted_out)
    return created


def take_pending_emails(session: Session) -> list[int]:
    """Remove and return the ids of notifications waiting to be e-mailed, without duplicates."""
    return list(dict.fromkeys(session.info.pop(PENDING_EMAILS, None) or []))


def message(notification: Notification) -> str:
    """Render a notification as one line of text in the current language."""
    kind = _REGISTRY.get(notification.kind)
    params = notification.params or {}
    if kind is None:
        # A kind that was removed from the code since the row was written.
        return _("New activity on “%(paper)s”.", paper=params.get("paper", ""))
    return unnest_quotes(kind.render(params))


def detail(notification: Notification) -> str:
    """Return the free text (a reason, an excerpt) that came with a notification, if any."""
    params = notification.params or {}
    for key in _DETAIL_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def visible_to(user: User) -> Any:
    """A condition on notifications: about no paper, or about one the user may still see.

    After a move to another organisation, the inbox and "my work" stop showing titles and
    excerpts of the old organisation's papers (ASVS V4.2.1).
    """
    return Notification.paper_id.is_(None) | Notification.paper_id.in_(
        select(Participant.paper_id).where(Participant.organisation_id == user.organisation_id)
    )


def unread_count(user: User) -> int:
    """Count the user's unread notifications (one indexed query)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.read_at.is_(None),
                visible_to(user),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class InboxPage:
    """One page of a user's inbox, newest first."""

    items: list[Notification]
    page: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def inbox(user: User, page: int = 1, per_page: int = PAGE_SIZE) -> InboxPage:
    """Return one page of the user's notifications, newest first (pages out of range clamp)."""
    total = int(
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, visible_to(user))
        )
        or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, visible_to(user))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return InboxPage(items=items, page=page, pages=pages, total=total)


@use_case
def mark_read(user: User, ids: Iterable[int] | Literal["all"]) -> int:
    """Mark the given notifications of the user (or all of them) as read; return how many.

    Ids of other users' notifications are ignored.
    """
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if ids != "all":
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        stmt = stmt.where(Notification.id.in_(wanted))
    result = db.session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


@use_case
def open_notification(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read and return it (the caller follows its link).

    :raises NotFound: when the notification does not exist or belongs to someone else.
    """
    notification = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == user.id,
            visible_to(user),
        )
    )
    if notification is None:
        raise NotFound(_l("This notification does not exist."))
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def emails_enabled() -> bool:
    """Tell whether notifications are also sent by e-mail (``MAIL_SERVER`` is configured)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def email_opt_outs(user: User) -> set[str]:
    """Return the kinds the user does not want e-mails for."""
    return set(
        db.session.scalars(
            select(NotificationOptOut.kind).where(NotificationOptOut.user_id == user.id)
        )
    )


def wants_email(user: User, kind: str) -> bool:
    """Tell whether the user gets e-mail for this kind (active and not opted out)."""
    if not user.is_active:
        return False
    return (
        db.session.scalar(
            select(NotificationOptOut.id).where(
                NotificationOptOut.user_id == user.id, NotificationOptOut.kind == kind
            )
        )
        is None
    )


@use_case
def set_email_opt_outs(user: User, kinds: Iterable[str]) -> set[str]:
    """Replace the kinds the user does not want e-mails for; return the new set.

    :raises ValidationFailed: for a kind that does not exist.
    """
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValidationFailed(
            _l("Unknown kind of notification: %(kinds)s", kinds=", ".join(sorted(unknown)))
        )
    current = email_opt_outs(user)
    if current - wanted:
        db.session.execute(
            delete(NotificationOptOut).where(
                NotificationOptOut.user_id == user.id,
                NotificationOptOut.kind.in_(current - wanted),
            )
        )
    db.session.add_all(
        NotificationOptOut(user_id=user.id, kind=kind) for kind in sorted(wanted - current)
    )
    return wanted


def compose_email(notification: Notification, user: User) -> EmailMessage:
    """Write the e-mail of a notification in the recipient's language.

    The text and its links come from the web layer, which registers the writer under
    :data:`EMAIL_WRITER` when the app is created.

    :raises RuntimeError: when no writer is registered (an app without its pages).
    """
    writer = current_app.extensions.get(EMAIL_WRITER)
    if writer is None:
        raise RuntimeError("no notification e-mail writer is registered with this app")
    email: EmailMessage = writer(notification, user)
    return email


# --- recipients --------------------------------------------------------------------------------


def paper_people(
    paper_id: int,
    *,
    role: Role | None = None,
    organisation_ids: Iterable[int] | None = None,
    among: Iterable[int] | None = None,
) -> list[int]:
    """Return the ids of the active users of a paper's participating organisations.

    ``role`` keeps those holding that role on the paper, ``organisation_ids`` those of the
    given organisations, ``among`` those of the given user ids. The one query behind every
    "who is told" of reviews, comments and sign-off.
    """
    query = (
        select(User.id)
        .join(
            Participant,
            (Participant.organisation_id == User.organisation_id)
            & (Participant.paper_id == paper_id),
        )
        .where(User.active.is_(True))
    )
    if role is not None:
        query = query.join(
            PaperRole,
            (PaperRole.user_id == User.id)
            & (PaperRole.paper_id == paper_id)
            & (PaperRole.role == role),
        )
    if organisation_ids is not None:
        query = query.where(User.organisation_id.in_(list(organisation_ids)))
    if among is not None:
        query = query.where(User.id.in_(list(among)))
    return list(db.session.scalars(query.order_by(User.id)).unique())
