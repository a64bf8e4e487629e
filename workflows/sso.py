"""Single sign-on with OpenID Connect: which providers there are, which organisation a
person's claims map to, and the account a verified ID token logs in.

The protocol itself (authorisation code flow with PKCE, state, nonce, the ID token's signature,
issuer, audience and lifetime) is Authlib's, driven by ``drafting.auth.sso``; this module only
decides who the verified claims are.

Providers come from the ``OIDC_PROVIDERS`` environment variable (JSON, read-only in the app)
and from the administrators' page (the database); a key defined in the environment wins.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ExternalIdentity, IdentityProvider, Organisation, User, utcnow
from workflows import accounts, adminlog
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed
from workflows.uow import use_case

KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
#: The stored "hash" of accounts made by single sign-on: no password verifies against it.
NO_PASSWORD = "!sso"  # noqa: S105  # nosec B105


@dataclass(frozen=True)
class Provider:
    """An identity provider's settings, wherever they are kept."""

    key: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    email_claim: str = "email"
    organisation_claim: str = ""
    organisation_rules: str = ""
    from_environment: bool = False
    id: int | None = None

    @property
    def metadata_url(self) -> str:
        """Return the provider's discovery document."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Rule:
    """One mapping rule: an e-mail domain or a claim value, and the organisation's short name."""

    kind: str  # "domain" or "claim"
    value: str
    organisation: str


def parse_rules(text: str) -> list[Rule]:
    """Parse mapping rules, one a line: ``domain:stadt.example = CITY``,
    ``claim:IHK Musterstadt = IHK``; blank lines and lines starting with # are ignored.

    :raises ValidationFailed: naming the first line that is not a rule.
    """
    rules = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        left, sep, org = line.rpartition("=")
        kind, colon, value = left.strip().partition(":")
        if not sep or not colon or kind not in ("domain", "claim") or not value or not org:
            raise ValidationFailed(
                _l(
                    "Line %(number)d is not a rule. Write “domain:stadt.example = CITY” or "
                    "“claim:value = CITY”.",
                    number=number,
                ),
                field="organisation_rules",
            )
        rules.append(Rule(kind, value.strip().lower(), org.strip()))
    return rules


def _environment_providers() -> list[Provider]:
    raw = current_app.config.get("OIDC_PROVIDERS") or ""
    if not raw:
        return []
    items = json.loads(raw) if isinstance(raw, str) else raw
    providers = []
    for item in items:
        rules = item.get("organisation_rules", "")
        if isinstance(rules, list):
            rules = "\n".join(rules)
        providers.append(
            Provider(
                key=str(item["key"]),
                label=str(item.get("label") or item["key"]),
                issuer=str(item["issuer"]),
                client_id=str(item["client_id"]),
                client_secret=str(item.get("client_secret") or ""),
                email_claim=str(item.get("email_claim") or "email"),
                organisation_claim=str(item.get("organisation_claim") or ""),
                organisation_rules=str(rules),
                from_environment=True,
            )
        )
    return providers


def _from_row(row: IdentityProvider) -> Provider:
    return Provider(
        key=row.key,
        label=row.label,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=row.client_secret,
        email_claim=row.email_claim or "email",
        organisation_claim=row.organisation_claim or "",
        organisation_rules=row.organisation_rules or "",
        id=row.id,
    )


def providers(*, include_disabled: bool = False) -> list[Provider]:
    """Return the configured providers, those of the environment first."""
    found = _environment_providers()
    keys = {p.key for p in found}
    query = select(IdentityProvider).order_by(IdentityProvider.label)
    if not include_disabled:
        query = query.where(IdentityProvider.enabled.is_(True))
    found += [_from_row(r) for r in db.session.scalars(query) if r.key not in keys]
    return found


def provider(key: str) -> Provider:
    """Return the enabled provider with this key.

    :raises NotFound: when there is none.
    """
    for found in providers():
        if found.key == key:
            return found
    raise NotFound(_l("No such sign-in service."))


def _check_issuer(issuer: str) -> str:
    issuer = (issuer or "").strip().rstrip("/")
    allow_http = bool(current_app.config.get("OIDC_ALLOW_HTTP"))
    if not issuer.startswith("https://") and not (allow_http and issuer.startswith("http://")):
        raise ValidationFailed(_l("The issuer must be an https:// address."), field="issuer")
    return issuer


