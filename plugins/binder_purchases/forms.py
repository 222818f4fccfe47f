"""The purchases' "Paramétrage général" form (seed, steps 2 to 7)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class GeneralSettingsForm(FlaskForm):
    """ "Comptabilité" → "Paramétrage général": the software (one of the installed
    connectors), the dossier code, the purchase binder and the accounting elements."""

    software = SelectField(_l("Logiciel"))
    dossier_code = StringField(_l("Code dossier"), validators=[DataRequired(), Length(max=40)])
    binder_type = SelectField(_l("Type de classeur"), validators=[DataRequired()])
    binder_name = StringField(_l("Nom du classeur"), validators=[DataRequired(), Length(max=200)])
    invoice_number = BooleanField(_l("Numéro de facture"))
    due_date = BooleanField(_l("Date d'échéance"))
    allow_class_2 = BooleanField(_l("Autoriser la saisie sur les comptes de classe 2"))
    allow_class_6 = BooleanField(_l("Autoriser la saisie sur les comptes de classe 6"))
    payment_mode = BooleanField(_l("Mode de règlement"))
    vat_codes = BooleanField(_l("Codes de TVA"))
