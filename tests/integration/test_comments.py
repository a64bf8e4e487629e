"""Comments (issue 4): threads on sections and quoted passages, anchors that follow the text,
edit, soft delete, resolve and reopen, mentions, the discussion page, the paper page and the API."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from drafting.extensions import db
from drafting.links import notification_path
from drafting.models import ActivityEntry, Comment, Notification, Section, User
from drafting.text.highlight import render_highlighted
from drafting.text.markdown import render
from tests import factories
from tests.conftest import api_headers
from tests.support import english
from tests.xss_corpus import PAYLOADS, assert_inert
from workflows import activity
from workflows import comments as flow
from workflows import sections as section_flow
from workflows.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    SectionRemoved,
    TooLarge,
    ValidationFailed,
)

BODY = "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen."


@pytest.fixture
def w(world: factories.World) -> factories.World:
    """The standard world, everyone reading the UI in English (the source language)."""
    english(world)
    return world


def fresh() -> None:
    """End the test's transaction: later reads see what requests committed meanwhile.

    Outside requests every SQLite transaction takes the write lock, so a test that has just
    read something would also keep a request waiting.
    """
    db.session.rollback()


class Browser(FlaskClient):
    """A client whose requests run in a context of their own, as in production.

    The ``app`` fixture keeps an application context pushed, which requests would otherwise
    share (with Flask-Login's cached user in ``g``) — two browsers would act as one.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        fresh()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def browser(app: Flask, w: factories.World) -> Any:
    """Return a logged-in client ("a browser") for a user of the world."""

    def open_as(user: User) -> FlaskClient:
        app.test_client_class = Browser
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        assert response.status_code == 302 and "/login" not in response.location
        return client

    return open_as


def save(user: User, section_id: int, body: str) -> int:
    """Save a new text of a section on its current version; return the new version number."""
    head = section_flow.get_section(user, section_id)[0].version
    return section_flow.save_section(user, section_id, body=body, base_version=head).version


def comments_of(section_id: int) -> list[Comment]:
    fresh()
    return flow.section_comments(section_id)


def notifications(kind: str | None = None) -> list[Notification]:
    fresh()
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def actions(paper_id: int) -> list[str]:
    fresh()
    return list(
        db.session.scalars(
            select(ActivityEntry.action)
            .where(ActivityEntry.paper_id == paper_id, ActivityEntry.action.like("comment.%"))
            .order_by(ActivityEntry.seq)
        )
    )


def page(client: FlaskClient, section_id: int) -> str:
    response = client.get(f"/sections/{section_id}/comments")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def thread_html(html: str, comment_id: int) -> str:
    """Return the HTML of one thread of the discussion page."""
    start = html.index(f'id="comment-{comment_id}"')
    end = html.find("</article>", start)
    return html[start:end]


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- adding comments ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "editor", "reviewer", "signatory", "member"])
def test_every_member_of_a_participating_organisation_may_comment(w, who):
    comment = flow.add_comment(w.users[who], w.section.id, "Guter Punkt.")
    assert comment.author_id == w.users[who].id
    assert comment.paper_id == w.paper.id
    assert comment.quote == "" and comment.anchor_version is None
    assert actions(w.paper.id) == ["comment.added"]


def test_an_outsider_cannot_see_or_comment(w, browser):
    flow.add_comment(w.member, w.section.id, "Intern.")
    with pytest.raises(NotFound):
        flow.add_comment(w.outsider, w.section.id, "Von außen.")
    client = browser(w.outsider)
    assert client.get(f"/sections/{w.section.id}/comments").status_code == 404
    response = client.post(f"/sections/{w.section.id}/comments", data={"body": "Von außen."})
    assert response.status_code == 404
    assert len(comments_of(w.section.id)) == 1


def test_a_comment_needs_text_and_at_most_20000_characters(w):
    with pytest.raises(ValidationFailed):
        flow.add_comment(w.member, w.section.id, "   \n ")
    with pytest.raises(TooLarge):
        flow.add_comment(w.member, w.section.id, "x" * 20_001)
    assert flow.add_comment(w.member, w.section.id, "x" * 20_000).body == "x" * 20_000


def test_a_removed_section_takes_no_new_comments(w):
    section_flow.remove_section(w.editor, w.section.id)
    with pytest.raises(SectionRemoved):
        flow.add_comment(w.member, w.section.id, "Zu spät.")


