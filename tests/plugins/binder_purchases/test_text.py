"""Field extraction from text: French, English, German; text-layer PDFs; a real OCR pass."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from bp_helpers import DATA, text_pdf

from plugins.binder_purchases.extraction import (
    checks,
    extract_file,
    extract_from_text,
    parse_amount,
    parse_date,
)

FRENCH = """ACME Informatique SAS                                   FACTURE
12 rue de la Paix, 75002 Paris                           Facture n° F-2026-0042
SIRET 732 829 320 00074                                  Date : 12 mars 2026
TVA intracommunautaire : FR44732829320                   Échéance : 11/04/2026

                                                         Facturé à :
                                                         Client SARL
                                                         TVA FR83404833048

Désignation                       Qté     PU HT      Total HT
Ordinateur portable                 1   1 000,00     1 000,00
Souris                              2      17,28        34,56

                                              Total HT      1 034,56 €
                                              TVA 20 %        206,91 €
                                              Total TTC     1 241,47 €
Règlement par virement - IBAN FR76 3000 6000 0112 3456 7890 189
"""

ENGLISH = """Northwind Supplies Ltd
VAT No: FR44732829320
INVOICE
Invoice No: INV-77812          Invoice date: March 12, 2026
Payment due: April 11, 2026
Bill to: Classeur SAS, VAT FR83404833048

