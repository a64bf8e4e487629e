"""Flask-Login wiring: sessions for the web UI, bearer tokens for the API."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from drafting.extensions import db, login_manager
from drafting.models import User


def is_api_request() -> bool:
    """Tell whether the current request is for the JSON API."""
    return request.path.startswith("/api/")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the session's user; a changed nonce or a deactivation ends the session at once."""
    ident, _, nonce = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.is_active or user.session_nonce != nonce:
        return None
    return user


def init_app(app: Flask) -> None:
    """Configure the login manager's messages and the answer to unauthenticated requests."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if is_api_request():
            from drafting.errors import json_error

            return json_error("unauthorized", "a valid API token is required", 401)
        from flask import flash

        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
