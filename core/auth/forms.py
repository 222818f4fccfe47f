"""Login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Rester connecté"))


class TokenForm(FlaskForm):
    """Create an API token."""

    name = StringField(_l("Nom du jeton"), validators=[DataRequired(), Length(max=100)])
    scope_read = BooleanField(_l("Lecture"), default=True)
    scope_write = BooleanField(_l("Écriture"))
    scope_admin = BooleanField(_l("Administration"))
    days = IntegerField(
        _l("Validité (jours, 0 = sans expiration)"),
        default=90,
        validators=[NumberRange(min=0, max=3650)],
    )
