"""The interactive API reference: Swagger UI from the ``swagger-ui-bundle-v2`` package.

Swagger UI's script and style sheet are served from the installed package (no CDN); the page
starts it with ``static/api-docs.js`` (no inline script, see :mod:`drafting.security`). It
reads the same document as integrators, ``/api/v1/openapi.json``. The page and its files
need no token, like the document itself.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")

# Only what the page loads; everything else in the package stays unserved.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


@bp.get("")
def page() -> str:
    """Show the API reference."""
    return render_template("api/docs.html")


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    """Serve one of Swagger UI's files from the installed package."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name)
