"""Tables of the ``binder_purchases`` plugin: each company's chart of accounts and suppliers,
and the suppliers' templates (where each one prints the fields of its invoices)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.plugin_api import Base, utcnow


class Account(Base):
    """One account of a company's chart ("Plan comptable"), seeded from the PCG."""

    __tablename__ = "binder_purchases_accounts"
    __table_args__ = (UniqueConstraint("company_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    #: A deactivated account stays for history but cannot be chosen any more.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def account_class(self) -> str:
        """The PCG class: the first digit ("6" for 6063)."""
        return self.number[:1]


class Supplier(Base):
    """A supplier of a company, created when its first invoice is validated, with its memory
    (the account and VAT code of its last validated invoice)."""

    __tablename__ = "binder_purchases_suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    vat_number: Mapped[str | None] = mapped_column(String(20))
    iban: Mapped[str | None] = mapped_column(String(34))
    country: Mapped[str | None] = mapped_column(String(2))
    last_account: Mapped[str | None] = mapped_column(String(20))
    last_vat_code: Mapped[str | None] = mapped_column(String(20))
    last_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    last_invoice_number: Mapped[str | None] = mapped_column(String(100))
    invoice_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def as_match_dict(self) -> dict[str, object]:
        """The shape :func:`accounting.suppliers.match_supplier` compares against."""
        return {
            "id": self.id,
            "name": self.name,
            "siren": self.siren,
            "vat_number": self.vat_number,
            "iban": self.iban,
        }


class SupplierTemplate(Base):
    """A supplier's template ("modèle fournisseur", ``extraction.templates``): where its
    invoices print each header field, learned from its last validated invoice with a layout,
    and used to read its next ones. One per supplier; the firm is kept to scope the lookup."""

    __tablename__ = "binder_purchases_supplier_templates"
    __table_args__ = (UniqueConstraint("supplier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("binder_purchases_suppliers.id", ondelete="CASCADE")
    )
    #: The template dictionary (``learn_template``), JSON.
    template: Mapped[dict[str, Any]] = mapped_column(default=dict)
    learned_from_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    learned_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Invoices read with the template, and readings it refused (layout or totals differ).
    uses: Mapped[int] = mapped_column(default=0)
    rejections: Mapped[int] = mapped_column(default=0)


class SupplierMemory(Base):
    """One value Classeur remembers about a supplier, with where it comes from.

    ``field`` is "account", "vat_code" or "iban". ``status``:

    - ``learned``: proposed on the supplier's next invoices. Learned from a validated invoice
      once every connector accepted it (or set by hand by the accountant); one per field;
    - ``refused``: a connector refused it on one of the supplier's invoices and the accountant
      changed it; never proposed again for this supplier until an invoice with it is accepted;
    - ``proposed``: a new IBAN read on an accepted invoice that differs from the learned one;
      kept aside until the accountant confirms it (a changed IBAN is a classic fraud signal).
    """

    __tablename__ = "binder_purchases_supplier_memory"
    __table_args__ = (UniqueConstraint("supplier_id", "field", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("binder_purchases_suppliers.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    #: "validated" (an accepted invoice), "manual" (typed on the supplier's card), "connector"
    #: (a connector's refusal).
    origin: Mapped[str] = mapped_column(String(12))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The connector's message for a refusal.
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
