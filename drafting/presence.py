"""Who has a section's editor open right now, shared by every process of every node.

An edit page sends a heartbeat every few seconds (``PRESENCE_HEARTBEAT_SECONDS``) and on
typing; an entry counts for ``PRESENCE_TTL_SECONDS`` (30) after its latest heartbeat and is
removed at once when the page closes. Entries live in Redis when one is configured
(``PRESENCE_STORAGE`` or ``REDIS_URL``), otherwise in the database table ``presence`` — both
are seen by every web node. While Redis cannot be reached, presence goes to the database (a
warning is logged), so an outage costs no request. Nothing here is a record: losing every
entry only hides who is editing for one heartbeat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Flask, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import and_, delete, select

from drafting import database
from drafting.extensions import db
from drafting.models import Organisation, Presence, Section, SectionVersion, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One person on one section: shown to the others as "name (organisation)"."""

    section_id: int
    user_id: int
    name: str
    organisation: str
    editing: bool
    since_ms: int

    @property
    def since(self) -> datetime:
        """Return the time of the first heartbeat, timezone-aware in UTC."""
        return datetime.fromtimestamp(self.since_ms / 1000, UTC)

    def as_json(self) -> dict[str, Any]:
        """Return the fields the API and the edit page show."""
        return {
            "name": self.name,
            "organisation": self.organisation,
            "editing": self.editing,
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True)
class Beat:
    """A heartbeat: who, where, and whether they have the editor open."""

    paper_id: int
    section_id: int
    user_id: int
    name: str
    organisation: str
    editing: bool


class Store(Protocol):
    """Entries that expire ``ttl_ms`` after their latest heartbeat."""

    def beat(self, beat: Beat, now_ms: int, ttl_ms: int) -> list[Entry]:
        """Register or refresh an entry (keeping its first-seen time while it lives); return
        the living entries of the paper's sections, this one included."""
        ...

    def leave(self, paper_id: int, section_id: int, user_id: int) -> None:
        """Remove an entry at once."""
        ...

    def on_paper(self, paper_id: int, now_ms: int, ttl_ms: int) -> list[Entry]:
        """Return the living entries of a paper's sections."""
        ...


class DatabaseStore:
    """Entries in the table ``presence``: one delete of expired rows and one upsert per beat.

    Works in the request's session and commits at once; call it only from requests that
    change nothing else (the presence views).
    """

    def beat(self, beat: Beat, now_ms: int, ttl_ms: int) -> list[Entry]:
        table = Presence.__table__
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        upsert = (
            insert(table)
            .values(
                section_id=beat.section_id,
                user_id=beat.user_id,
                paper_id=beat.paper_id,
                name=beat.name,
                organisation=beat.organisation,
                editing=beat.editing,
                since=now_ms,
                seen=now_ms,
            )
            .on_conflict_do_update(
                index_elements=[table.c.section_id, table.c.user_id],
                set_={
                    "name": beat.name,
                    "organisation": beat.organisation,
                    "editing": beat.editing,
                    "seen": now_ms,
                },
            )
        )
        try:
            # Expired rows go first, so that a returning editor's "since" starts anew.
            db.session.execute(delete(table).where(table.c.seen < now_ms - ttl_ms))
            db.session.execute(upsert)
            # Read in the same transaction: after the commit SQLite would take its write
            # lock again for the next statement of this (writing) request.
            entries = self.on_paper(beat.paper_id, now_ms, ttl_ms)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return entries

    def leave(self, paper_id: int, section_id: int, user_id: int) -> None:
        table = Presence.__table__
        try:
            db.session.execute(
                delete(table).where(
                    and_(table.c.section_id == section_id, table.c.user_id == user_id)
                )
            )
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise

    def on_paper(self, paper_id: int, now_ms: int, ttl_ms: int) -> list[Entry]:
        rows = db.session.scalars(
            select(Presence)
            .where(Presence.paper_id == paper_id, Presence.seen >= now_ms - ttl_ms)
            .order_by(Presence.since, Presence.user_id)
        )
        entries = [
            Entry(
                section_id=row.section_id,
                user_id=row.user_id,
                name=row.name,
                organisation=row.organisation,
                editing=row.editing,
                since_ms=row.since,
            )
            for row in rows
        ]
        # No commit here: that would expire what the page already loaded (one query per
        # section again); the request's session ends its read transaction.
        return entries


def _key(paper_id: int) -> str:
    return f"kw-presence:{paper_id}"


