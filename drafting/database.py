"""Database engine tuning: SQLite in WAL mode with immediate write transactions."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from drafting.extensions import db

# Requests that may write take SQLite's write lock when their transaction starts, so two
# writers queue on the busy timeout instead of failing with "database is locked" on upgrade.
_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=True)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def without_write_lock(app: Flask, endpoints: frozenset[str]) -> None:
    """Let these endpoints start their SQLite transaction as a plain ``BEGIN``: requests that
    write nothing to the database although their method could (presence heartbeats kept in
    Redis), so that they never queue behind saves for the write lock."""
    app.extensions.setdefault("kw_no_write_lock", set()).update(endpoints)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def init_app(app: Flask) -> None:
    """Install per-backend engine settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)

    @app.before_request
    def _choose_transaction_mode() -> None:
        _immediate.set(
            request.method not in SAFE_METHODS
            and request.endpoint not in app.extensions.get("kw_no_write_lock", ())
        )
