"""Two people editing one section in two browsers: merges, conflicts and autosaved drafts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

AUTOSAVE_WAIT_MS = 10_000  # editor.js autosaves every 3 s


def open_editor(page: Page, live: LiveServer) -> None:
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page)


def is_save(live: LiveServer) -> Callable[[Response], bool]:
    edit_url = live(f"/sections/{live.people.section_id}/edit")
    return lambda r: r.url == edit_url and r.request.method == "POST"


def is_autosave(live: LiveServer) -> Callable[[Response], bool]:
    draft_url = live(f"/sections/{live.people.section_id}/draft")
    return lambda r: r.url == draft_url and r.request.method == "POST"


def type_and_wait_for_autosave(page: Page, live: LiveServer, body: str) -> None:
    with page.expect_response(is_autosave(live), timeout=AUTOSAVE_WAIT_MS) as autosaved:
        fill_markdown(page, "#section-editor textarea[name=body]", body)
    assert autosaved.value.ok, autosaved.value.status
    expect(page.locator("#autosave-status")).not_to_be_empty()


def newest_version(live: LiveServer):
    with live.app.app_context():
        return section_flow.history(live.people.section_id)[0]


def test_second_save_merges_when_the_edits_touch_different_paragraphs(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    assert live.people.section_body == "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."
    cora, emil = new_page(), new_page()
    login(cora, live, live.people.coordinator)
    login(emil, live, live.people.editor)
    open_editor(cora, live)
    open_editor(emil, live)

    fill_markdown(
        cora,
        "#section-editor textarea[name=body]",
        "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen.",
    )
    cora.locator("#section-editor [type=submit]").click()
    cora.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(cora)

    fill_markdown(
        emil,
        "#section-editor textarea[name=body]",
        "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt.",
    )
    with emil.expect_response(is_save(live)) as saved:
        emil.locator("#section-editor [type=submit]").click()
    assert saved.value.status == 302
    emil.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(emil)
    flash = emil.locator(".flash")
    expect(flash).to_contain_text("3")
    expect(flash).to_contain_text("2")  # "... merged with version 2 ..."
    if emil.locator("html").get_attribute("lang") == "en":
        expect(flash).to_contain_text("merged")
    section = emil.locator(f"#section-{live.people.section_id}")
    expect(section).to_contain_text("vom Handel und vom Handwerk.")
    expect(section).to_contain_text("Und vom Wohnen am Markt.")
    newest = newest_version(live)
    assert (newest.number, newest.merged_with) == (3, 2)


def test_same_words_changed_twice_shows_the_conflict_and_keeps_my_text(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    mine = "Die Innenstadt lebt vom Großhandel.\n\nUnd vom Wohnen."
    cora, emil = new_page(), new_page()
    login(cora, live, live.people.coordinator)
    login(emil, live, live.people.editor)
    open_editor(cora, live)
    open_editor(emil, live)

    fill_markdown(
        cora,
        "#section-editor textarea[name=body]",
        "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen.",
    )
    cora.locator("#section-editor [type=submit]").click()
    cora.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(cora)

    type_and_wait_for_autosave(emil, live, mine)
    with emil.expect_response(is_save(live)) as saved:
        emil.locator("#section-editor [type=submit]").click()
    assert saved.value.status == 409
    emil.wait_for_load_state()
    check_a11y(emil)
    expect(emil.locator("#conflict-form")).to_be_visible()
    expect(emil.locator("textarea[name=yours]")).to_have_value(mine)
    expect(emil.locator("#conflict-0 .theirs")).to_contain_text("Einzelhandel")
    expect(emil.locator("#conflict-0 .yours")).to_contain_text("Großhandel")
    assert newest_version(live).number == 2, "a conflicting save must not be stored"

    # A reload cannot re-send the POST; what survives is the autosaved draft.
    again = new_page(same_browser_as=emil)
    open_editor(again, live)
    expect(again.locator("#draft-offer")).to_be_visible()
    expect(again.locator("#draft-text")).to_have_text(mine)
    again.close()

    emil.locator("#choice-0-yours").check()
    with emil.expect_response(lambda r: r.url.endswith("/resolve")) as applied:
        emil.locator("#conflict-form [name=apply]").click()
    assert applied.value.status == 409
    emil.wait_for_load_state()
    check_a11y(emil)
    expect(emil.locator("#choice-0-yours")).to_be_checked()
    expect(emil.locator("textarea[name=combined]")).to_have_value(mine)

    emil.locator("#conflict-form [name=submit]").click()
    emil.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(emil)
    section = emil.locator(f"#section-{live.people.section_id}")
    expect(section).to_contain_text("Die Innenstadt lebt vom Großhandel.")
    expect(section).not_to_contain_text("Einzelhandel")
    assert newest_version(live).number == 3

    # Saving cleared the draft: the editor no longer offers it.
    open_editor(emil, live)
    expect(emil.locator("#draft-offer")).to_have_count(0)


def test_autosaved_draft_is_restored_in_another_browser(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    typed = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen über den Läden, auch nachts."
    first = new_page()
    login(first, live, live.people.editor)
    open_editor(first, live)
    type_and_wait_for_autosave(first, live, typed)
    first.context.close()  # closing the browser without saving

    second = new_page()
    login(second, live, live.people.editor)
    open_editor(second, live)
    offer = second.locator("#draft-offer")
    expect(offer).to_be_visible()
    expect(second.locator("#section-editor textarea[name=body]")).to_have_value(
        live.people.section_body
    )
    second.locator("#restore-draft").click()
    expect(offer).to_be_hidden()
    expect(second.locator("#section-editor textarea[name=body]")).to_have_value(typed)
    # The visual editor shows the restored text and has the focus (the textarea it
    # enhances is hidden; it still holds the text that is submitted).
    editor = second.locator("#section-editor [role=textbox]")
    expect(editor).to_contain_text("auch nachts")
    expect(editor).to_be_focused()
    assert newest_version(live).number == 1, "a draft is not a version"
