"""Suggestions shown as tracked changes inline and decided change by change through the
HTML form (issue 12, item 4): works without JavaScript, on the suggestion, paper and
review pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Suggestion, SuggestionStatus
from tests import factories
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."


def html(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def suggestion(world: factories.World) -> Suggestion:
    section_flow.save_section(
        world.editor, world.section.id, body=BODY, base_version=world.section.head.number
    )
    return suggestion_flow.create_suggestion(
        world.member, world.section.id, body=SUGGESTED, base_version=world.section.head.number
    )


def test_the_suggestion_page_shows_tracked_changes_with_a_choice_per_change(
    client, auth, world, suggestion
):
    auth.login(world.editor.email)
    page = html(client.get(f"/suggestions/{suggestion.id}"))
    text = page.split('data-tracked-text="')[1].split("</div>")[0]
    assert f'id="change-{suggestion.id}-1"' in text
    assert "<ins>" in text and "[eingefügt: </span> und vom Handwerk" in text
    assert 'name="change-1" value="accept"' in page and 'name="change-2" value="reject"' in page
    for label in ("Alle annehmen", "Alle ablehnen", "Auswahl übernehmen"):
        assert label in page
    # A member sees the changes but cannot decide.
    auth.logout()
    auth.login(world.member.email)
    page = html(client.get(f"/suggestions/{suggestion.id}"))
    assert "[eingefügt: </span> am Fluss" in page
    assert "Auswahl übernehmen" not in page


def test_accept_one_reject_one_through_the_form(client, auth, world, suggestion):
    before = len(section_flow.history(world.section.id))
    auth.login(world.editor.email)
    response = client.post(
        f"/suggestions/{suggestion.id}/decide",
        data={"decision": "choice", "change-1": "reject", "change-2": "accept"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suggestions/{suggestion.id}")
    history = section_flow.history(world.section.id)
    assert len(history) == before + 1
    head = db.session.get(type(world.section), world.section.id).head
    assert head.body == "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
    assert head.author_id == world.member.id  # credited to the suggester
    item = db.session.get(Suggestion, suggestion.id)
    assert item.status == SuggestionStatus.PARTLY_ACCEPTED
    assert item.decided_changes == {"accepted": [2], "rejected": [1]}
    page = html(client.get(f"/suggestions/{suggestion.id}"))
    assert "change-accepted" in page and "change-rejected" in page
    assert "Auswahl übernehmen" not in page  # decided


def test_accept_all_and_reject_all(client, auth, world, suggestion):
    auth.login(world.editor.email)
    refused = client.post(f"/suggestions/{suggestion.id}/decide", data={"decision": "none"})
    assert refused.status_code == 302
    assert db.session.get(Suggestion, suggestion.id).status == SuggestionStatus.OPEN
    assert "Bitte begründen Sie" in html(client.get(f"/suggestions/{suggestion.id}"))
    everything = client.post(
        f"/suggestions/{suggestion.id}/decide",
        data={"decision": "choice", "change-1": "reject", "change-2": "reject", "reason": ""},
    )
    assert everything.status_code == 302
    assert db.session.get(Suggestion, suggestion.id).status == SuggestionStatus.OPEN
    response = client.post(
        f"/suggestions/{suggestion.id}/decide", data={"decision": "all", "next": "paper"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#section-{world.section.id}")
    item = db.session.get(Suggestion, suggestion.id)
    assert item.status == SuggestionStatus.ACCEPTED
    head = db.session.get(type(world.section), world.section.id).head
    assert head.body == SUGGESTED


def test_reject_all_with_a_reason(client, auth, world, suggestion):
    auth.login(world.editor.email)
    response = client.post(
        f"/suggestions/{suggestion.id}/decide",
        data={"decision": "none", "reason": "Passt nicht.", "next": "review"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sections/{world.section.id}/review")
    item = db.session.get(Suggestion, suggestion.id)
    assert (item.status, item.reason) == (SuggestionStatus.REJECTED, "Passt nicht.")


def test_members_cannot_decide_and_bad_decisions_are_refused(client, auth, world, suggestion):
    auth.login(world.member.email)
    assert (
        client.post(f"/suggestions/{suggestion.id}/decide", data={"decision": "all"}).status_code
        == 403
    )
    auth.logout()
    auth.login(world.editor.email)
    odd = client.post(f"/suggestions/{suggestion.id}/decide", data={"decision": "maybe"})
    assert odd.status_code == 302
    assert db.session.get(Suggestion, suggestion.id).status == SuggestionStatus.OPEN
    assert "Bitte wählen Sie" in html(client.get(f"/suggestions/{suggestion.id}"))


def test_paper_and_review_pages_show_open_suggestions_to_editors(client, auth, world, suggestion):
    auth.login(world.editor.email)
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert "Offene Änderungsvorschläge als nachverfolgte Änderungen" in paper
    assert f'data-tracked-form="{suggestion.id}"' in paper
    assert 'name="next" value="paper"' in paper
    review = html(client.get(f"/sections/{world.section.id}/review"))
    assert f'data-tracked-form="{suggestion.id}"' in review
    auth.logout()
    auth.login(world.member.email)
    assert "Offene Änderungsvorschläge als nachverfolgte Änderungen" not in html(
        client.get(f"/papers/{world.paper.id}")
    )
    assert db.session.scalars(select(Suggestion)).one().status == SuggestionStatus.OPEN
