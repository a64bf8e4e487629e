"""Hostile text stays inert on every page that shows it.

The payloads of :mod:`tests.xss_corpus` become the names of organisations and users, the
titles, bodies and change notes of sections and versions, paper titles and summaries, token
names, and the texts of the conflict pages. Where a field is shorter than the corpus, the
payloads are packed into it in groups ("a | b | c"). Each page that shows them is checked
with :func:`assert_inert`, and must show them as text, so that a page cannot pass by leaving
them out.

One alliance serves the whole module (the pages only read it); every request runs in its
own context, as in production.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from drafting.extensions import db
from drafting.models import OrgKind, Role, User
from tests import factories
from tests.conftest import IS_POSTGRES, _empty_postgres, make_app
from tests.integration.support import UNTHROTTLED, isolated_client, login
from tests.xss_corpus import MARKER, PAYLOADS, assert_inert
from workflows import accounts
from workflows import papers as paper_flow
from workflows import sections as section_flow


def groups(texts: Iterable[str], limit: int) -> list[list[str]]:
    """Group texts so that each group joined with " | " has at most ``limit`` characters."""
    packed: list[list[str]] = []
    for text in texts:
        if packed and len(" | ".join([*packed[-1], text])) <= limit:
            packed[-1].append(text)
        else:
            packed.append([text])
    return packed


def chunks(texts: Iterable[str], limit: int) -> list[str]:
    """Pack texts into as few strings of at most ``limit`` characters as possible."""
    return [" | ".join(group).strip() for group in groups(texts, limit)]


ALL = "\n\n".join(PAYLOADS)
HALF = len(PAYLOADS) // 2
TITLES = chunks(PAYLOADS, 200)  # titles of papers and sections, names of organisations
BODIES = ["\n\n".join(group) for group in groups(PAYLOADS, 200)]  # the same, as Markdown
NAMES = chunks(PAYLOADS, 120)  # display names
TOKEN_NAMES = [name[:80].strip() for name in chunks(PAYLOADS, 80)]


@dataclass
class Hostile:
    """Ids and addresses of the module's alliance."""

    app: Flask
    lead_email: str
    paper_id: int
    papers: list[int] = field(default_factory=list)  # one per title
    sections: list[int] = field(default_factory=list)  # one per title
    orgs: list[int] = field(default_factory=list)  # one per title
    users: list[tuple[int, str]] = field(default_factory=list)  # (id, e-mail), one per name
    collection: int = 0  # a section with a version per payload
    versions: int = 0
    conflict: int = 0
    removed: int = 0

    def browser(self, email: str | None = None) -> FlaskClient:
        """Return a browser, logged in as the given user (the lead by default), in English."""
        client = isolated_client(self.app, HTTP_ACCEPT_LANGUAGE="en")
        login(client, email or self.lead_email)
        return client


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    app = make_app(tmp_path_factory.mktemp("xss"), **UNTHROTTLED)
    with app.app_context():
        alliance = _build(app)
    yield alliance
    if IS_POSTGRES:
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


