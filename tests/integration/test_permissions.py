"""Who may do what on a paper, through the web UI and the JSON API.

Parametrised over persona (role × organisation) and action. Members of participating
organisations read; editors and coordinators write; coordinators manage; everybody else
gets 404 so that a paper's existence does not leak — also through section and version ids.

The matrix runs on one alliance per module: the reading actions change nothing, and the
writing ones touch only what no other case depends on (a spare organisation and user, new
sections, new versions saved on top of whatever is current).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Organisation, OrgKind, Role, SectionVersion, User
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, api_headers, make_app
from tests.integration.support import UNTHROTTLED
from workflows import accounts
from workflows import papers as paper_flow
from workflows import sections as section_flow

PARTICIPANTS = ("coordinator", "editor", "reviewer", "signatory", "member")
OUTSIDERS = ("outsider", "outside_admin")
PERSONAS = (*PARTICIPANTS, *OUTSIDERS, "inactive")
PAPER_TITLE = "Vertrauliches Konzept Marktplatz"
SECTION_TITLE = "Leerstand am Marktplatz"


@dataclass(frozen=True)
class Alliance:
    """Ids and e-mail addresses of the matrix's alliance (no ORM objects: tests run outside
    of the setup's application context)."""

    app: Flask
    paper_id: int
    section_id: int
    emails: dict[str, str]
    coordinator_id: int
    admin_id: int
    city_id: int

    def head_number(self) -> int:
        """Return the number of the section's current version."""
        with self.app.app_context():
            return int(
                db.session.scalar(
                    select(SectionVersion.number)
                    .where(SectionVersion.section_id == self.section_id)
                    .order_by(SectionVersion.number.desc())
                    .limit(1)
                )
                or 0
            )


@pytest.fixture(scope="module")
def alliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alliance]:
    """One app and alliance for the whole matrix, without login throttling.

    No application context stays pushed while the tests run, so every request gets its own
    (its own ``g`` and database session), as in production: a context shared by requests
    would carry one request's logged-in user over into the next.
    """
    app = make_app(tmp_path_factory.mktemp("matrix"), **UNTHROTTLED)
    with app.app_context():
        world = factories.world()
        for u in world.users.values():
            u.locale = "en"
        world.paper.title = PAPER_TITLE
        db.session.commit()
        section_flow.save_section(
            world.editor,
            world.section.id,
            title=SECTION_TITLE,
            body="Zweite Fassung.",
            base_version=1,
        )
        factories.org("SPARE", OrgKind.ASSOCIATION)
        factories.user(world.city, "spare@example.org")
        factories.user(world.outside, "outside-admin@example.org", admin=True)
        emails = {name: u.email for name, u in world.users.items()}
        emails["outside_admin"] = "outside-admin@example.org"
        alliance = Alliance(
            app,
            world.paper.id,
            world.section.id,
            emails,
            world.coordinator.id,
            world.admin.id,
            world.city.id,
        )
    yield alliance
    if IS_POSTGRES:
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


def persona_email(alliance: Alliance, persona: str) -> str:
    """Return the persona's e-mail; the inactive persona is a fresh editor of the paper."""
    if persona != "inactive":
        return alliance.emails[persona]
    with alliance.app.app_context():
        user = factories.user(db.session.get_one(Organisation, alliance.city_id), locale="en")
        coordinator = db.session.get_one(User, alliance.coordinator_id)
        paper_flow.grant_role(coordinator, alliance.paper_id, user.email, Role.EDITOR)
        return user.email


def deactivate(alliance: Alliance, email: str) -> None:
    """Deactivate a user as an administrator does."""
    with alliance.app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        accounts.update_user(
            user.id,
            display_name=user.display_name,
            organisation_id=user.organisation_id,
            locale=user.locale,
            active=False,
            is_admin=False,
            actor=db.session.get_one(User, alliance.admin_id),
        )


def token_for(alliance: Alliance, email: str) -> str:
    with alliance.app.app_context():
        return factories.token(db.session.scalars(select(User).where(User.email == email)).one())


def expected(persona: str, allowed: tuple[str, ...], ok: int, inactive: int) -> int:
    if persona in allowed:
        return ok
    if persona in PARTICIPANTS:
        return 403
    if persona in OUTSIDERS:
        return 404
    return inactive


# ---------------------------------------------------------------- the web UI

Request = Callable[[FlaskClient, Alliance], Any]

READERS = PARTICIPANTS
WRITERS = ("coordinator", "editor")
MANAGERS = ("coordinator",)


