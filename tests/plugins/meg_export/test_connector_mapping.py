"""Field mapping of the MEG exporter: Classeur's purchase fields → MEG's purchase body."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.exports.registry import ExportError
from plugins.meg_export.exporter import attachment, build_purchase, supplier_country

INVOICES = Path(__file__).resolve().parents[3] / "tests" / "data" / "invoices"


def _doc(fields, **extra):
    return SimpleNamespace(id=42, fields=fields, created_at=datetime(2024, 11, 2), **extra)


@pytest.mark.parametrize(
    ("supplier", "expected"),
    [
        ({"vat_number": "FR60421938861"}, "france"),
        ({"vat_number": "DE136695976", "country": "FR"}, "union_europeenne"),
        ({"vat_number": "EL094014201"}, "union_europeenne"),
        ({"vat_number": "CHE123456789"}, "hors_ue"),
        ({"country": "US"}, "hors_ue"),
        ({"country": "BE"}, "union_europeenne"),
        ({}, "france"),
    ],
)
def test_supplier_country_from_the_vat_prefix(supplier, expected):
    assert supplier_country(supplier) == expected


@pytest.mark.parametrize(
    ("mode", "meg"),
    [
        ("transfer", "virement"),
        ("direct_debit", "prelevement"),
        ("cheque", "cheque"),
        ("card", "carte"),
        ("cash", "especes"),
        ("other", "autre"),
        (None, None),
    ],
)
def test_payment_modes(purchase_fields, mode, meg):
    purchase, warnings = build_purchase(_doc(purchase_fields(payment_mode=mode)), {})
    assert purchase["payment_mode"] == meg and warnings == []
    assert purchase["source_platform"] == "Classeur" and purchase["partner_id"] == "42"


def test_one_line_per_vat_line_with_the_fallback_account(purchase_fields):
    fields = purchase_fields(
        total_excl_tax="150.00",
        total_tax="22.50",
        total_incl_tax="172.50",
        vat_lines=[
            {"rate": "20.00", "base": "100.00", "amount": "20.00"},
            {"rate": "5.50", "base": "50.00", "amount": "2.75"},
        ],
        accounting={"lines": [], "proposal": {"account": "6063"}},
    )
    purchase, _ = build_purchase(_doc(fields), {})
    assert [
        (x["account"], x["vat_code"], x["amount_excl_tax"], x["vat_amount"])
        for x in purchase["lines"]
    ] == [("6063", "FR_200", "100.00", "20.00"), ("6063", "FR_55", "50.00", "2.75")]
    # The invoice's own totals are sent: MEG explains a mismatch (2.75 + 20 != 22.50).
    assert purchase["total_tax"] == "22.50"


def test_no_account_at_all_is_a_clear_error(purchase_fields):
    with pytest.raises(ExportError) as caught:
        build_purchase(_doc(purchase_fields(accounting={"lines": []})), {})
    assert caught.value.code == "missing_account" and not caught.value.transient
    assert "compte" in caught.value.message


def test_classeur_vat_code_spelling_is_translated(purchase_fields):
    fields = purchase_fields()
    fields["accounting"]["lines"][0]["vat_code"] = "FR_130"
    purchase, _ = build_purchase(_doc(fields), {})
    assert purchase["lines"][0]["vat_code"] == "FR_13"


def test_intra_eu_with_capability_is_sent_with_intra(purchase_fields):
    fields = purchase_fields(vat_regime="intra_eu", total_tax="0.00", total_incl_tax="100.00")
    purchase, warnings = build_purchase(_doc(fields), {"intra_eu": True})
    assert purchase["vat_regime"] == "intra_eu" and warnings == []
    assert [x["vat_code"] for x in purchase["lines"]] == ["INTRA"]
    assert purchase["total_incl_tax"] == purchase["total_excl_tax"] == "100.00"


def test_generated_pdfs_are_byte_identical_across_retries(purchase_fields):
    png = INVOICES / "invoice2data/AmazonWebServices.png"
    xml = INVOICES / "akretion/ubl-21-en16931.xml"
    for path, media in ((png, "image/png"), (xml, "application/xml")):
        document = _doc(purchase_fields(), filename=path.name, media_type=media)
        first, name = attachment(document, path)
        assert first.startswith(b"%PDF-") and name == f"{path.stem}.pdf"
        assert attachment(document, path)[0] == first


def test_unknown_file_type_is_refused_clearly(tmp_path, purchase_fields):
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04 not a pdf")
    document = _doc(purchase_fields(), filename="notes.docx", media_type="application/zip")
    with pytest.raises(ExportError) as caught:
        attachment(document, path)
    assert caught.value.code == "unsupported_file"


def test_rate_gate_holds_then_spreads_the_sends_after_a_429():
    from plugins.meg_export.exporter import RateGate

    gate, key, other = RateGate(), ("firm", "company", "t"), ("firm", "other", "t")
    assert gate.reserve(key) == 0  # free until MEG refuses
    gate.block(key, 1.0)
    gate.block(key, 1.0)  # the same overshoot: one slow-down only
    waits = [gate.reserve(key) for _ in range(3)]
    assert waits[0] > 0.5
    assert waits[0] < waits[1] < waits[2]  # slots handed out in order, spaced
    assert waits[1] - waits[0] == pytest.approx(RateGate.FIRST_INTERVAL, abs=0.01)
    assert gate.reserve(other) == 0  # another link is not held
    assert gate.hits == 2
