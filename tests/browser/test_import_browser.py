"""Word import in the browser (issue 14): the preview lists what would be lost, "Importieren"
imports, the report page follows; every page is checked with axe-core."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, login

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_preview_then_import_then_report(page: Page, live_server: LiveServer) -> None:
    live = live_server
    login(page, live, live.people.coordinator)
    page.goto(live("/papers/import"))
    check_a11y(page)
    page.locator("main input[type=file]").set_input_files(
        str(CORPUS / "python-docx" / "tbl-cell-access.docx")
    )
    page.locator("main form [type=submit]").click()
    expect(page.locator("main h1")).to_have_text("Vorschau des Imports")
    expect(page.locator("main table")).to_contain_text("Verbundene Zellen")
    check_a11y(page)
    page.locator("main form [type=submit]").click()
    expect(page.locator("main h1")).to_have_text("Importbericht")
    check_a11y(page)
    page.locator("main a.button.primary").click()
    expect(page.locator("main h1")).to_contain_text("tbl-cell-access")
    check_a11y(page)
    assert not live.errors
