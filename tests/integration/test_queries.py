"""The paper page costs a fixed number of SQL statements, however long the paper is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, inspect

from drafting.extensions import db
from drafting.models import Paper, Role, User
from tests import factories
from tests.integration.support import isolated_client, login
from workflows import papers as paper_flow
from workflows import sections as section_flow

MAX_QUERIES = 10
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Transaction control is no query (and only SQLite's BEGIN passes through here).
        if statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def long_paper(authors: list[User], sections: int, versions: int = 3) -> Paper:
    """A paper with sections on all levels, each saved several times by different authors."""
    paper = paper_flow.create_paper(authors[0], f"Konzept mit {sections} Abschnitten", "")
    for author in authors[1:]:
        paper_flow.add_participant(authors[0], paper.id, author.organisation.short_name)
        paper_flow.grant_role(authors[0], paper.id, author.email, Role.EDITOR)
    for i in range(sections):
        section = section_flow.add_section(
            authors[i % len(authors)],
            paper.id,
            title=f"Abschnitt {i}",
            level=i % 3 + 1,
            body=f"Text {i}, **Fassung 1**.",
        )
        for number in range(1, versions):
            section_flow.save_section(
                authors[(i + number) % len(authors)],
                section.id,
                body=f"Text {i}, *Fassung {number + 1}*.",
                base_version=number,
                note=f"Fassung {number + 1}",
            )
    removed = section_flow.add_section(authors[0], paper.id, title="Entfernt")
    section_flow.remove_section(authors[0], removed.id)
    return paper


def page_statements(client: FlaskClient, paper: Paper) -> list[str]:
    url = f"/papers/{paper.id}"
    assert client.get(url).status_code == 200  # warm: templates compiled, caches filled
    with statements() as seen:
        response = client.get(url)
    assert response.status_code == 200
    assert "Abschnitt 0" in response.get_data(as_text=True)
    return seen


def test_paper_page_queries_do_not_grow_with_the_paper(app: Flask, world: factories.World) -> None:
    authors = [world.coordinator, world.editor]
    short = long_paper(authors, 3)
    long = long_paper(authors, 30)
    client = isolated_client(app)
    login(client, world.coordinator.email)

    few = page_statements(client, short)
    many = page_statements(client, long)

    listing = "\n".join(s.split("\n")[0][:120] for s in many)
    assert len(few) == len(many), listing
    assert len(many) <= MAX_QUERIES, listing
    page = client.get(f"/papers/{long.id}").get_data(as_text=True)
    assert page.count('<section id="section-') == 30
    assert "Fassung 3" in page


def test_history_leaves_the_rendered_html_unloaded(app: Flask, world: factories.World) -> None:
    paper = long_paper([world.coordinator, world.editor], sections=1, versions=3)
    section_id = paper.sections[0].id
    db.session.expunge_all()
    with statements() as seen:
        versions = section_flow.history(section_id)
    assert [v.number for v in versions] == [3, 2, 1]
    assert len(seen) == 1
    assert "body_html" not in seen[0]
    assert all("body_html" in inspect(v).unloaded for v in versions)
    assert versions[0].body == "Text 0, *Fassung 3*."
