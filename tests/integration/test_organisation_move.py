"""Moving a user to another organisation (issue 9, item 9; ASVS V4.1.3, V4.2.1).

Roles on papers were given to a person *of an organisation*: a move removes all of them,
each removal logged on its paper. A moved signatory cannot sign for the new organisation,
and the inbox and "my work" stop showing titles and excerpts of papers the user can no
longer see. Through the admin page, the CLI and the workflow.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Notification,
    Paper,
    PaperRole,
    Role,
    SignoffDecision,
    User,
)
from tests import factories
from workflows import accounts, activity, notifications
from workflows import comments as comment_flow
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import signoff as signoff_flow
from workflows.errors import NotAllowed, NotFound, ValidationFailed

SECRET_TITLE = "Vertrauliches Stadtkonzept"


def roles_of(user_id: int) -> list[PaperRole]:
    db.session.expire_all()
    return list(db.session.scalars(select(PaperRole).where(PaperRole.user_id == user_id)))


def revocations(paper_id: int, email: str) -> list[ActivityEntry]:
    db.session.expire_all()
    return [
        e
        for e in db.session.scalars(
            select(ActivityEntry)
            .where(ActivityEntry.paper_id == paper_id, ActivityEntry.action == "role.revoked")
            .order_by(ActivityEntry.seq)
        )
        if e.details.get("user_id") == db.session.scalar(select(User.id).where(User.email == email))
    ]


@pytest.fixture
def signing(world: factories.World) -> factories.World:
    """The world's paper in a sign-off round, the signatory a signatory of a second paper."""
    second = factories.paper(world.coordinator, title=SECRET_TITLE)
    paper_flow.add_participant(world.coordinator, second.id, "CITY")
    paper_flow.grant_role(world.coordinator, second.id, world.signatory.email, Role.SIGNATORY)
    factories.approve_all(world)
    signoff_flow.start(world.coordinator, world.paper.id)
    return world


@pytest.mark.parametrize("via", ["workflow", "admin page", "cli"])
def test_asvs_v4_1_3_a_moved_signatory_cannot_sign_for_the_new_organisation(
    client, auth, runner, signing, via
):
    """ASVS V4.1.3: the signatory moves from the city to the ministry, which takes part too."""
    world = signing
    assert len(roles_of(world.signatory.id)) == 2
    if via == "workflow":
        accounts.move_user(world.signatory.id, world.ministry.id, actor=world.admin)
    elif via == "admin page":
        auth.login(world.admin.email)
        response = client.post(
            f"/admin/users/{world.signatory.id}",
            data={
                "display_name": world.signatory.display_name,
                "organisation": str(world.ministry.id),
                "locale": "en",
                "active": "y",
            },
        )
        assert response.status_code == 302
    else:
        result = runner.invoke(
            args=["users", "move", "--email", world.signatory.email, "--org", "MIN"]
        )
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert world.signatory.organisation_id == world.ministry.id
    assert roles_of(world.signatory.id) == []

    with pytest.raises(NotAllowed):
        signoff_flow.decide(world.signatory, world.paper.id, "approve")
    db.session.rollback()
    assert db.session.scalars(select(SignoffDecision)).all() == []

    # Every removed role is in the log of its paper, and the chain still verifies.
    for paper_id in {r.paper_id for r in db.session.scalars(select(PaperRole))}:
        assert activity.verify(paper_id) == []
    second_id = db.session.scalar(select(Paper.id).where(Paper.title == SECRET_TITLE))
    assert second_id is not None
    second = revocations(second_id, world.signatory.email)
    assert [e.details["role"] for e in second] == ["signatory"]
    entry = revocations(world.paper.id, world.signatory.email)
    assert [e.details["role"] for e in entry] == ["signatory"]
    assert entry[0].details["reason"] == "organisation_changed"
    assert (entry[0].details["organisation_from"], entry[0].details["organisation_to"]) == (
        "CITY",
        "MIN",
    )


def test_a_move_within_the_same_organisation_keeps_the_roles(world):
    accounts.move_user(world.signatory.id, world.city.id, actor=world.admin)
    assert [r.role for r in roles_of(world.signatory.id)] == [Role.SIGNATORY]


def test_an_unknown_organisation_or_user_is_refused(world):
    with pytest.raises(ValidationFailed):
        accounts.move_user(world.signatory.id, 999_999, actor=world.admin)
    with pytest.raises(NotFound):
        accounts.move_user(999_999, world.city.id, actor=world.admin)


def test_asvs_v4_2_1_inbox_and_my_work_hide_papers_no_longer_visible(client, auth, world):
    """ASVS V4.2.1: titles and excerpts of the old organisation's papers disappear."""
    paper = factories.paper(world.coordinator, title=SECRET_TITLE)
    paper_flow.add_participant(world.coordinator, paper.id, "CITY")
    paper_flow.grant_role(world.coordinator, paper.id, world.editor.email, Role.EDITOR)
    paper_flow.grant_role(world.coordinator, paper.id, world.member.email, Role.REVIEWER)
    section = factories.section(world.editor, paper, title="Geheime Ziele", body="Geheim.")
    comment_flow.add_comment(world.coordinator, section.id, "@member@example.org Geheimer Hinweis")
    review_flow.submit(world.editor, section.id)
    for person in world.users.values():
        person.locale = "en"
    db.session.commit()

    auth.login(world.member.email)
    assert SECRET_TITLE in client.get("/inbox").get_data(as_text=True)
    assert "Geheime Ziele" in client.get("/my-work").get_data(as_text=True)

    accounts.move_user(world.member.id, world.outside.id, actor=world.admin)
    inbox = client.get("/inbox").get_data(as_text=True)
    work = client.get("/my-work").get_data(as_text=True)
    for page in (inbox, work):
        assert SECRET_TITLE not in page
        assert "Geheime Ziele" not in page
        assert "Geheimer Hinweis" not in page
    # The notifications themselves cannot be opened either.
    assert notifications.unread_count(world.member) == 0
    hidden = db.session.scalars(
        select(Notification).where(Notification.user_id == world.member.id)
    ).all()
    assert hidden
    for item in hidden:
        with pytest.raises(NotFound):
            notifications.open_notification(world.member, item.id)
