"""Period exports: one file over a company, a period and its validated documents.

A period exporter (:class:`core.exports.registry.PeriodExporter`, e.g. the FEC purchase
journal) is run on demand — from a company tab, the API or the command line — never
dispatched per document. :func:`export_period` selects the documents, calls the exporter,
stores the file in the core's storage and records an :class:`ExportBatch`:

- the same period exported again, giving the same file from the same documents, returns the
  batch already recorded (same version, no new row);
- a different file (a document validated since, changed, trashed, or the exporter's settings
  changed) is the next version (v2, v3...); the older versions are kept and downloadable.

Every document in the file gets an ``ExportStatus`` ``exported`` under the exporter's name
(remote id "FEC v3 du 01/01/2026 au 31/03/2026"), so it shows « Exporté » like a document sent
to MEG; a document the exporter rejected gets ``error`` with its French message and joins
"Documents en erreur".
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.binders.models import Binder
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.errors import ServiceError
from core.exports.batches import ExportBatch
from core.exports.models import ExportState, ExportStatus
from core.exports.registry import ExportError, ExportResult, PeriodExportContext, PeriodExporter
from core.exports.services import connector_enabled, connector_setting
from core.state import classeur
from core.tasks.registry import TaskSpec
from core.tenancy.models import Company

log = logging.getLogger("classeur.exports")

#: Longest period, unless the exporter declares ``max_months``.
MAX_PERIOD_MONTHS = 24
#: Statuses read and written per query (SQL parameter limits).
_CHUNK = 2000


@dataclass
class PeriodExport:
    """What :func:`export_period` did: the batch, whether it is new, what was left out."""

    batch: ExportBatch
    #: False when the period's file was already recorded (same version returned).
    created: bool
    #: document id -> French message, for the documents the exporter kept out of the file.
    rejected: dict[int, str] = field(default_factory=dict)


# --- periods ---------------------------------------------------------------------------------

_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_day(value: Any, label: str) -> date:
    """A date from ``YYYY-MM-DD`` (or ``JJ/MM/AAAA``); a French ``ServiceError`` otherwise.

    ``label`` names the field in the message ("date de début").
    """
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise ServiceError(f"La {label} est obligatoire (AAAA-MM-JJ).", code="missing_date")
    try:
        match = _FRENCH_DATE.fullmatch(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError(
            f"La {label} est invalide : « {text} » (AAAA-MM-JJ).", code="invalid_date"
        ) from None


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    # The same day of that month, or its last day (31 January + 1 month: 28/29 February).
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def check_period(start: date, end: date, max_months: int = MAX_PERIOD_MONTHS) -> None:
    """Refuse an end before the start, or a period longer than ``max_months`` (French)."""
    if end < start:
        raise ServiceError(
            f"La date de fin ({end:%d/%m/%Y}) précède la date de début ({start:%d/%m/%Y}).",
            "end",
            code="end_before_start",
        )
    if end >= _months_later(start, max_months):
        raise ServiceError(
            f"La période ne peut dépasser {max_months} mois (du {start:%d/%m/%Y} au "
            f"{end:%d/%m/%Y}).",
            "end",
            code="period_too_long",
        )


def period_label(start: date, end: date) -> str:
    """« du 01/01/2026 au 31/03/2026 »."""
    return f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"


# --- documents of a period -------------------------------------------------------------------


def _date_expression(date_field: str) -> Any:
    path = tuple(part for part in date_field.split(".") if part)
    if not path:
        raise ValueError("a period exporter declares its date_field")
    column = Document.fields[path[0]] if len(path) == 1 else Document.fields[path]
    return column.as_string()


def period_documents(
    company: Company, exporter: PeriodExporter, start: date, end: date
) -> list[Document]:
    """The company's validated documents of the exporter's binder types dated in the period.

    The date is the exporter's ``date_field`` of the fields (an ISO date; a value with a time
    counts on its day). Ordered by date, then id.
    """
    binder_ids = select(Binder.id).where(
        Binder.company_id == company.id, Binder.type.in_(sorted(exporter.binder_types))
    )
    day = _date_expression(exporter.date_field)
    stmt = (
        select(Document)
        .where(
            Document.firm_id == company.firm_id,
            Document.company_id == company.id,
            Document.binder_id.in_(binder_ids),
            Document.state == DocumentState.VALIDATED,
            day >= start.isoformat(),
            # ISO strings sort as dates; "< the next day" keeps a value with a time part.
            day < (end + timedelta(days=1)).isoformat(),
        )
        .order_by(day, Document.id)
    )
    return list(db.session.scalars(stmt))


# --- the export ------------------------------------------------------------------------------


def _exporter(name: str) -> PeriodExporter:
    exporter = classeur().exporters.period(name)
    if exporter is None:
        raise ServiceError(f"Export inconnu : {name}.", "exporter", code="not_found", status=404)
    return exporter


def _settings(company: Company, name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for owner in (None, company.id):
        row = connector_setting(company.firm_id, owner, name)
        if row is not None:
            merged.update(row.settings or {})
    return merged


def _store(content: bytes) -> tuple[str, int]:
    """Durably store ``content`` in the core's storage; return its key (sha256) and size."""
    storage = classeur().storage
    tmp, sha256, size = storage.spool(io.BytesIO(content), len(content) + 1)
    storage.commit(tmp, sha256)
    return sha256, size


