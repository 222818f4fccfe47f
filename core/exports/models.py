"""The shared export status model; connector switches are plugin settings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow
from core.plugins.models import PluginSetting


class ExportState(enum.StrEnum):
    """Where a document stands with one connector."""

    PENDING = "pending"
    SENDING = "sending"
    EXPORTED = "exported"
    ERROR = "error"
    SKIPPED = "skipped"


#: French labels of the export states, for pages.
EXPORT_LABELS: dict[str, str] = {
    ExportState.PENDING: "En attente",
    ExportState.SENDING: "En cours d'envoi",
    ExportState.EXPORTED: "Exporté",
    ExportState.ERROR: "Erreur lors de l'export",
    ExportState.SKIPPED: "Non envoyé",
}


class ExportStatus(Base):
    """The outcome of exporting one document to one connector; written by the core only."""

    __tablename__ = "export_statuses"
    __table_args__ = (
        UniqueConstraint("document_id", "connector"),
        Index("ix_export_statuses_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    connector: Mapped[str] = mapped_column(String(64))
    state: Mapped[ExportState] = mapped_column(
        Enum(ExportState, native_enum=False, length=20), default=ExportState.PENDING
    )
    message: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(100))
    transient: Mapped[bool] = mapped_column(default=False)
    #: Exported, but with warnings (in ``message``) for the accountant to check.
    warning: Mapped[bool] = mapped_column(default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    remote_id: Mapped[str | None] = mapped_column(String(200))
    #: Stable for one version of the document, so a retry never creates a second record.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    exported_at: Mapped[datetime | None]


#: The exporters' switches and settings are plugin settings (``core.plugins.models``).
ConnectorSetting = PluginSetting
