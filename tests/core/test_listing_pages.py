"""Cursor pages of core.documents.listing: every sort key, both directions, small pages that
cross from the documents with a value to those without one (read in a second query), each
document listed once and in the documented order (value, then id; no value last)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, select

from core.db import db
from core.documents import listing
from core.documents.models import Document
from tests.conftest import Factory


@pytest.fixture
def firm_docs(app: Any, factory: Factory) -> int:
    firm = factory.firm("Cabinet Martin")
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, name="Factures d'achat")
    days = ["2026-10-15", "2026-09-01", None, "2026-10-15", None, "2026-01-31", None, "2026-09-01"]
    totals = ["12.50", None, "99.90", "12.50", "-3.00", None, "1250.00", None]
    for n, (day, total) in enumerate(zip(days, totals, strict=True)):
        fields: dict[str, Any] = {"supplier": {"name": f"Fournisseur {n % 3}"}}
        if day:
            fields["invoice_date"] = day
        if total:
            fields["total_incl_tax"] = total
        state = "validated" if n % 2 else "to_review"
        factory.document(binder, fields=fields, state=state, filename=f"f{(n * 5) % 8}.pdf")
    return firm.id


def _expected(rows: list[Document], key: str, descending: bool) -> list[int]:
    attr = listing.SORTS[key].key
    valued = [d for d in rows if getattr(d, attr) is not None]
    empty = [d for d in rows if getattr(d, attr) is None]
    valued.sort(key=lambda d: (str(getattr(d, attr)), d.id), reverse=descending)
    if key == "amount":
        valued.sort(key=lambda d: (d.field_amount_cents, d.id), reverse=descending)
    if key == "date":
        valued.sort(key=lambda d: (d.field_date, d.id), reverse=descending)
    if key == "created_at":
        valued.sort(key=lambda d: (d.created_at, d.id), reverse=descending)
    empty.sort(key=lambda d: d.id, reverse=descending)
    return [d.id for d in valued + empty]


@pytest.mark.parametrize("key", sorted(listing.SORTS))
@pytest.mark.parametrize("descending", [False, True])
def test_pages_cross_into_documents_without_value(app, firm_docs, key, descending):
    with app.app_context():
        rows = list(db.session.scalars(select(Document)))
        assert any(d.field_date is None for d in rows)
        expected = _expected(rows, key, descending)
        got, cursor, pages = [], None, 0
        while True:
            page = listing.list_documents(
                firm_docs, {}, ("-" if descending else "") + key, 3, cursor
            )
            got += [d.id for d in page.documents]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert got == expected
        assert pages == 3


def test_page_queries_do_not_grow_with_the_limit(app, firm_docs):
    counts = []
    with app.app_context():
        engine = db.engine_for(app)
        for limit in (2, 8):
            seen: list[str] = []

            def count(*args: Any, seen: list[str] = seen) -> None:
                if args[2].lstrip().upper().startswith("SELECT"):
                    seen.append(args[2])

            event.listen(engine, "before_cursor_execute", count)
            try:
                listing.list_documents(firm_docs, {}, "date", limit)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            counts.append(len(seen))
    # The valued documents, then (the page not full) those without a date: two queries.
    assert counts == [1, 2]


def test_deposit_dates_in_cursor_survive_timezones(app, firm_docs):
    with app.app_context():
        first = listing.list_documents(firm_docs, {}, "-created_at", 4)
        assert isinstance(first.documents[0].created_at, dt.datetime)
        second = listing.list_documents(firm_docs, {}, "-created_at", 4, first.next_cursor)
        assert not {d.id for d in first.documents} & {d.id for d in second.documents}
