"""API routes of the caller's notifications."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import force_locale

from drafting import links
from drafting.api import api_user, body_json, bp
from drafting.models import Notification
from workflows import notifications
from workflows.errors import ValidationFailed


def notification_json(notification: Notification) -> dict[str, Any]:
    """Serialise a notification, its text in the caller's language."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "message": notifications.message(notification),
        "detail": notifications.detail(notification) or None,
        "paper_id": notification.paper_id,
        "section_id": notification.section_id,
        "actor": notification.actor.display_name if notification.actor else None,
        "url": links.notification_url(notification),
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
    }


@bp.get("/notifications")
def list_notifications() -> Response:
    """List the caller's notifications, newest first, a page at a time (``?page=n``)."""
    user = api_user()
    page = notifications.inbox(user, request.args.get("page", 1, type=int) or 1)
    with force_locale(user.locale or "de"):
        items = [notification_json(n) for n in page.items]
    return jsonify(
        {
            "notifications": items,
            "unread": notifications.unread_count(user),
            "page": page.page,
            "pages": page.pages,
            "total": page.total,
        }
    )


@bp.post("/notifications/read")
def read_notifications() -> Response:
    """Mark notifications read: ``{"ids": [..]}`` or ``{"all": true}``."""
    data = body_json()
    if data.get("all") is True:
        count = notifications.mark_read(api_user(), "all")
    else:
        ids = data.get("ids")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ValidationFailed('send {"ids": [notification ids]} or {"all": true}', field="ids")
        count = notifications.mark_read(api_user(), ids)
    return jsonify({"marked": count, "unread": notifications.unread_count(api_user())})
