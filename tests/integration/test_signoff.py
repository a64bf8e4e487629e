"""Sign-off (issue 5): paper states, frozen editions, one decision per organisation, the
lock while signing, final editions that never change, reminders, and the pages.

The API is driven with bearer tokens and the pages with logged-in browsers; every request
runs in a context of its own (:func:`tests.integration.support.isolated_client`), so the
test reads the database afresh after each one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import event, func, select, text

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Comment,
    Edition,
    EditionSection,
    EditionStatus,
    Notification,
    Paper,
    PaperStatus,
    Role,
    SectionVersion,
    SignoffDecision,
    User,
)
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.support import Api, fresh, isolated_client, login
from tests.xss_corpus import PAYLOADS, assert_inert
from workflows import jobs, notifications
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import signoff as flow
from workflows.errors import InvalidTransition
from workflows.signoff import PAPER_TRANSITIONS, PaperAction, paper_next

P = PaperStatus
RESERVATION = "Die Finanzierung der Stadtteilfeste muss 2027 neu geregelt werden."
REASON = "Die Zahlen zum Leerstand fehlen."


# --- the test world ---------------------------------------------------------------------------


@pytest.fixture
def w(world: factories.World) -> factories.World:
    """The world with a signatory in each organisation, two sections, all approved, English.

    Ministry (lead): ``min_signatory``; city: ``signatory`` and ``signatory2``; chamber:
    ``ihk_signatory``. The coordinator, editor, reviewer and member are not signatories.
    """
    extra = {
        "min_signatory": factories.user(world.ministry, "min-sig@example.org", name="Mira Amt"),
        "ihk_signatory": factories.user(world.chamber, "ihk-sig@example.org", name="Karl Kammer"),
        "signatory2": factories.user(world.city, "sig2@example.org", name="Sina Stadt"),
    }
    for person in extra.values():
        paper_flow.grant_role(world.coordinator, world.paper.id, person.email, Role.SIGNATORY)
    world.users.update(extra)
    factories.section(
        world.editor, world.paper, title="Ziele", body="Mehr Leben am Abend.", level=2
    )
    for person in world.users.values():
        person.locale = "en"
    db.session.commit()
    factories.approve_all(world)
    return world


def api(app: Flask, w: factories.World, who: str) -> Api:
    return Api(app, w.users[who])


def browser(app: Flask, w: factories.World, who: str) -> FlaskClient:
    """Return a browser logged in as one person of the world."""
    client = isolated_client(app)
    login(client, w.users[who].email)
    return client


def page(response: Any) -> str:
    fresh()
    return response.get_data(as_text=True)


def paper(w: factories.World) -> Paper:
    fresh()
    found = db.session.get(Paper, w.paper.id)
    assert found is not None
    return found


def editions_of(paper_id: int) -> list[Edition]:
    fresh()
    return list(
        db.session.scalars(
            select(Edition).where(Edition.paper_id == paper_id).order_by(Edition.number)
        )
    )


def decisions_of(edition_id: int) -> list[SignoffDecision]:
    fresh()
    return list(
        db.session.scalars(
            select(SignoffDecision)
            .where(SignoffDecision.edition_id == edition_id)
            .order_by(SignoffDecision.id)
        )
    )


def activity(paper_id: int, action: str) -> list[dict[str, Any]]:
    fresh()
    return [
        e.details
        for e in db.session.scalars(
            select(ActivityEntry)
            .where(ActivityEntry.paper_id == paper_id, ActivityEntry.action == action)
            .order_by(ActivityEntry.seq)
        )
    ]


def recipients(kind: str) -> set[int]:
    fresh()
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def expected_hash(parts: list[tuple[str, int, str]]) -> str:
    """SHA-256 over the ordered (title, level, body) of the sections, computed here anew."""
    raw = json.dumps([list(p) for p in parts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def heads(paper_id: int) -> list[SectionVersion]:
    """Return the current version of each present section, in the paper's order."""
    fresh()
    return [s.head for s in section_flow.list_sections(paper_id) if s.head is not None]


def sign_all(w: factories.World, *, reservation: str = "") -> None:
    """Let each organisation approve (the chamber with a reservation, if one is given)."""
    pid = w.paper.id
    flow.decide(w.users["min_signatory"], pid, "approve")
    flow.decide(w.signatory, pid, "approve")
    if reservation:
        flow.decide(w.users["ihk_signatory"], pid, "approve_with_reservation", reservation)
    else:
        flow.decide(w.users["ihk_signatory"], pid, "approve")


@dataclass(frozen=True)
class Frozen:
    """What an edition holds, read straight from the tables."""

    number: int
    label: str
    status: EditionStatus
    hash: str
    created_at: datetime
    entries: tuple[tuple[int, int, int, str, int, str], ...]  # section, version id, no., texts


def frozen(paper_id: int, number: int) -> Frozen:
    fresh()
    found = db.session.scalar(
        select(Edition).where(Edition.paper_id == paper_id, Edition.number == number)
    )
    assert found is not None
    rows = db.session.execute(
        select(EditionSection, SectionVersion)
        .join(SectionVersion, SectionVersion.id == EditionSection.version_id)
        .where(EditionSection.edition_id == found.id)
        .order_by(EditionSection.position)
    ).all()
    entries = tuple((e.section_id, v.id, v.number, v.title, v.level, v.body) for e, v in rows)
    return Frozen(
        found.number, found.label, found.status, found.content_hash, found.created_at, entries
    )


# --- paper states -----------------------------------------------------------------------------

