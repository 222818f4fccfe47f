"""Validation of a purchase invoice's fields JSON (binder type ``purchase_invoices``).

The fields are the extraction library's dictionary (``extraction/fields.py``) plus an
``accounting`` object set by the review. Values typed the French way on the review form
("1 234,56", "12/03/2026", "5,5") are normalised: amounts become two-decimal strings, dates
``YYYY-MM-DD``. A bad value raises :class:`core.binders.registry.FieldsError` naming the field.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from core.plugin_api import FieldsError
from plugins.binder_purchases.accounting.vat import VAT_CODES
from plugins.binder_purchases.extraction.fields import (
    BUYER_KEYS,
    CATEGORY_REGIME,
    FIELD_KEYS,
    LINE_REGIMES,
    PAYMENT_MODES,
    SUPPLIER_KEYS,
    VAT_CATEGORIES,
    VAT_REGIMES,
    fmt_amount,
)
from plugins.binder_purchases.extraction.numbers import parse_amount, parse_date

AMOUNT_KEYS = ("total_excl_tax", "total_tax", "total_incl_tax", "amount_due")
DATE_KEYS = ("invoice_date", "due_date")
DOCUMENT_KINDS = ("invoice", "credit_note")
SOURCES = ("einvoice", "text", "ocr", "mixed", "manual")
PROPOSAL_SOURCES = ("supplier", "model", "rules")
#: Every top-level key the binder type accepts (the extraction's, among them ``payment_terms``
#: and ``due_date_rule``, and the review's ``accounting``).
ALLOWED_KEYS = frozenset(FIELD_KEYS) | {"accounting"}
#: Free-text top-level keys: the payment terms' rule and the rule a due date was computed by.
TERMS_KEYS = ("payment_terms", "due_date_rule")

_LABELS = {
    "total_excl_tax": "total HT",
    "total_tax": "total TVA",
    "total_incl_tax": "total TTC",
    "amount_due": "net à payer",
    "invoice_date": "date de facture",
    "due_date": "date d'échéance",
}
_ACCOUNT = re.compile(r"[0-9][0-9A-Z]{0,19}")
_MAX_LINES = 50


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_amount(value: Any, field: str, label: str | None = None) -> str | None:
    """A two-decimal string ("1234.56") from a number or a printed amount; None when blank."""
    if _blank(value):
        return None
    amount: Decimal | None
    if isinstance(value, bool):
        amount = None
    elif isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = None
    elif isinstance(value, str):
        text = value.strip()
        amount = parse_amount(text)
        if amount is None:
            try:  # a plain machine value with more decimals ("12.345")
                amount = Decimal(text) if re.fullmatch(r"-?\d+\.\d+", text) else None
            except InvalidOperation:
                amount = None
    else:
        amount = None
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal("1e13"):
        raise FieldsError(f"Montant invalide pour le {label or field} : « {value} ».", field)
    return fmt_amount(amount)


def clean_rate(value: Any, field: str) -> str | None:
    """A VAT rate in percent as a two-decimal string ("5.50"); None when blank."""
    if isinstance(value, str):
        value = value.replace("%", "").strip()
    rate = clean_amount(value, field, "taux de TVA")
    if rate is not None and not Decimal(0) <= Decimal(rate) <= Decimal(100):
        raise FieldsError(f"Taux de TVA invalide : « {value} ».", field)
    return rate


def clean_date(value: Any, field: str) -> str | None:
    """An ISO date ``YYYY-MM-DD`` from "12/03/2026", "2026-03-12", "12 mars 2026"..."""
    if _blank(value):
        return None
    parsed = parse_date(value.strip()) if isinstance(value, str) else None
    if parsed is None:
        label = _LABELS.get(field, field)
        raise FieldsError(f"Date invalide pour la {label} : « {value} » (jj/mm/aaaa).", field)
    return parsed.isoformat()


def _clean_text(value: Any, field: str, max_length: int = 200) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str | int):
        raise FieldsError(f"Texte attendu pour « {field} ».", field)
    text = " ".join(str(value).split())
    if len(text) > max_length:
        raise FieldsError(f"Valeur trop longue pour « {field} » ({max_length} caractères).", field)
    return text


def _clean_choice(value: Any, field: str, choices: tuple[str, ...], nullable: bool) -> Any:
    if _blank(value):
        if nullable:
            return None
        raise FieldsError(f"Valeur obligatoire pour « {field} ».", field)
    if value not in choices:
        raise FieldsError(f"Valeur inconnue pour « {field} » : « {value} ».", field)
    return value


def _compact(value: Any) -> str:
    return re.sub(r"[\s.\-]", "", str(value)).upper()


#: Identifier formats of a party (``supplier`` / ``buyer``): key, pattern, French message.
_IDENTIFIER_FORMATS: tuple[tuple[str, str, str], ...] = (
    ("siren", r"\d{9}", "Le SIREN doit compter 9 chiffres"),
    ("siret", r"\d{14}", "Le SIRET doit compter 14 chiffres"),
    ("vat_number", r"[A-Z]{2}[0-9A-Z+*]{2,18}", "Numéro de TVA invalide"),
    ("iban", r"[A-Z]{2}\d{2}[0-9A-Z]{8,30}", "IBAN invalide"),
    ("country", r"[A-Z]{2}", "Le pays est un code à 2 lettres (FR, DE...)"),
)
_PARTY_LABELS = {"supplier": "Le fournisseur", "buyer": "Le client"}
_NAME_KEYS = ("name", "trade_name")


def _clean_party(value: Any, prefix: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A party object (``supplier`` or ``buyer``) of ``keys``: names as text, identifiers
    compacted and checked against their format. Unknown keys are refused."""
    if _blank(value):
        value = {}
    if not isinstance(value, dict):
        raise FieldsError(f"{_PARTY_LABELS[prefix]} doit être un objet.", prefix)
    unknown = set(value) - set(keys)
    if unknown:
        name = sorted(unknown)[0]
        raise FieldsError(f"Champ inconnu : {prefix}.{name}.", f"{prefix}.{name}")
    out: dict[str, Any] = dict.fromkeys(keys)
    for key in _NAME_KEYS:
        if key in out:
            out[key] = _clean_text(value.get(key), f"{prefix}.{key}")
    for key, pattern, message in _IDENTIFIER_FORMATS:
        raw = value.get(key)
        if key not in out or _blank(raw):
            continue
        compact = _compact(raw)
        if not re.fullmatch(pattern, compact):
            raise FieldsError(f"{message} : « {raw} ».", f"{prefix}.{key}")
        out[key] = compact
    return out


