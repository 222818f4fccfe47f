"""What the search index knows of a purchase invoice, in the core's generic terms."""

from __future__ import annotations

from typing import Any

from core.plugin_api import Searchable

#: The supplier's identifiers made searchable (each exactly, with or without its spaces).
SUPPLIER_IDS = ("siren", "siret", "vat_number", "iban")
#: Keyword of each document kind (a search for "avoir" finds the credit notes).
KIND_KEYWORDS = {"invoice": "Facture", "credit_note": "Avoir"}

#: How the search page names the generic fields for a purchase invoice.
SEARCHABLE_LABELS = {
    "party_name": "Fournisseur",
    "party_ids": "SIREN, SIRET, TVA, IBAN",
    "reference": "N° de facture",
    "date": "Date de facture",
    "amount": "Montant TTC",
    "keywords": "Type de document",
}
#: Query names of the generic fields (``fournisseur:edf``, ``facture:FA-12``, ``tva:FR03…``).
SEARCH_ALIASES = {
    "fournisseur": "party_name",
    "facture": "reference",
    "siren": "party_ids",
    "siret": "party_ids",
    "tva": "party_ids",
    "iban": "party_ids",
}


def searchable(fields: dict[str, Any]) -> Searchable:
    """Supplier name and identifiers, invoice number and date, total incl. tax (negative for
    a credit note, as stored), and the document kind as a keyword."""
    supplier = fields.get("supplier") or {}
    if not isinstance(supplier, dict):
        supplier = {}
    kind = fields.get("document_kind") or "invoice"
    return Searchable.of(
        {
            "party_name": supplier.get("name"),
            "party_ids": [supplier[key] for key in SUPPLIER_IDS if supplier.get(key)],
            "reference": fields.get("invoice_number"),
            "date": fields.get("invoice_date"),
            "amount": fields.get("total_incl_tax"),
            "keywords": [KIND_KEYWORDS[kind]] if kind in KIND_KEYWORDS else [],
        }
    )
