"""Keyword rules proposing a PCG account for a purchase invoice."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .vat import vat_code_for


@dataclass(frozen=True)
class Proposal:
    """An accounting proposal: account, VAT code, French reason, confidence 0..1."""

    account: str
    vat_code: str | None
    reason: str
    confidence: float
    #: The words of the invoice that matched the rule (shown to the accountant).
    keyword: str = ""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


#: (rule name, pattern on folded text, account, account when class 2 is not allowed or None).
RULES: tuple[tuple[str, re.Pattern[str], str, str | None], ...] = (
    (
        "ordinateur",
        re.compile(
            r"\b(ordinateurs?|laptop|portable\s+\w+|pc\s+portable|macbook"
            r"|ecran|serveur|imprimante)\b"
        ),
        "2183",
        "6063",
    ),
    (
        "mobilier",
        re.compile(r"\b(mobilier|bureau\s+assis|chaises?\s+de\s+bureau|armoire)\b"),
        "2184",
        "6063",
    ),
    ("logiciel", re.compile(r"\b(licence\s+perpetuelle|logiciel\s+perpetuel)\b"), "205", "6063"),
    ("véhicule", re.compile(r"\b(vehicule|voiture|camionnette)\b"), "2182", None),
    (
        "électricité",
        re.compile(r"\b(electricite|edf|engie|gaz|energie|eau\s+potable)\b"),
        "6061",
        None,
    ),
    (
        "carburant",
        re.compile(
            r"\b(carburant|gazole|gasoil|diesel|sans\s+plomb|sp95|sp98"
            r"|station[- ]service|total\s*energies)\b"
        ),
        "6061",
        None,
    ),
    ("loyer", re.compile(r"\b(loyer|bail\s+commercial)\b"), "6132", None),
    ("location", re.compile(r"\b(location|leasing|credit[- ]bail)\b"), "6135", None),
    (
        "téléphone",
        re.compile(
            r"\b(telephone|internet|fibre|mobile|forfait|box|orange|sfr"
            r"|bouygues\s+telecom|free\s+mobile)\b"
        ),
        "626",
        None,
    ),
    (
        "affranchissement",
        re.compile(r"\b(affranchissement|timbres?|la\s+poste|colissimo)\b"),
        "6261",
        None,
    ),
    (
        "honoraires",
        re.compile(r"\b(honoraires|expert[- ]comptable|avocat|conseil\s+juridique)\b"),
        "6226",
        None,
    ),
    ("assurance", re.compile(r"\b(assurances?|prime\s+d'assurance|multirisque)\b"), "616", None),
    ("hôtel", re.compile(r"\b(hotel|hebergement|nuitee|chambre)\b"), "6256", None),
    ("restaurant", re.compile(r"\b(restaurant|repas|dejeuner|diner|traiteur)\b"), "6257", None),
    (
        "voyage",
        re.compile(r"\b(billet\s+de\s+train|sncf|avion|air\s+france|taxi|peage)\b"),
        "6251",
        None,
    ),
    (
        "transport",
        re.compile(r"\b(transport|livraison|frais\s+de\s+port|messagerie|fret)\b"),
        "6241",
        None,
    ),
    (
        "maintenance",
        re.compile(r"\b(maintenance|contrat\s+d'entretien|infogerance|support)\b"),
        "6156",
        None,
    ),
    ("entretien", re.compile(r"\b(nettoyage|entretien\s+des\s+locaux|reparation)\b"), "6152", None),
    (
        "fournitures",
        re.compile(
            r"\b(fournitures?\s+de\s+bureau|papeterie|ramettes?|cartouches?"
            r"|toner|stylos?)\b"
        ),
        "6064",
        None,
    ),
    (
        "petit équipement",
        re.compile(r"\b(outillage|petit\s+materiel|souris|clavier|cable)\b"),
        "6063",
        None,
    ),
    ("abonnement", re.compile(r"\b(abonnement|documentation|revue|journal)\b"), "6181", None),
    (
        "publicité",
        re.compile(r"\b(publicite|annonce|insertion|google\s+ads|campagne)\b"),
        "6231",
        None,
    ),
    (
        "banque",
        re.compile(r"\b(frais\s+bancaires|commission\s+bancaire|agios|tenue\s+de\s+compte)\b"),
        "627",
        None,
    ),
    ("cotisation", re.compile(r"\b(cotisation|adhesion)\b"), "6281", None),
    (
        "sous-traitance",
        re.compile(r"\b(sous[- ]traitance|prestation\s+de\s+services?)\b"),
        "611",
        None,
    ),
)

#: A fixed asset below this amount (excl. tax) is usually expensed (French admin. tolerance).
ASSET_THRESHOLD = Decimal("500")


def propose_by_rules(fields: dict[str, Any], text: str, *, allow_class2: bool) -> Proposal | None:
    """First keyword rule matching the supplier name or the text, or None.

    ``allow_class2`` False turns fixed-asset accounts (class 2) into their expense account.
    """
    supplier = (fields.get("supplier") or {}).get("name") or ""
    haystack = _fold(f"{supplier}\n{text or ''}")
    rate = None
    lines = fields.get("vat_lines") or []
    if lines:
        rate = lines[0].get("rate")
    try:
        vat_code: str | None = vat_code_for(rate or "20", fields.get("vat_regime") or "standard")
    except ValueError:
        vat_code = None
    try:
        amount = Decimal(str(fields.get("total_excl_tax") or "0"))
    except ArithmeticError:
        amount = Decimal(0)
    for name, pattern, account, fallback in RULES:
        found = pattern.search(haystack)
        if not found:
            continue
        if account.startswith("2") and (not allow_class2 or abs(amount) < ASSET_THRESHOLD):
            if fallback is None:
                continue
            account = fallback
        return Proposal(account, vat_code, f"règle : {name}", 0.6, found.group(0))
    return None
