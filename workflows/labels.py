"""The names of states as people read them: one label function per status enum (issue 15, item 8).

Every page, message and refusal that names a state takes it from here, so a state is called
the same everywhere and always capitalised ("Entwurf", "In Mitzeichnung", "Zur Prüfung
vorgelegt", "Teilweise angenommen", "Wird erstellt"): tests/unit/test_labels.py checks both
catalogues. Each function takes the enum member or its stored value and returns a lazy string
(translated when shown, in the reader's language).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from drafting.models import (
    EditionStatus,
    ExportStatus,
    PaperStatus,
    ReviewState,
    SignoffDecisionKind,
    SuggestionStatus,
)

PAPER_STATUS = {
    PaperStatus.DRAFTING: _l("Draft"),
    PaperStatus.SIGNING: _l("In sign-off"),
    PaperStatus.FINAL: _l("Final"),
    PaperStatus.ARCHIVED: _l("Archived"),
}
REVIEW_STATE = {
    ReviewState.DRAFT: _l("Draft"),
    ReviewState.IN_REVIEW: _l("In review"),
    ReviewState.CHANGES_REQUESTED: _l("Changes requested"),
    ReviewState.APPROVED: _l("Approved"),
}
SUGGESTION_STATUS = {
    SuggestionStatus.OPEN: _l("Open"),
    SuggestionStatus.ACCEPTED: _l("Accepted"),
    SuggestionStatus.PARTLY_ACCEPTED: _l("Partly accepted"),
    SuggestionStatus.REJECTED: _l("Rejected"),
}
# The words of the options and of the Word annex ("Zustimmung"), not the review's
# "Freigegeben": a context keeps them apart from the review states' "Approved".
SIGNOFF_DECISION = {
    SignoffDecisionKind.APPROVE: lazy_pgettext("sign-off", "Approved"),
    SignoffDecisionKind.APPROVE_WITH_RESERVATION: lazy_pgettext(
        "sign-off", "Approved with reservation"
    ),
    SignoffDecisionKind.REJECT: lazy_pgettext("sign-off", "Rejected"),
}
# An organisation that has not decided yet (the sign-off table's empty cell).
SIGNOFF_UNDECIDED = lazy_pgettext("sign-off", "Open")
EDITION_STATUS = {
    EditionStatus.SIGNING: _l("In sign-off"),
    EditionStatus.FINAL: _l("Final"),
    EditionStatus.CANCELLED: _l("Cancelled"),
}
EXPORT_STATUS = {
    ExportStatus.QUEUED: _l("Waiting"),
    ExportStatus.RUNNING: _l("Being built"),
    ExportStatus.DONE: _l("Ready"),
    ExportStatus.FAILED: _l("Failed"),
}


def paper_status_label(status: PaperStatus | str) -> Any:
    """A paper's state: Draft, In sign-off, Final, Archived."""
    return PAPER_STATUS[PaperStatus(status)]


def review_state_label(state: ReviewState | str) -> Any:
    """A section's review state: Draft, In review, Changes requested, Approved."""
    return REVIEW_STATE[ReviewState(state)]


def suggestion_status_label(status: SuggestionStatus | str) -> Any:
    """A suggestion's state: Open, Accepted, Partly accepted, Rejected."""
    return SUGGESTION_STATUS[SuggestionStatus(status)]


def signoff_decision_label(decision: SignoffDecisionKind | str | None) -> Any:
    """An organisation's sign-off decision; ``None``: not decided yet ("Open")."""
    if decision is None:
        return SIGNOFF_UNDECIDED
    return SIGNOFF_DECISION[SignoffDecisionKind(decision)]


def edition_status_label(status: EditionStatus | str) -> Any:
    """An edition's state: In sign-off, Final, Cancelled."""
    return EDITION_STATUS[EditionStatus(status)]


def export_status_label(status: ExportStatus | str) -> Any:
    """A Word export job's state: Waiting, Being built, Ready, Failed."""
    return EXPORT_STATUS[ExportStatus(status)]


ALL = (
    PAPER_STATUS,
    REVIEW_STATE,
    SUGGESTION_STATUS,
    SIGNOFF_DECISION,
    EDITION_STATUS,
    EXPORT_STATUS,
)
"""Every table above, for the test that reads them in both languages."""
