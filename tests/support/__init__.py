"""Helpers shared by the tests: isolated clients ("browsers"), an API client, logins, apps
with their own configuration.

Why an isolated client: the ``app`` fixture keeps one application context pushed for the
whole test, and Flask reuses a pushed context for the requests of a test client. Requests
would then share ``g`` — Flask-Login's cached user, Flask-Babel's cached locale — and the
database session with each other and with the test. A logged-out or deactivated user could
stay "logged in" for the next request, and a second browser would act as the first.
:class:`IsolatedClient` runs every request in an empty :mod:`contextvars` context, so it
gets its own application context, ``g`` and session, as in production.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from flask.testing import FlaskClient

from drafting.extensions import db, limiter
from drafting.models import User
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, api_headers, make_app

# Configuration for an app whose tests log in more often than the login limit allows. Not
# RATELIMIT_ENABLED=False: Flask-Limiter keeps that on its one global limiter object, and every
# app created later in the process would then run without a limiter (and without storage).
UNTHROTTLED = {"LOGIN_RATE_LIMIT": "100000 per minute"}


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a context of its own."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            # End the test's own transaction: the request sees what the test set up, SQLite's
            # write lock is free for the request, and the test's next read sees its effects.
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


def isolated_client(app: Flask, **environ: str) -> FlaskClient:
    """Return a new isolated client ("a browser"), with optional WSGI environ defaults."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base.update(environ)
    return client


def fresh() -> None:
    """Forget what the test's session has loaded, so its next reads come from the database."""
    db.session.rollback()


def login(client: FlaskClient, email: str, password: str = factories.PASSWORD) -> Any:
    """Log a client in through the form and check that it worked."""
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, "login failed"
    assert not response.location.startswith("/login")
    return response


def english(world: factories.World) -> None:
    """Let every user of the world read the UI in English (the messages' source language)."""
    for user in world.users.values():
        user.locale = "en"
    db.session.commit()


@contextmanager
def configured_app(tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    """Create an app with extra configuration on an empty database, and empty it again after.

    Use it instead of (never together with) the ``app`` fixture. No application context
    stays pushed: wrap the test's own database work in ``with app.app_context():``.
    """
    app = make_app(tmp_path, **overrides)
    limiter.reset()
    try:
        yield app
    finally:
        if IS_POSTGRES:
            _empty_postgres(app)
        else:
            with app.app_context():
                db.engine.dispose()


class Api:
    """An API client authenticated as one user, with English messages (the source language);
    the test's session reads afresh after every request."""

    def __init__(self, app: Flask, user: User) -> None:
        self.client = isolated_client(app)
        self.headers = {**api_headers(factories.token(user)), "Accept-Language": "en"}

    def __call__(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.client.open(
            f"/api/v1{path}", method=method, json=payload, headers=self.headers
        )
        fresh()
        return response

    def get(self, path: str) -> Any:
        return self("GET", path)

    def post(self, path: str, payload: Any = None) -> Any:
        return self("POST", path, payload)

    def put(self, path: str, payload: Any = None) -> Any:
        return self("PUT", path, payload)


def tokens(world: factories.World) -> dict[str, str]:
    """Return an API token for each person of the world, by their name in ``world.users``."""
    return {name: factories.token(person) for name, person in world.users.items()}
