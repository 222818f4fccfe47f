"""Documents: storing an upload, changing fields, validating, retrying a failed reading,
moving to another binder, putting in the trash and restoring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.binders.models import Binder
from core.binders.registry import FieldsError, check_fields_schema
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus
from core.state import classeur
from core.storage import TooLarge
from core.tasks import after_commit
from core.tenancy.models import Company


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
    from core.plugins.activation import check_binder_type_enabled

    # A binder type switched off for the company takes nothing new (its documents stay).
    check_binder_type_enabled(binder.company, binder.type)
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
        refusal = media_type_refusal(binder, inspection.media_type)
        if refusal is not None:
            raise refusal
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
        submit_processing([document.id])
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
    # End what the hooks read or wrote: a caller storing many files (``classeur import``)
    # must not hold the database (SQLite's write lock) between two files.
    db.session.commit()
    return StoredUpload(document, duplicate=False)


#: Short French names of the media types, for messages.
MEDIA_TYPE_NAMES = {
    "application/pdf": "PDF",
    "application/xml": "XML",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
}


def media_type_refusal(binder: Binder, media_type: str) -> ServiceError | None:
    """The error if the binder's type does not accept files of ``media_type``, else None."""
    binder_type = classeur().binder_types.get(binder.type)
    accepted = binder_type.media_types if binder_type is not None else None
    if accepted is None or media_type in accepted:
        return None
    names = ", ".join(sorted(MEDIA_TYPE_NAMES.get(m, m) for m in accepted))
    return ServiceError(
        f"Le classeur « {binder.name} » n'accepte pas ce type de fichier "
        f"({MEDIA_TYPE_NAMES.get(media_type, media_type)}) ; types acceptés : {names}.",
        "file",
        code="unsupported_for_binder",
        status=415,
    )


def _existing(binder_id: int, sha256: str) -> Document | None:
    return db.session.scalar(
        select(Document).where(Document.binder_id == binder_id, Document.sha256 == sha256)
    )


def submit_processing(document_ids: list[int]) -> None:
    """Queue the reading of these documents once the current transaction commits (at once
    outside one)."""
    for document_id in document_ids:
        after_commit.queue("process_document", document_id)


def retry_processing(document: Document, user_id: int | None) -> None:
    """Put a failed document back in the reading queue; commits."""
    _refuse_trashed(document)
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
    submit_processing([document.id])
    db.session.commit()
    db.session.refresh(document)


def update_fields(document: Document, changes: dict[str, Any], user_id: int | None) -> Document:
    """Apply field changes validated by the binder type; every change is an audit event.

    Bumps the document's version, so a later export carries a new idempotency key.
    """
    _refuse_trashed(document)
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
        if binder_type is not None:
            check_fields_schema(binder_type, merged)
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
    after_commit.reindex([document.id])
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

    _refuse_trashed(document)
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
    to_run = dispatch_document(document)  # queued on commit, after the index
    after_commit.reindex([document.id])
    db.session.commit()
    hooks = classeur().hooks
    try:
        hooks.after_document_validated(document=document, user_id=user_id)
    except Exception:
        current_app.logger.exception("after_document_validated hook failed")
    return to_run


# --- moving, trash -----------------------------------------------------------------------------

#: States in which the reading pipeline owns the document.
READING_STATES = frozenset({DocumentState.RECEIVED, DocumentState.EXTRACTING})
#: Message of the export statuses set aside when their document goes to the trash.
TRASH_EXPORT_MESSAGE = "Document mis à la corbeille."
TRASHED_MESSAGE = "Document à la corbeille : restaurez-le d'abord."


def _refuse_trashed(document: Document) -> None:
    if document.state == DocumentState.TRASHED:
        raise ServiceError(TRASHED_MESSAGE, "state", code="trashed", status=409)


def _export_states(document_id: int) -> set[ExportState]:
    return set(
        db.session.scalars(
            select(ExportStatus.state).where(ExportStatus.document_id == document_id)
        ).all()
    )


def _sending_error() -> ServiceError:
    return ServiceError(
        "Envoi en cours vers la comptabilité : réessayez dans un instant.",
        "state",
        code="sending",
        status=409,
    )


