"""Throttling of password guesses, per account and per client address, across processes.

Counters of fixed windows ("5 per 5 minutes" → one counter per key and 5-minute window) live
in Redis when one is configured, otherwise in the database table ``throttle_counter`` — both
are shared by every process of every node. If Redis cannot be reached, counting goes on in
the database (a warning is logged) and returns to Redis once it answers again; a Redis
outage thus neither turns logins into 500s nor switches the throttle off. ``memory://``
counts inside one process only (tests, a single development server).

Only guesses count: a successful login gives its attempt back (and clears the account's
counters), so a crowd behind one address is limited by its failures, not by its logins.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import delete

from drafting.extensions import db
from drafting.models import ThrottleCounter

log = logging.getLogger(__name__)


class Store(Protocol):
    """Counters that expire, changed atomically."""

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter (created for ``expiry`` seconds); return its value."""
        ...

    def clear(self, key: str) -> None:
        """Forget the counter."""
        ...


class MemoryStore:
    """Counters in this process only."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._lock:
            now = time.time()
            count, until = self._counts.get(key, (0, now + expiry))
            if until <= now:
                count, until = 0, now + expiry
            self._counts[key] = (count + amount, until)
            return count + amount

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class DatabaseStore:
    """Counters in the table ``throttle_counter``, one upsert per change.

    Works in the request's database session and commits at once, so call it before the
    request changes anything: a counter must stay counted whatever the request does next,
    and a second connection would wait for SQLite's write lock held by the first.
    """

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        table = ThrottleCounter.__table__
        now = int(time.time())
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        upsert = (
            insert(table)
            .values(key=key, count=amount, window_end=now + expiry)
            .on_conflict_do_update(
                index_elements=[table.c.key], set_={"count": table.c.count + amount}
            )
            .returning(table.c.count)
        )
        try:
            db.session.execute(delete(table).where(table.c.window_end < now))
            count = int(db.session.execute(upsert).scalar_one())
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return count

    def clear(self, key: str) -> None:
        table = ThrottleCounter.__table__
        db.session.execute(delete(table).where(table.c.key == key))
        db.session.commit()


class RedisStore:
    """Counters in Redis; while Redis is unreachable, in the fallback store."""

    def __init__(self, url: str, fallback: Store, retry_seconds: int) -> None:
        # Short timeouts and no retries: a login must not hang on a dead Redis.
        self._redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        self._fallback = fallback
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, err: RedisError) -> None:
        with self._lock:
            if not self._down:
                log.warning(
                    "Redis unreachable for login throttling (%s); counting in the database",
                    type(err).__name__,
                )
            self._down = True
            self._down_until = time.monotonic() + self._retry_seconds

    def _worked(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    log.warning("Redis reachable again; login throttling counts in Redis")
                self._down = False

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if self._usable():
            try:
                pipe = self._redis.pipeline(transaction=True)
                pipe.set(key, 0, ex=expiry, nx=True)
                pipe.incrby(key, amount)
                count = int(pipe.execute()[1])
            except RedisError as err:
                self._failed(err)
            else:
                self._worked()
                return count
        return self._fallback.incr(key, expiry, amount)

    def clear(self, key: str) -> None:
        if self._usable():
            try:
                self._redis.delete(key)
            except RedisError as err:
                self._failed(err)
            else:
                self._worked()
                return
        self._fallback.clear(key)


@dataclass(frozen=True)
class Refusal:
    """An attempt refused: which limit ("account" or "address") and seconds to wait."""

    scope: str
    wait: int

    @property
    def minutes(self) -> int:
        """Return the wait in whole minutes, rounded up."""
        return max(1, math.ceil(self.wait / 60))


class Throttle:
    """Counts attempts under named limits in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _keys(scope: str, ident: str, limits: str) -> list[tuple[str, RateLimitItem, int]]:
        digest = hashlib.sha256(ident.encode()).hexdigest()[:40]
        now = int(time.time())
        keys = []
        for item in parse_many(limits):
            seconds = int(item.get_expiry())
            start = now - now % seconds
            key = f"kw-throttle:{scope}:{digest}:{item.amount}/{seconds}:{start}"
            keys.append((key, item, start + seconds - now))
        return keys

    def hit(self, scope: str, ident: str, limits: str) -> Refusal | None:
        """Count an attempt; return a refusal when it goes over a limit."""
        wait = 0
        for key, item, remaining in self._keys(scope, ident, limits):
            if self.store.incr(key, remaining + 1) > item.amount:
                wait = max(wait, remaining)
        return Refusal(scope, max(wait, 1)) if wait else None

    def give_back(self, scope: str, ident: str, limits: str) -> None:
        """Take back an attempt counted by :meth:`hit`."""
        for key, _item, remaining in self._keys(scope, ident, limits):
            self.store.incr(key, remaining + 1, -1)

    def clear(self, scope: str, ident: str, limits: str) -> None:
        """Forget the attempts of the current windows."""
        for key, _item, _remaining in self._keys(scope, ident, limits):
            self.store.clear(key)


def make_store(app: Flask) -> Store:
    """Build the store the configuration asks for."""
    configured = app.config.get("LOGIN_THROTTLE_STORAGE")
    if not configured:
        uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
        configured = uri if uri.startswith("redis") else app.config.get("REDIS_URL")
    configured = str(configured or "database")
    if configured.startswith("memory"):
        return MemoryStore()
    fallback = DatabaseStore()
    if configured.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(configured, fallback, int(app.config["LOGIN_THROTTLE_REDIS_RETRY"]))
    return fallback


def throttle() -> Throttle:
    """Return the current app's throttle."""
    found: Throttle = current_app.extensions["kw_throttle"]
    return found


def init_app(app: Flask) -> None:
    """Create the app's throttle."""
    app.extensions["kw_throttle"] = Throttle(make_store(app))


def check_login(email: str, address: str) -> Refusal | None:
    """Count a login attempt for the address and the account; refuse over a limit."""
    config = current_app.config
    refusal = throttle().hit("address", address, config["LOGIN_RATE_LIMIT"])
    if refusal is None:
        refusal = throttle().hit("account", email, config["LOGIN_ACCOUNT_RATE_LIMIT"])
        if refusal is not None:
            # A try at a locked account tests no password: it must not use up the address's
            # allowance, or one locked account would lock out everybody behind the address.
            throttle().give_back("address", address, config["LOGIN_RATE_LIMIT"])
    return refusal


def login_succeeded(email: str, address: str) -> None:
    """Give the address its attempt back and clear the account's counters."""
    config = current_app.config
    throttle().give_back("address", address, config["LOGIN_RATE_LIMIT"])
    throttle().clear("account", email, config["LOGIN_ACCOUNT_RATE_LIMIT"])


def check_password_guess(user_id: int) -> Refusal | None:
    """Count a check of a logged-in user's current password (profile, new token)."""
    limits = current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]
    return throttle().hit("password", str(user_id), limits)


def password_guess_succeeded(user_id: int) -> None:
    """Give the password check its attempt back."""
    limits = current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]
    throttle().give_back("password", str(user_id), limits)


def check_reset_request(email: str, address: str) -> Refusal | None:
    """Count a password-reset request for the network address and the e-mail address.

    Known and unknown addresses count alike, so the limit tells a visitor nothing either.
    """
    limits = current_app.config["PASSWORD_RESET_RATE_LIMIT"]
    refusal = throttle().hit("reset-address", address, limits)
    if refusal is None:
        refusal = throttle().hit("reset-account", email.strip().lower(), limits)
    return refusal
