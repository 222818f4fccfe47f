"""The operator's view of the platform: figures per firm (never a document's content) and the
gate that turns a disabled firm's members away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user
from sqlalchemy import func, select

from core.auth.models import AuditEvent, User
from core.db import db
from core.documents.models import Document
from core.tenancy.models import Company, Firm, Membership


def disabled_firm_message(user: Any) -> str | None:
    """Why ``user`` may not come in: every firm it belongs to is disabled (an operator, or a
    member of at least one active firm, comes in); None when it may."""
    rows = db.session.execute(
        select(Firm.name, Firm.active)
        .join(Membership, Membership.firm_id == Firm.id)
        .where(Membership.user_id == user.id)
        .order_by(Firm.id)
    ).all()
    if not rows or any(active for _name, active in rows) or user.is_operator:
        return None
    names = ", ".join(name for name, _active in rows)
    return ngettext(
        "Le cabinet %(names)s est désactivé : connexion impossible. Contactez l'opérateur "
        "de la plateforme.",
        "Les cabinets %(names)s sont désactivés : connexion impossible. Contactez "
        "l'opérateur de la plateforme.",
        len(rows),
        names=names,
    )


def firm_gate() -> Any:
    """``before_request``: a member of disabled firms only is logged out (pages) or refused
    (API, 403 ``firm_disabled``) at the next request, session or token alike; an operator
    outside the firms asking for the dashboard lands on the operator's page."""
    if request.endpoint in (None, "static"):
        return None
    if not current_user.is_authenticated:
        return None
    message = disabled_firm_message(current_user)
    if message is None:
        from flask import g

        if g.get("api_token_id") is not None:
            from core.auth.models import ApiToken
            from core.auth.services import token_firm_refusal

            token = db.session.get(ApiToken, g.api_token_id)
            refusal = token_firm_refusal(current_user, token) if token is not None else None
            if refusal is not None:
                response = jsonify(
                    {"error": {"code": "token_firm", "message": refusal, "field": None}}
                )
                response.status_code = 403
                return response
        if request.endpoint == "web.dashboard" and current_user.is_operator:
            from core.tenancy.scoping import current_membership_or_none

            if current_membership_or_none() is None:
                return redirect(url_for("operator.index"))
        return None
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": "firm_disabled", "message": message, "field": None}})
        response.status_code = 403
        return response
    logout_user()
    flash(message, "error")
    return redirect(url_for("auth.login"))


@dataclass
class FirmFigures:
    """One line of the operator's list: counts and sizes, nothing of the documents' content."""

    id: int
    name: str
    active: bool
    created_at: datetime
    disabled_at: datetime | None
    users: int = 0
    companies: int = 0
    documents: int = 0
    storage_bytes: int = 0
    last_activity: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "created_at": iso(self.created_at),
            "disabled_at": iso(self.disabled_at),
            "users": self.users,
            "companies": self.companies,
            "documents": self.documents,
            "storage_bytes": self.storage_bytes,
            "last_activity": iso(self.last_activity),
        }


def firm_figures(firm_ids: list[int] | None = None) -> list[FirmFigures]:
    """Every firm (or those of ``firm_ids``) by name with its users (active accounts), companies,
    documents (the trash included: their files are kept), storage (the originals' sizes, a
    file stored twice in the firm counted once) and last activity (the latest document change
    or audit event: logins included)."""
    stmt = select(Firm).order_by(Firm.name, Firm.id)
    if firm_ids is not None:
        stmt = stmt.where(Firm.id.in_(firm_ids))
    firms = db.session.scalars(stmt).all()
    ids = [f.id for f in firms]
    users = _by_firm(
        select(Membership.firm_id, func.count(Membership.id))
        .join(User, User.id == Membership.user_id)
        .where(Membership.firm_id.in_(ids), User.active.is_(True))
        .group_by(Membership.firm_id)
    )
    companies = _by_firm(
        select(Company.firm_id, func.count(Company.id))
        .where(Company.firm_id.in_(ids))
        .group_by(Company.firm_id)
    )
    documents = _by_firm(
        select(Document.firm_id, func.count(Document.id))
        .where(Document.firm_id.in_(ids))
        .group_by(Document.firm_id)
    )
    originals = (
        select(Document.firm_id, Document.sha256, func.max(Document.size).label("size"))
        .where(Document.firm_id.in_(ids))
        .group_by(Document.firm_id, Document.sha256)
        .subquery()
    )
    storage = _by_firm(
        select(originals.c.firm_id, func.sum(originals.c.size)).group_by(originals.c.firm_id)
    )
    last_document = _by_firm(
        select(Document.firm_id, func.max(Document.updated_at))
        .where(Document.firm_id.in_(ids))
        .group_by(Document.firm_id)
    )
    last_event = _by_firm(
        select(AuditEvent.firm_id, func.max(AuditEvent.created_at))
        .where(AuditEvent.firm_id.in_(ids))
        .group_by(AuditEvent.firm_id)
    )
    out = []
    for firm in firms:
        moments = [m for m in (last_document.get(firm.id), last_event.get(firm.id)) if m]
        out.append(
            FirmFigures(
                id=firm.id,
                name=firm.name,
                active=firm.active,
                created_at=firm.created_at,
                disabled_at=firm.disabled_at,
                users=int(users.get(firm.id, 0)),
                companies=int(companies.get(firm.id, 0)),
                documents=int(documents.get(firm.id, 0)),
                storage_bytes=int(storage.get(firm.id) or 0),
                last_activity=max(moments) if moments else None,
            )
        )
    return out


def _by_firm(stmt: Any) -> dict[int, Any]:
    return dict(db.session.execute(stmt).all())


def firm_members(firm_id: int) -> list[dict[str, Any]]:
    """The firm's users: e-mail, name, role, active, last login (no password, no token)."""
    rows = db.session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.firm_id == firm_id)
        .order_by(User.email)
    ).all()
    return [
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": str(role),
            "active": user.active,
            "invited": user.invited_at is not None,
            "last_login_at": user.last_login_at,
        }
        for user, role in rows
    ]


def firm_companies(firm_id: int) -> list[dict[str, Any]]:
    """The firm's companies with their document counts."""
    counts = dict(
        db.session.execute(
            select(Document.company_id, func.count(Document.id))
            .where(Document.firm_id == firm_id)
            .group_by(Document.company_id)
        ).all()
    )
    companies = db.session.scalars(
        select(Company).where(Company.firm_id == firm_id).order_by(Company.name)
    ).all()
    return [
        {
            "id": c.id,
            "name": c.name,
            "dossier_code": c.dossier_code,
            "documents": int(counts.get(c.id, 0)),
        }
        for c in companies
    ]


def role_label(role: str) -> str:
    return {
        "admin": _("Administrateur"),
        "accountant": _("Comptable"),
        "uploader": _("Client (dépôt)"),
    }.get(role, role)


def create_operator(email: str, password: str, *, name: str = "") -> tuple[User, bool]:
    """An operator account (no firm membership needed), or the operator flag given to the
    existing account of ``email`` (its password kept). Returns the user and whether it was
    created. Flushes; the caller commits."""
    from flask import current_app
    from werkzeug.security import generate_password_hash

    from core.auth.services import check_password_policy, normalise_email

    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        user.is_operator = True
        db.session.flush()
        return user, False
    check_password_policy(password)
    method = current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"
    user = User(
        email=email,
        name=name,
        password_hash=generate_password_hash(password, method=method),
        is_operator=True,
    )
    db.session.add(user)
    db.session.flush()
    return user, True
