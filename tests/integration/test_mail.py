"""Notification e-mails against a real local SMTP server (aiosmtpd), in-process and through rq."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from rq import Queue
from sqlalchemy import select

from drafting import create_app
from drafting.extensions import babel, db
from drafting.models import Notification
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, make_app
from workflows import jobs, notifications
from workflows.notifications import notify

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://konzeptwerk.example"
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"

# German texts of the mail's strings, compiled into a catalog for these tests only, so the
# test does not depend on the state of the shared German catalog (kept by another engineer).
GERMAN = {
    "%(actor)s asked you to review “%(section)s”.": (
        "%(actor)s bittet Sie, „%(section)s“ zu prüfen."
    ),
    "Konzeptwerk: %(message)s": "Konzeptwerk: %(message)s",
    "Hello %(name)s,": "Guten Tag %(name)s,",
    "Paper: %(paper)s": "Konzeptpapier: %(paper)s",
    "Open it in Konzeptwerk: %(url)s": "In Konzeptwerk öffnen: %(url)s",
    "You receive this e-mail because you take part in a concept paper in Konzeptwerk. "
    "Choose which e-mails you get: %(url)s": "Sie erhalten diese E-Mail, weil Sie an einem "
    "Konzeptpapier in Konzeptwerk mitwirken. Welche E-Mails Sie erhalten, legen Sie hier "
    "fest: %(url)s",
}


@dataclass
class Inbox:
    """What the local SMTP server received."""

    port: int
    envelopes: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for _sender, _rcpts, raw in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 that keeps every message it gets."""
    from aiosmtpd.controller import Controller

    inbox = Inbox(port=_free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def german_catalog(tmp_path: Path) -> str:
    """A directory with a German catalog of the mail's strings."""
    catalog = Catalog(locale="de")
    for msgid, msgstr in GERMAN.items():
        catalog.add(msgid, msgstr, flags=["python-format"])
    target = tmp_path / "translations" / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    return str(tmp_path / "translations")


@pytest.fixture
def mail_app(tmp_path: Path, smtp: Inbox, german_catalog: str) -> Iterator[Flask]:
    """An app that mails through the local SMTP server and knows the German mail texts."""
    real = str(ROOT / "drafting" / "translations")
    app = make_app(
        tmp_path,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_FROM="konzeptwerk@ministerium.example",
        BASE_URL=BASE_URL,
        BABEL_TRANSLATION_DIRECTORIES=f"{real};{german_catalog}",
    )
    with app.app_context():
        # Flask-Babel caches catalogs per process by locale only, not per app or directory:
        # clear it so this app loads its own directories, and again so later apps do too.
        babel.domain_instance.cache.clear()
        yield app
        assert jobs.wait_for_background_jobs(10)
        babel.domain_instance.cache.clear()
        db.session.remove()
    if IS_POSTGRES:
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


def _request_review(world: factories.World, *recipients) -> list[Notification]:
    created = notify(
        [u.id for u in recipients],
        "review_requested",
        paper_id=world.paper.id,
        section_id=world.section.id,
        actor=world.editor,
        url=f"/papers/{world.paper.id}#section-{world.section.id}",
    )
    db.session.commit()
    return created


def test_mails_go_out_in_each_recipients_language(mail_app, smtp):
    w = factories.world()
    w.reviewer.locale = "de"
    w.coordinator.locale = "en"
    db.session.commit()

    _request_review(w, w.reviewer, w.coordinator)
    assert jobs.wait_for_background_jobs(10)

    by_rcpt = {
        rcpts[0]: msg for (_f, rcpts, _r), msg in zip(smtp.envelopes, smtp.messages(), strict=True)
    }
    assert set(by_rcpt) == {w.reviewer.email, w.coordinator.email}
    link = f"{BASE_URL}/papers/{w.paper.id}#section-{w.section.id}"

    german = by_rcpt[w.reviewer.email]
    assert german["Subject"] == "Konzeptwerk: Emil Redaktion bittet Sie, „Ausgangslage“ zu prüfen."
    assert german["To"].addresses[0].addr_spec == w.reviewer.email
    assert german["From"] == "konzeptwerk@ministerium.example"
    assert german["Content-Language"] == "de"
    body = german.get_content()
    assert "Guten Tag Rita Prüfung," in body
    assert f"In Konzeptwerk öffnen: {link}" in body
    assert f"{BASE_URL}/inbox/settings" in body

    english = by_rcpt[w.coordinator.email]
    assert english["Subject"] == "Konzeptwerk: Emil Redaktion asked you to review “Ausgangslage”."
    body = english.get_content()
    assert "Hello Cora Koordination," in body
    assert f"Open it in Konzeptwerk: {link}" in body

    emailed = db.session.scalars(select(Notification.emailed_at)).all()
    assert len(emailed) == 2 and all(emailed)


def test_the_job_sends_once_and_respects_opt_outs(mail_app, smtp):
    w = factories.world()
    (n,) = _request_review(w, w.reviewer)
    assert jobs.wait_for_background_jobs(10)
    assert len(smtp.envelopes) == 1

    # Called directly (as rq would on a retry): already sent, so nothing happens.
    assert jobs.send_notification_email(n.id) is False
    assert jobs.send_notification_email(999_999) is False
    assert len(smtp.envelopes) == 1

    notifications.set_email_opt_outs(w.coordinator, ["review_requested"])
    _request_review(w, w.coordinator)
    assert jobs.wait_for_background_jobs(10)
    assert len(smtp.envelopes) == 1
    assert notifications.unread_count(w.coordinator) == 1


def test_header_injection_through_titles_is_impossible(mail_app, smtp):
    w = factories.world()
    notify(
        [w.reviewer.id],
        "reply",
        paper_id=w.paper.id,
        section_id=w.section.id,
        actor=w.editor,
        params={"section": "Titel\r\nBcc: victim@example.org"},
    )
    db.session.commit()
    assert jobs.wait_for_background_jobs(10)
    (msg,) = smtp.messages()
    assert msg["Bcc"] is None
    assert smtp.envelopes[0][1] == [w.reviewer.email]


def test_a_failing_send_raises_and_leaves_the_notification_unsent(mail_app, smtp, caplog):
    w = factories.world()
    mail_app.config["MAIL_PORT"] = _free_port()  # nobody listens there
    (n,) = _request_review(w, w.reviewer)
    assert jobs.wait_for_background_jobs(10)
    assert "background job send_notification_email" in caplog.text
    with pytest.raises(OSError):
        jobs.send_notification_email(n.id)
    db.session.expire_all()
    assert db.session.get(Notification, n.id).emailed_at is None
    assert notifications.unread_count(w.reviewer) == 1


def test_unreachable_redis_falls_back_to_in_process(mail_app, smtp, caplog):
    w = factories.world()
    mail_app.config["REDIS_URL"] = f"redis://127.0.0.1:{_free_port()}/0"
    with caplog.at_level(logging.WARNING, logger="workflows.jobs"):
        _request_review(w, w.reviewer, w.coordinator)
    # One failed connection for the whole commit, not one per e-mail.
    assert caplog.text.count("Redis unusable") == 1
    assert jobs.wait_for_background_jobs(10)
    assert sorted(rcpts[0] for _f, rcpts, _r in smtp.envelopes) == sorted(
        [w.reviewer.email, w.coordinator.email]
    )


# --- through a real rq worker ----------------------------------------------------------------


def _redis_or_skip():
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as err:  # pragma: no cover — CI has Redis
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}: {err}")
    return connection


