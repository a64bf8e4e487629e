"""The activity log as people read it: one sentence per entry, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping

from drafting.filters import ROLE_LABELS
from drafting.models import ActivityEntry
from workflows import actions


def actor_name(entry: ActivityEntry) -> str:
    """Return who acted as shown in the log: "Marta Nowak (BRF)", empty for the system."""
    if entry.actor is None:
        return ""
    return f"{entry.actor.display_name} ({entry.actor.organisation.short_name})"


def describe(entry: ActivityEntry, titles: Mapping[int, str]) -> str:
    """Describe a log entry as one sentence ("Marta Nowak (BRF) saved version 5 of …")."""
    details = dict(entry.details or {})
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
