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


# --- VAT regime per line ----------------------------------------------------------------------


def _mixed_fields(purchase_fields, special_code="INTRA", category="K", regime="intra_eu"):
    """An invoice with one special line (0 % on the invoice) beside a 20 % and a 10 % line."""
    return purchase_fields(
        vat_regime="mixed",
        total_excl_tax="600.00",
        total_tax="50.00",
        total_incl_tax="650.00",
        vat_lines=[
            {
                "rate": "0",
                "base": "300.00",
                "amount": "0.00",
                "category": category,
                "regime": regime,
            },
            {
                "rate": "20",
                "base": "200.00",
                "amount": "40.00",
                "category": "S",
                "regime": "standard",
            },
            {
                "rate": "10",
                "base": "100.00",
                "amount": "10.00",
                "category": "S",
                "regime": "standard",
            },
        ],
        accounting={
            "lines": [
                {
                    "account": "607000",
                    "label": "Marchandises",
                    "vat_code": special_code,
                    "amount_excl_tax": "300.00",
                    "vat_amount": "0.00",
                },
                {
                    "account": "606300",
                    "label": "Fournitures",
                    "vat_code": "FR_200",
                    "amount_excl_tax": "200.00",
                    "vat_amount": "40.00",
                },
                {
                    "account": "606100",
                    "label": "Livres",
                    "vat_code": "FR_100",
                    "amount_excl_tax": "100.00",
                    "vat_amount": "10.00",
                },
            ]
        },
    )


def _lines(purchase):
    return [(x["vat_code"], x["amount_excl_tax"], x["vat_amount"]) for x in purchase["lines"]]


def _totals(purchase):
    return (purchase["total_excl_tax"], purchase["total_tax"], purchase["total_incl_tax"])


@pytest.mark.parametrize(
    ("code", "category", "regime", "warning"),
    [
        ("INTRA", "K", "intra_eu", "Achat intracommunautaire"),
        ("AE", "AE", "reverse_charge", "Autoliquidation bâtiment"),
    ],
)
def test_mixed_invoice_without_capability_changes_the_special_line_only(
    purchase_fields, code, category, regime, warning
):
    fields = _mixed_fields(purchase_fields, code, category, regime)
    purchase, warnings = build_purchase(_doc(fields), {})
    # The special line becomes a classic 20 % line (its invoice rate is 0 %: unknown here);
    # the standard lines keep their own codes and amounts.
    assert _lines(purchase) == [
        ("FR_200", "300.00", "60.00"),
        ("FR_200", "200.00", "40.00"),
        ("FR_100", "100.00", "10.00"),
    ]
    assert purchase["vat_regime"] == "national"
    assert _totals(purchase) == ("600.00", "110.00", "710.00")  # recomputed: a line changed
    assert len(warnings) == 1 and warning in warnings[0]


def test_mixed_invoice_with_capability_keeps_national_and_the_invoice_totals(purchase_fields):
    purchase, warnings = build_purchase(_doc(_mixed_fields(purchase_fields)), {"intra_eu": True})
    assert _lines(purchase) == [
        ("INTRA", "300.00", "0.00"),
        ("FR_200", "200.00", "40.00"),
        ("FR_100", "100.00", "10.00"),
    ]
    assert purchase["vat_regime"] == "national"  # not every line is intra-EU
    assert _totals(purchase) == ("600.00", "50.00", "650.00")  # nothing changed
    assert warnings == []


def test_special_line_rate_comes_from_its_vat_line(purchase_fields):
    fields = _mixed_fields(purchase_fields, "AE", "AE", "reverse_charge")
    fields["vat_lines"][0]["rate"] = "10"
    purchase, _ = build_purchase(_doc(fields), {})
    assert _lines(purchase)[0] == ("FR_100", "300.00", "30.00")


def test_one_warning_per_regime_however_many_lines(purchase_fields):
    fields = _mixed_fields(purchase_fields, "AE", "AE", "reverse_charge")
    fields["accounting"]["lines"][1].update(vat_code="AE", vat_amount="0.00")
    fields["accounting"]["lines"][2].update(vat_code="INTRA", vat_amount="0.00")
    purchase, warnings = build_purchase(_doc(fields), {})
    assert [w.split(" :")[0] for w in warnings] == [
        "Achat autoliquidé",
        "Achat intracommunautaire",
    ]
    assert [x["vat_code"] for x in purchase["lines"]] == ["FR_200", "FR_200", "FR_200"]


def test_every_line_reverse_charge_with_capability_sends_the_regime(purchase_fields):
    fields = _mixed_fields(purchase_fields, "AE", "AE", "reverse_charge")
    for line in fields["accounting"]["lines"]:
        line.update(vat_code="AE", vat_amount="0.00")
    fields.update(vat_regime="reverse_charge", total_tax="0.00", total_incl_tax="600.00")
    purchase, warnings = build_purchase(_doc(fields), {"reverse_charge": True})
    assert purchase["vat_regime"] == "reverse_charge" and warnings == []
    assert _totals(purchase) == ("600.00", "0.00", "600.00")


def test_fallback_vat_lines_follow_their_own_regime(purchase_fields):
    fields = _mixed_fields(purchase_fields)
    fields["accounting"] = {"lines": [], "proposal": {"account": "607000"}}
    purchase, warnings = build_purchase(_doc(fields), {})
    assert _lines(purchase) == [
        ("FR_200", "300.00", "60.00"),
        ("FR_200", "200.00", "40.00"),
        ("FR_100", "100.00", "10.00"),
    ]
    assert len(warnings) == 1 and "intracommunautaire" in warnings[0]
    # Without its regime, the VAT line's category K says the same.
    for vat in fields["vat_lines"]:
        del vat["regime"]
    assert _lines(build_purchase(_doc(fields), {"intra_eu": True})[0])[0] == (
        "INTRA",
        "300.00",
        "0.00",
    )


