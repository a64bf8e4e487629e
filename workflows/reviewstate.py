"""Review states of sections: the transition table and what a new version does to a review."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    Section,
    SectionVersion,
    User,
    utcnow,
)
from workflows import activity
from workflows.errors import InvalidTransition
from workflows.labels import review_state_label


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REAPPROVE = "reapprove"
    SAVE = "save"
    EDITORIAL_SAVE = "editorial_save"


S = ReviewState
# (action, state) -> new state. Anything missing is an invalid transition.
TRANSITIONS: dict[tuple[Action, ReviewState], ReviewState] = {
    (Action.SUBMIT, S.DRAFT): S.IN_REVIEW,
    (Action.APPROVE, S.IN_REVIEW): S.APPROVED,
    (Action.REQUEST_CHANGES, S.IN_REVIEW): S.CHANGES_REQUESTED,
    # One-click re-approval after a save reset an approval (guarded by reset_from).
    (Action.REAPPROVE, S.DRAFT): S.APPROVED,
    (Action.SAVE, S.DRAFT): S.DRAFT,
    (Action.SAVE, S.IN_REVIEW): S.DRAFT,
    (Action.SAVE, S.CHANGES_REQUESTED): S.DRAFT,
    (Action.SAVE, S.APPROVED): S.DRAFT,
    # Trivial (whitespace, punctuation, case) saves marked editorial keep the state.
    (Action.EDITORIAL_SAVE, S.DRAFT): S.DRAFT,
    (Action.EDITORIAL_SAVE, S.IN_REVIEW): S.IN_REVIEW,
    (Action.EDITORIAL_SAVE, S.CHANGES_REQUESTED): S.DRAFT,
    (Action.EDITORIAL_SAVE, S.APPROVED): S.APPROVED,
}


_Act = TypeVar("_Act", bound=StrEnum)
_State = TypeVar("_State", bound=StrEnum)


def transition(
    table: Mapping[tuple[_Act, _State], _State], action: _Act, state: _State, refusal: Any
) -> _State:
    """Look an action up in a transition table (of sections or of papers).

    :raises InvalidTransition: with the message ``refusal`` when the table lacks the pair.
    """
    try:
        return table[(action, state)]
    except KeyError:
        raise InvalidTransition(refusal, state=state.value, action=action.value) from None


def next_state(action: Action, state: ReviewState) -> ReviewState:
    """Return the state an action leads to.

    :raises InvalidTransition: when the action is not allowed in this state.
    """
    refusal = _l(
        "This step is not possible while the section is “%(state)s”.",
        state=review_state_label(state),
    )
    return transition(TRANSITIONS, action, state, refusal)


# Characters that carry meaning although Unicode calls them punctuation: amounts, shares,
# paragraphs, "und", "pro"; the strikethrough mark ("~~nicht~~" deletes the word).
_MEANINGFUL_PUNCTUATION = frozenset("%‰‱§&/#@~")
# Hyphen-minus, minus sign and hyphens always count: "-10" is not "10", "E-Mail" not "EMail".
_HYPHENS = frozenset("-\u2212\u2010\u2011\ufe63\uff0d")
# Typographic dashes count only as a sign, i.e. before a number ("–10 %" is "-10 %").
_DASHES = frozenset("\u2012\u2013\u2014\u2015\ufe58")
# After these (and at the start of a paragraph) a letter's case may change: "und" → "Und".
_SENTENCE_END = frozenset(".!?…:")
_NUMBER = re.compile(r"\d+(?:(?:[.,'’]|\s+)\d+)*")


def _meaning_key(text: str) -> list[str]:
    """Reduce a text to what carries meaning, in order (see :func:`only_editorial`)."""
    text = unicodedata.normalize("NFC", text)
    key: list[str] = []
    at_start = True
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isdigit():
            match = _NUMBER.match(text, i)
            assert match is not None
            # Separators inside a number matter ("1,5" is not "15", "2024 5" not "20245");
            # only the width of a space between digits does not.
            key.append(re.sub(r"\s+", " ", match.group()).replace("’", "'"))
            i = match.end()
            at_start = False
            continue
        category = unicodedata.category(ch)
        if category[0] in "LM":
            key.append(ch.lower() if at_start else ch)
            at_start = False
        elif ch == "\n":
            at_start = True
        elif ch in _HYPHENS:
            key.append("-")
        elif ch in _DASHES:
            # A dash before a number (spaces or other dashes between) is a minus sign.
            j = i + 1
            while j < n and (text[j].isspace() or text[j] in _DASHES):
                j += 1
            if j < n and (text[j].isdigit() or text[j] in _HYPHENS):
                key.append("-")
        elif category[0] in "NS" or ch in _MEANINGFUL_PUNCTUATION:
            # Other numerals (½, ²), math (<, =, ±), currency (€, $) and other symbols (°).
            key.append(ch)
        elif ch in _SENTENCE_END:
            at_start = True
        i += 1
    return key


def only_editorial(old: str, new: str) -> bool:
    """Tell whether two texts differ only in ways that carry no meaning.

    Only whitespace, typographic quotes, dashes and apostrophes, the case of a sentence's
    first letter and punctuation without meaning may differ. Digits with their separators,
    comparison, sign and unit characters (``<>=+-±%‰§€$``…) and every other letter and its
    case are significant (ASVS V4.1.3: an approval covers the text's meaning).
    """
    return _meaning_key(old) == _meaning_key(new)


def status_of(section_id: int) -> ReviewStatus:
    """Return the review status row of a section, creating it in state draft."""
    status = db.session.get(ReviewStatus, section_id)
    if status is None:
        status = ReviewStatus(section_id=section_id, state=S.DRAFT, reviewer_ids=[])
        db.session.add(status)
        db.session.flush()
    return status


def find_status(section_id: int) -> ReviewStatus | None:
    """Return the review status row of a section, or None before its first review."""
    return db.session.get(ReviewStatus, section_id)


def statuses_for(section_ids: Iterable[int]) -> dict[int, ReviewStatus]:
    """Load the review status of many sections with one query."""
    ids = list(section_ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(ReviewStatus).where(ReviewStatus.section_id.in_(ids)))
    return {row.section_id: row for row in rows}


def record_event(
    section: Section, version: int, actor: User | None, kind: str, comment: str = ""
) -> None:
    """Add a review event and its activity entry (the caller commits)."""
    db.session.add(
        ReviewEvent(
            section_id=section.id,
            version=version,
            actor_id=actor.id if actor else None,
            kind=kind,
            comment=comment,
            created_at=utcnow(),
        )
    )
    activity.record(
        section.paper_id,
        actor,
        f"review.{kind}",
        section_id=section.id,
        version=version,
        **({"comment": comment} if comment else {}),
    )


def after_save(
    section: Section, previous: SectionVersion, new: SectionVersion, actor: User, *, editorial: bool
) -> None:
    """Apply a new version to the review state (called inside the save's transaction)."""
    status = db.session.get(ReviewStatus, section.id)
    if status is None:
        return
    if status.state == S.IN_REVIEW:
        # The version under review, not an approval of an earlier round.
        reference_number = status.version
    else:
        reference_number = status.carried_to or status.approved_version or status.version
    reference = previous
    if reference_number and reference_number != previous.number:
        reference = (
            db.session.scalar(
                select(SectionVersion).where(
                    SectionVersion.section_id == section.id,
                    SectionVersion.number == reference_number,
                )
            )
            or previous
        )
    trivial = editorial and only_editorial(
        reference.title + "\n" + reference.body, new.title + "\n" + new.body
    )
    old_state = status.state
    status.state = next_state(Action.EDITORIAL_SAVE if trivial else Action.SAVE, old_state)
    if trivial and old_state == S.APPROVED:
        status.carried_to = new.number
        record_event(section, new.number, actor, "carried_over")
    elif trivial and old_state == S.IN_REVIEW:
        status.version = new.number
        record_event(section, new.number, actor, "carried_over")
    elif old_state == S.APPROVED:
        status.reset_from = status.carried_to or status.approved_version
        status.carried_to = None
        record_event(section, new.number, actor, "approval_reset")
    elif old_state in (S.IN_REVIEW, S.CHANGES_REQUESTED):
        record_event(section, new.number, actor, "back_to_draft")


@dataclass(frozen=True)
class Progress:
    """How far a paper's review is."""

    approved: int
    total: int
    overdue: int

    @property
    def percent(self) -> int:
        return round(100 * self.approved / self.total) if self.total else 0


def approved_version(status: ReviewStatus | None) -> int | None:
    """Return the version a section's approval stands for, or None when it is not approved.

    That is the approved version, or the later one an editorial save carried the approval to.
    """
    if status is None or status.state != S.APPROVED:
        return None
    return status.carried_to or status.approved_version


def is_approved_at(status: ReviewStatus | None, version: int) -> bool:
    """Tell whether a section is approved at ``version`` (its current version, normally)."""
    return approved_version(status) == version


def is_overdue(status: ReviewStatus | None, today: date | None = None) -> bool:
    """Tell whether a review is past its due date."""
    today = today or date.today()
    return bool(status and status.state == S.IN_REVIEW and status.due and status.due < today)


def progress(sections: list[Section], statuses: dict[int, ReviewStatus]) -> Progress:
    """Count approved and overdue sections."""
    approved = sum(
        1 for s in sections if statuses.get(s.id) is not None and statuses[s.id].state == S.APPROVED
    )
    overdue = sum(1 for s in sections if is_overdue(statuses.get(s.id)))
    return Progress(approved, len(sections), overdue)
