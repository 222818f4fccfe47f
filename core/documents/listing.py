"""Lists of documents: filters, sorts and keyset (cursor) pagination, for
``GET /api/v1/documents`` and the trays.

The document's own date, amount and party (the binder type's ``searchable``) are kept in
columns of ``documents`` (``field_date``, ``field_amount_cents``, ``field_party``), refreshed
whenever its fields or binder change (a ``before_flush`` listener below), so a list filters and
sorts on them in SQL and a page costs O(page): one query for the documents, one for their
export statuses.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from marshmallow import ValidationError, fields
from marshmallow import validate as check
from sqlalchemy import Select, and_, event, exists, inspect, literal, select, tuple_
from sqlalchemy.orm import Session

from core.binders.models import Binder
from core.binders.searchable import searchable_of
from core.db import db
from core.documents.models import Document, DocumentState
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus

#: Sort keys: name → column (keyset pagination on (column, id)).
SORTS: dict[str, Any] = {
    "created_at": Document.created_at,
    "date": Document.field_date,
    "amount": Document.field_amount_cents,
    "filename": Document.filename,
    "state": Document.state,
}
DEFAULT_SORT = "-created_at"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_PARTY_CHARS = 200


# --- the searchable columns ----------------------------------------------------------------------


def fold(text: str | None) -> str | None:
    """``text`` casefolded and without accents (« Société Générale » → « societe generale »),
    for substring matches that SQLite's ``lower()`` (ASCII only) could not do."""
    if not text:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())[:500] or None


def list_values(binder_type: Any, fields: dict[str, Any] | None) -> dict[str, Any]:
    """The list columns of a document of ``binder_type`` with ``fields``."""
    searchable = searchable_of(binder_type, fields)
    cents = None
    if searchable.amount is not None:
        try:
            cents = int((searchable.amount * 100).to_integral_value())
        except (ArithmeticError, ValueError):
            cents = None
        if cents is not None and abs(cents) >= 2**62:
            cents = None
    return {
        "field_date": searchable.date,
        "field_amount_cents": cents,
        "field_party": fold(searchable.party_name),
    }


def _binder_types() -> Any:
    if not has_app_context():
        return None
    state = current_app.extensions.get("classeur")
    return getattr(state, "binder_types", None) if state is not None else None


@event.listens_for(Session, "before_flush")
def _refresh_list_values(session: Session, _context: Any, _instances: Any) -> None:
    """Keep the list columns in step with a document's fields (new, or fields/binder changed)."""
    registry = None
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Document):
            continue
        state = inspect(obj)
        if obj not in session.new and not (
            state.attrs.fields.history.has_changes() or state.attrs.binder_id.history.has_changes()
        ):
            continue
        if registry is None:
            registry = _binder_types()
            if registry is None:
                return
        binder_type = None
        if obj.binder_id is not None:
            with session.no_autoflush:
                binder_kind = session.scalar(select(Binder.type).where(Binder.id == obj.binder_id))
            binder_type = registry.get(binder_kind) if binder_kind else None
        for key, value in list_values(binder_type, obj.fields).items():
            setattr(obj, key, value)


def refresh_all(batch: int = 500) -> int:
    """Recompute the list columns of every document (after a binder type changed what it
    makes searchable, or an import); commits per batch. Returns the number of documents."""
    registry = _binder_types()
    last, count = 0, 0
    while True:
        rows = db.session.execute(
            select(Document, Binder.type)
            .join(Binder, Binder.id == Document.binder_id)
            .where(Document.id > last)
            .order_by(Document.id)
            .limit(batch)
        ).all()
        if not rows:
            return count
        for document, kind in rows:
            binder_type = registry.get(kind) if registry is not None else None
            for key, value in list_values(binder_type, document.fields).items():
                setattr(document, key, value)
            last = document.id
            count += 1
        db.session.commit()


# --- filters -------------------------------------------------------------------------------------


def _bad(message: str, field: str) -> ServiceError:
    return ServiceError(message, field, code="bad_filter", status=400)


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"« {field} » doit être un nombre entier.", field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"« {field} » doit être un nombre entier.", field) from None


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set):
        return [v for v in value if v not in (None, "")]
    return [value]


