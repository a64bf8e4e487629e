"""Figures and footnotes in the browser: upload from the edit page, see them on the paper.

The upload button sends the image with JavaScript and inserts the figure's line at the end of
the Markdown; after saving, the paper shows the picture with "Abbildung 1:" and the footnote
with its back-link. Pages are checked with axe-core.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login

pytestmark = pytest.mark.browser


def test_upload_a_figure_and_write_a_footnote(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    chart = tmp_path / "chart.png"
    out = io.BytesIO()
    Image.new("RGB", (600, 300), (30, 90, 160)).save(out, format="PNG")
    chart.write_bytes(out.getvalue())
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    fill_markdown(
        page,
        "main textarea[name=body]",
        "Laut Zählung steigt die Frequenz[^1].\n\n[^1]: Zählung der IHK, 2024.",
    )
    page.locator("#figure-file").set_input_files(str(chart))
    page.locator("#figure-caption").fill("Passanten 2024")
    page.locator("#figure-submit").click()
    expect(page.locator("#figure-status")).to_contain_text("(figure:")
    body = page.locator("main textarea[name=body]").input_value()
    assert re.search(r"\[\^1\]: Zählung der IHK, 2024\.\n\n!\[Passanten 2024\]\(figure:\d+\)", body)
    assert page.url.endswith("/edit")  # no page change: nothing typed is lost
    check_a11y(page)
    page.locator("#section-editor [type=submit].primary").click()
    page.wait_for_url(re.compile(r"/papers/\d+(#section-\d+)?$"))
    figure = page.locator("figure.md-figure").first
    expect(figure.locator("figcaption")).to_have_text("Abbildung 1: Passanten 2024")
    expect(figure.locator("img")).to_have_js_property("naturalWidth", 600)
    expect(page.locator(".footnote-ref a").first).to_have_attribute("aria-label", "Fußnote 1")
    expect(page.locator(".footnote-backref").first).to_have_attribute(
        "aria-label", "Zurück zum Text"
    )
    check_a11y(page)
    assert not live.errors
