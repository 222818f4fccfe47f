"""How a document is shown: its JSON form and its page previews."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from core.binders.models import Binder
from core.db import db
from core.documents.models import Document, DocumentEvent
from core.documents.services import document_checks
from core.errors import ServiceError
from core.exports.models import ExportStatus
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