@pytest.mark.parametrize(
    ("body", "quote", "passage"),
    [
        # exactly as in the Markdown
        (BODY, "lebt vom Handel", "lebt vom Handel"),
        # selected across two paragraphs in the rendered text: whitespace differs
        (BODY, "Handel. Und vom", "Handel.\n\nUnd vom"),
        (BODY, "  Handel.\n   Und  ", "Handel.\n\nUnd"),
        # Markdown syntax does not show in the rendered text
        (
            "Die Stadt lebt vom **Handel** und vom *Wohnen*.",
            "vom Handel und vom Wohnen",
            "vom **Handel** und vom *Wohnen",
        ),
        (
            "Mehr auf der [Website der Stadt](https://stadt.example) lesen.",
            "Website der Stadt lesen",
            "Website der Stadt](https://stadt.example) lesen",
        ),
        ("Läden & Gastronomie &amp; Kultur", "Gastronomie & Kultur", "Gastronomie &amp; Kultur"),
        (
            "- Leerstand\n- Frequenz\n- Mischnutzung",
            "Frequenz Mischnutzung",
            "Frequenz\n- Mischnutzung",
        ),
        ("# Ziele\n\nMehr Leben", "Ziele Mehr Leben", "Ziele\n\nMehr Leben"),
    ],
)
def test_a_quote_is_found_leniently_and_anchored_in_the_markdown(w, body, quote, passage):
    version = save(w.editor, w.section.id, body)
    comment = flow.add_comment(w.member, w.section.id, "Dazu eine Frage.", quote=quote)
    assert comment.anchor_version == version
    assert body[comment.anchor_start : comment.anchor_end] == passage
    assert comment.quote == quote.strip()


def test_a_quote_that_is_not_in_the_text_is_refused(w):
    with pytest.raises(ValidationFailed) as info:
        flow.add_comment(w.member, w.section.id, "Hm.", quote="vom Tourismus")
    assert info.value.extra["field"] == "quote"
    with pytest.raises(TooLarge):
        flow.add_comment(w.member, w.section.id, "Hm.", quote="x" * 5_001)
    assert comments_of(w.section.id) == []


# --- replies -----------------------------------------------------------------------------


def test_replies_form_a_thread_and_tell_the_parents_author(w):
    root = flow.add_comment(w.member, w.section.id, "Stimmt das?", quote="vom Handel")
    first = flow.add_comment(w.editor, w.section.id, "Ja.", parent_id=root.id)
    second = flow.add_comment(w.reviewer, w.section.id, "Quelle?", parent_id=str(root.id))
    own = flow.add_comment(w.member, w.section.id, "Danke.", parent_id=root.id)
    threads = flow.threads_of(w.section)
    assert [t.root.id for t in threads] == [root.id]
    assert [r.id for r in threads[0].replies] == [first.id, second.id, own.id]
    assert {first.parent_id, second.parent_id, own.parent_id} == {root.id}
    # Two replies by others tell the author; the author's own reply tells nobody.
    replies = notifications("reply")
    assert [(n.user_id, n.actor_id) for n in replies] == [
        (w.member.id, w.editor.id),
        (w.member.id, w.reviewer.id),
    ]
    assert notification_path(replies[0]) == f"/sections/{w.section.id}/comments#comment-{first.id}"
    assert replies[0].params["excerpt"] == "Ja."
    assert actions(w.paper.id) == ["comment.added"] + ["comment.replied"] * 3


def test_replies_answer_top_level_comments_of_the_same_section_only(w):
    root = flow.add_comment(w.member, w.section.id, "Frage.")
    reply = flow.add_comment(w.editor, w.section.id, "Antwort.", parent_id=root.id)
    other_section = factories.section(w.editor, w.paper, title="Ziele", body="Mehr Leben.")
    foreign = flow.add_comment(w.member, other_section.id, "Anderswo.")
    with pytest.raises(ValidationFailed):
        flow.add_comment(w.member, w.section.id, "Auf Antwort.", parent_id=reply.id)
    with pytest.raises(ValidationFailed):
        flow.add_comment(w.member, w.section.id, "Mit Zitat.", quote="Handel", parent_id=root.id)
    with pytest.raises(NotFound):
        flow.add_comment(w.member, w.section.id, "Fremd.", parent_id=foreign.id)
    with pytest.raises(NotFound):
        flow.add_comment(w.member, w.section.id, "Gibt es nicht.", parent_id=999_999)
    with pytest.raises(ValidationFailed):
        flow.add_comment(w.member, w.section.id, "Kaputt.", parent_id="abc")


# --- edit and delete ---------------------------------------------------------------------


def test_the_author_edits_a_comment_and_it_is_marked_edited(w):
    comment = flow.add_comment(w.member, w.section.id, "Erster Gedanke.")
    assert comment.edited_at is None
    flow.edit_comment(w.member, comment.id, "Zweiter Gedanke.")
    stored = comments_of(w.section.id)[0]
    assert stored.body == "Zweiter Gedanke."
    assert stored.edited_at is not None
    # The same text again changes nothing.
    flow.edit_comment(w.member, comment.id, "Zweiter Gedanke.")
    assert actions(w.paper.id) == ["comment.added", "comment.edited"]


