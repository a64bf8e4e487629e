"""Throttling of password guesses per account and per address, shared by processes (ASVS V2.2.1).

The stores: the database (no Redis), Redis (database 11 of the local server), and Redis that
cannot be reached, which falls back to the database (issue 18).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from drafting import throttle
from drafting.extensions import db
from drafting.models import ThrottleCounter, User
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, make_app
from tests.integration.support import configured_app, english, isolated_client, login

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/11"
WRONG = "wrong-password-123"
LOCKED = re.compile(
    r"Too many attempts for this account: it is locked for now\. "
    r"Please wait (\d+) minutes? and try again\."
)
ADDRESS = re.compile(
    r"Too many attempts from your network address\. Please wait (\d+) minutes? and try again\."
)


def browser(app: Flask, address: str = "192.0.2.1", **environ: str) -> FlaskClient:
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address, **environ)


def attempt(client: FlaskClient, email: str, password: str = WRONG, **kwargs: Any) -> Any:
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_v2_2_1_an_account_locks_after_failures_from_any_address(
    app: Flask, world: factories.World
) -> None:
    """V2.2.1: five wrong passwords from five addresses lock the account, with the wait time."""
    english(world)
    for n in range(5):
        assert attempt(browser(app, f"198.51.100.{n}"), world.editor.email).status_code == 200
    response = attempt(browser(app, "203.0.113.9"), world.editor.email, factories.PASSWORD)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    match = LOCKED.search(page)
    assert match and 1 <= int(match.group(1)) <= 5
    assert 0 < int(response.headers["Retry-After"]) <= 300
    # The lock holds for the address typed in other case and with spaces as well.
    assert attempt(browser(app, "203.0.113.10"), " EDITOR@example.org ").status_code == 429


def test_v2_2_1_another_account_from_the_same_address_is_not_blocked(
    app: Flask, world: factories.World
) -> None:
    """V2.2.1: one account's lock does not keep the colleague at the same address out."""
    office = browser(app)
    for _ in range(5):
        attempt(office, world.editor.email)
    # Hammering the locked account does not use up the address's 10 tries per minute.
    for _ in range(12):
        assert attempt(office, world.editor.email, factories.PASSWORD).status_code == 429
    colleague = browser(app)
    login(colleague, world.reviewer.email)
    assert colleague.get("/profile").status_code == 200


def test_v2_2_1_an_address_is_limited_across_accounts(tmp_path: Path) -> None:
    """V2.2.1: password spraying over many accounts from one address stops at its limit."""
    with configured_app(tmp_path, LOGIN_RATE_LIMIT="4 per minute") as app:
        with app.app_context():
            world = factories.world()
            users = [u.email for u in world.users.values()]
        sprayer = browser(app)
        for email in users[:4]:
            assert attempt(sprayer, email).status_code == 200
        response = attempt(sprayer, users[4], factories.PASSWORD)
        assert response.status_code == 429
        assert ADDRESS.search(response.get_data(as_text=True))
        # Elsewhere the same account logs in.
        login(browser(app, "198.51.100.7"), users[4])


def test_v2_2_1_successful_logins_do_not_use_up_the_limit(tmp_path: Path) -> None:
    """V2.2.1: only guesses count, so many people behind one address can log in."""
    with configured_app(tmp_path, LOGIN_RATE_LIMIT="3 per minute") as app:
        with app.app_context():
            world = factories.world()
            users = [u.email for u in world.users.values()]
        for email in users * 2:
            login(browser(app), email)
        attempt(browser(app), users[0])
        attempt(browser(app), users[0])
        login(browser(app), users[0])  # two failures, then the right one: in, and cleared
        for _ in range(4):
            attempt(browser(app, "198.51.100.8"), users[0])
        # Four more failures would lock an account with failures left over from before.
        assert attempt(browser(app, "198.51.100.9"), users[0]).status_code == 200


def test_v2_2_1_the_current_password_check_is_throttled(app: Flask, world: factories.World) -> None:
    """V2.2.1: a stolen session cannot guess the password through the profile form."""
    english(world)
    client = browser(app)
    login(client, world.editor.email)
    before = world.editor.password_hash

    def change(current: str) -> Any:
        return client.post(
            "/profile/password",
            data={
                "pw-current": current,
                "pw-new": "a-new-long-password",
                "pw-repeat": "a-new-long-password",
            },
        )

    for _ in range(5):
        response = change(WRONG)
        assert response.status_code == 200
        assert "The current password is wrong." in response.get_data(as_text=True)
    response = change(factories.PASSWORD)
    assert response.status_code == 429
    assert re.search(
        r"Too many wrong passwords\. Please wait \d+ minutes? and try again\.",
        response.get_data(as_text=True),
    )
    db.session.refresh(world.editor)
    assert world.editor.password_hash == before


