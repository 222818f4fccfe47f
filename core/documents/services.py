"""Documents: storing an upload, changing fields, validating, retrying a failed reading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.binders.models import Binder
from core.binders.registry import FieldsError
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.errors import ServiceError
from core.state import classeur
from core.storage import TooLarge


@dataclass
class StoredUpload:
    """The outcome of one uploaded file."""

    document: Document
    duplicate: bool


def _limits() -> dict[str, int]:
    cfg = current_app.config
    return {
        "max_bytes": int(cfg["MAX_UPLOAD_BYTES"]),
        "max_pages": int(cfg["MAX_PAGES"]),
        "max_pixels": int(cfg["MAX_PIXELS"]),
    }


def store_upload(
    binder: Binder, stream: BinaryIO, filename: str, user_id: int | None
) -> StoredUpload:
    """Store one file in a binder already scoped by the caller, and commit.

    The file is streamed to a temporary file (refused past the size limit while streaming),
    inspected from its content, then durably moved to its content address before the row
    pointing at it is committed. The same file in the same binder is a duplicate: nothing new
    is stored and the existing document is returned.
    """
    from core.documents.intake import RejectedFile, inspect_file, safe_filename

    storage = classeur().storage
    limits = _limits()
    try:
        tmp, sha256, size = storage.spool(stream, limits["max_bytes"])
    except TooLarge as exc:
        mb = limits["max_bytes"] / (1024 * 1024)
        raise ServiceError(
            f"Fichier trop volumineux : la limite est de {mb:g} Mo.",
            "file",
            code="too_large",
            status=413,
        ) from exc
    # Slow work first (inspection), without holding a database transaction.
    db.session.commit()
    try:
        try:
            inspection = inspect_file(tmp, **limits)
        except RejectedFile as exc:
            existing = _existing(binder.id, sha256)
            if existing is not None:
                return StoredUpload(existing, duplicate=True)
            raise ServiceError(exc.message, "file", code=exc.code, status=422) from exc
        existing = _existing(binder.id, sha256)
        if existing is not None:
            return StoredUpload(existing, duplicate=True)
        storage.commit(tmp, sha256)
    finally:
        tmp.unlink(missing_ok=True)
    company = binder.company
    document = Document(
        firm_id=company.firm_id,
        company_id=company.id,
        binder_id=binder.id,
        sha256=sha256,
        filename=safe_filename(filename or ""),
        media_type=inspection.media_type,
        size=size,
        pages=inspection.pages,
        state=DocumentState.RECEIVED,
        fields={},
        uploaded_by_id=user_id,
    )
    db.session.add(document)
    try:
        db.session.flush()
        db.session.add(
            DocumentEvent(
                document_id=document.id,
                user_id=user_id,
                action="stored",
                after={"filename": document.filename, "sha256": sha256},
            )
        )
        db.session.commit()
    except IntegrityError:
        # The same file dropped twice at the same moment: the other upload won.
        db.session.rollback()
        existing = db.session.scalar(
            select(Document).where(Document.binder_id == binder.id, Document.sha256 == sha256)
        )
        if existing is None:
            raise
        return StoredUpload(existing, duplicate=True)
    try:
        classeur().hooks.after_document_stored(document=document)
    except Exception:
        current_app.logger.exception("after_document_stored hook failed")
    return StoredUpload(document, duplicate=False)


def _existing(binder_id: int, sha256: str) -> Document | None:
    return db.session.scalar(
        select(Document).where(Document.binder_id == binder_id, Document.sha256 == sha256)
    )


def submit_processing(document_ids: list[int]) -> None:
    """Queue the reading of stored documents (after their commit)."""
    runner = classeur().tasks
    if runner is None:
        return
    for document_id in document_ids:
        runner.submit("process_document", document_id)


def retry_processing(document: Document, user_id: int | None) -> None:
    """Put a failed document back in the reading queue; commits."""
    if document.state != DocumentState.FAILED:
        raise ServiceError(
            "Seul un document en échec peut être relu.", "state", code="not_failed", status=409
        )
    db.session.execute(
        update(Document)
        .where(Document.id == document.id, Document.state == DocumentState.FAILED)
        .values(state=DocumentState.RECEIVED, failure_reason=None)
    )
    db.session.add(DocumentEvent(document_id=document.id, user_id=user_id, action="retry"))
    db.session.commit()
    db.session.refresh(document)


def update_fields(document: Document, changes: dict[str, Any], user_id: int | None) -> Document:
    """Apply field changes validated by the binder type; every change is an audit event.

    Bumps the document's version, so a later export carries a new idempotency key.
    """
    if document.state in (DocumentState.RECEIVED, DocumentState.EXTRACTING):
        raise ServiceError(
            "Le document est encore en lecture.", "state", code="not_ready", status=409
        )
    binder = db.session.get(Binder, document.binder_id)
    assert binder is not None
    binder_type = classeur().binder_types.get(binder.type)
    before = dict(document.fields or {})
    merged = {**before, **changes}
    try:
        cleaned = binder_type.validate_fields(merged) if binder_type else merged
    except FieldsError as exc:
        raise ServiceError(exc.message, exc.field) from exc
    changed = {k: cleaned.get(k) for k in cleaned if cleaned.get(k) != before.get(k)}
    if not changed:
        return document
    document.fields = cleaned
    document.version += 1
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action="fields_changed",
            before={k: before.get(k) for k in changed},
            after=changed,
        )
    )
    db.session.flush()
    return document


def document_checks(document: Document) -> list[dict[str, Any]]:
    """The checks of the document's binder type (errors block validation)."""
    binder = db.session.get(Binder, document.binder_id)
    binder_type = classeur().binder_types.get(binder.type) if binder else None
    if binder_type is None or binder_type.checks is None:
        return []
    return binder_type.checks(document=document)


def validate_document(document: Document, user_id: int | None) -> list[int]:
    """Validate a document read and reviewed; commits. Returns export statuses to run.

    Refused while a blocking check fails. After the commit, ``after_document_validated`` is
    called and the document is dispatched to every connector enabled for its company.
    """
    from core.exports.services import dispatch_document

    if document.state == DocumentState.VALIDATED:
        raise ServiceError("Ce document est déjà validé.", "state", code="validated", status=409)
    if document.state != DocumentState.TO_REVIEW:
        raise ServiceError(
            "Le document n'est pas prêt à être validé.", "state", code="not_ready", status=409
        )
    blocking = [c for c in document_checks(document) if c.get("level") == "error"]
    if blocking:
        first = blocking[0]
        raise ServiceError(first["message"], first.get("field"), code=first["code"])
    document.state = DocumentState.VALIDATED
    document.validated_at = utcnow()
    db.session.add(DocumentEvent(document_id=document.id, user_id=user_id, action="validated"))
    db.session.flush()
    to_run = dispatch_document(document)
    db.session.commit()
    hooks = classeur().hooks
    try:
        hooks.after_document_validated(document=document, user_id=user_id)
    except Exception:
        current_app.logger.exception("after_document_validated hook failed")
    return to_run
