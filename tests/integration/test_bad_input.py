"""Bad input gets a clear form error or 413/422, keeps the user's text, and saves nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, Section, SectionVersion
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import configured_app, english, isolated_client, login
from workflows import papers as paper_flow

LIMIT = 1000  # MAX_BODY_CHARS of this module's app
TOO_LONG = "Wort " * (LIMIT // 5) + "zuviel"  # 1006 characters


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose texts may have at most LIMIT characters, inside an application context."""
    with configured_app(tmp_path, MAX_BODY_CHARS=LIMIT) as application:
        with application.app_context():
            yield application
            db.session.remove()


@pytest.fixture
def editor(app: Flask, world: factories.World) -> FlaskClient:
    english(world)
    client = isolated_client(app)
    login(client, world.editor.email)
    return client


def counts() -> tuple[int, int, int, int]:
    """Papers, sections, versions and activity entries stored."""
    return tuple(  # type: ignore[return-value]
        int(db.session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (Paper, Section, SectionVersion, ActivityEntry)
    )


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1))


def errors(page: str) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(r'<ul class="errors"[^>]*>\s*<li>(.*?)</li>', page, re.S)
    ]


NEW_SECTION_CASES = [
    ({"title": ""}, 422, "This field is required."),
    ({"title": "   "}, 422, "This field is required."),
    ({"title": "T" * 201}, 422, "Field cannot be longer than 200 characters."),
    ({"level": "7"}, 422, "Not a valid choice."),
    ({"level": "zwei"}, 422, "Invalid Choice: could not coerce."),
    ({"level": ""}, 422, "This field is required."),
    ({"note": "N" * 501}, 422, "Field cannot be longer than 500 characters."),
    ({"body": TOO_LONG}, 413, f"The text is longer than {LIMIT} characters."),
]
CASE_IDS = [
    "empty title",
    "blank title",
    "long title",
    "level 7",
    "level word",
    "no level",
    "long note",
    "long body",
]


@pytest.mark.parametrize(("fields", "status", "message"), NEW_SECTION_CASES, ids=CASE_IDS)
def test_new_section_refused_keeps_the_text(
    editor: FlaskClient,
    world: factories.World,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = counts()
    data = {"title": "Ziele", "level": "1", "body": "Mein **langer** Text.", "note": ""}
    data.update(fields)
    response = editor.post(f"/papers/{world.paper.id}/sections/new", data=data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "body") == data["body"]
    assert counts() == before


@pytest.mark.parametrize(("fields", "status", "message"), NEW_SECTION_CASES, ids=CASE_IDS)
def test_save_refused_keeps_the_text(
    editor: FlaskClient,
    world: factories.World,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = counts()
    data = {
        "title": "Ausgangslage",
        "level": "1",
        "body": "Mein geänderter Text.",
        "note": "",
        "base_version": "1",
    }
    data.update(fields)
    response = editor.post(f"/sections/{world.section.id}/edit", data=data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "body") == data["body"]
    assert counts() == before


def test_a_body_at_the_limit_is_accepted(editor: FlaskClient, world: factories.World) -> None:
    body = ("x" * (LIMIT - 2)) + "\r\n" + "y"  # a browser's CRLF counts as one character
    assert len(body.replace("\r\n", "\n")) == LIMIT
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": body,
            "base_version": "1",
        },
    )
    assert response.status_code == 302
    stored = db.session.scalars(select(SectionVersion.body).where(SectionVersion.number == 2))
    assert stored.one() == body.replace("\r\n", "\n")


def test_unknown_base_version_is_refused(editor: FlaskClient, world: factories.World) -> None:
    """Only a forged form names a version that does not exist; it is refused all the same."""
    before = counts()
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": "Neu.",
            "base_version": "7",
        },
    )
    assert response.status_code == 422
    assert textarea(response.get_data(as_text=True), "body") == "Neu."
    assert counts() == before


@pytest.mark.parametrize(
    ("title", "message"),
    [("", "This field is required."), ("T" * 201, "Field cannot be longer than 200 characters.")],
    ids=["empty", "long"],
)
def test_paper_with_bad_title_is_refused(editor: FlaskClient, title: str, message: str) -> None:
    before = counts()
    response = editor.post("/papers/new", data={"title": title, "summary": "Meine Idee."})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in errors(page)
    assert textarea(page, "summary") == "Meine Idee."
    assert counts() == before


