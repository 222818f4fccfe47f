"""Firms, companies and binders: creation and update, scoped and validated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_mod

from core.binders.models import Binder
from core.db import db
from core.errors import ServiceError
from core.state import classeur
from core.tenancy.models import Company, Firm

if TYPE_CHECKING:
    from core.auth.models import User

DOSSIER_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def create_firm(name: str) -> Firm:
    """A firm row (flushed); :func:`open_firm` is the checked, audited way in."""
    firm = Firm(name=clean_firm_name(name))
    db.session.add(firm)
    db.session.flush()
    return firm


# --- several firms per instance: the operator's functions -----------------------------------


def clean_firm_name(value: str | None) -> str:
    """The firm's name, spaces collapsed; required, 200 characters at most."""
    name = " ".join((value or "").split())
    if not name:
        raise ServiceError("Le nom du cabinet est obligatoire.", "name")
    if len(name) > 200:
        raise ServiceError("Le nom du cabinet dépasse 200 caractères.", "name")
    return name


def find_firm(ref: str | int) -> Firm | None:
    """The firm of ``ref``: its id, or its exact name (case and spaces aside)."""
    text = str(ref).strip()
    if text.isdigit():
        firm = db.session.get(Firm, int(text))
        if firm is not None:
            return firm
    return firm_by_name(text)


def firm_by_name(name: str) -> Firm | None:
    """The firm named ``name``, case and spaces aside (accents count)."""
    wanted = " ".join(name.split()).casefold()
    for firm in db.session.scalars(select(Firm).order_by(Firm.id)):
        if firm.name.casefold() == wanted:
            return firm
    return None


@dataclass
class OpenedFirm:
    """What :func:`open_firm` did: the firm, its first admin, and how that admin gets in."""

    firm: Firm
    admin: User | None = None
    #: "invited" (an e-mail with a link was queued), "password" (a generated password, in
    #: ``password``, to hand over once) or "existing" (an account of another firm, made admin).
    admin_access: str = ""
    password: str | None = None
    #: The invitation link (also sent by e-mail), to print when mail is not set up.
    link: str | None = None


def open_firm(
    name: str,
    admin_email: str | None = None,
    *,
    invited_by: str = "",
    admin_name: str | None = None,
) -> OpenedFirm:
    """Create a firm and, with an e-mail, its first administrator; audited (``firm_created``)
    under the new firm. A name another firm has (case aside) is refused. Flushes; the caller
    commits."""
    from core.auth.audit import audit

    name = clean_firm_name(name)
    if firm_by_name(name) is not None:
        raise ServiceError(
            f"Un cabinet « {name} » existe déjà.", "name", code="duplicate", status=409
        )
    email = _clean_admin_email(admin_email)
    firm = create_firm(name)
    opened = OpenedFirm(firm=firm)
    audit(
        "firm_created",
        target=firm.name,
        details={"email": email} if email else None,
        firm_id=firm.id,
    )
    if email:
        # The admin gets a name: the one given, else the part of the address before "@".
        admin_name = " ".join((admin_name or "").split())[:200] or email.split("@", 1)[0]
        _first_admin(opened, email, invited_by, admin_name)
    db.session.flush()
    return opened


def _clean_admin_email(value: str | None) -> str | None:
    from core.auth.services import AuthError, normalise_email

    if value is None or not value.strip():
        return None
    try:
        return normalise_email(value)
    except AuthError as exc:
        raise ServiceError(exc.message, "admin_email") from exc


def _first_admin(opened: OpenedFirm, email: str, invited_by: str, name: str = "") -> None:
    """Make ``email`` the firm's admin through the users' invitation (an e-mail with a link to
    choose a password; an existing account of another firm gets the membership); without that
    service, a new account with a generated password to hand over."""
    from core.auth.models import User
    from core.auth.services import AuthError
    from core.tenancy.models import Membership, Role

    firm = opened.firm
    invite = _invitation_service()
    if invite is not None:
        try:
            membership, link = invite(firm, email, Role.ADMIN, name=name, invited_by=invited_by)
        except AuthError as exc:
            raise ServiceError(exc.message, "admin_email") from exc
        opened.admin = membership.user
        opened.admin_access = "invited" if link else "existing"
        opened.link = link
        return
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        user.memberships.append(Membership(firm=firm, role=Role.ADMIN))
        opened.admin, opened.admin_access = user, "existing"
        return
    import secrets

    from core.auth.services import create_user

    opened.password = secrets.token_urlsafe(12) + "-7"
    opened.admin = create_user(email, opened.password, firm, Role.ADMIN, name=name)
    opened.admin_access = "password"


def _invitation_service() -> Any:
    """The users' invitation (``core.auth.services.invite_user``), when there."""
    from core.auth import services as auth_services

    return getattr(auth_services, "invite_user", None)


def disable_firm(firm: Firm) -> bool:
    """Disable a firm: its members cannot log in nor use the API from their next request;
    nothing of it is deleted, :func:`enable_firm` restores everything. False when it already
    was disabled. Audited (``firm_disabled``); flushes, the caller commits."""
    from core.auth.audit import audit
    from core.db import utcnow

    if not firm.active:
        return False
    firm.active = False
    firm.disabled_at = utcnow()
    audit("firm_disabled", target=firm.name, firm_id=firm.id)
    db.session.flush()
    return True


def enable_firm(firm: Firm) -> bool:
    """Enable a disabled firm again (its members log in as before). False when it was active.
    Audited (``firm_enabled``); flushes, the caller commits."""
    from core.auth.audit import audit

    if firm.active:
        return False
    firm.active = True
    firm.disabled_at = None
    audit("firm_enabled", target=firm.name, firm_id=firm.id)
    db.session.flush()
    return True


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


def check_code_free(firm_id: int, code: str, exclude_id: int | None = None) -> None:
    """Refuse (409) a dossier code another company of the firm already uses."""
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
    check_code_free(firm_id, company.dossier_code)
    db.session.add(company)
    db.session.flush()
    return company


def update_company(company: Company, data: dict[str, Any]) -> Company:
    """Update name, dossier code or SIREN of a company already scoped by the caller."""
    if "name" in data:
        company.name = _clean_name(data["name"])
    if "dossier_code" in data:
        code = clean_dossier_code(data["dossier_code"])
        check_code_free(company.firm_id, code, exclude_id=company.id)
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
