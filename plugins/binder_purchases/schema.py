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
from plugins.binder_purchases.fields import DOCUMENT_KINDS, PROPOSAL_SOURCES, SOURCES

_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": 255}
_AMOUNT: dict[str, Any] = {
    "type": ["string", "number", "null"],
    "x-kind": "amount",
    "description": "Amount: a decimal string ('1234.56') or a number; '1 234,56' is accepted.",
}
_RATE: dict[str, Any] = {
    "type": ["string", "number", "null"],
    "x-kind": "percent",
    "description": "VAT rate in percent: '20', '5.5'.",
}
_DATE: dict[str, Any] = {
    "type": ["string", "null"],
    # Not "format": "date": the cleaning also accepts "12/03/2026", which the format refuses.
    "x-kind": "date",
    "description": "Date: YYYY-MM-DD once cleaned; '12/03/2026' is accepted.",
}

#: French labels of the enumerations, shown on the document page (``x-labels``, an annotation
#: that JSON Schema validation ignores).
SOURCE_LABELS = {
    "einvoice": "Facture électronique",
    "text": "Couche texte du PDF",
    "ocr": "Reconnaissance de caractères (OCR)",
    "mixed": "Couche texte et OCR",
    "manual": "Saisie manuelle",
}
DOCUMENT_KIND_LABELS = {"invoice": "Facture", "credit_note": "Avoir"}
PAYMENT_MODE_LABELS = {
    "transfer": "Virement",
    "direct_debit": "Prélèvement",
    "cheque": "Chèque",
    "card": "Carte bancaire",
    "cash": "Espèces",
    "other": "Autre",
}
REGIME_LABELS = {
    "standard": "Taux normal",
    "reverse_charge": "Autoliquidation",
    "intra_eu": "Intracommunautaire",
    "extra_eu": "Hors Union européenne",
    "exempt": "Exonéré",
    "mixed": "Mixte",
}
VAT_CATEGORY_LABELS = {
    "S": "Taux normal (S)",
    "Z": "Taux zéro (Z)",
    "AE": "Autoliquidation (AE)",
    "K": "Livraison intracommunautaire (K)",
    "G": "Exportation (G)",
    "E": "Exonéré (E)",
    "O": "Hors champ (O)",
    "L": "Canaries (L)",
    "M": "Ceuta et Melilla (M)",
}
PROPOSAL_SOURCE_LABELS = {
    "supplier": "Proposé d'après le fournisseur",
    "model": "Proposé par le modèle",
    "rules": "Proposé par les règles",
}
SUPPLIER_TITLES = {
    "name": "Raison sociale",
    "trade_name": "Nom commercial",
    "siren": "SIREN",
    "siret": "SIRET",
    "vat_number": "N° de TVA intracommunautaire",
    "iban": "IBAN",
    "country": "Pays",
}


def _choice(
    values: tuple[str, ...] | list[str], labels: dict[str, str], title: str, nullable: bool = True
) -> dict[str, Any]:
    return {
        "title": title,
        "enum": [*values, *([None] if nullable else [])],
        "x-labels": {v: labels[v] for v in values if v in labels},
    }


def _party(keys: tuple[str, ...], title: str) -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "title": title,
        "properties": {k: {**_TEXT, "title": SUPPLIER_TITLES.get(k, k)} for k in keys},
        "additionalProperties": False,
    }


def _titled(node: dict[str, Any], title: str) -> dict[str, Any]:
    return {**node, "title": title}


FIELDS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Purchase invoice fields",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source": _choice(SOURCES, SOURCE_LABELS, "Lu depuis"),
        "document_kind": _choice(DOCUMENT_KINDS, DOCUMENT_KIND_LABELS, "Type de document"),
        "supplier": _party(SUPPLIER_KEYS, "Fournisseur"),
        "buyer": _party(BUYER_KEYS, "Destinataire de la facture"),
        "invoice_number": {
            "type": ["string", "integer", "null"],
            "maxLength": 100,
            "title": "N° de facture",
        },
        "invoice_date": _titled(_DATE, "Date de facture"),
        "due_date": _titled(_DATE, "Date d'échéance"),
        "payment_terms": _titled(_TEXT, "Conditions de paiement"),
        "due_date_rule": _titled(_TEXT, "Échéance calculée selon"),
        "currency": {
            "type": ["string", "null"],
            "title": "Devise",
            "description": "ISO 4217 code (EUR, USD...).",
        },
        "total_excl_tax": _titled(_AMOUNT, "Total HT"),
        "total_tax": _titled(_AMOUNT, "Total TVA"),
        "total_incl_tax": _titled(_AMOUNT, "Total TTC"),
        "amount_due": _titled(_AMOUNT, "Net à payer"),
        "vat_lines": {
            "type": ["array", "null"],
            "title": "Lignes de TVA",
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "rate": _titled(_RATE, "Taux"),
                    "base": _titled(_AMOUNT, "Base HT"),
                    "amount": _titled(_AMOUNT, "Montant de TVA"),
                    "category": _choice(VAT_CATEGORIES, VAT_CATEGORY_LABELS, "Catégorie"),
                    "regime": _choice(LINE_REGIMES, REGIME_LABELS, "Régime"),
                },
            },
        },
        "payment_mode": _choice(PAYMENT_MODES, PAYMENT_MODE_LABELS, "Mode de règlement"),
        "vat_regime": _choice(VAT_REGIMES, REGIME_LABELS, "Régime de TVA"),
        "reading": {
            "type": ["object", "null"],
            "title": "Lecture",
            "x-hidden": True,
            "description": "How the fields were read: {'method': ...} and short scalar values.",
        },
        "confidence": {
            "type": ["object", "null"],
            "title": "Confiance",
            "x-hidden": True,
            "additionalProperties": {"type": ["number", "null"]},
            "description": "Confidence per field, between 0 and 1.",
        },
        "accounting": {
            "type": ["object", "null"],
            "title": "Imputation comptable",
            "properties": {
                "lines": {
                    "type": ["array", "null"],
                    "title": "Lignes d'imputation",
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "properties": {
                            "account": {
                                "type": ["string", "integer", "null"],
                                "title": "Compte",
                            },
                            "label": _titled(_TEXT, "Libellé"),
                            "vat_code": {
                                "type": ["string", "null"],
                                "title": "Code TVA",
                                "description": "A VAT code: " + ", ".join(sorted(VAT_CODES)),
                            },
                            "amount_excl_tax": _titled(_AMOUNT, "Montant HT"),
                            "vat_amount": _titled(_AMOUNT, "Montant de TVA"),
                        },
                    },
                },
                "proposal": {
                    "type": ["object", "null"],
                    "title": "Proposition",
                    "x-kind": "proposal",
                    "properties": {
                        "source": _choice(PROPOSAL_SOURCES, PROPOSAL_SOURCE_LABELS, "Origine"),
                    },
                },
                "supplier_id": {
                    "type": ["integer", "null"],
                    "title": "Fiche fournisseur",
                    "x-link": {"endpoint": "binder_purchases.supplier", "arg": "supplier_id"},
                },
            },
            "additionalProperties": False,
        },
    },
}
