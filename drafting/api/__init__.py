"""The JSON API under /api/v1, authenticated with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from drafting.errors import json_error
from drafting.extensions import db
from drafting.models import Paper, ReviewStatus, Section, SectionVersion, User
from drafting.text import textdiff
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows.errors import NotFound, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def authenticate() -> Response | None:
    """Require a valid bearer token; session cookies are not accepted here."""
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return json_error("unauthorized", "send Authorization: Bearer <token>", 401)
    from workflows.accounts import user_for_token

    user = user_for_token(token.strip())
    if user is None:
        return json_error("unauthorized", "the token is unknown, revoked or its user inactive", 401)
    g.api_user = user
    return None


def api_user() -> User:
    """Return the user the request's token belongs to."""
    user: User = g.api_user
    return user


def body_json() -> dict[str, Any]:
    """Return the request's JSON object.

    :raises BadRequest: when the body is not a JSON object (answered with 400, not 422:
        the request is malformed, not merely unacceptable).
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def _string(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"'{key}' must be a string", field=key)
    return value


def paper_json(paper: Paper, *, full: bool = True) -> dict[str, Any]:
    """Serialise a paper."""
    data: dict[str, Any] = {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.summary,
        "status": paper.status.value,
        "lead_organisation": paper.lead_organisation.short_name,
        "updated_at": paper.updated_at.isoformat(),
    }
    if full:
        data["participants"] = sorted(p.organisation.short_name for p in paper.participants)
        data["sections"] = [
            {
                "id": s.id,
                "title": s.title,
                "level": s.level,
                "position": index,
                "version": s.version,
            }
            for index, s in enumerate(section_flow.list_sections(paper.id), start=1)
        ]
    return data


def section_json(section: Section) -> dict[str, Any]:
    """Serialise a section with its current text."""
    head = section.head
    assert head is not None
    return {
        "id": section.id,
        "paper_id": section.paper_id,
        "title": head.title,
        "level": head.level,
        "body": head.body,
        "version": head.number,
        "removed": section.removed_at is not None,
        "updated_at": head.created_at.isoformat(),
        "updated_by": head.author.display_name,
        **review_fields(section.id),
    }


def review_fields(section_id: int) -> dict[str, Any]:
    """Return a section's review state and approved version for its JSON."""
    status = db.session.get(ReviewStatus, section_id)
    if status is None:
        return {"review_state": "draft", "approved_version": None, "approval_carried_to": None}
    return {
        "review_state": status.state.value,
        "approved_version": status.approved_version,
        "approval_carried_to": status.carried_to,
    }


def version_json(version: SectionVersion, *, body: bool = True) -> dict[str, Any]:
    """Serialise one version of a section."""
    data: dict[str, Any] = {
        "number": version.number,
        "title": version.title,
        "level": version.level,
        "author": version.author.display_name,
        "coauthor": version.coauthor.display_name if version.coauthor else None,
        "created_at": version.created_at.isoformat(),
        "note": version.note,
        "merged_with": version.merged_with,
        "restored_from": version.restored_from,
    }
    if body:
        data["body"] = version.body
    return data


@bp.get("/papers")
def list_papers() -> Response:
    """List the papers the caller may see."""
    papers = paper_flow.visible_papers(api_user())
    return jsonify({"papers": [paper_json(p, full=False) for p in papers]})


@bp.post("/papers")
def create_paper() -> tuple[Response, int]:
    """Create a paper led by the caller's organisation."""
    data = body_json()
    paper = paper_flow.create_paper(
        api_user(), _string(data, "title"), _string(data, "summary", required=False)
    )
    return jsonify(paper_json(paper)), 201


@bp.get("/papers/<int:paper_id>")
def get_paper(paper_id: int) -> Response:
    """Return a paper with its participants and sections."""
    access = paper_flow.get_paper(api_user(), paper_id)
    return jsonify(paper_json(access.paper))


@bp.post("/papers/<int:paper_id>/participants")
def add_participant(paper_id: int) -> tuple[Response, int]:
    """Add a participating organisation by its short name."""
    data = body_json()
    paper_flow.add_participant(api_user(), paper_id, _string(data, "organisation"))
    access = paper_flow.get_paper(api_user(), paper_id)
    return jsonify(paper_json(access.paper)), 201


