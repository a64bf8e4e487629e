"""The append-only activity log of a paper, chained by SHA-256 hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, User, utcnow

GENESIS = "0" * 64


def entry_hash(entry: ActivityEntry) -> str:
    """Compute the hash of an entry over its content and its predecessor's hash."""
    payload = {
        "paper_id": entry.paper_id,
        "seq": entry.seq,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "section_id": entry.section_id,
        "version": entry.version,
        "details": entry.details or {},
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": entry.prev_hash,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def record(
    paper_id: int,
    actor: User | None,
    action: str,
    *,
    section_id: int | None = None,
    version: int | None = None,
    **details: Any,
) -> ActivityEntry:
    """Append an entry to a paper's log (the caller holds the paper's write lock and commits)."""
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise ValueError(f"paper {paper_id} does not exist")
    seq, prev = (paper.log_seq or 0) + 1, paper.log_head or GENESIS
    now = utcnow()
    entry = ActivityEntry(
        paper_id=paper_id,
        seq=seq,
        actor_id=actor.id if actor is not None else None,
        action=action,
        section_id=section_id,
        version=version,
        details=details,
        created_at=now,
        prev_hash=prev,
    )
    entry.hash = entry_hash(entry)
    db.session.add(entry)
    paper.log_seq, paper.log_head = seq, entry.hash
    return entry


@dataclass(frozen=True)
class ChainProblem:
    """One break in a paper's hash chain."""

    seq: int
    problem: str


def verify(paper_id: int) -> list[ChainProblem]:
    """Recompute a paper's hash chain and list every altered, missing or reordered entry."""
    entries = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.paper_id == paper_id).order_by(ActivityEntry.seq)
    ).all()
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(
                ChainProblem(entry.seq, f"entries {expected_seq}–{entry.seq - 1} are missing")
            )
        if entry.prev_hash != prev:
            problems.append(ChainProblem(entry.seq, "does not follow the previous entry"))
        if entry_hash(entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, "content was altered"))
        prev = entry.hash
        expected_seq = entry.seq + 1
    paper = db.session.get(Paper, paper_id)
    if paper is not None and (
        paper.log_seq != expected_seq - 1 or (paper.log_head or GENESIS) != prev
    ):
        problems.append(ChainProblem(paper.log_seq, "the newest entries are missing"))
    return problems
