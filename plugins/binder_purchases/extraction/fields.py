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
    "payment_terms",
    "due_date_rule",
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
#: VAT regime of one VAT line (``vat_lines[i]["regime"]``).
LINE_REGIMES: tuple[str, ...] = ("standard", "reverse_charge", "intra_eu", "extra_eu", "exempt")
#: VAT regime of the invoice (``vat_regime``): the regime of every line, "mixed" when they differ.
VAT_REGIMES: tuple[str, ...] = (*LINE_REGIMES, "mixed")
#: UNCL 5305 VAT category of a VAT line -> its regime.
CATEGORY_REGIME: dict[str, str] = {
    "S": "standard",
    "Z": "standard",
    "AE": "reverse_charge",
    "K": "intra_eu",
    "G": "extra_eu",
    "E": "exempt",
    "O": "exempt",
    "L": "exempt",
    "M": "exempt",
}
VAT_CATEGORIES: tuple[str, ...] = tuple(CATEGORY_REGIME)
#: The category of a 0 % line of each regime (a line with VAT is "S").
REGIME_ZERO_CATEGORY: dict[str, str] = {
    "standard": "Z",
    "reverse_charge": "AE",
    "intra_eu": "K",
    "extra_eu": "G",
    "exempt": "E",
}

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
        # The payment terms as a rule in French ("45 jours fin de mois"), and the same rule
        # when the due date was computed from it (not printed on the invoice).
        "payment_terms": None,
        "due_date_rule": None,
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


def invoice_regime(lines: list[dict[str, Any]], default: str = "standard") -> str:
    """The invoice's VAT regime: the regime shared by every line, "mixed" when they differ,
    ``default`` when no line says its regime."""
    regimes = {line.get("regime") for line in lines} - {None}
    if not regimes:
        return default
    return regimes.pop() if len(regimes) == 1 else "mixed"


def settle_vat_lines(fields: dict[str, Any]) -> dict[str, Any]:
    """Give each VAT line without them a category and a regime (in place), then the invoice
    its regime from its lines (see :func:`invoice_regime`).

    A line with VAT is "S" (standard); a line at 0 % takes the invoice's regime when it is a
    line regime, with that regime's 0 % category (AE, K, G, E; "Z" when standard). Lines that
    have their category and regime keep them. Returns ``fields``.
    """
    lines = fields.get("vat_lines") or []
    current = fields.get("vat_regime")
    zero = current if current in LINE_REGIMES else "standard"
    for line in lines:
        if line.get("regime") in LINE_REGIMES and "category" in line:
            continue
        rate = to_decimal(line.get("rate"))
        regime = "standard" if rate else zero
        line["regime"] = regime
        line["category"] = "S" if rate else REGIME_ZERO_CATEGORY[regime]
    fields["vat_regime"] = invoice_regime(lines, current or "standard")
    return fields


_AMOUNTS = ("total_excl_tax", "total_tax", "total_incl_tax", "amount_due")
#: The amounts that tell a document's sign, in order.
_REFERENCES = ("total_incl_tax", "total_excl_tax", "total_tax")


def _negated(value: Any) -> Any:
    amount = to_decimal(value)
    return fmt_amount(-amount) if amount is not None and amount > 0 else value


def negate_amounts(fields: dict[str, Any]) -> dict[str, Any]:
    """Every amount of ``fields`` (totals, amount due, VAT lines' bases and amounts) with the
    other sign, in place. Returns ``fields``."""
    for key in _AMOUNTS:
        amount = to_decimal(fields.get(key))
        if amount is not None and amount != 0:
            fields[key] = fmt_amount(-amount)
    for line in fields.get("vat_lines") or []:
        for key in ("base", "amount"):
            amount = to_decimal(line.get(key))
            if amount is not None and amount != 0:
                line[key] = fmt_amount(-amount)
    return fields


def sign_credit_note(fields: dict[str, Any]) -> dict[str, Any]:
    """A credit note's amounts in negative: totals, amount due and VAT lines (in place).

    The totals turn negative together when the total with VAT (else without, else the VAT) is
    positive, so that HT + TVA = TTC still holds; each VAT line turns negative with its base
    (or its amount when it has no base). Amounts already negative are kept. An invoice is left
    as it is. Returns ``fields``.
    """
    if fields.get("document_kind") != "credit_note":
        return fields
    reference = next(
        (
            value
            for value in (to_decimal(fields.get(k)) for k in _REFERENCES)
            if value is not None and value != 0
        ),
        None,
    )
    if reference is not None and reference > 0:
        for key in _AMOUNTS:
            fields[key] = _negated(fields.get(key))
    ttc, due = to_decimal(fields.get("total_incl_tax")), to_decimal(fields.get("amount_due"))
    if ttc is not None and ttc < 0 and due is not None and due > 0:
        fields["amount_due"] = fmt_amount(-due)
    for line in fields.get("vat_lines") or []:
        base, amount = to_decimal(line.get("base")), to_decimal(line.get("amount"))
        sign = base if base is not None and base != 0 else amount
        if sign is not None and sign > 0:
            line["base"] = _negated(line.get("base"))
            line["amount"] = _negated(line.get("amount"))
    return fields
