"""The sign-off annex of a Word export names the organisations that decided on that edition.

After a new cycle with changed participants, the Word file of the final edition and the web
record (``workflows.signoff.matrix``) still agree: the chamber that signed stays in the
annex, the organisation added later is not in it (issue 10, item 3).
"""

from __future__ import annotations

import io

from docx import Document
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Edition
from exports.builder import build_document
from exports.collect import collect
from tests import factories
from tests.integration.support import fresh
from tests.integration.test_signoff import sign_all
from tests.integration.test_signoff import w as w  # noqa: F401  (the fixture)
from workflows import papers as paper_flow
from workflows import signoff as flow


def _annex_organisations(docx: bytes) -> list[str]:
    document = Document(io.BytesIO(docx))
    annex = document.tables[-1]
    return [row.cells[0].text for row in annex.rows[1:]]


def test_annex_after_a_new_cycle_with_changed_participants(app, w):
    pid = w.paper.id
    flow.start(w.coordinator, pid)
    sign_all(w, reservation="Nur mit Radwegen.")
    signed = [o.name for o in (w.chamber, w.city, w.ministry)]
    # A new cycle: the chamber leaves, another organisation joins.
    flow.new_cycle(w.coordinator, pid)
    newcomer = factories.org("NEU")
    db.session.commit()
    paper_flow.add_participant(w.coordinator, pid, newcomer.short_name)
    paper_flow.remove_participant(w.coordinator, pid, w.chamber.id)
    fresh()
    edition = db.session.scalar(select(Edition).where(Edition.paper_id == pid))
    assert edition is not None
    record = [row.name for row in flow.matrix(pid, edition)]
    assert sorted(record) == sorted(signed)
    data = collect(pid, edition=edition.number)
    assert [d.organisation for d in data.decisions] == record
    assert {d.decision for d in data.decisions} == {"approve", "approve_with_reservation"}
    organisations = _annex_organisations(build_document(data))
    assert organisations == record
    assert newcomer.name not in organisations
    # The working draft of the new cycle has no sign-off annex of its own.
    assert collect(pid).decisions == ()
