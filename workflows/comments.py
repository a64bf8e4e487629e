"""Comments on sections: threads, quoted passages whose anchors follow the text, mentions.

A comment may quote a passage of its section. The quote is looked up in the section's current
Markdown (leniently: the reader selected it in the *rendered* text), and the passage's offsets
in that version are stored as the comment's anchor. Later versions move the anchor through the
word diff between the anchor's version and the current one (:func:`current_anchor`); when the
quoted words themselves were changed, the comment reports "passage changed" and keeps showing
its original quote. Comments are never removed by edits of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from markupsafe import Markup
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from drafting.extensions import db
from drafting.models import Comment, Participant, Section, SectionVersion, User, utcnow
from drafting.text.anchors import (
    NO_ANCHOR,
    Anchor,
    AnchorState,
    Hunk,
    changed_hunks,
    locate_quote,
    move_anchor,
)
from drafting.text.highlight import render_highlighted
from drafting.text.markdown import render_inline
from workflows import activity, search
from workflows.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    SectionRemoved,
    TooLarge,
    ValidationFailed,
)
from workflows.notifications import Target, notify, paper_people
from workflows.numbers import to_int
from workflows.papers import PaperAccess, get_paper
from workflows.permissions import Membership, can_comment, is_writer
from workflows.sections import get_section
from workflows.uow import use_case

MAX_BODY_CHARS = 20_000
MAX_QUOTE_CHARS = 5_000

# --- permissions -------------------------------------------------------------------------


def can_resolve(member: Membership, comment: Comment) -> bool:
    """Editors, coordinators and the comment's author resolve and reopen a thread."""
    return can_comment(member) and (is_writer(member) or comment.author_id == member.user_id)


def is_own(member: Membership, comment: Comment) -> bool:
    """Tell whether the member wrote the comment (only authors edit and delete)."""
    return member.user_id is not None and comment.author_id == member.user_id


# --- anchors ---------------------------------------------------------------------------


def current_anchor(
    comment: Comment,
    current_version_body: str,
    anchor_version_body: str,
    *,
    hunks: Sequence[Hunk] | None = None,
) -> Anchor | None:
    """Return where the comment's passage is in the current text, or None if it changed.

    See :func:`drafting.text.anchors.move_anchor`; ``hunks`` may carry
    ``changed_ranges(anchor_version_body, current_version_body)`` when the caller has them.
    """
    return move_anchor(
        comment.anchor_start,
        comment.anchor_end,
        current_version_body,
        anchor_version_body,
        hunks=hunks,
    )


def anchors_for(
    comments: Iterable[Comment], section: Section, known: dict[int, str] | None = None
) -> dict[int, AnchorState]:
    """Compute the current anchors of many comments of one section in one pass.

    The bodies of the anchor versions are loaded with one query (unless ``known`` has them,
    by version number), and the diff of each anchor version against the current text is
    computed once.
    """
    head = section.head
    anchored = [c for c in comments if c.anchor_version is not None and c.anchor_start is not None]
    states: dict[int, AnchorState] = {}
    if head is None or not anchored:
        return states
    bodies = {**(known or {}), head.number: head.body}
    wanted = {c.anchor_version for c in anchored} - set(bodies)
    if wanted:
        rows = db.session.execute(
            select(SectionVersion.number, SectionVersion.body).where(
                SectionVersion.section_id == section.id, SectionVersion.number.in_(wanted)
            )
        )
        bodies.update({number: body for number, body in rows})
    hunks: dict[int, tuple[Hunk, ...]] = {}
    for comment in anchored:
        number = comment.anchor_version
        assert number is not None
        old = bodies.get(number)
        if old is None:
            states[comment.id] = AnchorState(None, True)
            continue
        if number not in hunks:
            hunks[number] = () if old == head.body else changed_hunks(old, head.body)
        anchor = current_anchor(comment, head.body, old, hunks=hunks[number])
        states[comment.id] = AnchorState(anchor, anchor is None)
    return states


