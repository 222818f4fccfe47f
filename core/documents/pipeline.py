"""The reading pipeline: text layer, OCR through ``extract_text``, fields, then indexing.

``process_document`` is a plain, idempotent task: it claims the document with a
compare-and-set on its state (received → extracting), so two workers never read the same
document, and a document left ``extracting`` by a dead process is put back by the recoverer.

The words with positions of OCRed pages (``extract_text`` texts carrying ``.words``) are handed
to the binder type's ``extract`` as ``layout`` and kept beside the original, gzipped JSON in
``storage.derived_dir(sha256) / "ocr-words.json.gz"``, for later steps (a supplier's template is
learned when the document is validated, days after it was read): :func:`stored_ocr_words`.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from core.binders.models import Binder
from core.binders.registry import FieldsError
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.state import classeur
from core.tasks.registry import Lease, TaskSpec
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


#: Name of the OCR words file in a document's derived folder.
OCR_WORDS_FILE = "ocr-words.json.gz"

Layout = dict[int, list[dict[str, Any]]]


def read_text(document: Document) -> tuple[list[str], str, Layout | None]:
    """Text of every page, where it came from (text, ocr, mixed, einvoice; none: a scan no
    plugin could read), and the OCR words.

    The words are ``{page: [word, ...]}`` for the pages whose OCR text carried ``.words``
    (see the ``extract_text`` hook), None when no page did.
    """
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
        return pages, "einvoice", None
    missing = [i + 1 for i, text in enumerate(pages) if page_needs_ocr(text)]
    source = "text"
    layout: Layout = {}
    if missing:
        ocr = state.hooks.extract_text(
            document=document, path=path, pages=missing, config=dict(cfg)
        )
        if ocr:
            for page, text in ocr.items():
                if 1 <= page <= len(pages):
                    pages[page - 1] = text
                    words = getattr(text, "words", None)
                    if words is not None:
                        layout[page] = [dict(word) for word in words]
            source = "ocr" if len(missing) == len(pages) else "mixed"
        elif len(missing) == len(pages):
            # A scan, and no reader of scans answered (none installed, or switched off for
            # this company on the "Modules" page): stored and searchable by name, no text.
            source = "none"
    return pages, source, (layout or None)


def save_ocr_words(folder: Path, layout: Layout | None) -> None:
    """Write ``layout`` as ``folder / OCR_WORDS_FILE`` (atomically); remove it when None."""
    target = Path(folder) / OCR_WORDS_FILE
    if layout is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": 1, "pages": {str(page): words for page, words in layout.items()}}
    data = gzip.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), mtime=0)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ocr-words-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_ocr_words(folder: Path) -> Layout | None:
    """The words written by :func:`save_ocr_words` in ``folder``, or None if there are none."""
    target = Path(folder) / OCR_WORDS_FILE
    try:
        payload = json.loads(gzip.decompress(target.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError):
        log.warning("unreadable OCR words file %s", target)
        return None
    return {int(page): words for page, words in payload.get("pages", {}).items()}


def stored_ocr_words(document: Document) -> Layout | None:
    """The OCR words of ``document`` kept when it was read: ``{page (1-based): [word, ...]}``.

    Words are dicts ``{"text", "x0", "y0", "x1", "y1", "conf", "block", "line"}`` (page
    fractions from the top-left corner of the upright page, see the ``extract_text`` hook).
    Only pages read by OCR appear. None when the document had no OCRed page, was read before
    words were kept, or its file is unreadable. Needs the application context.
    """
    return load_ocr_words(classeur().storage.derived_dir(document.sha256))


def _binder_type_on(binder_type: str, document: Document) -> bool:
    """Whether the plugin owning ``binder_type`` is on for the document's company."""
    from core.plugins.activation import catalog, plugin_enabled

    plugin = catalog().plugin_of_binder_type(binder_type)
    return plugin is None or plugin_enabled(document.firm_id, document.company_id, plugin)


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
        pages, source, layout = read_text(document)
        text = FORM_FEED.join(pages)
        # Plugins may look at where the text came from (text layer, ocr, einvoice).
        document.text = text
        document.text_source = source
        _keep_ocr_words(document, layout)
        path = state.storage.path(document.sha256)
        binder_type = state.binder_types.get(binder.type)
        fields = None
        if (
            binder_type is not None
            and binder_type.extract is not None
            and _binder_type_on(binder_type.name, document)
        ):
            # The binder type reads its own fields (if its plugin is on for the company).
            fields = binder_type.extract(document=document, text=text, path=path, layout=layout)
        if fields and binder_type is not None:
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


def _keep_ocr_words(document: Document, layout: Layout | None) -> None:
    """Store the OCR words for later; a storage problem only loses them (logged)."""
    try:
        save_ocr_words(classeur().storage.derived_dir(document.sha256), layout)
    except OSError:
        log.exception("keeping the OCR words of document %s failed", document.id)


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


def _waiting_documents() -> list[tuple[Any, ...]]:
    ids = db.session.scalars(
        select(Document.id)
        .where(Document.state == DocumentState.RECEIVED)
        .order_by(Document.id)
        .limit(1000)
    ).all()
    return [(i,) for i in ids]


def _documents_outstanding() -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.state.in_([DocumentState.RECEIVED, DocumentState.EXTRACTING]))
    )
    return int(count or 0)


def task_spec() -> TaskSpec:
    """The reading task: claims its document (``received → extracting``), on ``reading``."""
    return TaskSpec(
        name="process_document",
        run=process_document,
        queue="reading",
        lease=Lease(Document, DocumentState.EXTRACTING, {"state": DocumentState.RECEIVED}),
        poll=_waiting_documents,
        outstanding=_documents_outstanding,
    )
