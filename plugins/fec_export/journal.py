"""Purchase invoices as balanced journal entries (the lines of the FEC and of the CSV journal).

Reads ``document.fields`` as data — the shape the ``binder_purchases`` plugin stores (supplier,
invoice number and date, totals, ``vat_lines``, the review's ``accounting.lines``) — without
importing that plugin. One invoice is one entry:

- debit: each charge or asset line (accounts 6xxx / 2xxx of ``accounting.lines``, HT), and
  its deductible VAT on 445660 (goods and services) or 445620 (a class-2 asset line);
- credit: the supplier's account (401 by default, per company) with the supplier's
  auxiliary account (CompAuxNum / CompAuxLib), for the invoice's total TTC;
- intra-EU, extra-EU and reverse-charge VAT lines that state no VAT: the self-assessed VAT
  (base × rate) in debit on 445662 and in credit on 4452, balanced on its own; when the rate
  is unknown the entry carries a warning (« TVA autoliquidée non passée : à saisir »).

A credit note (``document_kind`` ``credit_note``, or negative totals) is the same entry
reversed. Amounts are ``Decimal`` rounded to the cent; when the lines do not add up to the
TTC by a few cents (each line rounded on its own), the difference goes on the largest charge
line so that the entry balances to the cent; a larger gap is an error for the accountant.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.plugin_api import ExportError

CENT = Decimal("0.01")
ZERO = Decimal("0")
#: Largest rounding difference put on the largest charge line (beyond: the accountant fixes it).
ROUNDING_TOLERANCE = Decimal("0.05")
VAT_GOODS_SERVICES = "445660"
VAT_ASSETS = "445620"
#: Self-assessed VAT (autoliquidation): deductible on 445662, due on 4452.
VAT_SELF_DEDUCTIBLE = "445662"
VAT_SELF_DUE = "4452"
#: VAT regimes (of a VAT line, or of the invoice) where the buyer self-assesses the VAT.
SELF_ASSESSED_REGIMES = {"intra_eu", "reverse_charge", "extra_eu"}
#: The warning of an invoice whose self-assessed VAT could not be computed.
SELF_ASSESSED_MISSING = "TVA autoliquidée non passée : à saisir"

#: Labels of the usual purchase accounts (Plan Comptable Général), longest prefix wins.
PCG_LABELS: dict[str, str] = {
    "2": "Immobilisations",
    "20": "Immobilisations incorporelles",
    "205": "Concessions, brevets, licences, logiciels",
    "21": "Immobilisations corporelles",
    "215": "Installations techniques, matériel et outillage",
    "218": "Autres immobilisations corporelles",
    "2181": "Installations générales, agencements",
    "2182": "Matériel de transport",
    "2183": "Matériel de bureau et matériel informatique",
    "2184": "Mobilier",
    "401": "Fournisseurs",
    "404": "Fournisseurs d'immobilisations",
    "4452": "TVA due intracommunautaire",
    "44562": "TVA déductible sur immobilisations",
    "44566": "TVA déductible sur autres biens et services",
    "445662": "TVA déductible intracommunautaire (autoliquidée)",
    "6": "Charges",
    "60": "Achats",
    "601": "Achats stockés - matières premières",
    "602": "Achats stockés - autres approvisionnements",
    "604": "Achats d'études et prestations de services",
    "606": "Achats non stockés de matières et fournitures",
    "6061": "Fournitures non stockables (eau, énergie)",
    "6063": "Fournitures d'entretien et de petit équipement",
    "6064": "Fournitures administratives",
    "607": "Achats de marchandises",
    "61": "Services extérieurs",
    "611": "Sous-traitance générale",
    "613": "Locations",
    "615": "Entretien et réparations",
    "616": "Primes d'assurances",
    "62": "Autres services extérieurs",
    "622": "Rémunérations d'intermédiaires et honoraires",
    "6226": "Honoraires",
    "623": "Publicité, publications, relations publiques",
    "624": "Transports de biens",
    "625": "Déplacements, missions et réceptions",
    "626": "Frais postaux et de télécommunications",
    "627": "Services bancaires et assimilés",
    "628": "Divers",
    "63": "Impôts, taxes et versements assimilés",
    "64": "Charges de personnel",
    "65": "Autres charges de gestion courante",
    "66": "Charges financières",
    "67": "Charges exceptionnelles",
}

#: Legal forms left out of the supplier's auxiliary code.
LEGAL_FORMS = {"SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCI", "SCP", "SCOP", "SCM", "SCA"}


@dataclass
class JournalSettings:
    """The company's journal (tab "Journal d'achats"): code, label, supplier account."""

    journal_code: str = "HA"
    journal_label: str = "Achats"
    #: The suppliers' collective account; each supplier is its auxiliary account.
    supplier_account: str = "401"
    #: Prefix of the suppliers' auxiliary codes ("F" + the supplier's name).
    aux_prefix: str = "F"
    #: Encoding of the FEC file: "utf-8" or "iso-8859-15".
    encoding: str = "utf-8"


