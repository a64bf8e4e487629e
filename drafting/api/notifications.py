"""API routes of the caller's notifications."""

from __future__ import annotations

from flask_babel import force_locale

from drafting import links
from drafting.api import api_user, bp, schemas
from drafting.models import Notification
from workflows import notifications
from workflows.errors import ValidationFailed


def notification_model(notification: Notification) -> schemas.Notification:
    """Return a notification as its schema, its text in the current language."""
    return schemas.Notification(
        id=notification.id,
        kind=notification.kind,
        message=notifications.message(notification),
        detail=notifications.detail(notification) or None,
        paper_id=notification.paper_id,
        section_id=notification.section_id,
        actor=notification.actor.display_name if notification.actor else None,
        url=links.notification_url(notification),
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


@bp.get("/notifications")
@schemas.endpoint(query=schemas.InboxQuery, answer=(200, schemas.NotificationList))
def list_notifications() -> schemas.NotificationList:
    """List the caller's notifications, newest first, a page at a time (``?page=n``)."""
    user = api_user()
    page = notifications.inbox(user, schemas.query(schemas.InboxQuery).page)
    with force_locale(user.locale or "de"):
        items = [notification_model(n) for n in page.items]
    return schemas.NotificationList(
        notifications=items,
        unread=notifications.unread_count(user),
        page=page.page,
        pages=page.pages,
        total=page.total,
    )


@bp.post("/notifications/read")
@schemas.endpoint(json=schemas.MarkRead, answer=(200, schemas.Marked))
def read_notifications() -> schemas.Marked:
    """Mark notifications read: ``{"ids": [..]}`` or ``{"all": true}``."""
    data = schemas.body(schemas.MarkRead)
    if data.all:
        count = notifications.mark_read(api_user(), "all")
    elif data.ids is None:
        raise ValidationFailed(schemas.MarkRead.messages["ids"], field="ids")
    else:
        count = notifications.mark_read(api_user(), data.ids)
    return schemas.Marked(marked=count, unread=notifications.unread_count(api_user()))
