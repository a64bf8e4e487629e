"""Suggestions (Änderungsvorschläge, issue 4): any member proposes, editors accept — merged
three-way when the section moved on, a conflict page when the same words changed — or reject
with a reason; the suggester is told either way. Through the workflows, the API and the forms.
"""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from drafting.extensions import db
from drafting.links import notification_path
from drafting.models import (
    ActivityEntry,
    Notification,
    ReviewState,
    ReviewStatus,
    SectionVersion,
    Suggestion,
    SuggestionStatus,
)
from tests import factories
from tests.conftest import api_headers
from tests.xss_corpus import PAYLOADS, assert_inert
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import EditConflict, InvalidTransition, NotAllowed, NotFound

pytestmark = pytest.mark.usefixtures("english_ui")

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
# The suggestion changes the first paragraph; the editor meanwhile the second one.
SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."
EDITED_ELSEWHERE = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
MERGED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."
# ... or the same words.
EDITED_SAME = "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen."
NOTE = "Das Handwerk fehlt."


def call(client: Any, token: str, method: str, path: str, payload: Any = None) -> Any:
    """Send an API request."""
    return client.open(f"/api/v1{path}", method=method, json=payload, headers=api_headers(token))


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def versions(section_id: int) -> list[SectionVersion]:
    """Every version of a section, oldest first, fresh from the database."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(SectionVersion)
            .where(SectionVersion.section_id == section_id)
            .order_by(SectionVersion.number)
        )
    )


def suggestion(suggestion_id: int) -> Suggestion:
    db.session.expire_all()
    item = db.session.get(Suggestion, suggestion_id)
    assert item is not None
    return item


def suggest(
    world: factories.World,
    body: str = SUGGESTED,
    *,
    by: Any = None,
    base: int = 1,
    note: str = NOTE,
) -> int:
    """Propose a text for the world's section and return the suggestion's id."""
    item = suggestion_flow.create_suggestion(
        by or world.member, world.section.id, body=body, base_version=base, note=note
    )
    return item.id


def decisions_for(user_id: int) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.kind == "suggestion_decided")
            .order_by(Notification.id)
        )
    )


def entries(paper_id: int, action: str) -> list[ActivityEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ActivityEntry)
            .where(ActivityEntry.paper_id == paper_id, ActivityEntry.action == action)
            .order_by(ActivityEntry.seq)
        )
    )


# --- proposing ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "signatory", "reviewer", "editor", "coordinator"])
def test_every_member_of_the_paper_may_suggest(client, world, tokens, who):
    response = call(
        client,
        tokens[who],
        "POST",
        f"/sections/{world.section.id}/suggestions",
        {"body": SUGGESTED, "base_version": 1, "note": NOTE},
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert (data["status"], data["base_version"], data["body"], data["note"]) == (
        "open",
        1,
        SUGGESTED,
        NOTE,
    )
    assert data["author"] == world.users[who].display_name
    assert [v.number for v in versions(world.section.id)] == [1]  # nothing saved yet
    created = entries(world.paper.id, "suggestion.created")
    assert [(e.actor_id, e.details["suggestion"]) for e in created] == [
        (world.users[who].id, data["id"])
    ]


def test_an_outsider_cannot_suggest_or_see_suggestions(client, auth, world, tokens):
    response = call(
        client,
        tokens["outsider"],
        "POST",
        f"/sections/{world.section.id}/suggestions",
        {"body": SUGGESTED, "base_version": 1},
    )
    assert response.status_code == 404
    item = suggest(world)
    assert (
        call(
            client, tokens["outsider"], "GET", f"/sections/{world.section.id}/suggestions"
        ).status_code
        == 404
    )
    assert (
        call(client, tokens["outsider"], "POST", f"/suggestions/{item}/accept").status_code == 404
    )
    auth.login(world.outsider.email)
    assert client.get(f"/sections/{world.section.id}/suggest").status_code == 404
    assert client.get(f"/suggestions/{item}").status_code == 404
    assert client.get(f"/sections/{world.section.id}/suggestions").status_code == 404
    assert client.post(f"/suggestions/{item}/accept").status_code == 404
    assert client.post(f"/suggestions/{item}/reject", data={"reason": "x"}).status_code == 404
    assert suggestion(item).status == SuggestionStatus.OPEN
    with pytest.raises(NotFound):
        suggestion_flow.accept(world.outsider, item)
    db.session.rollback()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": BODY, "base_version": 1}, "body"),  # changes nothing
        ({"body": SUGGESTED, "base_version": 7}, "base_version"),  # no such version
        ({"body": SUGGESTED}, "base_version"),
        ({"body": 5, "base_version": 1}, "body"),
    ],
)
def test_a_suggestion_must_change_a_version_that_exists(client, world, tokens, payload, field):
    response = call(
        client, tokens["member"], "POST", f"/sections/{world.section.id}/suggestions", payload
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert db.session.scalars(select(Suggestion)).all() == []


def test_suggesting_through_the_form(client, auth, world):
    auth.login(world.member.email)
    form = client.get(f"/sections/{world.section.id}/suggest")
    assert form.status_code == 200
    assert str(escape(BODY)) in html(form)  # prefilled with the current text
    response = client.post(
        f"/sections/{world.section.id}/suggest",
        data={"body": SUGGESTED, "note": NOTE, "base_version": "1"},
    )
    assert response.status_code == 302
    item = db.session.scalars(select(Suggestion)).one()
    assert response.headers["Location"].endswith(f"/suggestions/{item.id}")
    assert (item.author_id, item.body, item.note, item.base_version) == (
        world.member.id,
        SUGGESTED,
        NOTE,
        1,
    )
    page = html(client.get(f"/suggestions/{item.id}"))
    assert "Das Handwerk fehlt." in page
    assert "und vom Handwerk" in page.split("diff inline-diff")[1]
    assert "Accept the suggestion" not in page  # a member cannot decide

    unchanged = client.post(
        f"/sections/{world.section.id}/suggest",
        data={"body": BODY, "note": "", "base_version": "1"},
    )
    assert unchanged.status_code == 422
    assert "The suggestion does not change the text." in html(unchanged)


def test_the_paper_page_counts_open_suggestions(client, auth, world):
    suggest(world)
    suggest(world, SUGGESTED + "\n\nNoch etwas.", by=world.signatory)
    auth.login(world.member.email)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "2 open suggestions" in page
    listing = html(client.get(f"/sections/{world.section.id}/suggestions"))
    assert listing.count("Open") >= 2 and "Sigrid Zeichnung" in listing


# --- accepting ------------------------------------------------------------------------------


def test_accepting_makes_a_version_authored_by_the_suggester(client, world, tokens):
    item = suggest(world)
    response = call(client, tokens["editor"], "POST", f"/suggestions/{item}/accept")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["status"], data["version"], data["merged"], data["result_version"]) == (
        "accepted",
        2,
        False,
        2,
    )
    new = versions(world.section.id)[-1]
    assert (new.number, new.body, new.author_id) == (2, SUGGESTED, world.member.id)
    assert f"#{item}" in new.note
    decided = suggestion(item)
    assert (decided.status, decided.decided_by_id, decided.result_version) == (
        SuggestionStatus.ACCEPTED,
        world.editor.id,
        2,
    )
    [accepted] = entries(world.paper.id, "suggestion.accepted")
    assert (accepted.actor_id, accepted.version, accepted.details["suggestion"]) == (
        world.editor.id,
        2,
        item,
    )
    [saved] = [e for e in entries(world.paper.id, "section.saved") if e.version == 2]
    assert saved.actor_id == world.editor.id  # who did it; the version names the suggester
    [told] = decisions_for(world.member.id)
    assert (told.params["accepted"], told.actor_id, notification_path(told)) == (
        True,
        world.editor.id,
        f"/suggestions/{item}",
    )


def test_the_coordinator_may_accept_through_the_form(client, auth, world):
    item = suggest(world)
    auth.login(world.coordinator.email)
    page = html(client.get(f"/suggestions/{item}"))
    assert "Accept the suggestion" in page
    response = client.post(f"/suggestions/{item}/accept", follow_redirects=True)
    assert response.status_code == 200
    assert "The suggestion was accepted as version 2." in html(response)
    assert "Accepted as version 2." in html(response)
    assert versions(world.section.id)[-1].author_id == world.member.id


def test_a_suggestion_on_an_old_version_is_merged_three_way(client, world, tokens):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=EDITED_ELSEWHERE, base_version=1)
    response = call(client, tokens["editor"], "POST", f"/suggestions/{item}/accept")
    assert response.status_code == 200
    assert (response.get_json()["version"], response.get_json()["merged"]) == (3, True)
    new = versions(world.section.id)[-1]
    assert (new.body, new.author_id, new.merged_with) == (MERGED, world.member.id, 2)


def test_the_suggestion_page_warns_that_the_section_moved_on(client, auth, world):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=EDITED_ELSEWHERE, base_version=1)
    auth.login(world.editor.email)
    page = html(client.get(f"/suggestions/{item}"))
    assert "The section has changed since version 1" in page
    assert "Compared with the current text (version 2)" in page


def test_a_conflicting_suggestion_answers_409_in_the_api_and_stays_open(client, world, tokens):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=EDITED_SAME, base_version=1)
    response = call(client, tokens["editor"], "POST", f"/suggestions/{item}/accept")
    assert response.status_code == 409
    data = response.get_json()
    assert data["error"]["code"] == "edit_conflict"
    assert data["current"]["version"] == 2
    assert data["conflicts"]
    assert [v.number for v in versions(world.section.id)] == [1, 2]
    assert suggestion(item).status == SuggestionStatus.OPEN
    assert entries(world.paper.id, "suggestion.accepted") == []
    assert decisions_for(world.member.id) == []
    with pytest.raises(EditConflict):
        suggestion_flow.accept(world.editor, item)
    db.session.rollback()


def test_a_conflict_shows_the_page_and_is_resolved_by_the_editor(client, auth, world):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=EDITED_SAME, base_version=1)
    auth.login(world.editor.email)
    response = client.post(f"/suggestions/{item}/accept")
    assert response.status_code == 409
    page = html(response)
    assert "The suggestion and a later change touch the same sentences" in page
    assert "Einzelhandel" in page and "und vom Handwerk" in page
    assert f'action="/suggestions/{item}/resolve"' in page
    assert 'name="current_version" type="hidden" value="2"' in page
    assert suggestion(item).status == SuggestionStatus.OPEN

    combined = "Die Innenstadt lebt vom Einzelhandel und vom Handwerk.\n\nUnd vom Wohnen."
    response = client.post(
        f"/suggestions/{item}/resolve",
        data={
            "base_version": "1",
            "current_version": "2",
            "title": "Ausgangslage",
            "level": "1",
            "yours": SUGGESTED,
            "combined": combined,
            "note": "",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suggestions/{item}")
    new = versions(world.section.id)[-1]
    # The editor chose the combined text: theirs, with the suggester as co-author (issue 9).
    assert (new.number, new.body, new.author_id, new.coauthor_id) == (
        3,
        combined,
        world.editor.id,
        world.member.id,
    )
    decided = suggestion(item)
    assert (decided.status, decided.result_version) == (SuggestionStatus.ACCEPTED, 3)
    assert [n.params["accepted"] for n in decisions_for(world.member.id)] == [True]


def test_a_second_conflict_while_resolving_moves_on_to_the_newest_version(client, auth, world):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=EDITED_SAME, base_version=1)
    auth.login(world.editor.email)
    assert client.post(f"/suggestions/{item}/accept").status_code == 409
    # Meanwhile someone changes the very words the editor now combines.
    section_flow.save_section(
        world.coordinator,
        world.section.id,
        base_version=2,
        body="Die Innenstadt lebt vom Großhandel.\n\nUnd vom Wohnen.",
    )
    combined = "Die Innenstadt lebt vom Einzelhandel und Handwerk.\n\nUnd vom Wohnen."
    fields = {"base_version": "1", "title": "Ausgangslage", "level": "1", "note": ""}
    response = client.post(
        f"/suggestions/{item}/resolve",
        data={**fields, "current_version": "2", "yours": SUGGESTED, "combined": combined},
    )
    assert response.status_code == 409
    assert suggestion(item).status == SuggestionStatus.OPEN
    assert [v.number for v in versions(world.section.id)] == [1, 2, 3]
    # The page now compares the editor's combined text with version 3 and resolves against it.
    page = html(response)
    assert 'name="current_version" type="hidden" value="3"' in page
    assert "Großhandel" in page and "Einzelhandel und Handwerk" in page
    assert_inert(page)
    final = "Die Innenstadt lebt vom Großhandel und Handwerk.\n\nUnd vom Wohnen."
    response = client.post(
        f"/suggestions/{item}/resolve",
        data={**fields, "current_version": "3", "yours": combined, "combined": final},
    )
    assert response.status_code == 302
    new = versions(world.section.id)[-1]
    assert (new.number, new.body, new.author_id, new.coauthor_id) == (
        4,
        final,
        world.editor.id,
        world.member.id,
    )
    assert suggestion(item).status == SuggestionStatus.ACCEPTED


def test_a_base_version_that_is_not_a_number_is_refused(client, auth, world):
    auth.login(world.member.email)
    response = client.post(
        f"/sections/{world.section.id}/suggest",
        data={"body": SUGGESTED, "note": "", "base_version": "eins"},
    )
    assert response.status_code == 422
    assert "The base version must be a version number." in html(response)
    assert db.session.scalars(select(Suggestion)).all() == []


def test_accepting_a_suggestion_equal_to_the_current_text_makes_no_version(world):
    item = suggest(world)
    section_flow.save_section(world.editor, world.section.id, body=SUGGESTED, base_version=1)
    result = suggestion_flow.accept(world.editor, item)
    assert (result.created, result.version) == (False, 2)
    assert (suggestion(item).status, suggestion(item).result_version) == (
        SuggestionStatus.ACCEPTED,
        2,
    )


def test_accepting_resets_an_approval_like_any_save(world):
    review_flow.submit(world.editor, world.section.id)
    review_flow.approve(world.reviewer, world.section.id, 1)
    item = suggest(world)
    suggestion_flow.accept(world.editor, item)
    db.session.expire_all()
    status = db.session.get(ReviewStatus, world.section.id)
    assert (status.state, status.reset_from) == (ReviewState.DRAFT, 1)


# --- rejecting --------------------------------------------------------------------------------


def test_rejecting_needs_a_reason_and_tells_the_suggester(client, world, tokens):
    item = suggest(world)
    for payload in ({}, {"reason": ""}, {"reason": "  "}):
        response = call(client, tokens["editor"], "POST", f"/suggestions/{item}/reject", payload)
        assert response.status_code == 422, payload
        assert suggestion(item).status == SuggestionStatus.OPEN
    response = call(
        client,
        tokens["editor"],
        "POST",
        f"/suggestions/{item}/reject",
        {"reason": "Handwerk steht in Abschnitt 3."},
    )
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["reason"]) == (
        "rejected",
        "Handwerk steht in Abschnitt 3.",
    )
    assert [v.number for v in versions(world.section.id)] == [1]
    [told] = decisions_for(world.member.id)
    assert (told.params["accepted"], told.params["reason"]) == (
        False,
        "Handwerk steht in Abschnitt 3.",
    )
    [rejected] = entries(world.paper.id, "suggestion.rejected")
    assert (rejected.actor_id, rejected.details["reason"]) == (
        world.editor.id,
        "Handwerk steht in Abschnitt 3.",
    )


def test_rejecting_through_the_form(client, auth, world):
    item = suggest(world)
    auth.login(world.editor.email)
    response = client.post(
        f"/suggestions/{item}/reject", data={"reason": ""}, follow_redirects=True
    )
    assert "Please give a reason for rejecting the suggestion." in html(response)
    assert suggestion(item).status == SuggestionStatus.OPEN
    response = client.post(
        f"/suggestions/{item}/reject", data={"reason": "Doppelt."}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "The suggestion was rejected." in html(response)
    assert "Rejected by Emil Redaktion: Doppelt." in html(response)
    assert "Accept the suggestion" not in html(response)


@pytest.mark.parametrize("first", ["accept", "reject"])
@pytest.mark.parametrize("second", ["accept", "reject"])
def test_a_decided_suggestion_cannot_be_decided_again(client, world, tokens, first, second):
    item = suggest(world)
    body = {"reason": "Nein."}
    assert (
        call(client, tokens["editor"], "POST", f"/suggestions/{item}/{first}", body).status_code
        == 200
    )
    response = call(client, tokens["coordinator"], "POST", f"/suggestions/{item}/{second}", body)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"
    assert len(decisions_for(world.member.id)) == 1
    with pytest.raises(InvalidTransition):
        suggestion_flow.reject(world.editor, item, "Nein.")
    db.session.rollback()


@pytest.mark.parametrize("who", ["member", "reviewer", "signatory"])
def test_only_editors_and_coordinators_decide(client, auth, world, tokens, who):
    item = suggest(world, by=world.signatory if who != "signatory" else world.member)
    for action, payload in (("accept", None), ("reject", {"reason": "Nein."})):
        response = call(client, tokens[who], "POST", f"/suggestions/{item}/{action}", payload)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    auth.login(world.users[who].email)
    assert client.post(f"/suggestions/{item}/accept").status_code == 403
    assert client.post(f"/suggestions/{item}/reject", data={"reason": "Nein."}).status_code == 403
    assert "Accept the suggestion" not in html(client.get(f"/suggestions/{item}"))
    assert suggestion(item).status == SuggestionStatus.OPEN
    assert [v.number for v in versions(world.section.id)] == [1]
    with pytest.raises(NotAllowed):
        suggestion_flow.accept(world.users[who], item)
    db.session.rollback()


def test_an_editor_deciding_on_their_own_suggestion_gets_no_notification(world):
    item = suggest(world, by=world.editor)
    suggestion_flow.accept(world.editor, item)
    assert decisions_for(world.editor.id) == []
    assert versions(world.section.id)[-1].author_id == world.editor.id


def test_suggestions_of_a_section_are_listed_in_the_api(client, world, tokens):
    first = suggest(world)
    second = suggest(world, SUGGESTED + "!", by=world.reviewer)
    suggestion_flow.reject(world.editor, first, "Nein.")
    response = call(client, tokens["member"], "GET", f"/sections/{world.section.id}/suggestions")
    assert [(s["id"], s["status"]) for s in response.get_json()["suggestions"]] == [
        (second, "open"),
        (first, "rejected"),
    ]
    assert suggestion_flow.open_counts(world.paper.id) == {world.section.id: 1}


# --- hostile text -----------------------------------------------------------------------------


def test_hostile_notes_and_reasons_are_inert_on_every_page(client, auth, world):
    ids = []
    for n, payload in enumerate(PAYLOADS):
        ids.append(suggest(world, f"{SUGGESTED}\n\n{payload} {n}", note=payload))
    for item, payload in zip(ids[::2], PAYLOADS[::2], strict=True):
        suggestion_flow.reject(world.editor, item, payload)

    auth.login(world.editor.email)
    pages = [
        f"/sections/{world.section.id}/suggestions",
        f"/papers/{world.paper.id}/activity",
        f"/papers/{world.paper.id}/activity?page=2",
        "/my-work",
        f"/papers/{world.paper.id}",
    ]
    pages += [f"/suggestions/{item}" for item in ids]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(html(response))
    page = html(client.get(f"/suggestions/{ids[0]}"))
    assert str(escape(PAYLOADS[0])) in page

    # The conflict page shows the suggested text and the current one side by side.
    hostile = suggest(
        world,
        "Die Innenstadt lebt vom <script>alert(1337)</script>.\n\nUnd vom Wohnen.",
        note=PAYLOADS[3],
    )
    section_flow.save_section(world.editor, world.section.id, body=EDITED_SAME, base_version=1)
    response = client.post(f"/suggestions/{hostile}/accept")
    assert response.status_code == 409
    assert_inert(html(response))
