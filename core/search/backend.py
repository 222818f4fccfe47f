"""The search backend interface.

The core builds :class:`IndexedDocument` values from the database and hands them to a
:class:`SearchBackend`; it asks questions with a :class:`SearchQuery` and gets document ids back
in a :class:`SearchResult`. A backend never touches the database: database-side filters (rights,
export errors...) are passed in as plain ids (``company_ids``, ``restrict_ids``).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

#: Accepted values of :attr:`SearchQuery.sort`.
SORTS: frozenset[str] = frozenset(
    {"relevance", "date", "-date", "amount", "-amount", "created", "-created"}
)

#: Fields a ``name:value`` query may name, by their own name or a French alias (lowercase,
#: without accents). Binder types add theirs (``fournisseur:``) through
#: :attr:`SearchQuery.aliases`.
QUERY_FIELD_NAMES: dict[str, str] = {
    "text": "text",
    "texte": "text",
    "filename": "filename",
    "fichier": "filename",
    "company_name": "company_name",
    "dossier": "company_name",
    "societe": "company_name",
    "binder_name": "binder_name",
    "classeur": "binder_name",
    "party_name": "party_name",
    "tiers": "party_name",
    "party_ids": "party_ids",
    "identifiant": "party_ids",
    "reference": "reference",
    "ref": "reference",
    "numero": "reference",
    "keywords": "keywords",
    "motcle": "keywords",
}


def query_field_names(aliases: dict[str, str] | None = None) -> dict[str, str]:
    """:data:`QUERY_FIELD_NAMES` with ``aliases`` added (never replacing a core name)."""
    names = dict(QUERY_FIELD_NAMES)
    for alias, name in (aliases or {}).items():
        if name in names.values():
            names.setdefault(alias.lower(), name)
    return names


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
    #: The generic searchable fields (``core.binders.searchable.Searchable``).
    party_name: str | None = None
    party_ids: tuple[str, ...] = ()
    reference: str | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    keywords: tuple[str, ...] = ()
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
    #: Extra ``name:value`` query names (``{"fournisseur": "party_name"}``), from the binder
    #: types; see :func:`query_field_names`.
    aliases: dict[str, str] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    #: False: the hits' ids only, without highlights (the search page's facet counts over the
    #: first 2,000 matches, its CSV of 5,000 rows): a backend then reads no text.
    highlight: bool = True


@dataclass
class SearchHit:
    """One result: the document id, its score and HTML highlights.

    ``highlights`` maps a field name (``text``, ``filename``, ``party_name``) to an HTML
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
