"""Four-eyes after suggestions (issue 9, item 1; ASVS V4.1.3).

A version's author is whoever chose its text: a conflict resolved with text other than the
suggestion's is the resolver's, the suggester a co-author. Nobody approves a version holding
text they wrote or chose since the last approval — judged over every version since then,
not only the newest. Through the HTML forms and the JSON API.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ReviewState, ReviewStatus, Role, SectionVersion
from tests import factories
from tests.conftest import api_headers
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import NotAllowed

pytestmark = pytest.mark.usefixtures("english_ui")

SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."
EDITED_SAME = "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen."
OWN_TEXT = "Die Innenstadt lebt von Parkhäusern.\n\nUnd sonst von nichts."


def head(section_id: int) -> SectionVersion:
    db.session.expire_all()
    version = db.session.scalar(
        select(SectionVersion)
        .where(SectionVersion.section_id == section_id)
        .order_by(SectionVersion.number.desc())
        .limit(1)
    )
    assert version is not None
    return version


def state(section_id: int) -> ReviewState:
    db.session.expire_all()
    status = db.session.get(ReviewStatus, section_id)
    return status.state if status is not None else ReviewState.DRAFT


def conflicting_suggestion(world: factories.World) -> int:
    """A member's suggestion that clashes with a later save of the editor (version 2)."""
    item = suggestion_flow.create_suggestion(
        world.member, world.section.id, body=SUGGESTED, base_version=1
    )
    section_flow.save_section(world.editor, world.section.id, body=EDITED_SAME, base_version=1)
    return item.id


@pytest.fixture
def reviewing_coordinator(world: factories.World) -> Any:
    """The coordinator, who may decide on suggestions, is a reviewer of the paper too."""
    paper_flow.grant_role(world.coordinator, world.paper.id, world.coordinator.email, Role.REVIEWER)
    return world.coordinator


def test_asvs_v4_1_3_resolving_with_own_text_makes_the_resolver_the_author_html(
    client, auth, world, reviewing_coordinator
):
    """ASVS V4.1.3: a resolver who writes their own text cannot approve it (HTML forms)."""
    item = conflicting_suggestion(world)
    auth.login(reviewing_coordinator.email)
    response = client.post(
        f"/suggestions/{item}/resolve",
        data={
            "base_version": "1",
            "current_version": "2",
            "title": "Ausgangslage",
            "level": "1",
            "yours": SUGGESTED,
            "combined": OWN_TEXT,
            "note": "",
        },
    )
    assert response.status_code == 302
    new = head(world.section.id)
    assert (new.number, new.body) == (3, OWN_TEXT)
    assert (new.author_id, new.coauthor_id) == (reviewing_coordinator.id, world.member.id)
    history = client.get(f"/sections/{world.section.id}/history").get_data(as_text=True)
    assert f"{reviewing_coordinator.display_name} with {world.member.display_name}" in history

    assert client.post(f"/sections/{world.section.id}/submit", data={}).status_code == 302
    assert state(world.section.id) == ReviewState.IN_REVIEW
    page = client.get(f"/sections/{world.section.id}/review").get_data(as_text=True)
    assert "someone else has to review it" in page
    assert f'action="/sections/{world.section.id}/approve"' not in page
    response = client.post(f"/sections/{world.section.id}/approve", data={"version": "3"})
    assert response.status_code == 403
    assert state(world.section.id) == ReviewState.IN_REVIEW
    # Someone who had no hand in the text may approve it.
    review_flow.approve(world.reviewer, world.section.id, 3)
    assert state(world.section.id) == ReviewState.APPROVED


