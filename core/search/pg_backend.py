"""The scale-out search backend: PostgreSQL full text search in the ``search_documents`` table.

Design (figures in ``docs/search.md``):

* one row per document (table and text search configuration from the ``0002_search_pg``
  migration, generic columns since ``0006_search_generic``); a weighted ``tsvector`` computed in
  SQL at write time — A identifiers (reference and party identifiers, also as exact whole
  lexemes), B party name, keywords and file name, C company and binder names, D text — with a
  GIN index, and b-tree indexes led by ``firm_id`` for the filters;
* ``classeur_french``: French stop words, ``unaccent``, French snowball stemmer (accents folded
  before stemming, as in the whoosh analysis); without the ``unaccent`` extension, accents are
  folded in Python before ``to_tsvector`` / ``websearch_to_tsquery``;
* writes are synchronous upserts (``INSERT … ON CONFLICT DO UPDATE``) in batches: ``flush()``
  has nothing to wait for, and every process sees the same index;
* a search is a few short SQL statements (``PostgresBackend.search``): tenancy (``firm_id``,
  ``company_ids``, ``restrict_ids``) and filters in ``WHERE``, ``websearch_to_tsquery`` (never
  raises on bad syntax); by relevance, ``ts_rank`` over the small ranking vector ``rtsv`` (no
  text: kept in the row, migration ``0008_search_pg_speed``) of the most recent short-field
  matches, then the text-only matches newest first; other sorts read the matches in the
  column's order without ranking; ``LIMIT k+1`` instead of a count, the total counted only
  when the planner expects few matches (else estimated, ``total_is_exact=False``); each read
  is chosen by the planner's estimate (few matches: all through the GIN indexes, then sorted;
  many: the most recent documents until the page is full); highlights are ``ts_headline``
  over HTML-escaped text, for the rows of the page only.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from core.search.analysis import normalize_identifier
from core.search.backend import (
    SORTS,
    IndexedDocument,
    ProgressCallback,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
    query_field_names,
)
from core.search.mentions import (
    document_mentions,
    normalize_reference,
    reference_alternatives,
    understand,
)
from core.search.models import TS_CONFIG

SCHEMA_VERSION = "pg-2"

#: ``ts_rank`` weights of the D, C, B and A labels (text; names; party name, keywords and file
#: name; identifiers).
RANK_WEIGHTS = "{0.1, 0.3, 0.6, 1.0}"
#: Rank added to a document whose amount equals an amount typed as the whole query.
AMOUNT_BOOST = 1.0
#: How many of the most recent documents matching in their short fields (``rtsv``) are ranked
#: by ``ts_rank``; the documents matching only in their text follow, newest first.
RANK_CANDIDATES = 500
#: A total above this planner estimate is given as an estimate, below it is counted exactly.
EXACT_COUNT_LIMIT = 500
#: Above this planner estimate, matches are read among the most recent documents (or in the
#: sort's order) until a page is full; below, all are read through the indexes and sorted.
FEW_MATCHES = 5000
#: Documents read (at least) in order to fill a page among many matches.
RECENT_WINDOW = 2000
#: Bound of any statement of the backend's connections (writes lift it), in milliseconds.
STATEMENT_TIMEOUT_MS = 10_000

_IDENTIFIER_COLUMNS = frozenset({"reference", "party_ids"})
_SORT_COLUMNS = {"date": "d.date", "amount": "d.amount", "created": "d.created_at"}

_FIELD_RE = re.compile(r'(?<![\w:])([A-Za-z_]+):("[^"]*"?|\S*)')
_PREFIX_RE = re.compile(r"(?<![\w*?])([^\W_][^\W_]*)\*(?=\s|$)")
_AND_RE = re.compile(r"(?<!\S)AND(?!\S)")
_NOT_RE = re.compile(r"(?<!\S)NOT(?:\s+|$)")
_WILDCARD_ONLY_RE = re.compile(r"^[\s*?]*$")
#: Characters that split file-name words ("facture_edf.pdf"), replaced by spaces: the
#: PostgreSQL parser would otherwise see one host or file token.
_FILENAME_SEPARATORS = "_.-/\\"

#: The weighted lexemes of the short fields: the ranking vector ``rtsv``, and ``tsv`` without
#: its D (text) part.
_SHORT_TSV = (
    f"(setweight(to_tsvector('{TS_CONFIG}', :w_ident) || CAST(:w_exact AS tsvector), 'A') "
    f"|| setweight(to_tsvector('{TS_CONFIG}', :w_b), 'B') "
    f"|| setweight(to_tsvector('{TS_CONFIG}', :w_c), 'C'))"
)

_ESCAPE_SQL = "replace(replace(replace({}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
_HEADLINE_TEXT = (
    "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_HEADLINE_ALL = "StartSel=<mark>, StopSel=</mark>, HighlightAll=true"
_MARKS = ("<mark>", "</mark>")


@dataclass
class _ParsedQuery:
    """A query string split into what the SQL needs (see :func:`parse_query`)."""

    words: str = ""
    prefixes: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    exact: str | None = None
    #: Required groups of mention tokens (amounts, dates, identifiers however typed).
    mentions: list[list[str]] = field(default_factory=list)
    #: A reference-like query also matches this mention (``FA-2026/0042`` → ``i:FA20260042``).
    reference: str | None = None
    match_all: bool = False
    empty: bool = False

    @property
    def has_text(self) -> bool:
        return bool(self.words.strip() or self.prefixes)


@dataclass
class _Terms:
    """The SQL pieces of a parsed query (see :meth:`PostgresBackend._text_conditions`).

    ``strong`` matches in the short fields (``rtsv``, typed references): the ranked candidates;
    ``weak`` in the text (``tsv``); ``match`` is either; ``required`` are ANDed to every
    statement (mentions, ``field:value``); ``rank`` ranks by ``rtsv``; ``tsq`` highlights.
    """

    tsq: str = "NULL::tsquery"
    strong: str = "true"
    weak: str | None = None
    match: str = "true"
    required: list[str] = field(default_factory=list)
    rank: str = "0.0"
    highlight: bool = False


class _Plan:
    """The statements of one search on one connection: planner estimates (cached) and reads.

    Conditions are SQL over ``search_documents d``, ANDed with the filters ``where``; read
    rows are ``(id, score, created_at)``.
    """

    def __init__(
        self, conn: Connection, where: list[str], terms: _Terms, params: dict[str, Any]
    ) -> None:
        self.conn, self.where, self.terms, self.params = conn, where, terms, params
        self._estimates: dict[str, int] = {}

    def _where(self, *conditions: str) -> str:
        return " AND ".join([*self.where, *conditions])

    def estimate(self, condition: str) -> int:
        """The planner's estimate of the number of matches of ``condition`` (no execution)."""
        if condition not in self._estimates:
            plan = self.conn.execute(
                text(
                    "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents d "
                    f"WHERE {self._where(condition)}"
                ),
                self.params,
            ).scalar()
            if isinstance(plan, str):
                plan = json.loads(plan)
            self._estimates[condition] = int(plan[0]["Plan"]["Plan Rows"])
        return self._estimates[condition]

    def all_matches(
        self, condition: str, score: str, order: str, limit: int
    ) -> list[tuple[int, float, Any]]:
        """Every match, found through the indexes (GIN, filters), then sorted: for few matches.

        The ``MATERIALIZED`` CTE keeps the planner from walking an ordered index and testing
        each row against the full text (fast when matches are dense among recent documents,
        a scan of the whole firm when they are rare).
        """
        sql = (
            "WITH d AS MATERIALIZED (SELECT d.id, d.created_at, d.date, d.amount, "
            f"{score} AS score FROM search_documents d WHERE {self._where(condition)}) "
            f"SELECT d.id, d.score, d.created_at FROM d ORDER BY {order} LIMIT :m_limit"
        )
        found = self.conn.execute(text(sql), {**self.params, "m_limit": limit}).all()
        return [(int(r[0]), float(r[1]), r[2]) for r in found]

    def recent_matches(
        self,
        condition: str,
        score: str,
        order: str,
        window: int,
        limit: int,
        window_where: str | None = None,
    ) -> list[tuple[int, float, Any]]:
        """The matches among the first ``window`` documents in ``order``: for many matches.

        The filters pick the window through the b-tree indexes; only its rows are tested
        against the full text, and the reading stops at ``limit`` matches.
        """
        inner = self._where(*([window_where] if window_where else []))
        sql = (
            f"SELECT d.id, {score} AS score, d.created_at FROM (SELECT * FROM search_documents d "
            f"WHERE {inner} ORDER BY {order} LIMIT :m_window) d "
            f"WHERE {condition} ORDER BY {order} LIMIT :m_limit"
        )
        found = self.conn.execute(
            text(sql), {**self.params, "m_window": window, "m_limit": limit}
        ).all()
        return [(int(r[0]), float(r[1]), r[2]) for r in found]

    def count(self, condition: str, limit: int) -> int:
        """The number of matches, counting at most ``limit``."""
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM search_documents d "
            f"WHERE {self._where(condition)} LIMIT :c_limit) s"
        )
        return int(self.conn.execute(text(sql), {**self.params, "c_limit": limit}).scalar() or 0)


