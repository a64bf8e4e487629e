"""Logging in and out, sessions, password and language, throttling, CSRF, API tokens."""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ApiToken, User
from tests import factories
from tests.conftest import AuthActions, api_headers
from tests.integration.support import (
    configured_app,
    english,
    isolated_client,
    login,
)

ROOT = Path(__file__).resolve().parents[2]
DE_MO = ROOT / "drafting" / "translations" / "de" / "LC_MESSAGES" / "messages.mo"
HTML_LANG = re.compile(r'<html lang="(\w+)"')
WRONG = "E-mail address or password is not correct."
CSRF_TOKENS = re.compile(r'(name="csrf-token" content|name="csrf_token" value)="[^"]*"')


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser whose requests each run in their own context, reading English."""
    return isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")


def page_lang(response) -> str:  # type: ignore[no-untyped-def]
    match = HTML_LANG.search(response.get_data(as_text=True))
    assert match, "no <html lang>"
    return match.group(1)


def flashes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<p class="flash[^"]*">(.*?)</p>', response.get_data(as_text=True))


# ---------------------------------------------------------------- logging in and out


def test_login_and_logout(client: FlaskClient, auth: AuthActions, world: factories.World) -> None:
    assert client.get("/").status_code == 302
    assert client.get("/login").status_code == 200

    response = auth.login(world.editor.email)
    assert response.status_code == 302
    assert response.location == "/"
    assert world.paper.title in client.get("/").get_data(as_text=True)

    response = auth.logout()
    assert response.status_code == 302
    assert response.location == "/login"
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_login_ignores_case_and_spaces_of_the_address(
    client: FlaskClient, auth: AuthActions, world: factories.World
) -> None:
    assert auth.login("  EDITOR@Example.org ").status_code == 302


def test_logout_needs_post(client: FlaskClient, auth: AuthActions, world: factories.World) -> None:
    auth.login(world.editor.email)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_passwords_are_stored_as_argon2id_hashes(world: factories.World) -> None:
    stored = db.session.scalars(select(User.password_hash)).all()
    assert stored and all(h.startswith("$argon2id$") for h in stored)
    assert all(factories.PASSWORD not in h for h in stored)


def test_wrong_password_and_unknown_address_get_the_same_answer(
    client: FlaskClient, auth: AuthActions, world: factories.World
) -> None:
    known = auth.login(world.editor.email, "wrong-password-123")
    unknown = auth.login("nobody@example.org", "wrong-password-123")
    world.member.active = False
    db.session.commit()
    inactive = auth.login(world.member.email)

    assert known.status_code == unknown.status_code == inactive.status_code == 200
    assert flashes(known) == flashes(unknown) == flashes(inactive) == [WRONG]
    # The whole pages differ only in the address typed into the form (and the CSRF token).
    pages = [
        CSRF_TOKENS.sub("", r.get_data(as_text=True)).replace(email, "EMAIL")
        for r, email in [
            (known, world.editor.email),
            (unknown, "nobody@example.org"),
            (inactive, world.member.email),
        ]
    ]
    assert pages[0] == pages[1] == pages[2]
    assert client.get("/").status_code == 302


def test_deactivated_user_loses_session_and_tokens_at_once(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    token = factories.token(world.editor)
    login(client, world.editor.email)
    assert client.get(f"/papers/{world.paper.id}").status_code == 200
    assert client.get("/api/v1/papers", headers=api_headers(token)).status_code == 200

    admin = isolated_client(app)
    login(admin, world.admin.email)
    response = admin.post(
        f"/admin/users/{world.editor.id}",
        data={
            "display_name": world.editor.display_name,
            "organisation": str(world.city.id),
            "locale": "en",
            "is_admin": "",  # "active" left unchecked
        },
    )
    assert response.status_code == 302

    response = client.get(f"/papers/{world.paper.id}")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    response = client.get("/api/v1/papers", headers=api_headers(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert WRONG in flashes(
        client.post(
            "/login",
            data={
                "email": world.editor.email,
                "password": factories.PASSWORD,
            },
        )
    )


def test_password_change_ends_the_other_sessions(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    other = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
    login(client, world.editor.email)
    login(other, world.editor.email)

    response = client.post(
        "/profile/password",
        data={
            "pw-current": factories.PASSWORD,
            "pw-new": "a-new-long-password",
            "pw-repeat": "a-new-long-password",
        },
    )
    assert response.status_code == 302

    assert client.get("/profile").status_code == 200  # this session goes on
    response = other.get("/profile")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert WRONG in flashes(
        other.post(
            "/login",
            data={
                "email": world.editor.email,
                "password": factories.PASSWORD,
            },
        )
    )
    login(other, world.editor.email, "a-new-long-password")


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        (
            "wrong-password-1",
            "a-new-long-password",
            "a-new-long-password",
            "The current password is wrong.",
        ),
        (factories.PASSWORD, "short", "short", "Field must be between 10 and 1000 characters"),
        (factories.PASSWORD, "a-new-long-password", "another-password", "The passwords differ."),
    ],
)
def test_password_change_refused(
    client: FlaskClient,
    world: factories.World,
    current: str,
    new: str,
    repeat: str,
    message: str,
) -> None:
    english(world)
    login(client, world.editor.email)
    before = world.editor.password_hash
    response = client.post(
        "/profile/password",
        data={
            "pw-current": current,
            "pw-new": new,
            "pw-repeat": repeat,
        },
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert world.editor.password_hash == before
    assert client.get("/profile").status_code == 200


# ---------------------------------------------------------------- language


def test_visitors_get_german_by_default(app: Flask) -> None:
    response = isolated_client(app).get("/login")
    assert page_lang(response) == "de"
    if DE_MO.exists():
        with DE_MO.open("rb") as mo:
            german = gettext.GNUTranslations(mo).gettext("Log in")
        assert german != "Log in"
        assert german in response.get_data(as_text=True)


def test_visitors_get_their_browsers_language(app: Flask) -> None:
    response = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get("/login")
    assert page_lang(response) == "en"
    assert "Log in" in response.get_data(as_text=True)
    fr = isolated_client(app, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert page_lang(fr.get("/login")) == "de"


def test_a_visitors_choice_is_kept_in_the_session(app: Flask) -> None:
    browser = isolated_client(app, HTTP_ACCEPT_LANGUAGE="de")
    response = browser.post("/language", data={"locale": "en", "next": "/login"})
    assert response.status_code == 302
    assert response.location == "/login"
    assert page_lang(browser.get("/login")) == "en"
    assert page_lang(isolated_client(app, HTTP_ACCEPT_LANGUAGE="de").get("/login")) == "de"


def test_a_users_choice_is_saved_with_the_account(app: Flask, world: factories.World) -> None:
    browser = isolated_client(app, HTTP_ACCEPT_LANGUAGE="de")
    login(browser, world.editor.email)
    assert page_lang(browser.get("/")) == "de"
    browser.post("/language", data={"locale": "en", "next": "/"})
    assert page_lang(browser.get("/")) == "en"
    assert world.editor.locale == "en"

    elsewhere = isolated_client(app, HTTP_ACCEPT_LANGUAGE="de")
    login(elsewhere, world.editor.email)
    assert page_lang(elsewhere.get("/")) == "en"

    response = elsewhere.post("/profile/language", data={"lang-locale": "de"})
    assert response.status_code == 302
    assert world.editor.locale == "de"
    assert page_lang(elsewhere.get("/profile")) == "de"


def test_an_unsupported_language_is_ignored(app: Flask, world: factories.World) -> None:
    browser = isolated_client(app)
    login(browser, world.editor.email)
    browser.post("/language", data={"locale": "xx", "next": "/"})
    assert world.editor.locale == "de"
    assert page_lang(browser.get("/")) == "de"


# ---------------------------------------------------------------- throttling and CSRF


def test_logins_are_throttled(tmp_path: Path) -> None:
    with configured_app(tmp_path, LOGIN_RATE_LIMIT="3 per minute") as app:
        with app.app_context():
            world = factories.world()
            email = world.editor.email
        browser = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
        for _ in range(3):
            response = browser.post("/login", data={"email": email, "password": "wrong-1234567"})
            assert response.status_code == 200
        response = browser.post("/login", data={"email": email, "password": factories.PASSWORD})
        assert response.status_code == 429
        page = response.get_data(as_text=True)
        assert "Too many attempts" in page
        # Since issue 9 the page tells how long to wait (a fixed window of one minute).
        assert re.search(r"Please wait 1 minute and try again\.", page)
        assert response.headers["Retry-After"].isdigit()
        assert browser.get("/login").status_code == 200  # reading the form is not limited
        assert browser.get("/").status_code == 302  # and the right password did not get in


def test_forms_without_csrf_token_are_refused_with_a_page(tmp_path: Path) -> None:
    with configured_app(tmp_path, WTF_CSRF_ENABLED=True) as app:
        with app.app_context():
            world = factories.world()
            email, paper_id = world.editor.email, world.paper.id
            token = factories.token(world.editor)
        browser = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")

        response = browser.post("/login", data={"email": email, "password": factories.PASSWORD})
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert "The form has expired" in response.get_data(as_text=True)
        assert browser.get("/").status_code == 302

        page = browser.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf
        response = browser.post(
            "/login",
            data={
                "email": email,
                "password": factories.PASSWORD,
                "csrf_token": csrf.group(1),
            },
        )
        assert response.status_code == 302
        assert browser.get("/").status_code == 200

        response = browser.post(
            f"/papers/{paper_id}/sections/new",
            data={"title": "Ohne Token", "level": "1", "body": ""},
        )
        assert response.status_code == 400
        assert browser.post("/logout").status_code == 400
        response = browser.post("/logout", headers={"Accept": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "csrf_failed"

        # The API authenticates by token, not by cookie, so it needs no CSRF token.
        response = browser.post(
            f"/api/v1/papers/{paper_id}/sections",
            json={"title": "Über die API"},
            headers=api_headers(token),
        )
        assert response.status_code == 201


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "//evil.example/papers",
        "///evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "\t//evil.example",
    ],
)
def test_no_open_redirect_after_login(
    client: FlaskClient, world: factories.World, target: str
) -> None:
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": world.editor.email, "password": factories.PASSWORD},
    )
    assert response.status_code == 302
    location = response.location
    # A path on this site: no scheme, no host, nothing a browser would read as "//host".
    assert location.startswith("/")
    assert not urlsplit(location).scheme and not urlsplit(location).netloc
    assert not re.match(r"[/\\\s]{2}", location)
    assert client.get(location, follow_redirects=True).status_code in (200, 404)


def test_redirect_after_login_stays_on_the_site(
    client: FlaskClient, world: factories.World
) -> None:
    target = f"/papers/{world.paper.id}"
    response = client.get(target)
    assert urlsplit(response.location).path == "/login"
    response = client.post(
        response.location, data={"email": world.editor.email, "password": factories.PASSWORD}
    )
    assert response.location == target


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/"])
def test_no_open_redirect_after_language_switch(app: Flask, target: str) -> None:
    response = isolated_client(app).post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 302
    assert response.location == "/"


# ---------------------------------------------------------------- API tokens in the profile


def test_token_is_shown_once_stored_hashed_and_revocable(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    english(world)
    login(client, world.editor.email)
    response = client.post(
        "/profile/tokens",
        data={"tok-name": "Fachverfahren", "tok-password": factories.PASSWORD},
    )
    assert response.status_code == 200
    shown = re.findall(r'<code id="new-token">([^<]+)</code>', response.get_data(as_text=True))
    assert len(shown) == 1
    plain = shown[0]
    assert len(plain) >= 40

    again = client.get("/profile").get_data(as_text=True)
    assert plain not in again
    assert "Fachverfahren" in again
    assert plain[:10] in again  # the prefix identifies it

    row = db.session.scalars(select(ApiToken).where(ApiToken.user_id == world.editor.id)).one()
    stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
    assert not any(plain in value for value in stored)
    assert row.token_hash == ApiToken.hash(plain) != plain

    api = isolated_client(app)
    assert api.get("/api/v1/papers", headers=api_headers(plain)).status_code == 200

    response = client.post(f"/profile/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert api.get("/api/v1/papers", headers=api_headers(plain)).status_code == 401
    assert row.revoked_at is not None
    assert "revoked on" in client.get("/profile").get_data(as_text=True)


def test_nobody_revokes_someone_elses_token(
    app: Flask, client: FlaskClient, world: factories.World
) -> None:
    plain = factories.token(world.editor)
    token_id = db.session.scalars(select(ApiToken.id)).one()
    login(client, world.member.email)
    response = client.post(f"/profile/tokens/{token_id}/revoke")
    assert response.status_code == 404
    api = isolated_client(app)
    assert api.get("/api/v1/papers", headers=api_headers(plain)).status_code == 200


def test_a_token_needs_a_name(client: FlaskClient, world: factories.World) -> None:
    login(client, world.editor.email)
    response = client.post(
        "/profile/tokens", data={"tok-name": "", "tok-password": factories.PASSWORD}
    )
    assert 'id="new-token"' not in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken)).all() == []
