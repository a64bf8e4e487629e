"""Notifications store what they lead to; the web layer builds the links and the e-mail text
(issue 10, item 4): no url_for, request checks or page paths in workflows/."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from drafting import links
from drafting.extensions import db
from drafting.inbox.mail import compose_email
from drafting.models import Notification
from workflows import notifications
from workflows.notifications import Target, notify

ROOT = Path(__file__).resolve().parents[2]
PAGE_PATH = re.compile(r"^/(papers|sections|suggestions|inbox|comments|admin|login|api)\b")


def _strings_outside_docstrings(tree: ast.AST) -> list[ast.Constant]:
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.add(id(value))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_workflows_build_no_links():
    problems = []
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            name = (
                node.id
                if isinstance(node, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else None
            )
            if name in {"url_for", "has_request_context"}:
                problems.append(f"{where}:{getattr(node, 'lineno', 0)}: {name}")
            if isinstance(node, ast.alias) and node.name in {"url_for", "has_request_context"}:
                problems.append(f"{where}: imports {node.name}")
        for const in _strings_outside_docstrings(tree):
            if PAGE_PATH.match(str(const.value)):
                problems.append(f"{where}:{const.lineno}: page path {const.value!r}")
    assert problems == []


def _one(world, target=None, target_id=None, **kwargs):
    (n,) = notify(
        [world.reviewer.id],
        "review_requested",
        paper_id=world.paper.id,
        section_id=world.section.id,
        actor=world.editor,
        target=target,
        target_id=target_id,
        **kwargs,
    )
    db.session.commit()
    return n


@pytest.mark.parametrize(
    "target, target_id, expected",
    [
        (None, None, "/papers/{p}#section-{s}"),
        (Target.SECTION, None, "/papers/{p}#section-{s}"),
        (Target.COMMENT, 7, "/sections/{s}/comments#comment-7"),
        (Target.SUGGESTION, 9, "/suggestions/9"),
        (Target.SIGNOFF, None, "/papers/{p}/signoff"),
        (Target.EDITION, 2, "/papers/{p}/editions/2"),
    ],
)
def test_each_target_leads_to_its_page(client, auth, world, target, target_id, expected):
    n = _one(world, target, target_id)
    path = expected.format(p=world.paper.id, s=world.section.id)
    assert n.target == (target.value if target else "") and n.target_id == target_id
    assert links.notification_path(n) == path
    assert links.notification_url(n) == links.absolute(path)
    auth.login(world.reviewer.email)
    assert client.post(f"/inbox/{n.id}/open").headers["Location"] == path


def test_a_link_stored_before_targets_is_still_followed(world):
    n = Notification(
        user_id=world.reviewer.id,
        kind="reply",
        paper_id=world.paper.id,
        url=f"/sections/{world.section.id}/comments#comment-3",
    )
    db.session.add(n)
    db.session.commit()
    assert links.notification_path(n) == f"/sections/{world.section.id}/comments#comment-3"
    assert n.target == ""


def _migration():
    path = ROOT / "migrations" / "versions" / "registry_notification_target.py"
    spec = importlib.util.spec_from_file_location("registry_notification_target", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "url, target",
    [
        ("/sections/4/comments#comment-12", ("comment", 12)),
        ("/suggestions/5", ("suggestion", 5)),
        ("/papers/3/signoff", ("signoff", None)),
        ("/papers/3/editions/2", ("edition", 2)),
        ("/papers/3#section-4", ("section", None)),
        ("/papers/3", None),
        ("", None),
    ],
)
def test_the_migration_reads_the_stored_links_back_as_targets(url, target):
    migration = _migration()
    assert migration.target_of(url) == target
    if target is not None:
        assert migration.link_of(target[0], target[1], 3, 4) == url


def test_the_email_comes_from_the_templates_in_the_recipients_language(app, world):
    n = _one(world, Target.COMMENT, 7, params={"excerpt": "Erste Zeile\nZweite Zeile"})
    world.reviewer.locale = "en"
    email = compose_email(n, world.reviewer)
    settings = links.absolute("/inbox/settings")
    link = links.absolute(f"/sections/{world.section.id}/comments#comment-7")
    assert email.get_content() == (
        f"Hello {world.reviewer.display_name},\n"
        "\n"
        f"Emil Redaktion asked you to review “Ausgangslage”.\n"
        "\n"
        "> Erste Zeile\n"
        "> Zweite Zeile\n"
        "\n"
        f"Paper: {world.paper.title}\n"
        "\n"
        f"Open it in Konzeptwerk: {link}\n"
        "\n"
        "-- \n"
        "You receive this e-mail because you take part in a concept paper in Konzeptwerk. "
        f"Choose which e-mails you get: {settings}\n"
    )
    assert email["Subject"] == "Konzeptwerk: Emil Redaktion asked you to review “Ausgangslage”."
    world.reviewer.locale = "de"
    german = compose_email(n, world.reviewer)
    assert german["Content-Language"] == "de"
    assert f"In Konzeptwerk öffnen: {link}" in german.get_content()
    # The workflows' mail job finds the writer the web layer registered.
    with force_locale("de"):
        assert notifications.compose_email(n, world.reviewer)["Subject"] == german["Subject"]
