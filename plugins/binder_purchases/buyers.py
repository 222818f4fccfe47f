"""The buyer check: is the invoice addressed to the company whose binder holds it?

The buyer read on the invoice (SIREN, SIRET, VAT number, name; BT-44/47/48 in e-invoices) is
compared with the company; when it names another company of the firm, the check offers to
move the document there ("Déplacer vers …").
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select

from core.plugin_api import Binder, Company, db
from plugins.binder_purchases.accounting.suppliers import _norm_id, _norm_name
from plugins.binder_purchases.settings import purchase_binder

#: Names this similar (token set ratio, accents and legal forms removed) are the same company.
SAME_NAME = 88
#: Names below this are different companies.
OTHER_NAME = 60
#: A buyer's name read with less confidence than this (guessed from an address block's place
#: on the page, no label) is not enough to say the invoice is another company's.
SURE_NAME = 0.7


def french_vat(siren: str | None) -> str | None:
    """The French VAT number of a SIREN (``FR`` + key + SIREN)."""
    if not siren or not siren.isdigit() or len(siren) != 9:
        return None
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return _norm_name("".join(c for c in decomposed if not unicodedata.combining(c)))


def buyer_siren(buyer: dict[str, Any]) -> str | None:
    """The buyer's SIREN: stated, from its SIRET, or inside a French VAT number."""
    siren = _norm_id(buyer.get("siren")) or _norm_id(buyer.get("siret"))[:9]
    if siren:
        return siren
    vat = _norm_id(buyer.get("vat_number"))
    if vat.startswith("FR") and len(vat) == 13 and vat[4:].isdigit():
        return vat[4:]
    return None


def matches(company: Company, buyer: dict[str, Any]) -> bool | None:
    """True when the buyer is this company, False when it is another one, None when the
    invoice does not say enough to tell."""
    siren = buyer_siren(buyer)
    if siren and company.siren:
        return siren == company.siren
    vat = _norm_id(buyer.get("vat_number"))
    if vat and company.siren and not vat.startswith("FR"):
        return False  # a foreign VAT number is not a French company's
    name = _fold(buyer.get("name") or "")
    if not name:
        return None
    score = fuzz.token_set_ratio(name, _fold(company.name))
    if score >= SAME_NAME:
        return True
    if score < OTHER_NAME:
        return False
    return None


def _purchase_binder_of(company: Company, binder_type: str) -> Binder | None:
    binder = purchase_binder(company)
    if binder is not None:
        return binder
    return db.session.scalar(
        select(Binder)
        .where(Binder.company_id == company.id, Binder.type == binder_type)
        .order_by(Binder.id)
        .limit(1)
    )


def matching_company(company: Company, buyer: dict[str, Any]) -> Company | None:
    """Another company of the same firm that the buyer is."""
    others = db.session.scalars(
        select(Company)
        .where(Company.firm_id == company.firm_id, Company.id != company.id)
        .order_by(Company.id)
    ).all()
    found = [other for other in others if matches(other, buyer)]
    return found[0] if len(found) == 1 else None


def buyer_check(company: Company, fields: dict[str, Any], binder_type: str) -> list[dict[str, Any]]:
    """The buyer check of an invoice in ``company``'s binder; a list of at most one check."""
    buyer = fields.get("buyer") or {}
    if not any(buyer.get(k) for k in ("name", "siren", "siret", "vat_number")):
        return [
            {
                "code": "buyer_unknown",
                "level": "info",
                "field": "buyer",
                "message": "Le client facturé n'a pas été lu sur la facture : vérifiez qu'elle "
                f"est bien adressée à {company.name}.",
            }
        ]
    same = matches(company, buyer)
    if same is not False:
        return []
    shown = buyer.get("name") or buyer_siren(buyer) or buyer.get("vat_number")
    by_name_only = not (buyer_siren(buyer) or buyer.get("vat_number"))
    confidence = (fields.get("confidence") or {}).get("buyer.name")
    if by_name_only and confidence is not None and confidence < SURE_NAME:
        return [
            {
                "code": "buyer_uncertain",
                "level": "info",
                "field": "buyer",
                "message": f"Le client facturé semble être « {shown} » (lu sans certitude) : "
                f"vérifiez que la facture est bien adressée à {company.name}.",
            }
        ]
    check: dict[str, Any] = {
        "code": "wrong_company",
        "level": "warning",
        "field": "buyer",
        "message": f"Cette facture est adressée à « {shown} », pas à {company.name} : "
        "vérifiez qu'elle est dans le bon dossier.",
    }
    other = matching_company(company, buyer)
    if other is not None:
        binder = _purchase_binder_of(other, binder_type)
        if binder is not None:
            check["message"] += f" Elle correspond à l'entreprise {other.name}."
            check["action"] = {
                "kind": "move",
                "label": f"Déplacer vers {other.name}",
                "company_id": other.id,
                "binder_id": binder.id,
            }
    return [check]
