"""Who is editing now: the presence store (database and Redis, shared by several app
instances), its pages and API, the merge into the editor, and the read-only frozen paper."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from drafting import presence
from drafting.extensions import db
from drafting.models import PaperRole, PaperStatus, Presence
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, api_headers, make_app
from workflows import papers as paper_flow
from workflows import sections as section_flow

REDIS_URL = "redis://127.0.0.1:6379/2"  # a database of its own on the shared Redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis of the test machine, database 2, emptied before and after."""
    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as err:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {err}")
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


# ---------------------------------------------------------------- the store, both backends


def _beat(section_id: int, user_id: int, *, paper_id: int = 1, editing: bool = True):
    return presence.Beat(
        paper_id=paper_id,
        section_id=section_id,
        user_id=user_id,
        name=f"User {user_id}",
        organisation="ORG",
        editing=editing,
    )


def _store_contract(store: presence.Store) -> None:
    ttl = 30_000
    assert [e.user_id for e in store.beat(_beat(10, 1), 1_000_000, ttl)] == [1]
    store.beat(_beat(10, 2, editing=False), 1_005_000, ttl)
    listed = store.beat(_beat(11, 1), 1_006_000, ttl)
    assert [(e.section_id, e.user_id) for e in listed] == [(10, 1), (10, 2), (11, 1)]
    store.beat(_beat(12, 3, paper_id=2), 1_006_000, ttl)
    entries = store.on_paper(1, 1_010_000, ttl)
    assert [(e.section_id, e.user_id, e.editing) for e in entries] == [
        (10, 1, True),
        (10, 2, False),
        (11, 1, True),
    ]
    assert entries[0].name == "User 1" and entries[0].organisation == "ORG"
    # A later beat keeps the first-seen time and updates the rest.
    store.beat(_beat(10, 2, editing=True), 1_020_000, ttl)
    again = {(e.section_id, e.user_id): e for e in store.on_paper(1, 1_021_000, ttl)}
    assert again[(10, 2)].editing is True
    assert again[(10, 2)].since_ms == 1_005_000
    # 30 s after the latest heartbeat an entry is gone; one beat later it counts again, anew.
    later = {(e.section_id, e.user_id) for e in store.on_paper(1, 1_036_001, ttl)}
    assert later == {(10, 2)}
    store.beat(_beat(10, 1), 1_040_000, ttl)
    back = {(e.section_id, e.user_id): e for e in store.on_paper(1, 1_040_000, ttl)}
    assert back[(10, 1)].since_ms == 1_040_000
    # Leaving removes an entry at once.
    store.leave(1, 10, 2)
    assert {(e.section_id, e.user_id) for e in store.on_paper(1, 1_040_001, ttl)} == {(10, 1)}
    assert [e.user_id for e in store.on_paper(2, 1_040_001, ttl)] == []  # expired too


def test_database_store_keeps_expires_and_forgets_entries(app: Flask):
    store = presence.DatabaseStore()
    _store_contract(store)
    # Expired rows are deleted by the next heartbeat, not only hidden.
    assert db.session.query(Presence).filter(Presence.user_id == 3).count() == 0


@pytest.mark.redis
def test_redis_store_keeps_expires_and_forgets_entries(app: Flask, redis_url: str):
    store = presence.RedisStore(redis_url, presence.DatabaseStore())
    _store_contract(store)
    # Nothing went to the database.
    assert db.session.query(Presence).count() == 0
    # The hash of a paper expires by itself once nobody beats any more.
    assert 0 < store.redis.pttl("kw-presence:1") <= 31_000


def test_redis_store_falls_back_to_the_database_when_redis_is_down(app: Flask, caplog):
    store = presence.RedisStore("redis://127.0.0.1:1/0", presence.DatabaseStore())
    store.beat(_beat(10, 1), int(time.time() * 1000), 30_000)
    assert [e.user_id for e in store.on_paper(1, int(time.time() * 1000), 30_000)] == [1]
    assert db.session.query(Presence).count() == 1
    assert "Redis unreachable for presence" in caplog.text


def test_the_store_follows_the_configuration(tmp_path: Path):
    assert isinstance(presence.make_store(make_app(tmp_path)), presence.DatabaseStore)
    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/2")
    assert isinstance(presence.make_store(app), presence.RedisStore)
    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/2", PRESENCE_STORAGE="database")
    assert isinstance(presence.make_store(app), presence.DatabaseStore)


# ---------------------------------------------------------------- two web nodes


