"""Export jobs (issue 6) without a worker: the in-process runner, its status records, progress,
history and download; retries of a failing build; exports left running by a dead worker; and
Redis configured but unreachable.

The real rq worker is in ``test_export_worker.py``. Every request runs in a context of its own
(:func:`tests.integration.support.isolated_client`); the test reads the database afresh after.
"""

from __future__ import annotations

import html
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from werkzeug.http import parse_options_header

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Export,
    ExportStatus,
    Paper,
    Role,
    Section,
    SectionVersion,
    User,
    utcnow,
)
from exports import jobs
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.support import Api, configured_app, english, fresh, isolated_client, login
from workflows import activity
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


# --- helpers -------------------------------------------------------------------------------


def export_row(export_id: int) -> Export:
    fresh()
    found = db.session.get(Export, export_id)
    assert found is not None
    return found


def wait_for(predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def sign_edition(w: factories.World) -> int:
    """Approve every section and start a sign-off round; return the edition's number."""
    signatory = factories.user(w.ministry, name="Mira Amt")
    paper_flow.grant_role(w.coordinator, w.paper.id, signatory.email, Role.SIGNATORY)
    factories.approve_all(w)
    return signoff_flow.start(w.coordinator, w.paper.id, label="Gesamtfassung").number


@pytest.fixture
def w(world: factories.World) -> Iterator[factories.World]:
    """The standard world in English; its in-process exports finish before its database goes."""
    english(world)
    yield world
    jobs.wait_for_exports(60)


@pytest.fixture
def api(app: Flask, w: factories.World) -> Api:
    """The paper's editor on the API."""
    return Api(app, w.editor)


@pytest.fixture
def browser(app: Flask, w: factories.World) -> FlaskClient:
    """The paper's editor in a browser."""
    client = isolated_client(app)
    login(client, w.editor.email)
    return client


class Gate:
    """A stand-in for ``build_document`` that waits until the test lets it go on."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.real = jobs.build_document

    def __call__(self, data: Any, **kwargs: Any) -> bytes:
        progress = kwargs.get("progress")
        if progress is not None:
            progress(40)
        self.entered.set()
        assert self.release.wait(30), "the test never released the build"
        return self.real(data, **kwargs)


# --- in-process jobs: states, progress, history, download ------------------------------------


def test_in_process_export_goes_queued_running_done(
    app: Flask, w: factories.World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(jobs, "build_document", gate)
    response = api("POST", f"/papers/{w.paper.id}/exports", {"comments": True})
    assert response.status_code == 202
    created = response.get_json()
    assert created["status"] in ("queued", "running")  # the thread may already have started
    assert set(created) == {"id", "status"}
    export_id = created["id"]

    assert gate.entered.wait(30)
    state = api("GET", f"/exports/{export_id}").get_json()
    assert state["status"] == "running"
    assert state["progress"] == 40
    assert "download" not in state and "error" not in state
    assert api("GET", f"/exports/{export_id}/download").status_code == 409

    gate.release.set()
    jobs.wait_for_exports(30)
    state = api("GET", f"/exports/{export_id}").get_json()
    assert state["status"] == "done"
    assert state["progress"] == 100
    assert state["options"] == {"edition": None, "redline_against": None, "comments": True}
    assert state["download"] == f"/exports/{export_id}/download"
    row = export_row(export_id)
    assert row.attempts == 1 and row.size == len(row.content or b"") > 0
    assert row.started_at is not None and row.finished_at is not None
    assert row.requested_by_id == w.editor.id
    entry = db.session.scalar(select(ActivityEntry).where(ActivityEntry.action == "export.done"))
    assert entry is not None and entry.actor_id == w.editor.id
    assert entry.details == {
        "export": export_id,
        "size": row.size,
        "edition": None,
        "redline_against": None,
        "comments": True,
    }
    assert activity.verify(w.paper.id) == []


def test_progress_is_reported_in_steps_up_to_100(
    app: Flask, w: factories.World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A paper of 40 sections reports progress while it is built; every step is stored.
    for n in range(40):
        factories.section(w.editor, w.paper, title=f"Abschnitt {n}", body=f"Text {n}.")
    seen: list[int] = []
    real = jobs.build_document

    def spy(data: Any, **kwargs: Any) -> bytes:
        outer = kwargs["progress"]

        def progress(percent: int) -> None:
            seen.append(percent)
            outer(percent)

        return real(data, **{**kwargs, "progress": progress})

    monkeypatch.setattr(jobs, "build_document", spy)
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    assert seen == sorted(seen) and seen[0] == 5 and seen[-1] == 100
    assert len(seen) >= 5
    assert export_row(export_id).progress == 100


def test_export_history_lists_who_when_options_and_size(
    app: Flask, w: factories.World, api: Api, browser: FlaskClient
) -> None:
    edition = sign_edition(w)
    first = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    coordinator = Api(app, w.coordinator)
    second = coordinator(
        "POST", f"/papers/{w.paper.id}/exports", {"edition": edition, "comments": True}
    ).get_json()["id"]
    jobs.wait_for_exports(30)

    page = html.unescape(browser.get(f"/papers/{w.paper.id}/exports").get_data(as_text=True))
    rows = re.findall(r"<tr>\s*<td><a href=\"/exports/(\d+)\">(.*?)</a></td>(.*?)</tr>", page, re.S)
    assert [int(r[0]) for r in rows] == [second, first]  # newest first
    cells = [re.findall(r"<td>(.*?)</td>", r[2], re.S) for r in rows]
    new, old = export_row(second), export_row(first)
    assert cells[0][0] == "Cora Koordination"
    assert cells[0][1] == f"edition {edition}, with comments"
    assert cells[0][2].startswith("Ready")
    assert cells[0][3] == f"{round(new.size / 1024, 1)} KB"
    assert cells[1][0] == "Emil Redaktion"
    assert cells[1][1] == "working draft"
    assert cells[1][3] == f"{round(old.size / 1024, 1)} KB"
    assert all(r[1].strip() for r in rows)  # when
    assert new.filename == "Konzept-Innenstadt-fassung-1.docx"
    assert old.filename == "Konzept-Innenstadt-arbeitsstand.docx"


def test_download_has_a_safe_file_name_and_a_word_document(
    app: Flask, w: factories.World, api: Api, browser: FlaskClient
) -> None:
    paper = db.session.get(Paper, w.paper.id)
    assert paper is not None
    paper.title = 'Konzept "Süd/Ost"; Ärger\\Straße\r\nX-Header: böse <script>'
    db.session.commit()
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    for response in (
        api("GET", f"/exports/{export_id}/download"),
        browser.get(f"/exports/{export_id}/download"),
    ):
        assert response.status_code == 200
        assert response.mimetype == (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        disposition = response.headers["Content-Disposition"]
        kind, params = parse_options_header(disposition)
        assert kind == "attachment"
        name = params["filename"]
        assert name == "Konzept-Sued-Ost-Aerger-Strasse-X-Header-boese-script-arbeitsstand.docx"
        assert re.fullmatch(r"[A-Za-z0-9-]+\.docx", name)
        assert "\r" not in disposition and "\n" not in disposition
        assert "X-Header" not in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert int(response.headers["Content-Length"]) == len(response.data)
        document = Document(io.BytesIO(response.data))
        assert document.core_properties.title == paper.title


def test_show_page_has_the_progress_bar_and_the_download(
    app: Flask, w: factories.World, api: Api, browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(jobs, "build_document", gate)
    response = browser.post(
        f"/papers/{w.paper.id}/exports", data={"edition": "", "redline_against": ""}
    )
    assert response.status_code == 302
    export_id = int(response.location.rsplit("/", 1)[1])
    assert gate.entered.wait(30)
    page = browser.get(f"/exports/{export_id}").get_data(as_text=True)
    assert re.search(r'<progress id="export-progress" max="100" value="40">', page)
    assert re.search(r'id="export-download"\s+hidden', page)
    status = browser.get(f"/exports/{export_id}/status").get_json()
    assert (status["status"], status["progress"]) == ("running", 40)
    gate.release.set()
    jobs.wait_for_exports(30)
    page = html.unescape(browser.get(f"/exports/{export_id}").get_data(as_text=True))
    assert "The document is ready." in page
    assert "Download Konzept-Innenstadt-arbeitsstand.docx" in page
    assert browser.get(f"/exports/{export_id}/status").get_json()["progress"] == 100


def test_exports_are_only_for_members_of_the_paper(
    app: Flask, w: factories.World, api: Api
) -> None:
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    outsider = Api(app, w.outsider)
    assert outsider("POST", f"/papers/{w.paper.id}/exports").status_code == 404
    for path in (f"/exports/{export_id}", f"/exports/{export_id}/download"):
        response = outsider("GET", path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    browser = isolated_client(app)
    login(browser, w.outsider.email)
    assert browser.get(f"/exports/{export_id}/download").status_code == 404
    assert browser.get(f"/papers/{w.paper.id}/exports").status_code == 404
    # Every member may export, also the reviewer.
    assert Api(app, w.reviewer)("GET", f"/exports/{export_id}").status_code == 200


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"edition": 9}, "edition", "Edition 9 does not exist."),
        ({"redline_against": 9}, "redline_against", "Edition 9 does not exist."),
        ({"edition": "1"}, "edition", "'edition' must be an edition number"),
        ({"edition": True}, "edition", "'edition' must be an edition number"),
        ({"comments": "yes"}, "comments", "'comments' must be true or false"),
        (
            {"edition": 1, "redline_against": 1},
            "redline_against",
            "The comparison must be with an earlier edition.",
        ),
    ],
)
def test_export_options_are_validated(
    app: Flask, w: factories.World, api: Api, payload: dict[str, Any], field: str, message: str
) -> None:
    sign_edition(w)
    before = db.session.scalar(select(func.count()).select_from(Export))
    response = api("POST", f"/papers/{w.paper.id}/exports", payload)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == {"code": "validation_failed", "message": message}
    assert body["field"] == field
    assert db.session.scalar(select(func.count()).select_from(Export)) == before


# --- retries ---------------------------------------------------------------------------------


def test_a_failing_build_is_tried_three_times_then_failed_with_a_reason(
    app: Flask, w: factories.World, api: Api, browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def broken(data: Any, **kwargs: Any) -> bytes:
        calls.append(data.paper_id)
        raise RuntimeError("Die Schriftart Arial fehlt")

    monkeypatch.setattr(jobs, "build_document", broken)
    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0, 0, 0])
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    assert calls == [w.paper.id] * 3
    row = export_row(export_id)
    assert row.status == ExportStatus.FAILED
    assert row.attempts == 3
    assert row.finished_at is not None and row.content is None
    # The job runs outside any request: its reason is in the app's default language, German.
    reason = "Das Dokument konnte nicht erstellt werden (RuntimeError: Die Schriftart Arial fehlt)."
    assert row.error == reason
    state = api("GET", f"/exports/{export_id}").get_json()
    assert (state["status"], state["error"]) == ("failed", reason)
    assert "download" not in state
    assert api("GET", f"/exports/{export_id}/download").status_code == 409
    page = html.unescape(browser.get(f"/exports/{export_id}").get_data(as_text=True))
    assert f"The export failed: {reason}" in page


def test_a_build_that_fails_twice_succeeds_on_the_third_try(
    app: Flask, w: factories.World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jobs.build_document
    calls: list[int] = []

    def flaky(data: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("temporarily out of disk")
        return real(data, **kwargs)

    monkeypatch.setattr(jobs, "build_document", flaky)
    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0, 0, 0])
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert (row.status, row.attempts, len(calls)) == (ExportStatus.DONE, 3, 3)
    assert row.error == ""  # the earlier failures' reasons are gone once it worked
    assert "error" not in api("GET", f"/exports/{export_id}").get_json()


def test_a_refused_option_at_build_time_fails_with_its_message(
    app: Flask, w: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The edition vanished between request and build (a workflow error): readable reason.
    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0, 0, 0])
    export = Export(
        paper_id=w.paper.id,
        requested_by_id=w.editor.id,
        options={"edition": 7, "redline_against": None, "comments": False},
        status=ExportStatus.QUEUED,
        filename="x.docx",
    )
    db.session.add(export)
    db.session.commit()
    export_id = export.id
    fresh()  # end the test's read transaction: on SQLite it would block the job's writes
    jobs.enqueue(export_id)
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert (row.status, row.attempts, row.error) == (
        ExportStatus.FAILED,
        3,
        "edition 7 not found",
    )


# --- exports left running by a dead worker --------------------------------------------------


def running_export(w: factories.World, *, attempts: int, heartbeat_age: float) -> int:
    """Store an export as a dead worker leaves it: running, with an old heartbeat."""
    beat = utcnow() - timedelta(seconds=heartbeat_age)
    export = Export(
        paper_id=w.paper.id,
        requested_by_id=w.editor.id,
        options={"edition": None, "redline_against": None, "comments": False},
        status=ExportStatus.RUNNING,
        progress=45,
        attempts=attempts,
        filename="Konzept-Innenstadt-arbeitsstand.docx",
        started_at=beat,
        heartbeat_at=beat,
    )
    db.session.add(export)
    db.session.commit()
    return export.id


def test_a_stale_running_export_is_requeued_and_finished(
    app: Flask, w: factories.World, api: Api
) -> None:
    stale = jobs.STALE_AFTER.total_seconds()
    export_id = running_export(w, attempts=1, heartbeat_age=stale + 5)
    state = api("GET", f"/exports/{export_id}").get_json()
    # Looking at it finds the dead worker: the export is queued again (or already running).
    assert state["status"] in ("queued", "running", "done")
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert (row.status, row.attempts, row.progress) == (ExportStatus.DONE, 2, 100)
    assert api("GET", f"/exports/{export_id}/download").status_code == 200


def test_a_stale_export_on_its_last_try_is_failed(app: Flask, w: factories.World, api: Api) -> None:
    export_id = running_export(w, attempts=3, heartbeat_age=jobs.STALE_AFTER.total_seconds() + 1)
    state = api("GET", f"/exports/{export_id}").get_json()
    assert state["status"] == "failed"
    assert state["error"] == "The export worker stopped during the export."
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert row.status == ExportStatus.FAILED and row.finished_at is not None


def test_a_running_export_with_a_fresh_heartbeat_is_left_alone(
    app: Flask, w: factories.World, api: Api
) -> None:
    export_id = running_export(w, attempts=1, heartbeat_age=5)
    assert api("GET", f"/exports/{export_id}").get_json()["status"] == "running"
    assert jobs.recover_stale() == 0
    assert export_row(export_id).status == ExportStatus.RUNNING


def test_recover_stale_handles_every_stale_export_at_once(
    app: Flask, w: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ages = jobs.STALE_AFTER.total_seconds()
    requeued = running_export(w, attempts=2, heartbeat_age=ages + 60)
    failed = running_export(w, attempts=3, heartbeat_age=ages + 60)
    alive = running_export(w, attempts=1, heartbeat_age=1)
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "enqueue", enqueued.append)
    assert jobs.recover_stale() == 2
    assert enqueued == [requeued]
    assert export_row(requeued).status == ExportStatus.QUEUED
    # Outside a request the reason is stored in the app's default language.
    assert export_row(requeued).error == (
        "Der Exportdienst wurde beendet; der Export wurde erneut eingereiht."
    )
    assert export_row(failed).status == ExportStatus.FAILED
    assert export_row(alive).status == ExportStatus.RUNNING


def queued_export(w: factories.World, *, age: float, heartbeat_age: float | None = None) -> int:
    """Store an export whose rq job was lost: queued ``age`` seconds ago, never started."""
    now = utcnow()
    export = Export(
        paper_id=w.paper.id,
        requested_by_id=w.editor.id,
        options={"edition": None, "redline_against": None, "comments": False},
        status=ExportStatus.QUEUED,
        attempts=0,
        filename="Konzept-Innenstadt-arbeitsstand.docx",
        created_at=now - timedelta(seconds=age),
        heartbeat_at=None if heartbeat_age is None else now - timedelta(seconds=heartbeat_age),
    )
    db.session.add(export)
    db.session.commit()
    return export.id


def test_a_queued_export_whose_job_was_lost_is_queued_again(
    app: Flask, w: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait = jobs.QUEUED_STALE_AFTER.total_seconds()
    lost = queued_export(w, age=wait + 60)
    waiting = queued_export(w, age=5)
    # Failed once, queued for rq's retry a moment ago: the old request time does not count.
    retrying = queued_export(w, age=wait + 60, heartbeat_age=10)
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "enqueue", enqueued.append)
    assert jobs.recover_stale() == 1
    assert enqueued == [lost]
    row = export_row(lost)
    assert (row.status, row.attempts) == (ExportStatus.QUEUED, 0)  # no try used up
    assert row.error == "Der Exportauftrag ging verloren; der Export wurde erneut eingereiht."
    # Requeued just now: the next poll does not requeue it a second time.
    assert jobs.recover_stale() == 0
    assert enqueued == [lost]
    assert export_row(waiting).status == export_row(retrying).status == ExportStatus.QUEUED


def test_looking_at_a_lost_queued_export_builds_it(
    app: Flask, w: factories.World, api: Api
) -> None:
    export_id = queued_export(w, age=jobs.QUEUED_STALE_AFTER.total_seconds() + 5)
    assert api("GET", f"/exports/{export_id}").get_json()["status"] in ("queued", "running", "done")
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert (row.status, row.attempts, row.progress) == (ExportStatus.DONE, 1, 100)


def test_queued_stale_after_comes_from_the_config(tmp_path: Path) -> None:
    with configured_app(tmp_path, EXPORT_QUEUED_STALE_SECONDS=3) as application:
        with application.app_context():
            assert jobs.queued_stale_after() == timedelta(seconds=3)


def test_stale_after_comes_from_the_config(tmp_path: Path) -> None:
    with configured_app(tmp_path, EXPORT_STALE_SECONDS=2) as application:
        with application.app_context():
            assert jobs.stale_after() == timedelta(seconds=2)
            w = factories.world()
            english(w)
            young = running_export(w, attempts=1, heartbeat_age=0.5)
            old = running_export(w, attempts=1, heartbeat_age=3)
            api = Api(application, w.editor)
            assert api("GET", f"/exports/{young}").get_json()["status"] == "running"
            assert api("GET", f"/exports/{old}").get_json()["status"] in ("queued", "running")
            jobs.wait_for_exports(30)
            assert export_row(old).status == ExportStatus.DONE
            assert export_row(young).status == ExportStatus.RUNNING
            db.session.remove()


# --- Redis configured but unreachable ---------------------------------------------------------


@pytest.fixture
def no_redis_app(tmp_path: Path) -> Iterator[Flask]:
    with configured_app(tmp_path, REDIS_URL=UNREACHABLE_REDIS) as application:
        with application.app_context():
            yield application
            db.session.remove()


def test_unreachable_redis_gives_a_clear_503_and_the_app_keeps_working(
    no_redis_app: Flask,
) -> None:
    w = factories.world()
    english(w)
    api = Api(no_redis_app, w.editor)
    message = (
        "Exports are not possible right now: the job queue is not reachable. "
        "Everything else keeps working; please try again later."
    )
    started = time.monotonic()
    response = api("POST", f"/papers/{w.paper.id}/exports")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.get_json()["error"] == {"code": "queue_unavailable", "message": message}

    browser = isolated_client(no_redis_app)
    login(browser, w.editor.email)
    response = browser.post(
        f"/papers/{w.paper.id}/exports", data={"edition": "", "redline_against": ""}
    )
    assert response.status_code == 503
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    assert "<form" in page  # the export page itself, with the form to try again

    # Nothing is left waiting for a queue that never got it.
    rows = list(db.session.scalars(select(Export).order_by(Export.id)))
    assert [r.status for r in rows] == [ExportStatus.FAILED, ExportStatus.FAILED]
    assert all(r.error == "The job queue is not reachable. Please try again later." for r in rows)
    history = html.unescape(browser.get(f"/papers/{w.paper.id}/exports").get_data(as_text=True))
    assert history.count("Failed") >= 2

    # The rest of the app: pages, saving a section, importing a Word file.
    assert browser.get(f"/papers/{w.paper.id}").status_code == 200
    saved = api(
        "PUT",
        f"/sections/{w.section.id}",
        {"body": "Die Innenstadt lebt vom Handel und vom Wohnen.", "base_version": 1},
    )
    assert saved.status_code == 200, saved.get_json()
    assert db.session.scalar(select(func.count()).select_from(SectionVersion)) == 2
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from tests import docx_samples

    boundary, body = encode_multipart(
        {
            "file": FileStorage(
                io.BytesIO(docx_samples.headed_docx([(1, "Neu", ["Text."])])), "neu.docx"
            )
        }
    )
    imported = api.client.post(
        "/api/v1/imports",
        data=body,
        headers=api.headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert imported.status_code == 201
    assert db.session.scalar(select(func.count()).select_from(Section)) == 2


# --- the activity log entry of a finished export ------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not IS_POSTGRES, reason="row locks need PostgreSQL")
def test_a_finishing_export_and_a_concurrent_save_both_keep_the_activity_chain(
    app: Flask, w: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export's "export.done" entry and a section save's entry are appended to the same
    # hash chain; the export must hold the paper's row lock, as every workflow action does, or
    # both take the same sequence number and the export fails after building its document.
    recorded, go = threading.Event(), threading.Event()
    real_record = activity.record

    def slow_record(*args: Any, **kwargs: Any) -> Any:
        entry = real_record(*args, **kwargs)
        if "export.done" in args:
            recorded.set()
            go.wait(10)
        return entry

    monkeypatch.setattr(jobs.activity, "record", slow_record)
    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0, 0, 0])
    api = Api(app, w.editor)
    export_id = api("POST", f"/papers/{w.paper.id}/exports").get_json()["id"]
    assert recorded.wait(30)
    saved: list[int] = []
    editor_id, section_id = w.editor.id, w.section.id
    fresh()

    def save() -> None:
        with app.app_context():
            user = db.session.get(User, editor_id)
            assert user is not None
            result = section_flow.save_section(
                user, section_id, body="Die Innenstadt lebt.", base_version=1
            )
            saved.append(result.version)
            db.session.remove()

    editor = threading.Thread(target=save)
    editor.start()
    editor.join(1.0)  # with the lock held by the export, the save waits here
    go.set()
    editor.join(30)
    jobs.wait_for_exports(30)
    row = export_row(export_id)
    assert (row.status, row.attempts) == (ExportStatus.DONE, 1)
    assert saved == [2]
    assert activity.verify(w.paper.id) == []


@pytest.mark.postgres
@pytest.mark.skipif(not IS_POSTGRES, reason="row locks need PostgreSQL")
def test_two_pollers_finding_the_same_dead_worker_requeue_the_export_once(
    app: Flask, w: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every progress bar polls; two of them may look at a dead worker's export at once.
    export_id = running_export(w, attempts=1, heartbeat_age=jobs.STALE_AFTER.total_seconds() + 5)
    fresh()
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "enqueue", enqueued.append)
    first_decided, go = threading.Event(), threading.Event()
    first = threading.current_thread()

    def pause_first_poller(session: Any) -> None:
        if threading.current_thread() is not first and not first_decided.is_set():
            first_decided.set()
            go.wait(10)

    found: list[int] = []

    def poll() -> None:
        with app.app_context():
            found.append(jobs.recover_stale())
            db.session.remove()

    event.listen(db.session, "before_commit", pause_first_poller)
    try:
        one = threading.Thread(target=poll)
        one.start()
        assert first_decided.wait(10)  # the first poller has requeued it, not yet committed
        two = threading.Thread(target=poll)
        two.start()
        two.join(1.0)
        go.set()
        one.join(10)
        two.join(10)
    finally:
        event.remove(db.session, "before_commit", pause_first_poller)
    assert sorted(found) == [0, 1]
    assert enqueued == [export_id]
    assert export_row(export_id).status == ExportStatus.QUEUED
