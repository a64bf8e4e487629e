"""Request rules come from one source: what the OpenAPI document declares, the API enforces.

The drift tests in ``test_openapi.py`` hold routes and answers to the document; these hold the
request rules (required fields, types, ``minLength``, ``minimum``/``maximum``, ``enum``) of
every body schema generated from ``drafting.api.schemas`` to the live API: each declared rule,
broken once, is refused with 422 ``validation_failed`` naming the field, and nothing is
stored. They also cover the interactive reference page at ``/api/v1/docs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from drafting.api import schemas
from drafting.api.openapi import SPEC
from drafting.extensions import db
from drafting.models import Comment as CommentRow
from drafting.models import Paper as PaperRow
from drafting.models import PaperRole, Section, SectionVersion, SuggestionStatus
from drafting.models import ReviewEvent as ReviewRow
from drafting.models import SignoffDecision as DecisionRow
from drafting.models import Suggestion as SuggestionRow
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import isolated_client, login
from workflows import suggestions as suggestion_flow

# Each operation whose body schema is generated: a URL template, a valid body, the rows that a
# refused request must leave alone.
GENERATED: dict[tuple[str, str], tuple[dict[str, Any], Any]] = {
    ("/papers", "post"): ({"title": "Neues Konzept"}, PaperRow),
    ("/papers/{paper_id}/participants", "post"): ({"organisation": "OUT"}, PaperRow),
    ("/papers/{paper_id}/roles", "post"): ({"email": "", "role": "editor"}, PaperRole),
    ("/papers/{paper_id}/sections", "post"): ({"title": "Ziele"}, Section),
    ("/sections/{section_id}", "put"): ({"body": "Neu.", "base_version": 1}, SectionVersion),
    ("/sections/{section_id}/comments", "post"): ({"body": "Gut so."}, CommentRow),
    ("/sections/{section_id}/suggestions", "post"): (
        {"body": "Vorschlag.", "base_version": 1},
        SuggestionRow,
    ),
    ("/suggestions/{suggestion_id}/reject", "post"): ({"reason": "Passt nicht."}, SuggestionRow),
    ("/papers/{paper_id}/signoff/decisions", "post"): ({"decision": "approve"}, DecisionRow),
    ("/sections/{section_id}/reviews", "post"): (
        {"decision": "request_changes", "version": 1},
        ReviewRow,
    ),
}
# A decision needs an open sign-off round (test_signoff.py covers the accepted ones).
# A review needs a submitted section (test_review.py covers the accepted ones).
PASSING = [op for op in GENERATED if not op[0].endswith(("/decisions", "/reviews"))]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` into the document's components."""
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_schema(path: str, method: str) -> dict[str, Any]:
    operation = SPEC["paths"][path][method]
    return resolve(operation["requestBody"]["content"]["application/json"]["schema"])


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of ``anyOf: [X, null]`` (an optional field that may be null)."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            return {**resolve(branch), **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


WRONG_TYPE = {"string": 5, "integer": "1", "boolean": "ja", "array": {}, "object": []}


