"""The permission predicates of workflows.permissions, over the role × organisation matrix.

The predicates are pure: they take a :class:`Membership` (and for editing the paper), so these
tests build plain model objects without a database.
"""

from __future__ import annotations

import pytest

from drafting.models import Paper, PaperStatus, Role, User
from workflows.permissions import (
    Membership,
    can_comment,
    can_edit_now,
    can_manage,
    can_review,
    can_sign,
    can_view,
    is_writer,
    membership,
)

LEAD, CITY, OUTSIDE = 1, 2, 3
PARTICIPANTS = {LEAD, CITY}


def a_user(org: int, *, active: bool = True, admin: bool = False, user_id: int = 7) -> User:
    return User(id=user_id, organisation_id=org, active=active, is_admin=admin)


def a_paper(status: PaperStatus = PaperStatus.DRAFTING) -> Paper:
    return Paper(id=1, title="Konzept", lead_organisation_id=LEAD, status=status)


# persona -> (user, roles on the paper)
PERSONAS: dict[str, tuple[User, set[Role]]] = {
    "coordinator": (a_user(LEAD), {Role.COORDINATOR}),
    "editor": (a_user(CITY), {Role.EDITOR}),
    "reviewer": (a_user(CITY), {Role.REVIEWER}),
    "signatory": (a_user(CITY), {Role.SIGNATORY}),
    "member": (a_user(CITY), set()),
    "outsider": (a_user(OUTSIDE), set()),
    "outside_admin": (a_user(OUTSIDE, admin=True), set()),
    # Roles granted while the organisation took part, then the organisation was removed.
    "stale_editor": (a_user(OUTSIDE), {Role.EDITOR, Role.COORDINATOR}),
    "inactive_editor": (a_user(CITY, active=False), {Role.EDITOR}),
    "visitor": (None, set()),  # type: ignore[dict-item]
}

# persona -> expected (view, comment, edit, manage, review, sign)
EXPECTED: dict[str, tuple[bool, bool, bool, bool, bool, bool]] = {
    "coordinator": (True, True, True, True, False, False),
    "editor": (True, True, True, False, False, False),
    "reviewer": (True, True, False, False, True, False),
    "signatory": (True, True, False, False, False, True),
    "member": (True, True, False, False, False, False),
    "outsider": (False, False, False, False, False, False),
    "outside_admin": (False, False, False, False, False, False),
    "stale_editor": (False, False, False, False, False, False),
    "inactive_editor": (False, False, False, False, False, False),
    "visitor": (False, False, False, False, False, False),
}


def member_of(persona: str, paper: Paper | None = None) -> Membership:
    user, roles = PERSONAS[persona]
    return membership(user, paper or a_paper(), PARTICIPANTS, roles)


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_predicates_over_the_matrix(persona: str) -> None:
    m = member_of(persona)
    paper = a_paper()
    got = (
        can_view(m),
        can_comment(m),
        can_edit_now(m, paper),
        can_manage(m),
        can_review(m),
        can_sign(m),
    )
    assert got == EXPECTED[persona]
    assert is_writer(m) == EXPECTED[persona][2]


@pytest.mark.parametrize("status", [PaperStatus.SIGNING, PaperStatus.FINAL, PaperStatus.ARCHIVED])
@pytest.mark.parametrize("persona", ["coordinator", "editor"])
def test_nobody_edits_a_frozen_paper_but_the_role_remains(
    persona: str, status: PaperStatus
) -> None:
    paper = a_paper(status)
    m = member_of(persona, paper)
    assert not can_edit_now(m, paper)
    assert is_writer(m)
    assert can_view(m)


def test_admin_rights_do_not_open_a_paper() -> None:
    m = member_of("outside_admin")
    assert m.is_admin
    assert not m.participates
    assert not can_view(m)


def test_inactive_user_has_no_membership_at_all() -> None:
    m = member_of("inactive_editor")
    assert m == Membership(user_id=None, participates=False)
    assert not m.has(Role.EDITOR)


def test_a_user_without_id_is_no_member() -> None:
    user = User(organisation_id=LEAD, active=True)
    assert membership(user, a_paper(), PARTICIPANTS, {Role.COORDINATOR}).user_id is None


def test_has_requires_participation_as_well_as_the_role() -> None:
    assert Membership(user_id=1, participates=True, roles=frozenset({Role.EDITOR})).has(Role.EDITOR)
    assert not Membership(user_id=1, participates=False, roles=frozenset({Role.EDITOR})).has(
        Role.EDITOR
    )
    assert not Membership(user_id=1, participates=True).has(Role.EDITOR)
