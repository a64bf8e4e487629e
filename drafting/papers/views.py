"""Pages of papers: list, create, read, settings with participants and roles."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from drafting import presence
from drafting.auth import mail as auth_mail
from drafting.extensions import db
from drafting.filters import ROLE_LABELS
from drafting.forms import confirmation, options
from drafting.models import Organisation, ReviewState, Section, Suggestion, SuggestionKind
from drafting.papers.forms import PaperForm, PaperInvitationForm, ParticipantForm, RoleForm
from drafting.text.markdown import render
from drafting.text.outline import heading_numbers
from workflows import comments as comment_flow
from workflows import invitations as invitation_flow
from workflows import labels, reviewstate
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import WorkflowError
from workflows.permissions import can_comment, can_edit_now, can_manage, is_writer

bp = Blueprint("papers", __name__)


@bp.route("/", methods=["GET"])
@login_required
def index() -> str:
    """List the papers the user's organisation takes part in."""
    papers = paper_flow.visible_papers(current_user)
    return render_template(
        "papers/index.html",
        papers=papers,
        may_create=paper_flow.may_create_papers(current_user),
    )


@bp.route("/papers/new", methods=["GET", "POST"])
@login_required
def create() -> str | Response:
    """Create a paper led by the user's organisation."""
    paper_flow.require_paper_creation(current_user)
    form = PaperForm()
    if not form.is_submitted():
        form.language.data = current_user.locale
    if form.validate_on_submit():
        try:
            paper = paper_flow.create_paper(
                current_user, form.title.data or "", form.summary.data or "", form.language.data
            )
        except WorkflowError as err:
            if err.status == 403:
                raise
            form.title.errors = [*form.title.errors, err.message]
        else:
            flash(_("The paper was created. Add its first section."), "success")
            return redirect(url_for("papers.show", paper_id=paper.id))
    return render_template("papers/new.html", form=form)


@bp.get("/papers/<int:paper_id>")
@login_required
def show(paper_id: int) -> str:
    """Show a paper with all its sections in order, numbered and rendered."""
    access = paper_flow.get_paper(current_user, paper_id)
    sections, removed = section_flow.sections_of_paper(paper_id)
    numbers = heading_numbers(s.level for s in sections)
    statuses = reviewstate.statuses_for(s.id for s in sections)
    writer = is_writer(access.member)
    # One query each gives the open suggestions and the comment threads, and their counts.
    tracked, suggested_outline = suggestion_flow.open_on_paper(paper_id, with_changes=writer)
    margins = comment_flow.margins(paper_id, sections, access.member)
    outline = _outline(suggested_outline, sections)
    return render_template(
        "papers/show.html",
        statuses=statuses,
        state_labels={state.value: str(labels.review_state_label(state)) for state in ReviewState},
        progress=reviewstate.progress(sections, statuses),
        is_overdue=reviewstate.is_overdue,
        approved_version=reviewstate.approved_version,
        suggestion_counts={sid: len(items) for sid, items in tracked.items()},
        comment_counts=margins.open_counts(),
        tracked=tracked if writer else {},
        margins=margins,
        may_comment=can_comment(access.member),
        paper=access.paper,
        member=access.member,
        sections=list(zip(numbers, sections, strict=True)),
        removed=removed,
        may_edit=can_edit_now(access.member, access.paper),
        may_manage=can_manage(access.member),
        action_form=FlaskForm(),
        outline=outline,
        editing_now={
            section_id: [entry for entry in entries if entry.editing]
            for section_id, entries in presence.on_paper(current_user, access.paper.id).items()
        },
    )


def _outline(items: list[Suggestion], sections: list[Section]) -> dict[str, Any]:
    """The paper's open suggestions of new, removed and moved sections, by where they show.

    New sections stand after their anchor ("after"; ``None``: at the start, "end": an anchor
    no longer in the paper); removals and moves on their section ("on").
    """
    present = {s.id for s in sections}
    after: dict[int | str | None, list[Suggestion]] = {}
    on: dict[int, list[Suggestion]] = {}
    html: dict[int, str] = {}
    for item in items:
        if item.kind == SuggestionKind.NEW_SECTION:
            anchor = item.after_section_id
            key: int | str | None = anchor if anchor is None or anchor in present else "end"
            after.setdefault(key, []).append(item)
            html[item.id] = str(render(item.body))
        elif item.section_id in present:
            on.setdefault(item.section_id, []).append(item)
    return {
        "after": after,
        "on": on,
        "html": html,
        "titles": {s.id: s.title for s in sections},
    }


