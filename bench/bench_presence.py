"""Presence heartbeats: server time per heartbeat, and what 20 heartbeating editors cost a save run.

1. ``POST /api/v1/sections/<id>/presence`` in-process (Flask's test client, server time
   without the network) with 20 editors present on the section, p50/p95 wall and CPU, on
   SQLite, PostgreSQL (when it answers) and Redis (database 2 of 127.0.0.1:6379, when it
   answers); peer: ``GET /health`` in the same app. Target: p95 ≤ 10 ms.
2. The save benchmark of ``bench_saves.py`` (20 clients × 25 saves against gunicorn -w 4,
   SQLite) twice: alone, and with 20 more clients sending a heartbeat every 10 s each; the
   server's CPU time (gunicorn master and workers, from /proc) of both runs. Target: the
   heartbeats add ≤ 5 %.

    .venv/bin/python bench/bench_presence.py [--quick] [--database-url POSTGRES_URL]
        [--redis-url redis://127.0.0.1:6379/2] [--part heartbeats|overhead]
        [--rounds N] [--before CHECKOUT]

``--before CHECKOUT`` (a copy of the code before a change, e.g. ``git archive <commit> | tar
-x -C /tmp/before``): part 2 serves both checkouts and alternates four runs per round —
before alone, before with heartbeats, after alone, after with heartbeats (every other round
with heartbeats first) — so that the machine's other load falls on all of them alike. For
part 1, run this script from the checkout's own ``bench/`` (copy this one there) right
before or after this one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import tempfile
import threading
from pathlib import Path

import bench_saves
import common

EDITORS = 20
BEATS, QUICK_BEATS = 400, 100
REDIS_URL = "redis://127.0.0.1:6379/2"


def seed(app) -> tuple[int, list[str]]:
    """Make a paper with one section and 20 editors with API tokens; return ids and tokens."""
    from drafting.extensions import db
    from drafting.models import OrgKind, Role
    from workflows import accounts
    from workflows import papers as paper_flow
    from workflows import sections as section_flow

    with app.app_context():
        ministry = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
        city = accounts.create_organisation("Stadt Bench", "CITY", OrgKind.MUNICIPALITY)
        lead = accounts.create_user(
            "lead@bench.example", "Lea Leitung", ministry, "bench-password-1", check_strength=False
        )
        paper = paper_flow.create_paper(lead, "Benchmark-Papier", "")
        paper_flow.add_participant(lead, paper.id, "CITY")
        tokens = []
        for n in range(EDITORS):
            user = accounts.create_user(
                f"editor{n}@bench.example",
                f"Redaktion {n}",
                city,
                "bench-password-1",
                check_strength=False,
            )
            paper_flow.grant_role(lead, paper.id, user.email, Role.EDITOR)
            tokens.append(accounts.create_token(user, "bench")[1])
        section = section_flow.add_section(
            lead, paper.id, title="Abschnitt", body=bench_saves.body()
        )
        section_id = section.id
        db.session.remove()
    return section_id, tokens


def heartbeats(database_url: str, redis_url: str | None, beats: int, label: str) -> common.Stats:
    """Measure heartbeats in-process with every editor present; print and return the figures."""
    with tempfile.TemporaryDirectory(prefix="kw-bench-presence-") as tmp:
        app = common.make_app(database_url, Path(tmp) / "instance")
        app.config["PRESENCE_STORAGE"] = redis_url or "database"
        from drafting import presence

        presence.init_app(app)
        if redis_url:
            store = app.extensions["kw_presence"]
            store.redis.flushdb()
        section_id, tokens = seed(app)
        client = app.test_client()
        path = f"/api/v1/sections/{section_id}/presence"
        headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
        rng = random.Random(2)

        def beat() -> None:
            response = client.post(path, json={"editing": True}, headers=rng.choice(headers))
            assert response.status_code == 200, response.get_data(as_text=True)

        for header in headers:  # everyone present, so each answer lists 19 others
            client.post(path, json={"editing": True}, headers=header)
        measured = common.timed(beat, beats, warmup=20)
        health = common.timed(lambda: client.get("/health"), beats, warmup=20)
        others = len(client.get(path, headers=headers[0]).get_json()["others"])
        common.line(f"{label}: heartbeat ({others} others)", measured)
        common.line(f"{label}: peer GET /health", health)
        common.ratio(f"{label}: heartbeat / health", measured, health)
        common.verdict(f"{label} heartbeat p95 (wall)", measured.p95 * 1000, 10)
        # On a shared, busy machine wall clock includes waiting for a core: CPU is the cost.
        common.verdict(f"{label} heartbeat p95 (CPU)", measured.cpu_p95 * 1000, 10)
        if redis_url:
            app.extensions["kw_presence"].redis.flushdb()
    return measured


def server_cpu(port: int) -> float:
    """Return the CPU seconds (user + system) of the gunicorn processes serving on the port."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if f"127.0.0.1:{port}".encode() not in cmdline or b"gunicorn" not in cmdline:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14–17 (here 11–14 after the name).
        total += sum(int(value) for value in fields[11:15]) / ticks
    return total