# ---------------------------------------------------------------- proxies


def test_v2_2_1_forwarded_addresses_are_ignored_without_trusted_proxies(
    app: Flask, world: factories.World
) -> None:
    """Without TRUSTED_PROXIES a client cannot escape the address limit by X-Forwarded-For."""
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for n in range(3):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        attempt(browser(app), f"nobody{n}@example.org", headers=headers)
    headers = {"X-Forwarded-For": "198.51.100.99"}
    response = attempt(browser(app), world.editor.email, factories.PASSWORD, headers=headers)
    assert response.status_code == 429


def test_v2_2_1_trusted_proxy_hops_give_each_client_its_own_limit(tmp_path: Path) -> None:
    """TRUSTED_PROXIES=1: behind the proxy one client's lock is not everybody's."""
    with configured_app(tmp_path, LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=1) as app:
        with app.app_context():
            email = factories.world().editor.email
        proxy = browser(app, "10.0.0.2")
        for n in range(3):
            attempt(proxy, f"nobody{n}@example.org", headers={"X-Forwarded-For": "198.51.100.1"})
        blocked = attempt(
            proxy, email, factories.PASSWORD, headers={"X-Forwarded-For": "198.51.100.1"}
        )
        assert blocked.status_code == 429
        other = attempt(
            proxy, email, factories.PASSWORD, headers={"X-Forwarded-For": "198.51.100.2"}
        )
        assert other.status_code == 302


def test_v2_2_1_listed_trusted_proxies_only(tmp_path: Path) -> None:
    """TRUSTED_PROXIES as addresses: X-Forwarded-For counts only from a listed proxy."""
    settings = {"LOGIN_RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": ("10.0.0.0/24",)}
    with configured_app(tmp_path, **settings) as app:
        with app.app_context():
            email = factories.world().editor.email
        stranger = browser(app, "192.0.2.50")
        for n in range(2):
            attempt(stranger, "nobody@example.org", headers={"X-Forwarded-For": f"198.51.100.{n}"})
        assert attempt(stranger, email, factories.PASSWORD).status_code == 429
        proxy = browser(app, "10.0.0.7")
        response = attempt(
            proxy, email, factories.PASSWORD, headers={"X-Forwarded-For": "192.0.2.50"}
        )
        assert response.status_code == 429  # the proxy names the blocked client
        response = attempt(
            proxy, email, factories.PASSWORD, headers={"X-Forwarded-For": "192.0.2.51"}
        )
        assert response.status_code == 302


def test_trusted_proxies_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRUSTED_PROXIES is a hop count or a comma-separated list; unset trusts nobody."""
    from drafting.config import load_config

    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 2
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16")
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == ("10.0.0.1", "10.1.0.0/16")


# ---------------------------------------------------------------- shared stores

OTHER_PROCESS = """
import json, sys
from drafting import create_app
settings = json.loads(sys.argv[1])
app = create_app(settings)
client = app.test_client()
codes = []
for n in range(int(sys.argv[2])):
    response = client.post(
        "/login",
        data={"email": sys.argv[3], "password": "wrong-password-123"},
        environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
    )
    codes.append(response.status_code)
