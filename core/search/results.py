"""What the search page and its CSV show: result rows, facets with counts, the CSV file.

The backend answers with document ids; the rows are loaded back through the scoped document
query (a hit outside the user's scope is dropped). Facets are counted by the database over the
matching ids — at most :data:`FACET_SAMPLE` of them, first by relevance: past that the counts
are lower bounds, shown with « ≥ ». Without a text query nor a date or amount filter (the only
filters the database cannot apply: the date and amount come from each binder type's fields),
company, binder type and state are counted exactly over the whole filtered set in SQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import defer

from core.binders.models import Binder
from core.binders.searchable import Searchable, searchable_labels, searchable_of
from core.db import db
from core.documents.models import STATE_LABELS, Document, DocumentState
from core.exports.models import ExportState, ExportStatus
from core.search.backend import SearchQuery, SearchResult
from core.search.services import search
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

#: Matching ids the facets are counted over (the first ones, by relevance).
FACET_SAMPLE = 2_000
#: Rows of a CSV export at most.
CSV_MAX_ROWS = 5_000
#: Values shown per facet (the most frequent; the selected one always).
FACET_VALUES = 12
_CHUNK = 500  # ids per ``IN (...)`` when loading rows


def money(amount: Decimal | None, currency: bool = True) -> str:
    """An amount the French way: ``-1 234,56 €`` (narrow no-break space between thousands)."""
    if amount is None:
        return ""
    text = f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€" if currency else text


def french_date(value: dt.date | None) -> str:
    """``dd/mm/yyyy``, or "" for no date."""
    return value.strftime("%d/%m/%Y") if value else ""


def count(n: int) -> str:
    """An integer the French way: ``12 345``."""
    return f"{n:,}".replace(",", "\u202f")


# -- rows -------------------------------------------------------------------------------------


@dataclass
class ResultRow:
    """One result as the page and the CSV show it."""

    document: Document
    binder_type: str
    binder_type_label: str
    #: French names of the generic fields for this binder type ("Fournisseur", "N° facture").
    labels: dict[str, Any]
    searchable: Searchable
    company_name: str
    binder_name: str
    state_label: str
    highlights: dict[str, str] = field(default_factory=dict)

    @property
    def date_text(self) -> str:
        return french_date(self.searchable.date)

    @property
    def amount_text(self) -> str:
        """The amount in the document's own currency (« 4,11 $US »), euros when none."""
        if self.searchable.amount is None:
            return ""
        from core.binders.columns import french_amount

        return french_amount(self.searchable.amount, (self.document.fields or {}).get("currency"))


def _scoped_documents(ids: list[int]) -> dict[int, Document]:
    """The visible documents among ``ids`` (their text is not loaded)."""
    out: dict[int, Document] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt = scoping.documents_stmt().where(Document.id.in_(chunk)).options(defer(Document.text))
        out.update({d.id: d for d in db.session.scalars(stmt)})
    return out


def build_rows(hits: Iterable[tuple[int, dict[str, str]]]) -> list[ResultRow]:
    """Rows of these hits (id, highlights) in their order; hits out of scope are dropped."""
    hits = list(hits)
    documents = _scoped_documents([i for i, _h in hits])
    binder_ids = {d.binder_id for d in documents.values()}
    company_ids = {d.company_id for d in documents.values()}
    binders = (
        {b.id: b for b in db.session.scalars(select(Binder).where(Binder.id.in_(binder_ids)))}
        if binder_ids
        else {}
    )
    companies = (
        dict(
            db.session.execute(
                select(Company.id, Company.name).where(Company.id.in_(company_ids))
            ).all()
        )
        if company_ids
        else {}
    )
    registry = classeur().binder_types
    rows: list[ResultRow] = []
    for doc_id, highlights in hits:
        d = documents.get(doc_id)
        if d is None:
            continue
        binder = binders.get(d.binder_id)
        type_name = binder.type if binder else ""
        bt = registry.get(type_name)
        rows.append(
            ResultRow(
                document=d,
                binder_type=type_name,
                binder_type_label=bt.label if bt else type_name,
                labels=searchable_labels(bt),
                searchable=searchable_of(bt, d.fields, doc_id=d.id),
                company_name=companies.get(d.company_id, ""),
                binder_name=binder.name if binder else "",
                state_label=STATE_LABELS.get(d.state, str(d.state)),
                highlights=highlights,
            )
        )
    return rows


def snippet(row: ResultRow) -> str:
    """The row's HTML highlight of the text (else of another field), or ""."""
    h = row.highlights
    return h.get("text") or next((v for k, v in h.items() if k != "party_name" and v), "")


# -- matching ids -----------------------------------------------------------------------------


