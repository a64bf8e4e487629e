"""Exports are deduplicated and throttled per user (issue 9, item 14; ASVS V11.1.4).

The same request while the user's earlier export is queued or running gets that export;
new exports beyond ``EXPORT_RATE_LIMIT`` answer 429 with the usual error envelope. The
count lives in the database, so every web node and worker process sees the same one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Export, ExportStatus, utcnow
from exports import jobs
from tests import factories
from tests.conftest import api_headers
from workflows.errors import RateLimited


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep new exports queued: no worker picks them up during the test."""
    monkeypatch.setattr(jobs, "enqueue", lambda export_id: None)


def exports_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Export)) or 0)


def test_the_same_request_while_queued_returns_the_same_export(world, held):
    first = jobs.request_export(world.member, world.paper.id)
    again = jobs.request_export(world.member, world.paper.id)
    assert again.id == first.id
    assert exports_count() == 1
    # Other options, or another person, are another export.
    with_comments = jobs.request_export(world.member, world.paper.id, comments=True)
    by_other = jobs.request_export(world.editor, world.paper.id)
    assert len({first.id, with_comments.id, by_other.id}) == 3
    # Once it is finished, asking again makes a new one (the text may have changed).
    first.status = ExportStatus.DONE
    db.session.commit()
    assert jobs.request_export(world.member, world.paper.id).id not in (first.id,)


def test_a_running_export_is_returned_too(world, held):
    first = jobs.request_export(world.member, world.paper.id)
    first.status = ExportStatus.RUNNING
    db.session.commit()
    assert jobs.request_export(world.member, world.paper.id).id == first.id


def test_the_form_redirects_to_the_queued_export(client, auth, world, held):
    auth.login(world.member.email)
    first = client.post(
        f"/papers/{world.paper.id}/exports", data={"edition": "", "redline_against": ""}
    )
    second = client.post(
        f"/papers/{world.paper.id}/exports", data={"edition": "", "redline_against": ""}
    )
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert exports_count() == 1


def test_the_api_returns_the_queued_export_with_202(client, world, held):
    headers = api_headers(factories.token(world.member))
    answers = [
        client.post(f"/api/v1/papers/{world.paper.id}/exports", json={}, headers=headers)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.get_json()["id"] for a in answers}) == 1


def test_asvs_v11_1_4_exports_beyond_the_limit_are_refused(app, client, world, held):
    """ASVS V11.1.4: a reader cannot queue exports without end (30 in 1.2 s before)."""
    app.config["EXPORT_RATE_LIMIT"] = "3 per 5 minutes"
    headers = {**api_headers(factories.token(world.member)), "Accept-Language": "en"}
    statuses = []
    for n in range(5):
        # Different options each time, so that deduplication does not answer.
        response = client.post(
            f"/api/v1/papers/{world.paper.id}/exports",
            json={"comments": n % 2 == 0},
            headers=headers,
        )
        statuses.append(response.status_code)
        exports = db.session.scalars(select(Export)).all()
        for export in exports:
            export.status = ExportStatus.DONE
        db.session.commit()
    assert statuses == [202, 202, 202, 429, 429]
    refused = client.post(f"/api/v1/papers/{world.paper.id}/exports", json={}, headers=headers)
    body = refused.get_json()
    assert refused.status_code == 429
    assert body["error"]["code"] == "too_many_requests"
    assert "Please try again in 5 minutes." in body["error"]["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert exports_count() == 3
    # Another person is not affected.
    other = client.post(
        f"/api/v1/papers/{world.paper.id}/exports",
        json={},
        headers=api_headers(factories.token(world.editor)),
    )
    assert other.status_code == 202


def test_asvs_v11_1_4_the_form_says_why_with_429(app, client, auth, world, held):
    """ASVS V11.1.4: the page shows a clear message."""
    app.config["EXPORT_RATE_LIMIT"] = "1 per hour"
    world.member.locale = "en"
    db.session.commit()
    auth.login(world.member.email)
    assert (
        client.post(
            f"/papers/{world.paper.id}/exports", data={"edition": "", "redline_against": ""}
        ).status_code
        == 302
    )
    db.session.scalars(select(Export)).one().status = ExportStatus.FAILED
    db.session.commit()
    response = client.post(
        f"/papers/{world.paper.id}/exports", data={"edition": "", "redline_against": ""}
    )
    assert response.status_code == 429
    assert "You have requested 1 export recently" in response.get_data(as_text=True)


def test_asvs_v11_1_4_the_count_is_shared_through_the_database(app, world, held):
    """ASVS V11.1.4: exports another web node recorded count as well (no per-process memory)."""
    app.config["EXPORT_RATE_LIMIT"] = "2 per 10 minutes"
    for minutes_ago in (1, 2):
        db.session.add(
            Export(
                paper_id=world.paper.id,
                requested_by_id=world.member.id,
                options={"edition": None, "redline_against": None, "comments": minutes_ago == 1},
                status=ExportStatus.DONE,
                created_at=utcnow() - timedelta(minutes=minutes_ago),
            )
        )
    db.session.commit()
    with pytest.raises(RateLimited) as refused:
        jobs.request_export(world.member, world.paper.id)
    db.session.rollback()
    assert 400 <= refused.value.extra["retry_after"] <= 480
    # Older requests no longer count.
    for export in db.session.scalars(select(Export)):
        export.created_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert jobs.request_export(world.member, world.paper.id).id is not None
