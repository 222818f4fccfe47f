"""Tables of the ``mail_collect`` plugin: each company's collection mailbox (address token,
activation, allowed senders, IMAP settings), the ledger of messages received (one row per
company and Message-ID: what makes collection idempotent) and the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.plugin_api import Base, utcnow


class Mailbox(Base):
    """A company's collection settings: its address token, whether collection is on
    ("Collecte activée"), the senders allowed, and an IMAP mailbox to poll (optional).

    ``state`` is ``idle``, or ``polling`` while a worker polls the IMAP mailbox (the row the
    poll task claims; put back to ``idle`` by the task runner if that worker died)."""

    __tablename__ = "mail_collect_mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), unique=True
    )
    #: The unguessable part of the collection address; never changes.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Addresses (``jean@example.fr``) and domains (``@example.fr``), lower case.
    allowed_senders: Mapped[list[str]] = mapped_column(JSON, default=list)
    imap_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: IMAP settings (host, port, security, user, password, folder, move_to), encrypted.
    imap_secret: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="idle")
    last_poll_at: Mapped[datetime | None]
    last_poll_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailMessage(Base):
    """One e-mail received for a company (by SMTP or IMAP): its origin, its raw copy (kept
    under ``<DATA_DIR>/mail_collect/raw``) and the documents it gave.

    ``state`` is ``received`` while its attachments are being filed (a message found in this
    state again is finished, never filed twice), then ``done``."""

    __tablename__ = "mail_collect_messages"
    __table_args__ = (UniqueConstraint("company_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    #: The Message-ID without its angle brackets, or ``sha256:<raw digest>`` when absent.
    message_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(10))
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), default="received")
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def origin(self) -> dict[str, Any]:
        """Where a document of this message came from (recorded in its events)."""
        return {
            "origin": "email",
            "source": self.source,
            "sender": self.sender,
            "subject": self.subject,
            "date": self.sent_at.isoformat() if self.sent_at else None,
            "message_id": self.message_id,
            "mail_collect_message": self.id,
        }


class QuarantineItem(Base):
    """A message (``part_index`` None) or one of its attachments kept aside with the French
    reason: unknown sender, refused file, malformed message, nothing to file. An admin
    releases it (files it) or deletes it."""

    __tablename__ = "mail_collect_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("mail_collect_messages.id", ondelete="CASCADE"), index=True
    )
    #: Index of the attachment in the message's attachment list; None for the whole message.
    part_index: Mapped[int | None]
    filename: Mapped[str | None] = mapped_column(String(255))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
