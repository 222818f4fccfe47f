"""Consistency checks on extracted fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from plugins.binder_purchases.extraction import extract_from_text
from plugins.binder_purchases.extraction.checks import Check, check_invoice, french_supplier
from plugins.binder_purchases.extraction.fields import empty_fields

#: The day the documents of these tests are received.
TODAY = date(2026, 3, 20)


def good() -> dict[str, Any]:
    f = empty_fields("text")
    f.update(
        invoice_number="F1",
        invoice_date="2026-03-12",
        due_date="2026-04-11",
        total_excl_tax="100.00",
        total_tax="20.00",
        total_incl_tax="120.00",
        vat_lines=[{"rate": "20.00", "base": "100.00", "amount": "20.00"}],
    )
    f["supplier"].update(name="ACME SAS", vat_number="FR44732829320", siren="732829320")
    return f


def codes(checks: list[Check]) -> list[str]:
    return [c.code for c in checks]


def test_clean_invoice_has_no_findings() -> None:
    assert check_invoice(good(), required={"invoice_number", "supplier.siren"}, today=TODAY) == []


def test_totals_mismatch_is_an_error() -> None:
    f = good() | {"total_incl_tax": "121.00"}
    [check] = check_invoice(f)
    assert (check.code, check.level) == ("totals_mismatch", "error")
    assert "ne concordent pas" in check.message


def test_unknown_rate_and_custom_rates() -> None:
    f = good() | {"vat_lines": [{"rate": "19.00", "base": "100.00", "amount": "20.00"}]}
    [check] = [c for c in check_invoice(f, today=TODAY) if c.code == "unknown_vat_rate"]
    assert (check.level, check.field) == ("error", "vat_lines")
    assert check.message == "Taux de TVA inconnu en France pour un fournisseur français : 19 %."
    assert "unknown_vat_rate" not in codes(check_invoice(f, known_rates={"19", "20"}))
    f["vat_lines"] = [{"rate": "5.60", "base": "100.00", "amount": "5.60"}]
    [check] = [c for c in check_invoice(f, today=TODAY) if c.code == "unknown_vat_rate"]
    assert check.message.endswith(" : 5,6 %.")


def _supplier(**values: str | None) -> dict[str, Any]:
    f = good() | {
        "total_tax": "19.00",
        "total_incl_tax": "119.00",
        "vat_lines": [{"rate": "19.00", "base": "100.00", "amount": "19.00"}],
    }
    f["supplier"] = dict.fromkeys(f["supplier"]) | {"name": "X"} | values
    return f


@pytest.mark.parametrize(
    ("supplier", "french"),
    [
        ({"vat_number": "DE812345673", "country": "DE"}, False),
        ({"vat_number": "DE812345673"}, False),
        ({"country": "DE"}, False),
        ({"country": "BE", "iban": "BE71096123456769"}, False),
        ({"vat_number": "FR44732829320", "country": "FR"}, True),
        ({"vat_number": "FR44732829320"}, True),
        ({"siren": "732829320"}, True),
        ({"siret": "73282932000074", "country": "DE"}, True),
        ({"country": "FR"}, True),
        ({"country": "RE"}, True),  # La Réunion: French VAT (8.5 %)
        ({}, True),  # nothing says where the supplier is: a French firm's supplier
    ],
)
def test_unknown_rate_only_for_a_french_supplier(supplier: dict[str, str], french: bool) -> None:
    f = _supplier(**supplier)
    assert french_supplier(f) is french
    assert ("unknown_vat_rate" in codes(check_invoice(f, today=TODAY))) is french


def test_corsican_and_overseas_rates_are_known() -> None:
    for rate in ("13.00", "0.90", "8.50", "1.75", "1.05", "2.10", "5.50"):
        f = good() | {"vat_lines": [{"rate": rate, "base": "100.00", "amount": "20.00"}]}
        assert "unknown_vat_rate" not in codes(check_invoice(f))


def test_due_before_invoice_is_a_warning() -> None:
    """Credit notes and invoices already paid may be due before their date: not an error."""
    [check] = check_invoice(good() | {"due_date": "2026-03-01"}, today=TODAY)
    assert (check.code, check.level, check.field) == ("due_before_invoice", "warning", "due_date")
    assert "01/03/2026" in check.message and "12/03/2026" in check.message


@pytest.mark.parametrize(
    ("invoice_date", "code"),
    [
        ("2026-03-20", None),  # received the day it was issued
        ("2026-03-21", "future_date"),
        ("2027-01-05", "future_date"),
        ("2024-09-20", None),  # 18 months exactly
        ("2024-09-19", "old_date"),
        ("2019-11-16", "old_date"),
    ],
)
def test_future_and_old_invoice_dates(invoice_date: str, code: str | None) -> None:
    f = good() | {"invoice_date": invoice_date, "due_date": None}
    found = [c for c in check_invoice(f, today=TODAY) if c.field == "invoice_date"]
    assert codes(found) == ([code] if code else [])
    assert all(c.level == "warning" for c in found)


def test_dates_are_checked_against_today_by_default() -> None:
    future = (date.today() + timedelta(days=40)).isoformat()
    assert "future_date" in codes(check_invoice(good() | {"invoice_date": future}))
    assert "old_date" in codes(check_invoice(good() | {"invoice_date": "2001-01-01"}))
    f = good() | {"invoice_date": date.today().isoformat(), "due_date": None}
    assert codes(check_invoice(f)) == []


def test_date_messages_in_french() -> None:
    [future] = check_invoice(good() | {"invoice_date": "2026-04-01", "due_date": None}, today=TODAY)
    assert future.message == (
        "La date de facture (01/04/2026) est postérieure à la date de réception du document "
        "(20/03/2026) : vérifiez-la."
    )
    [old] = check_invoice(good() | {"invoice_date": "2024-01-31", "due_date": None}, today=TODAY)
    assert "plus de 18 mois (31/01/2024)" in old.message


def test_mixed_regime_warning_names_the_special_lines() -> None:
    f = good() | {
        "total_excl_tax": "1034.56",
        "total_tax": "130.00",
        "total_incl_tax": "1164.56",
        "vat_regime": "mixed",
        "vat_lines": [
            {
                "rate": "0.00",
                "base": "234.56",
                "amount": "0.00",
                "category": "K",
                "regime": "intra_eu",
            },
            {
                "rate": "20.00",
                "base": "500.00",
                "amount": "100.00",
                "category": "S",
                "regime": "standard",
            },
            {
                "rate": "10.00",
                "base": "300.00",
                "amount": "30.00",
                "category": "S",
                "regime": "standard",
            },
        ],
    }
    f["supplier"] = f["supplier"] | {"vat_number": "DE812345673", "siren": None, "country": "DE"}
    checks = check_invoice(f, today=TODAY)
    assert codes(checks) == ["mixed_vat_regime"]  # not "intra_eu" for the whole invoice
    [check] = checks
    assert (check.level, check.field) == ("warning", "vat_lines")
    assert "ligne à 0 % (base 234,56) : acquisition intracommunautaire (catégorie K)" in (
        check.message
    )
    assert "20 %" not in check.message


def test_mixed_regime_with_reverse_charge_and_exempt_lines() -> None:
    f = good() | {
        "total_excl_tax": "400.00",
        "total_tax": "20.00",
        "total_incl_tax": "420.00",
        "vat_regime": "mixed",
        "vat_lines": [
            {
                "rate": "20.00",
                "base": "100.00",
                "amount": "20.00",
                "category": "S",
                "regime": "standard",
            },
            {
                "rate": "0.00",
                "base": "250.00",
                "amount": "0.00",
                "category": "AE",
                "regime": "reverse_charge",
            },
            {
                "rate": "0.00",
                "base": "50.00",
                "amount": "0.00",
                "category": "E",
                "regime": "exempt",
            },
        ],
    }
    [check] = check_invoice(f, today=TODAY)
    assert check.code == "mixed_vat_regime"
    assert "ligne à 0 % (base 250,00) : autoliquidation (catégorie AE)" in check.message
    assert "ligne à 0 % (base 50,00) : exonérée ou hors champ" in check.message


def test_missing_fields_one_per_field() -> None:
    f = good() | {"invoice_number": None}
    f["supplier"] = f["supplier"] | {"iban": None}
    checks = check_invoice(f, required={"invoice_number", "supplier.iban", "invoice_date"})
    assert [(c.code, c.field) for c in checks] == [
        ("missing_field", "invoice_number"),
        ("missing_field", "supplier.iban"),
    ]
    assert "numéro de facture" in checks[0].message


def test_credit_note_and_reverse_charge_warnings() -> None:
    f = good() | {"document_kind": "credit_note", "vat_regime": "reverse_charge"}
    checks = check_invoice(f, today=TODAY)
    assert codes(checks) == ["credit_note", "reverse_charge"]
    assert all(c.level == "warning" for c in checks)
    assert "autoliquidation, art. 283-2 du CGI, catégorie AE" in checks[1].message


def test_intra_eu_detected_from_foreign_vat_number() -> None:
    f = good() | {"total_tax": "0.00", "total_incl_tax": "100.00", "vat_lines": []}
    f["supplier"] = f["supplier"] | {"vat_number": "DE812345673"}
    [check] = check_invoice(f, today=TODAY)
    assert (check.code, check.level) == ("intra_eu", "warning")
    assert "art. 262 ter I du CGI, catégorie K" in check.message


def test_an_eu_supplier_charging_its_own_vat_is_no_intra_eu_acquisition() -> None:
    # A Dutch supplier charging 21 % Dutch VAT (the CII sample's case): nothing to
    # self-assess in France, but its VAT is not deductible here.
    f = good() | {"total_tax": "21.00", "total_incl_tax": "121.00", "vat_regime": "standard"}
    f["supplier"] = f["supplier"] | {"vat_number": "NL123456789B01"}
    found = codes(check_invoice(f, today=TODAY))
    assert "intra_eu" not in found and "foreign_vat" in found
    f["vat_regime"] = None
    assert "foreign_vat" in codes(check_invoice(f, today=TODAY))


def test_checks_on_extracted_text() -> None:
    text = "X SAS\nFacture n° 1\nTotal HT 100,00\nTVA 20 % 20,00\nTotal TTC 120,00\n"
    assert check_invoice(extract_from_text(text)) == []


def test_a_credit_note_in_negative_amounts_passes_the_checks() -> None:
    f = good() | {
        "document_kind": "credit_note",
        "due_date": "2026-03-01",
        "total_excl_tax": "-100.00",
        "total_tax": "-20.00",
        "total_incl_tax": "-120.00",
        "vat_lines": [{"rate": "20.00", "base": "-100.00", "amount": "-20.00"}],
    }
    checks = check_invoice(f, today=TODAY)
    assert codes(checks) == ["due_before_invoice", "credit_note"]
    assert all(c.level == "warning" for c in checks)
