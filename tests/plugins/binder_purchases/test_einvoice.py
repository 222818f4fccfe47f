"""E-invoice XML reading: shared samples, exact values, Factur-X PDFs, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from bp_helpers import DATA, SHARED, cii, text_pdf
from facturx import generate_from_binary

from plugins.binder_purchases.extraction import InvoiceReadError, extract_file, read_einvoice

SHARED_XML = (
    sorted(p for p in (SHARED / "xml").rglob("*") if p.suffix.lower() == ".xml")
    if SHARED.is_dir()
    else []
)


@pytest.mark.skipif(not SHARED_XML, reason="shared samples absent")
@pytest.mark.parametrize("path", SHARED_XML, ids=lambda p: p.name)
def test_every_shared_xml_sample_is_read(path: Path) -> None:
    fields = read_einvoice(path.read_bytes())
    assert fields is not None
    assert fields["source"] == "einvoice"
    assert fields["invoice_number"]
    assert fields["total_incl_tax"] is not None
    assert fields["confidence"]["invoice_number"] == 1.0


def test_cii_en16931_exact_values() -> None:
    fields = read_einvoice((DATA / "en16931" / "CII_example8.xml").read_bytes())
    assert fields is not None
    assert fields["invoice_number"] == "1100512149"
    assert fields["invoice_date"] == "2014-11-10"
    assert fields["due_date"] == "2014-11-24"
    assert fields["currency"] == "EUR"
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "908.91",
        "190.87",
        "1099.78",
    )
    assert fields["supplier"]["vat_number"] == "NL809561074B01"
    assert fields["vat_lines"] == [
        {
            "rate": "21.00",
            "base": "908.91",
            "amount": "190.87",
            "category": "S",
            "regime": "standard",
        }
    ]


def test_facturx_profile_with_siren_and_categories() -> None:
    fields = read_einvoice((DATA / "akretion" / "factur-x-en16931.xml").read_bytes())
    assert fields is not None
    assert fields["invoice_number"] == "F20260023"
    assert fields["supplier"]["siren"] == "123456782"
    assert fields["supplier"]["vat_number"] == "FR11123456782"
    assert fields["supplier"]["country"] == "FR"
    # The buyer's identifiers must not leak into the supplier block.
    assert "987654321" not in str(fields["supplier"])
    # A K (intra-EU) line beside S lines at 20 % and 10 % and an E line: each line has its
    # own category and regime, and the invoice's regime is "mixed" (not "intra_eu").
    assert [(v["rate"], v["category"], v["regime"]) for v in fields["vat_lines"]] == [
        ("20.00", "S", "standard"),
        ("0.00", "E", "exempt"),
        ("10.00", "S", "standard"),
        ("0.00", "K", "intra_eu"),
    ]
    assert fields["vat_regime"] == "mixed"
    assert fields["confidence"]["vat_regime"] == 1.0


def test_zugferd_1_namespace() -> None:
    fields = read_einvoice((DATA / "akretion" / "zugferd-comfort.xml").read_bytes())
    assert fields is not None
    assert fields["invoice_number"] == "471102"
    assert fields["invoice_date"] == "2013-03-05"
    assert fields["due_date"] == "2013-04-04"
    assert fields["total_incl_tax"] == "529.87"
    assert fields["supplier"]["vat_number"] == "DE123456789"
    assert fields["supplier"]["iban"] == "DE08700901001234567890"
    assert [line["rate"] for line in fields["vat_lines"]] == ["7.00", "19.00"]


def test_ubl_invoice() -> None:
    fields = read_einvoice((DATA / "akretion" / "ubl-21-en16931.xml").read_bytes())
    assert fields is not None
    assert fields["invoice_number"] == "F124212"
    assert fields["invoice_date"] == "2026-06-17"
    assert fields["due_date"] == "2026-07-16"
    assert fields["total_excl_tax"] == "273.00"
    assert fields["total_tax"] == "35.03"
    assert fields["total_incl_tax"] == "308.03"
    assert fields["supplier"]["vat_number"] == "FR11999999998"
    # BT-27 is PartyLegalEntity/RegistrationName; PartyName/Name is the trade name BT-28.
    assert fields["supplier"]["name"] == "Au bon moulin"
    assert fields["supplier"]["trade_name"] == "L'huile d'olive en folie"
    assert fields["amount_due"] == "208.03"
    assert fields["payment_mode"] == "transfer"


def test_ubl_credit_note() -> None:
    fields = read_einvoice((DATA / "en16931" / "ubl-tc434-creditnote1.xml").read_bytes())
    assert fields is not None
    assert fields["document_kind"] == "credit_note"
    assert fields["invoice_number"] == "018304 / 28865"
    assert fields["invoice_date"] == "2019-09-23"
    # Stated in positive in the XML: a credit note's amounts are negative.
    assert fields["total_incl_tax"] == "-100.11"
    assert fields["vat_lines"][0]["base"] == "-100.11"
    assert fields["supplier"]["vat_number"] == "BE0000000196"


@pytest.mark.parametrize(
    ("category", "regime"),
    [
        ("AE", "reverse_charge"),
        ("K", "intra_eu"),
        ("G", "extra_eu"),
        ("E", "exempt"),
        ("S", "standard"),
    ],
)
def test_vat_category_gives_regime(category: str, regime: str) -> None:
    rate, tax, total = (
        ("20.00", "206.91", "1241.47") if category == "S" else ("0.00", "0.00", "1034.56")
    )
    fields = read_einvoice(cii(category=category, rate=rate, tax=tax, total=total))
    assert fields is not None
    assert fields["vat_regime"] == regime


def test_cii_credit_note_type_381() -> None:
    fields = read_einvoice(cii(type_code="381"))
    assert fields is not None
    assert fields["document_kind"] == "credit_note"


def test_not_an_invoice_returns_none() -> None:
    assert read_einvoice(b"<?xml version='1.0'?><catalogue><item/></catalogue>") is None


def test_facturx_pdf_round_trip(tmp_path: Path) -> None:
    pdf = text_pdf(["Papeterie Moreau SARL", "Facture FA-2026-117", "Total TTC 1 241,47 EUR"])
    out = tmp_path / "facturx.pdf"
    out.write_bytes(generate_from_binary(pdf, cii(), flavor="factur-x", level="en16931"))
    fields = extract_file(out)
    assert fields["source"] == "einvoice"
    assert fields["invoice_number"] == "FA-2026-117"
    assert fields["invoice_date"] == "2026-03-12"
    assert fields["due_date"] == "2026-04-11"
    assert fields["supplier"] == {
        "name": "Papeterie Moreau SARL",
        "trade_name": None,
        "siren": "732829320",
        "siret": None,
        "vat_number": "FR44732829320",
        "iban": "FR7630006000011234567890189",
        "country": "FR",
    }
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "1034.56",
        "206.91",
        "1241.47",
    )
    assert fields["payment_mode"] == "transfer"
    assert fields["amount_due"] == "1241.47"
    assert fields["buyer"] == {
        "name": "Client SAS",
        "siren": None,
        "siret": None,
        "vat_number": None,
        "country": None,
    }
    assert fields["reading"] == {
        "method": "einvoice",
        "syntax": "CII",
        "profile": "urn:cen.eu:en16931:2017",
    }
    assert all(value == 1.0 for value in fields["confidence"].values())
    # Without the e-invoice, the same PDF is read from its text layer.
    assert extract_file(out, use_einvoice=False)["source"] == "text"


def test_standalone_xml_file(tmp_path: Path) -> None:
    path = tmp_path / "invoice.xml"
    path.write_bytes(cii())
    assert extract_file(path)["invoice_number"] == "FA-2026-117"


HOSTILE = {
    "billion_laughs": b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice><ID>&lol3;</ID></Invoice>""",
    "external_entity": b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&xxe;</ID></Invoice>""",
    "plain_dtd": b"""<?xml version="1.0"?>
<!DOCTYPE Invoice SYSTEM "http://example.invalid/invoice.dtd">
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</ID></Invoice>""",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_doctype_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(InvoiceReadError) as caught:
        read_einvoice(HOSTILE[name])
    assert "DOCTYPE" in caught.value.message
    path = tmp_path / f"{name}.xml"
    path.write_bytes(HOSTILE[name])
    with pytest.raises(InvoiceReadError):
        extract_file(path)


def test_malformed_xml_raises_french_error() -> None:
    with pytest.raises(InvoiceReadError) as caught:
        read_einvoice(b"<Invoice><ID>1</Invoice>")
    assert "mal formé" in caught.value.message
