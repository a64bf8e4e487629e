"""Issue 14 in the browser: a suggested new section from a Word file, shown in place on the
paper page and accepted with its "Annehmen" button; axe on the paper page and on the
confirmation page of a suggested removal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Section, Suggestion, SuggestionStatus, User
from tests.browser.conftest import LiveServer, check_a11y, login
from workflows import suggestions as suggestion_flow

pytestmark = pytest.mark.browser


def test_accept_a_suggested_new_section_on_the_paper_page(page: Page, live_server: LiveServer):
    live = live_server
    with live.app.app_context():
        member = db.session.scalar(select(User).where(User.email == live.people.member))
        assert member is not None
        item = suggestion_flow.suggest_new_section(
            member,
            live.people.paper_id,
            title="Zeitplan",
            level=1,
            body="Bis **Ende 2028** in drei Schritten.",
            after=live.people.section_id,
        )
        removal = suggestion_flow.suggest_removal(member, live.people.section_id)
        item_id, removal_id = item.id, removal.id
        db.session.remove()

    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}"))
    block = page.locator(f"#suggestion-{item_id}")
    expect(block).to_contain_text("Vorgeschlagener neuer Abschnitt „Zeitplan“")
    expect(block.locator("strong", has_text="Ende 2028")).to_be_visible()
    check_a11y(page)
    # The removal asks first, on its own page.
    page.locator(f"#suggestion-{removal_id}").get_by_role("link", name="Annehmen …").click()
    expect(page.locator("main")).to_contain_text("aus dem Konzeptpapier entfernen?")
    check_a11y(page)
    page.go_back()
    with page.expect_navigation():
        block.get_by_role("button", name="Annehmen").click()
    expect(page.locator("p.flash")).to_contain_text("„Zeitplan“ wurde hinzugefügt")
    expect(page.locator(f"#suggestion-{item_id}")).to_have_count(0)
    expect(page.locator("h2", has_text="Zeitplan")).to_be_visible()
    check_a11y(page)

    with live.app.app_context():
        decided = db.session.get(Suggestion, item_id)
        assert decided is not None and decided.status == SuggestionStatus.ACCEPTED
        made = db.session.get(Section, decided.section_id)
        assert made is not None and made.title == "Zeitplan"
        first = db.session.get(Section, live.people.section_id)
        assert first is not None and made.position == first.position + 1
        db.session.remove()
