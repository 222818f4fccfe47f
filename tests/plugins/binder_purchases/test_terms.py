"""Payment terms: the due date they give, on their own, in e-invoices and in text invoices."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from bp_helpers import cii, text_pdf

from core.binders.registry import FieldsError
from plugins.binder_purchases.extraction import extract_file, extract_from_text, read_einvoice
from plugins.binder_purchases.extraction.fields import FIELD_KEYS, empty_fields
from plugins.binder_purchases.extraction.terms import (
    add_months,
    due_date_from_terms,
    end_of_month,
    read_terms,
)
from plugins.binder_purchases.fields import ALLOWED_KEYS, sanitize_extracted, validate_fields

D = date(2026, 3, 12)


@pytest.mark.parametrize(
    ("text", "due", "rule"),
    [
        # On receipt / cash: the invoice date.
        ("À réception", D, "à réception"),
        ("Paiement à réception de facture", D, "à réception"),
        ("Payable dès réception", D, "à réception"),
        ("Paiement comptant", D, "comptant"),
        ("Au comptant", D, "comptant"),
        ("Due upon receipt", D, "à réception"),
        ("Zahlbar sofort rein netto", D, "comptant"),
        # N days.
        ("30 jours", date(2026, 4, 11), "30 jours"),
        ("à 30 jours", date(2026, 4, 11), "30 jours"),
        ("30 jours date de facture", date(2026, 4, 11), "30 jours"),
        ("Paiement à 30 jours net", date(2026, 4, 11), "30 jours"),
        ("net 30", date(2026, 4, 11), "30 jours"),
        ("Net 30 days", date(2026, 4, 11), "30 jours"),
        ("Payment within 14 days", date(2026, 3, 26), "14 jours"),
        ("Zahlbar innerhalb von 14 Tagen ohne Abzug", date(2026, 3, 26), "14 jours"),
        (
            "Délai de paiement : 60 jours à compter de la date d'émission",
            date(2026, 5, 11),
            "60 jours",
        ),
        ("PAIEMENT 30 JOURS NET", date(2026, 4, 11), "30 jours"),
        ("30j", date(2026, 4, 11), "30 jours"),
        # N days end of month: + N days, then the end of that month.
        ("45 jours fin de mois", date(2026, 4, 30), "45 jours fin de mois"),
        ("45 j. fin de mois", date(2026, 4, 30), "45 jours fin de mois"),
        ("45 jours FDM", date(2026, 4, 30), "45 jours fin de mois"),
        ("30 j. f.d.m.", date(2026, 4, 30), "30 jours fin de mois"),
        ("Règlement à 30 jours, fin de mois", date(2026, 4, 30), "30 jours fin de mois"),
        ("30 jours nets fin de mois", date(2026, 4, 30), "30 jours fin de mois"),
        # ... then the 10th of the following month.
        ("30 jours fin de mois le 10", date(2026, 5, 10), "30 jours fin de mois le 10"),
        ("30 jours fin de mois, le 10", date(2026, 5, 10), "30 jours fin de mois le 10"),
        ("30 j fdm le 15 du mois suivant", date(2026, 5, 15), "30 jours fin de mois le 15"),
        # End of month alone, with or without a day of the next month.
        ("Fin de mois", date(2026, 3, 31), "fin de mois"),
        ("fin de mois le 10", date(2026, 4, 10), "fin de mois le 10"),
        ("Le 10 du mois suivant", date(2026, 4, 10), "le 10 du mois suivant"),
        # The other reading, when it is said so.
        ("Fin de mois + 45 jours", date(2026, 5, 15), "fin de mois + 45 jours"),
    ],
)
def test_due_date_from_terms(text: str, due: date, rule: str) -> None:
    assert due_date_from_terms(text, D) == (due, rule)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Virement bancaire",
        "Escompte pour paiement anticipé : néant",
        "Escompte de 2 % pour paiement à 8 jours",
        "En cas de paiement sous 8 jours, escompte de 2 %",
        "Pénalités de retard exigibles à 30 jours : 3 fois le taux d'intérêt légal",
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        "Délai de livraison : 15 jours",
        "Offre valable 30 jours",
        "Garantie 30 jours",
        "Paiement à 30 jours ouvrés",
        "2 % discount if paid within 2 days\nPenalty percentage 10% from due date",
        "Montant net 30 €",
        "Paiement à 400 jours",
    ],
)
def test_no_terms(text: str) -> None:
    assert due_date_from_terms(text, D) is None


def test_a_discount_clause_beside_the_terms_is_left_out() -> None:
    assert due_date_from_terms("14 Tage 2 % Skonto, 30 Tage netto", D) == (
        date(2026, 4, 11),
        "30 jours",
    )
    text = "Paiement à 30 jours. Pas d'escompte pour paiement anticipé."
    assert due_date_from_terms(text, D) == (date(2026, 4, 11), "30 jours")


def test_a_due_date_the_terms_state_is_the_due_date() -> None:
    text = "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018, 3% Skonto innerhalb 10 Tagen"
    assert due_date_from_terms(text, date(2018, 3, 5)) == (date(2018, 4, 4), "30 jours")
    terms = read_terms(text)
    assert terms is not None and terms.states_due(date(2018, 3, 5))
    # A stated date before the invoice's is not a due date: the rule gives it.
    assert due_date_from_terms("30 jours (bon du 01/02/2018)", date(2018, 3, 5)) == (
        date(2018, 4, 4),
        "30 jours",
    )


@pytest.mark.parametrize(
    ("issued", "text", "due"),
    [
        # 31 January + 30 days = 2 March (2 days of February short), then its month's end.
        (date(2026, 1, 31), "30 jours fin de mois", date(2026, 3, 31)),
        (date(2026, 1, 31), "30 jours", date(2026, 3, 2)),
        (date(2024, 1, 31), "30 jours", date(2024, 3, 1)),  # leap year
        # 30 January + 30 days: 1 March in 2026, 29 February in 2024.
        (date(2026, 1, 30), "30 jours fin de mois", date(2026, 3, 31)),
        (date(2024, 1, 30), "30 jours fin de mois", date(2024, 2, 29)),
        (date(2024, 1, 30), "30 jours fin de mois le 10", date(2024, 3, 10)),
        (date(2023, 1, 30), "30 jours fin de mois le 10", date(2023, 4, 10)),
        (date(2024, 2, 10), "fin de mois", date(2024, 2, 29)),
        (date(2025, 2, 10), "fin de mois", date(2025, 2, 28)),
        (date(2026, 1, 15), "fin de mois le 31", date(2026, 2, 28)),  # no 31 February
        (date(2026, 12, 20), "45 jours fin de mois", date(2027, 2, 28)),  # across the year
        (date(2026, 12, 20), "30 jours fin de mois le 10", date(2027, 2, 10)),
        (date(2026, 11, 30), "fin de mois + 45 jours", date(2027, 1, 14)),
    ],
)
def test_month_ends_and_leap_years(issued: date, text: str, due: date) -> None:
    result = due_date_from_terms(text, issued)
    assert result is not None and result[0] == due


def test_calendar_helpers() -> None:
    assert end_of_month(date(2024, 2, 3)) == date(2024, 2, 29)
    assert end_of_month(date(2026, 12, 31)) == date(2026, 12, 31)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 20), -18) == date(2024, 9, 20)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_strict_reading_wants_payment_words() -> None:
    invoice = "Location nacelle 30 j    1 200,00\nDurée : 45 jours\nTotal HT 1 200,00"
    assert read_terms(invoice, strict=True) is None
    assert read_terms("Conditions de paiement : 30 jours", strict=True) is not None
    assert read_terms("Conditions de paiement      45 jours", strict=True) is not None
    assert read_terms("Conditions de règlement\n45 jours fin de mois", strict=True) is not None
    # A form that can only be payment terms.
    terms = read_terms("Merci de votre confiance\n45 jours fin de mois", strict=True)
    assert terms is not None and terms.rule == "45 jours fin de mois"


# -- e-invoices: BT-20 when BT-9 is absent --------------------------------------------------


def test_einvoice_due_date_computed_from_bt20_without_bt9() -> None:
    fields = read_einvoice(cii(terms="Paiement à 45 jours fin de mois", due=False))
    assert fields is not None
    assert fields["invoice_date"] == "2026-03-12"
    assert fields["due_date"] == "2026-04-30"
    assert fields["due_date_rule"] == "45 jours fin de mois"
    assert fields["payment_terms"] == "45 jours fin de mois"
    assert fields["confidence"]["due_date"] == 0.85
    assert fields["confidence"]["payment_terms"] == 0.9


def test_einvoice_bt9_wins_over_bt20() -> None:
    fields = read_einvoice(cii(terms="Paiement à 45 jours fin de mois"))
    assert fields is not None
    assert fields["due_date"] == "2026-04-11"
    assert fields["due_date_rule"] is None
    assert fields["payment_terms"] == "45 jours fin de mois"
    assert fields["confidence"]["due_date"] == 1.0


def test_einvoice_without_terms_nor_due_date() -> None:
    fields = read_einvoice(cii(terms="Pénalités de retard : 3 fois le taux légal", due=False))
    assert fields is not None
    assert (fields["due_date"], fields["due_date_rule"], fields["payment_terms"]) == (None,) * 3
    assert "due_date" not in fields["confidence"]


def test_ubl_payment_terms_note() -> None:
    from bp_helpers import DATA

    fields = read_einvoice((DATA / "en16931" / "ubl-tc434-example7.xml").read_bytes())
    assert fields is not None
    assert (fields["invoice_date"], fields["due_date"]) == ("2013-03-11", "2013-04-10")
    assert fields["due_date_rule"] == "30 jours"


# -- text invoices, end to end -------------------------------------------------------------


def _invoice(terms: str, *, due: str | None = None, issued: str = "31/01/2026") -> list[str]:
    lines = [
        "Papeterie Moreau SARL",
        "SIREN 732 829 320",
        "Facture n° FA-2026-118",
        f"Date : {issued}",
    ]
    if due:
        lines.append(f"Échéance : {due}")
    return [
        *lines,
        "Ramettes de papier A4          100,00",
        "Total HT 100,00 EUR",
        "TVA 20 % 20,00 EUR",
        "Total TTC 120,00 EUR",
        terms,
        "Pénalités de retard : trois fois le taux d'intérêt légal.",
    ]


@pytest.mark.parametrize(
    ("terms", "due", "rule"),
    [
        (
            "Conditions de paiement : 30 jours fin de mois le 10",
            "2026-04-10",
            "30 jours fin de mois le 10",
        ),
        ("Règlement à 45 jours fin de mois par virement", "2026-03-31", "45 jours fin de mois"),
        ("Paiement à réception de facture", "2026-01-31", "à réception"),
        ("Conditions de règlement : 30 jours date de facture", "2026-03-02", "30 jours"),
        ("Échéance : fin de mois", "2026-01-31", "fin de mois"),
    ],
)
def test_text_pdf_due_date_from_terms(tmp_path: Path, terms: str, due: str, rule: str) -> None:
    path = tmp_path / "facture.pdf"
    path.write_bytes(text_pdf(_invoice(terms)))
    f = extract_file(path)
    assert f["invoice_date"] == "2026-01-31"
    assert f["due_date"] == due
    assert f["due_date_rule"] == rule
    assert f["payment_terms"] == rule
    assert f["confidence"]["due_date"] == 0.85
    assert sanitize_extracted(f)["due_date_rule"] == rule


def test_text_pdf_printed_due_date_wins(tmp_path: Path) -> None:
    path = tmp_path / "facture.pdf"
    path.write_bytes(
        text_pdf(_invoice("Conditions de paiement : 45 jours fin de mois", due="15/03/2026"))
    )
    f = extract_file(path)
    assert f["due_date"] == "2026-03-15"
    assert f["due_date_rule"] is None
    assert f["payment_terms"] == "45 jours fin de mois"
    assert f["confidence"]["due_date"] > 0.85


def test_text_pdf_leap_year(tmp_path: Path) -> None:
    path = tmp_path / "facture.pdf"
    terms = "Conditions de paiement : 30 jours fin de mois"
    path.write_bytes(text_pdf(_invoice(terms, issued="30/01/2024")))
    f = extract_file(path)
    assert (f["invoice_date"], f["due_date"]) == ("2024-01-30", "2024-02-29")


def test_text_without_terms_has_no_due_date() -> None:
    f = extract_from_text("X SAS\nFacture n° 1\nDate : 12/03/2026\nDélai de livraison : 15 jours\n")
    assert (f["due_date"], f["due_date_rule"], f["payment_terms"]) == (None, None, None)


def test_text_terms_without_invoice_date_give_no_due_date() -> None:
    f = extract_from_text("X SAS\nFacture n° 1\nConditions de paiement : 30 jours\n")
    assert f["payment_terms"] == "30 jours"
    assert (f["due_date"], f["due_date_rule"]) == (None, None)


# -- the fields dictionary and the binder's validation -------------------------------------


def test_new_keys_in_the_fields_and_allowed_by_the_binder() -> None:
    assert {"payment_terms", "due_date_rule"} <= set(FIELD_KEYS) <= ALLOWED_KEYS
    empty = empty_fields("text")
    assert (empty["payment_terms"], empty["due_date_rule"]) == (None, None)
    out = validate_fields({"source": "manual"})
    assert (out["payment_terms"], out["due_date_rule"]) == (None, None)
    out = validate_fields({"payment_terms": "  45 jours   fin de mois ", "due_date_rule": ""})
    assert (out["payment_terms"], out["due_date_rule"]) == ("45 jours fin de mois", None)


@pytest.mark.parametrize("key", ["payment_terms", "due_date_rule"])
@pytest.mark.parametrize("value", ["x" * 201, ["30 jours"], {"rule": "30 jours"}])
def test_new_keys_refused_when_too_long_or_not_text(key: str, value: object) -> None:
    with pytest.raises(FieldsError) as caught:
        validate_fields({key: value})
    assert caught.value.field == key
    assert validate_fields({key: "x" * 200})[key] == "x" * 200