@dataclass
class Line:
    """One line of an entry; ``debit`` and ``credit`` are non-negative, one of them zero."""

    account: str
    account_label: str
    label: str
    debit: Decimal
    credit: Decimal
    aux_code: str = ""
    aux_label: str = ""
    #: "charge", "vat", "self_vat" (self-assessed VAT, both sides) or "supplier".
    role: str = "charge"


@dataclass
class Entry:
    """One invoice's entry (its lines balance)."""

    document_id: int
    number: int
    entry_date: date
    piece_ref: str
    piece_date: date
    label: str
    valid_date: date
    credit_note: bool
    lines: list[Line] = field(default_factory=list)
    #: The rounding difference put on the largest charge line (0 when none).
    rounding: Decimal = ZERO
    #: The self-assessed VAT posted (445662 debit, 4452 credit; 0 when none).
    self_assessed: Decimal = ZERO
    #: French warnings for the accountant (the entry is in the file, but incomplete).
    warnings: list[str] = field(default_factory=list)


def _amount(value: Any, where: str, *, required: bool = True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ExportError(
                f"Montant absent ({where}) : complétez la facture puis exportez à nouveau la "
                "période.",
                code="missing_amount",
                field=where,
            )
        return None
    try:
        amount = Decimal(str(value).replace(",", ".").replace(" ", "").strip())
    except InvalidOperation:
        raise ExportError(
            f"Montant invalide ({where}) : « {value} ».", code="invalid_amount", field=where
        ) from None
    if not amount.is_finite():
        raise ExportError(
            f"Montant invalide ({where}) : « {value} ».", code="invalid_amount", field=where
        )
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value or "")[:10])
    except ValueError:
        raise ExportError(
            f"Date absente ou invalide ({where}) : complétez la facture.",
            code="missing_date",
            field=where,
        ) from None


def account_label(number: str) -> str:
    """The PCG label of the longest known prefix of ``number`` ("Compte 6xxx" otherwise)."""
    for length in range(len(number), 0, -1):
        label = PCG_LABELS.get(number[:length])
        if label:
            return label
    return f"Compte {number}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def aux_code(supplier: dict[str, Any], prefix: str = "F") -> str:
    """The supplier's auxiliary code: the prefix and its name in capitals, letters and digits
    only, legal form left out, at most 17 characters ("Papeterie Moreau SARL" →
    "FPAPETERIEMOREAU"). Stable for one supplier name."""
    words = re.findall(r"[A-Z0-9]+", _ascii(str(supplier.get("name") or "")).upper())
    kept = [w for w in words if w not in LEGAL_FORMS] or words
    code = "".join(kept)
    if not code:
        siren = re.sub(r"\D", "", str(supplier.get("siren") or ""))
        code = siren
    return (prefix + code)[:17]


def _charge_lines(fields: dict[str, Any]) -> list[tuple[str, Decimal, Decimal | None, str]]:
    """(account, HT, VAT or None when not given, where) of each charge line.

    The review's ``accounting.lines``; without them, the review's proposed account over the
    VAT lines (one line per rate), or over the total HT.
    """
    accounting = fields.get("accounting") or {}
    out: list[tuple[str, Decimal, Decimal | None, str]] = []
    raw_lines = [x for x in accounting.get("lines") or [] if isinstance(x, dict)]
    if raw_lines:
        for index, raw in enumerate(raw_lines):
            where = f"accounting.lines[{index}]"
            account = str(raw.get("account") or "").strip()
            if not account:
                raise ExportError(
                    f"Compte comptable absent sur la ligne {index + 1} : complétez "
                    "l'imputation comptable.",
                    code="missing_account",
                    field=f"{where}.account",
                )
            excl = _amount(raw.get("amount_excl_tax"), f"{where}.amount_excl_tax")
            vat = _amount(raw.get("vat_amount"), f"{where}.vat_amount", required=False)
            out.append((account, excl or ZERO, vat, where))
        return out
    proposal = accounting.get("proposal") or {}
    account = str(accounting.get("account") or proposal.get("account") or "").strip()
    if not account:
        raise ExportError(
            "Aucun compte comptable n'est imputé à cette facture : renseignez le compte de "
            "charge (classe 6) ou d'immobilisation (classe 2).",
            code="missing_account",
            field="accounting.lines",
        )
    vat_lines = [v for v in fields.get("vat_lines") or [] if isinstance(v, dict)]
    if vat_lines:
        for index, vat in enumerate(vat_lines):
            where = f"vat_lines[{index}]"
            base = _amount(vat.get("base"), f"{where}.base")
            amount = _amount(vat.get("amount"), f"{where}.amount", required=False)
            out.append((account, base or ZERO, amount or ZERO, where))
        return out
    excl = _amount(fields.get("total_excl_tax"), "total_excl_tax")
    tax = _amount(fields.get("total_tax"), "total_tax", required=False)
    return [(account, excl or ZERO, tax or ZERO, "total_excl_tax")]


