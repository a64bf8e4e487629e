"""Suggested new, removed and moved sections (issue 14, item 4): an import into a paper
suggests them; editors accept them — carried out by the section actions — or reject them.
Through the workflows, the API, the paper page's forms and an import of an edited export.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Notification,
    PaperStatus,
    Section,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)
from tests import factories, support
from tests.conftest import api_headers
from tests.integration.test_import import counts, multipart, suggestions_of, upload, upload_api
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.actions import sentence
from workflows.errors import NotAllowed, NotFound, OutlineConflict, PaperLocked, ValidationFailed


@pytest.fixture(autouse=True)
def english(world: factories.World) -> None:
    """Let everybody read the UI in English, the messages' source language."""
    support.english(world)


@pytest.fixture
def outline(world: factories.World) -> list[Section]:
    """The paper: Ausgangslage, Ziele, Kosten."""
    ziele = factories.section(world.editor, world.paper, "Ziele", "Mehr Leben am Abend.")
    kosten = factories.section(world.editor, world.paper, "Kosten", "Das Land zahlt.")
    return [world.section, ziele, kosten]


def titles(paper_id: int) -> list[str]:
    support.fresh()
    return [s.title for s in section_flow.list_sections(paper_id)]


def new_section(w: factories.World, after: int | None, title: str = "Zeitplan") -> Suggestion:
    return suggestion_flow.suggest_new_section(
        w.member, w.paper.id, title=title, level=2, body="Bis **2028**.", after=after
    )


def actions_of(paper_id: int) -> list[str]:
    support.fresh()
    return list(
        db.session.scalars(
            select(ActivityEntry.action)
            .where(ActivityEntry.paper_id == paper_id)
            .order_by(ActivityEntry.seq)
        )
    )


# --- workflows ------------------------------------------------------------------------------


def test_a_suggested_new_section_is_added_at_its_place_by_the_suggester(
    world: factories.World, outline: list[Section]
) -> None:
    ausgangslage, ziele, _kosten = outline
    item = new_section(world, ziele.id)
    assert (item.kind, item.section_id, item.status) == (
        SuggestionKind.NEW_SECTION, None, SuggestionStatus.OPEN,
    )  # fmt: skip
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]
    # The editors hear of it; the activity log says what was suggested.
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "suggestion_made")
    ).all()
    assert {n.user_id for n in told} >= {world.editor.id}
    assert told[0].params["section"] == "Zeitplan"
    result = suggestion_flow.accept(world.editor, item.id)
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Zeitplan", "Kosten"]
    support.fresh()
    made = db.session.get(Section, result.section.id)
    assert made is not None and made.head is not None
    assert (made.level, made.body, made.head.author_id) == (2, "Bis **2028**.", world.member.id)
    decided = db.session.get(Suggestion, item.id)
    assert decided is not None
    assert (decided.status, decided.section_id, decided.decided_by_id) == (
        SuggestionStatus.ACCEPTED, made.id, world.editor.id,
    )  # fmt: skip
    assert actions_of(world.paper.id)[-3:] == [
        "suggestion.section_proposed",
        "section.created",
        "suggestion.accepted",
    ]
    # The suggester is told.
    assert db.session.scalar(
        select(Notification).where(
            Notification.kind == "suggestion_decided", Notification.user_id == world.member.id
        )
    )


def test_new_sections_at_the_start_and_in_a_run_keep_their_order(
    world: factories.World, outline: list[Section]
) -> None:
    first = new_section(world, None, "Vorwort")
    a = new_section(world, outline[0].id, "Eins")
    b = new_section(world, outline[0].id, "Zwei")
    # Accepted in the opposite order, the run still reads as in the file.
    suggestion_flow.accept(world.editor, b.id)
    suggestion_flow.accept(world.editor, a.id)
    suggestion_flow.accept(world.editor, first.id)
    assert titles(world.paper.id) == ["Vorwort", "Ausgangslage", "Eins", "Zwei", "Ziele", "Kosten"]


