"""The JSON API under /api/v1, authenticated with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from werkzeug.wrappers import Response

from drafting import presence
from drafting.api import schemas
from drafting.errors import json_error
from drafting.extensions import db
from drafting.models import Paper, ReviewStatus, Section, SectionVersion, User
from drafting.text import textdiff
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows.errors import NotFound

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


def summary_model(paper: Paper) -> schemas.PaperSummary:
    """Return a paper's summary as its schema."""
    return schemas.PaperSummary(
        id=paper.id,
        title=paper.title,
        summary=paper.summary,
        status=paper.status.value,
        lead_organisation=paper.lead_organisation.short_name,
        updated_at=paper.updated_at,
        language=paper.language,
    )


def paper_model(paper: Paper) -> schemas.Paper:
    """Return a paper with its participants and sections as its schema."""
    return schemas.Paper(
        **summary_model(paper).model_dump(),
        participants=sorted(p.organisation.short_name for p in paper.participants),
        sections=[
            schemas.SectionSummary(
                id=s.id, title=s.title, level=s.level, position=index, version=s.version
            )
            for index, s in enumerate(section_flow.list_sections(paper.id), start=1)
        ],
    )


def section_model(section: Section) -> schemas.Section:
    """Return a section with its current text as its schema."""
    head = section.head
    assert head is not None
    return schemas.Section(
        id=section.id,
        paper_id=section.paper_id,
        title=head.title,
        level=head.level,
        body=head.body,
        version=head.number,
        removed=section.removed_at is not None,
        updated_at=head.created_at,
        updated_by=head.author.display_name,
        **review_fields(section.id),
    )


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


def version_fields(version: SectionVersion) -> dict[str, Any]:
    """Return the fields of a version without its text."""
    return {
        "number": version.number,
        "title": version.title,
        "level": version.level,
        "author": version.author.display_name,
        "coauthor": version.coauthor.display_name if version.coauthor else None,
        "created_at": version.created_at,
        "note": version.note,
        "merged_with": version.merged_with,
        "restored_from": version.restored_from,
    }


@bp.get("/papers")
@schemas.endpoint(answer=(200, schemas.PaperList))
def list_papers() -> schemas.PaperList:
    """List the papers the caller may see."""
    papers = paper_flow.visible_papers(api_user())
    return schemas.PaperList(papers=[summary_model(p) for p in papers])


@bp.post("/papers")
@schemas.endpoint(json=schemas.NewPaper, answer=(201, schemas.Paper))
def create_paper() -> tuple[schemas.Paper, int]:
    """Create a paper led by the caller's organisation."""
    data = schemas.body(schemas.NewPaper)
    paper = paper_flow.create_paper(api_user(), data.title, data.summary or "", data.language)
    return paper_model(paper), 201


@bp.get("/papers/<int:paper_id>")
@schemas.endpoint(answer=(200, schemas.Paper))
def get_paper(paper_id: int) -> schemas.Paper:
    """Return a paper with its participants and sections."""
    access = paper_flow.get_paper(api_user(), paper_id)
    return paper_model(access.paper)


@bp.post("/papers/<int:paper_id>/participants")
@schemas.endpoint(json=schemas.NewParticipant, answer=(201, schemas.Paper))
def add_participant(paper_id: int) -> tuple[schemas.Paper, int]:
    """Add a participating organisation by its short name."""
    data = schemas.body(schemas.NewParticipant)
    paper_flow.add_participant(api_user(), paper_id, data.organisation)
    access = paper_flow.get_paper(api_user(), paper_id)
    return paper_model(access.paper), 201


@bp.post("/papers/<int:paper_id>/roles")
@schemas.endpoint(json=schemas.NewRole, answer=(201, schemas.Role))
def grant_role(paper_id: int) -> tuple[schemas.Role, int]:
    """Give a user of a participating organisation a role on the paper."""
    data = schemas.body(schemas.NewRole)
    granted = paper_flow.grant_role(api_user(), paper_id, data.email, data.role)
    return schemas.Role(id=granted.id, email=granted.user.email, role=granted.role.value), 201


@bp.post("/papers/<int:paper_id>/sections")
@schemas.endpoint(json=schemas.NewSection, answer=(201, schemas.Section))
def create_section(paper_id: int) -> tuple[schemas.Section, int]:
    """Add a section at the end of a paper."""
    data = schemas.body(schemas.NewSection)
    section = section_flow.add_section(
        api_user(),
        paper_id,
        title=data.title,
        level=data.level,
        body=data.body or "",
        note=data.note or "",
    )
    return section_model(section), 201


def _visible_section(section_id: int) -> Section:
    section, _access = section_flow.get_section(api_user(), section_id)
    return section


@bp.get("/sections/<int:section_id>")
@schemas.endpoint(answer=(200, schemas.Section))
def get_section(section_id: int) -> schemas.Section:
    """Return a section with its current text."""
    return section_model(_visible_section(section_id))