def _two_nodes(tmp_path: Path, **config: object) -> tuple[Flask, Flask, SimpleNamespace]:
    """Two app instances on one database (and the given store), like two web nodes."""
    first = make_app(tmp_path, **config)
    with first.app_context():
        w = factories.world()
        ids = SimpleNamespace(
            section_id=w.section.id,
            paper_id=w.paper.id,
            coordinator=w.coordinator.email,
            editor=w.editor.email,
        )
        db.session.remove()
    second = create_second(tmp_path, first, **config)
    return first, second, ids


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[Callable[..., tuple[Flask, Flask, SimpleNamespace]]]:
    """Make two app instances on one database; empty it afterwards (PostgreSQL is shared)."""
    made: list[Flask] = []

    def make(**config: object) -> tuple[Flask, Flask, SimpleNamespace]:
        first, second, ids = _two_nodes(tmp_path, **config)
        made.extend((first, second))
        return first, second, ids

    yield make
    if made and IS_POSTGRES:
        _empty_postgres(made[0])
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def create_second(tmp_path: Path, first: Flask, **config: object) -> Flask:
    from drafting import create_app
    from tests.conftest import base_config

    settings = base_config(tmp_path)
    settings.update(config)
    settings["SQLALCHEMY_DATABASE_URI"] = first.config["SQLALCHEMY_DATABASE_URI"]
    return create_app(settings)


