"""Users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.tenancy.models import Firm, Membership


class User(UserMixin, Base):
    """A person who logs in; belongs to firms through memberships."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: The language of the user's pages and e-mails (a Flask-Babel locale: "fr", "en").
    locale: Mapped[str] = mapped_column(String(10), default="fr")
    #: Runs the platform above the firms (creates, lists and disables firms); not a firm role.
    is_operator: Mapped[bool] = mapped_column(default=False)
    #: When an invitation was sent and not yet accepted (no password chosen yet).
    invited_at: Mapped[datetime | None]
    #: Set at every password change: a reset or invitation link signed before it is void.
    password_changed_at: Mapped[datetime | None]
    #: ``{kind: "immediate" | "daily" | "off"}`` per notification kind (missing: the default).
    notification_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active


class ApiToken(Base):
    """A bearer token for the API, stored as its SHA-256 only; the clear value is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The firm the token acts in, and only that one (None: an operator outside the firms).
    firm_id: Mapped[int | None] = mapped_column(
        ForeignKey("firms.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, to recognise it in a list without revealing it.
    prefix: Mapped[str] = mapped_column(String(12))
    #: Space-separated scopes: read, write, admin.
    scopes: Mapped[str] = mapped_column(String(100), default="read write")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    firm: Mapped[Firm | None] = relationship()


class AuditEvent(Base):
    """The firm's audit log: logins, failed logins, settings, connector switches, exports."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(
        ForeignKey("firms.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