def parse_query(q: str, aliases: dict[str, str] | None = None) -> _ParsedQuery:
    """Split a whoosh-style query into ``websearch_to_tsquery`` words and extra conditions.

    ``field:value`` (the names of :func:`query_field_names`, with the binder types'
    ``aliases``) becomes a condition on that column; ``word*`` a prefix
    term; whoosh's ``AND`` (implicit anyway) is dropped and ``NOT x`` becomes ``-x``. The whole
    string also matches an identifier exactly (spaces removed) or an amount. Never raises.
    """
    parsed = _ParsedQuery()
    names = query_field_names(aliases)
    if _WILDCARD_ONLY_RE.match(q):
        parsed.match_all = bool(q.strip())
        return parsed
    understood = understand(q)
    if understood.empty:
        parsed.empty = True
        return parsed
    parsed.mentions = understood.groups
    # What is left beside the mentions, if it holds anything to search (not a lone bracket).
    q = understood.words if re.search(r"[\w*?]", understood.words) else ""
    ident = normalize_identifier(q)
    if len(ident) >= 3:
        parsed.exact = ident
    parsed.reference = reference_alternatives(q.strip())
    if parsed.reference is None and " " in q.strip():
        compact = normalize_reference(q)
        if len(compact) >= 3 and re.search(r"\d", compact):
            parsed.reference = f"i:{compact}"

    def take_field(m: re.Match[str]) -> str:
        name = names.get(m.group(1).lower())
        if name is None:
            return m.group(0)
        value = m.group(2).strip('"').strip()
        if value:
            parsed.fields.append((name, value))
        return " "

    rest = _FIELD_RE.sub(take_field, q)

    def take_prefix(m: re.Match[str]) -> str:
        parsed.prefixes.append(m.group(1))
        return " "

    if parsed.fields:
        # The whole string is a field query, not an identifier.
        parsed.exact = None
        parsed.reference = None
    rest = _PREFIX_RE.sub(take_prefix, rest)
    rest = _AND_RE.sub(" ", rest)
    rest = _NOT_RE.sub("-", rest)
    parsed.words = rest.replace("*", " ").replace("?", " ").strip()
    return parsed


