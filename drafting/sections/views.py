"""Pages of sections: write, save with merge, resolve conflicts, history, compare, restore."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from drafting import conflicts, presence
from drafting.models import Paper, PaperStatus, Section, SectionVersion
from drafting.sections.forms import ResolveForm, SectionForm
from drafting.text import textdiff
from drafting.text.merge import merge3, resolve
from drafting.text.outline import heading_numbers
from workflows import figures as figure_flow
from workflows import papers as paper_flow
from workflows import sections as flow
from workflows.errors import (
    EditConflict,
    NotFound,
    PaperLocked,
    SectionRemoved,
    TextState,
    TooLarge,
    ValidationFailed,
    WorkflowError,
)
from workflows.permissions import can_edit_now, is_writer

bp = Blueprint("sections", __name__)


def _paper_anchor(section: Section) -> str:
    return url_for("papers.show", paper_id=section.paper_id, _anchor=f"section-{section.id}")


def locked_page(
    paper: Paper,
    *,
    heading: str,
    text: str,
    section: Section | None = None,
    title: str | None = None,
    kept: bool = False,
) -> tuple[str, int]:
    """Show a frozen paper's text read-only with the reason; ``kept``: typed text not saved.

    A save that still arrives (from a tab opened before the freeze) lands here with its text,
    never on a bare error page.
    """
    page = render_template(
        "sections/locked.html",
        paper=paper,
        section=section,
        heading=heading,
        text=text,
        title=title,
        kept=kept,
    )
    return page, 409 if kept else 200


def _frozen(paper: Paper) -> bool:
    return paper.status != PaperStatus.DRAFTING


@bp.route("/papers/<int:paper_id>/sections/new", methods=["GET", "POST"])
@login_required
def create(paper_id: int) -> str | Response | tuple[str, int]:
    """Add a section to a paper."""
    access = paper_flow.get_paper(current_user, paper_id)
    if not is_writer(access.member):
        abort(403)  # readers see the paper, but not a form they could never send
    form = SectionForm()
    if _frozen(access.paper):
        return locked_page(
            access.paper,
            heading=_("Add section"),
            title=form.title.data,
            text=form.body.data or "",
            kept=request.method == "POST",
        )
    if request.method == "GET":
        form.level.data = 1
    status = 200
    if form.validate_on_submit():
        after = request.args.get("after", type=int)
        try:
            section = flow.add_section(
                current_user,
                paper_id,
                title=form.title.data or "",
                level=form.level.data,
                body=form.body.data or "",
                note=form.note.data or "",
                after=after,
            )
        except PaperLocked:
            return locked_page(
                access.paper,
                heading=_("Add section"),
                title=form.title.data,
                text=form.body.data or "",
                kept=True,
            )
        except (ValidationFailed, TooLarge) as err:
            _attach(form, err)
            status = err.status
        else:
            flash(_("The section was added."), "success")
            return redirect(_paper_anchor(section))
    elif request.method == "POST":
        status = 422
    return render_template("sections/new.html", form=form, paper=access.paper), status


def _attach(form: FlaskForm, err: WorkflowError) -> None:
    field = getattr(form, str(err.extra.get("field", "body")), None) or form.body
    field.errors = [*field.errors, err.message]


@bp.get("/sections/<int:section_id>/edit")
@login_required
def edit(section_id: int) -> str | tuple[str, int]:
    """Show the editor of a section, offering an autosaved draft if there is one."""
    section, access = flow.get_section(current_user, section_id, include_removed=False)
    if not is_writer(access.member):
        abort(403)
    head = section.head
    assert head is not None
    if not can_edit_now(access.member, access.paper):
        return locked_page(
            access.paper,
            heading=_("Edit section"),
            section=section,
            title=head.title,
            text=head.body,
        )
    form = SectionForm(title=head.title, level=head.level, body=head.body, base_version=head.number)
    draft = flow.get_draft(current_user, section.id)
    if draft is not None and (draft.title, draft.body) == (head.title, head.body):
        draft = None
    return render_template(
        "sections/edit.html",
        form=form,
        section=section,
        paper=access.paper,
        draft=draft,
        discard_form=FlaskForm(),
        presence_others=presence.others(current_user, section.paper_id, section.id),
        paper_figures=figure_flow.paper_figures(current_user, access.paper.id),
    )


@bp.post("/sections/<int:section_id>/edit")
@login_required
def save(section_id: int) -> str | Response | tuple[str, int]:
    """Save a section against the version the editor started from; merge or show conflicts."""
    section, access = flow.get_section(current_user, section_id)
    form = SectionForm()
    if _frozen(access.paper) and is_writer(access.member):
        return _kept(section, access.paper, form.title.data, form.body.data)
    if not form.validate_on_submit():
        return render_template(
            "sections/edit.html",
            form=form,
            section=section,
            paper=access.paper,
            draft=None,
            discard_form=FlaskForm(),
        ), 422
    try:
        result = flow.save_section(
            current_user,
            section.id,
            title=form.title.data,
            level=form.level.data,
            body=form.body.data or "",
            base_version=form.base_version.data,
            note=form.note.data or "",
            editorial=bool(form.editorial.data),
        )
    except EditConflict as err:
        return _conflict_page(section, err, note=form.note.data or "")
    except PaperLocked:
        return _kept(section, access.paper, form.title.data, form.body.data)
    except SectionRemoved:
        return render_template(
            "sections/removed.html", section=section, paper=access.paper, form=form
        ), 409
    except (ValidationFailed, TooLarge) as err:
        _attach(form, err)
        return render_template(
            "sections/edit.html",
            form=form,
            section=section,
            paper=access.paper,
            draft=None,
            discard_form=FlaskForm(),
        ), err.status
    if not result.created:
        flash(_("Nothing changed, so no new version was made."), "info")
    elif result.merged:
        flash(
            _(
                "Saved as version %(n)s, merged with version %(m)s that someone else saved "
                "meanwhile.",
                n=result.version,
                m=result.merged_with,
            ),
            "success",
        )
    else:
        flash(_("Saved as version %(n)s.", n=result.version), "success")
    return redirect(_paper_anchor(section))


def _kept(section: Section, paper: Paper, title: str | None, body: str | None) -> tuple[str, int]:
    return locked_page(
        paper,
        heading=_("Edit section"),
        section=section,
        title=title,
        text=body or "",
        kept=True,
    )


def _conflict_page(section: Section, err: EditConflict, *, note: str) -> tuple[str, int]:
    if err.info is None:  # too many saves at once: nothing to compare, ask to save again
        raise err
    return conflicts.conflict_page(
        err.info,
        section=section,
        paper=section.paper,
        action=url_for("sections.resolve_conflict", section_id=section.id),
        note=note,
    ), 409


@bp.post("/sections/<int:section_id>/resolve")
@login_required
def resolve_conflict(section_id: int) -> str | Response | tuple[str, int]:
    """Apply per-conflict choices to the combined text, or save what the page shows."""
    section, access = flow.get_section(current_user, section_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(400)
    current_number = int(form.current_version.data)
    current = flow.version_of(section.id, current_number)
    if current is None:
        abort(422)
    info = flow.conflict_info(
        section.id,
        int(form.base_version.data),
        current,
        TextState(title=form.title.data or "", body=form.yours.data or "", level=form.level.data),
    )
    assert info.body_merge is not None
    choices, texts = conflicts.posted_choices(request.form, len(info.conflicts))
    page = functools.partial(
        conflicts.conflict_page,
        info,
        section=section,
        paper=access.paper,
        action=url_for("sections.resolve_conflict", section_id=section.id),
        note=form.note.data or "",
        choices=choices,
        texts=texts,
        form=form,
    )
    if form.apply.data:
        return page(), 409
    body = conflicts.text_to_save(
        info.body_merge, form.combined.data or "", request.form.get("generated"), choices, texts
    )
    if body is None:
        message = _(
            "You changed choices and also edited the combined text. Check the combined text "
            "below and save again."
        )
        return page(error=message), 409
    try:
        result_saved = flow.save_section(
            current_user,
            section.id,
            title=form.title.data,
            level=form.level.data,
            body=body,
            base_version=current_number,
            note=form.note.data or "",
        )
    except EditConflict as err:
        # Yet another save came in; start again from the newest version, keeping this text.
        if err.info is None:
            raise
        head = flow.version_of(section.id, err.info.current_version)
        assert head is not None
        again = flow.conflict_info(
            section.id,
            current_number,
            head,
            TextState(title=form.title.data or "", body=body, level=form.level.data),
        )
        return conflicts.conflict_page(
            again,
            section=section,
            paper=access.paper,
            action=url_for("sections.resolve_conflict", section_id=section.id),
            note=form.note.data or "",
        ), 409
    except PaperLocked:
        return _kept(section, access.paper, form.title.data, form.combined.data)
    except SectionRemoved:
        return render_template(
            "sections/removed.html",
            section=section,
            paper=access.paper,
            form=SectionForm(
                title=form.title.data,
                level=form.level.data,
                body=body,
                base_version=current_number,
            ),
        ), 409
    except (ValidationFailed, TooLarge) as err:
        form.combined.errors = [err.message]
        return page(error=err.message), err.status
    flash(_("Saved as version %(n)s.", n=result_saved.version), "success")
    return redirect(_paper_anchor(section))


@bp.post("/sections/<int:section_id>/restore-with-text")
@login_required
def restore_with_text(section_id: int) -> str | Response | tuple[str, int]:
    """Bring a removed section back and save the user's kept text into it."""
    section, access = flow.get_section(current_user, section_id)
    form = SectionForm()
    if not form.validate_on_submit():
        abort(400)
    flow.undo_remove(current_user, section.id)
    try:
        result = flow.save_section(
            current_user,
            section.id,
            title=form.title.data,
            level=form.level.data,
            body=form.body.data or "",
            base_version=form.base_version.data,
            note=form.note.data or "",
        )
    except EditConflict as err:
        return _conflict_page(section, err, note=form.note.data or "")
    flash(
        _("The section is back and your text was saved as version %(n)s.", n=result.version),
        "success",
    )
    return redirect(_paper_anchor(section))


