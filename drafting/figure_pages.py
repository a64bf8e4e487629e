"""Figures on the web: the authorised image route and the upload from the section editor.

``GET /figures/<id>`` serves a figure's stored (re-encoded) image to members of its paper;
everyone else gets 404, as for the paper itself. ``POST /sections/<id>/figures`` uploads an
image from the edit page: with JavaScript (``figures.js``) it answers JSON and the script
inserts the Markdown at the cursor; without, the whole edit form is posted and the page comes
back with the figure's Markdown added to the text, so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from drafting.errors import wants_json
from drafting.sections.forms import SectionForm
from workflows import figures as figure_flow
from workflows import sections as section_flow
from workflows.errors import ValidationFailed, WorkflowError

bp = Blueprint("figures", __name__)


def send_figure(figure_id: int, user: Any) -> Response:
    """Answer with a figure's image, or 404 for a figure the user may not see."""
    figure = figure_flow.get_figure(user, figure_id)
    response = Response(figure.content, mimetype=figure.media_type)
    response.headers["Content-Length"] = str(figure.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    # Figures never change (a new image is a new figure); access may, so: private, an hour.
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["ETag"] = f'"{figure.digest}"'
    return response


@bp.get("/figures/<int:figure_id>")
@login_required
def image(figure_id: int) -> Response:
    """Serve a figure's image to members of its paper."""
    return send_figure(figure_id, current_user)


@bp.post("/sections/<int:section_id>/figures")
@login_required
def upload(section_id: int) -> Any:
    """Store an uploaded image as a figure of the section's paper and place it in the text."""
    section, access = section_flow.get_section(current_user, section_id, include_removed=False)
    form = SectionForm()  # CSRF is checked for every POST by CSRFProtect
    upload_file = request.files.get("figure")
    caption = request.form.get("figure_caption", "")
    try:
        if upload_file is None or not upload_file.filename:
            raise ValidationFailed(_("Choose an image file."), field="figure")
        figure = figure_flow.add_figure(
            current_user,
            access.paper,
            data=upload_file.read(),
            filename=upload_file.filename,
            caption=caption,
        )
    except WorkflowError as err:
        if wants_json() or err.status == 404:
            raise
        return _edit_page(section, access.paper, form, err.message, caption), err.status
    markdown = figure_flow.figure_markdown(figure, caption)
    if wants_json():
        return jsonify({"id": figure.id, "markdown": markdown}), 201
    body = (form.body.data or "").rstrip()
    form.body.data = f"{body}\n\n{markdown}\n" if body else f"{markdown}\n"
    return _edit_page(section, access.paper, form, None, "", added=markdown), 201


def _edit_page(
    section: Any, paper: Any, form: SectionForm, error: str | None, caption: str, added: str = ""
) -> str:
    # The edit form's own fields come back exactly as posted (plus the figure's line).
    return render_template(
        "sections/edit.html",
        form=form,
        section=section,
        paper=paper,
        draft=None,
        discard_form=FlaskForm(),
        figure_error=error,
        figure_caption=caption,
        figure_added=added,
        paper_figures=figure_flow.paper_figures(current_user, paper.id),
    )
