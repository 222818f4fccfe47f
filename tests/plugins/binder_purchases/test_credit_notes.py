"""Credit notes read as credit notes, in negative amounts: e-invoices of every credit note type
(UNTDID 1001), UBL CreditNote documents and text credit notes ("Avoir", "Facture d'avoir",
"Note de crédit"); totals and VAT lines negative together, so that HT + TVA = TTC holds."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bp_helpers import cii, text_pdf

from plugins.binder_purchases.extraction import (
    extract_file,
    extract_from_text,
    learn_template,
    read_einvoice,
)
from plugins.binder_purchases.extraction.checks import check_invoice
from plugins.binder_purchases.extraction.einvoice import CREDIT_NOTE_CODES
from plugins.binder_purchases.extraction.fields import sign_credit_note
from plugins.binder_purchases.fields import sanitize_extracted


def assert_negative_credit_note(fields: dict[str, Any] | None) -> None:
    """A credit note whose totals, amount due and VAT lines are negative and add up."""
    assert fields is not None
    assert fields["document_kind"] == "credit_note"
    ht, tva, ttc = (Decimal(fields[k]) for k in ("total_excl_tax", "total_tax", "total_incl_tax"))
    assert ht < 0 and tva <= 0 and ttc < 0
    assert ht + tva == ttc
    if fields["amount_due"] is not None:
        assert Decimal(fields["amount_due"]) <= 0
    assert fields["vat_lines"]
    bases = [Decimal(v["base"]) for v in fields["vat_lines"]]
    amounts = [Decimal(v["amount"]) for v in fields["vat_lines"]]
    assert all(b < 0 for b in bases) and all(a <= 0 for a in amounts)
    assert sum(bases) == ht and sum(amounts) == tva
    # Passes the binder's validation as it is, and no check fails it.
    cleaned = sanitize_extracted(fields)
    assert 0.0 not in cleaned["confidence"].values()
    assert cleaned["vat_lines"] == fields["vat_lines"]
    errors = [c for c in check_invoice(fields) if c.level == "error"]
    assert errors == [], errors


# -- e-invoices --------------------------------------------------------------------------------


@pytest.mark.parametrize("type_code", sorted(CREDIT_NOTE_CODES))
def test_cii_credit_note_types_read_in_negative(type_code: str) -> None:
    fields = read_einvoice(cii(type_code=type_code))
    assert_negative_credit_note(fields)
    assert fields is not None
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "-1034.56",
        "-206.91",
        "-1241.47",
    )
    assert fields["amount_due"] == "-1241.47"
    assert (fields["vat_lines"][0]["base"], fields["vat_lines"][0]["amount"]) == (
        "-1034.56",
        "-206.91",
    )


def test_an_invoice_stays_positive() -> None:
    fields = read_einvoice(cii(type_code="380"))
    assert fields is not None
    assert fields["document_kind"] == "invoice"
    assert fields["total_incl_tax"] == "1241.47"
    assert fields["vat_lines"][0]["base"] == "1034.56"


def test_a_type_380_in_negative_amounts_stays_an_invoice_in_negative() -> None:
    """BT-3 says invoice: so it is (as the benchmark's truth), its amounts kept negative."""
    xml = cii(type_code="380", tax="-206.91", total="-1241.47").replace(
        b"1034.56</ram:BasisAmount>", b"-1034.56</ram:BasisAmount>"
    )
    xml = xml.replace(b"<ram:TaxBasisTotalAmount>1034.56", b"<ram:TaxBasisTotalAmount>-1034.56")
    fields = read_einvoice(xml)
    assert fields is not None
    assert fields["document_kind"] == "invoice"
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "-1034.56",
        "-206.91",
        "-1241.47",
    )
    assert fields["vat_lines"][0]["base"] == "-1034.56"


def test_a_credit_note_with_several_rates() -> None:
    lines = [("S", "20.00", "734.56", "146.91"), ("S", "10.00", "300.00", "30.00")]
    fields = read_einvoice(cii(type_code="381", breakdown=lines, tax="176.91", total="1211.47"))
    assert_negative_credit_note(fields)
    assert fields is not None
    assert [(v["base"], v["amount"]) for v in fields["vat_lines"]] == [
        ("-734.56", "-146.91"),
        ("-300.00", "-30.00"),
    ]