ALL_PAIRS = [(action, state) for action in PaperAction for state in PaperStatus]


@pytest.mark.parametrize(("action", "state"), ALL_PAIRS, ids=lambda v: str(v))
def test_the_paper_transition_table(action: PaperAction, state: PaperStatus):
    allowed = {
        (PaperAction.START, P.DRAFTING): P.SIGNING,
        (PaperAction.CANCEL, P.SIGNING): P.DRAFTING,
        (PaperAction.FINALISE, P.SIGNING): P.FINAL,
        (PaperAction.NEW_CYCLE, P.FINAL): P.DRAFTING,
        (PaperAction.ARCHIVE, P.FINAL): P.ARCHIVED,
    }
    assert allowed == PAPER_TRANSITIONS
    if (action, state) in allowed:
        assert paper_next(action, state) == allowed[(action, state)]
    else:
        with pytest.raises(InvalidTransition) as refused:
            paper_next(action, state)
        assert refused.value.code == "invalid_transition" and refused.value.status == 409
        assert refused.value.extra == {"state": state.value, "action": action.value}


def bring_paper_to(w: factories.World, state: PaperStatus) -> None:
    if state == P.DRAFTING:
        return
    flow.start(w.coordinator, w.paper.id)
    if state == P.SIGNING:
        return
    sign_all(w)
    if state == P.ARCHIVED:
        flow.archive(w.coordinator, w.paper.id)


# The user-facing actions: (API path or None, page path) per action.
ACTIONS = {
    "start": ("/papers/{id}/signoff", "/papers/{id}/signoff"),
    "cancel": ("/papers/{id}/signoff/cancel", "/papers/{id}/signoff/cancel"),
    "new_cycle": (None, "/papers/{id}/new-cycle"),
    "archive": (None, "/papers/{id}/archive"),
}
# What each state allows, and the allowed action each case performs at its end (new_cycle
# from final has its own test below).
ALLOWED = {
    P.DRAFTING: {"start"},
    P.SIGNING: {"cancel"},
    P.FINAL: {"new_cycle", "archive"},
    P.ARCHIVED: set(),
}
PERFORM = {P.DRAFTING: "start", P.SIGNING: "cancel", P.FINAL: "archive", P.ARCHIVED: None}
AFTER = {"start": P.SIGNING, "cancel": P.DRAFTING, "archive": P.ARCHIVED}


@pytest.mark.parametrize("state", list(PaperStatus), ids=lambda s: s.value)
def test_every_action_in_every_state_through_the_api_and_the_pages(app, w, state):
    bring_paper_to(w, state)
    assert paper(w).status == state
    coordinator = api(app, w, "coordinator")
    pages = browser(app, w, "coordinator")
    pid = w.paper.id
    editions_before = len(editions_of(pid))
    for action, (api_path, page_path) in ACTIONS.items():
        if action in ALLOWED[state]:
            continue
        if api_path is not None:
            refused = coordinator("POST", api_path.format(id=pid), {})
            assert refused.status_code == 409, (action, state)
            assert refused.get_json()["error"]["code"] == "invalid_transition"
            assert refused.get_json()["state"] == state.value
        form = {"label": "", "deadline": ""} if action == "start" else {}
        refused_page = pages.post(page_path.format(id=pid), data=form)
        assert refused_page.status_code == 409, (action, state)
        assert "not possible" in page(refused_page)
        assert paper(w).status == state
    assert len(editions_of(pid)) == editions_before
    allowed = PERFORM[state]
    if allowed is not None:
        done = pages.post(ACTIONS[allowed][1].format(id=pid), data={"label": "", "deadline": ""})
        assert done.status_code == 302
        assert paper(w).status == AFTER[allowed]
        assert coordinator("GET", f"/papers/{pid}").get_json()["status"] == AFTER[allowed].value


def test_only_coordinators_start_cancel_reopen_and_archive(app, w):
    pid = w.paper.id
    editor = api(app, w, "editor")
    outsider = api(app, w, "outsider")
    assert editor("POST", f"/papers/{pid}/signoff", {}).status_code == 403
    assert outsider("POST", f"/papers/{pid}/signoff", {}).status_code == 404
    assert outsider("GET", f"/papers/{pid}/signoff").status_code == 404
    assert outsider("GET", f"/papers/{pid}/editions").status_code == 404
    flow.start(w.coordinator, pid)
    assert editor("POST", f"/papers/{pid}/signoff/cancel").status_code == 403
    assert outsider("POST", f"/papers/{pid}/signoff/cancel").status_code == 404
    assert outsider("GET", f"/papers/{pid}/editions/1").status_code == 404
    signatory = browser(app, w, "signatory")
    assert signatory.post(f"/papers/{pid}/signoff/cancel").status_code == 403
    assert isolated_client(app).get(f"/papers/{pid}/signoff").status_code == 302  # to login
    sign_all(w)
    assert signatory.post(f"/papers/{pid}/new-cycle").status_code == 403
    assert signatory.post(f"/papers/{pid}/archive").status_code == 403
    assert paper(w).status == P.FINAL


# --- starting: every section approved, the edition frozen ------------------------------------