def latest_batch(company: Company, exporter: str, start: date, end: date) -> ExportBatch | None:
    """The last version recorded for that company, exporter and period."""
    return db.session.scalar(
        select(ExportBatch)
        .where(
            ExportBatch.firm_id == company.firm_id,
            ExportBatch.company_id == company.id,
            ExportBatch.exporter == exporter,
            ExportBatch.period_start == start,
            ExportBatch.period_end == end,
        )
        .order_by(ExportBatch.version.desc())
        .limit(1)
    )


def export_period(
    company: Company,
    exporter_name: str,
    start: date | str,
    end: date | str,
    user_id: int | None,
) -> PeriodExport:
    """Run a period exporter over ``company``'s validated documents dated in ``[start, end]``;
    commits.

    ``company`` is already scoped by the caller. Refused (French ``ServiceError``) when the
    exporter is unknown or switched off for the company, the dates are invalid, the end
    precedes the start, the period passes 24 months (or the exporter's ``max_months``), the
    period holds no validated document, or the exporter rejects the whole period or every
    document. Returns the batch — the one already recorded when the file is the same — and
    the documents left out, whose statuses say why.
    """
    exporter = _exporter(exporter_name)
    # A GET (the API's FEC) writes the batch: on SQLite take the write lock up front.
    db.begin_write()
    if not connector_enabled(company.firm_id, company.id, exporter.name):
        raise ServiceError(
            f"L'export « {exporter.label} » est désactivé pour cette entreprise : activez-le "
            "dans « Administration » → « Modules ».",
            "exporter",
            code="disabled",
            status=409,
        )
    start = parse_day(start, "date de début")
    end = parse_day(end, "date de fin")
    check_period(start, end, int(getattr(exporter, "max_months", MAX_PERIOD_MONTHS)))
    documents = period_documents(company, exporter, start, end)
    if not documents:
        raise ServiceError(
            f"Aucun document validé {period_label(start, end)} pour « {company.name} » : "
            "rien à exporter.",
            code="empty_period",
        )
    context = PeriodExportContext(
        company=company,
        start=start,
        end=end,
        documents=documents,
        settings=_settings(company, exporter.name),
        config=current_app.config,
    )
    try:
        content = exporter.export_period(context)
    except ExportError as exc:
        raise ServiceError(exc.message, exc.field, code=exc.code or "export_failed") from exc
    included = [d.id for d in documents if d.id not in context.rejected]
    if not included:
        _record_statuses(exporter, documents, context, None)
        db.session.commit()
        first = next(iter(context.rejected.values()))
        raise ServiceError(
            f"Aucun document exportable {period_label(start, end)} : "
            f"{len(context.rejected)} document(s) en erreur (« {first.message} »).",
            code="all_rejected",
        )
    if not isinstance(content, bytes | bytearray):
        raise TypeError(f"{exporter.name}.export_period returned {type(content).__name__}")
    content = bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    for attempt in range(3):
        latest = latest_batch(company, exporter.name, start, end)
        if latest is not None and latest.sha256 == sha256 and latest.document_ids == included:
            batch, created = latest, False
        else:
            batch, created = _new_batch(company, exporter, start, end, latest, content, user_id)
            batch.media_type = context.media_type or exporter.media_type
            batch.sha256 = sha256
            batch.document_ids = included
            batch.document_count = len(included)
            for extra in context.attachments:
                key, size = _store(extra.content)
                batch.files = [
                    *batch.files,
                    {
                        "format": extra.format,
                        "filename": extra.filename,
                        "media_type": extra.media_type,
                        "storage_key": key,
                        "sha256": key,
                        "size": size,
                    },
                ]
        try:
            db.session.flush()
            changed = _record_statuses(exporter, documents, context, batch)
            db.session.commit()
            break
        except IntegrityError:
            # Another export of the same period took this version number first.
            db.session.rollback()
            if attempt == 2:
                raise ServiceError(
                    "Un autre export de cette période est en cours : réessayez.",
                    code="busy",
                    status=409,
                ) from None
    _dispatch_notifications(exporter.name, [document.id for document, _ in changed])
    return PeriodExport(
        batch=batch,
        created=created,
        rejected={k: v.message for k, v in context.rejected.items()},
    )


