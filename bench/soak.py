"""Load and fault soak: simulated users against gunicorn, PostgreSQL, Redis and an rq worker.

The script builds a production-like stack of its own on loopback — a PostgreSQL cluster
(``initdb`` into a temporary folder), a Redis server, gunicorn with 4 workers and one
``flask --app wsgi worker`` under a small supervisor — and never touches the machine's
shared PostgreSQL (5432) or Redis (6379). Simulated users work for a fixed time: editors
autosave drafts and save their own paragraph of a shared section through the API (so saves
merge), reviewers read versions and diffs and comment, readers log in, read paper pages and
histories and log out again, exporters request Word exports and poll them to the end. Every
loop is bounded by the run's end time. A probe asks ``/health`` twice a second: the named
peer of the latency figures.

During the run the script kills one gunicorn worker, kills the rq worker while an export is
running (the supervisor starts a new one, as systemd would), restarts PostgreSQL once and
stops Redis for a while (60 s in a 10-minute run; the time scales with the run). Afterwards
it checks consistency: every accepted save is a version with the acknowledged text and no
version numbers are missing, every editor's last accepted text is in the section's head,
``flask --app wsgi audit verify`` finds every paper's activity log intact, every export is
done or failed with a message (none stuck), no autosaved draft is lost and every
accepted comment exists.

    .venv/bin/python bench/soak.py [--users 30] [--minutes 10] [--no-peer]

``--no-peer`` skips the fault-free run of the same load before the faulted one (the peer
of the per-kind ratios). ``tests/integration/test_soak.py`` runs a short version of this
module in ``make test``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "Soak-Kennwort-7319-lang"  # noqa: S105 — a throwaway account of the soak
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# --- options --------------------------------------------------------------------------------


@dataclass
class Options:
    """What to run: how many users for how long, which faults, on which ports."""

    users: int = 30
    seconds: float = 600.0
    faults: bool = True
    peer: bool = True
    #: Redis stays down this long; ``None`` scales it with the run (60 s per 10 minutes).
    redis_down: float | None = None
    http_port: int = 0
    pg_port: int = 0
    redis_port: int = 0
    #: A running export whose heartbeat is older counts as abandoned (the app's setting).
    stale_seconds: float = 20.0
    #: After the load: how long exports may take to finish before they count as stuck.
    drain_seconds: float = 150.0
    #: Seconds after a dependency is back in which its errors still count as its fault.
    grace: float = 3.0
    #: Seconds a user pauses between steps (readers and reviewers 1.5 ×, exporters 3 ×).
    think: tuple[float, float] = (2.0, 6.0)
    #: Readers log out and in again every so many steps (Argon2 makes logins expensive).
    relogin_every: int = 40
    seed: int = 9
    verbose: bool = True
    #: The order of the four faults (web worker, rq worker, PostgreSQL, Redis).
    fault_order: tuple[str, ...] = ("web", "worker", "postgres", "redis")

    @property
    def redis_down_seconds(self) -> float:
        if self.redis_down is not None:
            return self.redis_down
        return max(3.0, min(60.0, self.seconds / 10))


def free_port(preferred: int = 0) -> int:
    """Return ``preferred`` if it is free on loopback, else a port the system picks."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def log(options: Options, message: str) -> None:
    if options.verbose:
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the services -----------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """Return the folder of PostgreSQL's server programs (initdb, pg_ctl), if installed."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def missing_programs() -> list[str]:
    """Name the programs the soak needs that this machine lacks."""
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL server (initdb, pg_ctl)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser (PostgreSQL refuses to run as root)")
    return missing


class Postgres:
    """A PostgreSQL cluster of our own in a temporary folder (never the shared one)."""

    def __init__(self, folder: Path, port: int) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL's initdb is not installed")
        self.bindir, self.port = bindir, port
        self.data = folder / "pgdata"
        self.logfile = folder / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses root; the cluster belongs to the system's postgres user.
            self.as_user = ["runuser", "-u", "postgres", "--"]
            folder.chmod(0o755)
        self.data.mkdir(mode=0o700)
        self.logfile.touch()
        if self.as_user:
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.logfile, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/konzeptwerk"

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_user, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed: {done.stdout}{done.stderr}")

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self.start()
        self._run(
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            "CREATE DATABASE konzeptwerk",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} "
            "-c max_connections=150 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class RedisServer:
    """A Redis server of our own; its append-only file keeps the queues over a stop."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder / "redis", port
        self.folder.mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.folder / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.folder),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--protected-mode",
                    "yes",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not answer")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Shut Redis down cleanly (the append-only file keeps the queued jobs)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def children(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent id follows it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


