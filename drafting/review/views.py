"""Pages of review: submit, approve or send back, suggestions, activity log, my work."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import Select, select
from werkzeug.wrappers import Response as WerkzeugResponse

from drafting import activitylog
from drafting.extensions import db
from drafting.models import (
    ActivityEntry,
    Notification,
    PaperRole,
    PaperStatus,
    Participant,
    ReviewState,
    ReviewStatus,
    Role,
    Section,
    SectionVersion,
    Suggestion,
    SuggestionStatus,
    User,
)
from drafting.review.forms import (
    ActivityFilterForm,
    ApproveForm,
    RejectForm,
    RequestChangesForm,
    SubmitForm,
    SuggestionForm,
)
from drafting.sections.forms import ResolveForm
from drafting.sections.views import locked_page
from drafting.text import textdiff
from drafting.text.merge import merge3, resolve
from workflows import actions as action_registry
from workflows import notifications, reviewstate
from workflows import papers as paper_flow
from workflows import review as review_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import EditConflict, PaperLocked, TooLarge, ValidationFailed
from workflows.permissions import can_comment, can_review, is_writer

bp = Blueprint("review", __name__)


def _labels() -> dict[str, str]:
    return {"deleted_label": _("deleted"), "inserted_label": _("inserted")}


def _paper_anchor(section: Section) -> str:
    return url_for("papers.show", paper_id=section.paper_id, _anchor=f"section-{section.id}")


@bp.get("/sections/<int:section_id>/review")
@login_required
def show(section_id: int) -> str:
    """Show a section's review: its state, the text, the diff since the last approval."""
    section, access = section_flow.get_section(current_user, section_id)
    status = db.session.get(ReviewStatus, section.id)
    head = section.head
    assert head is not None
    compare_with = None
    if status is not None:
        reference = status.reset_from or (
            status.approved_version if status.approved_version != head.number else None
        )
        if reference and reference != head.number:
            compare_with = section_flow.version_of(section.id, reference)
    diff = None
    if compare_with is not None:
        diff = textdiff.inline_html(textdiff.diff_ops(compare_with.body, head.body), **_labels())
    return render_template(
        "review/show.html",
        section=section,
        paper=access.paper,
        status=status,
        state=status.state if status else ReviewState.DRAFT,
        head=head,
        compare_with=compare_with,
        diff=diff,
        events=review_flow.history_events(section.id),
        may_submit=is_writer(access.member),
        may_review=can_review(access.member),
        own_version=head.author_id == current_user.id,
        contributed=current_user.id
        in review_flow.contributors_since_approval(section.id, head.number),
        submit_form=SubmitForm(),
        approve_form=ApproveForm(version=head.number),
        changes_form=RequestChangesForm(version=head.number),
        overdue=reviewstate.is_overdue(status),
        state_labels=reviewstate.STATE_LABELS,
    )


@bp.post("/sections/<int:section_id>/submit")
@login_required
def submit(section_id: int) -> WerkzeugResponse:
    """Submit the current version for review."""
    form = SubmitForm()
    if not form.validate_on_submit():
        flash(_("Please check the due date."), "error")
        return redirect(url_for("review.show", section_id=section_id))
    emails = [e for e in (form.reviewers.data or "").replace(";", ",").split(",") if e.strip()]
    try:
        review_flow.submit(current_user, section_id, reviewers=emails, due=form.due.data)
    except ValidationFailed as err:
        flash(err.message, "error")
        return redirect(url_for("review.show", section_id=section_id))
    flash(_("The section was submitted for review."), "success")
    return redirect(url_for("review.show", section_id=section_id))


@bp.post("/sections/<int:section_id>/approve")
@login_required
def approve(section_id: int) -> WerkzeugResponse:
    """Approve the shown version."""
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    review_flow.approve(current_user, section_id, int(form.version.data), form.comment.data or "")
    flash(_("Version %(n)s was approved.", n=form.version.data), "success")
    return redirect(url_for("review.show", section_id=section_id))


