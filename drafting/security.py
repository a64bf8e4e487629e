"""Security headers on every response (ASVS 4.0.3 V14.4): CSP, framing, sniffing, caching.

Flask-Talisman sets the Content-Security-Policy, ``X-Frame-Options``,
``X-Content-Type-Options``, ``Referrer-Policy`` and, behind TLS, Strict-Transport-Security.
Scripts come only from files under ``drafting/static/`` (``script-src 'self'``); no inline
script and no ``on…=`` attribute. A template that really needs an inline script marks it
with the per-request nonce: ``<script nonce="{{ csp_nonce() }}">…</script>``. Styles may be
inline (``style-src 'unsafe-inline'``) because the rich-text editor sets style attributes.
"""

from __future__ import annotations

from typing import Final

from flask import Flask, request
from flask_talisman import Talisman
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY: Final[dict[str, str]] = {
    "default-src": "'self'",
    "script-src": "'self'",  # plus the per-request nonce, see init_app
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def init_app(app: Flask) -> None:
    """Send the security headers on every response, errors and downloads included."""
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    # One Talisman per app: it keeps its options (and the app) on the instance.
    app.extensions["talisman"] = Talisman(
        app,
        # TLS ends at the reverse proxy, which also redirects plain HTTP there.
        force_https=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="same-origin",
        # Only announced over HTTPS (request.is_secure or X-Forwarded-Proto: https).
        strict_transport_security=secure,
        strict_transport_security_include_subdomains=False,
        # Talisman would otherwise overwrite the cookie settings of drafting/config.py.
        session_cookie_secure=secure,
        session_cookie_http_only=bool(app.config.get("SESSION_COOKIE_HTTPONLY", True)),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )
    app.after_request(no_store)


def no_store(response: Response) -> Response:
    """Keep every page, JSON answer and download out of shared and browser caches.

    Only the static files (CSS, scripts) may be cached; everything else is either behind a
    login or a form with a CSRF token (ASVS V8.2.1).
    """
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response