def breakages(schema: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Yield (field, rule, value) for every rule the body schema declares."""
    for name in schema.get("required", []):
        yield name, "required", ...
    for name, declared in schema["properties"].items():
        prop = not_null(declared)
        if "type" in prop:
            yield name, "type", WRONG_TYPE[prop["type"]]
            if prop["type"] == "integer":
                yield name, "type (boolean)", True
        if "enum" in prop:
            yield name, "enum", "gibt-es-nicht"
        if prop.get("minLength"):
            yield name, "minLength", "x" * (prop["minLength"] - 1)
        if "minimum" in prop:
            yield name, "minimum", prop["minimum"] - 1
        if "maximum" in prop:
            yield name, "maximum", prop["maximum"] + 1


CASES = [
    pytest.param(path, method, name, value, id=f"{method} {path} {name} {rule}")
    for (path, method) in GENERATED
    for name, rule, value in breakages(body_schema(path, method))
]


def test_every_generated_body_declares_rules() -> None:
    # The parametrisation below is only as good as the rules it finds.
    assert len(CASES) >= 20
    for path, method in GENERATED:
        schema = body_schema(path, method)
        assert schema["required"], f"{method} {path}"


def test_the_generated_bodies_are_the_models() -> None:
    generated = schemas.component_schemas()
    for path, method in GENERATED:
        ref = SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        name = ref["$ref"].rsplit("/", 1)[1]
        assert SPEC["components"]["schemas"][name] == generated[name]


def url(path: str, world: factories.World) -> str:
    suggestion_id = 0
    if "{suggestion_id}" in path:
        suggestion_id = suggestion_flow.create_suggestion(
            world.member, world.section.id, body="Ein Vorschlag.", base_version=1
        ).id
    filled = path.format(
        paper_id=world.paper.id, section_id=world.section.id, suggestion_id=suggestion_id
    )
    assert not re.search(r"{\w+}", filled)
    return f"/api/v1{filled}"


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def send(client: FlaskClient, method: str, target: str, token: str, payload: Any) -> Any:
    return client.open(target, method=method.upper(), json=payload, headers=api_headers(token))


@pytest.mark.parametrize(("path", "method", "name", "value"), CASES)
def test_each_declared_rule_is_enforced(
    app: Flask, world: factories.World, path: str, method: str, name: str, value: Any
) -> None:
    valid, rows = GENERATED[(path, method)]
    payload = {**valid, "email": world.member.email} if "email" in valid else dict(valid)
    if value is ...:
        payload.pop(name)
    else:
        payload[name] = value
    target = url(path, world)
    before = count(rows)
    token = factories.token(world.coordinator)
    response = send(isolated_client(app), method, target, token, payload)
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["message"]
    assert body["field"] == name
    assert count(rows) == before
    assert not db.session.scalars(
        select(SuggestionRow).where(SuggestionRow.status != SuggestionStatus.OPEN)
    ).first()


@pytest.mark.parametrize(("path", "method"), PASSING)
def test_a_valid_body_passes(app: Flask, world: factories.World, path: str, method: str) -> None:
    valid, _rows = GENERATED[(path, method)]
    payload = {**valid, "email": world.member.email} if "email" in valid else valid
    user = world.editor if "section" in path or "suggestion" in path else world.coordinator
    response = send(isolated_client(app), method, url(path, world), factories.token(user), payload)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "method"), list(GENERATED))
@pytest.mark.parametrize("payload", [[1, 2], "Titel", None], ids=["array", "string", "none"])
def test_a_body_that_is_not_an_object_is_a_bad_request(
    app: Flask, world: factories.World, path: str, method: str, payload: Any
) -> None:
    client = isolated_client(app)
    headers = api_headers(factories.token(world.coordinator))
    if payload is None:
        response = client.open(
            url(path, world), method=method.upper(), data="kein JSON", headers=headers
        )
    else:
        response = client.open(
            url(path, world), method=method.upper(), json=payload, headers=headers
        )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


# ---------------------------------------------------------------- declarations = document

PREFIX = SPEC["servers"][0]["url"]
REF = "#/components/schemas/{model}"


def operations(app: Flask) -> Iterator[tuple[str, str, str]]:
    """Yield (endpoint, OpenAPI path, method) for every route of the API."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule[len(PREFIX) :])
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, path, method.lower()


def model_schema(model: type[Any], mode: Any) -> dict[str, Any]:
    """The model's own JSON schema, each nested model in the document's components."""
    generated: dict[str, Any] = model.model_json_schema(mode=mode, ref_template=REF)
    for name, nested in generated.pop("$defs", {}).items():
        assert SPEC["components"]["schemas"][name] == nested, name
    return generated


def test_every_request_schema_is_its_models(app: Flask) -> None:
    # The request rules (required, types, minLength, enum, maximum …) the document shows are
    # the ones the endpoint enforces: the schema of the model named in its declaration.
    checked = 0
    for endpoint, path, method in operations(app):
        operation = SPEC["paths"][path][method]
        declared = schemas.DECLARED.get(endpoint)
        documented = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if declared is None or declared.json is None:
            assert documented is None, f"{method} {path}: a JSON body without a model"
            continue
        model = declared.json
        assert documented == {"schema": {"$ref": REF.format(model=model.__name__)}}, path
        assert operation["requestBody"]["required"] == (declared.body == "object"), path
        assert SPEC["components"]["schemas"][model.__name__] == model_schema(model, "validation"), (
            f"{method} {path}"
        )
        checked += 1
    assert checked >= 15


def test_every_query_model_is_documented(app: Flask) -> None:
    checked = 0
    for endpoint, path, method in operations(app):
        declared = schemas.DECLARED.get(endpoint)
        if declared is None or declared.query is None:
            continue
        operation = SPEC["paths"][path][method]
        documented = {
            p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "query"
        }
        fields = {
            field.alias or name: field.is_required()
            for name, field in declared.query.model_fields.items()
        }
        assert documented == fields, f"{method} {path}"
        checked += 1
    assert checked >= 1


def test_every_json_answer_is_its_models(app: Flask) -> None:
    for endpoint, path, method in operations(app):
        responses = SPEC["paths"][path][method]["responses"]
        declared = schemas.DECLARED.get(endpoint)
        answers = {
            int(status): answer["content"]["application/json"]["schema"]
            for status, answer in responses.items()
            if status.startswith("2") and "application/json" in answer.get("content", {})
        }
        if endpoint == "api.openapi":
            continue
        assert declared is not None or not answers, f"{method} {path}: an answer without a model"
        if declared is None:
            continue
        assert answers == {
            status: {"$ref": REF.format(model=model.__name__)}
            for status, model in declared.answers.items()
        }, f"{method} {path}"
        for model in declared.answers.values():
            assert SPEC["components"]["schemas"][model.__name__] == model_schema(
                model, "serialization"
            ), f"{method} {path}"


# ---------------------------------------------------------------- optional bodies, as before


@pytest.mark.parametrize(
    "path",
    ["/sections/{section_id}/submit", "/papers/{paper_id}/signoff", "/papers/{paper_id}/exports"],
)
@pytest.mark.parametrize("payload", [[1], "Titel"], ids=["array", "string"])
def test_an_optional_body_that_is_not_an_object_is_refused(
    app: Flask, world: factories.World, path: str, payload: Any
) -> None:
    response = send(
        isolated_client(app), "post", url(path, world), factories.token(world.coordinator), payload
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == {
        "code": "validation_failed",
        "message": "the request body must be a JSON object",
    }
    assert "field" not in body


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/sections/{section_id}/submit", None),
        ("/sections/{section_id}/submit", []),
        ("/sections/{section_id}/submit", {"reviewers": "", "due": ""}),
    ],
    ids=["no body", "empty array", "empty fields"],
)
def test_an_empty_optional_body_counts_as_none(
    app: Flask, world: factories.World, path: str, payload: Any
) -> None:
    response = send(
        isolated_client(app), "post", url(path, world), factories.token(world.editor), payload
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["review_state"] == "in_review"


SUBMIT, ACCEPT = "/sections/{section_id}/submit", "/suggestions/{suggestion_id}/accept"


def test_an_acceptance_takes_a_body_that_is_not_an_object_as_none(
    app: Flask, world: factories.World
) -> None:
    # base_version without a combined body does not count, whatever it is.
    for payload in ([1], {"base_version": "egal"}):
        target = url(ACCEPT, world)
        response = send(
            isolated_client(app), "post", target, factories.token(world.editor), payload
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["status"] == "accepted" and body["rejected"] == []


@pytest.mark.parametrize(
    ("path", "payload", "field", "message"),
    [
        (
            SUBMIT,
            {"reviewers": "a@b.c"},
            "reviewers",
            "'reviewers' must be a list of e-mail addresses",
        ),
        (SUBMIT, {"reviewers": [1]}, "reviewers", "'reviewers' must be a list of e-mail addresses"),
        (SUBMIT, {"due": "morgen"}, "due", "'due' must be a date YYYY-MM-DD"),
        (SUBMIT, {"due": 5}, "due", "'due' must be a date YYYY-MM-DD"),
        (ACCEPT, {"changes": "1"}, "changes", "'changes' must be a list of change ids"),
        (ACCEPT, {"changes": [True]}, "changes", "'changes' must be a list of change ids"),
        (ACCEPT, {"body": 5, "base_version": 1}, "body", "'body' must be a string"),
        (ACCEPT, {"body": "Neu."}, "base_version", "'base_version' (an integer) is required"),
        (
            ACCEPT,
            {"body": "Neu.", "base_version": True},
            "base_version",
            "'base_version' (an integer) is required",
        ),
        (
            ACCEPT,
            {"body": "Neu.", "base_version": 1, "changes": []},
            "changes",
            "Send either 'changes' or 'body', not both",
        ),
    ],
)
def test_submissions_and_acceptances_keep_their_messages(
    app: Flask, world: factories.World, path: str, payload: Any, field: str, message: str
) -> None:
    target = url(path, world)
    response = send(isolated_client(app), "post", target, factories.token(world.editor), payload)
    assert response.status_code == 422
    body = response.get_json()
    assert (body["error"]["message"], body["field"]) == (message, field)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"all": True, "ids": "egal"}, 200),
        ({"all": "ja", "ids": []}, 200),
        ({"ids": [1, 2]}, 200),
        ({"all": "ja"}, 422),
        ({"ids": [True]}, 422),
        ({"ids": None}, 422),
        ({}, 422),
    ],
)
def test_only_json_true_marks_every_notification(
    app: Flask, world: factories.World, payload: Any, status: int
) -> None:
    response = send(
        isolated_client(app),
        "post",
        "/api/v1/notifications/read",
        factories.token(world.editor),
        payload,
    )
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    if status == 422:
        assert body["field"] == "ids"
        assert body["error"]["message"] == 'send {"ids": [notification ids]} or {"all": true}'
    else:
        assert set(body) == {"marked", "unread"}


