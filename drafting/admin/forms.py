"""Forms for administrators: partner organisations and user accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
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
    password_login = BooleanField(
        _l("Its users may log in with a password"),
        default=True,
        description=_l("Switch off when the organisation logs in through single sign-on only."),
    )
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


class IdentityProviderForm(FlaskForm):
    key = StringField(
        _l("Key"),
        validators=[DataRequired(), Length(max=40)],
        description=_l(
            "In the login address, e.g. “land-portal”: lower-case letters, digits, hyphens."
        ),
    )
    label = StringField(
        _l("Name on the login button"), validators=[DataRequired(), Length(max=120)]
    )
    issuer = StringField(
        _l("Issuer"),
        validators=[DataRequired(), Length(max=500)],
        description=_l(
            "The provider's issuer URL, e.g. https://login.land.example/realms/buendnis."
        ),
    )
    client_id = StringField(_l("Client id"), validators=[DataRequired(), Length(max=200)])
    client_secret = PasswordField(
        _l("Client secret"),
        validators=[Length(max=500)],
        description=_l("Leave empty to keep the stored secret."),
    )
    email_claim = StringField(_l("Claim with the e-mail address"), default="email")
    organisation_claim = StringField(
        _l("Claim with the organisation (optional)"), validators=[Length(max=80)]
    )
    organisation_rules = TextAreaField(
        _l("Which people belong to which organisation"),
        description=_l(
            "One rule a line: “domain:stadt.example = CITY” (e-mail domain and its "
            "subdomains) or “claim:IHK Musterstadt = IHK” (value of the organisation claim). "
            "People no rule maps are refused."
        ),
    )
    enabled = BooleanField(_l("People may log in through it"), default=True)
    submit = SubmitField(_l("Save"))
