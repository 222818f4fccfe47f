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
* a search is one SQL statement: tenancy (``firm_id``, ``company_ids``, ``restrict_ids``) and
  filters in ``WHERE``, ``websearch_to_tsquery`` (never raises on bad syntax), ``ts_rank`` with
  weights, ``LIMIT/OFFSET``, and ``count(*) OVER ()`` for an exact total; highlights are
  ``ts_headline`` over HTML-escaped text, for the rows of the page only.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
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

    def __init__(self, database_url: str, *, batch_size: int = 500, pool_size: int = 10) -> None:
        if not database_url.startswith("postgresql"):
            raise ValueError(
                "CLASSEUR_SEARCH_BACKEND=postgres nécessite une base PostgreSQL "
                "(CLASSEUR_DATABASE_URL=postgresql+psycopg://…)."
            )
        self.batch_size = batch_size
        self.engine: Engine = create_engine(
            database_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
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
                    # The generic columns of migration 0006_search_generic.
                    "EXISTS (SELECT 1 FROM information_schema.columns "
                    "WHERE table_name = 'search_documents' AND column_name = 'party_ids' "
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
        f"INSERT INTO search_documents ({_COLUMNS}, indexed_at, tsv) VALUES ("
        ":id, :firm_id, :company_id, :company_name, :binder_id, :binder_name, :binder_type, "
        ":state, :filename, :party_name, :party_ids, :reference, :date, :amount, :keywords, "
        ":created_at, :text, CAST(:mentions AS text[]), clock_timestamp(), "
        f"setweight(to_tsvector('{TS_CONFIG}', :w_ident) || CAST(:w_exact AS tsvector), 'A') "
        f"|| setweight(to_tsvector('{TS_CONFIG}', :w_b), 'B') "
        f"|| setweight(to_tsvector('{TS_CONFIG}', :w_c), 'C') "
        f"|| setweight(to_tsvector('{TS_CONFIG}', :w_d), 'D')) "
        "ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(
            f"{c.strip()} = EXCLUDED.{c.strip()}"
            for c in (_COLUMNS + ", indexed_at, tsv").split(",")
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
            with self.engine.begin() as conn:
                self._upsert(conn, rows)

    def delete(self, ids: Iterable[int], firm_id: int) -> None:
        """Remove these document ids of this firm (unknown ids are ignored)."""
        self._check_open()
        wanted = sorted(set(ids))
        if not wanted:
            return
        with self.engine.begin() as conn:
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
                with self.engine.begin() as conn:
                    self._upsert(conn, rows)
            done += len(chunk)
            if progress is not None:
                progress(done)
        with self.engine.begin() as conn:
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
        """Run a query; tenancy, filters, ranking and pagination all happen in SQL."""
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
        searching = not parsed.match_all
        tsq = "NULL::tsquery"
        rank = "0.0"
        highlight = False
        if searching:
            tsq, match, rank, highlight = self._text_conditions(parsed, params)
            where.append(match)
        sort = query.sort if (searching or query.sort != "relevance") else "-created"
        if sort == "relevance":
            order = "score DESC, d.id"
        else:
            column = _SORT_COLUMNS[sort.lstrip("-")]
            direction = "DESC" if sort.startswith("-") else "ASC"
            order = f"{column} {direction} NULLS LAST, d.id"
        score = rank if sort == "relevance" else "0.0"
        params["limit"] = per_page
        params["offset"] = (page - 1) * per_page
        sql = (
            f"WITH q AS MATERIALIZED (SELECT {tsq} AS tsq) "
            f"SELECT d.id, {score} AS score, count(*) OVER () AS total "
            f"FROM search_documents d, q WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
            if rows:
                total = int(rows[0].total)
            elif page > 1:
                total = int(
                    conn.execute(
                        text(
                            f"WITH q AS MATERIALIZED (SELECT {tsq} AS tsq) "
                            "SELECT count(*) FROM search_documents d, q "
                            f"WHERE {' AND '.join(where)}"
                        ),
                        params,
                    ).scalar()
                    or 0
                )
            else:
                total = 0
            highlights: dict[int, dict[str, str]] = {}
            if rows and highlight:
                highlights = self._highlights(conn, tsq, params, [r.id for r in rows])
        hits = [SearchHit(int(r.id), float(r.score), highlights.get(int(r.id), {})) for r in rows]
        return SearchResult(hits, total, True, page, per_page)

    def _text_conditions(
        self, parsed: _ParsedQuery, params: dict[str, Any]
    ) -> tuple[str, str, str, bool]:
        """(tsquery, WHERE condition, rank expression, highlight?) of a parsed query."""
        parts: list[str] = []
        if parsed.words:
            params["words"] = self._fold(parsed.words)
            parts.append(f"websearch_to_tsquery('{TS_CONFIG}', :words)")
        if parsed.prefixes:
            params["prefixes"] = " & ".join(f"{self._fold(p)}:*" for p in parsed.prefixes)
            parts.append(f"to_tsquery('{TS_CONFIG}', :prefixes)")
        tsq = " && ".join(parts) if parts else "''::tsquery"
        if parsed.exact:
            params["exact"] = f"{_tsvector_literal([parsed.exact])}:A"
            tsq = f"(({tsq}) || CAST(:exact AS tsquery))"
        alternatives = ["(numnode(q.tsq) > 0 AND d.tsv @@ q.tsq)"]
        rank = f"ts_rank('{RANK_WEIGHTS}', d.tsv, q.tsq)"
        if parsed.reference is not None:
            params["reference_q"] = [parsed.reference]
            alternatives.append("d.mentions @> CAST(:reference_q AS text[])")
        conditions: list[str] = []
        if parsed.has_text or parsed.exact:
            conditions.append("(" + " OR ".join(alternatives) + ")")
        for n, group in enumerate(parsed.mentions):
            key = f"mention{n}"
            params[key] = list(group)
            conditions.append(f"d.mentions && CAST(:{key} AS text[])")
        if parsed.mentions:
            rank = f"({rank} + {AMOUNT_BOOST})"
        field_words: str | None = None
        for n, (name, value) in enumerate(parsed.fields):
            key = f"field{n}"
            if name == "party_ids":
                params[key] = normalize_identifier(value)
                conditions.append(f":{key} = ANY(string_to_array(coalesce(d.party_ids, ''), ' '))")
                continue
            if name in _IDENTIFIER_COLUMNS:
                params[key] = normalize_identifier(value)
                conditions.append(
                    f"regexp_replace(lower(coalesce(d.{name}, '')), '\\s', '', 'g') = :{key}"
                )
                continue
            params[key] = self._fold(value)
            source = f"coalesce(d.{name}, '')"
            if name == "filename":
                source = f"translate(d.filename, '{_FILENAME_SEPARATORS}', '     ')"
            # The tsv test uses the GIN index; the column test makes the field exact (its
            # text is not folded in Python, so it is skipped without unaccent).
            condition = f"d.tsv @@ websearch_to_tsquery('{TS_CONFIG}', :{key})"
            if self.unaccent:
                condition += (
                    f" AND to_tsvector('{TS_CONFIG}', {source}) "
                    f"@@ websearch_to_tsquery('{TS_CONFIG}', :{key})"
                )
            conditions.append(f"({condition})")
            if not parsed.has_text and not field_words:
                field_words = key
        if field_words:
            # Only field words: rank and highlight by them.
            tsq = f"websearch_to_tsquery('{TS_CONFIG}', :{field_words})"
        if not conditions:
            conditions.append("false")
        return tsq, " AND ".join(conditions), rank, parsed.has_text or bool(field_words)

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
