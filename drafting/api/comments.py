"""API routes of comments: list and add on a section, resolve and reopen threads.

Anchors are offsets in the section's *current* Markdown body (``GET /sections/<id>``
returns it); ``anchor`` is null when the comment quotes nothing or its passage changed.
"""

from __future__ import annotations

from drafting.api import api_user, bp, schemas
from drafting.models import Comment
from workflows import comments as flow
from workflows import sections as section_flow


def comment_model(comment: Comment, state: flow.AnchorState) -> schemas.Comment:
    """Return a comment as its schema; a deleted one keeps its place but loses its text."""
    deleted = comment.deleted_at is not None
    return schemas.Comment(
        id=comment.id,
        parent_id=comment.parent_id,
        author=comment.author.display_name,
        body="" if deleted else comment.body,
        quote="" if deleted else comment.quote,
        created_at=comment.created_at,
        edited=comment.edited_at is not None,
        deleted=deleted,
        resolved=comment.resolved_at is not None,
        anchor=(
            schemas.Anchor(start=state.start, end=state.end)
            if state.anchor and state.start is not None and state.end is not None
            else None
        ),
        passage_changed=state.passage_changed,
    )


@bp.get("/sections/<int:section_id>/comments")
@schemas.endpoint(answer=(200, schemas.CommentList))
def list_comments(section_id: int) -> schemas.CommentList:
    """List a section's comments, oldest first, with their anchors in the current text."""
    section, _access = section_flow.get_section(api_user(), section_id)
    comments = flow.section_comments(section.id)
    states = flow.anchors_for([c for c in comments if c.parent_id is None], section)
    return schemas.CommentList(
        comments=[comment_model(c, states.get(c.id, flow.NO_ANCHOR)) for c in comments]
    )


@bp.post("/sections/<int:section_id>/comments")
@schemas.endpoint(json=schemas.NewComment, answer=(201, schemas.Comment))
def add_comment(section_id: int) -> tuple[schemas.Comment, int]:
    """Comment on a section, on a quoted passage of it, or reply to a comment."""
    data = schemas.body(schemas.NewComment)
    comment = flow.add_comment(
        api_user(), section_id, data.body, quote=data.quote or "", parent_id=data.parent_id
    )
    section, _access = section_flow.get_section(api_user(), comment.section_id)
    return comment_model(comment, flow.anchor_state(comment, section)), 201


def _answer(comment: Comment) -> schemas.Comment:
    section, _access = section_flow.get_section(api_user(), comment.section_id)
    return comment_model(comment, flow.anchor_state(comment, section))


@bp.post("/comments/<int:comment_id>/resolve")
@schemas.endpoint(answer=(200, schemas.Comment))
def resolve_comment(comment_id: int) -> schemas.Comment:
    """Mark a thread as resolved (idempotent)."""
    return _answer(flow.resolve_comment(api_user(), comment_id))


@bp.post("/comments/<int:comment_id>/reopen")
@schemas.endpoint(answer=(200, schemas.Comment))
def reopen_comment(comment_id: int) -> schemas.Comment:
    """Open a resolved thread again (idempotent)."""
    return _answer(flow.reopen_comment(api_user(), comment_id))
