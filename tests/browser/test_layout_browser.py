"""Phone, tablet and desktop layout (issue 15, item 3), in Chromium.

Every page type is opened once per language and checked with axe, then laid out at
390×844 (phone), 768×1024 (tablet) and 1280×900 (desktop): the page must never be wider
than the window (``document.documentElement.scrollWidth > clientWidth`` fails the test).
Wide tables scroll inside their own box, the navigation folds into a "Menu" button on
phones. Screenshots of every page at 390 and 1280 px land in ``$KONZEPTWERK_SHOTS`` (or the
test's temporary directory) for a human to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

from drafting.extensions import db
from drafting.models import User
from tests import factories
from tests.browser.conftest import LiveServer, check_a11y, login
from workflows import comments as comment_flow
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

pytestmark = pytest.mark.browser

SIZES = [(390, 844), (768, 1024), (1280, 900)]
SHOT_WIDTHS = (390, 1280)

WIDE_TABLE = (
    "Die Zählungen der Partner:\n\n"
    "| Stadt | Passanten je Samstag 2019 | Passanten je Samstag 2024 | Leerstand 2019 "
    "| Leerstand 2024 | Veränderung |\n"
    "|:--|--:|--:|--:|--:|:-:|\n"
    "| Lindenau | 18 400 | 15 900 | 7 % | 11 % | stark gesunken |\n"
    "| Brückenfeld | 11 200 | 10 100 | 5 % | 9 % | gesunken |\n\n"
    "Ein langes Wort: Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen"
    "sammlungsverzeichnis und https://example.org/ein/sehr/langer/pfad/der/nicht/umbricht"
)


def _build(live: LiveServer) -> dict[str, int]:
    """Give the world's paper more to show, and a second paper in its sign-off round."""
    with live.app.app_context():
        by_email = {u.email: u for u in db.session.scalars(db.select(User))}
        coordinator = by_email[live.people.coordinator]
        editor, reviewer = by_email[live.people.editor], by_email[live.people.reviewer]
        pid, sid = live.people.paper_id, live.people.section_id
        wide = section_flow.add_section(editor, pid, title="Zahlen", level=2, body=WIDE_TABLE)
        section_flow.save_section(
            editor, sid, base_version=1, title="Ausgangslage", body="Neu.\n\n" + WIDE_TABLE
        )
        comment_flow.add_comment(editor, sid, body="Eine Anmerkung zum Text.")
        second = paper_flow.create_paper(coordinator, "Zweites Papier mit Mitzeichnung", "Kurz.")
        for short in ("CITY", "IHK"):
            paper_flow.add_participant(coordinator, second.id, short)
        paper_flow.grant_role(coordinator, second.id, editor.email, "editor")
        paper_flow.grant_role(coordinator, second.id, reviewer.email, "reviewer")
        section_flow.add_section(editor, second.id, title="Ziel", level=1, body=WIDE_TABLE)
        # approve_all reads only these three attributes of a world.
        sketch = SimpleNamespace(editor=editor, reviewer=reviewer, paper=second)
        factories.approve_all(sketch)  # type: ignore[arg-type]
        signoff_flow.start(coordinator, second.id, label="Entwurf zur Mitzeichnung")
        ids = {"paper": pid, "section": sid, "wide": wide.id, "signing": second.id}
        db.session.remove()
    return ids


def _pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    p, s, w, g = ids["paper"], ids["section"], ids["wide"], ids["signing"]
    return [
        ("papers", "/"),
        ("paper", f"/papers/{p}"),
        ("settings", f"/papers/{p}/settings"),
        ("activity", f"/papers/{p}/activity"),
        ("signoff-start", f"/papers/{p}/signoff"),
        ("signoff-round", f"/papers/{g}/signoff"),
        ("signoff-cancel", f"/papers/{g}/signoff/cancel"),
        ("edition", f"/papers/{g}/editions/1"),
        ("record", f"/papers/{g}/editions/1/record"),
        ("editions", f"/papers/{g}/editions"),
        ("export", f"/papers/{p}/exports"),
        ("import", f"/papers/{p}/import"),
        ("print", f"/papers/{p}/print"),
        ("search", "/search?q=Innenstadt"),
        ("inbox", "/inbox"),
        ("my-work", "/my-work"),
        ("profile", "/profile"),
        ("new-paper", "/papers/new"),
        ("new-section", f"/papers/{p}/sections/new"),
        ("edit", f"/sections/{s}/edit"),
        ("history", f"/sections/{s}/history"),
        ("compare", f"/sections/{s}/compare?from=1&to=2"),
        ("version", f"/sections/{w}/versions/1"),
        ("discussion", f"/sections/{s}/comments"),
        ("review", f"/sections/{s}/review"),
        ("suggest", f"/sections/{s}/suggest"),
        ("suggestions", f"/sections/{s}/suggestions"),
        ("move", f"/sections/{w}/move"),
        ("remove", f"/sections/{w}/remove"),
    ]