@bp.post("/sections/<int:section_id>/request-changes")
@login_required
def request_changes(section_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Send the section back with a reason."""
    form = RequestChangesForm()
    if not form.validate_on_submit():
        flash(_("Please say what should change."), "error")
        return redirect(url_for("review.show", section_id=section_id))
    review_flow.request_changes(
        current_user, section_id, int(form.version.data), form.comment.data or ""
    )
    flash(_("The section was sent back to its editors."), "success")
    return redirect(url_for("review.show", section_id=section_id))


@bp.route("/sections/<int:section_id>/suggest", methods=["GET", "POST"])
@login_required
def suggest(section_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Propose a new text for a section."""
    section, access = section_flow.get_section(current_user, section_id, include_removed=False)
    if not can_comment(access.member):
        abort(403)
    head = section.head
    assert head is not None
    form = SuggestionForm()
    if access.paper.status != PaperStatus.DRAFTING:
        posted = request.method == "POST"
        return locked_page(
            access.paper,
            heading=_("Suggest a change"),
            section=section,
            text=(form.body.data or "") if posted else head.body,
            kept=posted,
        )
    if request.method == "GET":
        form.body.data, form.base_version.data = head.body, head.number
    status = 200
    if form.validate_on_submit():
        try:
            suggestion = suggestion_flow.create_suggestion(
                current_user,
                section.id,
                body=form.body.data or "",
                base_version=form.base_version.data or head.number,
                note=form.note.data or "",
            )
        except PaperLocked:
            return locked_page(
                access.paper,
                heading=_("Suggest a change"),
                section=section,
                text=form.body.data or "",
                kept=True,
            )
        except (ValidationFailed, TooLarge) as err:
            form.body.errors = [*form.body.errors, err.message]
            status = err.status
        else:
            flash(_("Your suggestion was sent to the editors."), "success")
            return redirect(url_for("review.suggestion", suggestion_id=suggestion.id))
    return render_template(
        "review/suggest.html", form=form, section=section, paper=access.paper
    ), status


@bp.get("/suggestions/<int:suggestion_id>")
@login_required
def suggestion(suggestion_id: int) -> str:
    """Show a suggestion with its diff against the current text."""
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    section, access = section_flow.get_section(current_user, item.section_id)
    head = section.head
    assert head is not None
    diff = textdiff.inline_html(textdiff.diff_ops(head.body, item.body), **_labels())
    base = section_flow.version_of(section.id, item.base_version)
    moved_on = head.number != item.base_version
    return render_template(
        "review/suggestion.html",
        item=item,
        section=section,
        paper=access.paper,
        head=head,
        base=base,
        diff=diff,
        moved_on=moved_on,
        may_decide=is_writer(access.member) and item.status == SuggestionStatus.OPEN,
        reject_form=RejectForm(),
        accept_form=FlaskForm(),
    )


@bp.post("/suggestions/<int:suggestion_id>/accept")
@login_required
def accept(suggestion_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Accept a suggestion (merging it three-way if the section moved on)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    try:
        result = suggestion_flow.accept(current_user, suggestion_id)
    except EditConflict as err:
        return _suggestion_conflict(item, err.extra), 409
    flash(_("The suggestion was accepted as version %(n)s.", n=result.version), "success")
    return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))


def _suggestion_conflict(item: Suggestion, info: dict, form: ResolveForm | None = None) -> str:
    section = db.session.get(Section, item.section_id)
    assert section is not None
    base = section_flow.version_of(section.id, int(info["base_version"]))
    assert base is not None
    current = info["current"]
    # What was tried: the suggestion, or (on a second conflict) the editor's combined text.
    yours = info["yours"]["body"]
    result = merge3(base.body, current["body"], yours)
    if form is None:
        form = ResolveForm(
            # Not from the posted form: a second conflict must move on to the newest version.
            formdata=None,
            base_version=base.number,
            current_version=current["version"],
            title=current["title"],
            level=current.get("level", 1),
            yours=yours,
            combined=resolve(result, {}),
            note="",
        )
    regions: list[dict[str, Any]] = []
    index = 0
    for chunk in result.chunks:
        if chunk.conflict is None:
            regions.append({"text": chunk.text, "conflict": None})
        else:
            regions.append(
                {"text": None, "conflict": chunk.conflict, "index": index, "choice": "theirs"}
            )
            index += 1
    return render_template(
        "review/suggestion_conflict.html",
        item=item,
        section=section,
        paper=section.paper,
        form=form,
        regions=regions,
        base=base,
        current=current,
    )


