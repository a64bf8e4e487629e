"""The keyed audit chain: activity entries and editions sealed with HMAC under AUDIT_KEY.

ASVS 4.0.3 V7.3.3 (security logs protected from unauthorised modification) and V7.3.4
(time sources, anchored heads): someone who can write the database rewrites history and
recomputes every plain SHA-256 exactly as ``sqlite3`` + ``hashlib`` would; ``audit verify``
and ``editions verify`` must still report the rewrite, because the key is not in the database.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, bindparam, select, text

from drafting.config import audit_key
from drafting.extensions import db
from drafting.models import ActivityEntry, Edition, Paper
from tests import factories
from tests.conftest import IS_POSTGRES, base_config
from workflows import activity
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

GENESIS = "0" * 64


def _plain_hash(row: Any, prev: str) -> str:
    """What an intruder computes with hashlib: the documented plain chain, no key."""
    created = row.created_at
    if isinstance(created, str):  # SQLite hands back text
        created = datetime.fromisoformat(created)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    details = row.details if isinstance(row.details, dict) else json.loads(row.details or "{}")
    payload = {
        "paper_id": row.paper_id,
        "seq": row.seq,
        "actor_id": row.actor_id,
        "action": row.action,
        "section_id": row.section_id,
        "version": row.version,
        "details": details or {},
        "created_at": created.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": prev,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _rewrite_and_recompute(paper_id: int, seq: int, details: dict[str, Any]) -> None:
    """Rewrite one entry by SQL, then recompute the whole plain chain and the paper's head."""
    db.session.execute(
        text(
            "UPDATE activity_entry SET details = :details WHERE paper_id = :p AND seq = :s"
        ).bindparams(bindparam("details", type_=JSON)),
        {"details": details, "p": paper_id, "s": seq},
    )
    rows = db.session.execute(
        text(
            "SELECT id, paper_id, seq, actor_id, action, section_id, version, details, "
            "created_at FROM activity_entry WHERE paper_id = :p ORDER BY seq"
        ),
        {"p": paper_id},
    ).all()
    prev = GENESIS
    for row in rows:
        new = _plain_hash(row, prev)
        db.session.execute(
            text("UPDATE activity_entry SET prev_hash = :prev, hash = :h WHERE id = :id"),
            {"prev": prev, "h": new, "id": row.id},
        )
        prev = new
    db.session.execute(
        text("UPDATE paper SET log_head = :h WHERE id = :p"), {"h": prev, "p": paper_id}
    )
    db.session.commit()
    db.session.expire_all()


def _busy(world: factories.World) -> None:
    sid = world.section.id
    section_flow.save_section(world.editor, sid, body="Die Innenstadt lebt.", base_version=1)
    section_flow.save_section(world.editor, sid, body="Die Innenstadt lebt gut.", base_version=2)


def test_the_intruders_plain_recomputation_matches_the_app(world):
    """The regression below is only meaningful if the plain formula is the app's own."""
    _busy(world)
    entries = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.paper_id == world.paper.id)
    ).all()
    prev = GENESIS
    for entry in sorted(entries, key=lambda e: e.seq):
        assert _plain_hash(entry, prev) == entry.hash
        prev = entry.hash


def test_v7_3_3_audit_verify_finds_a_rewrite_recomputed_with_plain_sha256(runner, world):
    _busy(world)
    assert activity.verify(world.paper.id) == []
    victim = 3
    _rewrite_and_recompute(world.paper.id, victim, {"user": "someone-else@example.org"})
    problems = activity.verify(world.paper.id)
    assert problems, "a recomputed plain chain must not pass as intact"
    assert {p.seq for p in problems} >= {victim}
    assert all("keyed seal" in p.problem for p in problems)
    result = runner.invoke(args=["audit", "verify", str(world.paper.id)])
    assert result.exit_code != 0
    assert "NOT intact" in result.output
    assert f"entry {victim}: keyed seal does not match" in result.output


