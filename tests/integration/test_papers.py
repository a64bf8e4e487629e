"""Papers through the web UI: create, list, participants, roles, numbered paper page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Paper, PaperRole, Participant, Role
from exports.collect import collect
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import english, isolated_client, login


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return isolated_client(app)


@pytest.fixture
def coordinator(client: FlaskClient, world: factories.World) -> FlaskClient:
    """A browser with the paper's coordinator logged in, reading English."""
    english(world)
    login(client, world.coordinator.email)
    return client


def roles_on(paper_id: int) -> set[tuple[str, Role]]:
    rows = db.session.scalars(select(PaperRole).where(PaperRole.paper_id == paper_id))
    return {(r.user.email, r.role) for r in rows}


def participants_of(paper_id: int) -> set[str]:
    rows = db.session.scalars(select(Participant).where(Participant.paper_id == paper_id))
    return {p.organisation.short_name for p in rows}


def test_create_a_paper(client: FlaskClient, world: factories.World) -> None:
    english(world)
    login(client, world.editor.email)
    assert client.get("/papers/new").status_code == 200
    response = client.post(
        "/papers/new",
        data={
            "title": "  Nahversorgung im Quartier  ",
            "summary": "Wie Läden bleiben.",
        },
    )
    assert response.status_code == 302
    paper_id = int(re.fullmatch(r"/papers/(\d+)", response.location).group(1))  # type: ignore[union-attr]
    paper = db.session.get_one(Paper, paper_id)
    assert (paper.title, paper.summary) == ("Nahversorgung im Quartier", "Wie Läden bleiben.")
    assert paper.lead_organisation_id == world.city.id
    assert paper.created_by_id == world.editor.id
    assert roles_on(paper_id) == {(world.editor.email, Role.COORDINATOR)}
    assert participants_of(paper_id) == {"CITY"}

    page = client.get(response.location).get_data(as_text=True)
    assert "Nahversorgung im Quartier" in page
    assert "This paper has no sections yet." in page
    assert "Nahversorgung im Quartier" in client.get("/").get_data(as_text=True)
    # Colleagues of the lead organisation read it; others do not even see it listed.
    member = isolated_client(client.application)
    login(member, world.member.email)
    assert member.get(f"/papers/{paper_id}").status_code == 200
    other_org = isolated_client(client.application)
    login(other_org, world.coordinator.email)
    assert other_org.get(f"/papers/{paper_id}").status_code == 404
    assert "Nahversorgung" not in other_org.get("/").get_data(as_text=True)


def test_paper_list_shows_the_organisations_papers(
    client: FlaskClient, world: factories.World
) -> None:
    own = factories.paper(world.outsider, "Eigenes Konzept Gewerbegebiet")
    login(client, world.outsider.email)
    page = client.get("/").get_data(as_text=True)
    assert own.title in page
    assert world.paper.title not in page


def test_add_participants(coordinator: FlaskClient, world: factories.World) -> None:
    settings = coordinator.get(f"/papers/{world.paper.id}/settings").get_data(as_text=True)
    options = set(re.findall(r'<option[^>]*value="([^"]+)"', settings))
    assert "OUT" in options
    assert not {"MIN", "CITY", "IHK"} & options  # already taking part

    response = coordinator.post(
        f"/papers/{world.paper.id}/participants", data={"organisation": "OUT"}
    )
    assert response.status_code == 302
    assert participants_of(world.paper.id) == {"MIN", "CITY", "IHK", "OUT"}
    assert world.outside.name in coordinator.get(response.location).get_data(as_text=True)
    outsider = isolated_client(coordinator.application)
    login(outsider, world.outsider.email)
    assert outsider.get(f"/papers/{world.paper.id}").status_code == 200


def test_remove_a_participant_takes_its_members_roles(
    coordinator: FlaskClient, world: factories.World
) -> None:
    response = coordinator.post(f"/papers/{world.paper.id}/participants/{world.city.id}/remove")
    assert response.status_code == 302
    assert participants_of(world.paper.id) == {"MIN", "IHK"}
    assert {email for email, _ in roles_on(world.paper.id)} == {
        world.coordinator.email,
        world.reviewer.email,
    }
    editor = isolated_client(coordinator.application)
    login(editor, world.editor.email)
    assert editor.get(f"/papers/{world.paper.id}").status_code == 404


