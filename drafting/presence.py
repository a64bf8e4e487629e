"""Who has a section's editor open right now, shared by every process of every node.

An edit page sends a heartbeat every few seconds (``PRESENCE_HEARTBEAT_SECONDS``) and on
typing; an entry counts for ``PRESENCE_TTL_SECONDS`` (30) after its latest heartbeat and is
removed at once when the page closes. Entries live in Redis when one is configured
(``PRESENCE_STORAGE`` or ``REDIS_URL``), otherwise in the database table ``presence`` — both
are seen by every web node. While Redis cannot be reached, presence goes to the database (a
warning is logged), so an outage costs no request. Nothing here is a record: losing every
entry only hides who is editing for one heartbeat.

A heartbeat is the commonest request of the app (one per open editor every 10–15 s), so it
is kept light without caching anything about access: the visibility check and the head
version are one query (:func:`visit`), the database store one statement on PostgreSQL
(upsert and read; two on SQLite), the statements are built once, and a successful beat
writes no request log line. Because visibility is asked of the database on every beat, a
member whose organisation or role is taken away stops seeing presence (404, or "not
editing") from the very next heartbeat — no window, unlike a cached check or a signed
presence ticket would have (up to their lifetime, e.g. 30 s), which were not needed to meet
the budget (bench/README.md, "Presence heartbeats").
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import BigInteger, Select, and_, bindparam, case, delete, exists, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Executable

from drafting import database, logs
from drafting.extensions import db
from drafting.models import (
    Organisation,
    Paper,
    PaperRole,
    Participant,
    Presence,
    Role,
    Section,
    SectionVersion,
    User,
)
from workflows.errors import NotFound
from workflows.permissions import Membership, can_edit_in, can_view

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
    """Entries in the table ``presence``: one statement per beat on PostgreSQL (an upsert
    and the paper's entries), two on SQLite; expired rows are swept at most once per
    time-to-live and process (reading ignores them anyway).

    Works in the request's session and commits at once; call it only from requests that
    change nothing else (the presence views).
    """

    def __init__(self) -> None:
        self._next_sweep_ms = 0

    def beat(self, beat: Beat, now_ms: int, ttl_ms: int) -> list[Entry]:
        dialect = db.session.get_bind().dialect.name
        cutoff = now_ms - ttl_ms
        params = {
            "section_id": beat.section_id,
            "user_id": beat.user_id,
            "paper_id": beat.paper_id,
            "name": beat.name,
            "organisation": beat.organisation,
            "editing": beat.editing,
            "now": now_ms,
            "cutoff": cutoff,
        }
        try:
            if now_ms >= self._next_sweep_ms:
                self._next_sweep_ms = now_ms + ttl_ms
                table = Presence.__table__
                db.session.execute(delete(table).where(table.c.seen < cutoff))
            upsert, living = _beat_statements(dialect)
            if living is None:
                rows = db.session.execute(upsert, params).all()
            else:
                db.session.execute(upsert, params)
                # Read in the same transaction: after the commit SQLite would take its write
                # lock again for the next statement of this (writing) request.
                rows = db.session.execute(living, params).all()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return _sorted(Entry(*row) for row in rows)

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
        # Plain rows, not ORM objects; no commit here: that would expire what the page
        # already loaded (one query per section again); the request's session ends its read
        # transaction.
        rows = db.session.execute(_living(), {"paper_id": paper_id, "cutoff": now_ms - ttl_ms})
        return _sorted(Entry(*row) for row in rows)


@functools.cache
def _living() -> Select[Any]:
    """Return the query of a paper's entries seen since ``cutoff``, in Entry's field order."""
    table = Presence.__table__
    return select(
        table.c.section_id,
        table.c.user_id,
        table.c.name,
        table.c.organisation,
        table.c.editing,
        table.c.since,
    ).where(table.c.paper_id == bindparam("paper_id"), table.c.seen >= bindparam("cutoff"))


@functools.cache
def _beat_statements(dialect: str) -> tuple[Executable, Executable | None]:
    """Return the beat's statements, built once: on PostgreSQL one statement that upserts
    and reads the paper's living entries; elsewhere the upsert and the read."""
    table = Presence.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    now = bindparam("now", type_=BigInteger())
    upsert = (
        insert(table)
        .values(
            section_id=bindparam("section_id"),
            user_id=bindparam("user_id"),
            paper_id=bindparam("paper_id"),
            name=bindparam("name"),
            organisation=bindparam("organisation"),
            editing=bindparam("editing"),
            since=now,
            seen=now,
        )
        .on_conflict_do_update(
            index_elements=[table.c.section_id, table.c.user_id],
            set_={
                "name": bindparam("name"),
                "organisation": bindparam("organisation"),
                "editing": bindparam("editing"),
                # A returning editor (the old row expired, not yet swept) starts anew.
                "since": case((table.c.seen < bindparam("cutoff"), now), else_=table.c.since),
                "seen": now,
            },
        )
    )
    living = _living()
    if dialect != "postgresql":
        return upsert, living
    # One statement: the upsert's row, and the others as they were (a data-changing CTE's
    # write is not visible to the rest of its statement).
    mine = upsert.returning(*living.selected_columns).cte("mine")
    others = living.where(
        ~and_(
            table.c.section_id == bindparam("section_id"),
            table.c.user_id == bindparam("user_id"),
        )
    )
    return union_all(select(*mine.c), others), None


def _sorted(entries: Iterable[Entry]) -> list[Entry]:
    """Return entries earliest first (ties by user id), as every store answers them."""
    return sorted(entries, key=lambda e: (e.since_ms, e.user_id))


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
        return _sorted(entries)


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
    logs.quiet(app, BEAT_ENDPOINTS | {"api.get_presence", "sections.presence_status"})
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


@dataclass(frozen=True)
class Visit:
    """A section the caller may see, with what a heartbeat needs of it and of them."""

    paper_id: int
    section_id: int
    may_edit: bool  # a writer of the paper while it is drafted
    organisation: str  # the caller's, as the others see it
    head: Head


@functools.cache
def _visit_query() -> Select[Any]:
    # Built once: constructing a statement of aliased entities costs more CPU than running it.
    author, author_org = aliased(User), aliased(Organisation)

    def holds(role: Role) -> Any:
        return exists().where(
            PaperRole.paper_id == Section.paper_id,
            PaperRole.user_id == bindparam("user_id"),
            PaperRole.role == role,
        )

    return (
        select(
            Section.paper_id,
            Paper.status,
            exists().where(
                Participant.paper_id == Section.paper_id,
                Participant.organisation_id == bindparam("organisation_id"),
            ),
            holds(Role.EDITOR),
            holds(Role.COORDINATOR),
            select(Organisation.short_name)
            .where(Organisation.id == bindparam("organisation_id"))
            .scalar_subquery(),
            SectionVersion.number,
            author.display_name,
            author_org.short_name,
            SectionVersion.created_at,
        )
        .join(Paper, Paper.id == Section.paper_id)
        .join(SectionVersion, SectionVersion.id == Section.head_id)
        .join(author, author.id == SectionVersion.author_id)
        .join(author_org, author_org.id == author.organisation_id)
        .where(Section.id == bindparam("section_id"))
    )


def visit(user: User, section_id: int) -> Visit:
    """Check that the user may see the section and read its head, all in one light query.

    The rule of :func:`workflows.sections.get_section` (the user's organisation takes part
    in the section's paper; removed sections included) on the same pure predicates, asked of
    the database on every heartbeat: nothing is cached, so a participation or role taken
    away counts from the very next heartbeat (no window in which a removed member still
    sees who is editing). Heartbeats come every 10 s per open editor; the section route's
    four ORM queries and the head's fifth were most of their cost.

    :raises NotFound: when the section does not exist or its paper is not visible to the
        user (the same answer as for a missing section).
    """
    row = db.session.execute(
        _visit_query(),
        {"user_id": user.id, "organisation_id": user.organisation_id, "section_id": section_id},
    ).one_or_none()
    missing = NotFound(_l("Section not found."))
    if row is None:
        raise missing
    paper_id, status, participates, editor, coordinator, organisation, *head = row
    roles = {
        role for role, held in ((Role.EDITOR, editor), (Role.COORDINATOR, coordinator)) if held
    }
    member = Membership(
        user_id=user.id,
        participates=bool(participates) and bool(user.is_active),
        roles=frozenset(roles),
        is_admin=bool(user.is_admin),
    )
    if not can_view(member):
        raise missing
    return Visit(
        paper_id=paper_id,
        section_id=section_id,
        may_edit=can_edit_in(member, status),
        organisation=organisation,
        head=Head(*head),
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ttl_ms() -> int:
    return int(float(current_app.config["PRESENCE_TTL_SECONDS"]) * 1000)


def heartbeat(user: User, place: Visit, *, editing: bool) -> list[Entry]:
    """Note that the user has the section open (``editing``: in its editor) right now.

    ``editing`` counts only where the user may edit now. Returns who else has the section
    open; ``place`` (from :func:`visit`) holds every id, so nothing loads again after the
    database store's commit.
    """
    beat = Beat(
        paper_id=place.paper_id,
        section_id=place.section_id,
        user_id=user.id,
        name=user.display_name,
        organisation=place.organisation,
        editing=editing and place.may_edit,
    )
    entries = store().beat(beat, _now_ms(), _ttl_ms())
    return _others(entries, beat.section_id, beat.user_id)


def leave(user: User, place: Visit) -> None:
    """Forget the user's presence on the section (the page was closed)."""
    store().leave(place.paper_id, place.section_id, user.id)


def _others(entries: list[Entry], section_id: int, user_id: int) -> list[Entry]:
    return [e for e in entries if e.section_id == section_id and e.user_id != user_id]


def on_paper(user: User, paper_id: int) -> dict[int, list[Entry]]:
    """Return who else is on each section of a paper, by section id."""
    found: dict[int, list[Entry]] = {}
    for entry in store().on_paper(paper_id, _now_ms(), _ttl_ms()):
        if entry.user_id != user.id:
            found.setdefault(entry.section_id, []).append(entry)
    return found


def others(user: User, paper_id: int, section_id: int) -> list[Entry]:
    """Return who else has the section open, earliest first."""
    entries = store().on_paper(paper_id, _now_ms(), _ttl_ms())
    return _others(entries, section_id, user.id)
