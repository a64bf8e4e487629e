"""One place that turns refusals into HTTP answers, as HTML pages or JSON errors."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from drafting.extensions import db
from drafting.logs import loggable_path
from workflows.errors import WorkflowError


def wants_json() -> bool:
    """Tell whether the client should get a JSON error rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def json_error(code: str, message: str, status: int, /, **extra: Any) -> Response:
    """Build the API's error body ``{"error": {"code", "message"}, ...}``.

    The first three are positional-only, so that an error's extra keys may use their names
    (a paper_locked error carries the paper's ``status``).
    """
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood"),
        401: _("Please log in"),
        403: _("You may not do this"),
        404: _("Not found"),
        405: _("This action is not possible here"),
        409: _("This is not possible in the current state"),
        413: _("Too large"),
        422: _("The input is not valid"),
        429: _("Too many attempts"),
        500: _("Something went wrong"),
        503: _("Briefly unavailable"),
    }


def _page(status: int, message: str) -> tuple[str, int]:
    title = _titles().get(status, _("Error"))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(WorkflowError)
    def workflow_error(err: WorkflowError) -> Any:
        db.session.rollback()
        if wants_json():
            response = json_error(err.code, err.message, err.status, **err.extra)
        else:
            response = make_response(_page(err.status, err.message))
        if "retry_after" in err.extra:
            response.headers["Retry-After"] = str(err.extra["retry_after"])
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> Any:
        if wants_json():
            return json_error("csrf_failed", err.description or "CSRF check failed", 400)
        return _page(
            400,
            _(
                "The form has expired. Please go back, reload the page and "
                "send it again; your input is still in the form."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 500
        if wants_json():
            return json_error(HTTP_CODES.get(status, "error"), err.description or "", status)
        message = {
            404: _("The page does not exist, or you may not see it."),
            413: _("The upload or text is larger than allowed."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }.get(status, "")
        return _page(status, message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(err: Exception) -> Any:
        # The database restarts, fails over or is locked: a clear, retryable answer rather
        # than a 500. Whether the request's last commit went through cannot be known here.
        app.logger.warning(
            "database unavailable in %s %s: %s", request.method, loggable_path(request.path), err
        )
        try:
            db.session.rollback()
        except Exception:  # noqa: S110  # nosec B110 # the connection is gone; answer anyway
            pass
        message = _(
            "The database is briefly unavailable. Please try again in a moment; what you "
            "typed is still in the form."
        )
        if wants_json():
            response = json_error("service_unavailable", message, 503)
        else:
            response = make_response(_page(503, message))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        app.logger.exception(
            "unhandled error in %s %s", request.method, loggable_path(request.path)
        )
        db.session.rollback()
        if wants_json():
            return json_error("internal_error", "internal error", 500)
        return _page(500, _("Please try again. If it happens again, tell the administrator."))
