"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

The app is loaded once in the master and its start-up heap frozen before workers fork: full
garbage collections then skip the app, SQLAlchemy and Babel's locale data, which keeps the
p95 of big pages close to their p50 (see bench/README.md).
"""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
preload_app = True
timeout = 60
accesslog = "-"


def when_ready(server):  # noqa: ANN001, ARG001 — gunicorn's hook signature
    """Freeze the preloaded heap so forked workers do not rescan it."""
    gc.collect()
    gc.freeze()