@bp.post("/suggestions/<int:suggestion_id>/resolve")
@login_required
def resolve_suggestion(suggestion_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Accept a suggestion with the text an editor combined on the conflict page."""
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = suggestion_flow.accept(
            current_user,
            suggestion_id,
            resolved_body=form.combined.data or "",
            resolved_base=int(form.current_version.data),
        )
    except EditConflict as err:
        return _suggestion_conflict(item, err.extra), 409
    flash(_("The suggestion was accepted as version %(n)s.", n=result.version), "success")
    return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))


@bp.post("/suggestions/<int:suggestion_id>/reject")
@login_required
def reject(suggestion_id: int) -> WerkzeugResponse:
    """Reject a suggestion with a reason."""
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason for rejecting the suggestion."), "error")
        return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))
    suggestion_flow.reject(current_user, suggestion_id, form.reason.data or "")
    flash(_("The suggestion was rejected."), "success")
    return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))


@bp.get("/sections/<int:section_id>/suggestions")
@login_required
def suggestions(section_id: int) -> str:
    """List a section's suggestions."""
    section, access = section_flow.get_section(current_user, section_id)
    return render_template(
        "review/suggestions.html",
        section=section,
        paper=access.paper,
        items=suggestion_flow.for_section(section.id),
    )


def _activity_query(paper_id: int, form: ActivityFilterForm) -> Select[Any]:
    query = select(ActivityEntry).where(ActivityEntry.paper_id == paper_id)
    if form.action.data:
        query = query.where(ActivityEntry.action.startswith(form.action.data.strip()))
    if form.section.data:
        query = query.where(ActivityEntry.section_id == form.section.data)
    if form.person.data:
        query = query.join(User, User.id == ActivityEntry.actor_id).where(
            User.email == form.person.data.strip().lower()
        )
    return query.order_by(ActivityEntry.seq.desc())


@bp.get("/papers/<int:paper_id>/activity")
@login_required
def activity(paper_id: int) -> str:
    """Show the paper's activity log as a filterable timeline."""
    access = paper_flow.get_paper(current_user, paper_id)
    form = ActivityFilterForm(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    entries = db.paginate(_activity_query(paper_id, form), page=page, per_page=50, error_out=False)
    titles = _section_titles(paper_id)
    actions = sorted(
        set(
            db.session.scalars(
                select(ActivityEntry.action).where(ActivityEntry.paper_id == paper_id).distinct()
            )
        )
    )
    return render_template(
        "review/activity.html",
        paper=access.paper,
        entries=entries,
        titles=titles,
        form=form,
        actions=action_registry.choices(actions),
        describe=activitylog.describe,
    )


def _section_titles(paper_id: int) -> dict[int, str]:
    rows = db.session.execute(
        select(Section.id, SectionVersion.title)
        .join(SectionVersion, SectionVersion.id == Section.head_id)
        .where(Section.paper_id == paper_id)
    ).all()
    return {sid: title for sid, title in rows}


@bp.get("/papers/<int:paper_id>/activity.csv")
@login_required
def activity_csv(paper_id: int) -> Response:
    """Download the (filtered) activity log as CSV."""
    paper_flow.get_paper(current_user, paper_id)
    form = ActivityFilterForm(request.args)
    titles = _section_titles(paper_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "seq",
            "time_utc",
            "actor",
            "action",
            "what",
            "section_id",
            "section",
            "version",
            "details",
            "hash",
        ]
    )
    for e in db.session.scalars(_activity_query(paper_id, form)):
        writer.writerow(
            [
                e.seq,
                e.created_at.isoformat(),
                _csv_safe(e.actor.email) if e.actor else "",  # "=1+2@example.org" is valid
                e.action,
                _csv_safe(activitylog.describe(e, titles)),
                e.section_id or "",
                _csv_safe(titles.get(e.section_id or 0, "")),
                e.version or "",
                _csv_safe(str(e.details or {})),
                e.hash,
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="protokoll-{paper_id}.csv"'},
    )


def _csv_safe(value: str) -> str:
    # Spreadsheet programs execute cells starting with these characters as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@bp.get("/my-work")
@login_required
def my_work() -> str:
    """List what awaits the user: reviews, sections sent back, mentions, overdue items."""
    today = date.today()
    # Only papers the user's organisation takes part in: roles never outlive visibility.
    my_roles = db.session.execute(
        select(PaperRole.paper_id, PaperRole.role)
        .join(
            Participant,
            (Participant.paper_id == PaperRole.paper_id)
            & (Participant.organisation_id == current_user.organisation_id),
        )
        .where(PaperRole.user_id == current_user.id)
    ).all()
    review_papers = {pid for pid, role in my_roles if role == Role.REVIEWER}
    edit_papers = {pid for pid, role in my_roles if role in (Role.EDITOR, Role.COORDINATOR)}
    rows = db.session.execute(
        select(ReviewStatus, Section, SectionVersion)
        .join(Section, Section.id == ReviewStatus.section_id)
        .join(SectionVersion, SectionVersion.id == Section.head_id)
        .where(Section.paper_id.in_(review_papers | edit_papers), Section.removed_at.is_(None))
    ).all()
    to_review, sent_back, overdue = [], [], []
    for status, section, head in rows:
        if (
            status.state == ReviewState.IN_REVIEW
            and section.paper_id in review_papers
            and current_user.id
            not in review_flow.contributors_since_approval(section.id, head.number)
            and (not status.reviewer_ids or current_user.id in status.reviewer_ids)
        ):
            to_review.append((status, section, head))
            if status.due and status.due < today:
                overdue.append((status, section, head))
        if status.state == ReviewState.CHANGES_REQUESTED and section.paper_id in edit_papers:
            sent_back.append((status, section, head))
    mentions = db.session.scalars(
        select(Notification)
        .where(
            Notification.user_id == current_user.id,
            Notification.kind == "mentioned",
            Notification.read_at.is_(None),
            notifications.visible_to(current_user),
        )
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    open_suggestions = db.session.scalars(
        select(Suggestion)
        .where(Suggestion.paper_id.in_(edit_papers), Suggestion.status == SuggestionStatus.OPEN)
        .order_by(Suggestion.id.desc())
        .limit(100)
    ).all()
    return render_template(
        "review/my_work.html",
        to_review=to_review,
        sent_back=sent_back,
        overdue=overdue,
        mentions=mentions,
        open_suggestions=open_suggestions,
    )
