"""The activity log pages of a paper: the filterable timeline and its CSV download."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import Select

from drafting import activitylog
from drafting.extensions import db
from drafting.review import bp
from drafting.review.forms import ActivityFilterForm
from workflows import actions as action_registry
from workflows import activity as activity_log
from workflows import papers as paper_flow
from workflows import sections as section_flow


def _activity_query(paper_id: int, form: ActivityFilterForm) -> Select[Any]:
    return activity_log.entries_query(
        paper_id, action=form.action.data, section_id=form.section.data, person=form.person.data
    )


@bp.get("/papers/<int:paper_id>/activity")
@login_required
def activity(paper_id: int) -> str:
    """Show the paper's activity log as a filterable timeline."""
    access = paper_flow.get_paper(current_user, paper_id)
    form = ActivityFilterForm(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    entries = db.paginate(_activity_query(paper_id, form), page=page, per_page=50, error_out=False)
    titles = _section_titles(paper_id)
    actions = activity_log.actions_used(paper_id)
    return render_template(
        "review/activity.html",
        paper=access.paper,
        entries=entries,
        titles=titles,
        form=form,
        actions=action_registry.choices(actions),
        describe=activitylog.describe,
    )


def _section_titles(paper_id: int) -> dict[int, str]:
    return section_flow.head_titles(paper_id)


@bp.get("/papers/<int:paper_id>/activity.csv")
@login_required
def activity_csv(paper_id: int) -> Response:
    """Download the (filtered) activity log as CSV."""
    paper_flow.get_paper(current_user, paper_id)
    form = ActivityFilterForm(request.args)
    titles = _section_titles(paper_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "seq",
            "time_utc",
            "actor",
            "action",
            "what",
            "section_id",
            "section",
            "version",
            "details",
            "hash",
        ]
    )
    for e in db.session.scalars(_activity_query(paper_id, form)):
        writer.writerow(
            [
                e.seq,
                e.created_at.isoformat(),
                _csv_safe(e.actor.email) if e.actor else "",  # "=1+2@example.org" is valid
                e.action,
                _csv_safe(activitylog.describe(e, titles)),
                e.section_id or "",
                _csv_safe(titles.get(e.section_id or 0, "")),
                e.version or "",
                _csv_safe(str(e.details or {})),
                e.hash,
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="protokoll-{paper_id}.csv"'},
    )


def _csv_safe(value: str) -> str:
    # Spreadsheet programs execute cells starting with these characters as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
