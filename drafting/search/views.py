"""The search page, and what it shares with the API: reading filters, building links."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from drafting.extensions import db
from drafting.models import Organisation, PaperStatus
from workflows import labels
from workflows import papers as paper_flow
from workflows import search as flow
from workflows.errors import ValidationFailed

bp = Blueprint("search", __name__)

KIND_LABELS = {
    "section": _l("Section"),
    "version": _l("Earlier version"),
    "comment": _l("Comment"),
    "suggestion": _l("Suggestion"),
    "paper": _l("Paper"),
}


def _int(args: MultiDict[str, str], key: str) -> int | None:
    raw = (args.get(key) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(_l("'%(key)s' must be a number.", key=key), field=key) from None


def _date(args: MultiDict[str, str], key: str) -> date | None:
    raw = (args.get(key) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            _l("'%(key)s' must be a date like 2026-03-31.", key=key), field=key
        ) from None


def read_filters(args: MultiDict[str, str]) -> tuple[str, flow.Filters, int]:
    """Read query, filters and page from request arguments.

    :raises ValidationFailed: for an unknown kind or state, a bad number or date.
    """
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in flow.KINDS:
        raise ValidationFailed(_l("Unknown kind of result."), field="kind")
    state_raw = (args.get("state") or "").strip()
    try:
        state = PaperStatus(state_raw) if state_raw else None
    except ValueError:
        raise ValidationFailed(_l("Unknown state."), field="state") from None
    filters = flow.Filters(
        paper_id=_int(args, "paper"),
        kind=kind,
        organisation_id=_int(args, "organisation"),
        state=state,
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
        versions=(args.get("versions") or "") in ("1", "on", "true"),
    )
    page = _int(args, "page") or 1
    return (args.get("q") or "").strip()[:500], filters, max(1, min(page, 1000))


def hit_url(hit: flow.Hit) -> str:
    """Return the link to the passage of a result; the page marks ``highlight``."""
    marks: dict[str, Any] = {"highlight": " ".join(hit.matched)} if hit.matched else {}
    if hit.kind == "section":
        return url_for(
            "papers.show", paper_id=hit.paper_id, _anchor=f"section-{hit.section_id}", **marks
        )
    if hit.kind == "version":
        return url_for(
            "sections.version", section_id=hit.section_id, number=hit.version_number, **marks
        )
    if hit.kind == "comment":
        return url_for(
            "comments.discussion",
            section_id=hit.section_id,
            _anchor=f"comment-{hit.source_id}",
            **marks,
        )
    if hit.kind == "suggestion":
        return url_for("review.suggestion", suggestion_id=hit.source_id, **marks)
    return url_for("papers.show", paper_id=hit.paper_id, **marks)


@bp.get("/search")
@login_required
def index() -> str:
    """Search the texts of every paper the user may see."""
    error = None
    try:
        query, filters, page = read_filters(request.args)
    except ValidationFailed as err:
        error = err.message
        query, filters, page = (request.args.get("q") or "").strip()[:500], flow.Filters(), 1
    results = flow.search(current_user, query, filters, page) if query else None
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template(
        "search/index.html",
        query=query,
        filters=filters,
        results=results,
        error=error,
        papers=paper_flow.visible_papers(current_user),
        organisations=organisations,
        kind_labels=KIND_LABELS,
        state_labels=labels.PAPER_STATUS,
        hit_url=hit_url,
    )