def move_refusal(document: Document) -> ServiceError | None:
    """Why ``document`` cannot be moved whatever the target binder, or None if it can.

    Pages use it to offer « Déplacer » only when it would be accepted.
    """
    if document.state == DocumentState.TRASHED:
        return ServiceError(TRASHED_MESSAGE, "state", code="trashed", status=409)
    if document.archived_at is not None:
        return ServiceError(
            "Document archivé : désarchivez-le d'abord.", "state", code="archived", status=409
        )
    if document.state in READING_STATES:
        return ServiceError(
            "Le document est encore en lecture : il pourra être déplacé ensuite.",
            "state",
            code="not_ready",
            status=409,
        )
    states = _export_states(document.id)
    if ExportState.EXPORTED in states:
        return ServiceError(
            "Document déjà exporté : il ne peut plus être déplacé.",
            "state",
            code="exported",
            status=409,
        )
    if ExportState.SENDING in states:
        return _sending_error()
    return None


def trash_refusal(document: Document) -> ServiceError | None:
    """Why ``document`` cannot be put in the trash, or None if it can."""
    if document.state == DocumentState.TRASHED:
        return ServiceError(
            "Ce document est déjà à la corbeille.", "state", code="trashed", status=409
        )
    if document.state in READING_STATES:
        return ServiceError(
            "Le document est encore en lecture : il pourra être mis à la corbeille ensuite.",
            "state",
            code="not_ready",
            status=409,
        )
    if ExportState.SENDING in _export_states(document.id):
        return _sending_error()
    return None


def _place(binder: Binder) -> dict[str, Any]:
    company = db.session.get(Company, binder.company_id)
    assert company is not None
    return {
        "binder_id": binder.id,
        "binder_name": binder.name,
        "company_id": company.id,
        "company_name": company.name,
    }


def _duplicate_error(existing_id: int) -> ServiceError:
    return ServiceError(
        f"Ce fichier est déjà dans ce classeur (document n° {existing_id}).",
        "binder_id",
        code="duplicate",
        status=409,
    )


def move_document(document: Document, binder: Binder, user_id: int | None) -> Document:
    """Move ``document`` to ``binder`` (same firm, possibly another company); commits.

    The caller scopes ``binder`` to what the user may see; a binder of another firm is refused
    here as not found all the same. Refused (:class:`ServiceError`): the same binder, a trashed
    document, a document being read, one exported (or being sent) to a connector, a target
    binder already holding the same file.

    Effect: company and binder changed, version bumped (a new export idempotency key), a
    validated document no longer validated, its pending/error/skipped export statuses dropped
    (they were the old company's), a "moved" event (before/after: binder and company ids and
    names). The document is then read again for its new binder (state ``received``, queued for
    the reading pipeline, which ends in ``to_review``) and re-indexed, after the commit.
    """
    if binder.company.firm_id != document.firm_id:
        raise ServiceError("Classeur introuvable.", "binder_id", code="not_found", status=404)
    refusal = move_refusal(document)
    if refusal is not None:
        raise refusal
    if binder.id == document.binder_id:
        raise ServiceError(
            "Le document est déjà dans ce classeur.", "binder_id", code="same_binder"
        )
    existing = _existing(binder.id, document.sha256)
    if existing is not None:
        raise _duplicate_error(existing.id)
    refusal = media_type_refusal(binder, document.media_type)
    if refusal is not None:
        raise refusal
    old_binder = db.session.get(Binder, document.binder_id)
    assert old_binder is not None
    before = {**_place(old_binder), "state": str(document.state)}
    after = _place(binder)
    # The statuses not sent (pending, error, skipped) belonged to the old company. Delete
    # first, then look: a status a worker claimed meanwhile (sending) survives the delete.
    db.session.execute(
        delete(ExportStatus)
        .where(
            ExportStatus.document_id == document.id,
            ExportStatus.state.in_([ExportState.PENDING, ExportState.ERROR, ExportState.SKIPPED]),
        )
        .execution_options(synchronize_session=False)
    )
    if _export_states(document.id):
        db.session.rollback()
        db.session.refresh(document)
        refusal = move_refusal(document)
        raise refusal if refusal is not None else _sending_error()
    document.binder_id = binder.id
    document.company_id = binder.company_id
    document.version += 1
    document.state = DocumentState.RECEIVED
    document.failure_reason = None
    document.validated_at = None
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action="moved",
            message=(
                f"{before['company_name']} / {before['binder_name']} → "
                f"{after['company_name']} / {after['binder_name']}"
            ),
            before=before,
            after={**after, "state": str(DocumentState.RECEIVED)},
        )
    )
    document_id, sha256 = document.id, document.sha256
    after_commit.reindex([document_id])
    submit_processing([document_id])
    try:
        db.session.commit()
    except IntegrityError:
        # The same file stored in the target binder at the same moment.
        db.session.rollback()
        existing = _existing(binder.id, sha256)
        if existing is None:
            raise
        raise _duplicate_error(existing.id) from None
    return document