@bp.put("/sections/<int:section_id>")
@schemas.endpoint(json=schemas.SaveSection, answer=(200, schemas.Saved))
def save_section(section_id: int) -> schemas.Saved:
    """Save a section's text against a base version, merging where others saved meanwhile."""
    data = schemas.body(schemas.SaveSection)
    result = section_flow.save_section(
        api_user(),
        section_id,
        body=data.body,
        base_version=data.base_version,
        title=data.title,
        level=data.level,
        note=data.note or "",
        editorial=data.editorial is True,
    )
    # The save committed, so section.head reloads as whatever is newest *now* — possibly a
    # later save from another worker. Answer with the text of the version this save made (or
    # found current): a client that bases its next edit on this answer needs number and text
    # of the same version.
    saved = section_flow.version_of(result.section.id, result.version)
    assert saved is not None
    current = section_model(result.section).model_dump()
    current.update(
        title=saved.title,
        level=saved.level,
        body=saved.body,
        updated_at=saved.created_at,
        updated_by=saved.author.display_name,
        version=result.version,
    )
    return schemas.Saved(
        **current, merged=result.merged, merged_with=result.merged_with, created=result.created
    )


@bp.get("/sections/<int:section_id>/versions")
@schemas.endpoint(answer=(200, schemas.VersionList))
def list_versions(section_id: int) -> schemas.VersionList:
    """List a section's versions, newest first (without their texts)."""
    section = _visible_section(section_id)
    return schemas.VersionList(
        versions=[
            schemas.VersionSummary(**version_fields(v)) for v in section_flow.history(section.id)
        ]
    )


@bp.get("/sections/<int:section_id>/versions/<int:number>")
@schemas.endpoint(answer=(200, schemas.Version))
def get_version(section_id: int, number: int) -> schemas.Version:
    """Return one version of a section with its text."""
    section = _visible_section(section_id)
    version = section_flow.version_of(section.id, number)
    if version is None:
        raise NotFound("version not found")
    return schemas.Version(**version_fields(version), body=version.body)


@bp.get("/sections/<int:section_id>/diff")
@schemas.endpoint(query=schemas.DiffQuery, answer=(200, schemas.Diff))
def diff(section_id: int) -> schemas.Diff:
    """Return the word-level diff of two versions as operations and as HTML."""
    section = _visible_section(section_id)
    asked = schemas.query(schemas.DiffQuery)
    old = section_flow.version_of(section.id, asked.first)
    new = section_flow.version_of(section.id, asked.second)
    if old is None or new is None:
        raise NotFound("version not found")
    ops = textdiff.diff_ops(old.body, new.body)
    return schemas.Diff.model_validate(
        {
            "from": asked.first,
            "to": asked.second,
            "ops": [[op, text] for op, text in ops],
            "html": str(textdiff.inline_html(ops)),
        }
    )


def _presence(head_version: int, others: list[presence.Entry]) -> schemas.Presence:
    return schemas.Presence(
        head_version=head_version,
        others=[
            schemas.PresenceEntry(
                name=entry.name,
                organisation=entry.organisation,
                editing=entry.editing,
                since=entry.since,
            )
            for entry in others
        ],
    )


@bp.get("/sections/<int:section_id>/presence")
@schemas.endpoint(answer=(200, schemas.Presence))
def get_presence(section_id: int) -> schemas.Presence:
    """Return who else has the section open, without registering the caller."""
    place = presence.visit(api_user(), section_id)
    return _presence(
        place.head.number, presence.others(api_user(), place.paper_id, place.section_id)
    )


@bp.post("/sections/<int:section_id>/presence")
@schemas.endpoint(json=schemas.PresenceBeat, answer=(200, schemas.Presence))
def heartbeat(section_id: int) -> schemas.Presence:
    """Register the caller on the section for the next 30 seconds; return who else is there."""
    data = schemas.body(schemas.PresenceBeat)
    place = presence.visit(api_user(), section_id)
    others = presence.heartbeat(api_user(), place, editing=data.editing)
    return _presence(place.head.number, others)


@bp.delete("/sections/<int:section_id>/presence")
@schemas.endpoint(answer=(200, schemas.Presence))
def leave(section_id: int) -> schemas.Presence:
    """Remove the caller's presence on the section at once."""
    place = presence.visit(api_user(), section_id)
    presence.leave(api_user(), place)
    return _presence(
        place.head.number, presence.others(api_user(), place.paper_id, place.section_id)
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3 description of this API."""
    from drafting.api.openapi import SPEC

    return jsonify(SPEC)


# Route modules of later features register on the same blueprint (the usual Flask layout).
from drafting.api import (  # noqa: E402,F401
    accounts,
    comments,
    exports,
    figures,
    notifications,
    review,
    search,
    signoff,
)
