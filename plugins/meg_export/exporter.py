"""The MEG exporter: a validated purchase invoice of Classeur becomes a purchase in MEG Achats.

The core hands it only documents of ``purchase_invoices`` binders; it maps the fields of the
``binder_purchases`` plugin to the MEG contract (``plugins/meg_export/openapi.yaml``), attaches
the original as a PDF, sends it with the core's idempotency key, and turns MEG's answers into
an ``ExportResult`` or an ``ExportError`` carrying MEG's French message.
"""

from __future__ import annotations

import io
import logging
import random
import re
import threading
import time
import unicodedata
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.plugin_api import ExportContext, ExportError, ExportResult
from plugins.meg_export.client import MegApiError, MegClient
from plugins.meg_export.ratelimit import RateGate, RedisRateGate, make_gate
from plugins.meg_export.tokens import ProcessLocks, TokenMissing, TokenStore

log = logging.getLogger("classeur.plugins.meg_export")

NAME = "meg_export"
SOURCE_PLATFORM = "Classeur"
CENT = Decimal("0.01")

NOT_LINKED_MESSAGE = (
    "Entreprise non liée à un dossier MEG : dans « Entreprise », « Comptabilité », onglet "
    "« MEG », cliquez sur « Lier un compte à ce dossier comptable »."
)
RATE_LIMITED_MESSAGE = "MEG limite le nombre d'envois : l'achat partira dans quelques secondes."
#: 429s waited out inside one export before handing the retry to the core.
INLINE_RETRIES = 3
LINK_EXPIRED_MESSAGE = "Liaison MEG expirée : reliez l'entreprise à nouveau (onglet MEG)"
REVERSE_CHARGE_WARNING = (
    "Achat autoliquidé : dans MEG, cochez « Autoliquidation bâtiment » en éditant l'achat "
    "(liste des achats) ; l'option « Gestion de l'autoliquidation bâtiment » doit être activée "
    "sur le dossier. MEG calculera alors un TTC égal au HT."
)
INTRA_EU_WARNING = (
    "Achat intracommunautaire : dans MEG, cochez « Achat intracommunautaire » en éditant "
    "l'achat (liste des achats) ; l'option « Gestion des achats intracommunautaires » doit "
    "être activée sur le dossier et le fournisseur localisé « Union Européenne »."
)

#: Classeur payment modes (binder_purchases) → MEG's.
PAYMENT_MODES: dict[str, str] = {
    "transfer": "virement",
    "direct_debit": "prelevement",
    "cheque": "cheque",
    "card": "carte",
    "cash": "especes",
    "other": "autre",
}

#: Ordinary French VAT rates → MEG VAT codes (Pennylane-style).
VAT_CODES_BY_RATE: dict[Decimal, str] = {
    Decimal("20"): "FR_200",
    Decimal("10"): "FR_100",
    Decimal("5.5"): "FR_55",
    Decimal("2.1"): "FR_21",
    Decimal("8.5"): "FR_85",
    Decimal("13"): "FR_13",
    Decimal("0.9"): "FR_09",
    Decimal("1.75"): "FR_175",
    Decimal("1.05"): "FR_105",
    Decimal("0"): "FR_0",
}
RATES_BY_VAT_CODE = {code: rate for rate, code in VAT_CODES_BY_RATE.items()}
#: Classeur's spellings of codes MEG spells otherwise (binder_purchases says FR_130).
VAT_CODE_ALIASES = {"FR_130": "FR_13"}
RATES_BY_VAT_CODE["FR_130"] = Decimal("13")
SPECIAL_CODES = {"reverse_charge": "AE", "intra_eu": "INTRA"}

#: VAT number prefixes of the EU member states (Greece is EL; XI is Northern Ireland's goods).
EU_VAT_PREFIXES = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "EL",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "XI",
}


# --- field mapping --------------------------------------------------------------------------


def _decimal(value: Any, field: str) -> Decimal:
    if value is None or value == "":
        raise ExportError(
            f"Le montant « {field} » est absent : complétez la facture puis renvoyez-la.",
            code="missing_amount",
            field=field,
        )
    try:
        amount = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        raise ExportError(
            f"Le montant « {field} » est invalide : {value!r}.",
            code="invalid_amount",
            field=field,
        ) from None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _optional_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        return None


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