@pytest.mark.parametrize("who", ["coordinator", "editor", "reviewer"])
def test_nobody_else_edits_or_deletes_a_comment(w, who):
    comment = flow.add_comment(w.member, w.section.id, "Meins.")
    with pytest.raises(NotAllowed):
        flow.edit_comment(w.users[who], comment.id, "Geändert.")
    with pytest.raises(NotAllowed):
        flow.delete_comment(w.users[who], comment.id)
    assert comments_of(w.section.id)[0].body == "Meins."


def test_editing_someone_elses_comment_is_403_on_the_page(w, browser):
    comment = flow.add_comment(w.member, w.section.id, "Meins.")
    client = browser(w.editor)
    response = client.post(f"/comments/{comment.id}/edit", data={f"edit-{comment.id}-body": "X"})
    assert response.status_code == 403
    assert client.post(f"/comments/{comment.id}/delete").status_code == 403
    assert comments_of(w.section.id)[0].deleted_at is None


def test_deleting_is_soft_and_keeps_the_replies(w, browser):
    root = flow.add_comment(w.member, w.section.id, "Geheimer Entwurf eines Gedankens.")
    reply = flow.add_comment(w.editor, w.section.id, "Eine Antwort bleibt.", parent_id=root.id)
    flow.delete_comment(w.member, root.id)
    flow.delete_comment(w.member, root.id)  # twice is harmless
    stored = {c.id: c for c in comments_of(w.section.id)}
    assert stored[root.id].deleted_at is not None
    assert stored[reply.id].deleted_at is None
    with pytest.raises(InvalidTransition):
        flow.edit_comment(w.member, root.id, "Wieder da?")
    with pytest.raises(InvalidTransition):
        flow.add_comment(w.reviewer, w.section.id, "Noch eine.", parent_id=root.id)
    html = page(browser(w.reviewer), w.section.id)
    assert "Comment deleted" in html
    assert "Geheimer Entwurf" not in html
    assert "Eine Antwort bleibt." in html
    assert actions(w.paper.id) == ["comment.added", "comment.replied", "comment.deleted"]


def test_a_deleted_comment_without_replies_leaves_the_page(w, browser):
    comment = flow.add_comment(w.member, w.section.id, "Weg damit.")
    flow.delete_comment(w.member, comment.id)
    html = page(browser(w.member), w.section.id)
    assert f'id="comment-{comment.id}"' not in html
    assert "No open comments on this section." in html


# --- resolve and reopen ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("author", True),
        ("editor", True),
        ("coordinator", True),
        ("reviewer", False),
        ("signatory", False),
    ],
)
def test_editors_coordinators_and_the_author_resolve_and_reopen(w, who, allowed):
    comment = flow.add_comment(w.member, w.section.id, "Erledigt?")
    actor = w.member if who == "author" else w.users[who]
    if not allowed:
        with pytest.raises(NotAllowed):
            flow.resolve_comment(actor, comment.id)
        return
    flow.resolve_comment(actor, comment.id)
    flow.resolve_comment(actor, comment.id)  # idempotent
    stored = comments_of(w.section.id)[0]
    assert stored.resolved_at is not None and stored.resolved_by_id == actor.id
    flow.reopen_comment(actor, comment.id)
    flow.reopen_comment(actor, comment.id)
    stored = comments_of(w.section.id)[0]
    assert stored.resolved_at is None and stored.resolved_by_id is None
    assert actions(w.paper.id) == ["comment.added", "comment.resolved", "comment.reopened"]


def test_a_reply_is_not_resolved_on_its_own(w):
    root = flow.add_comment(w.member, w.section.id, "Frage.")
    reply = flow.add_comment(w.editor, w.section.id, "Antwort.", parent_id=root.id)
    with pytest.raises(InvalidTransition):
        flow.resolve_comment(w.editor, reply.id)


def test_the_page_lists_open_threads_first_and_resolved_ones_collapsed(w, browser):
    first = flow.add_comment(w.member, w.section.id, "Erste offene Frage.")
    done = flow.add_comment(w.member, w.section.id, "Schon erledigt.")
    last = flow.add_comment(w.member, w.section.id, "Letzte offene Frage.")
    flow.resolve_comment(w.editor, done.id)
    html = page(browser(w.member), w.section.id)
    assert html.index(f'id="comment-{first.id}"') < html.index(f'id="comment-{last.id}"')
    assert html.index(f'id="comment-{last.id}"') < html.index(f'id="comment-{done.id}"')
    resolved_part = html[html.index('id="resolved-heading"') :]
    assert '<details class="resolved-thread">' in resolved_part
    assert "Resolved by Emil Redaktion" in resolved_part
    assert "Reopen thread" in resolved_part


