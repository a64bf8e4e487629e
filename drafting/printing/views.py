"""Print views: documents without navigation, with print CSS for A4 paper or a PDF."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from drafting.models import utcnow
from drafting.text.outline import heading_numbers
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

bp = Blueprint("printing", __name__)


@bp.get("/papers/<int:paper_id>/print")
@login_required
def paper(paper_id: int) -> str:
    """Show the whole paper, its current text, laid out for printing."""
    access = paper_flow.get_paper(current_user, paper_id)
    versions = [s.head for s in section_flow.list_sections(paper_id) if s.head is not None]
    return render_template(
        "printing/paper.html",
        paper=access.paper,
        edition=None,
        sections=list(zip(heading_numbers(v.level for v in versions), versions, strict=True)),
        printed_on=utcnow(),
    )


@bp.get("/papers/<int:paper_id>/editions/<int:number>/print")
@login_required
def edition(paper_id: int, number: int) -> str:
    """Show the text of an edition (Gesamtfassung) laid out for printing."""
    access, found = signoff_flow.edition(current_user, paper_id, number)
    versions = [e.version for e in found.entries]
    return render_template(
        "printing/paper.html",
        paper=access.paper,
        edition=found,
        sections=list(zip(heading_numbers(v.level for v in versions), versions, strict=True)),
        printed_on=utcnow(),
    )


@bp.get("/papers/<int:paper_id>/editions/<int:number>/record/print")
@login_required
def record(paper_id: int, number: int) -> str:
    """Show the record of sign-off of an edition laid out for printing."""
    access, found = signoff_flow.edition(current_user, paper_id, number)
    return render_template(
        "printing/record.html",
        paper=access.paper,
        edition=found,
        rows=signoff_flow.matrix(paper_id, found),
        sections=[e.version for e in found.entries],
        printed_on=utcnow(),
    )
