"""Print views of a paper, an edition and the record of sign-off."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from drafting.models import Role
from tests import factories
from tests.integration.support import login
from workflows import papers as paper_flow
from workflows import signoff as signoff_flow


def _signed(world: factories.World) -> None:
    factories.section(
        world.editor, world.paper, title="Ziele", body="| A | B |\n|---|---|\n| 1 | 2 |", level=2
    )
    factories.approve_all(world)
    signoff_flow.start(world.coordinator, world.paper.id, label="Stand Mai")
    paper_flow.grant_role(world.coordinator, world.paper.id, world.reviewer.email, Role.SIGNATORY)
    signoff_flow.decide(
        world.signatory, world.paper.id, "approve_with_reservation", "Nur mit Radwegen."
    )


def test_paper_print_view_has_text_without_navigation(
    client: FlaskClient, world: factories.World
) -> None:
    factories.section(
        world.editor, world.paper, title="Ziele", body="Mehr **Leben** am Abend.", level=2
    )
    login(client, world.member.email)
    response = client.get(f"/papers/{world.paper.id}/print")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "print.css" in page and "print.js" in page
    assert "site-header" not in page and "Abmelden" not in page and "Log out" not in page
    assert "<script>" not in page and "onclick" not in page
    assert "Konzept Innenstadt" in page
    assert re.search(r"<h2[^>]*><span class=\"number\">1</span> Ausgangslage</h2>", page)
    assert re.search(r"<h3[^>]*><span class=\"number\">1.1</span> Ziele</h3>", page)
    assert "Die Innenstadt lebt vom Handel." in page and "<strong>Leben</strong>" in page
    # The paper page links to it.
    assert f"/papers/{world.paper.id}/print" in client.get(f"/papers/{world.paper.id}").get_data(
        as_text=True
    )


def test_print_css_lays_out_a4_with_page_numbers(
    client: FlaskClient, world: factories.World
) -> None:
    response = client.get("/static/print.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "size: A4" in css
    assert "counter(page)" in css
    assert re.search(r"h1, h2, h3, h4, h5, h6 \{ break-after: avoid", css)
    assert re.search(r"tr, [^{]*\{ break-inside: avoid", css)


def test_outsiders_get_no_print_view(client: FlaskClient, world: factories.World) -> None:
    login(client, world.outsider.email)
    assert client.get(f"/papers/{world.paper.id}/print").status_code == 404


def test_edition_and_record_print_views(client: FlaskClient, world: factories.World) -> None:
    _signed(world)
    login(client, world.member.email)
    page = client.get(f"/papers/{world.paper.id}/editions/1/print").get_data(as_text=True)
    assert "Stand Mai" in page and "Ziele" in page and "<table" in page
    record = client.get(f"/papers/{world.paper.id}/editions/1/record/print")
    text = record.get_data(as_text=True)
    assert record.status_code == 200
    assert "Nur mit Radwegen." in text and "signoff-matrix" in text
    assert "site-header" not in text
    assert f"/papers/{world.paper.id}/editions/1/record/print" in client.get(
        f"/papers/{world.paper.id}/editions/1/record"
    ).get_data(as_text=True)
    assert f"/papers/{world.paper.id}/editions/1/print" in client.get(
        f"/papers/{world.paper.id}/editions/1"
    ).get_data(as_text=True)
    client.post("/logout")
    login(client, world.outsider.email)
    assert client.get(f"/papers/{world.paper.id}/editions/1/record/print").status_code == 404