def test_validation_waits_for_the_token(app: Flask, world: factories.World) -> None:
    response = isolated_client(app).post(f"/api/v1/papers/{world.paper.id}/sections", json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


# ---------------------------------------------------------------- the reference page


def test_the_reference_page_loads_swagger_ui_from_local_files(app: Flask) -> None:
    client = isolated_client(app)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-spec="/api/v1/openapi.json"' in html
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert sources == ["/api/v1/docs/assets/swagger-ui-bundle.js", "/static/api-docs.js"]
    # No inline script (the CSP would block it) and nothing from another host.
    assert html.count("<script") == len(sources)
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', html))
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]

    for name, mimetype, marker in (
        ("swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"),
        ("swagger-ui.css", "text/css", ".swagger-ui"),
    ):
        asset = client.get(f"/api/v1/docs/assets/{name}")
        assert (asset.status_code, asset.mimetype) == (200, mimetype)
        assert marker in asset.get_data(as_text=True)
        asset.close()
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404
    assert client.get("/api/v1/docs/assets/..%2Fpyproject.toml").status_code == 404
    starter = client.get("/static/api-docs.js")
    assert starter.status_code == 200 and b"SwaggerUIBundle" in starter.data
    starter.close()


def test_the_profile_links_the_reference(app: Flask, world: factories.World) -> None:
    client = isolated_client(app)
    login(client, world.editor.email)
    html = client.get("/profile").get_data(as_text=True)
    assert 'href="/api/v1/docs"' in html
