"""Documents and their append-only audit trail."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.binders.models import Binder
from core.db import Base, utcnow


class DocumentState(enum.StrEnum):
    """Processing state: received → extracting → to_review → validated, or failed.

    ``trashed`` is set aside by a user ("Mettre à la corbeille"): kept whole (file, fields,
    events) but out of binder lists, "à valider" lists, search and exports until restored to
    the state it had (recorded in its "trashed" event).
    """

    RECEIVED = "received"
    EXTRACTING = "extracting"
    TO_REVIEW = "to_review"
    VALIDATED = "validated"
    FAILED = "failed"
    TRASHED = "trashed"


#: French labels of the states, for pages.
STATE_LABELS: dict[str, str] = {
    DocumentState.RECEIVED: "Reçu",
    DocumentState.EXTRACTING: "En lecture",
    DocumentState.TO_REVIEW: "À valider",
    DocumentState.VALIDATED: "Validé",
    DocumentState.FAILED: "En échec",
    DocumentState.TRASHED: "Corbeille",
}


#: French labels of the audit trail's actions.
EVENT_LABELS: dict[str, str] = {
    "stored": "Déposé",
    "read": "Lu",
    "failed": "Échec de la lecture",
    "retry": "Lecture relancée",
    "fields_changed": "Champs modifiés",
    "validated": "Validé",
    "exported": "Exporté",
    "export_error": "Erreur lors de l'export",
    "export_retry": "Renvoyé",
    "moved": "Déplacé",
    "trashed": "Mis à la corbeille",
    "restored": "Restauré",
    "renamed": "Renommé",
    "archived": "Archivé",
    "unarchived": "Désarchivé",
}


class Document(Base):
    """One stored original and what Classeur read from it."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("binder_id", "sha256"),
        Index("ix_documents_firm_id_state", "firm_id", "state"),
        # Lists (GET /api/v1/documents, trays): keyset pagination on (sort key, id).
        Index("ix_documents_firm_id_created_at", "firm_id", "created_at"),
        Index("ix_documents_firm_id_field_date", "firm_id", "field_date"),
        Index("ix_documents_firm_id_field_amount_cents", "firm_id", "field_amount_cents"),
        Index("ix_documents_firm_id_filename", "firm_id", "filename"),
        # The same-file duplicate check of a company, exact without statistics (0015).
        Index("ix_documents_company_id_sha256", "company_id", "sha256"),
        # Archived documents only: whole, SQLite took it for a selective index on every list's
        # "archived_at IS NULL" and sorted the firm instead of walking a sort index (0014).
        Index(
            "ix_documents_archived_at",
            "archived_at",
            sqlite_where=sql_text("archived_at IS NOT NULL"),
            postgresql_where=sql_text("archived_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # firm and company are denormalised from the binder so every query can be scoped cheaply.
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    binder_id: Mapped[int] = mapped_column(ForeignKey("binders.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    pages: Mapped[int] = mapped_column(default=0)
    state: Mapped[DocumentState] = mapped_column(
        Enum(DocumentState, native_enum=False, length=20), default=DocumentState.RECEIVED
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    #: Full text, pages separated by form feeds.
    text: Mapped[str | None] = mapped_column(Text)
    #: Where the text came from: text layer, ocr, einvoice, mixed.
    text_source: Mapped[str | None] = mapped_column(String(20))
    #: Plugin-owned fields, validated by the binder type.
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Bumped on every change of the fields: part of the export idempotency key.
    version: Mapped[int] = mapped_column(default=1)
    processing_attempts: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    processed_at: Mapped[datetime | None]
    validated_at: Mapped[datetime | None]
    #: When the (validated) document was archived: out of trays and default lists.
    archived_at: Mapped[datetime | None]
    #: The binder type's searchable date, amount (cents) and party name (casefolded, without
    #: accents), kept in step with ``fields`` (``core.documents.listing``) for lists to filter
    #: and sort on in SQL.
    field_date: Mapped[date | None] = mapped_column(Date)
    field_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    field_party: Mapped[str | None] = mapped_column(String(500))

    binder: Mapped[Binder] = relationship(back_populates="documents")


class DocumentEvent(Base):
    """One entry of a document's audit trail: who did what, when, before and after."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    message: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
