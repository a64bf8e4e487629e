"""Configuration from environment variables, with safe defaults for ``make run``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfigurationError(ValueError):
    """A setting is missing or invalid; the message is one line naming it."""


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _proxies(value: str | None) -> int | tuple[str, ...]:
    # A number of proxy hops, or the addresses/networks of the proxies, comma-separated.
    value = (value or "").strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_bool(name: str, value: str | None, default: bool = False) -> bool:
    """Read a boolean: ``1/true/yes/on`` or ``0/false/no/off`` (any case); unset: default.

    :raises ConfigurationError: for any other value.
    """
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ConfigurationError(
        f"{name}={value!r} is not a boolean (use 1/true/yes/on or 0/false/no/off)"
    )


def _bool(name: str, default: bool = False) -> bool:
    return parse_bool(name, os.environ.get(name), default)


def load_config(instance_path: str) -> dict[str, Any]:
    """Return the configuration read from the environment."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    default_db = "sqlite:///" + str(Path(instance_path) / "konzeptwerk.sqlite3")
    idle = _int("SESSION_IDLE_MINUTES", 120) * 60
    lifetime = _int("SESSION_LIFETIME_HOURS", 12) * 3600
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        secret = _instance_secret(instance_path)
    return {
        "SECRET_KEY": secret,
        # Keys the activity chain and edition hashes (HMAC-SHA256). Keep it apart from the
        # database and its backups: whoever holds both can forge the audit trail.
        "AUDIT_KEY": audit_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or os.environ.get("REDIS_URL")
        or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # A storage error (Redis down) must not turn a request into a 500.
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Failed logins per client address, and per account (any address); the second also
        # counts wrong current passwords in the profile.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get(
            "LOGIN_ACCOUNT_RATE_LIMIT", "5 per 5 minutes;20 per hour"
        ),
        # Where login throttling counts: a redis:// URL, "database" or "memory://" (one process
        # only). Unset: Redis when RATELIMIT_STORAGE_URI or REDIS_URL names one, else database.
        "LOGIN_THROTTLE_STORAGE": os.environ.get("LOGIN_THROTTLE_STORAGE") or None,
        # Seconds to count in the database before trying an unreachable Redis again.
        "LOGIN_THROTTLE_REDIS_RETRY": _int("LOGIN_THROTTLE_REDIS_RETRY", 30),
        # Who is editing a section now: a redis:// URL or "database". Unset: Redis when
        # REDIS_URL names one, else the database. Entries count for PRESENCE_TTL_SECONDS after
        # the latest heartbeat; edit pages beat every PRESENCE_HEARTBEAT_SECONDS.
        "PRESENCE_STORAGE": os.environ.get("PRESENCE_STORAGE") or None,
        "PRESENCE_TTL_SECONDS": float(os.environ.get("PRESENCE_TTL_SECONDS") or 30),
        "PRESENCE_HEARTBEAT_SECONDS": float(os.environ.get("PRESENCE_HEARTBEAT_SECONDS") or 12),
        # Reverse proxies whose X-Forwarded-For/-Proto/-Host are believed: a number of hops
        # (werkzeug ProxyFix) or a comma-separated list of proxy addresses; none by default.
        "TRUSTED_PROXIES": _proxies(os.environ.get("TRUSTED_PROXIES")),
        # A login ends after this long without a request, and this long after it began.
        "SESSION_IDLE_TIMEOUT": idle,
        "SESSION_LIFETIME": lifetime,
        "PERMANENT_SESSION_LIFETIME": lifetime,
        "API_TOKEN_DAYS": _int("API_TOKEN_DAYS", 90),
        # Exports a user may request (counted in the database: shared by every web node).
        "EXPORT_RATE_LIMIT": os.environ.get("EXPORT_RATE_LIMIT", "10 per 5 minutes;100 per day"),
        # Page numbers in the Word contents, laid out by LibreOffice in the export job (when
        # soffice and pdftotext are installed; a listed requirement of the worker).
        "EXPORT_TOC_PAGES": os.environ.get("EXPORT_TOC_PAGES", "1") == "1",
        # Seal of the PDF/A records copies (PAdES B-B via pyHanko): PEM certificate and key
        # files, the key's passphrase if it has one. Unset: the PDFs are not sealed.
        "SEAL_CERT": os.environ.get("SEAL_CERT") or None,
        "SEAL_KEY": os.environ.get("SEAL_KEY") or None,
        "SEAL_KEY_PASSWORD": os.environ.get("SEAL_KEY_PASSWORD") or None,
        "MAX_BODY_CHARS": _int("MAX_BODY_CHARS", 200_000),
        "MAX_TITLE_CHARS": _int("MAX_TITLE_CHARS", 200),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        # Figures: largest upload and largest decoded image (413 beyond them).
        "FIGURE_MAX_BYTES": _int("FIGURE_MAX_BYTES", 10 * 1024 * 1024),
        "FIGURE_MAX_PIXELS": _int("FIGURE_MAX_PIXELS", 40_000_000),
        # Caps of one Word import (413 beyond them), checked before anything is written.
        "IMPORT_MAX_SECTIONS": _int("IMPORT_MAX_SECTIONS", 1000),
        "IMPORT_MAX_CHARS": _int("IMPORT_MAX_CHARS", 5_000_000),
        "IMPORT_MAX_FIGURES": _int("IMPORT_MAX_FIGURES", 200),
        # Longest quoted passage of a comment (413 beyond it).
        "COMMENT_MAX_QUOTE_CHARS": _int("COMMENT_MAX_QUOTE_CHARS", 5_000),
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("TIMEZONE", "Europe/Berlin"),
        "LANGUAGES": ("de", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # The token lives in the session, which ends at logout, idle timeout or lifetime; the
        # lifetime also bounds tokens of visitors who never log in.
        "WTF_CSRF_TIME_LIMIT": lifetime,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "konzeptwerk@localhost"),
        # Accounts (docs/operations.md): invitation links are valid for days, password-reset
        # links for minutes; reset requests are throttled per address and per e-mail address.
        "INVITATION_DAYS": _int("INVITATION_DAYS", 7),
        # Single sign-on (OpenID Connect): providers as a JSON list (README, "Accounts"); http
        # issuers only for development and tests.
        "OIDC_PROVIDERS": os.environ.get("OIDC_PROVIDERS", ""),
        "OIDC_ALLOW_HTTP": _bool("OIDC_ALLOW_HTTP"),
        # Accounts without a login for this long are flagged on the admin page (retention).
        "ACCOUNT_DORMANT_DAYS": _int("ACCOUNT_DORMANT_DAYS", 365),
        "PASSWORD_RESET_MINUTES": _int("PASSWORD_RESET_MINUTES", 60),
        "PASSWORD_RESET_RATE_LIMIT": os.environ.get(
            "PASSWORD_RESET_RATE_LIMIT", "5 per 15 minutes;20 per day"
        ),
        # Where users reach the app; links in e-mails are built from it.
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # --- operations (docs/operations.md) ---
        # "production" makes the start-up checks refuse what is only fine on a laptop.
        "KONZEPTWERK_ENV": os.environ.get("KONZEPTWERK_ENV", "development").strip().lower(),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text").strip().lower(),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").strip().upper(),
        "READY_MIN_FREE_BYTES": _int("READY_MIN_FREE_MB", 100) * 2**20,
        "EXPORT_RETENTION_DAYS": _int("EXPORT_RETENTION_DAYS", 30),
        "METRICS_ALLOWED_NETWORKS": os.environ.get(
            "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"
        ),
    }


