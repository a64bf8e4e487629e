"""Security headers on every kind of response (ASVS 4.0.3 V14.4.1–V14.4.7, V8.2.1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from drafting.extensions import db
from drafting.models import Export, ExportStatus
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import configured_app, isolated_client

REQUIRED_CSP = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def csp(response: TestResponse) -> dict[str, str]:
    """The response's Content-Security-Policy as directive -> sources."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources.strip()
    return directives


def assert_security_headers(response: TestResponse, *, cacheable: bool = False) -> None:
    """Assert the headers every response of the service carries."""
    policy = csp(response)
    for name, sources in REQUIRED_CSP.items():
        assert policy.get(name) == sources, (name, policy)
    script = policy["script-src"].split()
    assert script[0] == "'self'"
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert all(s.startswith("'nonce-") for s in script[1:]), script
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers
    if cacheable:
        assert "no-store" not in response.headers.get("Cache-Control", "")
    else:
        assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def editor(client: FlaskClient, world: factories.World) -> FlaskClient:
    login_response = client.post(
        "/login", data={"email": world.editor.email, "password": factories.PASSWORD}
    )
    assert login_response.status_code == 302
    return client


def test_v14_4_html_pages_and_errors_carry_the_headers(
    client: FlaskClient, editor: FlaskClient, world: factories.World
) -> None:
    """V14.4.3/V14.4.4/V14.4.5/V14.4.7: pages, redirects, 404 and 405 pages alike."""
    for url, status in [
        ("/", 200),
        (f"/papers/{world.paper.id}", 200),
        (f"/sections/{world.section.id}/edit", 200),
        ("/papers/99999", 404),
        ("/no/such/page", 404),
    ]:
        response = editor.get(url)
        assert response.status_code == status, url
        assert_security_headers(response)
    response = editor.put("/")
    assert response.status_code == 405
    assert_security_headers(response)


def test_v14_4_anonymous_pages_and_static_files(app: Flask) -> None:
    """The login page and redirects are not cached; only static files may be."""
    client = isolated_client(app)
    assert_security_headers(client.get("/login"))
    assert_security_headers(client.get("/"))  # the redirect to the login
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert_security_headers(response, cacheable=True)
    response.close()


def test_v14_4_json_api_and_its_errors(client: FlaskClient, world: factories.World) -> None:
    """V14.4.1: JSON answers, 401 and 404 included, carry the headers too."""
    headers = api_headers(factories.token(world.editor))
    for url, status, extra in [
        ("/api/v1/papers", 200, headers),
        (f"/api/v1/sections/{world.section.id}", 200, headers),
        ("/api/v1/papers/99999", 404, headers),
        ("/api/v1/papers", 401, {}),
    ]:
        response = client.get(url, headers=extra)
        assert response.status_code == status, url
        assert response.is_json
        assert_security_headers(response)


def test_v14_4_downloads_csv_and_word_are_not_cached(
    editor: FlaskClient, world: factories.World
) -> None:
    """V8.2.1: the activity CSV and a finished Word export answer with no-store."""
    response = editor.get(f"/papers/{world.paper.id}/activity.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert_security_headers(response)

    export = Export(
        paper_id=world.paper.id,
        requested_by_id=world.editor.id,
        options={},
        status=ExportStatus.DONE,
        filename="konzept.docx",
        content=b"PK fake",
        size=7,
    )
    db.session.add(export)
    db.session.commit()
    response = editor.get(f"/exports/{export.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert_security_headers(response)


def test_v14_4_an_unexpected_error_page_carries_the_headers(tmp_path: Path) -> None:
    """The 500 page is a response like any other."""
    with configured_app(tmp_path, PROPAGATE_EXCEPTIONS=False) as app:

        @app.get("/boom")
        def boom() -> str:
            raise RuntimeError("boom")

        response = app.test_client().get("/boom")
        assert response.status_code == 500
        assert_security_headers(response)


@pytest.fixture
def tls_app(tmp_path: Path) -> Iterator[Flask]:
    with configured_app(tmp_path, SESSION_COOKIE_SECURE=True) as application:
        yield application


def test_v14_4_5_hsts_with_secure_cookies_over_https(tls_app: Flask) -> None:
    """Strict-Transport-Security is sent over HTTPS when SESSION_COOKIE_SECURE is on."""
    secure = tls_app.test_client().get("/login", base_url="https://kw.example")
    assert re.fullmatch(r"max-age=\d{8}", secure.headers["Strict-Transport-Security"])
    proxied = tls_app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers
    assert "Strict-Transport-Security" not in tls_app.test_client().get("/login").headers
    assert tls_app.config["SESSION_COOKIE_SECURE"] is True


def test_v14_4_5_no_hsts_and_plain_cookies_without_secure_cookies(app: Flask) -> None:
    """Talisman neither announces HSTS nor forces the Secure cookie flag on plain HTTP."""
    client = isolated_client(app)
    assert (
        "Strict-Transport-Security"
        not in client.get("/login", base_url="https://kw.example").headers
    )
    login_response = client.post("/login", data={"email": "nobody@example.org", "password": "x"})
    assert login_response.status_code == 200
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_v14_4_templates_get_the_request_nonce(tmp_path: Path) -> None:
    """``csp_nonce()`` in a template gives the nonce the policy of the same response names."""
    with configured_app(tmp_path) as app:

        @app.get("/inline")
        def inline() -> str:
            return render_template_string('<script nonce="{{ csp_nonce() }}">1</script>')

        client = app.test_client()
        first, second = client.get("/inline"), client.get("/inline")
        nonces = []
        for response in (first, second):
            match = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True))
            assert match and len(match.group(1)) >= 32
            assert f"'nonce-{match.group(1)}'" in csp(response)["script-src"].split()
            nonces.append(match.group(1))
        assert nonces[0] != nonces[1]


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_v14_4_templates_hold_no_inline_script_or_handler() -> None:
    """Scripts come from files in drafting/static (or carry the nonce); no on…= handlers."""
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, re.I):
            # A data block (type="application/json") is never executed, so the CSP does not
            # govern it; any other inline script needs a file or the nonce.
            data_block = re.search(r"""type\s*=\s*["']application/json["']""", tag, re.I)
            if "src=" not in tag and "csp_nonce()" not in tag and not data_block:
                problems.append(f"{path.name}: inline {tag}")
        for handler in re.findall(r"<[^>]*\s(on[a-z]+)\s*=", text, re.I):
            problems.append(f"{path.name}: {handler}=")
        if re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", text, re.I):
            problems.append(f"{path.name}: javascript: URL")
    assert not problems, problems