def test_paper_settings_with_bad_title_change_nothing(app: Flask, world: factories.World) -> None:
    english(world)
    client = isolated_client(app)
    login(client, world.coordinator.email)
    response = client.post(
        f"/papers/{world.paper.id}/settings", data={"title": "", "summary": "Anders."}
    )
    assert response.status_code == 200
    assert "This field is required." in errors(response.get_data(as_text=True))
    db.session.refresh(world.paper)
    assert (world.paper.title, world.paper.summary) == (
        "Konzept Innenstadt",
        "Eine Zusammenfassung.",
    )


def test_too_large_request_gets_413(
    editor: FlaskClient, app: Flask, world: factories.World
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": "x" * 20_000,
            "base_version": "1",
        },
    )
    assert response.status_code == 413
    assert "The upload or text is larger than allowed." in response.get_data(as_text=True)


# ---------------------------------------------------------------- unknown and foreign ids


@pytest.fixture
def foreign(world: factories.World) -> dict[str, int]:
    """A paper of another organisation, with a section in two versions."""
    paper = factories.paper(world.outsider, "Fremdes Konzept")
    section = factories.section(world.outsider, paper, title="Fremder Abschnitt")
    from workflows import sections as section_flow

    section_flow.save_section(world.outsider, section.id, body="Zwei.", base_version=1)
    return {"paper": paper.id, "section": section.id}


def html_requests(paper: int, section: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", f"/papers/{paper}", {}),
        ("get", f"/papers/{paper}/settings", {}),
        ("get", f"/papers/{paper}/sections/new", {}),
        ("post", f"/papers/{paper}/sections/new", {"title": "x", "level": "1", "body": ""}),
        ("post", f"/papers/{paper}/participants", {"organisation": "CITY"}),
        ("post", f"/papers/{paper}/roles", {"email": "editor@example.org", "role": "editor"}),
        ("get", f"/sections/{section}/edit", {}),
        (
            "post",
            f"/sections/{section}/edit",
            {"title": "x", "level": "1", "body": "y", "base_version": "1"},
        ),
        ("get", f"/sections/{section}/history", {}),
        ("get", f"/sections/{section}/versions/1", {}),
        ("get", f"/sections/{section}/compare?from=1&to=2", {}),
        ("post", f"/sections/{section}/versions/1/restore", {}),
        ("post", f"/sections/{section}/remove", {}),
        ("post", f"/sections/{section}/undo-remove", {}),
        ("post", f"/sections/{section}/move", {"direction": "up"}),
        ("get", f"/sections/{section}/draft", {}),
    ]


@pytest.mark.parametrize("which", ["unknown", "foreign"])
def test_unknown_and_foreign_ids_give_404_pages(
    editor: FlaskClient, foreign: dict[str, int], which: str
) -> None:
    before = counts()
    ids = (99999, 99999) if which == "unknown" else (foreign["paper"], foreign["section"])
    for method, url, data in html_requests(*ids):
        response = getattr(editor, method)(url, data=data)
        assert response.status_code == 404, f"{method.upper()} {url}"
        assert "Fremd" not in response.get_data(as_text=True)
    assert counts() == before


def test_404_in_json_when_asked_for(editor: FlaskClient, foreign: dict[str, int]) -> None:
    for url in (
        f"/papers/{foreign['paper']}",
        "/papers/99999",
        f"/sections/{foreign['section']}/history",
    ):
        response = editor.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_foreign_version_of_a_visible_section_gives_404(
    editor: FlaskClient, world: factories.World
) -> None:
    for url in (
        f"/sections/{world.section.id}/versions/2",
        f"/sections/{world.section.id}/versions/0",
        f"/sections/{world.section.id}/compare?from=1&to=2",
    ):
        assert editor.get(url).status_code == 404, url


# ---------------------------------------------------------------- hostile input (ASVS V5.1)
# Ids no database column can hold, NUL characters, lone surrogates, non-finite numbers and
# deep JSON: 4xx with the usual error format on SQLite and PostgreSQL, never a 500 (the test
# app propagates exceptions, so a 500 would fail the test with its traceback).

MAX_INT = 2**31 - 1
TOO_BIG = [2**31, 2**63, 10**30]
INT_ARG = re.compile(r"<int:(\w+)>")


def _routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the app with a number in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if INT_ARG.search(rule.rule):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


@pytest.fixture
def api(app: Flask, world: factories.World) -> tuple[FlaskClient, dict[str, str]]:
    from tests.conftest import api_headers

    return isolated_client(app), api_headers(factories.token(world.editor))


