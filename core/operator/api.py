"""The operator's JSON API under ``/api/v1/operator`` (documented in the OpenAPI): the firms
with their figures; create, disable and enable one. Operators only, token scope ``admin``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields

from core.auth.permissions import operator_required
from core.db import db
from core.errors import ServiceError
from core.operator.services import firm_figures
from core.operator.views import firm_or_404, operator_name
from core.tenancy.services import disable_firm, enable_firm, open_firm

api_bp = ApiBlueprint(
    "api_operator",
    __name__,
    url_prefix="/api/v1/operator",
    description="The platform's firms (operator only): figures, creation, disabling",
)


class FirmAdminSchema(Schema):
    email = fields.String()
    access = fields.String(
        metadata={
            "description": "invited (an e-mail with a link), existing (an account of another "
            "firm, password kept) or password (generated, in `password`, shown once)"
        }
    )
    password = fields.String(allow_none=True)


class FirmFiguresSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    active = fields.Boolean(metadata={"description": "False: its members are refused."})
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)
    users = fields.Integer(metadata={"description": "Active accounts with a membership."})
    companies = fields.Integer()
    documents = fields.Integer(metadata={"description": "The trash included."})
    storage_bytes = fields.Integer(
        metadata={"description": "Sizes of the documents' originals (each file once)."}
    )
    last_activity = fields.DateTime(
        allow_none=True, metadata={"description": "Latest document change or audit event."}
    )
    admin = fields.Nested(FirmAdminSchema, allow_none=True, dump_only=True)


class FirmCreateSchema(Schema):
    name = fields.String(required=True)
    admin_email = fields.String(
        load_default=None, allow_none=True, metadata={"description": "Its first admin."}
    )


def _figures(firm_id: int) -> Any:
    return firm_figures([firm_id])[0]


@api_bp.route("/firms")
@operator_required
@api_bp.response(200, FirmFiguresSchema(many=True))
def list_firms() -> Any:
    """Every firm with its figures."""
    return firm_figures()


@api_bp.route("/firms", methods=["POST"])
@operator_required
@api_bp.arguments(FirmCreateSchema)
@api_bp.response(201, FirmFiguresSchema)
def create_firm(data: dict[str, Any]) -> Any:
    """Create a firm and, with ``admin_email``, invite its first administrator (409
    ``duplicate`` for a name another firm has, case aside)."""
    from core.api.views import fail

    try:
        opened = open_firm(data["name"], data.get("admin_email"), invited_by=operator_name())
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    body = asdict(_figures(opened.firm.id))
    body["admin"] = None
    if opened.admin is not None:
        body["admin"] = {
            "email": opened.admin.email,
            "access": opened.admin_access,
            "password": opened.password,
        }
    return body


@api_bp.route("/firms/<int:firm_id>/disable", methods=["POST"])
@operator_required
@api_bp.response(200, FirmFiguresSchema)
def disable(firm_id: int) -> Any:
    """Disable a firm (idempotent): its members are refused, nothing is deleted."""
    firm = firm_or_404(firm_id)
    disable_firm(firm)
    db.session.commit()
    return _figures(firm.id)


@api_bp.route("/firms/<int:firm_id>/enable", methods=["POST"])
@operator_required
@api_bp.response(200, FirmFiguresSchema)
def enable(firm_id: int) -> Any:
    """Enable a firm again (idempotent)."""
    firm = firm_or_404(firm_id)
    enable_firm(firm)
    db.session.commit()
    return _figures(firm.id)