def test_asvs_v4_1_3_resolving_with_own_text_through_the_api(client, world, reviewing_coordinator):
    """ASVS V4.1.3: the API's resolve (accept with a body) records the resolver as author."""
    item = conflicting_suggestion(world)
    token = factories.token(reviewing_coordinator)
    response = client.post(
        f"/api/v1/suggestions/{item}/accept",
        json={"body": OWN_TEXT, "base_version": 2},
        headers=api_headers(token),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 3
    listed = client.get(
        f"/api/v1/sections/{world.section.id}/versions/3", headers=api_headers(token)
    ).get_json()
    assert (listed["author"], listed["coauthor"]) == (
        reviewing_coordinator.display_name,
        world.member.display_name,
    )
    new = head(world.section.id)
    assert (new.author_id, new.coauthor_id, new.body) == (
        reviewing_coordinator.id,
        world.member.id,
        OWN_TEXT,
    )
    review_flow.submit(world.editor, world.section.id)
    response = client.post(
        f"/api/v1/sections/{world.section.id}/reviews",
        json={"decision": "approve", "version": 3},
        headers=api_headers(token),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert state(world.section.id) == ReviewState.IN_REVIEW


def test_the_suggester_as_co_author_cannot_approve_the_combined_text(
    client, world, reviewing_coordinator
):
    """ASVS V4.1.3: co-authors count as authors for the four-eyes rule."""
    paper_flow.grant_role(world.coordinator, world.paper.id, world.member.email, Role.REVIEWER)
    item = conflicting_suggestion(world)
    suggestion_flow.accept(reviewing_coordinator, item, resolved_body=OWN_TEXT, resolved_base=2)
    review_flow.submit(world.editor, world.section.id)
    response = client.post(
        f"/api/v1/sections/{world.section.id}/reviews",
        json={"decision": "approve", "version": 3},
        headers=api_headers(factories.token(world.member)),
    )
    assert response.status_code == 403
    assert state(world.section.id) == ReviewState.IN_REVIEW


def test_accepting_the_suggestion_unchanged_keeps_the_suggester_as_author(
    world, reviewing_coordinator
):
    """The resolver who takes the suggestion's text as it is did not write it."""
    item = suggestion_flow.create_suggestion(
        world.member, world.section.id, body=SUGGESTED, base_version=1
    ).id
    suggestion_flow.accept(reviewing_coordinator, item, resolved_body=SUGGESTED, resolved_base=1)
    new = head(world.section.id)
    assert (new.author_id, new.coauthor_id) == (world.member.id, None)
    review_flow.submit(world.editor, world.section.id)
    review_flow.approve(reviewing_coordinator, world.section.id, new.number)
    assert state(world.section.id) == ReviewState.APPROVED


@pytest.mark.parametrize("via", ["workflow", "html", "api"])
def test_asvs_v4_1_3_text_written_in_an_earlier_version_since_approval_blocks_approval(
    client, auth, world, reviewing_coordinator, via
):
    """ASVS V4.1.3: all versions since the last approval count, not only the newest."""
    sid = world.section.id
    section_flow.save_section(reviewing_coordinator, sid, body=OWN_TEXT, base_version=1)
    # Someone else touches it up afterwards: the newest version is not the coordinator's.
    section_flow.save_section(world.editor, sid, body=OWN_TEXT + "\n\nEin Satz.", base_version=2)
    review_flow.submit(world.editor, sid)
    if via == "workflow":
        with pytest.raises(NotAllowed):
            review_flow.approve(reviewing_coordinator, sid, 3)
        db.session.rollback()
    elif via == "html":
        auth.login(reviewing_coordinator.email)
        assert client.post(f"/sections/{sid}/approve", data={"version": "3"}).status_code == 403
    else:
        response = client.post(
            f"/api/v1/sections/{sid}/reviews",
            json={"decision": "approve", "version": 3},
            headers=api_headers(factories.token(reviewing_coordinator)),
        )
        assert response.status_code == 403
    assert state(sid) == ReviewState.IN_REVIEW


def test_text_written_before_the_last_approval_does_not_block(world, reviewing_coordinator):
    """Once someone else approved, earlier authorship is reviewed and no longer counts."""
    sid = world.section.id
    section_flow.save_section(reviewing_coordinator, sid, body=OWN_TEXT, base_version=1)
    review_flow.submit(world.editor, sid)
    review_flow.approve(world.reviewer, sid, 2)
    section_flow.save_section(world.editor, sid, body=OWN_TEXT + "\n\nNeu.", base_version=2)
    review_flow.submit(world.editor, sid)
    assert review_flow.contributors_since_approval(sid, 3) == {world.editor.id}
    review_flow.approve(reviewing_coordinator, sid, 3)
    assert state(sid) == ReviewState.APPROVED


def test_my_work_does_not_offer_a_review_of_ones_own_earlier_text(
    client, auth, world, reviewing_coordinator
):
    """ "My work" lists only reviews the user may decide."""
    sid = world.section.id
    section_flow.save_section(reviewing_coordinator, sid, body=OWN_TEXT, base_version=1)
    section_flow.save_section(world.editor, sid, body=OWN_TEXT + "\n\nNeu.", base_version=2)
    review_flow.submit(world.editor, sid)
    auth.login(reviewing_coordinator.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert f"/sections/{sid}/review" not in page
    auth.logout()
    auth.login(world.reviewer.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert f"/sections/{sid}/review" in page