def _saved_export(status: ExportStatus) -> dict[str, Any]:
    return {
        "connector": status.connector,
        "state": str(status.state),
        "message": status.message,
        "code": status.code,
        "field": status.field,
        "transient": status.transient,
    }


def trash_document(document: Document, user_id: int | None) -> Document:
    """Put ``document`` in the trash (« Mettre à la corbeille »); commits.

    Everything is kept (file, fields, events). The document leaves the binder lists, the
    "à valider" lists and the search index; its pending or error export statuses become
    ``skipped`` (« Document mis à la corbeille. »), so it leaves "Documents en erreur" and is
    never sent. The state it had and those statuses are recorded in the "trashed" event, for
    :func:`restore_document`. Refused while it is read or being sent, or already trashed.
    """
    refusal = trash_refusal(document)
    if refusal is not None:
        raise refusal
    previous = str(document.state)
    saved = [
        _saved_export(s)
        for s in db.session.scalars(
            select(ExportStatus).where(
                ExportStatus.document_id == document.id,
                ExportStatus.state.in_([ExportState.PENDING, ExportState.ERROR]),
            )
        )
    ]
    db.session.execute(
        update(ExportStatus)
        .where(
            ExportStatus.document_id == document.id,
            ExportStatus.state.in_([ExportState.PENDING, ExportState.ERROR]),
        )
        .values(
            state=ExportState.SKIPPED,
            message=TRASH_EXPORT_MESSAGE,
            next_attempt_at=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if ExportState.SENDING in _export_states(document.id):
        # A worker claimed a pending status between our read and our update.
        db.session.rollback()
        raise _sending_error()
    document.state = DocumentState.TRASHED
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action="trashed",
            before={"state": previous, "exports": saved},
            after={"state": str(DocumentState.TRASHED)},
        )
    )
    after_commit.unindex(document.firm_id, [document.id])
    db.session.commit()
    return document


def restore_document(document: Document, user_id: int | None) -> Document:
    """Take ``document`` out of the trash (« Restaurer »); commits.

    It gets back the state it had (a validated document is validated again, one to review is to
    review) and the export statuses the trash set aside get back their state and message (the
    pending ones are queued again); then it is re-indexed.
    """
    if document.state != DocumentState.TRASHED:
        raise ServiceError(
            "Ce document n'est pas à la corbeille.", "state", code="not_trashed", status=409
        )
    event = db.session.scalar(
        select(DocumentEvent)
        .where(DocumentEvent.document_id == document.id, DocumentEvent.action == "trashed")
        .order_by(DocumentEvent.id.desc())
        .limit(1)
    )
    before = (event.before if event is not None else None) or {}
    try:
        state = DocumentState(before.get("state") or DocumentState.TO_REVIEW)
    except ValueError:
        state = DocumentState.TO_REVIEW
    if state == DocumentState.TRASHED:
        state = DocumentState.TO_REVIEW
    if state in READING_STATES:
        state = DocumentState.RECEIVED  # read again from the start
    to_run: list[int] = []
    for saved in before.get("exports") or []:
        status = db.session.scalar(
            select(ExportStatus).where(
                ExportStatus.document_id == document.id,
                ExportStatus.connector == saved.get("connector"),
                ExportStatus.state == ExportState.SKIPPED,
                ExportStatus.message == TRASH_EXPORT_MESSAGE,
            )
        )
        if status is None:
            continue
        try:
            status.state = ExportState(saved.get("state"))
        except ValueError:
            continue
        status.message = saved.get("message")
        status.code = saved.get("code")
        status.field = saved.get("field")
        status.transient = bool(saved.get("transient"))
        status.next_attempt_at = None
        if status.state == ExportState.PENDING:
            db.session.flush()
            to_run.append(status.id)
    document.state = state
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action="restored",
            before={"state": str(DocumentState.TRASHED)},
            after={"state": str(state)},
        )
    )
    after_commit.reindex([document.id])
    if state == DocumentState.RECEIVED:
        submit_processing([document.id])
    if to_run:
        from core.exports.services import submit_exports

        submit_exports(to_run)
    db.session.commit()
    return document


# --- rename, archive ---------------------------------------------------------------------------

#: Longest file name a rename accepts (the column's size).
MAX_FILENAME = 255


