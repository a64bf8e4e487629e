"""The registry of activity-log actions: their stored names, labels and one sentence each.

The stored value of an :class:`Action` is part of every entry's hash and of the CSV export, so
it never changes; adding an action is one member and one :class:`ActionText` entry below (the
tests check that every ``activity.record`` call names a registered action). The web layer turns
an entry into a sentence with :func:`sentence`, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from drafting.text.quotes import unnest_quotes


class Action(StrEnum):
    """What an activity-log entry records (the value is what the log stores)."""

    PAPER_CREATED = "paper.created"
    PAPER_UPDATED = "paper.updated"
    PAPER_NEW_CYCLE = "paper.new_cycle"
    PAPER_ARCHIVED = "paper.archived"
    PARTICIPANT_ADDED = "participant.added"
    PARTICIPANT_REMOVED = "participant.removed"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    INVITATION_SENT = "invitation.sent"
    INVITATION_WITHDRAWN = "invitation.withdrawn"
    INVITATION_ACCEPTED = "invitation.accepted"
    SECTION_CREATED = "section.created"
    SECTION_SAVED = "section.saved"
    SECTION_REMOVED = "section.removed"
    SECTION_RESTORED = "section.restored"
    SECTION_MOVED = "section.moved"
    VERSION_RESTORED = "version.restored"
    REVIEW_SUBMITTED = "review.submitted"
    REVIEW_APPROVED = "review.approved"
    REVIEW_CHANGES_REQUESTED = "review.changes_requested"
    REVIEW_CARRIED_OVER = "review.carried_over"
    REVIEW_APPROVAL_RESET = "review.approval_reset"
    REVIEW_BACK_TO_DRAFT = "review.back_to_draft"
    SUGGESTION_CREATED = "suggestion.created"
    SUGGESTION_ACCEPTED = "suggestion.accepted"
    SUGGESTION_PARTLY_ACCEPTED = "suggestion.partly_accepted"
    SUGGESTION_REJECTED = "suggestion.rejected"
    SUGGESTION_SECTION_PROPOSED = "suggestion.section_proposed"
    SUGGESTION_REMOVAL_PROPOSED = "suggestion.removal_proposed"
    SUGGESTION_MOVE_PROPOSED = "suggestion.move_proposed"
    COMMENT_ADDED = "comment.added"
    COMMENT_REPLIED = "comment.replied"
    COMMENT_EDITED = "comment.edited"
    COMMENT_DELETED = "comment.deleted"
    COMMENT_RESOLVED = "comment.resolved"
    COMMENT_REOPENED = "comment.reopened"
    SIGNOFF_STARTED = "signoff.started"
    SIGNOFF_DECIDED = "signoff.decided"
    SIGNOFF_FINAL = "signoff.final"
    SIGNOFF_CANCELLED = "signoff.cancelled"
    SIGNOFF_REMINDED = "signoff.reminded"
    EXPORT_DONE = "export.done"
    FIGURE_ADDED = "figure.added"


@dataclass(frozen=True)
class Context:
    """What a sentence may mention: who, which section, which version, and the details."""

    actor: str
    section: str
    version: int | None
    details: Mapping[str, Any]

    def get(self, key: str) -> Any:
        """Return a detail, or an empty string when the entry has none."""
        value = self.details.get(key)
        return "" if value is None else value


@dataclass(frozen=True)
class ActionText:
    """The label of an action (filters, headings) and its sentence."""

    label: Any  # a lazy string
    render: Callable[[Context], str]


def _decision(c: Context) -> str:
    if c.get("decision") == "reject":
        return _(
            "%(actor)s rejected edition %(edition)s for %(organisation)s.",
            actor=c.actor,
            edition=c.get("edition"),
            organisation=c.get("organisation"),
        )
    if c.get("decision") == "approve_with_reservation":
        return _(
            "%(actor)s approved edition %(edition)s with a reservation for %(organisation)s.",
            actor=c.actor,
            edition=c.get("edition"),
            organisation=c.get("organisation"),
        )
    return _(
        "%(actor)s approved edition %(edition)s for %(organisation)s.",
        actor=c.actor,
        edition=c.get("edition"),
        organisation=c.get("organisation"),
    )


def _suggestion_rejected(c: Context) -> str:
    if not c.section and c.get("title"):
        return _(
            "%(actor)s rejected the suggested new section “%(title)s”.",
            actor=c.actor,
            title=c.get("title"),
        )
    return _("%(actor)s rejected a suggestion for “%(section)s”.", actor=c.actor, section=c.section)


def _role_revoked(c: Context) -> str:
    if c.get("reason") == "erased":
        return _(
            "The role %(role)s of %(user)s ended because their account was erased.",
            role=c.get("role"),
            user=c.get("user"),
        )
    if c.get("reason") == "organisation_changed":
        return _(
            "The role %(role)s of %(user)s ended because they moved to another organisation.",
            role=c.get("role"),
            user=c.get("user"),
        )
    return _(
        "%(actor)s took the role %(role)s away from %(user)s.",
        actor=c.actor,
        role=c.get("role"),
        user=c.get("user"),
    )


def _saved(c: Context) -> str:
    if c.get("merged_with"):
        return _(
            "%(actor)s saved version %(version)s of “%(section)s”, merged with version %(other)s.",
            actor=c.actor,
            version=c.version,
            section=c.section,
            other=c.get("merged_with"),
        )
    return _(
        "%(actor)s saved version %(version)s of “%(section)s”.",
        actor=c.actor,
        version=c.version,
        section=c.section,
    )


def _moved(c: Context) -> str:
    if c.get("direction") == "up":
        return _("%(actor)s moved “%(section)s” up.", actor=c.actor, section=c.section)
    return _("%(actor)s moved “%(section)s” down.", actor=c.actor, section=c.section)


def _new_cycle(c: Context) -> str:
    if c.get("final_edition"):
        return _(
            "%(actor)s reopened the paper for drafting after final edition %(edition)s.",
            actor=c.actor,
            edition=c.get("final_edition"),
        )
    return _("%(actor)s reopened the paper for drafting.", actor=c.actor)


A = Action
_TEXTS: dict[Action, ActionText] = {
    A.PAPER_CREATED: ActionText(
        _l("Paper created"),
        lambda c: _(
            "%(actor)s created the paper “%(title)s”.", actor=c.actor, title=c.get("title")
        ),
    ),
    A.PAPER_UPDATED: ActionText(
        _l("Paper changed"),
        lambda c: _(
            "%(actor)s changed the title or summary (“%(title)s”).",
            actor=c.actor,
            title=c.get("title"),
        ),
    ),
    A.PAPER_NEW_CYCLE: ActionText(_l("Paper reopened"), _new_cycle),
    A.PAPER_ARCHIVED: ActionText(
        _l("Paper archived"), lambda c: _("%(actor)s archived the paper.", actor=c.actor)
    ),
    A.PARTICIPANT_ADDED: ActionText(
        _l("Organisation added"),
        lambda c: _(
            "%(actor)s added %(organisation)s to the paper.",
            actor=c.actor,
            organisation=c.get("organisation"),
        ),
    ),
    A.PARTICIPANT_REMOVED: ActionText(
        _l("Organisation removed"),
        lambda c: _(
            "%(actor)s removed %(organisation)s from the paper.",
            actor=c.actor,
            organisation=c.get("organisation"),
        ),
    ),
    A.INVITATION_SENT: ActionText(
        _l("Person invited"),
        lambda c: _(
            "%(actor)s invited a person of %(organisation)s as %(role)s.",
            actor=c.actor,
            organisation=c.get("organisation"),
            role=c.get("role"),
        ),
    ),
    A.INVITATION_WITHDRAWN: ActionText(
        _l("Invitation withdrawn"),
        lambda c: _(
            "%(actor)s withdrew an invitation to %(organisation)s.",
            actor=c.actor,
            organisation=c.get("organisation"),
        ),
    ),
    A.INVITATION_ACCEPTED: ActionText(
        _l("Invitation accepted"),
        lambda c: _(
            "%(actor)s accepted the invitation and joined as %(role)s.",
            actor=c.actor,
            role=c.get("role"),
        ),
    ),
    A.ROLE_GRANTED: ActionText(
        _l("Role given"),
        lambda c: _(
            "%(actor)s gave %(user)s the role %(role)s.",
            actor=c.actor,
            user=c.get("user"),
            role=c.get("role"),
        ),
    ),
    A.ROLE_REVOKED: ActionText(_l("Role taken away"), _role_revoked),
    A.SECTION_CREATED: ActionText(
        _l("Section added"),
        lambda c: _("%(actor)s added the section “%(section)s”.", actor=c.actor, section=c.section),
    ),
    A.SECTION_SAVED: ActionText(_l("Section saved"), _saved),
    A.SECTION_REMOVED: ActionText(
        _l("Section removed"),
        lambda c: _(
            "%(actor)s removed the section “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.SECTION_RESTORED: ActionText(
        _l("Section brought back"),
        lambda c: _(
            "%(actor)s brought back the section “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.SECTION_MOVED: ActionText(_l("Section moved"), _moved),
    A.VERSION_RESTORED: ActionText(
        _l("Earlier version restored"),
        lambda c: _(
            "%(actor)s restored version %(old)s of “%(section)s” as version %(version)s.",
            actor=c.actor,
            old=c.get("restored_from"),
            section=c.section,
            version=c.version,
        ),
    ),
    A.REVIEW_SUBMITTED: ActionText(
        _l("Submitted for review"),
        lambda c: _(
            "%(actor)s submitted version %(version)s of “%(section)s” for review.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.REVIEW_APPROVED: ActionText(
        _l("Section approved"),
        lambda c: _(
            "%(actor)s approved version %(version)s of “%(section)s”.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.REVIEW_CHANGES_REQUESTED: ActionText(
        _l("Changes requested"),
        lambda c: _(
            "%(actor)s requested changes to version %(version)s of “%(section)s”.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.REVIEW_CARRIED_OVER: ActionText(
        _l("Approval carried over"),
        lambda c: _(
            "The approval of “%(section)s” carried over to version %(version)s "
            "(editorial change by %(actor)s).",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.REVIEW_APPROVAL_RESET: ActionText(
        _l("Approval reset"),
        lambda c: _(
            "The approval of “%(section)s” no longer holds: %(actor)s saved version %(version)s.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.REVIEW_BACK_TO_DRAFT: ActionText(
        _l("Back to draft"),
        lambda c: _(
            "“%(section)s” is a draft again: %(actor)s saved version %(version)s.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.SUGGESTION_CREATED: ActionText(
        _l("Suggestion made"),
        lambda c: _(
            "%(actor)s suggested a change to version %(version)s of “%(section)s”.",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.SUGGESTION_ACCEPTED: ActionText(
        _l("Suggestion accepted"),
        lambda c: _(
            "%(actor)s accepted a suggestion for “%(section)s” (version %(version)s).",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.SUGGESTION_PARTLY_ACCEPTED: ActionText(
        _l("Suggestion partly accepted"),
        lambda c: _(
            "%(actor)s accepted part of a suggestion for “%(section)s” (version %(version)s).",
            actor=c.actor,
            version=c.version,
            section=c.section,
        ),
    ),
    A.SUGGESTION_REJECTED: ActionText(_l("Suggestion rejected"), _suggestion_rejected),
    A.SUGGESTION_SECTION_PROPOSED: ActionText(
        _l("New section suggested"),
        lambda c: _(
            "%(actor)s suggested a new section “%(title)s”.", actor=c.actor, title=c.get("title")
        ),
    ),
    A.SUGGESTION_REMOVAL_PROPOSED: ActionText(
        _l("Removal suggested"),
        lambda c: _(
            "%(actor)s suggested removing “%(section)s” (version %(version)s).",
            actor=c.actor,
            section=c.section or c.get("title"),
            version=c.version,
        ),
    ),
    A.SUGGESTION_MOVE_PROPOSED: ActionText(
        _l("Move suggested"),
        lambda c: _(
            "%(actor)s suggested moving “%(section)s”.",
            actor=c.actor,
            section=c.section or c.get("title"),
        ),
    ),
    A.COMMENT_ADDED: ActionText(
        _l("Comment written"),
        lambda c: _("%(actor)s commented on “%(section)s”.", actor=c.actor, section=c.section),
    ),
    A.COMMENT_REPLIED: ActionText(
        _l("Reply written"),
        lambda c: _(
            "%(actor)s replied to a comment on “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.COMMENT_EDITED: ActionText(
        _l("Comment edited"),
        lambda c: _(
            "%(actor)s edited a comment on “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.COMMENT_DELETED: ActionText(
        _l("Comment deleted"),
        lambda c: _(
            "%(actor)s deleted a comment on “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.COMMENT_RESOLVED: ActionText(
        _l("Comment resolved"),
        lambda c: _(
            "%(actor)s resolved a comment on “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.COMMENT_REOPENED: ActionText(
        _l("Comment reopened"),
        lambda c: _(
            "%(actor)s reopened a comment on “%(section)s”.", actor=c.actor, section=c.section
        ),
    ),
    A.SIGNOFF_STARTED: ActionText(
        _l("Sign-off started"),
        lambda c: _(
            "%(actor)s froze edition %(edition)s and started its sign-off.",
            actor=c.actor,
            edition=c.get("edition"),
        ),
    ),
    A.SIGNOFF_DECIDED: ActionText(_l("Sign-off decision"), _decision),
    A.SIGNOFF_FINAL: ActionText(
        _l("Paper final"),
        lambda c: _(
            "Edition %(edition)s is final: every organisation signed it.",
            edition=c.get("edition"),
        ),
    ),
    A.SIGNOFF_CANCELLED: ActionText(
        _l("Sign-off cancelled"),
        lambda c: _(
            "%(actor)s cancelled the sign-off of edition %(edition)s.",
            actor=c.actor,
            edition=c.get("edition"),
        ),
    ),
    A.SIGNOFF_REMINDED: ActionText(
        _l("Sign-off reminder sent"),
        lambda c: ngettext(
            "A reminder about edition %(edition)s went to %(num)d organisation.",
            "Reminders about edition %(edition)s went to %(num)d organisations.",
            int(c.get("organisations") or 0),
            edition=c.get("edition"),
        ),
    ),
    A.EXPORT_DONE: ActionText(
        _l("Word file exported"),
        lambda c: _("%(actor)s exported the paper as a Word file.", actor=c.actor),
    ),
    A.FIGURE_ADDED: ActionText(
        _l("Figure added"),
        lambda c: _(
            "%(actor)s added the figure “%(filename)s”.",
            actor=c.actor,
            filename=c.get("filename") or "",
        ),
    ),
}
del A


def known(value: str) -> Action | None:
    """Return the action a stored value names, or None for one the code no longer knows."""
    try:
        return Action(value)
    except ValueError:
        return None


def label(value: str) -> str:
    """Return the label of a stored action in the current language (the raw value if unknown)."""
    action = known(value)
    return str(_TEXTS[action].label) if action is not None else value


def choices(values: list[str]) -> list[tuple[str, str]]:
    """Return (stored value, label) pairs for a filter, sorted by label."""
    return sorted(((v, label(v)) for v in values), key=lambda pair: pair[1].casefold())


def sentence(
    value: str,
    *,
    actor: str,
    section: str = "",
    version: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Describe one log entry as a sentence in the current language.

    ``actor`` is the name to show ("Marta Nowak (BRF)"), ``section`` the section's title. An
    action the code no longer knows is shown by its stored name.
    """
    action = known(value)
    if action is None:
        return value
    context = Context(actor or _("The system"), section, version, details or {})
    return unnest_quotes(_TEXTS[action].render(context))