# --- mentions ----------------------------------------------------------------------------


def test_mentions_notify_mentioned_members_only(w):
    body = (
        "Bitte prüfen, @reviewer@example.org und @[Max Mitglied]. "
        "Auch @outsider@example.org und @[Otto Außen], @[Niemand] und ich, @editor@example.org."
    )
    comment = flow.add_comment(w.editor, w.section.id, body)
    mentioned = notifications("mentioned")
    assert sorted(n.user_id for n in mentioned) == sorted([w.reviewer.id, w.member.id])
    assert all(n.actor_id == w.editor.id for n in mentioned)
    link = notification_path(mentioned[0])
    assert link == f"/sections/{w.section.id}/comments#comment-{comment.id}"
    assert mentioned[0].params["section"] == "Ausgangslage"
    assert not [n for n in notifications() if n.user_id == w.outsider.id]


def test_an_edit_notifies_only_newly_mentioned_members(w):
    comment = flow.add_comment(w.editor, w.section.id, "Frage an @[Max Mitglied].")
    flow.edit_comment(w.editor, comment.id, "Frage an @[Max Mitglied] und @reviewer@example.org.")
    assert sorted(n.user_id for n in notifications("mentioned")) == sorted(
        [w.member.id, w.reviewer.id]
    )


def test_a_mentioned_parent_author_gets_one_notification_for_a_reply(w):
    root = flow.add_comment(w.member, w.section.id, "Frage.")
    flow.add_comment(w.editor, w.section.id, "Antwort an @[Max Mitglied].", parent_id=root.id)
    assert [(n.user_id, n.kind) for n in notifications()] == [(w.member.id, "reply")]


def test_mentions_are_case_insensitive_for_addresses(w):
    flow.add_comment(w.editor, w.section.id, "Hallo @Member@Example.org!")
    assert [n.user_id for n in notifications("mentioned")] == [w.member.id]


# --- anchors across versions -------------------------------------------------------------


def anchored(comment_id: int, section_id: int) -> flow.AnchorState:
    fresh()
    section = db.session.get(Section, section_id)
    comment = db.session.get(Comment, comment_id)
    assert section is not None and comment is not None
    return flow.anchor_state(comment, section)


def passage(state: flow.AnchorState, section_id: int) -> str:
    section = db.session.get(Section, section_id)
    assert section is not None and state.anchor is not None
    return section.body[state.anchor[0] : state.anchor[1]]


def test_an_anchor_survives_an_edit_elsewhere_and_its_offsets_shift(w):
    comment = flow.add_comment(w.member, w.section.id, "Nur Wohnen?", quote="vom Wohnen")
    assert (comment.anchor_start, comment.anchor_end) == (37, 47)
    save(w.editor, w.section.id, "Die lebendige Innenstadt lebt vom Handel.\n\nUnd vom Wohnen.")
    state = anchored(comment.id, w.section.id)
    assert state.anchor == (37 + len("lebendige "), 47 + len("lebendige "))
    assert not state.passage_changed
    assert passage(state, w.section.id) == "vom Wohnen"
    # An edit after the passage leaves it where it is; a second edit before it moves it again.
    save(w.editor, w.section.id, "Die lebendige Innenstadt lebt vom Handel.\n\nUnd vom Wohnen. Ja.")
    save(w.editor, w.section.id, "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen. Ja.")
    state = anchored(comment.id, w.section.id)
    assert state.anchor == (37, 47)
    assert passage(state, w.section.id) == "vom Wohnen"


def test_an_anchor_reports_a_changed_passage_and_the_page_keeps_the_quote(w, browser):
    comment = flow.add_comment(w.member, w.section.id, "Präziser bitte.", quote="lebt vom Handel")
    save(w.editor, w.section.id, "Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen.")
    state = anchored(comment.id, w.section.id)
    assert state.anchor is None and state.passage_changed
    html = page(browser(w.member), w.section.id)
    thread = thread_html(html, comment.id)
    assert "passage changed" in thread
    assert "<blockquote>lebt vom Handel</blockquote>" in thread
    assert f'id="anchor-{comment.id}"' not in html
    # Comments never vanish because of edits: it is still listed, open.
    assert [c.id for c in comments_of(w.section.id)] == [comment.id]


