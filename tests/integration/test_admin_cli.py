"""Operators' commands: users list, users set-password (ends sessions and tokens), tokens
list/revoke, audit verify --all, editions verify --all (with the activity-log cross-check that
catches vanished editions), exports prune."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, text

from drafting.extensions import db
from drafting.models import ApiToken, Export, ExportStatus, User, utcnow
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import isolated_client, login
from workflows import accounts
from workflows import signoff as signoff_flow


def test_users_list(runner: FlaskCliRunner, world: factories.World) -> None:
    world.editor.active = False
    db.session.commit()
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = {line.split("\t")[1]: line.split("\t") for line in result.output.splitlines()}
    assert lines[world.editor.email][3] == "inactive"
    assert lines[world.coordinator.email][2] == world.ministry.short_name


def test_set_password_ends_sessions_and_tokens(
    app: Flask, runner: FlaskCliRunner, world: factories.World
) -> None:
    user = world.editor
    client = isolated_client(app)
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert client.get("/").status_code == 200
    token = factories.token(user)
    assert client.get("/api/v1/papers", headers=api_headers(token)).status_code == 200

    result = runner.invoke(
        args=["users", "set-password", "--email", user.email, "--password-stdin"],
        input="a-brand-new-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "1 API token(s) revoked" in result.output
    assert "a-brand-new-password" not in result.output
    # The old session and the token no longer work; the new password does.
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    assert accounts.authenticate(user.email, "a-brand-new-password") is not None
    assert accounts.authenticate(user.email, factories.PASSWORD) is None


def test_set_password_refuses_short_passwords_and_unknown_users(
    runner: FlaskCliRunner, world: factories.World
) -> None:
    short = runner.invoke(
        args=["users", "set-password", "--email", world.editor.email, "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0
    assert "at least 10" in short.output or "mindestens 10" in short.output
    unknown = runner.invoke(
        args=["users", "set-password", "--email", "nobody@example.org", "--password-stdin"],
        input="long-enough-password\n",
    )
    assert unknown.exit_code != 0


def test_tokens_list_and_revoke(runner: FlaskCliRunner, world: factories.World) -> None:
    factories.token(world.editor)
    factories.token(world.coordinator)
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert {r[1] for r in rows} == {world.editor.email, world.coordinator.email}
    assert all(not r[3].startswith("kzw_") or len(r[3]) <= 12 for r in rows)
    token_id = next(int(r[0]) for r in rows if r[1] == world.editor.email)
    revoked = runner.invoke(args=["tokens", "revoke", "--id", str(token_id)])
    assert revoked.exit_code == 0
    assert db.session.get(ApiToken, token_id).revoked_at is not None  # type: ignore[union-attr]
    assert world.editor.email not in runner.invoke(args=["tokens", "list"]).output
    assert world.editor.email in runner.invoke(args=["tokens", "list", "--all"]).output
    assert runner.invoke(args=["tokens", "revoke", "--id", "999999"]).exit_code != 0


def test_audit_verify_all(runner: FlaskCliRunner, world: factories.World) -> None:
    second = factories.paper(world.coordinator, title="Zweites Papier")
    ok = runner.invoke(args=["audit", "verify", "--all"])
    assert ok.exit_code == 0, ok.output
    assert "activity logs of 2 paper(s) and the administrators' log are intact" in ok.output
    db.session.execute(
        text("UPDATE activity_entry SET action = 'paper.forged' WHERE paper_id = :p"),
        {"p": second.id},
    )
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify", "--all"])
    assert broken.exit_code != 0
    assert f"paper {second.id}, entry 1: content was altered" in broken.output
    assert runner.invoke(args=["audit", "verify"]).exit_code != 0


def test_editions_verify_all_catches_a_vanished_edition(
    runner: FlaskCliRunner, world: factories.World
) -> None:
    factories.approve_all(world)
    signoff_flow.start(world.coordinator, world.paper.id, label="Fassung April")
    ok = runner.invoke(args=["editions", "verify", "--all"])
    assert ok.exit_code == 0, ok.output
    assert "match their hashes and the activity log" in ok.output

    # A downgrade (or a hand-made DELETE) removes the edition with everything hanging on it.
    pid = world.paper.id
    db.session.execute(text("UPDATE paper SET current_edition_id = NULL WHERE id = :p"), {"p": pid})
    for table in ("signoff_decision", "edition_section"):
        db.session.execute(
            text(
                f"DELETE FROM {table} WHERE edition_id IN "  # noqa: S608 — fixed table names
                "(SELECT id FROM edition WHERE paper_id = :p)"
            ),
            {"p": pid},
        )
    db.session.execute(text("DELETE FROM edition WHERE paper_id = :p"), {"p": pid})
    db.session.commit()

    single = runner.invoke(args=["editions", "verify", str(pid)])
    assert single.exit_code != 0
    assert "edition 1: is in the activity log" in single.output
    every = runner.invoke(args=["editions", "verify", "--all"])
    assert every.exit_code != 0
    assert f"paper {pid}, edition 1: is in the activity log" in every.output


@pytest.mark.parametrize("arg", [["--older-than", "30d"], []])
def test_exports_prune(
    app: Flask, runner: FlaskCliRunner, world: factories.World, arg: list[str]
) -> None:
    app.config["EXPORT_RETENTION_DAYS"] = 30
    now = utcnow()
    kept = []
    for age_days, status in (
        (40, ExportStatus.DONE),
        (40, ExportStatus.FAILED),
        (40, ExportStatus.RUNNING),
        (5, ExportStatus.DONE),
    ):
        export = Export(
            paper_id=world.paper.id,
            requested_by_id=world.coordinator.id,
            status=status,
            content=b"docx",
            created_at=now - timedelta(days=age_days),
        )
        db.session.add(export)
        kept.append((export, age_days, status))
    db.session.commit()
    result = runner.invoke(args=["exports", "prune", *arg])
    assert result.exit_code == 0, result.output
    assert "2 export(s) older than 30 day(s) deleted" in result.output
    left = db.session.scalars(select(Export.status)).all()
    assert sorted(left) == sorted([ExportStatus.RUNNING, ExportStatus.DONE])
    assert runner.invoke(args=["exports", "prune", "--older-than", "soon"]).exit_code != 0


def test_set_password_workflow_needs_an_admin(world: factories.World) -> None:
    from workflows.errors import NotAllowed

    with pytest.raises(NotAllowed):
        accounts.set_password(world.editor, world.coordinator, "long-enough-password")
    admin = factories.user(world.ministry, admin=True)
    accounts.set_password(admin, world.coordinator, "long-enough-password")
    assert db.session.get(User, world.coordinator.id) is not None


# --- the same on the admin page ---------------------------------------------------------------


def test_admin_page_sets_a_password(app: Flask, world: factories.World) -> None:
    victim = isolated_client(app)
    login(victim, world.editor.email)
    token = factories.token(world.editor)
    admin = isolated_client(app)
    login(admin, world.admin.email)
    page = admin.get(f"/admin/users/{world.editor.id}")
    assert page.status_code == 200
    assert f'action="/admin/users/{world.editor.id}/password"' in page.get_data(as_text=True)

    short = admin.post(f"/admin/users/{world.editor.id}/password", data={"new_password": "kurz"})
    assert short.status_code == 422
    done = admin.post(
        f"/admin/users/{world.editor.id}/password", data={"new_password": "ein-neues-passwort"}
    )
    assert done.status_code == 302
    assert "1 API-Token" in admin.get(done.location).get_data(as_text=True)
    assert victim.get("/").status_code == 302
    assert victim.get("/api/v1/papers", headers=api_headers(token)).status_code == 401
    assert accounts.authenticate(world.editor.email, "ein-neues-passwort") is not None


def test_only_admins_may_set_passwords(app: Flask, world: factories.World) -> None:
    client = isolated_client(app)
    login(client, world.coordinator.email)
    response = client.post(
        f"/admin/users/{world.editor.id}/password", data={"new_password": "ein-neues-passwort"}
    )
    assert response.status_code == 403
    assert accounts.authenticate(world.editor.email, factories.PASSWORD) is not None
