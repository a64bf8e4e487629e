"""The worker supervises its rq scheduler: a dead scheduler is restarted at the next
maintenance (every 15 s, not rq's 10 minutes); one that cannot be restarted stops the worker,
and ``flask --app wsgi worker`` then exits non-zero so systemd restarts it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.scheduler import RQScheduler

from workflows import jobs
from workflows.jobs import QUEUES, SCHEDULER_GIVE_UP_AFTER, AppWorker

pytestmark = pytest.mark.redis


class DeadProcess:
    """Stands for a scheduler process that has exited."""

    pid = 0

    def is_alive(self) -> bool:
        return False


def worker_with_dead_scheduler(connection: Redis) -> AppWorker:
    worker = AppWorker([Queue(q, connection=connection) for q in QUEUES], connection=connection)
    worker.scheduler = RQScheduler(worker.queues, connection=connection)
    worker.scheduler._process = DeadProcess()  # type: ignore[assignment]
    return worker


def test_short_periods(redis_db: Redis) -> None:
    worker = AppWorker([Queue("mail", connection=redis_db)], connection=redis_db)
    assert worker.worker_ttl == 45
    assert worker.dequeue_timeout == 30  # the longest wait between two maintenances
    assert worker.maintenance_interval == 15


def test_a_dead_scheduler_is_restarted(redis_db: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = worker_with_dead_scheduler(redis_db)
    started: list[bool] = []

    class Started:
        def is_alive(self) -> bool:
            return True

    def start() -> Any:
        started.append(True)
        worker.scheduler._process = Started()  # type: ignore[assignment]

    monkeypatch.setattr(worker.scheduler, "start", start)
    worker.last_cleaned_at = datetime.now(UTC)  # type: ignore[assignment]  # not the first
    worker.run_maintenance_tasks()
    assert started == [True]
    assert worker.scheduler_failures == 0
    assert not worker.scheduler_failed


def test_a_scheduler_that_cannot_restart_stops_the_worker(
    redis_db: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = worker_with_dead_scheduler(redis_db)

    def start() -> Any:
        raise OSError("cannot fork")

    monkeypatch.setattr(worker.scheduler, "start", start)
    stops: list[bool] = []
    monkeypatch.setattr(worker, "request_stop", lambda *_a: stops.append(True))
    for _ in range(SCHEDULER_GIVE_UP_AFTER - 1):
        worker.supervise_scheduler()
    assert worker.scheduler_failures == SCHEDULER_GIVE_UP_AFTER - 1
    assert not stops
    worker.supervise_scheduler()
    assert worker.scheduler_failed
    assert stops == [True]


def test_another_workers_scheduler_is_enough(redis_db: Redis) -> None:
    worker = worker_with_dead_scheduler(redis_db)
    for q in QUEUES:
        redis_db.set(RQScheduler.get_locking_key(q), "other-scheduler", ex=60)
    for _ in range(SCHEDULER_GIVE_UP_AFTER + 1):
        worker.supervise_scheduler()
    assert worker.scheduler_failures == 0
    assert not worker.scheduler_failed


class FakeWorker:
    def __init__(self, *, failed: bool = False, signalled: bool = False) -> None:
        self.scheduler_failed = failed
        self._shutdown_requested_date = object() if signalled else None

    def work(self, **_kw: Any) -> bool:
        return False


@pytest.mark.parametrize(
    ("fake", "burst", "code", "message"),
    [
        (FakeWorker(failed=True), False, 1, "rq scheduler could not be kept running"),
        (FakeWorker(), False, 1, "stopped unexpectedly"),
        (FakeWorker(signalled=True), False, 0, ""),
        (FakeWorker(), True, 0, ""),
    ],
)
def test_worker_command_exit_status(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeWorker,
    burst: bool,
    code: int,
    message: str,
) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # make_worker is replaced
    monkeypatch.setattr(jobs, "make_worker", lambda _url: fake)
    result = app.test_cli_runner().invoke(args=["worker", *(["--burst"] if burst else [])])
    assert result.exit_code == code, result.output
    assert message in result.output


def test_stale_locks_of_our_dead_scheduler_are_taken_back(
    redis_db: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a Redis outage the dead scheduler's locks live on for a minute; rq would wait."""
    worker = worker_with_dead_scheduler(redis_db)
    assert worker.scheduler is not None
    for q in QUEUES:
        redis_db.set(RQScheduler.get_locking_key(q), worker.scheduler.name, ex=60)
    started: list[bool] = []

    class Started:
        def is_alive(self) -> bool:
            return True

    def start() -> Any:
        started.append(True)
        worker.scheduler._process = Started()  # type: ignore[assignment]

    monkeypatch.setattr(worker.scheduler, "start", start)
    worker.supervise_scheduler()
    assert started == [True]
    assert worker.scheduler_failures == 0
    for q in QUEUES:
        assert redis_db.get(RQScheduler.get_locking_key(q)) == worker.scheduler.name.encode()
