"""The suggestion pages: propose a text, show, accept (with the conflict page), reject, list."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse

from drafting import conflicts
from drafting.extensions import db
from drafting.models import PaperStatus, Section, Suggestion, SuggestionKind, SuggestionStatus
from drafting.review import bp
from drafting.review.forms import RejectForm, SuggestionForm
from drafting.review.views import _labels
from drafting.sections.forms import ResolveForm
from drafting.sections.views import locked_page
from drafting.text import textdiff
from drafting.text.markdown import render
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.errors import (
    ConflictInfo,
    EditConflict,
    OutlineConflict,
    PaperLocked,
    TextState,
    TooLarge,
    ValidationFailed,
)
from workflows.permissions import can_comment, can_edit_now, is_writer


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
        "review/suggest.html", form=form, section=section, paper=access.paper, base_text=head.body
    ), status


@bp.get("/suggestions/<int:suggestion_id>")
@login_required
def suggestion(suggestion_id: int) -> str:
    """Show a suggestion with its diff against the current text."""
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    if item.structural:
        return _outline_page(item)
    assert item.section_id is not None
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
        tracked=suggestion_flow.tracked(item),
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
    if item.structural:
        return _accept_outline(item)
    try:
        result = suggestion_flow.accept(current_user, suggestion_id)
    except EditConflict as err:
        return _suggestion_conflict(item, err.info), 409
    flash(_("The suggestion was accepted as version %(n)s.", n=result.version), "success")
    return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))


def _back(item: Suggestion) -> str:
    """Where a decision leads back to: the paper at the place of the suggestion, or its page."""
    if request.form.get("next") != "paper":
        return url_for("review.suggestion", suggestion_id=item.id)
    place = item.section_id or item.after_section_id
    anchor = f"section-{place}" if place else None
    if item.status == SuggestionStatus.OPEN:
        anchor = f"suggestion-{item.id}"
    return url_for("papers.show", paper_id=item.paper_id, _anchor=anchor)


def _outline_page(item: Suggestion) -> str:
    """A suggested new, removed or moved section; for a removal, the confirmation too."""
    access = paper_flow.get_paper(current_user, item.paper_id)
    section = db.session.get(Section, item.section_id) if item.section_id else None
    after = db.session.get(Section, item.after_section_id) if item.after_section_id else None
    return render_template(
        "review/outline_suggestion.html",
        item=item,
        section=section,
        after=after,
        paper=access.paper,
        body_html=str(render(item.body)) if item.body else "",
        may_decide=can_edit_now(access.member, access.paper)
        and item.status == SuggestionStatus.OPEN,
        reject_form=RejectForm(),
        accept_form=FlaskForm(),
    )


def _accept_outline(item: Suggestion) -> WerkzeugResponse:
    """Accept a suggested new, removed or moved section; a conflict is shown, not raised."""
    try:
        result = suggestion_flow.accept(current_user, item.id)
    except (OutlineConflict, PaperLocked) as err:
        flash(err.message, "error")
        return redirect(_back(item))
    messages = {
        SuggestionKind.NEW_SECTION: _(
            "The section “%(title)s” was added.", title=result.section.title
        ),
        SuggestionKind.REMOVE_SECTION: _(
            "The section “%(title)s” was removed; it can be brought back.",
            title=result.section.title,
        ),
        SuggestionKind.MOVE_SECTION: _(
            "The section “%(title)s” was moved.", title=result.section.title
        ),
    }
    flash(messages[item.kind], "success")
    if request.form.get("next") == "paper":
        return redirect(
            url_for("papers.show", paper_id=item.paper_id, _anchor=f"section-{result.section.id}")
        )
    return redirect(url_for("review.suggestion", suggestion_id=item.id))


def _suggestion_conflict(item: Suggestion, info: ConflictInfo | None, **page: Any) -> str:
    section = db.session.get(Section, item.section_id)
    assert section is not None
    if info is None:
        raise EditConflict(
            _("The section is being saved by many people at once; please try again.")
        )
    return conflicts.conflict_page(
        info,
        section=section,
        paper=section.paper,
        suggestion=item,
        action=url_for("review.resolve_suggestion", suggestion_id=item.id),
        **page,
    )


@bp.post("/suggestions/<int:suggestion_id>/resolve")
@login_required
def resolve_suggestion(suggestion_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Accept a suggestion with the text an editor combined on the conflict page."""
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(400)
    if item.section_id is None:
        abort(404)  # a suggested new section has no text to combine
    current = section_flow.version_of(item.section_id, int(form.current_version.data))
    if current is None:
        abort(422)
    info = section_flow.conflict_info(
        item.section_id,
        int(form.base_version.data),
        current,
        TextState(title=form.title.data or "", body=form.yours.data or "", level=form.level.data),
    )
    assert info.body_merge is not None
    choices, texts = conflicts.posted_choices(request.form, len(info.conflicts))
    again = {"choices": choices, "texts": texts, "form": form}
    if form.apply.data:
        return _suggestion_conflict(item, info, **again), 409
    body = conflicts.text_to_save(
        info.body_merge, form.combined.data or "", request.form.get("generated"), choices, texts
    )
    if body is None:
        message = _(
            "You changed choices and also edited the combined text. Check the combined text "
            "below and save again."
        )
        return _suggestion_conflict(item, info, error=message, **again), 409
    try:
        result = suggestion_flow.accept(
            current_user,
            suggestion_id,
            resolved_body=body,
            resolved_base=int(form.current_version.data),
        )
    except EditConflict as err:
        return _suggestion_conflict(item, err.info), 409
    flash(_("The suggestion was accepted as version %(n)s.", n=result.version), "success")
    return redirect(url_for("review.suggestion", suggestion_id=suggestion_id))


@bp.post("/suggestions/<int:suggestion_id>/decide")
@login_required
def decide(suggestion_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Accept or reject a suggestion change by change (the tracked-changes form)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    item = suggestion_flow.get_suggestion(current_user, suggestion_id)
    back = {
        "paper": url_for(
            "papers.show", paper_id=item.paper_id, _anchor=f"section-{item.section_id}"
        ),
        "review": url_for("review.show", section_id=item.section_id),
    }.get(request.form.get("next", ""), url_for("review.suggestion", suggestion_id=suggestion_id))
    try:
        result = suggestion_flow.decide(
            current_user,
            suggestion_id,
            decision=request.form.get("decision", ""),
            choices=request.form,
            reason=request.form.get("reason", ""),
        )
    except ValidationFailed as err:
        flash(err.message, "error")
        return redirect(back)
    except EditConflict as err:
        return _suggestion_conflict(item, err.info), 409
    if isinstance(result, Suggestion):
        flash(_("The suggestion was rejected."), "success")
    elif item.status == SuggestionStatus.PARTLY_ACCEPTED:
        flash(_("The chosen changes were accepted as version %(n)s.", n=result.version), "success")
    else:
        flash(_("The suggestion was accepted as version %(n)s.", n=result.version), "success")
    return redirect(back)


@bp.post("/suggestions/<int:suggestion_id>/reject")
@login_required
def reject(suggestion_id: int) -> WerkzeugResponse:
    """Reject a suggestion with a reason."""
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason for rejecting the suggestion."), "error")
        return redirect(_back(suggestion_flow.get_suggestion(current_user, suggestion_id)))
    item = suggestion_flow.reject(current_user, suggestion_id, form.reason.data or "")
    flash(_("The suggestion was rejected."), "success")
    return redirect(_back(item))


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
