"""API route of the full-text search across the papers the token's user may see."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from drafting.api import api_user, bp
from drafting.search.views import hit_url, read_filters
from workflows import search as flow


@bp.get("/search")
def search() -> Response:
    """Search section texts, titles, comments, suggestions and (on request) older versions."""
    query, filters, page = read_filters(request.args)
    found = flow.search(api_user(), query, filters, page)
    return jsonify(
        {
            "total": found.total,
            "results": [
                {
                    "kind": hit.kind,
                    "paper_id": hit.paper_id,
                    "section_id": hit.section_id,
                    "title": hit.title,
                    "snippet": hit.snippet_html,
                    "url": hit_url(hit),
                    "score": hit.score,
                }
                for hit in found.hits
            ],
        }
    )
