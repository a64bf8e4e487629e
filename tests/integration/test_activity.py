"""The activity log (issue 4): an entry for every version, state change, comment, suggestion
decision and role change; a filterable timeline, CSV download, the JSON API, and a hash chain
that ``flask audit verify`` checks — failing after any altered or deleted entry.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import JSON, bindparam, select, text, update

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, PaperRole, Role
from tests import factories
from tests.conftest import api_headers
from tests.xss_corpus import PAYLOADS, assert_inert
from workflows import activity
from workflows import comments as comment_flow
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow

pytestmark = pytest.mark.usefixtures("english_ui")

SUGGESTED = "Die Innenstadt lebt vom Handel und vom Handwerk.\n\nUnd vom Wohnen."


def log(paper_id: int) -> list[ActivityEntry]:
    """A paper's activity entries, oldest first, fresh from the database."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ActivityEntry)
            .where(ActivityEntry.paper_id == paper_id)
            .order_by(ActivityEntry.seq)
        )
    )


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def rows(response: Any) -> list[list[str]]:
    """Parse a CSV download (after its byte order mark)."""
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def busy_day(world: factories.World) -> None:
    """Everything that must leave a trace, once: versions, review steps, comments, decisions."""
    sid = world.section.id
    section_flow.save_section(world.editor, sid, body="Die Innenstadt lebt.", base_version=1)
    review_flow.submit(world.editor, sid)
    review_flow.request_changes(world.reviewer, sid, 2, "Zu kurz.")
    section_flow.save_section(world.editor, sid, body="Die Innenstadt lebt gut.", base_version=2)
    review_flow.submit(world.editor, sid)
    review_flow.approve(world.reviewer, sid, 3, "Passt.")
    section_flow.save_section(
        world.editor, sid, body="Die Innenstadt lebt gut!", base_version=3, editorial=True
    )
    comment = comment_flow.add_comment(world.member, sid, "Stimmt das?")
    comment_flow.add_comment(world.editor, sid, "Ja.", parent_id=comment.id)
    accepted = suggestion_flow.create_suggestion(
        world.member, sid, body=SUGGESTED, base_version=4, note="Handwerk"
    )
    suggestion_flow.accept(world.editor, accepted.id)
    rejected = suggestion_flow.create_suggestion(
        world.signatory, sid, body="Anders.", base_version=5
    )
    suggestion_flow.reject(world.editor, rejected.id, "Nein.")
    section_flow.restore_version(world.editor, sid, 4)
    paper_flow.grant_role(world.coordinator, world.paper.id, world.member.email, Role.REVIEWER)
    role = db.session.scalar(
        select(PaperRole).where(
            PaperRole.user_id == world.member.id, PaperRole.paper_id == world.paper.id
        )
    )
    paper_flow.revoke_role(world.coordinator, world.paper.id, role.id)


# --- what is logged -----------------------------------------------------------------------------


def test_every_version_state_change_comment_decision_and_role_change_is_logged(world):
    busy_day(world)
    entries = log(world.paper.id)
    sid = world.section.id
    mine = [(e.action, e.actor_id, e.version) for e in entries if e.section_id == sid]
    e, r, m, s = world.editor.id, world.reviewer.id, world.member.id, world.signatory.id
    assert mine == [
        ("section.created", e, 1),
        ("section.saved", e, 2),
        ("review.submitted", e, 2),
        ("review.changes_requested", r, 2),
        ("section.saved", e, 3),
        ("review.back_to_draft", e, 3),
        ("review.submitted", e, 3),
        ("review.approved", r, 3),
        ("section.saved", e, 4),
        ("review.carried_over", e, 4),
        ("comment.added", m, 4),
        ("comment.replied", e, 4),
        ("suggestion.created", m, 4),
        ("section.saved", e, 5),
        ("review.approval_reset", e, 5),
        ("suggestion.accepted", e, 5),
        ("suggestion.created", s, 5),
        ("suggestion.rejected", e, 5),
        ("version.restored", e, 6),
    ]
    roles = [
        (x.action, x.details["user_id"], x.details["role"])
        for x in entries
        if x.action.startswith("role.")
    ]
    assert roles[-2:] == [
        ("role.granted", world.member.id, "reviewer"),
        ("role.revoked", world.member.id, "reviewer"),
    ]
    # People are named by id: no address or name inside the hashed content (issue 16.4).
    assert all("@" not in repr(x.details) for x in entries)
    assert {x.action for x in entries} >= {"paper.created", "participant.added"}
    # Who, what, when, in order, nothing missing.
    assert [x.seq for x in entries] == list(range(1, len(entries) + 1))
    assert all(x.created_at.tzinfo is not None for x in entries)
    assert [x.created_at for x in entries] == sorted(x.created_at for x in entries)
    reasons = {x.action: x.details for x in entries if x.section_id == sid}
    assert reasons["review.changes_requested"]["comment"] == "Zu kurz."
    assert reasons["suggestion.rejected"]["reason"] == "Nein."
    assert activity.verify(world.paper.id) == []


