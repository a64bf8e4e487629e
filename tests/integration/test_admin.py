"""Administrators manage partner organisations and user accounts in the UI."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Organisation, OrgKind, User
from tests import factories
from tests.integration.support import english, isolated_client, login

ADMIN_PAGES = ["/admin/", "/admin/organisations", "/admin/users"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app)


@pytest.fixture
def admin(client: FlaskClient, world: factories.World) -> FlaskClient:
    """A browser with the administrator logged in, reading English."""
    english(world)
    login(client, world.admin.email)
    return client


def org_named(short: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.short_name == short))


def user_with(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.mark.parametrize("persona", ["coordinator", "editor", "member", "outsider"])
def test_non_admins_get_403(client: FlaskClient, world: factories.World, persona: str) -> None:
    login(client, world.users[persona].email)
    for url in [
        *ADMIN_PAGES,
        f"/admin/organisations/{world.city.id}",
        f"/admin/users/{world.editor.id}",
    ]:
        assert client.get(url).status_code == 403, url
    response = client.post(
        "/admin/organisations",
        data={"name": "Stadt Sonnental", "short_name": "SON", "kind": "other"},
    )
    assert response.status_code == 403
    response = client.post(
        f"/admin/users/{world.editor.id}",
        data={
            "display_name": "Übernommen",
            "organisation": str(world.city.id),
            "locale": "de",
            "active": "y",
            "is_admin": "y",
        },
    )
    assert response.status_code == 403
    assert org_named("SON") is None
    assert not world.editor.is_admin
    assert "/admin/users" not in client.get("/").get_data(as_text=True)


def test_visitors_are_sent_to_log_in(client: FlaskClient) -> None:
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/login")


def test_admin_pages_list_everything(admin: FlaskClient, world: factories.World) -> None:
    assert admin.get("/admin/").location == "/admin/organisations"
    orgs = admin.get("/admin/organisations").get_data(as_text=True)
    for org in (world.ministry, world.city, world.chamber, world.outside):
        assert org.name in orgs
    users = admin.get("/admin/users").get_data(as_text=True)
    for user in world.users.values():
        assert user.email in users
    assert "/admin/users" in admin.get("/").get_data(as_text=True)


def test_create_and_edit_an_organisation(admin: FlaskClient) -> None:
    response = admin.post(
        "/admin/organisations",
        data={
            "name": "Werbegemeinschaft Altstadt",
            "short_name": "WGA",
            "kind": "association",
        },
    )
    assert response.status_code == 302
    org = org_named("WGA")
    assert org is not None
    assert (org.name, org.kind) == ("Werbegemeinschaft Altstadt", OrgKind.ASSOCIATION)
    assert "Werbegemeinschaft Altstadt" in admin.get("/admin/organisations").get_data(as_text=True)

    page = admin.get(f"/admin/organisations/{org.id}").get_data(as_text=True)
    assert 'value="WGA"' in page
    response = admin.post(
        f"/admin/organisations/{org.id}",
        data={
            "name": "Werbegemeinschaft Altstadt e. V.",
            "short_name": "WGA",
            "kind": "other",
        },
    )
    assert response.status_code == 302
    db.session.refresh(org)
    assert (org.name, org.kind) == ("Werbegemeinschaft Altstadt e. V.", OrgKind.OTHER)


@pytest.mark.parametrize("clash", ["name", "short_name"])
def test_duplicate_organisations_are_refused_with_a_form_error(
    admin: FlaskClient, world: factories.World, clash: str
) -> None:
    data = {"name": "Stadt Neuhausen", "short_name": "NEU", "kind": "municipality"}
    data[clash] = getattr(world.city, clash)
    before = db.session.scalars(select(Organisation)).all()
    response = admin.post("/admin/organisations", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "An organisation with this name or short name exists." in page
    assert 'class="errors"' in page
    assert len(db.session.scalars(select(Organisation)).all()) == len(before)


def test_renaming_an_organisation_onto_another_is_refused(
    admin: FlaskClient, world: factories.World
) -> None:
    response = admin.post(
        f"/admin/organisations/{world.city.id}",
        data={
            "name": world.city.name,
            "short_name": "IHK",
            "kind": "municipality",
        },
    )
    assert response.status_code == 200
    assert "An organisation with this name or short name exists." in response.get_data(as_text=True)
    db.session.refresh(world.city)
    assert world.city.short_name == "CITY"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "short_name": "X", "kind": "other"}, "This field is required."),
        ({"name": "X" * 201, "short_name": "X", "kind": "other"}, "Field cannot be longer"),
        ({"name": "Neu", "short_name": "X", "kind": "bank"}, "Not a valid choice"),
    ],
    ids=["empty name", "long name", "unknown kind"],
)
def test_invalid_organisations_are_refused(
    admin: FlaskClient, data: dict[str, str], message: str
) -> None:
    response = admin.post("/admin/organisations", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert org_named("X") is None


def test_create_a_user(app: Flask, admin: FlaskClient, world: factories.World) -> None:
    response = admin.post(
        "/admin/users",
        data={
            "email": "Neu@Example.org",
            "display_name": "Nora Neu",
            "organisation": str(world.chamber.id),
            "locale": "en",
            "password": "a-long-initial-password",
        },
    )
    assert response.status_code == 302
    user = user_with("neu@example.org")
    assert user is not None
    assert (user.display_name, user.organisation_id, user.locale, user.active, user.is_admin) == (
        "Nora Neu",
        world.chamber.id,
        "en",
        True,
        False,
    )
    assert "Nora Neu" in admin.get("/admin/users").get_data(as_text=True)
    login(isolated_client(app), "neu@example.org", "a-long-initial-password")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "EDITOR@example.org"}, "A user with this e-mail address exists."),
        ({"email": "kein-at-zeichen"}, "Not a valid e-mail address."),
        ({"password": "short"}, "Field must be between 10 and 1000 characters long."),
        ({"display_name": ""}, "This field is required."),
        ({"organisation": "99999"}, "Not a valid choice"),
    ],
    ids=["duplicate e-mail", "bad e-mail", "short password", "no name", "unknown organisation"],
)
def test_invalid_users_are_refused_with_a_form_error(
    admin: FlaskClient, world: factories.World, fields: dict[str, str], message: str
) -> None:
    before = len(db.session.scalars(select(User)).all())
    data = {
        "email": "neu@example.org",
        "display_name": "Nora Neu",
        "organisation": str(world.city.id),
        "locale": "de",
        "password": "a-long-initial-password",
    }
    data.update(fields)
    response = admin.post("/admin/users", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == before


def test_edit_a_user(admin: FlaskClient, world: factories.World) -> None:
    page = admin.get(f"/admin/users/{world.member.id}").get_data(as_text=True)
    assert world.member.display_name in page
    response = admin.post(
        f"/admin/users/{world.member.id}",
        data={
            "display_name": "Max Mitglied-Neu",
            "organisation": str(world.chamber.id),
            "locale": "en",
            "active": "y",
            "is_admin": "y",
        },
    )
    assert response.status_code == 302
    db.session.refresh(world.member)
    assert (
        world.member.display_name,
        world.member.organisation_id,
        world.member.locale,
        world.member.active,
        world.member.is_admin,
    ) == (
        "Max Mitglied-Neu",
        world.chamber.id,
        "en",
        True,
        True,
    )


def test_deactivate_and_reactivate_a_user(
    app: Flask, admin: FlaskClient, world: factories.World
) -> None:
    data = {
        "display_name": world.member.display_name,
        "organisation": str(world.city.id),
        "locale": "de",
    }
    assert admin.post(f"/admin/users/{world.member.id}", data=data).status_code == 302
    db.session.refresh(world.member)
    assert not world.member.active
    assert "inactive" in admin.get("/admin/users").get_data(as_text=True)
    browser = isolated_client(app)
    browser.post("/login", data={"email": world.member.email, "password": factories.PASSWORD})
    assert browser.get("/").status_code == 302

    assert (
        admin.post(f"/admin/users/{world.member.id}", data={**data, "active": "y"}).status_code
        == 302
    )
    login(browser, world.member.email)


def test_admins_cannot_lock_themselves_out(admin: FlaskClient, world: factories.World) -> None:
    response = admin.post(
        f"/admin/users/{world.admin.id}",
        data={
            "display_name": world.admin.display_name,
            "organisation": str(world.ministry.id),
            "locale": "en",
            "active": "y",  # is_admin left unchecked
        },
    )
    assert response.status_code == 200
    assert "Administrators cannot deactivate or demote themselves." in response.get_data(
        as_text=True
    )
    db.session.refresh(world.admin)
    assert world.admin.is_admin and world.admin.active


def test_unknown_ids_give_404(admin: FlaskClient) -> None:
    assert admin.get("/admin/organisations/99999").status_code == 404
    assert admin.get("/admin/users/99999").status_code == 404
