"""Liveness, readiness and draining of a web node, for load balancers and orchestrators.

``GET /health`` answers as long as the process serves requests (liveness: restart me if not).
``GET /ready`` answers 200 only when this node can do real work (readiness: send me traffic):
the database answers, its schema is at the newest migration, Redis answers when configured,
an rq worker and its scheduler are alive, there is disk space for uploads, and the node is not
draining. ``flask --app wsgi node drain`` puts the node into draining (a flag file, by default
``instance/draining``): ``/ready`` turns 503 so the balancer stops sending new requests, while
the requests in flight finish; then the node can be restarted and ``node resume`` run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, current_app, jsonify, redirect, url_for
from flask.cli import AppGroup
from sqlalchemy import text
from werkzeug.wrappers import Response

from drafting.extensions import db

bp = Blueprint("ops", __name__)

OK = "ok"
ABSENT = "absent"  # not configured, so not checked (e.g. Redis in a single-node set-up)


class CheckFailed(Exception):
    """A readiness check found a problem; the message names it (no secrets, no traces)."""


def app_version() -> str:
    """Return the installed package's version (from its metadata)."""
    try:
        return metadata.version("konzeptwerk")
    except metadata.PackageNotFoundError:
        return "unknown"


def drain_file(app: Flask) -> Path:
    """Return the flag file whose presence means this node is draining."""
    return Path(app.config.get("DRAIN_FILE") or Path(app.instance_path) / "draining")


# --- the checks -------------------------------------------------------------------------


def check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as err:
        db.session.rollback()
        raise CheckFailed(f"database does not answer ({type(err).__name__})") from err
    return OK


@lru_cache(maxsize=4)
def _scripts(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    script = ScriptDirectory.from_config(config)
    known = frozenset(rev.revision for rev in script.walk_revisions())
    return frozenset(script.get_heads()), known


def _migration_heads(directory: str) -> frozenset[str]:
    return _scripts(directory)[0]


def schema_ahead(current: frozenset[str]) -> bool:
    """Tell whether the database was migrated by a newer release (revisions this code does not
    know): during a rolling upgrade the old nodes keep serving."""
    directory = str(current_app.extensions["migrate"].directory)
    _heads, known = _scripts(directory)
    return bool(current) and not (current & known)


def schema_heads() -> tuple[frozenset[str], frozenset[str]]:
    """Return (the database's migration revisions, the newest revisions of the code)."""
    from sqlalchemy import inspect

    directory = current_app.extensions["migrate"].directory
    # Read Alembic's table directly: its MigrationContext logs two lines on every call, and
    # balancers call /ready every few seconds.
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            current: frozenset[str] = frozenset()
        else:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            current = frozenset(str(r) for r in rows)
    return current, _migration_heads(str(directory))


def check_schema() -> str:
    try:
        current, heads = schema_heads()
    except Exception as err:
        raise CheckFailed(f"schema version unknown ({type(err).__name__})") from err
    if current != heads and not schema_ahead(current):
        have = ", ".join(sorted(current)) or "none"
        raise CheckFailed(f"schema at {have}, code needs {', '.join(sorted(heads))}")
    return OK


def _redis() -> Any:
    from workflows.jobs import redis_connection

    return redis_connection(str(current_app.config["REDIS_URL"]))


def check_redis() -> str:
    if not current_app.config.get("REDIS_URL"):
        return ABSENT
    try:
        _redis().ping()
    except Exception as err:
        raise CheckFailed(f"Redis does not answer ({type(err).__name__})") from err
    return OK


def check_worker() -> str:
    """A worker listening on every queue has sent a heartbeat within its time to live."""
    if not current_app.config.get("REDIS_URL"):
        return ABSENT
    from rq import Worker

    from workflows.jobs import QUEUES

    try:
        workers = Worker.all(connection=_redis())
    except Exception as err:
        raise CheckFailed(f"worker registry unreadable ({type(err).__name__})") from err
    now = datetime.now(UTC)
    served: set[str] = set()
    for worker in workers:
        beat = worker.last_heartbeat
        if beat is None:
            continue
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if now - beat <= timedelta(seconds=worker.worker_ttl):
            served.update(worker.queue_names())
    unserved = [name for name in QUEUES if name not in served]
    if unserved:
        raise CheckFailed(f"no live worker for queue(s) {', '.join(unserved)}")
    return OK


def check_scheduler() -> str:
    """rq's scheduler holds (and keeps refreshing) a lock per queue while it lives."""
    if not current_app.config.get("REDIS_URL"):
        return ABSENT
    from rq.scheduler import RQScheduler

    from workflows.jobs import QUEUES

    try:
        connection = _redis()
        missing = [q for q in QUEUES if not connection.exists(RQScheduler.get_locking_key(q))]
    except Exception as err:
        raise CheckFailed(f"scheduler locks unreadable ({type(err).__name__})") from err
    if missing:
        raise CheckFailed(f"no live scheduler for queue(s) {', '.join(missing)}")
    return OK


def check_disk() -> str:
    """Uploads are spooled to the temporary folder; the instance folder holds the state."""
    need = int(current_app.config.get("READY_MIN_FREE_BYTES", 0))
    for folder in {tempfile.gettempdir(), current_app.instance_path}:
        free = shutil.disk_usage(folder).free
        if free < need:
            raise CheckFailed(f"only {free // 2**20} MiB free in {folder} (need {need // 2**20})")
    return OK


def check_draining() -> str:
    if drain_file(current_app._get_current_object()).exists():  # type: ignore[attr-defined]
        raise CheckFailed("node is draining")
    return OK


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "schema": check_schema,
    "redis": check_redis,
    "worker": check_worker,
    "scheduler": check_scheduler,
    "disk": check_disk,
    "draining": check_draining,
}


