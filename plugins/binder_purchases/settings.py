"""A company's purchase settings ("Comptabilité" → "Paramétrage général"): the accounting
software, the purchase binder and the accounting elements of the seed's steps 2 to 7."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.plugin_api import Binder, Company, db

#: The accounting elements of the seed's step 7, each switched on or off per company.
ELEMENTS = (
    "invoice_number",
    "due_date",
    "allow_class_2",
    "allow_class_6",
    "payment_mode",
    "vat_codes",
)
DEFAULT_ELEMENTS = dict.fromkeys(ELEMENTS, False) | {"allow_class_6": True}


def accounting_settings(company: Company) -> dict[str, Any]:
    """The company's accounting settings with defaults filled in."""
    raw = dict((company.settings or {}).get("accounting") or {})
    elements = {**DEFAULT_ELEMENTS, **(raw.get("elements") or {})}
    return {
        "software": raw.get("software") or "",
        "purchase_binder_id": raw.get("purchase_binder_id"),
        "elements": elements,
    }


def purchase_binder(company: Company) -> Binder | None:
    """The binder the company's purchases go to (set in "Paramétrage général")."""
    binder_id = accounting_settings(company)["purchase_binder_id"]
    if binder_id is None:
        return None
    return db.session.scalar(
        select(Binder).where(Binder.id == binder_id, Binder.company_id == company.id)
    )
