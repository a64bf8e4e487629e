"""Who is told: the one recipient query of reviews, comments and sign-off (issue 10 item 3)."""

from __future__ import annotations

from flask import Flask

from drafting.extensions import db
from drafting.models import Role
from tests import factories
from workflows.notifications import paper_people


def test_members_are_the_active_users_of_participating_organisations(
    app: Flask, world: factories.World
) -> None:
    w = world
    everyone = {u.id for u in w.users.values()} - {w.outsider.id}  # the admin is a MIN user
    assert set(paper_people(w.paper.id)) == everyone
    w.member.active = False
    db.session.commit()
    assert set(paper_people(w.paper.id)) == everyone - {w.member.id}


def test_roles_organisations_and_given_ids_narrow_the_recipients(
    app: Flask, world: factories.World
) -> None:
    w = world
    assert paper_people(w.paper.id, role=Role.REVIEWER) == [w.reviewer.id]
    assert paper_people(w.paper.id, role=Role.SIGNATORY) == [w.signatory.id]
    assert paper_people(w.paper.id, role=Role.COORDINATOR) == [w.coordinator.id]
    assert paper_people(w.paper.id, role=Role.SIGNATORY, organisation_ids=[w.chamber.id]) == []
    assert paper_people(w.paper.id, among=[w.member.id, w.outsider.id]) == [w.member.id]
