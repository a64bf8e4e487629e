"""Section review (issue 4): the transition table, four-eyes, idempotent steps, editorial
saves, due dates, the progress bar, "my work" and the paper page's query count.

Every allowed transition is driven through the JSON API and every forbidden one is refused
with 409 ``invalid_transition`` — by the table itself, by the API and by the HTML forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import event, select

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    PaperStatus,
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    Role,
    SectionVersion,
)
from tests import factories
from tests.conftest import api_headers
from tests.xss_corpus import PAYLOADS, assert_inert
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from workflows.labels import review_state_label
from workflows.reviewstate import (
    TRANSITIONS,
    Action,
    next_state,
    only_editorial,
    record_event,
)

pytestmark = pytest.mark.usefixtures("english_ui")

S = ReviewState
BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
SUBSTANTIVE = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."
REASON = "Bitte die Zahlen von 2023 ergänzen."


# --- helpers ----------------------------------------------------------------------------------


def call(client: Any, token: str, method: str, path: str, payload: Any = None) -> Any:
    """Send an API request."""
    return client.open(f"/api/v1{path}", method=method, json=payload, headers=api_headers(token))


def status_of(section_id: int) -> ReviewStatus | None:
    """Return a section's review status, fresh from the database."""
    db.session.expire_all()
    return db.session.get(ReviewStatus, section_id)


def state_of(section_id: int) -> ReviewState:
    status = status_of(section_id)
    return status.state if status is not None else S.DRAFT


def event_kinds(section_id: int) -> list[str]:
    """Return the kinds of a section's review events, oldest first."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReviewEvent.kind)
            .where(ReviewEvent.section_id == section_id)
            .order_by(ReviewEvent.id)
        )
    )


def review_entries(section_id: int) -> list[ActivityEntry]:
    """Return the activity entries of a section's review steps, oldest first."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ActivityEntry)
            .where(
                ActivityEntry.section_id == section_id, ActivityEntry.action.startswith("review.")
            )
            .order_by(ActivityEntry.seq)
        )
    )


def current(section_id: int) -> SectionVersion:
    """Return the newest version of a section."""
    db.session.expire_all()
    head = db.session.scalar(
        select(SectionVersion)
        .where(SectionVersion.section_id == section_id)
        .order_by(SectionVersion.number.desc())
        .limit(1)
    )
    assert head is not None
    return head


def save(
    world: factories.World,
    section_id: int,
    body: str,
    *,
    editorial: bool = False,
    actor: Any = None,
) -> int:
    """Save a new text on the current version and return the version now current."""
    result = section_flow.save_section(
        actor or world.editor,
        section_id,
        body=body,
        base_version=current(section_id).number,
        editorial=editorial,
    )
    return result.version


def bring_to(world: factories.World, state: ReviewState, section_id: int | None = None) -> None:
    """Drive a section (the world's by default) into a review state by the usual people."""
    sid = section_id or world.section.id
    if state == S.DRAFT:
        return
    review_flow.submit(world.editor, sid)
    if state == S.CHANGES_REQUESTED:
        review_flow.request_changes(world.reviewer, sid, current(sid).number, REASON)
    elif state == S.APPROVED:
        review_flow.approve(world.reviewer, sid, current(sid).number)
    assert state_of(sid) == state


def approve_then_reset(world: factories.World, section_id: int | None = None) -> int:
    """Approve the current version, then save a substantive change; return the approved number."""
    sid = section_id or world.section.id
    bring_to(world, S.APPROVED, sid)
    approved = current(sid).number
    save(world, sid, current(sid).body + "\n\nEin neuer Absatz.")
    assert state_of(sid) == S.DRAFT
    return approved


def grant(world: factories.World, person: Any, role: Role) -> None:
    paper_flow.grant_role(world.coordinator, world.paper.id, person.email, role)


def html(response: Any) -> str:
    return response.get_data(as_text=True)


# --- the table ----------------------------------------------------------------------------------

ALL_PAIRS = [(a, s) for a in Action for s in ReviewState]
ALLOWED = sorted(TRANSITIONS.items(), key=lambda item: (item[0][0].value, item[0][1].value))
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def _id(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], tuple):
        (action, state), target = value
        return f"{action.value}-{state.value}-{target.value}"
    if isinstance(value, tuple):
        return "-".join(v.value for v in value)
    return str(value)


def test_the_table_covers_every_save_and_only_listed_review_steps():
    # Saving is possible in every state; the review steps only where the issue allows them.
    for state in ReviewState:
        assert (Action.SAVE, state) in TRANSITIONS
        assert (Action.EDITORIAL_SAVE, state) in TRANSITIONS
    review_steps = {
        pair for pair in TRANSITIONS if pair[0] not in (Action.SAVE, Action.EDITORIAL_SAVE)
    }
    assert review_steps == {
        (Action.SUBMIT, S.DRAFT),
        (Action.APPROVE, S.IN_REVIEW),
        (Action.REQUEST_CHANGES, S.IN_REVIEW),
        (Action.REAPPROVE, S.DRAFT),
    }
    assert len(FORBIDDEN) == 12


@pytest.mark.parametrize("pair, target", ALLOWED, ids=[_id(p) for p in ALLOWED])
def test_next_state_follows_every_allowed_transition(pair, target):
    assert next_state(*pair) == target


