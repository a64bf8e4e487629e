"""``flask db upgrade`` on an empty database builds exactly the schema of the models.

On SQLite the database is a new file; on PostgreSQL a temporary database on the test
server, dropped afterwards. Alembic's ``compare_metadata`` then lists every difference
between the migrated schema and the models' metadata: there must be none.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from drafting import ROOT, create_app
from drafting.extensions import db
from drafting.models import User
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL, base_config
from workflows import search as search_flow

# migrations/env.py (Flask-Migrate's template) tries Flask-SQLAlchemy 2's get_engine() first;
# Flask-SQLAlchemy 3.1 answers with a DeprecationWarning, and then env.py uses db.engine.
pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


@pytest.fixture
def kept_logging() -> Iterator[None]:
    """Undo the logging setup of Alembic's env.py (fileConfig disables existing loggers)."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger(name) for name in list(manager.loggerDict)]
    saved = [(lg, lg.disabled, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    root = logging.getLogger()
    root_state = (root.level, list(root.handlers))
    yield
    for lg, disabled, level, handlers, propagate in saved:
        lg.disabled, lg.level, lg.handlers, lg.propagate = disabled, level, handlers, propagate
    root.level, root.handlers = root_state[0], root_state[1]


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """Return the URL of a database with no tables at all."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    server = make_url(TEST_DATABASE_URL)
    name = f"konzeptwerk_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated(empty_database: str, tmp_path: Path, kept_logging: None) -> Iterator[Flask]:
    """An app whose empty database was brought up to date by ``flask db upgrade``."""
    config = base_config(tmp_path)
    config["SQLALCHEMY_DATABASE_URI"] = empty_database
    app = create_app(config)
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


# The full-text index lives beside the models on purpose (FTS5 tables on SQLite, a generated
# tsvector column and its GIN index on PostgreSQL), created by the same DDL in the models'
# "after_create" hooks and in the migration; autogenerate cannot know them.
SEARCH_INDEX_TABLES = {
    "search_fts",
    "search_fts_config",
    "search_fts_data",
    "search_fts_docsize",
    "search_fts_idx",
}
SEARCH_INDEX_COLUMNS = {("search_entry", "tsv")}
SEARCH_INDEX_NAMES = {"ix_search_entry_tsv", "ix_search_entry_narrow"}


def _not_search_index(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table":
        return name not in SEARCH_INDEX_TABLES
    if type_ == "column":
        return (obj.table.name, name) not in SEARCH_INDEX_COLUMNS
    if type_ == "index":
        return name not in SEARCH_INDEX_NAMES
    return True


def differences() -> list[Any]:
    """List what autogenerate would change to bring the migrated database to the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _not_search_index}
        )
        return list(compare_metadata(context, db.metadata))


def test_upgrade_builds_the_models_schema(migrated: Flask) -> None:
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"} - SEARCH_INDEX_TABLES
    assert tables == set(db.metadata.tables)
    assert differences() == []


def test_upgrade_creates_every_column(migrated: Flask) -> None:
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        columns = {
            c["name"]: c
            for c in inspector.get_columns(table.name)
            if (table.name, c["name"]) not in SEARCH_INDEX_COLUMNS
        }
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (
                f"{table.name}.{column.name}"
            )


def test_upgrade_reaches_the_single_head(migrated: Flask) -> None:
    """Migrations form one line: two heads would mean two engineers' revisions never met."""
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    assert len(heads) == 1, heads
    with db.engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert current == heads


def test_upgrade_builds_the_full_text_index(migrated: Flask) -> None:
    """The search index the models build beside their tables is built by the migrations too."""
    names = {index["name"] for index in inspect(db.engine).get_indexes("search_entry")}
    expected = {"ix_search_entry_tsv"} if IS_POSTGRES else {"ix_search_entry_narrow"}
    assert names & SEARCH_INDEX_NAMES == expected
    # The query names its index on SQLite: it runs on the migrated schema.
    assert search_flow.search(User(organisation_id=1), "Leerstand").total == 0
