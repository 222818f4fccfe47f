"""Structured e-invoices: CII (Factur-X, ZUGFeRD 1 and 2, XRechnung) and UBL 2.1 XML.

Each field is read from the element the norm EN 16931 binds its business term (BT-n) to, in
either syntax. Elements are looked up by local name so that ZUGFeRD 1 (``urn:ferd:...``) and the
D16B CII namespaces are read by the same code; where ZUGFeRD 1 names an element differently
(``ApplicableSupplyChainTradeSettlement``, ``SpecifiedTradeSettlementMonetarySummation``,
``ApplicablePercent``...) both names are tried.

Business terms read (CII path / UBL path):

- BT-1 invoice number, BT-2 issue date, BT-3 type (credit note codes of UNTDID 1001, or a UBL
  ``CreditNote``; an invoice type in negative amounts stays an invoice, as BT-3 says), BT-5
  currency, BT-9 due date (``SpecifiedTradePaymentTerms/DueDateDateTime`` / ``DueDate`` or
  ``PaymentMeans/PaymentDueDate``), BT-20 payment terms (``SpecifiedTradePaymentTerms/
  Description`` / ``PaymentTerms/Note``) read as a rule (``terms.py``) into ``payment_terms``,
  and into ``due_date`` with ``due_date_rule`` when BT-9 is absent;
- seller: BT-27 legal name (``SellerTradeParty/Name`` / ``PartyLegalEntity/RegistrationName``)
  into ``supplier.name``, BT-28 trade name (``SpecifiedLegalOrganization/TradingBusinessName``
  / ``PartyName/Name``) into ``supplier.trade_name``, BT-29 identifiers and BT-30 legal
  registration with their ICD scheme (0002 SIREN, 0009 SIRET), BT-31 VAT number of any country
  (``SpecifiedTaxRegistration/ID[@schemeID='VA']`` / ``PartyTaxScheme`` of scheme VAT; never
  BT-32, the tax registration ``FC``), BT-40 country;
- BT-84 the payee's IBAN (``PayeePartyCreditorFinancialAccount/IBANID`` or ``ProprietaryID``
  / ``PayeeFinancialAccount/ID``), the first one shaped like an IBAN (kept as stated even when
  its check digits fail: the review flags it);
- buyer: BT-44 name, BT-46 identifiers, BT-47 legal registration, BT-48 VAT number, BT-55
  country into ``buyer``;
- totals: BT-109 without VAT, BT-110 VAT total in the invoice currency (never BT-111, the VAT
  total in the accounting currency), BT-112 with VAT, BT-115 amount due into ``amount_due``;
- VAT breakdown BG-23: one VAT line per breakdown, with its rate, base, amount, UNCL 5305
  category (BT-118) and the regime the category gives (S, Z standard; AE reverse charge; K
  intra-EU; G export; E, O, L, M exempt); ``vat_regime`` is the regime every line shares, or
  "mixed" when they differ; and the payment means code (BT-81).

A credit note's amounts are negative (totals, amount due and VAT lines), whatever their sign in
the XML (EN 16931 states a credit note's amounts in positive).

Every value taken from the XML has confidence 1.0; a value the XML only implies (a SIREN from a
French VAT number, a country from a VAT prefix) 0.95; a legal name taken from the trade name
when the XML has no legal name 0.9; a due date computed from the payment terms 0.85; the payment
terms read from BT-20's free text, and a due date it states ("30 Tage netto bis 04.04.2018"),
0.9. ``reading`` says ``{"method": "einvoice", "syntax": "CII" or
"UBL", "profile": <guideline / customization id>}``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from .errors import InvoiceReadError
from .fields import (
    BUYER_KEYS,
    CATEGORY_REGIME,
    SUPPLIER_KEYS,
    empty_fields,
    fmt_amount,
    fmt_date,
    invoice_regime,
    sign_credit_note,
)
from .identifiers import compact, valid_iban, valid_siren, valid_siret, vat_country
from .terms import read_terms

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

ZERO_CATEGORIES = frozenset({"AE", "K", "G", "E", "Z", "O"})
#: UNTDID 1001 document types that are credit notes (BT-3).
CREDIT_NOTE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

#: ISO 6523 ICD codes of the French company register (SIRENE).
ICD_SIREN = "0002"
ICD_SIRET = "0009"
_SIREN_SCHEMES = frozenset({ICD_SIREN, "SIREN"})
_SIRET_SCHEMES = frozenset({ICD_SIRET, "SIRET"})
#: Countries whose companies have a SIREN: France and the overseas territories SIRENE covers.
SIRENE_COUNTRIES = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"})

#: Same formats as the binder's validation (``plugins/binder_purchases/fields.py``): a value the
#: validation would refuse is not taken from the XML.
_VAT_FORMAT = re.compile(r"[A-Z]{2}[0-9A-Z+*]{2,18}")
_COUNTRY_FORMAT = re.compile(r"[A-Z]{2}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DIGITS_8 = re.compile(r"(\d{4})(\d{2})(\d{2})")

#: Confidence of a value the XML implies without stating it.
DERIVED = 0.95
#: Confidence of a legal name taken from the trade name (the XML has no legal name).
FALLBACK_NAME = 0.9
#: Confidence of a due date computed from the payment terms (BT-20), of the terms themselves.
TERMS_DUE_DATE = 0.85
TERMS = 0.9


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
    """Elements at the first of ``paths`` that matches anything (relative to ``el``)."""
    if el is None:
        return []
    for path in paths:
        found = el.xpath(_path(path))
        if found:
            return list(found)
    return []


def _every(el: etree._Element | None, *paths: str) -> list[etree._Element]:
    """Elements at every one of ``paths``, in the order of ``paths``."""
    if el is None:
        return []
    out: list[etree._Element] = []
    for path in paths:
        out.extend(el.xpath(_path(path)))
    return out


def _first(el: etree._Element | None, *paths: str) -> etree._Element | None:
    found = _all(el, *paths)
    return found[0] if found else None


def _text(el: etree._Element | None, *paths: str) -> str | None:
    node = _first(el, *paths) if paths else el
    if node is None or node.text is None:
        return None
    value = " ".join(node.text.split())
    return value or None


def _to_amount(node: etree._Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    try:
        value = Decimal(node.text.strip())
    except InvalidOperation:
        return None
    return fmt_amount(value) if value.is_finite() else None


def _amount(el: etree._Element | None, *paths: str) -> str | None:
    return _to_amount(_first(el, *paths))


def _in_currency(nodes: list[etree._Element], currency: str | None) -> etree._Element | None:
    """The amount in the invoice currency among ``nodes`` (an amount without currencyID is)."""
    for node in nodes:
        unit = (node.get("currencyID") or "").strip().upper()
        if not unit or not currency or unit == currency.upper():
            return node
    return None


def _make_date(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _cii_date(el: etree._Element | None, path: str) -> str | None:
    """A CII date: ``udt:DateTimeString`` of format 102 (CCYYMMDD)."""
    node = _first(el, path)
    raw = _text(node)
    if node is None or raw is None:
        return None
    if (node.get("format") or "102").strip() != "102":
        return None  # 610 (a month) or 616 (a week) is not a day
    m = _DIGITS_8.fullmatch(raw) or _ISO_DATE.match(raw)  # an ISO date is tolerated
    return _make_date(*m.groups()) if m else None


def _ubl_date(el: etree._Element | None, path: str) -> str | None:
    """A UBL date: ``YYYY-MM-DD`` (a time zone suffix is ignored)."""
    raw = _text(el, path)
    m = _ISO_DATE.match(raw) if raw else None
    return _make_date(*m.groups()) if m else None


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


def _iban(accounts: list[str | None]) -> str | None:
    """The payee's IBAN: the first account that validates as one, else the first shaped like
    one, as the seller stated it (a checksum failure is for the review to flag, not a reason to
    lose what the XML carries); None when no account looks like an IBAN."""
    shaped = None
    for raw in accounts:
        if not raw:
            continue
        valid = valid_iban(raw)
        if valid:
            return valid
        value = compact(raw)
        if shaped is None and re.fullmatch(r"[A-Z]{2}\d{2}[0-9A-Z]{8,30}", value):
            shaped = value
    return shaped


def read_einvoice(data: bytes) -> dict[str, Any] | None:
    """Read an e-invoice (CII, ZUGFeRD 1/2, Factur-X or UBL Invoice/CreditNote) into fields.

    Returns None when the bytes are well-formed XML but not an e-invoice. Raises
    ``InvoiceReadError`` for malformed XML or any document with a DOCTYPE. Every value the XML
    carries is taken as is, with confidence 1.0 (see the module's docstring for the values it
    only implies); a value the binder's validation would refuse (an account id not shaped like
    an IBAN, a tax number that is no VAT number) is left out.
    """
    if isinstance(data, bytes | bytearray) and b"<!DOCTYPE" in data[:4096].upper():
        raise InvoiceReadError(
            "Le document XML contient une déclaration DOCTYPE : refusé par sécurité."
        )
    root = parse_xml(data)
    name = etree.QName(root).localname
    reader = _Reader()
    if name in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        reader.read_cii(root)
    elif name in ("Invoice", "CreditNote"):
        reader.read_ubl(root, credit_note=name == "CreditNote")
    else:
        return None
    return reader.finish()


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return fmt_amount(Decimal(value))
    except InvalidOperation:
        return None


class _Party:
    """A seller or buyer being read: values with their confidence, the first value wins."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.values: dict[str, Any] = dict.fromkeys(keys)
        self.conf: dict[str, float] = {}
        self._sirens: list[tuple[str, float]] = []
        self._sirets: list[str] = []

    def set(self, key: str, value: str | None, conf: float = 1.0) -> None:
        if value and key in self.values and self.values[key] is None:
            self.values[key] = value
            self.conf[key] = conf

    def country(self, raw: str | None) -> None:
        code = (raw or "").strip().upper()
        if _COUNTRY_FORMAT.fullmatch(code):
            self.set("country", code)

    def vat_number(self, raw: str | None) -> None:
        """BT-31 / BT-48: any country's VAT number, spaces, dots and dashes removed."""
        value = compact(raw or "")
        if _VAT_FORMAT.fullmatch(value):
            self.set("vat_number", value)

    def french(self) -> bool:
        """Whether the party is registered in France (country, else its VAT number's prefix)."""
        country = self.values.get("country")
        if country:
            return country in SIRENE_COUNTRIES
        return str(self.values.get("vat_number") or "").startswith("FR")

    def identifier(self, raw: str | None, scheme: str | None) -> None:
        """A company identifier (BT-29/30, BT-46/47) with its ISO 6523 ICD scheme.

        0002 is a SIREN, 0009 a SIRET (14 digits under 0002 are a SIRET too: the FNFE samples
        label SIRETs so). Without a scheme, the id counts when it passes the SIREN / SIRET
        checksum and the party is French. Other schemes (GLN 0088, DUNS 0060...) are ignored.
        """
        value = compact(raw or "")
        scheme = (scheme or "").strip().upper()
        if scheme in _SIRET_SCHEMES or (scheme in _SIREN_SCHEMES and len(value) == 14):
            if re.fullmatch(r"\d{14}", value):
                self._sirets.append(value)
        elif scheme in _SIREN_SCHEMES:
            if re.fullmatch(r"\d{9}", value):
                self._sirens.append((value, 1.0))
        elif not scheme and self.french():
            if valid_siret(value):
                self._sirets.append(value)
            elif valid_siren(value):
                self._sirens.append((value, 1.0))

    def settle(self) -> None:
        """Fill SIREN / SIRET from the identifiers read, then what the VAT number implies."""
        if self._sirets:
            self.set("siret", self._sirets[0])
        if self._sirens:
            self.set("siren", *self._sirens[0])
        elif self._sirets:
            self.set("siren", self._sirets[0][:9])
        vat = str(self.values.get("vat_number") or "")
        if vat.startswith("FR") and len(vat) == 13:
            self.set("siren", valid_siren(vat[4:]), DERIVED)
        if vat:
            self.set("country", vat_country(vat), DERIVED)


