"""``LOG_FORMAT=json`` writes one JSON object per line with the request id, user, method,
path, status and duration; errors carry their traceback; failed logins go to the security
logger; every response carries ``X-Request-ID``; no password appears in the logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from drafting.extensions import db, limiter
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, api_headers, make_app
from tests.integration.support import isolated_client


@pytest.fixture
def json_app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, LOG_FORMAT="json", LOG_CONFIGURE=True, LOG_REQUESTS=True)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaputt")

    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if IS_POSTGRES:
        _empty_postgres(app)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_konzeptwerk", False):
            root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def json_lines(err: str) -> list[dict[str, Any]]:
    """Parse every line written; each must be one JSON object."""
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_request_lines_carry_the_request_id(
    json_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = json_app.test_client()
    capsys.readouterr()
    response = client.get("/login", headers={"X-Request-ID": "req-abc.123"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc.123"
    records = [
        r for r in json_lines(capsys.readouterr().err) if r["logger"] == "konzeptwerk.request"
    ]
    assert len(records) == 1
    record = records[0]
    assert record["request_id"] == "req-abc.123"
    assert record["method"] == "GET"
    assert record["path"] == "/login"
    assert record["status"] == 200
    assert record["level"] == "INFO"
    assert isinstance(record["duration_ms"], float)
    assert record["time"].endswith("+00:00")


def test_a_request_id_is_generated_when_missing_or_malformed(
    json_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = json_app.test_client()
    first = client.get("/health").headers["X-Request-ID"]
    second = client.get("/health", headers={"X-Request-ID": "bad id <script> with-spaces"}).headers[
        "X-Request-ID"
    ]
    assert len(first) == 32 and len(second) == 32 and first != second
    assert "script" not in capsys.readouterr().err


def test_logged_in_user_id_and_no_password_in_logs(
    json_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    user = factories.user(factories.org(), email="ada@example.org")
    db.session.commit()
    client = json_app.test_client()
    capsys.readouterr()
    client.post("/login", data={"email": "ada@example.org", "password": factories.PASSWORD})
    client.get("/")
    err = capsys.readouterr().err
    assert factories.PASSWORD not in err
    index = [r for r in json_lines(err) if r.get("path") == "/" and "status" in r]
    assert index and index[0]["user_id"] == user.id


def test_failed_login_goes_to_the_security_logger(
    json_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    factories.user(factories.org(), email="ada@example.org")
    db.session.commit()
    client = json_app.test_client()
    capsys.readouterr()
    client.post("/login", data={"email": "ada@example.org", "password": "wrong-password-1"})
    # A password typed into the e-mail field is not logged.
    client.post("/login", data={"email": "my-secret-pw", "password": "x"})
    err = capsys.readouterr().err
    security = [r for r in json_lines(err) if r["logger"] == "konzeptwerk.security"]
    assert [r["event"] for r in security] == ["login_failed", "login_failed"]
    assert security[0]["email"] == "ada@example.org"
    assert security[0]["level"] == "WARNING"
    assert security[0]["request_id"]
    assert security[1]["email"] is None
    assert "wrong-password-1" not in err and "my-secret-pw" not in err


def test_errors_carry_traceback_method_path_and_request_id(
    json_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = json_app.test_client()
    capsys.readouterr()
    response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "boom-1"
    errors = [r for r in json_lines(capsys.readouterr().err) if r["level"] == "ERROR"]
    assert len(errors) == 1
    error = errors[0]
    assert error["request_id"] == "boom-1"
    assert error["method"] == "GET" and error["path"] == "/boom"
    assert "RuntimeError: kaputt" in error["exception"]
    assert "Traceback" in error["exception"]


def test_text_format_is_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path, LOG_CONFIGURE=True, LOG_REQUESTS=True)
    try:
        capsys.readouterr()
        app.test_client().get("/health", headers={"X-Request-ID": "t-1"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert " INFO konzeptwerk.request GET /health 200 request_id=t-1 status=200" in line
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_konzeptwerk", False):
                root.removeHandler(handler)
        root.setLevel(logging.WARNING)
        with app.app_context():
            db.engine.dispose()


def test_throttled_logins_go_to_the_security_logger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path, LOG_FORMAT="json", LOG_CONFIGURE=True, LOGIN_RATE_LIMIT="1 per minute")
    limiter.reset()
    try:
        client = app.test_client()
        capsys.readouterr()
        statuses = [
            client.post("/login", data={"email": "x@example.org", "password": "y"}).status_code
            for _ in range(2)
        ]
        assert statuses[-1] == 429
        security = [
            r for r in json_lines(capsys.readouterr().err) if r["logger"] == "konzeptwerk.security"
        ]
        assert [r["event"] for r in security] == ["login_failed", "login_throttled"]
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_konzeptwerk", False):
                root.removeHandler(handler)
        root.setLevel(logging.WARNING)
        with app.app_context():
            db.engine.dispose()
        if IS_POSTGRES:
            _empty_postgres(app)


def test_no_secret_reaches_the_logs(json_app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    """Passwords, tokens, session cookies and the secret key stay out of every record, even at
    DEBUG and when requests fail."""
    logging.getLogger().setLevel(logging.DEBUG)
    user = factories.user(factories.org(), email="ada@example.org")
    db.session.commit()
    client = isolated_client(json_app)
    capsys.readouterr()
    client.post("/login", data={"email": "ada@example.org", "password": "wrong-secret-pw-1"})
    client.post("/login", data={"email": "ada@example.org", "password": factories.PASSWORD})
    page = client.post("/profile/tokens", data={"tok-name": "CI"}).get_data(as_text=True)
    token = factories.token(user)
    client.get("/api/v1/papers", headers=api_headers(token))
    client.get("/api/v1/papers", headers=api_headers(token + "x"))
    client.post(
        "/profile/password",
        data={"pw-current": factories.PASSWORD, "pw-new": "new-secret-pw-22"},
    )
    client.get("/boom", headers={"Authorization": f"Bearer {token}"})
    err = capsys.readouterr().err
    assert json_lines(err), "nothing was logged"
    secrets = {
        "wrong-secret-pw-1",
        factories.PASSWORD,
        "new-secret-pw-22",
        token,
        str(json_app.config["SECRET_KEY"]),
    }
    secrets |= {m for m in re.findall(r"kzw_[A-Za-z0-9_-]{20,}", page)}
    cookie = client.get_cookie("session")
    if cookie is not None:
        secrets.add(cookie.value)
    for secret in secrets:
        assert secret not in err, f"a secret ({secret[:6]}…) was logged"


def test_security_events_from_the_models(
    app: Flask, world: factories.World, caplog: pytest.LogCaptureFixture
) -> None:
    from workflows import accounts
    from workflows import signoff as signoff_flow

    factories.approve_all(world)
    signoff_flow.start(world.coordinator, world.paper.id, label="Fassung")
    with caplog.at_level(logging.INFO, logger="konzeptwerk.security"):
        token, _plain = accounts.create_token(world.editor, "CI")
        accounts.revoke_token(world.editor, token.id)
        accounts.update_user(
            world.member.id,
            display_name=world.member.display_name,
            organisation_id=world.member.organisation_id,
            locale="de",
            active=False,
            is_admin=True,
            actor=world.admin,
        )
        signoff_flow.decide(world.signatory, world.paper.id, "approve")
    events = [getattr(r, "event", None) for r in caplog.records if r.name == "konzeptwerk.security"]
    assert events[:4] == [
        "token_created",
        "token_revoked",
        "admin_role_changed",
        "account_deactivated",
    ]
    assert "signoff_decision" in events
    decision = next(r for r in caplog.records if getattr(r, "event", "") == "signoff_decision")
    assert decision.decision == "approve"  # type: ignore[attr-defined]