def anchor_state(comment: Comment, section: Section) -> AnchorState:
    """Return the current anchor of one comment."""
    return anchors_for([comment], section).get(comment.id, NO_ANCHOR)


# --- mentions ----------------------------------------------------------------------------

# The stored form of a mention chosen from the autocomplete: "@[Name](user:<id>)". The id
# is what counts: the name is shown as the user's *current* display name (renames and
# pseudonymised accounts follow), the written name only when the user is gone.
_MENTION_ID = re.compile(r"@\[([^\]\n]{1,120})\]\(user:([0-9]{1,12})\)")
_MENTION_NAME = re.compile(r"@\[([^\]\n]{1,120})\](?!\(user:[0-9])")
_MENTION_EMAIL = re.compile(
    r"(?<![\w.+%-])@([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)


def mentions_in(text: str) -> tuple[set[str], set[str]]:
    """Return the e-mail addresses (lower case) and display names mentioned in a text."""
    emails = {m.group(1).lower() for m in _MENTION_EMAIL.finditer(text or "")}
    names = {" ".join(m.group(1).split()) for m in _MENTION_NAME.finditer(text or "")}
    return emails, {n for n in names if n}


def mentioned_ids(text: str) -> set[int]:
    """Return the user ids of the ``@[Name](user:<id>)`` mentions in a text."""
    return {int(m.group(2)) for m in _MENTION_ID.finditer(text or "")}


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def show_mentions(text: str, users: dict[int, User], *, markdown: bool = True) -> str:
    """Replace stored mentions by "@" and the user's current display name.

    With ``markdown`` (for rendering) the name's Markdown punctuation is escaped.
    """

    def name(match: re.Match[str]) -> str:
        user = users.get(int(match.group(2)))
        shown = user.display_name if user is not None else match.group(1)
        return "@" + (_MARKDOWN_PUNCTUATION.sub(r"\\\1", shown) if markdown else shown)

    return _MENTION_ID.sub(name, text)


def mention_users(texts: Iterable[str]) -> dict[int, User]:
    """Load the users mentioned by id in some texts, with one query."""
    ids: set[int] = set()
    for text in texts:
        if "(user:" in text:
            ids |= mentioned_ids(text)
    return users_by_id(ids)


@lru_cache(maxsize=1024)
def _rendered(text: str) -> Markup:
    return render_inline(text)


def render_comment(text: str, users: dict[int, User]) -> Markup:
    """Render a comment's Markdown with its mentions showing current display names.

    Short texts are cached (the margin of a paper page renders every open comment): the
    rendering depends on the text alone, mentions already replaced by current names.
    """
    shown = show_mentions(text, users) if "(user:" in text else text
    return _rendered(shown) if len(shown) <= 2_000 else render_inline(shown)


def mentionable(actor: User, paper_id: int, query: str = "", limit: int = 10) -> list[User]:
    """List the active members of a paper's participating organisations, for @-mentions.

    Only for users who may see the paper (:func:`workflows.papers.get_paper` raises
    NotFound otherwise); ``query`` filters by a part of the display name.
    """
    get_paper(actor, paper_id)
    statement = (
        select(User)
        .join(Participant, Participant.organisation_id == User.organisation_id)
        .where(Participant.paper_id == paper_id, User.active.is_(True))
    )
    query = " ".join((query or "").split())[:120]
    if query:
        statement = statement.where(
            func.lower(User.display_name).contains(query.lower(), autoescape=True)
        )
    return list(
        db.session.scalars(statement.order_by(User.display_name, User.id).limit(limit)).unique()
    )


def mentioned_members(text: str, paper_id: int) -> list[User]:
    """Return the active users of participating organisations mentioned in a text."""
    emails, names = mentions_in(text)
    ids = mentioned_ids(text)
    if not emails and not names and not ids:
        return []
    conditions = []
    if ids:
        conditions.append(User.id.in_(ids))
    if emails:
        conditions.append(func.lower(User.email).in_(emails))
    if names:
        conditions.append(User.display_name.in_(names))
    return list(
        db.session.scalars(
            select(User)
            .join(Participant, Participant.organisation_id == User.organisation_id)
            .where(Participant.paper_id == paper_id, User.active.is_(True), or_(*conditions))
            .order_by(User.id)
        ).unique()
    )


def _notify(
    recipients: Iterable[int], kind: str, comment: Comment, section: Section, actor: User
) -> None:
    recipients = sorted(set(recipients))
    if not recipients:
        return
    notify(
        recipients,
        kind,
        paper_id=comment.paper_id,
        section_id=comment.section_id,
        actor=actor,
        params={
            "section": section.title,
            "actor": actor.display_name,
            "comment": comment.id,
            # Mentions as the current names, not as their stored "@[Name](user:<id>)" form.
            "excerpt": _excerpt(
                show_mentions(comment.body, mention_users([comment.body]), markdown=False)
                if "(user:" in comment.body
                else comment.body
            ),
        },
        target=Target.COMMENT,
        target_id=comment.id,
    )


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- actions -----------------------------------------------------------------------------


def check_comment_body(body: Any) -> str:
    """Return a comment's text, or refuse an empty or overlong one.

    :raises ValidationFailed: when the text is empty.
    :raises TooLarge: when it has more than 20 000 characters.
    """
    if not isinstance(body, str):
        raise ValidationFailed(_l("The comment must be text."), field="body")
    body = body.strip()
    if not body:
        raise ValidationFailed(_l("Please write a comment."), field="body")
    if len(body) > MAX_BODY_CHARS:
        raise TooLarge(
            lazy_ngettext(
                "The comment is longer than %(num)d character.",
                "The comment is longer than %(num)d characters.",
                MAX_BODY_CHARS,
            ),
            field="body",
            limit=MAX_BODY_CHARS,
        )
    return body


def _check_quote(quote: Any) -> str:
    """Return a stripped quote, or refuse one that is not text or over the cap.

    The cap is ``COMMENT_MAX_QUOTE_CHARS`` (default 5 000 characters): ASVS 4.0.3 V11.1.4.
    """
    if quote is None:
        return ""
    if not isinstance(quote, str):
        raise ValidationFailed(_l("The quoted passage must be text."), field="quote")
    quote = quote.strip()
    limit = int(current_app.config.get("COMMENT_MAX_QUOTE_CHARS", MAX_QUOTE_CHARS))
    if len(quote) > limit:
        raise TooLarge(
            lazy_ngettext(
                "The quoted passage is longer than %(num)d character.",
                "The quoted passage is longer than %(num)d characters.",
                limit,
            ),
            field="quote",
            limit=limit,
        )
    return quote


def _parent_number(parent_id: Any) -> int | None:
    if parent_id is None or parent_id == "":
        return None
    if isinstance(parent_id, bool):
        raise ValidationFailed(_l("Unknown comment to reply to."), field="parent_id")
    try:
        return to_int(parent_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Unknown comment to reply to."), field="parent_id") from None


@use_case
def add_comment(
    actor: User,
    section_id: int,
    body: Any,
    quote: Any = "",
    parent_id: Any = None,
) -> Comment:
    """Comment on a section, optionally on a quoted passage, or reply to a comment.

    :raises NotFound: when the section, or the comment replied to, is not visible.
    :raises ValidationFailed: for an empty comment, a quote not in the text, a reply with
        a quote or a reply to a reply.
    :raises TooLarge: for a comment over 20 000 characters.
    :raises SectionRemoved: when the section was removed.
    :raises InvalidTransition: when replying to a deleted comment.
    """
    body = check_comment_body(body)
    quote = _check_quote(quote)
    parent_number = _parent_number(parent_id)
    located: tuple[int, Anchor | None] | None = None
    if quote and parent_number is None:
        # Find the passage before the paper's write lock is taken: other writers of the
        # paper need not wait for the search (the result is cached for the locked re-check).
        peek, _access = get_section(actor, section_id)
        if peek.head is not None:
            located = (peek.head.number, locate_quote(peek.head.body, quote))
    section, access = get_section(actor, section_id, lock=True)
    if not can_comment(access.member):
        raise NotAllowed(_l("Only members of participating organisations may comment."))
    if section.removed_at is not None:
        raise SectionRemoved(_l("The section was removed; it cannot be commented on."))
    head = section.head
    assert head is not None
    parent: Comment | None = None
    if parent_number is not None:
        parent = db.session.get(Comment, parent_number)
        if parent is None or parent.section_id != section.id:
            raise NotFound(_l("Comment not found."))
        if parent.parent_id is not None:
            raise ValidationFailed(
                _l("Reply to the thread's first comment, not to a reply."), field="parent_id"
            )
        if parent.deleted_at is not None:
            raise InvalidTransition(_l("The comment was deleted; it cannot be replied to."))
        if quote:
            raise ValidationFailed(_l("A reply cannot quote a passage."), field="quote")
    comment = Comment(
        paper_id=section.paper_id,
        section_id=section.id,
        parent_id=parent.id if parent else None,
        author_id=actor.id,
        body=body,
        quote=quote,
        created_at=utcnow(),
    )
    if quote:
        if located is not None and located[0] == head.number:
            anchor = located[1]
        else:  # a new version came in meanwhile
            anchor = locate_quote(head.body, quote)
        if anchor is None:
            raise ValidationFailed(
                _l("The quoted passage does not occur in the section's current text."),
                field="quote",
            )
        comment.anchor_version = head.number
        comment.anchor_start, comment.anchor_end = anchor
    db.session.add(comment)
    db.session.flush()
    search.index_comment(comment, actor.organisation_id)
    if parent is None:
        activity.record(
            section.paper_id,
            actor,
            "comment.added",
            section_id=section.id,
            version=head.number,
            comment=comment.id,
            quoted=bool(quote),
        )
    else:
        activity.record(
            section.paper_id,
            actor,
            "comment.replied",
            section_id=section.id,
            version=head.number,
            comment=comment.id,
            parent=parent.id,
        )
    told: set[int] = set()
    if parent is not None and parent.author_id != actor.id:
        told = set(paper_people(section.paper_id, among=[parent.author_id]))
        _notify(told, "reply", comment, section, actor)
    mentioned = {u.id for u in mentioned_members(body, section.paper_id)} - {actor.id} - told
    _notify(mentioned, "mentioned", comment, section, actor)
    return comment


def _load(actor: User, comment_id: int) -> tuple[Comment, Section, PaperAccess]:
    """Return a comment of a visible paper, its section locked for writing."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(_l("Comment not found."))
    section, access = get_section(
        actor, comment.section_id, lock=True, missing=_l("Comment not found.")
    )
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id).execution_options(populate_existing=True)
    )
    assert comment is not None
    return comment, section, access


def get_comment(actor: User, comment_id: int) -> tuple[Comment, Section, PaperAccess]:
    """Return a comment the user may see, with its section and the user's access.

    :raises NotFound: when the comment does not exist or its paper is not visible.
    """
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(_l("Comment not found."))
    section, access = get_section(actor, comment.section_id, missing=_l("Comment not found."))
    return comment, section, access


@use_case
def edit_comment(actor: User, comment_id: int, body: Any) -> Comment:
    """Change the text of one's own comment; it is marked as edited.

    :raises NotAllowed: when the comment is someone else's.
    :raises InvalidTransition: when the comment was deleted.
    """
    body = check_comment_body(body)
    comment, section, _access = _load(actor, comment_id)
    if comment.author_id != actor.id:
        raise NotAllowed(_l("Only the author may change a comment."))
    if comment.deleted_at is not None:
        raise InvalidTransition(_l("The comment was deleted; it cannot be changed."))
    if body == comment.body:
        return comment
    before = {u.id for u in mentioned_members(comment.body, comment.paper_id)}
    comment.body = body
    comment.edited_at = utcnow()
    search.index_comment(comment, actor.organisation_id)
    activity.record(
        comment.paper_id,
        actor,
        "comment.edited",
        section_id=section.id,
        version=section.version,
        comment=comment.id,
    )
    # Only people mentioned for the first time hear about the change.
    now = {u.id for u in mentioned_members(body, comment.paper_id)}
    _notify(now - before - {actor.id}, "mentioned", comment, section, actor)
    return comment


@use_case
def delete_comment(actor: User, comment_id: int) -> Comment:
    """Delete one's own comment softly: its replies stay, its text is no longer shown.

    :raises NotAllowed: when the comment is someone else's.
    """
    comment, section, _access = _load(actor, comment_id)
    if comment.author_id != actor.id:
        raise NotAllowed(_l("Only the author may delete a comment."))
    if comment.deleted_at is None:
        comment.deleted_at = utcnow()
        search.unindex("comment", comment.id)
        activity.record(
            comment.paper_id,
            actor,
            "comment.deleted",
            section_id=section.id,
            version=section.version,
            comment=comment.id,
        )
    return comment


@use_case
def _set_resolved(actor: User, comment_id: int, resolved: bool) -> Comment:
    comment, section, access = _load(actor, comment_id)
    if not can_resolve(access.member, comment):
        raise NotAllowed(
            _l("Only editors, coordinators and the comment's author may resolve or reopen it.")
        )
    if comment.parent_id is not None:
        raise InvalidTransition(_l("Only a whole thread can be resolved or reopened."))
    if (comment.resolved_at is not None) == resolved:
        return comment  # resolving twice is harmless
    comment.resolved_at = utcnow() if resolved else None
    comment.resolved_by_id = actor.id if resolved else None
    activity.record(
        comment.paper_id,
        actor,
        "comment.resolved" if resolved else "comment.reopened",
        section_id=section.id,
        version=section.version,
        comment=comment.id,
    )
    return comment


def resolve_comment(actor: User, comment_id: int) -> Comment:
    """Mark a thread as resolved (editors, coordinators, the author); twice is harmless.

    :raises NotAllowed: for other members.
    :raises InvalidTransition: for a reply (threads are resolved as a whole).
    """
    return _set_resolved(actor, comment_id, True)


def reopen_comment(actor: User, comment_id: int) -> Comment:
    """Open a resolved thread again (editors, coordinators, the author); twice is harmless.

    :raises NotAllowed: for other members.
    :raises InvalidTransition: for a reply.
    """
    return _set_resolved(actor, comment_id, False)


# --- reading -----------------------------------------------------------------------------


@dataclass
class Thread:
    """A top-level comment with its replies in order, and where its passage stands."""

    root: Comment
    replies: list[Comment] = field(default_factory=list)
    anchor: AnchorState = NO_ANCHOR

    @property
    def resolved(self) -> bool:
        return self.root.resolved_at is not None

    @property
    def comments(self) -> list[Comment]:
        return [self.root, *self.replies]


def section_comments(section_id: int) -> list[Comment]:
    """Return every comment of a section (deleted ones included), oldest first."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.section_id == section_id)
            .order_by(Comment.created_at, Comment.id)
        ).unique()
    )


