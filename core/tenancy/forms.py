"""Company and binder forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class CompanyForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    dossier_code = StringField(_l("Code dossier"), validators=[DataRequired(), Length(max=40)])
    siren = StringField(_l("SIREN"), validators=[Optional(), Length(max=20)])


class BinderForm(FlaskForm):
    type = SelectField(_l("Type de classeur"), validators=[DataRequired()])
    name = StringField(_l("Nom du classeur"), validators=[DataRequired(), Length(max=200)])
