"""API routes of the sign-off round and the editions."""

from __future__ import annotations

from typing import Any

from drafting.api import api_user, bp, schemas
from drafting.models import Edition
from workflows import papers as paper_flow
from workflows import signoff as flow


def edition_fields(found: Edition) -> dict[str, Any]:
    """Return the fields of an edition's schema (without its texts)."""
    return {
        "number": found.number,
        "label": found.label,
        "hash": found.content_hash,
        "status": found.status.value,
        "created_at": found.created_at,
        "deadline": found.deadline,
    }


def edition_model(found: Edition) -> schemas.Edition:
    """Return an edition without its texts as its schema."""
    return schemas.Edition(**edition_fields(found))


def texts_model(found: Edition) -> schemas.EditionWithTexts:
    """Return an edition with its section texts as its schema."""
    return schemas.EditionWithTexts(
        **edition_fields(found),
        sections=[
            schemas.EditionText(
                section_id=e.section_id,
                version=e.version.number,
                title=e.version.title,
                level=e.version.level,
                body=e.version.body,
            )
            for e in found.entries
        ],
    )


def round_model(paper_id: int) -> schemas.Round:
    """Return the paper's current round with each organisation's decision."""
    access = paper_flow.get_paper(api_user(), paper_id)
    found = flow.current_edition(access.paper)
    if found is None:
        return schemas.Round(status=access.paper.status.value, edition=None, organisations=[])
    return schemas.Round(
        status=access.paper.status.value,
        edition=edition_model(found),
        organisations=[
            schemas.OrganisationDecision(
                organisation=r.short_name,
                name=r.name,
                decision=r.decision.decision.value if r.decision else None,
                note=r.decision.note if r.decision else None,
                signatory=r.decision.user.email if r.decision else None,
                decided_at=r.decision.decided_at if r.decision else None,
                edition_hash=r.decision.edition_hash if r.decision else None,
                overdue=r.overdue,
            )
            for r in flow.matrix(paper_id, found)
        ],
    )


@bp.post("/papers/<int:paper_id>/signoff")
@schemas.endpoint(json=schemas.StartSignoff, body="optional", answer=(201, schemas.SignoffStarted))
def start_signoff(paper_id: int) -> tuple[schemas.SignoffStarted, int]:
    """Freeze an edition and open the sign-off round (409 lists unapproved sections)."""
    data = schemas.body(schemas.StartSignoff)
    found = flow.start(api_user(), paper_id, label=data.label, deadline=data.deadline)
    return schemas.SignoffStarted(edition=edition_model(found)), 201


@bp.get("/papers/<int:paper_id>/signoff")
@schemas.endpoint(answer=(200, schemas.Round))
def get_signoff(paper_id: int) -> schemas.Round:
    """Return the round with each organisation's decision."""
    return round_model(paper_id)


@bp.post("/papers/<int:paper_id>/signoff/decisions")
@schemas.endpoint(json=schemas.Decision, answer=(200, schemas.Round))
def decide(paper_id: int) -> schemas.Round:
    """Record the caller's organisation's decision."""
    data = schemas.body(schemas.Decision)
    flow.decide(
        api_user(), paper_id, data.decision, data.note or "", edition_hash=data.edition_hash
    )
    return round_model(paper_id)


@bp.post("/papers/<int:paper_id>/signoff/cancel")
@schemas.endpoint(answer=(200, schemas.Round))
def cancel(paper_id: int) -> schemas.Round:
    """Cancel the open round; the paper returns to drafting."""
    flow.cancel(api_user(), paper_id)
    return round_model(paper_id)


@bp.get("/papers/<int:paper_id>/editions")
@schemas.endpoint(answer=(200, schemas.EditionList))
def list_editions(paper_id: int) -> schemas.EditionList:
    """List the paper's editions, newest first."""
    paper_flow.get_paper(api_user(), paper_id)
    return schemas.EditionList(editions=[edition_model(e) for e in flow.editions(paper_id)])


@bp.get("/papers/<int:paper_id>/editions/<int:number>")
@schemas.endpoint(answer=(200, schemas.EditionWithTexts))
def get_edition(paper_id: int, number: int) -> schemas.EditionWithTexts:
    """Return one edition with its section texts and its hash."""
    _access, found = flow.edition(api_user(), paper_id, number)
    return texts_model(found)
