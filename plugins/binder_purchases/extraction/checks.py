"""Consistency checks on extracted invoice fields; messages in French for the accountant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .fields import KNOWN_RATES, to_decimal
from .identifiers import EU_VAT_PREFIXES, valid_iban, valid_siren, valid_siret, valid_vat

FIELD_LABELS: dict[str, str] = {
    "invoice_number": "numéro de facture",
    "invoice_date": "date de facture",
    "due_date": "date d'échéance",
    "currency": "devise",
    "total_excl_tax": "total HT",
    "total_tax": "total TVA",
    "total_incl_tax": "total TTC",
    "supplier.name": "nom du fournisseur",
    "supplier.siren": "SIREN du fournisseur",
    "supplier.siret": "SIRET du fournisseur",
    "supplier.vat_number": "numéro de TVA du fournisseur",
    "supplier.iban": "IBAN du fournisseur",
    "payment_mode": "mode de paiement",
}


@dataclass(frozen=True)
class Check:
    """One finding: ``level`` "error" blocks validation, "warning" does not."""

    code: str
    level: str
    message: str
    field: str | None = None


def _get(fields: dict[str, Any], name: str) -> Any:
    if name.startswith("supplier."):
        return (fields.get("supplier") or {}).get(name.split(".", 1)[1])
    return fields.get(name)


def check_invoice(
    fields: dict[str, Any],
    *,
    required: Iterable[str] = frozenset(),
    known_rates: Iterable[Decimal | str] | None = None,
) -> list[Check]:
    """Check extracted fields; return the findings (empty list when all is well).

    Codes: totals_mismatch, unknown_vat_rate, due_before_invoice, missing_field (errors);
    credit_note, reverse_charge, intra_eu, bad_identifier (warnings). ``required`` names fields
    (``supplier.x`` for nested ones) that must be present; ``known_rates`` defaults to every
    French rate.
    """
    out: list[Check] = []
    rates = {Decimal(str(r)) for r in known_rates} if known_rates is not None else set(KNOWN_RATES)
    for name in sorted(required):
        value = _get(fields, name)
        if value in (None, "", []):
            label = FIELD_LABELS.get(name, name)
            out.append(
                Check("missing_field", "error", f"Champ obligatoire manquant : {label}.", name)
            )

    ht, tva, ttc = (
        to_decimal(fields.get(k)) for k in ("total_excl_tax", "total_tax", "total_incl_tax")
    )
    if (
        ht is not None
        and tva is not None
        and ttc is not None
        and abs(ht + tva - ttc) > Decimal("0.01")
    ):
        out.append(
            Check(
                "totals_mismatch",
                "error",
                f"Les totaux ne concordent pas : HT {ht} + TVA {tva} ≠ TTC {ttc}.",
                "total_incl_tax",
            )
        )
    lines = fields.get("vat_lines") or []
    if lines and tva is not None:
        line_sum = sum((to_decimal(x.get("amount")) or Decimal(0) for x in lines), Decimal(0))
        if abs(line_sum - tva) > Decimal("0.01") * max(1, len(lines)):
            out.append(
                Check(
                    "totals_mismatch",
                    "error",
                    f"La somme des lignes de TVA ({line_sum}) ne correspond pas "
                    f"au total TVA ({tva}).",
                    "vat_lines",
                )
            )
    for line in lines:
        rate = to_decimal(line.get("rate"))
        if rate is not None and rate not in rates:
            out.append(
                Check(
                    "unknown_vat_rate",
                    "error",
                    f"Taux de TVA inconnu en France : {rate} %.",
                    "vat_lines",
                )
            )

    inv, due = fields.get("invoice_date"), fields.get("due_date")
    if isinstance(inv, str) and isinstance(due, str) and due < inv:
        out.append(
            Check(
                "due_before_invoice",
                "error",
                f"L'échéance ({due}) précède la date de facture ({inv}).",
                "due_date",
            )
        )

    supplier = fields.get("supplier") or {}
    for key, validator, label in (
        ("siren", valid_siren, "Le SIREN"),
        ("siret", valid_siret, "Le SIRET"),
        ("iban", valid_iban, "L'IBAN"),
    ):
        value = supplier.get(key)
        if isinstance(value, str) and value and not validator(value):
            out.append(
                Check(
                    "bad_identifier",
                    "warning",
                    f"{label} du fournisseur ({value}) a une clé de contrôle invalide : "
                    "vérifiez-le sur la facture.",
                    f"supplier.{key}",
                )
            )
    vat = supplier.get("vat_number")
    if isinstance(vat, str) and vat[:2] in EU_VAT_PREFIXES and not valid_vat(vat):
        out.append(
            Check(
                "bad_identifier",
                "warning",
                f"Le numéro de TVA du fournisseur ({vat}) a une clé de contrôle invalide : "
                "vérifiez-le sur la facture.",
                "supplier.vat_number",
            )
        )

    if fields.get("document_kind") == "credit_note":
        out.append(
            Check(
                "credit_note",
                "warning",
                "Ce document est un avoir : il sera comptabilisé en négatif.",
                "document_kind",
            )
        )
    regime = fields.get("vat_regime")
    if regime == "reverse_charge":
        out.append(
            Check(
                "reverse_charge",
                "warning",
                "TVA due par le preneur (autoliquidation, art. 283-2 du CGI, catégorie AE) : "
                "la TVA doit être autoliquidée.",
                "vat_regime",
            )
        )
    vat = str(_get(fields, "supplier.vat_number") or "").upper()
    foreign_eu = len(vat) > 2 and vat[:2] in EU_VAT_PREFIXES and vat[:2] != "FR"
    if regime == "intra_eu" or (foreign_eu and regime not in ("reverse_charge", "extra_eu")):
        out.append(
            Check(
                "intra_eu",
                "warning",
                "Acquisition intracommunautaire (art. 262 ter I du CGI, catégorie K) : "
                "la TVA est à autoliquider.",
                "supplier.vat_number",
            )
        )
    return out
