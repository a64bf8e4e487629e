"""Real parallel saves against a served app: 20 clients × 25 saves on one section (issue 3).

The app runs in gunicorn with four worker processes on a database of its own, migrated with
``flask db upgrade``: PostgreSQL in the PostgreSQL pass of the suite, a WAL SQLite file in the
SQLite pass. Each client edits its own paragraph, so every save should be accepted — most of
them merged on top of others. Nothing may be lost, numbered twice, or answered with a 5xx or
"database is locked".
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from drafting import create_app
from drafting.extensions import db
from drafting.models import Role
from tests import factories
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from workflows import papers as paper_flow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENTS = 20
SAVES = 25
WORKERS = 4
TIME_LIMIT_SECONDS = 60


def seed(database_url: str) -> tuple[int, list[str]]:
    """Fill the migrated database: the test world, three more editors, the shared section."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        world = factories.world()
        editors = [world.editor, world.coordinator]
        for n in range(3):
            extra = factories.user(world.city, name=f"Redaktion {n}")
            paper_flow.grant_role(world.coordinator, world.paper.id, extra.email, Role.EDITOR)
            editors.append(extra)
        section = factories.section(
            world.editor, world.paper, title="Gemeinsamer Abschnitt", body=initial_body()
        )
        tokens = [factories.token(editors[i % len(editors)]) for i in range(CLIENTS)]
        section_id = section.id
        db.session.remove()
        db.engine.dispose()
    return section_id, tokens


def marker(client: int, save: int) -> str:
    """Return the unique word a client writes with one of its saves."""
    return f"c{client}n{save}x"


MARKER = re.compile(r"c(\d+)n(\d+)x")


def initial_body() -> str:
    """Return one paragraph per client, each holding that client's first marker."""
    return "\n\n".join(
        f"Absatz {i}: Der Beitrag der Partnerorganisation {i} lautet {marker(i, 0)} "
        f"und wird im Bündnis abgestimmt."
        for i in range(CLIENTS)
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running gunicorn with a seeded database."""

    port: int
    database_url: str
    log: Path
    section_id: int
    tokens: list[str]

    def request(
        self, method: str, path: str, token: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, Any, str]:
        """Send one request on a fresh connection; return status, JSON (or None), raw text."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            body = json.dumps(payload) if payload is not None else None
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        return response.status, data, raw


def _fresh_postgres_database() -> str:
    """Return the URL of an empty database of its own next to the test database.

    It is created once (``<test database>_served``) and emptied before each run by dropping
    its schema: DROP DATABASE waits for a checkpoint, which takes seconds on a busy disk.
    """
    url = make_url(TEST_DATABASE_URL)
    url = url.set(database=f"{url.database}_served")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        ):
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    """Migrate and seed a fresh database, then serve the app with gunicorn on a free port."""
    backend = request.param
    if backend == "postgresql":
        database_url = _fresh_postgres_database()
    else:
        database_url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "concurrency-test",
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_URL", None)
    log = tmp_path / "gunicorn.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        # The seeding app reads these too: no secret file or instance folder in the tree.
        monkeypatch.setenv("INSTANCE_PATH", env["INSTANCE_PATH"])
        monkeypatch.setenv("SECRET_KEY", env["SECRET_KEY"])
        section_id, tokens = seed(database_url)
        port = free_port()
        with log.open("wb") as out:
            # --preload: the app is imported once and forked, not once per worker. No control
            # socket: its default path is shared by every gunicorn of the user.
            command = (
                f"gunicorn -w {WORKERS} -b 127.0.0.1:{port} --preload --timeout 60 "
                "--no-control-socket wsgi:app"
            )
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), *command.split()[1:]],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Served(port, database_url, log, section_id, tokens)
        _wait_until_up(server, process)
        yield server
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # quick shutdown; TERM waits for workers
            try:
                # The workers stop at once; gunicorn 27's master lingers for seconds after.
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(server: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{server.log.read_text()}")
        try:
            if server.request("GET", "/health", "-")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 30 s:\n{server.log.read_text()}")


@dataclass
class Outcome:
    """What one client saw."""

    accepted: list[tuple[int, str]] = field(default_factory=list)  # (version, marker)
    merged: int = 0
    unchanged: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # (what, status, body)


def run_client(server: Served, index: int, start: threading.Barrier, outcome: Outcome) -> None:
    """Replace this client's marker in its own paragraph, SAVES times, as fast as answered."""
    start.wait()
    try:
        _save_many(server, index, outcome)
    except Exception as err:  # a thread's exception would not fail the test by itself
        outcome.failures.append(("exception", 0, repr(err)))


def _save_many(server: Served, index: int, outcome: Outcome) -> None:
    token = server.tokens[index]
    path = f"/api/v1/sections/{server.section_id}"
    status, data, raw = server.request("GET", path, token)
    if status != 200:
        outcome.failures.append(("GET", status, raw[:500]))
        return
    text_, base = data["body"], data["version"]
    own = re.compile(rf"c{index}n\d+x")
    for save in range(1, SAVES + 1):
        if save % 5 == 0:  # now and then reload, as a browser would
            status, data, raw = server.request("GET", path, token)
            if status != 200:
                outcome.failures.append(("GET", status, raw[:500]))
                continue
            text_, base = data["body"], data["version"]
        mine = own.sub(marker(index, save), text_, count=1)
        assert mine != text_, f"client {index} lost its own paragraph: {text_!r}"
        payload = {"body": mine, "base_version": base, "note": f"client {index} save {save}"}
        status, data, raw = server.request("PUT", path, token, payload)
        if status == 200:
            if data["created"]:
                outcome.accepted.append((data["version"], marker(index, save)))
                outcome.merged += bool(data["merged"])
            else:
                outcome.unchanged += 1
            text_, base = data["body"], data["version"]
        elif status == 409 and data and data["error"]["code"] == "edit_conflict":
            outcome.conflicts.append(data)
            if "current" in data:
                assert data["yours"]["body"] == mine, "a conflict did not return the text sent"
                text_, base = data["current"]["body"], data["current"]["version"]
        else:
            outcome.failures.append(("PUT", status, raw[:500]))


def stored_versions(database_url: str, section_id: int) -> list[tuple[int, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT number, body FROM section_version WHERE section_id = :s ORDER BY number"
                ),
                {"s": section_id},
            ).all()
    finally:
        engine.dispose()
    return [(int(n), str(b)) for n, b in rows]


def backends() -> list[Any]:
    """PostgreSQL in the PostgreSQL pass, SQLite in the SQLite pass: once per backend."""
    postgres = pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not IS_POSTGRES, reason="TEST_DATABASE_URL is not PostgreSQL"),
        ],
        id="postgresql",
    )
    sqlite = pytest.param(
        "sqlite",
        marks=pytest.mark.skipif(IS_POSTGRES, reason="the SQLite pass runs this one"),
        id="sqlite",
    )
    return [postgres, sqlite]