def _vat_total(fields: dict[str, Any]) -> Decimal:
    """The invoice's VAT: the sum of its VAT lines, else its total VAT."""
    vat_lines = [v for v in fields.get("vat_lines") or [] if isinstance(v, dict)]
    amounts = [
        _amount(v.get("amount"), f"vat_lines[{i}].amount", required=False)
        for i, v in enumerate(vat_lines)
    ]
    if any(a is not None for a in amounts):
        return sum((a for a in amounts if a is not None), ZERO)
    return _amount(fields.get("total_tax"), "total_tax", required=False) or ZERO


def _regime(line: dict[str, Any], fields: dict[str, Any]) -> str:
    """A VAT line's regime: its own, else the invoice's (``mixed`` says nothing)."""
    regime = line.get("regime")
    if regime:
        return str(regime)
    invoice_regime = str(fields.get("vat_regime") or "standard")
    return "standard" if invoice_regime == "mixed" else invoice_regime


def self_assessed_vat(fields: dict[str, Any]) -> tuple[Decimal, list[str]]:
    """The VAT the buyer self-assesses (intra-EU, extra-EU, reverse charge) and what could not
    be computed.

    For each VAT line of such a regime that states no VAT: base × rate, rounded to the cent.
    A line without a rate (or at 0 %), or an invoice of such a regime without VAT lines, gives
    a French warning instead (``SELF_ASSESSED_MISSING``): the accountant enters it by hand.
    """
    vat_lines = [v for v in fields.get("vat_lines") or [] if isinstance(v, dict)]
    total, missing = ZERO, []
    if not vat_lines:
        if str(fields.get("vat_regime") or "standard") in SELF_ASSESSED_REGIMES:
            missing.append(f"{SELF_ASSESSED_MISSING} (aucune ligne de TVA ni taux sur la facture)")
        return total, missing
    for index, line in enumerate(vat_lines):
        if _regime(line, fields) not in SELF_ASSESSED_REGIMES:
            continue
        where = f"vat_lines[{index}]"
        stated = _amount(line.get("amount"), f"{where}.amount", required=False)
        if stated:
            continue  # the supplier invoiced the VAT: it is posted as stated
        base = _amount(line.get("base"), f"{where}.base", required=False)
        try:
            rate = Decimal(str(line.get("rate")).replace(",", ".").strip())
        except InvalidOperation:
            rate = ZERO
        if base is None or not rate.is_finite() or rate <= 0:
            missing.append(
                f"{SELF_ASSESSED_MISSING} (ligne de TVA {index + 1} : taux absent ou à 0 %, "
                f"base {base if base is not None else '?'})"
            )
            continue
        total += (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return total, missing


def build_entry(
    document: Any,
    number: int,
    settings: JournalSettings,
    entry_date: date,
    valid_date: date,
) -> Entry:
    """The balanced entry of one purchase invoice (``document.fields``); ``ExportError``
    (French) for what the accountant must complete first."""
    fields: dict[str, Any] = dict(document.fields or {})
    supplier = dict(fields.get("supplier") or {})
    name = " ".join(str(supplier.get("name") or "").split())
    if not name:
        raise ExportError(
            "Le nom du fournisseur est absent : complétez la facture.",
            code="missing_supplier",
            field="supplier.name",
        )
    currency = str(fields.get("currency") or "EUR").upper()
    if currency != "EUR":
        raise ExportError(
            f"Facture en {currency} : le journal est tenu en euros et Classeur ne connaît pas "
            "le cours de conversion ; saisissez cette facture dans le logiciel comptable.",
            code="foreign_currency",
            field="currency",
        )
    invoice_number = " ".join(str(fields.get("invoice_number") or "").split())
    piece_ref = invoice_number or f"CLASSEUR-{document.id}"
    piece_date = _day(fields.get("invoice_date"), "invoice_date")
    charges = _charge_lines(fields)
    for account, _excl, _vat, where in charges:
        if not account.isdigit():
            raise ExportError(
                f"Le compte « {account} » n'est pas numérique : le FEC exige des numéros de "
                "compte en chiffres.",
                code="invalid_account",
                field=f"{where}.account",
            )
    total_ht = sum((c[1] for c in charges), ZERO)
    # VAT by line when the lines give it; else the invoice's VAT lines, on the VAT account of
    # the line classes (assets only: 445620).
    vat_by_account: dict[str, Decimal] = {}
    if any(c[2] is not None for c in charges):
        for account, _excl, vat, _where in charges:
            if vat:
                key = VAT_ASSETS if account.startswith("2") else VAT_GOODS_SERVICES
                vat_by_account[key] = vat_by_account.get(key, ZERO) + vat
    else:
        vat = _vat_total(fields)
        if vat:
            assets = all(c[0].startswith("2") for c in charges)
            vat_by_account[VAT_ASSETS if assets else VAT_GOODS_SERVICES] = vat
    total_vat = sum(vat_by_account.values(), ZERO)
    ttc = _amount(fields.get("total_incl_tax"), "total_incl_tax", required=False)
    if ttc is None:
        ttc = total_ht + total_vat
    credit_note = fields.get("document_kind") == "credit_note" or ttc < 0
    # Signed amounts, debit positive: a credit note stored with positive amounts is negated.
    sign = Decimal(-1) if credit_note and ttc > 0 else Decimal(1)
    label = f"{name} {invoice_number}".strip()[:200]
    signed: list[tuple[Line, Decimal]] = []
    for account, excl, _vat, _where in charges:
        signed.append(
            (Line(account, account_label(account), label, ZERO, ZERO, role="charge"), excl * sign)
        )
    for account, vat in sorted(vat_by_account.items()):
        signed.append(
            (Line(account, account_label(account), label, ZERO, ZERO, role="vat"), vat * sign)
        )
    supplier_line = Line(
        settings.supplier_account,
        account_label(settings.supplier_account),
        label,
        ZERO,
        ZERO,
        aux_code=aux_code(supplier, settings.aux_prefix),
        aux_label=name[:100],
        role="supplier",
    )
    signed.append((supplier_line, -ttc * sign))
    # Self-assessed VAT: deductible and due, the same amount on both sides (balanced alone).
    self_vat, warnings = self_assessed_vat(fields)
    if self_vat:
        for account, amount in ((VAT_SELF_DEDUCTIBLE, self_vat), (VAT_SELF_DUE, -self_vat)):
            signed.append(
                (
                    Line(account, account_label(account), label, ZERO, ZERO, role="self_vat"),
                    amount * sign,
                )
            )
    difference = -sum((amount for _line, amount in signed), ZERO)
    rounding = ZERO
    if difference:
        if abs(difference) > ROUNDING_TOLERANCE:
            raise ExportError(
                f"Les lignes (HT {total_ht} + TVA {total_vat}) ne font pas le total TTC "
                f"({ttc}) : corrigez l'imputation comptable.",
                code="unbalanced",
                field="total_incl_tax",
            )
        index = max(
            (i for i, (line, _a) in enumerate(signed) if line.role == "charge"),
            key=lambda i: abs(signed[i][1]),
        )
        line, amount = signed[index]
        signed[index] = (line, amount + difference)
        rounding = difference
    entry = Entry(
        document_id=document.id,
        number=number,
        entry_date=entry_date,
        piece_ref=piece_ref[:100],
        piece_date=piece_date,
        label=label,
        valid_date=valid_date,
        credit_note=credit_note,
        rounding=rounding,
        self_assessed=self_vat,
        warnings=warnings,
    )
    for line, amount in signed:
        if not amount:
            continue
        line.debit, line.credit = (amount, ZERO) if amount > 0 else (ZERO, -amount)
        entry.lines.append(line)
    if not entry.lines:
        raise ExportError(
            "Facture sans montant : rien à passer en écriture.",
            code="empty_entry",
            field="total_incl_tax",
        )
    return entry
