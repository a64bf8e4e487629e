"""Forms of the discussion page: comment (with a quoted passage), reply, edit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField

# No length validators: the workflow answers an empty or overlong text with its own message
# (and status), and the text stays in the form.


class CommentForm(FlaskForm):
    quote = TextAreaField(
        _l("Quoted passage (optional)"),
        description=_l(
            "Copy the words you are commenting on from the text above, or select them there. "
            "Leave empty to comment on the whole section."
        ),
    )
    body = TextAreaField(
        _l("Comment"),
        description=_l(
            "Mention members with @: type @ and a part of the name and choose from the list, "
            "or write @ and their e-mail address, or @[Name]."
        ),
    )
    submit = SubmitField(_l("Add comment"))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"))
    submit = SubmitField(_l("Send reply"))


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"))
    submit = SubmitField(_l("Save changes"))
