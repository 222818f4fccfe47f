"""What the firm asks of a client company: a missing document, or a document to complete."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class RequestState(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"  # the client dropped a document for it
    CANCELLED = "cancelled"


class DocumentRequest(Base):
    """An accountant's request to a client: "send us the invoice of ..." (no document yet) or
    "à compléter" on a document already dropped (``document_id`` set)."""

    __tablename__ = "document_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[RequestState] = mapped_column(
        Enum(RequestState, native_enum=False, length=20), default=RequestState.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fulfilled_at: Mapped[datetime | None]
    #: The document the client dropped in answer.
    fulfilled_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    #: What the client wrote in answer (with or without a document).
    answer: Mapped[str | None] = mapped_column(Text)
