"""The search service: feeds the backend from the database and scopes every query.

The export state is never in the index (it changes too often): "Erreur lors de l'export"
takes the ids of documents whose ``ExportStatus`` is ``error`` from the database and hands
them to the backend as ``restrict_ids``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.binders.models import Binder
from core.binders.searchable import Searchable, search_aliases, searchable_of
from core.db import db
from core.documents.models import Document, DocumentState
from core.exports.models import ExportState, ExportStatus
from core.search.backend import IndexedDocument, SearchBackend, SearchQuery, SearchResult
from core.state import classeur
from core.tenancy.models import Company

log = logging.getLogger("classeur.search")

MAX_TEXT = 200_000  # characters of a document's text sent to the index


def open_backend(config: Any) -> SearchBackend:
    """The backend chosen by ``SEARCH_BACKEND``."""
    kind = config.get("SEARCH_BACKEND", "whoosh")
    if kind == "whoosh":
        from core.search.whoosh_backend import WhooshBackend

        return WhooshBackend(Path(config["DATA_DIR"]) / "index", text_source=document_texts)
    if kind == "postgres":
        from core.search.pg_backend import PostgresBackend

        return PostgresBackend(config["DATABASE_URL"])
    raise ValueError(f"CLASSEUR_SEARCH_BACKEND must be whoosh or postgres, not {kind!r}")


def document_texts(firm_id: int, document_ids: list[int]) -> dict[int, str]:
    """The texts of these documents of ``firm_id`` (the whoosh index does not store them: the
    highlights of a page of results are made from the database's text)."""
    rows = db.session.execute(
        select(Document.id, Document.text).where(
            Document.firm_id == firm_id, Document.id.in_(document_ids)
        )
    )
    return {doc_id: (text or "")[:MAX_TEXT] for doc_id, text in rows}


def searchable(document: Document, binder_type: str) -> Searchable:
    """The generic searchable fields of a document, as its binder type declares them."""
    bt = classeur().binder_types.get(binder_type)
    return searchable_of(bt, document.fields, doc_id=document.id)


def query_aliases() -> dict[str, str]:
    """The query names (``fournisseur:``) every binder type adds to the core's."""
    return search_aliases(classeur().binder_types.all())


def _binder_types_of(documents: list[Document]) -> dict[int, str]:
    """Binder type name of each document's binder."""
    binder_ids = {d.binder_id for d in documents}
    if not binder_ids:
        return {}
    types = dict(
        db.session.execute(select(Binder.id, Binder.type).where(Binder.id.in_(binder_ids))).all()
    )
    return {d.id: types.get(d.binder_id, "") for d in documents}


def searchable_fields(documents: list[Document]) -> dict[int, tuple[str, Searchable]]:
    """(binder type, generic searchable fields) of each document, as the results show them."""
    types = _binder_types_of(documents)
    return {d.id: (types[d.id], searchable(d, types[d.id])) for d in documents}


def to_indexed(document: Document, binder: Binder, company: Company) -> IndexedDocument:
    """What the index knows of a document: its text, names and generic searchable fields."""
    generic = searchable(document, binder.type)
    return IndexedDocument(
        id=document.id,
        firm_id=document.firm_id,
        company_id=document.company_id,
        company_name=company.name,
        binder_id=binder.id,
        binder_name=binder.name,
        binder_type=binder.type,
        state=str(document.state),
        filename=document.filename,
        text=(document.text or "")[:MAX_TEXT],
        party_name=generic.party_name,
        party_ids=generic.party_ids,
        reference=generic.reference,
        date=generic.date,
        amount=generic.amount,
        keywords=generic.keywords,
        created_at=document.created_at,
    )


def _rows(
    document_ids: list[int] | None = None, after: tuple[int, int] = (0, 0), limit: int = 500
) -> list[Any]:
    stmt = (
        select(Document, Binder, Company)
        .join(Binder, Binder.id == Document.binder_id)
        .join(Company, Company.id == Document.company_id)
        .order_by(Document.firm_id, Document.id)
    )
    if document_ids is not None:
        stmt = stmt.where(Document.id.in_(document_ids))
    else:
        # Keyset pagination by (firm, id): the backend rebuilds one firm at a time.
        firm_id, doc_id = after
        stmt = stmt.where(
            (Document.firm_id > firm_id) | ((Document.firm_id == firm_id) & (Document.id > doc_id)),
            # A trashed document is never searchable.
            Document.state != DocumentState.TRASHED,
        ).limit(limit)
    return list(db.session.execute(stmt).all())


def index_documents(document_ids: list[int]) -> None:
    """(Re)index documents after their commit; the backend batches the writes.

    A trashed document among them is removed from the index instead.
    """
    if not document_ids:
        return
    rows = _rows(document_ids)
    backend = classeur().search
    trashed: dict[int, list[int]] = {}
    for d, _, _ in rows:
        if d.state == DocumentState.TRASHED:
            trashed.setdefault(d.firm_id, []).append(d.id)
    backend.index([to_indexed(d, b, c) for d, b, c in rows if d.state != DocumentState.TRASHED])
    for firm_id, ids in trashed.items():
        backend.delete(ids, firm_id)


def _chunks(chunk_size: int) -> Iterator[list[IndexedDocument]]:
    last = (0, 0)
    while True:
        rows = _rows(after=last, limit=chunk_size)
        if not rows:
            return
        last = (rows[-1][0].firm_id, rows[-1][0].id)
        yield [to_indexed(d, b, c) for d, b, c in rows]
        db.session.expunge_all()  # bounded memory whatever the corpus size


def rebuild_index(chunk_size: int = 500, progress: bool = False) -> int:
    """Rebuild the whole index from the database; returns the number of documents."""
    from sqlalchemy import func

    total = (
        db.session.scalar(
            select(func.count(Document.id)).where(Document.state != DocumentState.TRASHED)
        )
        or 0
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="reindex", unit="doc", file=sys.stderr)

    def on_progress(n: int) -> None:
        if bar is not None:
            bar.update(n)

    classeur().search.rebuild(_chunks(chunk_size), progress=on_progress)
    if bar is not None:
        bar.close()
    return total


def rebuild_if_needed() -> int | None:
    """Rebuild the index when its schema changed (or it is new) and documents exist."""
    from sqlalchemy import func

    backend = classeur().search
    if not getattr(backend, "needs_rebuild", False):
        return None
    if not db.session.scalar(select(func.count(Document.id))):
        return 0
    log.warning("search index is missing or of an older schema: rebuilding it")
    return rebuild_index()


def export_error_ids(firm_id: int) -> frozenset[int]:
    """Documents of the firm with at least one export in error (from the database)."""
    ids = db.session.scalars(
        select(ExportStatus.document_id).where(
            ExportStatus.firm_id == firm_id, ExportStatus.state == ExportState.ERROR
        )
    ).all()
    return frozenset(ids)


def search(query: SearchQuery, *, export_error: bool = False) -> SearchResult:
    """Run a query already scoped by the caller (firm, visible companies)."""
    if export_error:
        errors = export_error_ids(query.firm_id)
        query.restrict_ids = errors if query.restrict_ids is None else query.restrict_ids & errors
    if not query.aliases:
        query.aliases = query_aliases()
    backend = classeur().search
    return backend.search(query)


def flush(timeout: float | None = 30.0) -> None:
    """Wait until queued index writes are visible (tests, commands)."""
    classeur().search.flush(timeout)