def test_a_refused_action_leaves_no_entry(client, world):
    before = len(log(world.paper.id))
    token = factories.token(world.member)
    response = client.post(
        f"/api/v1/sections/{world.section.id}/submit", json={}, headers=api_headers(token)
    )
    assert response.status_code == 403
    assert len(log(world.paper.id)) == before
    assert activity.verify(world.paper.id) == []


def test_papers_have_separate_chains(world):
    other = factories.paper(world.coordinator, title="Zweites Konzept")
    factories.section(world.coordinator, other, title="Anfang", body="Los.")
    first, second = log(world.paper.id), log(other.id)
    assert first[0].prev_hash == second[0].prev_hash == activity.GENESIS
    assert [x.seq for x in second] == [1, 2, 3]
    assert activity.verify(world.paper.id) == activity.verify(other.id) == []


# --- the timeline -------------------------------------------------------------------------------


def test_the_timeline_shows_entries_newest_first(client, auth, world):
    busy_day(world)
    auth.login(world.member.email)
    page = html(client.get(f"/papers/{world.paper.id}/activity"))
    total = len(log(world.paper.id))
    assert f"Entries 1 to {total} of {total}, newest first" in page
    assert page.index('data-action="role.revoked"') < page.index('data-action="paper.created"')
    assert "Rita Prüfung" in page and "comment: Zu kurz." in page and "reason: Nein." in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ("action=review.", lambda e, w: e.action.startswith("review.")),
        ("action=suggestion.rejected", lambda e, w: e.action == "suggestion.rejected"),
        ("section={sid}", lambda e, w: e.section_id == w.section.id),
        ("person=reviewer@example.org", lambda e, w: e.actor_id == w.reviewer.id),
        (
            "person=REVIEWER@example.org&action=review.approved",
            lambda e, w: e.actor_id == w.reviewer.id and e.action == "review.approved",
        ),
    ],
)
def test_the_timeline_and_the_csv_filter(client, auth, world, query, expected):
    busy_day(world)
    query = query.format(sid=world.section.id)
    wanted = [e for e in log(world.paper.id) if expected(e, world)]
    assert wanted
    auth.login(world.member.email)
    page = html(client.get(f"/papers/{world.paper.id}/activity?{query}"))
    assert f"of {len(wanted)}, newest first" in page
    shown = page.split("<tbody>")[1].split("</tbody>")[0]
    assert shown.count("<tr>") == len(wanted)
    assert f"/papers/{world.paper.id}/activity.csv?" in page  # the download keeps the filter

    download = client.get(f"/papers/{world.paper.id}/activity.csv?{query}")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    header, *lines = rows(download)
    assert header[:4] == ["seq", "time_utc", "actor", "action"]
    assert [int(line[0]) for line in lines] == [e.seq for e in reversed(wanted)]
    assert [line[-1] for line in lines] == [e.hash for e in reversed(wanted)]


@pytest.mark.parametrize(
    "query",
    ["paper_id=2", "_scheme=javascript", "_external=1&_anchor=x", "page=zwei&section=abc"],
)
def test_odd_query_arguments_do_not_break_the_timeline(client, auth, world, query):
    auth.login(world.member.email)
    response = client.get(f"/papers/{world.paper.id}/activity?{query}")
    assert response.status_code == 200
    [link] = re.findall(r'href="([^"]*activity\.csv[^"]*)"', html(response))
    assert link.startswith(f"/papers/{world.paper.id}/activity.csv?")  # local, the filter only
    assert "_" not in link.split("?")[1] and "paper_id" not in link


def test_the_timeline_pages_by_fifty(client, auth, world):
    for n in range(60):
        factories.section(world.editor, world.paper, title=f"Abschnitt {n}", body="Text.")
    total = len(log(world.paper.id))
    auth.login(world.member.email)
    first = html(client.get(f"/papers/{world.paper.id}/activity"))
    assert f"Entries 1 to 50 of {total}" in first
    assert "Older entries" in first and "Newer entries" not in first
    second = html(client.get(f"/papers/{world.paper.id}/activity?page=2"))
    assert f"Entries 51 to {total} of {total}" in second
    assert "Newer entries" in second
    assert len(rows(client.get(f"/papers/{world.paper.id}/activity.csv"))) == total + 1


