"""Typed errors raised by workflow actions; one handler maps them to HTTP for HTML and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drafting.text.merge import Conflict, MergeResult


class WorkflowError(Exception):
    """Base of every refusal an action can give; carries an API code and an HTTP status."""

    code = "error"
    status = 400

    def __init__(self, message: Any, **extra: Any) -> None:
        # ``message`` may be a lazy translation: it is turned into text in the user's language
        # only when the answer is rendered.
        super().__init__(message)
        self._message = message
        self.extra = extra

    @property
    def message(self) -> str:
        """The refusal in the current user's language."""
        return str(self._message)


class NotFound(WorkflowError):
    """The object does not exist or the user may not know that it exists."""

    code = "not_found"
    status = 404


class NotAllowed(WorkflowError):
    """The user is known to the paper but lacks the right for this action."""

    code = "forbidden"
    status = 403


class InvalidTransition(WorkflowError):
    """The action is not allowed in the object's current state."""

    code = "invalid_transition"
    status = 409


class PaperLocked(WorkflowError):
    """The paper's text is frozen (sign-off running, final or archived)."""

    code = "paper_locked"
    status = 409


class SectionRemoved(WorkflowError):
    """The section was removed; the submitted text is returned untouched."""

    code = "section_removed"
    status = 409


class OutlineConflict(WorkflowError):
    """A suggested removal or move no longer fits the paper: the section changed since."""

    code = "outline_conflict"
    status = 409


class Duplicate(WorkflowError):
    """Something with the same unique name already exists."""

    code = "duplicate"
    status = 409


class RateLimited(WorkflowError):
    """The user asked for too much in too short a time; ``retry_after`` says when to retry."""

    code = "too_many_requests"
    status = 429


class ValidationFailed(WorkflowError):
    """The input is well-formed but not acceptable (empty title, bad level, unknown version)."""

    code = "validation_failed"
    status = 422


class TooLarge(WorkflowError):
    """A text exceeds the configured limit."""

    code = "too_large"
    status = 413


@dataclass(frozen=True)
class TextState:
    """A title, body and heading level: the current version's or the one that was tried."""

    title: str
    body: str
    level: int


@dataclass(frozen=True)
class ConflictInfo:
    """What an edit conflict is about: the version started from, the one saved meanwhile
    (and by whom), the text that was tried, and the conflicting sentences.

    ``conflicts`` and ``title_conflicts`` come from :func:`drafting.text.merge.merge3`
    of base, current and tried text; the conflict page and the API build on them.
    """

    section_id: int
    base_version: int
    current_version: int
    current: TextState
    yours: TextState
    theirs_name: str = ""
    theirs_organisation: str = ""
    theirs_saved_at: datetime | None = None
    conflicts: tuple[Conflict, ...] = field(default=())
    title_conflicts: tuple[Conflict, ...] = field(default=())
    merged_title: str = ""  # the title merge, or the current title where both changed it
    body_merge: MergeResult | None = field(default=None, compare=False, repr=False)

    def payload(self) -> dict[str, Any]:
        """The JSON fields of a 409 ``edit_conflict`` answer (kept as they were, plus more)."""
        return {
            "base_version": self.base_version,
            "current": {"version": self.current_version, **vars(self.current)},
            "yours": dict(vars(self.yours)),
            "conflicts": [self._region(c) for c in self.conflicts],
            "title_conflicts": [self._region(c) for c in self.title_conflicts],
        }

    def _region(self, conflict: Conflict) -> dict[str, Any]:
        return {
            "base_start": conflict.base_start,
            "base_end": conflict.base_end,
            "unit": conflict.unit,
            "base": conflict.base,
            "theirs": conflict.theirs,
            "yours": conflict.yours,
            "theirs_author": {"name": self.theirs_name, "organisation": self.theirs_organisation},
            "theirs_version": self.current_version,
        }


class EditConflict(WorkflowError):
    """Two edits changed the same sentences; nothing was saved and both texts are kept.

    ``info`` says what the conflict is about; for JSON answers its fields are also in
    ``extra``. A conflict without ``info`` (too many saves at once) just asks to save again.
    """

    code = "edit_conflict"
    status = 409

    def __init__(self, message: Any, info: ConflictInfo | None = None, **extra: Any) -> None:
        if info is not None:
            extra = {**info.payload(), **extra}
        super().__init__(message, **extra)
        self.info = info
