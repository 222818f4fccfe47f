"""The purchase plugin's REST API (``/api/v1``, in the OpenAPI docs): the supplier directory
with what Classeur remembers of each supplier and where it comes from, the accountant's
changes to that memory, and "Ce n'est pas un doublon"."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.plugin_api import ServiceError, db, fail, presenters, requires, scoping
from plugins.binder_purchases import memory, services
from plugins.binder_purchases.models import Supplier

bp = Blueprint(
    "api_purchases",
    __name__,
    url_prefix="/api/v1",
    description="Factures d'achat : fournisseurs et mémoire",
)


class MemorySchema(Schema):
    id = fields.Integer()
    field = fields.String(metadata={"description": "account, vat_code or iban"})
    value = fields.String()
    status = fields.String(metadata={"description": "learned, refused or proposed"})
    origin = fields.String(metadata={"description": "validated, manual or connector"})
    document_id = fields.Integer(allow_none=True)
    invoice_number = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    source = fields.String(metadata={"description": "Where it comes from, in French"})


class SupplierSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    siren = fields.String(allow_none=True)
    vat_number = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    invoice_count = fields.Integer()
    memory = fields.List(fields.Nested(MemorySchema))


class SetMemorySchema(Schema):
    field = fields.String(required=True, validate=validate.OneOf(memory.FIELDS))
    value = fields.String(required=True)


class NotDuplicateSchema(Schema):
    of = fields.Integer(required=True, metadata={"description": "The other document's id"})


def _row_json(row: Any) -> dict[str, Any]:
    from core.plugin_api import User

    user = db.session.get(User, row.user_id) if row.user_id else None
    return {
        "id": row.id,
        "field": row.field,
        "value": row.value,
        "status": row.status,
        "origin": row.origin,
        "document_id": row.document_id,
        "invoice_number": row.invoice_number,
        "user": user.email if user else None,
        "note": row.note,
        "created_at": row.created_at,
        "source": memory.describe(row),
    }


def _supplier_json(supplier: Supplier) -> dict[str, Any]:
    return {
        "id": supplier.id,
        "name": supplier.name,
        "siren": supplier.siren,
        "vat_number": supplier.vat_number,
        "iban": supplier.iban,
        "invoice_count": supplier.invoice_count,
        "memory": [_row_json(row) for row in memory.rows(supplier)],
    }


def _supplier(company_id: int, supplier_id: int) -> Supplier:
    try:
        return services.get_supplier(scoping.get_company(company_id), supplier_id)
    except ServiceError as exc:
        fail(exc)
        raise  # fail() aborts; for the type checker


def _change(company_id: int, supplier_id: int, action: Any) -> dict[str, Any]:
    """Apply ``action(supplier)`` to the memory and commit; the supplier as JSON."""
    supplier = _supplier(company_id, supplier_id)
    try:
        action(supplier)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return _supplier_json(supplier)


@bp.route("/companies/<int:company_id>/suppliers")
@requires("companies.read")
@bp.response(200, SupplierSchema(many=True))
def list_suppliers(company_id: int) -> Any:
    """The company's suppliers, each with the values remembered and their source."""
    company = scoping.get_company(company_id)
    return [_supplier_json(s) for s in services.suppliers(company)]


@bp.route("/companies/<int:company_id>/suppliers/<int:supplier_id>")
@requires("companies.read")
@bp.response(200, SupplierSchema)
def get_supplier(company_id: int, supplier_id: int) -> Any:
    """One supplier and its memory."""
    return _supplier_json(_supplier(company_id, supplier_id))


@bp.route("/companies/<int:company_id>/suppliers/<int:supplier_id>/memory", methods=["POST"])
@requires("accounting.write")
@bp.arguments(SetMemorySchema)
@bp.response(200, SupplierSchema)
def set_memory(body: dict[str, Any], company_id: int, supplier_id: int) -> Any:
    """Set the value proposed for this supplier (an account is checked like a purchase line:
    class 2 or 6 as the company allows)."""
    return _change(
        company_id,
        supplier_id,
        lambda s: memory.set_value(s, body["field"], body["value"], current_user.id),
    )


@bp.route(
    "/companies/<int:company_id>/suppliers/<int:supplier_id>/memory/<int:memory_id>",
    methods=["DELETE"],
)
@requires("accounting.write")
@bp.response(200, SupplierSchema)
def forget_memory(company_id: int, supplier_id: int, memory_id: int) -> Any:
    """Forget a learned, refused or proposed value."""
    return _change(company_id, supplier_id, lambda s: memory.forget(memory.get_row(s, memory_id)))


@bp.route(
    "/companies/<int:company_id>/suppliers/<int:supplier_id>/memory/<int:memory_id>/confirm",
    methods=["POST"],
)
@requires("accounting.write")
@bp.response(200, SupplierSchema)
def confirm_memory(company_id: int, supplier_id: int, memory_id: int) -> Any:
    """Confirm a new IBAN held "à confirmer" (checked with the supplier)."""
    return _change(
        company_id,
        supplier_id,
        lambda s: memory.confirm_iban(memory.get_row(s, memory_id), current_user.id),
    )


@bp.route("/documents/<int:document_id>/not-duplicate", methods=["POST"])
@requires("documents.review")
@bp.arguments(NotDuplicateSchema)
@bp.response(200)
def not_duplicate(body: dict[str, Any], document_id: int) -> Any:
    """ "Ce n'est pas un doublon": the duplicate check stops comparing the document with
    ``of``; the returned document's checks show it."""
    document = scoping.get_document(document_id)
    try:
        services.dismiss_duplicate(document, body["of"], current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return presenters.document_json(document)
