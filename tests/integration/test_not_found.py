"""One not-found answer (issue 9, item 10; ASVS V4.2.1).

A section, version, comment, suggestion or export on a paper the user may not see answers
exactly like an id that does not exist — same status, same body — in the pages and the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from drafting.extensions import db
from drafting.models import Export, ExportStatus
from tests import factories
from tests.conftest import api_headers
from workflows import comments as comment_flow
from workflows import suggestions as suggestion_flow

MISSING = 987_654


@dataclass(frozen=True)
class Hidden:
    """Ids of objects on a paper of the outside organisation."""

    section: int
    comment: int
    suggestion: int
    export: int


@pytest.fixture
def hidden(world: factories.World) -> Hidden:
    paper = factories.paper(world.outsider, title="Geheimes Konzept")
    section = factories.section(world.outsider, paper, body="Nur für uns.")
    comment = comment_flow.add_comment(world.outsider, section.id, "Intern.")
    suggestion = suggestion_flow.create_suggestion(
        world.outsider, section.id, body="Nur für uns, geändert.", base_version=1
    )
    export = Export(
        paper_id=paper.id,
        requested_by_id=world.outsider.id,
        options={},
        status=ExportStatus.DONE,
        filename="geheim.docx",
        content=b"PK",
        size=2,
    )
    db.session.add(export)
    db.session.commit()
    return Hidden(section.id, comment.id, suggestion.id, export.id)


# (kind, method, path with {id}, form or JSON payload)
HTML_REQUESTS = [
    ("section", "GET", "/sections/{id}/history", None),
    ("section", "GET", "/sections/{id}/review", None),
    ("section", "GET", "/sections/{id}/comments", None),
    ("version", "GET", "/sections/{id}/versions/1", None),
    ("comment", "POST", "/comments/{id}/resolve", {}),
    ("comment", "POST", "/comments/{id}/replies", {"body": "Hallo"}),
    ("suggestion", "GET", "/suggestions/{id}", None),
    ("suggestion", "POST", "/suggestions/{id}/reject", {"reason": "Nein."}),
    ("export", "GET", "/exports/{id}", None),
    ("export", "GET", "/exports/{id}/download", None),
]
API_REQUESTS = [
    ("section", "GET", "/api/v1/sections/{id}", None),
    ("section", "GET", "/api/v1/sections/{id}/comments", None),
    ("version", "GET", "/api/v1/sections/{id}/versions/1", None),
    ("comment", "POST", "/api/v1/comments/{id}/resolve", None),
    ("suggestion", "POST", "/api/v1/suggestions/{id}/accept", None),
    ("export", "GET", "/api/v1/exports/{id}", None),
    ("export", "GET", "/api/v1/exports/{id}/download", None),
]


def _hidden_id(hidden: Hidden, kind: str) -> int:
    return getattr(hidden, "section" if kind == "version" else kind)


def _normalised(body: str) -> str:
    # Per-request values (CSRF tokens, script nonces) are not part of the answer's meaning.
    return re.sub(r'(nonce|value|content)="[A-Za-z0-9_\-.+/=]{20,}"', r'\1="…"', body)


@pytest.mark.parametrize(
    "kind, method, path, payload", HTML_REQUESTS, ids=[f"{m} {p}" for _k, m, p, _d in HTML_REQUESTS]
)
def test_asvs_v4_2_1_hidden_and_missing_objects_answer_alike_in_pages(
    client, auth, world, hidden, kind, method, path, payload
):
    """ASVS V4.2.1: a hidden object's page is the missing object's page, byte for byte."""
    auth.login(world.member.email)
    answers = []
    for object_id in (_hidden_id(hidden, kind), MISSING):
        url = path.format(id=object_id)
        response = client.open(url, method=method, data=payload)
        # The page links back to the address asked for (the language switch): that is no oracle.
        body = response.get_data(as_text=True).replace(url, path)
        answers.append((response.status_code, _normalised(body)))
    assert answers[0][0] == 404
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "kind, method, path, payload", API_REQUESTS, ids=[f"{m} {p}" for _k, m, p, _d in API_REQUESTS]
)
def test_asvs_v4_2_1_hidden_and_missing_objects_answer_alike_in_the_api(
    client, world, hidden, kind, method, path, payload
):
    """ASVS V4.2.1: the API's 404 body does not tell a hidden object from a missing one."""
    headers = api_headers(factories.token(world.member))
    answers = []
    for object_id in (_hidden_id(hidden, kind), MISSING):
        response = client.open(
            path.format(id=object_id), method=method, json=payload, headers=headers
        )
        answers.append((response.status_code, response.get_json()))
    assert answers[0][0] == 404
    assert answers[0][1]["error"]["code"] == "not_found"
    assert answers[0] == answers[1]


def test_a_visible_object_is_still_found(client, world):
    """The uniform answer does not hide what the user may see."""
    headers = api_headers(factories.token(world.member))
    response = client.get(f"/api/v1/sections/{world.section.id}", headers=headers)
    assert response.status_code == 200
