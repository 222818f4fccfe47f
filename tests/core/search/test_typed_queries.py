# ruff: noqa: F811  (the shared ``backend`` fixture is imported, then requested by name)
"""Queries as people type them: amounts the French way (quoted or not, with a currency sign),
dates in any common form, identifiers with or without spaces, references with or without their
punctuation — on both backends. A query the parser cannot take never raises and never
searches something else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.search.backend import SearchBackend
from core.search.mentions import document_mentions, text_mentions, understand
from tests.core.search.test_whoosh_backend import backend, make_doc  # noqa: F401
from tests.core.search.test_whoosh_backend import ids as ranked

INVOICE = """FACTURE N° FA-2026/0042 du 15/10/2026
Quincaillerie Dubois SAS — SIREN 732 829 320 — TVA FR40 303 265 045
Désignation            Qté   PU HT      Total HT
Perceuse               2     1 200,00   2 400,00
Forfait pose           1     17 565,10  17 565,10
Total HT 19 965,10 €   TVA 20 % 3 993,02 €   Total TTC 23 958,12 €
IBAN FR76 3000 6000 0112 3456 7890 189 — échéance le 14 novembre 2026"""

STATEMENT = """Relevé de compte octobre 2026
03/10/2026  PRLV EDF              -1.234,56
21/10/2026  VIR QUINCAILLERIE      23 958,12"""

DECOY = "Bon de livraison 958 colis, 12 palettes, réf 23 — octobre"


def ids(backend: SearchBackend, **kwargs: object) -> list[int]:  # noqa: F811
    """The hits' ids, in id order (relevance order is not the point here)."""
    return sorted(ranked(backend, **kwargs))


def _index(backend: SearchBackend) -> None:  # noqa: F811
    backend.index(
        [
            make_doc(
                1,
                text=INVOICE,
                party_name="Quincaillerie Dubois",
                party_ids=("732829320",),
                reference="FA-2026/0042",
                date=date(2026, 10, 15),
                amount=Decimal("23958.12"),
            ),
            make_doc(2, text=STATEMENT, binder_type="bank_statements"),
            make_doc(3, text=DECOY),
            make_doc(4, text="Facture avoir", amount=Decimal("-75.50"), date=date(2026, 9, 30)),
            # References printed in the text only (no declared reference).
            make_doc(5, text="Facture N° F2023-026078 — pièce 2026.03.0123 — avoir F 000123"),
        ]
    )
    backend.flush()


@pytest.mark.parametrize(
    "typed",
    [
        "23 958,12",
        "23958,12",
        "23 958.12",
        "23958.12 €",
        '"23 958,12"',
        "23 958,12 EUR",
        "« 23 958,12 »",
        "23.958,12",
    ],
)
def test_an_amount_however_typed_finds_every_document_showing_it(backend, typed):  # noqa: F811
    _index(backend)
    assert ids(backend, q=typed) == [1, 2]  # the invoice's total and the bank line, not the decoy


def test_amounts_of_lines_vat_and_statements(backend):  # noqa: F811
    _index(backend)
    assert ids(backend, q="3 993,02") == [1]  # the VAT
    assert ids(backend, q="1200,00") == [1]  # a unit price
    assert ids(backend, q="1 234,56") == [2]  # a (negative) statement line
    assert ids(backend, q="75,50") == [4]  # the declared amount of a credit note
    assert ids(backend, q="perceuse 2 400,00") == [1]  # words and an amount together
    assert ids(backend, q="edf 23 958,12") == [2]
    assert ids(backend, q="9 999,99") == []  # an amount nobody shows: nothing, not "9999" words


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15/10/2026", [1]),
        ("15-10-2026", [1]),
        ("2026-10-15", [1]),
        ("15 octobre 2026", [1]),
        ("15 Octobre 2026", [1]),
        ("14 novembre 2026", [1]),
        ("03/10/2026", [2]),
        ("octobre 2026", [1, 2]),
        ("10/2026", [1, 2]),
        ("30 septembre 2026", [4]),
        ("1er décembre 2026", []),
    ],
)
def test_dates_however_typed(backend, typed, expected):  # noqa: F811
    _index(backend)
    assert ids(backend, q=typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "732 829 320",
        "732829320",
        "FR40 303 265 045",
        "FR40303265045",
        "FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        "FA-2026/0042",
        "FA20260042",
        "fa-2026-0042",
    ],
)
def test_identifiers_and_references_with_or_without_spaces_and_punctuation(
    backend,
    typed,  # noqa: F811
):
    _index(backend)
    assert ids(backend, q=typed) == [1]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("F2023-026078", [5]),
        ("F2023026078", [5]),
        ("F2023 026078", [5]),
        ("2026.03.0123", [5]),
        ("2026 03 0123", [5]),
        ("2026030123", [5]),
        ("F 000123", [5]),
        ("F000123", [5]),
    ],
)
def test_references_printed_in_the_text_however_typed(backend, typed, expected):  # noqa: F811
    _index(backend)
    assert ids(backend, q=typed) == expected


