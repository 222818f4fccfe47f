"""The JSON Schema of a purchase invoice's fields (binder type ``purchase_invoices``).

The core checks every change against it before :func:`validate_fields` cleans the values, and
serves it in the API documentation (``Fields_purchase_invoices``) and at
``GET /api/v1/binder-types``. It states the shape; the cleaning accepts values typed the
French way, so amounts, rates and dates are strings or numbers ("1 234,56", 1234.56) and dates
strings ("12/03/2026", "2026-03-12").
"""

from __future__ import annotations

from typing import Any

from plugins.binder_purchases.accounting.vat import VAT_CODES
from plugins.binder_purchases.extraction.fields import (
    BUYER_KEYS,
    LINE_REGIMES,
    PAYMENT_MODES,
    SUPPLIER_KEYS,
    VAT_CATEGORIES,
    VAT_REGIMES,
)
from plugins.binder_purchases.fields import DOCUMENT_KINDS, SOURCES

_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": 255}
_AMOUNT: dict[str, Any] = {
    "type": ["string", "number", "null"],
    "description": "Amount: a decimal string ('1234.56') or a number; '1 234,56' is accepted.",
}
_DATE: dict[str, Any] = {
    "type": ["string", "null"],
    "description": "Date: YYYY-MM-DD once cleaned; '12/03/2026' is accepted.",
}


def _choice(values: tuple[str, ...] | list[str], nullable: bool = True) -> dict[str, Any]:
    return {"enum": [*values, *([None] if nullable else [])]}


def _party(keys: tuple[str, ...], title: str) -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "title": title,
        "properties": dict.fromkeys(keys, _TEXT),
        "additionalProperties": False,
    }


FIELDS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Purchase invoice fields",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source": _choice(SOURCES),
        "document_kind": _choice(DOCUMENT_KINDS),
        "supplier": _party(SUPPLIER_KEYS, "The supplier (seller)"),
        "buyer": _party(BUYER_KEYS, "The company the invoice is addressed to"),
        "invoice_number": {"type": ["string", "integer", "null"], "maxLength": 100},
        "invoice_date": _DATE,
        "due_date": _DATE,
        "payment_terms": _TEXT,
        "due_date_rule": _TEXT,
        "currency": {"type": ["string", "null"], "description": "ISO 4217 code (EUR, USD...)."},
        "total_excl_tax": _AMOUNT,
        "total_tax": _AMOUNT,
        "total_incl_tax": _AMOUNT,
        "amount_due": _AMOUNT,
        "vat_lines": {
            "type": ["array", "null"],
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "rate": _AMOUNT,
                    "base": _AMOUNT,
                    "amount": _AMOUNT,
                    "category": _choice(VAT_CATEGORIES),
                    "regime": _choice(LINE_REGIMES),
                },
            },
        },
        "payment_mode": _choice(PAYMENT_MODES),
        "vat_regime": _choice(VAT_REGIMES),
        "reading": {
            "type": ["object", "null"],
            "description": "How the fields were read: {'method': ...} and short scalar values.",
        },
        "confidence": {
            "type": ["object", "null"],
            "additionalProperties": {"type": ["number", "null"]},
            "description": "Confidence per field, between 0 and 1.",
        },
        "accounting": {
            "type": ["object", "null"],
            "properties": {
                "lines": {
                    "type": ["array", "null"],
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "properties": {
                            "account": {"type": ["string", "integer", "null"]},
                            "label": _TEXT,
                            "vat_code": {
                                "type": ["string", "null"],
                                "description": "A VAT code: " + ", ".join(sorted(VAT_CODES)),
                            },
                            "amount_excl_tax": _AMOUNT,
                            "vat_amount": _AMOUNT,
                        },
                    },
                },
                "proposal": {"type": ["object", "null"]},
                "supplier_id": {"type": ["integer", "null"]},
            },
            "additionalProperties": False,
        },
    },
}
