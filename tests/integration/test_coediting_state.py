"""Several simulated editors save one section from random base versions (issue 3, stateful).

Every word of the text is a unique token (``t17x``), and every edit either inserts a new
token, replaces one, or deletes one. That makes "what a save wrote" and "what a save took
away" exact sets: for an accepted save, *written* = tokens of the submitted text that were
not in its base version, *removed* = tokens of its base version that are not in the
submitted text. Merging "applies mine onto theirs", so the newest text must hold exactly

    initial tokens + everything written − everything deliberately removed

by the accepted saves, in the field (title or body) they were written to. A token that an
accepted save wrote and that is missing from the newest text, without a later accepted save
having removed it on purpose, is a lost edit; a removed token that shows up again is a ghost.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import count

import pytest
from diff_match_patch import diff_match_patch
from hypothesis import HealthCheck, Phase, settings
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
from drafting.models import Draft, Role, SectionVersion, User
from drafting.text.merge import THEIRS, YOURS, Chunk, MergeResult, merge3, resolve
from tests import factories
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows.errors import EditConflict

TOKEN = re.compile(r"\bt\d+x\b")
FIELDS = ("title", "body")
EDITORS = 4
MAX_TITLE_TOKENS = 12


def words(text: str) -> set[str]:
    """Return the unique tokens of a text."""
    found = TOKEN.findall(text)
    assert len(found) == len(set(found)), f"a token appears twice: {text!r}"
    return set(found)


@dataclass
class Editor:
    """One person with the editor's page open: the version they started from and their text."""

    user: User
    base: int | None = None
    base_text: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    autosaved: tuple[int, str, str] | None = None

    @property
    def editing(self) -> bool:
        return self.base is not None

    @property
    def changed(self) -> bool:
        return self.editing and self.text != self.base_text


@dataclass(frozen=True)
class Accepted:
    """A save that made a version, as the save answered it."""

    number: int
    title: str
    body: str


def _edit(text: str, kind: str, where: int, new: str) -> str:
    """Apply one token edit to a text; every other character stays where it was."""
    spans = [m.span() for m in TOKEN.finditer(text)]
    if kind == "paragraph" or not spans:
        return f"{text}\n\n{new}" if text else new
    start, end = spans[where % len(spans)]
    if kind == "insert":
        return f"{text[:start]}{new} {text[start:]}"
    if kind == "append":
        return f"{text[:end]} {new}{text[end:]}"
    if kind == "delete":
        if text[end : end + 1] == " ":
            return text[:start] + text[end + 1 :]
        if start > 0 and text[start - 1] == " ":
            return text[: start - 1] + text[end:]
        # The only word of its paragraph: replace it instead of leaving an empty paragraph.
    return f"{text[:start]}{new}{text[end:]}"


