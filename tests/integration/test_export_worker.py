"""Export jobs through a real rq worker (issue 6), against the real Redis.

The test process and ``flask --app wsgi worker`` share a file SQLite database (also when the
suite runs on PostgreSQL: the worker must see this test's rows, not the shared test schema)
and Redis database 14 (or a spare one while another test run holds 14), emptied before and
after. One test exports through a burst worker; the other kills a worker mid-job and checks
that the export is found stale, queued again and finished by the next worker — never left
running.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from flask import Flask
from rq import Queue

from drafting import create_app
from drafting.extensions import db
from drafting.models import Export, ExportStatus
from exports import jobs
from tests import docx_samples, factories
from tests.conftest import api_headers
from tests.integration.support import english, fresh, isolated_client
from workflows import sections as section_flow
from workflows.jobs import EXPORTS_QUEUE

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/14"
REDIS_DATABASES = (14, 13, 12, 11, 10)  # 15 is test_mail's
CLAIM = "konzeptwerk:test-claim"
STALE_SECONDS = 3


@dataclass
class Setup:
    app: Flask
    redis: Any
    env: dict[str, str]


def claim_redis() -> tuple[str, Any]:
    """Claim an empty Redis database for this test: 14, or a spare one if 14 is in use.

    Developers run the suite in parallel on one Redis; two runs sharing a database would
    flush each other's queues, and one's worker would run the other's jobs.
    """
    from redis import Redis
    from redis.exceptions import RedisError

    for index in REDIS_DATABASES:
        url = REDIS_TEST_URL.rsplit("/", 1)[0] + f"/{index}"
        connection = Redis.from_url(url, socket_connect_timeout=2)
        try:
            claimed = connection.set(CLAIM, str(os.getpid()), nx=True, ex=900)
        except RedisError as err:  # pragma: no cover — CI has Redis
            pytest.skip(f"Redis not reachable at {url}: {err}")
        if claimed:
            empty(connection)
            return url, connection
    pytest.fail(f"Redis databases {REDIS_DATABASES} are all claimed by other test runs")


def empty(connection: Any) -> None:
    """Delete every key but the claim."""
    for key in connection.scan_iter():
        if key != CLAIM.encode():
            connection.delete(key)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    url, redis = claim_redis()
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": url,
            "MAIL_SERVER": None,
            "EXPORT_STALE_SECONDS": STALE_SECONDS,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database,
        INSTANCE_PATH=str(tmp_path / "worker"),
        REDIS_URL=url,
        SECRET_KEY="test-secret",
        MAIL_SERVER="",
    )
    with app.app_context():
        db.create_all()
    try:
        yield Setup(app, redis, env)
    finally:
        with app.app_context():
            db.engine.dispose()
        empty(redis)
        redis.delete(CLAIM)


def flask_worker(env: dict[str, str], *, burst: bool) -> list[str]:
    return [
        str(Path(sys.executable).parent / "flask"),
        "--app",
        "wsgi",
        "worker",
        *(["--burst"] if burst else []),
    ]


def run_burst_worker(env: dict[str, str]) -> str:
    fresh()  # no open read transaction may block the worker's writes (SQLite)
    done = subprocess.run(
        flask_worker(env, burst=True),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@dataclass(frozen=True)
class Row:
    status: ExportStatus
    attempts: int
    progress: int
    error: str
    has_content: bool


def export_row(export_id: int) -> Row:
    """Read an export's state and end the transaction at once: on SQLite an open read would
    keep the worker process from writing."""
    fresh()
    found = db.session.get(Export, export_id)
    assert found is not None
    row = Row(found.status, found.attempts, found.progress, found.error, found.content is not None)
    fresh()
    return row


def test_a_real_worker_builds_the_export(setup: Setup) -> None:
    with setup.app.app_context():
        w = factories.world()
        english(w)
        client = isolated_client(setup.app)
        headers = api_headers(factories.token(w.editor))
        response = client.post(f"/api/v1/papers/{w.paper.id}/exports", json={}, headers=headers)
        assert response.status_code == 202
        assert response.get_json()["status"] == "queued"
        export_id = response.get_json()["id"]
        (job,) = Queue(EXPORTS_QUEUE, connection=setup.redis).jobs
        assert job.func_name == "exports.jobs.run_export"
        assert job.args == (export_id,)
        assert (job.retries_left, job.retry_intervals) == (2, jobs.RETRY_INTERVALS)
        # Nothing runs in this process: the export waits for the worker.
        time.sleep(0.5)
        assert export_row(export_id).status == ExportStatus.QUEUED

        output = run_burst_worker(setup.env)

        row = export_row(export_id)
        assert (row.status, row.progress, row.attempts) == (ExportStatus.DONE, 100, 1), output
        state = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
        assert state["status"] == "done" and state["progress"] == 100
        download = client.get(f"/api/v1/exports/{export_id}/download", headers=headers)
        assert download.status_code == 200
        document = Document(io.BytesIO(download.data))
        assert document.core_properties.title == w.paper.title
        # Section headings are numbered by Word's multilevel list, not typed numbers.
        heading = next(p for p in document.paragraphs if p.text == "Ausgangslage")
        assert heading.style is not None and heading.style.name == "Heading 1"
        assert Queue(EXPORTS_QUEUE, connection=setup.redis).count == 0
        db.session.remove()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the worker's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …" — comm may contain spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_worker_leaves_no_export_running(setup: Setup) -> None:
    with setup.app.app_context():
        w = factories.world()
        english(w)
        # A paper big enough that building it takes seconds, so the kill lands mid-job.
        for n in range(24):
            section_flow.add_section(
                w.editor,
                w.paper.id,
                title=f"Abschnitt {n}",
                level=1 + n % 3,
                body=docx_samples.long_markdown(n, 190_000),
            )
        client = isolated_client(setup.app)
        headers = api_headers(factories.token(w.editor))
        response = client.post(f"/api/v1/papers/{w.paper.id}/exports", json={}, headers=headers)
        export_id = response.get_json()["id"]
        fresh()

        worker = subprocess.Popen(
            flask_worker(setup.env, burst=False),
            cwd=ROOT,
            env=setup.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: the kill below must also take rq's scheduler child, or
            # an orphan would go on taking jobs from later tests.
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            # Read the row directly: asking the API would already look for a dead worker.
            while export_row(export_id).status != ExportStatus.RUNNING:
                assert worker.poll() is None, worker.communicate()[0]
                assert time.monotonic() < deadline, "the worker never started the export"
                time.sleep(0.05)
            horses = _children(worker.pid)
            assert horses, "no work horse found"
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)
            assert worker.stdout is not None
            worker.stdout.close()

        killed = export_row(export_id)
        assert killed.status == ExportStatus.RUNNING, "the export finished before the kill"
        assert killed.attempts == 1 and not killed.has_content
        # Within EXPORT_STALE_SECONDS the export still counts as running.
        state = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
        assert state["status"] == "running"
        time.sleep(STALE_SECONDS + 1)
        # Then looking at it finds the dead worker and queues the export again.
        state = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
        assert state["status"] == "queued", state
        assert export_row(export_id).status == ExportStatus.QUEUED
        queued = Queue(EXPORTS_QUEUE, connection=setup.redis).jobs
        assert [job.args for job in queued] == [(export_id,)]

        output = run_burst_worker(setup.env)

        row = export_row(export_id)
        assert (row.status, row.attempts, row.progress) == (ExportStatus.DONE, 2, 100), output
        assert row.error == ""
        download = client.get(f"/api/v1/exports/{export_id}/download", headers=headers)
        assert download.status_code == 200
        assert Document(io.BytesIO(download.data)).core_properties.title == w.paper.title
        db.session.remove()
