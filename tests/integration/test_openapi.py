"""The OpenAPI description matches the API: same routes, valid document, live answers fit."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing.exceptions import Unresolvable
from werkzeug.routing import IntegerConverter

from drafting.api.openapi import SPEC
from drafting.extensions import db
from drafting.models import PaperStatus
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import isolated_client
from workflows import sections as section_flow

PREFIX = SPEC["servers"][0]["url"]
METHODS = {"get", "put", "post", "delete", "patch"}


def api_routes(app: Flask) -> dict[str, dict[str, dict[str, str]]]:
    """Return the api blueprint's routes as OpenAPI paths -> method -> path parameter types."""
    routes: dict[str, dict[str, dict[str, str]]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        assert rule.rule.startswith(PREFIX), rule.rule
        path = re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?(\w+)>", r"{\2}", rule.rule[len(PREFIX) :])
        params = {
            name: "integer" if isinstance(converter, IntegerConverter) else "string"
            for name, converter in rule._converters.items()
        }
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.setdefault(path, {})[method.lower()] = params
    return routes


def spec_routes() -> dict[str, set[str]]:
    return {path: set(item) & METHODS for path, item in SPEC["paths"].items()}


def test_every_route_is_described_and_nothing_else(app: Flask) -> None:
    routes = api_routes(app)
    assert {p: set(m) for p, m in routes.items()} == spec_routes()


def test_path_parameters_match_the_routes(app: Flask) -> None:
    for path, methods in api_routes(app).items():
        item = SPEC["paths"][path]
        for method, params in methods.items():
            declared = {
                p["name"]: p["schema"]["type"]
                for p in [*item.get("parameters", []), *item[method].get("parameters", [])]
                if p["in"] == "path"
            }
            assert declared == params, f"{method.upper()} {path}"


def test_the_description_is_valid_openapi() -> None:
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    "breakage",
    [
        lambda spec: spec["paths"]["/papers/{paper_id}"].update(parameters=[]),
        lambda spec: spec["components"]["schemas"]["Error"].update(type="objekt"),
        lambda spec: spec["paths"]["/papers"]["get"]["responses"].update(
            {"200": {"$ref": "#/components/responses/Nope"}}
        ),
    ],
    ids=["undeclared path parameter", "unknown type", "dangling reference"],
)
def test_the_validator_would_notice_a_broken_description(breakage: Any) -> None:
    broken = copy.deepcopy(SPEC)
    breakage(broken)
    with pytest.raises((OpenAPIValidationError, Unresolvable)):
        validate(broken)


def test_every_operation_documents_its_answers() -> None:
    for path, item in SPEC["paths"].items():
        for method in set(item) & METHODS:
            operation = item[method]
            responses = operation["responses"]
            assert operation.get("summary"), f"{method} {path}"
            assert any(code.startswith("2") for code in responses), f"{method} {path}"
            if operation.get("security") != []:
                assert "401" in responses, f"{method} {path}"
            body = operation.get("requestBody", {})
            if body.get("required") and "application/json" in body["content"]:
                assert {"400", "422"} <= responses.keys(), f"{method} {path}"
            if "{" in path:
                assert "404" in responses, f"{method} {path}"


def test_bearer_authentication_is_declared() -> None:
    assert SPEC["security"] == [{"bearerAuth": []}]
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_the_served_description_is_this_one(app: Flask) -> None:
    response = isolated_client(app).get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == SPEC


# ---------------------------------------------------------------- live answers fit the schemas


def schema_of(path: str, method: str, status: int) -> dict[str, Any]:
    """Return the documented JSON schema of an answer, with the components to resolve it."""
    answer = SPEC["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = SPEC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"]["application/json"]["schema"]
    return {**schema, "components": SPEC["components"]}


