"""Background jobs of the workflows, and the queue that runs them.

With ``REDIS_URL`` set, jobs go to rq queues and ``flask --app wsgi worker`` runs them inside an
application context. Without Redis (the ``make run`` default), or when Redis is unreachable,
they run in this process on one background thread, so a request never waits for them.

Job functions take ids, never ORM objects, and raise when they fail, so rq can retry them.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, Worker
from rq.job import Job
from sqlalchemy import event, update
from sqlalchemy.orm import Session, SessionTransaction

from drafting.extensions import db
from drafting.models import Notification, User, utcnow
from workflows import notifications

log = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
EXPORTS_QUEUE = "exports"
#: The queues ``flask --app wsgi worker`` listens on, most urgent first.
QUEUES: tuple[str, ...] = (MAIL_QUEUE, EXPORTS_QUEUE)

# Seconds between the tries of a failed e-mail (an SMTP server restarting, greylisting).
MAIL_RETRY_INTERVALS = [10, 30, 60]
SMTP_TIMEOUT = 30

# One thread: e-mails are few, and one connection at a time is kind to the SMTP server.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="konzeptwerk-jobs")
_running: set[Future[Any]] = set()
_running_lock = threading.Lock()
_hooks_lock = threading.Lock()


# --- queues -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def redis_connection(url: str) -> Redis:
    """Return a (shared, thread-safe) Redis client for the URL with short timeouts."""
    # Short timeouts: an unreachable Redis must cost a request a second, not a minute.
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)


def get_queue(name: str) -> Queue:
    """Return the rq queue of the given name on the configured Redis.

    :raises RuntimeError: when ``REDIS_URL`` is not configured.
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not configured")
    return Queue(name, connection=redis_connection(str(url)))


def run_in_background(func: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run a job function on the background thread, inside an app context of the current app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> Any:
        with app.app_context():
            try:
                return func(*args)
            except Exception:
                app.logger.exception("background job %s%r failed", func.__name__, args)
                raise

    future = _executor.submit(run)
    with _running_lock:
        _running.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future[Any]) -> None:
    with _running_lock:
        _running.discard(future)


def wait_for_background_jobs(timeout: float | None = 10.0) -> bool:
    """Wait until the in-process jobs submitted so far have finished; tell whether they did."""
    with _running_lock:
        pending = set(_running)
    _done, not_done = wait_futures(pending, timeout=timeout)
    return not not_done


def enqueue_notification_emails(notification_ids: list[int]) -> None:
    """Queue the e-mails of notifications: on rq when Redis is configured, else in-process.

    When Redis is configured but unreachable (or refuses), a warning is logged and these
    e-mails are sent in-process, so notifications are not lost while Redis is down (and the
    request waits for one connection timeout at most, not one per e-mail).
    """
    remaining = list(notification_ids)
    if remaining and current_app.config.get("REDIS_URL"):
        try:
            queue = get_queue(MAIL_QUEUE)
            while remaining:
                queue.enqueue(
                    send_notification_email,
                    remaining[0],
                    retry=Retry(max=len(MAIL_RETRY_INTERVALS), interval=MAIL_RETRY_INTERVALS),
                    description=f"e-mail of notification {remaining[0]}",
                )
                remaining.pop(0)
        except RedisError as err:
            log.warning(
                "Redis unusable (%s); sending the e-mails of notifications %s in-process",
                err,
                remaining,
            )
    for notification_id in remaining:
        run_in_background(send_notification_email, notification_id)


# --- after-commit dispatch ----------------------------------------------------------------


def _after_commit(session: Session) -> None:
    # Fires for savepoint releases too; only the outermost commit makes the rows visible.
    if session.in_nested_transaction():
        return
    pending = notifications.take_pending_emails(session)
    if not pending:
        return
    try:
        enqueue_notification_emails(pending)
    except Exception:
        # The action has been committed; failing here would show the user an error for
        # something that worked. The notifications stay in the inbox, un-e-mailed.
        log.exception("could not queue the e-mails of notifications %s", pending)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # After a rollback or close of the outermost transaction the rows are gone: forget them.
    # (On commit this runs after _after_commit, which has already taken the ids.)
    if transaction.parent is None:
        session.info.pop(notifications.PENDING_EMAILS, None)


def init_app(app: Flask) -> None:
    """Install the session hooks that queue notification e-mails after each commit (once)."""
    with _hooks_lock:
        if not event.contains(db.session, "after_commit", _after_commit):
            event.listen(db.session, "after_commit", _after_commit)
            event.listen(db.session, "after_transaction_end", _after_transaction_end)


# --- the worker ---------------------------------------------------------------------------


#: How often an idle worker cleans rq's registries and tries to take over the scheduler.
#: A worker killed hard (OOM, SIGKILL) leaves its scheduler lock to expire after 61 s; with
#: rq's default of 10 minutes its restarted successor would run no retries (they wait in the
#: scheduled registry) until then — found by the fault soak (bench/soak.py).
MAINTENANCE_SECONDS = 30


class AppWorker(Worker):
    """An rq worker for a process that holds an app context; its work horses get fresh DB pools."""

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # A forked work horse must not use connections pooled by its parent.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def make_worker(url: str) -> AppWorker:
    """Create a worker for all queues on the Redis at ``url``.

    :raises redis.exceptions.ConnectionError: when Redis does not answer.
    """
    connection = Redis.from_url(url)
    connection.ping()
    return AppWorker(
        [Queue(name, connection=connection) for name in QUEUES],
        connection=connection,
        maintenance_interval=MAINTENANCE_SECONDS,
    )


# --- job functions ------------------------------------------------------------------------


def send_notification_email(notification_id: int) -> bool:
    """Send the e-mail of one notification and mark it sent; tell whether a mail went out.

    Nothing is sent when the notification is gone (its transaction was rolled back), was
    already e-mailed, mail is switched off, or the recipient is inactive or opted out.

    :raises smtplib.SMTPException: when the mail server refuses the message (rq retries).
    :raises OSError: when the mail server cannot be reached (rq retries).
    """
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        log.info("notification %s no longer exists; no e-mail", notification_id)
        return False
    if notification.emailed_at is not None or not notifications.emails_enabled():
        return False
    user = db.session.get(User, notification.user_id)
    if user is None or not notifications.wants_email(user, notification.kind):
        return False
    email = notifications.compose_email(notification, user)
    # End the read transaction before talking to the SMTP server: on SQLite it holds the
    # write lock, and no transaction should stay open across network I/O.
    db.session.rollback()

    _send(email)

    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(emailed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return True


def _send(email: Any) -> None:
    config = current_app.config
    with smtplib.SMTP(
        config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT
    ) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email)
