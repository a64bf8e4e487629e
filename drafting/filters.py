"""Template filters and globals: localised dates, stored HTML, labels of enums."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Flask, has_request_context
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
    ngettext,
)
from flask_babel import (
    gettext as _,
)
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from drafting.text.changes import tracked_html
from drafting.text.markdown import label_figures, omit_end_tags, shift_headings, tighten
from exports import importing as importing_kinds
from workflows import labels

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


def when_date(value: date | None) -> str:
    """Format a date in the user's language."""
    return format_date(value, "medium") if value else ""


# Formatted timestamps, shared by all requests: a timestamp, once stored, never changes, and
# Babel's formatting is the most expensive filter of the big pages (the paper page names
# 300 versions' and every margin comment's date on each request: bench_margin.py).
_WHEN: dict[tuple[object, ...], str] = {}
_WHEN_MAX = 20_000


def when(value: datetime | None, fmt: str = "medium") -> str:
    """Format a timestamp in the user's language and the configured time zone.

    Each timestamp is formatted once per language, zone and format, then taken from a
    process-wide table (emptied when it grows past ``_WHEN_MAX`` entries).
    """
    if value is None:
        return ""
    if not has_request_context():
        return format_datetime(value, fmt)
    key = (value, fmt, str(get_locale()), str(get_timezone()))
    found = _WHEN.get(key)
    if found is None:
        if len(_WHEN) >= _WHEN_MAX:
            _WHEN.clear()
        found = _WHEN[key] = format_datetime(value, fmt)
    return found


def number(value: float | None, digits: int = 0) -> str:
    """Format a number in the user's language ("1.234", "40,1")."""
    if value is None:
        return ""
    if digits:
        return format_decimal(round(value, digits), f"#,##0.{'0' * digits}")
    return format_decimal(value)


def filesize(value: int | None) -> str:
    """Format a size in bytes for people, in the user's language ("40,1 KB", "2,3 MB")."""
    if value is None:
        return ""
    if value < 1024:
        return ngettext("%(size)s byte", "%(size)s bytes", value, size=number(value))
    if value < 1024 * 1024:
        return _("%(size)s KB", size=number(value / 1024, 1))
    return _("%(size)s MB", size=number(value / (1024 * 1024), 1))


def tracked(item: Any, prefix: str = "change") -> Markup:
    """Render a suggestion's changes inline as tracked changes (workflows.suggestions.Tracked)."""
    return tracked_html(
        item.base_body,
        item.changes,
        deleted_label=str(_l("deleted")),
        inserted_label=str(_l("inserted")),
        change_label=str(_l("Change %(n)s:", n="%(n)s")),
        prefix=prefix,
        states=item.states(),
    )


class FigureNumbers:
    """Numbers the figure captions of one page through the paper ("Abbildung 1, 2, …")."""

    def __init__(self) -> None:
        self.next = 1


_NOTE_REF = re.compile(r'<sup class="footnote-ref"><a (?=[^>]*>(\d+)</a>)')


def stored_html(
    value: str | None,
    level: int = 1,
    figures: FigureNumbers | None = None,
    lean: bool = False,
) -> Markup:
    """Mark HTML as safe that was sanitised when it was stored (rendered section versions).

    Its headings become sub-headings of a section heading of ``level`` (0: the page's
    ``<h1>`` is the section's title). Words of the reader's language are added here, not
    stored: the "Figure N:" label of captions (numbered through the page with ``figures``,
    unnumbered without) and the accessible names of footnote links. ``lean`` (for the
    content of a ``<div>``, on the big paper page) leaves out the line breaks between blocks
    of older renderings and the end tags HTML lets a page omit: the same DOM, fewer bytes.
    """
    # Sanitised by drafting.text.markdown at save time; shift_headings only renames tags and
    # what is added below is escaped.
    html = shift_headings(value or "", level)
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
    if lean:
        html = _lean(html)
    return Markup(html)  # noqa: S704  # nosec B704 # sanitised when stored


# Lean forms of stored HTML, shared by all requests like _WHEN: the big paper page shows the
# same 300 bodies on every request, and the two passes cost ~2 ms per page. Emptied when the
# texts held pass _LEAN_MAX_CHARS (a body may be 200 000 characters).
_LEAN: dict[str, str] = {}
_LEAN_MAX_CHARS = 4_000_000
_lean_chars = 0


def _lean(html: str) -> str:
    global _lean_chars  # noqa: PLW0603 # the size of the process-wide table above
    found = _LEAN.get(html)
    if found is None:
        found = omit_end_tags(tighten(html))
        if _lean_chars + len(html) > _LEAN_MAX_CHARS:
            _LEAN.clear()
            _lean_chars = 0
        _LEAN[html] = found
        _lean_chars += len(html) + len(found)
    return found


_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def readable(value: Any) -> Any:
    """Show an ISO timestamp (as JSON data carries them) as a date and time for people; any
    other value as it is."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["readable"] = readable
    app.jinja_env.filters["stored_html"] = stored_html
    app.jinja_env.filters["tracked"] = tracked

    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.globals["FigureNumbers"] = FigureNumbers
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
    # The names of states, one function per status enum (workflows/labels.py, issue 15).
    for label in (
        labels.paper_status_label,
        labels.review_state_label,
        labels.suggestion_status_label,
        labels.signoff_decision_label,
        labels.edition_status_label,
        labels.export_status_label,
    ):
        app.jinja_env.globals[label.__name__] = label
    app.jinja_env.globals["REVIEW_EVENT_LABELS"] = REVIEW_EVENT_LABELS
    app.jinja_env.filters["when_date"] = when_date
    app.jinja_env.globals["IMPORT_KINDS"] = importing_kinds.KINDS
