"""Configuration checked at start: booleans in every spelling, production refuses what is
only fine on a laptop (one clear line each), ``config show`` masks secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from drafting import create_app
from drafting.config import ConfigurationError, parse_bool
from tests.conftest import base_config
from tests.integration.test_ready import stamp, unstamp


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "yes", "on", " On "])
def test_true_spellings(word: str) -> None:
    assert parse_bool("X", word) is True


@pytest.mark.parametrize("word", ["0", "false", "no", "off", "", "False"])
def test_false_spellings(word: str) -> None:
    assert parse_bool("X", word) is False


def test_unknown_boolean_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="X='maybe' is not a boolean"):
        parse_bool("X", "maybe")


def test_cookie_secure_and_mail_tls_understand_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("MAIL_USE_TLS", "yes")
    app = create_app(base_config(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["MAIL_USE_TLS"] is True


def test_bad_boolean_stops_the_start_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "ja")
    with pytest.raises(SystemExit):
        create_app(base_config(tmp_path))
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "konzeptwerk refuses to start: SESSION_COOKIE_SECURE='ja' is not a boolean "
        "(use 1/true/yes/on or 0/false/no/off)"
    ]


def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KONZEPTWERK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)


def prod_config(tmp_path: Path) -> dict[str, object]:
    config = base_config(tmp_path)
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    return config


@pytest.mark.parametrize(
    ("unset", "line"),
    [
        ("SECRET_KEY", "SECRET_KEY is not set"),
        ("DATABASE_URL", "DATABASE_URL is not set"),
    ],
)
def test_production_refuses_missing_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unset: str,
    line: str,
) -> None:
    production_env(monkeypatch, tmp_path)
    monkeypatch.delenv(unset)
    with pytest.raises(SystemExit):
        create_app(prod_config(tmp_path))
    lines = capsys.readouterr().err.strip().splitlines()
    # One line per problem (the schema of the empty database is behind too).
    assert all(
        x.startswith("konzeptwerk refuses to start (KONZEPTWERK_ENV=production): ") for x in lines
    )
    assert len([x for x in lines if line in x]) == 1


def test_production_refuses_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    production_env(monkeypatch, tmp_path)
    config = prod_config(tmp_path)
    config["DEBUG"] = True
    with pytest.raises(SystemExit):
        create_app(config)
    assert "debug mode is on" in capsys.readouterr().err


def test_production_refuses_an_unapplied_migration_but_flask_commands_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    production_env(monkeypatch, tmp_path)
    with pytest.raises(SystemExit):
        create_app(prod_config(tmp_path))
    err = capsys.readouterr().err
    assert "unapplied migration: database at none, code needs" in err
    assert "flask --app wsgi db upgrade" in err

    # `flask db upgrade` itself must be able to start.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    app = create_app(prod_config(tmp_path))
    result = app.test_cli_runner().invoke(args=["config", "check"])
    assert result.exit_code == 1
    assert "unapplied migration" in result.output

    stamp(app)
    try:
        monkeypatch.delenv("FLASK_RUN_FROM_CLI")
        ready: Flask = create_app(prod_config(tmp_path))
        assert ready.config["KONZEPTWERK_ENV"] == "production"
        result = ready.test_cli_runner().invoke(args=["config", "check"])
        assert result.exit_code == 0, result.output
    finally:
        unstamp(app)


def test_config_show_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = base_config(tmp_path)
    config["SECRET_KEY"] = "very-secret-value"
    config["MAIL_PASSWORD"] = "mail-secret-value"
    config["REDIS_URL"] = "redis://:redis-secret@127.0.0.1:6379/0"
    config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://kw:db-secret@db/konzeptwerk"
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["config", "show"])
    assert result.exit_code == 0
    out = result.output
    for secret in ("very-secret-value", "mail-secret-value", "redis-secret", "db-secret"):
        assert secret not in out
    assert "SECRET_KEY = '***'" in out
    assert "SQLALCHEMY_DATABASE_URI = 'postgresql+psycopg://kw:***@db/konzeptwerk'" in out
    assert "REDIS_URL = 'redis://:***@127.0.0.1:6379/0'" in out
    assert "SESSION_COOKIE_SECURE = False" in out


def test_version_command(tmp_path: Path) -> None:
    from importlib import metadata

    app = create_app(base_config(tmp_path))
    result = app.test_cli_runner().invoke(args=["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"Konzeptwerk {metadata.version('konzeptwerk')}"