def test_v5_1_3_ids_beyond_the_columns_find_no_route(
    app: Flask, editor: FlaskClient, api: tuple[FlaskClient, dict[str, str]]
) -> None:
    """V5.1.3/V5.1.4: every route with an id answers 404 for ids ≥ 2^31, in HTML and JSON."""
    api_client, headers = api
    routes = _routes(app)
    assert len(routes) > 50
    for number in TOO_BIG:
        for method, rule in routes:
            url = INT_ARG.sub(str(number), rule)
            if url.startswith("/api/"):
                response = api_client.open(url, method=method, headers=headers, json={})
                assert response.status_code == 404, (method, url)
                assert response.get_json()["error"]["code"] == "not_found", url
            else:
                response = editor.open(url, method=method)
                assert response.status_code == 404, (method, url)
                assert "<h1" in response.get_data(as_text=True)


def test_v5_1_3_the_largest_id_is_looked_up_and_not_found(
    app: Flask, editor: FlaskClient, api: tuple[FlaskClient, dict[str, str]]
) -> None:
    """2^31 - 1 fits the columns: every route looks it up and answers 4xx."""
    api_client, headers = api
    before = counts()
    for method, rule in _routes(app):
        url = INT_ARG.sub(str(MAX_INT), rule)
        if url.startswith("/api/"):
            response = api_client.open(url, method=method, headers=headers, json={})
            assert 400 <= response.status_code < 500, (method, url, response.status_code)
            assert set(response.get_json()["error"]) >= {"code", "message"}
        else:
            response = editor.open(url, method=method)
            assert 300 <= response.status_code < 500, (method, url, response.status_code)
    assert counts() == before


def test_v5_1_3_numbers_out_of_range_in_query_strings(
    editor: FlaskClient, api: tuple[FlaskClient, dict[str, str]], world: factories.World
) -> None:
    """Query-string numbers beyond the columns answer 400; words still mean the default."""
    api_client, headers = api
    sid, pid = world.section.id, world.paper.id
    for number in TOO_BIG:
        for url in (
            f"/sections/{sid}/compare?from={number}&to=1",
            f"/sections/{sid}/compare?from=1&to=-{number}",
            f"/papers/{pid}/activity?page={number}",
            f"/inbox?page={number}",
        ):
            response = editor.get(url)
            assert response.status_code == 400, url
            assert "<h1" in response.get_data(as_text=True)
        for url in (
            f"/api/v1/sections/{sid}/diff?from={number}&to=1",
            f"/api/v1/notifications?page={number}",
        ):
            response = api_client.get(url, headers=headers)
            assert response.status_code == 400, url
            assert response.get_json()["error"]["code"] == "bad_request"
        response = editor.post(
            f"/papers/{pid}/sections/new?after={number}",
            data={"title": "Neu", "level": "1", "body": "Text."},
        )
        assert response.status_code == 400
    assert editor.get("/inbox?page=viele").status_code == 200


@pytest.mark.parametrize("number", TOO_BIG)
def test_v5_1_3_numbers_out_of_range_in_forms(
    editor: FlaskClient, world: factories.World, number: int
) -> None:
    """Hidden version fields beyond the columns are invalid input, not a database error."""
    before = counts()
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={"title": "Ausgangslage", "level": "1", "body": "Neu.", "base_version": number},
    )
    assert response.status_code == 422
    assert textarea(response.get_data(as_text=True), "body") == "Neu."
    for url in (
        f"/sections/{world.section.id}/approve",
        f"/sections/{world.section.id}/request-changes",
    ):
        response = editor.post(url, data={"version": number, "comment": "x"})
        assert response.status_code < 500, url
    response = editor.get(f"/papers/{world.paper.id}/activity?section={number}")
    assert response.status_code < 500
    assert counts() == before