def _tsvector_literal(values: Iterable[str]) -> str:
    """A ``tsvector`` literal of whole lexemes (quoted: no parsing, no stemming)."""
    quoted = []
    for value in values:
        escaped = value.replace("\\", "\\\\").replace("'", "''")
        quoted.append(f"'{escaped}'")
    return " ".join(quoted)


def _filename_words(filename: str) -> str:
    """The file name with its word separators as spaces (same length)."""
    return filename.translate({ord(c): " " for c in _FILENAME_SEPARATORS})


def _restore_filename(marked: str, original_escaped: str) -> str:
    """Put the separators of ``original_escaped`` back into a highlighted, spaced file name."""
    out: list[str] = []
    pos = i = 0
    while i < len(marked):
        for mark in _MARKS:
            if marked.startswith(mark, i):
                out.append(mark)
                i += len(mark)
                break
        else:
            if pos >= len(original_escaped):
                return marked
            out.append(original_escaped[pos])
            pos += 1
            i += 1
    return "".join(out) if pos == len(original_escaped) else marked


def _fold_accents(value: str) -> str:
    from whoosh.support.charset import accent_map

    return value.translate(accent_map)


class PostgresBackend(SearchBackend):
    """Full-text search in PostgreSQL, behind the :class:`SearchBackend` interface.

    ``database_url`` is a SQLAlchemy URL of a PostgreSQL database migrated to
    ``0006_search_generic``; the backend has its own engine (connection pool), independent of the
    app's session, so index writes commit on their own.
    """

    schema_version = SCHEMA_VERSION

    def __init__(
        self,
        database_url: str,
        *,
        batch_size: int = 500,
        pool_size: int = 10,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
        rank_candidates: int = RANK_CANDIDATES,
    ) -> None:
        if not database_url.startswith("postgresql"):
            raise ValueError(
                "CLASSEUR_SEARCH_BACKEND=postgres nécessite une base PostgreSQL "
                "(CLASSEUR_DATABASE_URL=postgresql+psycopg://…)."
            )
        self.batch_size = batch_size
        self.rank_candidates = max(1, rank_candidates)
        # Searches are short OLTP statements: no JIT compilation (tens of ms as soon as the
        # estimated cost of a broad match passes jit_above_cost), no parallel workers (their
        # start costs more than the scan they share), no sequential scan of the table (every
        # search has its firm's index; the planner does not know that testing a row against
        # the full text means reading it from TOAST), and a bound on any statement; writes
        # lift the bound for their own transactions (see _write).
        options = (
            "-c jit=off -c max_parallel_workers_per_gather=0 -c enable_seqscan=off "
            f"-c statement_timeout={max(0, int(statement_timeout_ms))}"
        )
        self.engine: Engine = create_engine(
            database_url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"options": options},
        )
        self._closed = False
        self._lock = threading.Lock()
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT to_regclass('search_documents') IS NOT NULL, "
                    "EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = :cfg), "
                    "EXISTS (SELECT 1 FROM pg_ts_config_map m "
                    "JOIN pg_ts_config c ON c.oid = m.mapcfg "
                    "JOIN pg_ts_dict d ON d.oid = m.mapdict "
                    "WHERE c.cfgname = :cfg AND d.dictname = 'unaccent'), "
                    # The ranking vector of migration 0008_search_pg_speed.
                    "EXISTS (SELECT 1 FROM information_schema.columns "
                    "WHERE table_name = 'search_documents' AND column_name = 'rtsv' "
                    "AND table_schema = current_schema())"
                ),
                {"cfg": TS_CONFIG},
            ).one()
            if not (found[0] and found[1] and found[3]):
                self.engine.dispose()
                raise RuntimeError(
                    "La table de recherche PostgreSQL n'existe pas ou n'est pas à jour : "
                    "lancez « classeur db upgrade » avant d'utiliser ce moteur de recherche."
                )
            #: False when the server has no ``unaccent``: accents are folded in Python.
            self.unaccent: bool = bool(found[2])
            self.needs_rebuild = not conn.execute(
                text("SELECT EXISTS (SELECT 1 FROM search_documents)")
            ).scalar()

    # -- writes ------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction without the search's statement timeout (a rebuild batch may be long)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            yield conn

    def _fold(self, value: str) -> str:
        return value if self.unaccent else _fold_accents(value)

    def _row(self, doc: IndexedDocument) -> dict[str, Any]:
        idents = [v for v in (doc.reference, *doc.party_ids) if v]
        normalized = sorted({normalize_identifier(v) for v in idents} - {""})
        party_ids = [normalize_identifier(v) for v in doc.party_ids]
        keywords = "\n".join(doc.keywords)
        created = doc.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return {
            "id": doc.id,
            "firm_id": doc.firm_id,
            "company_id": doc.company_id,
            "company_name": doc.company_name,
            "binder_id": doc.binder_id,
            "binder_name": doc.binder_name,
            "binder_type": doc.binder_type,
            "state": doc.state,
            "filename": doc.filename,
            "party_name": doc.party_name,
            # Without spaces, lowercase, space-separated: one exact value each.
            "party_ids": " ".join(filter(None, party_ids)) or None,
            "reference": doc.reference,
            "date": doc.date,
            "keywords": keywords or None,
            "amount": Decimal(doc.amount) if doc.amount is not None else None,
            "created_at": created,
            "text": (doc.text or "").replace("\x00", ""),
            "w_ident": self._fold(" ".join(idents)),
            "w_exact": _tsvector_literal(normalized),
            "w_b": self._fold(
                " ".join(filter(None, (doc.party_name, keywords, _filename_words(doc.filename))))
            ),
            "w_c": self._fold(f"{doc.company_name} {doc.binder_name}"),
            "w_d": self._fold((doc.text or "").replace("\x00", "")),
            "mentions": document_mentions(doc),
        }

    _COLUMNS = (
        "id, firm_id, company_id, company_name, binder_id, binder_name, binder_type, state, "
        "filename, party_name, party_ids, reference, date, amount, keywords, created_at, text, "
        "mentions"
    )
    _UPSERT = text(
        f"INSERT INTO search_documents ({_COLUMNS}, indexed_at, rtsv, tsv) VALUES ("
        ":id, :firm_id, :company_id, :company_name, :binder_id, :binder_name, :binder_type, "
        ":state, :filename, :party_name, :party_ids, :reference, :date, :amount, :keywords, "
        ":created_at, :text, CAST(:mentions AS text[]), clock_timestamp(), "
        f"{_SHORT_TSV}, {_SHORT_TSV} || setweight(to_tsvector('{TS_CONFIG}', :w_d), 'D')) "
        "ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(
            f"{c.strip()} = EXCLUDED.{c.strip()}"
            for c in (_COLUMNS + ", indexed_at, rtsv, tsv").split(",")
            if c.strip() != "id"
        )
    )

    def _batches(self, docs: Iterable[IndexedDocument]) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(self._row(doc))
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _upsert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        # Sorted by id: two concurrent batches lock shared rows in the same order (no deadlock).
        rows.sort(key=lambda r: r["id"])
        conn.execute(self._UPSERT, rows)

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Upsert these documents now, in batches of ``batch_size`` (one transaction each)."""
        self._check_open()
        for rows in self._batches(docs):
            with self._write() as conn:
                self._upsert(conn, rows)

    def delete(self, ids: Iterable[int], firm_id: int) -> None:
        """Remove these document ids of this firm (unknown ids are ignored)."""
        self._check_open()
        wanted = sorted(set(ids))
        if not wanted:
            return
        with self._write() as conn:
            conn.execute(
                text("DELETE FROM search_documents WHERE firm_id = :firm AND id = ANY(:ids)"),
                {"firm": firm_id, "ids": wanted},
            )

    def flush(self, timeout: float | None = None) -> None:
        """Nothing to wait for: writes are committed when :meth:`index` returns."""

    def rebuild(
        self,
        chunks: Iterable[list[IndexedDocument]],
        *,
        firm_ids: Iterable[int] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Upsert every chunk, then delete the rows of the rebuilt firms not written since.

        Each chunk commits on its own: searches keep answering with every document during the
        rebuild (old rows until their new version lands), no long lock is held, and documents
        indexed by :meth:`index` meanwhile are kept (their ``indexed_at`` is recent too). Rows
        that no chunk rewrote — documents deleted from the database — are removed at the end.
        """
        self._check_open()
        firms = None if firm_ids is None else sorted(set(firm_ids))
        with self.engine.connect() as conn:
            started = conn.execute(text("SELECT clock_timestamp()")).scalar()
        done = 0
        for chunk in chunks:
            if firms is not None:
                stray = {d.firm_id for d in chunk} - set(firms)
                if stray:
                    raise ValueError(f"rebuild of firms {firms} got documents of firms {stray}")
            for rows in self._batches(chunk):
                with self._write() as conn:
                    self._upsert(conn, rows)
            done += len(chunk)
            if progress is not None:
                progress(done)
        with self._write() as conn:
            if firms is None:
                conn.execute(
                    text("DELETE FROM search_documents WHERE indexed_at < :started"),
                    {"started": started},
                )
            else:
                conn.execute(
                    text(
                        "DELETE FROM search_documents "
                        "WHERE firm_id = ANY(:firms) AND indexed_at < :started"
                    ),
                    {"firms": firms, "started": started},
                )
            conn.execute(text("ANALYZE search_documents"))
        self.needs_rebuild = False

    # -- search ------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; tenancy, filters, ranking and pagination all happen in SQL.

        By relevance, the most recent :attr:`rank_candidates` documents matching in their short
        fields (``rtsv``: identifiers, party, keywords, file, company and binder names) are
        ranked by ``ts_rank`` over that small vector; the documents matching only in their text
        follow, newest first. Other sorts read the matches in the sort's order, without ranking.
        Each statement fetches one row more than the page (is there a next page?); the total is
        counted only when the planner expects at most :data:`EXACT_COUNT_LIMIT` matches,
        otherwise it is the planner's estimate (``total_is_exact=False``). Highlights are made
        for the rows of the page only.
        """
        self._check_open()
        if query.sort not in SORTS:
            raise ValueError(f"unknown sort {query.sort!r}")
        page, per_page = max(1, query.page), max(1, query.per_page)
        empty = SearchResult([], 0, True, page, per_page)
        if query.company_ids is not None and not query.company_ids:
            return empty
        if query.restrict_ids is not None and not query.restrict_ids:
            return empty

        where = ["d.firm_id = :firm"]
        params: dict[str, Any] = {"firm": query.firm_id}
        if query.company_ids is not None:
            where.append("d.company_id = ANY(:companies)")
            params["companies"] = sorted(query.company_ids)
        if query.restrict_ids is not None:
            where.append("d.id = ANY(:restrict)")
            params["restrict"] = sorted(query.restrict_ids)
        for name, column in (
            ("binder_id", "binder_id"),
            ("binder_type", "binder_type"),
            ("state", "state"),
        ):
            value = getattr(query, name)
            if value is not None:
                where.append(f"d.{column} = :{name}")
                params[name] = value
        for name, column, op in (
            ("date_from", "date", ">="),
            ("date_to", "date", "<="),
            ("amount_min", "amount", ">="),
            ("amount_max", "amount", "<="),
        ):
            value = getattr(query, name)
            if value is not None:
                where.append(f"d.{column} {op} :{name}")
                params[name] = value

        parsed = (
            parse_query(query.q, query.aliases) if query.q.strip() else _ParsedQuery(match_all=True)
        )
        if parsed.empty:  # only punctuation, quotes, a currency sign: nothing to look for
            return empty
        terms = _Terms()
        if not parsed.match_all:
            terms = self._text_conditions(parsed, params)
            where.extend(terms.required)
        sort = query.sort if (not parsed.match_all or query.sort != "relevance") else "-created"
        offset = (page - 1) * per_page
        with self.engine.connect() as conn:
            plan = _Plan(conn, where, terms, params)
            if sort == "relevance":
                rows = self._ranked(plan, offset, per_page + 1)
            else:
                rows = self._sorted(plan, sort, offset, per_page + 1)
            more = len(rows) > per_page
            rows = rows[:per_page]
            if not more and (rows or offset == 0):
                total, exact = offset + len(rows), True
            else:
                total, exact = self._count(plan, offset + len(rows) + more)
            highlights: dict[int, dict[str, str]] = {}
            if rows and terms.highlight and query.highlight:  # highlight=False: ids only
                highlights = self._highlights(conn, terms.tsq, params, [r[0] for r in rows])
        hits = [SearchHit(int(r[0]), float(r[1]), highlights.get(int(r[0]), {})) for r in rows]
        return SearchResult(hits, total, exact, page, per_page)

    def _ranked(self, plan: _Plan, offset: int, limit: int) -> list[tuple[int, float]]:
        """Rows ``offset … offset + limit`` of: the ranked candidates, then the other matches.

        The candidates are the most recent :attr:`rank_candidates` matches in the short fields
        (when they are many, those among the ``4 × rank_candidates`` most recent documents);
        the other matches follow newest first.
        """
        cap = max(self.rank_candidates, offset + limit)
        rank, strong = plan.terms.rank, plan.terms.strong
        if plan.estimate(strong) <= FEW_MATCHES:
            candidates = plan.all_matches(strong, rank, "d.created_at DESC, d.id DESC", cap)
        else:
            candidates = plan.recent_matches(
                strong, rank, "d.created_at DESC, d.id DESC", 4 * cap, cap
            )
        candidates.sort(key=lambda r: (-r[1], -r[2].timestamp(), -r[0]))
        rows = [(r[0], r[1]) for r in candidates[offset : offset + limit]]
        if len(rows) == limit or plan.terms.weak is None and len(candidates) < cap:
            return rows
        # The matches that are not candidates (text only, or older), newest first.
        skip = max(0, offset - len(candidates))
        need = skip + limit - len(rows)
        match = plan.terms.match
        if candidates:
            match += " AND NOT (d.id = ANY(:candidates))"
            plan.params["candidates"] = [r[0] for r in candidates]
        order = "d.created_at DESC, d.id DESC"
        others: list[tuple[int, float, Any]] = []
        if plan.estimate(match) > FEW_MATCHES:
            others = plan.recent_matches(match, rank, order, max(RECENT_WINDOW, 4 * need), need)
        if len(others) < need:
            others = plan.all_matches(match, rank, order, need)
        return rows + [(r[0], r[1]) for r in others[skip:need]]

    def _sorted(self, plan: _Plan, sort: str, offset: int, limit: int) -> list[tuple[int, float]]:
        """Rows ``offset … offset + limit`` of the matches in the order of a column, no ranking.

        Documents without a value come last, in both directions; ties in id order. Many
        matches are read in the order of the column's index among the most recent documents
        until the page is full; few are all read from the full-text indexes, then sorted.
        """
        column = _SORT_COLUMNS[sort.lstrip("-")]
        direction = "DESC" if sort.startswith("-") else "ASC"
        need = offset + limit
        match = plan.terms.match
        found: list[tuple[int, float, Any]] = []
        if plan.estimate(match) > FEW_MATCHES:
            found = plan.recent_matches(
                match,
                "0.0",
                f"{column} {direction}, d.id",
                max(RECENT_WINDOW, 4 * need),
                need,
                window_where=f"{column} IS NOT NULL",
            )
        if len(found) < need:
            found = plan.all_matches(
                match, "0.0", f"{column} IS NULL, {column} {direction}, d.id", need
            )
        return [(r[0], 0.0) for r in found[offset:need]]

    def _count(self, plan: _Plan, at_least: int) -> tuple[int, bool]:
        """(total, exact?) of the matches: counted when the planner expects few, else estimated."""
        estimate = plan.estimate(plan.terms.match)
        if estimate <= EXACT_COUNT_LIMIT:
            counted = plan.count(plan.terms.match, EXACT_COUNT_LIMIT + 1)
            if counted <= EXACT_COUNT_LIMIT:
                return counted, True
            estimate = counted
        return max(estimate, at_least), False

    def _text_conditions(self, parsed: _ParsedQuery, params: dict[str, Any]) -> _Terms:
        """The SQL pieces of a parsed query (see :class:`_Terms`)."""
        terms = _Terms()
        parts: list[str] = []
        if parsed.words:
            params["words"] = self._fold(parsed.words)
            parts.append(f"websearch_to_tsquery('{TS_CONFIG}', :words)")
        if parsed.prefixes:
            params["prefixes"] = " & ".join(f"{self._fold(p)}:*" for p in parsed.prefixes)
            parts.append(f"to_tsquery('{TS_CONFIG}', :prefixes)")
        words = " && ".join(parts) if parts else "''::tsquery"
        tsq = words
        if parsed.exact:
            params["exact"] = f"{_tsvector_literal([parsed.exact])}:A"
            tsq = f"(({words}) || CAST(:exact AS tsquery))"
        # Every lexeme of rtsv is in tsv too: a short-field match is a match. The identifier
        # lexemes (weight A) are only looked for in the short vector.
        strong = [f"(numnode({tsq}) > 0 AND d.rtsv @@ {tsq})"]
        rank = f"ts_rank('{RANK_WEIGHTS}', d.rtsv, {tsq})"
        if parsed.reference is not None:
            params["reference_q"] = [parsed.reference]
            strong.append("d.mentions @> CAST(:reference_q AS text[])")
        if parsed.has_text or parsed.exact or parsed.reference is not None:
            terms.strong = "(" + " OR ".join(strong) + ")"
            if parsed.has_text:
                terms.weak = f"(numnode({words}) > 0 AND d.tsv @@ {words})"
                terms.match = f"({terms.strong} OR {terms.weak})"
            else:
                terms.match = terms.strong
        for n, group in enumerate(parsed.mentions):
            key = f"mention{n}"
            params[key] = list(group)
            terms.required.append(f"d.mentions && CAST(:{key} AS text[])")
        if parsed.mentions:
            rank = f"({rank} + {AMOUNT_BOOST})"
        field_words: str | None = None
        for n, (name, value) in enumerate(parsed.fields):
            key = f"field{n}"
            if name == "party_ids":
                params[key] = normalize_identifier(value)
                terms.required.append(
                    f":{key} = ANY(string_to_array(coalesce(d.party_ids, ''), ' '))"
                )
                continue
            if name in _IDENTIFIER_COLUMNS:
                params[key] = normalize_identifier(value)
                terms.required.append(
                    f"regexp_replace(lower(coalesce(d.{name}, '')), '\\s', '', 'g') = :{key}"
                )
                continue
            params[key] = self._fold(value)
            source = f"coalesce(d.{name}, '')"
            if name == "filename":
                source = f"translate(d.filename, '{_FILENAME_SEPARATORS}', '     ')"
            # The tsv test uses the GIN index; the column test makes the field exact (its
            # text is not folded in Python, so it is skipped without unaccent).
            vector = "d.tsv" if name == "text" else "d.rtsv"
            condition = f"{vector} @@ websearch_to_tsquery('{TS_CONFIG}', :{key})"
            if self.unaccent:
                condition += (
                    f" AND to_tsvector('{TS_CONFIG}', {source}) "
                    f"@@ websearch_to_tsquery('{TS_CONFIG}', :{key})"
                )
            terms.required.append(f"({condition})")
            if not parsed.has_text and not field_words:
                field_words = key
        if field_words:
            # Only field words: rank and highlight by them.
            tsq = f"websearch_to_tsquery('{TS_CONFIG}', :{field_words})"
            rank = f"ts_rank('{RANK_WEIGHTS}', d.rtsv, {tsq})"
        if not (terms.required or terms.strong != "true"):
            terms.required.append("false")
        terms.tsq, terms.rank = tsq, rank
        terms.highlight = parsed.has_text or bool(field_words)
        return terms

    def _highlights(
        self, conn: Connection, tsq: str, params: dict[str, Any], ids: Sequence[int]
    ) -> dict[int, dict[str, str]]:
        """``ts_headline`` snippets of the text, party name and file name of these rows."""
        sql = (
            f"WITH q AS MATERIALIZED (SELECT {tsq} AS tsq) "
            "SELECT d.id, d.filename, "
            f"ts_headline('{TS_CONFIG}', {_ESCAPE_SQL.format('d.text')}, q.tsq, "
            f"'{_HEADLINE_TEXT}') AS h_text, "
            "CASE WHEN d.party_name IS NOT NULL THEN "
            f"ts_headline('{TS_CONFIG}', {_ESCAPE_SQL.format('d.party_name')}, q.tsq, "
            f"'{_HEADLINE_ALL}') END AS h_party_name, "
            f"ts_headline('{TS_CONFIG}', translate({_ESCAPE_SQL.format('d.filename')}, "
            f"'{_FILENAME_SEPARATORS}', '     '), q.tsq, '{_HEADLINE_ALL}') AS h_filename "
            "FROM search_documents d, q WHERE d.id = ANY(:page_ids)"
        )
        found: dict[int, dict[str, str]] = {}
        for row in conn.execute(text(sql), {**params, "page_ids": list(ids)}):
            snippets: dict[str, str] = {}
            if row.h_text and "<mark>" in row.h_text:
                snippets["text"] = row.h_text.strip()
            if row.h_party_name and "<mark>" in row.h_party_name:
                snippets["party_name"] = row.h_party_name
            if row.h_filename and "<mark>" in row.h_filename:
                snippets["filename"] = _restore_filename(
                    row.h_filename, html.escape(row.filename, quote=False)
                )
            if snippets:
                found[int(row.id)] = snippets
        return found

    # -- misc --------------------------------------------------------------------------------

    def document_count(self, firm_id: int | None = None) -> int:
        """Number of indexed documents of ``firm_id`` (or of every firm)."""
        self._check_open()
        with self.engine.connect() as conn:
            if firm_id is None:
                return int(conn.execute(text("SELECT count(*) FROM search_documents")).scalar())
            return int(
                conn.execute(
                    text("SELECT count(*) FROM search_documents WHERE firm_id = :firm"),
                    {"firm": firm_id},
                ).scalar()
            )

    def index_size(self) -> int:
        """Bytes used by the table, its TOAST data and its indexes (benchmark, admin page)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(text("SELECT pg_total_relation_size('search_documents')")).scalar()
            )

    def close(self) -> None:
        """Release the connection pool (writes are already committed)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.engine.dispose()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("search backend is closed")
