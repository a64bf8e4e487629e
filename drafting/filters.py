"""Template filters and globals: localised dates, stored HTML, labels of enums."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import Flask, g, has_request_context
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from drafting.text.markdown import label_figures
from exports import importing as importing_kinds

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


REVIEW_EVENT_LABELS = {
    "submitted": _l("submitted for review"),
    "approved": _l("approved"),
    "changes_requested": _l("sent back"),
    "carried_over": _l("approval carried over (editorial save)"),
    "approval_reset": _l("approval reset by a new version"),
    "back_to_draft": _l("back to draft by a new version"),
}
REVIEW_STATE_LABELS = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "changes_requested": _l("Changes requested"),
    "approved": _l("Approved"),
}

SUGGESTION_LABELS = {
    "open": _l("open"),
    "accepted": _l("accepted"),
    "partly_accepted": _l("partly accepted"),
    "rejected": _l("rejected"),
}

DECISION_LABELS = {
    "approve": _l("Approved"),
    "approve_with_reservation": _l("Approved with reservation"),
    "reject": _l("Rejected"),
}
EDITION_LABELS = {
    "signing": _l("in sign-off"),
    "final": _l("final"),
    "cancelled": _l("cancelled"),
}

EXPORT_LABELS = {
    "queued": _l("waiting"),
    "running": _l("being built"),
    "done": _l("ready"),
    "failed": _l("failed"),
}


def when_date(value: date | None) -> str:
    """Format a date in the user's language."""
    return format_date(value, "medium") if value else ""


def when(value: datetime | None, fmt: str = "medium") -> str:
    """Format a timestamp in the user's language and the configured time zone.

    Within a request each timestamp is formatted once: a discussion page names one comment's
    date in several places, and Babel's formatting is the page's most expensive filter.
    """
    if value is None:
        return ""
    if not has_request_context():
        return format_datetime(value, fmt)
    cache: dict[tuple[object, ...], str] = g.setdefault("_when", {})
    key = (value, fmt, str(get_locale()), str(get_timezone()))
    found = cache.get(key)
    if found is None:
        found = cache[key] = format_datetime(value, fmt)
    return found


class FigureNumbers:
    """Numbers the figure captions of one page through the paper ("Abbildung 1, 2, …")."""

    def __init__(self) -> None:
        self.next = 1


_NOTE_REF = re.compile(r'<sup class="footnote-ref"><a (?=[^>]*>(\d+)</a>)')


def stored_html(value: str | None, figures: FigureNumbers | None = None) -> Markup:
    """Mark HTML as safe that was sanitised when it was stored (rendered section versions).

    Words of the reader's language are added here, not stored: the "Figure N:" label of
    captions (numbered through the page with ``figures``, unnumbered without) and the
    accessible names of footnote links.
    """
    # Sanitised by drafting.text.markdown at save time; what is added below is escaped.
    html = value or ""
    if "<figcaption>" in html:
        labelled, after = label_figures(html, _("Figure"), figures.next if figures else None)
        html = str(labelled)
        if figures is not None:
            figures.next = after
    if 'class="footnote' in html:
        note, back, notes = (
            escape(_("Footnote")),
            escape(_("Back to the text")),
            escape(_("Footnotes")),
        )
        html = _NOTE_REF.sub(
            lambda m: f'<sup class="footnote-ref"><a aria-label="{note} {m.group(1)}" ', html
        )
        html = html.replace(
            'class="footnote-backref"', f'class="footnote-backref" aria-label="{back}"'
        ).replace(
            '<section class="footnotes">', f'<section class="footnotes" aria-label="{notes}">'
        )
    return Markup(html)  # noqa: S704  # nosec B704 # sanitised when stored


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["stored_html"] = stored_html
    app.jinja_env.globals["FigureNumbers"] = FigureNumbers
    app.jinja_env.globals["STATUS_LABELS"] = STATUS_LABELS
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
    app.jinja_env.globals["REVIEW_EVENT_LABELS"] = REVIEW_EVENT_LABELS
    app.jinja_env.globals["REVIEW_STATE_LABELS"] = REVIEW_STATE_LABELS
    app.jinja_env.filters["when_date"] = when_date
    app.jinja_env.globals["SUGGESTION_LABELS"] = SUGGESTION_LABELS
    app.jinja_env.globals["DECISION_LABELS"] = DECISION_LABELS
    app.jinja_env.globals["EDITION_LABELS"] = EDITION_LABELS
    app.jinja_env.globals["EXPORT_LABELS"] = EXPORT_LABELS
    app.jinja_env.globals["IMPORT_KINDS"] = importing_kinds.KINDS
