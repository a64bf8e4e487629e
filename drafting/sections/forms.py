"""Forms for writing sections."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from drafting.forms import options
from drafting.inputs import BoundedIntegerField

LEVEL_CHOICES = [
    (1, _l("Level 1 (chapter)")),
    (2, _l("Level 2 (section)")),
    (3, _l("Level 3 (subsection)")),
]


class SectionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    level = SelectField(_l("Heading level"), coerce=int, validators=[InputRequired()])
    # No length validator here: the workflow answers an overlong body with its own message and
    # the text stays in the form.
    body = TextAreaField(
        _l("Text (Markdown)"),
        description=_l("Markdown: **bold**, *italic*, lists with - or 1., tables with |."),
    )
    note = StringField(_l("Change note (optional)"), validators=[Length(max=500)])
    editorial = BooleanField(
        _l("Editorial change only (spelling, punctuation, spacing)"),
        description=_l(
            "If the text differs from the approved one only in such details, the approval stays."
        ),
    )
    base_version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.level.choices = options(LEVEL_CHOICES)


class ResolveForm(FlaskForm):
    """The conflict page: the user's text, the versions involved and the combined text."""

    # Hidden, so that ``hidden_tag()`` carries them through the conflict page's form.
    base_version = BoundedIntegerField(validators=[InputRequired()], widget=HiddenInput())
    current_version = BoundedIntegerField(validators=[InputRequired()], widget=HiddenInput())
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    level = SelectField(_l("Heading level"), coerce=int)
    yours = TextAreaField(_l("Your text"))
    combined = TextAreaField(_l("Combined text"))
    note = StringField(_l("Change note (optional)"), validators=[Length(max=500)])
    apply = SubmitField(_l("Apply my choices to the combined text"))
    submit = SubmitField(_l("Save the combined text"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.level.choices = options(LEVEL_CHOICES)
