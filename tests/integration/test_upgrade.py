"""Upgrading a database of the previous release, with its data, to this release (PostgreSQL).

The previous release's code is taken from git (tag ``v0.1.0``, else the commit it was cut
from; ``KONZEPTWERK_PREVIOUS_RELEASE`` names another ref): it migrates an empty database and
loads the demo alliance; then this release's ``db upgrade`` must bring it to the newest
revision with every row kept and the activity hash chains and editions intact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from drafting import ROOT
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# The first release, before there were tags (tell apart from a moving branch name).
RELEASE_0_1_0 = "7275de9"
COUNTED = ("organisation", "user_account", "paper", "section", "section_version", "activity_entry")


def previous_release() -> str:
    wanted = os.environ.get("KONZEPTWERK_PREVIOUS_RELEASE")
    if wanted:
        return wanted
    tags = subprocess.run(
        ["git", "tag", "--list", "v0.1.0"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    return "v0.1.0" if tags.strip() else RELEASE_0_1_0


@pytest.fixture
def database() -> Iterator[str]:
    if not IS_POSTGRES:
        pytest.skip("the upgrade test runs in the PostgreSQL pass")
    server = make_url(TEST_DATABASE_URL)
    name = f"konzeptwerk_upgrade_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def flask(cwd: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"flask {' '.join(args)} in {cwd}:\n{result.stderr}"
    return result.stdout


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.scalar(text(f'SELECT count(*) FROM "{t}"')) or 0)  # noqa: S608
                for t in COUNTED
            }
    finally:
        engine.dispose()


def test_upgrade_from_the_previous_release_keeps_the_data(tmp_path: Path, database: str) -> None:
    ref = previous_release()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, timeout=120)
    if archive.returncode != 0:
        pytest.skip(f"git cannot give the previous release {ref}: {archive.stderr.decode()}")
    old = tmp_path / "previous"
    old.mkdir()
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(old, filter="data")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "PYTEST", "TEST_", "INSTANCE", "PYTHONPATH"))
    }
    env.update(DATABASE_URL=database, SECRET_KEY="upgrade-test", INSTANCE_PATH=str(tmp_path / "i"))
    # The old release's code, from its own folder (it comes first on sys.path).
    flask(old, env, "db", "upgrade")
    loaded = flask(old, env, "demo")
    assert "Demo alliance loaded" in loaded
    before = counts(database)
    assert before["paper"] > 0 and before["activity_entry"] > 0
    shutil.rmtree(old)

    # This release.
    flask(ROOT, env, "db", "upgrade")
    current = flask(ROOT, env, "db", "current")
    assert "(head)" in current
    after = counts(database)
    assert after == before
    assert "are intact" in flask(ROOT, env, "audit", "verify", "--all")
    assert "match their hashes" in flask(ROOT, env, "editions", "verify", "--all")
    # The upgraded data is usable: the demo logins still work.
    assert "koordination@mwi.example" in flask(ROOT, env, "demo-logins")