@pytest.mark.parametrize("number", [2**31, 2**63, -(2**63), 10**30])
def test_v5_1_3_numbers_out_of_range_in_json(
    api: tuple[FlaskClient, dict[str, str]], world: factories.World, number: int
) -> None:
    api_client, headers = api
    before = counts()
    for method, url, body in (
        ("put", f"/api/v1/sections/{world.section.id}", {"body": "x", "base_version": number}),
        (
            "put",
            f"/api/v1/sections/{world.section.id}",
            {"body": "x", "base_version": 1, "level": number},
        ),
        ("post", f"/api/v1/papers/{world.paper.id}/sections", {"title": "x", "level": number}),
        ("post", "/api/v1/notifications/read", {"ids": [number]}),
        (
            "post",
            f"/api/v1/sections/{world.section.id}/reviews",
            {"decision": "approve", "version": number},
        ),
        (
            "post",
            f"/api/v1/sections/{world.section.id}/comments",
            {"body": "x", "parent_id": number},
        ),
    ):
        response = api_client.open(url, method=method, headers=headers, json=body)
        assert response.status_code == 400, (url, body)
        assert response.get_json()["error"] == {
            "code": "bad_request",
            "message": "a number in the JSON body is out of range",
        }
    assert counts() == before


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e400", "-1e999"])
def test_v5_1_4_non_finite_numbers_in_json(
    api: tuple[FlaskClient, dict[str, str]], world: factories.World, literal: str
) -> None:
    api_client, headers = api
    before = counts()
    for method, url, raw in (
        (
            "post",
            f"/api/v1/papers/{world.paper.id}/sections",
            f'{{"title": "x", "level": {literal}}}',
        ),
        (
            "put",
            f"/api/v1/sections/{world.section.id}",
            f'{{"body": "x", "base_version": 1, "level": {literal}}}',
        ),
    ):
        response = api_client.open(
            url, method=method, headers=headers, data=raw, content_type="application/json"
        )
        assert response.status_code == 400, (url, raw)
        assert response.get_json()["error"]["code"] == "bad_request"
    assert counts() == before


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_v5_1_4_deeply_nested_json(
    api: tuple[FlaskClient, dict[str, str]], world: factories.World, depth: int
) -> None:
    api_client, headers = api
    raw = '{"title": "x", "body": ' + "[" * depth + "]" * depth + "}"
    for url in (f"/api/v1/papers/{world.paper.id}/sections", "/api/v1/papers"):
        response = api_client.post(url, headers=headers, data=raw, content_type="application/json")
        assert response.status_code == 400, url
        assert "nested deeper than 32 levels" in response.get_json()["error"]["message"]


