"""Background jobs of the workflows, and the queue that runs them.

With ``REDIS_URL`` set, jobs go to rq queues and ``flask --app wsgi worker`` runs them inside an
application context. Without Redis (the ``make run`` default) they run in this process on
background threads, so a request never waits for them; :func:`submit` is the one entry for
both, with the same retries. E-mails also fall back to in-process while Redis is unreachable.

Job functions take ids, never ORM objects, and raise when they fail, so rq can retry them.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
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
from workflows.uow import unit_of_work

log = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
EXPORTS_QUEUE = "exports"
#: The queues ``flask --app wsgi worker`` listens on, most urgent first.
QUEUES: tuple[str, ...] = (MAIL_QUEUE, EXPORTS_QUEUE)

# Seconds between the tries of a failed e-mail (an SMTP server restarting, greylisting).
MAIL_RETRY_INTERVALS = [10, 30, 60]
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class Retries:
    """How often a failed job is tried again (``max``) and after how many seconds."""

    max: int
    intervals: tuple[int, ...]

    def interval(self, retry: int) -> int:
        """Return the wait in seconds before retry number ``retry`` (0-based)."""
        return self.intervals[min(retry, len(self.intervals) - 1)]

    def for_rq(self) -> Retry:
        """Return rq's equivalent."""
        return Retry(max=self.max, interval=list(self.intervals))


MAIL_RETRIES = Retries(max=len(MAIL_RETRY_INTERVALS), intervals=tuple(MAIL_RETRY_INTERVALS))
#: In-process waits between tries are capped (a test app waits even less).
IN_PROCESS_MAX_WAIT = 60
IN_PROCESS_MAX_WAIT_TESTING = 2

# The in-process runner: one thread for e-mails (few, and one connection at a time is kind to
# the SMTP server), two for exports.
_executors: dict[str, ThreadPoolExecutor] = {
    MAIL_QUEUE: ThreadPoolExecutor(max_workers=1, thread_name_prefix="konzeptwerk-jobs"),
    EXPORTS_QUEUE: ThreadPoolExecutor(max_workers=2, thread_name_prefix="konzeptwerk-exports"),
}
_running: dict[str, set[Future[Any]]] = {name: set() for name in QUEUES}
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


def submit(
    func: Callable[..., Any],
    *args: Any,
    queue: str,
    retry: Retries | None = None,
    give_up: Callable[..., bool] | None = None,
    job_id: str | None = None,
    description: str | None = None,
    timeout: int | None = None,
    result_ttl: int | None = None,
    failure_ttl: int | None = None,
) -> None:
    """Run the job ``func(*args)``: on the rq queue ``queue`` when ``REDIS_URL`` is set, else
    on this process's background threads — with the same retries either way.

    ``give_up(*args)`` (in-process only) tells after a failure that another try is pointless
    (rq's retries run the job again, which finds that out itself).

    :raises redis.exceptions.RedisError: when Redis is configured but unusable (the caller
        decides: e-mails fall back to in-process, exports are refused).
    """
    if not current_app.config.get("REDIS_URL"):
        run_in_background(func, *args, queue=queue, retry=retry, give_up=give_up)
        return
    options: dict[str, Any] = {
        "job_id": job_id,
        "description": description,
        "job_timeout": timeout,
        "result_ttl": result_ttl,
        "failure_ttl": failure_ttl,
    }
    get_queue(queue).enqueue(
        func,
        *args,
        retry=retry.for_rq() if retry is not None else None,
        **{k: v for k, v in options.items() if v is not None},
    )


