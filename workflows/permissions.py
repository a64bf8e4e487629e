"""Permissions as small pure predicates over a user, a paper and the roles loaded for it.

Each predicate takes a :class:`Membership` (what the user is on one paper), so a page
loads the facts once and asks many questions without further queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drafting.models import Paper, PaperStatus, Role, User


@dataclass(frozen=True)
class Membership:
    """What one user is on one paper: whether their organisation takes part, and their roles."""

    user_id: int | None
    participates: bool
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_admin: bool = False

    def has(self, role: Role) -> bool:
        """Tell whether the user holds the given role on the paper."""
        return self.participates and role in self.roles


def membership(
    user: User | None, paper: Paper, participant_org_ids: set[int], roles: set[Role]
) -> Membership:
    """Build a membership from facts already loaded."""
    if user is None or not getattr(user, "is_active", False) or user.id is None:
        return Membership(user_id=None, participates=False)
    return Membership(
        user_id=user.id,
        participates=user.organisation_id in participant_org_ids,
        roles=frozenset(roles),
        is_admin=bool(user.is_admin),
    )


def can_view(m: Membership) -> bool:
    """Every member of a participating organisation may read the paper; nobody else."""
    return m.participates


def can_manage(m: Membership) -> bool:
    """Coordinators manage participants and roles."""
    return m.has(Role.COORDINATOR)


def is_writer(m: Membership) -> bool:
    """Editors and coordinators write sections (whatever the paper's state: see can_edit_now)."""
    return m.has(Role.EDITOR) or m.has(Role.COORDINATOR)


def can_edit_now(m: Membership, paper: Paper) -> bool:
    """Writers change sections now: the paper is being drafted (not frozen for sign-off)."""
    return can_edit_in(m, paper.status)


def can_edit_in(m: Membership, status: PaperStatus) -> bool:
    """Writers change sections of a paper in the given state only while it is drafted."""
    return is_writer(m) and status == PaperStatus.DRAFTING


def can_review(m: Membership) -> bool:
    """Reviewers approve sections or send them back."""
    return m.has(Role.REVIEWER)


def can_sign(m: Membership) -> bool:
    """Signatories give their organisation's sign-off decision."""
    return m.has(Role.SIGNATORY)


def can_comment(m: Membership) -> bool:
    """Every member of a participating organisation may comment and suggest."""
    return m.participates


def may_review_version(m: Membership, contributors: set[int]) -> bool:
    """A reviewer reviews a version unless they wrote or chose text of it since the last
    approval (four-eyes; ``contributors`` from ``review.contributors_since_approval``)."""
    return can_review(m) and m.user_id not in contributors
