"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

``GUNICORN_BIND`` (default ``127.0.0.1:8000``: only the reverse proxy on the same host reaches
it; ``0.0.0.0:8000`` or a unix socket ``unix:/run/konzeptwerk/web.sock`` otherwise) and
``GUNICORN_WORKERS`` (default 4; about 2 per core) are the knobs; see docs/operations.md.
With ``LOG_FORMAT=json`` the app writes its own request lines (with request id, user and
duration), so gunicorn's access log is off; set ``GUNICORN_ACCESSLOG=-`` to have both.

The app is loaded once in the master and its start-up heap frozen before workers fork: full
garbage collections then skip the app, SQLAlchemy and Babel's locale data, which keeps the
p95 of big pages close to their p50 (see bench/README.md).
"""

import gc
import os
import re
import tempfile
from pathlib import Path

from gunicorn import glogging

# Metrics of all worker processes add up at /metrics (prometheus_client's multiprocess mode):
# each process writes its counters into this folder. Set before the app (and
# prometheus_client) is imported; emptied when gunicorn starts.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = tempfile.mkdtemp(prefix="konzeptwerk-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
preload_app = True
timeout = 60
_json = os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "" if _json else "-") or None


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, with the tokens of one-time links (invitations, password resets)
    replaced in access-log lines, as the app's own request log does (drafting.logs)."""

    _secret = re.compile(r"(/invitation/|/password/reset/)[^/ ?]+")

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 — gunicorn's
        found = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(found.get(key), str):
                found[key] = self._secret.sub(r"\1[redacted]", found[key])
        return found


logger_class = RedactingLogger
# Long enough for the requests in flight to finish on a restart (SIGTERM), see
# docs/operations.md, "Rolling restart".
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))


def when_ready(server):  # noqa: ANN001, ARG001 — gunicorn's hook signature
    """Freeze the preloaded heap so forked workers do not rescan it."""
    gc.collect()
    gc.freeze()


def on_starting(server):  # noqa: ANN001, ARG001 — gunicorn's hook signature
    """Forget the metrics of an earlier run."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):  # noqa: ANN001, ARG001 — gunicorn's hook signature
    """Stop counting a finished worker's live gauges (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ARG001 — gunicorn's hook signature
    """Remove the metrics folder this configuration created."""
    if _own_metrics_dir:
        import shutil

        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
