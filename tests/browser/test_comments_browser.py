"""Comment on a selected passage in the browser (a scratch check of comments.js)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login

pytestmark = pytest.mark.browser


def select_text(page: Page, container: str, text: str) -> None:
    page.evaluate(
        """([selector, text]) => {
            const root = document.querySelector(selector);
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.data.indexOf(text);
                if (at >= 0) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + text.length);
                    const selection = window.getSelection();
                    selection.removeAllRanges();
                    selection.addRange(range);
                    return;
                }
            }
            throw new Error("text not found: " + text);
        }""",
        [container, text],
    )


def test_comment_on_a_selected_passage_survives_an_edit_elsewhere(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.member)
    page.goto(live(f"/papers/{live.people.paper_id}"))
    check_a11y(page)
    body = f"#section-{live.people.section_id} .section-body"
    button = page.locator("p.comment-on-passage button")
    expect(button).to_be_hidden()
    select_text(page, body, "vom Handel")
    expect(button).to_be_visible()
    check_a11y(page)
    # On the paper page (issue 12): "Kommentieren" opens a comment box in the margin.
    expect(button).to_have_text("Kommentieren")
    button.click()
    box = page.locator(f"#section-{live.people.section_id} .margin [data-margin-form]")
    expect(box).to_be_visible()
    expect(box.locator("input[name=quote]")).to_have_value("vom Handel")
    expect(box.locator("textarea[name=body]")).to_be_focused()
    check_a11y(page)
    box.locator("textarea[name=body]").fill("Und die Gastronomie?")
    box.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#comment-\d+$"))
    check_a11y(page)
    section = page.locator(f"#section-{live.people.section_id}")
    expect(section.locator(".section-body mark.anchor")).to_have_text("vom Handel")
    expect(section.locator(".margin .margin-thread")).to_contain_text("Und die Gastronomie?")
    page.goto(live(f"/sections/{live.people.section_id}/comments"))
    expect(page.locator("main .section-body mark.anchor")).to_have_text("vom Handel")

    # On the discussion page the button fills the form in place, with the keyboard too.
    select_text(page, "main .section-body", "Wohnen")
    expect(button).to_be_visible()
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#new-comment-form textarea[name=quote]")).to_have_value("Wohnen")
    expect(page.locator("#new-comment-form textarea[name=body]")).to_be_focused()
    check_a11y(page)

    # The editor edits the section before the passage; the comment keeps its passage.
    editor = page.context.browser.new_context(locale="de-DE")
    other = editor.new_page()
    other.goto(live("/login"))
    other.locator("main input[name=email]").fill(live.people.editor)
    other.locator("main input[name=password]").fill("correct-horse-battery")
    other.locator("main form [type=submit]").click()
    other.wait_for_url(live("/"))
    other.goto(live(f"/sections/{live.people.section_id}/edit"))
    fill_markdown(
        other,
        "main textarea[name=body]",
        "Die lebendige Innenstadt lebt vom Handel.\n\nUnd vom Wohnen.",
    )
    other.locator("#section-editor [type=submit]").click()
    other.wait_for_url(re.compile(r"/papers/\d+"))
    editor.close()

    page.goto(live(f"/sections/{live.people.section_id}/comments"))
    check_a11y(page)
    expect(page.locator("main .section-body mark.anchor")).to_have_text("vom Handel")
    expect(page.locator("main .section-body")).to_contain_text("Die lebendige Innenstadt")