def _shots_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("KONZEPTWERK_SHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _too_wide(page: Page) -> str | None:
    """Name the page's overflow, or None when it is no wider than the window."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          if (root.scrollWidth <= root.clientWidth) { return null; }
          const culprits = [];
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.right > root.clientWidth + 1) {
              culprits.push(`${el.tagName.toLowerCase()}.${el.className}`);
            }
          }
          return `scrollWidth ${root.scrollWidth} > clientWidth ${root.clientWidth}: ` +
            culprits.slice(0, 5).join(", ");
        }"""
    )


def _visit(
    page: Page, live: LiveServer, pages: list[tuple[str, str]], shots: Path, language: str
) -> list[str]:
    """Open each page (axe-checked once), lay it out at every size; return the overflows."""
    problems = []
    for name, path in pages:
        page.set_viewport_size({"width": 1280, "height": 900})
        response = page.goto(live(path))
        assert response is not None and response.status == 200, f"{path}: {response}"
        check_a11y(page)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(30)
            if (wide := _too_wide(page)) is not None:
                problems.append(f"{name} ({path}) at {width} px: {wide}")
            if width in SHOT_WIDTHS:
                page.screenshot(path=shots / f"{name}-{language}-{width}.png", full_page=True)
    return problems


def _switch_to_english(page: Page) -> None:
    page.locator("#language-select").select_option("en")
    page.locator(".language-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("language", ["de", "en"])
def test_no_page_scrolls_sideways(
    page: Page, live_server: LiveServer, tmp_path: Path, language: str
) -> None:
    live = live_server
    pages = _pages(_build(live))
    shots = _shots_dir(tmp_path)
    login(page, live, live.people.coordinator)
    if language == "en":
        _switch_to_english(page)
    problems = _visit(page, live, pages, shots, language)
    assert not problems, "pages wider than the window:\n" + "\n".join(problems)


def test_admin_pages_fit_a_phone(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    shots = _shots_dir(tmp_path)
    login(page, live, "admin@example.org")
    pages = [
        ("admin-organisations", "/admin/organisations"),
        ("admin-users", "/admin/users"),
        ("admin-templates", "/admin/templates"),
    ]
    problems = _visit(page, live, pages, shots, "de")
    assert not problems, "pages wider than the window:\n" + "\n".join(problems)


def test_navigation_folds_into_a_menu_on_a_phone(page: Page, live_server: LiveServer) -> None:
    live = live_server
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live, live.people.coordinator)
    toggle = page.locator(".nav-toggle")
    links = page.locator("#main-nav-list")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(links.get_by_role("link", name="Profil")).to_be_visible()
    check_a11y(page)
    page.keyboard.press("Escape")
    expect(links).to_be_hidden()
    expect(toggle).to_be_focused()
    # On a desktop there is no menu button: the links are in the header.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(toggle).to_be_hidden()
    expect(links.get_by_role("link", name="Profil")).to_be_visible()


def test_section_menu_and_move_to_with_the_keyboard(page: Page, live_server: LiveServer) -> None:
    live = live_server
    ids = _build(live)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{ids['paper']}"))
    check_a11y(page)
    section = page.locator(f"#section-{ids['wide']}")
    menu = section.locator("details.action-menu")
    # Without JavaScript the menu is a link to the section's actions page: the same links.
    expect(section.locator(".section-actions > a[href$='/actions']")).to_have_count(0)  # replaced
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    move = menu.get_by_role("link", name="Verschieben nach …")
    move.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/sections/{ids['wide']}/move")
    check_a11y(page)
    page.get_by_label("Stelle 1, vor 1 Ausgangslage").check()
    page.get_by_role("button", name="Abschnitt verschieben").click()
    page.wait_for_url(f"**/papers/{ids['paper']}#section-{ids['wide']}")
    check_a11y(page)
    page.goto(live(f"/sections/{ids['wide']}/actions"))
    check_a11y(page)
    expect(page.get_by_role("link", name="Verschieben nach …")).to_have_attribute(
        "href", f"/sections/{ids['wide']}/move"
    )
    page.goto(live(f"/papers/{ids['paper']}#section-{ids['wide']}"))
    headings = page.locator(".paper > section > h3, .paper > section > h2")
    expect(headings.first).to_contain_text("Zahlen")
    # A wide table in a section scrolls inside its own box, which the keyboard can reach.
    table = page.locator(f"#section-{ids['wide']} .section-body table")
    expect(table).to_have_attribute("tabindex", "0")
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")
