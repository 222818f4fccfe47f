"""Firms (tenants), companies (client dossiers), memberships and roles."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Enum, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

if TYPE_CHECKING:
    from core.auth.models import User


class Role(enum.StrEnum):
    """What a member may do in a firm."""

    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    UPLOADER = "uploader"


class Firm(Base):
    """An accounting firm: the tenant. Nothing crosses from one firm to another."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A disabled firm's members cannot log in nor use the API; nothing of it is deleted.
    active: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None]

    companies: Mapped[list[Company]] = relationship(back_populates="firm")


class Company(Base):
    """A client company of the firm: one accounting dossier."""

    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("firm_id", "dossier_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dossier_code: Mapped[str] = mapped_column(String(40))
    siren: Mapped[str | None] = mapped_column(String(9))
    #: Company-level settings owned by the core and plugins (accounting elements, software...).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    firm: Mapped[Firm] = relationship(back_populates="companies")


membership_companies = Table(
    "membership_companies",
    Base.metadata,
    Column("membership_id", ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
)


class Membership(Base):
    """A user's role in a firm; an uploader only sees the companies it is given."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "firm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    firm: Mapped[Firm] = relationship()
    companies: Mapped[list[Company]] = relationship(secondary=membership_companies)
