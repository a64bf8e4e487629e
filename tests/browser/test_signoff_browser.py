"""A whole sign-off round in the browser: the ministry's coordinator freezes an edition, the
ministry, the city (with a reservation) and the chamber sign, and the paper is final.

Every page visited is checked with axe-core (see ``check_a11y`` in the conftest): the round
before it starts, while it is open (with the decision form), once it is final, the edition
and the printable record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Role, User
from tests import factories
from tests.browser.conftest import LiveServer, check_a11y, login
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

RESERVATION = "Die Kosten der Beleuchtung trägt die Stadt nur bis Ende 2027."
LABEL = "Entwurf zur Mitzeichnung"


def prepare(live: LiveServer) -> dict[str, str]:
    """Give the ministry and the chamber a signatory and approve every section.

    Returns the signatories' e-mail addresses and the organisations' names, by organisation
    (the city's signatory comes with the test world).
    """
    with live.app.app_context():
        people = {u.email: u for u in db.session.scalars(select(User))}
        coordinator = people[live.people.coordinator]
        editor = people[live.people.editor]
        reviewer = people["reviewer@example.org"]
        pid = live.people.paper_id
        for org, email, name in (
            (coordinator.organisation, "min-sig@example.org", "Mira Amt"),
            (reviewer.organisation, "ihk-sig@example.org", "Karl Kammer"),
        ):
            factories.user(org, email, name=name)
            paper_flow.grant_role(coordinator, pid, email, Role.SIGNATORY)
        for section in section_flow.list_sections(pid):
            review_flow.submit(editor, section.id)
            review_flow.approve(reviewer, section.id, section.version)
        found = {
            "ministry": "min-sig@example.org",
            "city": "signatory@example.org",
            "chamber": "ihk-sig@example.org",
            "ministry_name": coordinator.organisation.name,
            "city_name": editor.organisation.name,
            "chamber_name": reviewer.organisation.name,
        }
        db.session.remove()
    return found


def matrix_row(page: Page, organisation: str) -> Locator:
    return page.locator("table.signoff-matrix tbody tr", has_text=organisation)


def decide(page: Page, live: LiveServer, decision: str, note: str = "") -> None:
    """Give the logged-in signatory's decision through the form on the sign-off page."""
    page.goto(live(f"/papers/{live.people.paper_id}/signoff"))
    check_a11y(page)
    form = page.locator("main form[action$='/signoff/decision']")
    form.locator(f"input[name=decision][value={decision}]").check()
    if note:
        form.locator("textarea[name=note]").fill(note)
    form.locator("[type=submit]").click()
    page.wait_for_url(live(f"/papers/{live.people.paper_id}/signoff"))
    check_a11y(page)


def test_a_whole_round_with_three_organisations_one_with_a_reservation(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    signatories = prepare(live)
    pid = live.people.paper_id
    round_path = f"/papers/{pid}/signoff"

    # The coordinator freezes the edition.
    coordinator = new_page()
    login(coordinator, live, live.people.coordinator)
    coordinator.goto(live(round_path))
    check_a11y(coordinator)
    start = coordinator.locator(f"main form[action$='{round_path}']")
    start.locator("input[name=label]").fill(LABEL)
    start.locator("input[name=deadline]").fill((date.today() + timedelta(days=14)).isoformat())
    start.locator("[type=submit]").click()
    coordinator.wait_for_url(live(round_path))
    check_a11y(coordinator)
    expect(coordinator.locator("#edition-heading")).to_contain_text(LABEL)
    expect(coordinator.locator("table.signoff-matrix tbody tr.decision-open")).to_have_count(3)
    digest = coordinator.locator("main p.hash code").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)

    # Ministry and chamber approve, the city with a reservation (the last one makes it final).
    for org, decision, note in (
        ("ministry", "approve", ""),
        ("city", "approve_with_reservation", RESERVATION),
        ("chamber", "approve", ""),
    ):
        page = new_page()
        login(page, live, signatories[org])
        decide(page, live, decision, note)
        expect(matrix_row(page, signatories[f"{org}_name"])).to_have_class(f"decision-{decision}")

    # Anyone of the alliance sees the final paper with the reservation shown prominently.
    member = new_page()
    login(member, live, live.people.member)
    member.goto(live(round_path))
    check_a11y(member)
    expect(member.locator("main form[action$='/signoff/decision']")).to_have_count(0)
    notice = member.locator(".notice.reservations")
    expect(notice).to_contain_text(RESERVATION)
    expect(notice).to_contain_text(signatories["city_name"])
    city = matrix_row(member, signatories["city_name"])
    expect(city).to_have_class("decision-approve_with_reservation")
    expect(city).to_contain_text("Sigrid Zeichnung")
    expect(city.locator(".reservation")).to_have_text(RESERVATION)
    expect(member.locator("table.signoff-matrix tbody tr.decision-approve")).to_have_count(2)
    expect(member.locator("main p.hash code")).to_have_text(digest)

    # The coordinator's page offers what a final paper allows: a new cycle, archiving.
    coordinator.reload()
    check_a11y(coordinator)
    expect(coordinator.locator(f"main form[action$='/papers/{pid}/new-cycle']")).to_have_count(1)
    # Archiving asks first (issue 15): a link to a confirmation page, not a form.
    expect(coordinator.locator(f"main a[href$='/papers/{pid}/archive']")).to_have_count(1)
    expect(coordinator.locator(f"main a[href$='{round_path}/cancel']")).to_have_count(0)

    # The edition and its printable record.
    member.locator(f"main a[href$='/papers/{pid}/editions/1']").first.click()
    member.wait_for_url(live(f"/papers/{pid}/editions/1"))
    check_a11y(member)
    expect(member.locator("main h1")).to_have_text(LABEL)
    expect(member.locator("main .hash code")).to_have_text(digest)
    expect(member.locator("main .paper-section")).to_contain_text(live.people.section_body[:20])
    member.locator(f"main a[href$='/papers/{pid}/editions/1/record']").click()
    member.wait_for_url(live(f"/papers/{pid}/editions/1/record"))
    check_a11y(member)
    record = member.locator("article.record")
    expect(record).to_contain_text(digest)
    expect(record).to_contain_text(RESERVATION)
    expect(record.locator("table.signoff-matrix tbody tr")).to_have_count(3)
    # print.js (no inline handler under the CSP) shows the print button.
    expect(record.locator("button[data-print]")).to_be_visible()
