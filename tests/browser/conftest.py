"""Browser tests: the real app served on a free port, driven by headless Debian Chromium.

Each test gets a fresh SQLite database seeded with ``tests.factories.world()``, served by
werkzeug in a background thread with CSRF protection on, as in production. Chromium is the
system one at ``/usr/bin/chromium``; ``playwright install`` is never needed.

Every page a test visits must pass ``check_a11y`` (axe-core: no serious or critical
violations); the ``page``/``new_page`` fixtures fail a test that visited a page without
checking it, that hit a JavaScript error or a Content-Security-Policy violation, or during
which the server raised an exception.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import BaseWSGIServer, make_server

from drafting.extensions import db, limiter
from tests import factories
from tests.conftest import IS_POSTGRES, make_app

CHROMIUM = os.environ.get("KONZEPTWERK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
TIMEOUT_MS = 10_000

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
    from playwright.sync_api import sync_playwright as _sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs both
    _sync_playwright = None  # type: ignore[assignment]


@dataclass
class People:
    """The e-mail addresses and ids of the seeded world (plain values, usable in any thread)."""

    coordinator: str
    editor: str
    reviewer: str
    member: str
    paper_id: int
    paper_title: str
    section_id: int
    section_body: str


@dataclass
class LiveServer:
    """The app served over HTTP on 127.0.0.1, and the errors it raised while serving."""

    app: Flask
    url: str
    people: People
    errors: list[BaseException] = field(default_factory=list)

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session (tests isolate through contexts)."""
    if IS_POSTGRES:
        pytest.skip("browser tests run in the SQLite pass; they do not depend on the backend")
    if _sync_playwright is None:
        pytest.skip(
            "playwright / axe-playwright-python are not installed (pip install -e '.[dev]')"
        )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    pw: Playwright = _sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Serve a fresh app (CSRF on) with the test world in a background thread."""
    app = make_app(
        tmp_path,
        WTF_CSRF_ENABLED=True,
        # Every test logs in a few times from 127.0.0.1; throttling has its own tests.
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    limiter.reset()
    with app.app_context():
        w = factories.world()
        people = People(
            coordinator=w.coordinator.email,
            editor=w.editor.email,
            reviewer=w.reviewer.email,
            member=w.member.email,
            paper_id=w.paper.id,
            paper_title=w.paper.title,
            section_id=w.section.id,
            section_body=w.section.head.body if w.section.head else "",
        )
        db.session.remove()

    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(app, f"http://127.0.0.1:{server.server_port}", people)

    def record(_sender: Flask, exception: BaseException, **_extra: Any) -> None:
        live.errors.append(exception)

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not live.errors, f"the server raised while serving: {live.errors!r}"


# Reports every Content-Security-Policy violation of a document to the test (ASVS V14.4.3).
# Playwright's init scripts and bindings are exempt from the page's policy.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__kwCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


class PageWatch:
    """What happened on one page: URLs visited and checked with axe, JavaScript errors and
    Content-Security-Policy violations (from the ``securitypolicyviolation`` event and from
    Chromium's console messages)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.visited: list[str] = []
        self.checked: set[str] = set()
        self.js_errors: list[str] = []
        self.csp_violations: list[str] = []
        page.on("framenavigated", self._navigated)
        page.on("pageerror", lambda err: self.js_errors.append(str(err)))
        page.on("console", self._console)
        page.expose_function("__kwCspViolation", self._csp_violation)
        page.add_init_script(_CSP_LISTENER)

    def _csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"console: {message.text}")

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            url = urldefrag(frame.url).url
            if url.startswith("http") and url not in self.visited:
                self.visited.append(url)

    def unchecked(self) -> list[str]:
        return [url for url in self.visited if url not in self.checked]


_WATCHES: dict[int, PageWatch] = {}
_AXE: Any = None


def _format(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v.get('impact')}] {v['id']}: {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"    at {node.get('target')}: {node.get('html', '')[:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            lines.append(f"      {summary}")
    return "\n".join(lines)


_CHECKED_ONCE: set[tuple[str, str]] = set()


def check_a11y(page: Page, *, once_per_session: bool = False) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on serious or critical violations, print all of them.

    With ``once_per_session``, a page that looks the same in every test (the login form,
    the list of papers right after logging in) is checked only the first time its path is
    seen in each language. Returns the minor and moderate violations.
    """
    global _AXE
    watch = _WATCHES.get(id(page))
    if watch is not None:
        watch.checked.add(urldefrag(page.url).url)
    if once_per_session:
        key = (urlsplit(page.url).path, page.locator("html").get_attribute("lang") or "")
        if key in _CHECKED_ONCE:
            return []
        _CHECKED_ONCE.add(key)
    if _AXE is None:
        _AXE = Axe()
    violations: list[dict[str, Any]] = _AXE.run(page).response["violations"]
    if violations:
        print(f"axe on {page.url}:\n{_format(violations)}")
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        pytest.fail(f"accessibility violations on {page.url}:\n{_format(blocking)}", pytrace=False)
    return violations


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context (another browser), or another tab of a page's."""
    contexts: list[BrowserContext] = []
    watches: list[PageWatch] = []

    def open_page(same_browser_as: Page | None = None) -> Page:
        if same_browser_as is not None:
            context = same_browser_as.context
        else:
            # German first: the app's default audience; the language switch has its own test.
            context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
            context.set_default_timeout(TIMEOUT_MS)
            contexts.append(context)
        page = context.new_page()
        watch = PageWatch(page)
        watches.append(watch)
        _WATCHES[id(page)] = watch
        return page

    yield open_page
    problems = []
    for watch in watches:
        _WATCHES.pop(id(watch.page), None)
        if watch.js_errors:
            problems.append(f"JavaScript errors: {watch.js_errors}")
        if watch.csp_violations:
            problems.append(f"Content-Security-Policy violations: {watch.csp_violations}")
        if watch.unchecked():
            problems.append(f"pages visited without check_a11y: {watch.unchecked()}")
    for context in contexts:
        try:
            context.close()
        except Exception:  # noqa: S110 - the test may have closed it already
            pass
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A page in a fresh browser context."""
    return new_page()


def login(page: Page, live: LiveServer, email: str) -> None:
    """Log in through the login form and land on the list of papers."""
    page.goto(live("/login"))
    check_a11y(page, once_per_session=True)
    page.locator("main input[name=email]").fill(email)
    page.locator("main input[name=password]").fill(factories.PASSWORD)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(live("/"))
    check_a11y(page, once_per_session=True)


def fill_markdown(page: Page, selector: str, text: str) -> None:
    """Type Markdown source into a body field, through the editor's "Markdown" toggle.

    The visual editor hides the textarea it enhances; its "Markdown" button shows the
    source again, which is what a writer who prefers Markdown does.
    """
    textarea = page.locator(selector)
    container = textarea.locator("xpath=ancestor::*[@data-visual-editor][1]")
    if container.count():
        expect(container.locator(".visual-editor")).to_have_attribute("data-ready", "true")
        toggle = container.locator("button[data-action=markdown]")
        if toggle.get_attribute("aria-pressed") != "true":
            toggle.click()
    textarea.fill(text)
