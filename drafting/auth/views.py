"""Logging in and out, the user's profile, language and API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from drafting.auth.forms import LanguageForm, LoginForm, PasswordForm, TokenForm
from drafting.extensions import db, limiter
from drafting.logs import loggable_email, security_log
from drafting.models import ApiToken
from workflows import accounts
from workflows.errors import ValidationFailed

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: an absolute URL in ?next= would be an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("papers.index")


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response:
    """Log a user in with e-mail address and password."""
    if current_user.is_authenticated:
        return redirect(url_for("papers.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        # The same words whether the address is unknown, the password wrong or the account off.
        security_log.warning(
            "login failed",
            extra={
                "event": "login_failed",
                "email": loggable_email(form.email.data),
                "remote_addr": request.remote_addr,
            },
        )
        flash(_("E-mail address or password is not correct."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Log the current user out."""
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> Response:
    """Switch the interface language (for the user's account, or this browser's session)."""
    form = LanguageForm()
    if form.validate_on_submit():
        locale = form.locale.data or "de"
        session["locale"] = locale
        if current_user.is_authenticated:
            accounts.set_locale(current_user, locale)
    return redirect(_safe_next(request.form.get("next")))


def _profile_page(**forms: FlaskForm) -> str:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    context = {
        "password_form": PasswordForm(prefix="pw"),
        "language_form": LanguageForm(prefix="lang", locale=current_user.locale),
        "token_form": TokenForm(prefix="tok"),
        "revoke_form": FlaskForm(),
        "tokens": tokens,
        "new_token": None,
    }
    context.update(forms)
    return render_template("auth/profile.html", **context)


@bp.get("/profile")
@login_required
def profile() -> str:
    """Show the user's profile: password, language and API tokens."""
    return _profile_page()


@bp.post("/profile/password")
@login_required
def change_password() -> str | Response:
    """Change the user's own password."""
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current.data or "", form.new.data or "")
        except ValidationFailed as err:
            form.current.errors = [err.message]
        else:
            # Stay logged in here (other sessions end). Pass the user, not the proxy: a proxy
            # stored as the request's user would resolve to itself for ever.
            login_user(current_user._get_current_object())
            flash(_("Your password was changed. Other sessions were logged out."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(password_form=form)


@bp.post("/profile/language")
@login_required
def change_language() -> str | Response:
    """Save the user's interface language."""
    form = LanguageForm(prefix="lang")
    if form.validate_on_submit():
        accounts.set_locale(current_user, form.locale.data or "de")
        session["locale"] = form.locale.data
        flash(_("Language saved."), "success")
        return redirect(url_for("auth.profile"))
    return _profile_page(language_form=form)


@bp.post("/profile/tokens")
@login_required
def create_token() -> str | Response:
    """Create an API token and show it once."""
    form = TokenForm(prefix="tok")
    if form.validate_on_submit():
        _token, plain = accounts.create_token(current_user, form.name.data or "API")
        return _profile_page(new_token=plain)
    return _profile_page(token_form=form)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    """Revoke one of the user's API tokens."""
    form = FlaskForm()
    if form.validate_on_submit():
        accounts.revoke_token(current_user, token_id)
        flash(_("The token was revoked."), "success")
    return redirect(url_for("auth.profile"))
