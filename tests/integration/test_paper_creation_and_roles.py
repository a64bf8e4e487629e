"""Who may create papers, and no account probing through the role form (issue 9, item 11).

Paper creation is a setting per organisation (default: allowed), enforced by the workflow
for pages, API, Word import and anything else calling it; administrators change it on the
admin page or with ``orgs paper-creation``. The role form gives one answer for unknown
addresses and for people outside the paper's organisations.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Organisation, Paper
from tests import factories
from tests.conftest import api_headers
from workflows import papers as paper_flow
from workflows.errors import NotAllowed


def _deny(org: Organisation) -> None:
    org.may_create_papers = False
    db.session.commit()


def _papers() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(Paper)).all())


def test_every_organisation_may_create_papers_by_default(world):
    assert all(o.may_create_papers for o in db.session.scalars(select(Organisation)))
    assert paper_flow.may_create_papers(world.member)


def test_asvs_v4_1_3_a_denied_organisation_cannot_create_papers_in_the_workflow(world):
    """ASVS V4.1.3: the workflow itself refuses, whoever calls it."""
    _deny(world.city)
    before = _papers()
    with pytest.raises(NotAllowed):
        paper_flow.create_paper(world.editor, "Neues Konzept", "")
    db.session.rollback()
    assert _papers() == before
    # Other organisations still may.
    paper_flow.create_paper(world.coordinator, "Konzept des Ministeriums", "")
    assert _papers() == before + 1


def test_asvs_v4_1_3_a_denied_organisation_cannot_create_papers_in_pages(client, auth, world):
    """ASVS V4.1.3: the form is refused and its link hidden."""
    _deny(world.city)
    auth.login(world.editor.email)
    assert "/papers/new" not in client.get("/").get_data(as_text=True)
    assert client.get("/papers/new").status_code == 403
    before = _papers()
    response = client.post("/papers/new", data={"title": "Neues Konzept", "summary": ""})
    assert response.status_code == 403
    assert client.get("/papers/import").status_code == 403
    assert _papers() == before


def test_asvs_v4_1_3_a_denied_organisation_cannot_create_papers_in_the_api(client, world):
    """ASVS V4.1.3: the API answers 403 forbidden."""
    _deny(world.city)
    before = _papers()
    response = client.post(
        "/api/v1/papers",
        json={"title": "Neues Konzept"},
        headers=api_headers(factories.token(world.editor)),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert _papers() == before


def test_the_admin_page_switches_paper_creation(client, auth, world):
    auth.login(world.admin.email)
    page = client.get(f"/admin/organisations/{world.city.id}").get_data(as_text=True)
    assert 'name="may_create_papers"' in page
    response = client.post(
        f"/admin/organisations/{world.city.id}",
        data={"name": world.city.name, "short_name": "CITY", "kind": "municipality"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, world.city.id).may_create_papers is False
    response = client.post(
        f"/admin/organisations/{world.city.id}",
        data={
            "name": world.city.name,
            "short_name": "CITY",
            "kind": "municipality",
            "may_create_papers": "y",
        },
    )
    db.session.expire_all()
    assert db.session.get(Organisation, world.city.id).may_create_papers is True
    response = client.post(
        "/admin/organisations",
        data={"name": "Nur lesend e. V.", "short_name": "NL", "kind": "association"},
    )
    assert response.status_code == 302
    created = db.session.scalar(select(Organisation).where(Organisation.short_name == "NL"))
    assert created is not None and created.may_create_papers is False


def test_the_cli_switches_paper_creation(runner, world):
    result = runner.invoke(args=["orgs", "paper-creation", "CITY", "deny"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Organisation, world.city.id).may_create_papers is False
    with pytest.raises(NotAllowed):
        paper_flow.create_paper(world.editor, "Neues Konzept", "")
    db.session.rollback()
    result = runner.invoke(
        args=[
            "orgs",
            "create",
            "--name",
            "Kammer",
            "--short",
            "K2",
            "--kind",
            "chamber",
            "--no-paper-creation",
        ]
    )
    assert result.exit_code == 0, result.output
    created = db.session.scalar(select(Organisation).where(Organisation.short_name == "K2"))
    assert created is not None and created.may_create_papers is False
    result = runner.invoke(args=["orgs", "paper-creation", "NOPE", "allow"])
    assert result.exit_code != 0


# --- no account probing -------------------------------------------------------------------

PROBES = {
    "unknown": "niemand@example.org",
    "outside": "outsider@example.org",  # an account, but of an organisation not taking part
}


def _normalised(body: str) -> str:
    return re.sub(r'(value|content)="[A-Za-z0-9_\-.+/=]{20,}"', r'\1="…"', body)


def _html_answer(client: Any, world: factories.World, email: str) -> tuple[int, str]:
    response = client.post(
        f"/papers/{world.paper.id}/roles", data={"email": email, "role": "reviewer"}
    )
    return response.status_code, _normalised(response.get_data(as_text=True).replace(email, "…"))


def _api_answer(client: Any, token: str, world: factories.World, email: str) -> tuple[int, Any]:
    response = client.post(
        f"/api/v1/papers/{world.paper.id}/roles",
        json={"email": email, "role": "reviewer"},
        headers=api_headers(token),
    )
    return response.status_code, response.get_json()


def test_asvs_v4_2_1_the_role_form_does_not_tell_unknown_from_outside_addresses_html(
    client, auth, world
):
    """ASVS V4.2.1 (4.0.3 has no user-enumeration item of its own): one answer for unknown
    addresses and people of other organisations."""
    world.coordinator.locale = "en"
    db.session.commit()
    auth.login(world.coordinator.email)
    answers = {kind: _html_answer(client, world, email) for kind, email in PROBES.items()}
    assert (
        "No user of a participating organisation has this e-mail address." in answers["unknown"][1]
    )
    assert answers["unknown"] == answers["outside"]


def test_asvs_v4_2_1_the_role_form_does_not_tell_unknown_from_outside_addresses_api(client, world):
    """ASVS V4.2.1: the API's refusal is the same for both, status and body."""
    token = factories.token(world.coordinator)
    answers = {kind: _api_answer(client, token, world, email) for kind, email in PROBES.items()}
    assert answers["unknown"][0] == 422
    assert answers["unknown"] == answers["outside"]
    # Upper case or spaces do not make a difference either.
    assert _api_answer(client, token, world, " OUTSIDER@example.org ") == answers["unknown"]