def matching_ids(query: SearchQuery, limit: int) -> tuple[list[int], SearchResult]:
    """The first ``limit`` matching ids of ``query`` (its sort), with the backend's answer.

    Asked without highlights: a backend reads no text for these ids.
    """
    result = search(replace(query, page=1, per_page=limit, highlight=False))
    return [h.id for h in result.hits], result


def is_complete(result: SearchResult, ids: list[int], limit: int) -> bool:
    """True when ``ids`` are all the matches (the backend saw every match)."""
    return result.total_is_exact and result.total <= limit and len(ids) >= result.total


# -- facets -----------------------------------------------------------------------------------


@dataclass
class FacetValue:
    """One value of a facet: what it filters (``params``), its label and its count."""

    key: str
    label: str
    count: int
    params: dict[str, str]
    selected: bool = False


@dataclass
class Facet:
    """A facet (company, binder type, state, year); ``capped``: counts are lower bounds."""

    name: str
    label: str
    values: list[FacetValue]
    capped: bool
    #: The parameters that remove this facet's filter (None when it has none).
    clear: list[str] | None = None


@dataclass
class Facets:
    """The facets of a search and how many matches they were counted over."""

    facets: list[Facet]
    #: Matching ids the per-id counts were made over.
    counted: int
    #: True when those ids were not all the matches (counts are lower bounds).
    capped: bool
    #: The exact number of matches when the database counted the whole filtered set.
    exact_total: int | None = None


def _sql_filterable(query: SearchQuery) -> bool:
    """True when the database alone can apply every filter of ``query`` (no text, no date or
    amount range: those come from the binder types' fields)."""
    return not query.q.strip() and all(
        v is None for v in (query.date_from, query.date_to, query.amount_min, query.amount_max)
    )


def _grouped(stmt: Select[Any]) -> tuple[Counter[int], Counter[str], Counter[str]]:
    companies: Counter[int] = Counter()
    types: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for company_id, binder_type, state, n in db.session.execute(stmt):
        companies[company_id] += n
        types[binder_type] += n
        states[str(state)] += n
    return companies, types, states


def _group_stmt() -> Select[Any]:
    return (
        select(Document.company_id, Binder.type, Document.state, func.count(Document.id))
        .join(Binder, Binder.id == Document.binder_id)
        .where(Document.firm_id == scoping.current_firm_id())
        .group_by(Document.company_id, Binder.type, Document.state)
    )


def _counts_sql(query: SearchQuery, export_error: bool) -> tuple[Counter, Counter, Counter]:
    """Exact counts over the whole filtered set, when the database can apply every filter."""
    stmt = _group_stmt().where(Document.state != DocumentState.TRASHED)
    if query.company_ids is not None:
        stmt = stmt.where(Document.company_id.in_(query.company_ids))
    visible = scoping.visible_company_ids()
    if visible is not None:
        stmt = stmt.where(Document.company_id.in_(visible))
    if query.binder_id is not None:
        stmt = stmt.where(Document.binder_id == query.binder_id)
    if query.binder_type is not None:
        stmt = stmt.where(Binder.type == query.binder_type)
    if query.state is not None:
        stmt = stmt.where(Document.state == query.state)
    if export_error:
        stmt = stmt.where(
            Document.id.in_(
                select(ExportStatus.document_id).where(
                    ExportStatus.firm_id == query.firm_id,
                    ExportStatus.state == ExportState.ERROR,
                )
            )
        )
    elif query.restrict_ids is not None:
        stmt = stmt.where(Document.id.in_(query.restrict_ids))
    return _grouped(stmt)


def _counts_ids(ids: list[int]) -> tuple[Counter, Counter, Counter]:
    """Counts over these matching ids (grouped by the database, a chunk at a time)."""
    totals: tuple[Counter, Counter, Counter] = (Counter(), Counter(), Counter())
    visible = scoping.visible_company_ids()
    for start in range(0, len(ids), _CHUNK):
        stmt = _group_stmt().where(Document.id.in_(ids[start : start + _CHUNK]))
        if visible is not None:
            stmt = stmt.where(Document.company_id.in_(visible))
        for total, part in zip(totals, _grouped(stmt), strict=True):
            total.update(part)
    return totals


def _years(ids: list[int]) -> Counter[int | None]:
    """Documents per year of their date (the binder type's date field), None without one."""
    registry = classeur().binder_types
    years: Counter[int | None] = Counter()
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            select(Document.id, Binder.type, Document.fields)
            .join(Binder, Binder.id == Document.binder_id)
            .where(
                Document.firm_id == scoping.current_firm_id(),
                Document.id.in_(ids[start : start + _CHUNK]),
            )
        )
        visible = scoping.visible_company_ids()
        if visible is not None:
            stmt = stmt.where(Document.company_id.in_(visible))
        for doc_id, type_name, doc_fields in db.session.execute(stmt):
            date = searchable_of(registry.get(type_name), doc_fields, doc_id=doc_id).date
            years[date.year if date else None] += 1
    return years


