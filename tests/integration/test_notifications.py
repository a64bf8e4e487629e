"""The inbox: who gets notified, unread count, reading, privacy, opt-outs, after-commit e-mail."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Notification, NotificationOptOut
from tests import factories
from tests.conftest import api_headers
from workflows import jobs, notifications
from workflows.errors import NotFound, ValidationFailed
from workflows.notifications import KINDS, notify


def _notify(world, kind="review_requested", recipients=None, actor=None, **kwargs):
    recipients = recipients if recipients is not None else [world.reviewer.id]
    created = notify(
        recipients,
        kind,
        paper_id=world.paper.id,
        section_id=world.section.id,
        actor=actor or world.editor,
        **kwargs,
    )
    db.session.commit()
    return created


@pytest.fixture
def queued(monkeypatch):
    """Record the notification ids handed to the e-mail queue instead of sending them."""
    ids: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_notification_emails", ids.extend)
    return ids


@pytest.fixture
def mail_on(app):
    """Pretend an SMTP server is configured (nothing is sent: tests pair it with ``queued``)."""
    app.config["MAIL_SERVER"] = "smtp.invalid"
    return app


# --- notify -------------------------------------------------------------------------------


def test_notify_skips_the_actor_inactive_users_and_duplicates(world):
    world.member.active = False
    db.session.commit()
    created = _notify(
        world,
        recipients=[world.reviewer.id, world.reviewer.id, world.editor.id, world.member.id],
        actor=world.editor,
    )
    assert [n.user_id for n in created] == [world.reviewer.id]
    row = db.session.scalars(select(Notification)).one()
    assert row.kind == "review_requested"
    assert row.actor_id == world.editor.id
    # Titles and names are kept with the row, so it reads the same after a rename.
    assert row.params["section"] == "Ausgangslage"
    assert row.params["paper"] == world.paper.title
    assert row.params["actor"] == world.editor.display_name


def test_notify_with_nobody_left_adds_nothing(world):
    assert _notify(world, recipients=[world.editor.id], actor=world.editor) == []
    assert _notify(world, recipients=[]) == []
    assert db.session.scalars(select(Notification)).all() == []


@pytest.mark.parametrize(
    ("kind", "url"),
    [("no_such_kind", ""), ("reply", "https://evil.example/"), ("reply", "//evil.example/x")],
)
def test_notify_refuses_unknown_kinds_and_foreign_urls(world, kind, url):
    with pytest.raises(ValueError):
        notify([world.reviewer.id], kind, paper_id=world.paper.id, url=url)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_label_and_a_message_naming_its_subject(world, kind):
    (n,) = _notify(world, kind=kind)
    with force_locale("en"):
        text = notifications.message(n)
        labels = dict(notifications.kind_choices())
    assert text and "%(" not in text
    # Review and comment kinds name the section, paper-wide kinds (sign-off) the paper.
    assert "Ausgangslage" in text or world.paper.title in text
    assert labels[kind]


def test_messages_use_the_callers_params(world):
    (accepted,) = _notify(world, kind="suggestion_decided", params={"accepted": True})
    (rejected,) = _notify(
        world, kind="suggestion_decided", params={"accepted": False, "reason": "Zu lang."}
    )
    (approved,) = _notify(world, kind="approved", params={"version": 3})
    with force_locale("en"):
        assert "accepted your suggestion" in notifications.message(accepted)
        assert "rejected your suggestion" in notifications.message(rejected)
        assert "version 3" in notifications.message(approved)
    assert notifications.detail(rejected) == "Zu lang."


# --- unread count, reading, privacy -------------------------------------------------------


def test_unread_count_and_mark_read(world):
    first, second, third = (_notify(world)[0] for _ in range(3))
    assert notifications.unread_count(world.reviewer) == 3
    assert notifications.unread_count(world.coordinator) == 0

    assert notifications.mark_read(world.reviewer, [first.id]) == 1
    assert notifications.unread_count(world.reviewer) == 2
    # Another user cannot mark someone else's notifications.
    assert notifications.mark_read(world.coordinator, [second.id, third.id]) == 0
    assert notifications.unread_count(world.reviewer) == 2

    assert notifications.mark_read(world.reviewer, "all") == 2
    assert notifications.unread_count(world.reviewer) == 0


def test_inbox_is_newest_first_and_paginated(world):
    created = [_notify(world)[0] for _ in range(notifications.PAGE_SIZE + 3)]
    first = notifications.inbox(world.reviewer, 1)
    assert first.total == len(created) and first.pages == 2
    assert [n.id for n in first.items] == [n.id for n in reversed(created)][: len(first.items)]
    assert len(first.items) == notifications.PAGE_SIZE and first.has_next
    last = notifications.inbox(world.reviewer, 99)  # out of range clamps to the last page
    assert last.page == 2 and len(last.items) == 3 and last.has_previous
    assert notifications.inbox(world.coordinator, 1).items == []


def test_inbox_page_shows_only_own_notifications(client, auth, world):
    _notify(world, recipients=[world.reviewer.id], params={"section": "Für Rita"})
    _notify(world, recipients=[world.coordinator.id], params={"section": "Für Cora"})
    auth.login(world.reviewer.email)
    page = client.get("/inbox").get_data(as_text=True)
    assert "Für Rita" in page
    assert "Für Cora" not in page


def test_inbox_pages_through_older_notifications(client, auth, world):
    for i in range(notifications.PAGE_SIZE + 1):
        _notify(world, params={"section": f"Abschnitt {i:02d}"})
    auth.login(world.reviewer.email)
    first = client.get("/inbox").get_data(as_text=True)
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert "Abschnitt 20" in first and "Abschnitt 00" not in first
    assert "Abschnitt 00" in second
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_opening_marks_read_and_goes_to_the_target(client, auth, world):
    (n,) = _notify(world, url=f"/papers/{world.paper.id}#section-{world.section.id}")
    auth.login(world.reviewer.email)
    response = client.post(f"/inbox/{n.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/papers/{world.paper.id}#section-{world.section.id}"
    assert db.session.get(Notification, n.id).read_at is not None


def test_opening_someone_elses_notification_is_404(client, auth, world):
    (n,) = _notify(world, recipients=[world.coordinator.id])
    auth.login(world.reviewer.email)
    assert client.post(f"/inbox/{n.id}/open").status_code == 404
    assert client.post("/inbox/999999/open").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, n.id).read_at is None
    with pytest.raises(NotFound):
        notifications.open_notification(world.reviewer, n.id)


def test_opening_never_leaves_the_site(client, auth, world):
    # A row written around notify() (which refuses such URLs) must still not redirect away.
    n = Notification(
        user_id=world.reviewer.id, kind="reply", paper_id=world.paper.id, url="//evil.example/x"
    )
    db.session.add(n)
    db.session.commit()
    auth.login(world.reviewer.email)
    response = client.post(f"/inbox/{n.id}/open")
    assert response.headers["Location"] == f"/papers/{world.paper.id}"


def test_mark_all_read_form(client, auth, world):
    _notify(world)
    _notify(world)
    auth.login(world.reviewer.email)
    assert client.post("/inbox/read").status_code == 302
    assert notifications.unread_count(world.reviewer) == 0


def test_inbox_forms_work_with_csrf_protection_and_ids_are_unique(app, client, auth, world):
    first, second = _notify(world)[0], _notify(world)[0]
    auth.login(world.reviewer.email)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/inbox").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    assert client.post(f"/inbox/{first.id}/open").status_code == 400
    assert client.post(f"/inbox/{first.id}/open", data={"csrf_token": token}).status_code == 302
    assert client.post("/inbox/read", data={"csrf_token": token}).status_code == 302
    assert notifications.unread_count(world.reviewer) == 0
    assert db.session.get(Notification, second.id).read_at is not None


def test_inbox_needs_a_login(client):
    response = client.get("/inbox")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_inbox_escapes_titles_and_reasons(client, auth, world):
    payload = '<script>alert("x")</script>'
    _notify(world, kind="changes_requested", params={"section": payload, "reason": payload})
    auth.login(world.reviewer.email)
    page = client.get("/inbox").get_data(as_text=True)
    assert payload not in page
    assert "&lt;script&gt;" in page


# --- the header -----------------------------------------------------------------------------

COUNT = re.compile(r'href="/inbox"[^>]*>[^<]*\((\d+)<span class="visually-hidden">')


def test_header_shows_the_unread_count(client, auth, world):
    _notify(world)
    _notify(world)
    auth.login(world.reviewer.email)
    match = COUNT.search(client.get("/").get_data(as_text=True))
    assert match and match.group(1) == "2"

    notifications.mark_read(world.reviewer, "all")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/inbox"' in page
    assert COUNT.search(page) is None


def test_header_has_no_inbox_for_visitors(client):
    assert 'href="/inbox"' not in client.get("/login").get_data(as_text=True)


# --- e-mail settings and the after-commit queue ----------------------------------------------


def test_settings_say_when_mail_is_off(client, auth, world):
    auth.login(world.reviewer.email)
    page = client.get("/inbox/settings").get_data(as_text=True)
    assert 'name="email_kinds"' not in page


def test_settings_store_opt_outs(client, auth, world, mail_on):
    auth.login(world.reviewer.email)
    page = client.get("/inbox/settings").get_data(as_text=True)
    assert page.count('name="email_kinds"') == len(KINDS)
    assert page.count("checked") == len(KINDS)  # everything by e-mail until chosen otherwise

    response = client.post("/inbox/settings", data={"email_kinds": ["review_requested", "reply"]})
    assert response.status_code == 302
    assert notifications.email_opt_outs(world.reviewer) == set(KINDS) - {
        "review_requested",
        "reply",
    }
    client.post("/inbox/settings", data={"email_kinds": list(KINDS)})
    assert notifications.email_opt_outs(world.reviewer) == set()


def test_settings_refuse_unknown_kinds(client, auth, world, mail_on):
    auth.login(world.reviewer.email)
    response = client.post("/inbox/settings", data={"email_kinds": ["review_requested", "x"]})
    assert response.status_code == 200  # the form again, with its error
    assert notifications.email_opt_outs(world.reviewer) == set()
    with pytest.raises(ValidationFailed):
        notifications.set_email_opt_outs(world.reviewer, ["nonsense"])


def test_opted_out_kinds_are_not_emailed(world, mail_on, queued):
    notifications.set_email_opt_outs(world.reviewer, ["review_requested"])
    created = _notify(world, recipients=[world.reviewer.id, world.coordinator.id])
    by_user = {n.user_id: n.id for n in created}
    assert queued == [by_user[world.coordinator.id]]
    # Still in the inbox: the opt-out is for e-mail only.
    assert notifications.unread_count(world.reviewer) == 1

    queued.clear()
    _notify(world, kind="reply", recipients=[world.reviewer.id])
    assert len(queued) == 1


def test_emails_are_queued_only_after_commit(world, mail_on, queued):
    notify([world.reviewer.id], "reply", paper_id=world.paper.id, actor=world.editor)
    assert queued == []  # flushed, not committed
    db.session.rollback()
    assert queued == []
    assert db.session.scalars(select(Notification)).all() == []

    # The rolled-back ids are forgotten: a later commit sends only its own.
    (n,) = notify([world.reviewer.id], "reply", paper_id=world.paper.id, actor=world.editor)
    db.session.commit()
    assert queued == [n.id]


def test_a_savepoint_release_does_not_send_early(world, mail_on, queued):
    with db.session.begin_nested():
        (n,) = notify([world.reviewer.id], "reply", paper_id=world.paper.id, actor=world.editor)
    assert queued == []
    db.session.commit()
    assert queued == [n.id]


def test_closing_the_session_forgets_pending_emails(world, mail_on, queued):
    notify([world.reviewer.id], "reply", paper_id=world.paper.id, actor=world.editor)
    db.session.close()  # what the end of a request does to an uncommitted transaction
    db.session.commit()
    assert queued == []


def test_without_mail_nothing_is_queued(world, queued):
    _notify(world)
    assert queued == []


def test_opt_out_rows_are_replaced_not_duplicated(world):
    notifications.set_email_opt_outs(world.reviewer, ["reply", "mentioned"])
    notifications.set_email_opt_outs(world.reviewer, ["reply"])
    rows = db.session.scalars(
        select(NotificationOptOut.kind).where(NotificationOptOut.user_id == world.reviewer.id)
    ).all()
    assert rows == ["reply"]


# --- API ------------------------------------------------------------------------------------


def test_api_lists_and_marks_the_callers_notifications(client, world):
    world.reviewer.locale = "en"
    db.session.commit()
    own = _notify(world)[0]
    _notify(world, recipients=[world.coordinator.id])
    headers = api_headers(factories.token(world.reviewer))

    data = client.get("/api/v1/notifications", headers=headers).get_json()
    assert data["unread"] == 1 and data["total"] == 1
    (item,) = data["notifications"]
    assert item["id"] == own.id and item["kind"] == "review_requested"
    assert item["message"].startswith(world.editor.display_name + " asked you to review")
    assert item["url"].endswith(f"/papers/{world.paper.id}#section-{world.section.id}")

    bad = client.post("/api/v1/notifications/read", json={"ids": "all"}, headers=headers)
    assert bad.status_code == 422
    marked = client.post("/api/v1/notifications/read", json={"ids": [own.id]}, headers=headers)
    assert marked.get_json() == {"marked": 1, "unread": 0}