def test_start_is_refused_while_sections_are_not_approved(app, w):
    pid = w.paper.id
    draft = factories.section(w.editor, w.paper, title="Mobilität", body="Busse am Abend.")
    in_review = factories.section(w.editor, w.paper, title="Räume", body="Leere Läden.")
    review_flow.submit(w.editor, in_review.id)
    coordinator = api(app, w, "coordinator")
    refused = coordinator("POST", f"/papers/{pid}/signoff", {"label": "Entwurf"})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"]["code"] == "invalid_transition"
    assert "every section is approved" in body["error"]["message"]
    assert body["unapproved"] == [
        {"id": draft.id, "title": "Mobilität", "review_state": "draft"},
        {"id": in_review.id, "title": "Räume", "review_state": "in_review"},
    ]
    shown = browser(app, w, "coordinator").post(
        f"/papers/{pid}/signoff", data={"label": "Entwurf", "deadline": ""}
    )
    html = page(shown)
    assert shown.status_code == 409
    assert "2 sections are not approved yet:" in html
    listing = html.split("sections are not approved yet:")[1]
    assert "Mobilität" in listing and "Räume" in listing and "Ausgangslage" not in listing
    assert f"/sections/{draft.id}/review" in listing
    assert editions_of(pid) == [] and paper(w).status == P.DRAFTING

    # A section whose approval a later save reset counts as unapproved too.
    factories.approve_all(w)
    head = heads(pid)[0]
    section_flow.save_section(
        w.editor, head.section_id, body=head.body + "\n\nNeu.", base_version=head.number
    )
    again = coordinator("POST", f"/papers/{pid}/signoff", {})
    assert [s["id"] for s in again.get_json()["unapproved"]] == [head.section_id]
    factories.approve_all(w)
    assert coordinator("POST", f"/papers/{pid}/signoff", {}).status_code == 201