@pytest.mark.parametrize("pair", FORBIDDEN, ids=[_id(p) for p in FORBIDDEN])
def test_next_state_refuses_every_forbidden_transition(app, pair):
    action, state = pair
    with pytest.raises(InvalidTransition) as refused:
        next_state(action, state)
    assert refused.value.code == "invalid_transition"
    assert refused.value.status == 409
    assert refused.value.extra == {"state": state.value, "action": action.value}
    with app.test_request_context():
        # A sentence naming the state, not a KeyError.
        assert str(review_state_label(state)) in refused.value.message


def _perform(
    client: Any,
    tokens: dict[str, str],
    world: factories.World,
    action: Action,
    version: int | None = None,
) -> Any:
    """Perform one action of the table through the JSON API, by the person who may do it."""
    sid = world.section.id
    head = current(sid)
    number = head.number if version is None else version
    if action == Action.SUBMIT:
        return call(client, tokens["editor"], "POST", f"/sections/{sid}/submit", {})
    if action in (Action.APPROVE, Action.REAPPROVE):
        return call(
            client,
            tokens["reviewer"],
            "POST",
            f"/sections/{sid}/reviews",
            {"decision": "approve", "version": number},
        )
    if action == Action.REQUEST_CHANGES:
        return call(
            client,
            tokens["reviewer"],
            "POST",
            f"/sections/{sid}/reviews",
            {"decision": "request_changes", "version": number, "comment": REASON},
        )
    if action == Action.SAVE:
        return call(
            client,
            tokens["editor"],
            "PUT",
            f"/sections/{sid}",
            {"body": head.body + "\n\nNoch ein Absatz.", "base_version": number},
        )
    assert action == Action.EDITORIAL_SAVE
    return call(
        client,
        tokens["editor"],
        "PUT",
        f"/sections/{sid}",
        # The case of the first letter only: upper-casing whole words changes their meaning
        # (issue 9).
        {
            "body": head.body[0].swapcase() + head.body[1:],
            "base_version": number,
            "editorial": True,
        },
    )


@pytest.mark.parametrize("pair, target", ALLOWED, ids=[_id(p) for p in ALLOWED])
def test_every_allowed_transition_through_the_api(client, world, tokens, pair, target):
    action, state = pair
    if action == Action.REAPPROVE:
        approve_then_reset(world)
    else:
        bring_to(world, state)
    before = len(review_entries(world.section.id))

    response = _perform(client, tokens, world, action)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["review_state"] == target.value
    assert state_of(world.section.id) == target
    if target != state or action in (Action.APPROVE, Action.REAPPROVE):
        # A change of state (and every decision) leaves a trace in the activity log.
        assert len(review_entries(world.section.id)) == before + 1


# Repeating the step that led into a state changes nothing (tested below); asking for it on
# another version than the one under review or approved is the forbidden transition.
IDEMPOTENT = {
    (Action.SUBMIT, S.IN_REVIEW),
    (Action.APPROVE, S.APPROVED),
    (Action.REQUEST_CHANGES, S.CHANGES_REQUESTED),
}
# REAPPROVE has no request of its own: an approval in a draft whose approval was reset is one.
HTTP_FORBIDDEN = [
    pair
    for pair in FORBIDDEN
    if pair[0] != Action.REAPPROVE and pair != (Action.SUBMIT, S.IN_REVIEW)
]


def test_only_the_documented_forbidden_pairs_lack_an_http_check():
    assert set(FORBIDDEN) - set(HTTP_FORBIDDEN) == {
        (Action.SUBMIT, S.IN_REVIEW),  # idempotent, see test_submitting_twice_is_idempotent
        (Action.REAPPROVE, S.IN_REVIEW),
        (Action.REAPPROVE, S.CHANGES_REQUESTED),
        (Action.REAPPROVE, S.APPROVED),
    }


@pytest.mark.parametrize("pair", HTTP_FORBIDDEN, ids=[_id(p) for p in HTTP_FORBIDDEN])
def test_every_forbidden_transition_through_the_api_is_409(client, world, tokens, pair):
    action, state = pair
    save(world, world.section.id, SUBSTANTIVE)  # version 2, so that version 1 is a stale one
    bring_to(world, state)
    version = 1 if pair in IDEMPOTENT else None
    before = (
        state_of(world.section.id),
        event_kinds(world.section.id),
        current(world.section.id).number,
    )

    response = _perform(client, tokens, world, action, version=version)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_transition"
    assert response.get_json()["error"]["message"]
    after = (
        state_of(world.section.id),
        event_kinds(world.section.id),
        current(world.section.id).number,
    )
    assert after == before


@pytest.mark.parametrize("pair", HTTP_FORBIDDEN, ids=[_id(p) for p in HTTP_FORBIDDEN])
def test_every_forbidden_transition_through_the_forms_is_a_409_page(client, auth, world, pair):
    action, state = pair
    sid = world.section.id
    save(world, sid, SUBSTANTIVE)
    bring_to(world, state)
    version = 1 if pair in IDEMPOTENT else current(sid).number
    if action == Action.SUBMIT:
        auth.login(world.editor.email)
        response = client.post(f"/sections/{sid}/submit", data={"reviewers": "", "due": ""})
    elif action == Action.APPROVE:
        auth.login(world.reviewer.email)
        response = client.post(f"/sections/{sid}/approve", data={"version": version})
    else:
        auth.login(world.reviewer.email)
        response = client.post(
            f"/sections/{sid}/request-changes", data={"version": version, "comment": REASON}
        )
    assert response.status_code == 409
    assert "This is not possible in the current state" in html(response)
    assert state_of(sid) == state


