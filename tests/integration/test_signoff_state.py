"""Random sign-off rounds (Hypothesis stateful testing, issue 5).

Each example is a fresh paper of the test world, led by the ministry with the city and the
chamber taking part, two approved sections and a signatory in every organisation (two in the
city). The steps are: start a round, decide (approve, with reservation, reject; with or
without a text; with the edition's hash, none, or a stale one), cancel, start a new cycle,
edit a section, approve every section, and try to add an organisation — by anyone, the
outsider included. A small model predicts which steps succeed and what the paper's state
becomes. What must hold after every step:

* at most one edition of the paper is being signed, and it is the paper's current edition
  exactly while the paper is in sign-off;
* the paper is final exactly when its current edition is final;
* every decision's ``edition_hash`` equals its edition's stored hash and the hash computed
  here anew from the stored versions;
* a final edition never changes: not its versions, texts, hash, state or decisions;
* ``workflows.signoff.verify`` finds nothing, and the activity chain verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    Edition,
    EditionSection,
    EditionStatus,
    Paper,
    PaperStatus,
    Role,
    SectionVersion,
    SignoffDecision,
)
from tests import factories
from workflows import activity
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as flow
from workflows.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    PaperLocked,
    ValidationFailed,
    WorkflowError,
)

P = PaperStatus
REFUSALS = (InvalidTransition, NotAllowed, NotFound, PaperLocked, ValidationFailed)
SIGNATORY_ORG = {
    "min_signatory": "MIN",
    "signatory": "CITY",
    "signatory2": "CITY",
    "ihk_signatory": "IHK",
}
ORGS = {"MIN", "CITY", "IHK"}
PEOPLE = ("coordinator", "editor", "member", "outsider", *SIGNATORY_ORG)

people = st.sampled_from(PEOPLE)
# Signatories decide more often than the others try, so that runs get past the refusals.
signatories = st.sampled_from([*sorted(SIGNATORY_ORG), *PEOPLE])
kinds = st.sampled_from(["approve", "approve", "approve_with_reservation", "reject"])
hashes = st.sampled_from(["current", "current", "none", "stale"])


@dataclass(frozen=True)
class StoredEdition:
    """An edition as the tables hold it: its state, hash, texts in order and decisions."""

    status: EditionStatus
    hash: str
    label: str
    closed_at: Any
    entries: tuple[tuple[int, int, str, int, str], ...]  # section, version id, title, level, body
    decisions: tuple[tuple[Any, ...], ...]  # organisation, decision, note, user, edition_hash


@dataclass(frozen=True)
class Stored:
    """A paper's state and editions (by number), read straight from the tables."""

    status: PaperStatus
    current: int | None  # the number of the current edition
    editions: dict[int, StoredEdition]


def stored(paper_id: int) -> Stored:
    """Read a paper's state, editions, their texts and decisions with four queries."""
    db.session.expire_all()
    paper = db.session.get(Paper, paper_id)
    assert paper is not None
    editions = db.session.scalars(select(Edition).where(Edition.paper_id == paper_id)).all()
    entries: dict[int, list[tuple[int, int, str, int, str]]] = {e.id: [] for e in editions}
    for edition_id, section_id, version_id, title, level, body in db.session.execute(
        select(
            EditionSection.edition_id,
            EditionSection.section_id,
            SectionVersion.id,
            SectionVersion.title,
            SectionVersion.level,
            SectionVersion.body,
        )
        .join(SectionVersion, SectionVersion.id == EditionSection.version_id)
        .join(Edition, Edition.id == EditionSection.edition_id)
        .where(Edition.paper_id == paper_id)
        .order_by(EditionSection.edition_id, EditionSection.position)
    ):
        entries[edition_id].append((section_id, version_id, title, level, body))
    decisions: dict[int, list[tuple[Any, ...]]] = {e.id: [] for e in editions}
    for edition_id, *decision in db.session.execute(
        select(
            SignoffDecision.edition_id,
            SignoffDecision.organisation_id,
            SignoffDecision.decision,
            SignoffDecision.note,
            SignoffDecision.user_id,
            SignoffDecision.edition_hash,
        )
        .join(Edition, Edition.id == SignoffDecision.edition_id)
        .where(Edition.paper_id == paper_id)
        .order_by(SignoffDecision.edition_id, SignoffDecision.organisation_id)
    ):
        decisions[edition_id].append(tuple(decision))
    numbers = {e.id: e.number for e in editions}
    return Stored(
        status=paper.status,
        current=numbers[paper.current_edition_id] if paper.current_edition_id else None,
        editions={
            e.number: StoredEdition(
                e.status,
                e.content_hash,
                e.label,
                e.closed_at,
                tuple(entries[e.id]),
                tuple(decisions[e.id]),
            )
            for e in editions
        },
    )