def clean_supplier(value: Any) -> dict[str, Any]:
    """The ``supplier`` object: legal and trade names, identifiers compacted (SIREN of 9
    digits, SIRET of 14, VAT number, IBAN), country of 2 letters."""
    return _clean_party(value, "supplier", SUPPLIER_KEYS)


def clean_buyer(value: Any) -> dict[str, Any]:
    """The ``buyer`` object (the company invoiced): name, SIREN, SIRET, VAT number, country."""
    return _clean_party(value, "buyer", BUYER_KEYS)


#: A key of ``reading`` and the value of its ``method``: a lower-case word.
_READING_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")
_MAX_READING_KEYS = 20


def clean_reading(value: Any, source: str) -> dict[str, Any]:
    """How the fields were read: ``{"method": ..., ...}`` with short scalar values.

    ``method`` is a lower-case word ("einvoice", "layout", "template"...); the other keys
    (``syntax``, ``profile``, ``template``, ``score``...) hold a string, number, boolean or
    None. Blank gives ``{"method": source}``.
    """
    if _blank(value):
        return {"method": source}
    if not isinstance(value, dict) or len(value) > _MAX_READING_KEYS:
        raise FieldsError("La méthode de lecture doit être un objet.", "reading")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _READING_WORD.fullmatch(key):
            raise FieldsError(f"Champ inconnu : reading.{key}.", "reading")
        if item is None or isinstance(item, bool | int):
            out[key] = item
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise FieldsError(f"Valeur invalide pour « reading.{key} ».", "reading")
            out[key] = item
        elif isinstance(item, str) and 0 < len(" ".join(item.split())) <= 300:
            out[key] = " ".join(item.split())
        else:
            raise FieldsError(f"Valeur invalide pour « reading.{key} ».", "reading")
    method = out.get("method") or source
    if not isinstance(method, str) or not _READING_WORD.fullmatch(method):
        raise FieldsError(f"Méthode de lecture inconnue : « {method} ».", "reading")
    out["method"] = method
    return out


def _clean_vat_category(value: Any, field: str) -> str | None:
    """A UNCL 5305 VAT category (S, Z, E, AE, K, G, O, L, M); None when blank."""
    if _blank(value):
        return None
    code = value.strip().upper() if isinstance(value, str) else value
    if code not in VAT_CATEGORIES:
        raise FieldsError(
            f"Catégorie de TVA inconnue : « {value} » (S, Z, E, AE, K, G, O, L ou M).", field
        )
    return str(code)


