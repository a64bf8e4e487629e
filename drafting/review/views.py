"""Pages of review: submit, approve or send back a section, and "my work".

The suggestion pages live in :mod:`drafting.review.suggestions`, the activity log in
:mod:`drafting.review.activity`; all three register on the one ``review`` blueprint, so
endpoint names (``review.suggestion``, ``review.activity`` …) and URLs stay as they were.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from drafting.models import ReviewState, Section
from drafting.review import bp
from drafting.review.forms import ApproveForm, RequestChangesForm, SubmitForm
from drafting.text import textdiff
from workflows import review as review_flow
from workflows import reviewstate
from workflows import sections as section_flow
from workflows import signoff as signoff_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import ValidationFailed
from workflows.permissions import can_review, is_writer

__all__ = ["bp"]


def _labels() -> dict[str, str]:
    return {"deleted_label": _("deleted"), "inserted_label": _("inserted")}


def _paper_anchor(section: Section) -> str:
    return url_for("papers.show", paper_id=section.paper_id, _anchor=f"section-{section.id}")


@bp.get("/sections/<int:section_id>/review")
@login_required
def show(section_id: int) -> str:
    """Show a section's review: its state, the text, the diff since the last approval."""
    section, access = section_flow.get_section(current_user, section_id)
    status = reviewstate.find_status(section.id)
    head = section.head
    assert head is not None
    compare_with, compare_reason = None, None
    if (base := review_flow.comparison_base(section.id, status, head.number)) is not None:
        compare_with = section_flow.version_of(section.id, base[0])
        compare_reason = base[1]
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
        compare_reason=compare_reason,
        diff=diff,
        events=review_flow.history_events(section.id),
        open_suggestions=[
            suggestion_flow.tracked(s)
            for s in suggestion_flow.for_section(section.id, open_only=True)
        ],
        may_decide=is_writer(access.member),
        may_submit=is_writer(access.member),
        may_review=can_review(access.member),
        own_version=head.author_id == current_user.id,
        contributed=current_user.id
        in review_flow.contributors_since_approval(section.id, head.number),
        submit_form=SubmitForm(),
        approve_form=ApproveForm(version=head.number),
        changes_form=RequestChangesForm(version=head.number),
        overdue=reviewstate.is_overdue(status),
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


@bp.get("/my-work")
@login_required
def my_work() -> str:
    """List what awaits the user: reviews, sections sent back, mentions, overdue items."""
    work = review_flow.my_work(current_user)
    return render_template(
        "review/my_work.html",
        to_review=work.to_review,
        sent_back=work.sent_back,
        overdue=work.overdue,
        mentions=work.mentions,
        open_suggestions=work.open_suggestions,
        # Issue 15: sign-offs waiting for the user, and sections named "2.1 Title".
        pending_signoffs=signoff_flow.pending_for(current_user),
        section_names=section_flow.numbered_titles(
            [s.id for _st, s, _h in work.to_review + work.sent_back + work.overdue]
            + [item.section_id for item in work.open_suggestions if item.section_id is not None]
        ),
    )
