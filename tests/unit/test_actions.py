"""Every activity-log action recorded anywhere is registered and has a label and a sentence."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from workflows import actions
from workflows.actions import Action

ROOT = Path(__file__).resolve().parents[2]


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for package in ("workflows", "exports", "drafting"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = node.func
                    called = (
                        func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    )
                    if called == name:
                        found.append((path, node))
    return found


def _strings(node: ast.expr, where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, where) + _strings(node.orelse, where)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        assert node.value.id in {"Action", "A"}, where
        return [Action[node.attr].value]
    if isinstance(node, ast.JoinedStr):
        # f"review.{kind}": the kinds are the constants passed to reviewstate.record_event.
        prefix = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        assert prefix == "review.", f"{where}: only review events build their action name"
        return [prefix + kind for kind in _review_kinds()]
    raise AssertionError(f"{where}: the action is not a literal the test can check")


def _review_kinds() -> list[str]:
    kinds = []
    for path, call in _calls("record_event") + _calls("_event"):
        if len(call.args) >= 4:
            kinds += _strings(call.args[3], f"{path}:{call.lineno}")
    return kinds


def recorded_actions() -> set[str]:
    """Return every action name that some ``activity.record(...)`` call can write."""
    names: set[str] = set()
    calls = [
        (path, call)
        for path, call in _calls("record")
        if isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "activity"
    ]
    assert len(calls) > 30
    for path, call in calls:
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        argument = call.args[2] if len(call.args) >= 3 else None
        keyword = next((k.value for k in call.keywords if k.arg == "action"), None)
        node = argument or keyword
        assert node is not None, where
        names.update(_strings(node, where))
    return names


def test_every_recorded_action_is_registered():
    recorded = recorded_actions()
    registered = {a.value for a in Action}
    assert recorded - registered == set()
    # the recent ones the issue names, and the six review events
    assert {"role.revoked", "suggestion.partly_accepted", "export.done"} <= recorded
    assert {f"review.{k}" for k in ("submitted", "approved", "changes_requested")} <= recorded
    assert {f"review.{k}" for k in ("carried_over", "approval_reset", "back_to_draft")} <= recorded


def test_no_action_is_registered_that_nothing_records():
    assert {a.value for a in Action} - recorded_actions() == set()


@pytest.fixture()
def babel_app():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "drafting" / "translations")
    Babel(app)
    with app.app_context():
        yield app


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_action_has_a_label_and_a_sentence(babel_app, action, locale):
    details = {
        "title": "Leitbild",
        "user": "marta@example.org",
        "role": "Editor",
        "organisation": "HVM",
        "edition": 2,
        "decision": "approve",
        "restored_from": 3,
        "organisations": 2,
    }
    with force_locale(locale):
        label = actions.label(action.value)
        text = actions.sentence(
            action.value,
            actor="Marta Nowak (BRF)",
            section="2.1 Zwischennutzung",
            version=5,
            details=details,
        )
    assert label and label != action.value
    assert text and action.value not in text
    assert "%(" not in text


def test_the_sentences_read_in_both_languages(babel_app):
    def saved() -> str:
        return actions.sentence(
            "section.saved", actor="Marta Nowak (BRF)", section="2.1 Zwischennutzung", version=5
        )

    with force_locale("en"):
        assert saved() == "Marta Nowak (BRF) saved version 5 of “2.1 Zwischennutzung”."
    with force_locale("de"):
        assert saved() == "Marta Nowak (BRF) hat Fassung 5 von „2.1 Zwischennutzung“ gespeichert."
        decided = actions.sentence(
            "signoff.decided",
            actor="Jan Berg (HVM)",
            details={"edition": 2, "organisation": "HVM", "decision": "reject"},
        )
        assert decided == "Jan Berg (HVM) hat Gesamtfassung 2 für HVM abgelehnt."


def test_an_unknown_stored_action_is_shown_by_its_name(babel_app):
    assert actions.label("review.tampered") == "review.tampered"
    assert actions.sentence("review.tampered", actor="X") == "review.tampered"