def _settings_page(paper_id: int, **forms: FlaskForm) -> str:
    access = paper_flow.get_paper(current_user, paper_id)
    participating = {p.organisation_id for p in access.paper.participants}
    participant_form = forms.get("participant_form") or ParticipantForm()
    participant_form.organisation.choices = options(
        (o.short_name, f"{o.name} ({o.short_name})")
        for o in db.session.scalars(select(Organisation).order_by(Organisation.name))
        if o.id not in participating
    )
    return render_template(
        "papers/settings.html",
        paper=access.paper,
        may_manage=can_manage(access.member),
        paper_form=forms.get("paper_form") or PaperForm(obj=access.paper),
        participant_form=participant_form,
        role_form=forms.get("role_form") or RoleForm(),
        action_form=FlaskForm(),
        roles=paper_flow.paper_members(paper_id),
        people=paper_flow.role_candidates(paper_id),
        invitation_form=_invitation_form(paper_id, forms.get("invitation_form")),
        invitations=invitation_flow.open_invitations(paper_id=paper_id)[0]
        if can_manage(access.member)
        else [],
        participants=sorted(access.paper.participants, key=lambda p: p.organisation.name),
    )


@bp.get("/papers/<int:paper_id>/settings")
@login_required
def settings(paper_id: int) -> str:
    """Show the paper's participants and roles; coordinators can change them."""
    return _settings_page(paper_id)


@bp.post("/papers/<int:paper_id>/settings")
@login_required
def update(paper_id: int) -> str | Response:
    """Change the paper's title and summary."""
    form = PaperForm()
    if form.validate_on_submit():
        try:
            paper_flow.update_paper(
                current_user,
                paper_id,
                form.title.data or "",
                form.summary.data or "",
                form.language.data,
            )
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            form.title.errors = [*form.title.errors, err.message]
        else:
            flash(_("The paper was saved."), "success")
            return redirect(url_for("papers.settings", paper_id=paper_id))
    return _settings_page(paper_id, paper_form=form)


@bp.post("/papers/<int:paper_id>/participants")
@login_required
def add_participant(paper_id: int) -> str | Response:
    """Add a participating organisation."""
    form = ParticipantForm()
    form.organisation.choices = options(
        (o.short_name, o.short_name) for o in db.session.scalars(select(Organisation))
    )
    if form.validate_on_submit():
        try:
            paper_flow.add_participant(current_user, paper_id, form.organisation.data or "")
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            form.organisation.errors = [*form.organisation.errors, err.message]
        else:
            flash(_("The organisation takes part now."), "success")
            return redirect(url_for("papers.settings", paper_id=paper_id))
    return _settings_page(paper_id, participant_form=form)


def _confirm(question: str, consequence: str, action: str, label: str, paper_id: int) -> str:
    back = url_for("papers.settings", paper_id=paper_id)
    return confirmation(
        question, consequence, action, label, back, _("Back to participants and roles")
    )


@bp.get("/papers/<int:paper_id>/participants/<int:org_id>/remove")
@login_required
def confirm_remove_participant(paper_id: int, org_id: int) -> str:
    """Ask before removing an organisation from the paper (works without JavaScript)."""
    part = paper_flow.get_participant(current_user, paper_id, org_id)
    name = part.organisation.name
    return _confirm(
        _("Remove %(organisation)s from this paper?", organisation=name),
        _(
            "%(organisation)s no longer takes part, and its people lose their roles on this "
            "paper. Their comments and versions stay.",
            organisation=name,
        ),
        url_for("papers.remove_participant", paper_id=paper_id, org_id=org_id),
        _("Remove the organisation"),
        paper_id,
    )


@bp.get("/papers/<int:paper_id>/roles/<int:role_id>/revoke")
@login_required
def confirm_revoke_role(paper_id: int, role_id: int) -> str:
    """Ask before taking a role away (works without JavaScript)."""
    granted = paper_flow.get_role(current_user, paper_id, role_id)
    role, name = ROLE_LABELS[granted.role.value], granted.user.display_name
    return _confirm(
        _("Take the role “%(role)s” away from %(name)s?", role=role, name=name),
        _("%(name)s can no longer act as %(role)s on this paper.", role=role, name=name),
        url_for("papers.revoke_role", paper_id=paper_id, role_id=role_id),
        _("Take the role away"),
        paper_id,
    )


