"""The MEG connector's own table: each linked company's OAuth token, one row to lock.

MEG rotates refresh tokens: a refresh token works once. With several workers (threads, or
Celery processes on several machines) the token lives in the database, and a worker about to
refresh locks its row first (:mod:`plugins.meg_export.tokens`), so exactly one refresh happens
and every other worker adopts the token it stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.plugin_api import Base, utcnow


class MegToken(Base):
    """The OAuth token of one linked company, encrypted (``encrypt_json``)."""

    __tablename__ = "meg_export_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), unique=True
    )
    #: ``encrypt_json(token)``: access and refresh tokens never stored in clear.
    token: Mapped[str] = mapped_column(Text)
    #: Bumped at each refresh (and taken as the write lock's first statement on SQLite).
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