UBL_CREDIT_NOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
<cbc:ID>AV-2026-7</cbc:ID><cbc:IssueDate>2026-03-12</cbc:IssueDate>
<cbc:CreditNoteTypeCode>%(type)s</cbc:CreditNoteTypeCode>
<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
<cac:AccountingSupplierParty><cac:Party>
<cac:PartyTaxScheme><cbc:CompanyID>FR44732829320</cbc:CompanyID>
<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
<cac:PartyLegalEntity><cbc:RegistrationName>Papeterie Moreau SARL</cbc:RegistrationName>
</cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>
<cbc:RegistrationName>Client SAS</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>
</cac:AccountingCustomerParty>
<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">25.00</cbc:TaxAmount>
<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount>
<cbc:TaxAmount currencyID="EUR">20.00</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID>
<cbc:Percent>20</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
</cac:TaxSubtotal>
<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">50.00</cbc:TaxableAmount>
<cbc:TaxAmount currencyID="EUR">5.00</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID>
<cbc:Percent>10</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
</cac:TaxSubtotal></cac:TaxTotal>
<cac:LegalMonetaryTotal>
<cbc:LineExtensionAmount currencyID="EUR">150.00</cbc:LineExtensionAmount>
<cbc:TaxExclusiveAmount currencyID="EUR">150.00</cbc:TaxExclusiveAmount>
<cbc:TaxInclusiveAmount currencyID="EUR">175.00</cbc:TaxInclusiveAmount>
<cbc:PayableAmount currencyID="EUR">175.00</cbc:PayableAmount>
</cac:LegalMonetaryTotal>
</CreditNote>"""


@pytest.mark.parametrize("type_code", ["381", "396", "380"])
def test_ubl_credit_note_document_read_in_negative(type_code: str) -> None:
    """A UBL ``CreditNote`` is a credit note whatever its type code."""
    fields = read_einvoice(UBL_CREDIT_NOTE % {b"type": type_code.encode()})
    assert_negative_credit_note(fields)
    assert fields is not None
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "-150.00",
        "-25.00",
        "-175.00",
    )
    assert [(v["rate"], v["base"], v["amount"]) for v in fields["vat_lines"]] == [
        ("20.00", "-100.00", "-20.00"),
        ("10.00", "-50.00", "-5.00"),
    ]


# -- text credit notes ---------------------------------------------------------------------


def _credit_note(title: str) -> list[str]:
    return [
        "Papeterie Moreau SARL",
        "SIREN 732 829 320 - TVA FR44732829320",
        f"{title} n° AV-2026-012",
        "Date : 12/03/2026",
        "Avoir sur facture FA-2026-117",
        "Retour de ramettes de papier A4          100,00",
        "Total HT 100,00 EUR",
        "TVA 20 % 20,00 EUR",
        "Total TTC 120,00 EUR",
    ]


@pytest.mark.parametrize("title", ["Avoir", "AVOIR", "Facture d'avoir", "Note de crédit"])
def test_text_credit_note_printed_in_positive_is_read_in_negative(
    tmp_path: Path, title: str
) -> None:
    path = tmp_path / "avoir.pdf"
    path.write_bytes(text_pdf(_credit_note(title)))
    fields = extract_file(path)
    assert_negative_credit_note(fields)
    assert fields["invoice_number"] == "AV-2026-012"
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "-100.00",
        "-20.00",
        "-120.00",
    )
    assert fields["vat_lines"] == [
        {
            "rate": "20.00",
            "base": "-100.00",
            "amount": "-20.00",
            "category": "S",
            "regime": "standard",
        }
    ]


def test_text_credit_note_printed_in_negative_stays_negative() -> None:
    fields = extract_from_text(
        "AVOIR AV-12\nDate : 12/03/2026\nTotal HT    -100,00 €\nTVA 20 %    -20,00 €\n"
        "Total TTC   -120,00 €\n"
    )
    assert_negative_credit_note(fields)
    assert fields["total_incl_tax"] == "-120.00"


def test_text_credit_note_with_two_rates() -> None:
    fields = extract_from_text(
        "Facture d'avoir n° AV-13\nDate : 12/03/2026\n"
        "TVA 20 %      100,00 €      20,00 €        Total HT      150,00 €\n"
        "TVA 10 %       50,00 €       5,00 €        Total TVA      25,00 €\n"
        "                                           Total TTC     175,00 €\n"
    )
    assert_negative_credit_note(fields)
    assert [(v["rate"], v["base"], v["amount"]) for v in fields["vat_lines"]] == [
        ("20.00", "-100.00", "-20.00"),
        ("10.00", "-50.00", "-5.00"),
    ]


def test_an_invoice_is_not_a_credit_note() -> None:
    fields = extract_from_text(
        "Facture n° F-1\nDate : 12/03/2026\nTotal HT 100,00\nTVA 20 % 20,00\nTotal TTC 120,00\n"
    )
    assert fields["document_kind"] == "invoice"
    assert fields["total_incl_tax"] == "120.00"


def test_sign_credit_note_is_idempotent_and_leaves_invoices() -> None:
    fields: dict[str, Any] = {
        "document_kind": "credit_note",
        "total_excl_tax": "100.00",
        "total_tax": "20.00",
        "total_incl_tax": "120.00",
        "amount_due": "0.00",
        "vat_lines": [{"rate": "20.00", "base": "100.00", "amount": "20.00"}],
    }
    once = sign_credit_note(dict(fields, vat_lines=[dict(fields["vat_lines"][0])]))
    assert (once["total_excl_tax"], once["total_incl_tax"], once["amount_due"]) == (
        "-100.00",
        "-120.00",
        "0.00",
    )
    twice = sign_credit_note(dict(once, vat_lines=[dict(once["vat_lines"][0])]))
    assert twice == once
    invoice = dict(fields, document_kind="invoice", vat_lines=[dict(fields["vat_lines"][0])])
    assert sign_credit_note(dict(invoice)) == invoice


# -- supplier templates --------------------------------------------------------------------


def _document(title: str, number: str, day: str, totals: tuple[str, str, str]) -> list[str]:
    ht, tva, ttc = totals
    return [
        "Papeterie Moreau SARL",
        "SIREN 732 829 320 - TVA FR44732829320",
        f"{title} n° {number}",
        f"Date : {day}",
        f"Ramettes de papier A4          {ht}",
        f"Total HT {ht} EUR",
        f"TVA 20 % {tva} EUR",
        f"Total TTC {ttc} EUR",
    ]


@pytest.fixture
def supplier_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A credit note and an invoice of one supplier, same layout, both printed in positive."""
    credit, invoice = tmp_path / "avoir.pdf", tmp_path / "facture.pdf"
    credit.write_bytes(
        text_pdf(_document("Avoir", "AV-2026-012", "12/03/2026", ("100,00", "20,00", "120,00")))
    )
    invoice.write_bytes(
        text_pdf(_document("Facture", "FA-2026-200", "20/03/2026", ("300,00", "60,00", "360,00")))
    )
    return credit, invoice


def test_template_learned_from_a_credit_note_reads_the_next_invoice_in_positive(
    supplier_pair: tuple[Path, Path],
) -> None:
    credit, invoice = supplier_pair
    validated = extract_file(credit)  # in negative amounts, as the accountant validates it
    assert validated["total_incl_tax"] == "-120.00"
    template = learn_template(credit, validated)
    assert template is not None
    fields = extract_file(invoice, template=template)
    assert fields["reading"]["method"] == "template"
    assert fields["document_kind"] == "invoice"
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "300.00",
        "60.00",
        "360.00",
    )
    assert fields["amount_due"] == "360.00"
    assert [(v["base"], v["amount"]) for v in fields["vat_lines"]] == [("300.00", "60.00")]


def test_template_learned_from_an_invoice_reads_the_next_credit_note_in_negative(
    supplier_pair: tuple[Path, Path],
) -> None:
    credit, invoice = supplier_pair
    template = learn_template(invoice, extract_file(invoice))
    assert template is not None
    fields = extract_file(credit, template=template)
    assert fields["reading"]["method"] == "template"
    assert_negative_credit_note(fields)
    assert fields["total_incl_tax"] == "-120.00"