def test_v5_1_4_json_at_the_depth_limit_is_parsed(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    """32 levels are fine (and give the usual type error for a wrong field)."""
    api_client, headers = api
    raw = '{"title": ' + "[" * 31 + "]" * 31 + "}"
    response = api_client.post(
        "/api/v1/papers", headers=headers, data=raw, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "'title' must be a string"


UNSAFE_TEXTS = {"nul": "Kos\x00ten", "lone high surrogate": "\ud800", "lone low": "a\udfffb"}


@pytest.mark.parametrize("text", UNSAFE_TEXTS.values(), ids=UNSAFE_TEXTS.keys())
def test_v5_1_4_nul_and_lone_surrogates_in_json(
    api: tuple[FlaskClient, dict[str, str]], world: factories.World, text: str
) -> None:
    """Refused alike on both databases (PostgreSQL cannot store NUL, UTF-8 no surrogate)."""
    import json

    api_client, headers = api
    before = counts()
    for method, url, body in (
        ("post", "/api/v1/papers", {"title": text}),
        ("post", "/api/v1/papers", {"title": "x", text: "key"}),
        ("put", f"/api/v1/sections/{world.section.id}", {"body": text, "base_version": 1}),
        ("post", f"/api/v1/sections/{world.section.id}/comments", {"body": [[text]]}),
    ):
        raw = json.dumps(body)  # ensure_ascii: "\u0000", "\ud800" as escapes
        response = api_client.open(
            url, method=method, headers=headers, data=raw, content_type="application/json"
        )
        assert response.status_code == 400, (url, raw)
        assert response.get_json()["error"] == {
            "code": "bad_request",
            "message": "the JSON body contains a NUL character or a lone surrogate",
        }
    assert counts() == before


def test_v5_1_4_raw_surrogate_bytes_in_json(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    """CESU-8 bytes of a surrogate (invalid UTF-8) are refused, not stored."""
    api_client, headers = api
    raw = b'{"title": "a\xed\xa0\x80b"}'
    response = api_client.post(
        "/api/v1/papers", headers=headers, data=raw, content_type="application/json"
    )
    assert response.status_code == 400


def test_v5_1_4_nul_in_forms_and_query_strings(editor: FlaskClient, world: factories.World) -> None:
    before = counts()
    for field in ("title", "body", "note"):
        data = {"title": "Ausgangslage", "level": "1", "body": "Text.", "base_version": "1"}
        data[field] = "vor\x00nach"
        response = editor.post(f"/sections/{world.section.id}/edit", data=data)
        assert response.status_code == 400, field
        assert "The request could not be understood" in response.get_data(as_text=True)
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data={
            "title": "Ausgangslage",
            "level": "1",
            "body": "x",
            "base_version": "1",
            "a\x00": "1",
        },
    )
    assert response.status_code == 400
    assert editor.get(f"/papers/{world.paper.id}?q=%00").status_code == 400
    response = editor.get(f"/papers/{world.paper.id}?q=%00", headers={"Accept": "application/json"})
    assert response.get_json()["error"]["code"] == "bad_request"
    assert counts() == before
    response = editor.post(
        "/papers/new", data={"title": "Neu", "summary": "x"}, content_type="multipart/form-data"
    )
    assert response.status_code == 302  # multipart forms work ...
    before = counts()
    response = editor.post(
        "/papers/new",
        data={"title": "Neu\x00", "summary": "x"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400  # ... and are checked as well
    assert counts() == before


def test_v5_1_4_surrogate_bytes_in_forms_never_reach_the_database(
    editor: FlaskClient, world: factories.World
) -> None:
    """A surrogate's CESU-8 bytes (invalid UTF-8) cannot become a lone surrogate in a form.

    werkzeug keeps them percent-encoded in URL-encoded forms and replaces them with U+FFFD
    in multipart forms; either text is stored alike on both databases.
    """
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data="title=Ausgangslage&level=1&base_version=1&body=a%ED%A0%80b",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    multipart = (
        b"--XX\r\n"
        + b'Content-Disposition: form-data; name="body"\r\n\r\na\xed\xa0\x80b\r\n'
        + b"".join(
            b'--XX\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % pair
            for pair in ((b"title", b"Ausgangslage"), (b"level", b"1"), (b"base_version", b"2"))
        )
        + b"--XX--\r\n"
    )
    response = editor.post(
        f"/sections/{world.section.id}/edit",
        data=multipart,
        content_type="multipart/form-data; boundary=XX",
    )
    assert response.status_code == 302
    stored = db.session.scalars(
        select(SectionVersion.body).where(SectionVersion.number > 1).order_by(SectionVersion.number)
    )
    assert stored.all() == ["a%ED%A0%80b", "a\ufffd\ufffd\ufffdb"]


@pytest.mark.parametrize(
    "target",
    [
        "/\r\nSet-Cookie: evil=1",
        "/%0d%0aLocation:%20https://evil.example",
        "/\\evil.example",
        "/\\\\evil.example",
        "/\tevil",
        "//evil.example",
        "https://evil.example/",
        "/papers\x00",
        "/ /evil.example",
    ],
)
def test_v5_1_5_next_after_login_stays_local_and_on_one_line(
    app: Flask, world: factories.World, target: str
) -> None:
    """V5.1.5: ``next`` cannot redirect to another site or inject a header."""
    from urllib.parse import quote

    client = isolated_client(app)
    response = client.post(
        "/login?next=" + quote(target, safe="%"),
        data={"email": world.editor.email, "password": factories.PASSWORD},
    )
    if "\x00" in target or "%00" in quote(target, safe="%"):
        assert response.status_code == 400
        return
    assert response.status_code == 302
    assert response.location == "/"
    assert "evil" not in str(response.headers)


def test_v5_1_5_a_local_next_still_works(app: Flask, world: factories.World) -> None:
    client = isolated_client(app)
    response = client.post(
        f"/login?next=/papers/{world.paper.id}%3Ftab%3Dx",
        data={"email": world.editor.email, "password": factories.PASSWORD},
    )
    assert response.location == f"/papers/{world.paper.id}?tab=x"


def test_v5_1_3_database_refusals_answer_400(tmp_path: Path) -> None:
    """The last line: a value the database refuses (DataError) is the client's, not a 500."""
    from sqlalchemy.exc import DataError

    with configured_app(tmp_path, PROPAGATE_EXCEPTIONS=False) as application:

        @application.get("/refused")
        def refused() -> str:
            raise DataError("SELECT 1", {}, Exception("integer out of range"))

        client = application.test_client()
        response = client.get("/refused", headers={"Accept": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["error"] == {
            "code": "bad_request",
            "message": "the database cannot store a value sent",
        }
        assert client.get("/refused").status_code == 400


# ---------------------------------------------------------------- the database goes away


def _database_gone(*_args: object, **_kwargs: object) -> None:
    raise OperationalError(
        "SELECT paper.id FROM paper", {}, Exception("server closed the connection unexpectedly")
    )


def test_database_outage_is_a_retryable_503_not_a_500(
    app: Flask, world: factories.World, editor: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarting database answers 503 with Retry-After and a clear message (ASVS V7.4.1)."""
    monkeypatch.setattr(paper_flow, "visible_papers", _database_gone)
    page = editor.get("/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "The database is briefly unavailable." in page.get_data(as_text=True)
    token = factories.token(world.editor)
    answer = app.test_client().get("/api/v1/papers", headers=api_headers(token))
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "service_unavailable"
