"""Validation of purchases and suppliers, the way MEG's Achats module would refuse them."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren

#: VAT codes MEG knows (modelled on Pennylane's ``FR_200`` style).
VAT_CODES: dict[str, str] = {
    "FR_200": "TVA 20 %",
    "FR_100": "TVA 10 %",
    "FR_55": "TVA 5,5 %",
    "FR_21": "TVA 2,1 %",
    "FR_85": "TVA 8,5 % (DOM)",
    "FR_13": "TVA 13 % (Corse)",
    "FR_09": "TVA 0,9 % (Corse)",
    "FR_175": "TVA 1,75 % (DOM)",
    "FR_105": "TVA 1,05 % (DOM)",
    "FR_0": "Exonéré / non soumis",
    "AE": "Autoliquidation",
    "INTRA": "Acquisition intracommunautaire",
}
VAT_REGIMES = ("national", "reverse_charge", "intra_eu")
DOCUMENT_TYPES = ("invoice", "credit_note")
#: Classes of the general ledger accounts a purchase line may use (fixed assets, expenses).
ACCOUNT_CLASSES = ("2", "6")
PAYMENT_MODES = ("virement", "prelevement", "cheque", "carte", "especes", "lcr", "autre")
COUNTRIES = {"france": "France", "union_europeenne": "Union Européenne", "hors_ue": "hors UE"}
TOLERANCE = Decimal("0.01")
CENT = Decimal("0.01")


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "field"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


def invalid(code: str, message: str, field: str | None) -> ApiError:
    """Build a 422 validation error."""
    return ApiError(422, code, message, field)


@dataclasses.dataclass
class CleanLine:
    """A validated purchase line."""

    account: str
    label: str
    vat_code: str
    amount_excl_tax: Decimal
    vat_amount: Decimal


@dataclasses.dataclass
class CleanSupplier:
    """A validated supplier."""

    name: str
    siren: str | None
    vat_number: str | None
    country: str


@dataclasses.dataclass
class CleanPurchase:
    """A validated purchase, ready to store."""

    supplier: CleanSupplier
    invoice_number: str
    invoice_date: date
    due_date: date
    payment_mode: str | None
    currency: str
    lines: list[CleanLine]
    total_excl_tax: Decimal
    total_tax: Decimal
    total_incl_tax: Decimal
    vat_regime: str
    source_platform: str
    partner_id: str | None
    document_type: str = "invoice"


def _text(data: dict, key: str, field: str, *, required: bool, max_len: int = 255) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid("required", f"Le champ « {field} » est obligatoire.", field)
        return None
    if not isinstance(value, str | int):
        raise invalid("invalid_format", f"Le champ « {field} » doit être un texte.", field)
    value = str(value).strip()
    if len(value) > max_len:
        raise invalid(
            "invalid_format", f"Le champ « {field} » dépasse {max_len} caractères.", field
        )
    return value


def _amount(data: dict, key: str, field: str) -> Decimal:
    value = data.get(key)
    if value is None or value == "":
        raise invalid("required", f"Le montant « {field} » est obligatoire.", field)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("invalid_amount", f"Le montant « {field} » est invalide.", field)
    try:
        amount = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        raise invalid(
            "invalid_amount", f"Le montant « {field} » est invalide : {value!r}.", field
        ) from None
    if not amount.is_finite():
        raise invalid("invalid_amount", f"Le montant « {field} » est invalide.", field)
    return amount.quantize(CENT)


def _date(data: dict, key: str, field: str, *, missing_code: str = "required") -> date:
    value = data.get(key)
    if not value:
        labels = {"invoice_date": "La date de facture", "due_date": "La date d'échéance"}
        label = labels.get(key, f"Le champ « {field} »")
        raise invalid(missing_code, f"{label} est obligatoire.", field)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise invalid(
            "invalid_date",
            f"La date « {value} » du champ « {field} » n'est pas au format AAAA-MM-JJ.",
            field,
        ) from None


def clean_supplier(data: Any, prefix: str = "") -> CleanSupplier:
    """Validate a supplier object (``prefix`` is prepended to field names in errors)."""
    if not isinstance(data, dict):
        raise invalid("required", "Le fournisseur est obligatoire.", prefix.rstrip(".") or None)
    name = _text(data, "name", f"{prefix}name", required=True)
    siren = _text(data, "siren", f"{prefix}siren", required=False, max_len=20)
    if siren is not None:
        siren = fr_siren.compact(siren)
        if not fr_siren.is_valid(siren):
            raise invalid(
                "invalid_siren", f"Le SIREN « {data['siren']} » est invalide.", f"{prefix}siren"
            )
    vat_number = _text(data, "vat_number", f"{prefix}vat_number", required=False, max_len=20)
    if vat_number is not None:
        vat_number = eu_vat.compact(vat_number)
        if not eu_vat.is_valid(vat_number):
            raise invalid(
                "invalid_vat_number",
                f"Le numéro de TVA intracommunautaire « {data['vat_number']} » est invalide.",
                f"{prefix}vat_number",
            )
    country = data.get("country") or "france"
    if country not in COUNTRIES:
        raise invalid(
            "invalid_country",
            "La localisation du fournisseur doit être « france », « union_europeenne » "
            f"ou « hors_ue » (reçu : {country!r}).",
            f"{prefix}country",
        )
    return CleanSupplier(name=name or "", siren=siren, vat_number=vat_number, country=country)


def clean_purchase(data: Any, capabilities: dict[str, bool]) -> CleanPurchase:
    """Validate a purchase body against the contract and the dossier's capabilities.

    Raises ``ApiError`` (422) with a French message and the offending field.
    """
    if not isinstance(data, dict):
        raise invalid("invalid_format", "Le corps de l'achat doit être un objet JSON.", None)
    supplier = clean_supplier(data.get("supplier"), "supplier.")
    invoice_number = _text(data, "invoice_number", "invoice_number", required=True, max_len=64)
    invoice_date = _date(data, "invoice_date", "invoice_date")
    due_date = _date(data, "due_date", "due_date", missing_code="missing_due_date")

    payment_mode = data.get("payment_mode") or None
    if payment_mode is not None and payment_mode not in PAYMENT_MODES:
        raise invalid(
            "invalid_payment_mode",
            f"Mode de règlement inconnu : « {payment_mode} ». Valeurs admises : "
            + ", ".join(PAYMENT_MODES)
            + ".",
            "payment_mode",
        )
    currency = str(data.get("currency") or "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid("invalid_currency", f"Devise invalide : « {currency} ».", "currency")

    vat_regime = data.get("vat_regime") or "national"
    if vat_regime not in VAT_REGIMES:
        raise invalid(
            "invalid_vat_regime",
            f"Régime de TVA inconnu : « {vat_regime} ».",
            "vat_regime",
        )

    document_type = data.get("document_type") or "invoice"
    if document_type not in DOCUMENT_TYPES:
        raise invalid(
            "invalid_document_type",
            f"Type de document inconnu : « {document_type} ». Valeurs admises : invoice "
            "(facture), credit_note (avoir).",
            "document_type",
        )

    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise invalid("required", "L'achat doit comporter au moins une ligne.", "lines")
    lines: list[CleanLine] = []
    for index, raw in enumerate(raw_lines):
        where = f"lines[{index}]"
        if not isinstance(raw, dict):
            raise invalid("invalid_format", f"La ligne {index + 1} est invalide.", where)
        account = _text(raw, "account", f"{where}.account", required=True, max_len=16) or ""
        if not account.isdigit() or account[0] not in ACCOUNT_CLASSES:
            raise invalid(
                "invalid_account",
                f"Le compte « {account} » de la ligne {index + 1} n'est pas autorisé : seuls "
                "les comptes des classes 2 (immobilisations) et 6 (charges) sont acceptés.",
                f"{where}.account",
            )
        vat_code = _text(raw, "vat_code", f"{where}.vat_code", required=True, max_len=16) or ""
        if vat_code not in VAT_CODES:
            raise invalid(
                "unknown_vat_code",
                f"Le code TVA « {vat_code} » de la ligne {index + 1} est inconnu de MEG.",
                f"{where}.vat_code",
            )
        lines.append(
            CleanLine(
                account=account,
                label=_text(raw, "label", f"{where}.label", required=False) or "",
                vat_code=vat_code,
                amount_excl_tax=_amount(raw, "amount_excl_tax", f"{where}.amount_excl_tax"),
                vat_amount=_amount(raw, "vat_amount", f"{where}.vat_amount"),
            )
        )

    total_excl_tax = _amount(data, "total_excl_tax", "total_excl_tax")
    total_tax = _amount(data, "total_tax", "total_tax")
    total_incl_tax = _amount(data, "total_incl_tax", "total_incl_tax")
    lines_excl = sum((line.amount_excl_tax for line in lines), Decimal(0))
    lines_tax = sum((line.vat_amount for line in lines), Decimal(0))
    if abs(lines_excl - total_excl_tax) > TOLERANCE:
        raise invalid(
            "totals_mismatch",
            f"La somme des lignes HT ({lines_excl} €) ne correspond pas au total HT "
            f"({total_excl_tax} €).",
            "total_excl_tax",
        )
    if abs(lines_tax - total_tax) > TOLERANCE:
        raise invalid(
            "totals_mismatch",
            f"La somme de la TVA des lignes ({lines_tax} €) ne correspond pas au total de TVA "
            f"({total_tax} €).",
            "total_tax",
        )
    if abs(total_excl_tax + total_tax - total_incl_tax) > TOLERANCE:
        raise invalid(
            "totals_mismatch",
            f"Le total TTC ({total_incl_tax} €) n'est pas égal au total HT ({total_excl_tax} €) "
            f"plus la TVA ({total_tax} €).",
            "total_incl_tax",
        )

    if document_type == "credit_note":
        totals = {
            "total_excl_tax": ("HT", total_excl_tax),
            "total_tax": ("de TVA", total_tax),
            "total_incl_tax": ("TTC", total_incl_tax),
        }
        for key, (label, value) in totals.items():
            if value < 0:
                raise invalid(
                    "negative_credit_note",
                    f"Un avoir se transmet en montants positifs : son total {label} est de "
                    f"{value} €.",
                    key,
                )

    codes = {line.vat_code for line in lines}
    if (vat_regime == "reverse_charge" or "AE" in codes) and not capabilities.get("reverse_charge"):
        raise invalid(
            "reverse_charge_not_allowed",
            "Les achats autoliquidés ne sont pas acceptés pour ce dossier : activez la "
            "« Gestion de l'autoliquidation bâtiment » dans MEG, ou transmettez l'achat comme "
            "un achat classique puis cochez « Autoliquidation bâtiment » dans MEG.",
            "vat_regime" if vat_regime == "reverse_charge" else "lines",
        )
    if (vat_regime == "intra_eu" or "INTRA" in codes) and not capabilities.get("intra_eu"):
        raise invalid(
            "intra_eu_not_allowed",
            "Les achats intracommunautaires ne sont pas acceptés pour ce dossier : activez la "
            "« Gestion des achats intracommunautaires » dans MEG, ou transmettez l'achat comme "
            "un achat classique puis cochez « Achat intracommunautaire » dans MEG.",
            "vat_regime" if vat_regime == "intra_eu" else "lines",
        )

    source_platform = _text(data, "source_platform", "source_platform", required=True, max_len=64)
    partner_id = _text(data, "partner_id", "partner_id", required=False, max_len=128)
    return CleanPurchase(
        supplier=supplier,
        invoice_number=invoice_number or "",
        invoice_date=invoice_date,
        due_date=due_date,
        payment_mode=payment_mode,
        currency=currency,
        lines=lines,
        total_excl_tax=total_excl_tax,
        total_tax=total_tax,
        total_incl_tax=total_incl_tax,
        vat_regime=vat_regime,
        source_platform=source_platform or "",
        partner_id=partner_id,
        document_type=document_type,
    )