def check(response: Any, path: str, method: str) -> dict[str, Any]:
    """Validate a live answer against the schema documented for its status."""
    body: dict[str, Any] = response.get_json()
    validator = Draft202012Validator(
        schema_of(path, method, response.status_code), format_checker=FormatChecker()
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {path} {response.status_code}: {errors}"
    return body


def test_the_schemas_would_notice_a_wrong_answer() -> None:
    validator = Draft202012Validator(schema_of("/sections/{section_id}", "get", 200))
    assert not validator.is_valid({"id": 1, "paper_id": 1, "title": "x", "level": 1})
    assert not validator.is_valid(
        {"id": 1, "paper_id": 1, "title": "x", "level": 9, "body": "", "version": 1}
    )
    conflict = Draft202012Validator(
        schema_of("/sections/{section_id}", "put", 409)["anyOf"][0]
        | {"components": SPEC["components"]}
    )
    assert not conflict.is_valid({"error": {"code": "edit_conflict", "message": "x"}})


@pytest.fixture
def live(app: Flask, world: factories.World) -> tuple[FlaskClient, dict[str, str]]:
    section_flow.save_section(world.editor, world.section.id, body="Zweite.", base_version=1)
    return isolated_client(app), api_headers(factories.token(world.coordinator))


def test_successful_answers_fit(
    live: tuple[FlaskClient, dict[str, str]], world: factories.World
) -> None:
    client, h = live
    pid, sid = world.paper.id, world.section.id
    check(client.get(f"{PREFIX}/papers", headers=h), "/papers", "get")
    check(client.post(f"{PREFIX}/papers", json={"title": "Neu"}, headers=h), "/papers", "post")
    check(client.get(f"{PREFIX}/papers/{pid}", headers=h), "/papers/{paper_id}", "get")
    check(
        client.post(f"{PREFIX}/papers/{pid}/participants", json={"organisation": "OUT"}, headers=h),
        "/papers/{paper_id}/participants",
        "post",
    )
    check(
        client.post(
            f"{PREFIX}/papers/{pid}/roles",
            json={"email": world.member.email, "role": "editor"},
            headers=h,
        ),
        "/papers/{paper_id}/roles",
        "post",
    )
    check(
        client.post(
            f"{PREFIX}/papers/{pid}/sections", json={"title": "Neu", "level": 3}, headers=h
        ),
        "/papers/{paper_id}/sections",
        "post",
    )
    check(client.get(f"{PREFIX}/sections/{sid}", headers=h), "/sections/{section_id}", "get")
    saved = check(
        client.put(
            f"{PREFIX}/sections/{sid}", json={"body": "Dritte.", "base_version": 2}, headers=h
        ),
        "/sections/{section_id}",
        "put",
    )
    assert saved["version"] == 3
    check(
        client.get(f"{PREFIX}/sections/{sid}/versions", headers=h),
        "/sections/{section_id}/versions",
        "get",
    )
    check(
        client.get(f"{PREFIX}/sections/{sid}/versions/1", headers=h),
        "/sections/{section_id}/versions/{number}",
        "get",
    )
    check(
        client.get(f"{PREFIX}/sections/{sid}/diff?from=1&to=3", headers=h),
        "/sections/{section_id}/diff",
        "get",
    )


def test_error_answers_fit(
    live: tuple[FlaskClient, dict[str, str]], world: factories.World
) -> None:
    client, h = live
    pid, sid = world.paper.id, world.section.id
    member = api_headers(factories.token(world.member))
    put = "/sections/{section_id}"
    check(client.get(f"{PREFIX}/papers"), "/papers", "get")  # 401
    check(client.post(f"{PREFIX}/papers", data="x", headers=h), "/papers", "post")  # 400
    check(client.post(f"{PREFIX}/papers", json={"title": ""}, headers=h), "/papers", "post")
    check(client.get(f"{PREFIX}/papers/999", headers=h), "/papers/{paper_id}", "get")  # 404
    check(
        client.post(
            f"{PREFIX}/papers/{pid}/roles",
            json={"email": "x@y.z", "role": "editor"},
            headers=member,
        ),
        "/papers/{paper_id}/roles",
        "post",
    )  # 403
    check(
        client.put(f"{PREFIX}/sections/{sid}", json={"body": "x", "base_version": 7}, headers=h),
        put,
        "put",
    )  # 422
    check(
        client.get(f"{PREFIX}/sections/{sid}/diff?from=1", headers=h),
        "/sections/{section_id}/diff",
        "get",
    )  # 422

    # 409: an edit conflict, a removed section, a frozen paper.
    client.put(
        f"{PREFIX}/sections/{sid}", json={"body": "Dritte Fassung.", "base_version": 2}, headers=h
    )
    conflict = client.put(
        f"{PREFIX}/sections/{sid}", json={"body": "Andere Fassung.", "base_version": 2}, headers=h
    )
    assert conflict.status_code == 409
    assert check(conflict, put, "put")["error"]["code"] == "edit_conflict"
    Draft202012Validator(
        SPEC["components"]["schemas"]["EditConflict"] | {"components": SPEC["components"]}
    ).validate(conflict.get_json())

    section_flow.remove_section(world.coordinator, sid)
    removed = client.put(
        f"{PREFIX}/sections/{sid}", json={"body": "x", "base_version": 3}, headers=h
    )
    assert check(removed, put, "put")["error"]["code"] == "section_removed"
    section_flow.undo_remove(world.coordinator, sid)

    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    locked = client.put(
        f"{PREFIX}/sections/{sid}", json={"body": "x", "base_version": 3}, headers=h
    )
    assert check(locked, put, "put")["error"]["code"] == "paper_locked"
    check(
        client.post(f"{PREFIX}/papers/{pid}/sections", json={"title": "x"}, headers=h),
        "/papers/{paper_id}/sections",
        "post",
    )
