"""Template filters and globals: localised dates, stored HTML, labels of enums."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

STATUS_LABELS = {
    "drafting": _l("Draft"),
    "signing": _l("In sign-off"),
    "final": _l("Final"),
    "archived": _l("Archived"),
}
ROLE_LABELS = {
    "coordinator": _l("Coordinator"),
    "editor": _l("Editor"),
    "reviewer": _l("Reviewer"),
    "signatory": _l("Signatory"),
}


def when(value: datetime | None, fmt: str = "medium") -> str:
    """Format a timestamp in the user's language and the configured time zone."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def stored_html(value: str | None) -> Markup:
    """Mark HTML as safe that was sanitised when it was stored (rendered section versions)."""
    return Markup(value or "")  # noqa: S704 — sanitised by drafting.markdown at save time


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["stored_html"] = stored_html
    app.jinja_env.globals["STATUS_LABELS"] = STATUS_LABELS
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