def supplier_country(supplier: dict[str, Any]) -> str:
    """MEG's supplier location from the VAT number prefix (else the country code)."""
    vat = "".join(str(supplier.get("vat_number") or "").split()).upper()
    prefix = vat[:2] if len(vat) > 2 and vat[:2].isalpha() else ""
    if not prefix:
        prefix = str(supplier.get("country") or "FR").strip().upper()[:2]
    if prefix == "FR":
        return "france"
    if prefix in EU_VAT_PREFIXES:
        return "union_europeenne"
    return "hors_ue"


def vat_code_for_rate(rate: Decimal | None, field: str) -> str:
    """The ordinary MEG VAT code of a French rate; clear error for an unknown rate."""
    if rate is None:
        raise ExportError(
            "Taux de TVA absent : renseignez le taux ou le code TVA de chaque ligne.",
            code="missing_vat_rate",
            field=field,
        )
    code = VAT_CODES_BY_RATE.get(rate.normalize() if rate else Decimal("0"))
    if code is None:
        raise ExportError(
            f"Le taux de TVA {rate} % n'a pas de code TVA MEG : choisissez le code TVA de la "
            "ligne dans l'imputation comptable.",
            code="unknown_vat_rate",
            field=field,
        )
    return code


REGIME_BY_CODE = {code: regime for regime, code in SPECIAL_CODES.items()}
#: UNCL 5305 VAT categories of a ``vat_lines`` entry read without its regime.
REGIME_BY_CATEGORY = {"AE": "reverse_charge", "K": "intra_eu"}
REGIME_WARNINGS = {"reverse_charge": REVERSE_CHARGE_WARNING, "intra_eu": INTRA_EU_WARNING}
#: Self-assessed VAT rate of a reverse-charge or intra-EU line whose rate is unknown (or 0).
DEFAULT_SELF_ASSESSED_RATE = Decimal("20")


def _line_regime(vat: dict[str, Any]) -> str:
    """The regime of a ``vat_lines`` entry: its ``regime``, else its UNCL 5305 category."""
    regime = str(vat.get("regime") or "").strip()
    if regime:
        return regime if regime in SPECIAL_CODES else "standard"
    category = str(vat.get("category") or "").strip().upper()
    return REGIME_BY_CATEGORY.get(category, "standard")


def _special_rate(vat_lines: list[Any], regime: str) -> Decimal | None:
    """The rate the invoice gives its lines of ``regime``, when it gives exactly one."""
    rates = {
        _optional_decimal(v.get("rate"))
        for v in vat_lines
        if isinstance(v, dict) and _line_regime(v) == regime
    }
    rates.discard(None)
    rates.discard(Decimal("0"))
    return rates.pop() if len(rates) == 1 else None


