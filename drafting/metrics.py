"""Prometheus metrics at ``/metrics``, reachable only from ``METRICS_ALLOWED_NETWORKS``.

Counted in the web processes: requests by endpoint, method and status with their latency,
section saves by outcome (saved or conflict: the conflict rate), security events (failed
logins …, counted from the ``konzeptwerk.security`` logger). Read at scrape time from Redis
and the database, so they are right whichever process did the work: job queue lengths,
failed and scheduled jobs per queue, exports by status and export durations.

Under gunicorn, every worker process counts for itself; ``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` so a scrape of any worker adds up all of them (prometheus_client's
multiprocess mode). Active sessions are not counted: sessions are signed cookies, nothing on
the server knows them.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

bp = Blueprint("metrics", __name__)

REQUESTS = Counter(
    "konzeptwerk_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "konzeptwerk_http_request_duration_seconds",
    "Time to answer a request, by endpoint and status.",
    ["endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SAVES = Counter(
    "konzeptwerk_section_saves_total",
    "Section saves by outcome: saved (also after a clean merge) or conflict.",
    ["outcome"],
)
SECURITY_EVENTS = Counter(
    "konzeptwerk_security_events_total",
    "Security events (konzeptwerk.security logger), e.g. login_failed.",
    ["event"],
)
# The endpoints that save a section's text; a 409 there is an edit conflict.
SAVE_ENDPOINTS = frozenset({"sections.save", "sections.resolve", "api.save_section"})
EXPORT_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

DEFAULT_NETWORKS = "127.0.0.0/8,::1/128"


class SecurityEventCounter(logging.Handler):
    """Count the records of the security logger by their ``event``."""

    def emit(self, record: logging.LogRecord) -> None:
        SECURITY_EVENTS.labels(str(getattr(record, "event", None) or "other")).inc()


class StateCollector(Collector):
    """Job queues (Redis) and exports (database), read when Prometheus scrapes."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        yield from self._exports()
        yield from self._sessions()

    def _sessions(self) -> Iterator[Metric]:
        from datetime import timedelta

        from sqlalchemy import func, select

        from drafting.extensions import db
        from drafting.models import LoginSession, utcnow

        now = utcnow()
        idle = timedelta(seconds=int(self.app.config["SESSION_IDLE_TIMEOUT"]))
        lifetime = timedelta(seconds=int(self.app.config["SESSION_LIFETIME"]))
        with self.app.app_context():
            try:
                active = db.session.scalar(
                    select(func.count())
                    .select_from(LoginSession)
                    .where(
                        LoginSession.ended_at.is_(None),
                        LoginSession.last_seen_at > now - idle,
                        LoginSession.created_at > now - lifetime,
                    )
                )
            except Exception:
                db.session.rollback()
                self.app.logger.exception("metrics: cannot count the login sessions")
                return
            finally:
                db.session.remove()
        gauge = GaugeMetricFamily(
            "konzeptwerk_active_sessions",
            "Logins not ended, used within the idle timeout and younger than the lifetime.",
        )
        gauge.add_metric([], active or 0)
        yield gauge

    def _queues(self) -> Iterator[Metric]:
        url = self.app.config.get("REDIS_URL")
        if not url:
            return
        from rq import Queue
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry

        from workflows.jobs import QUEUES, redis_connection

        length = GaugeMetricFamily(
            "konzeptwerk_job_queue_length", "Jobs waiting in an rq queue.", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "konzeptwerk_job_failed", "Failed jobs kept in a queue's registry.", labels=["queue"]
        )
        scheduled = GaugeMetricFamily(
            "konzeptwerk_job_scheduled", "Jobs waiting for a retry or a time.", labels=["queue"]
        )
        up = GaugeMetricFamily("konzeptwerk_redis_up", "1 when Redis answered this scrape.")
        try:
            connection = redis_connection(str(url))
            for name in QUEUES:
                queue = Queue(name, connection=connection)
                length.add_metric([name], queue.count)
                failed.add_metric([name], FailedJobRegistry(queue=queue).count)
                scheduled.add_metric([name], ScheduledJobRegistry(queue=queue).count)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (length, failed, scheduled, up)

    def _exports(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from drafting.extensions import db
        from drafting.models import Export, ExportStatus

        by_status = GaugeMetricFamily(
            "konzeptwerk_exports", "Word exports kept, by status.", labels=["status"]
        )
        with self.app.app_context():
            try:
                rows = db.session.execute(
                    select(Export.status, func.count()).group_by(Export.status)
                ).all()
                counts = {status: number for status, number in rows}
                spans = db.session.execute(
                    select(Export.started_at, Export.finished_at).where(
                        Export.status == ExportStatus.DONE,
                        Export.started_at.is_not(None),
                        Export.finished_at.is_not(None),
                    )
                ).all()
            except Exception:
                db.session.rollback()
                self.app.logger.exception("metrics: cannot read the exports")
                return
            finally:
                db.session.remove()
        for status in ExportStatus:
            by_status.add_metric([status.value], counts.get(status, 0))
        yield by_status
        durations = [(end - start).total_seconds() for start, end in spans if start and end]
        buckets = [(str(b), sum(1 for d in durations if d <= b)) for b in EXPORT_BUCKETS]
        buckets.append(("+Inf", len(durations)))
        histogram = HistogramMetricFamily(
            "konzeptwerk_export_duration_seconds",
            "Time from start to finish of the Word exports kept (done).",
        )
        histogram.add_metric([], buckets, sum_value=sum(durations))
        yield histogram


def _networks(app: Flask) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = str(app.config.get("METRICS_ALLOWED_NETWORKS") or DEFAULT_NETWORKS)
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part]


def allowed(app: Flask, address: str | None) -> bool:
    """Tell whether a client address may read the metrics."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in app.extensions["konzeptwerk_metrics_networks"])


@bp.get("/metrics")
def metrics() -> Response:
    """Serve the metrics in Prometheus' text format to allowed networks (else 404)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Forwarded by a proxy whose headers the app does not apply (no trusted proxies set): the
    # address seen is the proxy's own, likely loopback, and says nothing about the client.
    unresolved = "X-Forwarded-For" in request.headers and (
        "werkzeug.proxy_fix.orig" not in request.environ
    )
    if unresolved or not allowed(app, request.remote_addr):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    state = CollectorRegistry()
    state.register(StateCollector(app))
    body = generate_latest(counted) + generate_latest(state)
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Count every request; serve /metrics."""
    app.extensions["konzeptwerk_metrics_networks"] = _networks(app)
    security = logging.getLogger("konzeptwerk.security")
    if not any(isinstance(h, SecurityEventCounter) for h in security.handlers):
        security.addHandler(SecurityEventCounter())
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        started: Any = g.get("metrics_started")
        if started is None or request.endpoint == "metrics.metrics":
            return response
        endpoint = request.endpoint or "unmatched"
        status = str(response.status_code)
        REQUESTS.labels(endpoint, request.method, status).inc()
        LATENCY.labels(endpoint, status).observe(time.perf_counter() - started)
        if endpoint in SAVE_ENDPOINTS and request.method in ("POST", "PUT"):
            if response.status_code == 409:
                SAVES.labels("conflict").inc()
            elif response.status_code < 400:
                SAVES.labels("saved").inc()
        return response