def test_a_suggested_removal_and_move_are_carried_out(
    world: factories.World, outline: list[Section]
) -> None:
    ausgangslage, ziele, kosten = outline
    move = suggestion_flow.suggest_move(world.member, kosten.id, after=None)
    removal = suggestion_flow.suggest_removal(world.member, ziele.id)
    assert removal.base_version == ziele.version
    suggestion_flow.accept(world.editor, move.id)
    assert titles(world.paper.id) == ["Kosten", "Ausgangslage", "Ziele"]
    suggestion_flow.accept(world.editor, removal.id)
    assert titles(world.paper.id) == ["Kosten", "Ausgangslage"]
    assert [s.title for s in section_flow.list_sections(world.paper.id, removed=True)] == ["Ziele"]
    log = actions_of(world.paper.id)
    assert "suggestion.move_proposed" in log and "suggestion.removal_proposed" in log
    assert log[-2:] == ["section.removed", "suggestion.accepted"]
    move_back = suggestion_flow.suggest_move(world.member, kosten.id, after=ausgangslage.id)
    suggestion_flow.accept(world.editor, move_back.id)
    assert titles(world.paper.id) == ["Ausgangslage", "Kosten"]


def test_removing_a_section_that_changed_since_is_a_conflict(
    world: factories.World, outline: list[Section]
) -> None:
    _a, ziele, _k = outline
    removal = suggestion_flow.suggest_removal(world.member, ziele.id)
    section_flow.save_section(
        world.editor, ziele.id, body="Mehr Leben am Abend und am Sonntag.",
        base_version=ziele.version,
    )  # fmt: skip
    with pytest.raises(OutlineConflict) as err:
        suggestion_flow.accept(world.editor, removal.id)
    assert err.value.status == 409
    with force_locale("en"):
        message = str(err.value.message)
    assert "“Ziele” changed after its removal was suggested (version 1, now 2)" in message
    db.session.rollback()
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]
    assert db.session.get(Suggestion, removal.id).status == SuggestionStatus.OPEN  # type: ignore[union-attr]


def test_a_move_after_a_section_removed_since_is_a_conflict(
    world: factories.World, outline: list[Section]
) -> None:
    ausgangslage, ziele, kosten = outline
    move = suggestion_flow.suggest_move(world.member, ausgangslage.id, after=ziele.id)
    section_flow.remove_section(world.editor, ziele.id)
    with pytest.raises(OutlineConflict):
        suggestion_flow.accept(world.editor, move.id)
    db.session.rollback()
    assert titles(world.paper.id) == ["Ausgangslage", "Kosten"]
    removal = suggestion_flow.suggest_removal(world.member, kosten.id)
    section_flow.remove_section(world.editor, kosten.id)
    with pytest.raises(OutlineConflict) as err:
        suggestion_flow.accept(world.editor, removal.id)
    with force_locale("en"):
        assert str(err.value.message) == "The section “Kosten” was removed meanwhile."


def test_rejecting_needs_a_reason_and_changes_nothing(
    world: factories.World, outline: list[Section]
) -> None:
    item = new_section(world, None)
    with pytest.raises(ValidationFailed):
        suggestion_flow.reject(world.editor, item.id, " ")
    db.session.rollback()
    suggestion_flow.reject(world.editor, item.id, "Steht schon in den Zielen.")
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]
    support.fresh()
    entry = db.session.scalars(
        select(ActivityEntry).order_by(ActivityEntry.id.desc()).limit(1)
    ).one()
    assert entry.action == "suggestion.rejected"
    assert entry.details["title"] == "Zeitplan"
    with force_locale("en"):
        said = sentence(entry.action, actor="Emil", details=entry.details)
    assert said == "Emil rejected the suggested new section “Zeitplan”."


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("member", NotAllowed), ("reviewer", NotAllowed), ("outsider", NotFound)],
)
def test_only_editors_decide(
    world: factories.World, outline: list[Section], who: str, refusal: type[Exception]
) -> None:
    item = new_section(world, None)
    with pytest.raises(refusal):
        suggestion_flow.accept(world.users[who], item.id)
    db.session.rollback()
    with pytest.raises(refusal):
        suggestion_flow.reject(world.users[who], item.id, "Nein.")
    db.session.rollback()
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]
    assert db.session.get(Suggestion, item.id).status == SuggestionStatus.OPEN  # type: ignore[union-attr]


