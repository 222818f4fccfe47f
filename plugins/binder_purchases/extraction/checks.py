"""Consistency checks on extracted invoice fields; messages in French for the accountant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .fields import KNOWN_RATES, to_decimal
from .identifiers import EU_VAT_PREFIXES, valid_iban, valid_siren, valid_siret, valid_vat
from .terms import add_months

#: An invoice dated longer ago than this (months before its reception) is worth a look.
OLD_MONTHS = 18
#: Countries of the French VAT (mainland, Corsica, Monaco, overseas departments).
FRENCH_COUNTRIES = frozenset({"FR", "MC", "GP", "MQ", "GF", "RE", "YT"})
#: How each special line regime is named in the mixed-regime warning.
REGIME_LABELS: dict[str, str] = {
    "reverse_charge": "autoliquidation (catégorie AE)",
    "intra_eu": "acquisition intracommunautaire (catégorie K)",
    "extra_eu": "importation ou exportation hors UE (catégorie G)",
    "exempt": "exonérée ou hors champ",
    "standard": "régime normal",
}

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


def _iso(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _fr_number(value: Decimal) -> str:
    """19 -> "19", 5.50 -> "5,5" (the French way, without trailing zeros)."""
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def _fr_amount(value: Decimal) -> str:
    """1234.5 -> "1 234,50"."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


def french_supplier(fields: dict[str, Any]) -> bool:
    """Whether the supplier is French: a French VAT number, a SIREN or SIRET, a French country,
    or nothing at all that says where it is (a French firm's suppliers mostly are French)."""
    supplier = fields.get("supplier") or {}
    vat = str(supplier.get("vat_number") or "").upper()
    country = str(supplier.get("country") or "").upper()
    if vat.startswith("FR") or supplier.get("siren") or supplier.get("siret"):
        return True
    if country:
        return country in FRENCH_COUNTRIES
    return not vat


def _line_label(line: dict[str, Any]) -> str:
    rate, base = to_decimal(line.get("rate")), to_decimal(line.get("base"))
    label = f"à {_fr_number(rate)} %" if rate is not None else "sans taux"
    if base is not None:
        label += f" (base {_fr_amount(base)})"
    return label


def check_invoice(
    fields: dict[str, Any],
    *,
    required: Iterable[str] = frozenset(),
    known_rates: Iterable[Decimal | str] | None = None,
    today: date | None = None,
) -> list[Check]:
    """Check extracted fields; return the findings (empty list when all is well).

    Errors (they block validation):

    - ``missing_field``: a field of ``required`` (``supplier.x`` for nested ones) is empty;
    - ``totals_mismatch``: HT + TVA ≠ TTC, or the VAT lines do not add up to the VAT total;
    - ``unknown_vat_rate``: a line's rate is not a French rate (``known_rates``, by default
      every French rate and 0 %), for a French supplier only (see :func:`french_supplier`):
      a German supplier's 19 % is not flagged.

    Warnings (for the accountant to look at):

    - ``future_date``: the invoice date is after ``today`` (the day the document was received;
      None: today);
    - ``old_date``: the invoice date is more than 18 months before ``today``;
    - ``due_before_invoice``: the due date precedes the invoice date (credit notes and prepaid
      invoices may have it);
    - ``bad_identifier``: a SIREN, SIRET, IBAN or EU VAT number fails its check digits;
    - ``credit_note``: the document is a credit note;
    - ``reverse_charge``: the VAT is reverse charged (category AE);
    - ``intra_eu``: an intra-EU acquisition (category K, or an EU supplier outside France
      that charges no VAT);
    - ``foreign_vat``: an EU supplier outside France charging its own country's VAT (not
      deductible in France);
    - ``mixed_vat_regime``: the VAT lines have different regimes; the message names the lines
      that are not standard (reverse charge, intra-EU...).
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
    french = french_supplier(fields)
    for line in lines:
        rate = to_decimal(line.get("rate"))
        if french and rate is not None and rate not in rates:
            out.append(
                Check(
                    "unknown_vat_rate",
                    "error",
                    "Taux de TVA inconnu en France pour un fournisseur français : "
                    f"{_fr_number(rate)} %.",
                    "vat_lines",
                )
            )

    today = today or date.today()
    inv, due = _iso(fields.get("invoice_date")), _iso(fields.get("due_date"))
    if inv is not None and inv > today:
        out.append(
            Check(
                "future_date",
                "warning",
                f"La date de facture ({_fr_date(inv)}) est postérieure à la date de réception "
                f"du document ({_fr_date(today)}) : vérifiez-la.",
                "invoice_date",
            )
        )
    elif inv is not None and inv < add_months(today, -OLD_MONTHS):
        out.append(
            Check(
                "old_date",
                "warning",
                f"La facture date de plus de {OLD_MONTHS} mois ({_fr_date(inv)}) : "
                "vérifiez la date et l'exercice comptable.",
                "invoice_date",
            )
        )
    if inv is not None and due is not None and due < inv:
        out.append(
            Check(
                "due_before_invoice",
                "warning",
                f"L'échéance ({_fr_date(due)}) précède la date de facture ({_fr_date(inv)}) : "
                "normal pour un avoir ou une facture déjà payée, à vérifier sinon.",
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
    if regime == "mixed":
        special = [
            f"ligne {_line_label(line)} : {REGIME_LABELS[line['regime']]}"
            for line in lines
            if line.get("regime") in REGIME_LABELS and line.get("regime") != "standard"
        ]
        detail = " ; ".join(special) if special else "régimes différents selon les lignes"
        out.append(
            Check(
                "mixed_vat_regime",
                "warning",
                f"Facture à plusieurs régimes de TVA — {detail} ; les autres lignes au régime "
                "normal. Vérifiez l'imputation de chaque ligne.",
                "vat_lines",
            )
        )
    vat = str(_get(fields, "supplier.vat_number") or "").upper()
    foreign_eu = len(vat) > 2 and vat[:2] in EU_VAT_PREFIXES and vat[:2] != "FR"
    # An EU supplier that charges VAT charges its own country's (a sale taxed where it is
    # made): no French VAT to self-assess, and that foreign VAT is not deductible here.
    charged = to_decimal(fields.get("total_tax")) or Decimal(0)
    if foreign_eu and regime in (None, "", "standard") and charged != 0:
        out.append(
            Check(
                "foreign_vat",
                "warning",
                f"Fournisseur établi dans un autre État membre ({vat[:2]}) qui facture sa propre "
                "TVA : elle n'est pas déductible en France (remboursement à demander à cet État, "
                "directive 2008/9/CE).",
                "supplier.vat_number",
            )
        )
    elif regime == "intra_eu" or (
        foreign_eu and regime not in ("reverse_charge", "extra_eu", "mixed")
    ):
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
