"""Random review actions by random people (Hypothesis stateful testing, issue 4).

Each example is a fresh paper with two sections in the test world; the coordinator is a
reviewer too, so that four-eyes is put to the test. The steps are submit, approve (of the
current or a stale version), send back (with or without a reason), save (normal, editorial
and trivial, editorial but substantive, trivial but not marked editorial; on the current or a
stale base), suggest, accept and reject — by anyone, the outsider included. Refusals are
expected; what must hold after every step:

* an approved section's approved version is its current version, or the current version is
  an editorial carry-over (``carried_to``) recorded as such, textually equal but for
  whitespace, punctuation and case;
* nobody approved a version they wrote, nor one holding text they wrote since the last
  approval (issue 9);
* every change of a review state has an activity entry;
* the paper's hash chain verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Paper,
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    Role,
    SectionVersion,
    Suggestion,
    SuggestionStatus,
)
from tests import factories
from workflows import activity
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import (
    EditConflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
    WorkflowError,
)
from workflows.reviewstate import only_editorial

PEOPLE = ("coordinator", "editor", "reviewer", "signatory", "member", "outsider")
EDITORS = {"coordinator", "editor"}
REVIEWERS = {"coordinator", "reviewer"}
REFUSALS = (NotAllowed, NotFound, InvalidTransition, ValidationFailed, EditConflict)
SAVES = ("normal", "editorial-trivial", "editorial-substantive", "trivial-unmarked")

people = st.sampled_from(PEOPLE)
# Anyone may try anything, but the people who may do a step try it half of the time, so that
# the runs get past the refusals into approvals, carry-overs and resets.
editors = st.one_of(st.sampled_from(sorted(EDITORS)), people)
reviewers = st.one_of(st.sampled_from(sorted(REVIEWERS)), people)
which = st.integers(min_value=0, max_value=1)
stale_base = st.sampled_from([False, False, False, True])


def _toggle_case(text: str) -> str:
    """Change the case of the first letter: a trivial change that always makes a new text."""
    return text[0].swapcase() + text[1:]


class ReviewMachine(RuleBasedStateMachine):
    """Random actions on a fresh paper of the test world."""

    world: factories.World  # set by the test
    suggestions = Bundle("suggestions")

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        paper = factories.paper(w.coordinator, title="Zufallskonzept")
        for short in ("CITY", "IHK"):
            paper_flow.add_participant(w.coordinator, paper.id, short)
        for person, role in (
            (w.editor, Role.EDITOR),
            (w.reviewer, Role.REVIEWER),
            (w.coordinator, Role.REVIEWER),
            (w.signatory, Role.SIGNATORY),
        ):
            paper_flow.grant_role(w.coordinator, paper.id, person.email, role)
        self.paper_id = paper.id
        self.section_ids = [
            factories.section(w.editor, paper, title=f"Teil {n}", body=f"Text {n}.\n\nEnde.").id
            for n in range(2)
        ]
        self.counter = 0

    # --- running one step --------------------------------------------------------------------

    def _states(self) -> dict[int, ReviewState]:
        rows = db.session.execute(
            select(ReviewStatus.section_id, ReviewStatus.state).where(
                ReviewStatus.section_id.in_(self.section_ids)
            )
        )
        states = {sid: ReviewState.DRAFT for sid in self.section_ids}
        states.update({sid: state for sid, state in rows})
        return states

    def _head(self, sid: int) -> SectionVersion:
        # Versions never change: the newest row, whatever the session holds, is current.
        head = db.session.scalar(
            select(SectionVersion)
            .where(SectionVersion.section_id == sid)
            .order_by(SectionVersion.number.desc())
            .limit(1)
        )
        assert head is not None
        return head

    def _attempt(self, step: str, who: str, action: Callable[[], Any]) -> WorkflowError | None:
        """Run an action; return its refusal (rolled back) or None, and check the log.

        ``pytest --hypothesis-show-statistics`` shows how often each step did what.
        """
        before = self._states()
        paper = db.session.get(Paper, self.paper_id)
        assert paper is not None
        seq = paper.log_seq
        refusal: WorkflowError | None = None
        try:
            action()
        except REFUSALS as err:
            db.session.rollback()
            refusal = err
        if who == "outsider":
            # Input is checked first (the same answer whether the object exists or not).
            assert isinstance(refusal, NotFound | ValidationFailed), refusal
        after = self._states()
        event(f"{step}: {type(refusal).__name__ if refusal else 'done'}")
        for sid in self.section_ids:
            if refusal is None and before[sid] != after[sid]:
                event(f"{before[sid].value} → {after[sid].value}")
            if before[sid] != after[sid]:
                assert refusal is None, f"a refused action changed the state of {sid}"
                logged = db.session.scalars(
                    select(ActivityEntry.action).where(
                        ActivityEntry.paper_id == self.paper_id,
                        ActivityEntry.section_id == sid,
                        ActivityEntry.seq > seq,
                        ActivityEntry.action.startswith("review."),
                    )
                ).all()
                assert logged, f"{before[sid]} → {after[sid]} of section {sid} was not logged"
        return refusal

    def _user(self, who: str) -> Any:
        return self.world.users[who]

    # --- the rules ---------------------------------------------------------------------------

    @rule(who=editors, index=which, named=st.booleans())
    def submit(self, who: str, index: int, named: bool) -> None:
        sid = self.section_ids[index]
        reviewers = [self.world.reviewer.email] if named else []
        refusal = self._attempt(
            "submit", who, lambda: review_flow.submit(self._user(who), sid, reviewers=reviewers)
        )
        if refusal is None:
            assert who in EDITORS
            assert self._states()[sid] == ReviewState.IN_REVIEW
        elif isinstance(refusal, NotAllowed):
            assert who not in EDITORS

    @rule(
        editor=st.sampled_from(sorted(EDITORS)),
        reviewer=st.sampled_from(sorted(REVIEWERS)),
        index=which,
    )
    def review_round(self, editor: str, reviewer: str, index: int) -> None:
        """Submit and approve in one step: gets runs to approvals that later saves touch."""
        self.submit(editor, index, named=False)
        self.approve(reviewer, index, stale=False)

    @rule(who=reviewers, index=which, stale=stale_base)
    def approve(self, who: str, index: int, stale: bool) -> None:
        sid = self.section_ids[index]
        head = self._head(sid)
        number = max(head.number - 1, 1) if stale else head.number
        # Issue 9: whoever wrote or chose text in any version since the last approval.
        since = (
            db.session.scalar(
                select(ReviewStatus.approved_version).where(ReviewStatus.section_id == sid)
            )
            or 0
        )
        contributors = {
            uid
            for row in db.session.execute(
                select(SectionVersion.author_id, SectionVersion.coauthor_id).where(
                    SectionVersion.section_id == sid,
                    SectionVersion.number > since,
                    SectionVersion.number <= number,
                )
            )
            for uid in row
        }
        refusal = self._attempt(
            "approve", who, lambda: review_flow.approve(self._user(who), sid, number, "Gut so.")
        )
        if refusal is None:
            assert who in REVIEWERS and (self._user(who).id not in contributors or since >= number)
            assert number == head.number
            assert self._states()[sid] == ReviewState.APPROVED
        elif isinstance(refusal, NotAllowed):
            version_author = db.session.scalar(
                select(SectionVersion.author_id).where(
                    SectionVersion.section_id == sid, SectionVersion.number == number
                )
            )
            assert who not in REVIEWERS or self._user(who).id in contributors | {version_author}

    @rule(
        who=reviewers,
        index=which,
        reason=st.one_of(st.just("Bitte kürzen."), st.sampled_from(["", "  "])),
    )
    def request_changes(self, who: str, index: int, reason: str) -> None:
        sid = self.section_ids[index]
        number = self._head(sid).number
        refusal = self._attempt(
            "request_changes",
            who,
            lambda: review_flow.request_changes(self._user(who), sid, number, reason),
        )
        if refusal is None:
            assert who in REVIEWERS and reason.strip()
            assert self._states()[sid] == ReviewState.CHANGES_REQUESTED

    @rule(who=editors, index=which, kind=st.sampled_from(SAVES), stale=stale_base)
    def save(self, who: str, index: int, kind: str, stale: bool) -> None:
        sid = self.section_ids[index]
        head = self._head(sid)
        self.counter += 1
        if kind in ("editorial-trivial", "trivial-unmarked"):
            body = _toggle_case(head.body)
        else:
            body = f"{head.body}\n\nSatz {self.counter}."
        base = max(head.number - 1, 1) if stale else head.number
        editorial = kind.startswith("editorial")
        before = self._states()[sid]
        event(f"save {kind}{' on a stale base' if stale else ''} in {before.value}")
        refusal = self._attempt(
            "save",
            who,
            lambda: section_flow.save_section(
                self._user(who), sid, body=body, base_version=base, editorial=editorial
            ),
        )
        if refusal is None:
            assert who in EDITORS
            after = self._states()[sid]
            if stale:
                pass  # merged: whether the result is trivial depends on the other change
            elif kind != "editorial-trivial":
                assert after == ReviewState.DRAFT
            elif before in (ReviewState.APPROVED, ReviewState.IN_REVIEW):
                # The current text is (editorially) the approved or reviewed one: carried over.
                assert after == before
            else:
                assert after == ReviewState.DRAFT

    @rule(target=suggestions, who=people, index=which, stale=stale_base)
    def suggest(self, who: str, index: int, stale: bool) -> Any:
        sid = self.section_ids[index]
        head = self._head(sid)
        self.counter += 1
        created: list[int] = []
        base = max(head.number - 1, 1) if stale else head.number
        body = f"Vorschlag {self.counter}.\n\n{head.body}"

        def run() -> None:
            item = suggestion_flow.create_suggestion(
                self._user(who), sid, body=body, base_version=base, note="Besser so."
            )
            created.append(item.id)

        refusal = self._attempt("suggest", who, run)
        if who != "outsider":
            assert refusal is None, refusal  # every member may suggest
        return created[0] if created else multiple()

    @rule(who=editors, item=suggestions)
    def accept(self, who: str, item: int) -> None:
        results: list[section_flow.SaveResult] = []
        refusal = self._attempt(
            "accept", who, lambda: results.append(suggestion_flow.accept(self._user(who), item))
        )
        if refusal is None:
            assert who in EDITORS
            db.session.expire_all()
            decided = db.session.get(Suggestion, item)
            assert decided is not None and decided.status == SuggestionStatus.ACCEPTED
            assert decided.result_version == results[0].version
            if results[0].created:
                author = db.session.scalar(
                    select(SectionVersion.author_id).where(
                        SectionVersion.section_id == decided.section_id,
                        SectionVersion.number == decided.result_version,
                    )
                )
                assert author == decided.author_id

    @rule(who=editors, item=suggestions, reason=st.sampled_from(["Nein.", ""]))
    def reject(self, who: str, item: int, reason: str) -> None:
        refusal = self._attempt(
            "reject", who, lambda: suggestion_flow.reject(self._user(who), item, reason)
        )
        if refusal is None:
            assert who in EDITORS and reason

    # --- the invariants ----------------------------------------------------------------------

    @invariant()
    def approvals_belong_to_the_current_version(self) -> None:
        approved = db.session.scalars(
            select(ReviewStatus)
            .where(
                ReviewStatus.section_id.in_(self.section_ids),
                ReviewStatus.state == ReviewState.APPROVED,
            )
            .execution_options(populate_existing=True)
        ).all()
        for status in approved:
            sid = status.section_id
            current = self._head(sid)
            if status.carried_to is None:
                assert status.approved_version == current.number
                continue
            assert status.carried_to == current.number
            assert status.approved_version is not None
            assert status.approved_version < status.carried_to
            recorded = db.session.scalar(
                select(ReviewEvent.id).where(
                    ReviewEvent.section_id == sid,
                    ReviewEvent.kind == "carried_over",
                    ReviewEvent.version == current.number,
                )
            )
            assert recorded is not None, "carry-over not recorded"
            text_approved = db.session.scalar(
                select(SectionVersion).where(
                    SectionVersion.section_id == sid,
                    SectionVersion.number == status.approved_version,
                )
            )
            assert text_approved is not None
            assert only_editorial(
                text_approved.title + "\n" + text_approved.body, current.title + "\n" + current.body
            )

    @invariant()
    def nobody_approved_their_own_version(self) -> None:
        rows = db.session.execute(
            select(ReviewEvent.actor_id, SectionVersion.author_id)
            .join(
                SectionVersion,
                (SectionVersion.section_id == ReviewEvent.section_id)
                & (SectionVersion.number == ReviewEvent.version),
            )
            .where(ReviewEvent.section_id.in_(self.section_ids), ReviewEvent.kind == "approved")
        ).all()
        for actor_id, author_id in rows:
            assert actor_id != author_id

    @invariant()
    def the_hash_chain_verifies(self) -> None:
        assert activity.verify(self.paper_id) == []


def test_random_review_actions_keep_the_invariants(world):
    class Machine(ReviewMachine):
        pass

    Machine.world = world
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
