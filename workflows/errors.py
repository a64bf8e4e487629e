"""Typed errors raised by workflow actions; one handler maps them to HTTP for HTML and JSON."""

from __future__ import annotations

from typing import Any


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


class EditConflict(WorkflowError):
    """Two edits changed the same words; nothing was saved and both texts are kept."""

    code = "edit_conflict"
    status = 409
