"""API routes of Word exports and imports."""

from __future__ import annotations

from flask import Response, request

from drafting.api import api_user, bp, schemas
from drafting.export_pages.views import export_json, send_export
from drafting.inputs import bounded_int
from exports import importing, jobs
from workflows.errors import ValidationFailed
from workflows.uow import unit_of_work


@bp.post("/papers/<int:paper_id>/exports")
@schemas.endpoint(json=schemas.NewExport, body="optional", answer=(202, schemas.QueuedExport))
def create_export(paper_id: int) -> tuple[schemas.QueuedExport, int]:
    """Queue a Word export of a paper (an edition or the working draft), or the PDF/A of an
    edition (``"format": "pdf"``)."""
    data = schemas.body(schemas.NewExport)
    export = jobs.request_export(
        api_user(),
        paper_id,
        edition=data.edition,
        redline_against=data.redline_against,
        comments=data.comments,
        fmt=data.format,
    )
    return schemas.QueuedExport(id=export.id, status=export.status.value), 202


@bp.get("/exports/<int:export_id>")
@schemas.endpoint(answer=(200, schemas.Export))
def get_export(export_id: int) -> schemas.Export:
    """Return an export's state and progress."""
    # The export page's polling shares the serialiser; the model holds it to the schema.
    return schemas.Export.model_validate(export_json(jobs.get_export(api_user(), export_id)))


@bp.get("/exports/<int:export_id>/download")
def download_export(export_id: int) -> Response:
    """Download the finished .docx (or .pdf)."""
    return send_export(jobs.get_export(api_user(), export_id))


@bp.post("/imports")
@schemas.endpoint(answer={200: schemas.Import, 201: schemas.Import})
def create_import() -> tuple[schemas.Import, int]:
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
    answer = schemas.Import(
        paper_id=result.paper_id,
        sections=result.sections,
        suggestions=result.suggestions,
        suggestion_ids=list(result.suggestion_ids),
        dry_run=dry_run,
        report=schemas.ImportReport.model_validate(result.report.as_json()),
    )
    return answer, 200 if dry_run else 201
