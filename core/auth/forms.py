"""Login, token, user and account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.auth.services import LOCALES, ROLE_LABELS


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


ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in ("accountant", "uploader", "admin")]


class InviteForm(FlaskForm):
    """Administration → Utilisateurs: invite a person by e-mail."""

    name = StringField(_l("Nom"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES, default="accountant")
    companies = SelectMultipleField(_l("Entreprises (pour un client)"), coerce=int, choices=[])


class MemberForm(FlaskForm):
    """A user's role and, for an uploader, its companies."""

    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)
    companies = SelectMultipleField(_l("Entreprises (pour un client)"), coerce=int, choices=[])


class AccountForm(FlaskForm):
    """Mon compte: name and language."""

    name = StringField(_l("Nom"), validators=[Optional(), Length(max=200)])
    locale = SelectField(_l("Langue"), choices=list(LOCALES.items()))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        _l("Nouveau mot de passe"), validators=[DataRequired(), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Nouveau mot de passe (encore)"), validators=[DataRequired(), Length(max=200)]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Length(max=254)])


class SetPasswordForm(FlaskForm):
    """Choose a password from an invitation or a reset link."""

    password = PasswordField(
        _l("Nouveau mot de passe"), validators=[DataRequired(), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Nouveau mot de passe (encore)"), validators=[DataRequired(), Length(max=200)]
    )