def run_in_background(
    func: Callable[..., Any],
    *args: Any,
    queue: str = MAIL_QUEUE,
    retry: Retries | None = None,
    give_up: Callable[..., bool] | None = None,
) -> Future[Any]:
    """Run a job function on a background thread, inside an app context of the current app,
    trying again after a failure as ``retry`` says (a fresh session for every try)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    tries = 1 + (retry.max if retry is not None else 0)

    def run() -> Any:
        with app.app_context():
            for attempt in range(tries):
                try:
                    return func(*args)
                except Exception:
                    db.session.rollback()
                    app.logger.exception(
                        "background job %s%r failed (try %s of %s)",
                        func.__name__,
                        args,
                        attempt + 1,
                        tries,
                    )
                    if retry is None or attempt + 1 >= tries:
                        raise
                    if give_up is not None and give_up(*args):
                        raise
                    cap = IN_PROCESS_MAX_WAIT_TESTING if app.testing else IN_PROCESS_MAX_WAIT
                    time.sleep(min(retry.interval(attempt), cap))
                finally:
                    db.session.remove()
            return None  # pragma: no cover - the loop returns or raises

    future = _executors[queue].submit(run)
    with _running_lock:
        _running[queue].add(future)
    future.add_done_callback(lambda done: _forget(queue, done))
    return future


def _forget(queue: str, future: Future[Any]) -> None:
    with _running_lock:
        _running[queue].discard(future)


def wait_for_background_jobs(timeout: float | None = 10.0, *, queue: str | None = None) -> bool:
    """Wait until the in-process jobs submitted so far (of one queue, or all) have finished;
    tell whether they did."""
    with _running_lock:
        pending = {
            f for name, futures in _running.items() if queue in (None, name) for f in futures
        }
    _done, not_done = wait_futures(pending, timeout=timeout)
    return not not_done


def enqueue_notification_emails(notification_ids: list[int]) -> None:
    """Queue the e-mails of notifications: on rq when Redis is configured, else in-process.

    When Redis is configured but unreachable (or refuses), a warning is logged and these
    e-mails are sent in-process, so notifications are not lost while Redis is down (and the
    request waits for one connection timeout at most, not one per e-mail).
    """
    remaining = list(notification_ids)
    try:
        while remaining:
            submit(
                send_notification_email,
                remaining[0],
                queue=MAIL_QUEUE,
                retry=MAIL_RETRIES,
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
        run_in_background(send_notification_email, notification_id, retry=MAIL_RETRIES)


def enqueue_email(message: EmailMessage) -> None:
    """Send an e-mail that is not a notification (invitation, password reset) in the background:
    on rq when Redis is configured and reachable, else on this process's background thread.

    Call it after the action's commit. Without ``MAIL_SERVER`` nothing is sent.
    """
    raw = message.as_bytes()
    if current_app.config.get("REDIS_URL"):
        try:
            get_queue(MAIL_QUEUE).enqueue(
                send_message,
                raw,
                retry=Retry(max=len(MAIL_RETRY_INTERVALS), interval=MAIL_RETRY_INTERVALS),
                description="account e-mail",
                # A link in it is a credential: keep it in Redis no longer than needed.
                result_ttl=0,
                failure_ttl=3600,
            )
            return
        except RedisError as err:
            log.warning("Redis unusable (%s); sending an account e-mail in-process", err)
    run_in_background(send_message, raw)


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


# Supervision of rq's scheduler (the process that moves retries and delayed jobs to their
# queue when due). rq restarts a dead scheduler only in its maintenance, every 10 minutes by
# default, and waits up to ``worker_ttl - 15`` s for a job between two maintenances. Shorter
# periods bring retries back within a minute of a Redis outage; a scheduler that cannot be
# restarted makes the worker exit non-zero, so systemd or the orchestrator restarts it.
WORKER_TTL = 45  # seconds: the heartbeat /ready looks for, and the longest wait for a job
MAINTENANCE_SECONDS = 15
SCHEDULER_GIVE_UP_AFTER = 4  # failed checks in a row


class AppWorker(Worker):
    """An rq worker for a process that holds an app context; its work horses get fresh DB
    pools, and it supervises its scheduler."""

    max_connection_wait_time = 10.0  # back in touch within seconds after Redis returns

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        super().__init__(*args, **kwargs)
        self.scheduler_failures = 0
        #: Set when the worker stopped because its scheduler could not be kept alive.
        self.scheduler_failed = False

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # A forked work horse must not use connections pooled by its parent.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # restarts a dead scheduler if it can
        finally:
            self.supervise_scheduler()

    def supervise_scheduler(self) -> None:
        """Count the checks in a row that found no live scheduler; stop the worker after
        ``SCHEDULER_GIVE_UP_AFTER`` of them."""
        if self.scheduler is None:
            return
        if self._scheduler_alive() or self._other_scheduler_active():
            self.scheduler_failures = 0
            return
        # Our dead scheduler's locks outlive it by up to a minute (and survive a Redis restart
        # with persistence); rq's own restart waits for them to expire. Take them back now.
        try:
            if self._reclaim_stale_locks():
                self.scheduler.acquire_locks(auto_start=True)
        except (RedisError, OSError) as err:
            log.warning("rq scheduler restart failed: %s", err)
        if self._scheduler_alive():
            log.warning("rq scheduler restarted")
            self.scheduler_failures = 0
            return
        self.scheduler_failures += 1
        log.error(
            "rq scheduler is not running (check %d of %d)",
            self.scheduler_failures,
            SCHEDULER_GIVE_UP_AFTER,
        )
        if self.scheduler_failures >= SCHEDULER_GIVE_UP_AFTER:
            log.critical("rq scheduler cannot be restarted; stopping the worker (exit status 1)")
            self.scheduler_failed = True
            self.request_stop(None, None)

    def _scheduler_alive(self) -> bool:
        process = self.scheduler._process if self.scheduler else None
        return process is not None and process.is_alive()

    def _reclaim_stale_locks(self) -> bool:
        """Delete the scheduler locks still held in the name of our dead scheduler."""
        from rq.scheduler import RQScheduler

        if self.scheduler is None:
            return False
        reclaimed = False
        for queue in self.queues:
            key = RQScheduler.get_locking_key(queue.name)
            holder = self.connection.get(key)
            if holder is not None and holder.decode() == self.scheduler.name:
                self.connection.delete(key)
                reclaimed = True
        return reclaimed or not self.scheduler.acquired_locks

    def _other_scheduler_active(self) -> bool:
        """Another worker's scheduler holds every lock: this one is not needed."""
        from rq.scheduler import RQScheduler

        mine = self.scheduler.name if self.scheduler else ""
        try:
            holders = [
                self.connection.get(RQScheduler.get_locking_key(q.name)) for q in self.queues
            ]
        except RedisError:
            return False
        return all(h is not None and h.decode() != mine for h in holders)


def make_worker(url: str) -> AppWorker:
    """Create a worker for all queues on the Redis at ``url``.

    :raises redis.exceptions.ConnectionError: when Redis does not answer.
    """
    connection = Redis.from_url(url)
    connection.ping()
    return AppWorker([Queue(name, connection=connection) for name in QUEUES], connection=connection)


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

    with unit_of_work():
        db.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(emailed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def send_message(raw: bytes) -> bool:
    """Send a composed e-mail (given as bytes); tell whether it went out.

    :raises smtplib.SMTPException: when the mail server refuses the message (rq retries).
    :raises OSError: when the mail server cannot be reached (rq retries).
    """
    if not notifications.emails_enabled():
        log.info("MAIL_SERVER is not configured; an account e-mail was not sent")
        return False
    _send(message_from_bytes(raw, policy=default_policy))
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
