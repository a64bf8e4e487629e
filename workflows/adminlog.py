"""The administrators' log: every change to organisations, accounts and invitations made by an
administrator (or the command line), append-only and chained like a paper's activity log.

Entries name people and organisations by id only; the page resolves ids to current names, so
an erased person appears under their pseudonym while the chain stays verifiable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import AdminLogEntry, AdminLogHead, User, utcnow
from workflows.actions import AdminAction
from workflows.activity import GENESIS, ChainProblem, check_chain, keyed

PAGE_SIZE = 50
_HEAD_ID = 1


def entry_hash(entry: AdminLogEntry) -> str:
    """Compute the hash of an entry over its content and its predecessor's hash."""
    payload = {
        "seq": entry.seq,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "details": entry.details or {},
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": entry.prev_hash,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def entry_mac(entry_hash_value: str) -> str:
    """Return the keyed seal of an entry."""
    return keyed(f"admin-entry:{entry_hash_value}")


def head_mac(seq: int, head: str) -> str:
    """Return the keyed seal of the log's head."""
    return keyed(f"admin-head:{seq}:{head}")


def _locked_head() -> AdminLogHead:
    head = db.session.scalar(
        select(AdminLogHead)
        .where(AdminLogHead.id == _HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if head is None:
        head = AdminLogHead(id=_HEAD_ID, seq=0, head=GENESIS, mac="")
        db.session.add(head)
        db.session.flush()
    return head


def record(
    actor: User | None,
    action: AdminAction | str,
    target_kind: str,
    target_id: int | None,
    **details: Any,
) -> AdminLogEntry:
    """Append an entry (the caller commits). ``details`` must hold no names or addresses.

    :raises ValueError: for an action that is not an :class:`AdminAction`.
    """
    action = AdminAction(action)
    head = _locked_head()
    entry = AdminLogEntry(
        seq=head.seq + 1,
        actor_id=actor.id if actor is not None else None,
        action=action.value,
        target_kind=target_kind,
        target_id=target_id,
        details={"via": "cli", **details} if actor is None else details,
        created_at=utcnow(),
        prev_hash=head.head,
    )
    entry.hash = entry_hash(entry)
    entry.mac = entry_mac(entry.hash)
    db.session.add(entry)
    head.seq, head.head = entry.seq, entry.hash
    head.mac = head_mac(head.seq, head.head)
    return entry


def verify() -> list[ChainProblem]:
    """Recompute the log's chain and seals; list every problem."""
    entries = db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.seq)).all()
    problems, prev, expected_seq = check_chain(entries, entry_hash, entry_mac)
    head = db.session.get(AdminLogHead, _HEAD_ID)
    seq, stored = (head.seq, head.head) if head is not None else (0, GENESIS)
    if seq != expected_seq - 1 or stored != prev:
        problems.append(ChainProblem(seq, "the newest entries are missing"))
    elif head is not None and seq and head.mac != head_mac(seq, stored):
        problems.append(ChainProblem(seq, "keyed seal of the head does not match"))
    return problems


@dataclass(frozen=True)
class LogPage:
    """A page of the log, newest first."""

    items: list[AdminLogEntry]
    page: int
    pages: int
    total: int


def entries(page: int = 1, per_page: int = PAGE_SIZE) -> LogPage:
    """Return a page of the log, newest first."""
    total = int(db.session.scalar(select(func.count()).select_from(AdminLogEntry)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = db.session.scalars(
        select(AdminLogEntry)
        .order_by(AdminLogEntry.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return LogPage(list(items), page, pages, total)