def test_an_anchor_is_found_again_when_only_its_surroundings_changed(w):
    body = "Erstens: Handel. Zweitens: Wohnen. Drittens: Kultur."
    save(w.editor, w.section.id, body)
    comment = flow.add_comment(w.member, w.section.id, "Reihenfolge?", quote="Wohnen")
    # The passage is moved in front of the other items: the diff touches it, but the
    # words themselves still stand nearby.
    save(w.editor, w.section.id, "Erstens: Wohnen. Zweitens: Handel. Drittens: Kultur.")
    state = anchored(comment.id, w.section.id)
    assert state.anchor is not None and not state.passage_changed
    assert passage(state, w.section.id) == "Wohnen"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # nothing changed
        ("abc def ghi", "abc def ghi", (4, 7)),
        # an insertion right before the passage shifts it
        ("abc def ghi", "abc xyz def ghi", (8, 11)),
        # a deletion before it shifts it back
        ("abc uvw def ghi", "abc def ghi", (4, 7)),
        # an edit after it leaves it
        ("abc def ghi", "abc def jkl mno", (4, 7)),
        # the quoted word replaced: gone
        ("abc def ghi", "abc DEF ghi", None),
        # the passage deleted
        ("abc def ghi", "abc ghi", None),
    ],
)
def test_current_anchor_maps_offsets_through_the_diff(old, new, expected):
    start = old.index("def") if "def" in old else 0
    comment = Comment(anchor_start=start, anchor_end=start + 3, anchor_version=1)
    assert flow.current_anchor(comment, new, old) == expected


def test_a_long_passage_is_found_again_quickly_when_the_diff_touches_it():
    passage = " ".join(f"Satz {n} über Leerstand und Frequenz." for n in range(120))
    old = f"Einleitung. {passage} Schluss."
    new = f"Neue Einleitung mit mehr Worten. {passage} Schluss."
    start = old.index(passage)
    comment = Comment(anchor_start=start, anchor_end=start + len(passage), anchor_version=1)
    # The edit ends right inside the passage's first word boundary on purpose.
    hunks = [(0, start + 1, new[: new.index(passage) + 1])]
    found = flow.current_anchor(comment, new, old, hunks=hunks)
    assert found == (new.index(passage), new.index(passage) + len(passage))
    far = f"{'Anderes. ' * 200}{passage}"
    assert flow.current_anchor(comment, far, old, hunks=hunks) is None


def test_anchors_follow_over_many_versions_in_one_pass(w):
    comments = [
        flow.add_comment(w.member, w.section.id, "Eins.", quote="Innenstadt"),
        flow.add_comment(w.member, w.section.id, "Zwei.", quote="Wohnen"),
    ]
    save(w.editor, w.section.id, "Unsere Innenstadt lebt vom Handel.\n\nUnd vom Wohnen.")
    comments.append(flow.add_comment(w.member, w.section.id, "Drei.", quote="Handel"))
    save(w.editor, w.section.id, "Unsere Innenstadt lebt vom Handel.\n\nUnd vom Wohnen am Markt.")
    save(w.editor, w.section.id, "Unsere Innenstadt lebt vom Handwerk.\n\nUnd vom Wohnen am Markt.")
    fresh()
    section = db.session.get(Section, w.section.id)
    assert section is not None
    with counted_queries() as queries:
        states = flow.anchors_for(flow.section_comments(section.id), section)
    # The comments, the head version, the bodies of all older anchor versions at once.
    assert len(queries) == 3, queries
    body = section.body
    first, second, third = (states[c.id] for c in comments)
    assert first.anchor is not None and body[slice(*first.anchor)] == "Innenstadt"
    assert second.anchor is not None and body[slice(*second.anchor)] == "Wohnen"
    assert third.anchor is None and third.passage_changed


def test_the_discussion_page_highlights_anchored_passages(w, browser):
    comment = flow.add_comment(w.member, w.section.id, "Und Gastronomie?", quote="vom Handel")
    html = page(browser(w.member), w.section.id)
    assert re.search(rf'<mark class="anchor" id="anchor-{comment.id}"[^>]*>vom Handel</mark>', html)
    assert f'href="#anchor-{comment.id}"' in thread_html(html, comment.id)
    # A resolved thread is no longer highlighted.
    flow.resolve_comment(w.member, comment.id)
    assert f'id="anchor-{comment.id}"' not in page(browser(w.member), w.section.id)


def test_highlighting_keeps_markdown_intact():
    body = "# Ziele\n\n- **Mehr** _Leben_ in der [Stadt](https://stadt.example)\n- Kein Leerstand"
    start = body.index("**Mehr**")
    html = str(render_highlighted(body, {7: (start, body.index("Leerstand") + 9)}))
    assert "<h3>" in html and "<strong>" in html and "<em>" in html
    assert 'href="https://stadt.example"' in html
    assert re.sub(r"</?mark[^>]*>", "", html) == str(render(body))


# --- the HTML forms ----------------------------------------------------------------------