Description                     Amount
Toner cartridges               €1,034.56
Subtotal                       €1,034.56
VAT 20%                          €206.91
Total due                      €1,241.47
Paid by credit card.
"""

GERMAN = """Lieferant GmbH
Lieferantenstraße 20, 80333 München
USt-IdNr.: DE812345673
RECHNUNG
Rechnungsnummer: R-2026-881
Rechnungsdatum: 12. März 2026
Zahlbar bis: 11.04.2026
Nettobetrag                1.034,56 €
MwSt 19 %                    196,57 €
Gesamtbetrag               1.231,13 €
Innergemeinschaftliche Lieferung
Zahlung per Überweisung
"""


def test_french_invoice_text() -> None:
    f = extract_from_text(FRENCH)
    assert f["source"] == "text"
    assert f["invoice_number"] == "F-2026-0042"
    assert f["invoice_date"] == "2026-03-12"
    assert f["due_date"] == "2026-04-11"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "1034.56",
        "206.91",
        "1241.47",
    )
    assert f["vat_lines"] == [
        {
            "rate": "20.00",
            "base": "1034.56",
            "amount": "206.91",
            "category": "S",
            "regime": "standard",
        }
    ]
    sup = f["supplier"]
    assert sup["siret"] == "73282932000074"
    assert sup["siren"] == "732829320"
    # The customer's VAT number (FR83404833048) must not be taken for the supplier's.
    assert sup["vat_number"] == "FR44732829320"
    assert sup["iban"] == "FR7630006000011234567890189"
    assert sup["name"] == "ACME Informatique SAS"
    assert f["payment_mode"] == "transfer"
    assert f["currency"] == "EUR"
    assert f["vat_regime"] == "standard"
    assert 0 < f["confidence"]["supplier.name"] < f["confidence"]["total_incl_tax"] <= 1


def test_english_invoice_text() -> None:
    f = extract_from_text(ENGLISH)
    assert f["invoice_number"] == "INV-77812"
    assert f["invoice_date"] == "2026-03-12"
    assert f["due_date"] == "2026-04-11"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "1034.56",
        "206.91",
        "1241.47",
    )
    assert f["supplier"]["vat_number"] == "FR44732829320"
    assert f["payment_mode"] == "card"


def test_german_invoice_text() -> None:
    f = extract_from_text(GERMAN)
    assert f["invoice_number"] == "R-2026-881"
    assert f["invoice_date"] == "2026-03-12"
    assert f["due_date"] == "2026-04-11"
    assert f["total_excl_tax"] == "1034.56"
    assert f["total_tax"] == "196.57"
    assert f["total_incl_tax"] == "1231.13"
    assert f["supplier"]["vat_number"] == "DE812345673"
    assert f["supplier"]["country"] == "DE"
    assert f["payment_mode"] == "transfer"
    # "Innergemeinschaftliche Lieferung" on an invoice charging 19 % German VAT: the mention is
    # contradicted by the VAT line, which stays standard, less surely; the checks warn of an
    # EU supplier charging its own VAT (foreign_vat: not deductible in France, nothing to
    # self-assess) and do not flag 19 % (not a French supplier).
    assert f["vat_lines"][0]["category"] == "S"
    assert f["vat_regime"] == "standard"
    assert f["confidence"]["vat_regime"] == 0.6
    found = checks.check_invoice(f)
    assert [c.code for c in found] == ["foreign_vat"]


def test_credit_note_and_reverse_charge_text() -> None:
    text = FRENCH.replace("FACTURE", "AVOIR").replace("Facture n°", "Avoir n°") + (
        "\nAutoliquidation - art. 283-2 du CGI\n"
    )
    f = extract_from_text(text)
    assert f["document_kind"] == "credit_note"
    # The autoliquidation mention concerns lines at 0 %; this one has 20 % VAT.
    assert f["vat_regime"] == "standard"
    assert [(v["category"], v["regime"]) for v in f["vat_lines"]] == [("S", "standard")]
    # An avoir printed in positive amounts: read in negative, its VAT line too.
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "-1034.56",
        "-206.91",
        "-1241.47",
    )
    assert (f["vat_lines"][0]["base"], f["vat_lines"][0]["amount"]) == ("-1034.56", "-206.91")


def test_reverse_charge_text_gives_its_zero_rate_lines_the_regime() -> None:
    text = (
        "Sous-traitance BTP SARL\nFacture n° ST-12\nDate : 12/03/2026\n"
        "Total HT   5 000,00 €\nTVA   0,00 €\nTotal TTC   5 000,00 €\n"
        "Autoliquidation - art. 283-2 nonies du CGI\n"
    )
    f = extract_from_text(text)
    assert f["vat_lines"] == [
        {
            "rate": "0.00",
            "base": "5000.00",
            "amount": "0.00",
            "category": "AE",
            "regime": "reverse_charge",
        }
    ]
    assert f["vat_regime"] == "reverse_charge"
    assert f["confidence"]["vat_regime"] == 0.8


def test_invalid_checksums_are_not_trusted() -> None:
    """Identifiers printed after their label but failing their checksum are read as printed,
    with a low confidence, and the checks flag them; unlabelled ones are ignored."""
    text = (
        "Société X SAS\nSIREN 732 829 321\nTVA FR45732829320\n"
        "IBAN FR76 3000 6000 0112 3456 7890 188\nRéf. 404 833 049"
    )
    f = extract_from_text(text)
    sup = f["supplier"]
    assert sup["name"] == "Société X SAS"
    assert (sup["siren"], sup["vat_number"]) == ("732829321", "FR45732829320")
    assert sup["iban"] == "FR7630006000011234567890188"
    for key in ("siren", "vat_number", "iban"):
        assert f["confidence"][f"supplier.{key}"] < 0.6
    flagged = {c.field for c in checks.check_invoice(f) if c.code == "bad_identifier"}
    assert flagged == {"supplier.siren", "supplier.vat_number", "supplier.iban"}
    assert extract_from_text("Société X SAS\nRéf. 404 833 049")["supplier"]["siren"] is None


def test_totals_chosen_by_arithmetic_without_labels() -> None:
    text = "Fournisseur SARL\nFacture n° 42\n1 000,00\n  55,00\n1 055,00\n"
    f = extract_from_text(text)
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "1000.00",
        "55.00",
        "1055.00",
    )
    assert f["confidence"]["total_incl_tax"] < 0.9


def test_every_key_present_on_empty_text() -> None:
    f = extract_from_text("")
    assert set(f) >= {
        "source",
        "document_kind",
        "supplier",
        "invoice_number",
        "vat_lines",
        "payment_mode",
        "vat_regime",
        "confidence",
    }
    assert f["invoice_number"] is None
    assert set(f["supplier"]) == {
        "name",
        "trade_name",
        "siren",
        "siret",
        "vat_number",
        "iban",
        "country",
    }
    assert set(f["buyer"]) == {"name", "siren", "siret", "vat_number", "country"}
    assert f["amount_due"] is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1 234,56 €", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("-12,50", "-12.50"),
        ("(12.50)", "-12.50"),
        ("1\u202f234,56\u00a0€", "1234.56"),
        ("€1,034.56", "1034.56"),
    ],
)
def test_parse_amount(raw: str, value: str) -> None:
    assert parse_amount(raw) == Decimal(value)


@pytest.mark.parametrize("raw", ["", "abc", "1,2,3", "12..5", "1e5", "NaN", "--3"])
def test_parse_amount_rejects(raw: str) -> None:
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "12 mars 2026",
        "12/03/2026",
        "2026-03-12",
        "March 12, 2026",
        "12. März 2026",
        "12.03.2026",
        "12 March 2026",
        "20260312",
        "12/03/26",
    ],
)
def test_parse_date(raw: str) -> None:
    assert parse_date(raw) == date(2026, 3, 12)


@pytest.mark.parametrize("raw", ["31/02/2026", "32 mars 2026", "hier", "2026-13-01"])
def test_parse_date_rejects(raw: str) -> None:
    assert parse_date(raw) is None


def test_text_layer_pdf(tmp_path: Path) -> None:
    path = tmp_path / "facture.pdf"
    path.write_bytes(text_pdf(FRENCH.splitlines()))
    f = extract_file(path)
    assert f["source"] == "text"
    assert f["invoice_number"] == "F-2026-0042"
    assert f["total_incl_tax"] == "1241.47"


def test_text_argument_wins_over_pdf(tmp_path: Path) -> None:
    path = tmp_path / "facture.pdf"
    path.write_bytes(text_pdf(FRENCH.splitlines()))
    f = extract_file(path, text=GERMAN)
    assert f["source"] == "text"
    assert f["invoice_number"] == "R-2026-881"


def test_public_pdf_free_fiber() -> None:
    f = extract_file(DATA / "invoice2data" / "free_fiber.pdf")
    # Ground truth from free_fiber.json (invoice2data).
    assert f["invoice_number"] == "562044387"
    assert f["invoice_date"] == "2015-07-02"
    assert f["total_incl_tax"] == "29.99"
    assert f["total_excl_tax"] == "24.99"
    assert f["supplier"]["vat_number"] == "FR60421938861"
    assert f["supplier"]["siren"] == "421938861"


def _scan(tmp_path: Path, lines: list[str]) -> Path:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(text_pdf(lines, size=14))
    subprocess.run(
        ["pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", str(pdf), str(tmp_path / "scan")],
        check=True,
    )
    return tmp_path / "scan.png"


SCAN_LINES = [
    "Papeterie Moreau SARL",
    "SIREN 732 829 320",
    "TVA FR44732829320",
    "FACTURE",
    "Facture n° FA-2026-117",
    "Date : 12/03/2026",
    "Total HT 1 034,56 EUR",
    "TVA 20 % 206,91 EUR",
    "Total TTC 1 241,47 EUR",
]


def test_ocr_with_real_tesseract(tmp_path: Path) -> None:
    image = _scan(tmp_path, SCAN_LINES)
    f = extract_file(image)  # no ocr callable: the built-in pytesseract fallback
    assert f["source"] == "ocr"
    assert f["invoice_number"] == "FA-2026-117"
    assert f["invoice_date"] == "2026-03-12"
    assert f["total_incl_tax"] == "1241.47"
    assert f["supplier"]["vat_number"] == "FR44732829320"


def test_ocr_callable_is_used_for_pdf_without_text(tmp_path: Path) -> None:
    image = _scan(tmp_path, SCAN_LINES)
    from PIL import Image

    pdf = tmp_path / "image-only.pdf"
    Image.open(image).convert("RGB").save(pdf, "PDF", resolution=200)
    seen: list[Path] = []

    def fake_engine(path: Path) -> str:
        seen.append(path)
        return "\n".join(SCAN_LINES)

    f = extract_file(pdf, ocr=fake_engine)
    assert seen == [pdf]
    assert f["source"] == "ocr"
    assert f["total_tax"] == "206.91"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2026/03/12", date(2026, 3, 12)),
        ("2026.03.12", date(2026, 3, 12)),
        ("12-mars-2026", date(2026, 3, 12)),
        ("12 mars 26", date(2026, 3, 12)),
        ("12 Mars 26,50", None),  # an amount after a month, not a year
    ],
)
def test_more_printed_date_forms(raw: str, value: date | None) -> None:
    assert parse_date(raw) == value
