"""Pages of Word exports: request, progress, download, history."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import BooleanField, SelectField, SubmitField

from drafting.export_pages.forms import ConfirmImportForm, ImportForm, TemplateForm
from drafting.forms import options
from drafting.models import Export, ExportStatus
from exports import importing, jobs, reference
from workflows import papers as paper_flow
from workflows import signoff as signoff_flow
from workflows.errors import WorkflowError
from workflows.uow import unit_of_work

bp = Blueprint("exporting", __name__)


class ExportForm(FlaskForm):
    edition = SelectField(_l("What to export"))
    redline_against = SelectField(_l("Show changes against (tracked changes)"))
    comments = BooleanField(_l("Include open comments as Word comments"))
    format = SelectField(_l("Format"), default="docx")
    submit = SubmitField(_l("Create document"))


def _form(paper_id: int) -> ExportForm:
    form = ExportForm()
    editions = signoff_flow.editions(paper_id)
    word = _("edition")
    form.edition.choices = options(
        [("", _("Current working draft"))]
        + [(str(e.number), f"{e.label} ({word} {e.number})") for e in editions]
    )
    form.format.choices = options(
        [
            ("docx", _("Word document (.docx)")),
            ("pdf", _("PDF/A for the records (editions only)")),
        ]
    )
    form.redline_against.choices = options(
        [("", _("No comparison"))]
        + [(str(e.number), f"{e.label} ({word} {e.number})") for e in editions]
    )
    return form


def export_json(export: Export) -> dict[str, Any]:
    """Serialise an export's state."""
    data = {
        "id": export.id,
        "status": export.status.value,
        "progress": export.progress,
        "options": export.options,
        "size": export.size,
        "filename": export.filename,
        "created_at": export.created_at.isoformat(),
    }
    if export.error:
        data["error"] = export.error
    if export.status == ExportStatus.DONE:
        data["download"] = url_for("exporting.download", export_id=export.id)
    return data