def test_outsiders_cannot_suggest_and_places_must_be_in_the_paper(
    world: factories.World, outline: list[Section]
) -> None:
    other = factories.paper(world.coordinator, "Anderes Papier")
    elsewhere = factories.section(world.coordinator, other, "Fremd", "Text.")
    with pytest.raises(ValidationFailed):
        new_section(world, elsewhere.id)
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        suggestion_flow.suggest_move(world.member, outline[0].id, after=outline[0].id)
    db.session.rollback()
    with pytest.raises(NotFound):
        suggestion_flow.suggest_removal(world.outsider, outline[0].id)


def test_a_frozen_paper_refuses_accepting_and_suggesting(
    world: factories.World, outline: list[Section]
) -> None:
    item = new_section(world, None)
    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    with pytest.raises(PaperLocked):
        suggestion_flow.accept(world.editor, item.id)
    db.session.rollback()
    with pytest.raises(PaperLocked):
        suggestion_flow.suggest_removal(world.member, outline[1].id)
    db.session.rollback()
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]


# --- API ------------------------------------------------------------------------------------


def test_the_api_shows_accepts_and_rejects_them(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    client = support.isolated_client(app)
    token = factories.token(world.editor)
    item = new_section(world, outline[1].id)
    removal = suggestion_flow.suggest_removal(world.member, outline[2].id)
    got = client.get(f"/api/v1/suggestions/{item.id}", headers=api_headers(token)).get_json()
    assert {k: got[k] for k in ("kind", "section_id", "title", "level", "after_section_id")} == {
        "kind": "new_section", "section_id": None, "title": "Zeitplan", "level": 2,
        "after_section_id": outline[1].id,
    }  # fmt: skip
    assert (got["body"], got["changes"], got["status"]) == ("Bis **2028**.", [], "open")
    # Only as a whole.
    refused = client.post(
        f"/api/v1/suggestions/{item.id}/accept", json={"changes": [1]}, headers=api_headers(token)
    )
    assert refused.status_code == 422
    accepted = client.post(f"/api/v1/suggestions/{item.id}/accept", headers=api_headers(token))
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert (body["status"], body["kind"], body["version"]) == ("accepted", "new_section", 1)
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Zeitplan", "Kosten"]
    assert body["section_id"] == section_flow.list_sections(world.paper.id)[2].id
    rejected = client.post(
        f"/api/v1/suggestions/{removal.id}/reject",
        json={"reason": "Bleibt."},
        headers=api_headers(token),
    )
    assert rejected.status_code == 200
    assert (rejected.get_json()["kind"], rejected.get_json()["status"]) == (
        "remove_section", "rejected",
    )  # fmt: skip
    # A text suggestion keeps its fields, now with kind "text".
    text = suggestion_flow.create_suggestion(
        world.member, outline[0].id, body="Neu.", base_version=outline[0].version
    )
    got = client.get(f"/api/v1/suggestions/{text.id}", headers=api_headers(token)).get_json()
    assert (got["kind"], got["section_id"], got["base_version"]) == (
        "text", outline[0].id, outline[0].version,
    )  # fmt: skip
    assert got["changes"]


def test_the_api_answers_409_for_a_removal_of_a_changed_section(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    client = support.isolated_client(app)
    removal = suggestion_flow.suggest_removal(world.member, outline[1].id)
    section_flow.save_section(world.editor, outline[1].id, body="Anders.", base_version=1)
    answer = client.post(
        f"/api/v1/suggestions/{removal.id}/accept",
        headers=api_headers(factories.token(world.editor)),
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "outline_conflict"


# --- pages ----------------------------------------------------------------------------------


def test_the_paper_page_shows_them_in_place_with_forms(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    item = new_section(world, outline[0].id)
    removal = suggestion_flow.suggest_removal(world.member, outline[2].id)
    move = suggestion_flow.suggest_move(world.member, outline[1].id, after=None)
    client = support.isolated_client(app)
    support.login(client, world.editor.email)
    page = client.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    # The new section stands after "Ausgangslage", before "Ziele", with its rendered text.
    at = page.index(f'id="suggestion-{item.id}"')
    assert (
        page.index(f'id="section-{outline[0].id}"')
        < at
        < page.index(f'id="section-{outline[1].id}"')
    )
    assert "Suggested new section “Zeitplan”" in page and "<strong>2028</strong>" in page
    assert f'action="/suggestions/{item.id}/accept"' in page
    # The removal asks for confirmation on the suggestion's page; the move is a form.
    assert f'href="/suggestions/{removal.id}"' in page
    assert f'action="/suggestions/{removal.id}/accept"' not in page
    assert "Suggested move of “Ziele” to the start of the paper" in page
    assert f'action="/suggestions/{move.id}/reject"' in page
    # The editor's work list and the notification's link lead to them too.
    work = client.get("/my-work").get_data(as_text=True)
    assert f'href="/suggestions/{item.id}"' in work and "Suggestion for Zeitplan" in work
    assert client.get(f"/suggestions/{item.id}").status_code == 200
    confirm = client.get(f"/suggestions/{removal.id}").get_data(as_text=True)
    assert "Remove the section “Kosten” from the paper?" in confirm
    done = client.post(f"/suggestions/{removal.id}/accept", data={"next": "paper"})
    assert done.status_code == 302
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele"]
    # Rejecting from the paper page, with a reason, leads back to it.
    back = client.post(
        f"/suggestions/{move.id}/reject", data={"next": "paper", "reason": "Passt so."}
    )
    assert back.status_code == 302 and f"/papers/{world.paper.id}" in back.location
    # Readers see the suggestion but no forms.
    reader = support.isolated_client(app)
    support.login(reader, world.reviewer.email)
    page = reader.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    assert "Suggested new section “Zeitplan”" in page
    assert f'action="/suggestions/{item.id}/accept"' not in page


def test_a_conflict_on_the_page_is_shown_to_the_editor(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    removal = suggestion_flow.suggest_removal(world.member, outline[1].id)
    section_flow.save_section(world.editor, outline[1].id, body="Anders.", base_version=1)
    client = support.isolated_client(app)
    support.login(client, world.editor.email)
    answer = client.post(
        f"/suggestions/{removal.id}/accept", data={"next": "paper"}, follow_redirects=True
    )
    assert "changed after its removal was suggested" in answer.get_data(as_text=True)
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten"]


def test_the_german_page_names_them(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    new_section(world, None)
    world.editor.locale = "de"
    db.session.commit()
    client = support.isolated_client(app)
    support.login(client, world.editor.email)
    page = client.get(f"/papers/{world.paper.id}", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
    assert "Vorgeschlagener neuer Abschnitt „Zeitplan“" in page
    assert ">Annehmen</button>" in page and "Ablehnen</summary>" in page


# --- import of an edited export -------------------------------------------------------------


def _blocks(document: Any, names: list[str]) -> dict[str, list[Any]]:
    """The body elements of each section of an exported document, by heading text."""
    blocks: dict[str, list[Any]] = {}
    current: str | None = None
    for el in list(document.element.body):
        if el.tag.endswith("}sectPr"):
            break
        text = "".join(t.text or "" for t in el.iter(qn("w:t"))).strip()
        if text in names:
            current = text
        if current is not None:
            blocks.setdefault(current, []).append(el)
    return blocks


def dry_run(client: Any, token: str, data: bytes, paper_id: int) -> Any:
    body, content_type = multipart(
        {"file": upload(data, "konzept.docx"), "paper_id": str(paper_id), "dry_run": "true"}
    )
    response = client.post(
        "/api/v1/imports",
        data=body,
        headers={**api_headers(token), "Accept-Language": "en"},
        content_type=content_type,
    )
    support.fresh()
    return response


def exported(app: Flask, world: factories.World) -> bytes:
    from exports import jobs

    client = support.isolated_client(app)
    headers = {"Authorization": f"Bearer {factories.token(world.editor)}", "Accept-Language": "en"}
    export_id = client.post(
        f"/api/v1/papers/{world.paper.id}/exports", json={}, headers=headers
    ).get_json()["id"]
    jobs.wait_for_exports(60)
    support.fresh()
    return client.get(f"/api/v1/exports/{export_id}/download", headers=headers).data


def test_importing_an_edited_export_suggests_the_new_deleted_and_moved_headings(
    app: Flask, world: factories.World, outline: list[Section]
) -> None:
    massnahmen = factories.section(world.editor, world.paper, "Massnahmen", "Leerstand nutzen.")
    data = exported(app, world)
    # Unchanged, the export creates nothing.
    client = support.isolated_client(app)
    token = factories.token(world.editor)
    again = upload_api(client, token, data, paper_id=world.paper.id)
    assert again.status_code == 201 and again.get_json()["suggestions"] == 0, again.get_json()
    # A partner moves "Kosten" to the front, deletes "Ziele" and adds "Zeitplan" after
    # "Massnahmen" (python-docx, as Word would save it).
    document = Document(io.BytesIO(data))
    blocks = _blocks(document, ["Ausgangslage", "Ziele", "Kosten", "Massnahmen"])
    body = document.element.body
    for el in blocks["Ziele"]:
        body.remove(el)
    for el in reversed(blocks["Kosten"]):
        body.remove(el)
        blocks["Ausgangslage"][0].addprevious(el)
    heading = document.add_heading("Zeitplan", 1)
    text = document.add_paragraph("Bis Ende 2028.")
    blocks["Massnahmen"][-1].addnext(heading._p)
    heading._p.addnext(text._p)
    edited = io.BytesIO()
    document.save(edited)
    before = counts()
    dry = dry_run(client, token, edited.getvalue(), world.paper.id)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["report"]["outline"] == {"new_sections": 1, "removals": 1, "moves": 1}
    assert counts() == before  # a dry run writes nothing
    response = upload_api(client, token, edited.getvalue(), paper_id=world.paper.id)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["report"]["outline"] == {"new_sections": 1, "removals": 1, "moves": 1}
    made = {s.kind: s for s in suggestions_of(world.paper.id)}
    assert sorted(answer["suggestion_ids"]) == sorted(s.id for s in made.values())
    ausgangslage, ziele, kosten = outline
    assert (made[SuggestionKind.NEW_SECTION].title, made[SuggestionKind.NEW_SECTION].body) == (
        "Zeitplan", "Bis Ende 2028.",
    )  # fmt: skip
    assert made[SuggestionKind.NEW_SECTION].after_section_id == massnahmen.id
    assert made[SuggestionKind.REMOVE_SECTION].section_id == ziele.id
    move = made[SuggestionKind.MOVE_SECTION]
    assert (move.section_id, move.after_section_id) == (kosten.id, None)
    assert titles(world.paper.id) == ["Ausgangslage", "Ziele", "Kosten", "Massnahmen"]
    # Accepting all three gives the file's outline.
    for item in made.values():
        suggestion_flow.accept(world.editor, item.id)
    assert titles(world.paper.id) == ["Kosten", "Ausgangslage", "Massnahmen", "Zeitplan"]
