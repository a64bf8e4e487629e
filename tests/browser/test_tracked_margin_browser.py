"""Issue 12 in the browser: a suggestion made in "Vorschlagsmodus" shown as tracked changes
and decided change by change with the keyboard only; @-mention autocomplete in a margin
reply; axe on the pages with tracked changes and margin comments."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    Comment,
    Notification,
    Section,
    Suggestion,
    SuggestionStatus,
    User,
)
from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login

pytestmark = pytest.mark.browser

SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."


def relogin(page: Page, live: LiveServer, email: str) -> None:
    page.context.clear_cookies()
    login(page, live, email)


def test_suggest_two_changes_accept_one_reject_one_with_the_keyboard(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.member)
    page.goto(live(f"/sections/{live.people.section_id}/suggest"))
    expect(page.locator("main")).to_contain_text("Vorschlagsmodus")
    check_a11y(page)  # the editor in suggest mode
    fill_markdown(page, "main textarea[name=body]", SUGGESTED)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/suggestions/\d+$"))
    check_a11y(page)
    suggestion_id = int(page.url.rsplit("/", 1)[1])

    relogin(page, live, live.people.editor)
    page.goto(live(f"/suggestions/{suggestion_id}"))
    text = page.locator(f"[data-tracked-text='{suggestion_id}']")
    expect(text.locator("ins")).to_have_count(2)
    expect(text.locator("ins").first).to_contain_text("eingefügt")  # announced, not colour only
    check_a11y(page)
    # Keyboard only: to the first change's "Annehmen", arrow to "Ablehnen", submit.
    first = page.locator("input[name=change-1][value=accept]")
    first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=change-1][value=reject]")).to_be_checked()
    expect(page.locator(f"#change-{suggestion_id}-1")).to_have_class(re.compile("change-rejected"))
    page.locator("button[name=decision][value=choice]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_a11y(page)
    expect(page.locator("p.flash")).to_contain_text("übernommen")

    with live.app.app_context():
        item = db.session.get(Suggestion, suggestion_id)
        assert item is not None
        assert item.status == SuggestionStatus.PARTLY_ACCEPTED
        assert item.decided_changes == {"accepted": [2], "rejected": [1]}
        section = db.session.get(Section, live.people.section_id)
        assert section is not None and section.head is not None
        assert section.head.number == item.base_version + 1  # exactly one new version
        assert section.head.body == "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
        assert section.head.author_id == item.author_id  # the suggester is credited
        db.session.remove()


def test_paper_page_with_tracked_changes_and_margin_comments_and_a_mention(
    page: Page, live_server: LiveServer
):
    live = live_server
    login(page, live, live.people.member)
    page.goto(live(f"/sections/{live.people.section_id}/suggest"))
    check_a11y(page)
    fill_markdown(page, "main textarea[name=body]", SUGGESTED)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/suggestions/\d+$"))
    check_a11y(page)
    page.goto(live(f"/sections/{live.people.section_id}/comments"))
    check_a11y(page)
    page.locator("#new-comment-form textarea[name=quote]").fill("vom Wohnen")
    page.locator("#new-comment-form textarea[name=body]").fill("Welche Flächen?")
    page.locator("#new-comment-form [type=submit]").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    check_a11y(page)

    relogin(page, live, live.people.editor)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live(f"/papers/{live.people.paper_id}"))
    section = page.locator(f"#section-{live.people.section_id}")
    expect(section.locator(".tracked-text ins")).to_have_count(2)
    thread = section.locator(".margin .margin-thread")
    expect(thread).to_contain_text("Welche Flächen?")
    expect(section.locator("mark.anchor")).to_have_text("vom Wohnen")
    # Wide screen: the thread sits beside the text, level with its passage or below it.
    body_box = section.locator(".section-body").bounding_box()
    thread_box = thread.bounding_box()
    assert body_box and thread_box and thread_box["x"] > body_box["x"] + body_box["width"]
    check_a11y(page)

    # Reply with a mention chosen from the autocomplete, keyboard only.
    section.locator(".margin-reply summary").focus()
    page.keyboard.press("Enter")
    reply = section.locator(".margin-reply textarea")
    reply.focus()
    page.keyboard.type("Frage an @rit")
    listbox = section.locator("[role=listbox]")
    expect(listbox.locator("[role=option]")).to_have_count(1)
    expect(reply).to_have_attribute("aria-expanded", "true")
    expect(reply).to_have_attribute("aria-activedescendant", re.compile(r"mention-list-\d+-0"))
    check_a11y(page)
    page.keyboard.press("Enter")
    expect(reply).to_have_value(re.compile(r"^Frage an @\[Rita Prüfung\]\(user:\d+\) $"))
    page.keyboard.type("bitte prüfen.")
    section.locator(".margin-reply button[type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#comment-\d+$"))
    expect(section.locator(".margin-thread")).to_contain_text("Frage an @Rita Prüfung bitte")

    with live.app.app_context():
        reviewer_id = db.session.scalar(select(User.id).where(User.email == live.people.reviewer))
        told = db.session.scalars(
            select(Notification).where(Notification.kind == "mentioned")
        ).all()
        assert [n.user_id for n in told] == [reviewer_id]
        stored = db.session.scalars(select(Comment).where(Comment.parent_id.is_not(None))).one()
        assert stored.body == f"Frage an @[Rita Prüfung](user:{reviewer_id}) bitte prüfen."
        db.session.remove()

    # Narrow screen: the comments follow the text.
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live(f"/papers/{live.people.paper_id}"))
    body_box = section.locator(".section-body").bounding_box()
    thread_box = section.locator(".margin .margin-thread").bounding_box()
    assert body_box and thread_box and thread_box["y"] >= body_box["y"] + body_box["height"]
    check_a11y(page)