def heartbeater(
    server: common.Server, token: str, stop: threading.Event, sent: list[int], every: float
) -> None:
    path = f"/api/v1/sections/{server.section_id}/presence"
    stop.wait(random.uniform(0, every))  # noqa: S311 - spread the editors, not a secret
    while not stop.is_set():
        status, _data, _raw = server.request("POST", path, token, {"editing": True})
        sent[0 if status == 200 else 1] += 1
        stop.wait(every)


def served_heartbeat_cpu(server: common.Server, beats: int) -> float:
    """Return the server's CPU seconds per heartbeat, sent one after another by 20 editors."""
    path = f"/api/v1/sections/{server.section_id}/presence"
    for token in server.tokens:  # everyone present, as in part 1
        server.request("POST", path, token, {"editing": True})
    before = server_cpu(server.port)
    for n in range(beats):
        status, _data, raw = server.request(
            "POST", path, server.tokens[n % len(server.tokens)], {"editing": True}
        )
        assert status == 200, raw
    return (server_cpu(server.port) - before) / beats


def save_run(
    server: common.Server, saves: int, with_heartbeats: bool
) -> tuple[float, float, list[int]]:
    """Run the save benchmark once; return elapsed seconds, server CPU seconds, beats ok/failed."""
    stop = threading.Event()
    sent = [0, 0]
    beaters = []
    if with_heartbeats:
        beaters = [
            threading.Thread(target=heartbeater, args=(server, token, stop, sent, 10.0))
            for token in server.tokens
        ]
        for thread in beaters:
            thread.start()
    before = server_cpu(server.port)
    elapsed, tallies = bench_saves.run(server, bench_saves.saver, saves)
    cpu = server_cpu(server.port) - before
    stop.set()
    for thread in beaters:
        thread.join()
    errors = sum(t.server_errors + t.locked + t.other_errors for t in tallies)
    if errors:
        print(f"    (save errors: {errors})")
    # How the saves interleaved: merges and conflicts cost CPU of their own, and their number
    # changes from run to run with or without heartbeats.
    print(
        f"      (merged {sum(t.merged for t in tallies)}, "
        f"conflicts {sum(t.conflicts for t in tallies)}, "
        f"unchanged {sum(t.unchanged for t in tallies)})"
    )
    return elapsed, cpu, sent


