"""Small factories for tests: organisations, users, papers and sections via the workflows."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from drafting.models import Organisation, OrgKind, Paper, Role, Section, User
from workflows import accounts
from workflows import papers as paper_flow
from workflows import sections as section_flow

PASSWORD = "correct-horse-battery"
_seq = count(1)


def org(short: str | None = None, kind: OrgKind = OrgKind.MUNICIPALITY) -> Organisation:
    """Create an organisation with a unique name."""
    n = next(_seq)
    short = short or f"ORG{n}"
    return accounts.create_organisation(f"Organisation {short} {n}", short, kind)


def user(
    organisation: Organisation,
    email: str | None = None,
    *,
    name: str | None = None,
    admin: bool = False,
    locale: str = "de",
) -> User:
    """Create an active user in an organisation."""
    n = next(_seq)
    return accounts.create_user(
        email or f"user{n}@example.org",
        name or f"Person {n}",
        organisation,
        PASSWORD,
        is_admin=admin,
        locale=locale,
    )


def token(u: User) -> str:
    """Create an API token for a user and return it."""
    return accounts.create_token(u, "test")[1]


def paper(coordinator: User, title: str = "Konzept Innenstadt") -> Paper:
    """Create a paper led by the coordinator's organisation."""
    return paper_flow.create_paper(coordinator, title, "Eine Zusammenfassung.")


def section(
    author: User, p: Paper, title: str = "Ausgangslage", body: str = "Text.", level: int = 1
) -> Section:
    """Add a section to a paper."""
    return section_flow.add_section(author, p.id, title=title, level=level, body=body)


@dataclass
class World:
    """A paper led by a ministry, with a city and a chamber taking part, and an outsider."""

    ministry: Organisation
    city: Organisation
    chamber: Organisation
    outside: Organisation
    admin: User
    coordinator: User
    editor: User
    reviewer: User
    signatory: User
    member: User
    outsider: User
    paper: Paper
    section: Section
    users: dict[str, User] = field(default_factory=dict)


def world() -> World:
    """Build the standard test world."""
    ministry = org("MIN", OrgKind.MINISTRY)
    city = org("CITY", OrgKind.MUNICIPALITY)
    chamber = org("IHK", OrgKind.CHAMBER)
    outside = org("OUT", OrgKind.COMPANY)
    admin = user(ministry, "admin@example.org", name="Ada Admin", admin=True)
    coordinator = user(ministry, "coord@example.org", name="Cora Koordination")
    editor = user(city, "editor@example.org", name="Emil Redaktion")
    reviewer = user(chamber, "reviewer@example.org", name="Rita Prüfung")
    signatory = user(city, "signatory@example.org", name="Sigrid Zeichnung")
    member = user(city, "member@example.org", name="Max Mitglied")
    outsider = user(outside, "outsider@example.org", name="Otto Außen")
    p = paper(coordinator)
    for short in ("CITY", "IHK"):
        paper_flow.add_participant(coordinator, p.id, short)
    paper_flow.grant_role(coordinator, p.id, editor.email, Role.EDITOR)
    paper_flow.grant_role(coordinator, p.id, reviewer.email, Role.REVIEWER)
    paper_flow.grant_role(coordinator, p.id, signatory.email, Role.SIGNATORY)
    s = section(editor, p, body="Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen.")
    users = {
        "admin": admin,
        "coordinator": coordinator,
        "editor": editor,
        "reviewer": reviewer,
        "signatory": signatory,
        "member": member,
        "outsider": outsider,
    }
    return World(
        ministry,
        city,
        chamber,
        outside,
        admin,
        coordinator,
        editor,
        reviewer,
        signatory,
        member,
        outsider,
        p,
        s,
        users,
    )


def approve_all(w: World, p: Paper | None = None) -> None:
    """Submit and approve every present section of a paper (the world's by default).

    The world's editor submits and its reviewer approves (four-eyes: the reviewer must not
    have written the current version). Sections already approved in their current version
    are left alone; a section whose changes were requested must be saved first.
    """
    from drafting.models import ReviewState
    from workflows import review as review_flow
    from workflows.reviewstate import statuses_for

    paper_id = (p or w.paper).id
    sections = section_flow.list_sections(paper_id)
    statuses = statuses_for(s.id for s in sections)
    for s in sections:
        status = statuses.get(s.id)
        if (
            status is not None
            and status.state == ReviewState.APPROVED
            and s.version in (status.approved_version, status.carried_to)
        ):
            continue
        version = s.version
        review_flow.submit(w.editor, s.id)
        review_flow.approve(w.reviewer, s.id, version)
