"""Organisations, user accounts, passwords and API tokens."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ApiToken, Organisation, OrgKind, User, utcnow
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed

_hashers: dict[tuple[int, int], tuple[PasswordHasher, str]] = {}


def _hasher() -> PasswordHasher:
    return _hasher_and_dummy()[0]


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    # Argon2id with the configured cost (tests lower it); the dummy hash is verified against
    # when the e-mail is unknown, so a miss costs as much time as a wrong password.
    key = (
        int(current_app.config.get("ARGON2_TIME_COST", 3)),
        int(current_app.config.get("ARGON2_MEMORY_COST", 65536)),
    )
    if key not in _hashers:
        hasher = PasswordHasher(time_cost=key[0], memory_cost=key[1])
        _hashers[key] = (hasher, hasher.hash("not-a-password-of-anyone"))
    return _hashers[key]


MIN_PASSWORD = 10
LOCALES = ("de", "en")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher().hash(password)


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short.

    :raises ValidationFailed: when the password has fewer than ten characters.
    """
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(
            _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD), field="password"
        )


def normalise_email(email: str) -> str:
    """Validate an e-mail address and return it in lower case."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(_l("Not a valid e-mail address."), field="email") from None


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None without telling why."""
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        try:
            hasher, dummy = _hasher_and_dummy()
            hasher.verify(dummy, password or "")
        except VerificationError:
            pass
        return None
    try:
        _hasher().verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if not user.is_active:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def create_organisation(name: str, short_name: str, kind: OrgKind | str) -> Organisation:
    """Create a partner organisation with a unique name and short name."""
    name, short_name = (name or "").strip(), (short_name or "").strip()
    if not name or not short_name:
        raise ValidationFailed(_l("Name and short name are required."), field="name")
    if len(name) > 200 or len(short_name) > 40:
        raise ValidationFailed(_l("Name or short name too long."), field="name")
    try:
        kind = OrgKind(kind)
    except ValueError:
        raise ValidationFailed(_l("Unknown kind of organisation."), field="kind") from None
    clash = db.session.scalar(
        select(Organisation).where(
            (Organisation.name == name) | (Organisation.short_name == short_name)
        )
    )
    if clash is not None:
        raise Duplicate(_l("An organisation with this name or short name exists."), field="name")
    org = Organisation(name=name, short_name=short_name, kind=kind)
    db.session.add(org)
    db.session.commit()
    return org


def update_organisation(org_id: int, name: str, short_name: str, kind: OrgKind | str) -> None:
    """Change an organisation's names and kind."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound(_l("Organisation not found."))
    name, short_name = (name or "").strip(), (short_name or "").strip()
    clash = db.session.scalar(
        select(Organisation).where(
            ((Organisation.name == name) | (Organisation.short_name == short_name))
            & (Organisation.id != org_id)
        )
    )
    if clash is not None:
        raise Duplicate(_l("An organisation with this name or short name exists."), field="name")
    org.name, org.short_name, org.kind = name, short_name, OrgKind(kind)
    db.session.commit()


def organisation_by_short(short_name: str) -> Organisation:
    """Return the organisation with this short name.

    :raises ValidationFailed: when there is none.
    """
    org = db.session.scalar(select(Organisation).where(Organisation.short_name == short_name))
    if org is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    return org


def create_user(
    email: str,
    display_name: str,
    organisation: Organisation,
    password: str,
    *,
    is_admin: bool = False,
    locale: str = "de",
) -> User:
    """Create an active user account in an organisation."""
    email = normalise_email(email)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 120:
        raise ValidationFailed(_l("A display name of 1–120 characters is required."), field="name")
    check_password_strength(password)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Duplicate(_l("A user with this e-mail address exists."), field="email")
    user = User(
        email=email,
        display_name=display_name,
        organisation_id=organisation.id,
        password_hash=hash_password(password),
        is_admin=is_admin,
        locale=locale if locale in LOCALES else "de",
    )
    db.session.add(user)
    db.session.commit()
    return user


def update_user(
    user_id: int,
    *,
    display_name: str,
    organisation_id: int,
    locale: str,
    active: bool,
    is_admin: bool,
    actor: User,
) -> User:
    """Change a user account (administrators); deactivating ends the user's sessions."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("User not found."))
    if user.id == actor.id and (not active or not is_admin):
        raise NotAllowed(_l("Administrators cannot deactivate or demote themselves."))
    if db.session.get(Organisation, organisation_id) is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    user.display_name = display_name.strip()
    user.organisation_id = organisation_id
    user.locale = locale if locale in LOCALES else "de"
    if user.active and not active:
        user.rotate_sessions()
    user.active = active
    user.is_admin = is_admin
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a user's own password after checking the current one; other sessions end."""
    try:
        _hasher().verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise ValidationFailed(_l("The current password is wrong."), field="current") from None
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.rotate_sessions()
    db.session.commit()


def set_locale(user: User, locale: str) -> None:
    """Set the user's interface language."""
    if locale not in LOCALES:
        raise ValidationFailed(_l("Unsupported language."), field="locale")
    user.locale = locale
    db.session.commit()


def create_token(user: User, name: str = "API") -> tuple[ApiToken, str]:
    """Create an API token; the plain token is returned once and stored only hashed."""
    plain = "kzw_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=(name or "API").strip()[:80] or "API",
        prefix=plain[:10],
        token_hash=ApiToken.hash(plain),
    )
    db.session.add(token)
    db.session.commit()
    return token, plain


def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_l("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()


def user_for_token(plain: str) -> User | None:
    """Return the active user owning an unrevoked token."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(plain)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token.user


def set_password(actor: User | None, user: User, new: str) -> int:
    """Set a user's password as an administrator (or the CLI, ``actor`` None): every session
    of the user ends and every API token is revoked; return the number of tokens revoked.

    :raises NotAllowed: when the actor is not an administrator.
    :raises ValidationFailed: when the password is too short.
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators may set passwords."))
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.rotate_sessions()
    now = utcnow()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    db.session.commit()
    import logging

    logging.getLogger("konzeptwerk.security").warning(
        "password set by an administrator",
        extra={
            "event": "password_set",
            "target_user_id": user.id,
            "by_user_id": actor.id if actor is not None else None,
            "tokens_revoked": len(tokens),
        },
    )
    return len(tokens)
