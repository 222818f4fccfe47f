"""In-app notifications of a user (the header's count), also sent by e-mail at once or in the
daily digest, as the user chose."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class Notification(Base):
    """Something a user should hear of: documents in export error, documents waiting for
    review, a connector disconnected..."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        Index("ix_notifications_user_id_key", "user_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    #: ``export_error``, ``to_review``, ``connector_disconnected``, ``document_request``...
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    #: Identifies the thing notified about (``export_error:document:12``): one unread
    #: notification per key and user, refreshed instead of repeated.
    key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    #: When it went out by e-mail (immediately or in a digest); None: not (yet) sent.
    emailed_at: Mapped[datetime | None]


class NotificationDigest(Base):
    """The daily digest of one user for one day (the firm's time zone): inserted before the
    digest is built, so it is sent at most once per user and day whichever worker runs it."""

    __tablename__ = "notification_digests"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The digest's e-mail (``None``: nothing to tell that day, no mail).
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("outgoing_mails.id", ondelete="SET NULL")
    )
