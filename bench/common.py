"""Shared helpers of the benchmarks: an app on a given database, timing, text, a served app.

The benchmark scripts import this module as ``common`` (``python bench/<script>.py`` puts
``bench/`` first on the path). Run on its own, it prints the machine the figures come from.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, event, make_url, text  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# --- arguments and output ----------------------------------------------------------------


def arguments(description: str, *, database: bool = True) -> argparse.Namespace:
    """Parse the options every benchmark understands."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    if database:
        parser.add_argument(
            "--database-url",
            default="",
            help="run on this database (PostgreSQL: a fresh database is created next to it "
            "and dropped afterwards); default: a fresh SQLite file",
        )
    return parser.parse_args()


def machine() -> str:
    """Describe the machine and software the figures were measured on."""
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {platform.machine()} · "
        f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')}"
    )


def header(title: str, quick: bool) -> None:
    """Print the title of a benchmark run."""
    print(f"# {title}{' (quick)' if quick else ''}")
    print(f"# {machine()}; {load()}")


@dataclass(frozen=True)
class Stats:
    """Percentiles of a sample of durations in seconds: wall-clock and this process's CPU.

    On a shared machine the wall-clock figures include waiting for a core; the CPU figures
    are what the work itself costs (for in-process measurements, where the server is us).
    """

    n: int
    p50: float
    p95: float
    cpu_p50: float = 0.0
    cpu_p95: float = 0.0

    def ms(self) -> str:
        wall = f"p50 {self.p50 * 1000:8.2f} ms  p95 {self.p95 * 1000:8.2f} ms"
        cpu = f"cpu p50 {self.cpu_p50 * 1000:7.2f}  p95 {self.cpu_p95 * 1000:7.2f}"
        return f"{wall}   {cpu}   n={self.n}"