def test_a_forbidden_transition_is_not_reported_as_missing_rights(client, world, tokens):
    # The reviewer may approve in general; approving a draft is a state problem, not a right.
    response = _perform(client, tokens, world, Action.APPROVE)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"


# --- four-eyes and rights -------------------------------------------------------------------


def test_the_author_of_a_version_cannot_approve_it(client, world, tokens):
    grant(world, world.editor, Role.REVIEWER)  # the editor reviews too, but not their own text
    bring_to(world, S.IN_REVIEW)
    assert current(world.section.id).author_id == world.editor.id

    response = call(
        client,
        tokens["editor"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 1},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert state_of(world.section.id) == S.IN_REVIEW
    with pytest.raises(NotAllowed):
        review_flow.approve(world.editor, world.section.id, 1)
    db.session.rollback()

    # Someone else's version of the same section the editor may approve — once the editor's
    # own text was approved by another reviewer (issue 9: every version since the last
    # approval counts, not only the newest).
    review_flow.approve(world.reviewer, world.section.id, 1)
    save(world, world.section.id, SUBSTANTIVE, actor=world.coordinator)
    review_flow.submit(world.coordinator, world.section.id)
    response = call(
        client,
        tokens["editor"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 2},
    )
    assert response.status_code == 200
    assert response.get_json()["review_state"] == "approved"


def test_the_author_is_told_on_the_review_page_and_gets_no_approve_button(client, auth, world):
    grant(world, world.editor, Role.REVIEWER)
    bring_to(world, S.IN_REVIEW)
    auth.login(world.editor.email)
    page = html(client.get(f"/sections/{world.section.id}/review"))
    assert "You wrote this version; someone else has to review it." in page
    assert f"/sections/{world.section.id}/approve" not in page
    response = client.post(f"/sections/{world.section.id}/approve", data={"version": 1})
    assert response.status_code == 403


def test_a_suggester_cannot_approve_the_version_made_from_their_suggestion(client, world, tokens):
    suggestion = suggestion_flow.create_suggestion(
        world.reviewer, world.section.id, body=SUBSTANTIVE, base_version=1, note="Handwerk fehlt."
    )
    suggestion_flow.accept(world.editor, suggestion.id)
    assert current(world.section.id).author_id == world.reviewer.id
    review_flow.submit(world.editor, world.section.id)
    response = call(
        client,
        tokens["reviewer"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 2},
    )
    assert response.status_code == 403
    assert state_of(world.section.id) == S.IN_REVIEW


@pytest.mark.parametrize("who", ["coordinator", "editor", "signatory", "member"])
@pytest.mark.parametrize("decision", ["approve", "request_changes"])
def test_deciding_needs_the_reviewer_role(client, world, tokens, who, decision):
    bring_to(world, S.IN_REVIEW)
    response = call(
        client,
        tokens[who],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": decision, "version": 1, "comment": REASON},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert state_of(world.section.id) == S.IN_REVIEW
    assert event_kinds(world.section.id) == ["submitted"]


@pytest.mark.parametrize("who", ["reviewer", "signatory", "member"])
def test_submitting_needs_an_editor_or_coordinator(client, world, tokens, who):
    response = call(client, tokens[who], "POST", f"/sections/{world.section.id}/submit", {})
    assert response.status_code == 403
    assert state_of(world.section.id) == S.DRAFT


def test_the_coordinator_may_submit(client, world, tokens):
    response = call(
        client, tokens["coordinator"], "POST", f"/sections/{world.section.id}/submit", {}
    )
    assert response.status_code == 200
    assert response.get_json()["review_state"] == "in_review"


@pytest.mark.parametrize(
    "method, path, payload",
    [
        ("POST", "/sections/{sid}/submit", {}),
        ("POST", "/sections/{sid}/reviews", {"decision": "approve", "version": 1}),
        (
            "POST",
            "/sections/{sid}/reviews",
            {"decision": "request_changes", "version": 1, "comment": REASON},
        ),
        ("GET", "/sections/{sid}", None),
    ],
)
def test_an_outsider_gets_404_from_the_api(client, world, tokens, method, path, payload):
    bring_to(world, S.IN_REVIEW)
    response = call(client, tokens["outsider"], method, path.format(sid=world.section.id), payload)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert event_kinds(world.section.id) == ["submitted"]


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("GET", "/sections/{sid}/review", None),
        ("POST", "/sections/{sid}/submit", {"reviewers": ""}),
        ("POST", "/sections/{sid}/approve", {"version": "1"}),
        ("POST", "/sections/{sid}/request-changes", {"version": "1", "comment": REASON}),
    ],
)
def test_an_outsider_gets_404_from_the_pages(client, auth, world, method, path, data):
    bring_to(world, S.IN_REVIEW)
    auth.login(world.outsider.email)
    response = client.open(path.format(sid=world.section.id), method=method, data=data)
    assert response.status_code == 404
    assert state_of(world.section.id) == S.IN_REVIEW


def test_an_outsider_is_refused_by_the_workflow_as_not_found(world):
    bring_to(world, S.IN_REVIEW)
    with pytest.raises(NotFound):
        review_flow.approve(world.outsider, world.section.id, 1)
    db.session.rollback()