def test_starting_freezes_number_label_time_exact_versions_and_hash(app, w):
    pid = w.paper.id
    # Order, levels and text matter; a removed section is not part of the edition.
    third = factories.section(
        w.editor,
        w.paper,
        title="Maßnahmen „Süd“",
        level=3,
        body="- Märkte\n- Feste 🎉\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    )
    gone = factories.section(w.editor, w.paper, title="Entfällt", body="Weg damit.")
    section_flow.remove_section(w.editor, gone.id)
    section_flow.move_section(w.editor, third.id, "up")
    factories.approve_all(w)
    expected = heads(pid)
    assert [v.title for v in expected] == ["Ausgangslage", "Maßnahmen „Süd“", "Ziele"]
    deadline = date.today() + timedelta(days=10)

    before = datetime.now(UTC)
    created = api(app, w, "coordinator")(
        "POST",
        f"/papers/{pid}/signoff",
        {"label": "Entwurf zur Mitzeichnung", "deadline": deadline.isoformat()},
    )
    after = datetime.now(UTC)
    assert created.status_code == 201
    digest = expected_hash([(v.title, v.level, v.body) for v in expected])
    assert created.get_json()["edition"] == {
        "number": 1,
        "label": "Entwurf zur Mitzeichnung",
        "hash": digest,
        "status": "signing",
        "created_at": created.get_json()["edition"]["created_at"],
        "deadline": deadline.isoformat(),
    }
    edition = frozen(pid, 1)
    assert edition.hash == digest == flow.content_hash(expected)
    assert before <= edition.created_at <= after
    assert [(e[0], e[1]) for e in edition.entries] == [(v.section_id, v.id) for v in expected]
    assert paper(w).status == P.SIGNING
    assert paper(w).current_edition_id is not None

    member = api(app, w, "member")
    shown = member("GET", f"/papers/{pid}/editions/1").get_json()
    assert shown["hash"] == digest and shown["number"] == 1
    assert [
        (s["section_id"], s["version"], s["title"], s["level"], s["body"])
        for s in shown["sections"]
    ] == [(v.section_id, v.number, v.title, v.level, v.body) for v in expected]
    listed = member("GET", f"/papers/{pid}/editions").get_json()["editions"]
    assert [(e["number"], e["hash"], e["status"]) for e in listed] == [(1, digest, "signing")]
    assert member("GET", f"/papers/{pid}/editions/2").status_code == 404
    (started,) = activity(pid, "signoff.started")
    assert started["hash"] == digest and started["edition"] == 1
    assert started["deadline"] == deadline.isoformat()

    # The signatories are told; their message names the coordinator, paper and deadline.
    assert recipients("signoff_started") == {
        w.users[n].id for n in ("signatory", "signatory2", "min_signatory", "ihk_signatory")
    }
    fresh()
    note = db.session.scalars(select(Notification).where(Notification.kind == "signoff_started"))
    text_shown = page(browser(app, w, "signatory").get("/inbox"))
    assert w.coordinator.display_name in text_shown and "started the sign-off" in text_shown
    assert next(note).params["due"] == deadline.isoformat()


def test_start_defaults_the_label_and_checks_label_and_deadline(app, w):
    pid = w.paper.id
    coordinator = api(app, w, "coordinator")
    past = coordinator(
        "POST",
        f"/papers/{pid}/signoff",
        {"deadline": (date.today() - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 422 and past.get_json()["field"] == "deadline"
    bad = coordinator("POST", f"/papers/{pid}/signoff", {"deadline": "bald"})
    assert bad.status_code == 422
    assert coordinator("POST", f"/papers/{pid}/signoff", {"label": 7}).status_code == 422
    shown = browser(app, w, "coordinator").post(
        f"/papers/{pid}/signoff", data={"label": "x", "deadline": "2001-01-01"}
    )
    assert shown.status_code == 422 and "The deadline lies in the past." in page(shown)
    assert editions_of(pid) == []
    created = coordinator("POST", f"/papers/{pid}/signoff", {})
    assert created.status_code == 201
    label = created.get_json()["edition"]["label"]
    assert label.strip() and "1" in label
    assert created.get_json()["edition"]["deadline"] is None


# --- the lock while signing; cancelling unlocks -----------------------------------------------


def test_while_signing_the_text_is_locked_but_comments_stay_open(app, w):
    pid = w.paper.id
    first, second = heads(pid)
    flow.start(w.coordinator, pid)
    versions_before = db.session.scalar(select(func.count()).select_from(SectionVersion))
    editor_api = api(app, w, "editor")
    editor = browser(app, w, "editor")

    saved = editor.post(
        f"/sections/{first.section_id}/edit",
        data={
            "title": first.title,
            "level": "1",
            "body": "Geändert.",
            "base_version": "1",
            "note": "",
        },
    )
    assert saved.status_code == 409
    # Issue 11: not a bare error page — the reason, and the typed text kept (read-only).
    assert "Not saved: the paper is frozen" in page(saved)
    assert "in sign-off" in page(saved) and "Geändert." in page(saved)
    put = editor_api(
        "PUT", f"/sections/{first.section_id}", {"body": "Geändert.", "base_version": first.number}
    )
    assert put.status_code == 409
    assert put.get_json()["error"]["code"] == "paper_locked"
    assert put.get_json()["status"] == "signing"
    added = editor_api("POST", f"/papers/{pid}/sections", {"title": "Neu", "body": "x"})
    assert added.status_code == 409 and added.get_json()["error"]["code"] == "paper_locked"
    assert (
        editor.post(
            f"/papers/{pid}/sections/new", data={"title": "Neu", "level": "1", "body": "x"}
        ).status_code
        == 409
    )
    assert editor.post(f"/sections/{first.section_id}/remove").status_code == 409
    assert (
        editor.post(f"/sections/{second.section_id}/move", data={"direction": "up"}).status_code
        == 409
    )
    assert editor.post(f"/sections/{first.section_id}/versions/1/restore").status_code == 409
    fresh()
    assert db.session.scalar(select(func.count()).select_from(SectionVersion)) == versions_before
    assert [v.id for v in heads(pid)] == [first.id, second.id]

    # Comments stay open, through the API and the page.
    commented = api(app, w, "member")(
        "POST", f"/sections/{first.section_id}/comments", {"body": "Passt das Datum?"}
    )
    assert commented.status_code == 201
    on_page = browser(app, w, "reviewer").post(
        f"/sections/{first.section_id}/comments", data={"body": "Ja, passt.", "quote": ""}
    )
    assert on_page.status_code in (302, 303)
    fresh()
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 2

    # Cancelling unlocks: the paper can be edited again, the edition stays as cancelled.
    cancelled = api(app, w, "coordinator")("POST", f"/papers/{pid}/signoff/cancel")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "drafting"
    assert paper(w).status == P.DRAFTING and paper(w).current_edition_id is None
    (edition,) = editions_of(pid)
    assert edition.status == EditionStatus.CANCELLED and edition.closed_at is not None
    assert activity(pid, "signoff.cancelled") == [{"edition": 1}]
    put = editor_api(
        "PUT", f"/sections/{first.section_id}", {"body": "Geändert.", "base_version": first.number}
    )
    assert put.status_code == 200 and put.get_json()["version"] == first.number + 1
    assert editor_api("POST", f"/papers/{pid}/sections", {"title": "Neu"}).status_code == 201
    # The next round freezes a new edition.
    factories.approve_all(w)
    assert flow.start(w.coordinator, pid).number == 2


def test_participants_cannot_change_during_a_round(app, w):
    pid = w.paper.id
    flow.start(w.coordinator, pid)
    coordinator = api(app, w, "coordinator")
    added = coordinator("POST", f"/papers/{pid}/participants", {"organisation": "OUT"})
    assert added.status_code == 409
    assert "cancel the round first" in added.get_json()["error"]["message"]
    pages = browser(app, w, "coordinator")
    removed = pages.post(f"/papers/{pid}/participants/{w.chamber.id}/remove")
    assert removed.status_code == 409 and "cancel the round first" in page(removed)
    form = pages.post(f"/papers/{pid}/participants", data={"organisation": "OUT"})
    assert "cancel the round first" in page(form)
    assert sorted(coordinator("GET", f"/papers/{pid}").get_json()["participants"]) == [
        "CITY",
        "IHK",
        "MIN",
    ]
    flow.cancel(w.coordinator, pid)
    assert (
        coordinator("POST", f"/papers/{pid}/participants", {"organisation": "OUT"}).status_code
        == 201
    )


# --- decisions --------------------------------------------------------------------------------


def test_signatories_decide_for_their_organisation_and_nobody_else_may(app, w):
    pid = w.paper.id
    edition = flow.start(w.coordinator, pid)
    path = f"/papers/{pid}/signoff/decisions"
    for who in ("coordinator", "editor", "reviewer", "member"):
        refused = api(app, w, who)("POST", path, {"decision": "approve"})
        assert refused.status_code == 403, who
        assert refused.get_json()["error"]["code"] == "forbidden"
    assert api(app, w, "outsider")("POST", path, {"decision": "approve"}).status_code == 404
    member_page = browser(app, w, "member")
    assert (
        member_page.post(
            f"/papers/{pid}/signoff/decision", data={"decision": "approve", "note": ""}
        ).status_code
        == 403
    )
    assert 'name="decision"' not in page(member_page.get(f"/papers/{pid}/signoff"))
    outsider_page = browser(app, w, "outsider")
    assert outsider_page.get(f"/papers/{pid}/signoff").status_code == 404
    assert (
        outsider_page.post(
            f"/papers/{pid}/signoff/decision", data={"decision": "approve"}
        ).status_code
        == 404
    )

    # Reservations and rejections need a text; unknown decisions are refused.
    city = api(app, w, "signatory")
    for payload in (
        {"decision": "approve_with_reservation"},
        {"decision": "approve_with_reservation", "note": "   "},
        {"decision": "reject", "note": ""},
        {"decision": "maybe"},
        {"decision": 1},
    ):
        refused = city("POST", path, payload)
        assert refused.status_code == 422, payload
        assert refused.get_json()["error"]["code"] == "validation_failed"
    city_page = browser(app, w, "signatory")
    form = city_page.post(
        f"/papers/{pid}/signoff/decision", data={"decision": "reject", "note": " "}
    )
    assert form.status_code == 422 and "Please give a reason for the rejection." in page(form)
    form = city_page.post(
        f"/papers/{pid}/signoff/decision", data={"decision": "approve_with_reservation", "note": ""}
    )
    assert form.status_code == 422 and "Please state the reservation." in page(form)
    assert decisions_of(edition.id) == []

    # The lead organisation decides too, through its own signatory.
    lead = api(app, w, "min_signatory")("POST", path, {"decision": "approve"})
    assert lead.status_code == 200
    rows = {r["organisation"]: r for r in lead.get_json()["organisations"]}
    assert set(rows) == {"MIN", "CITY", "IHK"}
    assert rows["MIN"]["decision"] == "approve"
    assert rows["MIN"]["signatory"] == "min-sig@example.org"
    assert rows["MIN"]["edition_hash"] == edition.content_hash
    assert rows["CITY"]["decision"] is None and rows["IHK"]["decision"] is None


def test_one_decision_per_organisation_changes_are_logged_and_bound_to_the_hash(app, w):
    pid = w.paper.id
    edition = flow.start(w.coordinator, pid)
    digest = edition.content_hash
    path = f"/papers/{pid}/signoff/decisions"
    first = api(app, w, "signatory")("POST", path, {"decision": "approve", "edition_hash": digest})
    assert first.status_code == 200
    # A second signatory of the same organisation changes the organisation's decision.
    changed = api(app, w, "signatory2")(
        "POST", path, {"decision": "approve_with_reservation", "note": RESERVATION}
    )
    assert changed.status_code == 200
    (row,) = decisions_of(edition.id)
    assert row.organisation_id == w.city.id
    assert row.user_id == w.users["signatory2"].id
    assert (row.decision.value, row.note) == ("approve_with_reservation", RESERVATION)
    assert row.edition_hash == digest == edition.content_hash
    # Through the page, with the hash the page showed.
    city_page = browser(app, w, "signatory")
    shown = page(city_page.get(f"/papers/{pid}/signoff"))
    assert f'value="{digest}"' in shown
    done = city_page.post(
        f"/papers/{pid}/signoff/decision",
        data={"decision": "reject", "note": REASON, "edition_hash": digest},
    )
    assert done.status_code == 302
    (row,) = decisions_of(edition.id)
    assert (row.decision.value, row.note, row.user_id) == ("reject", REASON, w.signatory.id)
    logged = activity(pid, "signoff.decided")
    assert [(e["organisation"], e["decision"], e["changed"], e["hash"]) for e in logged] == [
        ("CITY", "approve", False, digest),
        ("CITY", "approve_with_reservation", True, digest),
        ("CITY", "reject", True, digest),
    ]
    assert logged[1]["note"] == RESERVATION and logged[2]["note"] == REASON

    # A decision given for another text than the one being signed is refused.
    stale = api(app, w, "signatory")(
        "POST", path, {"decision": "approve", "edition_hash": "0" * 64}
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "invalid_transition"
    stale_page = city_page.post(
        f"/papers/{pid}/signoff/decision", data={"decision": "approve", "edition_hash": "f" * 64}
    )
    assert stale_page.status_code == 409
    (row,) = decisions_of(edition.id)
    assert row.decision.value == "reject"
    assert len(activity(pid, "signoff.decided")) == 3
    assert flow.verify(pid) == []


def test_all_organisations_assenting_makes_paper_and_edition_final(app, w):
    pid = w.paper.id
    edition = flow.start(w.coordinator, pid)
    path = f"/papers/{pid}/signoff/decisions"
    api(app, w, "min_signatory")("POST", path, {"decision": "approve"})
    api(app, w, "ihk_signatory")(
        "POST", path, {"decision": "approve_with_reservation", "note": RESERVATION}
    )
    assert paper(w).status == P.SIGNING
    assert recipients("paper_final") == set()
    last = api(app, w, "signatory")("POST", path, {"decision": "approve"})
    assert last.status_code == 200
    assert last.get_json()["status"] == "final"
    assert last.get_json()["edition"]["status"] == "final"
    assert paper(w).status == P.FINAL and paper(w).current_edition_id == edition.id
    (final,) = editions_of(pid)
    assert final.status == EditionStatus.FINAL and final.closed_at is not None
    assert activity(pid, "signoff.final") == [{"edition": 1, "hash": edition.content_hash}]
    # Every member of every participating organisation is told, nobody else.
    fresh()
    members = set(
        db.session.scalars(
            select(User.id).where(
                User.organisation_id.in_([w.ministry.id, w.city.id, w.chamber.id])
            )
        )
    )
    assert recipients("paper_final") == members
    assert w.outsider.id not in members
    inbox = page(browser(app, w, "member").get("/inbox"))
    assert "is final: all organisations signed" in inbox
    # The round is closed: no decision changes any more.
    late = api(app, w, "ihk_signatory")("POST", path, {"decision": "approve"})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "invalid_transition"
    assert {d.decision.value for d in decisions_of(edition.id)} == {
        "approve",
        "approve_with_reservation",
    }


def test_a_rejection_keeps_the_round_open_and_tells_the_coordinators(app, w):
    pid = w.paper.id
    flow.start(w.coordinator, pid)
    path = f"/papers/{pid}/signoff/decisions"
    rejected = api(app, w, "ihk_signatory")("POST", path, {"decision": "reject", "note": REASON})
    assert rejected.status_code == 200
    api(app, w, "min_signatory")("POST", path, {"decision": "approve"})
    api(app, w, "signatory")("POST", path, {"decision": "approve"})
    assert paper(w).status == P.SIGNING
    assert recipients("signoff_decided") == {w.coordinator.id}
    fresh()
    told = db.session.scalars(select(Notification).where(Notification.kind == "signoff_decided"))
    (note,) = list(told)
    assert note.params["reason"] == REASON and note.params["decision"] == "reject"
    inbox = page(browser(app, w, "coordinator").get("/inbox"))
    assert f"{w.chamber.name} rejected" in inbox and REASON in inbox
    # The coordinator may cancel back to drafting ...
    round_page = page(browser(app, w, "coordinator").get(f"/papers/{pid}/signoff"))
    assert f"/papers/{pid}/signoff/cancel" in round_page
    # ... or the chamber changes its mind, which completes the round.
    api(app, w, "ihk_signatory")("POST", path, {"decision": "approve"})
    assert paper(w).status == P.FINAL


# --- a final edition never changes; verification -----------------------------------------------


def test_a_final_edition_never_changes_and_verify_finds_tampering(app, w, runner):
    pid = w.paper.id
    flow.start(w.coordinator, pid, label="Fassung März")
    sign_all(w, reservation=RESERVATION)
    before = frozen(pid, 1)
    assert before.status == EditionStatus.FINAL
    record_before = page(browser(app, w, "member").get(f"/papers/{pid}/editions/1/record"))

    reopened = browser(app, w, "coordinator").post(f"/papers/{pid}/new-cycle")
    assert reopened.status_code == 302
    assert paper(w).status == P.DRAFTING and paper(w).current_edition_id is None
    assert activity(pid, "paper.new_cycle") == [{"final_edition": 1}]
    first, second = heads(pid)
    saved = api(app, w, "editor")(
        "PUT",
        f"/sections/{first.section_id}",
        {
            "body": "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen.",
            "base_version": first.number,
        },
    )
    assert saved.status_code == 200
    # The new text is not approved yet: no new round until it is.
    assert api(app, w, "coordinator")("POST", f"/papers/{pid}/signoff", {}).status_code == 409
    # Who takes part may change now; the record of the final edition stays as signed.
    paper_flow.add_participant(w.coordinator, pid, "OUT")
    assert frozen(pid, 1) == before
    member = api(app, w, "member")
    shown = member("GET", f"/papers/{pid}/editions/1").get_json()
    assert shown["status"] == "final" and shown["hash"] == before.hash
    assert [s["body"] for s in shown["sections"]] == [e[5] for e in before.entries]
    record_after = page(browser(app, w, "member").get(f"/papers/{pid}/editions/1/record"))
    assert record_of(record_after) == record_of(record_before)
    assert w.outside.name not in record_after

    ok = runner.invoke(args=["editions", "verify", str(pid)])
    assert ok.exit_code == 0, ok.output
    assert f"all editions of paper {pid} match their hashes" in ok.output

    # Edition 2 after the new text is approved: its page shows what changed since edition 1.
    factories.approve_all(w)
    flow.start(w.coordinator, pid, label="Fassung Mai")
    edition_page = page(browser(app, w, "member").get(f"/papers/{pid}/editions/2"))
    assert "Changes since edition 1" in edition_page
    changes = edition_page.split("Changes since edition 1")[1].split("Text of the edition")[0]
    assert re.search(r"<h3>Ausgangslage</h3>\s*<div class=\"diff inline-diff\">", changes)
    assert re.search(r"<ins>(?:(?!</ins>).)*und vom Handwerk(?:(?!</ins>).)*</ins>", changes, re.S)
    assert re.search(rf"<h3>{second.title}</h3>\s*<p>unchanged</p>", changes), changes
    first_page = page(browser(app, w, "member").get(f"/papers/{pid}/editions/1"))
    assert "First edition" in first_page and before.hash in first_page

    # Someone changes a frozen text behind the application's back.
    version_id = before.entries[0][1]
    db.session.execute(
        text("UPDATE section_version SET body = :body WHERE id = :id"),
        {"body": "Die Innenstadt lebt vom Handel.\n\nUnd vom Parken.", "id": version_id},
    )
    db.session.commit()
    problems = flow.verify(pid)
    assert {p.edition for p in problems} == {1}
    assert any("do not match the stored hash" in p.problem for p in problems)
    assert any("decision of organisation" in p.problem for p in problems)
    broken = runner.invoke(args=["editions", "verify", str(pid)])
    assert broken.exit_code != 0
    assert "edition 1" in broken.output and "do NOT match" in broken.output
    missing = runner.invoke(args=["editions", "verify", "999999"])
    assert missing.exit_code != 0


def record_of(html: str) -> str:
    """Return the record of sign-off on a page (without the header: unread counts change)."""
    found = re.search(r'<article class="record">.*</article>', html, re.S)
    assert found is not None
    return found.group(0)


def test_final_papers_archive_and_archived_papers_stay_final_text(app, w):
    pid = w.paper.id
    flow.start(w.coordinator, pid)
    sign_all(w)
    archived = browser(app, w, "coordinator").post(f"/papers/{pid}/archive")
    assert archived.status_code == 302
    assert paper(w).status == P.ARCHIVED
    member = api(app, w, "member")
    assert member("GET", f"/papers/{pid}").get_json()["status"] == "archived"
    assert member("GET", f"/papers/{pid}/editions/1").get_json()["status"] == "final"
    head = heads(pid)[0]
    put = api(app, w, "editor")(
        "PUT", f"/sections/{head.section_id}", {"body": "Neu.", "base_version": head.number}
    )
    assert put.status_code == 409 and put.get_json()["error"]["code"] == "paper_locked"
    assert put.get_json()["status"] == "archived"
    assert activity(pid, "paper.archived") == [{}]


# --- deadlines, reminders, overdue ------------------------------------------------------------


def test_reminders_go_once_to_undecided_signatories_and_overdue_is_marked(
    app, w, runner, monkeypatch
):
    pid = w.paper.id
    deadline = date.today() + timedelta(days=5)
    edition = flow.start(w.coordinator, pid, deadline=deadline)
    flow.decide(w.signatory, pid, "approve")
    # With mail configured, reminders are e-mailed too (queued once the reminders commit).
    app.config["MAIL_SERVER"] = "smtp.invalid"
    queued: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_notification_emails", queued.extend)
    assert flow.send_reminders(today=deadline - timedelta(days=3)) == 0
    assert recipients("signoff_reminder") == set()
    sent = flow.send_reminders(today=deadline - timedelta(days=2))
    undecided = {w.users["min_signatory"].id, w.users["ihk_signatory"].id}
    assert sent == 2 and recipients("signoff_reminder") == undecided
    fresh()
    reminder_ids = set(
        db.session.scalars(select(Notification.id).where(Notification.kind == "signoff_reminder"))
    )
    assert set(queued) == reminder_ids
    assert flow.send_reminders(today=deadline - timedelta(days=1)) == 0
    assert flow.send_reminders(today=deadline + timedelta(days=3)) == 0
    assert len(activity(pid, "signoff.reminded")) == 1
    assert activity(pid, "signoff.reminded")[0]["organisations"] == 2
    inbox = page(browser(app, w, "ihk_signatory").get("/inbox"))
    assert "The sign-off deadline of" in inbox and "has not decided yet" in inbox
    assert "signoff_reminder" in notifications.KINDS  # so it goes by e-mail too, unless opted out

    rows = {r.short_name: r.overdue for r in flow.matrix(pid, edition, today=deadline)}
    assert rows == {"MIN": False, "CITY": False, "IHK": False}
    late = {
        r.short_name: r.overdue
        for r in flow.matrix(pid, edition, today=deadline + timedelta(days=1))
    }
    assert late == {"MIN": True, "CITY": False, "IHK": True}
    # Time passes: the pages and the API mark the organisations that have not decided.
    fresh()
    stored = db.session.get(Edition, edition.id)
    assert stored is not None
    stored.deadline = date.today() - timedelta(days=1)
    db.session.commit()
    shown = api(app, w, "member")("GET", f"/papers/{pid}/signoff").get_json()
    assert {r["organisation"]: r["overdue"] for r in shown["organisations"]} == late
    html = page(browser(app, w, "member").get(f"/papers/{pid}/signoff"))
    assert html.count('class="overdue"') == 2
    # The daily command: the reminder went out already, nothing more is sent.
    result = runner.invoke(args=["editions", "remind"])
    assert result.exit_code == 0 and "reminders sent: 0" in result.output


def test_the_remind_command_reminds_rounds_due_soon(app, w, runner):
    pid = w.paper.id
    flow.start(w.coordinator, pid, deadline=date.today() + timedelta(days=1))
    w.users["signatory2"].active = False  # left the city's office: reminded of nothing
    db.session.commit()
    result = runner.invoke(args=["editions", "remind"])
    assert result.exit_code == 0 and "reminders sent: 3" in result.output
    assert recipients("signoff_reminder") == {
        w.users[n].id for n in ("signatory", "min_signatory", "ihk_signatory")
    }
    # A cancelled round is not reminded of.
    flow.cancel(w.coordinator, pid)
    flow.start(w.coordinator, pid, deadline=date.today())
    flow.cancel(w.coordinator, pid)
    assert flow.send_reminders() == 0


# On SQLite every transaction begins IMMEDIATE (it takes the write lock at once), so a cancel
# cannot slip in while the reminder job runs; on PostgreSQL it can, until the job locks the paper.
@pytest.mark.postgres
@pytest.mark.skipif(not IS_POSTGRES, reason="TEST_DATABASE_URL is not PostgreSQL")
def test_reminders_skip_a_round_cancelled_while_the_job_runs(app, w):
    pid = w.paper.id
    edition = flow.start(w.coordinator, pid, deadline=date.today() + timedelta(days=1))
    seq_before = paper(w).log_seq
    cancelled: list[bool] = []

    def cancel_from_elsewhere(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Right after the job picked its editions, before it touches the paper: the
        # coordinator cancels the round in another connection.
        if cancelled or not re.match(r"\s*SELECT paper\.id\b", statement):
            return
        cancelled.append(True)
        with db.engine.begin() as other:
            other.execute(
                text("UPDATE edition SET status = 'cancelled' WHERE id = :id"), {"id": edition.id}
            )
            other.execute(
                text(
                    "UPDATE paper SET status = 'drafting', current_edition_id = NULL WHERE id = :id"
                ),
                {"id": pid},
            )

    fresh()
    event.listen(db.engine, "before_cursor_execute", cancel_from_elsewhere)
    try:
        assert flow.send_reminders() == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", cancel_from_elsewhere)
    assert cancelled == [True]
    assert recipients("signoff_reminder") == set()
    assert paper(w).log_seq == seq_before and activity(pid, "signoff.reminded") == []


# --- the pages --------------------------------------------------------------------------------


def test_the_signoff_pages_show_decisions_signatories_dates_and_reservations(app, w):
    pid = w.paper.id
    flow.start(
        w.coordinator,
        pid,
        label="Fassung zur Mitzeichnung",
        deadline=date.today() + timedelta(days=7),
    )
    flow.decide(w.users["ihk_signatory"], pid, "approve_with_reservation", RESERVATION)
    flow.decide(w.signatory, pid, "reject", REASON)
    fresh()
    member = browser(app, w, "member")
    html = page(member.get(f"/papers/{pid}/signoff"))
    # The reservation stands out above the matrix, not only inside it.
    notice = html.index('class="notice reservations"')
    assert notice < html.index('class="signoff-matrix"')
    assert RESERVATION in html[notice : html.index('class="signoff-matrix"')]
    cells = matrix_cells(html)
    year = str(date.today().year)
    chamber, city, lead = cells[w.chamber.name], cells[w.city.name], cells[w.ministry.name]
    assert chamber[0] == "Approved with reservation" and chamber[1] == "Karl Kammer"
    assert year in chamber[2] and RESERVATION in chamber[3]
    assert city[0] == "Rejected" and city[1] == w.signatory.display_name
    assert year in city[2] and REASON in city[3]
    assert lead == ["Open", "", "", ""]  # not decided yet: a state, capitalised (issue 15)
    assert "Fassung zur Mitzeichnung" in html
    assert "Deadline:" in html
    # The printable record: paper, edition, hash and the same decisions.
    record = page(member.get(f"/papers/{pid}/editions/1/record"))
    digest = frozen(pid, 1).hash
    assert "Record of sign-off" in record and digest in record
    assert RESERVATION in record and REASON in record and "Karl Kammer" in record
    assert w.paper.title in record and w.ministry.name in record
    # The print button is wired by print.js: no inline handler under the CSP.
    assert "data-print" in record and "/static/print.js" in record
    # The edition page: hash, text, decisions for the first edition.
    edition_page = page(member.get(f"/papers/{pid}/editions/1"))
    assert digest in edition_page and "First edition" in edition_page
    assert "Die Innenstadt lebt vom Handel." in edition_page
    listing = page(member.get(f"/papers/{pid}/editions"))
    assert "Fassung zur Mitzeichnung" in listing and "In sign-off" in listing
    assert member.get(f"/papers/{pid}/editions/9").status_code == 404
    # A signatory sees the decision form, the member does not.
    assert 'name="decision"' in page(browser(app, w, "signatory2").get(f"/papers/{pid}/signoff"))
    assert 'name="decision"' not in html


def matrix_cells(html: str) -> dict[str, list[str]]:
    """Return the sign-off matrix of a page as organisation name -> texts of its cells."""
    table = html[html.index('class="signoff-matrix"') :].split("</table>")[0]
    rows: dict[str, list[str]] = {}
    for row in re.findall(r'<tr class="decision-[^"]*">(.*?)</tr>', table, re.S):
        name = re.search(r'<th scope="row">(.*?) \(', row, re.S)
        assert name is not None
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        rows[name.group(1)] = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    return rows


# --- hostile text -----------------------------------------------------------------------------


def chunks(texts: tuple[str, ...], limit: int) -> list[str]:
    """Pack texts into as few strings of at most ``limit`` characters as possible."""
    packed: list[list[str]] = []
    for item in texts:
        if packed and len(" | ".join([*packed[-1], item])) <= limit:
            packed[-1].append(item)
        else:
            packed.append([item])
    return [" | ".join(group).strip() for group in packed]


def test_hostile_notes_and_labels_stay_inert_on_the_signoff_pages(app, w):
    pid = w.paper.id
    labels = chunks(PAYLOADS, 200)
    for label in labels[:-1]:
        flow.start(w.coordinator, pid, label=label)
        flow.cancel(w.coordinator, pid)
    flow.start(w.coordinator, pid, label=labels[-1])
    everything = "\n\n".join(PAYLOADS)
    flow.decide(w.users["ihk_signatory"], pid, "approve_with_reservation", everything)
    flow.decide(w.signatory, pid, "reject", everything)
    member = browser(app, w, "member")
    last = len(labels)

    def check(path: str, must_show: list[str]) -> None:
        html = page(member.get(path))
        assert_inert(html)
        for item in must_show:
            assert str(escape(item.strip())) in html, (path, item)

    notes = [p for p in PAYLOADS if p.strip()]
    check(f"/papers/{pid}/signoff", notes + labels)
    check(f"/papers/{pid}/editions/{last}/record", notes + [labels[-1]])
    check(f"/papers/{pid}/editions", labels)
    for number, label in enumerate(labels, start=1):
        check(f"/papers/{pid}/editions/{number}", [label])
