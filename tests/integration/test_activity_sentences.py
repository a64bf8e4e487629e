"""The activity log reads as sentences (issue 10, item 8): on the page, in the filter, in the CSV,
in the reader's language; stored action names and the existing CSV columns stay as they are."""

from __future__ import annotations

import csv
import io

import pytest

from drafting.extensions import db
from drafting.models import ActivityEntry
from tests import factories
from workflows import activity
from workflows import review as review_flow
from workflows import sections as section_flow


def _csv(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _day(world: factories.World) -> None:
    sid = world.section.id
    section_flow.save_section(world.editor, sid, body="Die Innenstadt lebt.", base_version=1)
    review_flow.submit(world.editor, sid)
    review_flow.approve(world.reviewer, sid, 2, "Passt.")


@pytest.mark.parametrize(
    "locale, saved, approved, label",
    [
        (
            "en",
            "Emil Redaktion (CITY) saved version 2 of “Ausgangslage”.",
            "Rita Prüfung (IHK) approved version 2 of “Ausgangslage”.",
            "Section approved",
        ),
        (
            "de",
            "Emil Redaktion (CITY) hat Fassung 2 von „Ausgangslage“ gespeichert.",
            "Rita Prüfung (IHK) hat Fassung 2 von „Ausgangslage“ freigegeben.",
            "Abschnitt freigegeben",
        ),
    ],
)
def test_the_timeline_and_the_csv_tell_what_happened(
    client, auth, world, locale, saved, approved, label
):
    _day(world)
    world.member.locale = locale
    db.session.commit()
    auth.login(world.member.email)

    page = client.get(f"/papers/{world.paper.id}/activity").get_data(as_text=True)
    assert saved in page
    assert approved in page
    assert '<option value="review.approved" >' + label + "</option>" in page
    assert "<code>section.saved</code>" not in page

    header, *lines = _csv(client.get(f"/papers/{world.paper.id}/activity.csv"))
    assert header == [
        "seq",
        "time_utc",
        "actor",
        "action",
        "what",
        "section_id",
        "section",
        "version",
        "details",
        "hash",
    ]
    by_action = {line[3]: line for line in lines}
    assert by_action["section.saved"][header.index("what")] == saved
    assert by_action["review.approved"][header.index("what")] == approved
    assert by_action["review.approved"][header.index("actor")] == "reviewer@example.org"


def test_an_entry_without_a_person_or_with_an_unknown_action_still_shows(client, auth, world):
    activity.record(world.paper.id, None, "signoff.reminded", edition=1, organisations=2)
    db.session.commit()
    world.member.locale = "en"
    db.session.commit()
    auth.login(world.member.email)
    header, *lines = _csv(client.get(f"/papers/{world.paper.id}/activity.csv"))
    what = {line[3]: line[header.index("what")] for line in lines}
    assert what["signoff.reminded"] == "Reminders about edition 1 went to 2 organisations."
    created = f"Cora Koordination (MIN) created the paper “{world.paper.title}”."
    assert what["paper.created"] == created


def test_recording_an_unregistered_action_is_refused(world):
    with pytest.raises(ValueError):
        activity.record(world.paper.id, world.editor, "section.painted")
    db.session.rollback()
    assert all(e.action != "section.painted" for e in db.session.scalars(db.select(ActivityEntry)))
