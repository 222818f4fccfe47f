"""Tenancy helpers: the only way views and services reach firm data.

Every query of companies, binders and documents is built here, scoped to the current user's
firm and, for an uploader, to the companies it was given. An object outside that scope is a
404, exactly as if it did not exist.
"""

from __future__ import annotations

from flask import abort, g, has_request_context, session
from flask_login import current_user
from sqlalchemy import Select, select

from core.binders.models import Binder
from core.db import db
from core.documents.models import Document
from core.tenancy.models import Company, Membership, Role


def current_membership() -> Membership:
    """The membership the current user acts through (the firm chosen, else the first), in an
    active firm only: a disabled firm's data is out of reach. 403 for a user without one (an
    operator outside the firms)."""
    membership = current_membership_or_none()
    if membership is None:
        if not current_user.is_authenticated:
            abort(401)
        abort(403)
    return membership


def current_membership_or_none() -> Membership | None:
    """:func:`current_membership`, or None when the user acts through no active firm."""
    cached = g.get("_membership")
    if cached is not None:
        return cached
    if not has_request_context() or not current_user or not current_user.is_authenticated:
        return None  # a mail rendered by a command, a task: no one's firm
    memberships = sorted((m for m in current_user.memberships if m.firm.active), key=lambda m: m.id)
    if not memberships:
        return None
    if g.get("api_token_id") is not None:
        # An API token acts in the firm it was created in, never in another of its user's.
        wanted = g.get("token_firm_id")
        membership = next((m for m in memberships if m.firm_id == wanted), None)
        if membership is None:
            return None
    else:
        wanted = session.get("firm_id")
        membership = next((m for m in memberships if m.firm_id == wanted), memberships[0])
    g._membership = membership
    return membership


def current_firm_id() -> int:
    return current_membership().firm_id


def visible_company_ids() -> set[int] | None:
    """Companies an uploader may see; None means every company of the firm."""
    membership = current_membership()
    if membership.role == Role.UPLOADER:
        return {c.id for c in membership.companies}
    return None


def companies_stmt() -> Select[tuple[Company]]:
    """Companies visible to the current user."""
    stmt = select(Company).where(Company.firm_id == current_firm_id())
    allowed = visible_company_ids()
    if allowed is not None:
        stmt = stmt.where(Company.id.in_(allowed))
    return stmt


def binders_stmt() -> Select[tuple[Binder]]:
    """Binders of the companies visible to the current user."""
    stmt = select(Binder).join(Company).where(Company.firm_id == current_firm_id())
    allowed = visible_company_ids()
    if allowed is not None:
        stmt = stmt.where(Binder.company_id.in_(allowed))
    return stmt


def documents_stmt() -> Select[tuple[Document]]:
    """Documents of the companies visible to the current user."""
    stmt = select(Document).where(Document.firm_id == current_firm_id())
    allowed = visible_company_ids()
    if allowed is not None:
        stmt = stmt.where(Document.company_id.in_(allowed))
    return stmt


def get_company(company_id: int) -> Company:
    """A visible company, or 404."""
    company = db.session.scalar(companies_stmt().where(Company.id == company_id))
    if company is None:
        abort(404)
    return company


def get_binder(binder_id: int) -> Binder:
    """A visible binder, or 404."""
    binder = db.session.scalar(binders_stmt().where(Binder.id == binder_id))
    if binder is None:
        abort(404)
    return binder


def get_document(document_id: int) -> Document:
    """A visible document, or 404."""
    document = db.session.scalar(documents_stmt().where(Document.id == document_id))
    if document is None:
        abort(404)
    return document
