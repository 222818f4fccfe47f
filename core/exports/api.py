"""API v1: the export statuses of the firm (« Documents en erreur », what was sent where)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from marshmallow import validate as check
from sqlalchemy import and_, or_, select

from core.api.views import fail
from core.auth.permissions import requires
from core.db import db
from core.documents.listing import MomentField, moment_from, moment_until, one_of
from core.documents.models import Document
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("api_exports", __name__, url_prefix="/api/v1", description="Export statuses")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class ExportListQuerySchema(Schema):
    connector = fields.List(
        fields.String(validate=check.Length(max=64)), metadata={"description": "Repeatable."}
    )
    state = fields.List(
        fields.String(validate=one_of(s.value for s in ExportState)),
        metadata={"description": "Repeatable."},
    )
    company_id = fields.List(fields.Integer(), metadata={"description": "Repeatable."})
    document_id = fields.Integer()
    since = MomentField(
        metadata={
            "description": "Updated on or after: a date (YYYY-MM-DD, from its start) or a "
            "date-time (ISO 8601, UTC unless an offset is given)."
        }
    )
    until = MomentField(
        metadata={
            "description": "Updated on or before: a date (to its end) or a date-time (ISO 8601)."
        }
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=check.Range(1, MAX_LIMIT, error="entre {min} et {max}."),
        metadata={"description": f"Statuses per page (at most {MAX_LIMIT})."},
    )
    cursor = fields.String(
        validate=check.Length(max=500),
        metadata={"description": "next_cursor of the previous page (same filters)."},
    )


class ExportItemSchema(Schema):
    id = fields.Integer()
    document_id = fields.Integer()
    filename = fields.String()
    company_id = fields.Integer()
    company = fields.String(metadata={"description": "The company's name."})
    connector = fields.String()
    state = fields.String()
    message = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    warning = fields.Boolean()
    attempts = fields.Integer()
    remote_id = fields.String(allow_none=True)
    exported_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class ExportPageSchema(Schema):
    exports = fields.List(fields.Nested(ExportItemSchema))
    next_cursor = fields.String(allow_none=True)


def _cursor(updated_at: dt.datetime, status_id: int) -> str:
    raw = json.dumps({"u": updated_at.isoformat(), "i": status_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        return dt.datetime.fromisoformat(data["u"]), int(data["i"])
    except (ValueError, KeyError, TypeError):
        raise ServiceError("Curseur invalide.", "cursor", code="bad_filter", status=400) from None


@bp.route("/exports")
@requires("documents.read")
@bp.arguments(ExportListQuerySchema, location="query", as_kwargs=True)
@bp.response(200, ExportPageSchema)
def list_exports(**args: Any) -> Any:
    """The export statuses of the documents the caller may see, most recently updated first:
    e.g. every document in export error since Monday (``state=error&since=...``).

    Follow ``next_cursor`` (null on the last page).
    """
    stmt = (
        select(ExportStatus, Document.filename, Document.company_id, Company.name)
        .join(Document, Document.id == ExportStatus.document_id)
        .join(Company, Company.id == Document.company_id)
        .where(
            ExportStatus.firm_id == scoping.current_firm_id(),
            Document.firm_id == scoping.current_firm_id(),
        )
    )
    allowed = scoping.visible_company_ids()
    if allowed is not None:
        stmt = stmt.where(Document.company_id.in_(allowed))
    if args.get("connector"):
        stmt = stmt.where(ExportStatus.connector.in_(args["connector"]))
    if args.get("state"):
        stmt = stmt.where(ExportStatus.state.in_([ExportState(s) for s in args["state"]]))
    if args.get("company_id"):
        stmt = stmt.where(Document.company_id.in_(args["company_id"]))
    if args.get("document_id") is not None:
        stmt = stmt.where(ExportStatus.document_id == args["document_id"])
    if args.get("since"):
        stmt = stmt.where(ExportStatus.updated_at >= moment_from(args["since"]))
    if args.get("until"):
        until, inclusive = moment_until(args["until"])
        stmt = stmt.where(
            ExportStatus.updated_at <= until if inclusive else ExportStatus.updated_at < until
        )
    if args.get("cursor"):
        try:
            updated_at, last_id = _read_cursor(args["cursor"])
        except ServiceError as exc:
            fail(exc)
        stmt = stmt.where(
            or_(
                ExportStatus.updated_at < updated_at,
                and_(ExportStatus.updated_at == updated_at, ExportStatus.id < last_id),
            )
        )
    limit = args["limit"]
    rows = db.session.execute(
        stmt.order_by(ExportStatus.updated_at.desc(), ExportStatus.id.desc()).limit(limit + 1)
    ).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = _cursor(last.updated_at, last.id)
    return {
        "exports": [
            {
                "id": s.id,
                "document_id": s.document_id,
                "filename": filename,
                "company_id": company_id,
                "company": company,
                "connector": s.connector,
                "state": str(s.state),
                "message": s.message,
                "code": s.code,
                "field": s.field,
                "warning": s.warning,
                "attempts": s.attempts,
                "remote_id": s.remote_id,
                "exported_at": s.exported_at,
                "updated_at": s.updated_at,
            }
            for s, filename, company_id, company in rows
        ],
        "next_cursor": next_cursor,
    }