def test_the_lead_organisation_stays(coordinator: FlaskClient, world: factories.World) -> None:
    response = coordinator.post(f"/papers/{world.paper.id}/participants/{world.ministry.id}/remove")
    assert response.status_code == 409
    assert "The lead organisation cannot be removed." in response.get_data(as_text=True)
    assert "MIN" in participants_of(world.paper.id)


def test_grant_roles(coordinator: FlaskClient, world: factories.World) -> None:
    response = coordinator.post(
        f"/papers/{world.paper.id}/roles", data={"email": world.member.email, "role": "editor"}
    )
    assert response.status_code == 302
    assert (world.member.email, Role.EDITOR) in roles_on(world.paper.id)
    page = coordinator.get(f"/papers/{world.paper.id}/settings").get_data(as_text=True)
    row = re.search(rf"<td>{world.member.display_name}</td>.*?</tr>", page, re.S)
    assert row and "Editor" in row.group(0)

    # Granting the same role again changes nothing.
    coordinator.post(
        f"/papers/{world.paper.id}/roles", data={"email": world.member.email, "role": "editor"}
    )
    assert len([r for r in roles_on(world.paper.id) if r[0] == world.member.email]) == 1

    member = isolated_client(coordinator.application)
    login(member, world.member.email)
    assert member.get(f"/sections/{world.section.id}/edit").status_code == 200