def threads_of(
    section: Section,
    comments: Sequence[Comment] | None = None,
    known: dict[int, str] | None = None,
) -> list[Thread]:
    """Group a section's comments into threads: open ones first, then resolved, oldest first.

    A deleted comment whose thread has no replies left to show is dropped.
    """
    if comments is None:
        comments = section_comments(section.id)
    threads: dict[int, Thread] = {}
    for comment in comments:
        if comment.parent_id is None:
            threads[comment.id] = Thread(root=comment)
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in threads:
            threads[comment.parent_id].replies.append(comment)
    anchors = anchors_for([t.root for t in threads.values()], section, known)
    result = []
    for thread in threads.values():
        thread.anchor = anchors.get(thread.root.id, NO_ANCHOR)
        if all(c.deleted_at is not None for c in thread.comments):
            continue
        result.append(thread)
    result.sort(key=lambda t: t.resolved)  # stable: creation order within each group
    return result


def users_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    """Load the users with these ids in one query (e.g. who resolved threads)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def open_counts(paper_id: int) -> dict[int, int]:
    """Count the open threads of every section of a paper with one grouped query.

    A thread is open while it is not resolved and its first comment is not deleted, or
    it was deleted but has a reply still shown.
    """
    reply = aliased(Comment)
    live_reply = exists().where(and_(reply.parent_id == Comment.id, reply.deleted_at.is_(None)))
    rows = db.session.execute(
        select(Comment.section_id, func.count())
        .where(
            Comment.paper_id == paper_id,
            Comment.parent_id.is_(None),
            Comment.resolved_at.is_(None),
            or_(Comment.deleted_at.is_(None), live_reply),
        )
        .group_by(Comment.section_id)
    )
    return {section_id: int(count) for section_id, count in rows}


# --- margin of the paper page --------------------------------------------------------------


@dataclass
class Margin:
    """A section's threads for the margin of the paper page, and its highlighted text."""

    open: list[Thread]
    resolved: list[Thread]
    body_html: Markup | None  # the text with the open threads' passages marked, if any
    resolvable: set[int]  # ids of the threads the reader may resolve or reopen


