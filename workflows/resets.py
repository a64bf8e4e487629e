"""Password reset by e-mail: a one-time link, valid ``PASSWORD_RESET_MINUTES``, stored hashed.

The request answers the same for known and unknown addresses (the caller shows one message and
sends the e-mail only when :func:`request_reset` returned a token). Setting the new password
ends every login and API token of the user and every other reset link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from drafting.extensions import db
from drafting.models import PasswordReset, User, utcnow
from workflows import accounts
from workflows.errors import NotFound
from workflows.invitations import new_token, token_digest
from workflows.uow import use_case


@dataclass(frozen=True)
class ResetLink:
    """A reset just requested: the user to write to and the plain token of the link."""

    user: User
    token: str


@use_case
def request_reset(email: str) -> ResetLink | None:
    """Create a reset link for an active account with this address; None for any other.

    Nothing tells the caller's visitor which case it was: the page says the same either way.
    """
    try:
        email = accounts.normalise_email(email)
    except Exception:  # an invalid address is just another unknown one
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return None
    token, digest = new_token()
    now = utcnow()
    minutes = int(current_app.config.get("PASSWORD_RESET_MINUTES", 60))
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=digest,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return ResetLink(user, token)


def by_token(token: str) -> PasswordReset:
    """Return the usable reset of a link.

    :raises NotFound: when the token is unknown, used or expired (one message for all).
    """
    found = None
    if token and len(token) <= 200:
        found = db.session.scalar(
            select(PasswordReset).where(PasswordReset.token_hash == token_digest(token))
        )
    if (
        found is None
        or found.used_at is not None
        or found.expires_at <= utcnow()
        or not found.user.is_active
    ):
        raise NotFound(_l("This link to reset the password is not valid (any more)."))
    return found


@use_case
def reset_password(token: str, new: str) -> User:
    """Set the new password of the link's user; end every login, API token and reset link.

    :raises NotFound: when the link is not valid (any more).
    :raises ValidationFailed: when the password is too weak.
    """
    reset = by_token(token)
    user = reset.user
    accounts.check_password_strength(new, accounts.context_words(user))
    user.password_hash = accounts.hash_password(new)
    user.rotate_sessions()
    accounts.end_access(user)
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return user
