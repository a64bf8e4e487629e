"""Login sessions on the server, timeouts, API token lifetime and revocation (ASVS V3, V2.10).

Each test names the ASVS 4.0.3 requirement it proves.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from drafting.config import load_config
from drafting.extensions import db
from drafting.models import ApiToken, LoginSession, utcnow
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import configured_app, english, isolated_client, login

EXPIRED = "Your session has expired. Please log in again."
ENDED = "Your session has ended. Please log in again."
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser whose requests each run in their own context, reading English."""
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")


def flashes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<p class="flash[^"]*">(.*?)</p>', response.get_data(as_text=True))


def cookie(client: FlaskClient) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def replay(app: Flask, value: str) -> FlaskClient:
    """Return a new browser that sends a copied session cookie."""
    thief = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
    thief.set_cookie("session", value)
    return thief


def age_sessions(*, idle: timedelta = timedelta(0), age: timedelta = timedelta(0)) -> None:
    """Pretend every login began ``age`` ago and was last used ``idle`` ago."""
    now = utcnow()
    db.session.execute(
        update(LoginSession).values(created_at=now - max(age, idle), last_seen_at=now - idle)
    )
    db.session.commit()


def test_v3_3_1_logout_ends_the_session_on_the_server(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.1: a cookie copied before logout no longer works after it, for pages and JSON."""
    english(world)
    login(client, world.editor.email)
    stolen = cookie(client)
    assert replay(app, stolen).get("/profile").status_code == 200

    client.post("/logout")

    thief = replay(app, stolen)
    response = thief.get("/profile")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    thief = replay(app, stolen)
    response = thief.get(f"/sections/{world.section.id}/draft", headers=JSON)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "session_expired"
    ended = db.session.scalars(select(LoginSession)).one()
    assert ended.ended_at is not None


def test_v3_3_1_logout_in_one_browser_keeps_the_others(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.1: each login has its own record; logging out ends only the browser's own one."""
    other = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
    login(client, world.editor.email)
    login(other, world.editor.email)
    client.post("/logout")
    assert client.get("/profile").status_code == 302
    assert other.get("/profile").status_code == 200


def test_v3_2_1_a_login_gets_a_new_session(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.2.1: the session before login (and its CSRF token) is not the one after it."""
    client.get("/login")
    before = cookie(client)
    login(client, world.editor.email)
    assert cookie(client) != before
    assert replay(app, before).get("/profile").status_code == 302


def test_v3_3_2_idle_sessions_expire(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.2: after two hours without a request the login is over; the page says why."""
    english(world)
    login(client, world.editor.email)
    age_sessions(idle=timedelta(hours=1, minutes=59))
    assert client.get("/profile").status_code == 200  # still inside, and now fresh again
    record = db.session.scalars(select(LoginSession)).one()
    db.session.refresh(record)
    assert utcnow() - record.last_seen_at < timedelta(minutes=1)

    age_sessions(idle=timedelta(hours=2, seconds=1))
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert EXPIRED in flashes(client.get(response.location))
    assert client.get("/profile").status_code == 302  # the cookie stays dead


def test_v3_3_2_idle_session_answers_json_with_session_expired(
    client: FlaskClient, world: factories.World
) -> None:
    """V3.3.2: the JSON endpoints the pages call answer 401 session_expired, not a page."""
    login(client, world.editor.email)
    age_sessions(idle=timedelta(hours=3))
    response = client.post(
        f"/sections/{world.section.id}/draft",
        json={"title": "T", "body": "B", "base_version": 1},
        headers=JSON,
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "session_expired"
    assert response.get_json()["error"]["message"] == EXPIRED


def test_v3_3_2_sessions_end_after_their_lifetime_however_busy(
    client: FlaskClient, world: factories.World
) -> None:
    """V3.3.2: a login used a moment ago still ends twelve hours after it began."""
    login(client, world.editor.email)
    age_sessions(age=timedelta(hours=11, minutes=59))
    assert client.get("/profile").status_code == 200
    age_sessions(age=timedelta(hours=12, seconds=1))
    response = client.get("/profile")
    assert response.status_code == 302
    assert EXPIRED in flashes(client.get(response.location))


def test_v3_3_2_timeouts_are_configurable(tmp_path: Path) -> None:
    """V3.3.2: SESSION_IDLE_TIMEOUT and SESSION_LIFETIME (seconds) shorten the login."""
    with configured_app(tmp_path, SESSION_IDLE_TIMEOUT=600, SESSION_LIFETIME=3600) as app:
        with app.app_context():
            email = factories.world().editor.email
        browser = isolated_client(app)
        login(browser, email)
        with app.app_context():
            age_sessions(idle=timedelta(minutes=9))
        assert browser.get("/profile").status_code == 200
        with app.app_context():
            age_sessions(idle=timedelta(minutes=10, seconds=1))
        assert browser.get("/profile").status_code == 302


def test_timeouts_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment sets the timeouts in minutes and hours and the token lifetime in days."""
    defaults = load_config(str(tmp_path))
    assert defaults["SESSION_IDLE_TIMEOUT"] == 2 * 3600
    assert defaults["SESSION_LIFETIME"] == 12 * 3600
    assert defaults["API_TOKEN_DAYS"] == 90
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "30")
    monkeypatch.setenv("SESSION_LIFETIME_HOURS", "8")
    monkeypatch.setenv("API_TOKEN_DAYS", "7")
    config = load_config(str(tmp_path))
    assert config["SESSION_IDLE_TIMEOUT"] == 1800
    assert config["SESSION_LIFETIME"] == 8 * 3600
    assert config["WTF_CSRF_TIME_LIMIT"] == 8 * 3600
    assert config["API_TOKEN_DAYS"] == 7


def test_v3_3_1_a_cookie_without_a_login_record_is_refused(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.1: deleting the records (or a cookie from before them) logs everybody out."""
    login(client, world.editor.email)
    db.session.query(LoginSession).delete()
    db.session.commit()
    response = client.get("/profile")
    assert response.status_code == 302
    assert ENDED in flashes(client.get(response.location))


def test_v3_5_2_the_api_ignores_session_cookies(
    client: FlaskClient, world: factories.World
) -> None:
    """V3.5.2: a logged-in browser gets nothing from the API without a token."""
    login(client, world.editor.email)
    response = client.get("/api/v1/papers", headers=JSON)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


# ---------------------------------------------------------------- CSRF tokens


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def test_v3_3_1_csrf_tokens_end_with_the_session(tmp_path: Path) -> None:
    """V3.3.1/V4.2.2: a CSRF token of an ended (logged-out or idle) session is refused."""
    with configured_app(tmp_path, WTF_CSRF_ENABLED=True) as app:
        with app.app_context():
            world = factories.world()
            email, paper_id = world.editor.email, world.paper.id
        browser = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")

        def log_in() -> str:
            token = csrf_of(browser.get("/login").get_data(as_text=True))
            response = browser.post(
                "/login",
                data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
            )
            assert response.status_code == 302
            return csrf_of(browser.get("/").get_data(as_text=True))

        def new_section(token: str) -> int:
            response = browser.post(
                f"/papers/{paper_id}/sections/new",
                data={"title": "Neu", "level": "1", "body": "", "csrf_token": token},
            )
            return response.status_code

        first = log_in()
        assert new_section(first) == 302  # the token works while the session lives
        assert browser.post("/logout", data={"csrf_token": first}).status_code == 302
        second = log_in()
        assert second != first
        assert new_section(first) == 400  # the logged-out session's token is dead

        with app.app_context():
            age_sessions(idle=timedelta(hours=3))
        assert new_section(second) in (302, 400)  # the login is over either way …
        log_in()
        assert new_section(second) == 400  # … and its token does not come back


# ---------------------------------------------------------------- API tokens


def create_token(client: FlaskClient, password: str) -> tuple[int, str | None]:
    response = client.post(
        "/profile/tokens", data={"tok-name": "Fachverfahren", "tok-password": password}
    )
    shown = re.findall(r'<code id="new-token">([^<]+)</code>', response.get_data(as_text=True))
    return response.status_code, (shown[0] if shown else None)


def test_v3_7_1_creating_a_token_asks_for_the_password(
    client: FlaskClient, world: factories.World
) -> None:
    """V3.7.1: a stolen session cookie alone cannot mint an API token."""
    english(world)
    login(client, world.editor.email)
    status, plain = create_token(client, "wrong-password-123")
    assert (status, plain) == (200, None)
    response = client.post("/profile/tokens", data={"tok-name": "Fachverfahren"})
    assert 'id="new-token"' not in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken)).all() == []
    status, plain = create_token(client, factories.PASSWORD)
    assert status == 200 and plain


def test_v2_2_1_the_token_password_check_is_throttled(
    client: FlaskClient, world: factories.World
) -> None:
    """V2.2.1: guessing the password through the token form stops at the account limit."""
    english(world)
    login(client, world.editor.email)
    for _ in range(5):
        assert create_token(client, "wrong-password-123") == (200, None)
    response = client.post(
        "/profile/tokens",
        data={"tok-name": "Fachverfahren", "tok-password": factories.PASSWORD},
    )
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert 'id="new-token"' not in page
    assert re.search(r"Too many wrong passwords\. Please wait \d+ minutes? and try again\.", page)
    assert db.session.scalars(select(ApiToken)).all() == []


def test_v2_10_tokens_expire(app: Flask, client: FlaskClient, world: factories.World) -> None:
    """Tokens carry an expiry (90 days by default), shown in the profile; expired ones fail."""
    english(world)
    login(client, world.editor.email)
    _status, plain = create_token(client, factories.PASSWORD)
    assert plain
    row = db.session.scalars(select(ApiToken)).one()
    assert row.expires_at - row.created_at == timedelta(days=90)
    api = isolated_client(app)
    assert api.get("/api/v1/papers", headers=api_headers(plain)).status_code == 200
    page = client.get("/profile").get_data(as_text=True)
    assert "Valid until" in page and "valid for 90 days" in page

    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = api.get("/api/v1/papers", headers=api_headers(plain))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert ">expired<" in client.get("/profile").get_data(as_text=True).replace("\n", "").replace(
        " ", ""
    )


def test_token_lifetime_is_configurable(tmp_path: Path) -> None:
    """API_TOKEN_DAYS sets the lifetime of new tokens."""
    with configured_app(tmp_path, API_TOKEN_DAYS=7) as app, app.app_context():
        world = factories.world()
        factories.token(world.editor)
        row = db.session.scalars(select(ApiToken)).one()
        assert row.expires_at - row.created_at == timedelta(days=7)


def test_v3_3_3_password_change_revokes_tokens(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.3 (and V2.10): a new password ends the other logins and revokes every token."""
    token = factories.token(world.editor)
    api = isolated_client(app)
    assert api.get("/api/v1/papers", headers=api_headers(token)).status_code == 200
    login(client, world.editor.email)
    response = client.post(
        "/profile/password",
        data={
            "pw-current": factories.PASSWORD,
            "pw-new": "a-new-long-password",
            "pw-repeat": "a-new-long-password",
        },
    )
    assert response.status_code == 302
    assert api.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    assert client.get("/profile").status_code == 200


def test_v3_3_3_deactivation_revokes_tokens_for_good(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    """V3.3.3: deactivating revokes the tokens, and reactivating does not bring them back."""
    token = factories.token(world.editor)
    api = isolated_client(app)
    admin = isolated_client(app)
    login(admin, world.admin.email)
    form = {
        "display_name": world.editor.display_name,
        "organisation": str(world.editor.organisation_id),
        "locale": "de",
    }
    assert admin.post(f"/admin/users/{world.editor.id}", data=form).status_code == 302
    assert api.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    assert (
        admin.post(f"/admin/users/{world.editor.id}", data={**form, "active": "y"}).status_code
        == 302
    )
    db.session.refresh(world.editor)
    assert world.editor.active
    assert api.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    login(client, world.editor.email)  # the account itself works again


def test_cli_deactivation_revokes_tokens(app: Flask, world: factories.World) -> None:
    """``users deactivate`` ends the sessions and revokes the tokens as the admin page does."""
    token = factories.token(world.editor)
    result = app.test_cli_runner().invoke(
        args=["users", "deactivate", "--email", world.editor.email]
    )
    assert result.exit_code == 0, result.output
    assert "revoked" in result.output
    db.session.expire_all()
    world.editor.active = True
    db.session.commit()
    api = isolated_client(app)
    assert api.get("/api/v1/papers", headers=api_headers(token)).status_code == 401


def test_cli_tokens_tell_their_expiry(app: Flask, world: factories.World) -> None:
    """``tokens create`` prints when the token expires (API_TOKEN_DAYS after now)."""
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--email", world.editor.email])
    assert result.exit_code == 0, result.output
    row = db.session.scalars(select(ApiToken)).one()
    assert f"valid until {row.expires_at:%Y-%m-%d %H:%M} UTC" in result.output
    assert row.expires_at - row.created_at == timedelta(days=90)
