"""@-mentions chosen from the autocomplete (issue 12, item 5): the members route, the stored
"@[Name](user:<id>)" reference, its notification, and the current name shown after a rename."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Notification
from workflows import comments as flow


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_the_members_route_lists_the_papers_members_by_name(client, auth, world):
    auth.login(world.member.email)
    answer = client.get(f"/papers/{world.paper.id}/mentionable?q=RIT")
    assert answer.status_code == 200
    assert answer.json == {
        "members": [
            {
                "id": world.reviewer.id,
                "name": "Rita Prüfung",
                "organisation": "IHK",
                "mention": f"@[Rita Prüfung](user:{world.reviewer.id})",
            }
        ]
    }
    everyone = client.get(f"/papers/{world.paper.id}/mentionable").json["members"]
    names = {m["name"] for m in everyone}
    assert "Otto Außen" not in names  # not of a participating organisation
    assert {"Emil Redaktion", "Max Mitglied", "Cora Koordination"} <= names
    assert client.get(f"/papers/{world.paper.id}/mentionable?q=%25").json == {"members": []}


def test_outsiders_get_no_members(client, auth, world):
    auth.login(world.outsider.email)
    assert client.get(f"/papers/{world.paper.id}/mentionable").status_code == 404
    assert client.get("/papers/999/mentionable").status_code == 404


def test_a_mention_by_id_notifies_and_shows_the_current_name(client, auth, world):
    comment = flow.add_comment(
        world.member, world.section.id, f"Bitte @[Rita](user:{world.reviewer.id}) prüfen."
    )
    told = db.session.scalars(select(Notification).where(Notification.kind == "mentioned")).all()
    assert [n.user_id for n in told] == [world.reviewer.id]
    assert told[0].params["excerpt"] == "Bitte @Rita Prüfung prüfen."
    world.reviewer.display_name = "Rita Neu*name"
    db.session.commit()
    auth.login(world.editor.email)
    page = html(client.get(f"/sections/{world.section.id}/comments"))
    assert "Bitte @Rita Neu*name prüfen." in page
    paper = html(client.get(f"/papers/{world.paper.id}"))
    assert "Bitte @Rita Neu*name prüfen." in paper
    assert comment.body.endswith(f"(user:{world.reviewer.id}) prüfen.")


def test_a_mention_of_a_non_member_id_notifies_nobody(world):
    flow.add_comment(world.member, world.section.id, f"@[X](user:{world.outsider.id}) hallo")
    assert db.session.scalars(select(Notification)).all() == []


def test_names_are_escaped_for_markdown_only_when_rendered(world):
    users = {world.editor.id: world.editor}
    world.editor.display_name = "Dr. Emil *Redaktion*"
    text = f"Hallo @[E](user:{world.editor.id})!"
    assert flow.show_mentions(text, users, markdown=False) == "Hallo @Dr. Emil *Redaktion*!"
    rendered = str(flow.render_comment(text, users))
    assert "@Dr. Emil *Redaktion*!" in rendered and "<em>" not in rendered


def test_the_name_form_does_not_match_the_id_form():
    emails, names = flow.mentions_in("@[Rita](user:5) und @[Emil Redaktion]")
    assert names == {"Emil Redaktion"}
    assert flow.mentioned_ids("@[Rita](user:5) @[Y](user:x)") == {5}


def test_mentionable_filters_by_a_part_of_the_name(world):
    found = flow.mentionable(world.member, world.paper.id, "  redak ")
    assert [u.id for u in found] == [world.editor.id]
