"""Save throughput with 20 concurrent editors on one section, on PostgreSQL and on SQLite.

The app runs in gunicorn (4 worker processes) on a freshly migrated database; 20 client
threads each replace a word in their own paragraph and ``PUT /api/v1/sections/<id>`` with the
version they last saw, so most saves merge on top of others. Figures: saves/s, p50/p95
latency, merged saves, conflicts and errors (5xx, "database is locked", other) per backend;
the named peer is ``GET /api/v1/sections/<id>`` by the same 20 clients on the same server
(reads/s), and SQLite against PostgreSQL.

    .venv/bin/python bench/bench_saves.py [--quick] [--database-url POSTGRES_URL]
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import common

CLIENTS = 20
SAVES, QUICK_SAVES = 25, 6


@dataclass
class Tally:
    """What one client saw."""

    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    merged: int = 0
    unchanged: int = 0
    conflicts: int = 0
    server_errors: int = 0
    locked: int = 0
    other_errors: int = 0


def body() -> str:
    return "\n\n".join(
        f"Absatz {i}: Der Beitrag der Partnerorganisation {i} lautet c{i}n0x und wird im "
        f"Bündnis abgestimmt; die Fassung gilt bis zur nächsten Sitzung des Lenkungskreises."
        for i in range(CLIENTS)
    )


def saver(
    server: common.Server, index: int, saves: int, start: threading.Barrier, tally: Tally
) -> None:
    token = server.tokens[index]
    path = f"/api/v1/sections/{server.section_id}"
    own = re.compile(rf"c{index}n\d+x")
    start.wait()
    status, data, _raw = server.request("GET", path, token)
    text, base = data["body"], data["version"]
    for save in range(1, saves + 1):
        payload = {"body": own.sub(f"c{index}n{save}x", text, count=1), "base_version": base}
        started = time.perf_counter()
        status, data, raw = server.request("PUT", path, token, payload)
        tally.latencies.append(time.perf_counter() - started)
        if "database is locked" in raw:
            tally.locked += 1
        if status == 200:
            tally.accepted += data["created"]
            tally.merged += data["created"] and data["merged"]
            tally.unchanged += not data["created"]
            text, base = data["body"], data["version"]
        elif status == 409 and data and data["error"]["code"] == "edit_conflict":
            tally.conflicts += 1
            if "current" in data:
                text, base = data["current"]["body"], data["current"]["version"]
        elif status >= 500:
            tally.server_errors += 1
        else:
            tally.other_errors += 1


def reader(
    server: common.Server, index: int, reads: int, start: threading.Barrier, tally: Tally
) -> None:
    path = f"/api/v1/sections/{server.section_id}"
    start.wait()
    for _ in range(reads):
        started = time.perf_counter()
        status, _data, raw = server.request("GET", path, server.tokens[index])
        tally.latencies.append(time.perf_counter() - started)
        if status >= 500:
            tally.server_errors += 1
        if "database is locked" in raw:
            tally.locked += 1


def run(
    server: common.Server, target: Callable[..., None], per_client: int
) -> tuple[float, list[Tally]]:
    """Run the clients together; return the elapsed seconds and their tallies."""
    tallies = [Tally() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1)
    threads = [
        threading.Thread(target=target, args=(server, i, per_client, start, tallies[i]))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, tallies


@dataclass
class Result:
    backend: str
    saves_per_second: float
    reads_per_second: float


def bench(url: str, label: str, saves: int) -> Result:
    with (
        common.database(url) as database_url,
        common.served(database_url, body=body(), clients=CLIENTS) as server,
    ):
        elapsed, tallies = run(server, saver, saves)
        reads_elapsed, readers = run(server, reader, saves)
        log = server.log.read_text(errors="replace")
    total = CLIENTS * saves
    latency = common.stats([x for t in tallies for x in t.latencies])
    read_latency = common.stats([x for t in readers for x in t.latencies])
    accepted = sum(t.accepted for t in tallies)
    print(f"\n  {label}: {CLIENTS} clients × {saves} saves = {total} PUTs in {elapsed:.1f} s")
    print(
        f"    saves/s {accepted / elapsed:7.1f}   requests/s {total / elapsed:7.1f}   "
        f"latency p50 {latency.p50 * 1000:.0f} ms  p95 {latency.p95 * 1000:.0f} ms"
    )
    print(
        f"    accepted {accepted} (merged {sum(t.merged for t in tallies)}), "
        f"unchanged {sum(t.unchanged for t in tallies)}, "
        f"conflicts {sum(t.conflicts for t in tallies)}"
    )
    print(
        f"    errors: 5xx {sum(t.server_errors for t in tallies)}, "
        f"'database is locked' {sum(t.locked for t in tallies)} in answers and "
        f"{log.count('database is locked')} in the server log, "
        f"other {sum(t.other_errors for t in tallies)}, "
        f"tracebacks in the log {log.count('Traceback')}"
    )
    reads = CLIENTS * saves / reads_elapsed
    print(
        f"    peer: GET of the section, same clients: {reads:7.1f} reads/s, "
        f"p50 {read_latency.p50 * 1000:.0f} ms  p95 {read_latency.p95 * 1000:.0f} ms; "
        f"saves/reads ×{accepted / elapsed / reads:.2f}; read errors "
        f"{sum(t.server_errors + t.locked for t in readers)}"
    )
    return Result(label, accepted / elapsed, reads)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    saves = QUICK_SAVES if args.quick else SAVES
    common.header(f"save throughput, {CLIENTS} concurrent editors, gunicorn -w 4", args.quick)
    pg_url = args.database_url or common.DEFAULT_PG_URL
    results = []
    if common.postgres_answers(pg_url):
        results.append(bench(pg_url, "PostgreSQL", saves))
    else:
        print(f"\n  PostgreSQL: not reachable at {pg_url} — skipped")
    results.append(bench("", "SQLite (WAL)", saves))
    if len(results) == 2:
        sqlite, postgres = results[1].saves_per_second, results[0].saves_per_second
        print(f"\n  SQLite / PostgreSQL saves/s ×{sqlite / postgres:.2f}")


if __name__ == "__main__":
    main()