SEED = r"""
import json, sys
from drafting import create_app
from drafting.extensions import db
from drafting.models import OrgKind, Role
from workflows import accounts, papers as paper_flow, sections as section_flow

spec = json.loads(sys.argv[1])
app = create_app()
with app.app_context():
    ministry = accounts.create_organisation("Ministerium Soak", "MIN", OrgKind.MINISTRY)
    city = accounts.create_organisation("Stadt Soak", "CITY", OrgKind.MUNICIPALITY)
    lead = accounts.create_user(
        "lead@soak.example", "Lea Leitung", ministry, spec["password"], check_strength=False
    )

    def user(kind, n):
        return accounts.create_user(f"{kind}{n}@soak.example", f"{kind.title()} {n}", city,
                                    spec["password"], check_strength=False)

    editors = [user("editor", n) for n in range(spec["editors"])]
    reviewers = [user("reviewer", n) for n in range(spec["reviewers"])]
    readers = [user("reader", n) for n in range(spec["readers"])]
    exporters = [user("exporter", n) for n in range(spec["exporters"])]
    papers, sections = [], []
    for p in range(spec["papers"]):
        paper = paper_flow.create_paper(lead, f"Soak-Papier {p + 1}", "Last- und Fehlertest")
        paper_flow.add_participant(lead, paper.id, "CITY")
        for person in editors:
            paper_flow.grant_role(lead, paper.id, person.email, Role.EDITOR)
        for person in reviewers:
            paper_flow.grant_role(lead, paper.id, person.email, Role.REVIEWER)
        papers.append(paper.id)
        for s in range(spec["sections"]):
            body = spec["bodies"][len(sections)]
            section = section_flow.add_section(lead, paper.id, title=f"Abschnitt {s + 1}",
                                               body=body)
            sections.append({"id": section.id, "paper": paper.id})
    token = lambda person: accounts.create_token(person, "soak")[1]
    print(json.dumps({
        "papers": papers,
        "sections": sections,
        "editors": [{"email": u.email, "token": token(u)} for u in editors],
        "reviewers": [{"email": u.email, "token": token(u)} for u in reviewers],
        "readers": [{"email": u.email} for u in readers],
        "exporters": [{"email": u.email, "token": token(u)} for u in exporters],
    }))
"""


@dataclass
class Plan:
    """Who does what: user counts, and papers and sections seeded for them."""

    editors: int
    reviewers: int
    readers: int
    exporters: int
    papers: int
    sections_per_paper: int

    @classmethod
    def for_users(cls, users: int) -> Plan:
        if users < 4:
            raise ValueError("the soak needs at least 4 users (one of each kind)")
        editors = max(1, round(users * 0.4))
        exporters = max(1, round(users * 0.1))
        reviewers = max(1, round(users * 0.17))
        readers = users - editors - exporters - reviewers
        if readers < 1:
            editors -= 1 - readers
            readers = 1
        papers = 3 if users >= 12 else 1
        return cls(editors, reviewers, readers, exporters, papers, 4 if users >= 12 else 2)

    def describe(self) -> str:
        return (
            f"{self.editors} editors, {self.reviewers} reviewers, {self.readers} readers, "
            f"{self.exporters} exporters on {self.papers} paper(s) × "
            f"{self.sections_per_paper} sections"
        )


def marker(editor: int, count: int) -> str:
    return f"e{editor}n{count}x"


def section_body(rng: random.Random, editors: list[int]) -> str:
    """Return a section text: filler paragraphs and one paragraph per editor of it."""
    words = (
        "Innenstadt Handel Quartier Mobilität Leerstand Förderprogramm Beteiligung Kommune "
        "Kammer Verband Maßnahme Zielbild Zeitplan Umsetzung Evaluation Lenkungskreis Haushalt"
    ).split()
    paragraphs = [
        " ".join(rng.choice(words) for _ in range(40)).capitalize() + "." for _ in range(6)
    ]
    for editor in editors:
        paragraphs.append(
            f"Beitrag {marker(editor, 0)}: Die Partnerorganisation stimmt ihren Absatz im "
            "Bündnis ab; die Fassung gilt bis zur nächsten Sitzung."
        )
    return "\n\n".join(paragraphs)


# --- a small HTTP client with cookies -------------------------------------------------------


@dataclass
class Sample:
    """One request: what kind, when it started (seconds into the phase), how long, status."""

    kind: str
    at: float
    seconds: float
    status: int  # 0: no answer (connection refused, reset or timeout)
    phase: str
    detail: str = ""


class Recorder:
    """Collects the samples of all users (thread-safe)."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.phase = "load"
        self.origin = time.monotonic()

    def begin(self, phase: str) -> None:
        self.phase, self.origin = phase, time.monotonic()

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class Client:
    """One simulated user's HTTP client: a fresh connection per request, cookies kept."""

    def __init__(self, port: int, recorder: Recorder, token: str = "") -> None:
        self.port, self.recorder, self.token = port, recorder, token
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        payload: Any = None,
        form: dict[str, str] | None = None,
        api: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        body: str | None = None
        if payload is not None:
            body = json.dumps(payload)
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if api:
            sent["Authorization"] = f"Bearer {self.token}"
            sent["Accept"] = "application/json"
        elif self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            answer = Answer(
                response.status,
                raw.decode("utf-8", "replace") if not raw.startswith(b"PK") else "PK",
                {k.lower(): v for k, v in response.getheaders()},
            )
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    jar: SimpleCookie = SimpleCookie()
                    jar.load(value)
                    for key, morsel in jar.items():
                        if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                            self.cookies[key] = morsel.value
                        else:
                            self.cookies.pop(key, None)
        except (OSError, http.client.HTTPException) as err:
            answer = Answer(0, f"{type(err).__name__}: {err}", {})
        finally:
            conn.close()
        detail = ""
        if answer.status >= 500 or answer.status == 0:
            detail = answer.text[:300]
        self.recorder.add(
            Sample(
                kind,
                started - self.recorder.origin,
                time.monotonic() - started,
                answer.status,
                self.recorder.phase,
                detail,
            )
        )
        return answer

    def take_csrf(self, answer: Answer) -> None:
        found = CSRF_META.search(answer.text)
        if found:
            self.csrf = found.group(1)

    def login(self, email: str) -> bool:
        """Log in through the login form; return whether the session is established."""
        self.cookies.clear()
        page = self.request("login_page", "GET", "/login")
        self.take_csrf(page)
        if page.status != 200 or not self.csrf:
            return False
        answer = self.request(
            "login",
            "POST",
            "/login",
            form={"email": email, "password": PASSWORD, "csrf_token": self.csrf},
        )
        # The login starts a new session: the form's CSRF token is no longer valid.
        self.csrf = ""
        return answer.status == 302 and "/login" not in answer.headers.get("location", "")