def readiness() -> tuple[bool, dict[str, str], dict[str, str]]:
    """Run every check; return (ready, {name: ok|absent|failed}, {name: what failed})."""
    results: dict[str, str] = {}
    failures: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name in ("schema",) and "database" in failures:
            results[name] = "failed"
            failures[name] = "database does not answer"
            continue
        if name in ("worker", "scheduler") and "redis" in failures:
            results[name] = "failed"
            failures[name] = "Redis does not answer"
            continue
        try:
            results[name] = check()
        except CheckFailed as err:
            results[name] = "failed"
            failures[name] = str(err)
    return not failures, results, failures


# --- the endpoints ------------------------------------------------------------------------


@bp.get("/health")
def health() -> dict[str, str]:
    """Answer that the process is alive (liveness; cheap, touches nothing else)."""
    return {"status": "ok"}


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Point clients that ask for the conventional icon path to the app's SVG icon (pages
    name it in a ``<link rel=icon>``; this answers the rest instead of a 404)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/ready")
def ready() -> Response:
    """Answer 200 when this node can serve real requests, else 503 naming what failed."""
    is_ready, results, failures = readiness()
    body: dict[str, Any] = {
        "status": "ready" if is_ready else "not ready",
        "checks": results,
        "version": app_version(),
    }
    if failures:
        body["failed"] = failures
        current_app.logger.warning("not ready: %s", "; ".join(failures.values()))
    response = jsonify(body)
    response.status_code = 200 if is_ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


# --- draining -----------------------------------------------------------------------------


node_cli = AppGroup("node", help="Take this web node out of the balancer and back (readiness).")


@node_cli.command("drain")
def node_drain() -> None:
    """Make /ready answer 503 so the balancer sends no new requests; requests in flight end."""
    path = drain_file(current_app._get_current_object())  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(datetime.now(UTC).isoformat() + "\n")
    click.echo(f"Draining: /ready answers 503 until `node resume` ({path}).")


@node_cli.command("resume")
def node_resume() -> None:
    """End draining: /ready answers 200 again when every check passes."""
    path = drain_file(current_app._get_current_object())  # type: ignore[attr-defined]
    path.unlink(missing_ok=True)
    click.echo("Not draining.")


