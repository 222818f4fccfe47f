"""What a tray (a binder's list of documents) shows: the columns its binder type declares
(``BinderType.list_columns``) or the core's, their values formatted for a person, the sort
by column in SQL (fields read from JSON the same way on SQLite and PostgreSQL) and the
quick filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_currency, format_date, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, Select, cast, func, select

from core.binders.registry import BinderType
from core.db import db
from core.documents.models import STATE_LABELS, Document
from core.exports.models import EXPORT_LABELS, ExportState, ExportStatus
from core.state import classeur

#: Kinds of column: how a value is read, shown and sorted.
KINDS = ("text", "date", "amount", "state", "export", "file", "pages", "created")


@dataclass(frozen=True)
class Column:
    """One column of a tray: ``key`` is what ``?sort=`` names (a dotted path in the fields
    for a binder type's columns)."""

    key: str
    label: str
    kind: str

    @property
    def sortable(self) -> bool:
        return self.kind != "export"

    @property
    def numeric(self) -> bool:
        return self.kind in ("amount", "pages")


#: The document's name, first in every tray (a link to the document).
FILE_COLUMN = Column("filename", _l("Document"), "file")
#: A tray of a binder type that declares no columns.
CORE_COLUMNS = (
    FILE_COLUMN,
    Column("pages", _l("Pages"), "pages"),
    Column("state", _l("État"), "state"),
    Column("created", _l("Déposé le"), "created"),
)


def columns_for(binder_type: BinderType | None) -> list[Column]:
    """The columns of a tray of ``binder_type``: the document, then the type's own columns;
    the core's columns when it declares none."""
    declared = list(getattr(binder_type, "list_columns", ()) or ())
    if not declared:
        return list(CORE_COLUMNS)
    out = [FILE_COLUMN]
    for key, label, kind in declared:
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r} for {key!r}")
        out.append(Column(key, label, kind))
    return out


def _path(key: str) -> str | tuple[str, ...]:
    parts = tuple(key.split("."))
    return parts[0] if len(parts) == 1 else parts


def sort_expression(column: Column) -> Any:
    """The SQL expression sorting by ``column`` (JSON extraction for the fields)."""
    if column.kind == "file":
        return func.lower(Document.filename)
    if column.kind == "pages":
        return Document.pages
    if column.kind == "state":
        return Document.state
    if column.kind == "created":
        return Document.id
    value = Document.fields[_path(column.key)].as_string()
    if column.kind == "amount":
        return cast(value, Numeric(18, 2))
    if column.kind == "text":
        return func.lower(value)
    return value  # ISO dates sort as text


def apply_sort(stmt: Select[Any], columns: list[Column], sort: str | None, direction: str) -> Any:
    """``stmt`` ordered by the column named ``sort`` (missing values last in both directions,
    ties by id in the same direction); newest first when no column is named."""
    column = next((c for c in columns if c.key == sort and c.sortable), None)
    descending = direction == "desc"
    if column is None or column.kind == "created":
        return stmt.order_by(Document.id.desc() if descending or column is None else Document.id)
    expression = sort_expression(column)
    ordered = expression.desc() if descending else expression.asc()
    tie = Document.id.desc() if descending else Document.id.asc()
    return stmt.order_by(ordered.nulls_last(), tie)


# -- values -----------------------------------------------------------------------------------


def field_value(fields: dict[str, Any], key: str) -> Any:
    """The value at the dotted path ``key`` of ``fields`` (None if missing)."""
    node: Any = fields
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def french_date(value: Any) -> str:
    """An ISO date ("2026-10-15") as « 15/10/2026 »; "" when missing or unreadable."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(day, "dd/MM/yyyy")


def french_amount(value: Any, currency: str | None = None) -> str:
    """An amount as « 1 250,00 € » (Babel, in its currency; euros by default)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return format_currency(amount, (currency or "EUR").upper())


#: An export's state in a tray's cell, after the connector's name.
EXPORT_SHORT: dict[str, Any] = {
    ExportState.PENDING: _l("en attente"),
    ExportState.SENDING: _l("envoi en cours"),
    ExportState.EXPORTED: _l("exporté"),
    ExportState.ERROR: _l("erreur"),
    ExportState.SKIPPED: _l("non envoyé"),
}


@dataclass
class Cell:
    """What a row shows in one column: its text and a CSS class (state badges...)."""

    text: str
    css: str = ""
    title: str = ""


def export_states(document_ids: list[int]) -> dict[int, list[ExportStatus]]:
    """The export statuses of these documents, by document."""
    out: dict[int, list[ExportStatus]] = {}
    if not document_ids:
        return out
    for status in db.session.scalars(
        select(ExportStatus)
        .where(ExportStatus.document_id.in_(document_ids))
        .order_by(ExportStatus.connector)
    ):
        out.setdefault(status.document_id, []).append(status)
    return out


def connector_label(name: str) -> str:
    """A connector's name for a person (its label, else its identifier)."""
    exporter = classeur().exporters.get(name)
    return str(getattr(exporter, "label", None) or name)


def cell(document: Document, column: Column, exports: list[ExportStatus]) -> Cell:
    """The cell of ``document`` in ``column``."""
    fields = document.fields or {}
    if column.kind == "file":
        return Cell(document.filename)
    if column.kind == "pages":
        return Cell(str(document.pages))
    if column.kind == "state":
        state = str(document.state)
        return Cell(STATE_LABELS.get(state, state), f"state state-{state}")
    if column.kind == "created":
        return Cell(format_datetime(document.created_at, "dd/MM/yyyy HH:mm"))
    if column.kind == "export":
        if not exports:
            return Cell("")
        # Short in the list (« MEG (RCA) : erreur »), the full state and messages in the title.
        parts = [
            f"{connector_label(s.connector)} : {EXPORT_SHORT.get(str(s.state), str(s.state))}"
            for s in exports
        ]
        worst = "error" if any(s.state == ExportState.ERROR for s in exports) else ""
        if not worst and all(s.state == ExportState.EXPORTED for s in exports):
            worst = "exported"
        title = "; ".join(
            f"{EXPORT_LABELS.get(str(s.state), str(s.state))} ({connector_label(s.connector)})"
            + (f" : {s.message}" if s.message else "")
            for s in exports
        )
        return Cell(" · ".join(parts), f"state state-{worst}" if worst else "state", title)
    value = field_value(fields, column.key)
    if column.kind == "date":
        return Cell(french_date(value))
    if column.kind == "amount":
        return Cell(french_amount(value, fields.get("currency")))
    return Cell("" if value is None else str(value))


def rows(documents: list[Document], columns: list[Column]) -> list[tuple[Document, list[Cell]]]:
    """Each document with its cells, export states loaded in one query."""
    needs_exports = any(c.kind == "export" for c in columns)
    exports = export_states([d.id for d in documents]) if needs_exports else {}
    return [(d, [cell(d, c, exports.get(d.id, [])) for c in columns]) for d in documents]