@pytest.mark.parametrize(
    "who, payload",
    [
        ("editor", None),
        ("reviewer", {"decision": "approve", "version": 1}),
        ("reviewer", {"decision": "request_changes", "version": 1, "comment": REASON}),
    ],
)
def test_a_frozen_paper_refuses_review_steps(client, world, tokens, who, payload):
    bring_to(world, S.IN_REVIEW)
    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    sid = world.section.id
    if payload is None:
        response = call(client, tokens[who], "POST", f"/sections/{sid}/submit", {})
    else:
        response = call(client, tokens[who], "POST", f"/sections/{sid}/reviews", payload)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "paper_locked"
    assert event_kinds(sid) == ["submitted"]


# --- idempotent steps -----------------------------------------------------------------------


def test_submitting_twice_is_idempotent(client, world, tokens):
    first = call(client, tokens["editor"], "POST", f"/sections/{world.section.id}/submit", {})
    second = call(client, tokens["coordinator"], "POST", f"/sections/{world.section.id}/submit", {})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["review_state"] == "in_review"
    assert event_kinds(world.section.id) == ["submitted"]
    assert [e.action for e in review_entries(world.section.id)] == ["review.submitted"]


def test_submitting_twice_through_the_form_shows_no_error_page(client, auth, world):
    auth.login(world.editor.email)
    for _ in range(2):
        response = client.post(
            f"/sections/{world.section.id}/submit", data={"reviewers": ""}, follow_redirects=True
        )
        assert response.status_code == 200
        assert "The section was submitted for review." in html(response)
    assert event_kinds(world.section.id) == ["submitted"]


def test_approving_twice_is_idempotent(client, world, tokens):
    bring_to(world, S.IN_REVIEW)
    for _ in range(2):
        response = call(
            client,
            tokens["reviewer"],
            "POST",
            f"/sections/{world.section.id}/reviews",
            {"decision": "approve", "version": 1},
        )
        assert response.status_code == 200
        assert response.get_json()["review_state"] == "approved"
        assert response.get_json()["approved_version"] == 1
    assert event_kinds(world.section.id) == ["submitted", "approved"]
    assert [e.action for e in review_entries(world.section.id)] == [
        "review.submitted",
        "review.approved",
    ]


def test_approving_twice_through_the_form_shows_no_error_page(client, auth, world):
    bring_to(world, S.IN_REVIEW)
    auth.login(world.reviewer.email)
    for _ in range(2):
        response = client.post(
            f"/sections/{world.section.id}/approve", data={"version": "1"}, follow_redirects=True
        )
        assert response.status_code == 200
        assert "Version 1 was approved." in html(response)
    assert event_kinds(world.section.id) == ["submitted", "approved"]


def test_sending_back_twice_is_idempotent(client, world, tokens):
    bring_to(world, S.IN_REVIEW)
    for _ in range(2):
        response = call(
            client,
            tokens["reviewer"],
            "POST",
            f"/sections/{world.section.id}/reviews",
            {"decision": "request_changes", "version": 1, "comment": REASON},
        )
        assert response.status_code == 200
    assert event_kinds(world.section.id) == ["submitted", "changes_requested"]


def test_a_second_reviewer_approving_the_same_version_changes_nothing(client, world, tokens):
    grant(world, world.coordinator, Role.REVIEWER)
    bring_to(world, S.APPROVED)
    response = call(
        client,
        tokens["coordinator"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 1},
    )
    assert response.status_code == 200
    assert status_of(world.section.id).approved_by_id == world.reviewer.id
    assert event_kinds(world.section.id).count("approved") == 1


