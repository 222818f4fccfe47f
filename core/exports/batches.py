"""The files period exporters produced: one ``ExportBatch`` per version of a period's file."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class ExportBatch(Base):
    """One version of a file a period exporter produced for a company and a period.

    Written by the core only (:func:`core.exports.periods.export_period`). Exporting the same
    period again gives the same batch while the file would be the same; a different file
    (documents added, changed or gone) is a new ``version``, and the older ones are kept:
    each stays downloadable from ``storage_key`` (the content address of the file).
    """

    __tablename__ = "export_batches"
    __table_args__ = (
        UniqueConstraint(
            "company_id",
            "exporter",
            "period_start",
            "period_end",
            "version",
            # Named: the conventional name would pass PostgreSQL's 63 characters.
            name="uq_export_batches_period_version",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    #: The period exporter's name (also the connector of the documents' ``ExportStatus``).
    exporter: Mapped[str] = mapped_column(String(64))
    #: First and last day of the period, both included, on the exporter's document date.
    period_start: Mapped[date]
    period_end: Mapped[date]
    #: 1, 2, 3... for one company, exporter and period.
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    #: Where the core's storage keeps the file (its content address).
    storage_key: Mapped[str] = mapped_column(String(200))
    #: The documents in the file, in the exporter's order.
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    document_count: Mapped[int] = mapped_column(default=0)
    #: Further renderings stored with it: ``[{"format", "filename", "media_type",
    #: "storage_key", "sha256", "size"}]`` (the CSV journal beside the FEC).
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
