"""API route of the full-text search across the papers the token's user may see."""

from __future__ import annotations

from flask import request

from drafting.api import api_user, bp, schemas
from drafting.search.views import hit_url, read_filters
from workflows import search as flow


@bp.get("/search")
@schemas.endpoint(answer=(200, schemas.SearchResults))
def search() -> schemas.SearchResults:
    """Search section texts, titles, comments, suggestions and (on request) older versions."""
    query, filters, page = read_filters(request.args)  # shared with the search page
    found = flow.search(api_user(), query, filters, page)
    return schemas.SearchResults(
        total=found.total,
        results=[
            schemas.SearchHit.model_validate(
                {
                    "kind": hit.kind,  # a str here; the model holds it to the five kinds
                    "paper_id": hit.paper_id,
                    "section_id": hit.section_id,
                    "title": hit.title,
                    "snippet": hit.snippet_html,
                    "url": hit_url(hit),
                    "score": hit.score,
                }
            )
            for hit in found.hits
        ],
    )
