"""Pages "Entreprises": list, create, edit, and each company's binders."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents.models import Document
from core.errors import ServiceError
from core.portal.services import company_requests
from core.state import classeur
from core.tenancy import scoping, services
from core.tenancy.forms import BinderForm, CompanyForm
from core.tenancy.models import Company

bp = Blueprint("tenancy", __name__, url_prefix="/companies")


def _binder_form() -> BinderForm:
    form = BinderForm(prefix="binder")
    form.type.choices = classeur().binder_types.choices()
    return form


@bp.route("")
@requires("companies.read")
def list_companies() -> Any:
    """ "Entreprises": every visible company with its binder and document counts."""
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    ids = [c.id for c in companies]
    binder_counts = dict(
        db.session.execute(
            select(Binder.company_id, func.count(Binder.id))
            .where(Binder.company_id.in_(ids))
            .group_by(Binder.company_id)
        ).all()
    )
    doc_counts = dict(
        db.session.execute(
            select(Document.company_id, func.count(Document.id))
            .where(Document.company_id.in_(ids))
            .group_by(Document.company_id)
        ).all()
    )
    return render_template(
        "tenancy/companies.html",
        companies=companies,
        binder_counts=binder_counts,
        doc_counts=doc_counts,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("companies.write")
def create_company() -> Any:
    """Create a company."""
    form = CompanyForm()
    if form.validate_on_submit():
        try:
            company = services.create_company(
                scoping.current_firm_id(),
                name=form.name.data or "",
                dossier_code=form.dossier_code.data or "",
                siren=form.siren.data,
            )
        except ServiceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Entreprise « %(name)s » créée.", name=company.name), "success")
            return redirect(url_for("tenancy.edit_company", company_id=company.id))
    return render_template("tenancy/company_form.html", form=form, company=None)


@bp.route("/<int:company_id>", methods=["GET", "POST"])
@requires("companies.read")
def edit_company(company_id: int) -> Any:
    """A company: its identity (editable by admins and accountants) and its binders."""
    company = scoping.get_company(company_id)
    form = CompanyForm(obj=company)
    if form.validate_on_submit():
        from core.auth.permissions import role_allows

        if not role_allows(scoping.current_membership().role, "companies.write"):
            return _("Accès refusé."), 403
        try:
            services.update_company(
                company,
                {
                    "name": form.name.data,
                    "dossier_code": form.dossier_code.data,
                    "siren": form.siren.data,
                },
            )
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Entreprise enregistrée."), "success")
            return redirect(url_for("tenancy.edit_company", company_id=company.id))
    binders = db.session.scalars(
        select(Binder).where(Binder.company_id == company.id).order_by(Binder.name)
    ).all()
    return render_template(
        "tenancy/company_form.html",
        form=form,
        company=company,
        binders=binders,
        binder_form=_binder_form(),
        binder_types=classeur().binder_types,
        details=classeur().hooks.company_details(company=company),
        doc_requests=company_requests(company),
    )


@bp.route("/<int:company_id>/binders", methods=["POST"])
@requires("binders.write")
def create_binder(company_id: int) -> Any:
    """Create a binder in the company."""
    company = scoping.get_company(company_id)
    form = _binder_form()
    if form.validate_on_submit():
        try:
            binder = services.create_binder(
                company, type=form.type.data or "", name=form.name.data or ""
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Classeur « %(name)s » créé.", name=binder.name), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("tenancy.edit_company", company_id=company.id))


def _field_error(form: Any, exc: ServiceError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


@bp.route("/<int:company_id>/accounting", methods=["GET", "POST"])
@requires("accounting.read")
def accounting(company_id: int) -> Any:
    """The company's "Comptabilité" page. Its tabs all come from plugins (the purchases'
    "Paramétrage général", the connectors'...); this address shows the first one."""
    company = scoping.get_company(company_id)
    tabs = classeur().company_tabs
    if tabs:
        return current_app.view_functions[tabs[0].endpoint](company_id=company.id)
    return render_template(
        "tenancy/accounting_base.html", company=company, tabs=tabs, active_tab=None
    )
