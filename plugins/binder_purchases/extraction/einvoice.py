"""Structured e-invoices: CII (Factur-X, ZUGFeRD 1 and 2, XRechnung) and UBL 2.1 XML.

Elements are looked up by local name so that ZUGFeRD 1 (``urn:ferd:...``) and the D16B CII
namespaces are read by the same code.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from .errors import InvoiceReadError
from .fields import empty_fields, fmt_amount
from .identifiers import valid_siren, valid_siret, vat_country
from .numbers import parse_date

_PARSER_KW: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
}

#: UNTDID 4461 payment means code -> payment mode.
PAYMENT_MEANS: dict[str, str] = {
    "10": "cash",
    "20": "cheque",
    "30": "transfer",
    "31": "transfer",
    "42": "transfer",
    "58": "transfer",
    "49": "direct_debit",
    "59": "direct_debit",
    "48": "card",
    "54": "card",
    "55": "card",
    "1": "other",
    "97": "other",
    "ZZZ": "other",
    "57": "transfer",
}

#: VAT category (UNCL 5305) -> regime; the first found in this order wins.
CATEGORY_REGIME: tuple[tuple[str, str], ...] = (
    ("AE", "reverse_charge"),
    ("K", "intra_eu"),
    ("G", "extra_eu"),
)

ZERO_CATEGORIES = frozenset({"AE", "K", "G", "E", "Z", "O"})
CREDIT_NOTE_CODES = frozenset({"381", "261", "262", "396", "532"})


def _path(path: str) -> str:
    """Turn ``A/B`` into an XPath over local names (``*[local-name()='A']/...``)."""
    steps = []
    for step in path.split("/"):
        if step == "..":
            steps.append("..")
        elif step.startswith("@"):
            steps.append(step)
        else:
            steps.append(f"*[local-name()='{step}']")
    return "./" + "/".join(steps)


def _all(el: etree._Element | None, *paths: str) -> list[etree._Element]:
    if el is None:
        return []
    for path in paths:
        found = el.xpath(_path(path))
        if found:
            return list(found)
    return []


def _first(el: etree._Element | None, *paths: str) -> etree._Element | None:
    found = _all(el, *paths)
    return found[0] if found else None


def _text(el: etree._Element | None, *paths: str) -> str | None:
    node = _first(el, *paths) if paths else el
    if node is None or node.text is None:
        return None
    value = " ".join(node.text.split())
    return value or None


def _amount(el: etree._Element | None, *paths: str, currency: str | None = None) -> str | None:
    nodes = _all(el, *paths)
    if currency and len(nodes) > 1:
        # CII may repeat TaxTotalAmount in the accounting currency: keep the invoice one.
        nodes = [n for n in nodes if n.get("currencyID") in (None, currency)] or nodes
    if not nodes or nodes[0].text is None:
        return None
    try:
        return fmt_amount(Decimal(nodes[0].text.strip()))
    except InvalidOperation:
        return None


def _date(el: etree._Element | None, *paths: str) -> str | None:
    raw = _text(el, *paths)
    if raw is None:
        return None
    value = parse_date(raw)
    return value.isoformat() if value else None


def parse_xml(data: bytes) -> etree._Element:
    """Parse XML bytes safely; refuse DTDs (entity expansion, external entities)."""
    if not isinstance(data, bytes | bytearray):
        raise InvoiceReadError("Le document XML est illisible.")
    parser = etree.XMLParser(**_PARSER_KW)
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise InvoiceReadError("Le document XML est mal formé.") from exc
    except (ValueError, etree.LxmlError) as exc:
        raise InvoiceReadError("Le document XML est illisible.") from exc
    if root is None:
        raise InvoiceReadError("Le document XML est vide.")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvoiceReadError(
            "Le document XML contient une déclaration DOCTYPE : refusé par sécurité."
        )
    return root


def read_einvoice(data: bytes) -> dict[str, Any] | None:
    """Read an e-invoice (CII, ZUGFeRD 1/2, Factur-X or UBL Invoice/CreditNote) into fields.

    Returns None when the bytes are well-formed XML but not an e-invoice. Raises
    ``InvoiceReadError`` for malformed XML or any document with a DOCTYPE. Every value the XML
    carries is taken as is, with confidence 1.0.
    """
    if isinstance(data, bytes | bytearray) and b"<!DOCTYPE" in data[:4096].upper():
        raise InvoiceReadError(
            "Le document XML contient une déclaration DOCTYPE : refusé par sécurité."
        )
    root = parse_xml(data)
    name = etree.QName(root).localname
    if name in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        fields = _read_cii(root)
    elif name in ("Invoice", "CreditNote"):
        fields = _read_ubl(root, credit_note=name == "CreditNote")
    else:
        return None
    _finish(fields)
    return fields


def _regime(categories: list[str]) -> str:
    cats = {c.upper() for c in categories if c}
    for code, regime in CATEGORY_REGIME:
        if code in cats:
            return regime
    if cats and cats <= {"E", "O", "Z"} and "E" in cats:
        return "exempt"
    return "standard"


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return fmt_amount(Decimal(value))
    except InvalidOperation:
        return None


def _read_cii(root: etree._Element) -> dict[str, Any]:
    f = empty_fields("einvoice")
    doc = _first(root, "ExchangedDocument", "HeaderExchangedDocument")
    trade = _first(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = _first(
        trade, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement"
    )
    settlement = _first(
        trade, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
    )
    seller = _first(agreement, "SellerTradeParty")

    f["invoice_number"] = _text(doc, "ID")
    f["invoice_date"] = _date(doc, "IssueDateTime/DateTimeString")
    if (_text(doc, "TypeCode") or "") in CREDIT_NOTE_CODES:
        f["document_kind"] = "credit_note"
    currency = _text(settlement, "InvoiceCurrencyCode")
    f["currency"] = currency

    sup = f["supplier"]
    sup["name"] = _text(seller, "Name")
    sup["country"] = _text(seller, "PostalTradeAddress/CountryID")
    for reg in _all(seller, "SpecifiedTaxRegistration/ID"):
        if (reg.get("schemeID") or "").upper() == "VA" and reg.text:
            sup["vat_number"] = "".join(reg.text.split())
    for legal in _all(seller, "SpecifiedLegalOrganization/ID") + _all(seller, "ID"):
        _legal_id(sup, legal.text, legal.get("schemeID"))

    means = _first(settlement, "SpecifiedTradeSettlementPaymentMeans")
    code = _text(means, "TypeCode")
    if code:
        f["payment_mode"] = PAYMENT_MEANS.get(code, "other")
    iban = _text(means, "PayeePartyCreditorFinancialAccount/IBANID")
    if iban:
        sup["iban"] = "".join(iban.split())
    f["due_date"] = _date(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString")

    categories: list[str] = []
    for tax in _all(settlement, "ApplicableTradeTax"):
        categories.append(_text(tax, "CategoryCode") or "")
        f["vat_lines"].append(
            {
                "rate": _rate(_text(tax, "RateApplicablePercent", "ApplicablePercent"))
                or ("0.00" if categories[-1] in ZERO_CATEGORIES else None),
                "base": _amount(tax, "BasisAmount"),
                "amount": _amount(tax, "CalculatedAmount"),
            }
        )
    f["vat_regime"] = _regime(categories)

    total = _first(
        settlement,
        "SpecifiedTradeSettlementHeaderMonetarySummation",
        "SpecifiedTradeSettlementMonetarySummation",
    )
    f["total_excl_tax"] = _amount(total, "TaxBasisTotalAmount")
    f["total_tax"] = _amount(total, "TaxTotalAmount", currency=currency)
    f["total_incl_tax"] = _amount(total, "GrandTotalAmount")
    return f


def _legal_id(sup: dict[str, Any], raw: str | None, scheme: str | None) -> None:
    """Fill SIREN / SIRET from a legal registration id (ICD 0002 = SIREN, 0009 = SIRET)."""
    if not raw:
        return
    value = "".join(raw.split())
    scheme = (scheme or "").upper()
    if scheme == "0009" or (not scheme and valid_siret(value)):
        sup["siret"] = sup["siret"] or value
        sup["siren"] = sup["siren"] or value[:9]
    elif scheme == "0002" or (scheme in ("", "SIREN") and valid_siren(value)):
        sup["siren"] = sup["siren"] or value


def _read_ubl(root: etree._Element, *, credit_note: bool) -> dict[str, Any]:
    f = empty_fields("einvoice")
    f["invoice_number"] = _text(root, "ID")
    f["invoice_date"] = _date(root, "IssueDate")
    type_code = _text(root, "InvoiceTypeCode", "CreditNoteTypeCode") or ""
    if credit_note or type_code in CREDIT_NOTE_CODES:
        f["document_kind"] = "credit_note"
    currency = _text(root, "DocumentCurrencyCode")
    f["currency"] = currency
    f["due_date"] = _date(root, "DueDate") or _date(root, "PaymentMeans/PaymentDueDate")

    party = _first(root, "AccountingSupplierParty/Party")
    sup = f["supplier"]
    sup["name"] = _text(party, "PartyName/Name") or _text(
        party, "PartyLegalEntity/RegistrationName"
    )
    sup["country"] = _text(party, "PostalAddress/Country/IdentificationCode")
    for scheme in _all(party, "PartyTaxScheme"):
        tax_scheme = (_text(scheme, "TaxScheme/ID") or "VAT").upper()
        company_id = _text(scheme, "CompanyID")
        if company_id and tax_scheme == "VAT" and sup["vat_number"] is None:
            sup["vat_number"] = "".join(company_id.split())
    for legal in _all(party, "PartyLegalEntity/CompanyID") + _all(party, "PartyIdentification/ID"):
        _legal_id(sup, legal.text, legal.get("schemeID"))

    means = _first(root, "PaymentMeans")
    code = _text(means, "PaymentMeansCode")
    if code:
        f["payment_mode"] = PAYMENT_MEANS.get(code, "other")
    iban = _text(means, "PayeeFinancialAccount/ID")
    if iban:
        sup["iban"] = "".join(iban.split())

    tax_totals = _all(root, "TaxTotal")
    main = [t for t in tax_totals if (_first(t, "TaxAmount") is not None)]
    chosen = None
    for t in main:
        node = _first(t, "TaxAmount")
        if node is not None and node.get("currencyID") in (None, currency):
            chosen = t
            break
    categories: list[str] = []
    if chosen is not None:
        f["total_tax"] = _amount(chosen, "TaxAmount")
        for sub in _all(chosen, "TaxSubtotal"):
            cat = _first(sub, "TaxCategory", "ClassifiedTaxCategory")
            categories.append(_text(cat, "ID") or "")
            f["vat_lines"].append(
                {
                    "rate": _rate(_text(cat, "Percent"))
                    or ("0.00" if categories[-1] in ZERO_CATEGORIES else None),
                    "base": _amount(sub, "TaxableAmount"),
                    "amount": _amount(sub, "TaxAmount"),
                }
            )
    f["vat_regime"] = _regime(categories)
    total = _first(root, "LegalMonetaryTotal")
    f["total_excl_tax"] = _amount(total, "TaxExclusiveAmount")
    f["total_incl_tax"] = _amount(total, "TaxInclusiveAmount")
    return f


def _finish(f: dict[str, Any]) -> None:
    """Derive what the XML implies (country, SIREN of a French VAT number), set confidence."""
    sup = f["supplier"]
    vat_derived = False
    if sup["country"] is None and sup["vat_number"]:
        sup["country"] = vat_country(sup["vat_number"])
    vat = sup["vat_number"] or ""
    if sup["siren"] is None and vat.upper().startswith("FR") and len(vat) == 13:
        siren = valid_siren(vat[4:])
        if siren:
            sup["siren"], vat_derived = siren, True
    conf: dict[str, float] = {}
    for key in (
        "invoice_number",
        "invoice_date",
        "due_date",
        "currency",
        "total_excl_tax",
        "total_tax",
        "total_incl_tax",
        "payment_mode",
    ):
        if f[key] is not None:
            conf[key] = 1.0
    for key, value in sup.items():
        if value is not None:
            conf[f"supplier.{key}"] = 1.0
    if vat_derived:
        conf["supplier.siren"] = 0.95
    if f["vat_lines"]:
        conf["vat_lines"] = 1.0
    conf["document_kind"] = 1.0
    conf["vat_regime"] = 1.0
    f["confidence"] = conf
