"""The API reference page runs Swagger UI in Chromium under the CSP, from local files only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, login

pytestmark = pytest.mark.browser


def test_the_reference_page_renders_the_document_without_csp_violations(
    page: Page, live_server: LiveServer
) -> None:
    live = live_server
    foreign: list[str] = []
    page.on(
        "request",
        lambda request: (
            foreign.append(request.url)
            if not request.url.startswith(live.url) and not request.url.startswith("data:")
            else None
        ),
    )
    login(page, live, live.people.editor)
    page.goto(live("/profile"))
    check_a11y(page)
    page.locator("a[href='/api/v1/docs']").click()
    page.wait_for_url(live("/api/v1/docs"))
    # Swagger UI fetched /api/v1/openapi.json and rendered its operations.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Konzeptwerk API")
    expect(
        page.locator(".opblock-summary-path[data-path='/sections/{section_id}']").first
    ).to_be_visible()
    page.locator("#operations-default-saveSection .opblock-summary-control").click()
    expect(page.locator("#operations-default-saveSection")).to_contain_text("base_version")
    check_a11y(page)
    assert foreign == []