def _login(app: Flask, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


# The Redis case shares database 2 of the machine's Redis with the other Redis tests of this
# file, which empty it: the marker keeps them on one xdist worker (tests/conftest.py).
@pytest.mark.parametrize("backend", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_presence_is_shared_by_two_web_nodes(two_nodes, backend: str, request):
    config: dict[str, object] = {"PRESENCE_STORAGE": "database"}
    if backend == "redis":
        config = {"PRESENCE_STORAGE": request.getfixturevalue("redis_url")}
    first, second, w = two_nodes(**config)
    section_id = w.section_id
    cora = _login(first, w.coordinator)
    emil = _login(second, w.editor)
    assert cora.post(f"/sections/{section_id}/presence", json={"editing": True}).status_code == 200
    answer = emil.post(f"/sections/{section_id}/presence", json={"editing": True}).get_json()
    assert answer["others"] == [
        {
            "name": "Cora Koordination",
            "organisation": "MIN",
            "editing": True,
            "since": answer["others"][0]["since"],
        }
    ]
    assert answer["head_version"] == 1
    seen_by_cora = cora.get(f"/sections/{section_id}/presence").get_json()["others"]
    assert [o["name"] for o in seen_by_cora] == ["Emil Redaktion"]
    # The paper page of either node marks the section.
    page = cora.get(f"/papers/{w.paper_id}").get_data(as_text=True)
    assert "Emil Redaktion (CITY)" in page
    marks = cora.get(f"/papers/{w.paper_id}/presence").get_json()
    assert [o["name"] for o in marks["sections"][str(section_id)]] == ["Emil Redaktion"]
    # Closing the page on one node removes the presence on the other at once.
    assert emil.post(f"/sections/{section_id}/presence/leave").status_code == 200
    assert cora.get(f"/sections/{section_id}/presence").get_json()["others"] == []
    assert cora.get(f"/papers/{w.paper_id}/presence").get_json()["sections"] == {}


def test_presence_expires_after_the_time_to_live(two_nodes):
    first, second, w = two_nodes(PRESENCE_TTL_SECONDS=0.3)
    cora = _login(first, w.coordinator)
    emil = _login(second, w.editor)
    emil.post(f"/sections/{w.section_id}/presence", json={"editing": True})
    assert len(cora.get(f"/sections/{w.section_id}/presence").get_json()["others"]) == 1
    time.sleep(0.4)
    assert cora.get(f"/sections/{w.section_id}/presence").get_json()["others"] == []


# ---------------------------------------------------------------- pages


def test_edit_page_shows_who_else_is_editing(client, auth, world):
    auth.login(world.coordinator.email)
    client.post(f"/sections/{world.section.id}/presence", json={"editing": True})
    auth.logout()
    auth.login(world.editor.email)
    page = client.get(f"/sections/{world.section.id}/edit").get_data(as_text=True)
    assert "Cora Koordination (MIN) bearbeitet diesen Abschnitt gerade" in page
    assert 'aria-live="polite"' in page
    assert "presence.js" in page


def test_a_reader_is_present_but_not_editing(client, auth, world):
    auth.login(world.member.email)
    client.post(f"/sections/{world.section.id}/presence", json={"editing": True})
    auth.logout()
    auth.login(world.editor.email)
    others = client.get(f"/sections/{world.section.id}/presence").get_json()["others"]
    assert [(o["name"], o["editing"]) for o in others] == [("Max Mitglied", False)]


def test_outsiders_get_404_from_the_presence_pages(client, auth, world):
    auth.login(world.outsider.email)
    assert client.get(f"/sections/{world.section.id}/presence").status_code == 404
    assert client.post(f"/sections/{world.section.id}/presence", json={}).status_code == 404
    assert client.post(f"/sections/{world.section.id}/presence/leave").status_code == 404
    assert client.get(f"/papers/{world.paper.id}/presence").status_code == 404


def test_the_heartbeat_answers_the_head_for_the_newer_version_notice(client, auth, world):
    section_flow.save_section(
        world.coordinator, world.section.id, body="Neu.\n\nUnd vom Wohnen.", base_version=1
    )
    auth.login(world.editor.email)
    answer = client.post(f"/sections/{world.section.id}/presence", json={}).get_json()
    assert answer["head_version"] == 2
    assert answer["head"]["version"] == 2
    assert answer["head"]["author"] == "Cora Koordination"
    assert answer["head"]["compare_url"] == f"/sections/{world.section.id}/compare"


def test_the_paper_page_focuses_the_saved_section(client, auth, world):
    auth.login(world.editor.email)
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data={"title": "Innenstadt", "level": 1, "body": "Neu.", "base_version": 1},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#section-{world.section.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="section-{world.section.id}-h"' in page
    assert "presence.js" in page  # which focuses that heading (tabindex -1) on arrival


# ---------------------------------------------------------------- merge into the editor


def test_merge_into_the_editor_merges_the_newer_version(client, auth, world):
    section_flow.save_section(
        world.coordinator,
        world.section.id,
        body="Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen.",
        base_version=1,
    )
    auth.login(world.editor.email)
    title = world.section.head.title
    answer = client.post(
        f"/sections/{world.section.id}/merge",
        json={
            "base_version": 1,
            "title": title,
            "body": "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt.",
        },
    ).get_json()
    assert answer["clean"] is True
    assert answer["base_version"] == 2
    assert (
        answer["body"] == "Die Innenstadt lebt vom Handel und Handwerk.\n\nUnd vom Wohnen am Markt."
    )
    assert answer["conflicts"] == []
    # Saved from the new base, the merged text goes in without a conflict.
    response = client.post(
        f"/sections/{world.section.id}/edit",
        data={"title": title, "level": 1, "body": answer["body"], "base_version": 2},
    )
    assert response.status_code == 302
    assert section_flow.history(world.section.id)[0].body == answer["body"]


def test_merge_into_the_editor_keeps_my_text_where_both_changed_it(client, auth, world):
    section_flow.save_section(
        world.coordinator,
        world.section.id,
        body="Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen.",
        base_version=1,
    )
    auth.login(world.editor.email)
    mine = "Die Innenstadt lebt vom Großhandel.\n\nUnd vom Wohnen."
    answer = client.post(
        f"/sections/{world.section.id}/merge",
        json={"base_version": 1, "title": world.section.head.title, "body": mine},
    ).get_json()
    assert answer["clean"] is False
    assert answer["body"] == mine
    assert answer["base_version"] == 2
    assert len(answer["conflicts"]) == 1
    assert "Einzelhandel" in answer["conflicts"][0]["theirs"]
    assert "Großhandel" in answer["conflicts"][0]["yours"]
    assert answer["author"] == "Cora Koordination"


def test_merge_into_the_editor_refuses_bad_input_clearly(client, auth, world):
    auth.login(world.editor.email)
    url = f"/sections/{world.section.id}/merge"
    assert client.post(url, data="nonsense", content_type="application/json").status_code == 400
    answer = client.post(
        url, json={"base_version": "x", "body": ""}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "validation_failed"
    assert client.post(url, json={"base_version": 99, "body": ""}).status_code == 422
    auth.logout()
    auth.login(world.member.email)
    assert client.post(url, json={"base_version": 1, "body": ""}).status_code == 403


# ---------------------------------------------------------------- read-only when frozen


@pytest.fixture
def frozen(world):
    world.paper.status = PaperStatus.SIGNING
    db.session.commit()
    return world


def test_frozen_paper_pages_show_the_text_read_only(client, auth, frozen):
    w = frozen
    auth.login(w.editor.email)
    for url in (
        f"/sections/{w.section.id}/edit",
        f"/sections/{w.section.id}/suggest",
        f"/papers/{w.paper.id}/sections/new",
    ):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "<form" not in page.split("<main", 1)[1].split("</main>", 1)[0], url
        assert "readonly" in page, url
        assert f"/papers/{w.paper.id}/signoff" in page, url
        assert "in der Mitzeichnung" in page, url
    paper = client.get(f"/papers/{w.paper.id}").get_data(as_text=True)
    assert f"/sections/{w.section.id}/edit" not in paper
    assert f"/sections/{w.section.id}/suggest" not in paper
    assert f"/papers/{w.paper.id}/sections/new" not in paper
    # Comments stay open.
    assert client.get(f"/sections/{w.section.id}/comments").status_code == 200


def test_a_save_from_an_old_tab_keeps_the_typed_text(client, auth, frozen):
    w = frozen
    auth.login(w.editor.email)
    typed = "Mein langer Text, den ich nicht verlieren will."
    response = client.post(
        f"/sections/{w.section.id}/edit",
        data={"title": "Innenstadt", "level": 1, "body": typed, "base_version": 1},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert typed in page and "readonly" in page
    assert "nicht gespeichert" in page
    assert section_flow.history(w.section.id)[0].number == 1
    response = client.post(
        f"/sections/{w.section.id}/suggest", data={"body": typed, "base_version": 1}
    )
    assert response.status_code == 409
    assert typed in response.get_data(as_text=True)
    response = client.post(
        f"/papers/{w.paper.id}/sections/new", data={"title": "Neu", "level": 1, "body": typed}
    )
    assert response.status_code == 409
    assert typed in response.get_data(as_text=True)


def test_the_api_keeps_its_json_error_when_frozen(client, frozen):
    w = frozen
    response = client.put(
        f"/api/v1/sections/{w.section.id}",
        json={"body": "x", "base_version": 1},
        headers=api_headers(factories.token(w.editor)),
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "paper_locked"


# ---------------------------------------------------------------- API


def test_api_presence_heartbeat_and_status(client, world):
    cora = api_headers(factories.token(world.coordinator))
    emil = api_headers(factories.token(world.editor))
    url = f"/api/v1/sections/{world.section.id}/presence"
    answer = client.post(url, json={"editing": True}, headers=cora)
    assert answer.status_code == 200
    assert answer.get_json() == {"head_version": 1, "others": []}
    # GET does not register the caller.
    assert client.get(url, headers=emil).get_json()["others"][0]["name"] == "Cora Koordination"
    assert client.get(url, headers=cora).get_json()["others"] == []
    answer = client.post(url, json={"editing": False}, headers=emil).get_json()
    entry = answer["others"][0]
    assert set(entry) == {"name", "organisation", "editing", "since"}
    assert (entry["organisation"], entry["editing"]) == ("MIN", True)
    others = client.get(url, headers=cora).get_json()["others"]
    assert [(o["name"], o["editing"]) for o in others] == [("Emil Redaktion", False)]
    # Leaving through the API removes the caller at once.
    assert client.delete(url, headers=emil).status_code == 200
    assert client.get(url, headers=cora).get_json()["others"] == []


def test_api_presence_refuses_outsiders_and_bad_input(client, world):
    url = f"/api/v1/sections/{world.section.id}/presence"
    otto = api_headers(factories.token(world.outsider))
    for method in ("get", "post", "delete"):
        response = getattr(client, method)(url, json={"editing": True}, headers=otto)
        assert response.status_code == 404, method
        assert response.get_json()["error"]["code"] == "not_found"
    emil = api_headers(factories.token(world.editor))
    response = client.post(url, json={"editing": "yes"}, headers=emil)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    response = client.post(url, data="[", content_type="application/json", headers=emil)
    assert response.status_code == 400
    assert client.get(url).status_code == 401


def test_taking_access_away_counts_from_the_next_heartbeat(client, auth, world):
    # Nothing of the visibility check is cached (drafting.presence.visit): no window in which
    # a removed member still beats or sees who is editing.
    url = f"/api/v1/sections/{world.section.id}/presence"
    emil = api_headers(factories.token(world.editor))
    cora = api_headers(factories.token(world.coordinator))
    assert client.post(url, json={"editing": True}, headers=emil).status_code == 200
    role = db.session.scalar(
        select(PaperRole).where(
            PaperRole.user_id == world.editor.id, PaperRole.paper_id == world.paper.id
        )
    )
    assert role is not None
    paper_flow.revoke_role(world.coordinator, world.paper.id, role.id)
    assert client.post(url, json={"editing": True}, headers=emil).status_code == 200
    others = client.get(url, headers=cora).get_json()["others"]
    assert [(o["name"], o["editing"]) for o in others] == [("Emil Redaktion", False)]
    # The web page's heartbeat of a member of the same organisation, before and after.
    auth.login(world.member.email)
    page_url = f"/sections/{world.section.id}/presence"
    assert client.post(page_url, json={"editing": True}).status_code == 200
    paper_flow.remove_participant(world.coordinator, world.paper.id, world.city.id)
    assert client.post(page_url, json={"editing": True}).status_code == 404
    assert client.get(page_url).status_code == 404
    assert client.post(f"{page_url}/leave").status_code == 404
    for method in ("get", "post", "delete"):
        response = getattr(client, method)(url, json={"editing": True}, headers=emil)
        assert response.status_code == 404, method
        assert response.get_json()["error"]["code"] == "not_found"


def test_a_heartbeat_costs_a_few_light_statements(app: Flask, client, world):
    from sqlalchemy import event

    url = f"/api/v1/sections/{world.section.id}/presence"
    emil = api_headers(factories.token(world.editor))
    assert client.post(url, json={"editing": True}, headers=emil).status_code == 200  # sweeps
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(" ".join(statement.split())[:60])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        answer = client.post(url, json={"editing": True}, headers=emil)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert answer.status_code == 200
    # The token; visibility and head in one query; the store: on PostgreSQL one statement
    # (upsert and read), on SQLite the upsert and the read. No sweep again within the TTL.
    expected = 3 if IS_POSTGRES else 4
    assert len(seen) == expected, seen
    assert seen[0].startswith("SELECT api_token.")
    assert seen[1].startswith("SELECT section.paper_id, paper.status")
    assert not any(s.startswith("DELETE") for s in seen)


def test_successful_heartbeats_write_no_request_line(two_nodes, caplog):
    import logging

    first, _second, w = two_nodes(LOG_REQUESTS=True)
    with first.app_context():
        from drafting.models import User

        editor = db.session.scalar(select(User).where(User.email == w.editor))
        outsider = db.session.scalar(select(User).where(User.email == "outsider@example.org"))
        assert editor is not None and outsider is not None
        emil, otto = factories.token(editor), factories.token(outsider)
    client = first.test_client()
    url = f"/api/v1/sections/{w.section_id}/presence"
    with caplog.at_level(logging.INFO, logger="konzeptwerk.request"):
        assert (
            client.post(url, json={"editing": True}, headers=api_headers(emil)).status_code == 200
        )
        assert client.get(url, headers=api_headers(emil)).status_code == 200
        section = f"/api/v1/sections/{w.section_id}"
        assert client.get(section, headers=api_headers(emil)).status_code == 200
        assert client.post(url, json={}, headers=api_headers(otto)).status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "konzeptwerk.request"]
    # Other requests and refused heartbeats are still logged.
    assert lines == [f"GET {section} 200", f"POST {url} 404"]


@pytest.mark.redis
def test_heartbeats_kept_in_redis_take_no_sqlite_write_lock(two_nodes, redis_url: str):
    from sqlalchemy import event

    first, _second, w = two_nodes(PRESENCE_STORAGE=redis_url)
    client = _login(first, w.editor)
    if IS_POSTGRES:
        # No write lock to speak of here: the heartbeat writes no row of the database at all.
        written: list[str] = []
        with first.app_context():
            pg_engine = db.engine

        def writes(_conn, _cursor, statement, *_args) -> None:
            if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                written.append(statement)

        event.listen(pg_engine, "before_cursor_execute", writes)
        try:
            assert client.post(f"/sections/{w.section_id}/presence", json={}).status_code == 200
        finally:
            event.remove(pg_engine, "before_cursor_execute", writes)
        assert not [s for s in written if "presence" in s]
        return
    begun: list[str] = []
    with first.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.post(f"/sections/{w.section_id}/presence", json={}).status_code == 200
        assert begun == ["BEGIN"]
        begun.clear()
        # A save still takes the write lock at once.
        client.post(
            f"/sections/{w.section_id}/edit",
            data={"title": "T", "level": 1, "body": "Neu.", "base_version": 1},
        )
        assert begun[0] == "BEGIN IMMEDIATE"
    finally:
        event.remove(engine, "before_cursor_execute", record)