def _base_lines(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Accounting lines: the review's ``accounting.lines``, else one line per VAT line.

    Each line carries its ``regime``: ``reverse_charge`` for a line coded ``AE`` (or, without
    accounting lines, a VAT line of that regime or category ``AE``), ``intra_eu`` for ``INTRA``
    (category ``K``), else ``standard``. A document read before VAT regimes were kept per line
    (no line of a special regime, ``vat_regime`` reverse_charge or intra_eu) has that regime on
    every line.
    """
    accounting = fields.get("accounting") or {}
    vat_lines = [v for v in fields.get("vat_lines") or [] if isinstance(v, dict)]
    single_rate = None
    rates = {_optional_decimal(v.get("rate")) for v in vat_lines}
    rates.discard(None)
    if len(rates) == 1:
        single_rate = rates.pop()
    supplier = (fields.get("supplier") or {}).get("name") or ""
    default_label = " ".join(p for p in (supplier, fields.get("invoice_number") or "") if p)
    lines: list[dict[str, Any]] = []
    if accounting.get("lines"):
        for index, raw in enumerate(accounting["lines"]):
            where = f"accounting.lines[{index}]"
            code = str(raw.get("vat_code") or "").strip().upper()
            regime = REGIME_BY_CODE.get(code, "standard")
            if regime in SPECIAL_CODES:
                rate = _special_rate(vat_lines, regime) or single_rate
            else:
                rate = RATES_BY_VAT_CODE.get(code, single_rate)
            code = VAT_CODE_ALIASES.get(code, code)
            if not code:
                code = vat_code_for_rate(rate, f"{where}.vat_code")
            if not str(raw.get("account") or "").strip():
                raise ExportError(
                    f"Compte comptable absent sur la ligne {index + 1} : complétez "
                    "l'imputation comptable.",
                    code="missing_account",
                    field=f"{where}.account",
                )
            lines.append(
                {
                    "account": str(raw["account"]).strip(),
                    "label": str(raw.get("label") or default_label)[:255],
                    "vat_code": code,
                    "amount_excl_tax": _decimal(
                        raw.get("amount_excl_tax"), f"{where}.amount_excl_tax"
                    ),
                    "vat_amount": _decimal(raw.get("vat_amount") or "0", f"{where}.vat_amount"),
                    "rate": rate,
                    "regime": regime,
                    "where": where,
                }
            )
        return _document_regime(fields, lines)
    # Fallback: one account for the whole invoice (``accounting.account``, or the account the
    # review proposed in ``accounting.proposal``).
    proposal = accounting.get("proposal") or {}
    account = str(accounting.get("account") or proposal.get("account") or "").strip()
    if not account:
        raise ExportError(
            "Aucun compte comptable n'est imputé à cette facture : renseignez le compte de "
            "charge (classe 6) ou d'immobilisation (classe 2) puis renvoyez-la.",
            code="missing_account",
            field="accounting.account",
        )
    if vat_lines:
        for index, vat in enumerate(vat_lines):
            where = f"vat_lines[{index}]"
            rate = _optional_decimal(vat.get("rate"))
            regime = _line_regime(vat)
            lines.append(
                {
                    "account": account,
                    "label": default_label,
                    # A special line's rate may be unknown: its code is settled by the regime.
                    "vat_code": SPECIAL_CODES[regime]
                    if regime in SPECIAL_CODES
                    else vat_code_for_rate(rate, f"{where}.rate"),
                    "amount_excl_tax": _decimal(vat.get("base"), f"{where}.base"),
                    "vat_amount": _decimal(vat.get("amount") or "0", f"{where}.amount"),
                    "rate": rate,
                    "regime": regime,
                    "where": where,
                }
            )
        return _document_regime(fields, lines)
    # No VAT breakdown: one line with the totals (a 0 tax means an exempt purchase).
    excl = _decimal(fields.get("total_excl_tax"), "total_excl_tax")
    tax = _decimal(fields.get("total_tax") or "0", "total_tax")
    rate = Decimal("0") if tax == 0 else None
    if rate is None and excl:
        guess = (tax * 100 / excl).quantize(Decimal("0.1"))
        rate = next((r for r in VAT_CODES_BY_RATE if abs(r - guess) <= Decimal("0.1")), None)
    regime = str(fields.get("vat_regime") or "standard")
    special = regime in SPECIAL_CODES
    return [
        {
            "account": account,
            "label": default_label,
            "vat_code": SPECIAL_CODES[regime] if special else vat_code_for_rate(rate, "vat_lines"),
            "amount_excl_tax": excl,
            "vat_amount": tax,
            "rate": rate,
            "regime": regime if special else "standard",
            "where": "vat_lines",
        }
    ]


def _document_regime(fields: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A document whose lines carry no special regime takes its ``vat_regime`` on every line
    (documents read before per-line regimes); ``mixed`` and the others leave the lines alone."""
    regime = str(fields.get("vat_regime") or "standard")
    if regime in SPECIAL_CODES and all(line["regime"] == "standard" for line in lines):
        for line in lines:
            line["regime"] = regime
    return lines


def _credit_note_sign(fields: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Refuse a credit note whose amounts do not all share one sign (zero is neutral)."""
    amounts: list[tuple[str, Decimal]] = []
    for key in ("total_excl_tax", "total_tax", "total_incl_tax"):
        value = _optional_decimal(fields.get(key))
        if value is not None:
            amounts.append((key, value))
    for line in lines:
        amounts.append((f"{line['where']}.amount_excl_tax", line["amount_excl_tax"]))
        amounts.append((f"{line['where']}.vat_amount", line["vat_amount"]))
    negative = [(k, v) for k, v in amounts if v < 0]
    positive = [(k, v) for k, v in amounts if v > 0]
    if negative and positive:
        # The odd ones out: the minority sign is most likely the mistake.
        odd = positive if len(positive) <= len(negative) else negative
        shown = ", ".join(f"{k} = {_money(v)}" for k, v in odd[:3])
        raise ExportError(
            "Cet avoir mélange des montants négatifs et positifs "
            f"({shown}) : tous ses montants doivent être du même signe (un avoir est "
            "transmis à MEG en montants positifs). Corrigez les signes puis renvoyez-le.",
            code="credit_note_mixed_signs",
            field=odd[0][0],
        )


def build_purchase(
    document: Any, capabilities: dict[str, bool]
) -> tuple[dict[str, Any], list[str]]:
    """Map a purchase invoice's fields to a MEG ``PurchaseInput``; return it with warnings.

    Reverse-charge and intra-EU lines (code ``AE`` / ``INTRA``) follow the seed's procedure
    (§4.2) one by one. When the MEG dossier cannot take their regime, such a line is sent as a
    classic line — the ordinary code of its rate and its self-assessed VAT (20 % when the rate
    is unknown), TTC = HT + VAT — and the purchase carries the warning telling the accountant
    what to tick in MEG (once per regime). When it can, the line keeps ``AE`` / ``INTRA`` with
    no VAT, and a purchase whose lines all share that regime is sent with it as
    ``vat_regime``. Standard lines are left as they are; the totals are recomputed from the
    lines only when a line was changed.

    A credit note (``document_kind`` ``credit_note``, read with negative amounts) is sent with
    ``document_type: credit_note`` and the absolute values of its amounts.

    Raises ``ExportError`` for what the accountant must complete.
    """
    fields: dict[str, Any] = dict(document.fields or {})
    supplier = dict(fields.get("supplier") or {})
    if not supplier.get("name"):
        raise ExportError(
            "Le nom du fournisseur est absent : complétez la facture puis renvoyez-la.",
            code="missing_supplier",
            field="supplier.name",
        )
    lines = _base_lines(fields)
    credit_note = fields.get("document_kind") == "credit_note"
    if credit_note:
        _credit_note_sign(fields, lines)
    warnings: list[str] = []
    changed = False
    for line in lines:
        regime = line["regime"]
        if regime not in SPECIAL_CODES:
            continue
        before = (line["vat_code"], line["vat_amount"])
        if capabilities.get(regime):
            line["vat_code"] = SPECIAL_CODES[regime]
            line["vat_amount"] = Decimal("0.00")
        else:
            # Seed §4.2: a classic line, TTC = HT + the (self-assessed) VAT. A 0 % rate on a
            # reverse-charge or intra-EU line is the supplier's, not the French self-assessed
            # one: the default applies.
            rate = line["rate"] or DEFAULT_SELF_ASSESSED_RATE
            if line["vat_code"] in SPECIAL_CODES.values() or line["vat_code"] == "FR_0":
                line["vat_code"] = vat_code_for_rate(rate, f"{line['where']}.vat_code")
            if not line["vat_amount"]:
                line["vat_amount"] = (line["amount_excl_tax"] * rate / 100).quantize(
                    CENT, rounding=ROUND_HALF_UP
                )
            if REGIME_WARNINGS[regime] not in warnings:
                warnings.append(REGIME_WARNINGS[regime])
        changed = changed or (line["vat_code"], line["vat_amount"]) != before
    regimes = {line["regime"] for line in lines}
    meg_regime = "national"
    if len(regimes) == 1:
        only = regimes.pop()
        if only in SPECIAL_CODES and capabilities.get(only):
            meg_regime = only
    lines_excl = sum((line["amount_excl_tax"] for line in lines), Decimal("0"))
    lines_tax = sum((line["vat_amount"] for line in lines), Decimal("0"))
    if changed:
        total_excl, total_tax = lines_excl, lines_tax
        total_incl = total_excl + total_tax
    else:
        # The invoice's own totals: MEG checks them against the lines and explains a mismatch.
        total_excl = _decimal(fields.get("total_excl_tax", lines_excl), "total_excl_tax")
        total_tax = _decimal(fields.get("total_tax", lines_tax), "total_tax")
        total_incl = _decimal(
            fields.get("total_incl_tax", total_excl + total_tax), "total_incl_tax"
        )

    def amount(value: Decimal) -> str:
        # A credit note reaches MEG in positive amounts (its signs were checked above).
        return _money(abs(value) if credit_note else value)

    payment_mode = fields.get("payment_mode")
    purchase = {
        "document_type": "credit_note" if credit_note else "invoice",
        "supplier": {
            "name": str(supplier["name"]),
            "siren": supplier.get("siren") or None,
            "vat_number": supplier.get("vat_number") or None,
            "country": supplier_country(supplier),
        },
        "invoice_number": fields.get("invoice_number"),
        "invoice_date": fields.get("invoice_date"),
        "due_date": fields.get("due_date"),
        "payment_mode": PAYMENT_MODES.get(payment_mode, "autre") if payment_mode else None,
        "currency": str(fields.get("currency") or "EUR").upper(),
        "lines": [
            {
                "account": line["account"],
                "label": line["label"],
                "vat_code": line["vat_code"],
                "amount_excl_tax": amount(line["amount_excl_tax"]),
                "vat_amount": amount(line["vat_amount"]),
            }
            for line in lines
        ],
        "total_excl_tax": amount(total_excl),
        "total_tax": amount(total_tax),
        "total_incl_tax": amount(total_incl),
        "vat_regime": meg_regime,
        "source_platform": SOURCE_PLATFORM,
        "partner_id": str(document.id),
    }
    return purchase, warnings


# --- the supplier MEG matched -----------------------------------------------------------------

#: Legal forms dropped before comparing supplier names.
LEGAL_FORMS = {
    "sa",
    "sas",
    "sasu",
    "sarl",
    "eurl",
    "snc",
    "sci",
    "scp",
    "scop",
    "scm",
    "sca",
    "scs",
    "sem",
    "selarl",
    "selas",
    "selafa",
    "gie",
    "ei",
    "eirl",
    "earl",
    "gaec",
    "sarlu",
    "ste",
    "societe",
    "ets",
    "etablissements",
    "gmbh",
    "ag",
    "ltd",
    "llc",
    "inc",
    "bv",
    "nv",
    "srl",
    "spa",
    "sl",
}
#: Similarity (0–100) from which two normalised supplier names are the same supplier.
NAME_SIMILARITY = 85


def normalise_name(name: str) -> str:
    """A supplier name without accents, case, punctuation and legal forms (SARL, SAS...)."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    # "S.A.R.L." and "S.A.S" are legal forms too: drop dots between single letters first.
    text = re.sub(r"\b(\w)\.(?=\w\b|\w\.)", r"\1", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(word for word in text.split() if word not in LEGAL_FORMS)


def name_similarity(first: str, second: str) -> float:
    """Similarity (0–100) of two supplier names, normalised; a name whose words are all in
    the other (a trade name in a legal name) counts as the same (token-set ratio)."""
    a, b = normalise_name(first), normalise_name(second)
    if not a or not b:
        return 100.0 if a == b else 0.0
    try:
        from rapidfuzz import fuzz
    except ImportError:  # pragma: no cover - rapidfuzz is in the virtualenv
        return _token_set_ratio(a, b)
    return float(fuzz.token_set_ratio(a, b))


def _token_set_ratio(a: str, b: str) -> float:
    """difflib's take on rapidfuzz's ``token_set_ratio``."""
    from difflib import SequenceMatcher

    words_a, words_b = set(a.split()), set(b.split())
    common = " ".join(sorted(words_a & words_b))
    rest_a = " ".join(sorted(words_a - words_b))
    rest_b = " ".join(sorted(words_b - words_a))
    full_a = f"{common} {rest_a}".strip()
    full_b = f"{common} {rest_b}".strip()
    if common and (not rest_a or not rest_b):
        return 100.0
    pairs = [(full_a, full_b)]
    if common:
        pairs += [(common, full_a), (common, full_b)]
    return max(SequenceMatcher(None, x, y).ratio() for x, y in pairs) * 100


def _compact(value: Any) -> str:
    return "".join(str(value or "").split()).replace(".", "").upper()


def _siren_of(supplier: dict[str, Any]) -> str:
    """The SIREN of a supplier: its own, else the one inside a French VAT number."""
    siren = _compact(supplier.get("siren"))
    if siren:
        return siren
    vat = _compact(supplier.get("vat_number"))
    return vat[4:] if vat.startswith("FR") and len(vat) == 13 and vat[4:].isdigit() else ""


def supplier_warning(invoice: dict[str, Any], matched: dict[str, Any] | None) -> str | None:
    """A French warning when the supplier MEG attached the purchase to is not the invoice's:
    a SIREN or a VAT number that differs, or the same identifier with a clearly different
    name. None when they agree (or MEG said nothing)."""
    if not matched or not matched.get("name"):
        return None
    ours_siren, theirs_siren = _siren_of(invoice), _siren_of(matched)
    ours_vat, theirs_vat = _compact(invoice.get("vat_number")), _compact(matched.get("vat_number"))
    different_id = bool(ours_siren and theirs_siren and ours_siren != theirs_siren) or bool(
        ours_vat and theirs_vat and ours_vat != theirs_vat
    )
    different_name = (
        name_similarity(str(invoice.get("name") or ""), str(matched["name"])) < NAME_SIMILARITY
    )
    if not different_id and not different_name:
        return None
    if theirs_siren:
        identifier = f" (SIREN {theirs_siren})"
    elif theirs_vat:
        identifier = f" (TVA {theirs_vat})"
    else:
        identifier = ""
    return (
        f"MEG a rattaché cet achat au fournisseur « {matched['name']} »{identifier} alors que "
        f"la facture est de « {invoice.get('name') or ''} » : vérifiez la fiche fournisseur "
        "dans MEG."
    )


# --- the attached file ----------------------------------------------------------------------


def _fixed_date(document: Any) -> time.struct_time:
    # A fixed date keeps the generated PDF byte-identical across retries: MEG compares the
    # request body behind one idempotency key.
    created = getattr(document, "created_at", None)
    when = created if isinstance(created, datetime) else datetime(2000, 1, 1, tzinfo=UTC)
    return when.timetuple()


def _image_to_pdf(data: bytes, document: Any) -> bytes:
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as image:
        frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
        dpi = image.info.get("dpi", (200, 200))
    out = io.BytesIO()
    when = _fixed_date(document)
    frames[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=frames[1:],
        resolution=float(dpi[0] or 200),
        creationDate=when,
        modDate=when,
        title=getattr(document, "filename", None) or "facture",
    )
    return out.getvalue()


def _xml_to_pdf(data: bytes, document: Any) -> bytes:
    """A one-page summary of an e-invoice, with the XML itself embedded in the PDF."""
    from PIL import Image, ImageDraw, ImageFont
    from pypdf import PdfReader, PdfWriter

    fields = document.fields or {}
    supplier = (fields.get("supplier") or {}).get("name") or ""
    rows = [
        "Facture électronique (XML) transmise par Classeur",
        "",
        f"Fournisseur : {supplier}",
        f"Facture n° : {fields.get('invoice_number') or ''}",
        f"Date : {fields.get('invoice_date') or ''}   Échéance : {fields.get('due_date') or ''}",
        f"Total HT : {fields.get('total_excl_tax') or ''}   TVA : {fields.get('total_tax') or ''}"
        f"   TTC : {fields.get('total_incl_tax') or ''} {fields.get('currency') or 'EUR'}",
        "",
        f"Fichier d'origine joint à ce PDF : {document.filename}",
    ]
    page = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=28)
    for index, row in enumerate(rows):
        draw.text((100, 120 + index * 48), row, fill="black", font=font)
    rendered = io.BytesIO()
    when = _fixed_date(document)
    page.save(rendered, "PDF", resolution=150.0, creationDate=when, modDate=when)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(rendered.getvalue())))
    writer.add_attachment(Path(document.filename).name or "facture.xml", data)
    writer._ID = None  # type: ignore[attr-defined]  # no random file id: same bytes every time
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attachment(document: Any, original_path: Path) -> tuple[bytes, str]:
    """The file MEG receives, and its name.

    MEG (and the sandbox) accept only PDF: a PDF original (Factur-X included) is sent as is;
    an image (JPEG, PNG, TIFF...) becomes a PDF of its pages (Pillow); a pure XML
    e-invoice (UBL, CII) becomes a one-page summary PDF with the XML embedded as an attachment.
    """
    data = original_path.read_bytes()
    filename = Path(getattr(document, "filename", "") or "facture.pdf").name
    stem = Path(filename).stem or "facture"
    media = (getattr(document, "media_type", "") or "").lower()
    if data.startswith(b"%PDF-"):
        return data, filename if filename.lower().endswith(".pdf") else f"{stem}.pdf"
    if media.startswith("image/") or filename.lower().endswith(
        (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif")
    ):
        return _image_to_pdf(data, document), f"{stem}.pdf"
    if "xml" in media or filename.lower().endswith(".xml") or data.lstrip()[:5] == b"<?xml":
        return _xml_to_pdf(data, document), f"{stem}.pdf"
    raise ExportError(
        f"Le fichier « {filename} » ({media or 'type inconnu'}) ne peut pas être joint à un "
        "achat MEG : seuls les PDF, images et factures XML sont transmis.",
        code="unsupported_file",
        field="file",
    )


# --- the exporter ---------------------------------------------------------------------------


def _meg_error(error: MegApiError) -> ExportError:
    if error.status == 401 or error.code in {"invalid_grant", "invalid_token"}:
        return ExportError(LINK_EXPIRED_MESSAGE, code="link_expired", transient=False)
    return ExportError(
        error.message,
        transient=error.transient,
        code=error.code,
        field=error.field,
        retry_after=error.retry_after,
    )


class MegExporter:
    """Publishes validated purchase invoices to MEG Achats (RCA)."""

    name = NAME
    label = "MEG (RCA)"
    #: The accounting software this connector publishes to, offered as "Logiciel" in a
    #: company's "Paramétrage général" (value kept in its settings).
    software = "meg"
    description = (
        "Publie les factures d'achat validées dans le module Achats de MEG : achat avec son "
        "PDF, règlement en attente à la date d'échéance, filtre « Classeur » dans la liste "
        "des achats."
    )
    binder_types = {"purchase_invoices"}
    #: What MEG accepts (``core.exports.registry.Exporter``): the binder refuses the rest
    #: before validation instead of MEG after it.
    rules: dict[str, Any] = {
        "account_classes": ["2", "6"],
        "vat_codes": sorted(
            {*VAT_CODES_BY_RATE.values(), *SPECIAL_CODES.values(), *VAT_CODE_ALIASES}
        ),
        # MEG refuses a purchase without them (the pending payment needs its due date).
        "required_fields": ["supplier.name", "invoice_number", "invoice_date", "due_date"],
    }

    def __init__(self) -> None:
        #: The threads of this process queue on these before locking a token's row.
        self.locks = ProcessLocks()
        self._gate: RateGate | RedisRateGate | None = None
        self._gate_guard = threading.Lock()
        #: Token refreshes this exporter made (the benchmark and the tests).
        self.refreshes = 0

    def gate_for(self, config: Any) -> RateGate | RedisRateGate:
        """The pace of the sends: shared through Redis in scale-out (:func:`make_gate`)."""
        with self._gate_guard:
            if self._gate is None:
                self._gate = make_gate(config)
            return self._gate

    @property
    def gate(self) -> RateGate | RedisRateGate:
        """The gate in use (this process's own until a first export chose one)."""
        with self._gate_guard:
            if self._gate is None:
                self._gate = RateGate()
            return self._gate

    def not_ready(self, company: Any) -> str | None:
        """Why this company cannot be sent to now (French), None when it is linked: the
        document page offers « Renvoyer » only when it can send."""
        from plugins.meg_export.link import link_state

        if link_state(company):
            return None
        return "Entreprise non liée à MEG : liez-la dans l'onglet MEG de l'entreprise."

    def export(self, context: ExportContext) -> ExportResult:
        """Send one purchase invoice; never touches the caller's database session (the token
        is read, and refreshed under its row's lock, in sessions of its own)."""
        settings = context.settings or {}
        code = settings.get("dossier_code")
        company = context.company
        store = TokenStore(company.firm_id, company.id, locks=self.locks, config=context.config)
        try:
            token = store.load()
        except TokenMissing as exc:
            raise ExportError(LINK_EXPIRED_MESSAGE, code="link_unreadable") from exc
        if not code or token is None:
            raise ExportError(NOT_LINKED_MESSAGE, code="not_linked")
        if code != company.dossier_code:
            raise ExportError(
                f"Le code dossier de l'entreprise ({company.dossier_code}) ne correspond "
                f"plus au dossier MEG lié ({code}) : reliez l'entreprise à nouveau (onglet MEG).",
                code="dossier_mismatch",
                field="dossier_code",
            )
        key = (company.firm_id, company.id, settings.get("linked_at"))

        purchase, warnings = build_purchase(
            context.document, dict(settings.get("capabilities") or {})
        )
        pdf, filename = attachment(context.document, context.original_path)
        config = context.config
        client = MegClient(
            config.get("MEG_BASE_URL") or "http://127.0.0.1:8100",
            token,
            client_id=config.get("MEG_CLIENT_ID") or "classeur",
            client_secret=config.get("MEG_CLIENT_SECRET") or "",
            timeout=float(config.get("MEG_TIMEOUT", 15)),
            session=_http_session(),
            token_store=store,
        )
        try:
            stored_purchase = self._send(client, key, code, purchase, pdf, filename, context)
        finally:
            with self._gate_guard:
                self.refreshes += store.refreshes
        remote_id = str(stored_purchase.get("id"))
        mismatch = supplier_warning(
            dict((context.document.fields or {}).get("supplier") or {}),
            stored_purchase.get("supplier"),
        )
        if mismatch:
            warnings.append(mismatch)
        log.info(
            "document %s exported to MEG %s as purchase %s", context.document.id, code, remote_id
        )
        return ExportResult(
            remote_id=remote_id,
            warnings=warnings,
            message=f"Achat n° {remote_id} créé dans le dossier MEG {code}.",
        )

    def _send(
        self,
        client: MegClient,
        key: tuple[Any, ...],
        code: str,
        purchase: dict[str, Any],
        pdf: bytes,
        filename: str,
        context: ExportContext,
    ) -> dict[str, Any]:
        """Send, paced by MEG's 429s (:class:`RateGate`): a short wait is spent in the worker,
        a longer one goes back to the core's retry with ``retry_after``, so a rate limit slows
        the export down without failing documents or storming MEG with refused requests."""
        max_wait = float(context.config.get("MEG_MAX_INLINE_WAIT", 5))
        gate = self.gate_for(context.config)
        for _ in range(INLINE_RETRIES + 1):
            if gate.remaining(key) > max_wait:
                raise ExportError(
                    RATE_LIMITED_MESSAGE,
                    transient=True,
                    code="rate_limited",
                    retry_after=gate.remaining(key) + random.uniform(0, 1),  # noqa: S311
                )
            wait = gate.reserve(key)
            if wait > 0:
                time.sleep(wait)
            try:
                stored = client.create_purchase(
                    code, purchase, pdf, filename, context.idempotency_key
                )
            except MegApiError as error:
                if error.status != 429:
                    raise _meg_error(error) from error
                gate.block(key, error.retry_after or 1.0)
                last = error
            else:
                gate.success(key)
                return stored
        raise _meg_error(last)


_local = threading.local()


def _http_session() -> Any:
    """One keep-alive HTTP session per worker thread."""
    import requests

    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session