def make_machine(world: factories.World, stats: Counter[str]) -> type[RuleBasedStateMachine]:
    """Build the state machine class over the world's paper and a few more editors."""
    editors_users = [world.editor, world.coordinator]
    for n in range(EDITORS - len(editors_users)):
        extra = factories.user(world.city, name=f"Redaktion {n}")
        paper_flow.grant_role(world.coordinator, world.paper.id, extra.email, Role.EDITOR)
        editors_users.append(extra)
    user_ids = [u.id for u in editors_users]

    class CoEditing(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self._ids = count(1)
            # A short text, so that editors often meet in the same words.
            title = " ".join(self.new_token() for _ in range(2))
            body = "\n\n".join(" ".join(self.new_token() for _ in range(3)) for _ in range(3))
            section = section_flow.add_section(
                world.coordinator, world.paper.id, title=title, body=body
            )
            self.section_id = section.id
            self.accepted: list[Accepted] = [Accepted(1, title, body)]
            self.expected = {"title": words(title), "body": words(body)}
            self.written: dict[str, int] = {}  # token -> version that wrote it
            self.removed: dict[str, int] = {}  # token -> version that removed it on purpose
            self.editors = [Editor(db.get_or_404(User, uid)) for uid in user_ids]

        def new_token(self) -> str:
            return f"t{next(self._ids)}x"

        # --- reading the database ---------------------------------------------------------

        def stored(self) -> list[SectionVersion]:
            db.session.expire_all()
            return list(
                db.session.scalars(
                    select(SectionVersion)
                    .where(SectionVersion.section_id == self.section_id)
                    .order_by(SectionVersion.number)
                )
            )

        def head(self) -> SectionVersion:
            return self.stored()[-1]

        def pick_editing(self, who: int) -> Editor:
            editing = [e for e in self.editors if e.editing]
            return editing[who % len(editing)]

        def take(self, editor: Editor, number: int) -> None:
            """Open the editor on a stored version."""
            version = section_flow.version_of(self.section_id, number)
            assert version is not None
            editor.base = number
            editor.base_text = {"title": version.title, "body": version.body}
            editor.text = dict(editor.base_text)

        # --- rules ------------------------------------------------------------------------

        @precondition(lambda self: any(not e.editing for e in self.editors))
        @rule(who=st.integers(0, EDITORS - 1))
        def start_editing(self, who: int) -> None:
            """Someone not yet editing opens the editor on the current version."""
            idle = [e for e in self.editors if not e.editing]
            self.take(idle[who % len(idle)], self.head().number)

        @precondition(lambda self: any(e.editing for e in self.editors))
        @rule(
            who=st.integers(0, EDITORS - 1),
            edits=st.lists(
                st.tuples(
                    st.sampled_from(
                        ["insert", "append", "replace", "delete", "paragraph", "title"]
                    ),
                    st.integers(0, 10_000),
                ),
                min_size=1,
                max_size=3,
            ),
        )
        def edit(self, who: int, edits: list[tuple[str, int]]) -> None:
            """Change words of the text the editor has open."""
            editor = self.pick_editing(who)
            for kind, where in edits:
                if kind == "title":
                    title = editor.text["title"]
                    grow = len(TOKEN.findall(title)) < MAX_TITLE_TOKENS
                    action = ("insert", "replace", "append")[where % 3] if grow else "replace"
                    editor.text["title"] = _edit(title, action, where // 3, self.new_token())
                else:
                    editor.text["body"] = _edit(editor.text["body"], kind, where, self.new_token())

        @precondition(lambda self: any(e.editing for e in self.editors))
        @rule(who=st.integers(0, EDITORS - 1))
        def autosave(self, who: int) -> None:
            """The editor's page keeps its unsaved text on the server."""
            editor = self.pick_editing(who)
            assert editor.base is not None
            section_flow.save_draft(
                editor.user,
                self.section_id,
                title=editor.text["title"],
                body=editor.text["body"],
                base_version=editor.base,
            )
            editor.autosaved = (editor.base, editor.text["title"], editor.text["body"])

        @precondition(lambda self: any(e.autosaved for e in self.editors))
        @rule(who=st.integers(0, EDITORS - 1))
        def refresh(self, who: int) -> None:
            """Reload the editor (or open it in another browser) and restore the draft.

            Edits made after the last autosave are gone, as in a browser; the draft's base
            version stays the one the text was started from.
            """
            with_draft = [e for e in self.editors if e.autosaved]
            editor = with_draft[who % len(with_draft)]
            draft = section_flow.get_draft(editor.user, self.section_id)
            assert draft is not None
            assert (draft.base_version, draft.title, draft.body) == editor.autosaved
            self.take(editor, draft.base_version)
            editor.text = {"title": draft.title, "body": draft.body}

        @precondition(lambda self: any(e.editing for e in self.editors))
        @rule(who=st.integers(0, 99), choices=st.lists(st.booleans(), max_size=8))
        def save(self, who: int, choices: list[bool]) -> None:
            """Someone saves; on a conflict they resolve region by region as on the page.

            Mostly it is someone with changes; now and then someone presses save on an
            untouched text (a middle band of ``who``, as Hypothesis favours 0 and 99).
            """
            candidates = [e for e in self.editors if e.changed]
            if not candidates or 45 <= who < 55:
                candidates = [e for e in self.editors if e.editing]
            self.save_as(candidates[who % len(candidates)], choices)

        def save_as(self, editor: Editor, choices: list[bool]) -> None:
            """Save the editor's text against its base and check what the save answered."""
            assert editor.base is not None
            before = self.head()
            mine = dict(editor.text)
            written = {f: words(mine[f]) - words(editor.base_text[f]) for f in FIELDS}
            removed = {f: words(editor.base_text[f]) - words(mine[f]) for f in FIELDS}
            try:
                result = section_flow.save_section(
                    editor.user,
                    self.section_id,
                    title=mine["title"],
                    body=mine["body"],
                    base_version=editor.base,
                )
            except EditConflict as conflict:
                db.session.rollback()
                stats["conflict"] += 1
                self.after_conflict(editor, conflict, before, mine, choices)
                return

            assert result.merged == (editor.base != before.number)
            if not result.created:
                stats["unchanged"] += 1
                # Nothing new was written, and what was removed had been removed already.
                assert result.version == before.number
                assert not written["title"] and not written["body"]
                for f in FIELDS:
                    assert not removed[f] & words(getattr(before, f))
            else:
                stats["accepted"] += 1
                stats["merged"] += result.merged
                assert result.version == before.number + 1
                assert result.merged_with == (before.number if result.merged else None)
                new = self.head()
                assert new.number == result.version
                assert new.merged_with == result.merged_with
                assert new.author_id == editor.user.id
                self.accepted.append(Accepted(new.number, new.title, new.body))
                for f in FIELDS:
                    now = words(getattr(new, f))
                    assert written[f] <= now, f"{f}: the save lost its own edits"
                    assert not removed[f] & now, f"{f}: the save kept what it removed"
                    for token in written[f]:
                        # Choosing "mine" on the conflict page may bring back a word that the
                        # other side removed: written again, it counts as written.
                        self.written[token] = new.number
                        self.removed.pop(token, None)
                    for token in removed[f] & self.expected[f]:
                        self.removed[token] = new.number
                    self.expected[f] = (self.expected[f] - removed[f]) | written[f]
            # A save, whether or not it made a version, clears the saver's draft.
            assert section_flow.get_draft(editor.user, self.section_id) is None
            editor.autosaved = None
            self.take(editor, result.version)

        def after_conflict(
            self,
            editor: Editor,
            conflict: EditConflict,
            before: SectionVersion,
            mine: dict[str, str],
            choices: list[bool],
        ) -> None:
            """Check the refusal kept both texts, then resolve region by region on the new base."""
            info = conflict.extra
            assert editor.base is not None and editor.base != before.number
            assert info["base_version"] == editor.base
            assert info["current"]["version"] == before.number
            assert (info["current"]["title"], info["current"]["body"]) == (
                before.title,
                before.body,
            )
            assert (info["yours"]["title"], info["yours"]["body"]) == (mine["title"], mine["body"])
            base_body = editor.base_text["body"]
            assert info["conflicts"] or info["title_conflicts"]
            for region in info["conflicts"]:
                assert 0 <= region["base_start"] <= region["base_end"] <= len(base_body)
                assert region["theirs"] != region["yours"]
            assert self.head().number == before.number  # nothing was saved
            if editor.autosaved is not None:  # and the autosaved draft is still there
                draft = section_flow.get_draft(editor.user, self.section_id)
                assert draft is not None and draft.body == editor.autosaved[2]

            combined = {}
            for f in FIELDS:
                merged = merge3(editor.base_text[f], getattr(before, f), mine[f])
                picks = {
                    i: YOURS if c else THEIRS
                    for i, c in enumerate(choices)
                    if i < len(merged.conflicts)
                }
                combined[f] = resolve(merged, picks) if not merged.clean else merged.text
            self.take(editor, before.number)
            editor.text = combined

        # --- invariants -------------------------------------------------------------------

        @invariant()
        def the_section_is_what_the_accepted_saves_made_it(self) -> None:
            # One invariant reading the database once per step keeps the run fast.
            stored = self.stored()
            # Every accepted save is a version, as it answered; numbers are gapless.
            assert [v.number for v in stored] == list(range(1, len(stored) + 1))
            assert [(v.number, v.title, v.body) for v in stored] == [
                (a.number, a.title, a.body) for a in self.accepted
            ]
            # Nothing written is lost, nothing removed comes back (see the module docstring).
            head = stored[-1]
            for f in FIELDS:
                now = words(getattr(head, f))
                lost = self.expected[f] - now
                assert not lost, f"{f}: accepted edits lost: " + ", ".join(
                    f"{t} (written in v{self.written.get(t, 1)})" for t in sorted(lost)
                )
                ghosts = now - self.expected[f]
                assert not ghosts, f"{f}: tokens nobody kept: " + ", ".join(
                    f"{t} (removed in v{self.removed[t]})" if t in self.removed else t
                    for t in sorted(ghosts)
                )
            # The server holds each editor's last autosave until that editor saves.
            rows = db.session.scalars(select(Draft).where(Draft.section_id == self.section_id))
            drafts = {d.user_id: (d.base_version, d.title, d.body) for d in rows}
            assert drafts == {e.user.id: e.autosaved for e in self.editors if e.autosaved}

    return CoEditing


def test_concurrent_editors_never_lose_an_accepted_save(app, world):
    stats: Counter[str] = Counter()
    run_state_machine_as_test(
        make_machine(world, stats),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # Hypothesis switches rules off at random per example ("swarm testing"), so a run's mix
    # varies; across 30 examples there are always saves and concurrent ones among them.
    assert stats["accepted"] > 0, stats
    assert stats["merged"] + stats["conflict"] > 0, stats


def _mine_wins(base: str, theirs: str, mine: str) -> MergeResult:
    """Last writer wins: the lost update the merge exists to prevent."""
    return MergeResult(chunks=(Chunk(text=mine, conflict=None),) if mine else ())


def _fuzzy_patch(base: str, theirs: str, mine: str) -> MergeResult:
    """Patch theirs with base→mine by diff-match-patch and trust its success flags."""
    dmp = diff_match_patch()
    merged, _applied = dmp.patch_apply(dmp.patch_make(base, mine), theirs)
    return MergeResult(chunks=(Chunk(text=merged, conflict=None),) if merged else ())


@pytest.mark.parametrize("broken_merge", [_mine_wins, _fuzzy_patch])
def test_the_invariants_catch_a_merge_that_loses_edits(app, world, monkeypatch, broken_merge):
    """Guard the guard: with a merge that drops edits, the machine must find a lost edit."""
    monkeypatch.setattr(section_flow, "merge3", broken_merge)
    # Any of the text checks may fire first: an edit lost, a removed word kept or brought
    # back, or (fuzzy patching) a word doubled.
    integrity = "lost its own edits|accepted edits lost|kept what it removed|nobody kept|twice"
    with pytest.raises(AssertionError, match=integrity):
        run_state_machine_as_test(
            make_machine(world, Counter()),
            settings=settings(
                max_examples=200,
                stateful_step_count=25,
                deadline=None,
                phases=[Phase.generate],
                database=None,
                report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
