"""The search backend interface.

The core builds :class:`IndexedDocument` values from the database and hands them to a
:class:`SearchBackend`; it asks questions with a :class:`SearchQuery` and gets document ids back
in a :class:`SearchResult`. A backend never touches the database: database-side filters (rights,
export errors...) are passed in as plain ids (``company_ids``, ``restrict_ids``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

#: Accepted values of :attr:`SearchQuery.sort`.
SORTS: frozenset[str] = frozenset(
    {"relevance", "date", "-date", "amount", "-amount", "created", "-created"}
)


@dataclass
class IndexedDocument:
    """A document as the search index sees it (plain values, built by the core)."""

    id: int
    firm_id: int
    company_id: int
    company_name: str
    binder_id: int
    binder_name: str
    binder_type: str
    state: str
    filename: str
    text: str
    supplier: str | None = None
    invoice_number: str | None = None
    siren: str | None = None
    vat_number: str | None = None
    invoice_date: date | None = None
    amount: Decimal | None = None
    created_at: datetime = field(default_factory=datetime.now)


@dataclass
class SearchQuery:
    """A search request, always scoped to one firm.

    ``company_ids=None`` means every company of the firm; an empty set matches nothing.
    ``restrict_ids`` limits the results to these document ids (e.g. documents in export error,
    computed by the database); ``None`` means no restriction.
    """

    firm_id: int
    q: str = ""
    company_ids: frozenset[int] | None = None
    binder_id: int | None = None
    binder_type: str | None = None
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    restrict_ids: frozenset[int] | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class SearchHit:
    """One result: the document id, its score and HTML highlights.

    ``highlights`` maps a field name (``text``, ``filename``, ``supplier``...) to an HTML
    snippet: the text is escaped and matched terms are wrapped in ``<mark>…</mark>``.
    """

    id: int
    score: float
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResult:
    """A page of hits.

    ``total`` is exact when ``total_is_exact`` is true, otherwise it is an estimate (relevance
    ranking skips low-scoring blocks and does not count every match).
    """

    hits: list[SearchHit]
    total: int
    total_is_exact: bool
    page: int
    per_page: int


#: ``progress(documents_done)`` callback of :meth:`SearchBackend.rebuild`.
ProgressCallback = Callable[[int], None]


class SearchBackend(ABC):
    """Full-text index of the documents of every firm.

    Writes (:meth:`index`, :meth:`delete`) may be asynchronous: they are visible to
    :meth:`search` after :meth:`flush` returns. Implementations are thread-safe.
    """

    #: Version of the index layout; an index of another version must be rebuilt.
    schema_version: str
    #: True when the index on disk was (re)created empty and ``classeur reindex`` must run.
    needs_rebuild: bool = False

    @abstractmethod
    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Add these documents, replacing any indexed document with the same id."""

    @abstractmethod
    def delete(self, ids: Iterable[int], firm_id: int) -> None:
        """Remove these document ids of this firm from the index (unknown ids are ignored)."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query. A query string with bad syntax never raises: it is searched as words."""

    @abstractmethod
    def flush(self, timeout: float | None = None) -> None:
        """Wait until every write queued before this call is committed and searchable.

        Raises :class:`TimeoutError` if ``timeout`` seconds pass first.
        """

    @abstractmethod
    def rebuild(
        self,
        chunks: Iterable[list[IndexedDocument]],
        *,
        firm_ids: Iterable[int] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Replace the index content with the documents of ``chunks``.

        With ``firm_ids``, only these firms are rebuilt (``chunks`` must hold only their
        documents); otherwise the whole index is replaced. Searches keep answering from the old
        index until the new one is complete. Clears :attr:`needs_rebuild`.
        """

    @abstractmethod
    def document_count(self, firm_id: int | None = None) -> int:
        """Number of searchable documents, for one firm or for all."""

    @abstractmethod
    def close(self) -> None:
        """Flush pending writes, stop background work and release files."""
