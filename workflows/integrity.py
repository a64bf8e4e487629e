"""Cross-checks between the editions and the activity log, for ``editions verify``.

An edition's own hash check (``workflows.signoff.verify``) cannot notice an edition that is
gone altogether (a bad downgrade, a hand-made DELETE): the activity log, a hash chain, still
names every edition that was started, with its hash. Every such entry must find its edition
with the same hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ActivityEntry, Edition

STARTED = "signoff.started"


@dataclass(frozen=True)
class LogProblem:
    edition: int
    problem: str


def editions_against_log(paper_id: int) -> list[LogProblem]:
    """List the editions the activity log names that are missing or carry another hash."""
    editions = {
        e.number: e for e in db.session.scalars(select(Edition).where(Edition.paper_id == paper_id))
    }
    problems: list[LogProblem] = []
    logged: set[int] = set()
    for entry in db.session.scalars(
        select(ActivityEntry)
        .where(ActivityEntry.paper_id == paper_id, ActivityEntry.action == STARTED)
        .order_by(ActivityEntry.seq)
    ):
        number = (entry.details or {}).get("edition")
        if not isinstance(number, int):
            continue
        logged.add(number)
        found = editions.get(number)
        if found is None:
            problems.append(
                LogProblem(number, f"is in the activity log (entry {entry.seq}) but not stored")
            )
        elif entry.details.get("hash") and entry.details["hash"] != found.content_hash:
            problems.append(
                LogProblem(number, f"hash differs from the activity log (entry {entry.seq})")
            )
    for number in sorted(set(editions) - logged):
        problems.append(LogProblem(number, "is stored but its start is not in the activity log"))
    return problems
