"""Search from the header and the print view, in Chromium.

"/" focuses the search box, a result leads to the passage with the words marked, and the
print view prints the paper to a PDF whose text pdftotext can read.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, login

pytestmark = pytest.mark.browser


def test_slash_focuses_search_and_a_result_marks_the_passage(
    page: Page, live_server: LiveServer
) -> None:
    live = live_server
    login(page, live, live.people.member)
    page.locator("main").click()
    page.keyboard.press("/")
    box = page.locator("#site-search-q")
    expect(box).to_be_focused()
    box.fill("Innenstädten")
    box.press("Enter")
    page.wait_for_url("**/search?q=*")
    check_a11y(page)
    result = page.locator(".search-results li").filter(has_text="Ausgangslage")
    expect(result.locator(".search-snippet mark")).to_have_text("Innenstadt")
    result.locator("a").first.click()
    page.wait_for_url(f"**/papers/{live.people.paper_id}?highlight=*")
    check_a11y(page)
    marked = page.locator(f"#section-{live.people.section_id} mark.search-hit")
    expect(marked).to_have_count(1)
    expect(marked).to_have_text("Innenstadt")
    expect(marked).to_be_in_viewport()


def test_print_view_prints_the_paper_to_pdf(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    login(page, live, live.people.member)
    page.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(page)
    page.locator("main a[href$='/print']").click()
    page.wait_for_url(live(f"/papers/{live.people.paper_id}/print"))
    check_a11y(page)
    expect(page.locator("#print-now")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".print-toolbar")).to_be_hidden()
    pdf = tmp_path / "paper.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; the PDF was made")
    text = subprocess.run(  # noqa: S603 - fixed program, our own file
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert live.people.paper_title in text
    assert "Die Innenstadt lebt vom Handel." in text
    assert "Ausgangslage" in text
    assert "Abmelden" not in text and "Drucken oder als PDF speichern" not in text
    # Title and contents on page 1, the sections from page 2; numbers in the footer (@page).
    pages = text.split("\f")
    assert "Inhalt" in pages[0] and "Die Innenstadt lebt" in pages[1]
    assert re.search(r"\b1\s*/\s*2\b", pages[0]) and re.search(r"\b2\s*/\s*2\b", pages[1])