def _save_form(c: FlaskClient, a: Alliance) -> Any:
    return c.post(
        f"/sections/{a.section_id}/edit",
        data={
            "title": SECTION_TITLE,
            "level": "1",
            "body": f"Neu {a.head_number()}.",
            "base_version": str(a.head_number()),
            "note": "",
        },
    )


HTML_ACTIONS: dict[str, tuple[Request, tuple[str, ...], int]] = {
    "view paper": (lambda c, a: c.get(f"/papers/{a.paper_id}"), READERS, 200),
    "view settings": (lambda c, a: c.get(f"/papers/{a.paper_id}/settings"), READERS, 200),
    "view history": (lambda c, a: c.get(f"/sections/{a.section_id}/history"), READERS, 200),
    "view version": (lambda c, a: c.get(f"/sections/{a.section_id}/versions/1"), READERS, 200),
    "compare": (
        lambda c, a: c.get(f"/sections/{a.section_id}/compare?from=1&to=2"),
        READERS,
        200,
    ),
    "open editor": (lambda c, a: c.get(f"/sections/{a.section_id}/edit"), WRITERS, 200),
    "save section": (_save_form, WRITERS, 302),
    "open new section form": (
        lambda c, a: c.get(f"/papers/{a.paper_id}/sections/new"),
        WRITERS,
        200,
    ),
    "add section": (
        lambda c, a: c.post(
            f"/papers/{a.paper_id}/sections/new",
            data={"title": "Neuer Abschnitt", "level": "2", "body": "Text."},
        ),
        WRITERS,
        302,
    ),
    "add participant": (
        lambda c, a: c.post(f"/papers/{a.paper_id}/participants", data={"organisation": "SPARE"}),
        MANAGERS,
        302,
    ),
    "grant role": (
        lambda c, a: c.post(
            f"/papers/{a.paper_id}/roles", data={"email": "spare@example.org", "role": "reviewer"}
        ),
        MANAGERS,
        302,
    ),
    "change title": (
        lambda c, a: c.post(
            f"/papers/{a.paper_id}/settings", data={"title": PAPER_TITLE, "summary": "Neu."}
        ),
        MANAGERS,
        302,
    ),
}


