"""Organisations, user accounts, passwords and API tokens."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import Select, bindparam, func, select, update
from zxcvbn import zxcvbn

from drafting.extensions import db
from drafting.models import ApiToken, Organisation, OrgKind, Paper, PaperRole, User, utcnow
from workflows import activity, adminlog, sessions
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed
from workflows.uow import unit_of_work, use_case

T = TypeVar("T")
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


#: ``audit_as`` of an action run from the command line: logged without a person.
COMMAND_LINE: Literal["cli"] = "cli"
Auditor = User | Literal["cli"] | None


def _audit(
    audit_as: Auditor, action: str, target_kind: str, target_id: int | None, **details: Any
) -> None:
    """Log an administrator's action (``audit_as`` a user, or "cli"); None logs nothing
    (fixtures, the demo)."""
    if audit_as is None:
        return
    actor = None if isinstance(audit_as, str) else audit_as
    adminlog.record(actor, action, target_kind, target_id, **details)


MIN_PASSWORD = 10
# zxcvbn's score 0–4: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_PASSWORD_SCORE = 3
LOCALES = ("de", "en")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher().hash(password)


def check_password_strength(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Refuse passwords that are too short or easy to guess (ASVS V2.1.1, V2.1.7).

    zxcvbn rates the password against common passwords, words, names, keyboard patterns,
    sequences and repeats, and against ``user_inputs`` (the account's e-mail address, name
    and organisation), offline. Only its first 72 characters are rated: longer ones cost
    quadratic time, and 72 characters that pass are strong whatever follows.

    :raises ValidationFailed: when the password has fewer than ten characters or a score
        below 3.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            lazy_ngettext(
                "The password needs at least %(num)d character.",
                "The password needs at least %(num)d characters.",
                MIN_PASSWORD,
            ),
            field="password",
        )
    inputs: list[str] = []
    for value in user_inputs:
        value = (value or "").strip().lower()
        if value:
            # The whole address and its parts: "anna.berg@stadt.example" → anna, berg, stadt …
            inputs.append(value)
            inputs.extend(part for part in _words(value) if len(part) >= 3)
    # zxcvbn rates "anna-berg-1234" as three tokens from a large space; for anyone who knows
    # the user it is one guess plus the rest, so the rest must be hard to guess on its own.
    rest = "".join(_words(password.lower()))
    for word in sorted(set(inputs), key=len, reverse=True):
        rest = rest.replace("".join(_words(word)), "")
    weak_rest = rest != "".join(_words(password.lower())) and (
        len(rest) < 4 or zxcvbn(rest[:72])["score"] < 2
    )
    if weak_rest or zxcvbn(password[:72], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise ValidationFailed(
            _l(
                "This password is too easy to guess. Avoid common words and passwords, "
                "sequences, repetitions and your name, e-mail address or organisation; "
                "several unrelated words make a good password."
            ),
            field="password",
        )


def _words(value: str) -> list[str]:
    word, words = "", []
    for char in value:
        if char.isalnum():
            word += char
        elif word:
            words.append(word)
            word = ""
    return [*words, word] if word else words


def context_words(user: User) -> list[str]:
    """Return what a password of this user must not be built from."""
    org = user.organisation
    return [user.email, user.display_name, org.name, org.short_name]


def verify_password(user: User, password: str) -> bool:
    """Tell whether the password is the user's."""
    try:
        return bool(_hasher().verify(user.password_hash, password or ""))
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    """Validate an e-mail address and return it in lower case."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(_l("Not a valid e-mail address."), field="email") from None


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None without telling why.

    :raises NotAllowed: for the right password of a person whose organisation logs in only
        through single sign-on.
    """
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
    if not user.organisation.password_login:
        # Only after the right password: nobody learns anything they did not know.
        raise NotAllowed(
            _l(
                "Your organisation logs in through single sign-on only: use the button of "
                "your sign-in service below."
            )
        )
    if _hasher().check_needs_rehash(user.password_hash):
        with unit_of_work():
            user.password_hash = hash_password(password)
    return user


