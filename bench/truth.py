"""Ground truth for the extraction benchmark, independent of the reader under test.

Reads the EN 16931 business terms of an e-invoice by explicit XPaths, for CII (Factur-X /
ZUGFeRD 2, and ZUGFeRD 1 with its own namespace and element names) and UBL (Invoice and
CreditNote), and maps invoice2data's JSON ground truth to the same form. Nothing here imports
the reader (``plugins.binder_purchases.extraction``): a reader bug must not become the truth.

The result has the shape of the reader's fields dict, restricted to what the source states;
a business term the document does not carry is None (and is not scored). ``_notes`` lists
anything odd in the truth itself (invalid check digits, totals that do not add up...).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from schwifty import IBAN
from stdnum import luhn
from stdnum.eu import vat as eu_vat

NS_CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
NS_ZF1 = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
NS_UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}

#: UNCL 5305 VAT categories whose rate is 0 (BT-118: exempt, reverse charge, intra-EU, export,
#: outside scope, zero rated).
ZERO_CATEGORIES = {"E", "AE", "K", "G", "O", "Z"}

#: UNTDID 1001 document type codes of credit notes (BT-3).
CREDIT_NOTE_CODES = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}

# Business-term XPaths for CII D16B (Factur-X, ZUGFeRD 2, XRechnung CII), relative to the root.
_CII_DOC = "rsm:ExchangedDocument"
_CII_AGR = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
_CII_SET = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
_CII_SUM = f"{_CII_SET}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
CII_PATHS = {
    "BT-1": f"{_CII_DOC}/ram:ID",
    "BT-2": f"{_CII_DOC}/ram:IssueDateTime/udt:DateTimeString",
    "BT-3": f"{_CII_DOC}/ram:TypeCode",
    "BT-5": f"{_CII_SET}/ram:InvoiceCurrencyCode",
    "BT-9": f"{_CII_SET}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
    "BT-84": f"{_CII_SET}/ram:SpecifiedTradeSettlementPaymentMeans"
    "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",
    "BT-109": f"{_CII_SUM}/ram:TaxBasisTotalAmount",
    "BT-110": f"{_CII_SUM}/ram:TaxTotalAmount",
    "BT-112": f"{_CII_SUM}/ram:GrandTotalAmount",
    "BT-115": f"{_CII_SUM}/ram:DuePayableAmount",
    "BG-23": f"{_CII_SET}/ram:ApplicableTradeTax",
    "BG-23.rate": "ram:RateApplicablePercent",
    "BG-23.base": "ram:BasisAmount",
    "BG-23.amount": "ram:CalculatedAmount",
    "BG-23.category": "ram:CategoryCode",
    "seller": f"{_CII_AGR}/ram:SellerTradeParty",
    "buyer": f"{_CII_AGR}/ram:BuyerTradeParty",
    # Relative to a trade party.
    "name": "ram:Name",
    "trade_name": "ram:SpecifiedLegalOrganization/ram:TradingBusinessName",
    "party_id": "ram:ID | ram:GlobalID",
    "legal_id": "ram:SpecifiedLegalOrganization/ram:ID",
    "tax_reg": "ram:SpecifiedTaxRegistration/ram:ID",
    "country": "ram:PostalTradeAddress/ram:CountryID",
}
# ZUGFeRD 1 (urn:ferd:CrossIndustryDocument:invoice:1p0): older element names.
_ZF1_DOC = "rsm:HeaderExchangedDocument"
_ZF1_AGR = "rsm:SpecifiedSupplyChainTradeTransaction/ram:ApplicableSupplyChainTradeAgreement"
_ZF1_SET = "rsm:SpecifiedSupplyChainTradeTransaction/ram:ApplicableSupplyChainTradeSettlement"
_ZF1_SUM = f"{_ZF1_SET}/ram:SpecifiedTradeSettlementMonetarySummation"
ZF1_PATHS = {
    **CII_PATHS,
    "BT-1": f"{_ZF1_DOC}/ram:ID",
    "BT-2": f"{_ZF1_DOC}/ram:IssueDateTime/udt:DateTimeString",
    "BT-3": f"{_ZF1_DOC}/ram:TypeCode",
    "BT-5": f"{_ZF1_SET}/ram:InvoiceCurrencyCode",
    "BT-9": f"{_ZF1_SET}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
    "BT-84": f"{_ZF1_SET}/ram:SpecifiedTradeSettlementPaymentMeans"
    "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",
    "BT-109": f"{_ZF1_SUM}/ram:TaxBasisTotalAmount",
    "BT-110": f"{_ZF1_SUM}/ram:TaxTotalAmount",
    "BT-112": f"{_ZF1_SUM}/ram:GrandTotalAmount",
    "BT-115": f"{_ZF1_SUM}/ram:DuePayableAmount",
    "BG-23": f"{_ZF1_SET}/ram:ApplicableTradeTax",
    "BG-23.rate": "ram:ApplicablePercent",
    "seller": f"{_ZF1_AGR}/ram:SellerTradeParty",
    "buyer": f"{_ZF1_AGR}/ram:BuyerTradeParty",
}
# UBL 2.1 Invoice / CreditNote; "{root}" is inv:Invoice or cn:CreditNote.
UBL_PATHS = {
    "BT-1": "cbc:ID",
    "BT-2": "cbc:IssueDate",
    "BT-3": "cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode",
    "BT-5": "cbc:DocumentCurrencyCode",
    "BT-9": "cbc:DueDate | cac:PaymentMeans/cbc:PaymentDueDate",
    "BT-84": "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID",
    "BT-109": "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
    "BT-110": "cac:TaxTotal/cbc:TaxAmount",
    "BT-112": "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
    "BT-115": "cac:LegalMonetaryTotal/cbc:PayableAmount",
    "BG-23": "cac:TaxTotal/cac:TaxSubtotal",
    "BG-23.rate": "cac:TaxCategory/cbc:Percent",
    "BG-23.base": "cbc:TaxableAmount",
    "BG-23.amount": "cbc:TaxAmount",
    "BG-23.category": "cac:TaxCategory/cbc:ID",
    "seller": "cac:AccountingSupplierParty/cac:Party",
    "buyer": "cac:AccountingCustomerParty/cac:Party",
    "name": "cac:PartyLegalEntity/cbc:RegistrationName",
    "trade_name": "cac:PartyName/cbc:Name",
    "party_id": "cac:PartyIdentification/cbc:ID",
    "legal_id": "cac:PartyLegalEntity/cbc:CompanyID",
    "tax_reg": "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
    "country": "cac:PostalAddress/cac:Country/cbc:IdentificationCode",
}


def compact(value: str | None) -> str | None:
    """Remove every whitespace; empty becomes None."""
    if value is None:
        return None
    out = "".join(value.split())
    return out or None


def valid_siren(value: str) -> bool:
    """A 9-digit SIREN with a valid Luhn key."""
    return bool(re.fullmatch(r"\d{9}", value)) and luhn.is_valid(value)


def valid_siret(value: str) -> bool:
    """A 14-digit SIRET with a valid Luhn key (La Poste's SIRETs are checked otherwise)."""
    if not re.fullmatch(r"\d{14}", value):
        return False
    return luhn.is_valid(value) or (value.startswith("356000000") and sum(map(int, value)) % 5 == 0)


def fr_vat_key(siren: str) -> str:
    """The two-digit key of the French VAT number of a SIREN."""
    return f"{(12 + 3 * (int(siren) % 97)) % 97:02d}"


def amount(text: str | None) -> str | None:
    """An XML amount as a plain decimal string (as written, spaces removed), None if invalid."""
    text = compact(text)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return f"{value:f}" if value.is_finite() else None


def xml_date(text: str | None) -> str | None:
    """CII format 102 (YYYYMMDD) or ISO date to ISO, None when not a date."""
    text = compact(text)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(data, parser)


def _empty_truth(syntax: str) -> dict[str, Any]:
    return {
        "syntax": syntax,
        "type_code": None,
        "document_kind": None,
        "invoice_number": None,
        "invoice_date": None,
        "due_date": None,
        "currency": None,
        "total_excl_tax": None,
        "total_tax": None,
        "total_incl_tax": None,
        "amount_due": None,
        "vat_lines": [],
        "supplier": dict.fromkeys(
            ("name", "trade_name", "siren", "siret", "vat_number", "iban", "country")
        ),
        "buyer": dict.fromkeys(("name", "siren", "siret", "vat_number", "country")),
        "_notes": [],
    }


def _party(
    node: etree._Element | None,
    paths: dict[str, str],
    ns: dict[str, str],
    notes: list[str],
    role: str,
) -> dict[str, Any]:
    """Name, identifiers and country of a trade party (``role``: seller or buyer)."""
    out: dict[str, Any] = {
        "name": None,
        "trade_name": None,
        "siren": None,
        "siret": None,
        "vat_number": None,
        "country": None,
    }
    if node is None:
        return out

    def first(path: str) -> str | None:
        found = node.xpath(path, namespaces=ns)
        return (found[0].text or "").strip() or None if found else None

    out["name"] = " ".join((first(paths["name"]) or "").split()) or None
    out["trade_name"] = " ".join((first(paths["trade_name"]) or "").split()) or None
    out["country"] = compact(first(paths["country"]))
    for reg in node.xpath(paths["tax_reg"], namespaces=ns):
        scheme = (reg.get("schemeID") or "VA").upper()
        if scheme in ("VA", "VAT") and compact(reg.text) and out["vat_number"] is None:
            out["vat_number"] = compact(reg.text).upper()
    # BT-29 (seller identifier) then BT-30 (legal registration): ICD 0002 SIREN, 0009 SIRET.
    ids = node.xpath(paths["legal_id"], namespaces=ns) + node.xpath(
        paths["party_id"], namespaces=ns
    )
    for ident in ids:
        scheme = (ident.get("schemeID") or "").strip()
        value = compact(ident.text) or ""
        if scheme == "0002" and re.fullmatch(r"\d{9}", value):
            out["siren"] = out["siren"] or value
        elif scheme == "0009" and re.fullmatch(r"\d{14}", value):
            out["siret"] = out["siret"] or value
            out["siren"] = out["siren"] or value[:9]
    vat = out["vat_number"] or ""
    m = re.fullmatch(r"FR([0-9A-Z]{2})(\d{9})", vat)
    if m:
        if out["siren"] is None:
            out["siren"] = m[2]
        elif out["siren"] != m[2]:
            notes.append(f"{role} SIREN {out['siren']} differs from VAT number {vat}")
        if m[1].isdigit() and m[1] != fr_vat_key(m[2]):
            notes.append(f"{role} VAT number {vat}: wrong key (FR{fr_vat_key(m[2])} expected)")
    elif vat and not eu_vat.is_valid(vat) and not vat.endswith("MVA"):
        notes.append(f"{role} VAT number {vat}: not a valid EU VAT number")
    if out["siren"] and not valid_siren(out["siren"]):
        notes.append(f"{role} SIREN {out['siren']}: invalid Luhn key")
    if out["siret"] and not valid_siret(out["siret"]):
        notes.append(f"{role} SIRET {out['siret']}: invalid Luhn key")
    return out


def truth_from_xml(data: bytes) -> dict[str, Any] | None:
    """The EN 16931 business terms of a CII / ZUGFeRD 1 / UBL e-invoice; None if not one."""
    root = _parse(data)
    qname = etree.QName(root)
    if qname.localname == "CrossIndustryInvoice":
        ns, paths, syntax = {**NS_CII, "rsm": qname.namespace or NS_CII["rsm"]}, CII_PATHS, "CII"
    elif qname.localname == "CrossIndustryDocument":
        ns, paths, syntax = NS_ZF1, ZF1_PATHS, "ZUGFeRD1"
    elif qname.localname in ("Invoice", "CreditNote") and qname.namespace in (
        NS_UBL["inv"],
        NS_UBL["cn"],
    ):
        ns, paths, syntax = NS_UBL, UBL_PATHS, "UBL"
    else:
        return None
    t = _empty_truth(syntax)
    notes: list[str] = t["_notes"]

    def nodes(key: str, base: etree._Element = root) -> list[etree._Element]:
        return base.xpath(paths[key], namespaces=ns)

    def first(key: str, base: etree._Element = root) -> str | None:
        found = nodes(key, base)
        return (found[0].text or "").strip() or None if found else None

    t["invoice_number"] = first("BT-1")
    t["invoice_date"] = xml_date(first("BT-2"))
    t["due_date"] = xml_date(first("BT-9"))
    t["currency"] = compact(first("BT-5"))
    type_code = compact(first("BT-3")) or ""
    t["type_code"] = type_code
    credit = qname.localname == "CreditNote" or type_code in CREDIT_NOTE_CODES
    t["document_kind"] = "credit_note" if credit else "invoice"
    t["total_excl_tax"] = amount(first("BT-109"))
    t["total_incl_tax"] = amount(first("BT-112"))
    t["amount_due"] = amount(first("BT-115"))
    # BT-110 is the tax total in the invoice currency; BT-111 (same element, other currency)
    # is the one in the accounting currency.
    taxes = nodes("BT-110")
    for node in taxes:
        if node.get("currencyID") in (None, t["currency"]) or len(taxes) == 1:
            t["total_tax"] = amount(node.text)
            break
    for sub in nodes("BG-23"):
        if syntax == "UBL":
            parent_tax = sub.getparent().find(f"{{{NS_UBL['cbc']}}}TaxAmount")
            if (
                parent_tax is not None
                and len(taxes) > 1
                and parent_tax.get("currencyID") not in (None, t["currency"])
            ):
                continue
        rate = amount(first("BG-23.rate", sub))
        if rate is None and (compact(first("BG-23.category", sub)) or "") in ZERO_CATEGORIES:
            rate = "0"  # exempt, reverse charge, export...: a 0 % line without a rate
        t["vat_lines"].append(
            {
                "rate": rate,
                "base": amount(first("BG-23.base", sub)),
                "amount": amount(first("BG-23.amount", sub)),
            }
        )
    iban = (compact(first("BT-84")) or "").upper()
    if iban and not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        # BT-84 may be a non-IBAN account identifier: not an IBAN, not scored.
        notes.append(f"payment account {iban!r} is not IBAN-shaped: IBAN not scored")
    elif iban:
        t["supplier"]["iban"] = iban
        try:
            IBAN(iban)
        except ValueError as exc:
            notes.append(f"IBAN {iban}: printed but not a valid IBAN ({exc})")
    seller = nodes("seller")
    t["supplier"].update(_party(seller[0] if seller else None, paths, ns, notes, "seller"))
    buyer = nodes("buyer")
    t["buyer"].update(_party(buyer[0] if buyer else None, paths, ns, notes, "buyer"))
    _check_totals(t, notes)
    return t


def _dec(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def _check_totals(t: dict[str, Any], notes: list[str]) -> None:
    ht, tva, ttc = (_dec(t[k]) for k in ("total_excl_tax", "total_tax", "total_incl_tax"))
    if ht is not None and tva is not None and ttc is not None and ht + tva != ttc:
        notes.append(f"totals do not add up: {ht} + {tva} != {ttc}")
    if t["due_date"] and t["invoice_date"] and t["due_date"] < t["invoice_date"]:
        notes.append(f"due date {t['due_date']} before the invoice date {t['invoice_date']}")
    due = _dec(t["amount_due"])
    if due is not None and ttc is not None and due != ttc:
        notes.append(f"amount due {due} differs from total {ttc} (prepaid or rounding)")
    if t["document_kind"] == "credit_note" and ttc is not None and ttc < 0:
        notes.append("credit note with negative totals")
    if t.get("type_code") == "380" and ttc is not None and ttc < 0:
        notes.append("type code 380 (invoice) with negative totals: a credit note in disguise")


def truth_from_invoice2data(entry: dict[str, Any]) -> dict[str, Any]:
    """invoice2data's JSON ground truth (its own key names) in the fields form."""
    t = _empty_truth("invoice2data")
    notes: list[str] = t["_notes"]
    t["invoice_number"] = (
        compact(str(entry["invoice_number"])) if "invoice_number" in entry else None
    )
    t["invoice_date"] = xml_date(entry.get("date"))
    t["due_date"] = xml_date(entry.get("date_due"))
    t["currency"] = entry.get("currency")
    ttc = entry.get("amount")
    ht = entry.get("amount_untaxed")
    if ttc is not None:
        t["total_incl_tax"] = f"{Decimal(str(ttc)):.2f}"
    if ht is not None:
        t["total_excl_tax"] = f"{Decimal(str(ht)):.2f}"
    if ttc is not None and ht is not None:
        # Not in invoice2data's JSON: derived (TTC - HT).
        t["total_tax"] = f"{Decimal(str(ttc)) - Decimal(str(ht)):.2f}"
    sup = t["supplier"]
    sup["name"] = entry.get("partner_name") or entry.get("issuer")
    sup["vat_number"] = compact(entry.get("vat"))
    sup["siren"] = compact(entry.get("siren"))
    sup["iban"] = compact(entry.get("iban"))
    sup["country"] = entry.get("country_code")
    vat = sup["vat_number"] or ""
    m = re.fullmatch(r"FR([0-9A-Z]{2})(\d{9})", vat)
    if m and sup["siren"] is None:
        sup["siren"] = m[2]
    if sup["siren"] and not valid_siren(sup["siren"]):
        notes.append(f"SIREN {sup['siren']}: invalid Luhn key")
    t["document_kind"] = "invoice"
    return t


def merge_truths(truths: list[dict[str, Any]]) -> dict[str, Any]:
    """One truth from several XMLs of the same printed document (e.g. Factur-X profiles).

    A term takes the first non-empty value; disagreements between the XMLs are noted.
    """
    out = _empty_truth(truths[0]["syntax"])
    notes: list[str] = out["_notes"]
    for t in truths:
        for note in t["_notes"]:
            if note not in notes:
                notes.append(note)
    for key, value in out.items():
        if key in ("_notes", "syntax"):
            continue
        if isinstance(value, dict):
            for sub in value:
                vals = [t[key][sub] for t in truths if t[key].get(sub) is not None]
                value[sub] = vals[0] if vals else None
                if len({str(v) for v in vals}) > 1:
                    notes.append(f"profiles disagree on {key}.{sub}: {sorted(set(vals))}")
        elif key == "vat_lines":
            vals = [t[key] for t in truths if t[key]]
            out[key] = max(vals, key=len) if vals else []
        else:
            vals = [t[key] for t in truths if t.get(key) is not None]
            out[key] = vals[0] if vals else None
            distinct = {str(_dec(v)) if _dec(v) is not None else str(v) for v in vals}
            if len(distinct) > 1:
                notes.append(f"profiles disagree on {key}: {sorted(set(map(str, vals)))}")
    return out