#: What a date filter accepts, for its error message and the OpenAPI document.
MOMENT_HELP = "une date AAAA-MM-JJ ou une date-heure ISO 8601 (AAAA-MM-JJTHH:MM[:SS][+01:00])"


def parse_moment(value: Any) -> dt.date | dt.datetime:
    """An ISO 8601 date (``2026-10-15``) or date-time (``2026-10-15T08:30``,
    ``2026-10-15T08:30:00Z``, ``…+02:00``); a date-time without offset is UTC and every
    date-time is returned in UTC. Raises ``ValueError`` otherwise."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value
    else:
        text = str(value).strip()
        if len(text) > 40:
            raise ValueError(text)
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _as_moment(value: Any, field: str) -> dt.date | dt.datetime:
    try:
        return parse_moment(value)
    except (TypeError, ValueError):
        raise _bad(f"{field} : {MOMENT_HELP} attendue.", field) from None


def _as_date(value: Any, field: str) -> dt.date:
    moment = _as_moment(value, field)
    return moment.date() if isinstance(moment, dt.datetime) else moment


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def moment_from(value: dt.date | dt.datetime) -> dt.datetime:
    """The first instant a "from" filter keeps: the date-time itself, or the day's start."""
    return value if isinstance(value, dt.datetime) else _day_start(value)


def moment_until(value: dt.date | dt.datetime) -> tuple[dt.datetime, bool]:
    """The bound of a "to" filter and whether it is inclusive: a date-time is kept itself,
    a date up to the end of its day (the next day's start, excluded)."""
    if isinstance(value, dt.datetime):
        return value, True
    return _day_start(value + dt.timedelta(days=1)), False


