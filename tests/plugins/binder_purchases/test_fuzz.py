"""Hypothesis fuzzing: parsers return a value or raise InvoiceReadError, nothing else."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from bp_helpers import cii
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.binder_purchases.extraction import (
    InvoiceReadError,
    extract_from_text,
    parse_amount,
    parse_date,
    read_einvoice,
)

AMOUNTISH = st.text(alphabet="0123456789 .,-()€$\u00a0\u202fEUReur+'", max_size=30)
DATEISH = st.text(alphabet="0123456789/.- marsMärzMarchjanvieraoûtDec,er", max_size=30)


@given(st.one_of(st.text(max_size=80), AMOUNTISH))
def test_parse_amount_never_raises(s: str) -> None:
    value = parse_amount(s)
    assert value is None or (isinstance(value, Decimal) and value.is_finite())


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_parse_amount_round_trips_french_format(value: Decimal) -> None:
    whole, frac = f"{abs(value):.2f}".split(".")
    printed = ("-" if value < 0 else "") + f"{int(whole):,}".replace(",", " ") + "," + frac
    assert parse_amount(printed) == value


@given(st.one_of(st.text(max_size=80), DATEISH))
def test_parse_date_never_raises(s: str) -> None:
    value = parse_date(s)
    assert value is None or isinstance(value, date)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2069, 12, 31)))
def test_parse_date_round_trips(value: date) -> None:
    assert parse_date(value.strftime("%d/%m/%Y")) == value
    assert parse_date(value.isoformat()) == value


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=600))
def test_extract_from_text_never_raises(text: str) -> None:
    fields = extract_from_text(text)
    json.dumps(fields)  # always JSON-serialisable
    assert fields["source"] == "text"


LINES = st.sampled_from(
    [
        "Facture n° F-2026-1",
        "Total HT 100,00 €",
        "TVA 20 % 20,00 €",
        "Total TTC 120,00 €",
        "SIREN 732 829 320",
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "Date : 12/03/2026",
        "Client :",
        "Échéance 31/02/2026",
        "Avoir",
        "TVA FR44732829320",
        "1 234,56",
        "%",
        "€",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=25))
def test_extract_from_text_on_invoice_like_text(lines: list[str]) -> None:
    json.dumps(extract_from_text("\n".join(lines)))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.builds(
            lambda b, i, j: b[:i] + b[j:],
            st.just(cii()),
            st.integers(0, 4000),
            st.integers(0, 4000),
        ),
    )
)
def test_read_einvoice_never_raises_other_errors(data: bytes) -> None:
    try:
        fields = read_einvoice(data)
    except InvoiceReadError as exc:
        assert exc.message
        return
    if fields is not None:
        json.dumps(fields)