@pytest.mark.redis
def test_rq_worker_sends_the_mail(tmp_path, smtp, monkeypatch):
    redis = _redis_or_skip()
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    redis.flushdb()
    # A file SQLite database shared with the worker process (also when the suite runs on
    # PostgreSQL: the worker must see this test's rows, not the shared test schema).
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_FROM": "konzeptwerk@ministerium.example",
        "BASE_URL": BASE_URL,
        "REDIS_URL": REDIS_TEST_URL,
    }
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database,
            "RATELIMIT_STORAGE_URI": "memory://",
            **settings,
            "MAIL_PORT": smtp.port,
        }
    )
    try:
        with app.app_context():
            db.create_all()
            w = factories.world()
            w.reviewer.locale = "en"
            db.session.commit()
            (n,) = _request_review(w, w.reviewer)
            notification_id, recipient = n.id, w.reviewer.email
            (job,) = Queue(jobs.MAIL_QUEUE, connection=redis).jobs
            assert job.func_name == "workflows.jobs.send_notification_email"
            assert job.args == (notification_id,)
            assert (job.retries_left, job.retry_intervals) == (3, [10, 30, 60])
            assert smtp.envelopes == []  # queued for the worker, not sent in-process

        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env.update(settings, DATABASE_URL=database, INSTANCE_PATH=str(tmp_path / "worker"))
        worker = subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker", "--burst"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = worker.stderr + worker.stdout
        assert worker.returncode == 0, output

        assert [rcpts for _f, rcpts, _r in smtp.envelopes] == [[recipient]], output
        (msg,) = smtp.messages()
        assert msg["Subject"] == "Konzeptwerk: Emil Redaktion asked you to review “Ausgangslage”."
        assert f"{BASE_URL}/papers/" in msg.get_content()
        with app.app_context():
            assert db.session.get(Notification, notification_id).emailed_at is not None
    finally:
        with app.app_context():
            db.engine.dispose()
        redis.flushdb()


def test_worker_needs_redis_url(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