def audit_key(instance_path: str) -> str:
    """Return the audit key: ``AUDIT_KEY`` from the environment, else ``instance/audit_key``.

    The migration that keys existing chains reads the key through this function too.
    """
    return os.environ.get("AUDIT_KEY") or _instance_secret(instance_path, "audit_key")


def _instance_secret(instance_path: str, name: str = "secret_key") -> str:
    """Return a per-installation secret kept in the instance folder, creating it once."""
    import secrets

    Path(instance_path).mkdir(parents=True, exist_ok=True)
    path = Path(instance_path) / name
    try:
        # O_EXCL: of several processes starting at once, exactly one writes the secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


# Keys whose values are never printed or logged, and URLs whose passwords are masked.
_SECRET_WORDS = ("SECRET", "PASSWORD", "PRIVATE")
_SECRET_ENDINGS = ("_KEY", "_TOKEN", "_KEYS")
_URL_KEYS = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RATELIMIT_STORAGE_URI")


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """Return the configuration with secret values replaced by ``***`` (for show and log)."""
    import re

    shown: dict[str, Any] = {}
    for key in sorted(config):
        value = config[key]
        if (any(word in key for word in _SECRET_WORDS) or key.endswith(_SECRET_ENDINGS)) and value:
            value = "***"
        elif key in _URL_KEYS and isinstance(value, str):
            value = re.sub(r"(//[^:/@]*):[^@]*@", r"\1:***@", value)
        shown[key] = value
    return shown


def production_problems(config: dict[str, Any], debug: bool) -> list[str]:
    """Name, one line each, what a production node must not start with."""
    problems = []
    if not os.environ.get("SECRET_KEY"):
        problems.append("SECRET_KEY is not set (the same random value on every web node)")
    if not os.environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL is not set (PostgreSQL, e.g. postgresql+psycopg://…)")
    if debug:
        problems.append("debug mode is on (unset FLASK_DEBUG)")
    return problems