# --- the ledger of what the server acknowledged ------------------------------------------------


@dataclass
class Ledger:
    """What users were told: accepted saves, drafts, comments and exports."""

    #: (section id, version number) -> body the server answered for an accepted save
    saves: dict[tuple[int, int], str] = field(default_factory=dict)
    #: saves without a clear answer (5xx or no answer): they may or may not have happened
    unknown_saves: dict[int, int] = field(default_factory=dict)
    #: (editor index, section id) -> highest marker count the server accepted
    last_marker: dict[tuple[int, int], int] = field(default_factory=dict)
    #: (editor email, section id) -> draft states the server may hold (None: no draft)
    drafts: dict[tuple[str, int], set[str | None]] = field(default_factory=dict)
    comments: list[int] = field(default_factory=list)
    exports: list[int] = field(default_factory=list)
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def draft(self, key: tuple[str, int], body: str | None, *, certain: bool) -> None:
        with self.lock:
            states = self.drafts.setdefault(key, {None})
            if certain:
                states.clear()
            states.add(body)


# --- the users ---------------------------------------------------------------------------------


@dataclass
class World:
    """The seeded papers, sections and accounts, and the port the app answers on."""

    port: int
    papers: list[int]
    sections: list[dict[str, int]]
    editors: list[dict[str, str]]
    reviewers: list[dict[str, str]]
    readers: list[dict[str, str]]
    exporters: list[dict[str, str]]

    def editor_section(self, index: int) -> int:
        return self.sections[index % len(self.sections)]["id"]


class Stop:
    """The end of a phase: users finish their current step and leave."""

    def __init__(self, until: float) -> None:
        self.until = until

    def over(self) -> bool:
        return time.monotonic() >= self.until

    def pause(self, rng: random.Random, think: tuple[float, float]) -> None:
        time.sleep(max(0.0, min(rng.uniform(*think), self.until - time.monotonic())))


MAX_STEPS = 100_000  # every loop is bounded twice: by the clock and by a step count


def editor(
    world: World, index: int, recorder: Recorder, ledger: Ledger, stop: Stop, opts: Options
) -> None:
    """Autosave a draft every step and save it through the API most steps."""
    rng = random.Random(opts.seed * 1000 + index)
    account = world.editors[index]
    section = world.editor_section(index)
    client = Client(world.port, recorder, account["token"])
    path = f"/api/v1/sections/{section}"
    draft_key = (account["email"], section)
    own = re.compile(rf"e{index}n(\d+)x")
    logged_in = client.login(account["email"])
    text, base, count = "", 0, 0
    for _ in range(MAX_STEPS):
        if stop.over():
            break
        if not text:
            answer = client.request("section", "GET", path, api=True)
            data = answer.json() if answer.status == 200 else None
            if not data:
                stop.pause(rng, opts.think)
                continue
            text, base = data["body"], data["version"]
            found = own.search(text)
            count = max(count, int(found.group(1)) if found else 0)
        count += 1
        body = own.sub(marker(index, count), text, count=1)
        if not logged_in:
            logged_in = client.login(account["email"])
        if logged_in and not client.csrf:
            client.take_csrf(client.request("edit_page", "GET", f"/sections/{section}/edit"))
        if logged_in:
            answer = client.request(
                "autosave",
                "POST",
                f"/sections/{section}/draft",
                payload={"title": "", "body": body, "base_version": base},
                headers={"X-CSRFToken": client.csrf, "Accept": "application/json"},
            )
            if answer.status == 200:
                ledger.draft(draft_key, body, certain=True)
            elif answer.status >= 500 or answer.status == 0:
                ledger.draft(draft_key, body, certain=False)
            elif answer.status in (400, 401, 302):
                logged_in, client.csrf = False, ""
        stop.pause(rng, (opts.think[0] / 2, opts.think[1] / 2))
        if stop.over() or rng.random() < 0.3:
            continue  # keep only the draft this time
        answer = client.request(
            "save", "PUT", path, payload={"body": body, "base_version": base}, api=True
        )
        data = answer.json() if answer.status in (200, 409) else None
        if answer.status == 200 and data:
            with ledger.lock:
                if data["created"]:
                    ledger.saves[(section, data["version"])] = data["body"]
                key = (index, section)
                ledger.last_marker[key] = max(ledger.last_marker.get(key, 0), count)
            ledger.draft(draft_key, None, certain=True)
            text, base = data["body"], data["version"]
        elif answer.status == 409 and data:
            with ledger.lock:
                ledger.conflicts += 1
            current = data.get("current") or {}
            text, base = current.get("body", ""), current.get("version", 0)
        elif answer.status >= 500 or answer.status == 0:
            with ledger.lock:
                ledger.unknown_saves[section] = ledger.unknown_saves.get(section, 0) + 1
            ledger.draft(draft_key, None, certain=False)
            text = ""  # read the section again
        else:
            text = ""
        stop.pause(rng, opts.think)
    # Leave with a draft on the server, as a user who closes the tab mid-sentence.
    if logged_in and client.csrf and text:
        body = own.sub(marker(index, count + 1), text, count=1)
        answer = client.request(
            "autosave",
            "POST",
            f"/sections/{section}/draft",
            payload={"title": "", "body": body, "base_version": base},
            headers={"X-CSRFToken": client.csrf, "Accept": "application/json"},
        )
        if answer.status == 200 or answer.status >= 500 or answer.status == 0:
            ledger.draft(draft_key, body, certain=answer.status == 200)