def _build(app: Flask) -> Hostile:
    lead_org = factories.org("LEAD", OrgKind.MINISTRY)
    lead = factories.user(lead_org, "lead@example.org", name="Lea Lead", admin=True, locale="en")
    paper = paper_flow.create_paper(lead, TITLES[0], ALL)
    h = Hostile(app, lead.email, paper.id)
    for title in TITLES:
        h.papers.append(paper_flow.create_paper(lead, title, title).id)
    for name in TOKEN_NAMES:
        accounts.create_token(lead, name)

    orgs = []
    for i, title in enumerate(TITLES):
        org = accounts.create_organisation(title, f"{i}{title}"[:40], OrgKind.OTHER)
        paper_flow.add_participant(lead, paper.id, org.short_name)
        h.orgs.append(org.id)
        orgs.append(org)
    users: list[User] = []
    for i, name in enumerate(NAMES):
        user = accounts.create_user(
            f"u{i}@example.org", name, orgs[i % len(orgs)], factories.PASSWORD, locale="en"
        )
        paper_flow.grant_role(lead, paper.id, user.email, Role.EDITOR)
        h.users.append((user.id, user.email))
        users.append(user)

    for i, (title, body) in enumerate(zip(TITLES, BODIES, strict=True)):
        section = section_flow.add_section(
            users[i % len(users)], paper.id, title=title, level=i % 3 + 1, body=body, note=title
        )
        h.sections.append(section.id)

    collection = section_flow.add_section(lead, paper.id, title="Sammlung", body=ALL)
    for number, payload in enumerate(PAYLOADS, start=1):
        section_flow.save_section(
            users[number % len(users)],
            collection.id,
            title=payload,
            body=payload,
            note=payload,
            base_version=number,
        )
    last = section_flow.save_section(
        lead, collection.id, title=TITLES[1], body=ALL, base_version=len(PAYLOADS) + 1
    )
    h.collection, h.versions = collection.id, last.version
    section_flow.save_draft(lead, collection.id, title=TITLES[2], body=ALL, base_version=1)

    conflict = section_flow.add_section(lead, paper.id, title="Konflikt", body="Anfang Mitte Ende")
    section_flow.save_section(
        users[0],
        conflict.id,
        title=TITLES[0],
        body="Anfang " + "\n\n".join(PAYLOADS[:HALF]) + " Ende",
        base_version=1,
    )
    h.conflict = conflict.id
    removed = section_flow.add_section(lead, paper.id, title=TITLES[3], body=ALL)
    section_flow.remove_section(lead, removed.id)
    h.removed = removed.id
    return h


def check_page(what: str, response: Any, shown: Iterable[str], status: int = 200) -> list[str]:
    """Return the problems of one answer: wrong status, executable content, texts missing."""
    if response.status_code != status:
        return [f"{what}: status {response.status_code}"]
    page = response.get_data(as_text=True)
    problems = []
    try:
        assert_inert(page)
    except AssertionError as err:
        problems.append(f"{what}: {err}")
    text = html.unescape(page)
    missing = [s for s in shown if s.strip() not in text]
    if missing:
        problems.append(f"{what}: does not show {missing[:3]!r}")
    if MARKER not in page:
        problems.append(f"{what}: no payload on the page at all")
    return problems


def check_pages(client: FlaskClient, urls: dict[str, list[str]]) -> None:
    """Fetch each URL; check that its page is inert and shows the given texts."""
    failures = []
    for url, shown in urls.items():
        failures += check_page(url, client.get(url), shown)
    assert not failures, "\n".join(failures)


def test_paper_list_and_paper_pages(hostile: Hostile) -> None:
    urls = {
        "/": TITLES,
        # Section titles and bodies, names of the last authors, the summary.
        f"/papers/{hostile.paper_id}": [*TITLES, *PAYLOADS],
        # Organisations taking part, people with roles.
        f"/papers/{hostile.paper_id}/settings": [*TITLES, *NAMES],
    }
    for paper_id, title in zip(hostile.papers, TITLES, strict=True):
        urls[f"/papers/{paper_id}"] = [title]
        urls[f"/papers/{paper_id}/settings"] = [title]
    check_pages(hostile.browser(), urls)


def test_pages_of_users_with_hostile_names(hostile: Hostile) -> None:
    """A user sees their own name in the page header and on the profile."""
    for (_id, email), name in zip(hostile.users, NAMES, strict=True):
        check_pages(hostile.browser(email), {"/profile": [name]})


