"""Weak and context passwords are refused wherever a password is set (ASVS V2.1.7, V2.1.1).

The checker is zxcvbn (offline, score at least 3) with the account's e-mail address, name and
organisation as user inputs; the CLI reads passwords from a hidden prompt or standard input.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_babel import force_locale, gettext
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import User
from tests import factories
from tests.integration.support import english, isolated_client, login
from workflows import accounts
from workflows.errors import ValidationFailed

TOO_EASY = (
    "This password is too easy to guess. Avoid common words and passwords, sequences, "
    "repetitions and your name, e-mail address or organisation; several unrelated words make "
    "a good password."
)
EMAIL = "waltraud.sonnenschein@lindenau.example"
NAME = "Waltraud Sonnenschein"

WEAK = [
    "aaaaaaaaaa",
    "1234567890",
    "password12",
    "qwertzuiop",
    "Passwort123!",
    EMAIL,
    "waltraud-sonnenschein",
    "Sonnenschein2024",
    "stadt-lindenau-1234",
    "a" * 200,
]


@pytest.mark.parametrize("password", WEAK)
def test_v2_1_7_weak_and_context_passwords_are_refused(app: Flask, password: str) -> None:
    """V2.1.7: common, repetitive, sequential and the user's own words are refused."""
    lindenau = accounts.create_organisation("Stadt Lindenau", "LIN", "municipality")
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_user(EMAIL, NAME, lindenau, password)
    assert refused.value.extra["field"] == "password"
    assert db.session.scalars(select(User)).all() == []


@pytest.mark.parametrize(
    "password", ["correct-horse-battery", "Kaffeetasse am Fensterbrett", "berlin-falkensee-zwei"]
)
def test_v2_1_7_good_passwords_pass(app: Flask, password: str) -> None:
    """V2.1.7: unrelated words pass, also with the organisation's short name inside."""
    lindenau = accounts.create_organisation("Stadt Lindenau", "LIN", "municipality")
    user = accounts.create_user(EMAIL, NAME, lindenau, password)
    assert accounts.authenticate(EMAIL, password) == user


def test_v2_1_1_long_passwords_are_rated_quickly(app: Flask) -> None:
    """V2.1.2: up to 1000 characters are allowed; only the first 72 are rated."""
    lindenau = accounts.create_organisation("Stadt Lindenau", "LIN", "municipality")
    long_one = "Kaffeetasse am Fensterbrett " * 35
    assert accounts.create_user(EMAIL, NAME, lindenau, long_one[:1000])


def test_v2_1_7_admin_form_refuses_weak_passwords_in_both_languages(
    app: Flask, world: factories.World
) -> None:
    """V2.1.7: the administrator's form shows the reason, in German by default."""
    admin = isolated_client(app, HTTP_ACCEPT_LANGUAGE="de")
    login(admin, world.admin.email)
    data = {
        "email": "neu@example.org",
        "display_name": "Neue Person",
        "organisation": str(world.city.id),
        "locale": "de",
        "password": "1234567890",
    }
    response = admin.post("/admin/users", data=data)
    assert response.status_code == 200
    with force_locale("de"):
        german = gettext(TOO_EASY)
    assert german != TOO_EASY
    assert german in response.get_data(as_text=True)
    english(world)
    response = admin.post("/admin/users", data={**data, "password": "neu@example.org"})
    assert TOO_EASY in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "neu@example.org")) is None


def test_v2_1_7_profile_refuses_a_weak_new_password(app: Flask, world: factories.World) -> None:
    """V2.1.7: changing one's own password to one's e-mail address or a common one fails."""
    english(world)
    client = isolated_client(app, HTTP_ACCEPT_LANGUAGE="en")
    login(client, world.editor.email)
    before = world.editor.password_hash
    for weak in (world.editor.email, "password12", "aaaaaaaaaa"):
        response = client.post(
            "/profile/password",
            data={"pw-current": factories.PASSWORD, "pw-new": weak, "pw-repeat": weak},
        )
        assert response.status_code == 200
        assert TOO_EASY in response.get_data(as_text=True)
    db.session.refresh(world.editor)
    assert world.editor.password_hash == before
    assert client.get("/profile").status_code == 200


# ---------------------------------------------------------------- the command line


def create(runner: FlaskCliRunner, *extra: str, input: str | None = None):  # type: ignore[no-untyped-def]  # noqa: A002, ANN201
    args = ["users", "create", "--email", EMAIL, "--name", NAME, "--org", "LIN", *extra]
    return runner.invoke(args=args, input=input)


@pytest.fixture
def lindenau(app: Flask) -> None:
    accounts.create_organisation("Stadt Lindenau", "LIN", "municipality")


def test_v2_1_7_cli_reads_the_password_from_stdin(runner: FlaskCliRunner, lindenau: None) -> None:
    """``--password-stdin`` keeps the password out of the shell history and process list."""
    result = create(runner, "--password-stdin", input="Kaffeetasse am Fensterbrett\n")
    assert result.exit_code == 0, result.output
    assert "Kaffeetasse" not in result.output
    assert accounts.authenticate(EMAIL, "Kaffeetasse am Fensterbrett") is not None


def test_v2_1_7_cli_asks_hidden_and_twice(runner: FlaskCliRunner, lindenau: None) -> None:
    """Without a password option the CLI prompts twice without echo."""
    result = create(runner, input="Kaffeetasse am Fensterbrett\nKaffeetasse am Fensterbrett\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat for confirmation" in result.output
    assert "Kaffeetasse" not in result.output  # not echoed
    assert accounts.authenticate(EMAIL, "Kaffeetasse am Fensterbrett") is not None


def test_cli_prompt_needs_matching_passwords(runner: FlaskCliRunner, lindenau: None) -> None:
    """Two different entries at the prompt do not create the account."""
    result = create(runner, input="Kaffeetasse am Fensterbrett\nanders\n")
    assert result.exit_code != 0
    assert db.session.scalars(select(User)).all() == []


@pytest.mark.parametrize("password", ["password12", EMAIL, "waltraud-sonnenschein"])
def test_v2_1_7_cli_refuses_weak_passwords(
    runner: FlaskCliRunner, lindenau: None, password: str
) -> None:
    """V2.1.7: the CLI applies the same check (its messages in the default language)."""
    with force_locale("de"):
        german = gettext(TOO_EASY)
    result = create(runner, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert german in result.output
    result = create(runner, "--password", password)
    assert result.exit_code != 0
    assert db.session.scalars(select(User)).all() == []


def test_cli_refuses_two_password_sources(runner: FlaskCliRunner, lindenau: None) -> None:
    """``--password`` and ``--password-stdin`` together are a usage error."""
    result = create(runner, "--password", "x", "--password-stdin", input="y\n")
    assert result.exit_code == 2
    assert "not both" in result.output


def test_the_demo_alliance_bypasses_the_check(runner: FlaskCliRunner) -> None:
    """The demo users share the published password, which the checker would refuse."""
    from drafting.demo import DEMO_PASSWORD

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    admin = accounts.authenticate("admin@konzeptwerk.example", DEMO_PASSWORD)
    assert admin is not None
    with pytest.raises(ValidationFailed):
        accounts.check_password_strength(DEMO_PASSWORD, accounts.context_words(admin))
