"""Matching extracted supplier data against the known suppliers of a company."""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

#: Minimum rapidfuzz ``token_sort_ratio`` for a name match.
NAME_THRESHOLD = 90

_LEGAL_FORMS = re.compile(r"(?i)\b(sas|sasu|sarl|eurl|sa|snc|sci|gmbh|ag|ltd|inc|llc|bv)\b\.?")


def _norm_id(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


def _norm_name(value: Any) -> str:
    return " ".join(_LEGAL_FORMS.sub(" ", str(value or "")).lower().split())


def _conflicts(siren: str, vat: str, candidate: dict[str, Any]) -> bool:
    """Both sides state a SIREN (or a VAT number) and they differ: another company."""
    other_siren = _norm_id(candidate.get("siren"))
    other_vat = _norm_id(candidate.get("vat_number"))
    return bool(siren and other_siren and siren != other_siren) or bool(
        vat and other_vat and vat != other_vat
    )


def match_supplier(
    fields: dict[str, Any], suppliers: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, str]:
    """Find the known supplier of extracted ``fields``.

    Tries SIREN, then VAT number, then IBAN (normalised), then a fuzzy name
    (``token_sort_ratio`` >= 90). Returns ``(supplier, method)`` with method one of
    "siren", "vat_number", "iban", "name" or "none". A candidate whose SIREN or VAT number
    differs from the invoice's is never taken by IBAN (a factoring company's account is
    shared by many suppliers) nor by name (two companies may bear close names).
    """
    sup = fields.get("supplier") or {}
    siren = _norm_id(sup.get("siren")) or _norm_id(sup.get("siret"))[:9]
    vat = _norm_id(sup.get("vat_number"))
    for key, value in (("siren", siren), ("vat_number", vat), ("iban", _norm_id(sup.get("iban")))):
        if not value:
            continue
        for candidate in suppliers:
            if _norm_id(candidate.get(key)) == value and not _conflicts(siren, vat, candidate):
                return candidate, key
    name = _norm_name(sup.get("name"))
    if name:
        best, best_score = None, 0.0
        for candidate in suppliers:
            if _conflicts(siren, vat, candidate):
                continue
            score = fuzz.token_sort_ratio(name, _norm_name(candidate.get("name")))
            if score > best_score:
                best, best_score = candidate, score
        if best is not None and best_score >= NAME_THRESHOLD:
            return best, "name"
    return None, "none"
