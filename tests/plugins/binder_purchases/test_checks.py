"""Consistency checks on extracted fields."""

from __future__ import annotations

from typing import Any

from plugins.binder_purchases.extraction import extract_from_text
from plugins.binder_purchases.extraction.checks import Check, check_invoice
from plugins.binder_purchases.extraction.fields import empty_fields


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
    assert check_invoice(good(), required={"invoice_number", "supplier.siren"}) == []


def test_totals_mismatch_is_an_error() -> None:
    f = good() | {"total_incl_tax": "121.00"}
    [check] = check_invoice(f)
    assert (check.code, check.level) == ("totals_mismatch", "error")
    assert "ne concordent pas" in check.message


def test_unknown_rate_and_custom_rates() -> None:
    f = good() | {"vat_lines": [{"rate": "19.00", "base": "100.00", "amount": "20.00"}]}
    assert "unknown_vat_rate" in codes(check_invoice(f))
    assert "unknown_vat_rate" not in codes(check_invoice(f, known_rates={"19", "20"}))


def test_corsican_and_overseas_rates_are_known() -> None:
    for rate in ("13.00", "0.90", "8.50", "1.75", "1.05", "2.10", "5.50"):
        f = good() | {"vat_lines": [{"rate": rate, "base": "100.00", "amount": "20.00"}]}
        assert "unknown_vat_rate" not in codes(check_invoice(f))


def test_due_before_invoice() -> None:
    [check] = check_invoice(good() | {"due_date": "2026-03-01"})
    assert check.code == "due_before_invoice"
    assert check.level == "error"


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
    checks = check_invoice(f)
    assert codes(checks) == ["credit_note", "reverse_charge"]
    assert all(c.level == "warning" for c in checks)
    assert "autoliquidation, art. 283-2 du CGI, catégorie AE" in checks[1].message


def test_intra_eu_detected_from_foreign_vat_number() -> None:
    f = good() | {"total_tax": "0.00", "total_incl_tax": "100.00", "vat_lines": []}
    f["supplier"] = f["supplier"] | {"vat_number": "DE812345673"}
    [check] = check_invoice(f)
    assert (check.code, check.level) == ("intra_eu", "warning")
    assert "art. 262 ter I du CGI, catégorie K" in check.message


def test_checks_on_extracted_text() -> None:
    text = "X SAS\nFacture n° 1\nTotal HT 100,00\nTVA 20 % 20,00\nTotal TTC 120,00\n"
    assert check_invoice(extract_from_text(text)) == []
