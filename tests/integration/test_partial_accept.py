"""Suggestions accepted change by change (issue 12, item 4): the API lists a suggestion's
changes; accepting some makes exactly one version with exactly those, credited to the
suggester, and closes the suggestion as partly accepted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import ActivityEntry, Suggestion, SuggestionStatus
from drafting.text.changes import changes
from tests import factories
from tests.conftest import api_headers
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import InvalidTransition, NotAllowed, NotFound

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
# Two changes: one in each paragraph.
SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."


def call(client: Any, token: str, method: str, path: str, payload: Any = None) -> Any:
    return client.open(f"/api/v1{path}", method=method, json=payload, headers=api_headers(token))


@pytest.fixture
def suggestion(world: factories.World) -> Suggestion:
    section_flow.save_section(
        world.editor, world.section.id, body=BODY, base_version=world.section.head.number
    )
    return suggestion_flow.create_suggestion(
        world.member,
        world.section.id,
        body=SUGGESTED,
        base_version=world.section.head.number,
        note="Zwei Ergänzungen.",
    )


def test_get_lists_the_changes(client: Any, world: factories.World, suggestion: Suggestion):
    answer = call(client, factories.token(world.member), "GET", f"/suggestions/{suggestion.id}")
    assert answer.status_code == 200, answer.json
    data = answer.json
    assert data["status"] == "open"
    assert data["author"] == world.member.display_name
    assert data["changes"] == [
        {
            "id": 1,
            "kind": "insert",
            "before": "",
            "after": " und vom Handwerk",
            "context": "Die Innenstadt lebt vom Handel.\n\n",
        },
        {
            "id": 2,
            "kind": "insert",
            "before": "",
            "after": " am Fluss",
            "context": "Und vom Wohnen.",
        },
    ]


def test_accept_one_reject_the_other_makes_one_version_credited_to_the_suggester(
    client: Any, world: factories.World, suggestion: Suggestion
):
    before = len(section_flow.history(world.section.id))
    base_body = world.section.head.body
    answer = call(
        client,
        factories.token(world.editor),
        "POST",
        f"/suggestions/{suggestion.id}/accept",
        {"changes": [2]},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["accepted"] == [2]
    assert answer.json["rejected"] == [1]
    assert answer.json["status"] == "partly_accepted"
    history = section_flow.history(world.section.id)
    assert len(history) == before + 1
    newest = history[0]
    assert answer.json["version"] == newest.number
    assert newest.body == "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
    assert [(c.before, c.after) for c in changes(base_body, newest.body)] == [("", " am Fluss")]
    assert newest.author_id == world.member.id  # the suggester is credited
    db.session.expire_all()
    closed = db.session.get(Suggestion, suggestion.id)
    assert closed is not None
    assert closed.status == SuggestionStatus.PARTLY_ACCEPTED
    assert closed.decided_by_id == world.editor.id  # the accepting editor is recorded
    assert closed.decided_changes == {"accepted": [2], "rejected": [1]}
    entry = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.action == "suggestion.partly_accepted")
    ).one()
    assert entry.details["changes"] == {"accepted": [2], "rejected": [1]}
    shown = call(client, factories.token(world.member), "GET", f"/suggestions/{suggestion.id}")
    assert shown.json["decided_changes"] == {"accepted": [2], "rejected": [1]}


def test_accept_without_changes_takes_all_as_before(
    client: Any, world: factories.World, suggestion: Suggestion
):
    answer = call(
        client, factories.token(world.editor), "POST", f"/suggestions/{suggestion.id}/accept"
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "accepted"
    assert answer.json["accepted"] == [1, 2] and answer.json["rejected"] == []
    assert section_flow.history(world.section.id)[0].body == SUGGESTED


def test_naming_every_change_is_a_full_acceptance(
    client: Any, world: factories.World, suggestion: Suggestion
):
    answer = call(
        client,
        factories.token(world.editor),
        "POST",
        f"/suggestions/{suggestion.id}/accept",
        {"changes": [1, 2]},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "accepted"
    assert section_flow.history(world.section.id)[0].body == SUGGESTED


@pytest.mark.parametrize("chosen", [[], [3], [1, 7], "1", [True], [1.5]])
def test_bad_change_lists_are_refused(
    client: Any, world: factories.World, suggestion: Suggestion, chosen: Any
):
    answer = call(
        client,
        factories.token(world.editor),
        "POST",
        f"/suggestions/{suggestion.id}/accept",
        {"changes": chosen},
    )
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"]
    db.session.expire_all()
    assert db.session.get(Suggestion, suggestion.id).status == SuggestionStatus.OPEN


def test_partial_accept_merges_when_the_section_moved_on(
    world: factories.World, suggestion: Suggestion
):
    head = world.section.head
    section_flow.save_section(
        world.editor,
        world.section.id,
        body="Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen. Neu ist der Markt.",
        base_version=head.number,
    )
    result = suggestion_flow.accept(world.editor, suggestion.id, changes=[1])
    assert result.merged
    assert section_flow.history(world.section.id)[0].body == (
        "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen. Neu ist der Markt."
    )


def test_only_editors_decide_and_only_once(world: factories.World, suggestion: Suggestion):
    with pytest.raises(NotAllowed):
        suggestion_flow.accept(world.member, suggestion.id, changes=[1])
    suggestion_flow.accept(world.editor, suggestion.id, changes=[1])
    with pytest.raises(InvalidTransition):
        suggestion_flow.accept(world.editor, suggestion.id, changes=[2])
    with pytest.raises(NotFound):
        suggestion_flow.accept(world.coordinator, 10_000, changes=[1])