class MomentField(fields.String):
    """A query parameter holding a date or a date-time (ISO 8601), see :func:`parse_moment`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_moment(text)
        except (TypeError, ValueError):
            raise ValidationError(f"{MOMENT_HELP} attendue, reçu « {text[:40]} ».") from None


def one_of(choices: Any) -> check.OneOf:
    """A marshmallow ``OneOf`` whose error is in French and names the accepted values."""
    return check.OneOf(
        list(choices), error="valeur inconnue « {input} » ; valeurs possibles : {choices}."
    )


def _enum_values(values: list[Any], enum: Any, field: str) -> list[Any]:
    out = []
    for value in values:
        try:
            out.append(enum(str(value)))
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise _bad(
                f"{field} : valeur inconnue « {value} » ; valeurs possibles : {allowed}.", field
            ) from None
    return out


def apply_filters(stmt: Select[Any], filters: dict[str, Any]) -> Select[Any]:
    """``stmt`` (documents already scoped to the firm) narrowed by ``filters``:

    company_id, binder_id (one or several), binder_type, state (several; trashed documents are
    left out unless asked for), export_state and/or connector (a status of the document),
    created_from / created_to (deposit date, inclusive), date_from / date_to (the document's own
    date, inclusive), party (a substring of the party's name, accents and case ignored),
    archived (False by default, True, or None for both).
    """
    company_ids = [_as_int(v, "company_id") for v in _as_list(filters.get("company_id"))]
    if company_ids:
        stmt = stmt.where(Document.company_id.in_(company_ids))
    binder_ids = [_as_int(v, "binder_id") for v in _as_list(filters.get("binder_id"))]
    if binder_ids:
        stmt = stmt.where(Document.binder_id.in_(binder_ids))
    binder_types = [str(v) for v in _as_list(filters.get("binder_type"))]
    if binder_types:
        stmt = stmt.where(
            Document.binder_id.in_(select(Binder.id).where(Binder.type.in_(binder_types)))
        )
    states = _enum_values(_as_list(filters.get("state")), DocumentState, "state")
    if states:
        stmt = stmt.where(Document.state.in_(states))
    else:
        stmt = stmt.where(Document.state != DocumentState.TRASHED)
    export_states = _enum_values(_as_list(filters.get("export_state")), ExportState, "export_state")
    connectors = [str(v) for v in _as_list(filters.get("connector"))]
    if export_states or connectors:
        condition = ExportStatus.document_id == Document.id
        if export_states:
            condition = and_(condition, ExportStatus.state.in_(export_states))
        if connectors:
            condition = and_(condition, ExportStatus.connector.in_(connectors))
        stmt = stmt.where(exists().where(condition))
    if filters.get("created_from"):
        start = moment_from(_as_moment(filters["created_from"], "created_from"))
        stmt = stmt.where(Document.created_at >= start)
    if filters.get("created_to"):
        end, inclusive = moment_until(_as_moment(filters["created_to"], "created_to"))
        stmt = stmt.where(Document.created_at <= end if inclusive else Document.created_at < end)
    if filters.get("date_from"):
        stmt = stmt.where(Document.field_date >= _as_date(filters["date_from"], "date_from"))
    if filters.get("date_to"):
        stmt = stmt.where(Document.field_date <= _as_date(filters["date_to"], "date_to"))
    party = filters.get("party")
    if party:
        text = str(party)
        if len(text) > MAX_PARTY_CHARS:
            raise _bad(f"« party » : {MAX_PARTY_CHARS} caractères au plus.", "party")
        folded = fold(text)
        if folded:
            escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Document.field_party.like(f"%{escaped}%", escape="\\"))
    archived = filters.get("archived", False)
    if archived is True:
        stmt = stmt.where(Document.archived_at.is_not(None))
    elif archived is False:
        stmt = stmt.where(Document.archived_at.is_(None))
    return stmt


# --- sort and cursor -----------------------------------------------------------------------------


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """``"-date"`` or ``"date:desc"`` → ("date", descending); unknown names are refused."""
    text = (sort or DEFAULT_SORT).strip()
    descending = False
    if text.startswith("-"):
        text, descending = text[1:], True
    elif ":" in text:
        text, _, direction = text.partition(":")
        if direction.lower() not in ("asc", "desc"):
            raise _bad("Ordre de tri : « asc » ou « desc ».", "sort")
        descending = direction.lower() == "desc"
    if text not in SORTS:
        raise _bad("Tri inconnu : choisissez parmi " + ", ".join(SORTS) + ".", "sort")
    return text, descending


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return str(value)
    return str(value) if isinstance(value, DocumentState) else value


def _decode_value(value: Any, key: str) -> Any:
    if isinstance(value, dict) and "t" in value:
        return dt.datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return dt.date.fromisoformat(value["d"])
    if key == "state" and value is not None:
        return DocumentState(value)
    return value


def encode_cursor(key: str, descending: bool, value: Any, document_id: int) -> str:
    raw = json.dumps({"s": key, "o": int(descending), "v": _encode_value(value), "i": document_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, key: str, descending: bool) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["s"] != key or bool(data["o"]) != descending:
            raise ValueError("another sort")
        return _decode_value(data["v"], key), int(data["i"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise _bad(
            "Curseur invalide (il ne vaut que pour le même tri et les mêmes filtres).", "cursor"
        ) from None


#: Sort keys whose column never holds NULL: ordered by (column, id) straight from an index.
NOT_NULL_SORTS = frozenset({"created_at", "filename", "state"})


def _beyond(column: Any, descending: bool, value: Any, last_id: int) -> Any:
    """Rows after (value, last_id) in the order (column, id), asc or desc, as a row-value
    comparison that SQLite and PostgreSQL answer from an index on (…, column)."""
    key = tuple_(column, Document.id)
    bound = tuple_(literal(value, column.type), literal(last_id, Document.id.type))
    return key < bound if descending else key > bound


def _ordered(stmt: Select[Any], column: Any, descending: bool) -> Select[Any]:
    if descending:
        return stmt.order_by(column.desc(), Document.id.desc())
    return stmt.order_by(column.asc(), Document.id.asc())


@dataclass
class Page:
    documents: list[Document]
    next_cursor: str | None


def list_documents(
    stmt: Select[Any] | int,
    filters: dict[str, Any],
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """One page of documents.

    ``stmt`` is the scoped documents query (``core.tenancy.scoping.documents_stmt()``, which
    also narrows an uploader to its companies), or a firm id for every document of that firm.
    Sorted by ``sort`` (``created_at``, ``date``, ``amount``, ``filename``, ``state``; ``-name``
    or ``name:desc`` descending; documents without a value last), then by id. ``cursor`` is the
    ``next_cursor`` of the previous page. Refused (400): bad filters, sort, limit or cursor.
    """
    if isinstance(stmt, int):
        stmt = select(Document).where(Document.firm_id == stmt)
    key, descending = parse_sort(sort)
    if limit is None:
        limit = DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"« limit » : entre 1 et {MAX_LIMIT}.", "limit")
    column = SORTS[key]
    stmt = apply_filters(stmt, filters)
    value, last_id, in_nulls = None, None, False
    if cursor:
        value, last_id = decode_cursor(cursor, key, descending)
        in_nulls = value is None
    # Documents with a value first, in (column, id) order read from an index (never a sort
    # of the whole firm), then those without one by id: two short queries at most.
    documents: list[Document] = []
    if not in_nulls:
        valued = stmt if key in NOT_NULL_SORTS else stmt.where(column.is_not(None))
        if last_id is not None:
            valued = valued.where(_beyond(column, descending, value, last_id))
        documents = list(db.session.scalars(_ordered(valued, column, descending).limit(limit + 1)))
    if len(documents) <= limit and key not in NOT_NULL_SORTS:
        nulls = stmt.where(column.is_(None))
        if in_nulls and last_id is not None:
            nulls = nulls.where(Document.id < last_id if descending else Document.id > last_id)
        order = Document.id.desc() if descending else Document.id.asc()
        documents += list(
            db.session.scalars(nulls.order_by(order).limit(limit + 1 - len(documents)))
        )
    next_cursor = None
    if len(documents) > limit:
        documents = documents[:limit]
        last = documents[-1]
        next_cursor = encode_cursor(key, descending, getattr(last, column.key), last.id)
    return Page(documents, next_cursor)


# --- JSON of a page ------------------------------------------------------------------------------


def _status_json(s: ExportStatus) -> dict[str, Any]:
    return {
        "connector": s.connector,
        "state": str(s.state),
        "message": s.message,
        "code": s.code,
        "field": s.field,
        "transient": s.transient,
        "warning": s.warning,
        "attempts": s.attempts,
        "next_attempt_at": s.next_attempt_at,
        "remote_id": s.remote_id,
        "exported_at": s.exported_at,
    }


def page_json(documents: list[Document]) -> list[dict[str, Any]]:
    """The documents as the list API returns them: the JSON of ``GET /documents/{id}`` without
    the checks, with the binder type's ``summary``; two queries whatever the page's size."""
    ids = [d.id for d in documents]
    binder_ids = {d.binder_id for d in documents}
    kinds: dict[int, str] = {}
    if binder_ids:
        rows = db.session.execute(select(Binder.id, Binder.type).where(Binder.id.in_(binder_ids)))
        kinds = {row[0]: row[1] for row in rows}
    statuses: dict[int, list[ExportStatus]] = {i: [] for i in ids}
    if ids:
        for status in db.session.scalars(
            select(ExportStatus)
            .where(ExportStatus.document_id.in_(ids))
            .order_by(ExportStatus.connector)
        ):
            statuses[status.document_id].append(status)
    registry = _binder_types()
    out = []
    for d in documents:
        kind = kinds.get(d.binder_id)
        binder_type = registry.get(kind) if registry is not None and kind else None
        summary = None
        if binder_type is not None and binder_type.summary is not None and d.fields:
            try:
                summary = binder_type.summary(dict(d.fields))
            except Exception:
                current_app.logger.exception("summary of document %s failed", d.id)
        out.append(
            {
                "id": d.id,
                "company_id": d.company_id,
                "binder_id": d.binder_id,
                "binder_type": kind,
                "filename": d.filename,
                "media_type": d.media_type,
                "size": d.size,
                "pages": d.pages,
                "sha256": d.sha256,
                "state": str(d.state),
                "failure_reason": d.failure_reason,
                "text_source": d.text_source,
                "fields_": d.fields or {},
                "version": d.version,
                "created_at": d.created_at,
                "processed_at": d.processed_at,
                "validated_at": d.validated_at,
                "archived_at": d.archived_at,
                "date": d.field_date,
                "amount": (
                    Decimal(d.field_amount_cents) / 100
                    if d.field_amount_cents is not None
                    else None
                ),
                "summary": summary,
                "exports": [_status_json(s) for s in statuses[d.id]],
            }
        )
    return out
