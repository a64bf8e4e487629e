"""Shared fixtures: an app on a fresh database, clients, a login helper and factories.

The backend comes from ``TEST_DATABASE_URL``: unset means a fresh SQLite file per test;
a PostgreSQL URL means one schema per test session, emptied with TRUNCATE after each test.
``make test`` runs the suite once for each backend.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, make_url, text

from drafting import create_app
from drafting.extensions import db, limiter
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _ensure_pg_database(raw_url: str) -> None:
    url = make_url(raw_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            )
            if not exists:
                quoted = conn.dialect.identifier_preparer.quote(str(url.database))
                conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


# Under pytest-xdist every worker gets a database of its own (``<name>_gw0`` …), so the
# PostgreSQL pass runs in parallel too. Set before the test modules read the variable.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if IS_POSTGRES and _XDIST_WORKER:
    _url = make_url(TEST_DATABASE_URL)
    TEST_DATABASE_URL = _url.set(database=f"{_url.database}_{_XDIST_WORKER}").render_as_string(
        hide_password=False
    )
    os.environ["TEST_DATABASE_URL"] = TEST_DATABASE_URL
    _ensure_pg_database(TEST_DATABASE_URL)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {'PostgreSQL' if IS_POSTGRES else 'SQLite'}"


def base_config(tmp_path: Path) -> dict[str, Any]:
    """Return the configuration every test app gets."""
    uri = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    engine_options: dict[str, Any] = {"pool_pre_ping": True}
    if IS_POSTGRES:
        # Test data need not survive a crash: no waiting for the WAL flush on every commit.
        engine_options["connect_args"] = {"options": "-c synchronous_commit=off"}
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Login throttling in this process: fast; tests of the shared stores set their own.
        "LOGIN_THROTTLE_STORAGE": "memory://",
        "REDIS_URL": None,
        "MAIL_SERVER": None,
        # Cheap password hashing keeps the suite fast; production uses the defaults.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        # No LibreOffice layout pass per export; tests of the page numbers switch it on.
        "EXPORT_TOC_PAGES": False,
    }


_pg_schema_ready = False


def _prepare_schema(app: Flask) -> None:
    global _pg_schema_ready
    with app.app_context():
        if not IS_POSTGRES:
            db.create_all()
            return
        if not _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready = True


def _empty_postgres(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        # DELETE is far cheaper than TRUNCATE on tables this small; replica mode skips the
        # foreign-key triggers, so the tables that point at each other need no ordering.
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
        db.engine.dispose()


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """Create an app on an empty database (used by fixtures and tests needing own config)."""
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path / "instance"))
    config = base_config(tmp_path)
    config.update(overrides)
    app = create_app(config)
    _prepare_schema(app)
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An application on an empty database, inside an application context."""
    application = make_app(tmp_path)
    limiter.reset()
    with application.app_context():
        yield application
        db.session.remove()
    if IS_POSTGRES:
        _empty_postgres(application)
    else:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = factories.PASSWORD) -> Any:
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Login helper bound to the test client."""
    return AuthActions(client)


@pytest.fixture
def world(app: Flask) -> factories.World:
    """A small alliance: a ministry-led paper with members of each role and an outsider."""
    return factories.world()


def api_headers(token: str) -> dict[str, str]:
    """Return the headers of an authenticated API request."""
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# --- Required services: in CI nothing that needs a service or a browser may skip ------------

SERVICE_MARKERS = ("browser", "postgres", "redis", "node")


def services_required() -> bool:
    """Tell whether a skipped browser/PostgreSQL/Redis/Node test must fail (CI, ``.ci/run``)."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("KONZEPTWERK_REQUIRE_SERVICES") == "1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under `pytest -n 2 --dist loadgroup` all Redis tests go to one worker: one server.
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            if item.get_closest_marker("redis"):
                item.add_marker(pytest.mark.xdist_group("redis"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.skipped and services_required() and not hasattr(report, "wasxfail"):
        needs = [name for name in SERVICE_MARKERS if item.get_closest_marker(name)]
        if needs:
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            report.outcome = "failed"
            report.longrepr = (
                f"{'/'.join(needs)} test skipped, but this run requires it "
                f"(CI=true or KONZEPTWERK_REQUIRE_SERVICES=1): {reason}"
            )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report: pytest.CollectReport = yield
    browser_dir = Path(__file__).parent / "browser"
    path = Path(str(collector.path))
    if report.skipped and services_required() and browser_dir in (path, *path.parents):
        report.outcome = "failed"
        report.longrepr = (
            f"browser tests skipped at collection, but this run requires them: {report.longrepr!r}"
        )
    return report
