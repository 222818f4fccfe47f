"""API v1 (JSON): companies and binders; other areas add their own blueprints here."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api, Blueprint, abort

from core.api.schemas import (
    BinderQuerySchema,
    BinderSchema,
    BinderTypeSchema,
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


binder_types = Blueprint(
    "api_binder_types",
    __name__,
    url_prefix="/api/v1/binder-types",
    description="Binder types: their fields (JSON Schema), the files they accept, what they "
    "make searchable",
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


@binder_types.route("")
@requires("companies.read")
@binder_types.doc(security=[{"bearerAuth": []}])
@binder_types.response(200, BinderTypeSchema(many=True))
def list_binder_types() -> Any:
    """Every binder type of this installation, with the JSON Schema of its fields (also in
    the components of this document as ``Fields_<name>``) and the media types it accepts."""
    from core.state import classeur

    return [
        {
            "name": t.name,
            "label": t.label,
            "description": t.description,
            "plugin": t.plugin,
            "media_types": sorted(t.media_types) if t.media_types is not None else None,
            "fields_schema": t.fields_schema,
        }
        for t in classeur().binder_types.all()
    ]


def register_api(api: Api) -> None:
    """Register every API blueprint of the core."""
    api.register_blueprint(companies)
    api.register_blueprint(binders)
    api.register_blueprint(binder_types)


def register_fields_schemas(api: Api, registry: Any) -> None:
    """Put each binder type's JSON Schema in the OpenAPI components (``Fields_<name>``), and
    ``FieldsPatch``, the body of ``PATCH /documents/{id}/fields``: any of them, partially."""
    refs = []
    for binder_type in registry.all():
        if binder_type.fields_schema is None:
            continue
        component = {k: v for k, v in binder_type.fields_schema.items() if k != "$schema"}
        name = f"Fields_{binder_type.name}"
        api.spec.components.schema(name, component=component)
        refs.append({"$ref": f"#/components/schemas/{name}"})
    # Plugins add facts to a company (``company_details``: the e-mail collection's address...).
    company = api.spec.components.schemas.get("Company")
    if company is not None:
        company["additionalProperties"] = {
            "description": "Facts added by plugins (company_details), e.g. collection_address."
        }
    api.spec.components.schema(
        "FieldsPatch",
        component={
            "description": "The fields to change (others are kept), in the shape of the "
            "document's binder type: see GET /api/v1/binder-types. Checked against that JSON "
            "Schema, then cleaned by the binder type (French-typed amounts and dates accepted).",
            "anyOf": [*refs, {"type": "object"}],
        },
    )
