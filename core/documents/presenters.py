"""How a document is shown: its JSON form and its page previews."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.binders.models import Binder
from core.db import db
from core.documents.models import Document, DocumentEvent, DocumentState
from core.documents.services import document_checks
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus
from core.state import classeur

_preview_lock = threading.Lock()


def export_statuses(document: Document) -> list[ExportStatus]:
    return list(
        db.session.scalars(
            select(ExportStatus)
            .where(ExportStatus.document_id == document.id)
            .order_by(ExportStatus.connector)
        )
    )


def document_json(document: Document) -> dict[str, Any]:
    """The document as the API returns it."""
    binder = db.session.get(Binder, document.binder_id)
    return {
        "id": document.id,
        "company_id": document.company_id,
        "binder_id": document.binder_id,
        "binder_type": binder.type if binder else None,
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "pages": document.pages,
        "sha256": document.sha256,
        "state": str(document.state),
        "failure_reason": document.failure_reason,
        "text_source": document.text_source,
        "fields_": document.fields or {},
        "checks": document_checks(document) if document.fields else [],
        "version": document.version,
        "created_at": document.created_at,
        "processed_at": document.processed_at,
        "validated_at": document.validated_at,
        "archived_at": document.archived_at,
        "exports": [
            {
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
            for s in export_statuses(document)
        ],
    }


def events(document: Document) -> list[DocumentEvent]:
    return list(
        db.session.scalars(
            select(DocumentEvent)
            .where(DocumentEvent.document_id == document.id)
            .order_by(DocumentEvent.id)
        )
    )


def page_preview(document: Document, page: int) -> Path:
    """The PNG preview of a page, rendered on first request and kept beside the original."""
    from core.documents.intake import inspect_file
    from core.documents.reading import ReadingError, render_preview

    if page < 1 or page > max(document.pages, 1):
        raise ServiceError("Page inexistante.", "page", code="no_page", status=404)
    storage = classeur().storage
    out = storage.derived_dir(document.sha256) / f"page-{page}.png"
    if out.exists():
        return out
    db.session.commit()  # rendering takes a while: do not hold a transaction meanwhile
    with _preview_lock:
        if out.exists():
            return out
        cfg = current_app.config
        path = storage.path(document.sha256)
        try:
            inspection = inspect_file(
                path,
                max_bytes=max(int(cfg["MAX_UPLOAD_BYTES"]), document.size),
                max_pages=int(cfg["MAX_PAGES"]),
                max_pixels=int(cfg["MAX_PIXELS"]),
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp.png")
            render_preview(path, inspection, page, tmp)
            tmp.replace(out)
        except ReadingError as exc:
            raise ServiceError(
                exc.message if hasattr(exc, "message") else str(exc),
                "page",
                code="no_preview",
                status=404,
            ) from exc
    return out


@dataclass
class ExportRow:
    """One export status for a person: connector label, state label, message, attempts, time,
    and whether « Renvoyer » is offered (else why not, in French)."""

    connector: str
    label: str
    state: str
    state_label: str
    warning: bool
    message: str
    attempts: str
    when: str
    can_resend: bool
    resend_refusal: str | None


def resend_refusal(document: Document, status: ExportStatus) -> str | None:
    """Why « Renvoyer » cannot send this status now (French), None when it can.

    Only an error or a skipped status of a validated document is resent; the connector must be
    switched on for the company and, when it says so (an optional ``not_ready(company)`` on the
    exporter, returning a French reason), ready to send — a company linked to its account.
    """
    from core.exports.registry import is_period_exporter
    from core.exports.services import connector_enabled
    from core.tenancy.models import Company

    if status.state not in (ExportState.ERROR, ExportState.SKIPPED):
        return None
    if document.state != DocumentState.VALIDATED:
        return _("Seul un document validé peut être renvoyé.")
    exporter = classeur().exporters.get(status.connector)
    if exporter is None:
        return _("Ce connecteur n'est plus installé.")
    if is_period_exporter(exporter):
        return _("Ce connecteur exporte par période : exportez à nouveau la période du document.")
    if not connector_enabled(document.firm_id, document.company_id, status.connector):
        return _(
            "%(connector)s est désactivé pour cette entreprise : activez-le dans "
            "Administration → Modules.",
            connector=exporter.label,
        )
    check = getattr(exporter, "not_ready", None)
    if callable(check):
        company = db.session.get(Company, document.company_id)
        reason = check(company) if company is not None else None
        if reason:
            return str(reason)
    return None


def export_rows(document: Document, statuses: list[ExportStatus] | None = None) -> list[ExportRow]:
    """The document's export statuses for a person (see :class:`ExportRow`)."""
    from core.documents.display import attempts_text, connector_label, format_moment
    from core.exports.models import EXPORT_LABELS

    labels = {e.name: e.label for e in classeur().exporters.all()}
    rows = []
    for status in export_statuses(document) if statuses is None else statuses:
        state = ExportState(status.state)
        busy = state in (ExportState.PENDING, ExportState.SENDING)
        message = status.message or ""
        if busy and not status.transient:
            # The message of the attempt before « Renvoyer »: the new send has not answered.
            message = ""
        elif busy and message:
            message = _("Nouvel essai prévu — %(message)s", message=message)
        refusal = resend_refusal(document, status)
        resendable = state in (ExportState.ERROR, ExportState.SKIPPED) and refusal is None
        rows.append(
            ExportRow(
                connector=status.connector,
                label=connector_label(status.connector, labels),
                state=str(state),
                state_label=(
                    _("Exporté avec avertissement")
                    if state == ExportState.EXPORTED and status.warning
                    else EXPORT_LABELS.get(state, str(state))
                ),
                warning=bool(status.warning),
                message=message,
                attempts=attempts_text(status.attempts),
                when=format_moment(status.exported_at or status.updated_at),
                can_resend=resendable,
                resend_refusal=refusal,
            )
        )
    return rows


def is_busy(document: Document, statuses: list[ExportStatus] | None = None) -> bool:
    """Whether something is under way that the page should follow: the document being read,
    or an export waiting or being sent."""
    if document.state in (DocumentState.RECEIVED, DocumentState.EXTRACTING):
        return True
    return any(
        s.state in (ExportState.PENDING, ExportState.SENDING)
        for s in (export_statuses(document) if statuses is None else statuses)
    )