def _new_batch(
    company: Company,
    exporter: PeriodExporter,
    start: date,
    end: date,
    latest: ExportBatch | None,
    content: bytes,
    user_id: int | None,
) -> tuple[ExportBatch, bool]:
    key, size = _store(content)
    batch = ExportBatch(
        firm_id=company.firm_id,
        company_id=company.id,
        exporter=exporter.name,
        period_start=start,
        period_end=end,
        version=(latest.version + 1) if latest is not None else 1,
        sha256=key,
        size=size,
        filename=exporter.filename(company, start, end),
        media_type=exporter.media_type,
        storage_key=key,
        document_ids=[],
        document_count=0,
        files=[],
        created_at=utcnow(),
        created_by_id=user_id,
    )
    db.session.add(batch)
    return batch, True


def remote_id(exporter: PeriodExporter, batch: ExportBatch) -> str:
    """What a document's status shows of the batch: « FEC v3 du 01/01/2026 au 31/03/2026 »."""
    return (
        f"{exporter.label} v{batch.version} {period_label(batch.period_start, batch.period_end)}"
    )[:200]


def _record_statuses(
    exporter: PeriodExporter,
    documents: list[Document],
    context: PeriodExportContext,
    batch: ExportBatch | None,
) -> list[tuple[Document, ExportResult]]:
    """Bring each document's status up to date; flushes. Returns the ones changed.

    A status already saying the same thing is left alone, so exporting an unchanged period
    again writes nothing.
    """
    now = utcnow()
    existing: dict[int, ExportStatus] = {}
    ids = [d.id for d in documents]
    for i in range(0, len(ids), _CHUNK):
        for status in db.session.scalars(
            select(ExportStatus).where(
                ExportStatus.connector == exporter.name,
                ExportStatus.document_id.in_(ids[i : i + _CHUNK]),
            )
        ):
            existing[status.document_id] = status
    label = remote_id(exporter, batch) if batch is not None else None
    changed: list[tuple[Document, ExportResult]] = []
    for document in documents:
        status = existing.get(document.id)
        error = context.rejected.get(document.id)
        if error is None and batch is None:
            continue
        if status is None:
            status = ExportStatus(
                document_id=document.id,
                firm_id=document.firm_id,
                connector=exporter.name,
                attempts=0,
            )
            db.session.add(status)
        if error is None:
            if status.state == ExportState.EXPORTED and status.remote_id == label:
                continue
            status.state = ExportState.EXPORTED
            status.remote_id = label
            status.exported_at = now
            status.message = status.code = status.field = None
            status.idempotency_key = f"batch-{batch.id}" if batch is not None else None
            result = ExportResult(ok=True, remote_id=label)
            action, text = "exported", f"{exporter.name}: {label}"
        else:
            if (
                status.state == ExportState.ERROR
                and status.message == error.message
                and status.code == error.code
            ):
                continue
            status.state = ExportState.ERROR
            status.message, status.code, status.field = error.message, error.code, error.field
            result = ExportResult(ok=False, message=error.message, code=error.code)
            action, text = "export_error", f"{exporter.name}: {error.message}"
        status.transient = False
        status.warning = False
        status.next_attempt_at = None
        status.attempts = (status.attempts or 0) + 1
        db.session.add(
            DocumentEvent(
                document_id=document.id,
                action=action,
                message=text,
                after={
                    "state": str(status.state),
                    "remote_id": status.remote_id,
                    "code": status.code,
                    "batch_id": batch.id if batch is not None else None,
                },
            )
        )
        changed.append((document, result))
    db.session.flush()
    return changed