def rename_document(document: Document, filename: Any, user_id: int | None) -> Document:
    """Rename ``document`` (« Renommer »); commits.

    The original's extension is kept when the new name has none (``facture`` on ``scan.pdf``
    gives ``facture.pdf``). Refused: an empty name, more than 255 characters, a path separator
    or a control character, a trashed document. A "renamed" event records old → new; the
    document is re-indexed after the commit. The same name is a no-op.
    """
    import unicodedata

    _refuse_trashed(document)
    if not isinstance(filename, str):
        raise ServiceError("Le nom du fichier doit être un texte.", "filename", code="invalid")
    name = unicodedata.normalize("NFC", filename).strip()
    if not name:
        raise ServiceError("Le nom du fichier est vide.", "filename", code="empty")
    if "/" in name or "\\" in name:
        raise ServiceError(
            "Le nom du fichier ne peut pas contenir « / » ni « \\ ».",
            "filename",
            code="path_separator",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in name) or name.strip(".") == "":
        raise ServiceError(
            "Le nom du fichier contient des caractères interdits.", "filename", code="invalid"
        )
    old = document.filename
    _, dot, ext = old.rpartition(".")
    if "." not in name.lstrip(".") and dot and ext and len(ext) <= 10:
        name = f"{name}.{ext}"
    if len(name) > MAX_FILENAME:
        raise ServiceError(
            f"Le nom du fichier est trop long ({MAX_FILENAME} caractères au plus).",
            "filename",
            code="too_long",
        )
    if name == old:
        return document
    document.filename = name
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action="renamed",
            message=f"{old} → {name}",
            before={"filename": old},
            after={"filename": name},
        )
    )
    after_commit.reindex([document.id])
    db.session.commit()
    return document


def archive_refusal(document: Document) -> ServiceError | None:
    """Why ``document`` cannot be archived, or None if it can."""
    if document.archived_at is not None:
        return ServiceError("Ce document est déjà archivé.", "state", code="archived", status=409)
    if document.state != DocumentState.VALIDATED:
        return ServiceError(
            "Seul un document validé peut être archivé.", "state", code="not_validated", status=409
        )
    return None


def archive_document(document: Document, user_id: int | None) -> Document:
    """Archive a validated document (« Archiver »); commits.

    It leaves the trays and the default lists, stays searchable (flagged archived) and keeps
    its exports. Refused (409) unless validated, or when already archived.
    """
    refusal = archive_refusal(document)
    if refusal is not None:
        raise refusal
    document.archived_at = utcnow()
    db.session.add(DocumentEvent(document_id=document.id, user_id=user_id, action="archived"))
    after_commit.reindex([document.id])
    db.session.commit()
    return document


def unarchive_document(document: Document, user_id: int | None) -> Document:
    """Take a document out of the archive (« Désarchiver »); commits."""
    if document.archived_at is None:
        raise ServiceError(
            "Ce document n'est pas archivé.", "state", code="not_archived", status=409
        )
    document.archived_at = None
    db.session.add(DocumentEvent(document_id=document.id, user_id=user_id, action="unarchived"))
    after_commit.reindex([document.id])
    db.session.commit()
    return document


# --- trash purge -------------------------------------------------------------------------------

#: The task deleting one document trashed longer than ``TRASH_RETENTION_DAYS``.
PURGE_TASK = "purge_trashed_document"
#: Documents handed to the workers per poll.
PURGE_BATCH = 100


def _trashed_at() -> Any:
    """When each document was last put in the trash (its latest "trashed" event)."""
    last = (
        select(func.max(DocumentEvent.created_at))
        .where(DocumentEvent.document_id == Document.id, DocumentEvent.action == "trashed")
        .scalar_subquery()
    )
    return func.coalesce(last, Document.updated_at)


def _retention_cutoff(older_than_days: int | None) -> Any:
    from datetime import timedelta

    days = older_than_days
    if days is None:
        days = int(current_app.config["TRASH_RETENTION_DAYS"])
    if days < 0:
        raise ServiceError("Le délai doit être positif.", "older_than", code="invalid")
    return utcnow() - timedelta(days=days)


