"""An editor whose login expires while writing is told so by the autosave (ASVS V3.3.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect
from sqlalchemy import update

from drafting.extensions import db
from drafting.models import LoginSession, utcnow
from tests.browser.conftest import LiveServer, check_a11y, fill_markdown, login

pytestmark = pytest.mark.browser

EXPIRED = "Your session has expired. Please log in again."


def test_v3_3_2_autosave_says_that_the_session_expired(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page, once_per_session=True)
    with live.app.app_context():
        idle = utcnow() - timedelta(hours=3)
        db.session.execute(update(LoginSession).values(last_seen_at=idle))
        db.session.commit()
        with force_locale("de"):
            expired = gettext(EXPIRED)
    fill_markdown(page, "main textarea[name=body]", "Nach der Mittagspause weitergeschrieben.")
    expect(page.locator("#autosave-status")).to_have_text(expired, timeout=10_000)
    # The text is still in the form, and reloading leads to the login form.
    expect(page.locator("main textarea[name=body]")).to_have_value(
        "Nach der Mittagspause weitergeschrieben."
    )
    page.reload()
    expect(page).to_have_url(live(f"/login?next=/sections/{live.people.section_id}/edit"))
    check_a11y(page, once_per_session=True)
