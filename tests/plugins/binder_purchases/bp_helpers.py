"""Small builders shared by the tests: PDFs drawn with reportlab, CII XML."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

ROOT = Path(__file__).resolve().parents[3]
#: Public samples copied into the repository, with their licences.
DATA = ROOT / "tests" / "data" / "invoices"
#: The shared sample folder outside the repository (may be absent).
SHARED = ROOT.parent / "shared" / "data" / "invoices"


def text_pdf(lines: list[str], *, size: int = 11) -> bytes:
    """A one-page born-digital PDF holding ``lines`` (top to bottom)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", size)
    y = A4[1] - 60
    for line in lines:
        c.drawString(50, y, line)
        y -= size + 9
    c.showPage()
    c.save()
    return buf.getvalue()


CII = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
</rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>
<ram:IssueDateTime><udt:DateTimeString format="102">20260312</udt:DateTimeString>
</ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:IncludedSupplyChainTradeLineItem>
<ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
<ram:SpecifiedTradeProduct><ram:Name>Fournitures</ram:Name></ram:SpecifiedTradeProduct>
<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>
<ram:ChargeAmount>1034.56</ram:ChargeAmount></ram:NetPriceProductTradePrice>
</ram:SpecifiedLineTradeAgreement>
<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity>
</ram:SpecifiedLineTradeDelivery>
<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>
<ram:CategoryCode>{category}</ram:CategoryCode>
<ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent></ram:ApplicableTradeTax>
<ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>1034.56</ram:LineTotalAmount>
</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>
</ram:IncludedSupplyChainTradeLineItem>
<ram:ApplicableHeaderTradeAgreement>
<ram:SellerTradeParty><ram:Name>{seller}</ram:Name>
<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">732829320</ram:ID>
</ram:SpecifiedLegalOrganization>
<ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR44732829320</ram:ID>
</ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
<ram:BuyerTradeParty><ram:Name>Client SAS</ram:Name></ram:BuyerTradeParty>
</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement>
<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>FR7630006000011234567890189</ram:IBANID>
</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
<ram:ApplicableTradeTax><ram:CalculatedAmount>{tax}</ram:CalculatedAmount>
<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>1034.56</ram:BasisAmount>
<ram:CategoryCode>{category}</ram:CategoryCode>
<ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent></ram:ApplicableTradeTax>
<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
<udt:DateTimeString format="102">20260411</udt:DateTimeString>
</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation>
<ram:LineTotalAmount>1034.56</ram:LineTotalAmount>
<ram:TaxBasisTotalAmount>1034.56</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="EUR">{tax}</ram:TaxTotalAmount>
<ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
<ram:DuePayableAmount>{total}</ram:DuePayableAmount>
</ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


_HEADER_TAX = """<ram:ApplicableTradeTax><ram:CalculatedAmount>{tax}</ram:CalculatedAmount>
<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>1034.56</ram:BasisAmount>
<ram:CategoryCode>{category}</ram:CategoryCode>
<ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent></ram:ApplicableTradeTax>"""


def cii(
    number: str = "FA-2026-117",
    *,
    seller: str = "Papeterie Moreau SARL",
    type_code: str = "380",
    category: str = "S",
    rate: str = "20.00",
    tax: str = "206.91",
    total: str = "1241.47",
    breakdown: list[tuple[str, str, str, str]] | None = None,
    terms: str | None = None,
    due: bool = True,
) -> bytes:
    """A Factur-X EN 16931 CII invoice (HT 1034.56) with the given number, seller, VAT, type.

    ``breakdown``: the VAT breakdown (BG-23) as ``(category, rate, base, amount)`` lines in
    place of the single one (their bases should add up to 1034.56; ``tax`` and ``total`` are
    the totals to state). ``terms``: a BT-20 payment terms text; ``due=False``: no BT-9.
    """
    xml = CII.format(
        number=number,
        seller=seller,
        type_code=type_code,
        category=category,
        rate=rate,
        tax=tax,
        total=total,
    )
    if breakdown is not None:
        header = _HEADER_TAX.format(tax=tax, category=category, rate=rate)
        assert header in xml
        lines = "".join(
            f"<ram:ApplicableTradeTax><ram:CalculatedAmount>{amount}</ram:CalculatedAmount>"
            f"<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{base}</ram:BasisAmount>"
            f"<ram:CategoryCode>{cat}</ram:CategoryCode>"
            f"<ram:RateApplicablePercent>{pct}</ram:RateApplicablePercent>"
            "</ram:ApplicableTradeTax>"
            for cat, pct, base, amount in breakdown
        )
        xml = xml.replace(header, lines)
    due_date = (
        "<ram:DueDateDateTime>\n"
        '<udt:DateTimeString format="102">20260411</udt:DateTimeString>\n'
        "</ram:DueDateDateTime>"
    )
    assert due_date in xml
    stated = f"<ram:Description>{terms}</ram:Description>" if terms is not None else ""
    xml = xml.replace(due_date, stated + (due_date if due else ""))
    return xml.encode()


class Purchases:
    """A firm with a company, its purchase binder, an accountant logged in on ``client``."""

    def __init__(
        self, app: Any, client: Any, factory: Any, auth: Any, firm: str = "Cabinet Achats"
    ) -> None:
        self.app, self.client, self.factory = app, client, factory
        self.firm = factory.firm(firm)
        self.company = factory.company(self.firm, name="Boulangerie Martin", code="BM01")
        self.binder = factory.binder(self.company, name="Factures d'achat")
        self.user = factory.user(self.firm, "accountant")
        auth.login(self.user)

    def drop(self, content: bytes, filename: str, binder_id: int | None = None) -> int:
        """Upload through the API (into the company's binder, or ``binder_id``) and read it
        now (the real pipeline, synchronously)."""
        from tests.conftest import wait_for

        response = self.client.post(
            f"/api/v1/binders/{binder_id or self.binder.id}/documents",
            data={"file": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 202, response.get_json()
        document_id = response.get_json()["documents"][0]["id"]
        self.app.extensions["classeur"].tasks.run_now("process_document", document_id)
        # With the task runner started, a worker may have claimed it first: wait for it.
        wait_for(lambda: self.get(document_id)["state"] in ("to_review", "failed"))
        return document_id

    def get(self, document_id: int) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/documents/{document_id}")
        assert response.status_code == 200
        return response.get_json()

    def patch(self, document_id: int, changes: dict[str, Any]) -> Any:
        return self.client.patch(f"/api/v1/documents/{document_id}/fields", json=changes)

    def validate(self, document_id: int) -> Any:
        return self.client.post(f"/api/v1/documents/{document_id}/validate")

    def set_account(self, document_id: int, account: str) -> None:
        doc = self.get(document_id)
        lines = doc["fields"]["accounting"]["lines"]
        accounting = {
            **doc["fields"]["accounting"],
            "lines": [{**line, "account": account} for line in lines],
        }
        response = self.patch(document_id, {"accounting": accounting})
        assert response.status_code == 200, response.get_json()

    def elements(self, **switches: bool) -> None:
        from core.db import db
        from core.tenancy.models import Company
        from core.tenancy.services import update_company_settings
        from plugins.binder_purchases.settings import DEFAULT_ELEMENTS

        with self.app.app_context():
            company = db.session.get(Company, self.company.id)
            update_company_settings(
                company,
                "accounting",
                {
                    "software": "meg",
                    "purchase_binder_id": self.binder.id,
                    "elements": {**DEFAULT_ELEMENTS, **switches},
                },
            )
            db.session.commit()