@bp.get("/sections/<int:section_id>/history")
@login_required
def history(section_id: int) -> str:
    """List all versions of a section with a form to compare two of them."""
    section, access = flow.get_section(current_user, section_id)
    versions = flow.history(section.id)
    return render_template(
        "sections/history.html",
        section=section,
        paper=access.paper,
        versions=versions,
        may_edit=can_edit_now(access.member, access.paper),
        action_form=FlaskForm(),
    )


def _version_or_404(section: Section, number: int | None) -> SectionVersion:
    version = flow.version_of(section.id, number) if number is not None else None
    if version is None:
        raise NotFound(_("Version not found."))
    return version


@bp.get("/sections/<int:section_id>/versions/<int:number>")
@login_required
def version(section_id: int, number: int) -> str:
    """Show one version of a section."""
    section, access = flow.get_section(current_user, section_id)
    shown = _version_or_404(section, number)
    return render_template(
        "sections/version.html",
        section=section,
        paper=access.paper,
        version=shown,
        may_edit=can_edit_now(access.member, access.paper),
        action_form=FlaskForm(),
    )


@bp.get("/sections/<int:section_id>/compare")
@login_required
def compare(section_id: int) -> str:
    """Compare two versions of a section inline and side by side."""
    section, access = flow.get_section(current_user, section_id)
    head = section.version
    old = _version_or_404(section, request.args.get("from", type=int, default=max(head - 1, 1)))
    new = _version_or_404(section, request.args.get("to", type=int, default=head))
    ops = textdiff.diff_ops(old.body, new.body)
    title_ops = textdiff.diff_ops(old.title, new.title)
    labels = {"deleted_label": _("deleted"), "inserted_label": _("inserted")}
    return render_template(
        "sections/compare.html",
        section=section,
        paper=access.paper,
        old=old,
        new=new,
        inline=textdiff.inline_html(ops, **labels),
        title_inline=textdiff.inline_html(title_ops, **labels),
        rows=textdiff.side_by_side(ops, **labels),
        stats=textdiff.diff_stats(ops),
        versions=flow.history(section.id),
    )


