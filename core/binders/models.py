"""Binders (classeurs): a company's folders, each of a registered binder type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from core.db import Base, utcnow
from core.tenancy.models import Company

if TYPE_CHECKING:
    from core.documents.models import Document


class Binder(Base):
    """A binder of a company; its ``type`` names a binder type registered by a plugin."""

    __tablename__ = "binders"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    company: Mapped[Company] = relationship()
    documents: WriteOnlyMapped[Document] = relationship(back_populates="binder")