def purgeable_ids(older_than_days: int | None = None, limit: int | None = None) -> list[int]:
    """Ids of the documents in the trash for longer than ``older_than_days`` (by default the
    ``TRASH_RETENTION_DAYS`` setting), oldest first."""
    cutoff = _retention_cutoff(older_than_days)
    stmt = (
        select(Document.id)
        .where(Document.state == DocumentState.TRASHED, _trashed_at() < cutoff)
        .order_by(Document.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def _purge_record(document: Document) -> dict[str, Any]:
    """What stays of a purged document: where it was and what was exported where."""
    binder = db.session.get(Binder, document.binder_id)
    company = db.session.get(Company, document.company_id)
    trashed_at = db.session.scalar(select(_trashed_at()).where(Document.id == document.id))
    return {
        "document_id": document.id,
        "filename": document.filename,
        "sha256": document.sha256,
        "size": document.size,
        "company_id": document.company_id,
        "company_name": company.name if company else None,
        "dossier_code": company.dossier_code if company else None,
        "binder_id": document.binder_id,
        "binder_name": binder.name if binder else None,
        "binder_type": binder.type if binder else None,
        "created_at": document.created_at.isoformat() if document.created_at else None,
        "trashed_at": trashed_at.isoformat() if trashed_at else None,
        "fields": document.fields or {},
        "exports": [
            {
                "connector": s.connector,
                "state": str(s.state),
                "remote_id": s.remote_id,
                "exported_at": s.exported_at.isoformat() if s.exported_at else None,
                "message": s.message,
            }
            for s in db.session.scalars(
                select(ExportStatus)
                .where(ExportStatus.document_id == document.id)
                .order_by(ExportStatus.connector)
            )
        ],
    }


def _drop_files(sha256: str) -> bool:
    """Delete an original and its derived files unless a document still points at them.

    The original is first moved aside, then the rows are looked at again: a document stored
    with the same content meanwhile gets its file back.
    """
    import shutil

    storage = classeur().storage
    original = storage.path(sha256)
    aside = original.with_name(f"{sha256}.purging")
    if original.exists():
        original.replace(aside)
    if db.session.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1)):
        if aside.exists():
            aside.replace(original)
        return False
    aside.unlink(missing_ok=True)
    shutil.rmtree(storage.derived_dir(sha256), ignore_errors=True)
    return True


def purge_document(
    document_id: int, *, older_than_days: int | None = None, dry_run: bool = False
) -> dict[str, Any] | None:
    """Delete for good a document in the trash for longer than the retention delay; commits.

    Deleted: the row (with its events and export statuses), then its original and derived files
    when no other document (of any firm) has the same content. Kept: an audit line
    ("document_purged") naming the file, company, binder, the export statuses and their remote
    ids, so what was exported stays traceable. Returns that record (``files_deleted`` says
    whether the files went), or None when the document is not (or no longer) purgeable.
    ``dry_run`` only returns the record.
    """
    from core.auth.audit import audit

    cutoff = _retention_cutoff(older_than_days)
    document = db.session.scalar(
        select(Document).where(
            Document.id == document_id,
            Document.state == DocumentState.TRASHED,
            _trashed_at() < cutoff,
        )
    )
    if document is None:
        db.session.rollback()
        return None
    record = _purge_record(document)
    shared = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.sha256 == document.sha256, Document.id != document.id
        )
    )
    if dry_run:
        db.session.rollback()
        return {**record, "files_deleted": not shared}
    firm_id, sha256 = document.firm_id, document.sha256
    audit(
        "document_purged",
        target=f"{record['filename']}"[:200],
        details=record,
        firm_id=firm_id,
        user_id=None,
    )
    db.session.execute(
        delete(Document)
        .where(Document.id == document_id)
        .execution_options(synchronize_session=False)
    )
    db.session.expunge(document)
    after_commit.unindex(firm_id, [document_id])
    db.session.commit()
    record["files_deleted"] = _drop_files(sha256)
    db.session.commit()
    return record


def purge_trash(older_than_days: int | None = None, dry_run: bool = False) -> list[dict[str, Any]]:
    """Purge every document in the trash for longer than the delay (see
    :func:`purge_document`); the records of those purged (or that would be)."""
    records = []
    for document_id in purgeable_ids(older_than_days):
        record = purge_document(document_id, older_than_days=older_than_days, dry_run=dry_run)
        if record is not None:
            records.append(record)
    return records


def purge_task_spec() -> Any:
    """The purge as a task: the poll hands over documents past the retention delay."""
    from core.tasks.registry import TaskSpec

    return TaskSpec(
        name=PURGE_TASK,
        run=purge_document,
        queue="default",
        poll=lambda: [(i,) for i in purgeable_ids(limit=PURGE_BATCH)],
    )