@pytest.mark.parametrize(
    "typed", ['"', "((", "23 958,12)", "AND", "*:*", "fournisseur:", '"23 958,12', "€", "::", "-"]
)
def test_queries_the_parser_cannot_take_never_raise(backend, typed):  # noqa: F811
    _index(backend)
    found = ids(backend, q=typed)
    assert isinstance(found, list)
    if typed in ("23 958,12)", '"23 958,12'):
        assert found == [1, 2]  # the amount, not the words "958" and "12"


def test_understanding_splits_mentions_from_words():
    assert understand("facture edf 23 958,12 €").groups == [["a:2395812"]]
    assert understand("facture edf 23 958,12 €").words == "facture edf"
    assert understand("15 octobre 2026").groups == [["d:20261015"]]  # the day, not its month
    assert understand("octobre 2026").groups == [["m:202610"]]
    assert understand("SIRET 732 829 320 00074").groups == [["i:73282932000074"]]
    assert understand("tva:FR40303265045").groups == []  # field syntax is the parser's
    assert understand("12,5").groups == [] and understand("2026").groups == []
    assert understand("€").empty and not understand("*").empty


def test_what_a_document_mentions():
    found = text_mentions(INVOICE)
    assert {"a:2395812", "a:399302", "a:120000", "a:1756510", "a:1996510"} <= found
    assert {"d:20261015", "m:202610", "d:20261114", "m:202611"} <= found
    assert {"i:732829320", "i:FR40303265045", "i:FR7630006000011234567890189"} <= found
    # A reference after a company's legal form on a bank line is still one.
    assert "i:2025052380" in text_mentions("VIR GAUTIER SARL 2025.05.2380 169326,79")
    # A SIREN printed with a wrong key is still found as printed; an amount is no identifier.
    assert "i:123456789" in text_mentions("SIREN 123 456 789")
    assert not any(t.startswith("i:") for t in text_mentions("Total 123 456 789,00 €"))
    doc = make_doc(9, text="", reference="AV-12", amount=Decimal("-40.00"), date=date(2026, 1, 2))
    assert {"i:AV12", "a:4000", "d:20260102", "m:202601"} <= set(document_mentions(doc))


def test_ids_only_when_no_highlight_is_wanted(backend):  # noqa: F811
    """The page's facet sample and the CSV ask for ids only (``highlight=False``)."""
    from core.search.backend import SearchQuery

    _index(backend)
    with_marks = backend.search(SearchQuery(firm_id=1, q="dubois"))
    bare = backend.search(SearchQuery(firm_id=1, q="dubois", highlight=False))
    assert [h.id for h in bare.hits] == [h.id for h in with_marks.hits] == [1]
    assert with_marks.hits[0].highlights.get("party_name")  # Quincaillerie <mark>Dubois</mark>
    assert bare.hits[0].highlights == {}


def test_sorts_and_filters_with_documents_without_date_or_amount(backend):  # noqa: F811
    """A scan without date or amount, added later (its own segment) or with others, neither
    breaks the date and amount sorts and filters nor comes first: it goes last both ways."""
    backend.index(
        [
            make_doc(1, date=date(2024, 1, 1), amount=Decimal("5")),
            make_doc(2, date=date(2024, 2, 1), amount=Decimal("7")),
        ]
    )
    backend.flush()
    assert ranked(backend, sort="-date") == [2, 1]  # the sort columns are read once here
    backend.index([make_doc(3), make_doc(4, date=date(2023, 6, 1), amount=Decimal("-2"))])
    backend.flush()
    assert ranked(backend, sort="-date") == [2, 1, 4, 3]
    assert ranked(backend, sort="date") == [4, 1, 2, 3]
    assert ranked(backend, sort="-amount") == [2, 1, 4, 3]
    assert ranked(backend, sort="amount") == [4, 1, 2, 3]
    assert ids(backend, amount_min=Decimal("6")) == [2]
    assert ids(backend, date_from=date(2024, 1, 15)) == [2]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Facture n°FA-2026/0042", [1]),  # "n°" only says a number follows
        ("N° FA-2026/0042", [1]),
        ("no 732 829 320", [1]),
        ("2026-10", [1, 2]),  # a year and its month
        ("2026/10", [1, 2]),
        ("23958.12 EUR", [1, 2]),
        ("USD 1 234,56", [2]),  # any currency sign or code is no word to find
        ("DE 232 446 240", [6]),  # a VAT number of another country, spaced as printed
        ("DE232446240", [6]),
        ("facture -avoir", [1]),  # "-word" excludes it on both backends
    ],
)
def test_what_people_add_around_what_they_look_for(backend, typed, expected):  # noqa: F811
    _index(backend)
    backend.index([make_doc(6, text="QualityHosting AG — UStId DE 232 446 240")])
    backend.flush()
    assert ids(backend, q=typed) == expected
