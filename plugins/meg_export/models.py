"""The MEG connector's own table: each linked company's OAuth token, one row to lock.

MEG rotates refresh tokens: a refresh token works once. With several workers (threads, or
Celery processes on several machines) the token lives in the database, and a worker about to
refresh locks its row first (:mod:`plugins.meg_export.tokens`), so exactly one refresh happens
and every other worker adopts the token it stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
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


class MegPayment(Base):
    """A supplier payment MEG holds for a purchase Classeur published, read back
    (:mod:`plugins.meg_export.payments`): pending with its due date, or paid."""

    __tablename__ = "meg_export_payments"
    __table_args__ = (UniqueConstraint("company_id", "purchase_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    #: The document published as this purchase (through its export status's remote id).
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    #: MEG's purchase and payment ids.
    purchase_id: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(String(64))
    #: MEG's status: ``en_attente`` or ``paye``.
    status: Mapped[str] = mapped_column(String(16))
    #: ``reglement`` (the company pays) or ``remboursement`` (a credit note's refund).
    kind: Mapped[str] = mapped_column(String(16), default="reglement")
    due_date: Mapped[date | None] = mapped_column(Date)
    paid_at: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[str | None] = mapped_column(String(32))
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MegPaymentSync(Base):
    """When a linked company's payments were last read back from MEG, and the last error."""

    __tablename__ = "meg_export_payment_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), unique=True
    )
    refreshed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
