"""Forms of the sign-off round."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from drafting.forms import options


class StartForm(FlaskForm):
    label = StringField(
        _l("Label of the edition (optional)"),
        validators=[Length(max=200)],
        description=_l("For example “Entwurf zur Mitzeichnung, März”."),
    )
    deadline = DateField(_l("Deadline (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Freeze the edition and start the sign-off"))


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Your organisation's decision"), validators=[DataRequired()])
    note = TextAreaField(
        _l("Reservation or reason"),
        validators=[Length(max=20000)],
        description=_l("Required for an approval with reservation and for a rejection."),
    )
    edition_hash = HiddenField()
    submit = SubmitField(_l("Record the decision"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.decision.choices = options(
            [
                ("approve", _l("Approve")),
                ("approve_with_reservation", _l("Approve with reservation")),
                ("reject", _l("Reject")),
            ]
        )
