"""The append-only activity log of a paper, chained by SHA-256 hashes and keyed by HMAC.

Every entry carries two seals. ``hash`` chains the entries with plain SHA-256: anyone holding
an export of the log can recompute it, so its head is what goes to third parties
(``flask --app wsgi audit anchor``). ``mac`` is HMAC-SHA256 of ``hash`` under ``AUDIT_KEY``,
which lives outside the database: someone who rewrites entries and recomputes the plain
chain cannot produce it (ASVS 4.0.3 V7.3.3). The paper's ``log_mac`` keys the head too, so
cutting off the newest entries needs the key as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from flask import current_app
from sqlalchemy import Select, select

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, User, utcnow
from workflows.actions import Action

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


def keyed(message: str) -> str:
    """Return HMAC-SHA256 of a message under the installation's ``AUDIT_KEY`` (hex)."""
    key = str(current_app.config["AUDIT_KEY"]).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def entry_mac(entry_hash_value: str) -> str:
    """Return the keyed seal of an entry (its hash already covers content and predecessor)."""
    return keyed(f"activity-entry:{entry_hash_value}")


def head_mac(paper_id: int, seq: int, head: str) -> str:
    """Return the keyed seal of a paper's chain head."""
    return keyed(f"activity-head:{paper_id}:{seq}:{head}")


def record(
    paper_id: int,
    actor: User | None,
    action: Action | str,
    *,
    section_id: int | None = None,
    version: int | None = None,
    **details: Any,
) -> ActivityEntry:
    """Append an entry to a paper's log (the caller holds the paper's write lock and commits).

    :raises ValueError: for an action that is not in :class:`workflows.actions.Action`
        (a programming error: the log page could not describe it).
    """
    action = Action(action)
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise ValueError(f"paper {paper_id} does not exist")
    seq, prev = (paper.log_seq or 0) + 1, paper.log_head or GENESIS
    now = utcnow()
    entry = ActivityEntry(
        paper_id=paper_id,
        seq=seq,
        actor_id=actor.id if actor is not None else None,
        action=action.value,
        section_id=section_id,
        version=version,
        details=details,
        created_at=now,
        prev_hash=prev,
    )
    entry.hash = entry_hash(entry)
    entry.mac = entry_mac(entry.hash)
    db.session.add(entry)
    paper.log_seq, paper.log_head = seq, entry.hash
    paper.log_mac = head_mac(paper_id, seq, entry.hash)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    """One break in a paper's hash chain."""

    seq: int
    problem: str


def check_chain(
    entries: Sequence[Any],
    compute_hash: Callable[[Any], str],
    compute_mac: Callable[[str], str],
) -> tuple[list[ChainProblem], str, int]:
    """Walk a hash chain in order; return its problems, its last hash and the next number.

    Every altered, missing or reordered entry, and every entry whose chain was recomputed
    without the key, is a problem (the papers' logs and the administrators' log alike).
    """
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
        if compute_hash(entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, "content was altered"))
        elif not hmac.compare_digest(entry.mac or "", compute_mac(entry.hash)):
            problems.append(
                ChainProblem(entry.seq, "keyed seal does not match (rewritten without the key)")
            )
        prev = entry.hash
        expected_seq = entry.seq + 1
    return problems, prev, expected_seq


def verify(paper_id: int) -> list[ChainProblem]:
    """Recompute a paper's hash chain and its keyed seals; list every altered, missing or
    reordered entry, and every entry whose chain was recomputed without the key."""
    entries = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.paper_id == paper_id).order_by(ActivityEntry.seq)
    ).all()
    problems, prev, expected_seq = check_chain(entries, entry_hash, entry_mac)
    paper = db.session.get(Paper, paper_id)
    if paper is not None and (
        paper.log_seq != expected_seq - 1 or (paper.log_head or GENESIS) != prev
    ):
        problems.append(ChainProblem(paper.log_seq, "the newest entries are missing"))
    elif (
        paper is not None
        and paper.log_seq
        and not hmac.compare_digest(
            paper.log_mac or "", head_mac(paper_id, paper.log_seq, paper.log_head)
        )
    ):
        problems.append(
            ChainProblem(paper.log_seq, "keyed seal of the head does not match (entries cut off?)")
        )
    return problems


@dataclass(frozen=True)
class Anchor:
    """A paper's chain head, to be recorded outside the service."""

    paper_id: int
    seq: int
    head: str  # plain SHA-256 chain head: verifiable by anyone holding the log
    keyed: str  # HMAC-SHA256 under AUDIT_KEY: verifiable by the operator only
    at: str


def anchor(paper_id: int) -> Anchor | None:
    """Return the current head of a paper's chain (None for an unknown paper)."""
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        return None
    return Anchor(
        paper_id,
        paper.log_seq or 0,
        paper.log_head or GENESIS,
        paper.log_mac or "",
        utcnow().astimezone(UTC).isoformat(timespec="seconds"),
    )


def check_anchor(paper_id: int, seq: int, head: str) -> ChainProblem | None:
    """Compare a recorded head with the stored entry of that number.

    An anchor kept outside the service also catches a log rolled back to an earlier state.
    """
    entry = db.session.scalar(
        select(ActivityEntry).where(ActivityEntry.paper_id == paper_id, ActivityEntry.seq == seq)
    )
    if entry is None:
        return ChainProblem(seq, "the anchored entry is missing")
    if not hmac.compare_digest(entry.hash, head.strip().lower()):
        return ChainProblem(seq, "differs from the anchored head")
    return None


# --- queries of the log page ---------------------------------------------------------------


def entries_query(
    paper_id: int,
    *,
    action: str | None = None,
    section_id: int | None = None,
    person: str | None = None,
) -> Select[Any]:
    """Return the query of a paper's log entries, newest first, filtered by an action prefix,
    a section and the e-mail address of the person who acted (for paging or a CSV file)."""
    query = select(ActivityEntry).where(ActivityEntry.paper_id == paper_id)
    if action:
        query = query.where(ActivityEntry.action.startswith(action.strip()))
    if section_id:
        query = query.where(ActivityEntry.section_id == section_id)
    if person:
        query = query.join(User, User.id == ActivityEntry.actor_id).where(
            User.email == person.strip().lower()
        )
    return query.order_by(ActivityEntry.seq.desc())


def actions_used(paper_id: int) -> list[str]:
    """Return the actions that occur in a paper's log, sorted."""
    return sorted(
        set(
            db.session.scalars(
                select(ActivityEntry.action).where(ActivityEntry.paper_id == paper_id).distinct()
            )
        )
    )
