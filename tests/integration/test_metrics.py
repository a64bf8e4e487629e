"""``/metrics`` in Prometheus' text format, only for allowed networks: requests by endpoint
and status with latency, save conflicts, failed logins, job queues and export durations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue
from werkzeug.middleware.proxy_fix import ProxyFix

from drafting.extensions import db
from drafting.models import Export, ExportStatus, utcnow
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import isolated_client, login


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_endpoint_and_status(app: Flask, client: FlaskClient) -> None:
    before = scrape(client)
    client.get("/login")
    client.get("/no-such-page")
    after = scrape(client)
    name = "konzeptwerk_http_requests_total"
    login = {"endpoint": "auth.login", "method": "GET", "status": "200"}
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(after, name, **login) - value(before, name, **login) == 1
    assert value(after, name, **missing) - value(before, name, **missing) == 1
    count = "konzeptwerk_http_request_duration_seconds_count"
    labels = {"endpoint": "auth.login", "status": "200"}
    assert value(after, count, **labels) - value(before, count, **labels) == 1


def test_only_allowed_networks_may_read(app: Flask, client: FlaskClient) -> None:
    outside = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    # Through a proxy whose headers the app does not apply, the address means nothing.
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404

    app.extensions["konzeptwerk_metrics_networks"] = []
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8"
    from drafting.metrics import _networks

    app.extensions["konzeptwerk_metrics_networks"] = _networks(app)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_trusted_proxy_resolves_the_client(app: Flask, client: FlaskClient) -> None:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=forwarded).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_failed_logins_and_save_conflicts_are_counted(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    before = scrape(client)
    client.post("/login", data={"email": world.editor.email, "password": "wrong-password"})
    editor = api_headers(factories.token(world.editor))
    coordinator = api_headers(factories.token(world.coordinator))
    url = f"/api/v1/sections/{world.section.id}"
    saved = client.put(url, json={"body": "Ganz anderer Text.", "base_version": 1}, headers=editor)
    assert saved.status_code == 200
    conflict = client.put(
        url, json={"body": "Noch ein Text.", "base_version": 1}, headers=coordinator
    )
    assert conflict.status_code == 409
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("konzeptwerk_security_events_total", event="login_failed") == 1
    assert delta("konzeptwerk_section_saves_total", outcome="saved") == 1
    assert delta("konzeptwerk_section_saves_total", outcome="conflict") == 1


def test_exports_by_status_and_duration(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    now = utcnow()
    for seconds, status in (
        (2, ExportStatus.DONE),
        (40, ExportStatus.DONE),
        (0, ExportStatus.QUEUED),
    ):
        db.session.add(
            Export(
                paper_id=world.paper.id,
                requested_by_id=world.coordinator.id,
                status=status,
                started_at=now - timedelta(seconds=seconds) if seconds else None,
                finished_at=now if seconds else None,
            )
        )
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "konzeptwerk_exports", status="done") == 2
    assert value(samples, "konzeptwerk_exports", status="queued") == 1
    assert value(samples, "konzeptwerk_exports", status="failed") == 0
    assert value(samples, "konzeptwerk_export_duration_seconds_count") == 2
    assert value(samples, "konzeptwerk_export_duration_seconds_bucket", le="2.5") == 1
    assert value(samples, "konzeptwerk_export_duration_seconds_bucket", le="60.0") == 2
    assert value(samples, "konzeptwerk_export_duration_seconds_sum") == pytest.approx(42, abs=0.1)


@pytest.mark.redis
def test_job_queue_lengths(
    app: Flask,
    client: FlaskClient,
    redis_db: Redis,
    private_redis_url: str,
) -> None:
    app.config["REDIS_URL"] = private_redis_url
    Queue("mail", connection=redis_db).enqueue("builtins.print", "x")
    Queue("mail", connection=redis_db).enqueue("builtins.print", "y")
    samples = scrape(client)
    assert value(samples, "konzeptwerk_redis_up") == 1
    assert value(samples, "konzeptwerk_job_queue_length", queue="mail") == 2
    assert value(samples, "konzeptwerk_job_queue_length", queue="exports") == 0
    assert value(samples, "konzeptwerk_job_failed", queue="mail") == 0

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    assert value(scrape(client), "konzeptwerk_redis_up") == 0


def test_active_sessions_are_counted(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """Logins recorded on the server are counted; logging out ends one (issue 18, metrics)."""
    before = value(scrape(client), "konzeptwerk_active_sessions")
    browsers = [isolated_client(app) for _ in range(2)]
    for browser, person in zip(browsers, (world.editor, world.reviewer), strict=True):
        login(browser, person.email)
    assert value(scrape(client), "konzeptwerk_active_sessions") == before + 2
    browsers[0].post("/logout")
    assert value(scrape(client), "konzeptwerk_active_sessions") == before + 1
