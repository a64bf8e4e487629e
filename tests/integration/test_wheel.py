"""A release is a wheel: it holds templates, static files, translations and migrations, and
runs from any directory. Built from a copy of the checkout, installed into a fresh virtual
environment (its dependencies are borrowed from the test environment through a ``.pth`` file,
so the test needs no network), migrated, and served by gunicorn from another directory."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from drafting import ROOT
from tests.conftest import IS_POSTGRES

pytestmark = [
    pytest.mark.slow,
    # The wheel does not depend on the database: run it once, in the SQLite pass.
    pytest.mark.skipif(IS_POSTGRES, reason="runs in the SQLite pass of make test"),
]

SKIP = {".git", ".venv", "instance", "build", "dist", "node_modules", "test-artifacts"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_wheel_installs_and_serves_from_any_directory(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda _dir, names: [
            n for n in names if n in SKIP or n.endswith(".egg-info") or n == "__pycache__"
        ],
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        timeout=300,
    )
    [wheel] = wheels.glob("konzeptwerk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "konzeptwerk_templates/base.html" in names
    assert "konzeptwerk_templates/auth/login.html" in names
    assert "konzeptwerk_migrations/env.py" in names
    assert "konzeptwerk_migrations/alembic.ini" in names
    assert any(n.startswith("konzeptwerk_migrations/versions/") for n in names)
    assert "drafting/translations/de/LC_MESSAGES/messages.mo" in names
    assert "drafting/static/app.css" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies, not the app: the test environment's editable install is not active
    # through a path added by a .pth file.
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "PYTHON", "PYTEST", "PROMETHEUS", "TEST_", "INSTANCE"))
    }
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'release.sqlite3'}"
    where = subprocess.run(
        [str(python), "-c", "import drafting; print(drafting.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(venv)), where

    konzeptwerk = venv / "bin" / "konzeptwerk"
    version = subprocess.run(
        [str(konzeptwerk), "--version"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("Konzeptwerk 0."), version.stdout
    release = version.stdout.split()[1]
    upgrade = subprocess.run(
        [str(konzeptwerk), "db", "upgrade"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert upgrade.returncode == 0, upgrade.stderr

    port = _free_port()
    server = subprocess.Popen(
        [
            str(python),
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "drafting:create_app()",
        ],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                status, page = _get(base + "/login")
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the installed app did not answer")
        assert status == 200
        assert 'name="password"' in page
        assert "Anmelden" in page  # the German catalog is installed
        assert f"Programmstand {release}" in page
        assert _get(base + "/static/app.css")[0] == 200
        status, body = _get(base + "/ready")
        assert status == 200, body
        ready = json.loads(body)
        assert ready["checks"]["schema"] == "ok"
        assert ready["version"] == release
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
