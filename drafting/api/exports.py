"""API routes of Word exports."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from drafting.api import api_user, bp
from drafting.export_pages.views import export_json, send_export
from drafting.inputs import bounded_int
from exports import importing, jobs
from workflows.errors import ValidationFailed
from workflows.uow import unit_of_work


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"'{key}' must be an edition number", field=key)
    return value


@bp.post("/papers/<int:paper_id>/exports")
def create_export(paper_id: int) -> tuple[Response, int]:
    """Queue a Word export of a paper (an edition or the working draft), or the PDF/A of an
    edition (``"format": "pdf"``)."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be a JSON object")
    comments = data.get("comments", False)
    if not isinstance(comments, bool):
        raise ValidationFailed("'comments' must be true or false", field="comments")
    fmt = data.get("format", "docx")
    if not isinstance(fmt, str) or fmt not in jobs.FORMATS:
        raise ValidationFailed('\'format\' must be "docx" or "pdf"', field="format")
    export = jobs.request_export(
        api_user(),
        paper_id,
        edition=_optional_int(data, "edition"),
        redline_against=_optional_int(data, "redline_against"),
        comments=comments,
        fmt=fmt,
    )
    return jsonify({"id": export.id, "status": export.status.value}), 202


@bp.get("/exports/<int:export_id>")
def get_export(export_id: int) -> Response:
    """Return an export's state and progress."""
    return jsonify(export_json(jobs.get_export(api_user(), export_id)))


@bp.get("/exports/<int:export_id>/download")
def download_export(export_id: int) -> Response:
    """Download the finished .docx (or .pdf)."""
    return send_export(jobs.get_export(api_user(), export_id))


@bp.post("/imports")
def create_import() -> tuple[Response, int]:
    """Import a .docx (multipart ``file``) as a new paper or as suggestions into ``paper_id``.

    ``dry_run=true`` answers 200 with the report and writes nothing.
    """
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("send the .docx as multipart form field 'file'", field="file")
    raw_paper = request.form.get("paper_id")
    paper_id = None
    if raw_paper:
        if not raw_paper.isdigit():
            raise ValidationFailed("'paper_id' must be a number", field="paper_id")
        paper_id = bounded_int(raw_paper)  # 400 for an id no column could hold
    raw_dry = (request.form.get("dry_run") or "false").strip().lower()
    if raw_dry not in ("true", "false", "1", "0"):
        raise ValidationFailed("'dry_run' must be true or false", field="dry_run")
    dry_run = raw_dry in ("true", "1")
    with unit_of_work():  # the import's one transaction (a dry run writes nothing)
        result = importing.import_docx(
            api_user(),
            upload.read(),
            paper_id=paper_id,
            dry_run=dry_run,
            filename=upload.filename or "",
        )
    body = {
        "paper_id": result.paper_id,
        "sections": result.sections,
        "suggestions": result.suggestions,
        "suggestion_ids": list(result.suggestion_ids),
        "dry_run": dry_run,
        "report": result.report.as_json(),
    }
    return jsonify(body), 200 if dry_run else 201