@bp.route("/papers/<int:paper_id>/exports", methods=["GET", "POST"])
@login_required
def index(paper_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Offer the Word export of a paper and list its past exports."""
    access = paper_flow.get_paper(current_user, paper_id)
    form = _form(paper_id)
    status = 200
    if form.validate_on_submit():
        try:
            export = jobs.request_export(
                current_user,
                paper_id,
                edition=int(form.edition.data) if form.edition.data else None,
                redline_against=int(form.redline_against.data)
                if form.redline_against.data
                else None,
                comments=bool(form.comments.data),
                fmt=form.format.data or "docx",
            )
        except WorkflowError as err:
            if err.status == 404:
                raise
            form.edition.errors = [*form.edition.errors, err.message]
            status = err.status
        else:
            return redirect(url_for("exporting.show", export_id=export.id))
    return render_template(
        "exporting/index.html", paper=access.paper, form=form, exports=jobs.history(paper_id)
    ), status


@bp.get("/exports/<int:export_id>")
@login_required
def show(export_id: int) -> str:
    """Show an export's progress, then its download link."""
    export = jobs.get_export(current_user, export_id)
    access = paper_flow.get_paper(current_user, export.paper_id)
    return render_template("exporting/show.html", export=export, paper=access.paper)


@bp.get("/exports/<int:export_id>/status")
@login_required
def status(export_id: int) -> Response:
    """Return an export's state as JSON (polled by the progress bar)."""
    return jsonify(export_json(jobs.get_export(current_user, export_id)))


@bp.get("/exports/<int:export_id>/download")
@login_required
def download(export_id: int) -> Response:
    """Download the finished .docx."""
    export = jobs.get_export(current_user, export_id)
    return send_export(export)


def send_export(export: Export) -> Response:
    """Answer with the export's file, or 409 while it is not done."""
    if export.status != ExportStatus.DONE or export.content is None:
        abort(409)
    pdf = (export.options or {}).get("format") == "pdf"
    response = Response(
        export.content,
        mimetype="application/pdf"
        if pdf
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Content-Length"] = str(export.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _import_page(form: ImportForm, paper: object | None, status: int = 200) -> tuple[str, int]:
    return render_template("exporting/import.html", form=form, paper=paper), status


_PENDING_SECONDS = 3600


def _pending_dir() -> Path:
    folder = Path(current_app.instance_path) / "pending-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep_pending(data: bytes) -> str:
    """Keep an uploaded file for the confirmation step; return its token (one hour)."""
    folder = _pending_dir()
    now = time.time()
    for old in folder.glob("*.docx"):
        if now - old.stat().st_mtime > _PENDING_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{current_user.id}-{token}.docx").write_bytes(data)
    return token


def _take_pending(token: str) -> bytes | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
        return None
    path = _pending_dir() / f"{current_user.id}-{token}.docx"
    if not path.is_file() or time.time() - path.stat().st_mtime > _PENDING_SECONDS:
        return None
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return data


@bp.route("/papers/import", methods=["GET", "POST"])
@login_required
def import_new() -> WerkzeugResponse | tuple[str, int]:
    """Create a new paper from a Word document."""
    paper_flow.require_paper_creation(current_user)
    return _import(None)


@bp.route("/papers/<int:paper_id>/import", methods=["GET", "POST"])
@login_required
def import_into(paper_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Append the sections of a Word document to a paper."""
    paper_flow.get_paper(current_user, paper_id)
    return _import(paper_id)


def _import(paper_id: int | None) -> WerkzeugResponse | tuple[str, int]:
    """Upload → (when something would be lost) a preview with the report → import."""
    paper = paper_flow.get_paper(current_user, paper_id).paper if paper_id else None
    form = ImportForm()
    confirm = ConfirmImportForm()
    filename = ""
    if request.method == "POST" and "token" in request.form:
        if not confirm.validate_on_submit():
            abort(400)
        data = _take_pending(confirm.token.data or "")
        filename = confirm.filename.data or ""
        if data is None:
            form.file.errors = [_("The preview has expired. Please choose the file again.")]
            return _import_page(form, paper, 422)
        preview = False
    elif request.method == "POST":
        if not form.validate_on_submit():
            return _import_page(form, paper, 422)
        data = form.file.data.read()
        filename = form.file.data.filename or ""
        preview = True
    else:
        return _import_page(form, paper)
    try:
        if preview:
            dry = importing.import_docx(
                current_user, data, paper_id=paper_id, dry_run=True, filename=filename
            )
            if dry.report.lost:
                confirm.token.data = _keep_pending(data)
                confirm.filename.data = filename[:200]
                return render_template(
                    "exporting/import_report.html",
                    paper=paper,
                    report=dry.report,
                    preview=True,
                    form=confirm,
                    result=dry,
                ), 200
        with unit_of_work():  # the import's one transaction
            result = importing.import_docx(current_user, data, paper_id=paper_id, filename=filename)
    except WorkflowError as err:
        if err.status == 404:
            raise
        form.file.errors = [*form.file.errors, err.message]
        return _import_page(form, paper, err.status)
    suggestions = ngettext("%(num)d suggestion", "%(num)d suggestions", result.suggestions)
    flash(
        # Into a paper nothing is applied: every change of the file (text, tracked changes,
        # headings) becomes a suggestion.
        _("%(suggestions)s made from the changes in the file.", suggestions=suggestions)
        if paper_id is not None
        else _(
            "Imported %(sections)s and %(suggestions)s from tracked changes.",
            sections=ngettext("%(num)d section", "%(num)d sections", result.sections),
            suggestions=suggestions,
        ),
        "success",
    )
    if result.report.lost or result.report.comments or paper_id is not None:
        return render_template(
            "exporting/import_report.html",
            paper=paper,
            report=result.report,
            preview=False,
            form=None,
            result=result,
        ), 200
    return redirect(url_for("papers.show", paper_id=result.paper_id))


@bp.route("/admin/templates", methods=["GET", "POST"])
@login_required
def templates() -> WerkzeugResponse | tuple[str, int]:
    """Let administrators upload the reference .docx whose styles exports use."""
    if not current_user.is_admin:
        abort(403)
    form = TemplateForm()
    status = 200
    if form.validate_on_submit():
        try:
            reference.upload(current_user, form.name.data or "", form.file.data.read())
        except WorkflowError as err:
            form.file.errors = [*form.file.errors, err.message]
            status = err.status
        else:
            flash(_("The reference document is used for exports from now on."), "success")
            return redirect(url_for("exporting.templates"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "exporting/templates.html", form=form, items=reference.listing(), action_form=FlaskForm()
    ), status


@bp.post("/admin/templates/<int:template_id>/activate")
@login_required
def activate_template(template_id: int) -> WerkzeugResponse:
    """Use another reference document, or none (id 0), for exports."""
    if not current_user.is_admin:
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    reference.activate(template_id)
    flash(_("Saved."), "success")
    return redirect(url_for("exporting.templates"))
