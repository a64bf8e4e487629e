"""The activity log as people read it: one sentence per entry, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping

from drafting.extensions import db
from drafting.filters import ROLE_LABELS
from drafting.models import ActivityEntry, User
from workflows import actions


def person(user: User | None) -> str:
    """Return a person as the log shows them: "Marta Nowak (BRF)" (a pseudonym after erasure)."""
    if user is None:
        return ""
    return f"{user.display_name} ({user.organisation.short_name})"


def actor_name(entry: ActivityEntry) -> str:
    """Return who acted as shown in the log: "Marta Nowak (BRF)", empty for the system."""
    return person(entry.actor)


def describe(entry: ActivityEntry, titles: Mapping[int, str]) -> str:
    """Describe a log entry as one sentence ("Marta Nowak (BRF) saved version 5 of …")."""
    details = dict(entry.details or {})
    # People are stored by id (outside the hashed words): named as they are called now.
    user_id = details.get("user_id")
    if isinstance(user_id, int):
        details["user"] = person(db.session.get(User, user_id)) or f"#{user_id}"
    role = details.get("role")
    if isinstance(role, str) and role in ROLE_LABELS:
        details["role"] = str(ROLE_LABELS[role])
    section = ""
    if entry.section_id is not None:
        title = titles.get(entry.section_id)
        section = title or f"#{entry.section_id}"
    return actions.sentence(
        entry.action,
        actor=actor_name(entry),
        section=section,
        version=entry.version,
        details=details,
    )