def test_outsiders_see_no_activity(client, auth, world):
    auth.login(world.outsider.email)
    assert client.get(f"/papers/{world.paper.id}/activity").status_code == 404
    assert client.get(f"/papers/{world.paper.id}/activity.csv").status_code == 404
    token = factories.token(world.outsider)
    response = client.get(f"/api/v1/papers/{world.paper.id}/activity", headers=api_headers(token))
    assert response.status_code == 404


def test_the_api_returns_the_chain(client, world):
    busy_day(world)
    token = factories.token(world.signatory)
    response = client.get(f"/api/v1/papers/{world.paper.id}/activity", headers=api_headers(token))
    assert response.status_code == 200
    entries = response.get_json()["entries"]
    stored = log(world.paper.id)
    assert [(e["seq"], e["action"], e["hash"]) for e in entries] == [
        (e.seq, e.action, e.hash) for e in stored
    ]
    assert entries[0]["prev_hash"] == activity.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    approved = next(e for e in entries if e["action"] == "review.approved")
    assert (approved["actor"], approved["details"]) == (world.reviewer.email, {"comment": "Passt."})


# --- CSV and spreadsheets ---------------------------------------------------------------------

# A section title and a (valid!) e-mail address that a spreadsheet would run as formulas.
FORMULAS = [
    ('=HYPERLINK("https://evil.example/1337","klick")', "=1+2@example.org"),
    ("+1+1", "+cmd@example.org"),
    ("-1+1", "-2+3@example.org"),
    ("@SUM(A1)", "=sum@example.org"),
]


@pytest.mark.parametrize("title, email", FORMULAS, ids=["equals", "plus", "minus", "at"])
def test_csv_cells_never_start_a_formula(client, auth, world, title, email):
    section = factories.section(world.editor, world.paper, title=title, body="Text.")
    sneaky = factories.user(world.city, email, name="Sneaky")
    paper_flow.grant_role(world.coordinator, world.paper.id, sneaky.email, Role.EDITOR)
    section_flow.save_section(sneaky, section.id, body="Anders.", base_version=1)
    auth.login(world.member.email)
    header, *lines = rows(client.get(f"/papers/{world.paper.id}/activity.csv"))
    saved = next(line for line in lines if line[3] == "section.saved")
    assert saved[header.index("actor")] == "'" + email
    assert saved[header.index("section")] == "'" + title
    for line in lines:
        for cell in line:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), line


# --- the hash chain and `flask audit verify` ----------------------------------------------------


def test_verify_passes_on_an_intact_log(runner, world):
    busy_day(world)
    assert activity.verify(world.paper.id) == []
    result = runner.invoke(args=["audit", "verify", str(world.paper.id)])
    assert result.exit_code == 0, result.output
    assert f"activity log of paper {world.paper.id} is intact" in result.output


def test_verify_refuses_an_unknown_paper(runner, world):
    result = runner.invoke(args=["audit", "verify", "999999"])
    assert result.exit_code != 0
    assert "does not exist" in result.output


