"""VAT per line: each VAT line's UNCL 5305 category and regime, the invoice's regime from its
lines ("mixed" when they differ), and the binder's validation of both."""

from __future__ import annotations

from typing import Any

import pytest
from bp_helpers import cii

from core.binders.registry import FieldsError
from plugins.binder_purchases.extraction import extract_from_text, read_einvoice
from plugins.binder_purchases.extraction.checks import check_invoice
from plugins.binder_purchases.extraction.fields import (
    CATEGORY_REGIME,
    VAT_REGIMES,
    invoice_regime,
    settle_vat_lines,
)
from plugins.binder_purchases.fields import clean_vat_lines, sanitize_extracted, validate_fields

#: K (intra-EU) 234.56, S 20 % on 500.00, S 10 % on 300.00: HT 1034.56, VAT 130.00.
MIXED = [
    ("K", "0", "234.56", "0.00"),
    ("S", "20.00", "500.00", "100.00"),
    ("S", "10.00", "300.00", "30.00"),
]
MIXED_LINES = [
    ("0.00", "234.56", "0.00", "K", "intra_eu"),
    ("20.00", "500.00", "100.00", "S", "standard"),
    ("10.00", "300.00", "30.00", "S", "standard"),
]


def _lines(fields: dict[str, Any]) -> list[tuple[Any, ...]]:
    keys = ("rate", "base", "amount", "category", "regime")
    return [tuple(line[k] for k in keys) for line in fields["vat_lines"]]


