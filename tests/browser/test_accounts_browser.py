"""Invitation → set password → lands on the paper; password reset by e-mail (issue 16)."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_a11y, login
from workflows import jobs

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Kastanienallee-Wochenmarkt-7"
LINK = re.compile(r"https?://\S+?(/(?:invitation|password/reset)/[A-Za-z0-9_-]+)")


@pytest.fixture
def outbox(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> list[EmailMessage]:
    """The e-mails the live app sends (the real job path; the SMTP call replaced)."""
    sent: list[EmailMessage] = []
    live_server.app.config["MAIL_SERVER"] = "smtp.invalid"
    monkeypatch.setattr(jobs, "_send", sent.append)
    return sent


def last_link(outbox: list[EmailMessage], count: int) -> str:
    assert jobs.wait_for_background_jobs(10)
    assert len(outbox) == count
    found = LINK.search(outbox[-1].get_content())
    assert found, outbox[-1].get_content()
    return found.group(1)


def test_invitation_lands_on_the_paper(
    page: Page,
    new_page: Callable[..., Page],
    live_server: LiveServer,
    outbox: list[EmailMessage],
) -> None:
    live = live_server
    login(page, live, live.people.coordinator)
    page.goto(live(f"/papers/{live.people.paper_id}/settings"))
    check_a11y(page)
    form = page.locator("form[action$='/invitations']")
    form.get_by_label("E-Mail-Adresse der Person").fill("nora.neu@stadt.example")
    city = form.locator("option", has_text="(CITY)").get_attribute("value")
    form.get_by_label("Organisation").select_option(city)
    form.get_by_label("Rolle in diesem Konzeptpapier").select_option("editor")
    form.get_by_role("button", name="Einladung senden").click()
    expect(page.locator(".flash")).to_contain_text("Einladung an nora.neu@stadt.example gesendet")
    expect(page.locator("#invitations")).to_be_visible()
    check_a11y(page)
    path = last_link(outbox, 1)

    invited = new_page()
    invited.goto(live(path))
    expect(invited.locator("h1")).to_have_text("Willkommen bei Konzeptwerk")
    check_a11y(invited)
    invited.get_by_label("Ihr Name").fill("Nora Neu")
    invited.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    invited.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    invited.get_by_role("button", name="Konto anlegen").click()
    invited.wait_for_url(live(f"/papers/{live.people.paper_id}"))
    expect(invited.locator("h1")).to_contain_text(live.people.paper_title)
    check_a11y(invited)
    # The link is spent.
    invited.goto(live(path))
    expect(invited.locator("h1")).to_have_text("Link ungültig")
    check_a11y(invited)


def test_password_reset_by_email(
    page: Page, live_server: LiveServer, outbox: list[EmailMessage]
) -> None:
    live = live_server
    page.goto(live("/login"))
    check_a11y(page, once_per_session=True)
    page.get_by_role("link", name="Passwort vergessen?").click()
    check_a11y(page)
    page.get_by_label("E-Mail-Adresse").fill(live.people.member)
    page.get_by_role("button", name="Link zusenden").click()
    expect(page.locator("h1")).to_have_text("Bitte prüfen Sie Ihre E-Mails")
    check_a11y(page)
    path = last_link(outbox, 1)
    page.goto(live(path))
    check_a11y(page)
    page.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Neues Passwort speichern").click()
    page.wait_for_url(live("/login"))
    expect(page.locator(".flash")).to_contain_text("Ihr Passwort wurde geändert")
    check_a11y(page)
    assert outbox[-1]["Subject"] == "Ihr Passwort wurde geändert"
    page.locator("main input[name=email]").fill(live.people.member)
    page.locator("main input[name=password]").fill(NEW_PASSWORD)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(live("/"))
    check_a11y(page)


@pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")
def test_single_sign_on_through_a_real_provider(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import requests
    from oidc_provider_mock import run_server_in_thread

    from tests.browser.conftest import _WATCHES

    live = live_server
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    with run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        live.app.config.update(
            BASE_URL=live.url,
            OIDC_ALLOW_HTTP=True,
            OIDC_PROVIDERS=json.dumps(
                [
                    {
                        "key": "stadt",
                        "label": "Stadtportal",
                        "issuer": issuer,
                        "client_id": "konzeptwerk",
                        "client_secret": "geheim",
                        "organisation_rules": ["domain:stadt.example = CITY"],
                    }
                ]
            ),
        )
        claims: dict[str, str | bool] = {
            "email": "lena@stadt.example",
            "email_verified": True,
            "name": "Lena Amt",
        }
        assert requests.put(f"{issuer}/users/lena", json=claims, timeout=10).status_code == 204
        page.goto(live("/login"))
        check_a11y(page)
        page.get_by_role("link", name="Anmelden mit Stadtportal").click()
        page.wait_for_url(f"{issuer}/oauth2/authorize**")
        # The provider's own page is not ours to check; it only stands in for Keycloak & co.
        _WATCHES[id(page)].checked.add(page.url.split("#")[0])
        page.locator("input[name=sub]").fill("lena")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(live("/"))
        expect(page.get_by_role("link", name=re.compile("Profil"))).to_be_visible()
        check_a11y(page)
        page.goto(live("/profile"))
        expect(page.locator("main")).to_contain_text("Lena Amt")
        check_a11y(page)