def test_v7_3_3_cutting_off_the_newest_entries_needs_the_key(runner, world):
    _busy(world)
    paper = db.session.get(Paper, world.paper.id)
    assert paper is not None
    seq = paper.log_seq
    previous = db.session.scalar(
        select(ActivityEntry).where(
            ActivityEntry.paper_id == paper.id, ActivityEntry.seq == seq - 1
        )
    )
    db.session.execute(
        text("DELETE FROM activity_entry WHERE paper_id = :p AND seq = :s"),
        {"p": paper.id, "s": seq},
    )
    # Even the previous entry's own seal does not pass as the head's.
    db.session.execute(
        text("UPDATE paper SET log_seq = :s, log_head = :h, log_mac = :m WHERE id = :p"),
        {"s": seq - 1, "h": previous.hash, "m": previous.mac, "p": paper.id},
    )
    db.session.commit()
    db.session.expire_all()
    assert [p.problem for p in activity.verify(paper.id)] == [
        "keyed seal of the head does not match (entries cut off?)"
    ]
    assert runner.invoke(args=["audit", "verify", str(paper.id)]).exit_code != 0


def test_v7_3_3_a_chain_sealed_with_another_key_is_caught(app, runner, world):
    _busy(world)
    app.config["AUDIT_KEY"] = "another installation's key"
    try:
        problems = activity.verify(world.paper.id)
    finally:
        app.config["AUDIT_KEY"] = audit_key(app.instance_path)
    assert len(problems) > 1


def test_v7_3_4_audit_anchor_prints_the_plain_and_the_keyed_head(runner, world):
    _busy(world)
    paper = db.session.get(Paper, world.paper.id)
    assert paper is not None
    result = runner.invoke(args=["audit", "anchor", str(paper.id)])
    assert result.exit_code == 0, result.output
    assert f"entries:     {paper.log_seq}" in result.output
    assert f"head:        {paper.log_head}" in result.output
    assert f"head-keyed:  {paper.log_mac}" in result.output
    assert len(paper.log_mac) == 64 and paper.log_mac != paper.log_head
    # The plain head is the newest entry's SHA-256, recomputable without the key.
    newest = db.session.scalar(
        select(ActivityEntry).where(
            ActivityEntry.paper_id == paper.id, ActivityEntry.seq == paper.log_seq
        )
    )
    assert newest.hash == paper.log_head
    assert runner.invoke(args=["audit", "anchor", "999999"]).exit_code != 0


def test_v7_3_4_verify_against_an_anchor_finds_a_rolled_back_log(runner, world):
    _busy(world)
    paper = db.session.get(Paper, world.paper.id)
    assert paper is not None
    recorded = f"{paper.log_seq}:{paper.log_head}"
    ok = runner.invoke(args=["audit", "verify", str(paper.id), "--anchor", recorded])
    assert ok.exit_code == 0, ok.output
    # Restoring yesterday's backup (keys and all) loses the newest entry: only the anchor knows.
    older = db.session.scalar(
        select(ActivityEntry).where(
            ActivityEntry.paper_id == paper.id, ActivityEntry.seq == paper.log_seq - 1
        )
    )
    db.session.execute(
        text("DELETE FROM activity_entry WHERE paper_id = :p AND seq = :s"),
        {"p": paper.id, "s": paper.log_seq},
    )
    db.session.execute(
        text("UPDATE paper SET log_seq = :s, log_head = :h, log_mac = :m WHERE id = :p"),
        {
            "s": older.seq,
            "h": older.hash,
            "m": activity.head_mac(paper.id, older.seq, older.hash),
            "p": paper.id,
        },
    )
    db.session.commit()
    db.session.expire_all()
    assert activity.verify(paper.id) == []  # a consistent earlier state
    rolled = runner.invoke(args=["audit", "verify", str(paper.id), "--anchor", recorded])
    assert rolled.exit_code != 0
    assert "the anchored entry is missing" in rolled.output
    bad = runner.invoke(args=["audit", "verify", str(paper.id), "--anchor", "nonsense"])
    assert bad.exit_code != 0


def _edition(world: factories.World) -> Edition:
    factories.approve_all(world)
    return signoff_flow.start(world.coordinator, world.paper.id, label="Fassung")


