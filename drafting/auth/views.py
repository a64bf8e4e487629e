"""Logging in and out, the user's profile, language and API tokens."""

from __future__ import annotations

import json
from typing import Any
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
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from drafting import throttle
from drafting.auth import mail
from drafting.auth.forms import (
    AcceptInvitationForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    PasswordForm,
    ResetPasswordForm,
    TokenForm,
)
from drafting.auth_setup import SESSION_KEY
from drafting.extensions import db
from drafting.logs import loggable_email, security_log
from drafting.models import ApiToken, User, utcnow
from workflows import accounts, invitations, privacy, resets, sessions, sso
from workflows.errors import Duplicate, NotAllowed, NotFound, ValidationFailed

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: an absolute URL in ?next= would be an open redirect. Browsers read
    # "/\host" as "//host", and a line break would split the Location header (ASVS V5.1.5).
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and "\\" not in target
        and " " not in target
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("papers.index")


def _wait_text(refusal: throttle.Refusal) -> str:
    minutes = refusal.minutes
    wait = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    if refusal.scope == "address":
        return _(
            "Too many attempts from your network address. Please wait %(wait)s and try again.",
            wait=wait,
        )
    if refusal.scope == "account":
        return _(
            "Too many attempts for this account: it is locked for now. "
            "Please wait %(wait)s and try again.",
            wait=wait,
        )
    return _("Too many wrong passwords. Please wait %(wait)s and try again.", wait=wait)


