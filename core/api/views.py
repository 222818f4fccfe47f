"""API v1 (JSON): companies and binders; other areas add their own blueprints here."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api, Blueprint, abort

from core.api.schemas import (
    BinderQuerySchema,
    BinderSchema,
    BinderUpdateSchema,
    CompanySchema,
    CompanyUpdateSchema,
)
from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.errors import ServiceError
from core.tenancy import scoping, services
from core.tenancy.models import Company

companies = Blueprint(
    "api_companies", __name__, url_prefix="/api/v1/companies", description="Companies (dossiers)"
)
binders = Blueprint(
    "api_binders", __name__, url_prefix="/api/v1/binders", description="Binders (classeurs)"
)


def fail(exc: ServiceError) -> None:
    """Turn a service error into the API's JSON error."""
    abort(exc.status, message=exc.message, field=exc.field, code=exc.code)


@companies.route("")
@requires("companies.read")
@companies.doc(security=[{"bearerAuth": []}])
@companies.response(200, CompanySchema(many=True))
def list_companies() -> Any:
    """List the companies the caller may see."""
    return db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()


@companies.route("", methods=["POST"])
@requires("companies.write")
@companies.arguments(CompanySchema)
@companies.response(201, CompanySchema)
def create_company(data: dict[str, Any]) -> Any:
    """Create a company in the caller's firm."""
    try:
        company = services.create_company(
            scoping.current_firm_id(),
            name=data["name"],
            dossier_code=data["dossier_code"],
            siren=data.get("siren"),
        )
    except ServiceError as exc:
        fail(exc)
    db.session.commit()
    return company


@companies.route("/<int:company_id>")
@requires("companies.read")
@companies.response(200, CompanySchema)
def get_company(company_id: int) -> Any:
    """Read one company."""
    return scoping.get_company(company_id)


@companies.route("/<int:company_id>", methods=["PATCH"])
@requires("companies.write")
@companies.arguments(CompanyUpdateSchema)
@companies.response(200, CompanySchema)
def update_company(data: dict[str, Any], company_id: int) -> Any:
    """Update a company's name, dossier code or SIREN."""
    company = scoping.get_company(company_id)
    try:
        services.update_company(company, data)
    except ServiceError as exc:
        fail(exc)
    db.session.commit()
    return company


@binders.route("")
@requires("binders.read")
@binders.arguments(BinderQuerySchema, location="query")
@binders.response(200, BinderSchema(many=True))
def list_binders(args: dict[str, Any]) -> Any:
    """List the binders the caller may see, optionally of one company."""
    stmt = scoping.binders_stmt().order_by(Binder.company_id, Binder.name)
    if "company_id" in args:
        stmt = stmt.where(Binder.company_id == args["company_id"])
    return db.session.scalars(stmt).all()


@binders.route("", methods=["POST"])
@requires("binders.write")
@binders.arguments(BinderSchema)
@binders.response(201, BinderSchema)
def create_binder(data: dict[str, Any]) -> Any:
    """Create a binder of a registered type in a company."""
    company = db.session.scalar(scoping.companies_stmt().where(Company.id == data["company_id"]))
    if company is None:
        abort(422, message="Entreprise inconnue.", field="company_id", code="invalid")
    try:
        binder = services.create_binder(company, type=data["type"], name=data["name"])
    except ServiceError as exc:
        fail(exc)
    db.session.commit()
    return binder


@binders.route("/<int:binder_id>")
@requires("binders.read")
@binders.response(200, BinderSchema)
def get_binder(binder_id: int) -> Any:
    """Read one binder."""
    return scoping.get_binder(binder_id)


@binders.route("/<int:binder_id>", methods=["PATCH"])
@requires("binders.write")
@binders.arguments(BinderUpdateSchema)
@binders.response(200, BinderSchema)
def update_binder(data: dict[str, Any], binder_id: int) -> Any:
    """Rename a binder."""
    binder = scoping.get_binder(binder_id)
    try:
        services.update_binder(binder, data)
    except ServiceError as exc:
        fail(exc)
    db.session.commit()
    return binder


def register_api(api: Api) -> None:
    """Register every API blueprint of the core."""
    api.register_blueprint(companies)
    api.register_blueprint(binders)
