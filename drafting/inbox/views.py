"""Pages of the inbox: the list of notifications, opening one, and the e-mail settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from drafting import links
from drafting.inbox import mail
from drafting.inbox.forms import EmailSettingsForm, MarkAllReadForm
from workflows import notifications

bp = Blueprint("inbox", __name__)
bp.record_once(lambda state: mail.init_app(state.app))


@bp.app_context_processor
def inject_unread_count() -> dict[str, Any]:
    """Give every page the header's unread count (one indexed query, only when logged in)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notifications": notifications.unread_count(current_user)}


@bp.get("/inbox")
@login_required
def index() -> str:
    """List the user's notifications, newest first, unread ones marked."""
    page = notifications.inbox(current_user, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "inbox/index.html",
        page=page,
        message=notifications.message,
        detail=notifications.detail,
        target=links.notification_path,
        mark_all_form=MarkAllReadForm(),
    )


@bp.post("/inbox/read")
@login_required
def mark_all_read() -> Response:
    """Mark all of the user's notifications as read."""
    form = MarkAllReadForm()
    if form.validate_on_submit():
        count = notifications.mark_read(current_user, "all")
        if count:
            flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/inbox/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int) -> Response:
    """Mark a notification read and go to what it is about."""
    form = FlaskForm()
    if not form.validate_on_submit():
        return redirect(url_for("inbox.index"))
    notification = notifications.open_notification(current_user, notification_id)
    # notification_path only returns local paths, so this cannot redirect to another site.
    return redirect(request.script_root + links.notification_path(notification))


@bp.route("/inbox/settings", methods=["GET", "POST"])
@login_required
def settings() -> str | Response:
    """Choose which kinds of notification also come by e-mail."""
    form = EmailSettingsForm()
    if form.validate_on_submit():
        chosen = set(form.email_kinds.data or [])
        notifications.set_email_opt_outs(current_user, set(notifications.KINDS) - chosen)
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for("inbox.settings"))
    if request.method == "GET":
        opted_out = notifications.email_opt_outs(current_user)
        form.email_kinds.data = [k for k in notifications.KINDS if k not in opted_out]
    return render_template(
        "inbox/settings.html", form=form, emails_enabled=notifications.emails_enabled()
    )
