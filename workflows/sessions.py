"""Login sessions kept on the server: one record per login, ended by logout or timeouts.

A browser's signed cookie carries the user's id with the account's session nonce and the
random key of its login record. Logging out ends that one record, so a copied cookie stops
working while the user's other browsers stay logged in; a password change or deactivation
rotates the nonce and ends every record (and revokes the API tokens, see ``accounts``).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from drafting.extensions import db
from drafting.models import LoginSession, User, utcnow
from workflows.uow import unit_of_work

# Record the time of a request at most this often, so that browsing writes little.
TOUCH_SECONDS = 60


class Ended(enum.Enum):
    """Why a session cookie no longer logs anybody in."""

    LOGGED_OUT = "logged_out"
    IDLE = "idle"
    LIFETIME = "lifetime"


@dataclass(frozen=True)
class Check:
    """The outcome of checking a session cookie: its user, or why it ended."""

    user: User | None
    ended: Ended | None = None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User, *, lifetime: int) -> str:
    """Record a new login of the user and return the key the browser keeps; flushes only."""
    now = utcnow()
    # The user's finished logins are of no further use.
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            or_(
                LoginSession.ended_at.is_not(None),
                LoginSession.created_at < now - timedelta(seconds=lifetime),
            ),
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=_hash(key), created_at=now))
    user.last_login_at = now
    db.session.flush()
    return key


def end(key: str | None) -> None:
    """End the login with this key (logout); flushes only."""
    if key:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.key_hash == _hash(key), LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all(user: User, *, keep: str | None = None) -> None:
    """End every login of the user, except the one with key ``keep``; flushes only."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(LoginSession.key_hash != _hash(keep))
    db.session.execute(query.values(ended_at=utcnow()))
    user.rotate_sessions()


def check(user_id: str, key: object, *, idle: int, lifetime: int) -> Check:
    """Return the user a session cookie logs in, or why it does not; commits a timeout.

    ``user_id`` is Flask-Login's ``"<id>:<nonce>"``, ``key`` the login record's key.
    """
    ident, _, nonce = user_id.partition(":")
    if not ident.isdigit() or not isinstance(key, str) or not key:
        return Check(None, Ended.LOGGED_OUT)
    record = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == _hash(key)))
    if record is None or record.user_id != int(ident) or record.ended_at is not None:
        return Check(None, Ended.LOGGED_OUT)
    user = record.user
    if not user.is_active or user.session_nonce != nonce:
        return Check(None, Ended.LOGGED_OUT)
    now = utcnow()
    ended = None
    if now - record.created_at >= timedelta(seconds=lifetime):
        ended = Ended.LIFETIME
    elif now - record.last_seen_at >= timedelta(seconds=idle):
        ended = Ended.IDLE
    # A unit of work only when something is written: a plain check (every request) leaves
    # the request's transaction and the loaded user as they are.
    if ended is not None:
        with unit_of_work():
            record.ended_at = now
        return Check(None, ended)
    if now - record.last_seen_at >= timedelta(seconds=min(TOUCH_SECONDS, idle / 10)):
        with unit_of_work():
            record.last_seen_at = now
    return Check(user)