@pytest.mark.slow
@pytest.mark.parametrize("served", backends(), indirect=True)
def test_parallel_saves_lose_nothing(served: Served) -> None:
    outcomes = [Outcome() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    threads = [
        threading.Thread(target=run_client, args=(served, i, start, outcomes[i]), daemon=True)
        for i in range(CLIENTS)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = began + TIME_LIMIT_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "clients still running after the time limit"
    assert elapsed < TIME_LIMIT_SECONDS

    failures = [f for o in outcomes for f in o.failures]
    log = served.log.read_text(errors="replace")
    # No server errors and no lock timeouts, in the answers or in the server's log.
    assert not [f for f in failures if f[1] >= 500], failures[:5]
    assert not failures, failures[:5]
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]

    accepted = sorted(a for o in outcomes for a in o.accepted)
    stored = stored_versions(served.database_url, served.section_id)
    numbers = [n for n, _ in stored]
    # Unique and gapless; version 1 is the seed, every other one an accepted save.
    assert numbers == list(range(1, len(numbers) + 1))
    assert [v for v, _ in accepted] == list(range(2, len(numbers) + 1))
    bodies = dict(stored)
    for version, word in accepted:
        assert word in bodies[version], f"v{version} does not hold {word}, which it accepted"
    # Each client's paragraph holds its last accepted marker and nothing else of anyone's:
    # no accepted save was undone, none applied twice or in the wrong place.
    paragraphs = bodies[numbers[-1]].split("\n\n")
    assert len(paragraphs) == CLIENTS
    for index, (paragraph, outcome) in enumerate(zip(paragraphs, outcomes, strict=True)):
        last = max(outcome.accepted)[1] if outcome.accepted else marker(index, 0)
        assert MARKER.findall(paragraph) == [MARKER.fullmatch(last).groups()], (index, paragraph)

    # The run was concurrent: saves merged on top of others. The clients' paragraphs are
    # disjoint, so no save may conflict: a conflict here means a client was answered a text
    # that is not the version it was told (it then resends others' older words), or the merge
    # reached beyond the words changed.
    merged = sum(o.merged for o in outcomes)
    conflicts = sum(len(o.conflicts) for o in outcomes)
    assert merged > 0
    assert conflicts == 0, [c.get("conflicts") for o in outcomes for c in o.conflicts][:3]
    assert len(accepted) + conflicts + sum(o.unchanged for o in outcomes) == CLIENTS * SAVES
    print(
        f"\n{len(accepted)} accepted ({merged} merged), {conflicts} conflicts, "
        f"{sum(o.unchanged for o in outcomes)} unchanged in {elapsed:.1f} s"
    )
