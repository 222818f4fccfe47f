"""A readable rendering of an XML e-invoice (CII / Factur-X / ZUGFeRD, UBL) for the document page.

The fields come from the plugin's own reader (:func:`extraction.einvoice.read_einvoice`: the
parties, references, VAT breakdown, totals, payment), completed here with what the review does
not keep but an accountant reads: the invoice lines, the order reference, the parties'
addresses and the payment means. The XML is parsed by the same safe parser (no DTD, no entity,
no network). The raw XML is shown beside, pretty-printed and escaped.

:func:`panel` is given to the core as the binder type's ``extra["document_panel"]``: called
with a document, it returns the HTML to show (or None when the document holds no e-invoice).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _
from lxml import etree
from markupsafe import Markup

from plugins.binder_purchases.extraction.einvoice import (
    CREDIT_NOTE_CODES,
    PAYMENT_MEANS,
    _all,
    _first,
    _text,
    parse_xml,
    read_einvoice,
)
from plugins.binder_purchases.extraction.errors import InvoiceReadError
from plugins.binder_purchases.extraction.fields import to_decimal
from plugins.binder_purchases.schema import (
    DOCUMENT_KIND_LABELS,
    PAYMENT_MODE_LABELS,
    REGIME_LABELS,
    VAT_CATEGORY_LABELS,
)

log = logging.getLogger("classeur.plugins.binder_purchases")

#: Lines shown at most (an e-invoice may carry thousands).
MAX_LINES = 500
#: Raw XML shown at most, in characters.
MAX_XML_CHARS = 400_000


def _address(el: etree._Element | None, ubl: bool) -> str | None:
    if el is None:
        return None
    if ubl:
        parts = [
            _text(el, "StreetName"),
            _text(el, "AdditionalStreetName"),
            " ".join(p for p in (_text(el, "PostalZone"), _text(el, "CityName")) if p),
            _text(el, "Country/IdentificationCode"),
        ]
    else:
        parts = [
            _text(el, "LineOne"),
            _text(el, "LineTwo"),
            " ".join(p for p in (_text(el, "PostcodeCode"), _text(el, "CityName")) if p),
            _text(el, "CountryID"),
        ]
    return ", ".join(p for p in parts if p) or None


def _cii_details(root: etree._Element) -> dict[str, Any]:
    trade = _first(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = _first(
        trade, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement"
    )
    settlement = _first(
        trade, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
    )
    lines = []
    for item in _all(trade, "IncludedSupplyChainTradeLineItem")[:MAX_LINES]:
        line_settlement = _first(
            item, "SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement"
        )
        lines.append(
            {
                "id": _text(item, "AssociatedDocumentLineDocument/LineID"),
                "name": _text(item, "SpecifiedTradeProduct/Name"),
                "quantity": _text(
                    item,
                    "SpecifiedLineTradeDelivery/BilledQuantity",
                    "SpecifiedSupplyChainTradeDelivery/BilledQuantity",
                ),
                "unit_price": _text(
                    item,
                    "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
                    "SpecifiedSupplyChainTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
                ),
                "rate": _text(
                    line_settlement,
                    "ApplicableTradeTax/RateApplicablePercent",
                    "ApplicableTradeTax/ApplicablePercent",
                ),
                "total": _text(
                    line_settlement,
                    "SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
                    "SpecifiedTradeSettlementMonetarySummation/LineTotalAmount",
                ),
            }
        )
    means = _first(settlement, "SpecifiedTradeSettlementPaymentMeans")
    return {
        "type_code": _text(root, "ExchangedDocument/TypeCode", "HeaderExchangedDocument/TypeCode"),
        "order": _text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID"),
        "buyer_reference": _text(agreement, "BuyerReference"),
        "seller_address": _address(
            _first(agreement, "SellerTradeParty/PostalTradeAddress"), ubl=False
        ),
        "buyer_address": _address(
            _first(agreement, "BuyerTradeParty/PostalTradeAddress"), ubl=False
        ),
        "means_code": _text(means, "TypeCode"),
        "means_text": _text(means, "Information"),
        "remittance": _text(settlement, "PaymentReference"),
        "lines": lines,
    }


def _ubl_details(root: etree._Element) -> dict[str, Any]:
    lines = []
    for item in _all(root, "InvoiceLine", "CreditNoteLine")[:MAX_LINES]:
        lines.append(
            {
                "id": _text(item, "ID"),
                "name": _text(item, "Item/Name") or _text(item, "Item/Description"),
                "quantity": _text(item, "InvoicedQuantity", "CreditedQuantity"),
                "unit_price": _text(item, "Price/PriceAmount"),
                "rate": _text(item, "Item/ClassifiedTaxCategory/Percent"),
                "total": _text(item, "LineExtensionAmount"),
            }
        )
    means = _first(root, "PaymentMeans")
    return {
        "type_code": _text(root, "InvoiceTypeCode", "CreditNoteTypeCode"),
        "order": _text(root, "OrderReference/ID"),
        "buyer_reference": _text(root, "BuyerReference"),
        "seller_address": _address(
            _first(root, "AccountingSupplierParty/Party/PostalAddress"), ubl=True
        ),
        "buyer_address": _address(
            _first(root, "AccountingCustomerParty/Party/PostalAddress"), ubl=True
        ),
        "means_code": _text(means, "PaymentMeansCode"),
        "means_text": None,
        "remittance": _text(means, "PaymentID"),
        "lines": lines,
    }


def format_amount(value: Any, currency: str | None) -> str:
    """``1 250,00 €`` (Babel, in the invoice's currency); the value as is when no number."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    code = (currency or "EUR").upper()
    return format_currency(number, code if re.fullmatch(r"[A-Z]{3}", code) else "EUR")


def format_day(value: str | None) -> str | None:
    """``2026-10-15`` → ``15/10/2026``."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value or "")
    if not m:
        return value
    try:
        return format_date(date(*(int(g) for g in m.groups())), "dd/MM/yyyy")
    except ValueError:
        return value


def format_percent(value: Any) -> str:
    """``5.50`` → ``5,5 %``."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    return f"{format_decimal(number)} %"


def _quantity(value: str | None) -> str:
    """``8.000`` → ``8``, ``2.5`` → ``2,5`` (Babel)."""
    number = to_decimal(value)
    if number is None:
        return value or ""
    return format_decimal(number)


def einvoice_view(data: bytes) -> dict[str, Any] | None:
    """What the page shows of an e-invoice's XML ``data``, every value formatted for a person;
    None when ``data`` is well-formed XML but no e-invoice. Raises ``InvoiceReadError`` (French)
    for malformed XML or a DOCTYPE."""
    fields = read_einvoice(data)
    if fields is None:
        return None
    root = parse_xml(data)
    syntax = "CII" if etree.QName(root).localname.startswith("CrossIndustry") else "UBL"
    details = _cii_details(root) if syntax == "CII" else _ubl_details(root)
    currency = fields.get("currency")

    def money(value: Any) -> str:
        return format_amount(value, currency) if value not in (None, "") else ""

    supplier = dict(fields.get("supplier") or {})
    buyer = dict(fields.get("buyer") or {})
    means_code = details["means_code"]
    mode = PAYMENT_MEANS.get(means_code or "", None) or fields.get("payment_mode")
    credit = (
        fields.get("document_kind") == "credit_note"
        or (details["type_code"] or "") in CREDIT_NOTE_CODES
    )
    pretty = etree.tostring(root, pretty_print=True, encoding="unicode")
    return {
        "syntax": "Factur-X / CII" if syntax == "CII" else "UBL",
        "profile": (fields.get("reading") or {}).get("profile"),
        "kind": DOCUMENT_KIND_LABELS["credit_note" if credit else "invoice"],
        "number": fields.get("invoice_number"),
        "date": format_day(fields.get("invoice_date")) if fields.get("invoice_date") else None,
        "due_date": format_day(fields.get("due_date")) if fields.get("due_date") else None,
        "payment_terms": fields.get("payment_terms"),
        "order": details["order"],
        "buyer_reference": details["buyer_reference"],
        "currency": currency,
        "seller": {**supplier, "address": details["seller_address"]},
        "buyer": {**buyer, "address": details["buyer_address"]},
        "lines": [
            {
                **line,
                "quantity": _quantity(line["quantity"]),
                "unit_price": money(line["unit_price"]),
                "rate": format_percent(line["rate"]) if line["rate"] else "",
                "total": money(line["total"]),
            }
            for line in details["lines"]
        ],
        "vat_lines": [
            {
                "rate": format_percent(v.get("rate")) if v.get("rate") is not None else "",
                "category": VAT_CATEGORY_LABELS.get(v.get("category") or "", v.get("category")),
                "regime": REGIME_LABELS.get(v.get("regime") or "", ""),
                "base": money(v.get("base")),
                "amount": money(v.get("amount")),
            }
            for v in fields.get("vat_lines") or []
        ],
        "totals": [
            (label, money(fields.get(key)))
            for key, label in (
                ("total_excl_tax", _("Total HT")),
                ("total_tax", _("Total TVA")),
                ("total_incl_tax", _("Total TTC")),
                ("amount_due", _("Net à payer")),
            )
            if fields.get(key) not in (None, "")
        ],
        "payment": {
            "mode": PAYMENT_MODE_LABELS.get(mode or "", None),
            "means_code": means_code,
            "means_text": details["means_text"],
            "iban": supplier.get("iban"),
            "reference": details["remittance"],
        },
        "xml": pretty[:MAX_XML_CHARS],
        "xml_cut": len(pretty) > MAX_XML_CHARS,
    }


def _document_xml(document: Any) -> bytes | None:
    from core.plugin_api import classeur
    from plugins.binder_purchases.extraction.files import embedded_xml

    path = Path(classeur().storage.path(document.sha256))
    if document.media_type.endswith("xml"):
        return path.read_bytes()
    if document.media_type == "application/pdf":
        return embedded_xml(path)
    return None


def panel(document: Any) -> Markup | None:
    """The e-invoice's readable view for the document page; None when it holds none."""
    try:
        data = _document_xml(document)
    except OSError:
        log.warning("original of document %s unreadable", document.id)
        return None
    if not data:
        return None
    try:
        view = einvoice_view(data)
    except InvoiceReadError as exc:
        html = render_template("binder_purchases/einvoice.html", error=exc.message)
    else:
        if view is None:
            return None
        html = render_template("binder_purchases/einvoice.html", invoice=view, error=None)
    # The template autoescapes every value (the raw XML included).
    return Markup(html)  # noqa: S704