class RedisStore:
    """Entries in one Redis hash per paper (field ``section:user``); while Redis is
    unreachable, in the fallback store."""

    def __init__(self, url: str, fallback: Store, retry_seconds: int = 30) -> None:
        # Short timeouts and no retries: a heartbeat must not hang on a dead Redis.
        self.redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        self._fallback = fallback
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, err: RedisError) -> None:
        with self._lock:
            if self._down_until == 0.0:
                log.warning("Redis unreachable for presence (%s); using the database", err)
            self._down_until = time.monotonic() + self._retry_seconds

    def beat(self, beat: Beat, now_ms: int, ttl_ms: int) -> list[Entry]:
        if self._usable():
            key, field = _key(beat.paper_id), f"{beat.section_id}:{beat.user_id}"
            try:
                old = self.redis.hget(key, field)
                since = now_ms
                if old is not None:
                    previous = json.loads(old)
                    if previous["t"] >= now_ms - ttl_ms:
                        since = previous["s"]
                value = json.dumps(
                    {
                        "n": beat.name,
                        "o": beat.organisation,
                        "e": beat.editing,
                        "s": since,
                        "t": now_ms,
                    }
                )
                pipe = self.redis.pipeline(transaction=True)
                pipe.hset(key, field, value)
                # The whole hash goes when nobody beats any more; stale fields go on reading.
                pipe.pexpire(key, ttl_ms + 1000)
                pipe.hgetall(key)
                raw = pipe.execute()[2]
            except RedisError as err:
                self._failed(err)
            else:
                self._down_until = 0.0
                return self._entries(beat.paper_id, raw, now_ms, ttl_ms)
        return self._fallback.beat(beat, now_ms, ttl_ms)

    def leave(self, paper_id: int, section_id: int, user_id: int) -> None:
        if self._usable():
            try:
                self.redis.hdel(_key(paper_id), f"{section_id}:{user_id}")
            except RedisError as err:
                self._failed(err)
            else:
                return
        self._fallback.leave(paper_id, section_id, user_id)

    def on_paper(self, paper_id: int, now_ms: int, ttl_ms: int) -> list[Entry]:
        if self._usable():
            try:
                raw: dict[bytes, bytes] = self.redis.hgetall(_key(paper_id))
            except RedisError as err:
                self._failed(err)
            else:
                return self._entries(paper_id, raw, now_ms, ttl_ms)
        return self._fallback.on_paper(paper_id, now_ms, ttl_ms)

    def _entries(
        self, paper_id: int, raw: dict[bytes, bytes], now_ms: int, ttl_ms: int
    ) -> list[Entry]:
        entries, stale = [], []
        for field, value in raw.items():
            data = json.loads(value)
            if data["t"] < now_ms - ttl_ms:
                stale.append(field)
                continue
            section_id, _, user_id = field.decode().partition(":")
            entries.append(
                Entry(
                    section_id=int(section_id),
                    user_id=int(user_id),
                    name=data["n"],
                    organisation=data["o"],
                    editing=bool(data["e"]),
                    since_ms=int(data["s"]),
                )
            )
        if stale:
            try:
                self.redis.hdel(_key(paper_id), *stale)
            except RedisError as err:
                self._failed(err)
        entries.sort(key=lambda e: (e.since_ms, e.user_id))
        return entries


def make_store(app: Flask) -> Store:
    """Build the store the configuration asks for: Redis if one is named, else the database."""
    configured = str(app.config.get("PRESENCE_STORAGE") or app.config.get("REDIS_URL") or "")
    fallback = DatabaseStore()
    if configured.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(configured, fallback)
    return fallback


# The requests that only beat or leave: with Redis they write nothing to the database.
BEAT_ENDPOINTS = frozenset({"api.heartbeat", "api.leave", "sections.heartbeat", "sections.leave"})


def init_app(app: Flask) -> None:
    """Create the app's presence store."""
    found = app.extensions["kw_presence"] = make_store(app)
    if isinstance(found, RedisStore):
        # Should Redis be down, the fallback's write upgrades the transaction; at worst that
        # one beat fails with the app's "briefly unavailable" answer.
        database.without_write_lock(app, BEAT_ENDPOINTS)


def store() -> Store:
    """Return the current app's presence store."""
    found: Store = current_app.extensions["kw_presence"]
    return found


@dataclass(frozen=True)
class Head:
    """The newest version of a section, without its text (a heartbeat needs only this)."""

    number: int
    author: str
    organisation: str
    created_at: datetime


def head_of(section: Section) -> Head:
    """Return number, author and time of the section's newest version in one light query."""
    row = db.session.execute(
        select(
            SectionVersion.number,
            User.display_name,
            Organisation.short_name,
            SectionVersion.created_at,
        )
        .join(User, User.id == SectionVersion.author_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(SectionVersion.id == section.head_id)
    ).one()
    return Head(number=row[0], author=row[1], organisation=row[2], created_at=row[3])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ttl_ms() -> int:
    return int(float(current_app.config["PRESENCE_TTL_SECONDS"]) * 1000)


def heartbeat(user: User, section: Section, *, editing: bool) -> list[Entry]:
    """Note that the user has the section open (``editing``: in its editor) right now.

    Returns who else has the section open. The ids are read before the store commits (the
    database store does), so that nothing needs loading again afterwards.
    """
    beat = Beat(
        paper_id=section.paper_id,
        section_id=section.id,
        user_id=user.id,
        name=user.display_name,
        organisation=user.organisation.short_name,
        editing=editing,
    )
    entries = store().beat(beat, _now_ms(), _ttl_ms())
    return _others(entries, beat.section_id, beat.user_id)


def leave(user: User, section: Section) -> None:
    """Forget the user's presence on the section (the page was closed)."""
    store().leave(section.paper_id, section.id, user.id)


def _others(entries: list[Entry], section_id: int, user_id: int) -> list[Entry]:
    return [e for e in entries if e.section_id == section_id and e.user_id != user_id]


def on_paper(user: User, paper_id: int) -> dict[int, list[Entry]]:
    """Return who else is on each section of a paper, by section id."""
    found: dict[int, list[Entry]] = {}
    for entry in store().on_paper(paper_id, _now_ms(), _ttl_ms()):
        if entry.user_id != user.id:
            found.setdefault(entry.section_id, []).append(entry)
    return found


def others(user: User, section: Section) -> list[Entry]:
    """Return who else has the section open, earliest first."""
    entries = store().on_paper(section.paper_id, _now_ms(), _ttl_ms())
    return _others(entries, section.id, user.id)