@use_case
def create_organisation(
    name: str,
    short_name: str,
    kind: OrgKind | str,
    *,
    may_create_papers: bool = True,
    audit_as: Auditor = None,
) -> Organisation:
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
    org = Organisation(
        name=name, short_name=short_name, kind=kind, may_create_papers=may_create_papers
    )
    db.session.add(org)
    db.session.flush()
    _audit(audit_as, "organisation.created", "organisation", org.id, kind=kind.value)
    return org


@use_case
def update_organisation(
    org_id: int,
    name: str,
    short_name: str,
    kind: OrgKind | str,
    *,
    may_create_papers: bool | None = None,
    password_login: bool | None = None,
    audit_as: Auditor = None,
) -> None:
    """Change an organisation's names and kind, and whether its users may create papers."""
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
    if may_create_papers is not None:
        org.may_create_papers = may_create_papers
    if password_login is not None and password_login != org.password_login:
        org.password_login = password_login
        _audit(
            audit_as, "organisation.login_changed", "organisation", org.id, password=password_login
        )
    _audit(
        audit_as,
        "organisation.updated",
        "organisation",
        org.id,
        kind=org.kind.value,
        may_create_papers=org.may_create_papers,
    )


def organisation_by_short(short_name: str) -> Organisation:
    """Return the organisation with this short name.

    :raises ValidationFailed: when there is none.
    """
    org = db.session.scalar(select(Organisation).where(Organisation.short_name == short_name))
    if org is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    return org


@use_case
def create_user(
    email: str,
    display_name: str,
    organisation: Organisation,
    password: str,
    *,
    is_admin: bool = False,
    locale: str = "de",
    check_strength: bool = True,
    audit_as: Auditor = None,
) -> User:
    """Create an active user account in an organisation.

    ``check_strength=False`` is for the demo alliance, whose users share a password
    published in the README (the checker refuses it where the address contains it), and for
    the benchmarks' throw-away accounts.
    """
    email = normalise_email(email)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 120:
        raise ValidationFailed(_l("A display name of 1–120 characters is required."), field="name")
    if check_strength:
        check_password_strength(
            password, [email, display_name, organisation.name, organisation.short_name]
        )
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
    db.session.flush()
    _audit(
        audit_as, "user.created", "user", user.id, organisation_id=organisation.id, admin=is_admin
    )
    return user


@use_case
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
    """Change a user account (administrators); deactivating ends its sessions and tokens."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("User not found."))
    if user.id == actor.id and (not active or not is_admin):
        raise NotAllowed(_l("Administrators cannot deactivate or demote themselves."))
    target = db.session.get(Organisation, organisation_id)
    if target is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    if user.display_name != display_name.strip():
        _audit(actor, "user.updated", "user", user.id, field="display_name")
    user.display_name = display_name.strip()
    if user.organisation_id != organisation_id:
        _audit(actor, "user.moved", "user", user.id, organisation_id=organisation_id)
        _move(user, target, actor)
    user.locale = locale if locale in LOCALES else "de"
    if user.active and not active:
        end_access(user)
        _audit(actor, "user.deactivated", "user", user.id)
    elif active and not user.active:
        _audit(actor, "user.reactivated", "user", user.id)
    if user.is_admin != is_admin:
        _audit(actor, "user.updated", "user", user.id, admin=is_admin)
    user.active = active
    user.is_admin = is_admin
    return user


def end_access(user: User, *, keep_session: str | None = None) -> None:
    """End the user's logins (but ``keep_session``) and revoke all tokens; flushes only.

    Revoked tokens stay revoked: reactivating the account does not bring them back.
    """
    sessions.end_all(user, keep=keep_session)
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@use_case
def deactivate_user(email: str, *, audit_as: Auditor = None) -> User:
    """Deactivate an account: it can no longer log in, its sessions and tokens end.

    :raises NotFound: when no user has this address.
    """
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(_l("User not found."))
    if user.active:
        _audit(audit_as, "user.deactivated", "user", user.id)
    user.active = False
    end_access(user)
    return user


@use_case
def move_user(
    user_id: int, organisation_id: int, actor: User | None = None, *, audit_as: Auditor = None
) -> User:
    """Move a user to another organisation; their roles on papers end (see :func:`_move`).

    :raises NotFound: for an unknown user.
    :raises ValidationFailed: for an unknown organisation.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("User not found."))
    target = db.session.get(Organisation, organisation_id)
    if target is None:
        raise ValidationFailed(_l("Unknown organisation."), field="organisation")
    if user.organisation_id != organisation_id:
        _audit(audit_as, "user.moved", "user", user.id, organisation_id=organisation_id)
        _move(user, target, actor)
    return user