class _Reader:
    """Collects the fields of one e-invoice, then :meth:`finish` returns the dictionary."""

    def __init__(self) -> None:
        self.f = empty_fields("einvoice")
        self.conf: dict[str, float] = {}
        self.seller = _Party(SUPPLIER_KEYS)
        self.buyer = _Party(BUYER_KEYS)
        #: Whether every VAT line's category is a known UNCL 5305 code.
        self.categories_known = True
        #: BT-20 payment terms texts.
        self.terms: list[str | None] = []

    def put(self, key: str, value: Any) -> None:
        if value is not None and self.f.get(key) is None:
            self.f[key] = value
            self.conf[key] = 1.0

    def vat_line(
        self, category: str | None, rate: str | None, base: str | None, amount: str | None
    ) -> None:
        """One VAT breakdown (BG-23) with its category (BT-118) and the regime it gives; an
        unknown category leaves the category None and the line in the standard regime."""
        code = (category or "").strip().upper()
        if code not in CATEGORY_REGIME:
            self.categories_known = False
        known = code if code in CATEGORY_REGIME else None
        self.f["vat_lines"].append(
            {
                "rate": _rate(rate) or ("0.00" if code in ZERO_CATEGORIES else None),
                "base": base,
                "amount": amount,
                "category": known,
                "regime": CATEGORY_REGIME[known] if known else "standard",
            }
        )

    def payment_terms(self) -> None:
        """BT-20 read as a rule; the due date computed from it when BT-9 is absent."""
        for text in self.terms:
            terms = read_terms(text or "")
            if terms is None:
                continue
            self.f["payment_terms"] = terms.rule
            self.conf["payment_terms"] = TERMS
            issued = self.f.get("invoice_date")
            if self.f.get("due_date") is None and issued:
                day = date.fromisoformat(issued)
                self.f["due_date"] = fmt_date(terms.due(day))
                if terms.states_due(day):  # "... netto bis 04.04.2018": stated, not computed
                    self.conf["due_date"] = TERMS
                else:
                    self.f["due_date_rule"] = terms.rule
                    self.conf["due_date"] = TERMS_DUE_DATE
            return

    # -- CII --------------------------------------------------------------------------------

    def read_cii(self, root: etree._Element) -> None:
        f = self.f
        context = _first(root, "ExchangedDocumentContext", "SpecifiedExchangedDocumentContext")
        doc = _first(root, "ExchangedDocument", "HeaderExchangedDocument")
        trade = _first(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
        agreement = _first(
            trade, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement"
        )
        settlement = _first(
            trade, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
        )
        f["reading"] = {
            "method": "einvoice",
            "syntax": "CII",
            "profile": _text(context, "GuidelineSpecifiedDocumentContextParameter/ID"),
        }

        self.put("invoice_number", _text(doc, "ID"))
        self.put("invoice_date", _cii_date(doc, "IssueDateTime/DateTimeString"))
        if (_text(doc, "TypeCode") or "") in CREDIT_NOTE_CODES:
            f["document_kind"] = "credit_note"
        currency = (_text(settlement, "InvoiceCurrencyCode") or "").upper() or None
        self.put("currency", currency)

        self._cii_party(self.seller, _first(agreement, "SellerTradeParty"), seller=True)
        self._cii_party(self.buyer, _first(agreement, "BuyerTradeParty"), seller=False)

        accounts: list[str | None] = []
        for means in _all(settlement, "SpecifiedTradeSettlementPaymentMeans"):
            code = _text(means, "TypeCode")
            if code:
                self.put("payment_mode", PAYMENT_MEANS.get(code, "other"))
            for account in _all(means, "PayeePartyCreditorFinancialAccount"):
                accounts += [_text(account, "IBANID"), _text(account, "ProprietaryID")]
        self.seller.set("iban", _iban(accounts))
        for terms in _all(settlement, "SpecifiedTradePaymentTerms"):
            self.put("due_date", _cii_date(terms, "DueDateDateTime/DateTimeString"))
            self.terms.append(_text(terms, "Description"))

        for tax in _all(settlement, "ApplicableTradeTax"):
            self.vat_line(
                _text(tax, "CategoryCode"),
                _text(tax, "RateApplicablePercent", "ApplicablePercent"),
                _amount(tax, "BasisAmount"),
                _amount(tax, "CalculatedAmount"),
            )

        total = _first(
            settlement,
            "SpecifiedTradeSettlementHeaderMonetarySummation",
            "SpecifiedTradeSettlementMonetarySummation",
        )
        self.put("total_excl_tax", _amount(total, "TaxBasisTotalAmount"))
        # BT-110 is the TaxTotalAmount in the invoice currency; another one is BT-111.
        self.put("total_tax", _to_amount(_in_currency(_all(total, "TaxTotalAmount"), currency)))
        self.put("total_incl_tax", _amount(total, "GrandTotalAmount"))
        self.put("amount_due", _amount(total, "DuePayableAmount"))

    def _cii_party(self, party: _Party, el: etree._Element | None, *, seller: bool) -> None:
        if el is None:
            return
        party.set("name", _text(el, "Name"))
        if seller:
            party.set("trade_name", _text(el, "SpecifiedLegalOrganization/TradingBusinessName"))
        party.country(_text(el, "PostalTradeAddress/CountryID"))
        for reg in _all(el, "SpecifiedTaxRegistration/ID"):
            if (reg.get("schemeID") or "").strip().upper() == "VA":
                party.vat_number(reg.text)
        # BT-30 / BT-47 legal registration first, then BT-29 / BT-46 identifiers, then the
        # electronic address (BT-34 / BT-49) when its scheme is SIREN or SIRET.
        for node in _every(el, "SpecifiedLegalOrganization/ID", "ID", "GlobalID"):
            party.identifier(node.text, node.get("schemeID"))
        for node in _every(el, "URIUniversalCommunication/URIID"):
            if (node.get("schemeID") or "").strip() in (ICD_SIREN, ICD_SIRET):
                party.identifier(node.text, node.get("schemeID"))

    # -- UBL --------------------------------------------------------------------------------

    def read_ubl(self, root: etree._Element, *, credit_note: bool) -> None:
        f = self.f
        f["reading"] = {
            "method": "einvoice",
            "syntax": "UBL",
            "profile": _text(root, "CustomizationID"),
        }
        self.put("invoice_number", _text(root, "ID"))
        self.put("invoice_date", _ubl_date(root, "IssueDate"))
        type_code = _text(root, "InvoiceTypeCode", "CreditNoteTypeCode") or ""
        if credit_note or type_code in CREDIT_NOTE_CODES:
            f["document_kind"] = "credit_note"
        currency = (_text(root, "DocumentCurrencyCode") or "").upper() or None
        self.put("currency", currency)
        self.put("due_date", _ubl_date(root, "DueDate"))
        for means in _all(root, "PaymentMeans"):
            self.put("due_date", _ubl_date(means, "PaymentDueDate"))
        for terms in _all(root, "PaymentTerms"):
            self.terms.append(_text(terms, "Note"))

        self._ubl_party(self.seller, _first(root, "AccountingSupplierParty/Party"), seller=True)
        self._ubl_party(self.buyer, _first(root, "AccountingCustomerParty/Party"), seller=False)

        accounts: list[str | None] = []
        for means in _all(root, "PaymentMeans"):
            code = _text(means, "PaymentMeansCode")
            if code:
                self.put("payment_mode", PAYMENT_MEANS.get(code, "other"))
            # With or without schemeID="IBAN".
            accounts += [_text(account) for account in _all(means, "PayeeFinancialAccount/ID")]
        self.seller.set("iban", _iban(accounts))

        tax_totals = _all(root, "TaxTotal")
        amounts = [_first(t, "TaxAmount") for t in tax_totals]
        chosen = _in_currency([a for a in amounts if a is not None], currency)
        self.put("total_tax", _to_amount(chosen))
        # The breakdown sits in the TaxTotal in the invoice currency (BT-111's has none).
        with_breakdown = [t for t in tax_totals if _first(t, "TaxSubtotal") is not None]
        holder = chosen.getparent() if chosen is not None else None
        if holder not in with_breakdown:
            holder = with_breakdown[0] if with_breakdown else None
        for sub in _all(holder, "TaxSubtotal"):
            cat = _first(sub, "TaxCategory")
            self.vat_line(
                _text(cat, "ID"),
                _text(cat, "Percent"),
                _amount(sub, "TaxableAmount"),
                _amount(sub, "TaxAmount"),
            )

        total = _first(root, "LegalMonetaryTotal")
        self.put("total_excl_tax", _amount(total, "TaxExclusiveAmount"))
        self.put("total_incl_tax", _amount(total, "TaxInclusiveAmount"))
        self.put("amount_due", _amount(total, "PayableAmount"))

    def _ubl_party(self, party: _Party, el: etree._Element | None, *, seller: bool) -> None:
        if el is None:
            return
        legal_name = _text(el, "PartyLegalEntity/RegistrationName")
        trade_name = _text(el, "PartyName/Name")
        party.set("name", legal_name)
        if seller:
            party.set("trade_name", trade_name)
        # EN 16931 requires the legal name; when it is missing the trade name stands in.
        party.set("name", trade_name, FALLBACK_NAME)
        party.country(_text(el, "PostalAddress/Country/IdentificationCode"))
        for scheme in _all(el, "PartyTaxScheme"):
            if (_text(scheme, "TaxScheme/ID") or "VAT").upper() == "VAT":
                party.vat_number(_text(scheme, "CompanyID"))
        for node in _every(el, "PartyLegalEntity/CompanyID", "PartyIdentification/ID"):
            party.identifier(node.text, node.get("schemeID"))
        for node in _every(el, "EndpointID"):
            if (node.get("schemeID") or "").strip() in (ICD_SIREN, ICD_SIRET):
                party.identifier(node.text, node.get("schemeID"))

    # -- result -----------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        f = self.f
        f["vat_regime"] = invoice_regime(f["vat_lines"])
        self.payment_terms()
        sign_credit_note(f)
        conf = dict(self.conf)
        for key, party in (("supplier", self.seller), ("buyer", self.buyer)):
            party.settle()
            f[key] = party.values
            conf.update({f"{key}.{name}": score for name, score in party.conf.items()})
        if f["vat_lines"]:
            conf["vat_lines"] = 1.0
        conf["document_kind"] = 1.0
        # No breakdown (MINIMUM profile) or a category the norm does not know: less sure.
        conf["vat_regime"] = 1.0 if f["vat_lines"] and self.categories_known else 0.7
        f["confidence"] = conf
        return f