def test_commenting_through_the_form_with_a_quoted_passage(w, browser):
    client = browser(w.member)
    response = client.post(
        f"/sections/{w.section.id}/comments",
        data={"quote": "Und vom\nWohnen", "body": "Welche Wohnformen?"},
    )
    assert response.status_code == 302
    comment = comments_of(w.section.id)[0]
    assert response.headers["Location"].endswith(
        f"/sections/{w.section.id}/comments#comment-{comment.id}"
    )
    assert comment.quote == "Und vom\nWohnen"
    assert BODY[comment.anchor_start : comment.anchor_end] == "Und vom Wohnen"


def test_the_form_keeps_the_input_and_explains_a_missing_quote(w, browser):
    client = browser(w.member)
    response = client.post(
        f"/sections/{w.section.id}/comments",
        data={"quote": "vom Tourismus", "body": "Mein langer Text."},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "does not occur in the section" in html
    assert "Mein langer Text." in html and "vom Tourismus" in html
    response = client.post(f"/sections/{w.section.id}/comments", data={"body": " "})
    assert response.status_code == 422
    assert "Please write a comment." in response.get_data(as_text=True)
    assert comments_of(w.section.id) == []


def test_the_quote_can_be_handed_over_in_the_address(w, browser):
    html = (
        browser(w.member)
        .get(f"/sections/{w.section.id}/comments?quote=vom+Handel")
        .get_data(as_text=True)
    )
    assert re.search(r'<textarea[^>]*name="quote"[^>]*>\s*vom Handel</textarea>', html)


def test_reply_edit_delete_resolve_and_reopen_through_the_forms(w, browser):
    root = flow.add_comment(w.member, w.section.id, "Frage.")
    editor = browser(w.editor)
    response = editor.post(f"/comments/{root.id}/replies", data={f"reply-{root.id}-body": "Ja."})
    assert response.status_code == 302
    reply = comments_of(w.section.id)[1]
    assert reply.parent_id == root.id
    response = editor.post(
        f"/comments/{reply.id}/edit", data={f"edit-{reply.id}-body": "Ja, genau."}
    )
    assert response.status_code == 302
    html = page(editor, w.section.id)
    assert "Ja, genau." in html and "edited" in thread_html(html, root.id)
    assert editor.post(f"/comments/{root.id}/resolve").status_code == 302
    assert comments_of(w.section.id)[0].resolved_at is not None
    assert editor.post(f"/comments/{root.id}/reopen").status_code == 302
    assert comments_of(w.section.id)[0].resolved_at is None
    assert editor.post(f"/comments/{reply.id}/delete").status_code == 302
    assert comments_of(w.section.id)[1].deleted_at is not None
    # An empty reply re-renders the page with the reply form open and the error shown.
    response = editor.post(f"/comments/{root.id}/replies", data={f"reply-{root.id}-body": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert '<details class="comment-reply-form" open>' in text
    assert "Please write a comment." in text


def test_the_page_labels_every_field_and_offers_the_script(w, browser):
    flow.add_comment(w.member, w.section.id, "Frage.", quote="vom Handel")
    html = page(browser(w.member), w.section.id)
    for field_id in re.findall(r'<textarea[^>]*id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id
    assert 'data-comment-form="new-comment-form"' in html
    assert "comments.js" in html and 'data-label="Comment on this passage"' in html


# --- the paper page ----------------------------------------------------------------------


def test_the_paper_page_shows_open_comment_counts_and_offers_passage_comments(w, browser):
    first = flow.add_comment(w.member, w.section.id, "Eins.")
    flow.add_comment(w.member, w.section.id, "Zwei.")
    flow.add_comment(w.member, w.section.id, "Antwort.", parent_id=first.id)
    done = flow.add_comment(w.member, w.section.id, "Drei.")
    flow.resolve_comment(w.member, done.id)
    html = browser(w.member).get(f"/papers/{w.paper.id}").get_data(as_text=True)
    assert f'href="/sections/{w.section.id}/comments"' in html
    assert "2 open comments" in html
    # comments.js finds a section's discussion from the page's one address and the section id.
    assert 'data-sections-url="/sections/"' in html
    assert f'<section id="section-{w.section.id}"' in html
    assert "comments.js" in html
    assert flow.open_counts(w.paper.id) == {w.section.id: 2}


def test_the_paper_page_makes_as_many_queries_with_50_comments_as_with_none(w, browser, app):
    second = factories.section(w.editor, w.paper, title="Ziele", body="Mehr Leben am Markt.")
    client = browser(w.member)
    url = f"/papers/{w.paper.id}"
    assert client.get(url).status_code == 200  # warm-up
    with counted_queries() as without:
        assert client.get(url).status_code == 200
    for n in range(25):
        for section, quote in ((w.section, "vom Handel"), (second, "Leben")):
            comment = flow.add_comment(w.member, section.id, f"Kommentar {n}.", quote=quote)
            if n % 3 == 0:
                flow.add_comment(w.editor, section.id, "Antwort.", parent_id=comment.id)
            if n % 4 == 0:
                flow.resolve_comment(w.member, comment.id)
            if n % 5 == 0:
                flow.delete_comment(w.member, comment.id)
    save(w.editor, w.section.id, "Die Innenstadt lebt vom Handel und vom Handwerk.")
    fresh()
    assert len(flow.section_comments(w.section.id)) + len(flow.section_comments(second.id)) >= 50
    with counted_queries() as with_comments:
        response = client.get(url)
    assert response.status_code == 200
    assert len(with_comments) == len(without), with_comments


# --- the activity log --------------------------------------------------------------------


def test_every_comment_action_is_in_the_activity_log_and_the_chain_holds(w):
    root = flow.add_comment(w.member, w.section.id, "Frage.", quote="vom Handel")
    reply = flow.add_comment(w.editor, w.section.id, "Antwort.", parent_id=root.id)
    flow.edit_comment(w.editor, reply.id, "Bessere Antwort.")
    flow.resolve_comment(w.editor, root.id)
    flow.reopen_comment(w.member, root.id)
    flow.delete_comment(w.editor, reply.id)
    assert actions(w.paper.id) == [
        "comment.added",
        "comment.replied",
        "comment.edited",
        "comment.resolved",
        "comment.reopened",
        "comment.deleted",
    ]
    entry = db.session.scalars(
        select(ActivityEntry).where(ActivityEntry.action == "comment.replied")
    ).one()
    assert entry.section_id == w.section.id and entry.version == 1
    assert entry.details == {"comment": reply.id, "parent": root.id}
    assert entry.actor_id == w.editor.id
    assert activity.verify(w.paper.id) == []


# --- the API -----------------------------------------------------------------------------


def api(client: FlaskClient, method: str, url: str, token: str, **json: Any) -> Any:
    kwargs: dict[str, Any] = {"headers": api_headers(token)}
    if json or method == "post":
        kwargs["json"] = json
    return getattr(client, method)(f"/api/v1{url}", **kwargs)


def test_the_api_lists_and_adds_comments_and_replies(client, w, tokens):
    url = f"/sections/{w.section.id}/comments"
    assert api(client, "get", url, tokens["member"]).get_json() == {"comments": []}
    response = api(client, "post", url, tokens["member"], body="Und Kultur?", quote="vom Handel")
    assert response.status_code == 201
    root = response.get_json()
    assert root["parent_id"] is None
    assert root["author"] == "Max Mitglied"
    assert root["quote"] == "vom Handel"
    assert root["anchor"] == {"start": BODY.index("vom Handel"), "end": BODY.index(".")}
    assert root["passage_changed"] is False
    assert (root["edited"], root["deleted"], root["resolved"]) == (False, False, False)
    response = api(client, "post", url, tokens["editor"], body="Gute Frage.", parent_id=root["id"])
    assert response.status_code == 201
    assert response.get_json()["parent_id"] == root["id"]
    listed = api(client, "get", url, tokens["reviewer"]).get_json()["comments"]
    assert [c["id"] for c in listed] == [root["id"], response.get_json()["id"]]
    assert set(listed[0]) == {
        "id",
        "parent_id",
        "author",
        "body",
        "quote",
        "created_at",
        "edited",
        "deleted",
        "resolved",
        "anchor",
        "passage_changed",
    }


def test_the_api_reports_changed_passages_and_hides_deleted_text(client, w, tokens):
    url = f"/sections/{w.section.id}/comments"
    first = api(client, "post", url, tokens["member"], body="A", quote="vom Handel").get_json()
    second = api(client, "post", url, tokens["member"], body="B", quote="Wohnen").get_json()
    save(w.editor, w.section.id, "Neu: Die Innenstadt lebt vom Einzelhandel.\n\nUnd vom Wohnen.")
    flow.delete_comment(w.member, second["id"])
    listed = {c["id"]: c for c in api(client, "get", url, tokens["member"]).get_json()["comments"]}
    assert listed[first["id"]]["anchor"] is None
    assert listed[first["id"]]["passage_changed"] is True
    assert listed[first["id"]]["quote"] == "vom Handel"
    assert listed[second["id"]]["deleted"] is True
    assert listed[second["id"]]["body"] == "" and listed[second["id"]]["quote"] == ""


def test_the_api_resolves_and_reopens(client, w, tokens):
    url = f"/sections/{w.section.id}/comments"
    comment = api(client, "post", url, tokens["member"], body="Erledigt?").get_json()
    for _ in range(2):
        response = api(client, "post", f"/comments/{comment['id']}/resolve", tokens["editor"])
        assert response.status_code == 200
        assert response.get_json()["resolved"] is True
    response = api(client, "post", f"/comments/{comment['id']}/reopen", tokens["member"])
    assert response.status_code == 200 and response.get_json()["resolved"] is False
    response = api(client, "post", f"/comments/{comment['id']}/resolve", tokens["reviewer"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_the_api_answers_404_for_foreign_ids(client, w, tokens):
    comment = flow.add_comment(w.member, w.section.id, "Intern.")
    outsider = tokens["outsider"]
    assert api(client, "get", f"/sections/{w.section.id}/comments", outsider).status_code == 404
    response = api(client, "post", f"/sections/{w.section.id}/comments", outsider, body="X")
    assert response.status_code == 404
    assert api(client, "post", f"/comments/{comment.id}/resolve", outsider).status_code == 404
    assert api(client, "post", f"/comments/{comment.id}/reopen", outsider).status_code == 404
    assert api(client, "post", "/comments/999999/resolve", tokens["member"]).status_code == 404
    assert api(client, "get", "/sections/999999/comments", tokens["member"]).status_code == 404
    # A parent from another paper is as unknown as one that does not exist.
    other_paper = factories.paper(w.outsider, "Fremdes Papier")
    other_section = factories.section(w.outsider, other_paper)
    foreign = flow.add_comment(w.outsider, other_section.id, "Fremd.")
    response = api(
        client,
        "post",
        f"/sections/{w.section.id}/comments",
        tokens["member"],
        body="Antwort",
        parent_id=foreign.id,
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 422, "validation_failed"),
        ({"body": 5}, 422, "validation_failed"),
        ({"body": "   "}, 422, "validation_failed"),
        ({"body": "x", "quote": 3}, 422, "validation_failed"),
        ({"body": "x", "quote": "nicht im Text"}, 422, "validation_failed"),
        ({"body": "x", "parent_id": True}, 422, "validation_failed"),
        ({"body": "x", "parent_id": "1"}, 422, "validation_failed"),
        ({"body": "x" * 20_001}, 413, "too_large"),
    ],
)
def test_the_api_refuses_bad_comments(client, w, tokens, payload, status, code):
    response = client.post(
        f"/api/v1/sections/{w.section.id}/comments",
        json=payload,
        headers=api_headers(tokens["member"]),
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert comments_of(w.section.id) == []


# --- hostile input -----------------------------------------------------------------------


def test_hostile_comments_replies_and_quotes_stay_inert(w, browser, client, tokens):
    section = factories.section(w.editor, w.paper, title="Eingaben", body="\n\n".join(PAYLOADS))
    for payload in PAYLOADS:
        root = flow.add_comment(w.member, section.id, payload, quote=payload)
        flow.add_comment(w.editor, section.id, payload, parent_id=root.id)
    # Some threads resolved, some quotes changed, so every part of the page is exercised.
    roots = [c for c in flow.section_comments(section.id) if c.parent_id is None]
    for comment in roots[::3]:
        flow.resolve_comment(w.editor, comment.id)
    save(w.editor, section.id, "Neu.\n\n" + "\n\n".join(PAYLOADS[::2]))
    html = page(browser(w.member), section.id)
    assert_inert(html)
    listed = api(client, "get", f"/sections/{section.id}/comments", tokens["member"])
    assert listed.mimetype == "application/json"
    bodies = {c["body"] for c in listed.get_json()["comments"]}
    assert bodies == {p.strip() for p in PAYLOADS}


def test_hostile_comments_added_through_the_api_stay_inert_on_the_page(w, browser, client, tokens):
    url = f"/sections/{w.section.id}/comments"
    for payload in PAYLOADS:
        response = api(client, "post", url, tokens["member"], body=payload)
        assert response.status_code == 201, payload
        assert response.mimetype == "application/json"
    assert_inert(page(browser(w.editor), w.section.id))


def test_hostile_names_in_mentions_stay_inert(w, browser):
    hostile = factories.user(w.city, "hostile@example.org", name="<img src=x onerror=alert(1337)>")
    flow.add_comment(hostile, w.section.id, "Hallo @member@example.org und @[<script>alert(1337)]")
    flow.add_comment(w.member, w.section.id, "Antwort an @hostile@example.org")
    assert [n.user_id for n in notifications("mentioned")] == [w.member.id, hostile.id]
    assert_inert(page(browser(w.member), w.section.id))
    assert_inert(browser(w.member).get(f"/papers/{w.paper.id}").get_data(as_text=True))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_highlighting_hostile_text_stays_sanitised(payload):
    body = f"Vorher {payload} nachher"
    start = body.index(payload)
    html = str(render_highlighted(body, {1: (start, start + len(payload)), 2: (0, len(body))}))
    assert_inert(html, strict=True)
