"""Flask-Login wiring: server-side login sessions for the web UI, bearer tokens for the API."""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from drafting import throttle
from drafting.extensions import login_manager
from drafting.models import User
from workflows import sessions

# The key of the browser's login record in the signed session cookie.
SESSION_KEY = "kw_sid"


def is_api_request() -> bool:
    """Tell whether the current request is for the JSON API."""
    return request.path.startswith("/api/")


# Set in the WSGI environment (one per request, unlike ``g``) once the login was checked.
_CHECKED = "konzeptwerk.session_checked"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user :func:`check_session` found for this request's cookie."""
    if not request.environ.get(_CHECKED):
        # A hook before this one failed (an oversized form answers 413 while being read):
        # the error page still knows the user and speaks their language.
        check_session()
    user: User | None = g.get("session_user")
    if user is None or user.get_id() != user_id:
        return None
    return user


def check_session() -> None:
    """Check the session cookie's login against its server-side record (ASVS V3.3).

    A logged-out, timed-out or otherwise ended login clears the whole session — the CSRF
    token in it included, so forms of the ended session are refused too (V3.3.1, V3.3.2).
    """
    if request.environ.get(_CHECKED):
        return
    request.environ[_CHECKED] = True
    # A test client may share ``g`` between requests: start from nothing.
    g.pop("session_user", None)
    g.pop("session_ended", None)
    if request.endpoint == "static" or is_api_request():
        return
    user_id = session.get("_user_id")
    if user_id is None:
        return
    from flask import current_app

    result = sessions.check(
        str(user_id),
        session.get(SESSION_KEY),
        idle=int(current_app.config["SESSION_IDLE_TIMEOUT"]),
        lifetime=int(current_app.config["SESSION_LIFETIME"]),
    )
    if result.user is None:
        session.clear()
        g.session_ended = result.ended
    else:
        g.session_user = result.user


def session_ended_answer() -> Response:
    """Answer a request whose login has ended: JSON 401 or back to the login form."""
    from drafting.errors import json_error, wants_json

    message = _("Your session has ended. Please log in again.")
    if g.get("session_ended") in (sessions.Ended.IDLE, sessions.Ended.LIFETIME):
        message = _("Your session has expired. Please log in again.")
    if wants_json():
        return json_error("session_expired", message, 401)
    flash(message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class TrustedProxyFix:
    """Believe X-Forwarded-* only when the request comes from a listed proxy address."""

    def __init__(self, wsgi_app: Any, proxies: tuple[str, ...]) -> None:
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return self.plain(environ, start_response)
        if any(peer in network for network in self.networks):
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)


def trust_proxies(app: Flask) -> None:
    """Take the client's address from trusted proxies only (TRUSTED_PROXIES, ASVS V2.2.1)."""
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if isinstance(proxies, int):
        if proxies > 0:
            app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
                app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
            )
    else:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, tuple(proxies))  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    """Configure login sessions, the login manager's answers, proxies and throttling."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(check_session)
    trust_proxies(app)
    throttle.init_app(app)

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if is_api_request():
            from drafting.errors import json_error

            return json_error("unauthorized", "a valid API token is required", 401)
        if g.get("session_ended") is not None:
            return session_ended_answer()
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