def hash_of(entries: tuple[tuple[int, int, str, int, str], ...]) -> str:
    """Hash the ordered titles, levels and bodies anew, independently of the code under test."""
    parts = [[title, level, body] for _section, _version, title, level, body in entries]
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class SignoffMachine(RuleBasedStateMachine):
    """Random sign-off steps on a fresh paper, checked against a small model."""

    world: factories.World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        paper = factories.paper(w.coordinator, title="Zufallskonzept")
        for short in ("CITY", "IHK"):
            paper_flow.add_participant(w.coordinator, paper.id, short)
        paper_flow.grant_role(w.coordinator, paper.id, w.editor.email, Role.EDITOR)
        paper_flow.grant_role(w.coordinator, paper.id, w.reviewer.email, Role.REVIEWER)
        for who in SIGNATORY_ORG:
            paper_flow.grant_role(w.coordinator, paper.id, w.users[who].email, Role.SIGNATORY)
        self.paper_id = paper.id
        self.section_ids = [
            factories.section(w.editor, paper, title=f"Teil {n}", body=f"Text {n}.").id
            for n in range(2)
        ]
        factories.approve_all(w, paper)
        # The model.
        self.status = P.DRAFTING
        self.approved = True
        self.decisions: dict[str, str] = {}
        self.counter = 0
        # number -> what a final edition held when it was first seen final
        self.finals: dict[int, StoredEdition] = {}
        self.steps = 0
        self._snapshot: tuple[int, Stored] | None = None

    # --- running one step ----------------------------------------------------------------------

    def _paper(self) -> Paper:
        db.session.expire_all()
        paper = db.session.get(Paper, self.paper_id)
        assert paper is not None
        return paper

    def _attempt(self, step: str, action: Callable[[], Any]) -> WorkflowError | None:
        self.steps += 1
        try:
            action()
        except REFUSALS as err:
            db.session.rollback()
            event(f"{step}: {type(err).__name__}")
            return err
        event(f"{step}: done")
        return None

    def _user(self, who: str) -> Any:
        return self.world.users[who]

    def _current_hash(self) -> str:
        paper = self._paper()
        edition = flow.current_edition(paper)
        return edition.content_hash if edition is not None else "0" * 64

    # --- the rules -----------------------------------------------------------------------------
    # The usual steps, each where it makes sense ...

    @precondition(lambda self: self.status == P.DRAFTING)
    @rule(label=st.sampled_from(["", "Entwurf", "Fassung „Süd“"]))
    def start(self, label: str) -> None:
        self._try("start", "coordinator", label)

    @precondition(lambda self: self.status == P.SIGNING)
    @rule(who=signatories, kind=kinds, with_note=st.booleans(), shown=hashes)
    def decide(self, who: str, kind: str, with_note: bool, shown: str) -> None:
        self.counter += 1
        note = f"Anmerkung {self.counter}." if with_note else ""
        edition_hash = {"current": self._current_hash(), "none": None, "stale": "f" * 64}[shown]
        refusal = self._attempt(
            "decide",
            lambda: flow.decide(
                self._user(who), self.paper_id, kind, note, edition_hash=edition_hash
            ),
        )
        expected = (
            who in SIGNATORY_ORG
            and self.status == P.SIGNING
            and (kind == "approve" or with_note)
            and shown != "stale"
        )
        assert (refusal is None) == expected, (who, kind, with_note, shown, refusal)
        if refusal is None:
            self.decisions[SIGNATORY_ORG[who]] = kind
            if set(self.decisions) == ORGS and "reject" not in self.decisions.values():
                self.status = P.FINAL
                event("the paper became final")

    @precondition(lambda self: self.status == P.SIGNING)
    @rule(reservation=st.booleans())
    def every_organisation_assents(self, reservation: bool) -> None:
        """All three decide in one step: gets runs to final editions that later steps touch."""
        self.decide("min_signatory", "approve", with_note=False, shown="current")
        kind = "approve_with_reservation" if reservation else "approve"
        self.decide("signatory2", kind, with_note=reservation, shown="none")
        self.decide("ihk_signatory", "approve", with_note=False, shown="current")

    @precondition(lambda self: self.status == P.SIGNING)
    @rule()
    def cancel(self) -> None:
        self._try("cancel", "coordinator")

    @precondition(lambda self: self.status == P.FINAL)
    @rule()
    def new_cycle(self) -> None:
        self._try("new_cycle", "coordinator")

    @rule(index=st.integers(min_value=0, max_value=1), approve=st.booleans())
    def edit(self, index: int, approve: bool) -> None:
        """Save a new text of a section (refused unless drafting), maybe approve it again."""
        self._try("edit", "editor", index)
        if approve and self.status == P.DRAFTING:
            self.approve_every_section()

    @precondition(lambda self: not self.approved)
    @rule()
    def approve_every_section(self) -> None:
        assert self.status == P.DRAFTING  # edits are refused unless drafting
        refusal = self._attempt("approve", lambda: factories.approve_all(self.world, self._paper()))
        assert refusal is None, refusal
        self.approved = True

    # ... and anyone trying anything in any state.

    @rule(
        action=st.sampled_from(["start", "cancel", "new_cycle", "add_organisation", "edit"]),
        who=people,
    )
    def anyone_tries(self, action: str, who: str) -> None:
        self._try(action, who, "" if action == "start" else 0)

    def _try(self, action: str, who: str, arg: Any = None) -> None:
        user = self._user(who)
        steps: dict[str, Callable[[], Any]] = {
            "start": lambda: flow.start(user, self.paper_id, label=arg),
            "cancel": lambda: flow.cancel(user, self.paper_id),
            "new_cycle": lambda: flow.new_cycle(user, self.paper_id),
            "add_organisation": lambda: paper_flow.add_participant(user, self.paper_id, "OUT"),
            "edit": lambda: self._save(user, arg),
        }
        refusal = self._attempt(action, steps[action])
        may = {
            "start": who == "coordinator" and self.status == P.DRAFTING and self.approved,
            "cancel": who == "coordinator" and self.status == P.SIGNING,
            "new_cycle": who == "coordinator" and self.status == P.FINAL,
            "add_organisation": who == "coordinator" and self.status == P.DRAFTING,
            "edit": who in ("coordinator", "editor") and self.status == P.DRAFTING,
        }[action]
        assert (refusal is None) == may, (action, who, self.status, self.approved, refusal)
        if who == "outsider":
            assert isinstance(refusal, NotFound), refusal
        elif refusal is not None and who == "coordinator":
            # Coordinators may do all of it: what stops them is the paper's state.
            assert isinstance(refusal, InvalidTransition | PaperLocked), refusal
        if refusal is not None:
            return
        if action == "start":
            self.status, self.decisions = P.SIGNING, {}
        elif action in ("cancel", "new_cycle"):
            self.status = P.DRAFTING
        elif action == "edit":
            self.approved = False
        elif action == "add_organisation":
            # ... and out again, so that the three organisations can finish a round.
            paper_flow.remove_participant(
                self.world.coordinator, self.paper_id, self.world.outside.id
            )

    def _save(self, user: Any, index: int) -> None:
        db.session.expire_all()
        section = section_flow.list_sections(self.paper_id)[index]
        head = section.head
        assert head is not None and section.id == self.section_ids[index]
        self.counter += 1
        section_flow.save_section(
            user, section.id, body=f"{head.body} Satz {self.counter}.", base_version=head.number
        )

    # --- the invariants ------------------------------------------------------------------------

    def _stored(self) -> Stored:
        """Read the paper, its editions and decisions once per step, for all invariants."""
        if self._snapshot is None or self._snapshot[0] != self.steps:
            self._snapshot = (self.steps, stored(self.paper_id))
        return self._snapshot[1]

    @invariant()
    def the_model_and_the_paper_agree(self) -> None:
        assert self._stored().status == self.status

    @invariant()
    def one_round_at_a_time_on_the_current_edition(self) -> None:
        now = self._stored()
        signing = [n for n, e in now.editions.items() if e.status == EditionStatus.SIGNING]
        assert len(signing) <= 1
        if now.status == P.SIGNING:
            assert now.current is not None and signing == [now.current]
        else:
            assert signing == []
        if now.status == P.DRAFTING:
            assert now.current is None

    @invariant()
    def final_paper_exactly_when_its_current_edition_is_final(self) -> None:
        now = self._stored()
        current = now.editions.get(now.current) if now.current is not None else None
        edition_final = current is not None and current.status == EditionStatus.FINAL
        assert (now.status == P.FINAL) == edition_final

    @invariant()
    def decisions_are_bound_to_their_editions_text(self) -> None:
        for edition in self._stored().editions.values():
            recomputed = hash_of(edition.entries)
            assert edition.hash == recomputed
            for decision in edition.decisions:
                assert decision[-1] == edition.hash == recomputed

    @invariant()
    def final_editions_never_change(self) -> None:
        for number, edition in self._stored().editions.items():
            if edition.status == EditionStatus.FINAL or number in self.finals:
                assert self.finals.setdefault(number, edition) == edition

    @invariant()
    def the_editions_and_the_log_verify(self) -> None:
        assert flow.verify(self.paper_id) == []
        assert activity.verify(self.paper_id) == []


def test_random_signoff_rounds_keep_the_invariants(world):
    for who, org in (
        ("min_signatory", world.ministry),
        ("signatory2", world.city),
        ("ihk_signatory", world.chamber),
    ):
        world.users[who] = factories.user(org, f"{who}@example.org")
    world.users["signatory"] = world.signatory

    class Machine(SignoffMachine):
        pass

    Machine.world = world
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=10,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
