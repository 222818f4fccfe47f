"""The reading pipeline: text layer, OCR through ``extract_text``, fields, then indexing.

``process_document`` is a plain, idempotent task: it claims the document with a
compare-and-set on its state (received → extracting), so two workers never read the same
document, and a document left ``extracting`` by a dead process is put back by the recoverer.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from core.binders.models import Binder
from core.binders.registry import FieldsError
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.state import classeur
from core.tasks.runner import POLLERS, RECOVERERS, task
from core.tenancy.models import Company

log = logging.getLogger("classeur.documents")

FORM_FEED = "\f"


class ReadingError(Exception):
    """Reading failed; the message (French) is shown as the failure reason."""


def _claim(document_id: int) -> bool:
    result = db.session.execute(
        update(Document)
        .where(Document.id == document_id, Document.state == DocumentState.RECEIVED)
        .values(
            state=DocumentState.EXTRACTING,
            processing_attempts=Document.processing_attempts + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def read_text(document: Document) -> tuple[list[str], str]:
    """Text of every page and where it came from (text, ocr, mixed, einvoice)."""
    from core.documents.intake import inspection_of
    from core.documents.reading import page_needs_ocr, text_layer

    cfg = current_app.config
    state = classeur()
    path = state.storage.path(document.sha256)
    if not path.exists():
        raise ReadingError("Original introuvable dans le stockage.")
    # The file was fully inspected when it was accepted; its type and pages are stored.
    inspection = inspection_of(document.media_type, document.pages)
    pages = text_layer(path, inspection)
    if inspection.kind == "xml":
        return pages, "einvoice"
    missing = [i + 1 for i, text in enumerate(pages) if page_needs_ocr(text)]
    source = "text"
    if missing:
        ocr = state.hooks.extract_text(
            document=document, path=path, pages=missing, config=dict(cfg)
        )
        if ocr:
            for page, text in ocr.items():
                if 1 <= page <= len(pages):
                    pages[page - 1] = text
            source = "ocr" if len(missing) == len(pages) else "mixed"
    return pages, source


@task("process_document")
def process_document(document_id: int) -> str | None:
    """Read one document to the end: text, fields, state ``to_review``, index. Idempotent."""
    if not _claim(document_id):
        return None
    session = db.session
    document = session.get(Document, document_id)
    assert document is not None
    state = classeur()
    binder = session.get(Binder, document.binder_id)
    assert binder is not None
    # End the read transaction: OCR takes seconds and must not hold the database.
    session.commit()
    try:
        pages, source = read_text(document)
        text = FORM_FEED.join(pages)
        # Plugins may look at where the text came from (text layer, ocr, einvoice).
        document.text = text
        document.text_source = source
        path = state.storage.path(document.sha256)
        fields = state.hooks.extract_fields(
            document=document, text=text, path=path, binder_type=binder.type
        )
        if fields:
            binder_type = state.binder_types.get(binder.type)
            if binder_type is not None:
                fields = binder_type.validate_fields(fields)
        document = session.get(Document, document_id)
        assert document is not None
        document.text = text
        document.text_source = source
        document.fields = fields or {}
        document.state = DocumentState.TO_REVIEW
        document.failure_reason = None
        document.processed_at = utcnow()
        session.add(DocumentEvent(document_id=document.id, action="read", message=source))
        session.commit()
        company = session.get(Company, document.company_id)
    except Exception as exc:
        session.rollback()
        reason = _reason(exc)
        log.warning("reading document %s failed: %s", document_id, reason)
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(state=DocumentState.FAILED, failure_reason=reason, updated_at=utcnow())
        )
        session.add(DocumentEvent(document_id=document_id, action="failed", message=reason))
        session.commit()
        _index([document_id])
        return DocumentState.FAILED
    try:
        from core.search.services import to_indexed

        state.search.index([to_indexed(document, binder, company)])
    except Exception:
        log.exception("indexing document %s failed", document_id)
    return DocumentState.TO_REVIEW


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    if isinstance(exc, FieldsError):
        return f"Champs extraits invalides : {message}"
    return message[:1000]


def _index(document_ids: list[int]) -> None:
    try:
        from core.search.services import index_documents

        index_documents(document_ids)
    except Exception:
        # The index can always be rebuilt with `classeur reindex`; the document is safe.
        log.exception("indexing documents %s failed", document_ids)


def _poll_documents() -> list[tuple[str, tuple[Any, ...]]]:
    ids = db.session.scalars(
        select(Document.id)
        .where(Document.state == DocumentState.RECEIVED)
        .order_by(Document.id)
        .limit(1000)
    ).all()
    return [("process_document", (i,)) for i in ids]


def _recover_documents() -> int:
    result = db.session.execute(
        update(Document)
        .where(Document.state == DocumentState.EXTRACTING)
        .values(state=DocumentState.RECEIVED)
    )
    db.session.commit()
    return result.rowcount


POLLERS.append(_poll_documents)
RECOVERERS.append(_recover_documents)
