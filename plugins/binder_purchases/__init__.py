"""The ``binder_purchases`` plugin: the binder type of purchase invoices.

Hook implementations only; the work is in the modules beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.plugin_api import BinderType, PluginInfo, TaskSpec, hookimpl
from plugins.binder_purchases import services  # noqa: F401  (registers the training task)

if TYPE_CHECKING:
    from core.plugin_api import Company, Document, ExportResult

NAME = "binder_purchases"
BINDER_TYPE = "purchase_invoices"


@hookimpl
def plugin_info() -> PluginInfo:
    """A binder type: on unless switched off for a firm or company."""
    return PluginInfo(
        name=NAME,
        label="Factures d'achat",
        kind="binder_type",
        default_enabled=True,
        description="Lecture des factures d'achat, contrôles, mémoire des fournisseurs et "
        "proposition d'imputation comptable.",
        labels={
            "not_duplicate": "Marqué « pas un doublon »",
            "supplier_learned": "Fournisseur appris",
        },
    )


def _checks(document: Document) -> list[dict[str, Any]]:
    return services.check_document(document)


#: French labels of the fields, for the document page.
FIELD_LABELS = {
    "source": "Source",
    "document_kind": "Type de document",
    "supplier": "Fournisseur",
    "invoice_number": "N° de facture",
    "invoice_date": "Date de facture",
    "due_date": "Date d'échéance",
    "currency": "Devise",
    "total_excl_tax": "Total HT",
    "total_tax": "Total TVA",
    "total_incl_tax": "Total TTC",
    "vat_lines": "Lignes de TVA",
    "payment_mode": "Mode de règlement",
    "vat_regime": "Régime de TVA",
    "accounting": "Imputation comptable",
}


#: The columns of a purchase tray (``BinderType.list_columns``): key, French label, kind.
LIST_COLUMNS = (
    ("supplier.name", "Fournisseur", "text"),
    ("invoice_number", "N° de facture", "text"),
    ("invoice_date", "Date de facture", "date"),
    ("total_incl_tax", "Montant TTC", "amount"),
    ("due_date", "Échéance", "date"),
    ("state", "État", "state"),
    ("export", "Export", "export"),
)


@hookimpl
def register_binder_types(register: Callable[[BinderType], None]) -> None:
    """Register ``purchase_invoices`` ("Factures d'achat")."""
    from plugins.binder_purchases.fields import validate_fields
    from plugins.binder_purchases.schema import FIELDS_SCHEMA
    from plugins.binder_purchases.searchable import (
        SEARCH_ALIASES,
        SEARCHABLE_LABELS,
        searchable,
    )

    register(
        BinderType(
            name=BINDER_TYPE,
            label="Factures d'achat",
            description="Factures fournisseurs : lues, contrôlées et imputées.",
            plugin=NAME,
            validate_fields=validate_fields,
            review_endpoint="binder_purchases.review",
            checks=_checks,
            summary=services.summary,
            searchable=searchable,
            searchable_labels=SEARCHABLE_LABELS,
            search_aliases=SEARCH_ALIASES,
            fields_schema=FIELDS_SCHEMA,
            media_types=MEDIA_TYPES,
            extract=_extract,
            default_binder=_purchase_binder,
            list_columns=LIST_COLUMNS,
            extra={"field_labels": FIELD_LABELS, "document_panel": _einvoice_panel},
        )
    )


#: What a purchase binder accepts: PDF (Factur-X included), scans, e-invoice XML.
MEDIA_TYPES = frozenset(
    {"application/pdf", "application/xml", "image/png", "image/jpeg", "image/tiff"}
)


def _einvoice_panel(document: Any) -> Any:
    """The readable view of the document's e-invoice, on the document page."""
    from plugins.binder_purchases.einvoice_view import panel

    return panel(document)


def _purchase_binder(company: Company) -> Any:
    from plugins.binder_purchases.settings import purchase_binder

    return purchase_binder(company)


def _extract(
    document: Document,
    text: str,
    path: Path,
    layout: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any] | None:
    """Read a purchase invoice's fields and propose its accounting. ``layout``: the OCR words
    per page of the pages read by OCR (None if none was)."""
    return services.extract_document(document, text, path, layout=layout)


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Training the firm's account model from its validated purchases, on ``training``."""
    from plugins.binder_purchases.services import TRAIN_TASK, train_model

    register(TaskSpec(name=TRAIN_TASK, run=train_model, queue="training"))


@hookimpl
def register_blueprints(register: Callable[..., None]) -> None:
    """Register the ``binder_purchases`` blueprints: review pages, chart, suppliers, and the
    suppliers' API (``/api/v1/companies/<id>/suppliers``)."""
    from plugins.binder_purchases.api import bp as api_bp
    from plugins.binder_purchases.views import bp

    register(bp)
    register(api_bp)


@hookimpl
def register_company_tabs(register: Callable[[Any], None]) -> None:
    """Add the tabs "Paramétrage général" (first), "Plan comptable" and "Fournisseurs" to the
    company's accounting page."""
    from core.plugin_api import CompanyTab

    register(
        CompanyTab(
            id="general", label="Paramétrage général", endpoint="binder_purchases.general", order=0
        )
    )
    register(
        CompanyTab(
            id="accounts", label="Plan comptable", endpoint="binder_purchases.accounts", order=20
        )
    )
    register(
        CompanyTab(
            id="suppliers", label="Fournisseurs", endpoint="binder_purchases.suppliers", order=21
        )
    )


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    """Add ``classeur extract FILE --json``."""
    from plugins.binder_purchases.cli import extract

    cli.add_command(extract)


@hookimpl
def seed_demo_company(company: Company) -> None:
    """``classeur init --demo``: the company's "Factures d'achat" binder, chosen as its
    purchase binder, and every accounting element switched on (merged into the section)."""
    from core.plugin_api import create_binder, update_company_settings
    from plugins.binder_purchases.settings import ELEMENTS

    binder = create_binder(company, type=BINDER_TYPE, name="Factures d'achat")
    current = dict((company.settings or {}).get("accounting") or {})
    update_company_settings(
        company,
        "accounting",
        current | {"purchase_binder_id": binder.id, "elements": dict.fromkeys(ELEMENTS, True)},
    )


@hookimpl
def after_document_validated(document: Document, user_id: int | None) -> None:
    """Create the supplier and learn its template; once no connector is left to answer, learn
    the invoice's account, VAT code and IBAN and retrain the firm's model in background."""
    services.after_validation(document)


@hookimpl
def after_export(document: Document, connector: str, result: ExportResult) -> None:
    """A connector's refusal of an account or VAT code is remembered for the supplier; its
    acceptance may complete the invoice's acceptance, which is then learned."""
    services.after_export(document, connector, bool(result.ok))
