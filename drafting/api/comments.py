"""API routes of comments: list and add on a section, resolve and reopen threads.

Anchors are offsets in the section's *current* Markdown body (``GET /sections/<id>``
returns it); ``anchor`` is null when the comment quotes nothing or its passage changed.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from drafting.api import api_user, body_json, bp
from drafting.models import Comment
from workflows import comments as flow
from workflows import sections as section_flow
from workflows.errors import ValidationFailed


def comment_json(comment: Comment, state: flow.AnchorState) -> dict[str, Any]:
    """Serialise a comment; a deleted one keeps its place but loses its text."""
    deleted = comment.deleted_at is not None
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author": comment.author.display_name,
        "body": "" if deleted else comment.body,
        "quote": "" if deleted else comment.quote,
        "created_at": comment.created_at.isoformat(),
        "edited": comment.edited_at is not None,
        "deleted": deleted,
        "resolved": comment.resolved_at is not None,
        "anchor": {"start": state.start, "end": state.end} if state.anchor else None,
        "passage_changed": state.passage_changed,
    }


def _optional_string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"'{key}' must be a string", field=key)
    return value


@bp.get("/sections/<int:section_id>/comments")
def list_comments(section_id: int) -> Response:
    """List a section's comments, oldest first, with their anchors in the current text."""
    section, _access = section_flow.get_section(api_user(), section_id)
    comments = flow.section_comments(section.id)
    states = flow.anchors_for([c for c in comments if c.parent_id is None], section)
    return jsonify(
        {"comments": [comment_json(c, states.get(c.id, flow.NO_ANCHOR)) for c in comments]}
    )


@bp.post("/sections/<int:section_id>/comments")
def add_comment(section_id: int) -> tuple[Response, int]:
    """Comment on a section, on a quoted passage of it, or reply to a comment."""
    data = body_json()
    if not isinstance(data.get("body"), str):
        raise ValidationFailed("'body' (a string) is required", field="body")
    parent_id = data.get("parent_id")
    if parent_id is not None and (isinstance(parent_id, bool) or not isinstance(parent_id, int)):
        raise ValidationFailed("'parent_id' must be an integer", field="parent_id")
    comment = flow.add_comment(
        api_user(),
        section_id,
        data["body"],
        quote=_optional_string(data, "quote"),
        parent_id=parent_id,
    )
    section, _access = section_flow.get_section(api_user(), comment.section_id)
    return jsonify(comment_json(comment, flow.anchor_state(comment, section))), 201


def _answer(comment: Comment) -> Response:
    section, _access = section_flow.get_section(api_user(), comment.section_id)
    return jsonify(comment_json(comment, flow.anchor_state(comment, section)))


@bp.post("/comments/<int:comment_id>/resolve")
def resolve_comment(comment_id: int) -> Response:
    """Mark a thread as resolved (idempotent)."""
    return _answer(flow.resolve_comment(api_user(), comment_id))


@bp.post("/comments/<int:comment_id>/reopen")
def reopen_comment(comment_id: int) -> Response:
    """Open a resolved thread again (idempotent)."""
    return _answer(flow.reopen_comment(api_user(), comment_id))