print(json.dumps(codes))
"""


def other_process(app: Flask, tmp_path: Path, email: str, tries: int) -> list[int]:
    """Make ``tries`` wrong logins in a separate process on the same database and store."""
    settings = {
        key: app.config[key]
        for key in (
            "SQLALCHEMY_DATABASE_URI",
            "SECRET_KEY",
            "TESTING",
            "WTF_CSRF_ENABLED",
            "RATELIMIT_STORAGE_URI",
            "LOGIN_THROTTLE_STORAGE",
            "REDIS_URL",
            "ARGON2_TIME_COST",
            "ARGON2_MEMORY_COST",
        )
    }
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance2")}
    done = subprocess.run(  # noqa: S603 — our own interpreter and script
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(settings), str(tries), email],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    codes: list[int] = json.loads(done.stdout.strip().splitlines()[-1])
    return codes


def test_v2_2_1_the_database_store_is_shared_between_processes(tmp_path: Path) -> None:
    """V2.2.1: without Redis, the failures of two processes count together (the database)."""
    with configured_app(tmp_path, LOGIN_THROTTLE_STORAGE="database") as app:
        with app.app_context():
            world = factories.world()
            email, colleague = world.editor.email, world.reviewer.email
        assert isinstance(app.extensions["kw_throttle"].store, throttle.DatabaseStore)
        assert attempt(browser(app), email).status_code == 200
        assert attempt(browser(app), email).status_code == 200
        assert other_process(app, tmp_path, email, 3) == [200, 200, 200]
        response = attempt(browser(app, "203.0.113.1"), email, factories.PASSWORD)
        assert response.status_code == 429
        assert other_process(app, tmp_path, email, 1) == [429]
        # Another account is not affected.
        login(browser(app), colleague)
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(ThrottleCounter))
            assert rows and rows > 0


def _redis_or_skip() -> Redis:
    connection = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as err:  # pragma: no cover — CI has Redis
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}: {err}")
    return connection


@pytest.mark.redis
def test_v2_2_1_the_redis_store_is_shared_between_processes(tmp_path: Path) -> None:
    """V2.2.1: with Redis, the failures of two processes count together there."""
    redis = _redis_or_skip()
    redis.flushdb()
    try:
        with configured_app(tmp_path, LOGIN_THROTTLE_STORAGE=REDIS_TEST_URL) as app:
            with app.app_context():
                email = factories.world().editor.email
            assert isinstance(app.extensions["kw_throttle"].store, throttle.RedisStore)
            assert other_process(app, tmp_path, email, 5) == [200] * 5
            response = attempt(browser(app), email, factories.PASSWORD)
            assert response.status_code == 429
            assert any(key.startswith(b"kw-throttle:account:") for key in redis.keys())
            with app.app_context():
                assert db.session.scalar(select(func.count()).select_from(ThrottleCounter)) == 0
    finally:
        redis.flushdb()


def test_unreachable_redis_falls_back_to_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18: Redis configured but down — logins work, guesses count in the database.

    Flask-Limiter gets the dead Redis too (its storage errors are swallowed), so nothing on
    the login path needs Redis. Not ``configured_app``: its ``limiter.reset()`` needs Redis.
    """
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = {"LOGIN_THROTTLE_STORAGE": None, "REDIS_URL": dead, "RATELIMIT_STORAGE_URI": dead}
    app = make_app(tmp_path, **settings)
    try:
        with app.app_context():
            world = factories.world()
            email, colleague = world.editor.email, world.reviewer.email
        assert isinstance(app.extensions["kw_throttle"].store, throttle.RedisStore)
        with caplog.at_level(logging.WARNING, logger="drafting.throttle"):
            login(browser(app), colleague)
            for _ in range(5):
                assert attempt(browser(app), email).status_code == 200
            response = attempt(browser(app), email, factories.PASSWORD)
        assert response.status_code == 429
        assert caplog.text.count("Redis unreachable for login throttling") == 1
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(ThrottleCounter))
            assert rows and rows > 0
    finally:
        if IS_POSTGRES:
            _empty_postgres(app)
        else:
            with app.app_context():
                db.engine.dispose()


@pytest.mark.redis
def test_the_throttle_returns_to_redis_when_it_is_back(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18: after the retry interval the counters go to Redis again, with a log line."""
    redis = _redis_or_skip()
    redis.flushdb()
    store = throttle.RedisStore(f"redis://127.0.0.1:{free_port()}/0", throttle.DatabaseStore(), 0)
    try:
        with caplog.at_level(logging.WARNING, logger="drafting.throttle"):
            assert store.incr("kw-throttle:test", 60) == 1  # into the database
            store._redis = Redis.from_url(REDIS_TEST_URL)  # Redis "comes back"
            assert store.incr("kw-throttle:test", 60) == 1  # into Redis, counting anew
            assert store.incr("kw-throttle:test", 60) == 2
        assert "Redis reachable again" in caplog.text
        assert int(redis.get("kw-throttle:test") or 0) == 2
        assert db.session.get(ThrottleCounter, "kw-throttle:test") is not None
    finally:
        redis.flushdb()


def test_the_default_store_is_the_database_without_redis(tmp_path: Path) -> None:
    """Without any Redis setting, the throttle counts where all processes see it."""
    settings = {"LOGIN_THROTTLE_STORAGE": None, "REDIS_URL": None}
    with configured_app(tmp_path, **settings) as app:
        assert isinstance(app.extensions["kw_throttle"].store, throttle.DatabaseStore)


def test_counter_rows_of_past_windows_are_deleted(app: Flask) -> None:
    """The database store deletes counters whose window has closed."""
    store = throttle.DatabaseStore()
    db.session.add(ThrottleCounter(key="kw-throttle:old", count=3, window_end=1))
    db.session.commit()
    assert store.incr("kw-throttle:new", 60) == 1
    assert store.incr("kw-throttle:new", 60, -1) == 0
    db.session.expire_all()
    assert db.session.get(ThrottleCounter, "kw-throttle:old") is None
    store.clear("kw-throttle:new")
    assert db.session.get(ThrottleCounter, "kw-throttle:new") is None
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