def _middle(paper_id: int) -> ActivityEntry:
    entries = log(paper_id)
    return entries[len(entries) // 2]


def _tamper(statement: str, **params: Any) -> None:
    query = text(statement)
    if "details" in params:
        query = query.bindparams(bindparam("details", type_=JSON))
    db.session.execute(query, params)
    db.session.commit()


def test_verify_finds_altered_details(runner, world):
    busy_day(world)
    victim = _middle(world.paper.id)
    _tamper(
        "UPDATE activity_entry SET details = :details WHERE id = :id",
        details={"comment": "Alles gut."},
        id=victim.id,
    )
    assert [(p.seq, p.problem) for p in activity.verify(world.paper.id)] == [
        (victim.seq, "content was altered")
    ]
    result = runner.invoke(args=["audit", "verify", str(world.paper.id)])
    assert result.exit_code != 0
    assert f"entry {victim.seq}: content was altered" in result.output
    assert "NOT intact" in result.output


@pytest.mark.parametrize(
    "column, value",
    [
        ("actor_id", "outsider"),
        ("action", "review.tampered"),
        ("version", 99),
        ("section_id", None),
        ("created_at", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_verify_finds_any_altered_column(runner, world, column, value):
    busy_day(world)
    victim = _middle(world.paper.id)
    if value == "outsider":
        value = world.outsider.id
    table = ActivityEntry.__table__
    db.session.execute(update(table).where(table.c.id == victim.id).values({column: value}))
    db.session.commit()
    assert [p.seq for p in activity.verify(world.paper.id)] == [victim.seq]
    assert runner.invoke(args=["audit", "verify", str(world.paper.id)]).exit_code != 0


def test_verify_finds_an_altered_entry_whose_hash_was_recomputed(runner, world):
    """Recomputing one plain hash breaks the link to the next entry, and the keyed seal."""
    busy_day(world)
    victim = _middle(world.paper.id)
    victim.details = {"comment": "Alles gut."}
    victim.hash = activity.entry_hash(victim)
    db.session.commit()
    problems = activity.verify(world.paper.id)
    assert [(p.seq, p.problem) for p in problems] == [
        (victim.seq, "keyed seal does not match (rewritten without the key)"),
        (victim.seq + 1, "does not follow the previous entry"),
    ]
    assert runner.invoke(args=["audit", "verify", str(world.paper.id)]).exit_code != 0


def test_verify_finds_a_deleted_middle_entry(runner, world):
    busy_day(world)
    victim = _middle(world.paper.id)
    seq = victim.seq
    _tamper("DELETE FROM activity_entry WHERE id = :id", id=victim.id)
    problems = {(p.seq, p.problem) for p in activity.verify(world.paper.id)}
    assert problems == {
        (seq + 1, f"entries {seq}–{seq} are missing"),
        (seq + 1, "does not follow the previous entry"),
    }
    result = runner.invoke(args=["audit", "verify", str(world.paper.id)])
    assert result.exit_code != 0
    assert "missing" in result.output


def test_verify_finds_deleted_newest_entries(runner, world):
    busy_day(world)
    last = log(world.paper.id)[-1]
    _tamper("DELETE FROM activity_entry WHERE id = :id", id=last.id)
    assert [p.problem for p in activity.verify(world.paper.id)] == [
        "the newest entries are missing"
    ]
    result = runner.invoke(args=["audit", "verify", str(world.paper.id)])
    assert result.exit_code != 0
    assert "the newest entries are missing" in result.output


def test_verify_finds_an_emptied_log(runner, world):
    _tamper("DELETE FROM activity_entry WHERE paper_id = :p", p=world.paper.id)
    assert activity.verify(world.paper.id) != []
    assert runner.invoke(args=["audit", "verify", str(world.paper.id)]).exit_code != 0


def test_verify_finds_swapped_entries(runner, world):
    busy_day(world)
    (first, first_seq), (second, second_seq) = [(e.id, e.seq) for e in log(world.paper.id)[3:5]]
    _tamper("UPDATE activity_entry SET seq = -1 WHERE id = :id", id=first)
    _tamper("UPDATE activity_entry SET seq = :s WHERE id = :id", s=first_seq, id=second)
    _tamper("UPDATE activity_entry SET seq = :s WHERE id = :id", s=second_seq, id=first)
    assert activity.verify(world.paper.id) != []
    assert runner.invoke(args=["audit", "verify", str(world.paper.id)]).exit_code != 0


def test_the_chain_head_lives_on_the_paper(world):
    entries = log(world.paper.id)
    paper = db.session.get(Paper, world.paper.id)
    assert (paper.log_seq, paper.log_head) == (entries[-1].seq, entries[-1].hash)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
        assert activity.entry_hash(after) == after.hash


# --- hostile text -----------------------------------------------------------------------------


def test_hostile_titles_reasons_and_details_are_inert_in_the_timeline(client, auth, world):
    limit = 200
    for payload in PAYLOADS:
        section = factories.section(world.editor, world.paper, title=payload[:limit], body="x")
        activity.record(
            world.paper.id,
            world.editor,
            "review.changes_requested",
            section_id=section.id,
            version=1,
            comment=payload,
            **{payload: 1},
        )
    db.session.commit()
    auth.login(world.member.email)
    queries: list[dict[str, Any]] = [{"page": n} for n in (1, 2, 3, 4)]
    queries += [{"action": "review.", "section": n} for n in (1, 2)]
    queries += [{"person": payload, "action": payload} for payload in PAYLOADS[:20]]
    for query in queries:
        response = client.get(f"/papers/{world.paper.id}/activity", query_string=query)
        assert response.status_code == 200, query
        assert_inert(html(response))
    assert str(escape(PAYLOADS[-1])) in html(client.get(f"/papers/{world.paper.id}/activity"))
    assert activity.verify(world.paper.id) == []