@node_cli.command("status")
def node_status() -> None:
    """Print the readiness checks as /ready would; exit 1 when not ready."""
    is_ready, results, failures = readiness()
    for name, result in results.items():
        click.echo(f"{name:<10} {result}" + (f": {failures[name]}" if name in failures else ""))
    if not is_ready:
        raise SystemExit(1)


# --- configuration at start ----------------------------------------------------------------

config_cli = AppGroup("config", help="Show and check the effective configuration.")


@config_cli.command("show")
def config_show() -> None:
    """Print the effective configuration, secrets masked."""
    from drafting.config import masked

    for key, value in masked(dict(current_app.config)).items():
        click.echo(f"{key} = {value!r}")


@config_cli.command("check")
def config_check() -> None:
    """Run the production start-up checks (incl. the schema); exit 1 on any problem."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    problems = start_problems(app, with_schema=True)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("configuration ok")


def start_problems(app: Flask, with_schema: bool) -> list[str]:
    """Name, one line each, what keeps a production node from starting (none elsewhere)."""
    from drafting.config import production_problems

    if app.config.get("KONZEPTWERK_ENV") != "production":
        return []
    problems = production_problems(dict(app.config), app.debug)
    if with_schema and not any("DATABASE_URL" in p for p in problems):
        with app.app_context():
            try:
                current, heads = schema_heads()
            except Exception as err:
                problems.append(f"database not reachable to check the schema ({err})")
            else:
                if current != heads and not schema_ahead(current):
                    problems.append(
                        f"unapplied migration: database at {', '.join(sorted(current)) or 'none'},"
                        f" code needs {', '.join(sorted(heads))} (run flask --app wsgi db upgrade)"
                    )
    return problems


def check_start(app: Flask) -> None:
    """Refuse to start a production node that is misconfigured; log the configuration once.

    The schema is not checked for ``flask`` commands, so ``flask db upgrade`` can run.

    :raises SystemExit: after printing one line per problem.
    """
    import os
    import sys

    from drafting.config import masked

    from_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    problems = start_problems(app, with_schema=not from_cli)
    if problems:
        for problem in problems:
            print(
                f"konzeptwerk refuses to start (KONZEPTWERK_ENV=production): {problem}",
                file=sys.stderr,
            )
        raise SystemExit(1)
    if not app.testing and not from_cli:
        app.logger.info(
            "konzeptwerk %s starting with configuration %s",
            app_version(),
            json.dumps(masked(dict(app.config)), default=str, sort_keys=True),
        )


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform

    click.echo(f"Konzeptwerk {app_version()}")
    click.echo(f"Python {platform.python_version()}")
    for dist in ("flask", "werkzeug", "sqlalchemy", "rq"):
        click.echo(f"{dist} {metadata.version(dist)}")
    ctx.exit()


def main() -> None:
    """The ``konzeptwerk`` command of an installed release: ``flask --app drafting`` plus
    ``--version`` with the app's own version (``konzeptwerk --version``)."""
    from flask.cli import FlaskGroup

    from drafting import create_app

    cli = FlaskGroup(
        name="konzeptwerk",
        create_app=lambda: create_app(),
        add_version_option=False,
        help="Konzeptwerk's commands (the same as `flask --app wsgi …` in a checkout).",
    )
    cli.params.append(
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_version,
            help="Show the versions of Konzeptwerk, Python and the main libraries.",
        )
    )
    cli.main()


def init_app(app: Flask) -> None:
    """Register /health, /ready and the ``node`` and ``config`` commands."""
    app.config.setdefault("READY_MIN_FREE_BYTES", 100 * 2**20)
    app.register_blueprint(bp)
    app.cli.add_command(node_cli)
    app.cli.add_command(config_cli)

    @app.cli.command("version")
    def version_command() -> None:
        """Print the release of Konzeptwerk (``flask --version`` names only Flask's)."""
        click.echo(f"Konzeptwerk {app_version()}")
