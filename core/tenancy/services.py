"""Firms, companies and binders: creation and update, scoped and validated."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_mod

from core.binders.models import Binder
from core.db import db
from core.errors import ServiceError
from core.state import classeur
from core.tenancy.models import Company, Firm

DOSSIER_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def create_firm(name: str) -> Firm:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Le nom du cabinet est obligatoire.", "name")
    firm = Firm(name=name)
    db.session.add(firm)
    db.session.flush()
    return firm


def clean_siren(value: str | None) -> str | None:
    """A valid SIREN (checksum) without spaces, or None when empty."""
    if value is None or not str(value).strip():
        return None
    try:
        return siren_mod.validate(str(value))
    except StdnumError as exc:
        raise ServiceError(
            "SIREN invalide : 9 chiffres avec une clé de contrôle correcte.", "siren"
        ) from exc


def clean_dossier_code(value: str | None) -> str:
    code = (value or "").strip().upper()
    if not code:
        raise ServiceError("Le code dossier est obligatoire.", "dossier_code")
    if not DOSSIER_CODE_RE.match(code):
        raise ServiceError(
            "Code dossier invalide : lettres, chiffres, « . », « _ » ou « - », "
            "40 caractères au plus.",
            "dossier_code",
        )
    return code


def _clean_name(value: str | None, what: str = "Le nom") -> str:
    name = (value or "").strip()
    if not name:
        raise ServiceError(f"{what} est obligatoire.", "name")
    if len(name) > 200:
        raise ServiceError(f"{what} dépasse 200 caractères.", "name")
    return name


def _check_code_free(firm_id: int, code: str, exclude_id: int | None = None) -> None:
    stmt = select(Company.id).where(Company.firm_id == firm_id, Company.dossier_code == code)
    if exclude_id is not None:
        stmt = stmt.where(Company.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise ServiceError(
            f"Le code dossier {code} est déjà utilisé par une autre entreprise.",
            "dossier_code",
            code="duplicate",
            status=409,
        )


def create_company(
    firm_id: int, *, name: str, dossier_code: str, siren: str | None = None
) -> Company:
    """Create a company (dossier) in the firm; flushes."""
    company = Company(
        firm_id=firm_id,
        name=_clean_name(name),
        dossier_code=clean_dossier_code(dossier_code),
        siren=clean_siren(siren),
        settings={},
    )
    _check_code_free(firm_id, company.dossier_code)
    db.session.add(company)
    db.session.flush()
    return company


def update_company(company: Company, data: dict[str, Any]) -> Company:
    """Update name, dossier code or SIREN of a company already scoped by the caller."""
    if "name" in data:
        company.name = _clean_name(data["name"])
    if "dossier_code" in data:
        code = clean_dossier_code(data["dossier_code"])
        _check_code_free(company.firm_id, code, exclude_id=company.id)
        company.dossier_code = code
    if "siren" in data:
        company.siren = clean_siren(data["siren"])
    db.session.flush()
    return company


def update_company_settings(company: Company, section: str, values: dict[str, Any]) -> None:
    """Replace one section of the company's settings (JSON) and flush."""
    settings = dict(company.settings or {})
    settings[section] = values
    company.settings = settings
    db.session.flush()


def create_binder(company: Company, *, type: str, name: str) -> Binder:
    """Create a binder of a registered type in a company already scoped by the caller."""
    registry = classeur().binder_types
    if type not in registry:
        raise ServiceError(f"Type de classeur inconnu : {type}.", "type")
    from core.plugins.activation import check_binder_type_enabled

    check_binder_type_enabled(company, type)
    name = _clean_name(name, "Le nom du classeur")
    exists = db.session.scalar(
        select(Binder.id).where(Binder.company_id == company.id, Binder.name == name)
    )
    if exists is not None:
        raise ServiceError(
            f"Un classeur « {name} » existe déjà dans cette entreprise.",
            "name",
            code="duplicate",
            status=409,
        )
    binder = Binder(company_id=company.id, type=type, name=name)
    db.session.add(binder)
    db.session.flush()
    return binder


def update_binder(binder: Binder, data: dict[str, Any]) -> Binder:
    """Rename a binder (its type is fixed once documents may be in it)."""
    if "name" in data:
        name = _clean_name(data["name"], "Le nom du classeur")
        exists = db.session.scalar(
            select(Binder.id).where(
                Binder.company_id == binder.company_id, Binder.name == name, Binder.id != binder.id
            )
        )
        if exists is not None:
            raise ServiceError(
                f"Un classeur « {name} » existe déjà dans cette entreprise.",
                "name",
                code="duplicate",
                status=409,
            )
        binder.name = name
    if "type" in data and data["type"] != binder.type:
        raise ServiceError("Le type d'un classeur ne peut pas être modifié.", "type")
    db.session.flush()
    return binder
