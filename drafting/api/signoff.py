"""API routes of the sign-off round and the editions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, request

from drafting.api import api_user, body_json, bp
from drafting.models import Edition
from workflows import papers as paper_flow
from workflows import signoff as flow
from workflows.errors import ValidationFailed


def edition_json(found: Edition, *, texts: bool = False) -> dict[str, Any]:
    """Serialise an edition, optionally with its section texts."""
    data: dict[str, Any] = {
        "number": found.number,
        "label": found.label,
        "hash": found.content_hash,
        "status": found.status.value,
        "created_at": found.created_at.isoformat(),
        "deadline": found.deadline.isoformat() if found.deadline else None,
    }
    if texts:
        data["sections"] = [
            {
                "section_id": e.section_id,
                "version": e.version.number,
                "title": e.version.title,
                "level": e.version.level,
                "body": e.version.body,
            }
            for e in found.entries
        ]
    return data


def round_json(paper_id: int) -> dict[str, Any]:
    """Serialise the paper's current round with each organisation's decision."""
    access = paper_flow.get_paper(api_user(), paper_id)
    found = flow.current_edition(access.paper)
    body: dict[str, Any] = {
        "status": access.paper.status.value,
        "edition": None,
        "organisations": [],
    }
    if found is not None:
        body["edition"] = edition_json(found)
        body["organisations"] = [
            {
                "organisation": r.short_name,
                "name": r.name,
                "decision": r.decision.decision.value if r.decision else None,
                "note": r.decision.note if r.decision else None,
                "signatory": r.decision.user.email if r.decision else None,
                "decided_at": r.decision.decided_at.isoformat() if r.decision else None,
                "edition_hash": r.decision.edition_hash if r.decision else None,
                "overdue": r.overdue,
            }
            for r in flow.matrix(paper_id, found)
        ]
    return body


@bp.post("/papers/<int:paper_id>/signoff")
def start_signoff(paper_id: int) -> tuple[Response, int]:
    """Freeze an edition and open the sign-off round (409 lists unapproved sections)."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be a JSON object")
    label = data.get("label") or ""
    if not isinstance(label, str):
        raise ValidationFailed("'label' must be a string", field="label")
    deadline = None
    if data.get("deadline"):
        try:
            deadline = date.fromisoformat(str(data["deadline"]))
        except ValueError:
            raise ValidationFailed(
                "'deadline' must be a date YYYY-MM-DD", field="deadline"
            ) from None
    found = flow.start(api_user(), paper_id, label=label, deadline=deadline)
    return jsonify({"edition": edition_json(found)}), 201


@bp.get("/papers/<int:paper_id>/signoff")
def get_signoff(paper_id: int) -> Response:
    """Return the round with each organisation's decision."""
    return jsonify(round_json(paper_id))


@bp.post("/papers/<int:paper_id>/signoff/decisions")
def decide(paper_id: int) -> Response:
    """Record the caller's organisation's decision."""
    data = body_json()
    decision = data.get("decision")
    note = data.get("note") or ""
    edition_hash = data.get("edition_hash")
    if not isinstance(decision, str) or not isinstance(note, str):
        raise ValidationFailed("'decision' and 'note' must be strings", field="decision")
    if edition_hash is not None and not isinstance(edition_hash, str):
        raise ValidationFailed("'edition_hash' must be a string", field="edition_hash")
    flow.decide(api_user(), paper_id, decision, note, edition_hash=edition_hash)
    return jsonify(round_json(paper_id))


@bp.post("/papers/<int:paper_id>/signoff/cancel")
def cancel(paper_id: int) -> Response:
    """Cancel the open round; the paper returns to drafting."""
    flow.cancel(api_user(), paper_id)
    return jsonify(round_json(paper_id))


@bp.get("/papers/<int:paper_id>/editions")
def list_editions(paper_id: int) -> Response:
    """List the paper's editions, newest first."""
    paper_flow.get_paper(api_user(), paper_id)
    return jsonify({"editions": [edition_json(e) for e in flow.editions(paper_id)]})


@bp.get("/papers/<int:paper_id>/editions/<int:number>")
def get_edition(paper_id: int, number: int) -> Response:
    """Return one edition with its section texts and its hash."""
    _access, found = flow.edition(api_user(), paper_id, number)
    return jsonify(edition_json(found, texts=True))
