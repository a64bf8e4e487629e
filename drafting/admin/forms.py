"""Forms for administrators: partner organisations and user accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from drafting.forms import options
from drafting.models import OrgKind


def kind_choices() -> list[tuple[str, str]]:
    """Return the kinds of organisation with their translated labels."""
    labels = {
        OrgKind.MINISTRY: _l("Ministry"),
        OrgKind.MUNICIPALITY: _l("City or municipality"),
        OrgKind.CHAMBER: _l("Chamber"),
        OrgKind.ASSOCIATION: _l("Association"),
        OrgKind.COMPANY: _l("Company"),
        OrgKind.OTHER: _l("Other"),
    }
    return [(k.value, str(labels[k])) for k in OrgKind]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=40)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    may_create_papers = BooleanField(_l("Its users may create papers"), default=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(kind_choices())


LANG_CHOICES = [("de", "Deutsch"), ("en", "English")]


class UserCreateForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    locale = SelectField(_l("Language"))
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=10, max=1000)],
        description=_l("At least 10 characters. Tell the user on a separate channel."),
    )
    is_admin = BooleanField(_l("Administrator"))
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = options(LANG_CHOICES)


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    locale = SelectField(_l("Language"))
    active = BooleanField(_l("Active (may log in)"))
    is_admin = BooleanField(_l("Administrator"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = options(LANG_CHOICES)


class AdminPasswordForm(FlaskForm):
    """Set another user's password (their sessions end, their API tokens are revoked)."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=1000)],
        description=_l(
            "At least 10 characters. The user is logged out everywhere and their API tokens "
            "are revoked. Tell them the password on a separate channel."
        ),
    )
    set_password = SubmitField(_l("Set password"))


class InvitationForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    locale = SelectField(_l("Language of the e-mail"))
    submit = SubmitField(_l("Send invitation"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = options(LANG_CHOICES)