@use_case
def save_provider(
    actor: User,
    *,
    provider_id: int | None,
    key: str,
    label: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    email_claim: str,
    organisation_claim: str,
    organisation_rules: str,
    enabled: bool,
) -> IdentityProvider:
    """Create or change an identity provider (administrators). An empty secret keeps the old.

    :raises NotAllowed: for anyone but administrators.
    :raises ValidationFailed: for an invalid key, issuer or rule, or a rule naming an unknown
        organisation.
    :raises Duplicate: for a key in use.
    """
    if not actor.is_admin:
        raise NotAllowed(_l("Only administrators may do this."))
    key = (key or "").strip().lower()
    if not KEY.match(key):
        raise ValidationFailed(
            _l("The key may hold lower-case letters, digits and hyphens (up to 40)."),
            field="key",
        )
    rules = parse_rules(organisation_rules)
    known = set(db.session.scalars(select(Organisation.short_name)))
    for rule in rules:
        if rule.organisation not in known:
            raise ValidationFailed(
                _l("Unknown organisation in a rule: %(short)s.", short=rule.organisation),
                field="organisation_rules",
            )
    issuer = _check_issuer(issuer)
    client_id = (client_id or "").strip()
    if not client_id:
        raise ValidationFailed(_l("The client id is required."), field="client_id")
    row = db.session.get(IdentityProvider, provider_id) if provider_id else None
    if provider_id and row is None:
        raise NotFound(_l("No such sign-in service."))
    clash = db.session.scalar(select(IdentityProvider).where(IdentityProvider.key == key))
    if clash is not None and clash is not row:
        raise Duplicate(_l("This key is in use."), field="key")
    if row is None:
        row = IdentityProvider(key=key, issuer=issuer, client_id=client_id)
        db.session.add(row)
    row.key = key
    row.label = (label or key).strip()[:120]
    row.issuer = issuer
    row.client_id = client_id
    if client_secret:
        row.client_secret = client_secret
    row.email_claim = (email_claim or "email").strip()
    row.organisation_claim = (organisation_claim or "").strip()
    row.organisation_rules = organisation_rules or ""
    row.enabled = enabled
    db.session.flush()
    adminlog.record(actor, "sso.provider_saved", "identity_provider", row.id, enabled=enabled)
    return row


def organisation_for(found: Provider, claims: dict[str, Any]) -> Organisation | None:
    """Return the organisation a person's claims map to, or None.

    Claim rules (on ``organisation_claim``) come first, then e-mail domain rules; a domain
    rule matches the domain and its subdomains.
    """
    rules = parse_rules(found.organisation_rules)
    short = None
    if found.organisation_claim:
        value = claims.get(found.organisation_claim)
        values = value if isinstance(value, list) else [value]
        wanted = {str(v).strip().lower() for v in values if v is not None}
        short = next(
            (r.organisation for r in rules if r.kind == "claim" and r.value in wanted), None
        )
    if short is None:
        email = str(claims.get(found.email_claim) or "").lower()
        domain = email.rpartition("@")[2]
        for rule in rules:
            if (
                rule.kind == "domain"
                and domain
                and (domain == rule.value or domain.endswith("." + rule.value))
            ):
                short = rule.organisation
                break
    if short is None:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.short_name == short))


@use_case
def sign_in(found: Provider, claims: dict[str, Any], *, issuer: str) -> User:
    """Return the account of verified ID-token claims, creating it at the first login.

    A known (issuer, subject) logs in its account. Otherwise an account with the same
    (verified) e-mail address in the mapped organisation is linked, or a new one is made there.

    :raises NotAllowed: when no rule maps the person to an organisation, the e-mail address
        is missing or unverified, the address belongs to an account of another organisation,
        or the account is deactivated.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise NotAllowed(_l("The sign-in service sent no subject."))
    linked = db.session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    )
    if linked is not None:
        if not linked.user.is_active:
            raise NotAllowed(_l("Your account is deactivated. Please ask your administrator."))
        return linked.user
    raw_email = str(claims.get(found.email_claim) or "")
    if not raw_email or claims.get("email_verified") is False:
        raise NotAllowed(
            _l("The sign-in service sent no verified e-mail address; it is needed here.")
        )
    try:
        email = accounts.normalise_email(raw_email)
    except ValidationFailed:
        raise NotAllowed(_l("The sign-in service sent an invalid e-mail address.")) from None
    organisation = organisation_for(found, claims)
    if organisation is None:
        raise NotAllowed(
            _l(
                "Your organisation is not set up for sign-in through %(service)s. Please ask "
                "your administrator to add it.",
                service=found.label,
            )
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        if user.organisation_id != organisation.id:
            raise NotAllowed(
                _l("An account with your e-mail address belongs to another organisation.")
            )
        if not user.is_active:
            raise NotAllowed(_l("Your account is deactivated. Please ask your administrator."))
    else:
        name = (
            str(claims.get("name") or "").strip()
            or " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")).strip()
            or email.partition("@")[0]
        )
        locale = str(claims.get("locale") or "de")[:2].lower()
        user = User(
            email=email,
            display_name=name[:120],
            organisation_id=organisation.id,
            # Not an Argon2 hash, so no password matches: the account logs in through the
            # provider (or sets a password with a reset link).
            password_hash=NO_PASSWORD,
            locale=locale if locale in accounts.LOCALES else "de",
            created_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
        adminlog.record(
            None,
            "user.created",
            "user",
            user.id,
            via="sso",
            provider=found.key,
            organisation_id=organisation.id,
        )
    db.session.add(ExternalIdentity(issuer=issuer, subject=subject, user_id=user.id))
    return user