def test_roles_only_for_users_of_participating_organisations(
    coordinator: FlaskClient, world: factories.World
) -> None:
    before = roles_on(world.paper.id)
    for email in (world.outsider.email, "nobody@example.org"):
        response = coordinator.post(
            f"/papers/{world.paper.id}/roles", data={"email": email, "role": "reviewer"}
        )
        assert response.status_code == 200
        assert "No user of a participating organisation has this e-mail address." in (
            response.get_data(as_text=True)
        )
    response = coordinator.post(
        f"/papers/{world.paper.id}/roles", data={"email": world.member.email, "role": "owner"}
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert roles_on(world.paper.id) == before


def test_revoke_roles_but_keep_a_coordinator(
    coordinator: FlaskClient, world: factories.World
) -> None:
    editor_role = db.session.scalars(
        select(PaperRole).where(PaperRole.user_id == world.editor.id)
    ).one()
    response = coordinator.post(f"/papers/{world.paper.id}/roles/{editor_role.id}/revoke")
    assert response.status_code == 302
    assert (world.editor.email, Role.EDITOR) not in roles_on(world.paper.id)

    own = db.session.scalars(
        select(PaperRole).where(PaperRole.user_id == world.coordinator.id)
    ).one()
    response = coordinator.post(f"/papers/{world.paper.id}/roles/{own.id}/revoke")
    assert response.status_code == 409
    assert "A paper needs at least one coordinator." in response.get_data(as_text=True)
    assert (world.coordinator.email, Role.COORDINATOR) in roles_on(world.paper.id)


def test_change_title_and_summary(coordinator: FlaskClient, world: factories.World) -> None:
    response = coordinator.post(
        f"/papers/{world.paper.id}/settings",
        data={"title": "Neuer Titel", "summary": "Neue Zusammenfassung."},
    )
    assert response.status_code == 302
    db.session.refresh(world.paper)
    assert (world.paper.title, world.paper.summary) == ("Neuer Titel", "Neue Zusammenfassung.")


def test_paper_page_numbers_headings_by_level(
    coordinator: FlaskClient, world: factories.World
) -> None:
    # The world's first section is level 1: "1 Ausgangslage".
    for title, level in [
        ("Handel", 2),
        ("Leerstand", 3),
        ("Zwischennutzung", 3),
        ("Gastronomie", 2),
        ("Maßnahmen", 1),
        ("Mobilität", 2),
    ]:
        factories.section(world.editor, world.paper, title=title, level=level)
    page = coordinator.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    headings = re.findall(
        r'<h([234]) id="section-\d+-h"><span>([\d.]+)</span> ([^<]+)</h\1>',
        page,
    )
    expected = [
        (1, "1", "Ausgangslage"),
        (2, "1.1", "Handel"),
        (3, "1.1.1", "Leerstand"),
        (3, "1.1.2", "Zwischennutzung"),
        (2, "1.2", "Gastronomie"),
        (1, "2", "Maßnahmen"),
        (2, "2.1", "Mobilität"),
    ]
    assert [(int(h) - 1, number, title) for h, number, title in headings] == expected
    toc = re.search(r'<nav aria-labelledby="toc-heading".*?</nav>', page, re.S)
    assert toc and "1.1.2 Zwischennutzung" in toc.group(0)
    # The contents nest by level: each entry sits as deep in <ol>s as its section's level.
    depth, entries = 0, []
    for tag, text in re.findall(r"<(/?ol)>|<a href=\"#section-\d+\">([^<]+)</a>", toc.group(0)):
        depth += {"ol": 1, "/ol": -1}.get(tag, 0)
        if text:
            entries.append((depth, text))
    assert entries == [(level, f"{number} {title}") for level, number, title in expected]
    assert depth == 0 and "<li class=" not in toc.group(0)


def test_paper_page_renders_markdown_and_names_the_last_author(
    coordinator: FlaskClient, world: factories.World
) -> None:
    factories.section(
        world.editor,
        world.paper,
        title="Tabelle",
        body="**Fett** und *kursiv*.\n\n| Stadt | Leerstand |\n|---|---|\n| A | 3 |",
    )
    page = coordinator.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    assert "<strong>Fett</strong>" in page
    assert "<em>kursiv</em>" in page
    # The page leaves out the end tags HTML lets it omit (drafting.text.markdown.omit_end_tags).
    assert re.search(r"<table[^>]*>", page) and "<td>3</table>" in page
    assert re.search(rf"Version \d+ by {world.editor.display_name} on \S", page)


def test_unknown_paper_gives_404(coordinator: FlaskClient) -> None:
    for url in ["/papers/99999", "/papers/99999/settings", "/papers/99999/sections/new"]:
        assert coordinator.get(url).status_code == 404, url
    response = coordinator.post("/papers/99999/participants", data={"organisation": "OUT"})
    assert response.status_code == 404


def test_a_paper_is_written_in_its_own_language(
    client: FlaskClient, world: factories.World
) -> None:
    """The Word export's language is the paper's, not its creator's interface language."""
    english(world)
    login(client, world.editor.email)
    page = client.get("/papers/new").get_data(as_text=True)
    assert "Language of the paper" in page
    assert '<option selected value="en">English</option>' in page  # the creator's language
    made = client.post("/papers/new", data={"title": "Nahversorgung", "language": "de"})
    paper_id = int(re.fullmatch(r"/papers/(\d+)", made.location).group(1))  # type: ignore[union-attr]
    db.session.rollback()  # a fresh snapshot: the app wrote in its own session
    paper = db.session.get_one(Paper, paper_id)
    assert paper.language == "de"
    # Without a choice (a form of an older page), the creator's interface language.
    older = client.post("/papers/new", data={"title": "Wochenmarkt"})
    older_id = int(re.fullmatch(r"/papers/(\d+)", older.location).group(1))  # type: ignore[union-attr]
    db.session.rollback()
    assert db.session.get_one(Paper, older_id).language == "en"
    # The creator switching the interface changes no paper.
    client.post("/language", data={"locale": "de"})
    db.session.rollback()
    assert world.editor.locale == "de"
    assert collect(paper_id).language == "de" and collect(older_id).language == "en"
    # The coordinator changes it in the settings; anything else is refused with a message.
    english(world)
    saved = client.post(
        f"/papers/{paper_id}/settings", data={"title": "Nahversorgung", "language": "en"}
    )
    assert saved.status_code == 302
    db.session.rollback()
    assert db.session.get_one(Paper, paper_id).language == "en"
    refused = client.post(
        f"/papers/{paper_id}/settings", data={"title": "Nahversorgung", "language": "fr"}
    )
    assert refused.status_code == 200
    assert "The language must be one of: de, en." in refused.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get_one(Paper, paper_id).language == "en"


def test_the_api_creates_a_paper_in_a_language(
    client: FlaskClient, world: factories.World, tokens: dict[str, str]
) -> None:
    headers = api_headers(tokens["editor"])
    made = client.post(
        "/api/v1/papers", json={"title": "Stadtgrün", "language": "en"}, headers=headers
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["language"] == "en"
    default = client.post("/api/v1/papers", json={"title": "Stadtbäume"}, headers=headers)
    assert default.get_json()["language"] == world.editor.locale
    wrong = client.post(
        "/api/v1/papers", json={"title": "Stadtgrün", "language": "fr"}, headers=headers
    )
    assert wrong.status_code in (400, 422)
    assert wrong.get_json()["error"]["code"] == "validation_failed"