def test_v7_3_3_editions_verify_finds_texts_rewritten_with_a_recomputed_plain_hash(runner, world):
    edition = _edition(world)
    pid, number = world.paper.id, edition.number
    assert signoff_flow.verify(pid) == []
    assert len(edition.content_mac) == 64
    rows = db.session.execute(
        text(
            "SELECT v.id, v.title, v.level, v.body FROM edition_section es "
            "JOIN section_version v ON v.id = es.version_id "
            "WHERE es.edition_id = :e ORDER BY es.position"
        ),
        {"e": edition.id},
    ).all()
    forged = "Die Innenstadt lebt vom Parken."
    payload = [[r.title, r.level, forged if i == 0 else r.body] for i, r in enumerate(rows)]
    plain = hashlib.sha256(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    db.session.execute(
        text("UPDATE section_version SET body = :b WHERE id = :id"), {"b": forged, "id": rows[0].id}
    )
    db.session.execute(
        text("UPDATE edition SET content_hash = :h WHERE id = :e"), {"h": plain, "e": edition.id}
    )
    db.session.execute(
        text("UPDATE signoff_decision SET edition_hash = :h WHERE edition_id = :e"),
        {"h": plain, "e": edition.id},
    )
    db.session.commit()
    db.session.expire_all()
    problems = signoff_flow.verify(pid)
    assert [(p.edition, p.problem) for p in problems] == [
        (number, "keyed seal does not match (hash recomputed without the key)")
    ]
    result = runner.invoke(args=["editions", "verify", str(pid)])
    assert result.exit_code != 0
    assert "do NOT match" in result.output


def test_the_audit_key_comes_from_the_environment_or_is_created_once(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    first = audit_key(str(tmp_path / "instance"))
    assert len(first) == 64
    key_file = tmp_path / "instance" / "audit_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert audit_key(str(tmp_path / "instance")) == first
    monkeypatch.setenv("AUDIT_KEY", "from-the-vault")
    assert audit_key(str(tmp_path / "instance")) == "from-the-vault"


@pytest.mark.usefixtures("world")
def test_every_new_entry_is_sealed(app: Flask):
    entries = db.session.scalars(select(ActivityEntry)).all()
    assert entries
    for entry in entries:
        assert entry.mac == activity.entry_mac(entry.hash)


@pytest.fixture
def kept_logging():
    """Undo the logging setup of Alembic's env.py (fileConfig disables existing loggers)."""
    import logging

    manager = logging.Logger.manager
    loggers = [logging.getLogger(name) for name in list(manager.loggerDict)]
    saved = [(lg, lg.disabled, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    root = logging.getLogger()
    root_state = (root.level, list(root.handlers))
    yield
    for lg, disabled, level, handlers, propagate in saved:
        lg.disabled, lg.level, lg.handlers, lg.propagate = disabled, level, handlers, propagate
    root.level, root.handlers = root_state[0], root_state[1]


@pytest.mark.skipif(IS_POSTGRES, reason="runs on a SQLite file of its own")
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_v7_3_3_the_migration_seals_existing_chains_and_editions(tmp_path: Path, kept_logging):
    """Chains written before the key existed are sealed by ``db upgrade`` with the app's key."""
    from drafting import create_app

    config = base_config(tmp_path)
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config["AUDIT_KEY"] = "the installation's key"
    migrated = create_app(config)
    cli = migrated.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    with migrated.app_context():
        world = factories.world()
        pid = world.paper.id
        _busy(world)
        _edition(world)
        db.session.remove()
    # Back to the schema before the key: the seals are gone, as on an older installation.
    assert cli.invoke(args=["db", "downgrade", "1a04a102648a"]).exit_code == 0
    with migrated.app_context():
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("activity_entry")}
        assert "mac" not in columns
        db.session.remove()
    upgraded = cli.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with migrated.app_context():
        assert activity.verify(pid) == []
        assert signoff_flow.verify(pid) == []
        macs = db.session.scalars(select(ActivityEntry.mac)).all()
        assert macs and all(len(m) == 64 for m in macs)
        db.session.remove()
        db.engine.dispose()
