"""The conflict page in two browsers: whole sentences, who wrote the other one, and the
primary button saving exactly the choices shown (issue 11)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

THEIRS = (
    "Erstens richten die Städte bis 2027 ein gemeinsames Flächenmanagement ein.\n\nUnd vom Wohnen."
)
MINE = (
    "Erstens wird bis 2027 ein regionales Flächenmanagement aufgebaut.\n\nUnd vom Wohnen am Markt."
)
BASE = "Erstens richten die Städte bis 2027 ein Flächenmanagement ein.\n\nUnd vom Wohnen."


def save(page: Page, live: LiveServer, body: str) -> None:
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page)
    fill_markdown(page, "#section-editor textarea[name=body]", body)
    page.locator("#section-editor [type=submit]").click()


def test_same_sentence_conflict_shows_whole_sentences_and_the_primary_button_saves_mine(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    cora, emil = new_page(), new_page()
    login(cora, live, live.people.coordinator)
    login(emil, live, live.people.editor)
    save(cora, live, BASE)  # version 2: the sentence both will change
    cora.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(cora)

    emil.goto(live(f"/sections/{live.people.section_id}/edit"))  # Emil starts from version 2
    check_a11y(emil)
    save(cora, live, THEIRS)  # Cora saves version 3 meanwhile
    cora.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(cora)
    fill_markdown(emil, "#section-editor textarea[name=body]", MINE)
    emil.locator("#section-editor [type=submit]").click()
    emil.wait_for_load_state()
    check_a11y(emil)

    region = emil.locator("#conflict-0")
    expect(emil.locator("#conflict-1")).to_have_count(0)
    # Whole sentences on each side, never a mix of words.
    expect(region.locator(".conflict-was")).to_contain_text(BASE.split("\n")[0])
    # (The text shown marks changed words with hidden labels for screen readers.)
    expect(region.locator(".side.theirs .region-text")).to_have_attribute(
        "data-text", "Erstens richten die Städte bis 2027 ein gemeinsames Flächenmanagement ein."
    )
    expect(region.locator(".side.yours .region-text")).to_have_attribute(
        "data-text", "Erstens wird bis 2027 ein regionales Flächenmanagement aufgebaut."
    )
    expect(region.locator(".side.yours .region-text ins").last).to_contain_text("aufgebaut")
    expect(region.locator(".side.theirs .region-text ins")).to_contain_text("gemeinsames")
    # Who wrote the other sentence.
    expect(emil.locator(".notice").first).to_contain_text("Cora Koordination")
    expect(region).to_contain_text("Cora Koordination")
    # The second paragraph merged: Emil's change there is already in the combined text.
    combined = emil.locator("textarea[name=combined]")
    expect(combined).to_have_value(THEIRS.replace("Wohnen.", "Wohnen am Markt."))

    emil.locator("#choice-0-yours").check()
    expect(combined).to_have_value(MINE)  # updated live, before saving
    check_a11y(emil)
    emil.locator("#conflict-form [name=submit]").click()
    emil.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(emil)
    with live.app.app_context():
        newest = section_flow.history(live.people.section_id)[0]
        assert (newest.number, newest.body) == (4, MINE)
