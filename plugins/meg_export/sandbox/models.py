"""Tables of the MEG sandbox.

The sandbox is a test double of MEG, not part of Classeur: it owns its own database and creates
its tables with ``metadata.create_all`` (no alembic migration). Columns added since a sandbox
database was first created are added at start by ``add_missing_columns`` (``create_all`` never
alters an existing table), each with a server default so that existing rows stay valid.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(14, 2, asdecimal=True)


class Base(DeclarativeBase):
    """Declarative base of the sandbox's own database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A MEG user who logs in on the sandbox's login page."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255), default="")

    def get_user_id(self) -> int:
        """Return the id authlib stores on codes and tokens."""
        return self.id


class Dossier(Base):
    """A MEG accounting dossier (one client company of the firm)."""

    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    licence: Mapped[str] = mapped_column(String(16), default="premium")
    reverse_charge: Mapped[bool] = mapped_column(default=False)
    intra_eu: Mapped[bool] = mapped_column(default=False)
    last_purchase_import_at: Mapped[datetime | None]
    last_purchase_import_platform: Mapped[str | None] = mapped_column(String(64))

    def to_dict(self) -> dict:
        """Serialize as the ``Dossier`` schema of the contract."""
        return {
            "code": self.code,
            "name": self.name,
            "modules": list(self.modules or []),
            "licence": self.licence,
            "capabilities": {"reverse_charge": self.reverse_charge, "intra_eu": self.intra_eu},
        }


class DossierAccess(Base):
    """Which user may access which dossier."""

    __tablename__ = "dossier_access"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)


