"""Review, suggestions and the activity log: three page modules on one ``review`` blueprint."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__)

# The page modules register their routes on ``bp`` when imported.
from drafting.review import activity, suggestions, views  # noqa: E402, F401
