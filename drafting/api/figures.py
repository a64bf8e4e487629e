"""API routes of figures: upload an image to a paper, fetch a figure's image."""

from __future__ import annotations

from flask import Response, request

from drafting.api import api_user, bp, schemas
from drafting.figure_pages import send_figure
from workflows import figures as figure_flow
from workflows.errors import ValidationFailed


@bp.post("/papers/<int:paper_id>/figures")
@schemas.endpoint(answer=(201, schemas.Figure))
def create_figure(paper_id: int) -> tuple[schemas.Figure, int]:
    """Upload an image (multipart ``file``, optional ``caption``) as a figure of the paper."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(
            "send the image as multipart form field 'file' (PNG, JPEG or SVG)", field="file"
        )
    caption = request.form.get("caption", "")
    figure = figure_flow.add_figure(
        api_user(), paper_id, data=upload.read(), filename=upload.filename or "", caption=caption
    )
    return schemas.Figure(id=figure.id, markdown=figure_flow.figure_markdown(figure)), 201


@bp.get("/figures/<int:figure_id>")
def get_figure(figure_id: int) -> Response:
    """Return a figure's image (PNG or JPEG); 404 for figures of papers the caller cannot see."""
    return send_figure(figure_id, api_user())