def overhead(saves: int, rounds: int, before: Path | None = None) -> None:
    """Compare the server CPU of the save run with and without 20 heartbeating editors."""
    checkouts = [("before", before), ("after", common.ROOT)] if before else [("", common.ROOT)]
    with contextlib.ExitStack() as stack:
        servers = []
        for label, root in checkouts:
            database_url = stack.enter_context(common.database(""))
            server = stack.enter_context(
                common.served(
                    database_url, body=bench_saves.body(), clients=bench_saves.CLIENTS, root=root
                )
            )
            bench_saves.run(server, bench_saves.saver, 2)  # warm up the workers
            servers.append((label, server))
        for label, server in servers:
            per_beat = served_heartbeat_cpu(server, 20 if saves < bench_saves.SAVES else 200)
            name = f"{label}: " if label else ""
            print(
                f"    {name}server CPU per heartbeat over HTTP (gunicorn, nothing else running "
                f"on it): {per_beat * 1000:.2f} ms"
            )
        runs: dict[str, dict[bool, list[tuple[float, float]]]] = {
            label: {False: [], True: []} for label, _root in checkouts
        }
        beats = {label: [0, 0] for label, _root in checkouts}
        # Alternate the kinds so that the machine's other load falls on all of them alike, and
        # their order every round: each run adds 500 versions to the section, and a later
        # run on a longer history costs a little more.
        for number in range(rounds):
            order = (False, True) if number % 2 == 0 else (True, False)
            for label, server in servers:
                for with_heartbeats in order:
                    elapsed, cpu, sent = save_run(server, saves, with_heartbeats)
                    runs[label][with_heartbeats].append((elapsed, cpu))
                    beats[label][0] += sent[0]
                    beats[label][1] += sent[1]
                    kind = "with heartbeats" if with_heartbeats else "alone"
                    print(
                        f"    round {number + 1} {label or 'saves'} {kind}: {elapsed:6.1f} s wall,"
                        f" server CPU {cpu:6.2f} s" + (f", {sent[0]} heartbeats" * with_heartbeats)
                    )
    if not rounds:
        return
    print(
        f"\n  save run ({bench_saves.CLIENTS} clients × {saves} saves, SQLite, gunicorn -w 4), "
        f"mean of {rounds} rounds each ({common.load()}):"
    )
    for label, _root in checkouts:
        alone, beating = runs[label][False], runs[label][True]
        cpu_alone = sum(c for _e, c in alone) / len(alone)
        cpu_beating = sum(c for _e, c in beating) / len(beating)
        wall_alone = sum(e for e, _c in alone) / len(alone)
        wall_beating = sum(e for e, _c in beating) / len(beating)
        answered, failed = beats[label]
        name = f"{label}: " if label else ""
        print(
            f"    {name}peer: saves alone        {wall_alone:6.1f} s wall   "
            f"server CPU {cpu_alone:6.2f} s"
        )
        print(
            f"    {name}saves + 20 heartbeaters  {wall_beating:6.1f} s wall   server CPU "
            f"{cpu_beating:6.2f} s   ({answered} heartbeats answered, {failed} failed)"
        )
        added = (cpu_beating - cpu_alone) / cpu_alone * 100
        if answered:
            per_beat = (cpu_beating - cpu_alone) * rounds / answered * 1000
            print(f"    {name}server CPU per heartbeat (added CPU / heartbeats) {per_beat:.1f} ms")
        print(f"    {name}server CPU with / without heartbeats ×{cpu_beating / cpu_alone:.3f}")
        common.verdict(f"{name}CPU added by 20 heartbeating editors", added, 5, "%")


def _option(name: str, default: str | None = None) -> str | None:
    """Take ``name VALUE`` out of the command line (common.arguments knows only its own)."""
    if name not in sys.argv:
        return default
    at = sys.argv.index(name)
    value = sys.argv[at + 1]
    del sys.argv[at : at + 2]
    return value


def main() -> None:
    redis_url = _option("--redis-url", REDIS_URL) or REDIS_URL
    part = _option("--part", "both")
    before = _option("--before")
    rounds_asked = _option("--rounds")
    args = common.arguments(__doc__.splitlines()[0])
    beats = QUICK_BEATS if args.quick else BEATS
    # Request lines and the seed's security events would drown the figures.
    logging.disable(logging.WARNING)
    common.header("presence heartbeats", args.quick)
    if part in ("both", "heartbeats"):
        print("\n  heartbeat, server time (in-process, 20 editors present):")
        with common.database("") as url:
            heartbeats(url, None, beats, "SQLite")
        pg_url = args.database_url or common.DEFAULT_PG_URL
        if common.postgres_answers(pg_url):
            with common.database(pg_url) as url:
                heartbeats(url, None, beats, "PostgreSQL")
        else:
            print(f"  PostgreSQL: not reachable at {pg_url} — skipped")
        try:
            from redis import Redis

            Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        except Exception as err:  # noqa: BLE001 - any failure means: skip this backend
            print(f"  Redis: not reachable at {redis_url} ({err}) — skipped")
        else:
            with common.database("") as url:
                heartbeats(url, redis_url, beats, "Redis")
    if part in ("both", "overhead"):
        rounds = int(rounds_asked) if rounds_asked else (1 if args.quick else 3)
        saves = bench_saves.QUICK_SAVES if args.quick else bench_saves.SAVES
        overhead(saves, rounds, Path(before).resolve() if before else None)


if __name__ == "__main__":
    main()