@bp.post("/papers/<int:paper_id>/roles")
def grant_role(paper_id: int) -> tuple[Response, int]:
    """Give a user of a participating organisation a role on the paper."""
    data = body_json()
    granted = paper_flow.grant_role(
        api_user(), paper_id, _string(data, "email"), _string(data, "role")
    )
    return jsonify({"id": granted.id, "email": granted.user.email, "role": granted.role.value}), 201


@bp.post("/papers/<int:paper_id>/sections")
def create_section(paper_id: int) -> tuple[Response, int]:
    """Add a section at the end of a paper."""
    data = body_json()
    section = section_flow.add_section(
        api_user(),
        paper_id,
        title=_string(data, "title"),
        level=data.get("level", 1),
        body=_string(data, "body", required=False),
        note=_string(data, "note", required=False),
    )
    return jsonify(section_json(section)), 201


def _visible_section(section_id: int) -> Section:
    section, _access = section_flow.get_section(api_user(), section_id)
    return section


@bp.get("/sections/<int:section_id>")
def get_section(section_id: int) -> Response:
    """Return a section with its current text."""
    return jsonify(section_json(_visible_section(section_id)))


@bp.put("/sections/<int:section_id>")
def save_section(section_id: int) -> Response:
    """Save a section's text against a base version, merging where others saved meanwhile."""
    data = body_json()
    if (
        "base_version" not in data
        or isinstance(data["base_version"], bool)
        or not isinstance(data["base_version"], int)
    ):
        raise ValidationFailed("'base_version' (an integer) is required", field="base_version")
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise ValidationFailed("'title' must be a string", field="title")
    result = section_flow.save_section(
        api_user(),
        section_id,
        body=_string(data, "body"),
        base_version=data["base_version"],
        title=title,
        level=data.get("level"),
        note=_string(data, "note", required=False),
        editorial=data.get("editorial") is True,
    )
    payload = section_json(result.section)
    # The save committed, so section.head reloads as whatever is newest *now* — possibly a
    # later save from another worker. Answer with the text of the version this save made (or
    # found current): a client that bases its next edit on this answer needs number and text
    # of the same version.
    saved = section_flow.version_of(result.section.id, result.version)
    assert saved is not None
    payload.update(
        {
            "title": saved.title,
            "level": saved.level,
            "body": saved.body,
            "updated_at": saved.created_at.isoformat(),
            "updated_by": saved.author.display_name,
            "version": result.version,
            "merged": result.merged,
            "merged_with": result.merged_with,
            "created": result.created,
        }
    )
    return jsonify(payload)


@bp.get("/sections/<int:section_id>/versions")
def list_versions(section_id: int) -> Response:
    """List a section's versions, newest first (without their texts)."""
    section = _visible_section(section_id)
    return jsonify(
        {"versions": [version_json(v, body=False) for v in section_flow.history(section.id)]}
    )


@bp.get("/sections/<int:section_id>/versions/<int:number>")
def get_version(section_id: int, number: int) -> Response:
    """Return one version of a section with its text."""
    section = _visible_section(section_id)
    version = section_flow.version_of(section.id, number)
    if version is None:
        raise NotFound("version not found")
    return jsonify(version_json(version))


@bp.get("/sections/<int:section_id>/diff")
def diff(section_id: int) -> Response:
    """Return the word-level diff of two versions as operations and as HTML."""
    section = _visible_section(section_id)
    # ``type=int`` is bounded (drafting.inputs): an out-of-range number is not a version.
    first = request.args.get("from", type=int)
    second = request.args.get("to", type=int)
    if first is None or second is None:
        raise ValidationFailed("'from' and 'to' must be version numbers")
    old = section_flow.version_of(section.id, first)
    new = section_flow.version_of(section.id, second)
    if old is None or new is None:
        raise NotFound("version not found")
    ops = textdiff.diff_ops(old.body, new.body)
    return jsonify(
        {
            "from": first,
            "to": second,
            "ops": [[op, text] for op, text in ops],
            "html": str(textdiff.inline_html(ops)),
        }
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3 description of this API."""
    from drafting.api.openapi import SPEC

    return jsonify(SPEC)


# Route modules of later features register on the same blueprint (the usual Flask layout).
from drafting.api import comments, exports, notifications, review, search, signoff  # noqa: E402,F401
