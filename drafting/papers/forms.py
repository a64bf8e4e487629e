"""Forms for papers, participants and roles."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from drafting.forms import options
from drafting.models import Role


class PaperForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20000)])
    # Language names in their own language, as in the language switch.
    language = SelectField(
        _l("Language of the paper"),
        choices=options([("de", "Deutsch"), ("en", "English")]),
        description=_l("The Word file's headings, labels and hyphenation follow it."),
        # Checked by the workflow: a form without it (older pages, scripts) keeps the default.
        validate_choice=False,
    )
    submit = SubmitField(_l("Save"))


class ParticipantForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), validators=[DataRequired()])
    submit = SubmitField(_l("Add organisation"))


def role_choices() -> list[tuple[str, str]]:
    """Return the per-paper roles with translated labels."""
    labels = {
        Role.COORDINATOR: _l("Coordinator"),
        Role.EDITOR: _l("Editor"),
        Role.REVIEWER: _l("Reviewer"),
        Role.SIGNATORY: _l("Signatory"),
    }
    # Least privileged first, and the form's default (issue 15): reading and commenting need
    # no role at all, every member of a participating organisation may do that.
    order = (Role.REVIEWER, Role.SIGNATORY, Role.EDITOR, Role.COORDINATOR)
    return [(r.value, str(labels[r])) for r in order]


class RoleForm(FlaskForm):
    email = EmailField(
        _l("Person"),
        validators=[DataRequired(), Length(max=254)],
        description=_l(
            "Type a name, an organisation or an e-mail address and choose from the list. Only "
            "people of participating organisations can be given a role: add their "
            "organisation above first."
        ),
        # The people of the participating organisations, as a <datalist> on the page.
        render_kw={"list": "role-people", "autocomplete": "off"},
    )
    role = SelectField(
        _l("Role"),
        validators=[DataRequired()],
        default=Role.REVIEWER.value,
        description=_l(
            "Everyone in a participating organisation can already read and comment. "
            "Reviewers approve sections, signatories decide in the sign-off, editors change "
            "the text, coordinators also manage participants and roles."
        ),
    )
    submit = SubmitField(_l("Give role"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = options(role_choices())


class PaperInvitationForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of the person"), validators=[DataRequired(), Length(max=254)]
    )
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    role = SelectField(
        _l("Role on this paper"),
        description=_l("Without a role the person reads and comments, like every member."),
    )
    locale = SelectField(_l("Language of the e-mail"))
    submit = SubmitField(_l("Send invitation"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = options([("", _l("No role (read and comment)")), *role_choices()])
        self.locale.choices = options([("de", "Deutsch"), ("en", "English")])