def reviewer(
    world: World, index: int, recorder: Recorder, ledger: Ledger, stop: Stop, opts: Options
) -> None:
    """Read versions and diffs and comment, through the API."""
    rng = random.Random(opts.seed * 2000 + index)
    client = Client(world.port, recorder, world.reviewers[index]["token"])
    for step in range(MAX_STEPS):
        if stop.over():
            break
        section = rng.choice(world.sections)["id"]
        answer = client.request("versions", "GET", f"/api/v1/sections/{section}/versions", api=True)
        versions = (answer.json() or {}).get("versions", []) if answer.status == 200 else []
        if len(versions) >= 2:
            newest, older = versions[0]["number"], versions[min(3, len(versions) - 1)]["number"]
            query = urlencode({"from": older, "to": newest})
            client.request("diff", "GET", f"/api/v1/sections/{section}/diff?{query}", api=True)
        if step % 3 == 0:
            answer = client.request(
                "comment",
                "POST",
                f"/api/v1/sections/{section}/comments",
                payload={"body": f"Anmerkung von Prüfer {index}, Nr. {step}."},
                api=True,
            )
            if answer.status == 201 and answer.json():
                with ledger.lock:
                    ledger.comments.append(int(answer.json()["id"]))
        else:
            client.request("comments", "GET", f"/api/v1/sections/{section}/comments", api=True)
        stop.pause(rng, (opts.think[0] * 1.5, opts.think[1] * 1.5))


def reader(
    world: World, index: int, recorder: Recorder, ledger: Ledger, stop: Stop, opts: Options
) -> None:
    """Log in, read paper pages and section histories, log out and in again now and then."""
    rng = random.Random(opts.seed * 3000 + index)
    email = world.readers[index]["email"]
    client = Client(world.port, recorder)
    logged_in = client.login(email)
    for step in range(1, MAX_STEPS):
        if stop.over():
            break
        if not logged_in:
            logged_in = client.login(email)
            stop.pause(rng, opts.think)
            continue
        paper = rng.choice(world.papers)
        answer = client.request("paper_page", "GET", f"/papers/{paper}")
        if answer.status == 302:
            logged_in = False
            continue
        client.take_csrf(answer)
        section = rng.choice([s for s in world.sections if s["paper"] == paper])["id"]
        client.request("history", "GET", f"/sections/{section}/history")
        if step % opts.relogin_every == 0 and client.csrf:
            client.request("logout", "POST", "/logout", form={"csrf_token": client.csrf})
            logged_in = client.login(email)
        stop.pause(rng, (opts.think[0] * 1.5, opts.think[1] * 1.5))


def exporter(
    world: World, index: int, recorder: Recorder, ledger: Ledger, stop: Stop, opts: Options
) -> None:
    """Request a Word export, follow its progress to the end and download it."""
    rng = random.Random(opts.seed * 4000 + index)
    client = Client(world.port, recorder, world.exporters[index]["token"])
    for _ in range(MAX_STEPS):
        if stop.over():
            break
        paper = rng.choice(world.papers)
        answer = client.request(
            "export", "POST", f"/api/v1/papers/{paper}/exports", payload={}, api=True
        )
        if answer.status == 202 and answer.json():
            export_id = int(answer.json()["id"])
            with ledger.lock:
                ledger.exports.append(export_id)
            for _poll in range(600):
                if stop.over():
                    break
                time.sleep(0.5)
                poll = client.request(
                    "export_poll", "GET", f"/api/v1/exports/{export_id}", api=True
                )
                status = (poll.json() or {}).get("status") if poll.status == 200 else None
                if status == "done":
                    client.request(
                        "download", "GET", f"/api/v1/exports/{export_id}/download", api=True
                    )
                    break
                if status == "failed":
                    break
        stop.pause(rng, (opts.think[0] * 3, opts.think[1] * 3))


def health_probe(world: World, recorder: Recorder, stop: Stop) -> None:
    """Ask /health twice a second: the named peer of the latencies."""
    client = Client(world.port, recorder)
    for _ in range(MAX_STEPS):
        if stop.over():
            break
        client.request("health", "GET", "/health")
        time.sleep(0.5)


# --- the stack --------------------------------------------------------------------------------


@dataclass
class Window:
    """A span of the faulted phase in which a dependency was down or a process killed."""

    name: str
    start: float
    end: float
    note: str = ""


