"""Fixtures of the FEC export tests: a company with a SIREN, its purchase binder, the export
switched on, and validated purchase invoices made through the core's validation service."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from core.db import db

#: A purchase invoice's fields as binder_purchases stores them (one line at 20 %).
INVOICE = {
    "source": "manual",
    "document_kind": "invoice",
    "supplier": {
        "name": "Papeterie Moreau SARL",
        "trade_name": None,
        "siren": "732829320",
        "siret": None,
        "vat_number": "FR44732829320",
        "iban": None,
        "country": "FR",
    },
    "invoice_number": "FA-2026-117",
    "invoice_date": "2026-03-12",
    "due_date": "2026-04-11",
    "currency": "EUR",
    "total_excl_tax": "100.00",
    "total_tax": "20.00",
    "total_incl_tax": "120.00",
    "amount_due": "120.00",
    "vat_lines": [
        {"rate": "20.00", "base": "100.00", "amount": "20.00", "category": "S", "regime": None}
    ],
    "payment_mode": "transfer",
    "vat_regime": "standard",
    "accounting": {
        "lines": [
            {
                "account": "6064",
                "label": "Fournitures",
                "vat_code": "FR_200",
                "amount_excl_tax": "100.00",
                "vat_amount": "20.00",
            }
        ],
        "proposal": None,
        "supplier_id": None,
    },
}


def invoice(**overrides: Any) -> dict[str, Any]:
    """INVOICE with top-level overrides."""
    fields = copy.deepcopy(INVOICE)
    fields.update(overrides)
    return fields


class Books:
    """A firm, its admin, a company (SIREN 552100554) with a purchase binder, FEC on."""

    def __init__(self, app: Any, factory: Any) -> None:
        from core.exports.services import set_connector_enabled

        self.app, self.factory = app, factory
        self.firm = factory.firm()
        self.company = factory.company(self.firm, name="Boulangerie Dupain", siren="552100554")
        self.binder = factory.binder(self.company, name="Achats")
        self.admin = factory.user(self.firm, "admin")
        with app.app_context():
            set_connector_enabled(self.firm.id, "fec_export", True)
            db.session.commit()

    def validated(self, fields: dict[str, Any]) -> Any:
        """A document of the binder with ``fields``, validated through the core's service."""
        from core.documents.models import Document
        from core.documents.services import validate_document

        document = self.factory.document(self.binder, state="to_review", fields=fields)
        with self.app.app_context():
            validate_document(db.session.get(Document, document.id), None)
            db.session.commit()
            return db.session.get(Document, document.id)

    def export(self, start: str, end: str, user_id: int | None = None) -> Any:
        from core.exports.periods import export_period
        from core.tenancy.models import Company

        with self.app.app_context():
            return export_period(
                db.session.get(Company, self.company.id), "fec_export", start, end, user_id
            )

    def fec_text(self, batch: Any) -> str:
        from core.exports.periods import batch_file

        with self.app.app_context():
            return batch_file(batch)[0].read_bytes().decode("utf-8")

    def csv_text(self, batch: Any) -> str:
        from core.exports.periods import batch_file

        with self.app.app_context():
            return batch_file(batch, "csv")[0].read_bytes().decode("utf-8-sig")


@pytest.fixture
def books(app: Any, factory: Any) -> Books:
    return Books(app, factory)


@pytest.fixture(scope="session")
def make_invoice() -> Callable[..., dict[str, Any]]:
    return invoice


# --- the FEC checker ----------------------------------------------------------------------------

FEC_COLUMNS = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
]


def _fec_amount(text: str, where: str) -> Any:
    import re
    from decimal import Decimal

    assert re.fullmatch(r"\d+,\d{2}", text), f"{where}: amount {text!r} (decimal comma, 2 places)"
    return Decimal(text.replace(",", "."))


def _fec_date(text: str, where: str) -> Any:
    from datetime import datetime

    assert len(text) == 8 and text.isdigit(), f"{where}: date {text!r} is not YYYYMMDD"
    return datetime.strptime(text, "%Y%m%d").date()


def check_fec(text: str, start: Any = None, end: Any = None) -> dict[str, Any]:
    """Check a FEC the way the administration's tools read it; return what it holds.

    18 tab-separated columns in the order of article A47 A-1, the header line of their
    names, every entry balanced (debit = credit), dates valid ``YYYYMMDD`` (EcritureDate and
    PieceDate within ``[start, end]``), EcritureNum 1, 2, 3... without gaps, amounts with a
    decimal comma, numeric accounts, each entry's credit side on a 40x account with
    CompAuxNum set (debit side for a credit note).
    """
    from decimal import Decimal

    lines = text.split("\r\n")
    assert lines[-1] == "", "the file ends with a line end"
    lines = lines[:-1]
    assert lines[0].split("\t") == FEC_COLUMNS, "header line: the 18 columns in order"
    entries: dict[str, list[dict[str, str]]] = {}
    for n, line in enumerate(lines[1:], start=2):
        values = line.split("\t")
        assert len(values) == 18, f"line {n}: {len(values)} columns"
        row = dict(zip(FEC_COLUMNS, values, strict=True))
        where = f"line {n}"
        for key in ("JournalCode", "JournalLib", "EcritureNum", "CompteNum", "CompteLib"):
            assert row[key], f"{where}: {key} is empty"
        for key in ("PieceRef", "EcritureLib"):
            assert row[key], f"{where}: {key} is empty"
        assert row["CompteNum"].isdigit(), f"{where}: account {row['CompteNum']!r} not numeric"
        day = _fec_date(row["EcritureDate"], where)
        piece_day = _fec_date(row["PieceDate"], where)
        _fec_date(row["ValidDate"], where)
        if start is not None:
            assert start <= day <= end, f"{where}: EcritureDate {day} outside the period"
            assert start <= piece_day <= end, f"{where}: PieceDate {piece_day} outside the period"
        debit = _fec_amount(row["Debit"], where)
        credit = _fec_amount(row["Credit"], where)
        assert (debit == 0) != (credit == 0), f"{where}: one of debit and credit"
        assert row["Montantdevise"] == "" and row["Idevise"] == "", f"{where}: euros only"
        entries.setdefault(row["EcritureNum"], []).append(row)
    numbers = [int(k) for k in entries]
    assert numbers == list(range(1, len(numbers) + 1)), f"EcritureNum with gaps: {numbers}"
    for number, rows in entries.items():
        debit = sum((_fec_amount(r["Debit"], number) for r in rows), Decimal(0))
        credit = sum((_fec_amount(r["Credit"], number) for r in rows), Decimal(0))
        assert debit == credit, f"entry {number}: debit {debit} != credit {credit}"
        suppliers = [r for r in rows if r["CompteNum"].startswith("40")]
        assert len(suppliers) == 1, f"entry {number}: one supplier line"
        assert suppliers[0]["CompAuxNum"] and suppliers[0]["CompAuxLib"], f"entry {number}: aux"
        assert len({r["PieceRef"] for r in rows}) == 1, f"entry {number}: one piece"
        for r in rows:
            if r is not suppliers[0]:
                assert r["CompAuxNum"] == "", f"entry {number}: aux only on the supplier line"
    return {"entries": entries, "rows": len(lines) - 1}


@pytest.fixture(scope="session")
def fec_checker() -> Callable[..., dict[str, Any]]:
    return check_fec