@bp.post("/papers/<int:paper_id>/participants/<int:org_id>/remove")
@login_required
def remove_participant(paper_id: int, org_id: int) -> Response:
    """Remove a participating organisation and its members' roles."""
    if FlaskForm().validate_on_submit():
        paper_flow.remove_participant(current_user, paper_id, org_id)
        flash(_("The organisation no longer takes part."), "success")
    return redirect(url_for("papers.settings", paper_id=paper_id))


@bp.post("/papers/<int:paper_id>/roles")
@login_required
def grant_role(paper_id: int) -> str | Response:
    """Give a person of a participating organisation a role on the paper."""
    form = RoleForm()
    if form.validate_on_submit():
        try:
            paper_flow.grant_role(
                current_user, paper_id, form.email.data or "", form.role.data or ""
            )
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            form.email.errors = [*form.email.errors, err.message]
        else:
            flash(_("The role was given."), "success")
            return redirect(url_for("papers.settings", paper_id=paper_id))
    return _settings_page(paper_id, role_form=form)


@bp.post("/papers/<int:paper_id>/roles/<int:role_id>/revoke")
@login_required
def revoke_role(paper_id: int, role_id: int) -> Response:
    """Take a role away."""
    if FlaskForm().validate_on_submit():
        paper_flow.revoke_role(current_user, paper_id, role_id)
        flash(_("The role was taken away."), "success")
    return redirect(url_for("papers.settings", paper_id=paper_id))


# --- invitations of coordinators ------------------------------------------------------------


def _invitation_form(paper_id: int, form: PaperInvitationForm | None = None) -> PaperInvitationForm:
    access = paper_flow.get_paper(current_user, paper_id)
    form = form or PaperInvitationForm(formdata=None, prefix="invite")
    form.organisation.choices = options(
        (p.organisation_id, f"{p.organisation.name} ({p.organisation.short_name})")
        for p in sorted(access.paper.participants, key=lambda p: p.organisation.name)
    )
    return form


@bp.post("/papers/<int:paper_id>/invitations")
@login_required
def invite(paper_id: int) -> str | Response | tuple[str, int]:
    """Invite a person of a participating organisation to the paper (coordinators)."""
    form = _invitation_form(paper_id, PaperInvitationForm(prefix="invite"))
    if form.validate_on_submit():
        try:
            org = db.get_or_404(Organisation, form.organisation.data)
            sent = invitation_flow.invite(
                current_user,
                form.email.data or "",
                org,
                paper_id=paper_id,
                role=form.role.data or None,
                locale=form.locale.data or "de",
            )
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            target = form.role if err.extra.get("field") == "role" else form.email
            target.errors = [*target.errors, err.message]
        else:
            auth_mail.send_invitation(sent.invitation, sent.token)
            flash(_("Invitation sent to %(email)s.", email=sent.invitation.email), "success")
            return redirect(url_for("papers.settings", paper_id=paper_id, _anchor="invitations"))
    return _settings_page(paper_id, invitation_form=form), 422


@bp.post("/papers/<int:paper_id>/invitations/<int:invitation_id>/<any(resend,withdraw):action>")
@login_required
def invitation_action(paper_id: int, invitation_id: int, action: str) -> Response:
    """Send an invitation of the paper again, or withdraw it (coordinators)."""
    if FlaskForm().validate_on_submit():
        try:
            if action == "resend":
                sent = invitation_flow.resend(current_user, invitation_id)
                auth_mail.send_invitation(sent.invitation, sent.token)
                flash(
                    _("Invitation sent again to %(email)s.", email=sent.invitation.email), "success"
                )
            else:
                withdrawn = invitation_flow.withdraw(current_user, invitation_id)
                flash(_("Invitation to %(email)s withdrawn.", email=withdrawn.email), "success")
        except WorkflowError as err:
            if err.status == 403:
                raise
            flash(str(err.message), "error")
    return redirect(url_for("papers.settings", paper_id=paper_id, _anchor="invitations"))
