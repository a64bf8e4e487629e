"""Review in the browser: a reviewer approves a section, the editor's next save resets the
approval (seen on the paper page), the reviewer re-approves from the diff, and an editor
accepts a member's suggestion. Every page is checked with axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import PaperRole, Role, SectionVersion, User
from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

EDITED = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Fluss."
SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen am Fluss."


def reviewer_email(live: LiveServer) -> str:
    """The e-mail address of the paper's reviewer in the seeded world."""
    with live.app.app_context():
        email = db.session.scalar(
            select(User.email)
            .join(PaperRole, PaperRole.user_id == User.id)
            .where(PaperRole.paper_id == live.people.paper_id, PaperRole.role == Role.REVIEWER)
        )
        db.session.remove()
    assert email
    return email


def newest(live: LiveServer) -> SectionVersion:
    with live.app.app_context():
        version = section_flow.history(live.people.section_id)[0]
        db.session.expunge(version)
        db.session.remove()
    return version


def goto(page: Page, live: LiveServer, path: str) -> None:
    page.goto(live(path))
    check_a11y(page)


def click_and_check(page: Page, selector: str, url: re.Pattern[str] | str) -> None:
    """Click, wait for the page the click leads to, and check it."""
    page.locator(selector).click()
    page.wait_for_url(url)
    check_a11y(page)


def section_on_paper(page: Page, live: LiveServer):  # type: ignore[no-untyped-def]
    return page.locator(f"#section-{live.people.section_id}")


def test_approve_reset_by_an_edit_reapprove_and_accept_a_suggestion(
    new_page: Callable[..., Page], live_server: LiveServer
):
    live = live_server
    sid = live.people.section_id
    paper_path = f"/papers/{live.people.paper_id}"
    review_url = re.compile(rf"/sections/{sid}/review$")

    # The editor submits the section for review.
    emil = new_page()
    login(emil, live, live.people.editor)
    goto(emil, live, f"/sections/{sid}/review")
    expect(emil.locator("main .review-state")).to_have_class(re.compile("state-draft"))
    click_and_check(emil, "main form[action$='/submit'] [type=submit]", review_url)
    expect(emil.locator("main .review-state")).to_have_class(re.compile("state-in_review"))

    # The reviewer finds it on "my work" and approves it.
    rita = new_page()
    login(rita, live, reviewer_email(live))
    goto(rita, live, "/my-work")
    click_and_check(rita, f"#review-heading + ul a[href$='/sections/{sid}/review']", review_url)
    expect(rita.locator("main")).to_contain_text(live.people.section_body.split("\n")[0])
    click_and_check(rita, "main form[action$='/approve'] [type=submit]", review_url)
    expect(rita.locator("main .review-state")).to_have_class(re.compile("state-approved"))
    expect(rita.locator("main ul.events")).to_contain_text("Rita")
    goto(rita, live, paper_path)
    expect(section_on_paper(rita, live).locator(".review-state")).to_have_class(
        re.compile("state-approved")
    )
    expect(rita.locator("#review-progress")).to_have_attribute("value", "1")

    # The editor sees the approval, edits the text, and sees the approval reset.
    goto(emil, live, paper_path)
    section = section_on_paper(emil, live)
    expect(section.locator(".review-state")).to_have_class(re.compile("state-approved"))
    click_and_check(
        emil,
        f"#section-{sid} a[href$='/sections/{sid}/edit']",
        re.compile(rf"/sections/{sid}/edit$"),
    )
    fill_markdown(emil, "#section-editor textarea[name=body]", EDITED)
    click_and_check(emil, "#section-editor [type=submit]", re.compile(r"/papers/\d+#section-\d+$"))
    section = section_on_paper(emil, live)
    expect(section).to_contain_text("Und vom Wohnen am Fluss.")
    expect(section.locator(".review-state")).to_have_class(re.compile("state-draft"))
    expect(emil.locator("#review-progress")).to_have_attribute("value", "0")
    assert newest(live).number == 2

    # The reviewer re-approves in one click, from the diff against the approved version.
    goto(rita, live, f"/sections/{sid}/review")
    expect(rita.locator("main .inline-diff ins")).to_contain_text("am Fluss")
    expect(rita.locator("main ul.events")).to_contain_text("1")  # v1 approved stays listed
    click_and_check(rita, "main form[action$='/approve'] [type=submit]", review_url)
    expect(rita.locator("main .review-state")).to_have_class(re.compile("state-approved"))

    # A member suggests a change; the editor accepts it; the approval resets once more.
    max_ = new_page()
    login(max_, live, live.people.member)
    goto(max_, live, paper_path)
    click_and_check(
        max_,
        f"#section-{sid} a[href$='/sections/{sid}/suggest']",
        re.compile(rf"/sections/{sid}/suggest$"),
    )
    fill_markdown(max_, "main textarea[name=body]", SUGGESTED)
    max_.locator("main textarea[name=note]").fill("Das Handwerk fehlt.")
    click_and_check(max_, "main form [type=submit]", re.compile(r"/suggestions/\d+$"))
    expect(max_.locator("main .inline-diff ins")).to_contain_text("und vom Handwerk")
    expect(max_.locator("main form[action$='/accept']")).to_have_count(0)

    goto(emil, live, paper_path)
    click_and_check(
        emil,
        f"#section-{sid} a[href$='/sections/{sid}/suggestions']",
        re.compile(rf"/sections/{sid}/suggestions$"),
    )
    click_and_check(emil, "main ul a[href*='/suggestions/']", re.compile(r"/suggestions/\d+$"))
    expect(emil.locator("main .note")).to_contain_text("Das Handwerk fehlt.")
    click_and_check(
        emil, "main form[action$='/accept'] [type=submit]", re.compile(r"/suggestions/\d+$")
    )
    expect(emil.locator(".flash")).to_contain_text("3")
    goto(emil, live, paper_path)
    section = section_on_paper(emil, live)
    expect(section).to_contain_text("und vom Handwerk")
    expect(section.locator(".review-state")).to_have_class(re.compile("state-draft"))
    version = newest(live)
    assert (version.number, version.body) == (3, SUGGESTED)
    assert version.author.email == live.people.member

    # The timeline of all this, and the suggester's work page.
    goto(emil, live, f"/papers/{live.people.paper_id}/activity")
    expect(emil.locator("table.activity")).to_contain_text("suggestion.accepted")
    expect(emil.locator("table.activity")).to_contain_text("review.approval_reset")
    goto(max_, live, "/my-work")