def _top(values: list[FacetValue]) -> list[FacetValue]:
    values.sort(key=lambda v: (-v.count, v.label.lower()))
    shown = values[:FACET_VALUES]
    shown += [v for v in values[FACET_VALUES:] if v.selected]
    return shown


def compute_facets(
    query: SearchQuery,
    args: dict[str, str],
    *,
    export_error: bool,
    sample: list[int],
    complete: bool,
) -> Facets:
    """The facets of ``query``.

    ``sample`` holds the first matching ids (at most :data:`FACET_SAMPLE`), ``complete`` says
    whether they are all the matches. ``args`` are the page's parameters, which each value's
    link keeps (the page goes back to 1).
    """
    base = {k: v for k, v in args.items() if k != "page" and v}
    exact_sql = _sql_filterable(query)
    if exact_sql:
        companies, types, states = _counts_sql(query, export_error)
    else:
        companies, types, states = _counts_ids(sample)
    years = _years(sample)
    capped_ids = not complete

    names = (
        dict(
            db.session.execute(
                select(Company.id, Company.name).where(Company.id.in_(list(companies)))
            ).all()
        )
        if companies
        else {}
    )
    registry = classeur().binder_types

    def params(**changes: str | None) -> dict[str, str]:
        out = dict(base)
        for k, v in changes.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    company_values = [
        FacetValue(
            str(cid),
            names.get(cid, str(cid)),
            n,
            params(company=str(cid)),
            base.get("company") == str(cid),
        )
        for cid, n in companies.items()
    ]
    type_values = []
    for name, n in types.items():
        bt = registry.get(name)
        type_values.append(
            FacetValue(
                name,
                bt.label if bt else name,
                n,
                params(binder_type=name),
                base.get("binder_type") == name,
            )
        )
    state_values = [
        FacetValue(s, STATE_LABELS.get(s, s), n, params(state=s), base.get("state") == s)
        for s, n in states.items()
    ]
    year_values = []
    for year, n in years.items():
        if year is None:
            continue
        first, last = f"{year:04d}-01-01", f"{year:04d}-12-31"
        year_values.append(
            FacetValue(
                str(year),
                str(year),
                n,
                params(date_from=first, date_to=last),
                base.get("date_from") == first and base.get("date_to") == last,
            )
        )
    year_values.sort(key=lambda v: v.key, reverse=True)
    labels = searchable_labels(registry.get(query.binder_type or ""))
    facets = [
        Facet(
            "company",
            _("Entreprise"),
            _top(company_values),
            capped_ids and not exact_sql,
            ["company"] if "company" in base else None,
        ),
        Facet(
            "binder_type",
            _("Type de classeur"),
            _top(type_values),
            capped_ids and not exact_sql,
            ["binder_type"] if "binder_type" in base else None,
        ),
        Facet(
            "state",
            _("État"),
            _top(state_values),
            capped_ids and not exact_sql,
            ["state"] if "state" in base else None,
        ),
        Facet(
            "year",
            _("Année (%(date)s)", date=str(labels["date"]).lower()),
            year_values[:FACET_VALUES] + [v for v in year_values[FACET_VALUES:] if v.selected],
            capped_ids,
            [k for k in ("date_from", "date_to") if k in base] or None,
        ),
    ]
    return Facets(facets, len(sample), capped_ids, sum(states.values()) if exact_sql else None)


# -- CSV --------------------------------------------------------------------------------------

#: The CSV's columns (French headers), in the page's order.
CSV_HEADERS = (
    "Tiers",
    "Numéro",
    "Date",
    "Montant",
    "Entreprise",
    "Classeur",
    "Type de classeur",
    "État",
    "Fichier",
    "Document",
)


def csv_lines(rows: Iterable[ResultRow], url_of: Any) -> Iterator[str]:
    """The CSV text, a chunk at a time: UTF-8 BOM first, ``;`` separated, CRLF lines,
    dd/mm/yyyy dates, amounts with a decimal comma and no thousands separator (spreadsheets
    read them as numbers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADERS)
    yield "\ufeff" + take()
    for n, row in enumerate(rows, 1):
        g = row.searchable
        writer.writerow(
            (
                _cell(g.party_name or ""),
                _cell(g.reference or ""),
                french_date(g.date),
                money(g.amount, currency=False).replace("\u202f", "")
                if g.amount is not None
                else "",
                _cell(row.company_name),
                _cell(row.binder_name),
                _cell(row.binder_type_label),
                row.state_label,
                _cell(row.document.filename),
                url_of(row.document.id),
            )
        )
        if n % 200 == 0:
            yield take()
    yield take()


def _cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