class Stack:
    """PostgreSQL, Redis, gunicorn and a supervised rq worker, all our own, on loopback."""

    def __init__(self, opts: Options, folder: Path) -> None:
        self.opts, self.folder = opts, folder
        self.postgres = Postgres(folder, free_port(opts.pg_port))
        self.redis = RedisServer(folder, free_port(opts.redis_port))
        self.port = free_port(opts.http_port)
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_restarts = 0
        self._supervise = threading.Event()
        self._hold_worker = threading.Event()
        self._supervisor: threading.Thread | None = None
        factory = f"drafting:create_app({{'EXPORT_STALE_SECONDS': {opts.stale_seconds!r}}})"
        self.app_spec = factory
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"},
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "soak-secret-" + os.urandom(8).hex(),
            "INSTANCE_PATH": str(folder / "instance"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "4",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "100000 per minute",
            # The simulated exporters ask far more often than people do; the per-user limit
            # (issue 9 item 14) would answer most of them 429 and hide the Redis outage.
            "EXPORT_RATE_LIMIT": "100000 per minute",
            "MAIL_SERVER": "",
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("RATELIMIT_STORAGE_URI", None)

    def flask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flask"), "--app", self.app_spec, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def setup(self, plan: Plan) -> World:
        """Start the databases, migrate, seed, start gunicorn and the worker."""
        self.postgres.init()
        self.redis.start()
        migrated = self.flask("db", "upgrade")
        if migrated.returncode:
            raise RuntimeError(f"db upgrade failed:\n{migrated.stderr}")
        rng = random.Random(self.opts.seed)
        count = plan.papers * plan.sections_per_paper
        bodies = [
            section_body(rng, [e for e in range(plan.editors) if e % count == s])
            for s in range(count)
        ]
        spec = {
            "password": PASSWORD,
            "editors": plan.editors,
            "reviewers": plan.reviewers,
            "readers": plan.readers,
            "exporters": plan.exporters,
            "papers": plan.papers,
            "sections": plan.sections_per_paper,
            "bodies": bodies,
        }
        seeded = subprocess.run(
            [sys.executable, "-c", SEED, json.dumps(spec)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if seeded.returncode:
            raise RuntimeError(f"seeding failed:\n{seeded.stderr}")
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        self.start_gunicorn()
        self._supervise.set()
        self._supervisor = threading.Thread(target=self._supervise_worker, daemon=True)
        self._supervisor.start()
        return World(
            self.port,
            seed["papers"],
            seed["sections"],
            seed["editors"],
            seed["reviewers"],
            seed["readers"],
            seed["exporters"],
        )

    def start_gunicorn(self) -> None:
        with (self.folder / "gunicorn.log").open("ab") as out:
            self.gunicorn = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    "--no-control-socket",
                    self.app_spec,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log('gunicorn.log')[-3000:]}")
            if len(self.web_workers()) >= 4 and self.health():
                return
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer")

    def health(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def web_workers(self) -> list[int]:
        return children(self.gunicorn.pid) if self.gunicorn else []

    def _start_worker(self) -> None:
        with (self.folder / "worker.log").open("ab") as out:
            self.worker = subprocess.Popen(
                [str(BIN / "flask"), "--app", self.app_spec, "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _supervise_worker(self) -> None:
        """Start the rq worker and start it again whenever it exits (as systemd would)."""
        while self._supervise.is_set():
            if not self._hold_worker.is_set() and (
                self.worker is None or self.worker.poll() is not None
            ):
                if self.worker is not None:
                    self.worker_restarts += 1
                self._start_worker()
            time.sleep(0.5)

    def kill_worker(self, down: float) -> None:
        """Kill the rq worker and its work horse at once, then let the supervisor restart it."""
        self._hold_worker.set()
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
        time.sleep(down)
        self._hold_worker.clear()

    def log(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self._supervise.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for process in (self.worker, self.gunicorn):
            if process is not None and process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.redis.stop()
        if self.postgres.running():
            with suppress(subprocess.SubprocessError):
                self.postgres.stop("immediate")


@contextmanager
def stack(opts: Options) -> Iterator[Stack]:
    """Yield a stack in a temporary folder; stop everything and remove the folder at the end."""
    folder = Path(tempfile.mkdtemp(prefix="kw-soak-"))
    built = Stack(opts, folder)
    try:
        yield built
    finally:
        built.close()
        if os.environ.get("KW_SOAK_KEEP") == "1":
            print(f"  kept the soak's folder (logs, databases): {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


# --- faults -----------------------------------------------------------------------------------


def running_export(url: str) -> bool:
    """Tell whether an export is being built right now (asked of our own PostgreSQL)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            row = conn.execute("SELECT count(*) FROM export WHERE status = 'running'").fetchone()
            return bool(row and row[0])
    except psycopg.Error:
        return False


FAULTS = ("web", "worker", "postgres", "redis")
FAULT_AT = (0.12, 0.30, 0.48, 0.65)  # fractions of the run at which the faults begin


def inject_faults(built: Stack, recorder: Recorder, stop: Stop, windows: list[Window]) -> None:
    """Kill a web worker, kill the rq worker mid-export, restart PostgreSQL, stop Redis."""
    opts = built.opts
    length = opts.seconds

    def now() -> float:
        return time.monotonic() - recorder.origin

    def web() -> None:
        victims = built.web_workers()
        if not victims:
            return
        start = now()
        os.kill(victims[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(built.web_workers()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        windows.append(Window("gunicorn worker killed", start, now(), f"pid {victims[0]}"))
        log(opts, f"killed gunicorn worker {victims[0]}; replaced after {now() - start:.1f} s")

    def worker() -> None:
        deadline = time.monotonic() + length * 0.15
        caught = False
        while time.monotonic() < deadline:
            if running_export(built.postgres.url):
                caught = True
                break
            time.sleep(0.05)
        start = now()
        built.kill_worker(2.0)
        note = "mid-export" if caught else "no export was running at that moment"
        windows.append(Window("rq worker killed", start, now(), note))
        log(opts, f"killed the rq worker ({note}), restarted")

    def postgres() -> None:
        start = now()
        built.postgres.stop("fast")
        time.sleep(1.0)
        built.postgres.start()
        windows.append(Window("PostgreSQL restart", start, now()))
        log(opts, f"restarted PostgreSQL ({now() - start:.1f} s down)")

    def redis() -> None:
        start = now()
        built.redis.stop()
        time.sleep(opts.redis_down_seconds)
        built.redis.start()
        windows.append(Window("Redis stopped", start, now()))
        log(opts, f"Redis was stopped for {now() - start:.1f} s")

    actions = {"web": web, "worker": worker, "postgres": postgres, "redis": redis}
    for fraction, name in zip(FAULT_AT, opts.fault_order, strict=True):
        wait = recorder.origin + fraction * length - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        actions[name]()


# --- a phase of load -------------------------------------------------------------------------


def run_phase(
    built: Stack,
    world: World,
    recorder: Recorder,
    ledger: Ledger,
    phase: str,
    *,
    faults: bool,
) -> list[Window]:
    """Run every user for the phase's length, with or without faults; return fault windows."""
    opts = built.opts
    recorder.begin(phase)
    stop = Stop(recorder.origin + opts.seconds)
    windows: list[Window] = []
    roles: list[tuple[Callable[..., None], int]] = [
        *((editor, i) for i in range(len(world.editors))),
        *((reviewer, i) for i in range(len(world.reviewers))),
        *((reader, i) for i in range(len(world.readers))),
        *((exporter, i) for i in range(len(world.exporters))),
    ]
    threads = [
        threading.Thread(target=fn, args=(world, i, recorder, ledger, stop, opts), daemon=True)
        for fn, i in roles
    ]
    threads.append(threading.Thread(target=health_probe, args=(world, recorder, stop), daemon=True))
    if faults:
        threads.append(
            threading.Thread(
                target=inject_faults, args=(built, recorder, stop, windows), daemon=True
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        # Bounded: users stop at the end time; a request times out after 30 s.
        thread.join(timeout=opts.seconds + opts.redis_down_seconds + 120)
    return windows


# --- consistency ------------------------------------------------------------------------------


@dataclass
class Consistency:
    """What the checks after the run found; empty lists mean all is well."""

    versions: int = 0
    accepted_saves: int = 0
    lost_saves: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    unexplained_versions: list[str] = field(default_factory=list)
    lost_edits: list[str] = field(default_factory=list)
    audit: dict[int, str] = field(default_factory=dict)
    exports: dict[str, int] = field(default_factory=dict)
    stuck_exports: list[int] = field(default_factory=list)
    silent_failures: list[int] = field(default_factory=list)
    drafts_checked: int = 0
    drafts_held: int = 0
    lost_drafts: list[str] = field(default_factory=list)
    comments_checked: int = 0
    lost_comments: list[int] = field(default_factory=list)

    @property
    def audit_broken(self) -> list[int]:
        return [paper for paper, result in self.audit.items() if "intact" not in result]

    def problems(self) -> list[str]:
        found = [*self.lost_saves, *self.gaps, *self.unexplained_versions, *self.lost_edits]
        found += [f"audit log of paper {p} not intact" for p in self.audit_broken]
        found += [f"export {e} stuck" for e in self.stuck_exports]
        found += [f"export {e} failed without a message" for e in self.silent_failures]
        found += self.lost_drafts
        found += [f"comment {c} lost" for c in self.lost_comments]
        return found


def drain_exports(built: Stack, world: World, ledger: Ledger) -> None:
    """Follow unfinished exports as their progress bars would, until done or the drain ends."""
    import psycopg

    dsn = built.postgres.url.replace("postgresql+psycopg://", "postgresql://")
    client = Client(world.port, Recorder(), world.exporters[0]["token"])
    deadline = time.monotonic() + built.opts.drain_seconds
    while time.monotonic() < deadline:
        with psycopg.connect(dsn) as conn:
            open_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM export WHERE status IN ('queued', 'running') ORDER BY id"
                )
            ]
        if not open_ids:
            return
        for export_id in open_ids:
            client.request("export_poll", "GET", f"/api/v1/exports/{export_id}", api=True)
        time.sleep(1.0)


def check(built: Stack, world: World, ledger: Ledger) -> Consistency:
    """Compare what users were told with what the database holds."""
    import psycopg

    result = Consistency()
    drain_exports(built, world, ledger)
    dsn = built.postgres.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT section_id, number, body FROM section_version ORDER BY section_id, number"
        ).fetchall()
        stored: dict[tuple[int, int], str] = {(s, n): b for s, n, b in rows}
        result.versions = len(rows)
        result.accepted_saves = len(ledger.saves)
        for (section, number), body in sorted(ledger.saves.items()):
            if (section, number) not in stored:
                result.lost_saves.append(f"section {section}: accepted version {number} missing")
            elif stored[(section, number)] != body:
                result.lost_saves.append(
                    f"section {section}: version {number} differs from the accepted text"
                )
        heads: dict[int, str] = {}
        for section in {s["id"] for s in world.sections}:
            numbers = sorted(n for s, n in stored if s == section)
            if numbers != list(range(1, len(numbers) + 1)):
                result.gaps.append(f"section {section}: version numbers {numbers} have gaps")
            accepted = sum(1 for s, _n in ledger.saves if s == section)
            # version 1 is the seeded text; any other unacknowledged version must stem from a
            # save whose answer was lost (5xx or no answer)
            extra = len(numbers) - 1 - accepted
            if extra > ledger.unknown_saves.get(section, 0):
                result.unexplained_versions.append(
                    f"section {section}: {extra} versions nobody was told about"
                )
            if numbers:
                heads[section] = stored[(section, numbers[-1])]
        for (editor_index, section), count in sorted(ledger.last_marker.items()):
            found = re.search(rf"e{editor_index}n(\d+)x", heads.get(section, ""))
            if not found or int(found.group(1)) < count:
                result.lost_edits.append(
                    f"section {section}: editor {editor_index}'s accepted text "
                    f"{marker(editor_index, count)} is not in the current version"
                )
        statuses = conn.execute("SELECT id, status, error FROM export").fetchall()
        for export_id, status, error in statuses:
            result.exports[status] = result.exports.get(status, 0) + 1
            if status in ("queued", "running"):
                result.stuck_exports.append(export_id)
            elif status == "failed" and not (error or "").strip():
                result.silent_failures.append(export_id)
        missing_exports = set(ledger.exports) - {row[0] for row in statuses}
        result.stuck_exports += sorted(missing_exports)
        users: dict[str, int] = dict(conn.execute("SELECT email, id FROM user_account").fetchall())
        drafts = {
            (user, section): body
            for user, section, body in conn.execute(
                "SELECT user_id, section_id, body FROM draft"
            ).fetchall()
        }
        for (email, section), allowed in sorted(ledger.drafts.items(), key=str):
            result.drafts_checked += 1
            held = drafts.get((users[email], section))
            result.drafts_held += held is not None
            if held not in allowed:
                result.lost_drafts.append(
                    f"draft of {email} on section {section}: server holds "
                    f"{'nothing' if held is None else 'another text'}"
                )
        comment_ids = {row[0] for row in conn.execute("SELECT id FROM comment").fetchall()}
        result.comments_checked = len(ledger.comments)
        result.lost_comments = [c for c in ledger.comments if c not in comment_ids]
    for paper in world.papers:
        verified = built.flask("audit", "verify", str(paper))
        result.audit[paper] = (verified.stdout + verified.stderr).strip().splitlines()[-1]
    return result


# --- figures ----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def in_window(at: float, windows: list[Window], grace: float) -> Window | None:
    for window in windows:
        if window.start <= at <= window.end + grace:
            return window
    return None


@dataclass
class KindFigures:
    n: int
    p50: float
    p95: float
    server_errors: int
    no_answer: int
    client_errors: int


@dataclass
class Report:
    """Everything the soak measured and found."""

    opts: Options
    plan: Plan
    samples: list[Sample]
    windows: list[Window]
    consistency: Consistency
    worker_restarts: int
    log_tracebacks: int

    def phase(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.phase == name]

    def outside(self, samples: list[Sample]) -> list[Sample]:
        return [
            s
            for s in samples
            if in_window(s.at, self.windows, self.opts.grace) is None
            # a request that started before a fault and ended inside it counts as inside
            and in_window(s.at + s.seconds, self.windows, self.opts.grace) is None
        ]

    def figures(self, samples: list[Sample]) -> dict[str, KindFigures]:
        kinds: dict[str, list[Sample]] = {}
        for sample in samples:
            kinds.setdefault(sample.kind, []).append(sample)
        return {
            kind: KindFigures(
                len(group),
                statistics.median([s.seconds for s in group]),
                percentile([s.seconds for s in group], 0.95),
                sum(1 for s in group if s.status >= 500),
                sum(1 for s in group if s.status == 0),
                sum(1 for s in group if 400 <= s.status < 500),
            )
            for kind, group in sorted(kinds.items())
        }

    def errors_outside(self) -> list[Sample]:
        faulted = self.phase("faults")
        bad = [s for s in faulted if s.status >= 500]
        inside = set(map(id, bad)) - set(map(id, self.outside(bad)))
        return [s for s in bad if id(s) not in inside]

    def save_p95_outside(self) -> float:
        saves = [s.seconds for s in self.outside(self.phase("faults")) if s.kind == "save"]
        return percentile(saves, 0.95)

    def targets(self) -> dict[str, bool]:
        c = self.consistency
        return {
            "0 lost saves": not (c.lost_saves or c.gaps or c.unexplained_versions or c.lost_edits),
            "0 stuck exports": not (c.stuck_exports or c.silent_failures),
            "audit verify intact for every paper": not c.audit_broken,
            "no draft lost": not c.lost_drafts and not c.lost_comments,
            "5xx only while a dependency is down": not self.errors_outside(),
            "p95 save ≤ 150 ms outside the fault windows": self.save_p95_outside() <= 0.150,
        }

    def lines(self) -> list[str]:
        out = []
        for phase in ("calm", "faults"):
            samples = self.phase(phase)
            if not samples:
                continue
            title = "peer: same load, no faults" if phase == "calm" else "with faults"
            server_errors = sum(1 for s in samples if s.status >= 500)
            out.append(
                f"\n  {title}: {len(samples)} requests in {self.opts.seconds:.0f} s "
                f"({len(samples) / self.opts.seconds:.1f}/s), 5xx {server_errors}, "
                f"no answer {sum(1 for s in samples if s.status == 0)}"
            )
            shown = self.outside(samples) if phase == "faults" else samples
            if phase == "faults":
                out.append("    latency outside the fault windows (requests inside excluded):")
            out.append(
                f"    {'kind':<12} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'4xx':>5} {'5xx':>5} "
                f"{'none':>5}   (4xx, 5xx, no answer: whole run)"
            )
            everything = self.figures(samples)
            for kind, fig in self.figures(shown).items():
                total = everything[kind]
                out.append(
                    f"    {kind:<12} {fig.n:>6} {fig.p50 * 1000:>9.1f} {fig.p95 * 1000:>9.1f} "
                    f"{total.client_errors:>5} {total.server_errors:>5} {total.no_answer:>5}"
                )
        faulted = self.phase("faults")
        if faulted:
            out.append(
                "\n  fault windows (seconds into the faulted run; 5xx and no-answer inside):"
            )
            for window in self.windows:
                hits = [
                    s
                    for s in faulted
                    if (s.status >= 500 or s.status == 0)
                    and (
                        in_window(s.at, [window], self.opts.grace)
                        or in_window(s.at + s.seconds, [window], self.opts.grace)
                    )
                ]
                kinds = sorted({f"{s.kind}:{s.status}" for s in hits})
                out.append(
                    f"    {window.name:<24} {window.start:7.1f}–{window.end:7.1f} s "
                    f"{window.note:<12} 5xx {sum(1 for s in hits if s.status >= 500):>4}, "
                    f"no answer {sum(1 for s in hits if s.status == 0):>3}  {' '.join(kinds)}"
                )
            outside = self.errors_outside()
            out.append(f"    5xx outside the windows: {len(outside)}")
            for sample in outside[:10]:
                out.append(
                    f"      {sample.at:7.1f} s {sample.kind} {sample.status}: {sample.detail[:160]}"
                )
            messages = sorted(
                {
                    re.sub(r"\s+", " ", s.detail)[:140]
                    for s in faulted
                    if s.status >= 500 and s.detail
                }
            )
            if messages:
                out.append("    5xx answers seen (first 140 characters, distinct):")
                out.extend(f"      {m}" for m in messages[:8])
            out.append(f"    rq worker restarts by the supervisor: {self.worker_restarts}")
            out.append(f"    tracebacks in the gunicorn log: {self.log_tracebacks}")
        calm, faults = self.figures(self.phase("calm")), self.figures(self.outside(faulted))
        health = faults.get("health")
        out.append("\n  ratios (p50 / p95):")
        for kind in ("save", "autosave", "paper_page", "export_poll"):
            if kind in faults and health:
                ours = faults[kind]
                out.append(
                    f"    {kind:<12} faulted run (outside windows) / health: "
                    f"×{ours.p50 / health.p50:.1f} / ×{ours.p95 / health.p95:.1f}"
                )
            if kind in faults and kind in calm:
                ours, peer = faults[kind], calm[kind]
                out.append(
                    f"    {kind:<12} faulted run (outside windows) / same load without faults: "
                    f"×{ours.p50 / peer.p50:.2f} / ×{ours.p95 / peer.p95:.2f}"
                )
        c = self.consistency
        out.append("\n  consistency after the run:")
        out.append(
            f"    saves: {c.accepted_saves} accepted, {c.versions} versions stored; "
            f"lost {len(c.lost_saves)}, gaps {len(c.gaps)}, unexplained "
            f"{len(c.unexplained_versions)}, edits missing from the head {len(c.lost_edits)}"
        )
        out.append(f"    audit verify: {'; '.join(f'{p}: {r}' for p, r in c.audit.items())}")
        out.append(
            f"    exports: {c.exports}; stuck {len(c.stuck_exports)}, failed without a message "
            f"{len(c.silent_failures)}"
        )
        out.append(
            f"    drafts: {c.drafts_checked} checked ({c.drafts_held} holding autosaved text), "
            f"lost {len(c.lost_drafts)}"
        )
        out.append(f"    comments: {c.comments_checked} accepted, lost {len(c.lost_comments)}")
        for problem in c.problems()[:20]:
            out.append(f"      ✘ {problem}")
        out.append("\n  targets:")
        for name, met in self.targets().items():
            out.append(f"    {name:<48} {'met' if met else 'MISSED'}")
        return out


def run(opts: Options) -> Report:
    """Build the stack, run the peer and the faulted load, check consistency, report."""
    missing = missing_programs()
    if missing:
        raise RuntimeError(f"the soak needs {', '.join(missing)}")
    plan = Plan.for_users(opts.users)
    recorder, ledger = Recorder(), Ledger()
    with stack(opts) as built:
        log(opts, f"setting up: {plan.describe()}")
        world = built.setup(plan)
        log(
            opts,
            f"gunicorn on 127.0.0.1:{built.port}, PostgreSQL on {built.postgres.port}, "
            f"Redis on {built.redis.port}",
        )
        if opts.peer:
            log(opts, f"peer run without faults, {opts.seconds:.0f} s")
            run_phase(built, world, recorder, ledger, "calm", faults=False)
        log(opts, f"run {'with' if opts.faults else 'without'} faults, {opts.seconds:.0f} s")
        windows = run_phase(built, world, recorder, ledger, "faults", faults=opts.faults)
        log(opts, "load over; draining exports and checking consistency")
        consistency = check(built, world, ledger)
        log_text = built.log("gunicorn.log")
        return Report(
            opts,
            plan,
            recorder.samples,
            windows,
            consistency,
            built.worker_restarts,
            log_text.count("Traceback"),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--redis-down", type=float, default=None, help="seconds (default: scaled)")
    parser.add_argument("--no-peer", action="store_true", help="skip the fault-free peer run")
    parser.add_argument("--no-faults", action="store_true", help="run the load without faults")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[2.0, 6.0],
        metavar=("MIN", "MAX"),
        help="seconds between a user's steps (default 2 6)",
    )
    parser.add_argument("--relogin-every", type=int, default=40, help="reader steps per login")
    parser.add_argument("--http-port", type=int, default=5200)
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--redis-port", type=int, default=6391)
    args = parser.parse_args()
    opts = Options(
        users=args.users,
        seconds=args.minutes * 60,
        faults=not args.no_faults,
        peer=not args.no_peer,
        redis_down=args.redis_down,
        http_port=args.http_port,
        pg_port=args.pg_port,
        redis_port=args.redis_port,
        think=(args.think[0], args.think[1]),
        relogin_every=args.relogin_every,
    )
    plan = Plan.for_users(opts.users)
    one, five, _ = os.getloadavg()
    print(
        f"# load and fault soak: {opts.users} users ({plan.describe()}), "
        f"{opts.seconds / 60:g} min{' + the same without faults' if opts.peer else ''}, "
        f"gunicorn -w 4, PostgreSQL, Redis, rq worker"
    )
    print(
        f"# {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load average {one:.1f} / {five:.1f}"
    )
    report = run(opts)
    print("\n".join(report.lines()))
    one, five, _ = os.getloadavg()
    print(f"\n# load average at the end {one:.1f} / {five:.1f}")


if __name__ == "__main__":
    main()