@pytest.mark.parametrize("action", list(HTML_ACTIONS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_web_ui(alliance: Alliance, persona: str, action: str) -> None:
    request, allowed, ok = HTML_ACTIONS[action]
    client = alliance.app.test_client()
    email = persona_email(alliance, persona)
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302 and response.location == "/", "login failed"
    if persona == "inactive":
        deactivate(alliance, email)

    response = request(client, alliance)

    assert response.status_code == expected(persona, allowed, ok, 302)
    page = response.get_data(as_text=True)
    if response.status_code == 302:
        login_page = response.location.startswith("/login")
        assert login_page == (persona == "inactive"), response.location
    if response.status_code in (403, 404):
        assert PAPER_TITLE not in page
        assert SECTION_TITLE not in page


@pytest.mark.parametrize("persona", PARTICIPANTS)
def test_paper_page_offers_only_allowed_actions(alliance: Alliance, persona: str) -> None:
    client = alliance.app.test_client()
    client.post("/login", data={"email": alliance.emails[persona], "password": factories.PASSWORD})
    page = client.get(f"/papers/{alliance.paper_id}").get_data(as_text=True)
    writer = persona in WRITERS
    assert (f"/papers/{alliance.paper_id}/sections/new" in page) == writer
    assert (f"/sections/{alliance.section_id}/edit" in page) == writer
    # The section menu is one template on the page (cloned per section by sectionmenu.js,
    # "/sections/0" standing for the section) and, without JavaScript, the section's actions page.
    assert ("/sections/0/remove" in page) == writer
    assert "/sections/0/history" in page
    assert f"/sections/{alliance.section_id}/actions" in page
    actions = client.get(f"/sections/{alliance.section_id}/actions").get_data(as_text=True)
    assert (f"/sections/{alliance.section_id}/remove" in actions) == writer
    assert f"/sections/{alliance.section_id}/history" in actions
    settings = client.get(f"/papers/{alliance.paper_id}/settings").get_data(as_text=True)
    assert (f"/papers/{alliance.paper_id}/roles" in settings) == (persona in MANAGERS)


# ---------------------------------------------------------------- the JSON API


def _put(c: FlaskClient, a: Alliance, h: dict[str, str]) -> Any:
    number = a.head_number()
    return c.put(
        f"/api/v1/sections/{a.section_id}",
        headers=h,
        json={"body": f"API {number}.", "base_version": number},
    )


ApiRequest = Callable[[FlaskClient, Alliance, dict[str, str]], Any]

API_ACTIONS: dict[str, tuple[ApiRequest, tuple[str, ...], int]] = {
    "get paper": (lambda c, a, h: c.get(f"/api/v1/papers/{a.paper_id}", headers=h), READERS, 200),
    "get section": (
        lambda c, a, h: c.get(f"/api/v1/sections/{a.section_id}", headers=h),
        READERS,
        200,
    ),
    "list versions": (
        lambda c, a, h: c.get(f"/api/v1/sections/{a.section_id}/versions", headers=h),
        READERS,
        200,
    ),
    "get version": (
        lambda c, a, h: c.get(f"/api/v1/sections/{a.section_id}/versions/1", headers=h),
        READERS,
        200,
    ),
    "diff": (
        lambda c, a, h: c.get(f"/api/v1/sections/{a.section_id}/diff?from=1&to=2", headers=h),
        READERS,
        200,
    ),
    "save section": (_put, WRITERS, 200),
    "add section": (
        lambda c, a, h: c.post(
            f"/api/v1/papers/{a.paper_id}/sections",
            headers=h,
            json={"title": "Über die API", "level": 2, "body": "Text."},
        ),
        WRITERS,
        201,
    ),
    "add participant": (
        lambda c, a, h: c.post(
            f"/api/v1/papers/{a.paper_id}/participants", headers=h, json={"organisation": "SPARE"}
        ),
        MANAGERS,
        201,
    ),
    "grant role": (
        lambda c, a, h: c.post(
            f"/api/v1/papers/{a.paper_id}/roles",
            headers=h,
            json={"email": "spare@example.org", "role": "signatory"},
        ),
        MANAGERS,
        201,
    ),
}


@pytest.mark.parametrize("action", list(API_ACTIONS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_api(alliance: Alliance, persona: str, action: str) -> None:
    request, allowed, ok = API_ACTIONS[action]
    client = alliance.app.test_client()
    email = persona_email(alliance, persona)
    headers = api_headers(token_for(alliance, email))
    if persona == "inactive":
        deactivate(alliance, email)

    response = request(client, alliance, headers)

    status = expected(persona, allowed, ok, 401)
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    if status >= 400:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]
        assert body["error"]["code"] == code
        assert PAPER_TITLE not in response.get_data(as_text=True)
    else:
        assert "error" not in body


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_paper_list_shows_only_visible_papers(alliance: Alliance, persona: str) -> None:
    client = alliance.app.test_client()
    email = persona_email(alliance, persona)
    headers = api_headers(token_for(alliance, email))
    if persona == "inactive":
        deactivate(alliance, email)
        assert client.get("/api/v1/papers", headers=headers).status_code == 401
        return
    ids = [p["id"] for p in client.get("/api/v1/papers", headers=headers).get_json()["papers"]]
    assert (alliance.paper_id in ids) == (persona in PARTICIPANTS)


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_unknown_and_foreign_ids_look_the_same(alliance: Alliance, persona: str) -> None:
    """A non-participant cannot tell a foreign paper, section or version from a missing one."""
    client = alliance.app.test_client()
    email = persona_email(alliance, persona)
    headers = api_headers(token_for(alliance, email))
    client.post("/login", data={"email": email, "password": factories.PASSWORD})
    pid, sid = alliance.paper_id, alliance.section_id
    pairs = [
        (f"/papers/{pid}", "/papers/999999"),
        (f"/sections/{sid}/history", "/sections/999999/history"),
        (f"/sections/{sid}/versions/1", f"/sections/{sid}/versions/999"),
        (f"/api/v1/papers/{pid}", "/api/v1/papers/999999"),
        (f"/api/v1/sections/{sid}", "/api/v1/sections/999999"),
        (f"/api/v1/sections/{sid}/versions/1", "/api/v1/sections/999999/versions/1"),
    ]
    for foreign, missing in pairs:
        one = client.get(foreign, headers=headers if foreign.startswith("/api") else {})
        other = client.get(missing, headers=headers if missing.startswith("/api") else {})
        assert one.status_code == other.status_code == 404, foreign
        if foreign.startswith("/api"):
            assert one.get_json()["error"]["code"] == other.get_json()["error"]["code"]
