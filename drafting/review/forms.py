"""Forms for submitting, approving, sending back, suggesting and deciding on suggestions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from drafting.inputs import BoundedIntegerField


class SubmitForm(FlaskForm):
    reviewers = StringField(
        _l("Reviewers (optional)"),
        validators=[Length(max=2000)],
        description=_l(
            "E-mail addresses of reviewers of this paper, separated by commas. "
            "Leave empty to ask all reviewers."
        ),
    )
    due = DateField(_l("Due date (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Submit for review"))


class ApproveForm(FlaskForm):
    version = BoundedIntegerField(validators=[InputRequired()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Length(max=5000)])
    submit = SubmitField(_l("Approve this version"))


class RequestChangesForm(FlaskForm):
    version = BoundedIntegerField(validators=[InputRequired()])
    comment = TextAreaField(
        _l("What should change?"), validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Send back"))


class SuggestionForm(FlaskForm):
    body = TextAreaField(_l("Proposed text (Markdown)"))
    note = TextAreaField(_l("Why this change?"), validators=[Length(max=5000)])
    base_version = HiddenField()
    submit = SubmitField(_l("Propose the change"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Reject the suggestion"))


class ActivityFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Kind of entry"))
    section = BoundedIntegerField(_l("Section"), validators=[Optional()])
    person = StringField(_l("Person (e-mail)"))
    submit = SubmitField(_l("Filter"))
