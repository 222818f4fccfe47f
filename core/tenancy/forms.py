"""Company and binder forms."""

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.errors import ServiceError
from core.tenancy.services import check_code_free, clean_dossier_code, clean_siren


def _check(clean: Callable[[Any], Any], field: Field) -> None:
    """Run a service's cleaner as a field validator, so that every field's error shows at
    once instead of the service's first one."""
    try:
        clean(field.data)
    except ServiceError as exc:
        raise ValidationError(exc.message) from exc


class CompanyForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    dossier_code = StringField(_l("Code dossier"), validators=[DataRequired(), Length(max=40)])
    siren = StringField(_l("SIREN"), validators=[Optional(), Length(max=20)])

    def __init__(self, *args: Any, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        #: The company edited (None when creating one): its own code is not a duplicate.
        self.company_id: int | None = getattr(obj, "id", None)

    def validate_dossier_code(self, field: Field) -> None:
        _check(clean_dossier_code, field)
        # The duplicate is reported with the other errors, not on the next submit.
        from core.tenancy.scoping import current_firm_id

        code = clean_dossier_code(field.data)
        try:
            check_code_free(current_firm_id(), code, exclude_id=self.company_id)
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc

    def validate_siren(self, field: Field) -> None:
        _check(clean_siren, field)


class BinderForm(FlaskForm):
    type = SelectField(_l("Type de classeur"), validators=[DataRequired()])
    name = StringField(_l("Nom du classeur"), validators=[DataRequired(), Length(max=200)])
