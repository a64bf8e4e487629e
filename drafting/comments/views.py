"""Pages of the discussion of a section: comments on passages, replies, edit, resolve."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from drafting.comments.forms import CommentForm, EditCommentForm, ReplyForm
from drafting.text.highlight import render_highlighted
from workflows import comments as flow
from workflows import sections as section_flow
from workflows.errors import TooLarge, ValidationFailed
from workflows.permissions import can_comment

bp = Blueprint("comments", __name__)

# A quote handed over in the address (from "Comment on this passage" on the paper page).
MAX_PREFILL = 2_000


def _reply_form(root_id: int, **kwargs: object) -> ReplyForm:
    # Prefixes keep field ids unique among the many forms of one page.
    return ReplyForm(prefix=f"reply-{root_id}", **kwargs)


def _edit_form(comment_id: int, **kwargs: object) -> EditCommentForm:
    return EditCommentForm(prefix=f"edit-{comment_id}", **kwargs)


def _page(
    section_id: int,
    *,
    form: CommentForm | None = None,
    reply: tuple[int, ReplyForm] | None = None,
    edit: tuple[int, EditCommentForm] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    section, access = section_flow.get_section(current_user, section_id)
    head = section.head
    assert head is not None
    threads = flow.threads_of(section)
    open_threads = [t for t in threads if not t.resolved]
    resolved_threads = [t for t in threads if t.resolved]
    highlighted = {
        t.root.id: t.anchor.anchor
        for t in open_threads
        if t.anchor.anchor is not None and t.root.deleted_at is None
    }
    body_html = render_highlighted(head.body, highlighted) if highlighted else None
    comments = [c for t in threads for c in t.comments]
    users = flow.mention_users(c.body for c in comments if c.deleted_at is None)
    rendered: dict[int, Markup] = {
        c.id: flow.render_comment(c.body, users) for c in comments if c.deleted_at is None
    }
    # Forms other than the one being answered start empty (formdata=None), not from the post.
    if form is None:
        form = CommentForm(formdata=None)
        prefill = request.args.get("quote", "")
        if prefill:
            form.quote.data = prefill[:MAX_PREFILL]
    reply_forms = {t.root.id: _reply_form(t.root.id, formdata=None) for t in threads}
    if reply is not None:
        reply_forms[reply[0]] = reply[1]
    edit_forms = {
        c.id: _edit_form(c.id, formdata=None, body=c.body)
        for c in comments
        if flow.is_own(access.member, c) and c.deleted_at is None
    }
    if edit is not None:
        edit_forms[edit[0]] = edit[1]
    return render_template(
        "comments/section.html",
        section=section,
        paper=access.paper,
        head=head,
        body_html=body_html,
        open_threads=open_threads,
        resolved_threads=resolved_threads,
        rendered=rendered,
        form=form,
        reply_forms=reply_forms,
        edit_forms=edit_forms,
        open_reply=reply[0] if reply else None,
        open_edit=edit[0] if edit else None,
        may_comment=can_comment(access.member) and section.removed_at is None,
        may_resolve={t.root.id: flow.can_resolve(access.member, t.root) for t in threads},
        resolvers=flow.users_by_id(t.root.resolved_by_id for t in resolved_threads),
    ), status


def _to_comment(section_id: int, comment_id: int, *, paper_anchor: str | None = None) -> Response:
    if request.form.get("next") == "paper":  # from the margin of the paper page
        section, _access = section_flow.get_section(current_user, section_id)
        return redirect(
            url_for(
                "papers.show",
                paper_id=section.paper_id,
                _anchor=paper_anchor or f"comment-{comment_id}",
            )
        )
    return redirect(
        url_for("comments.discussion", section_id=section_id, _anchor=f"comment-{comment_id}")
    )


@bp.get("/sections/<int:section_id>/comments")
@login_required
def discussion(section_id: int) -> tuple[str, int]:
    """Show a section's current text with its comment threads, open ones first."""
    return _page(section_id)


@bp.post("/sections/<int:section_id>/comments")
@login_required
def add(section_id: int) -> Response | tuple[str, int]:
    """Comment on a section, optionally on a quoted passage."""
    form = CommentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        comment = flow.add_comment(
            current_user, section_id, form.body.data or "", quote=form.quote.data or ""
        )
    except (ValidationFailed, TooLarge) as err:
        field = form.quote if err.extra.get("field") == "quote" else form.body
        field.errors = [*field.errors, err.message]
        return _page(section_id, form=form, status=err.status)
    flash(_("Your comment was added."), "success")
    return _to_comment(section_id, comment.id)


@bp.post("/comments/<int:comment_id>/replies")
@login_required
def reply(comment_id: int) -> Response | tuple[str, int]:
    """Reply to a comment."""
    parent, section, _access = flow.get_comment(current_user, comment_id)
    form = _reply_form(parent.id)
    if not form.validate_on_submit():
        abort(400)
    try:
        comment = flow.add_comment(
            current_user, section.id, form.body.data or "", parent_id=parent.id
        )
    except (ValidationFailed, TooLarge) as err:
        form.body.errors = [*form.body.errors, err.message]
        return _page(section.id, reply=(parent.id, form), status=err.status)
    flash(_("Your reply was added."), "success")
    return _to_comment(section.id, comment.id)


@bp.post("/comments/<int:comment_id>/edit")
@login_required
def edit(comment_id: int) -> Response | tuple[str, int]:
    """Change the text of one's own comment."""
    comment, section, _access = flow.get_comment(current_user, comment_id)
    form = _edit_form(comment.id)
    if not form.validate_on_submit():
        abort(400)
    try:
        flow.edit_comment(current_user, comment.id, form.body.data or "")
    except (ValidationFailed, TooLarge) as err:
        form.body.errors = [*form.body.errors, err.message]
        return _page(section.id, edit=(comment.id, form), status=err.status)
    flash(_("The comment was changed."), "success")
    return _to_comment(section.id, comment.id)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete(comment_id: int) -> Response:
    """Delete one's own comment; replies to it stay."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    comment = flow.delete_comment(current_user, comment_id)
    flash(_("The comment was deleted."), "success")
    return _to_comment(comment.section_id, comment.parent_id or comment.id)


@bp.post("/comments/<int:comment_id>/resolve")
@login_required
def resolve(comment_id: int) -> Response:
    """Mark a thread as resolved."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    comment = flow.resolve_comment(current_user, comment_id)
    flash(_("The thread was marked as resolved."), "success")
    return _to_comment(comment.section_id, comment.id, paper_anchor=f"section-{comment.section_id}")


@bp.post("/comments/<int:comment_id>/reopen")
@login_required
def reopen(comment_id: int) -> Response:
    """Open a resolved thread again."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    comment = flow.reopen_comment(current_user, comment_id)
    flash(_("The thread is open again."), "success")
    return _to_comment(comment.section_id, comment.id, paper_anchor=f"section-{comment.section_id}")


@bp.get("/papers/<int:paper_id>/mentionable")
@login_required
def mentionable(paper_id: int) -> Response:
    """List the paper's members whose name contains ``q``, for the @-mention autocomplete."""
    users = flow.mentionable(current_user, paper_id, request.args.get("q", ""))
    return jsonify(
        {
            "members": [
                {
                    "id": u.id,
                    "name": u.display_name,
                    "organisation": u.organisation.short_name if u.organisation else "",
                    "mention": "@[{}](user:{})".format(
                        u.display_name.replace("[", "(").replace("]", ")"), u.id
                    ),
                }
                for u in users
            ]
        }
    )
