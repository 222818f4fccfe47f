"""The purchase-invoice field dictionary: empty form, formatting helpers and known VAT rates."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

#: Top-level keys of the fields dictionary, in display order.
FIELD_KEYS: tuple[str, ...] = (
    "source",
    "document_kind",
    "supplier",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "amount_due",
    "vat_lines",
    "payment_mode",
    "vat_regime",
    "buyer",
    "reading",
    "confidence",
)

#: Keys of the nested ``supplier`` dictionary.
SUPPLIER_KEYS: tuple[str, ...] = (
    "name",
    "trade_name",
    "siren",
    "siret",
    "vat_number",
    "iban",
    "country",
)

#: Keys of the nested ``buyer`` dictionary (the company the invoice is addressed to).
BUYER_KEYS: tuple[str, ...] = ("name", "siren", "siret", "vat_number", "country")

#: French VAT rates by territory (percent).
FRENCH_RATES: dict[str, tuple[Decimal, ...]] = {
    "mainland": (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1")),
    "corsica": (Decimal("13"), Decimal("10"), Decimal("2.1"), Decimal("0.9")),
    "overseas": (Decimal("8.5"), Decimal("2.1"), Decimal("1.75"), Decimal("1.05")),
}

#: Every French rate (all territories) plus 0 %.
KNOWN_RATES: frozenset[Decimal] = frozenset(
    {r for rates in FRENCH_RATES.values() for r in rates} | {Decimal("0")}
)

PAYMENT_MODES: tuple[str, ...] = ("transfer", "direct_debit", "cheque", "card", "cash", "other")
VAT_REGIMES: tuple[str, ...] = ("standard", "reverse_charge", "intra_eu", "extra_eu", "exempt")

CENT = Decimal("0.01")


def empty_fields(source: str) -> dict[str, Any]:
    """Return a fields dictionary with every key present and unknown values set to None."""
    return {
        "source": source,
        "document_kind": "invoice",
        "supplier": dict.fromkeys(SUPPLIER_KEYS),
        "invoice_number": None,
        "invoice_date": None,
        "due_date": None,
        "currency": None,
        "total_excl_tax": None,
        "total_tax": None,
        "total_incl_tax": None,
        "amount_due": None,
        "vat_lines": [],
        "payment_mode": None,
        "vat_regime": "standard",
        "buyer": dict.fromkeys(BUYER_KEYS),
        # How the fields were read: {"method": "einvoice" | "layout" | "template", ...}.
        "reading": {"method": source},
        "confidence": {},
    }


def fmt_amount(value: Decimal | None) -> str | None:
    """Format a Decimal as a two-decimal string ("1234.50"), None stays None."""
    if value is None:
        return None
    try:
        return str(value.quantize(CENT, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


def fmt_date(value: date | None) -> str | None:
    """Format a date as ISO ``YYYY-MM-DD``, None stays None."""
    return value.isoformat() if value is not None else None


def to_decimal(value: Any) -> Decimal | None:
    """Convert a fields-dict amount (string, number or None) to Decimal, None when invalid."""
    if value is None:
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None
