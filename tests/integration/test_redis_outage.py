"""After a Redis outage, a job's retry that fell due while Redis was down runs within a
minute of Redis returning (the scheduler died with the outage; the worker brings it back).

A Redis server of its own (persisting to an append-only file, as production Redis does) is
stopped and started again; a real ``flask --app wsgi worker`` runs throughout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.registry import ScheduledJobRegistry

from drafting import ROOT

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # noqa: S110 — Redis may still be starting
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def test_retry_runs_within_a_minute_after_redis_returns(tmp_path: Path) -> None:
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    redis_args = [
        server_binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--save",
        "",
    ]

    def start_redis() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: Redis(port=port).ping(), 20, "Redis to answer")
        return process

    redis_server = start_redis()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "PYTEST", "TEST_", "INSTANCE", "PROMETHEUS"))
    }
    env.update(
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="outage-test",
    )
    log = tmp_path / "worker.log"
    with log.open("w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        connection = Redis(port=port)
        queue = Queue("mail", connection=connection)
        wait_for(lambda: connection.exists("rq:scheduler-lock:mail"), 60, "the scheduler")
        queue.enqueue(
            "tests.integration.outage_jobs.flaky", str(marks), retry=Retry(max=2, interval=10)
        )
        registry = ScheduledJobRegistry(queue=queue)
        wait_for(lambda: registry.count == 1, 60, "the first attempt to fail")

        # Redis goes away before the retry is due, and stays away past it.
        connection.shutdown(nosave=False)
        redis_server.wait(timeout=20)
        connection.close()
        time.sleep(15)
        assert not (marks / "done").exists()
        redis_server = start_redis()
        back = time.monotonic()

        wait_for(
            lambda: (marks / "done").exists(),
            60,
            "the retry after Redis returned; worker log:\n" + log.read_text()[-3000:],
        )
        took = time.monotonic() - back
        print(f"the retry ran {took:.1f} s after Redis returned")
        assert took < 60, took
        assert worker.poll() is None, "the worker should have stayed up"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        if redis_server.poll() is None:
            redis_server.terminate()
            redis_server.wait(timeout=20)
