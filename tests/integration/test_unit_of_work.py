"""One transaction per use case (issue 10 item 1): the outermost boundary commits or rolls
back; nested actions join it; after-commit work runs only after the outermost commit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from drafting.extensions import db
from drafting.models import ActivityEntry, Paper, Section, Suggestion
from tests import factories
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows import uow
from workflows.errors import InvalidTransition, ValidationFailed


def count(model: type) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_action_called_alone_commits(app: Flask, world: factories.World) -> None:
    section = section_flow.add_section(world.editor, world.paper.id, title="Allein")
    section_id = section.id
    db.session.rollback()  # nothing pending: the action's own boundary committed
    assert db.session.get(Section, section_id) is not None


def test_nested_actions_commit_once_at_the_outermost_boundary(
    app: Flask, world: factories.World
) -> None:
    commits: list[int] = []

    def on_commit(_session: object) -> None:
        commits.append(1)

    event.listen(db.session, "after_commit", on_commit)
    try:
        with uow.unit_of_work():
            paper = paper_flow.create_paper(world.coordinator, "Zusammen", "")
            section_flow.add_section(world.coordinator, paper.id, title="Eins")
            section_flow.add_section(world.coordinator, paper.id, title="Zwei")
            assert commits == []
        assert commits == [1]
    finally:
        event.remove(db.session, "after_commit", on_commit)


def test_a_nested_failure_rolls_back_the_outer_work(app: Flask, world: factories.World) -> None:
    papers, sections, entries = count(Paper), count(Section), count(ActivityEntry)
    with pytest.raises(ValidationFailed), uow.unit_of_work():
        paper = paper_flow.create_paper(world.coordinator, "Halb importiert", "")
        section_flow.add_section(world.coordinator, paper.id, title="Erster Abschnitt")
        section_flow.add_section(world.coordinator, paper.id, title="")  # refused
    assert (count(Paper), count(Section), count(ActivityEntry)) == (papers, sections, entries)


def test_a_failed_use_case_leaves_nothing(app: Flask, world: factories.World) -> None:
    suggestions = count(Suggestion)
    with pytest.raises(ValidationFailed):
        suggestion_flow.create_suggestion(
            world.member, world.section.id, body=world.section.head.body, base_version=1
        )
    assert count(Suggestion) == suggestions


def test_after_commit_work_waits_for_the_outermost_commit(
    app: Flask, world: factories.World
) -> None:
    ran: list[str] = []
    with uow.unit_of_work():
        with uow.unit_of_work():
            uow.on_commit(lambda: ran.append("inner"))
        assert ran == []
    assert ran == ["inner"]

    with pytest.raises(RuntimeError), uow.unit_of_work():
        uow.on_commit(lambda: ran.append("rolled back"))
        raise RuntimeError("boom")
    with uow.unit_of_work():
        pass
    assert ran == ["inner"]  # dropped with the rollback, not run by the next commit


def test_accepting_a_suggestion_is_one_transaction(app: Flask, world: factories.World) -> None:
    suggestion = suggestion_flow.create_suggestion(
        world.member, world.section.id, body="Neuer Text.", base_version=1
    )
    suggestion_id = suggestion.id
    result = suggestion_flow.accept(world.editor, suggestion_id)
    db.session.rollback()
    accepted = db.session.get(Suggestion, suggestion_id)
    assert accepted is not None and accepted.result_version == result.version == 2
    # A second accept is refused as a whole: no version 3 appears.
    with pytest.raises(InvalidTransition):
        suggestion_flow.accept(world.editor, suggestion_id)
    section = db.session.get(Section, world.section.id)
    assert section is not None and section.version == 2


def test_a_retried_save_inside_a_use_case_keeps_the_outer_work(
    app: Flask, world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A unique-constraint clash inside a nested save rolls back only its savepoint.
    calls = {"n": 0}
    original = section_flow._save_once

    def flaky(*args: Any, **kwargs: Any) -> section_flow.SaveResult:
        calls["n"] += 1
        if calls["n"] == 1:
            raise IntegrityError("INSERT", {}, Exception("duplicate version"))
        return original(*args, **kwargs)

    monkeypatch.setattr(section_flow, "_save_once", flaky)
    with uow.unit_of_work():
        paper = paper_flow.create_paper(world.coordinator, "Mit Wiederholung", "")
        paper_id = paper.id
        result = section_flow.save_section(
            world.editor, world.section.id, body="Zweiter Stand.", base_version=1
        )
    assert calls["n"] == 2 and result.version == 2
    db.session.rollback()
    assert db.session.get(Paper, paper_id) is not None
