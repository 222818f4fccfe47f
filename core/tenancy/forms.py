"""Company and binder forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class CompanyForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    dossier_code = StringField(_l("Code dossier"), validators=[DataRequired(), Length(max=40)])
    siren = StringField(_l("SIREN"), validators=[Optional(), Length(max=20)])


class BinderForm(FlaskForm):
    type = SelectField(_l("Type de classeur"), validators=[DataRequired()])
    name = StringField(_l("Nom du classeur"), validators=[DataRequired(), Length(max=200)])


class AccountingSettingsForm(FlaskForm):
    """ "Paramétrage général" of the company's "Comptabilité" page (seed, steps 2 to 7)."""

    software = SelectField(
        _l("Logiciel"), choices=[("", _l("— Aucun —")), ("meg", "MEG - MEG (RCA)")]
    )
    dossier_code = StringField(_l("Code dossier"), validators=[DataRequired(), Length(max=40)])
    binder_type = SelectField(_l("Type de classeur"), validators=[DataRequired()])
    binder_name = StringField(_l("Nom du classeur"), validators=[DataRequired(), Length(max=200)])
    invoice_number = BooleanField(_l("Numéro de facture"))
    due_date = BooleanField(_l("Date d'échéance"))
    allow_class_2 = BooleanField(_l("Autoriser la saisie sur les comptes de classe 2"))
    allow_class_6 = BooleanField(_l("Autoriser la saisie sur les comptes de classe 6"))
    payment_mode = BooleanField(_l("Mode de règlement"))
    vat_codes = BooleanField(_l("Codes de TVA"))