class Supplier(Base):
    """A supplier in a dossier's contact base."""

    __tablename__ = "supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    siren: Mapped[str | None] = mapped_column(String(9))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(32), default="france")

    def to_dict(self) -> dict:
        """Serialize as the ``Supplier`` schema of the contract."""
        return {
            "id": self.id,
            "name": self.name,
            "siren": self.siren,
            "vat_number": self.vat_number,
            "country": self.country,
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class Purchase(Base):
    """A purchase (supplier invoice) in MEG's Achats module."""

    __tablename__ = "purchase"
    __table_args__ = (UniqueConstraint("dossier_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    invoice_number: Mapped[str] = mapped_column(String(64))
    invoice_date: Mapped[date]
    due_date: Mapped[date | None]
    payment_mode: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_excl_tax: Mapped[Decimal] = mapped_column(MONEY)
    total_tax: Mapped[Decimal] = mapped_column(MONEY)
    total_incl_tax: Mapped[Decimal] = mapped_column(MONEY)
    vat_regime: Mapped[str] = mapped_column(String(32), default="national")
    #: ``invoice`` or ``credit_note`` ("Avoir"); a credit note's amounts are positive.
    document_type: Mapped[str] = mapped_column(
        String(16), default="invoice", server_default="invoice"
    )
    source_platform: Mapped[str] = mapped_column(String(64), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    pdf_filename: Mapped[str | None] = mapped_column(String(255))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    supplier: Mapped[Supplier] = relationship(lazy="joined")
    lines: Mapped[list[PurchaseLine]] = relationship(
        order_by="PurchaseLine.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payment: Mapped[Payment | None] = relationship(
        back_populates="purchase", cascade="all, delete-orphan", lazy="joined"
    )

    def to_dict(self) -> dict:
        """Serialize as the ``Purchase`` schema of the contract (without the PDF bytes)."""
        return {
            "id": self.id,
            "document_type": self.document_type,
            "supplier": self.supplier.to_dict(),
            "invoice_number": self.invoice_number,
            "invoice_date": self.invoice_date.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "payment_mode": self.payment_mode,
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "total_excl_tax": _money(self.total_excl_tax),
            "total_tax": _money(self.total_tax),
            "total_incl_tax": _money(self.total_incl_tax),
            "vat_regime": self.vat_regime,
            "source_platform": self.source_platform,
            "partner_id": self.partner_id,
            "file": ({"filename": self.pdf_filename, "size": len(self.pdf)} if self.pdf else None),
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "payment": self.payment.to_dict() if self.payment else None,
        }


class PurchaseLine(Base):
    """One accounting line of a purchase."""

    __tablename__ = "purchase_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id"), index=True)
    position: Mapped[int]
    account: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    vat_code: Mapped[str] = mapped_column(String(16))
    amount_excl_tax: Mapped[Decimal] = mapped_column(MONEY)
    vat_amount: Mapped[Decimal] = mapped_column(MONEY)

    def to_dict(self) -> dict:
        """Serialize as the ``PurchaseLine`` schema of the contract."""
        return {
            "account": self.account,
            "label": self.label,
            "vat_code": self.vat_code,
            "amount_excl_tax": _money(self.amount_excl_tax),
            "vat_amount": _money(self.vat_amount),
        }


class Payment(Base):
    """A supplier payment ("règlement"), created pending from the purchase's due date."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id"), unique=True)
    due_date: Mapped[date | None]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(16), default="en_attente")
    #: ``reglement`` (the dossier pays the supplier) or ``remboursement`` (the supplier owes
    #: the dossier the amount of a credit note).
    kind: Mapped[str] = mapped_column(String(16), default="reglement", server_default="reglement")
    #: The day the payment was made (``paye``); None while pending.
    paid_at: Mapped[date | None]

    purchase: Mapped[Purchase] = relationship(back_populates="payment")

    def to_dict(self) -> dict:
        """Serialize as the ``Payment`` schema of the contract."""
        return {
            "id": self.id,
            "purchase_id": self.purchase_id,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "amount": _money(self.amount),
            "status": self.status,
            "kind": self.kind,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
        }


def add_missing_columns(engine: Engine) -> list[str]:
    """Add to existing tables the model columns they lack (``ALTER TABLE ... ADD COLUMN`` with
    the column's server default); return them as ``table.column``. Only columns with a server
    default or nullable ones can be added this way, which is how new columns are declared."""
    from sqlalchemy import inspect, text
    from sqlalchemy.schema import CreateColumn

    added = []
    inspector = inspect(engine)
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                spec = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {spec}"))
                added.append(f"{table.name}.{column.name}")
    return added


class OAuthClient(Base, ClientMixin):
    """An OAuth2 client (Classeur). Redirect URIs are allowed by prefix, see the config."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    client_secret: Mapped[str] = mapped_column(String(120))
    client_name: Mapped[str] = mapped_column(String(120), default="Classeur")
    redirect_uri_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="")

    def get_client_id(self) -> str:
        """Return the public client id."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """There is no default: the client must send its ``redirect_uri``."""
        return None

    def get_allowed_scope(self, scope: str) -> str:
        """Keep only the requested scopes this client may use."""
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Accept any redirect URI that starts with one of the configured prefixes.

        Prefixes such as ``http://127.0.0.1`` are matched at an authority boundary, so
        ``http://127.0.0.1.evil.example`` is refused while any port and path are allowed.
        """
        for prefix in self.redirect_uri_prefixes or []:
            if redirect_uri == prefix:
                return True
            if redirect_uri.startswith(prefix):
                rest = redirect_uri[len(prefix) :]
                if prefix.endswith("/") or rest[:1] in (":", "/", "?"):
                    return True
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare the secret in constant time."""
        import hmac

        return hmac.compare_digest(self.client_secret, client_secret or "")

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Classeur is a confidential client: HTTP basic or form-posted secret."""
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        """Only the authorization code flow is offered."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Authorization code and refresh token grants."""
        return grant_type in ("authorization_code", "refresh_token")


class OAuthAuthorizationCode(Base, AuthorizationCodeMixin):
    """A short-lived authorization code, with its PKCE challenge."""

    __tablename__ = "oauth_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    client_id: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    redirect_uri: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    dossier_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    code_challenge: Mapped[str | None] = mapped_column(Text)
    code_challenge_method: Mapped[str | None] = mapped_column(String(48))
    auth_time: Mapped[int] = mapped_column(Integer, default=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        """Return the redirect URI the code was issued for."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """Return the granted scope."""
        return self.scope

    def is_expired(self) -> bool:
        """Codes live five minutes."""
        return self.auth_time + 300 < time.time()


class OAuthToken(Base, TokenMixin):
    """An access token with its refresh token, limited to the dossiers the user consented to."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_type: Mapped[str] = mapped_column(String(40), default="Bearer")
    access_token: Mapped[str] = mapped_column(String(255), unique=True)
    refresh_token: Mapped[str | None] = mapped_column(String(255), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    dossier_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[int] = mapped_column(Integer, default=lambda: int(time.time()))
    expires_in: Mapped[int] = mapped_column(Integer, default=3600)
    access_token_revoked_at: Mapped[int] = mapped_column(Integer, default=0)
    refresh_token_revoked_at: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship(lazy="joined")

    def check_client(self, client: ClientMixin) -> bool:
        """True when the token belongs to ``client``."""
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        """Return the granted scope."""
        return self.scope

    def get_expires_in(self) -> int:
        """Return the lifetime in seconds."""
        return self.expires_in

    def is_expired(self) -> bool:
        """True once the access token's lifetime has passed."""
        return self.issued_at + self.expires_in <= time.time()

    def is_revoked(self) -> bool:
        """True once the access token (or its refresh token) has been revoked."""
        return bool(self.access_token_revoked_at or self.refresh_token_revoked_at)

    def get_user(self) -> User:
        """Return the resource owner."""
        return self.user