def ubl(subtotals: list[tuple[str, str, str, str]], tax: str, total: str) -> bytes:
    """A UBL 2.1 invoice (HT 1034.56) with the given VAT breakdown (category, rate, base,
    amount)."""
    subs = "".join(
        f"""<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">{base}</cbc:TaxableAmount>
<cbc:TaxAmount currencyID="EUR">{amount}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>{cat}</cbc:ID>
<cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
</cac:TaxCategory></cac:TaxSubtotal>"""
        for cat, rate, base, amount in subtotals
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
<cbc:ID>UBL-2026-9</cbc:ID><cbc:IssueDate>2026-03-12</cbc:IssueDate>
<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
<cac:AccountingSupplierParty><cac:Party>
<cac:PostalAddress><cac:Country><cbc:IdentificationCode>FR</cbc:IdentificationCode></cac:Country>
</cac:PostalAddress>
<cac:PartyTaxScheme><cbc:CompanyID>FR44732829320</cbc:CompanyID>
<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
<cac:PartyLegalEntity><cbc:RegistrationName>Papeterie Moreau SARL</cbc:RegistrationName>
</cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>
<cbc:RegistrationName>Client SAS</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>
</cac:AccountingCustomerParty>
<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{tax}</cbc:TaxAmount>{subs}</cac:TaxTotal>
<cac:LegalMonetaryTotal>
<cbc:LineExtensionAmount currencyID="EUR">1034.56</cbc:LineExtensionAmount>
<cbc:TaxExclusiveAmount currencyID="EUR">1034.56</cbc:TaxExclusiveAmount>
<cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
<cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount>
</cac:LegalMonetaryTotal>
</Invoice>""".encode()


# -- e-invoices --------------------------------------------------------------------------------


def test_facturx_with_an_intra_eu_line_and_two_rates_is_mixed() -> None:
    fields = read_einvoice(cii(breakdown=MIXED, tax="130.00", total="1164.56"))
    assert fields is not None
    assert _lines(fields) == MIXED_LINES
    # Not "intra_eu" for the whole invoice: only one line is an intra-EU acquisition.
    assert fields["vat_regime"] == "mixed"
    assert fields["confidence"]["vat_regime"] == 1.0
    checks = check_invoice(fields)
    assert [c.code for c in checks if c.level == "error"] == []
    [mixed] = [c for c in checks if c.code == "mixed_vat_regime"]
    assert "ligne à 0 % (base 234,56) : acquisition intracommunautaire (catégorie K)" in (
        mixed.message
    )
    assert "intra_eu" not in [c.code for c in checks]


def test_ubl_with_an_intra_eu_line_and_two_rates_is_mixed() -> None:
    fields = read_einvoice(ubl(MIXED, "130.00", "1164.56"))
    assert fields is not None
    assert fields["reading"]["syntax"] == "UBL"
    assert _lines(fields) == MIXED_LINES
    assert fields["vat_regime"] == "mixed"


@pytest.mark.parametrize("category", sorted(CATEGORY_REGIME))
def test_every_category_gives_its_regime_on_the_line_and_the_invoice(category: str) -> None:
    taxed = category == "S"
    rate, tax, total = ("20.00", "206.91", "1241.47") if taxed else ("0", "0.00", "1034.56")
    for xml in (
        cii(category=category, rate=rate, tax=tax, total=total),
        ubl([(category, rate, "1034.56", tax)], tax, total),
    ):
        fields = read_einvoice(xml)
        assert fields is not None
        [line] = fields["vat_lines"]
        assert (line["category"], line["regime"]) == (category, CATEGORY_REGIME[category])
        assert fields["vat_regime"] == CATEGORY_REGIME[category]


def test_mapping_of_the_categories() -> None:
    assert CATEGORY_REGIME == {
        "S": "standard",
        "Z": "standard",
        "AE": "reverse_charge",
        "K": "intra_eu",
        "G": "extra_eu",
        "E": "exempt",
        "O": "exempt",
        "L": "exempt",
        "M": "exempt",
    }
    assert "mixed" in VAT_REGIMES


def test_standard_and_zero_rated_lines_are_one_regime() -> None:
    lines = [("S", "20.00", "834.56", "166.91"), ("Z", "0", "200.00", "0.00")]
    fields = read_einvoice(cii(breakdown=lines, tax="166.91", total="1201.47"))
    assert fields is not None
    assert [(v["category"], v["regime"]) for v in fields["vat_lines"]] == [
        ("S", "standard"),
        ("Z", "standard"),
    ]
    assert fields["vat_regime"] == "standard"


def test_an_unknown_category_is_none_and_less_sure() -> None:
    fields = read_einvoice(cii(category="X9"))
    assert fields is not None
    [line] = fields["vat_lines"]
    assert (line["category"], line["regime"]) == (None, "standard")
    assert fields["vat_regime"] == "standard"
    assert fields["confidence"]["vat_regime"] == 0.7
    assert sanitize_extracted(fields)["vat_lines"] == fields["vat_lines"]


def test_reverse_charge_and_intra_eu_lines_read_as_mixed_with_credit_note_signs() -> None:
    lines = [("AE", "0", "534.56", "0.00"), ("K", "0", "500.00", "0.00")]
    fields = read_einvoice(cii(type_code="381", breakdown=lines, tax="0.00", total="1034.56"))
    assert fields is not None
    assert _lines(fields) == [
        ("0.00", "-534.56", "0.00", "AE", "reverse_charge"),
        ("0.00", "-500.00", "0.00", "K", "intra_eu"),
    ]
    assert fields["vat_regime"] == "mixed"


# -- text --------------------------------------------------------------------------------------

TEXT = """Fournisseur {cc} SARL
Facture n° T-{n}
Date : 12/03/2026
Total HT   1 000,00 €
TVA   {tva} €
Total TTC   {ttc} €
{mention}
"""


@pytest.mark.parametrize(
    ("mention", "category", "regime"),
    [
        ("Autoliquidation - art. 283-2 du CGI", "AE", "reverse_charge"),
        (
            "Exonération de TVA, art. 262 ter I du CGI - livraison intracommunautaire",
            "K",
            "intra_eu",
        ),
        ("TVA non applicable, art. 293 B du CGI", "E", "exempt"),
        ("Exportation hors UE - art. 262 I du CGI", "G", "extra_eu"),
        ("", "Z", "standard"),
    ],
)
def test_text_zero_rate_line_takes_the_regime_the_invoice_states(
    mention: str, category: str, regime: str
) -> None:
    f = extract_from_text(TEXT.format(cc="FR", n=1, tva="0,00", ttc="1 000,00", mention=mention))
    assert _lines(f) == [("0.00", "1000.00", "0.00", category, regime)]
    assert f["vat_regime"] == regime
    assert f["confidence"]["vat_regime"] == (0.8 if mention else 0.7)


def test_text_eu_supplier_without_vat_is_intra_eu() -> None:
    text = TEXT.format(cc="DE", n=2, tva="0,00", ttc="1 000,00", mention="USt-IdNr. DE812345673")
    f = extract_from_text(text)
    assert _lines(f) == [("0.00", "1000.00", "0.00", "K", "intra_eu")]
    assert f["vat_regime"] == "intra_eu"


def test_text_line_with_vat_stays_standard_whatever_the_invoice_says() -> None:
    text = TEXT.format(
        cc="FR", n=3, tva="200,00", ttc="1 200,00", mention="TVA 20 %\nAutoliquidation"
    )
    f = extract_from_text(text)
    assert _lines(f) == [("20.00", "1000.00", "200.00", "S", "standard")]
    assert f["vat_regime"] == "standard"
    assert f["confidence"]["vat_regime"] == 0.6  # said, but contradicted by the VAT


def test_text_without_vat_lines_keeps_the_regime_it_states() -> None:
    f = extract_from_text("Facture n° 4\nAutoliquidation\n")
    assert f["vat_lines"] == []
    assert f["vat_regime"] == "reverse_charge"


# -- the invoice's regime from its lines -------------------------------------------------------


def test_invoice_regime() -> None:
    assert invoice_regime([]) == "standard"
    assert invoice_regime([], "exempt") == "exempt"
    assert invoice_regime([{"regime": "intra_eu"}, {"regime": "intra_eu"}]) == "intra_eu"
    assert invoice_regime([{"regime": "intra_eu"}, {"regime": "standard"}]) == "mixed"
    assert invoice_regime([{"regime": None}, {"regime": "exempt"}]) == "exempt"


def test_settle_gives_lines_without_them_a_category_and_a_regime() -> None:
    fields = {
        "vat_regime": "reverse_charge",
        "vat_lines": [
            {"rate": "20.00", "base": "100.00", "amount": "20.00"},
            {"rate": "0.00", "base": "50.00", "amount": "0.00"},
            {"rate": "0.00", "base": "5.00", "amount": "0.00", "category": "E", "regime": "exempt"},
        ],
    }
    settle_vat_lines(fields)
    assert [(v["category"], v["regime"]) for v in fields["vat_lines"]] == [
        ("S", "standard"),
        ("AE", "reverse_charge"),
        ("E", "exempt"),
    ]
    assert fields["vat_regime"] == "mixed"


# -- the binder's validation -------------------------------------------------------------------


def test_clean_vat_lines_keeps_category_and_regime() -> None:
    out = clean_vat_lines(
        [
            {"rate": "0", "base": "234,56", "amount": "0", "category": "k", "regime": "intra_eu"},
            {"rate": "20", "base": "500", "amount": "100", "category": "S"},
            {"rate": "10", "base": "300", "amount": "30"},
        ]
    )
    assert [(v["rate"], v["category"], v["regime"]) for v in out] == [
        ("0.00", "K", "intra_eu"),
        ("20.00", "S", "standard"),  # the regime the category gives
        ("10.00", None, None),  # not said: the invoice's regime applies
    ]


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ({"rate": "0", "category": "X"}, "vat_lines[0].category", "Catégorie de TVA inconnue"),
        ({"rate": "0", "category": 5}, "vat_lines[0].category", "Catégorie de TVA inconnue"),
        ({"rate": "0", "regime": "mixed"}, "vat_lines[0].regime", "Régime de TVA inconnu"),
        ({"rate": "0", "regime": "national"}, "vat_lines[0].regime", "Régime de TVA inconnu"),
    ],
)
def test_clean_vat_lines_refuses_unknown_values(
    line: dict[str, Any], where: str, message: str
) -> None:
    with pytest.raises(FieldsError) as caught:
        clean_vat_lines([line])
    assert caught.value.field == where
    assert caught.value.message.startswith(message)


def test_validate_fields_accepts_mixed_and_refuses_an_unknown_regime() -> None:
    out = validate_fields({"source": "einvoice", "vat_regime": "mixed"})
    assert out["vat_regime"] == "mixed"
    with pytest.raises(FieldsError) as caught:
        validate_fields({"source": "einvoice", "vat_regime": "mixte"})
    assert caught.value.field == "vat_regime"


def test_extracted_mixed_invoice_passes_the_validation_unchanged() -> None:
    fields = read_einvoice(cii(breakdown=MIXED, tax="130.00", total="1164.56"))
    assert fields is not None
    cleaned = sanitize_extracted(fields)
    assert cleaned["vat_lines"] == fields["vat_lines"]
    assert cleaned["vat_regime"] == "mixed"
    assert 0.0 not in cleaned["confidence"].values()