def _start_session(user: User) -> None:
    # A fresh session (and CSRF token) for every login: no fixation (ASVS V3.2.1).
    session.clear()
    session[SESSION_KEY] = sessions.start(user, lifetime=current_app.config["SESSION_LIFETIME"])
    db.session.commit()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Log a user in with e-mail address and password."""
    if current_user.is_authenticated:
        return redirect(url_for("papers.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        address = request.remote_addr or "unknown"
        refusal = throttle.check_login(email, address)
        if refusal is not None:
            security_log.warning(
                "login throttled",
                extra={
                    "event": "login_throttled",
                    "email": loggable_email(email),
                    "remote_addr": address,
                    "retry_after": refusal.wait,
                },
            )
            flash(_wait_text(refusal), "error")
            page = render_template("auth/login.html", form=form, providers=sso.providers())
            return page, 429, {"Retry-After": str(refusal.wait)}
        try:
            user = accounts.authenticate(email, form.password.data or "")
        except NotAllowed as err:
            throttle.login_succeeded(email, address)
            flash(str(err.message), "error")
            return render_template("auth/login.html", form=form, providers=sso.providers()), 403
        if user is not None:
            throttle.login_succeeded(email, address)
            _start_session(user)
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
    return render_template("auth/login.html", form=form, providers=sso.providers())


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Log the current user out and end this login on the server (ASVS V3.3.1)."""
    sessions.end(session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _password_confirmed(field: Any, wrong: str) -> tuple[bool, int]:
    """Check the user's current password typed into ``field``, throttled (ASVS V2.2.1)."""
    refusal = throttle.check_password_guess(current_user.id)
    if refusal is not None:
        field.errors = [_wait_text(refusal)]
        return False, 429
    if not accounts.verify_password(current_user, field.data or ""):
        field.errors = [wrong]
        return False, 200
    throttle.password_guess_succeeded(current_user.id)
    return True, 200


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


def _profile_page(**forms: Any) -> str:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    context = {
        "password_form": PasswordForm(prefix="pw"),
        "language_form": LanguageForm(prefix="lang", locale=current_user.locale),
        "token_form": TokenForm(prefix="tok"),
        "revoke_form": FlaskForm(),
        "tokens": tokens,
        # new_token (a token just created, shown once) is only passed by create_token.
        "now": utcnow(),
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
def change_password() -> str | Response | tuple[str, int]:
    """Change the user's own password; other logins end and API tokens are revoked."""
    form = PasswordForm(prefix="pw")
    status = 200
    if form.validate_on_submit():
        confirmed, status = _password_confirmed(form.current, _("The current password is wrong."))
        if confirmed:
            try:
                accounts.change_password(
                    current_user,
                    form.current.data or "",
                    form.new.data or "",
                    keep_session=session.get(SESSION_KEY),
                )
            except ValidationFailed as err:
                field = form.new if err.extra.get("field") == "password" else form.current
                field.errors = [err.message]
            else:
                # Stay logged in here (other sessions end). Pass the user, not the proxy: a
                # proxy stored as the request's user would resolve to itself for ever.
                login_user(current_user._get_current_object())
                mail.send_password_changed(current_user._get_current_object())
                flash(
                    _(
                        "Your password was changed. Other sessions were logged out "
                        "and your API tokens revoked."
                    ),
                    "success",
                )
                return redirect(url_for("auth.profile"))
    return _profile_page(password_form=form), status


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
def create_token() -> str | Response | tuple[str, int]:
    """Create an API token after asking for the password again, and show it once."""
    form = TokenForm(prefix="tok")
    status = 200
    if form.validate_on_submit():
        # A stolen session cookie alone must not mint a lasting credential (ASVS V3.7.1).
        confirmed, status = _password_confirmed(form.password, _("The password is wrong."))
        if confirmed:
            _token, plain = accounts.create_token(current_user, form.name.data or "API")
            return _profile_page(new_token=plain)
    return _profile_page(token_form=form), status


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    """Revoke one of the user's API tokens."""
    form = FlaskForm()
    if form.validate_on_submit():
        accounts.revoke_token(current_user, token_id)
        flash(_("The token was revoked."), "success")
    return redirect(url_for("auth.profile"))


# --- password reset and invitations (no login needed: the link's token is the credential) ---


def _invalid_link(message: str) -> tuple[str, int]:
    page = render_template("auth/link_invalid.html", message=message)
    return page, 404


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> str | Response | tuple[str, int, dict[str, str]]:
    """Ask for a password-reset link; the answer is the same for known and unknown addresses."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        address = request.remote_addr or "unknown"
        refusal = throttle.check_reset_request(email, address)
        if refusal is not None:
            security_log.warning(
                "password reset throttled",
                extra={"event": "reset_throttled", "remote_addr": address},
            )
            flash(_wait_text(refusal), "error")
            page = render_template("auth/forgot.html", form=form)
            return page, 429, {"Retry-After": str(refusal.wait)}
        link = resets.request_reset(email)
        if link is not None:
            mail.send_reset(link.user, link.token, current_app.config["PASSWORD_RESET_MINUTES"])
            security_log.info(
                "password reset requested",
                extra={"event": "reset_requested", "user_id": link.user.id},
            )
        return render_template("auth/forgot_sent.html", email=email)
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response | tuple[str, int]:
    """Set a new password through a reset link; every login and token of the user ends."""
    try:
        reset = resets.by_token(token)
    except NotFound as err:
        return _invalid_link(str(err.message))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = resets.reset_password(token, form.new.data or "")
        except NotFound as err:
            return _invalid_link(str(err.message))
        except ValidationFailed as err:
            form.new.errors = [err.message]
        else:
            mail.send_password_changed(user)
            security_log.warning(
                "password reset", extra={"event": "password_reset", "user_id": user.id}
            )
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(_("Your password was changed. Please log in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=reset.user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> str | Response | tuple[str, int]:
    """Create the invited account: the person chooses a name and password, then lands on the
    paper they were invited to (or the list of papers)."""
    try:
        invitation = invitations.by_token(token)
    except NotFound as err:
        return _invalid_link(str(err.message))
    if current_user.is_authenticated:
        flash(
            _("You are logged in already. Log out to accept an invitation for another address."),
            "info",
        )
        return redirect(url_for("papers.index"))
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(token, form.display_name.data or "", form.new.data or "")
        except (NotFound, Duplicate) as err:
            return _invalid_link(str(err.message))
        except ValidationFailed as err:
            field = form.display_name if err.extra.get("field") == "name" else form.new
            field.errors = [err.message]
        else:
            _start_session(user)
            session["locale"] = user.locale
            flash(_("Welcome to Konzeptwerk! Your account is ready."), "success")
            if invitation.paper_id is not None:
                return redirect(url_for("papers.show", paper_id=invitation.paper_id))
            return redirect(url_for("papers.index"))
    return render_template("auth/invitation.html", form=form, invitation=invitation)


# --- personal data (GDPR Art. 15) ---------------------------------------------------------------


@bp.get("/profile/data")
@login_required
def my_data() -> str | Response:
    """Everything stored about the user: a readable page (print it as PDF), or JSON."""
    data = privacy.export(current_user)
    if request.args.get("format") == "json":
        return data_download(data, current_user.id)
    return render_template("auth/my_data.html", data=data, subject=current_user)


def data_download(data: dict[str, Any], user_id: int) -> Response:
    """Answer the Art. 15 data as a JSON file download."""
    body = json.dumps(data, ensure_ascii=False, indent=2)
    name = f"konzeptwerk-personal-data-{user_id}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
