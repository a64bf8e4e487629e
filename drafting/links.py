"""Links to pages, built from what a notification points at (the web layer's half of it).

``workflows`` stores a target kind and ids with each notification; the pages here are the only
place that knows which URL shows them, for the inbox, the API and the e-mail alike.
"""

from __future__ import annotations

from flask import current_app

from drafting.models import Notification
from workflows.notifications import Target, is_local_url


def path_for(endpoint: str, anchor: str = "", **values: object) -> str:
    """Return the path of a page inside the application, with or without a request."""
    # The URL map builds paths without a request (jobs, the CLI) and without SERVER_NAME.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return f"{path}#{anchor}" if anchor else path


def _by_target(n: Notification) -> str:
    target, ident = n.target, n.target_id
    if target == Target.COMMENT and n.section_id is not None and ident is not None:
        return path_for("comments.discussion", f"comment-{ident}", section_id=n.section_id)
    if target == Target.SUGGESTION and ident is not None:
        return path_for("review.suggestion", suggestion_id=ident)
    if n.paper_id is None:
        return ""
    if target == Target.SIGNOFF:
        return path_for("signoff.show", paper_id=n.paper_id)
    if target == Target.EDITION and ident is not None:
        return path_for("signoff.edition", paper_id=n.paper_id, number=ident)
    return ""


def notification_path(n: Notification) -> str:
    """Return the local path a notification leads to (its target, else its section or paper)."""
    found = _by_target(n)
    if found:
        return found
    if n.url and is_local_url(n.url):  # links stored before targets, or passed explicitly
        return n.url
    if n.paper_id is None:
        return path_for("inbox.index")
    if n.section_id is not None:
        return path_for("papers.show", f"section-{n.section_id}", paper_id=n.paper_id)
    return path_for("papers.show", paper_id=n.paper_id)


def absolute(path: str) -> str:
    """Turn a local path into an absolute link with the configured ``BASE_URL``."""
    base = str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return base + path


def notification_url(n: Notification) -> str:
    """Return the absolute link of a notification (API, e-mail)."""
    return absolute(notification_path(n))