#: The task telling plugins (``after_export``) what a period export changed.
NOTIFY_TASK = "notify_period_export"


def _dispatch_notifications(connector: str, document_ids: list[int]) -> None:
    """``after_export`` for each document whose status changed, in the background when workers
    run (plugins may learn from each document: thousands of them must not hold the request),
    at once otherwise (a command)."""
    if not document_ids:
        return
    runner = classeur().tasks
    if runner is not None and getattr(runner, "running", True):
        runner.submit(NOTIFY_TASK, connector, document_ids)
    else:
        notify_period_export(connector, document_ids)


def notify_period_export(connector: str, document_ids: list[int]) -> int:
    """Call ``after_export`` for these documents' statuses of ``connector`` (the task);
    returns how many were notified."""
    hooks = classeur().hooks
    rows = db.session.execute(
        select(Document, ExportStatus)
        .join(ExportStatus, ExportStatus.document_id == Document.id)
        .where(Document.id.in_(document_ids), ExportStatus.connector == connector)
    ).all()
    for document, status in rows:
        result = ExportResult(
            ok=status.state == ExportState.EXPORTED,
            remote_id=status.remote_id,
            message=status.message,
            code=status.code,
        )
        try:
            hooks.after_export(document=document, connector=connector, result=result)
        except Exception:
            log.exception("after_export hook failed")
    db.session.commit()
    return len(rows)


def task_spec() -> TaskSpec:
    """Notifying plugins of a period export, on ``training`` (plugins learn from it)."""
    return TaskSpec(name=NOTIFY_TASK, run=notify_period_export, queue="training")


# --- batches ---------------------------------------------------------------------------------


def period_batches(
    company: Company, exporter_name: str | None = None, limit: int = 200
) -> list[ExportBatch]:
    """The company's batches (of one exporter, or all), newest first."""
    stmt = select(ExportBatch).where(
        ExportBatch.firm_id == company.firm_id, ExportBatch.company_id == company.id
    )
    if exporter_name is not None:
        stmt = stmt.where(ExportBatch.exporter == exporter_name)
    stmt = stmt.order_by(
        ExportBatch.period_start.desc(),
        ExportBatch.period_end.desc(),
        ExportBatch.version.desc(),
        ExportBatch.id.desc(),
    ).limit(limit)
    return list(db.session.scalars(stmt))


def get_batch(company: Company, batch_id: int) -> ExportBatch:
    """One batch of the (already scoped) company; 404 otherwise."""
    batch = db.session.scalar(
        select(ExportBatch).where(
            ExportBatch.id == batch_id,
            ExportBatch.firm_id == company.firm_id,
            ExportBatch.company_id == company.id,
        )
    )
    if batch is None:
        raise ServiceError("Export introuvable.", "batch", code="not_found", status=404)
    return batch


def batch_file(batch: ExportBatch, format: str | None = None) -> tuple[Path, str, str]:
    """The stored file of a batch — its main file, or the rendering ``format`` ("csv") —
    as (local path, file name, media type); 404 for an unknown format."""
    storage = classeur().storage
    if format is None:
        return storage.path(batch.storage_key), batch.filename, batch.media_type
    for item in batch.files or []:
        if item.get("format") == format:
            return storage.path(item["storage_key"]), item["filename"], item["media_type"]
    raise ServiceError("Format d'export inconnu.", "format", code="not_found", status=404)
