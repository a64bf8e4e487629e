"""``/health`` is cheap liveness; ``/ready`` answers 503 naming each failed check, and a
node can be drained (``flask --app wsgi node drain``) so ``/ready`` turns 503."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, Worker
from rq.scheduler import RQScheduler
from sqlalchemy import text

from drafting import create_app
from drafting.extensions import db
from drafting.ops import _migration_heads
from tests.conftest import base_config, make_app
from workflows.jobs import QUEUES

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def stamp(app: Flask, revisions: frozenset[str] | None = None) -> None:
    """Record the schema as migrated to the given revisions (default: the newest)."""
    heads = (
        revisions
        if revisions is not None
        else _migration_heads(str(app.extensions["migrate"].directory))
    )
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS alembic_version "
                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
            )
        )
        conn.execute(text("DELETE FROM alembic_version"))
        for head in heads:
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})


def unstamp(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def ready_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a migrated-looking database, with its own drain file."""
    app = make_app(tmp_path, DRAIN_FILE=str(tmp_path / "draining"))
    stamp(app)
    yield app
    unstamp(app)
    with app.app_context():
        db.engine.dispose()


def get_ready(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/ready")
    return response.status_code, response.get_json()


def test_health_is_cheap_liveness(ready_app: Flask) -> None:
    response = ready_app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_without_redis(ready_app: Flask) -> None:
    status, body = get_ready(ready_app)
    assert status == 200, body
    assert body["status"] == "ready"
    assert body["checks"] == {
        "database": "ok",
        "schema": "ok",
        "redis": "absent",
        "worker": "absent",
        "scheduler": "absent",
        "disk": "ok",
        "draining": "ok",
    }
    assert body["version"]


def test_ready_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    config = base_config(tmp_path)
    # Port 1 refuses at once: the database server is down.
    config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://kw@127.0.0.1:1/konzeptwerk"
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 2}}
    config["DRAIN_FILE"] = str(tmp_path / "draining")
    app = create_app(config)
    status, body = get_ready(app)
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "failed"
    assert body["checks"]["schema"] == "failed"
    assert "database does not answer" in body["failed"]["database"]
    # Liveness is not readiness: the process still answers.
    assert app.test_client().get("/health").status_code == 200


def test_ready_503_when_the_schema_is_behind(ready_app: Flask) -> None:
    first = "2f408fc056de"  # the initial schema
    stamp(ready_app, frozenset({first}))
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["checks"]["schema"] == "failed"
    assert f"schema at {first}, code needs" in body["failed"]["schema"]
    # Migrated by a newer release (a revision this code does not know): a rolling upgrade
    # has begun, and the old nodes keep serving until they are restarted.
    stamp(ready_app, frozenset({"ffffnewer"}))
    assert get_ready(ready_app)[0] == 200
    unstamp(ready_app)
    status, body = get_ready(ready_app)
    assert status == 503
    assert "schema at none" in body["failed"]["schema"]


def test_ready_503_when_redis_is_configured_but_unreachable(ready_app: Flask) -> None:
    ready_app.config["REDIS_URL"] = UNREACHABLE_REDIS
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["checks"]["redis"] == "failed"
    assert body["checks"]["worker"] == "failed"
    assert body["checks"]["scheduler"] == "failed"
    assert body["checks"]["database"] == "ok"


def test_ready_503_when_the_disk_is_full(ready_app: Flask) -> None:
    ready_app.config["READY_MIN_FREE_BYTES"] = 2**62
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["checks"]["disk"] == "failed"
    assert "MiB free" in body["failed"]["disk"]


def test_drain_turns_ready_503_and_resume_back(ready_app: Flask) -> None:
    runner = ready_app.test_cli_runner()
    result = runner.invoke(args=["node", "drain"])
    assert result.exit_code == 0, result.output
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["failed"] == {"draining": "node is draining"}
    # Requests in flight and new ones are still served while draining.
    assert ready_app.test_client().get("/login").status_code == 200
    result = runner.invoke(args=["node", "status"])
    assert result.exit_code == 1
    assert "draining   failed: node is draining" in result.output
    assert runner.invoke(args=["node", "resume"]).exit_code == 0
    assert get_ready(ready_app)[0] == 200


# --- with a real Redis ----------------------------------------------------------------------


@pytest.mark.redis
def test_ready_503_without_a_worker_heartbeat_then_200_with_one(
    ready_app: Flask,
    redis_db: Redis,
    private_redis_url: str,
) -> None:
    ready_app.config["REDIS_URL"] = private_redis_url
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["checks"]["redis"] == "ok"
    assert "no live worker for queue(s) mail, exports" in body["failed"]["worker"]
    assert "no live scheduler" in body["failed"]["scheduler"]

    # A worker registers itself and beats; its scheduler holds a lock per queue.
    worker = Worker([Queue(name, connection=redis_db) for name in QUEUES], connection=redis_db)
    worker.register_birth()
    for name in QUEUES:
        redis_db.set(RQScheduler.get_locking_key(name), "test-scheduler", ex=60)
    status, body = get_ready(ready_app)
    assert status == 200, body
    assert body["checks"]["worker"] == "ok"
    assert body["checks"]["scheduler"] == "ok"

    # The scheduler died: its locks expire.
    redis_db.delete(RQScheduler.get_locking_key("mail"))
    status, body = get_ready(ready_app)
    assert status == 503
    assert body["failed"] == {"scheduler": "no live scheduler for queue(s) mail"}

    # The worker stopped: it deregisters.
    worker.register_death()
    status, body = get_ready(ready_app)
    assert status == 503
    assert "no live worker" in body["failed"]["worker"]
