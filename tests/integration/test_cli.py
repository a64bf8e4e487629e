"""The command line: organisations, users, tokens and the demo alliance."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import (
    Organisation,
    OrgKind,
    Paper,
    PaperRole,
    Participant,
    Role,
    Section,
    SectionVersion,
    User,
)
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import isolated_client
from workflows.accounts import authenticate


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def org(short: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.short_name == short))


def test_orgs_create(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "orgs",
            "create",
            "--name",
            "Stadt Lindenau",
            "--short",
            "LIN",
            "--kind",
            "municipality",
        ]
    )
    assert result.exit_code == 0, result.output
    created = org("LIN")
    assert created is not None
    assert (created.name, created.kind) == ("Stadt Lindenau", OrgKind.MUNICIPALITY)
    assert "LIN" in result.output

    listed = runner.invoke(args=["orgs", "list"])
    assert listed.exit_code == 0
    assert "LIN\tmunicipality\tStadt Lindenau" in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--name", "Stadt Lindenau", "--short", "NEU", "--kind", "municipality"],
            "An organisation with this name or short name exists.",
        ),
        (
            ["--name", "Andere Stadt", "--short", "LIN", "--kind", "municipality"],
            "An organisation with this name or short name exists.",
        ),
        (["--name", "Bank", "--short", "BNK", "--kind", "bank"], "Invalid value for '--kind'"),
        (
            ["--name", " ", "--short", "LEER", "--kind", "other"],
            "Name and short name are required.",
        ),
    ],
    ids=["same name", "same short name", "unknown kind", "blank name"],
)
def test_orgs_create_refuses(runner: FlaskCliRunner, args: list[str], message: str) -> None:
    message = gettext(message)  # the CLI speaks the default language
    factories.org("LIN").name = "Stadt Lindenau"
    db.session.commit()
    result = runner.invoke(args=["orgs", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert count(Organisation) == 1


def test_users_create(runner: FlaskCliRunner) -> None:
    factories.org("LIN")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Aylin@Lindenau.example",
            "--name",
            "Aylin Demir",
            "--org",
            "LIN",
            "--password",
            "a-long-password",
            "--admin",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "aylin@lindenau.example"))
    assert user is not None
    assert (user.display_name, user.organisation.short_name, user.is_admin, user.active) == (
        "Aylin Demir",
        "LIN",
        True,
        True,
    )
    assert authenticate("aylin@lindenau.example", "a-long-password") == user

    plain = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "b@lindenau.example",
            "--name",
            "B",
            "--org",
            "LIN",
            "--password",
            "a-long-password",
        ]
    )
    assert plain.exit_code == 0
    assert not db.session.scalar(select(User.is_admin).where(User.email == "b@lindenau.example"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--org": "NOPE"}, "Unknown organisation."),
        ({"--password": "kurz"}, "The password needs at least %(num)d characters."),
        ({"--email": "kein-at"}, "Not a valid e-mail address."),
        ({"--email": "vorhanden@lindenau.example"}, "A user with this e-mail address exists."),
    ],
    ids=["unknown org", "short password", "bad e-mail", "duplicate e-mail"],
)
def test_users_create_refuses(
    runner: FlaskCliRunner, changes: dict[str, str], message: str
) -> None:
    # The CLI speaks the default language; the password's minimum is a count (ngettext).
    if "%(num)d" in message:
        message = ngettext(message.replace("characters", "character"), message, 10)
    else:
        message = gettext(message)
    lin = factories.org("LIN")
    factories.user(lin, "vorhanden@lindenau.example")
    options = {
        "--email": "neu@lindenau.example",
        "--name": "Neu",
        "--org": "LIN",
        "--password": "a-long-password",
    }
    options.update(changes)
    result = runner.invoke(args=["users", "create", *[x for kv in options.items() for x in kv]])
    assert result.exit_code != 0
    assert message in result.output
    assert count(User) == 1


def test_users_deactivate(app: Flask, runner: FlaskCliRunner, world: factories.World) -> None:
    token = factories.token(world.editor)
    result = runner.invoke(args=["users", "deactivate", "--email", world.editor.email])
    assert result.exit_code == 0, result.output
    db.session.refresh(world.editor)
    assert not world.editor.active
    client = isolated_client(app)
    assert client.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    assert runner.invoke(args=["users", "deactivate", "--email", "x@y.z"]).exit_code != 0


def test_tokens_create(app: Flask, runner: FlaskCliRunner, world: factories.World) -> None:
    result = runner.invoke(args=["tokens", "create", "--email", world.editor.email])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = isolated_client(app).get("/api/v1/papers", headers=api_headers(token))
    assert response.status_code == 200
    assert [p["id"] for p in response.get_json()["papers"]] == [world.paper.id]


def test_tokens_create_refuses_unknown_and_inactive_users(
    runner: FlaskCliRunner, world: factories.World
) -> None:
    world.member.active = False
    db.session.commit()
    for email in ("nobody@example.org", world.member.email):
        result = runner.invoke(args=["tokens", "create", "--email", email])
        assert result.exit_code != 0
        assert "no active user with this e-mail address" in result.output


def test_demo(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo alliance loaded" in result.output

    kinds = set(db.session.scalars(select(Organisation.kind)))
    assert {OrgKind.MINISTRY, OrgKind.MUNICIPALITY, OrgKind.CHAMBER, OrgKind.ASSOCIATION} <= kinds
    assert count(Organisation) >= 5
    [paper] = db.session.scalars(select(Paper)).all()
    assert count(Participant) == count(Organisation)
    roles = set(db.session.scalars(select(PaperRole.role)))
    assert roles == set(Role)
    sections = db.session.scalars(select(Section).where(Section.paper_id == paper.id)).all()
    assert len(sections) >= 6
    for section in sections:
        numbers = db.session.scalars(
            select(SectionVersion.number).where(SectionVersion.section_id == section.id)
        ).all()
        assert len(numbers) >= 2, section.title
    # The logins it prints work, with the password it prints.
    password = result.output.split("password for all: ")[1].split(")")[0]
    emails = [line.split()[0] for line in result.output.splitlines() if "@" in line]
    assert len(emails) == count(User)
    admin = db.session.scalar(select(User).where(User.is_admin))
    assert admin is not None and authenticate(admin.email, password) == admin
    assert admin.email in emails

    before = (count(User), count(Paper), count(SectionVersion))
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert "demo data not loaded" in again.output
    assert (count(User), count(Paper), count(SectionVersion)) == before
