"""Pages of the sign-off: the round, decisions, editions and the printable record."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from drafting.forms import confirmation
from drafting.signoff.forms import DecisionForm, StartForm
from drafting.text import textdiff
from drafting.text.outline import heading_numbers
from workflows import papers as paper_flow
from workflows import signoff as flow
from workflows.errors import InvalidTransition, ValidationFailed
from workflows.permissions import can_manage, can_sign

bp = Blueprint("signoff", __name__)


def _page(
    paper_id: int,
    start_form: StartForm | None = None,
    decision_form: DecisionForm | None = None,
    unapproved: list | None = None,
    status: int = 200,
) -> tuple[str, int]:
    access = paper_flow.get_paper(current_user, paper_id)
    paper = access.paper
    edition = flow.current_edition(paper)
    rows = flow.matrix(paper_id, edition) if edition else []
    mine = next(
        (r.decision for r in rows if r.organisation_id == current_user.organisation_id), None
    )
    if decision_form is None:
        decision_form = DecisionForm(
            decision=mine.decision.value if mine else None,
            note=mine.note if mine else "",
            edition_hash=edition.content_hash if edition else "",
        )
    return render_template(
        "signoff/round.html",
        paper=paper,
        edition=edition,
        rows=rows,
        mine=mine,
        may_manage=can_manage(access.member),
        may_sign=can_sign(access.member),
        start_form=start_form or StartForm(),
        decision_form=decision_form,
        action_form=FlaskForm(),
        # Listed before anyone tries to start, numbered as on the paper page.
        unapproved=flow.unapproved_sections(paper_id)
        if paper.status.value == "drafting" and can_manage(access.member)
        else unapproved or [],
        editions=flow.editions(paper_id),
    ), status


@bp.get("/papers/<int:paper_id>/signoff")
@login_required
def show(paper_id: int) -> tuple[str, int]:
    """Show the sign-off round: the matrix of organisations and decisions."""
    return _page(paper_id)


@bp.post("/papers/<int:paper_id>/signoff")
@login_required
def start(paper_id: int) -> Response | tuple[str, int]:
    """Freeze an edition and open the round."""
    form = StartForm()
    if not form.validate_on_submit():
        return _page(paper_id, start_form=form, status=422)
    try:
        edition = flow.start(
            current_user, paper_id, label=form.label.data or "", deadline=form.deadline.data
        )
    except InvalidTransition as err:
        if "unapproved" not in err.extra:
            raise
        flash(err.message, "error")
        return _page(paper_id, start_form=form, unapproved=err.extra["unapproved"], status=409)
    except ValidationFailed as err:
        form.deadline.errors = [*form.deadline.errors, err.message]
        return _page(paper_id, start_form=form, status=422)
    flash(_("Edition %(n)s is frozen; the sign-off round is open.", n=edition.number), "success")
    return redirect(url_for("signoff.show", paper_id=paper_id))


@bp.post("/papers/<int:paper_id>/signoff/decision")
@login_required
def decide(paper_id: int) -> Response | tuple[str, int]:
    """Record the user's organisation's decision."""
    form = DecisionForm()
    if not form.validate_on_submit():
        return _page(paper_id, decision_form=form, status=422)
    try:
        flow.decide(
            current_user,
            paper_id,
            form.decision.data or "",
            form.note.data or "",
            edition_hash=form.edition_hash.data or None,
        )
    except ValidationFailed as err:
        form.note.errors = [*form.note.errors, err.message]
        return _page(paper_id, decision_form=form, status=422)
    flash(_("Your organisation's decision was recorded."), "success")
    return redirect(url_for("signoff.show", paper_id=paper_id))


def _action(paper_id: int, action: str) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    if action == "cancel":
        flow.cancel(current_user, paper_id)
        flash(_("The sign-off round was cancelled; the paper can be edited again."), "success")
    elif action == "new_cycle":
        flow.new_cycle(current_user, paper_id)
        flash(_("A new cycle has started; the final edition stays unchanged."), "success")
    else:
        flow.archive(current_user, paper_id)
        flash(_("The paper was archived."), "success")
    return redirect(url_for("signoff.show", paper_id=paper_id))


def _confirm(paper_id: int, what: str) -> str:
    access = paper_flow.get_paper(current_user, paper_id)
    if not can_manage(access.member):
        abort(403)
    title = access.paper.title
    if what == "cancel":
        texts = (
            _("Cancel the sign-off round of “%(title)s”?", title=title),
            _(
                "The edition is marked as cancelled, the decisions recorded for it no longer "
                "count, and the paper returns to drafting."
            ),
            url_for("signoff.cancel", paper_id=paper_id),
            _("Cancel the round"),
        )
    else:
        texts = (
            _("Archive “%(title)s”?", title=title),
            _(
                "The paper can no longer be changed or reopened for a new edition cycle. Its "
                "editions and the record of sign-off stay available."
            ),
            url_for("signoff.archive", paper_id=paper_id),
            _("Archive the paper"),
        )
    back = url_for("signoff.show", paper_id=paper_id)
    return confirmation(*texts, back, _("Back to the sign-off"))


@bp.get("/papers/<int:paper_id>/signoff/cancel")
@login_required
def confirm_cancel(paper_id: int) -> str:
    """Ask before cancelling the open round (works without JavaScript)."""
    return _confirm(paper_id, "cancel")


@bp.get("/papers/<int:paper_id>/archive")
@login_required
def confirm_archive(paper_id: int) -> str:
    """Ask before archiving a final paper (works without JavaScript)."""
    return _confirm(paper_id, "archive")


@bp.post("/papers/<int:paper_id>/signoff/cancel")
@login_required
def cancel(paper_id: int) -> Response:
    """Cancel the open round."""
    return _action(paper_id, "cancel")


@bp.post("/papers/<int:paper_id>/new-cycle")
@login_required
def new_cycle(paper_id: int) -> Response:
    """Reopen a final paper for a new edition cycle."""
    return _action(paper_id, "new_cycle")


@bp.post("/papers/<int:paper_id>/archive")
@login_required
def archive(paper_id: int) -> Response:
    """Archive a final paper."""
    return _action(paper_id, "archive")


def _section_diffs(found: flow.Edition, previous: flow.Edition | None) -> list[dict]:
    before = {e.section_id: e.version for e in previous.entries} if previous else {}
    labels = {"deleted_label": _("deleted"), "inserted_label": _("inserted")}
    diffs = []
    for entry in found.entries:
        old = before.pop(entry.section_id, None)
        new = entry.version
        if old is None:
            diffs.append({"title": new.title, "kind": "added", "diff": None})
        elif old.id == new.id:
            diffs.append({"title": new.title, "kind": "same", "diff": None})
        else:
            ops = textdiff.diff_ops(old.title + "\n\n" + old.body, new.title + "\n\n" + new.body)
            diffs.append(
                {"title": new.title, "kind": "changed", "diff": textdiff.inline_html(ops, **labels)}
            )
    for old in before.values():
        diffs.append({"title": old.title, "kind": "removed", "diff": None})
    return diffs


@bp.get("/papers/<int:paper_id>/editions")
@login_required
def editions(paper_id: int) -> str:
    """List the paper's editions."""
    access = paper_flow.get_paper(current_user, paper_id)
    return render_template(
        "signoff/editions.html", paper=access.paper, editions=flow.editions(paper_id)
    )


@bp.get("/papers/<int:paper_id>/editions/<int:number>")
@login_required
def edition(paper_id: int, number: int) -> str:
    """Show an edition's text, its hash and its changes against the previous edition."""
    access, found = flow.edition(current_user, paper_id, number)
    previous = flow.previous_edition(found)
    versions = [e.version for e in found.entries]
    return render_template(
        "signoff/edition.html",
        paper=access.paper,
        edition=found,
        previous=previous,
        sections=list(zip(heading_numbers(v.level for v in versions), versions, strict=True)),
        diffs=_section_diffs(found, previous),
        rows=flow.matrix(paper_id, found),
    )


@bp.get("/papers/<int:paper_id>/editions/<int:number>/record")
@login_required
def record(paper_id: int, number: int) -> str:
    """Show the printable record of sign-off of an edition."""
    access, found = flow.edition(current_user, paper_id, number)
    return render_template(
        "signoff/record.html",
        paper=access.paper,
        edition=found,
        rows=flow.matrix(paper_id, found),
        sections=[e.version for e in found.entries],
    )