def test_standard_invoice_is_untouched(purchase_fields):
    purchase, warnings = build_purchase(_doc(purchase_fields()), {})
    assert _lines(purchase) == [("FR_200", "100.00", "20.00")]
    assert purchase["document_type"] == "invoice" and warnings == []


# --- credit notes -----------------------------------------------------------------------------


def _credit_note(purchase_fields, **overrides):
    fields = purchase_fields(
        document_kind="credit_note",
        invoice_number="AV-2024-3",
        total_excl_tax="-100.00",
        total_tax="-20.00",
        total_incl_tax="-120.00",
        vat_lines=[{"rate": "20", "base": "-100.00", "amount": "-20.00"}],
    )
    fields["accounting"]["lines"][0].update(amount_excl_tax="-100.00", vat_amount="-20.00")
    fields.update(overrides)
    return fields


def test_credit_note_is_sent_as_such_in_positive_amounts(purchase_fields):
    purchase, warnings = build_purchase(_doc(_credit_note(purchase_fields)), {})
    assert purchase["document_type"] == "credit_note"
    assert _lines(purchase) == [("FR_200", "100.00", "20.00")]
    assert _totals(purchase) == ("100.00", "20.00", "120.00")
    assert warnings == []


def test_reverse_charge_credit_note_self_assesses_in_positive_amounts(purchase_fields):
    fields = _credit_note(purchase_fields, total_tax="0.00", total_incl_tax="-100.00")
    fields["accounting"]["lines"][0].update(vat_code="AE", vat_amount="0.00")
    purchase, warnings = build_purchase(_doc(fields), {})
    assert _lines(purchase) == [("FR_200", "100.00", "20.00")]
    assert _totals(purchase) == ("100.00", "20.00", "120.00")
    assert len(warnings) == 1


def test_credit_note_with_mixed_signs_is_a_clear_error(purchase_fields):
    fields = _credit_note(purchase_fields)
    fields["accounting"]["lines"][0]["amount_excl_tax"] = "100.00"
    with pytest.raises(ExportError) as caught:
        build_purchase(_doc(fields), {})
    error = caught.value
    assert error.code == "credit_note_mixed_signs" and not error.transient
    assert error.field == "accounting.lines[0].amount_excl_tax"
    assert "Cet avoir mélange des montants négatifs et positifs" in error.message
    assert "accounting.lines[0].amount_excl_tax = 100.00" in error.message


# --- the supplier MEG matched -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("Papeterie Durand SARL", "PAPETERIE DURAND"),
        ("Sté Générale d'Équipement S.A.S.", "Generale d Equipement"),
        ("FREE S.A.S", "Free"),
        ("Free", "Free Mobile SAS"),  # a trade name inside the registered name
        ("Boulangerie-Pâtisserie Martin EURL", "Boulangerie Patisserie Martin"),
    ],
)
def test_same_supplier_names_despite_case_accents_and_legal_forms(ours, theirs):
    from plugins.meg_export.exporter import supplier_warning

    matched = {"id": 1, "name": theirs, "siren": "421938861", "vat_number": None}
    assert supplier_warning({"name": ours, "siren": "421938861"}, matched) is None


def test_supplier_mismatch_warnings():
    from plugins.meg_export.exporter import supplier_warning

    minoterie = {"id": 7, "name": "Minoterie du Moulin", "siren": "812345676"}
    # Same SIREN, clearly another name.
    assert supplier_warning({"name": "Papeterie Durand SARL", "siren": "812345676"}, minoterie) == (
        "MEG a rattaché cet achat au fournisseur « Minoterie du Moulin » (SIREN 812345676) "
        "alors que la facture est de « Papeterie Durand SARL » : vérifiez la fiche "
        "fournisseur dans MEG."
    )
    # Same name, another SIREN (the invoice's comes from its French VAT number).
    assert supplier_warning(
        {"name": "Minoterie du Moulin", "vat_number": "FR44732829320"}, minoterie
    )
    # A VAT number that differs.
    german = {"id": 8, "name": "Werkzeug GmbH", "vat_number": "DE136695976"}
    warning = supplier_warning({"name": "Werkzeug", "vat_number": "DE999999999"}, german)
    assert warning and "(TVA DE136695976)" in warning
    # Nothing to compare with.
    assert supplier_warning({"name": "X"}, None) is None


def test_difflib_fallback_agrees_with_rapidfuzz():
    from plugins.meg_export.exporter import NAME_SIMILARITY, _token_set_ratio, normalise_name

    pairs = [
        ("Papeterie Durand SARL", "Minoterie du Moulin", False),
        ("Boulangerie Martin", "Boulangerie Dupont", False),
        ("FREE S.A.S", "Free", True),
        ("Free", "Free Mobile SAS", True),
        ("Garage Dupont", "Garage Dupond", True),
    ]
    for first, second, same in pairs:
        score = _token_set_ratio(normalise_name(first), normalise_name(second))
        assert (score >= NAME_SIMILARITY) is same, (first, second, score)


# --- rules published for the binder -----------------------------------------------------------


def test_published_rules_are_what_the_sandbox_accepts():
    from plugins.meg_export.exporter import VAT_CODE_ALIASES, MegExporter
    from plugins.meg_export.sandbox.validation import ACCOUNT_CLASSES, VAT_CODES

    rules = MegExporter.rules
    assert rules["account_classes"] == list(ACCOUNT_CLASSES) == ["2", "6"]
    assert {"AE", "INTRA", "FR_130", "FR_200", "FR_0"} <= set(rules["vat_codes"])
    assert {VAT_CODE_ALIASES.get(c, c) for c in rules["vat_codes"]} == set(VAT_CODES)
