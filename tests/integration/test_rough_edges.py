"""Issue 15, items 3–9: the everyday rough edges of the web pages.

The paper page's section actions (one primary action and a menu, "move to…", a
confirmation before removing), confirmation pages before every destructive action, the
sign-off page (unapproved sections listed up front, decision words, the round's actions
set apart), Markdown headings and table alignment, the favicon, and words (plural forms,
German numbers and sizes).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from drafting.extensions import db
from drafting.filters import filesize, number
from drafting.models import Paper, PaperRole, PaperStatus, Participant, Section
from tests import factories
from tests.integration.support import isolated_client, login


def browser(app: Flask, user: Any, *, en: bool = True) -> FlaskClient:
    client = isolated_client(app)
    user.locale = "en" if en else "de"
    db.session.commit()
    login(client, user.email)
    return client


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def order(paper_id: int) -> list[str]:
    return [
        s.title
        for s in db.session.scalars(
            select(Section)
            .where(Section.paper_id == paper_id, Section.removed_at.is_(None))
            .order_by(Section.position, Section.id)
        )
    ]


# --- item 5: favicon, Markdown headings and table alignment ---------------------------------


def test_favicon_exists(app: Flask, world: factories.World) -> None:
    client = isolated_client(app)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301
    assert icon.location.endswith("/static/favicon.svg")
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert b"<svg" in svg.data
    login_page = page(client.get("/login"))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login_page


def test_body_headings_are_sub_headings_of_the_section_level(
    app: Flask, world: factories.World
) -> None:
    body = "Intro.\n\n# Ziel\n\n## Unterziel\n\n| Ort | Zahl |\n|:---|---:|\n| A | 1 |"
    factories.section(world.editor, world.paper, title="Oben", body=body, level=1)
    factories.section(world.editor, world.paper, title="Mitte", body=body, level=2)
    factories.section(world.editor, world.paper, title="Unten", body=body, level=3)
    html = page(browser(app, world.editor).get(f"/papers/{world.paper.id}"))

    def body_of(title: str) -> str:
        found = re.search(
            rf"{title}</h(\d)>.*?<div class=\"section-body\"[^>]*>(.*?)</div>", html, re.S
        )
        assert found, title
        return found.group(1) + "|" + found.group(2)

    # A level-1 section is an h2: its "#" is an h3, "##" an h4; one level deeper, one more.
    assert body_of("Oben").startswith("2|") and "<h3>Ziel</h3>" in body_of("Oben")
    assert "<h4>Unterziel</h4>" in body_of("Oben")
    assert body_of("Mitte").startswith("3|") and "<h4>Ziel</h4>" in body_of("Mitte")
    assert "<h5>Unterziel</h5>" in body_of("Mitte")
    assert body_of("Unten").startswith("4|") and "<h5>Ziel</h5>" in body_of("Unten")
    assert "<h6>Unterziel</h6>" in body_of("Unten")
    # Table column alignment arrives as classes the style sheet honours: one on the table
    # per aligned column; older stored versions carry one on each cell.
    assert '<table class="md-table md-l1 md-r2"><thead><tr><th>Ort<th>Zahl' in html
    assert "<td>A<td>1</table>" in html
    with isolated_client(app).get("/static/app.css") as response:
        css = page(response)
    assert ".md-align-right { text-align: right; }" in css
    rules = {
        line.split(" { ")[1]: re.split(r", (?=\.)", line.split(" { ")[0])
        for line in css.splitlines()
        if ":nth-child(" in line and " { text-align: " in line
    }
    assert ".md-r2 :is(th, td):nth-child(2)" in rules["text-align: right; }"]
    assert ".md-l1 :is(th, td):nth-child(1)" in rules["text-align: left; }"]
    assert ".section-body h3 { font-size: 1.3rem; }" in css


def test_a_version_page_puts_body_headings_under_its_h1(app: Flask, world: factories.World) -> None:
    s = factories.section(world.editor, world.paper, title="Ziele", body="# Ziel\n\nText.")
    html = page(browser(app, world.editor).get(f"/sections/{s.id}/versions/1"))
    assert "<h2>Ziel</h2>" in html


# --- item 4: section actions, "move to…" and removing with a confirmation ------------------


def test_paper_page_has_one_primary_action_and_a_menu_without_forms(
    app: Flask, world: factories.World
) -> None:
    editor = browser(app, world.editor)
    html = page(editor.get(f"/papers/{world.paper.id}"))
    sid = world.section.id
    actions = re.search(r'<div class="section-actions">.*?</div>', html, re.S)
    assert actions
    block = actions.group(0)
    # The primary action is the first link (styled as the primary button by app.css).
    assert re.findall(r"<a [^>]*>", block)[0] == f'<a href="/sections/{sid}/edit">'
    with isolated_client(app).get("/static/app.css") as response:
        assert ".section-actions > a:first-child { border:" in page(response)
    # One link to the section's actions page (works without JavaScript); sectionmenu.js turns
    # it into the menu cloned from the page's one template, whose links name section 0.
    assert block.endswith(f'<a href="/sections/{sid}/actions">More</a></div>')
    menu = re.search(r'<template id="section-menu" data-base="/sections/0">(.*?)</template>', html)
    assert menu and '<details class="action-menu"><summary>More</summary>' in menu.group(1)
    actions_page = page(editor.get(f"/sections/{sid}/actions"))
    for href in ("history", "comments", "review", "suggest", "move", "remove"):
        assert f'href="/sections/0/{href}"' in menu.group(1), href
        assert f'href="/sections/{sid}/{href}"' in actions_page, href
    assert f'href="/sections/{sid}/edit"' in actions_page
    # No form per section: moving and removing go through their own pages.
    assert "<form" not in block and "<form" not in menu.group(1)
    assert f'action="/sections/{sid}/move"' not in html
    assert f'action="/sections/{sid}/remove"' not in html

    # A member (who may read, not edit) gets "Suggest a change" as the primary action.
    member = browser(app, world.member)
    member_page = page(member.get(f"/papers/{world.paper.id}"))
    block = re.search(r'<div class="section-actions">.*?</div>', member_page, re.S).group(0)
    primary = re.search(r'<div class="section-actions"><a href="([^"]+)"', block)
    assert primary and primary.group(1) == f"/sections/{sid}/suggest"
    member_menu = re.search(r'<template id="section-menu".*?</template>', member_page)
    assert member_menu and "/move" not in member_menu.group(0)
    assert "/remove" not in member_menu.group(0)
    actions_page = page(member.get(f"/sections/{sid}/actions"))
    assert f"/sections/{sid}/move" not in actions_page
    assert f"/sections/{sid}/remove" not in actions_page
    assert f'href="/sections/{sid}/suggest"' in actions_page
    assert browser(app, world.outsider).get(f"/sections/{sid}/actions").status_code == 404


def test_move_to_a_place(app: Flask, world: factories.World) -> None:
    second = factories.section(world.editor, world.paper, title="Zwei")
    third = factories.section(world.editor, world.paper, title="Drei", level=2)
    editor = browser(app, world.editor)
    html = page(editor.get(f"/sections/{third.id}/move"))
    assert "Move “Drei”" in html
    assert '<input type="radio" name="position" id="position-3" value="3" checked>' in html
    assert "Place 1, before 1 Ausgangslage" in html
    assert "Stay at place 3 (now: 2.1 Drei)" in html

    moved = editor.post(f"/sections/{third.id}/move", data={"position": "1"})
    assert moved.status_code == 302 and moved.location.endswith(f"#section-{third.id}")
    assert order(world.paper.id) == ["Drei", "Ausgangslage", "Zwei"]
    editor.post(f"/sections/{third.id}/move", data={"position": "3"})
    assert order(world.paper.id) == ["Ausgangslage", "Zwei", "Drei"]
    # The old up/down form still works.
    editor.post(f"/sections/{second.id}/move", data={"direction": "up"})
    assert order(world.paper.id) == ["Zwei", "Ausgangslage", "Drei"]

    for bad in ("0", "4", "x", ""):
        refused = editor.post(f"/sections/{third.id}/move", data={"position": bad})
        assert refused.status_code == 400, bad
        assert "Please choose a place." in page(refused)
    assert order(world.paper.id) == ["Zwei", "Ausgangslage", "Drei"]


def test_move_and_remove_pages_are_for_writers_only(app: Flask, world: factories.World) -> None:
    member = browser(app, world.member)
    sid = world.section.id
    assert member.get(f"/sections/{sid}/move").status_code == 403
    assert member.get(f"/sections/{sid}/remove").status_code == 403
    outsider = browser(app, world.outsider)
    assert outsider.get(f"/sections/{sid}/move").status_code == 404
    assert outsider.get(f"/sections/{sid}/remove").status_code == 404


def test_removing_a_section_asks_first(app: Flask, world: factories.World) -> None:
    factories.section(world.editor, world.paper, title="Zwei")
    editor = browser(app, world.editor)
    sid = world.section.id
    html = page(editor.get(f"/sections/{sid}/remove"))
    assert "Remove the section “Ausgangslage”?" in html
    assert f'<form method="post" action="/sections/{sid}/remove"' in html
    assert f'href="/papers/{world.paper.id}#section-{sid}" class="button">Cancel</a>' in html
    assert order(world.paper.id) == ["Ausgangslage", "Zwei"]  # asking removes nothing
    assert editor.post(f"/sections/{sid}/remove").status_code == 302
    assert order(world.paper.id) == ["Zwei"]


# --- item 7: confirmations before destructive actions ---------------------------------------


def test_removing_an_organisation_and_revoking_a_role_ask_first(
    app: Flask, world: factories.World
) -> None:
    coordinator = browser(app, world.coordinator)
    pid = world.paper.id
    settings = page(coordinator.get(f"/papers/{pid}/settings"))
    # Short visible labels, the full name for screen readers; links, not instant forms.
    assert (
        f'<a class="button" href="/papers/{pid}/participants/{world.chamber.id}/remove">Remove'
        f'<span class="visually-hidden"> {world.chamber.name}</span></a>'
    ) in settings
    assert f'action="/papers/{pid}/participants/{world.chamber.id}/remove"' not in settings

    asked = page(coordinator.get(f"/papers/{pid}/participants/{world.chamber.id}/remove"))
    assert f"Remove {world.chamber.name} from this paper?" in asked
    assert f'action="/papers/{pid}/participants/{world.chamber.id}/remove"' in asked
    parts = db.session.scalars(
        select(Participant.organisation_id).where(Participant.paper_id == pid)
    )
    assert world.chamber.id in set(parts)
    coordinator.post(f"/papers/{pid}/participants/{world.chamber.id}/remove")
    parts = db.session.scalars(
        select(Participant.organisation_id).where(Participant.paper_id == pid)
    )
    assert world.chamber.id not in set(parts)

    role = db.session.scalar(
        select(PaperRole).where(PaperRole.paper_id == pid, PaperRole.user_id == world.editor.id)
    )
    assert role is not None
    role_id = role.id
    asked = page(coordinator.get(f"/papers/{pid}/roles/{role_id}/revoke"))
    assert "Take the role “Editor” away from Emil Redaktion?" in asked
    assert f'action="/papers/{pid}/roles/{role_id}/revoke"' in asked
    coordinator.post(f"/papers/{pid}/roles/{role_id}/revoke")
    db.session.expire_all()
    assert db.session.get(PaperRole, role_id) is None

    # Only coordinators are asked; others are refused, outsiders see nothing.
    member = browser(app, world.member)
    assert member.get(f"/papers/{pid}/participants/{world.city.id}/remove").status_code == 403
    outsider = browser(app, world.outsider)
    assert outsider.get(f"/papers/{pid}/participants/{world.city.id}/remove").status_code == 404
    assert coordinator.get(f"/papers/{pid}/roles/999999/revoke").status_code == 404


def test_cancelling_the_round_and_archiving_ask_first(app: Flask, world: factories.World) -> None:
    factories.approve_all(world)
    coordinator = browser(app, world.coordinator)
    pid = world.paper.id
    coordinator.post(f"/papers/{pid}/signoff", data={"label": "Entwurf", "deadline": ""})
    html = page(coordinator.get(f"/papers/{pid}/signoff"))
    manage = html.split('<section aria-labelledby="manage-heading"', 1)[1]
    decide = html.split('<section aria-labelledby="manage-heading"', 1)[0]
    assert f'href="/papers/{pid}/signoff/cancel"' in manage
    assert f"/papers/{pid}/signoff/cancel" not in decide
    assert f'action="/papers/{pid}/signoff/cancel"' not in html

    asked = page(coordinator.get(f"/papers/{pid}/signoff/cancel"))
    assert "Cancel the sign-off round of “Konzept Innenstadt”?" in asked
    assert f'action="/papers/{pid}/signoff/cancel"' in asked
    db.session.expire_all()
    assert db.session.get(Paper, pid).status == PaperStatus.SIGNING
    assert browser(app, world.editor).get(f"/papers/{pid}/signoff/cancel").status_code == 403
    coordinator.post(f"/papers/{pid}/signoff/cancel")
    db.session.expire_all()
    assert db.session.get(Paper, pid).status == PaperStatus.DRAFTING

    asked = page(coordinator.get(f"/papers/{pid}/archive"))
    assert "Archive “Konzept Innenstadt”?" in asked
    assert f'action="/papers/{pid}/archive"' in asked


# --- item 9: the sign-off page ---------------------------------------------------------------


def test_start_page_lists_unapproved_sections_before_anyone_tries(
    app: Flask, world: factories.World
) -> None:
    factories.section(world.editor, world.paper, title="Zweiter", level=2)
    html = page(browser(app, world.coordinator).get(f"/papers/{world.paper.id}/signoff"))
    assert "2 sections are not approved yet:" in html
    listing = html.split("sections are not approved yet:")[1].split("</ul>")[0]
    assert "1 Ausgangslage</a> – Draft" in listing
    assert "1.1 Zweiter</a> – Draft" in listing
    # Nobody else is shown the list.
    member_view = page(browser(app, world.member).get(f"/papers/{world.paper.id}/signoff"))
    assert "not approved yet" not in member_view

    factories.approve_all(world)
    html = page(browser(app, world.coordinator).get(f"/papers/{world.paper.id}/signoff"))
    assert "not approved yet" not in html


def test_decision_options_are_a_radio_group_with_the_annex_words(
    app: Flask, world: factories.World
) -> None:
    factories.approve_all(world)
    coordinator = browser(app, world.coordinator)
    pid = world.paper.id
    coordinator.post(f"/papers/{pid}/signoff", data={"label": "Entwurf", "deadline": ""})
    signatory = browser(app, world.signatory, en=False)
    html = page(signatory.get(f"/papers/{pid}/signoff"))
    group = re.search(r'<fieldset class="field radio-group".*?</fieldset>', html, re.S)
    assert group
    choices = re.findall(
        r'<div class="choice"><input[^>]*type="radio"[^>]*> <label for="[^"]+">([^<]+)</label>',
        group.group(0),
    )
    assert choices == ["Zustimmung", "Zustimmung mit Vorbehalt", "Ablehnung"]
    signatory.post(
        f"/papers/{pid}/signoff/decision",
        data={"decision": "approve", "note": "", "edition_hash": ""},
    )
    html = page(signatory.get(f"/papers/{pid}/signoff"))
    matrix = html.split('<table class="signoff-matrix">', 1)[1].split("</table>")[0]
    assert "<strong>Zustimmung</strong>" in matrix
    assert "Freigegeben" not in matrix


# --- item 8: words ---------------------------------------------------------------------------


def test_counts_use_plural_forms(app: Flask, world: factories.World) -> None:
    from workflows import suggestions as suggestion_flow

    suggestion_flow.create_suggestion(
        world.member, world.section.id, body="Die Innenstadt lebt.", base_version=1
    )
    editor = browser(app, world.editor, en=False)
    html = page(editor.get(f"/papers/{world.paper.id}"))
    assert "Prüfung: 0 von 1 Abschnitt freigegeben" in html
    assert "1 offener Änderungsvorschlag<" in html
    suggestion_flow.create_suggestion(
        world.member, world.section.id, body="Die Innenstadt lebt weiter.", base_version=1
    )
    factories.section(world.editor, world.paper, title="Zwei")
    html = page(editor.get(f"/papers/{world.paper.id}"))
    assert "2 offene Änderungsvorschläge<" in html
    assert "Prüfung: 0 von 2 Abschnitten freigegeben" in html


@pytest.mark.parametrize(
    ("size", "de", "en"),
    [
        (512, "512 Byte", "512 bytes"),
        (41062, "40,1 KB", "40.1 KB"),
        (2411724, "2,3 MB", "2.3 MB"),
    ],
)
def test_sizes_and_numbers_in_the_users_language(app: Flask, size: int, de: str, en: str) -> None:
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("de"):
            assert filesize(size) == de
            assert number(12345) == "12.345"
        with force_locale("en"):
            assert filesize(size) == en
            assert number(12345) == "12,345"


# --- item 6: notifications that reach the right people --------------------------------------


def inbox(user: Any, kind: str) -> list[Any]:
    from drafting.models import Notification

    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def test_editors_hear_of_new_suggestions(app: Flask, world: factories.World) -> None:
    from workflows import suggestions as suggestion_flow

    suggestion_flow.create_suggestion(
        world.member, world.section.id, body="Die Innenstadt lebt.", base_version=1
    )
    (told,) = inbox(world.editor, "suggestion_made")
    assert told.section_id == world.section.id
    assert inbox(world.member, "suggestion_made") == []  # not the author
    assert inbox(world.reviewer, "suggestion_made") == []  # not who does not edit
    with app.test_request_context():
        from flask_babel import force_locale

        from workflows import notifications

        with force_locale("en"):
            assert notifications.message(told) == (
                "Max Mitglied suggested a change to “Ausgangslage”."
            )


def test_signatories_hear_of_a_cancelled_round_and_see_it_pending(
    app: Flask, world: factories.World
) -> None:
    factories.approve_all(world)
    from workflows import signoff as signoff_flow

    signoff_flow.start(world.coordinator, world.paper.id, label="Entwurf")
    assert inbox(world.signatory, "signoff_started")
    work = page(browser(app, world.signatory).get("/my-work"))
    assert "sign-off (1)" in work and "Waiting for my organisation" in work
    assert f'href="/papers/{world.paper.id}/signoff">Konzept Innenstadt</a> – Entwurf' in work
    # Once the organisation decided, the task is gone.
    signoff_flow.decide(world.signatory, world.paper.id, "approve", "")
    assert "Waiting for my organisation" not in page(browser(app, world.signatory).get("/my-work"))

    signoff_flow.cancel(world.coordinator, world.paper.id)
    (told,) = inbox(world.signatory, "signoff_cancelled")
    assert told.paper_id == world.paper.id
    assert inbox(world.coordinator, "signoff_cancelled") == []  # not who cancelled


def test_submitting_to_all_reviewers_never_notifies_the_author(
    app: Flask, world: factories.World
) -> None:
    from drafting.models import Role
    from workflows import papers as paper_flow
    from workflows import review as review_flow
    from workflows import sections as section_flow

    # The reviewer also edits, and wrote the current version.
    paper_flow.grant_role(world.coordinator, world.paper.id, world.reviewer.email, Role.EDITOR)
    section_flow.save_section(world.reviewer, world.section.id, body="Neu.", base_version=1)
    second_reviewer = factories.user(world.city, "second@example.org", name="Zweite Prüferin")
    paper_flow.grant_role(world.coordinator, world.paper.id, second_reviewer.email, Role.REVIEWER)
    review_flow.submit(world.editor, world.section.id)
    assert inbox(world.reviewer, "review_requested") == []
    assert len(inbox(second_reviewer, "review_requested")) == 1


def test_my_work_names_sections_by_number_and_title(app: Flask, world: factories.World) -> None:
    from workflows import suggestions as suggestion_flow

    second = factories.section(world.editor, world.paper, title="Ziele", level=2)
    suggestion_flow.create_suggestion(world.member, second.id, body="Mehr.", base_version=1)
    work = page(browser(app, world.editor).get("/my-work"))
    assert "Suggestion for 1.1 Ziele</a> – by Max Mitglied" in work
    assert "#1" not in work


# --- item 7: the role form -------------------------------------------------------------------


def test_role_form_offers_the_people_of_participating_organisations(
    app: Flask, world: factories.World
) -> None:
    html = page(browser(app, world.coordinator).get(f"/papers/{world.paper.id}/settings"))
    email = re.search(r'<input[^>]*id="email"[^>]*>', html)
    assert email and 'list="role-people"' in email.group(0)
    people = re.search(r'<datalist id="role-people">(.*?)</datalist>', html, re.S)
    assert people
    offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', people.group(1))
    assert ("member@example.org", "Max Mitglied (CITY)") in offered
    assert ("reviewer@example.org", "Rita Prüfung (IHK)") in offered
    assert all(value != "outsider@example.org" for value, _label in offered)
    assert "add their organisation above first" in html
    # The least privileged role comes first and is chosen.
    select_html = re.search(r'<select[^>]*id="role".*?</select>', html, re.S)
    assert select_html
    values = re.findall(r'<option([^>]*)value="(\w+)"', select_html.group(0))
    assert [v for _attrs, v in values] == ["reviewer", "signatory", "editor", "coordinator"]
    assert re.search(r'<option selected value="reviewer">|<option value="reviewer" selected', html)


def test_quotes_in_titles_are_not_nested(app: Flask, world: factories.World) -> None:
    from flask_babel import force_locale

    from workflows import notifications

    world.paper.title = "Konzeption „Lebendige Innenstädte“"
    db.session.commit()
    (told,) = notifications.notify(
        [world.signatory.id],
        "signoff_cancelled",
        paper_id=world.paper.id,
        actor=world.coordinator,
        params={"paper": world.paper.title},
    )
    with app.test_request_context(), force_locale("de"):
        assert notifications.message(told) == (
            "Cora Koordination hat die Mitzeichnung von „Konzeption ‚Lebendige Innenstädte‘“ "
            "abgebrochen; das Konzeptpapier ist wieder ein Entwurf."
        )
    html = page(browser(app, world.coordinator, en=False).get(f"/papers/{world.paper.id}/archive"))
    assert "„Konzeption ‚Lebendige Innenstädte‘“ archivieren?" in html


# --- item 9: after "changes requested" the reviewer sees what changed since -----------------


def test_reviewer_sees_the_diff_since_their_request(app: Flask, world: factories.World) -> None:
    from workflows import review as review_flow
    from workflows import sections as section_flow

    sid = world.section.id
    review_flow.submit(world.editor, sid)
    review_flow.request_changes(world.reviewer, sid, 1, "Bitte den Wohnungsbau nennen.")
    section_flow.save_section(
        world.editor,
        sid,
        base_version=1,
        body="Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnungsbau.",
    )
    html = page(browser(app, world.reviewer).get(f"/sections/{sid}/review"))
    assert "Changes since the request for changes (version 1)" in html
    since = html.split('id="since-heading"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"<del>.*?Wohnen.*?</del>", since)
    assert re.search(r"<ins>.*?Wohnungsbau.*?</ins>", since)

    # Once approved, the page compares with the approved version again.
    review_flow.submit(world.editor, sid)
    review_flow.approve(world.reviewer, sid, 2)
    section_flow.save_section(world.editor, sid, base_version=2, body="Ganz neu.")
    html = page(browser(app, world.reviewer).get(f"/sections/{sid}/review"))
    assert "Changes since the approved version 2" in html