def _move(user: User, target: Organisation, actor: User | None) -> None:
    # Roles were given for the old organisation (a signatory signs for it): none of them may
    # follow the person into the new one (ASVS V4.1.3). Each removal is logged on its paper,
    # under the paper's write lock, in ascending order so that two moves cannot deadlock.
    old = db.session.get(Organisation, user.organisation_id)
    roles = list(
        db.session.scalars(
            select(PaperRole)
            .where(PaperRole.user_id == user.id)
            .order_by(PaperRole.paper_id, PaperRole.id)
        )
    )
    for paper_id in sorted({r.paper_id for r in roles}):
        db.session.scalar(
            select(Paper)
            .where(Paper.id == paper_id)
            .with_for_update(of=Paper)
            .execution_options(populate_existing=True)
        )
        for granted in (r for r in roles if r.paper_id == paper_id):
            activity.record(
                paper_id,
                actor,
                "role.revoked",
                user_id=user.id,
                role=granted.role.value,
                reason="organisation_changed",
                organisation_from=old.short_name if old is not None else "",
                organisation_to=target.short_name,
            )
            db.session.delete(granted)
    user.organisation_id = target.id
    user.organisation = target


@use_case
def change_password(user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
    """Change a user's own password after checking the current one.

    Every other login of the user ends and every API token is revoked (a thief of the old
    password or of a cookie keeps nothing); the login with key ``keep_session`` goes on.
    """
    if not verify_password(user, current):
        raise ValidationFailed(_l("The current password is wrong."), field="current")
    check_password_strength(new, context_words(user))
    user.password_hash = hash_password(new)
    end_access(user, keep_session=keep_session)


@use_case
def set_locale(user: User, locale: str) -> None:
    """Set the user's interface language."""
    if locale not in LOCALES:
        raise ValidationFailed(_l("Unsupported language."), field="locale")
    user.locale = locale


@use_case
def create_token(user: User, name: str = "API") -> tuple[ApiToken, str]:
    """Create an API token valid for API_TOKEN_DAYS; the plain token is returned once."""
    plain = "kzw_" + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=(name or "API").strip()[:80] or "API",
        prefix=plain[:10],
        token_hash=ApiToken.hash(plain),
        created_at=now,
        expires_at=now + timedelta(days=int(current_app.config.get("API_TOKEN_DAYS", 90))),
    )
    db.session.add(token)
    return token, plain