def clean_vat_lines(value: Any) -> list[dict[str, Any]]:
    """VAT lines ``[{rate, base, amount, category, regime}]`` with normalised amounts.

    ``category`` is a UNCL 5305 code or None (unknown); ``regime`` one of
    :data:`LINE_REGIMES`, by default the one the category gives, else None (not said: the
    invoice's ``vat_regime`` applies).
    """
    if _blank(value):
        return []
    if not isinstance(value, list) or len(value) > _MAX_LINES:
        raise FieldsError("Les lignes de TVA doivent être une liste.", "vat_lines")
    out = []
    for index, line in enumerate(value):
        where = f"vat_lines[{index}]"
        if not isinstance(line, dict):
            raise FieldsError("Ligne de TVA invalide.", where)
        category = _clean_vat_category(line.get("category"), f"{where}.category")
        regime = line.get("regime")
        if _blank(regime):
            regime = CATEGORY_REGIME.get(category or "")
        elif regime not in LINE_REGIMES:
            raise FieldsError(
                f"Régime de TVA inconnu pour une ligne de TVA : « {regime} ».", f"{where}.regime"
            )
        out.append(
            {
                "rate": clean_rate(line.get("rate"), f"{where}.rate"),
                "base": clean_amount(line.get("base"), f"{where}.base", "montant HT"),
                "amount": clean_amount(line.get("amount"), f"{where}.amount", "montant de TVA"),
                "category": category,
                "regime": regime,
            }
        )
    return out


def clean_confidence(value: Any) -> dict[str, float]:
    """Confidence per field, each between 0 and 1."""
    if _blank(value):
        return {}
    if not isinstance(value, dict):
        raise FieldsError("Les indices de confiance doivent être un objet.", "confidence")
    out = {}
    for key, score in value.items():
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise FieldsError(f"Indice de confiance invalide pour « {key} ».", "confidence")
        out[str(key)] = float(score)
    return out


def clean_account_number(value: Any, field: str) -> str | None:
    """An account number ("6063"), spaces removed; None when blank."""
    if _blank(value):
        return None
    number = re.sub(r"\s", "", str(value)).upper()
    if not _ACCOUNT.fullmatch(number):
        raise FieldsError(f"Numéro de compte invalide : « {value} ».", field)
    return number


def clean_vat_code(value: Any, field: str) -> str | None:
    """A VAT code of :data:`VAT_CODES` ("FR_200"); None when blank."""
    if _blank(value):
        return None
    code = str(value).strip().upper()
    if code not in VAT_CODES:
        raise FieldsError(f"Code de TVA inconnu : « {value} ».", field)
    return code


def _clean_id(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FieldsError("Identifiant invalide.", field)
    return value


def clean_accounting(value: Any) -> dict[str, Any]:
    """The review's ``accounting`` object: lines, proposal and the recognised supplier."""
    if _blank(value):
        value = {}
    if not isinstance(value, dict):
        raise FieldsError("L'imputation comptable doit être un objet.", "accounting")
    unknown = set(value) - {"lines", "proposal", "supplier_id"}
    if unknown:
        name = sorted(unknown)[0]
        raise FieldsError(f"Champ inconnu : accounting.{name}.", f"accounting.{name}")
    raw_lines = value.get("lines") or []
    if not isinstance(raw_lines, list) or len(raw_lines) > _MAX_LINES:
        raise FieldsError("Les lignes d'imputation doivent être une liste.", "accounting.lines")
    lines = []
    for index, line in enumerate(raw_lines):
        where = f"accounting.lines[{index}]"
        if not isinstance(line, dict):
            raise FieldsError("Ligne d'imputation invalide.", where)
        lines.append(
            {
                "account": clean_account_number(line.get("account"), f"{where}.account"),
                "label": _clean_text(line.get("label"), f"{where}.label", 255),
                "vat_code": clean_vat_code(line.get("vat_code"), f"{where}.vat_code"),
                "amount_excl_tax": clean_amount(
                    line.get("amount_excl_tax"), f"{where}.amount_excl_tax", "montant HT"
                ),
                "vat_amount": clean_amount(
                    line.get("vat_amount"), f"{where}.vat_amount", "montant de TVA"
                ),
            }
        )
    proposal = value.get("proposal")
    if not _blank(proposal):
        if not isinstance(proposal, dict):
            raise FieldsError("Proposition invalide.", "accounting.proposal")
        confidence = proposal.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, int | float | None):
            raise FieldsError("Confiance de la proposition invalide.", "accounting.proposal")
        proposal = {
            "account": clean_account_number(proposal.get("account"), "accounting.proposal"),
            "vat_code": clean_vat_code(proposal.get("vat_code"), "accounting.proposal"),
            "reason": _clean_text(proposal.get("reason"), "accounting.proposal", 255),
            "confidence": float(confidence) if confidence is not None else None,
            "source": _clean_choice(
                proposal.get("source"), "accounting.proposal", PROPOSAL_SOURCES, True
            ),
            # The invoice a supplier's memory learned the proposal from.
            "document_id": _clean_id(proposal.get("document_id"), "accounting.proposal"),
        }
    else:
        proposal = None
    supplier_id = value.get("supplier_id")
    if supplier_id is not None and (
        isinstance(supplier_id, bool) or not isinstance(supplier_id, int)
    ):
        raise FieldsError("Identifiant de fournisseur invalide.", "accounting.supplier_id")
    return {"lines": lines, "proposal": proposal, "supplier_id": supplier_id}