# --- the administrators' log (workflows.adminlog) -------------------------------------------


class AdminAction(StrEnum):
    """What an entry of the administrators' log records (the value is what the log stores)."""

    ORGANISATION_CREATED = "organisation.created"
    ORGANISATION_UPDATED = "organisation.updated"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_MOVED = "user.moved"
    USER_PASSWORD_SET = "user.password_set"  # noqa: S105  # nosec B105 - an action name
    INVITATION_SENT = "invitation.sent"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_WITHDRAWN = "invitation.withdrawn"
    SSO_PROVIDER_SAVED = "sso.provider_saved"
    USER_ERASED = "user.erased"
    ORGANISATION_LOGIN_CHANGED = "organisation.login_changed"


_ADMIN_LABELS: dict[AdminAction, Any] = {
    AdminAction.ORGANISATION_CREATED: _l("Organisation created"),
    AdminAction.ORGANISATION_UPDATED: _l("Organisation changed"),
    AdminAction.USER_CREATED: _l("Account created"),
    AdminAction.USER_UPDATED: _l("Account changed"),
    AdminAction.USER_DEACTIVATED: _l("Account deactivated"),
    AdminAction.USER_REACTIVATED: _l("Account reactivated"),
    AdminAction.USER_MOVED: _l("Account moved to another organisation"),
    AdminAction.USER_PASSWORD_SET: _l("Password set by an administrator"),
    AdminAction.INVITATION_SENT: _l("Person invited"),
    AdminAction.INVITATION_RESENT: _l("Invitation sent again"),
    AdminAction.INVITATION_WITHDRAWN: _l("Invitation withdrawn"),
    AdminAction.SSO_PROVIDER_SAVED: _l("Sign-in service saved"),
    AdminAction.USER_ERASED: _l("Person erased (GDPR Art. 17)"),
    AdminAction.ORGANISATION_LOGIN_CHANGED: _l("Password login of an organisation changed"),
}


def admin_label(value: str) -> str:
    """Return the label of a stored administrators' action (the raw value if unknown)."""
    try:
        return str(_ADMIN_LABELS[AdminAction(value)])
    except ValueError:
        return value
