"""Forms of the inbox: mark all read, and which notifications also come by e-mail."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from drafting.forms import options
from workflows.notifications import kind_choices


class MarkAllReadForm(FlaskForm):
    submit = SubmitField(_l("Mark all as read"))


class EmailSettingsForm(FlaskForm):
    # Checked = "send this kind by e-mail too"; the kinds left unchecked are stored as opt-outs.
    email_kinds = SelectMultipleField(
        _l("Also send by e-mail when"),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    submit = SubmitField(_l("Save settings"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.email_kinds.choices = options(kind_choices())
