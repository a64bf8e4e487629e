"""Rules written once (issue 10 item 3): approval at a version and the transition look-up."""

from __future__ import annotations

from enum import StrEnum

import pytest

from drafting.models import ReviewState, ReviewStatus
from workflows.errors import InvalidTransition
from workflows.reviewstate import approved_version, is_approved_at, transition


def status(state: ReviewState, approved: int | None, carried: int | None = None) -> ReviewStatus:
    return ReviewStatus(state=state, approved_version=approved, carried_to=carried)


def test_an_approval_stands_for_the_approved_version() -> None:
    approved = status(ReviewState.APPROVED, 3)
    assert approved_version(approved) == 3
    assert is_approved_at(approved, 3)
    assert not is_approved_at(approved, 4)


def test_an_editorial_save_carries_the_approval_to_its_version() -> None:
    carried = status(ReviewState.APPROVED, 3, carried=5)
    assert approved_version(carried) == 5
    assert is_approved_at(carried, 5)


@pytest.mark.parametrize(
    "state", [ReviewState.DRAFT, ReviewState.IN_REVIEW, ReviewState.CHANGES_REQUESTED]
)
def test_a_section_not_approved_now_is_approved_at_no_version(state: ReviewState) -> None:
    earlier = status(state, 3)  # an old approval, reset by a later save
    assert approved_version(earlier) is None
    assert not is_approved_at(earlier, 3)
    assert approved_version(None) is None
    assert not is_approved_at(None, 1)


class Light(StrEnum):
    RED = "red"
    GREEN = "green"


class Press(StrEnum):
    GO = "go"


def test_transition_looks_the_pair_up_or_refuses_with_the_message() -> None:
    table = {(Press.GO, Light.RED): Light.GREEN}
    assert transition(table, Press.GO, Light.RED, "no") is Light.GREEN
    with pytest.raises(InvalidTransition) as refused:
        transition(table, Press.GO, Light.GREEN, "Already green.")
    assert str(refused.value) == "Already green."
    assert refused.value.extra == {"state": "green", "action": "go"}