def validate_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Clean a purchase invoice's fields; raise ``FieldsError(message_fr, field)`` on bad input.

    Every key of the extraction dictionary is present in the result; unknown keys are refused.
    """
    if not isinstance(fields, dict):
        raise FieldsError("Les champs doivent être un objet JSON.")
    unknown = set(fields) - ALLOWED_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise FieldsError(f"Champ inconnu : {name}.", name)
    out: dict[str, Any] = {}
    out["source"] = _clean_choice(fields.get("source") or "manual", "source", SOURCES, False)
    out["document_kind"] = _clean_choice(
        fields.get("document_kind") or "invoice", "document_kind", DOCUMENT_KINDS, False
    )
    out["supplier"] = clean_supplier(fields.get("supplier"))
    out["buyer"] = clean_buyer(fields.get("buyer"))
    out["invoice_number"] = _clean_text(fields.get("invoice_number"), "invoice_number", 100)
    for key in DATE_KEYS:
        out[key] = clean_date(fields.get(key), key)
    for key in TERMS_KEYS:
        out[key] = _clean_text(fields.get(key), key, 200)
    currency = fields.get("currency")
    if _blank(currency):
        out["currency"] = None
    elif isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
        out["currency"] = currency.strip().upper()
    else:
        raise FieldsError(f"Devise invalide : « {currency} » (EUR, USD...).", "currency")
    for key in AMOUNT_KEYS:
        out[key] = clean_amount(fields.get(key), key, _LABELS[key])
    out["vat_lines"] = clean_vat_lines(fields.get("vat_lines"))
    out["payment_mode"] = _clean_choice(
        fields.get("payment_mode"), "payment_mode", PAYMENT_MODES, True
    )
    out["vat_regime"] = _clean_choice(
        fields.get("vat_regime") or "standard", "vat_regime", VAT_REGIMES, False
    )
    out["reading"] = clean_reading(fields.get("reading"), out["source"])
    out["confidence"] = clean_confidence(fields.get("confidence"))
    if "accounting" in fields:
        out["accounting"] = clean_accounting(fields.get("accounting"))
    return out


def sanitize_extracted(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate extracted fields, dropping (to None) each value the validation refuses.

    Extraction must never fail a readable document: a value the reader got wrong becomes
    empty with confidence 0, for the accountant to type.
    """
    current = dict(fields)
    for _ in range(40):
        try:
            return validate_fields(current)
        except FieldsError as exc:
            field = exc.field or ""
            if not _drop(current, field):
                break
    return validate_fields({"source": fields.get("source") or "manual"})


def _drop(fields: dict[str, Any], field: str) -> bool:
    top = field.split(".", 1)[0].split("[", 1)[0]
    if top not in fields:
        return False
    if top in ("supplier", "buyer") and "." in field and isinstance(fields.get(top), dict):
        party, key = dict(fields[top]), field.split(".", 1)[1]
        if key in (SUPPLIER_KEYS if top == "supplier" else BUYER_KEYS):
            party[key] = None
        else:  # an unknown key: removed, else it is refused again
            party.pop(key, None)
        fields[top] = party
    elif top in ("vat_lines",):
        fields[top] = []
    elif top == "accounting":
        fields.pop("accounting")
    elif top in ("source", "document_kind", "vat_regime", "reading"):
        fields.pop(top)
    else:
        fields[top] = None
    confidence = fields.get("confidence")
    if isinstance(confidence, dict):
        fields["confidence"] = {**confidence, field: 0.0}
    return True
