"""API v1: the client portal (a client's documents in its words, with their payment state) and
the firm's requests to a client company."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from marshmallow import validate as check

from core.api.views import fail
from core.auth.permissions import requires
from core.db import db
from core.documents.models import Document
from core.errors import ServiceError
from core.portal import services
from core.tenancy import scoping

bp = Blueprint(
    "api_portal",
    __name__,
    url_prefix="/api/v1",
    description="Client portal: documents in the client's words, payments, requests",
)


class PaymentSchema(Schema):
    state = fields.String(metadata={"description": "`pending` or `paid`"})
    due_date = fields.String(allow_none=True, metadata={"description": "ISO date"})
    paid_at = fields.String(allow_none=True, metadata={"description": "ISO date"})
    amount = fields.String(allow_none=True)


class RequestSchema(Schema):
    id = fields.Integer()
    company_id = fields.Integer()
    document_id = fields.Integer(
        allow_none=True, metadata={"description": "The document to complete, if any"}
    )
    message = fields.String()
    state = fields.String(metadata={"description": "`open`, `fulfilled` or `cancelled`"})
    created_at = fields.DateTime()
    fulfilled_at = fields.DateTime(allow_none=True)
    fulfilled_document_id = fields.Integer(
        allow_none=True, metadata={"description": "The document the client dropped in answer"}
    )
    answer = fields.String(
        allow_none=True, metadata={"description": "What the client wrote in answer"}
    )


class PortalDocumentSchema(Schema):
    id = fields.Integer()
    company_id = fields.Integer()
    filename = fields.String()
    created_at = fields.DateTime()
    state = fields.String(
        metadata={
            "description": "The client's word: `received`, `reading`, `checking`, `validated`, "
            "`to_complete`, `processing` (reading failed, export error: the firm handles it)"
        }
    )
    state_label = fields.String(metadata={"description": "The same, in French"})
    request = fields.Nested(RequestSchema, allow_none=True)
    payment = fields.Nested(
        PaymentSchema,
        allow_none=True,
        metadata={"description": "Validated purchases: the payment a connector read back"},
    )


class PortalQuerySchema(Schema):
    company_id = fields.Integer(
        load_default=None, metadata={"description": "Only this company (else every one)"}
    )
    page = fields.Integer(
        load_default=1,
        validate=check.Range(min=1, max=1000),
        metadata={"description": "50 documents a page, newest first"},
    )


class RequestCreateSchema(Schema):
    message = fields.String(required=True, validate=check.Length(min=1, max=services.MAX_MESSAGE))
    document_id = fields.Integer(
        load_default=None, metadata={"description": "Ask to complete this document"}
    )


@bp.route("/portal/documents")
@requires("portal.use")
@bp.arguments(PortalQuerySchema, location="query")
@bp.response(200, PortalDocumentSchema(many=True))
def portal_documents(query: dict[str, Any]) -> Any:
    """The caller's documents, newest first, 50 a page, in the client's words, with open
    requests and, for validated purchases, the payment state read back from the accounting
    software."""
    if query.get("company_id") is not None:
        ids = [scoping.get_company(query["company_id"]).id]
    else:
        ids = [c.id for c in services.portal_companies()]
    per_page = services.PORTAL_LIMIT
    rows = services.portal_documents(ids, per_page, (query["page"] - 1) * per_page)
    return [row.as_json() for row in rows]


@bp.route("/companies/<int:company_id>/requests")
@requires("companies.read")
@bp.response(200, RequestSchema(many=True))
def list_requests(company_id: int) -> Any:
    """The company's requests (open first, then newest)."""
    company = scoping.get_company(company_id)
    return [services.request_json(r) for r in services.company_requests(company)]


@bp.route("/companies/<int:company_id>/requests", methods=["POST"])
@requires("requests.manage")
@bp.arguments(RequestCreateSchema)
@bp.response(201, RequestSchema)
def create_request(data: dict[str, Any], company_id: int) -> Any:
    """Ask the client company for a document (``message``), or to complete one of its
    documents (``document_id``); its users are notified."""
    company = scoping.get_company(company_id)
    document = None
    if data.get("document_id") is not None:
        document = db.session.scalar(
            scoping.documents_stmt().where(
                Document.id == data["document_id"], Document.company_id == company.id
            )
        )
        if document is None:
            fail(ServiceError("Document introuvable.", "document_id", code="not_found"))
    try:
        req = services.create_request(company, data["message"], current_user.id, document)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return services.request_json(req)
