"""Writing a paper in the browser: log in, create, add and edit a section, compare, switch language.

Every page visited is checked with axe-core (see ``check_a11y`` in the conftest).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login

pytestmark = pytest.mark.browser

GERMAN_CATALOG = (
    Path(__file__).resolve().parents[2] / "drafting/translations/de/LC_MESSAGES/messages.mo"
)


def test_write_a_paper_from_login_to_comparing_versions(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.coordinator)

    page.locator("main a[href$='/papers/new']").click()
    page.wait_for_url(live("/papers/new"))
    check_a11y(page)
    page.locator("main input[name=title]").fill("Konzept Bahnhofsviertel")
    page.locator("main textarea[name=summary]").fill("Wie das Viertel am Bahnhof belebt wird.")
    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+$"))
    check_a11y(page)
    expect(page.locator("main h1")).to_have_text("Konzept Bahnhofsviertel")

    page.locator("main a[href*='/sections/new']").click()
    page.wait_for_url(re.compile(r"/sections/new"))
    check_a11y(page)
    page.locator("main input[name=title]").fill("Ausgangslage")
    page.locator("main select[name=level]").select_option("1")
    fill_markdown(
        page,
        "main textarea[name=body]",
        "Der Bahnhof ist abends leer.\n\nDie Läden schließen früh.",
    )
    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+(#section-\d+)?$"))
    check_a11y(page)
    section = page.locator(".paper > section", has_text="Ausgangslage")
    expect(section.locator("h2")).to_contain_text("1 Ausgangslage")
    expect(section).to_contain_text("Der Bahnhof ist abends leer.")

    section.locator("a[href$='/edit']").click()
    page.wait_for_url(re.compile(r"/sections/\d+/edit$"))
    check_a11y(page)
    fill_markdown(
        page,
        "main textarea[name=body]",
        "Der Bahnhof ist abends belebt.\n\nDie Läden schließen früh.",
    )
    page.locator("main input[name=note]").fill("Ziel statt Zustand")
    page.locator("#section-editor [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+(#section-\d+)?$"))
    check_a11y(page)
    expect(page.locator(".flash")).to_contain_text("2")
    section = page.locator(".paper > section", has_text="Ausgangslage")
    expect(section).to_contain_text("Der Bahnhof ist abends belebt.")

    section.locator("details.action-menu summary").click()  # the section's menu (issue 15)
    section.locator("a[href$='/history']").click()
    page.wait_for_url(re.compile(r"/sections/\d+/history$"))
    check_a11y(page)
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/sections/\d+/compare\?"))
    check_a11y(page)
    assert parse_qs(urlsplit(page.url).query) == {"from": ["1"], "to": ["2"]}
    inline = page.locator(".inline-diff")
    expect(inline.locator("del")).to_contain_text("leer")
    expect(inline.locator("ins")).to_contain_text("belebt")
    expect(page.locator("table.side-by-side tr.changed")).not_to_have_count(0)


def test_switch_the_language_in_the_header(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.editor)
    html = page.locator("html")
    logout = page.locator("header nav button[type=submit]")
    expect(html).to_have_attribute("lang", "de")
    german = logout.inner_text()

    page.locator("#language-select").select_option("en")
    page.locator("form.language-switch [type=submit]").click()
    expect(html).to_have_attribute("lang", "en")
    page.wait_for_url(live("/"))
    check_a11y(page)
    expect(logout).to_have_text("Log out")
    expect(page.locator("#language-select")).to_have_value("en")
    if GERMAN_CATALOG.exists():
        assert german != "Log out", "German is the default but the header is not German"

    # The choice belongs to the account: it holds on the next page.
    page.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(page)
    expect(html).to_have_attribute("lang", "en")

    page.locator("#language-select").select_option("de")
    page.locator("form.language-switch [type=submit]").click()
    expect(html).to_have_attribute("lang", "de")
    page.wait_for_url(live(f"/papers/{live.people.paper_id}"))
    expect(logout).to_have_text(german)


def test_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_main(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(page)

    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_class(re.compile(r"\bskip-link\b"))
    box = focused.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "skip link not visible on focus"

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    assert page.url.endswith("#main")

    # From main, Tab goes on into the content, not back into the header.
    page.keyboard.press("Tab")
    in_main = page.evaluate("document.activeElement.closest('main') !== null")
    assert in_main, "Tab after the skip link left the main content"
