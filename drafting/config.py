"""Configuration from environment variables, with safe defaults for ``make run``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def load_config(instance_path: str) -> dict[str, Any]:
    """Return the configuration read from the environment."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    default_db = "sqlite:///" + str(Path(instance_path) / "konzeptwerk.sqlite3")
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        secret = _instance_secret(instance_path)
    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or os.environ.get("REDIS_URL")
        or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Exports a user may request (counted in the database: shared by every web node).
        "EXPORT_RATE_LIMIT": os.environ.get("EXPORT_RATE_LIMIT", "10 per 5 minutes;100 per day"),
        "MAX_BODY_CHARS": _int("MAX_BODY_CHARS", 200_000),
        "MAX_TITLE_CHARS": _int("MAX_TITLE_CHARS", 200),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("TIMEZONE", "Europe/Berlin"),
        "LANGUAGES": ("de", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") == "1",
        "MAIL_FROM": os.environ.get("MAIL_FROM", "konzeptwerk@localhost"),
        # Where users reach the app; links in e-mails are built from it.
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
    }


def _instance_secret(instance_path: str) -> str:
    """Return a per-installation secret kept in the instance folder, creating it once."""
    import secrets

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
