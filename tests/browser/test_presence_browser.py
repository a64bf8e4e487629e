"""Editing together in two browsers: who is editing now, a newer version while typing (and its
merge into the editor), Ctrl+S and the focus after saving, and the read-only frozen paper."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Paper, PaperStatus, User
from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

BODY = "#section-editor textarea[name=body]"


def open_editor(page: Page, live: LiveServer) -> None:
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    expect(page.locator(".visual-editor")).to_have_attribute("data-ready", "true")
    check_a11y(page)


def fast(live: LiveServer, heartbeat: float = 1, ttl: float = 30) -> None:
    """Shorter heartbeats for the tests that are not about the intervals themselves."""
    live.app.config.update(PRESENCE_HEARTBEAT_SECONDS=heartbeat, PRESENCE_TTL_SECONDS=ttl)


def newest_version(live: LiveServer):
    with live.app.app_context():
        return section_flow.history(live.people.section_id)[0]


def test_presence_appears_and_goes_with_the_default_intervals(
    new_page: Callable[..., Page], live_server: LiveServer
):
    """Within 15 s of opening the editor others see it; within 45 s of closing it is gone."""
    live = live_server
    assert live.app.config["PRESENCE_HEARTBEAT_SECONDS"] == 12
    assert live.app.config["PRESENCE_TTL_SECONDS"] == 30
    emil, cora = new_page(), new_page()
    login(emil, live, live.people.editor)
    login(cora, live, live.people.coordinator)
    open_editor(emil, live)
    paper = new_page(same_browser_as=emil)
    paper.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(paper)
    mark = paper.locator(f"[data-presence-section='{live.people.section_id}']")
    expect(mark).to_be_hidden()

    started = time.monotonic()
    open_editor(cora, live)
    status = emil.locator("#presence-status")
    expect(status).to_have_text(
        "Cora Koordination (MIN) bearbeitet diesen Abschnitt gerade", timeout=15_000
    )
    assert time.monotonic() - started < 15
    expect(mark).to_have_text(
        "Cora Koordination (MIN) bearbeitet diesen Abschnitt gerade", timeout=15_000
    )
    check_a11y(emil)
    check_a11y(paper)

    closed = time.monotonic()
    cora.close()
    expect(status).to_have_text("", timeout=45_000)
    expect(mark).to_be_hidden(timeout=45_000)
    assert time.monotonic() - closed < 45
    check_a11y(emil)


def test_newer_version_notice_and_its_merge_into_the_editor(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    fast(live)
    emil, cora = new_page(), new_page()
    login(emil, live, live.people.editor)
    login(cora, live, live.people.coordinator)
    open_editor(emil, live)
    open_editor(cora, live)
    expect(emil.locator("#presence-status")).to_contain_text("Cora Koordination (MIN)")
    fill_markdown(emil, BODY, "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt.")

    fill_markdown(cora, BODY, "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen.")
    cora.locator("#section-editor [type=submit]").click()
    cora.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(cora)

    notice = emil.locator("#newer-version")
    expect(notice).to_have_text(
        "Cora Koordination hat Fassung 2 gespeichert — Änderungen ansehen", timeout=15_000
    )
    link = notice.get_by_role("link", name="Änderungen ansehen")
    assert link.get_attribute("href") == f"/sections/{live.people.section_id}/compare?from=1&to=2"
    # Cora left the editor by saving: her presence is gone.
    expect(emil.locator("#presence-status")).to_have_text("")
    check_a11y(emil)

    emil.get_by_role("button", name="Diese Fassung jetzt in meinen Text übernehmen").click()
    merged = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Markt."
    expect(emil.locator(BODY)).to_have_value(merged)
    expect(emil.locator("#section-editor [name=base_version]")).to_have_value("2")
    expect(emil.locator("#merge-outcome")).to_contain_text("Fassung 2 ist in Ihren Text übernommen")
    expect(notice).to_have_text("")
    check_a11y(emil)

    emil.keyboard.press("Control+S")
    emil.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(emil)
    expect(emil.locator(".flash")).to_contain_text("Als Fassung 3 gespeichert.")
    newest = newest_version(live)
    assert (newest.number, newest.merged_with, newest.body) == (3, None, merged)


def test_merge_into_the_editor_shows_conflicts_and_keeps_my_text(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    fast(live)
    emil = new_page()
    login(emil, live, live.people.editor)
    open_editor(emil, live)
    mine = "Die Innenstadt lebt vom Großhandel.\n\nUnd vom Wohnen."
    fill_markdown(emil, BODY, mine)
    with live.app.app_context():
        coordinator = db.session.scalar(select(User).filter_by(email=live.people.coordinator))
        assert coordinator is not None
        section_flow.save_section(
            coordinator,
            live.people.section_id,
            body="Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen.",
            base_version=1,
        )
    expect(emil.locator("#newer-version")).to_contain_text("Fassung 2", timeout=15_000)
    emil.get_by_role("button", name="Diese Fassung jetzt in meinen Text übernehmen").click()
    outcome = emil.locator("#merge-outcome")
    expect(outcome).to_contain_text("blieb Ihr Text stehen")
    expect(outcome.locator("blockquote").first).to_contain_text("Einzelhandel")
    expect(outcome.locator("blockquote").nth(1)).to_contain_text("Großhandel")
    expect(emil.locator(BODY)).to_have_value(mine)
    expect(emil.locator("#section-editor [name=base_version]")).to_have_value("2")
    check_a11y(emil)


def test_ctrl_s_saves_from_the_visual_editor_and_focus_returns_to_the_section(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.editor)
    open_editor(page, live)
    editor = page.locator("#section-editor [role=textbox]")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Auch nachts.")
    page.keyboard.press("Control+S")
    page.wait_for_url(re.compile(rf"/papers/\d+#section-{live.people.section_id}$"))
    heading = page.locator(f"#section-{live.people.section_id}-h")
    expect(heading).to_be_focused()
    check_a11y(page)
    assert newest_version(live).body.endswith("Auch nachts.")


def _freeze(live: LiveServer) -> None:
    with live.app.app_context():
        paper = db.session.get(Paper, live.people.paper_id)
        assert paper is not None
        paper.status = PaperStatus.SIGNING
        db.session.commit()


def test_a_frozen_paper_offers_no_editable_form(page: Page, live_server: LiveServer):
    live = live_server
    _freeze(live)
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(page)
    section = page.locator(f"#section-{live.people.section_id}")
    expect(section.get_by_role("link", name=re.compile("Bearbeiten"))).to_have_count(0)
    expect(section.get_by_role("link", name=re.compile("Änderung vorschlagen"))).to_have_count(0)
    for path in (
        f"/sections/{live.people.section_id}/edit",
        f"/sections/{live.people.section_id}/suggest",
        f"/papers/{live.people.paper_id}/sections/new",
    ):
        page.goto(live(path))
        check_a11y(page)
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("#locked-text")).to_have_attribute("readonly", "")
        expect(page.locator("#locked-notice")).to_contain_text("Mitzeichnung")
        expect(page.get_by_role("link", name="Zur Mitzeichnung")).to_be_visible()


def test_a_save_from_an_old_tab_keeps_the_text_when_the_paper_froze_meanwhile(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.editor)
    open_editor(page, live)
    typed = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen, auch nachts."
    fill_markdown(page, BODY, typed)
    _freeze(live)
    page.locator("#section-editor [type=submit]").click()
    expect(page.locator("#locked-notice")).to_contain_text("Nicht gespeichert")
    check_a11y(page)
    expect(page.locator("#locked-text")).to_have_value(typed)
    assert newest_version(live).number == 1