@bp.post("/sections/<int:section_id>/versions/<int:number>/restore")
@login_required
def restore(section_id: int, number: int) -> Response:
    """Make an old version current again (as a new version)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    result = flow.restore_version(current_user, section_id, number)
    if result.created:
        flash(
            _("Version %(old)s was restored as version %(n)s.", old=number, n=result.version),
            "success",
        )
    else:
        flash(_("This version is already the current text."), "info")
    return redirect(_paper_anchor(result.section))


def _writable_section(section_id: int) -> tuple[Section, Any]:
    section, access = flow.get_section(current_user, section_id, include_removed=False)
    if not can_edit_now(access.member, access.paper):
        abort(403)
    return section, access


@bp.get("/sections/<int:section_id>/actions")
@login_required
def actions(section_id: int) -> str:
    """All actions on one section: the paper page's "More actions" without JavaScript.

    The paper page carries one link here per section instead of a menu per section; its
    script turns the link into the menu, cloned from one template (bench_paper_page.py).
    """
    section, access = flow.get_section(current_user, section_id, include_removed=False)
    return render_template(
        "sections/actions.html",
        section=section,
        paper=access.paper,
        may_edit=can_edit_now(access.member, access.paper),
    )


@bp.get("/sections/<int:section_id>/remove")
@login_required
def confirm_remove(section_id: int) -> str:
    """Ask before removing a section (the paper page's menu links here; works without JS)."""
    section, access = _writable_section(section_id)
    return render_template(
        "sections/remove.html", section=section, paper=access.paper, action_form=FlaskForm()
    )


@bp.post("/sections/<int:section_id>/remove")
@login_required
def remove(section_id: int) -> Response:
    """Remove a section (it can be brought back)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    section = flow.remove_section(current_user, section_id)
    flash(
        _(
            "The section “%(title)s” was removed. You can undo this below the paper.",
            title=section.title,
        ),
        "success",
    )
    return redirect(url_for("papers.show", paper_id=section.paper_id, _anchor="removed"))


@bp.post("/sections/<int:section_id>/undo-remove")
@login_required
def undo_remove(section_id: int) -> Response:
    """Bring a removed section back."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    section = flow.undo_remove(current_user, section_id)
    flash(_("The section is back."), "success")
    return redirect(_paper_anchor(section))


def _move_page(section: Section, error: str | None = None) -> str:
    sections = flow.list_sections(section.paper_id)
    numbers = heading_numbers(s.level for s in sections)
    return render_template(
        "sections/move.html",
        section=section,
        paper=section.paper,
        places=list(zip(numbers, sections, strict=True)),
        current=next(i for i, s in enumerate(sections, 1) if s.id == section.id),
        error=error,
        action_form=FlaskForm(),
    )


@bp.get("/sections/<int:section_id>/move")
@login_required
def move_page(section_id: int) -> str:
    """The "move to…" page: choose a new place for a section from the list of sections."""
    section, _access = _writable_section(section_id)
    return _move_page(section)


@bp.post("/sections/<int:section_id>/move")
@login_required
def move(section_id: int) -> Response | tuple[str, int]:
    """Move a section up or down (``direction``) or to a place (``position``, 1 = first)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if "position" in request.form:
        try:
            section = flow.move_section_to(current_user, section_id, request.form["position"])
        except ValidationFailed as err:
            section, _access = flow.get_section(current_user, section_id, include_removed=False)
            return _move_page(section, str(err.message)), 400
        flash(_("The section “%(title)s” was moved.", title=section.title), "success")
    else:
        section = flow.move_section(current_user, section_id, request.form.get("direction", ""))
    return redirect(_paper_anchor(section))


@bp.get("/sections/<int:section_id>/draft")
@login_required
def get_draft(section_id: int) -> Response:
    """Return the user's autosaved draft of a section as JSON."""
    section, _access = flow.get_section(current_user, section_id)
    draft = flow.get_draft(current_user, section.id)
    if draft is None:
        return jsonify({"draft": None})
    return jsonify(
        {
            "draft": {
                "title": draft.title,
                "body": draft.body,
                "base_version": draft.base_version,
                "updated_at": draft.updated_at.isoformat(),
            }
        }
    )


@bp.post("/sections/<int:section_id>/draft")
@login_required
def autosave(section_id: int) -> Response:
    """Keep the editor's unsaved text on the server (called every few seconds by the editor)."""
    data = request.get_json(silent=True) or request.form
    draft = flow.save_draft(
        current_user,
        section_id,
        title=str(data.get("title", "")),
        body=str(data.get("body", "")),
        base_version=data.get("base_version"),
    )
    return jsonify({"saved": True, "updated_at": draft.updated_at.isoformat()})


@bp.post("/sections/<int:section_id>/draft/discard")
@login_required
def discard_draft(section_id: int) -> Response:
    """Throw away the autosaved draft."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    flow.discard_draft(current_user, section_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"discarded": True})
    flash(_("The autosaved draft was discarded."), "info")
    return redirect(url_for("sections.edit", section_id=section_id))


def _presence_json(place: presence.Visit, others: list[presence.Entry]) -> Response:
    head = place.head
    return jsonify(
        {
            "head_version": head.number,
            # For "… saved version n": who saved the newest version, and when.
            "head": {
                "version": head.number,
                "author": head.author,
                "organisation": head.organisation,
                "saved_at": head.created_at.isoformat(),
                "compare_url": url_for("sections.compare", section_id=place.section_id),
            },
            "others": [entry.as_json() for entry in others],
        }
    )


@bp.get("/sections/<int:section_id>/presence")
@login_required
def presence_status(section_id: int) -> Response:
    """Return who else has the section open and its newest version number, as JSON."""
    place = presence.visit(current_user, section_id)
    return _presence_json(place, presence.others(current_user, place.paper_id, place.section_id))


@bp.post("/sections/<int:section_id>/presence")
@login_required
def heartbeat(section_id: int) -> Response:
    """Note that the user has the section open (sent by the edit page every few seconds)."""
    place = presence.visit(current_user, section_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        data = request.form
    editing = str(data.get("editing", "true")).lower() not in ("false", "0", "")
    return _presence_json(place, presence.heartbeat(current_user, place, editing=editing))


@bp.post("/sections/<int:section_id>/presence/leave")
@login_required
def leave(section_id: int) -> Response:
    """Forget the user's presence on the section (sent when the edit page closes)."""
    presence.leave(current_user, presence.visit(current_user, section_id))
    return jsonify({"left": True})


@bp.get("/papers/<int:paper_id>/presence")
@login_required
def paper_presence(paper_id: int) -> Response:
    """Return who else is editing which section of a paper (for the marks on the paper page)."""
    access = paper_flow.get_paper(current_user, paper_id)
    found = presence.on_paper(current_user, access.paper.id)
    return jsonify(
        {
            "sections": {
                str(section_id): [entry.as_json() for entry in entries if entry.editing]
                for section_id, entries in found.items()
                if any(entry.editing for entry in entries)
            }
        }
    )


@bp.post("/sections/<int:section_id>/merge")
@login_required
def merge_into_editor(section_id: int) -> Response:
    """Merge the newest version into the editor's text (three-way, from its base version).

    Answers the merged text and the new base version; where both changed the same text, the
    editor's own text is kept and the other side is listed under ``conflicts``.
    """
    section, access = flow.get_section(current_user, section_id, include_removed=False)
    if not is_writer(access.member):
        abort(403)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    base = flow.version_of(section.id, flow.check_base_version(data.get("base_version")))
    if base is None:
        raise ValidationFailed(_("Version not found."), field="base_version")
    mine = flow.check_body(str(data.get("body", "")))
    title = str(data.get("title", ""))
    head = section.head
    assert head is not None
    result = merge3(base.body, head.body, mine)
    clashes = list(result.conflicts)
    # Where both changed the same text, the editor keeps what they typed (and sees the other).
    text = (
        result.text
        if result.clean
        else resolve(result, dict.fromkeys(range(len(clashes)), "yours"))
    )
    title_conflict = title != base.title and head.title != base.title and title != head.title
    return jsonify(
        {
            "body": text,
            "title": head.title if title == base.title else title,
            "base_version": head.number,
            "clean": result.clean and not title_conflict,
            "conflicts": [{"base": c.base, "theirs": c.theirs, "yours": c.yours} for c in clashes],
            "title_conflict": (
                {"base": base.title, "theirs": head.title, "yours": title}
                if title_conflict
                else None
            ),
            "author": head.author.display_name,
        }
    )
