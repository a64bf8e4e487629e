"""Forms for importing Word files and uploading reference templates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class ImportForm(FlaskForm):
    file = FileField(
        _l("Word document (.docx)"),
        validators=[
            FileRequired(_l("Please choose a file.")),
            FileAllowed(["docx"], _l("Only Word documents (.docx) can be imported.")),
        ],
        description=_l(
            "Headings of level 1 to 3 start new sections. Tracked changes become suggestions."
            " Into an existing paper, every change becomes a suggestion."
        ),
    )
    submit = SubmitField(_l("Import"))


class ConfirmImportForm(FlaskForm):
    """The confirmation after the preview: the kept upload's token."""

    token = HiddenField()
    filename = HiddenField()
    submit = SubmitField(_l("Import"))


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    file = FileField(
        _l("Reference document (.docx)"),
        validators=[
            FileRequired(_l("Please choose a file.")),
            FileAllowed(["docx"], _l("Only Word documents (.docx) are possible.")),
        ],
        description=_l("Exports use the fonts, colours and heading styles of this document."),
    )
    submit = SubmitField(_l("Upload and use for exports"))