def test_section_pages(hostile: Hostile) -> None:
    s = hostile.collection
    urls = {
        f"/sections/{s}/history": [*NAMES, *PAYLOADS],
        f"/sections/{s}/edit": [TITLES[1], *PAYLOADS],
        f"/sections/{hostile.removed}/history": [TITLES[3]],
    }
    # Version 1 and the last hold all payloads, each version between one of them.
    for number, payload in enumerate(PAYLOADS, start=2):
        urls[f"/sections/{s}/versions/{number}"] = [payload]
    # Diffs: all payloads deleted, all inserted, and each payload against its neighbour
    # (versions 2–3, 4–5, …). The diff cuts texts into marked-up words: only the marker is
    # looked for.
    pairs = [(1, 2), (hostile.versions - 1, hostile.versions)]
    pairs += [(n, n + 1) for n in range(2, hostile.versions - 1, 2)]
    for old, new in pairs:
        urls[f"/sections/{s}/compare?from={old}&to={new}"] = []
    for section_id, title in zip(hostile.sections, TITLES, strict=True):
        urls[f"/sections/{section_id}/history"] = [title]
        urls[f"/sections/{section_id}/versions/1"] = [title]
    check_pages(hostile.browser(), urls)


def test_editor_with_a_draft(hostile: Hostile) -> None:
    response = hostile.browser().get(f"/sections/{hostile.collection}/edit")
    assert 'id="draft-offer"' in response.get_data(as_text=True)
    assert not check_page("draft", response, [TITLES[2], *PAYLOADS])


def test_admin_pages(hostile: Hostile) -> None:
    urls = {"/admin/organisations": TITLES, "/admin/users": NAMES}
    for org_id, title in zip(hostile.orgs, TITLES, strict=True):
        urls[f"/admin/organisations/{org_id}"] = [title]
    for (user_id, _email), name in zip(hostile.users, NAMES, strict=True):
        urls[f"/admin/users/{user_id}"] = [name]
    check_pages(hostile.browser(), urls)


def test_profile_with_hostile_token_names(hostile: Hostile) -> None:
    check_pages(hostile.browser(), {"/profile": TOKEN_NAMES})


def test_conflict_and_removed_pages(hostile: Hostile) -> None:
    client = hostile.browser()
    mine = "Anfang " + "\n\n".join(PAYLOADS[HALF:]) + " Ende"
    response = client.post(
        f"/sections/{hostile.conflict}/edit",
        data={
            "title": TITLES[1],
            "level": "1",
            "body": mine,
            "base_version": "1",
            "note": PAYLOADS[0],
        },
    )
    failures = check_page("conflict", response, [TITLES[1], *PAYLOADS], status=409)

    response = client.post(
        f"/sections/{hostile.conflict}/resolve",
        data={
            "base_version": "1",
            "current_version": "2",
            "title": TITLES[1],
            "level": "1",
            "yours": mine,
            "combined": "",
            "note": PAYLOADS[1],
            "apply": "y",
            "choice-0": "yours",
        },
    )
    failures += check_page("conflict, choices applied", response, PAYLOADS[HALF:], status=409)

    response = client.post(
        f"/sections/{hostile.removed}/edit",
        data={
            "title": TITLES[4],
            "level": "1",
            "body": ALL,
            "base_version": "1",
            "note": "",
        },
    )
    failures += check_page("removed meanwhile", response, [TITLES[4], *PAYLOADS], status=409)
    assert not failures, "\n".join(failures)


def test_forms_sent_back_with_errors(hostile: Hostile) -> None:
    client = hostile.browser()
    failures = []
    for title in TITLES:
        response = client.post(
            f"/papers/{hostile.paper_id}/sections/new",
            data={"title": title, "level": "9", "body": ALL},
        )
        failures += check_page(f"new section {title!r}", response, [title, *PAYLOADS], status=422)
    visitor = isolated_client(hostile.app, HTTP_ACCEPT_LANGUAGE="en")
    for title in TITLES[:2]:  # each costs a full password check
        response = visitor.post("/login", data={"email": title, "password": "x"})
        failures += check_page(f"login {title!r}", response, [title])
    assert not failures, "\n".join(failures)


def test_flash_messages_quote_titles_inertly(hostile: Hostile) -> None:
    client = hostile.browser()
    section_id = hostile.sections[0]
    response = client.post(f"/sections/{section_id}/remove", follow_redirects=True)
    problems = check_page("after removal", response, [f"“{TITLES[0]}” was removed"])
    client.post(f"/sections/{section_id}/undo-remove")
    assert not problems, "\n".join(problems)