@dataclass
class Margins:
    """The margins of a paper's sections: threads, rendered comments, who resolved."""

    sections: dict[int, Margin]
    rendered: dict[int, Markup]
    resolvers: dict[int, User]

    def open_counts(self) -> dict[int, int]:
        """Count the open threads per section, as :func:`open_counts` does, without a query."""
        return {sid: len(m.open) for sid, m in self.sections.items() if m.open}


def margins(paper_id: int, sections: Sequence[Section], member: Membership) -> Margins:
    """Load the comment threads of a paper's sections for their margins, with one query.

    Only sections with comments cost anything: their anchors are moved to the current text
    (:func:`anchors_for`) and their text is rendered with the open passages highlighted
    (cached by :func:`drafting.text.highlight.render_highlighted`).
    """
    # One query: the comments, who resolved them, and the text of their anchor versions.
    resolver = aliased(User)
    by_section: dict[int, list[Comment]] = {}
    known: dict[int, dict[int, str]] = {}
    resolvers: dict[int, User] = {}
    rows = db.session.execute(
        select(Comment, resolver, SectionVersion.number, SectionVersion.body)
        .outerjoin(resolver, resolver.id == Comment.resolved_by_id)
        .outerjoin(
            SectionVersion,
            and_(
                SectionVersion.section_id == Comment.section_id,
                SectionVersion.number == Comment.anchor_version,
                Comment.parent_id.is_(None),
            ),
        )
        .where(Comment.paper_id == paper_id)
        .order_by(Comment.created_at, Comment.id)
    ).unique()
    for comment, who, number, body in rows:
        by_section.setdefault(comment.section_id, []).append(comment)
        if who is not None:
            resolvers[who.id] = who
        if number is not None:
            known.setdefault(comment.section_id, {})[number] = body
    result: dict[int, Margin] = {}
    shown: list[Comment] = []
    for section in sections:
        comments = by_section.get(section.id)
        if not comments or section.head is None:
            continue
        threads = threads_of(section, comments, known.get(section.id))
        open_threads = [t for t in threads if not t.resolved]
        resolved = [t for t in threads if t.resolved]
        marked = {
            t.root.id: t.anchor.anchor
            for t in open_threads
            if t.anchor.anchor is not None and t.root.deleted_at is None
        }
        highlighted = render_highlighted(section.head.body, marked) if marked else None
        resolvable = {t.root.id for t in threads if can_resolve(member, t.root)}
        result[section.id] = Margin(open_threads, resolved, highlighted, resolvable)
        shown += [c for t in threads for c in t.comments if c.deleted_at is None]
    users = mention_users(c.body for c in shown)
    rendered = {c.id: render_comment(c.body, users) for c in shown}
    return Margins(result, rendered, resolvers)