# --- sending back needs a reason --------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   \n\t "])
def test_sending_back_needs_a_reason_in_the_api(client, world, tokens, reason):
    bring_to(world, S.IN_REVIEW)
    payload: dict[str, Any] = {"decision": "request_changes", "version": 1}
    if reason is not None:
        payload["comment"] = reason
    response = call(
        client, tokens["reviewer"], "POST", f"/sections/{world.section.id}/reviews", payload
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert state_of(world.section.id) == S.IN_REVIEW
    assert event_kinds(world.section.id) == ["submitted"]


def test_sending_back_needs_a_reason_in_the_form(client, auth, world):
    bring_to(world, S.IN_REVIEW)
    auth.login(world.reviewer.email)
    response = client.post(
        f"/sections/{world.section.id}/request-changes",
        data={"version": "1", "comment": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Please say what should change." in html(response)
    assert state_of(world.section.id) == S.IN_REVIEW


def test_sending_back_needs_a_reason_in_the_workflow(world):
    bring_to(world, S.IN_REVIEW)
    with pytest.raises(ValidationFailed):
        review_flow.request_changes(world.reviewer, world.section.id, 1, "  ")
    db.session.rollback()
    assert state_of(world.section.id) == S.IN_REVIEW


def test_the_reason_is_shown_and_logged(client, auth, world):
    bring_to(world, S.CHANGES_REQUESTED)
    auth.login(world.editor.email)
    page = html(client.get(f"/sections/{world.section.id}/review"))
    assert str(escape(REASON)) in page
    entry = review_entries(world.section.id)[-1]
    assert (entry.action, entry.details["comment"], entry.actor_id) == (
        "review.changes_requested",
        REASON,
        world.reviewer.id,
    )


def test_a_stale_version_cannot_be_sent_back_and_the_session_stays_clean(world):
    # The refusal must not leave the state changed in the session of a programmatic caller.
    save(world, world.section.id, SUBSTANTIVE)
    bring_to(world, S.IN_REVIEW)
    with pytest.raises(InvalidTransition):
        review_flow.request_changes(world.reviewer, world.section.id, 1, REASON)
    assert db.session.get(ReviewStatus, world.section.id).state == S.IN_REVIEW
    db.session.commit()
    assert state_of(world.section.id) == S.IN_REVIEW


# --- saves and approvals ------------------------------------------------------------------------


def test_a_save_after_changes_were_requested_makes_a_draft(client, world, tokens):
    bring_to(world, S.CHANGES_REQUESTED)
    response = call(
        client,
        tokens["editor"],
        "PUT",
        f"/sections/{world.section.id}",
        {"body": SUBSTANTIVE, "base_version": 1},
    )
    assert response.get_json()["review_state"] == "draft"
    assert event_kinds(world.section.id) == ["submitted", "changes_requested", "back_to_draft"]
    # ... which can then be submitted again.
    response = call(client, tokens["editor"], "POST", f"/sections/{world.section.id}/submit", {})
    assert response.get_json()["review_state"] == "in_review"
    assert status_of(world.section.id).version == 2


def test_a_save_during_review_sends_the_section_back_to_draft(world):
    bring_to(world, S.IN_REVIEW)
    save(world, world.section.id, SUBSTANTIVE)
    assert state_of(world.section.id) == S.DRAFT
    assert event_kinds(world.section.id)[-1] == "back_to_draft"


def test_a_new_version_resets_the_approval_which_stays_in_the_history(client, auth, world, tokens):
    bring_to(world, S.APPROVED)
    response = call(
        client,
        tokens["editor"],
        "PUT",
        f"/sections/{world.section.id}",
        {"body": SUBSTANTIVE, "base_version": 1},
    )
    data = response.get_json()
    assert (data["review_state"], data["approved_version"], data["version"]) == ("draft", 1, 2)
    status = status_of(world.section.id)
    assert (status.reset_from, status.carried_to) == (1, None)
    assert event_kinds(world.section.id) == ["submitted", "approved", "approval_reset"]

    auth.login(world.member.email)
    page = html(client.get(f"/sections/{world.section.id}/review"))
    assert re.search(r"Version 1 approved by Rita Prüfung on", page)
    assert "approval reset by a new version" in page
    assert re.search(r"version 1 · approved · Rita Prüfung", page)
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert 'class="review-state state-draft"' in paper


def test_only_the_edited_section_loses_its_approval(client, world, tokens):
    other = factories.section(world.editor, world.paper, title="Ziele", body="Mehr Leben.")
    third = factories.section(world.editor, world.paper, title="Maßnahmen", body="Umbau.")
    for sid in (world.section.id, other.id, third.id):
        bring_to(world, S.APPROVED, sid)
    save(world, other.id, "Mehr Leben und mehr Grün.")
    assert [state_of(s) for s in (world.section.id, other.id, third.id)] == [
        S.APPROVED,
        S.DRAFT,
        S.APPROVED,
    ]
    for sid in (world.section.id, third.id):
        assert event_kinds(sid) == ["submitted", "approved"]
        assert status_of(sid).approved_version == 1


def test_a_restored_version_resets_the_approval_too(world):
    save(world, world.section.id, SUBSTANTIVE)
    bring_to(world, S.APPROVED)
    section_flow.restore_version(world.editor, world.section.id, 1)
    assert state_of(world.section.id) == S.DRAFT
    assert status_of(world.section.id).reset_from == 2


# --- editorial saves --------------------------------------------------------------------------

TRIVIAL_CHANGES = {
    "whitespace": "Die Innenstadt  lebt vom Handel.\n\n\nUnd vom  Wohnen.  ",
    "punctuation": "Die Innenstadt lebt – vom Handel!\n\nUnd vom Wohnen …",
    # Issue 9: only the case of a sentence's first letter is editorial ("handel" is not).
    "case": "die Innenstadt lebt vom Handel.\n\nund vom Wohnen.",
    "all three": "die Innenstadt lebt vom Handel;\n\n  und vom Wohnen",
}


@pytest.mark.parametrize("kind", TRIVIAL_CHANGES)
def test_an_editorial_save_with_a_trivial_change_carries_the_approval(client, world, tokens, kind):
    bring_to(world, S.APPROVED)
    response = call(
        client,
        tokens["editor"],
        "PUT",
        f"/sections/{world.section.id}",
        {"body": TRIVIAL_CHANGES[kind], "base_version": 1, "editorial": True},
    )
    data = response.get_json()
    assert (data["version"], data["review_state"]) == (2, "approved")
    assert (data["approved_version"], data["approval_carried_to"]) == (1, 2)
    status = status_of(world.section.id)
    assert (status.state, status.approved_version, status.carried_to) == (S.APPROVED, 1, 2)
    assert event_kinds(world.section.id) == ["submitted", "approved", "carried_over"]
    carried = review_entries(world.section.id)[-1]
    assert (carried.action, carried.version, carried.actor_id) == (
        "review.carried_over",
        2,
        world.editor.id,
    )
    saved = db.session.scalar(
        select(ActivityEntry).where(
            ActivityEntry.action == "section.saved", ActivityEntry.version == 2
        )
    )
    assert saved is not None and saved.details["editorial"] is True


def test_carried_approvals_chain_over_several_editorial_saves(client, auth, world):
    bring_to(world, S.APPROVED)
    save(world, world.section.id, TRIVIAL_CHANGES["whitespace"], editorial=True)
    save(world, world.section.id, TRIVIAL_CHANGES["case"], editorial=True)
    status = status_of(world.section.id)
    assert (status.state, status.approved_version, status.carried_to) == (S.APPROVED, 1, 3)
    auth.login(world.member.email)
    page = html(client.get(f"/sections/{world.section.id}/review"))
    assert "Carried over to version 3 by an editorial save." in page
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert "(version 3)" in paper


def test_a_trivial_change_not_marked_editorial_resets_the_approval(world):
    bring_to(world, S.APPROVED)
    save(world, world.section.id, TRIVIAL_CHANGES["case"], editorial=False)
    assert state_of(world.section.id) == S.DRAFT
    assert event_kinds(world.section.id)[-1] == "approval_reset"


def test_the_editorial_checkbox_of_the_edit_form_carries_the_approval(client, auth, world):
    bring_to(world, S.APPROVED)
    auth.login(world.editor.email)
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": TRIVIAL_CHANGES["punctuation"],
            "base_version": "1",
            "note": "Satzzeichen",
            "editorial": "y",
        },
    )
    assert response.status_code == 302
    assert (state_of(world.section.id), status_of(world.section.id).carried_to) == (S.APPROVED, 2)


def test_a_substantive_editorial_save_resets_and_offers_one_click_reapproval(
    client, auth, world, tokens
):
    bring_to(world, S.APPROVED)
    response = call(
        client,
        tokens["editor"],
        "PUT",
        f"/sections/{world.section.id}",
        {"body": SUBSTANTIVE, "base_version": 1, "editorial": True},
    )
    assert response.get_json()["review_state"] == "draft"
    assert status_of(world.section.id).reset_from == 1
    assert event_kinds(world.section.id)[-1] == "approval_reset"

    auth.login(world.reviewer.email)
    page = html(client.get(f"/sections/{world.section.id}/review"))
    assert "Changes since the approved version 1" in page
    assert re.search(r"<ins[^>]*>.*und vom Handwerk", page)
    assert f'action="/sections/{world.section.id}/approve"' in page
    assert "Approve version 2" in page
    assert "/request-changes" not in page  # only re-approval is offered in a draft

    response = client.post(f"/sections/{world.section.id}/approve", data={"version": "2"})
    assert response.status_code == 302
    status = status_of(world.section.id)
    assert (status.state, status.approved_version, status.reset_from, status.carried_to) == (
        S.APPROVED,
        2,
        None,
        None,
    )
    assert event_kinds(world.section.id)[-1] == "approved"


def test_one_click_reapproval_keeps_the_four_eyes(client, world, tokens):
    grant(world, world.coordinator, Role.REVIEWER)
    bring_to(world, S.APPROVED)
    save(world, world.section.id, SUBSTANTIVE, actor=world.coordinator)
    response = call(
        client,
        tokens["coordinator"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 2},
    )
    assert response.status_code == 403
    assert state_of(world.section.id) == S.DRAFT


def test_reapproval_of_a_stale_version_is_refused(client, world, tokens):
    approve_then_reset(world)
    response = call(
        client,
        tokens["reviewer"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "approve", "version": 1},
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"


def test_an_editorial_save_during_review_keeps_the_review_on_the_new_version(world):
    bring_to(world, S.IN_REVIEW)
    save(world, world.section.id, TRIVIAL_CHANGES["punctuation"], editorial=True)
    status = status_of(world.section.id)
    assert (status.state, status.version) == (S.IN_REVIEW, 2)
    assert event_kinds(world.section.id)[-1] == "carried_over"
    review_flow.approve(world.reviewer, world.section.id, 2)
    assert state_of(world.section.id) == S.APPROVED


def test_an_editorial_save_during_a_second_review_compares_with_the_version_under_review(world):
    # Approved v1, substantive v2 resets it, v2 is submitted; an editorial touch-up of v2 must
    # be judged against v2 (under review), not against the old approval of v1.
    approve_then_reset(world)
    review_flow.submit(world.editor, world.section.id)
    v2 = current(world.section.id).body
    save(
        world,
        world.section.id,
        v2.replace("Ein neuer Absatz.", "Ein  neuer Absatz!"),
        editorial=True,
    )
    status = status_of(world.section.id)
    assert (status.state, status.version) == (S.IN_REVIEW, 3)
    assert event_kinds(world.section.id)[-1] == "carried_over"


@pytest.mark.parametrize(
    "old, new",
    [
        ("Das Land zahlt 1,5 Mio. Euro.", "Das Land zahlt 15 Mio. Euro."),
        ("Das Land zahlt 1.500 Euro.", "Das Land zahlt 1,500 Euro."),
        ("Der Markt wird nicht verlegt.", "Der Markt wird ~~nicht~~ verlegt."),
        ("Parken in Maßen.", "Parken in Massen."),
    ],
    ids=["decimal comma", "thousands separator", "strikethrough", "sharp s"],
)
def test_changes_of_meaning_hidden_in_punctuation_or_spelling_are_not_editorial(old, new):
    assert not only_editorial(old, new)
    assert not only_editorial(new, old)


@pytest.mark.parametrize(
    "old, new",
    [
        ("Das Land zahlt 1,5 Mio. Euro.", "Das Land zahlt 1,5 Mio. Euro!"),
        ("Parken in Maßen.", "parken in Maßen"),
        ("„Parken“ geht's.", '"Parken" geht’s.'),
        ("Von 2020 - 2024.", "Von 2020 – 2024."),
        ("Die *neue* Mitte", "Die **neue** Mitte"),
        ("Straße, Platz, Ufer", "Straße – Platz – Ufer"),
        ("im Jahr 2024.", "im Jahr 2024"),
    ],
)
def test_only_editorial_accepts_plain_editorial_changes(old, new):
    assert only_editorial(old, new)


def test_an_editorial_save_that_changes_an_amount_resets_the_approval(world):
    save(world, world.section.id, "Das Land zahlt 1,5 Mio. Euro.")
    bring_to(world, S.APPROVED)
    save(world, world.section.id, "Das Land zahlt 15 Mio. Euro.", editorial=True)
    assert state_of(world.section.id) == S.DRAFT


# --- due dates, overdue, progress, my work ----------------------------------------------------


def test_due_dates_mark_overdue_reviews_on_the_paper_page_and_my_work(client, auth, world, tokens):
    late = factories.section(world.editor, world.paper, title="Verkehr", body="Weniger Autos.")
    soon = factories.section(world.editor, world.paper, title="Wohnen", body="Mehr Wohnungen.")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert (
        call(
            client,
            tokens["editor"],
            "POST",
            f"/sections/{late.id}/submit",
            {"due": yesterday, "reviewers": [world.reviewer.email]},
        ).status_code
        == 200
    )
    assert (
        call(
            client, tokens["editor"], "POST", f"/sections/{soon.id}/submit", {"due": tomorrow}
        ).status_code
        == 200
    )
    assert status_of(late.id).due == date.today() - timedelta(days=1)
    assert status_of(late.id).reviewer_ids == [world.reviewer.id]

    auth.login(world.reviewer.email)
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert "1 section overdue" in paper
    late_block = paper.split(f'id="section-{late.id}"')[1].split("</section>")[0]
    soon_block = paper.split(f'id="section-{soon.id}"')[1].split("</section>")[0]
    assert 'class="overdue"' in late_block
    assert 'class="overdue"' not in soon_block

    work = html(client.get("/my-work"))
    overdue = work.split('id="overdue-heading"')[1].split("</section>")[0]
    waiting = work.split('id="review-heading"')[1].split("</section>")[0]
    assert "Overdue (1)" in work and "Verkehr" in overdue and "Wohnen" not in overdue
    assert "Waiting for my review (2)" in work and "Verkehr" in waiting and "Wohnen" in waiting

    review = html(client.get(f"/sections/{late.id}/review"))
    assert "overdue" in review

    # Approved in time or late, it is no longer overdue.
    review_flow.approve(world.reviewer, late.id, 1)
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert "overdue" not in paper
    assert "Overdue (0)" in html(client.get("/my-work"))


def test_my_work_lists_only_what_awaits_the_user(client, auth, world):
    named_other = factories.section(world.editor, world.paper, title="Nur für Cora", body="Text.")
    grant(world, world.coordinator, Role.REVIEWER)
    mine = factories.section(world.coordinator, world.paper, title="Von Cora", body="Text.")
    back = factories.section(world.editor, world.paper, title="Zurück", body="Text.")
    review_flow.submit(world.editor, world.section.id)
    review_flow.submit(world.editor, named_other.id, reviewers=[world.coordinator.email])
    review_flow.submit(world.editor, mine.id)
    bring_to(world, S.CHANGES_REQUESTED, back.id)
    suggestion_flow.create_suggestion(
        world.member, world.section.id, body=SUBSTANTIVE, base_version=1
    )

    auth.login(world.reviewer.email)
    work = html(client.get("/my-work"))
    waiting = work.split('id="review-heading"')[1].split("</section>")[0]
    assert "Ausgangslage" in waiting and "Von Cora" in waiting
    assert "Nur für Cora" not in waiting  # named for someone else
    assert "No open suggestions." in work
    auth.logout()

    auth.login(world.coordinator.email)
    waiting = html(client.get("/my-work")).split('id="review-heading"')[1].split("</section>")[0]
    assert "Nur für Cora" in waiting and "Ausgangslage" in waiting
    assert "Von Cora" not in waiting  # her own version
    auth.logout()

    auth.login(world.editor.email)
    work = html(client.get("/my-work"))
    assert "Waiting for my review (0)" in work
    sent_back = work.split('id="back-heading"')[1].split("</section>")[0]
    assert "Zurück" in sent_back
    suggestions = work.split('id="sugg-heading"')[1].split("</section>")[0]
    assert "Max Mitglied" in suggestions
    auth.logout()

    auth.login(world.outsider.email)
    work = html(client.get("/my-work"))
    for title in ("Ausgangslage", "Von Cora", "Zurück", "Nur für Cora"):
        assert title not in work


def test_submit_names_only_reviewers_of_the_paper(client, world, tokens):
    response = call(
        client,
        tokens["editor"],
        "POST",
        f"/sections/{world.section.id}/submit",
        {"reviewers": [world.member.email]},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert state_of(world.section.id) == S.DRAFT
    response = call(
        client,
        tokens["editor"],
        "POST",
        f"/sections/{world.section.id}/submit",
        {"due": "31.12.2030"},
    )
    assert response.status_code == 422


def test_the_progress_bar_counts_approved_sections(client, auth, world):
    sections = [world.section] + [
        factories.section(world.editor, world.paper, title=f"Teil {n}", body=f"Text {n}.")
        for n in (2, 3)
    ]
    auth.login(world.member.email)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "Review: 0 of 3 sections approved" in page
    assert '<progress id="review-progress" max="3" value="0">' in page

    bring_to(world, S.APPROVED, sections[0].id)
    bring_to(world, S.IN_REVIEW, sections[1].id)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "Review: 1 of 3 sections approved" in page
    assert '<progress id="review-progress" max="3" value="1">33 %</progress>' in page
    assert page.count('class="review-state state-approved"') == 1
    assert page.count('class="review-state state-in_review"') == 1
    assert page.count('class="review-state state-draft"') == 1

    bring_to(world, S.APPROVED, sections[2].id)
    review_flow.approve(world.reviewer, sections[1].id, 1)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "Review: 3 of 3 sections approved" in page

    section_flow.remove_section(world.editor, sections[2].id)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "Review: 2 of 2 sections approved" in page


# --- the paper page's query count -----------------------------------------------------------


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Collect the SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _busy_paper(world: factories.World, sections: int) -> int:
    """A paper with sections in every review state and suggestions on each section."""
    paper = factories.paper(world.coordinator, title=f"Konzept mit {sections} Abschnitten")
    for short in ("CITY", "IHK"):
        paper_flow.add_participant(world.coordinator, paper.id, short)
    paper_flow.grant_role(world.coordinator, paper.id, world.editor.email, Role.EDITOR)
    paper_flow.grant_role(world.coordinator, paper.id, world.reviewer.email, Role.REVIEWER)
    for n in range(sections):
        section = factories.section(world.editor, paper, title=f"Abschnitt {n}", body=f"Text {n}.")
        review_flow.submit(world.editor, section.id, due=date.today() - timedelta(days=n % 2))
        match n % 4:
            case 0:
                review_flow.approve(world.reviewer, section.id, 1, "Gut.")
            case 1:
                review_flow.request_changes(world.reviewer, section.id, 1, REASON)
            case 2:
                review_flow.approve(world.reviewer, section.id, 1)
                section_flow.save_section(
                    world.editor, section.id, body=f"Text {n}!", base_version=1, editorial=True
                )
        kept = suggestion_flow.create_suggestion(
            world.member, section.id, body=f"Neu {n}.", base_version=1, note="Vorschlag"
        )
        rejected = suggestion_flow.create_suggestion(
            world.reviewer, section.id, body=f"Anders {n}.", base_version=1
        )
        suggestion_flow.reject(world.editor, rejected.id, "Nein.")
        assert kept.id
    return paper.id


def test_the_paper_page_needs_as_many_queries_for_30_sections_as_for_3(client, auth, world):
    small, large = _busy_paper(world, 3), _busy_paper(world, 30)
    auth.login(world.reviewer.email)
    client.get(f"/papers/{small}")  # warm up: first-request work is not the page's
    counts = {}
    for paper_id in (small, large):
        db.session.remove()
        with counted_statements() as statements:
            response = client.get(f"/papers/{paper_id}")
        assert response.status_code == 200
        counts[paper_id] = len(statements)
    assert "Review: 15 of 30 sections approved" in html(response)
    assert "7 sections overdue" in html(response)
    assert counts[small] == counts[large], counts


def test_approval_counts_on_the_paper_page_use_the_carry_over(client, auth, world):
    bring_to(world, S.APPROVED)
    save(world, world.section.id, TRIVIAL_CHANGES["case"], editorial=True)
    auth.login(world.member.email)
    page = html(client.get(f"/papers/{world.paper.id}"))
    assert "Review: 1 of 1 section approved" in page


# --- hostile text in review comments and reasons ----------------------------------------------


def test_review_comments_and_reasons_are_inert_on_every_page(client, auth, world, tokens):
    late = factories.section(world.editor, world.paper, title=PAYLOADS[0], body="Text.")
    review_flow.submit(world.editor, late.id, due=date.today() - timedelta(days=3))
    bring_to(world, S.IN_REVIEW)
    response = call(
        client,
        tokens["reviewer"],
        "POST",
        f"/sections/{world.section.id}/reviews",
        {"decision": "request_changes", "version": 1, "comment": PAYLOADS[1]},
    )
    assert response.status_code == 200
    # Every payload once more as a review step of its own (what the actions record).
    for payload in PAYLOADS:
        record_event(world.section, 1, world.reviewer, "changes_requested", payload)
    db.session.commit()

    auth.login(world.editor.email)
    for path in (
        f"/sections/{world.section.id}/review",
        f"/papers/{world.paper.id}/activity",
        f"/papers/{world.paper.id}/activity?page=2",
        f"/papers/{world.paper.id}",
        "/my-work",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(html(response))
    review_page = html(client.get(f"/sections/{world.section.id}/review"))
    assert str(escape(PAYLOADS[1])) in review_page
    auth.logout()
    auth.login(world.reviewer.email)
    work = client.get("/my-work")
    assert str(escape(PAYLOADS[0])) in html(work)
    assert_inert(html(work))