@use_case
def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_l("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()


@functools.cache
def _token_by_hash() -> Select[ApiToken]:
    # Built once: every API request runs it, and building it cost more CPU than the lookup.
    return select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def user_for_token(plain: str) -> User | None:
    """Return the active user owning an unrevoked, unexpired token."""
    token = db.session.scalar(_token_by_hash(), {"token_hash": ApiToken.hash(plain)})
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.is_expired():
        return None
    return token.user


@use_case
def set_password(actor: User | None, user: User, new: str) -> int:
    """Set a user's password as an administrator (or the CLI, ``actor`` None): every session
    of the user ends and every API token is revoked; return the number of tokens revoked.

    :raises NotAllowed: when the actor is not an administrator.
    :raises ValidationFailed: when the password is too short.
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators may set passwords."))
    check_password_strength(new, context_words(user))
    user.password_hash = hash_password(new)
    revoked = db.session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    end_access(user)
    _audit(actor if actor is not None else COMMAND_LINE, "user.password_set", "user", user.id)
    import logging

    logging.getLogger("konzeptwerk.security").warning(
        "password set by an administrator",
        extra={
            "event": "password_set",
            "target_user_id": user.id,
            "by_user_id": actor.id if actor is not None else None,
            "tokens_revoked": revoked,
        },
    )
    return int(revoked or 0)


# --- lists for administrators -----------------------------------------------------------------

#: Rows a page of the administrators' lists shows.
PAGE_SIZE = 50
#: Filters of the user list.
USER_STATES = ("all", "active", "inactive", "dormant", "admin")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list."""

    items: list[T]
    page: int
    pages: int
    total: int


def _page_of(query: Any, page: int, per_page: int) -> Page[Any]:
    total = int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, pages, total)


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def dormant_since() -> datetime:
    """Return the moment before which an account without a login counts as dormant."""
    return utcnow() - timedelta(days=int(current_app.config.get("ACCOUNT_DORMANT_DAYS", 365)))


def is_dormant(user: User) -> bool:
    """Tell whether an active account has not been used for ``ACCOUNT_DORMANT_DAYS``."""
    last = user.last_login_at or user.created_at
    return bool(user.active) and last is not None and last < dormant_since()


def find_users(
    text: str = "", state: str = "all", page: int = 1, per_page: int = PAGE_SIZE
) -> Page[User]:
    """Search accounts by name, e-mail address or organisation, filtered by state."""
    query = select(User).join(Organisation, User.organisation_id == Organisation.id)
    if text.strip():
        pattern = _like(text)
        query = query.where(
            func.lower(User.display_name).like(pattern, escape="\\")
            | func.lower(User.email).like(pattern, escape="\\")
            | func.lower(Organisation.name).like(pattern, escape="\\")
            | func.lower(Organisation.short_name).like(pattern, escape="\\")
        )
    if state == "active":
        query = query.where(User.active.is_(True))
    elif state == "inactive":
        query = query.where(User.active.is_(False))
    elif state == "admin":
        query = query.where(User.is_admin.is_(True))
    elif state == "dormant":
        since = dormant_since()
        query = query.where(
            User.active.is_(True),
            func.coalesce(User.last_login_at, User.created_at) < since,
        )
    return _page_of(query.order_by(func.lower(User.display_name), User.id), page, per_page)


def find_organisations(text: str = "", page: int = 1, per_page: int = PAGE_SIZE) -> Page[Any]:
    """Search organisations by name or short name; each row is (organisation, user count)."""
    members = (
        select(func.count(User.id))
        .where(User.organisation_id == Organisation.id)
        .correlate(Organisation)
        .scalar_subquery()
    )
    query = select(Organisation)
    if text.strip():
        pattern = _like(text)
        query = query.where(
            func.lower(Organisation.name).like(pattern, escape="\\")
            | func.lower(Organisation.short_name).like(pattern, escape="\\")
        )
    found = _page_of(query.order_by(func.lower(Organisation.name), Organisation.id), page, per_page)
    counts: dict[int, int] = dict(
        db.session.execute(
            select(Organisation.id, members).where(Organisation.id.in_([o.id for o in found.items]))
        ).all()
    )
    rows = [(org, int(counts.get(org.id, 0))) for org in found.items]
    return Page(rows, found.page, found.pages, found.total)


@use_case
def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate (its logins and tokens end) or reactivate an account, as an administrator.

    :raises NotAllowed: for anyone but administrators, and for their own account.
    :raises NotFound: for an unknown account.
    """
    if not actor.is_admin:
        raise NotAllowed(_l("Only administrators may do this."))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("User not found."))
    if user.id == actor.id:
        raise NotAllowed(_l("Administrators cannot deactivate or demote themselves."))
    if user.active and not active:
        end_access(user)
        _audit(actor, "user.deactivated", "user", user.id)
    elif active and not user.active:
        _audit(actor, "user.reactivated", "user", user.id)
    user.active = active
    return user