def percentile(samples: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of a sample."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


def stats(samples: list[float], cpu: list[float] | None = None) -> Stats:
    """Return p50 and p95 of wall-clock (and CPU) samples."""
    cpu = cpu or [0.0]
    return Stats(
        len(samples),
        statistics.median(samples),
        percentile(samples, 0.95),
        statistics.median(cpu),
        percentile(cpu, 0.95),
    )


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> Stats:
    """Run ``fn`` ``warmup`` times unmeasured, then ``repeat`` times measured."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return stats(wall, cpu)


def line(label: str, measured: Stats) -> None:
    print(f"  {label:<40} {measured.ms()}")


def ratio(label: str, ours: Stats, peer: Stats) -> None:
    text = f"  {label:<40} p50 ×{ours.p50 / peer.p50:7.2f}    p95 ×{ours.p95 / peer.p95:7.2f}"
    if ours.cpu_p50 and peer.cpu_p50:
        text += f"   cpu p50 ×{ours.cpu_p50 / peer.cpu_p50:.2f}"
    print(text)


def load() -> str:
    """Describe how busy the machine was (other processes share the cores)."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores"


def verdict(label: str, value: float, limit: float, unit: str = "ms") -> bool:
    """Print whether a figure meets its target and return it."""
    ok = value <= limit
    shown = f"{value:8.2f} {unit}" if unit else f"{value:8.0f}"
    print(f"  target {label:<40} {shown} ≤ {limit:g} {unit}: {'met' if ok else 'MISSED'}")
    return ok


# --- databases and the app ----------------------------------------------------------------


@contextmanager
def database(url: str = "") -> Iterator[str]:
    """Yield the URL of a fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if not url or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="kw-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    base = make_url(url)
    fresh = base.set(database=f"kw_bench_{uuid.uuid4().hex[:10]}")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    try:
        yield fresh.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        admin.dispose()


def postgres_answers(url: str = DEFAULT_PG_URL) -> bool:
    """Tell whether the PostgreSQL server of the URL accepts connections."""
    engine = create_engine(make_url(url).set(database="postgres"))
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def make_app(database_url: str, instance: Path) -> Flask:
    """Create the app on a database and create its tables (the schema of the models)."""
    os.environ.setdefault("INSTANCE_PATH", str(instance))
    from drafting import create_app
    from drafting.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,
            "MAIL_SERVER": None,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    with app.app_context():
        db.create_all()
    return app


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs meanwhile."""
    from drafting.extensions import db

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queries(statements: list[str]) -> list[str]:
    """Drop transaction control (SQLite's explicit BEGIN): count what asks for data."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [s for s in statements if not s.lstrip().upper().startswith(control)]


# --- German-ish Markdown ------------------------------------------------------------------

WORDS = (
    "Innenstadt Handel Wohnen Quartier Mobilität Radverkehr Leerstand Einzelhandel "
    "Gastronomie Aufenthaltsqualität Förderprogramm Bürgerbeteiligung Klimaanpassung "
    "Stadtgrün Ladenlokal Zwischennutzung Wochenmarkt Parkraum Nahversorgung Kommune "
    "Land Kammer Verband Unternehmen Fördermittel Maßnahme Zielbild Verantwortung "
    "Zeitplan Umsetzung Evaluation Arbeitsgruppe Lenkungskreis Haushalt Investition "
    "Eigentümer Miete Fassade Platz Straße Erdgeschoss Digitalisierung Fachkräfte "
    "Tourismus Kultur Veranstaltung Sicherheit Sauberkeit Beleuchtung Barrierefreiheit "
    "Wirtschaftsförderung Citymanagement Standortgemeinschaft Landesprogramm"
).split()
GLUE = (
    "die der das und mit für im zur zum wird werden soll sollen auf bis durch sowie "
    "gemeinsam frühzeitig verbindlich jährlich schrittweise besonders deutlich"
).split()


def sentence(rng: random.Random, words: int | None = None) -> str:
    """Return one German-ish sentence."""
    count = words or rng.randint(8, 18)
    parts = [rng.choice(WORDS) if rng.random() < 0.45 else rng.choice(GLUE) for _ in range(count)]
    parts[0] = parts[0].capitalize()
    if rng.random() < 0.15:
        parts.insert(rng.randrange(1, len(parts)), f"**{rng.choice(WORDS)}**")
    return " ".join(parts) + rng.choice([".", ".", ".", ":", "?"] if count > 10 else ["."])


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def markdown_section(rng: random.Random, size: int) -> str:
    """Return Markdown of about ``size`` characters: paragraphs, sometimes a list or a table."""
    blocks: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.15:
            block = "\n".join(
                f"- {sentence(rng, rng.randint(4, 9))}" for _ in range(rng.randint(2, 5))
            )
        elif roll < 0.22:
            rows = [
                f"| {rng.choice(WORDS)} | {rng.randint(1, 90)} % | {rng.choice(WORDS)} |"
                for _ in range(rng.randint(2, 5))
            ]
            block = "| Maßnahme | Anteil | Zuständig |\n|---|---:|---|\n" + "\n".join(rows)
        elif roll < 0.27:
            block = "\n".join(f"{i}. {sentence(rng, rng.randint(4, 9))}" for i in range(1, 4))
        else:
            block = paragraph(rng)
        blocks.append(block)
        length += len(block) + 2
    return "\n\n".join(blocks)


def edited(rng: random.Random, body: str, changes: int) -> str:
    """Return the body with some words replaced, as an edit between two versions would."""
    words = body.split(" ")
    for _ in range(changes):
        index = rng.randrange(len(words))
        if words[index].isalpha():
            words[index] = rng.choice(WORDS)
    return " ".join(words)


def edit_paragraphs(rng: random.Random, body: str, indices: list[int], tag: str) -> str:
    """Return the body with a sentence added to each of the given paragraphs."""
    paragraphs = body.split("\n\n")
    for index in indices:
        paragraphs[index] += f" {tag} ergänzt {sentence(rng, 6)}"
    return "\n\n".join(paragraphs)


# --- a served app ---------------------------------------------------------------------------

SEED = r"""
import json, sys
from drafting import create_app
from drafting.extensions import db
from drafting.models import OrgKind, Role
from workflows import accounts, papers as paper_flow, sections as section_flow

spec = json.loads(sys.argv[1])
app = create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024})
with app.app_context():
    ministry = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
    city = accounts.create_organisation("Stadt Bench", "CITY", OrgKind.MUNICIPALITY)
    lead = accounts.create_user(
        "lead@bench.example", "Lea Leitung", ministry, "bench-password-1", check_strength=False
    )
    paper = paper_flow.create_paper(lead, "Benchmark-Papier", "")
    paper_flow.add_participant(lead, paper.id, "CITY")
    editors = []
    for n in range(5):
        user = accounts.create_user(f"editor{n}@bench.example", f"Redaktion {n}", city,
                                    "bench-password-1", check_strength=False)
        paper_flow.grant_role(lead, paper.id, user.email, Role.EDITOR)
        editors.append(user)
    section = section_flow.add_section(lead, paper.id, title="Gemeinsamer Abschnitt",
                                       body=spec["body"])
    tokens = [accounts.create_token(editors[i % len(editors)], "bench")[1]
              for i in range(spec["clients"])]
    print(json.dumps({"section_id": section.id, "tokens": tokens}))
"""


@dataclass
class Server:
    """A gunicorn serving the app on a seeded database."""

    port: int
    database_url: str
    log: Path
    section_id: int
    tokens: list[str]

    def request(
        self, method: str, path: str, token: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, Any, str]:
        """Send one request on a fresh connection; return status, JSON (or None), raw text."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    database_url: str, *, body: str, clients: int, workers: int = 4, root: Path = ROOT
) -> Iterator[Server]:
    """Migrate and seed the database, then serve the app with gunicorn on a free port.

    ``root``: the checkout whose code is served (another one: the code before a change, as
    the peer of a before/after comparison in one run).
    """
    with tempfile.TemporaryDirectory(prefix="kw-served-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(Path(tmp) / "instance"),
            "SECRET_KEY": "bench",
            "REDIS_URL": "",
            "RATELIMIT_STORAGE_URI": "memory://",
            "PYTHONPATH": str(root),
        }
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        seeded = subprocess.run(
            [sys.executable, "-c", SEED, json.dumps({"body": body, "clients": clients})],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        log = Path(tmp) / "gunicorn.log"
        port = _free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    *f"-w {workers} -b 127.0.0.1:{port} --preload --timeout 120".split(),
                    "--no-control-socket",
                    "wsgi:app",
                ],
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(port, database_url, log, seed["section_id"], seed["tokens"])
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
                try:
                    if server.request("GET", "/health", "-")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()}")
                time.sleep(0.2)
            yield server
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    print(f"bench/common.py holds the benchmarks' helpers; figures come from {machine()}")
