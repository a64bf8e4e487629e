"""Limits on expensive requests, counted in the database so that every web node shares them.

Redis is optional in this installation and several gunicorn workers on several machines serve
one database: a count of the user's own rows in a time window is the one store they all see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from limits import parse_many
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Export, ExportStatus, User, utcnow
from workflows.errors import RateLimited

ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def same_export(actor: User, paper_id: int, options: dict[str, Any]) -> Export | None:
    """Return the user's queued or running export of the paper with the same options, if any.

    The same request twice gets the same export: a double click or an impatient reload does
    not queue the work again.
    """
    candidates = db.session.scalars(
        select(Export)
        .where(
            Export.paper_id == paper_id,
            Export.requested_by_id == actor.id,
            Export.status.in_(ACTIVE),
        )
        .order_by(Export.id.desc())
    )
    return next((e for e in candidates if (e.options or {}) == options), None)


def check_export_rate(actor: User) -> None:
    """Refuse a new export when the user reached ``EXPORT_RATE_LIMIT`` (ASVS V11.1.4).

    The limit is written like ``LOGIN_RATE_LIMIT`` ("10 per 5 minutes;100 per day"). The
    user's row is locked first (PostgreSQL), so concurrent requests of one user count one by one.

    :raises RateLimited: with ``retry_after`` in seconds.
    """
    spec = current_app.config.get("EXPORT_RATE_LIMIT") or ""
    if not spec.strip():
        return
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    now = utcnow()
    for limit in parse_many(spec):
        window = timedelta(seconds=limit.get_expiry())
        since = now - window
        count, oldest = db.session.execute(
            select(func.count(), func.min(Export.created_at)).where(
                Export.requested_by_id == actor.id, Export.created_at > since
            )
        ).one()
        if count >= limit.amount:
            retry_after = window.total_seconds()
            if oldest is not None:
                if oldest.tzinfo is None:  # SQLite drops the zone of aggregates
                    oldest = oldest.replace(tzinfo=now.tzinfo)
                retry_after = max(1.0, (oldest + window - now).total_seconds())
            minutes = max(1, round(retry_after / 60))
            raise RateLimited(
                _l(
                    "You have requested %(exports)s recently, the most allowed. "
                    "Please try again in %(minutes)s.",
                    exports=lazy_ngettext("%(num)d export", "%(num)d exports", limit.amount),
                    minutes=lazy_ngettext("%(num)d minute", "%(num)d minutes", minutes),
                ),
                retry_after=int(retry_after),
            )
