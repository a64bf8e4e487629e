"""API routes of section review, suggestions and the activity log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from drafting.api import api_user, bp, review_fields, schemas
from drafting.extensions import db
from drafting.models import ActivityEntry, Suggestion
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import ValidationFailed
from workflows.sections import get_section


@bp.post("/sections/<int:section_id>/submit")
@schemas.endpoint(json=schemas.Submit, body="optional", answer=(200, schemas.ReviewState))
def submit(section_id: int) -> schemas.ReviewState:
    """Submit a section's current version for review."""
    data = schemas.body(schemas.Submit)
    review_flow.submit(api_user(), section_id, reviewers=data.reviewers, due=data.due)
    return schemas.ReviewState(section_id=section_id, **review_fields(section_id))


@bp.post("/sections/<int:section_id>/reviews")
@schemas.endpoint(json=schemas.Review, answer=(200, schemas.ReviewState))
def review(section_id: int) -> schemas.ReviewState:
    """Approve a version or send the section back."""
    data = schemas.body(schemas.Review)
    decide = review_flow.approve if data.decision == "approve" else review_flow.request_changes
    decide(api_user(), section_id, data.version, data.comment or "")
    return schemas.ReviewState(section_id=section_id, **review_fields(section_id))


def suggestion_fields(item: Suggestion) -> dict[str, Any]:
    """Return the fields of a suggestion's schema."""
    return {
        "id": item.id,
        "kind": item.kind.value,
        "section_id": item.section_id,
        "title": item.title,
        "level": item.level,
        "after_section_id": item.after_section_id,
        "author": item.author.display_name,
        "base_version": item.base_version,
        "body": item.body,
        "note": item.note,
        "status": item.status.value,
        "reason": item.reason,
        "result_version": item.result_version,
        "created_at": item.created_at,
    }


@bp.post("/sections/<int:section_id>/suggestions")
@schemas.endpoint(json=schemas.NewSuggestion, answer=(201, schemas.Suggestion))
def create_suggestion(section_id: int) -> tuple[schemas.Suggestion, int]:
    """Propose a new text for a section."""
    data = schemas.body(schemas.NewSuggestion)
    item = suggestion_flow.create_suggestion(
        api_user(), section_id, body=data.body, base_version=data.base_version, note=data.note or ""
    )
    return schemas.Suggestion(**suggestion_fields(item)), 201


@bp.get("/sections/<int:section_id>/suggestions")
@schemas.endpoint(answer=(200, schemas.SuggestionList))
def list_suggestions(section_id: int) -> schemas.SuggestionList:
    """List a section's suggestions."""
    get_section(api_user(), section_id)
    return schemas.SuggestionList(
        suggestions=[
            schemas.Suggestion(**suggestion_fields(s))
            for s in suggestion_flow.for_section(section_id)
        ]
    )


@bp.get("/suggestions/<int:suggestion_id>")
@schemas.endpoint(answer=(200, schemas.SuggestionWithChanges))
def get_suggestion(suggestion_id: int) -> schemas.SuggestionWithChanges:
    """Return a suggestion with its changes against the version it was based on."""
    item = suggestion_flow.get_suggestion(api_user(), suggestion_id)
    return schemas.SuggestionWithChanges(
        **suggestion_fields(item),
        changes=[
            schemas.SuggestionChange.model_validate(change.as_json())
            for change in suggestion_flow.changes_of(item)
        ],
        decided_changes=item.decided_changes,
    )


@bp.post("/suggestions/<int:suggestion_id>/accept")
@schemas.endpoint(
    json=schemas.AcceptChoice, body="lenient", answer=(200, schemas.AcceptedSuggestion)
)
def accept_suggestion(suggestion_id: int) -> schemas.AcceptedSuggestion:
    """Accept a suggestion; 409 edit_conflict when it clashes with later changes.

    No body (or one without "changes") accepts every change, as before; with ``changes`` only
    those. With ``body`` and ``base_version`` (the version it was combined against) an editor
    resolves a conflict, as on the conflict page; a body other than the suggestion's is theirs.
    """
    data = schemas.body(schemas.AcceptChoice)
    if data.body is not None and data.base_version is None:
        raise ValidationFailed("'base_version' (an integer) is required", field="base_version")
    if data.body is not None and data.changes is not None:
        raise ValidationFailed("Send either 'changes' or 'body', not both", field="changes")
    result = suggestion_flow.accept(
        api_user(),
        suggestion_id,
        changes=data.changes,
        resolved_body=data.body,
        resolved_base=data.base_version,
    )
    item = suggestion_flow.get_suggestion(api_user(), suggestion_id)
    decided = item.decided_changes or {}
    all_ids = decided.get("accepted", []) + decided.get("rejected", [])
    if not decided:
        all_ids = [change.id for change in suggestion_flow.changes_of(item)]
    return schemas.AcceptedSuggestion(
        **suggestion_fields(item),
        version=result.version,
        merged=result.merged,
        accepted=decided.get("accepted", all_ids),
        rejected=decided.get("rejected", []),
    )


@bp.post("/suggestions/<int:suggestion_id>/reject")
@schemas.endpoint(json=schemas.Rejection, answer=(200, schemas.Suggestion))
def reject_suggestion(suggestion_id: int) -> schemas.Suggestion:
    """Reject a suggestion with a reason."""
    data = schemas.body(schemas.Rejection)
    item = suggestion_flow.reject(api_user(), suggestion_id, data.reason)
    return schemas.Suggestion(**suggestion_fields(item))


@bp.get("/papers/<int:paper_id>/activity")
@schemas.endpoint(answer=(200, schemas.ActivityLog))
def activity(paper_id: int) -> schemas.ActivityLog:
    """Return the paper's activity log, oldest first, with its hash chain."""
    paper_flow.get_paper(api_user(), paper_id)
    entries = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.paper_id == paper_id).order_by(ActivityEntry.seq)
    )
    return schemas.ActivityLog(
        entries=[
            schemas.ActivityEntry(
                seq=e.seq,
                time=e.created_at,
                actor=e.actor.email if e.actor else None,
                action=e.action,
                section_id=e.section_id,
                version=e.version,
                details=e.details,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in entries
        ]
    )
