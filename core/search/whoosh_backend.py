"""The embedded search backend: whoosh indexes in the data directory.

Design (figures in ``docs/search.md``):

* one whoosh index per firm (``<index_dir>/firm_<id>/``): tenancy is structural, a firm's
  searches only open its own index, and each index stays small;
* ONE serialized writer: a background thread drains a queue, batches documents and commits every
  ``batch_size`` documents or ``commit_interval`` seconds, with whoosh's small-segment merge
  policy instead of a full optimize; callers never open a whoosh writer, so concurrent
  :meth:`WhooshBackend.index` calls never meet a ``LockError``;
* one cached searcher per firm, refreshed only after a commit, reading the index WITHOUT mmap
  (whoosh copied every mmap'd segment into a ``BytesIO``: 1.27 GB at 100k documents);
* words, amounts and identifiers (``Term``/``And``/``Or``) are scored on whole posting lists
  with numpy (:class:`_VectorSearch`, BM25F as whoosh, exact counts); other queries go through
  whoosh's top-k collector (``total_is_exact=False`` when it skipped blocks); filters
  (company, binder, state, date and amount ranges, restricted ids) are docnum sets made with
  numpy and cached per searcher; date/amount/created sorts use per-searcher rank arrays,
  without scoring; finished pages are cached until the next commit;
* the text is not stored: highlights are made from the database's text of the page's hits
  (``text_source``).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import queue
import re
import shutil
import threading
import time
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index, matching, qparser, query, scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.writing import MERGE_SMALL, IndexWriter

from core.search.analysis import (
    french_analyzer,
    identifier_analyzer,
    normalize_identifier,
)
from core.search.analysis import highlight as highlight_snippet
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

log = logging.getLogger("classeur.search")

#: ``text_source(firm_id, document_ids) -> {document_id: text}``.
TextSource = Callable[[int, list[int]], dict[int, str]]

#: Bump when the schema or the analysis changes: existing indexes are then recreated empty.
#: whoosh-2: generic searchable fields (party, identifiers, reference, date, keywords).
#: whoosh-3: ``mentions`` (amounts, dates, identifiers however printed; core.search.mentions).
#: whoosh-4: the text is no longer stored (highlights come from the database's text).
SCHEMA_VERSION = "whoosh-4"
VERSION_FILE = "schema_version"

#: Fields searched by a free-text query, with their boosts.
QUERY_FIELDS: dict[str, float] = {
    "text": 1.0,
    "filename": 2.0,
    "party_name": 3.0,
    "keywords": 2.0,
    "company_name": 1.5,
    "binder_name": 1.0,
    "reference": 5.0,
    "party_ids": 5.0,
}
#: Word fields (French analysis) and identifier fields (whole, lowercase, without spaces).
_WORD_FIELDS = ("text", "filename", "party_name", "keywords", "company_name", "binder_name")
_IDENTIFIER_FIELDS = ("reference", "party_ids")
HIGHLIGHT_FIELDS = ("text", "filename", "party_name")
_SORT_FIELDS = {"date": "date", "amount": "amount", "created": "created"}
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_FILTER_CACHE_SIZE = 128
#: The raw sortable value of a document without one (the largest: last in ascending order).
_MISSING = np.uint64(np.iinfo(np.uint64).max)
_RESULT_CACHE_SIZE = 256


def build_schema() -> Schema:
    """The whoosh schema of version :data:`SCHEMA_VERSION`."""
    fr = french_analyzer()
    ident = identifier_analyzer()
    return Schema(
        id=NUMERIC(int, bits=64, signed=False, stored=True, unique=True, sortable=True),
        firm_id=ID(),
        company_id=ID(),
        binder_id=ID(),
        binder_type=ID(),
        state=ID(),
        company_name=TEXT(analyzer=fr),
        binder_name=TEXT(analyzer=fr),
        filename=TEXT(analyzer=fr, stored=True),
        party_name=TEXT(analyzer=fr, stored=True),
        # Identifiers are indexed without their spaces, space-separated: one term each.
        party_ids=ID(analyzer=ident),
        reference=ID(analyzer=ident),
        date=NUMERIC(int, bits=32, sortable=True),
        amount=NUMERIC(Decimal, bits=64, decimal_places=2, sortable=True),
        keywords=TEXT(analyzer=fr),
        # Amounts, days, months and identifiers, normalised (``a:2395812``, ``d:20261015``).
        mentions=KEYWORD(lowercase=False, scorable=True),
        created=NUMERIC(int, bits=64, sortable=True),
        # Not stored: the database has it; highlights read the page's texts from there
        # (``WhooshBackend.text_source``), and the index stays a third of the size.
        text=TEXT(analyzer=fr),
    )


def document_fields(doc: IndexedDocument) -> dict[str, Any]:
    """The whoosh field values of a document."""
    fields: dict[str, Any] = {
        "id": doc.id,
        "firm_id": str(doc.firm_id),
        "company_id": str(doc.company_id),
        "binder_id": str(doc.binder_id),
        "binder_type": doc.binder_type,
        "state": doc.state,
        "company_name": doc.company_name,
        "binder_name": doc.binder_name,
        "filename": doc.filename,
        "text": doc.text or "",
        "created": _timestamp_ms(doc.created_at),
    }
    if doc.party_name:
        fields["party_name"] = doc.party_name
    party_ids = " ".join(filter(None, (normalize_identifier(v) for v in doc.party_ids)))
    if party_ids:
        fields["party_ids"] = party_ids
    if doc.reference and normalize_identifier(doc.reference):
        fields["reference"] = normalize_identifier(doc.reference)
    if doc.date is not None:
        fields["date"] = doc.date.toordinal()
    if doc.amount is not None:
        fields["amount"] = Decimal(doc.amount)
    if doc.keywords:
        fields["keywords"] = "\n".join(doc.keywords)
    mentions = document_mentions(doc)
    if mentions:
        fields["mentions"] = " ".join(mentions)
    return fields


def _timestamp_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _open_or_create(path: Path, schema: Schema) -> index.Index:
    """The whoosh index in ``path`` (created empty if missing), read WITHOUT mmap.

    whoosh's mmap'd compound segments are wrapped in ``BufferFile``, whose ``BytesIO`` copies
    each sub-file: a searcher held a private copy of the whole index (1.27 GB of process memory
    at 100k documents). Plain file reads leave the index in the OS page cache, shared.
    """
    path.mkdir(parents=True, exist_ok=True)
    storage = FileStorage(str(path), supports_mmap=False)
    if index.exists_in(str(path)):
        return storage.open_index()
    return storage.create_index(schema)


class FastBM25F(scoring.BM25F):
    """whoosh's BM25F, reading a segment's field lengths from one cached byte string.

    whoosh reads each scored document's length through three Python calls and a file read
    (a third of a broad query's time); here it is an index into bytes loaded once per segment
    reader, so a cached searcher pays it once.
    """

    def scorer(self, searcher: Searcher, fieldname: str, text: Any, qf: float = 1) -> Any:
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, scoring.BM25FScorer):
            lengths = _field_lengths(searcher.reader(), fieldname)
            if lengths is not None:
                scorer.dfl = lambda docnum: _BYTE_TO_LENGTH[lengths[docnum]]
        return scorer


_BYTE_TO_LENGTH = [max(1, byte_to_length(b)) for b in range(256)]


def _field_lengths(reader: Any, fieldname: str) -> bytes | None:
    """The length bytes of ``fieldname`` for every document of a segment reader, or None."""
    cache = reader.__dict__.setdefault("_classeur_lengths", {})
    if fieldname in cache:
        return cache[fieldname]
    lengths: bytes | None = None
    try:
        column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is not None and column._fixedlen == 1:
            count = reader.doc_count_all()
            raw = column._dbfile.get(column._basepos, min(column._count, count))
            lengths = bytes(raw) + bytes(count - len(raw))
    except Exception:  # noqa: BLE001 - another codec: whoosh's own reads
        lengths = None
    cache[fieldname] = lengths
    return lengths


# ---------------------------------------------------------------------------------------------
# Cached document sets as a query


class _SortedIdsMatcher(matching.ListMatcher):
    """A list matcher whose ``skip_to`` bisects (whoosh's walks one id at a time)."""

    def skip_to(self, id: int) -> None:  # noqa: A002 - whoosh's signature
        if not self.is_active():
            raise matching.ReadTooFar
        if id <= self.id():
            return
        self._i = bisect.bisect_left(self._ids, id, self._i)

    def copy(self) -> _SortedIdsMatcher:
        return self.__class__(
            self._ids, all_weights=self._all_weights, position=self._i, term=self._term
        )


class DocnumSetQuery(query.Query):
    """Matches a precomputed, sorted set of global document numbers of one searcher."""

    fieldname = None  # no field, no terms: ignored by highlighting

    def __init__(self, docnums: array, leaves: list[tuple[Searcher, int]]) -> None:
        self.docnums = docnums
        self._leaves = leaves

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocnumSetQuery) and other.docnums is self.docnums

    def __hash__(self) -> int:
        return id(self.docnums)

    def __repr__(self) -> str:
        return f"DocnumSetQuery(<{len(self.docnums)} docs>)"

    def is_leaf(self) -> bool:
        return True

    def estimate_size(self, ixreader: Any) -> int:
        return len(self.docnums)

    def estimate_min_size(self, ixreader: Any) -> int:
        return len(self.docnums)

    def matcher(self, searcher: Searcher, context: Any = None) -> matching.Matcher:
        for pos, (leaf, offset) in enumerate(self._leaves):
            if leaf is searcher:
                end = (
                    self._leaves[pos + 1][1]
                    if pos + 1 < len(self._leaves)
                    else searcher.reader().doc_count_all() + offset
                )
                lo = bisect.bisect_left(self.docnums, offset)
                hi = bisect.bisect_left(self.docnums, end)
                if lo == hi:
                    return matching.NullMatcher()
                local = array("q", (d - offset for d in self.docnums[lo:hi]))
                return _SortedIdsMatcher(local, all_weights=1.0)
        return matching.NullMatcher()


class _RequireMatcher(matching.RequireMatcher):
    """whoosh's ``RequireMatcher`` whose quality skip may land on a common document.

    whoosh-reloaded 2.7.5 then fails ``assert a_id != b_id`` in ``IntersectionMatcher``.
    """

    def skip_to_quality(self, minquality: float) -> int:
        skipped = self.a.skip_to_quality(minquality)
        if self.a.is_active() and self.b.is_active() and self.a.id() != self.b.id():
            self.child._find_next()
        return skipped


class FilteredQuery(query.Require):
    """Documents of ``a`` (scored as ``a``) that also match ``b``."""

    def matcher(self, searcher: Searcher, context: Any = None) -> matching.Matcher:
        scored = self.a.matcher(searcher, context)
        required = self.b.matcher(searcher, searcher.boolean_context())
        return _RequireMatcher(scored, required)


# ---------------------------------------------------------------------------------------------
# Relevance on whole posting lists


class _Unsupported(Exception):
    """A query part :class:`_VectorSearch` does not evaluate (whoosh's collector does)."""


class _VectorSearch:
    """Evaluates ``Term``/``And``/``Or`` queries with numpy, scores as whoosh's BM25F.

    whoosh walks a tree of matchers in Python for every posting of a broad query (a word in
    eight fields, a union per word): ~2,000 documents visited per query at 30k documents, and
    most of a query's time. Here each term's posting list is read once, block by block, into
    arrays of global docnums and BM25F scores (cached per searcher, least recently used first
    out beyond ``budget`` bytes); a union sums scores per document, an intersection adds them,
    as whoosh's ``UnionMatcher`` and ``IntersectionMatcher`` do.
    """

    def __init__(self, searcher: Searcher, budget: int) -> None:
        self.searcher = searcher
        self.budget = budget
        self.used = 0
        self.postings: OrderedDict[tuple[str, Any], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.weighting = searcher.weighting
        self._live: np.ndarray | None = None

    @staticmethod
    def as_array(docnums: array) -> np.ndarray:
        """A numpy view (no copy) of a docnum array."""
        return np.frombuffer(docnums, dtype=np.int64) if len(docnums) else _EMPTY[0]

    def evaluate(self, q: query.Query) -> tuple[np.ndarray, np.ndarray] | None:
        """(sorted docnums, scores) of ``q``'s matches, or None if ``q`` is not supported."""
        if not isinstance(self.weighting, scoring.BM25F):
            return None
        try:
            return self._eval(q)
        except _Unsupported:
            return None

    def _eval(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        kind = type(q)
        if kind is query.Term:
            docs, scores = self._term(q.fieldname, q.text)
            return (docs, scores * q.boost) if q.boost != 1.0 else (docs, scores)
        if kind is query.Or and not q.scale and not q.minmatch:
            parts = [self._eval(sub) for sub in q.subqueries]
            parts = [p for p in parts if len(p[0])]
            if not parts:
                return _EMPTY
            if len(parts) == 1:
                docs, scores = parts[0]
            else:
                docs, inverse = np.unique(
                    np.concatenate([p[0] for p in parts]), return_inverse=True
                )
                scores = np.bincount(inverse, weights=np.concatenate([p[1] for p in parts]))
        elif kind is query.And:
            parts = sorted((self._eval(sub) for sub in q.subqueries), key=lambda p: len(p[0]))
            docs, scores = parts[0]
            for other_docs, other_scores in parts[1:]:
                if not len(docs):
                    break
                docs, mine, theirs = np.intersect1d(
                    docs, other_docs, assume_unique=True, return_indices=True
                )
                scores = scores[mine] + other_scores[theirs]
        elif q is query.NullQuery:
            return _EMPTY
        else:
            raise _Unsupported(kind.__name__)
        return (docs, scores * q.boost) if q.boost != 1.0 else (docs, scores)

    def _term(self, fieldname: str, text: Any) -> tuple[np.ndarray, np.ndarray]:
        key = (fieldname, text)
        found = self.postings.get(key)
        if found is not None:
            self.postings.move_to_end(key)
            return found
        found = self._read_term(fieldname, text)
        size = found[0].nbytes + found[1].nbytes
        if size <= self.budget // 4:
            self.postings[key] = found
            self.used += size
            while self.used > self.budget:
                _, (d, sc) = self.postings.popitem(last=False)
                self.used -= d.nbytes + sc.nbytes
        return found

    def _read_term(self, fieldname: str, text: Any) -> tuple[np.ndarray, np.ndarray]:
        searcher = self.searcher
        schema = searcher.schema
        if fieldname not in schema:
            return _EMPTY
        field_type = schema[fieldname]
        try:
            btext = field_type.to_bytes(text)
        except ValueError:
            return _EMPTY
        if (fieldname, btext) not in searcher.reader():
            return _EMPTY
        scorable = field_type.scorable
        if scorable:
            weighting = self.weighting
            idf = searcher.idf(fieldname, btext)
            avgfl = searcher.avg_field_length(fieldname) or 1
            b = weighting._field_B.get(fieldname, weighting.B)
            k1 = weighting.K1
        all_docs: list[np.ndarray] = []
        all_scores: list[np.ndarray] = []
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            if (fieldname, btext) not in reader:
                continue
            ids, weights = _read_postings(reader, fieldname, btext, field_type.format)
            if not len(ids):
                continue
            if scorable:
                lengths = _field_lengths(reader, fieldname)
                if lengths is None:
                    raise _Unsupported("field lengths")
                dl = _LENGTH_TABLE[np.frombuffer(lengths, dtype=np.uint8)[ids]]
                scores = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * dl / avgfl)))
            else:
                scores = weights
            all_docs.append(ids + offset)
            all_scores.append(scores)
        if not all_docs:
            return _EMPTY
        docs = np.concatenate(all_docs) if len(all_docs) > 1 else all_docs[0]
        scores = np.concatenate(all_scores) if len(all_scores) > 1 else all_scores[0]
        live = self._live_mask()
        if live is not None:
            keep = live[docs]
            docs, scores = docs[keep], scores[keep]
        return docs, scores

    def _live_mask(self) -> np.ndarray | None:
        """True for documents not deleted (None when nothing is deleted)."""
        reader = self.searcher.reader()
        if not reader.has_deletions():
            return None
        if self._live is None:
            live = np.zeros(reader.doc_count_all(), dtype=bool)
            live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
            self._live = live
        return self._live


_EMPTY: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0))
_LENGTH_TABLE = np.array(_BYTE_TO_LENGTH, dtype=np.float64)


def _read_postings(reader: Any, fieldname: str, btext: bytes, fmt: Any) -> tuple[Any, Any]:
    """(local docnums, weights) of a term in one segment, as numpy arrays (deletions kept)."""
    matcher = reader._terms.matcher(fieldname, btext, fmt)
    ids: list[Any] = []
    weights: list[Any] = []
    if hasattr(matcher, "_goto") and hasattr(matcher, "_read_ids"):
        # whoosh3 block postings: whole blocks at a time.
        while not matcher._atend and matcher._blocklength:
            matcher._read_ids()
            matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int64))
            weights.append(np.asarray(matcher._weights, dtype=np.float64))
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:  # inlined postings of a rare term
        doc_ids, doc_weights = [], []
        while matcher.is_active():
            doc_ids.append(matcher.id())
            doc_weights.append(matcher.weight())
            matcher.next()
        ids.append(np.asarray(doc_ids, dtype=np.int64))
        weights.append(np.asarray(doc_weights, dtype=np.float64))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(ids), np.concatenate(weights)


def _top_k(docs: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score): higher score first, then lower docnum (whoosh's
    order)."""
    if len(docs) > limit:
        # Every document scoring at least the limit-th best score, then the exact order.
        threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= threshold
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:limit]
    return [(int(docs[i]), float(scores[i])) for i in order]


# ---------------------------------------------------------------------------------------------
# Per-firm index state


@dataclass
class _Shard:
    """One whoosh index (one firm, or every firm in single-index mode) and its searcher."""

    path: Path
    schema: Schema
    lock: threading.RLock = field(default_factory=threading.RLock)
    ix: index.Index | None = None
    searcher: Searcher | None = None
    dirty: bool = False
    closed: bool = False
    last_check: float = 0.0
    filters: OrderedDict[Any, array] = field(default_factory=OrderedDict)
    id_map: dict[int, int] | None = None
    #: Per searcher: document id by docnum, and each sort's rank by docnum.
    ids: array | None = None
    ranks: dict[str, np.ndarray] = field(default_factory=dict)
    #: Per searcher: finished pages (hits and highlights) by query; any commit clears them.
    results: OrderedDict[Any, SearchResult] = field(default_factory=OrderedDict)
    #: Per searcher: posting lists as numpy arrays (bytes budget ``posting_budget``).
    vector: _VectorSearch | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    posting_budget: int = 64 << 20

    def open_index(self) -> index.Index:
        if self.ix is None:
            self.ix = _open_or_create(self.path, self.schema)
        return self.ix

    def current_searcher(self) -> Searcher:
        """The cached searcher, refreshed if a commit happened (call with ``lock`` held)."""
        now = time.monotonic()
        if self.searcher is None:
            self.searcher = self.open_index().searcher(weighting=FastBM25F())
            self.last_check = now
            self._reset_caches()
        elif self.dirty or now - self.last_check > 2.0:
            # Another process (``classeur reindex``) may commit too: check now and then.
            self.dirty = False
            self.last_check = now
            if not self.searcher.up_to_date():
                # Not ``Searcher.refresh()``: its reader reuse misses new deletions in an
                # existing segment (whoosh-reloaded 2.7.5).
                self.searcher.close()
                self.searcher = self.open_index().searcher(weighting=FastBM25F())
                self._reset_caches()
        return self.searcher

    def _reset_caches(self) -> None:
        self.filters.clear()
        self.id_map = None
        self.ids = None
        self.ranks.clear()
        self.results.clear()
        self.vector = None
        self.columns.clear()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.searcher is not None:
                self.searcher.close()
                self.searcher = None
            if self.ix is not None:
                self.ix.close()
                self.ix = None


# ---------------------------------------------------------------------------------------------
# The backend


class WhooshBackend(SearchBackend):
    """Whoosh indexes under ``index_dir``, one per firm unless ``per_firm=False``.

    :param batch_size: the writer commits after this many queued writes...
    :param commit_interval: ...or this many seconds after the first uncommitted write.
    :param limitmb: memory of a whoosh writer (per process) before it spills sorted runs to
        disk; small values keep rebuilds lean.
    :param procs: processes of the rebuild writer (whoosh ``MpWriter``) — 1 means in-process.
    :param highlight_chars: characters of a text highlight fragment.
    :param rebuild_segment_docs: a rebuild commits a segment every this many documents
        (bounds the writer's memory), and lets whoosh merge the small ones at the end...
    :param optimize: ...or merges each firm's segments into one: searches 1.3-1.6 times faster
        at 30k documents, but the merge costs rebuild time and memory (a 100k rebuild peaked at
        444 MB with 20,000-document segments and the merge, 159 MB at 30k without).
    :param result_cache_size: finished pages kept per firm (cleared by every commit).
    :param text_source: ``text_source(firm_id, ids) -> {id: text}`` gives the texts of the
        page's hits for their highlights (the core reads ``Document.text``); see
        :attr:`text_source`.
    """

    schema_version = SCHEMA_VERSION

    def __init__(
        self,
        index_dir: Path,
        *,
        batch_size: int = 500,
        commit_interval: float = 0.2,
        limitmb: int = 64,
        procs: int = 1,
        per_firm: bool = True,
        highlight_chars: int = 160,
        rebuild_segment_docs: int = 5_000,
        optimize: bool = False,
        result_cache_size: int = _RESULT_CACHE_SIZE,
        text_source: TextSource | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.rebuild_segment_docs = rebuild_segment_docs
        self.optimize = optimize
        self.result_cache_size = result_cache_size
        self.batch_size = batch_size
        self.commit_interval = commit_interval
        self.limitmb = limitmb
        self.procs = procs
        self.per_firm = per_firm
        self.highlight_chars = highlight_chars
        #: ``text_source(firm_id, ids) -> {id: text}``: the texts of a page's hits, for their
        #: highlights (the index does not store the text); None: no text highlights.
        self.text_source = text_source
        self.schema = build_schema()
        self.needs_rebuild = False
        self._shards: dict[str, _Shard] = {}
        self._shards_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._replay: dict[str, list[tuple[str, Any]]] | None = None
        self._replay_keys: set[str] | None = None
        self._queue: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=20_000)
        self._error: BaseException | None = None
        self._closed = False
        self._check_version()
        self._thread = threading.Thread(
            target=self._writer_loop, name="classeur-search-writer", daemon=True
        )
        self._thread.start()

    # -- layout ----------------------------------------------------------------------------

    def _check_version(self) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        version_file = self.index_dir / VERSION_FILE
        found = version_file.read_text().strip() if version_file.exists() else None
        if found == SCHEMA_VERSION:
            return
        if found is not None or any(self.index_dir.iterdir()):
            log.warning("search index version %s != %s: recreated empty", found, SCHEMA_VERSION)
            for child in self.index_dir.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        version_file.write_text(SCHEMA_VERSION + "\n")
        # A new or recreated index is empty: the core decides whether ``classeur reindex``
        # has anything to do.
        self.needs_rebuild = True

    def _key(self, firm_id: int) -> str:
        return f"firm_{int(firm_id)}" if self.per_firm else "all"

    def _shard(self, key: str) -> _Shard:
        with self._shards_lock:
            shard = self._shards.get(key)
            if shard is None:
                shard = _Shard(self.index_dir / key, self.schema)
                self._shards[key] = shard
            return shard

    def _existing_keys(self) -> list[str]:
        prefix = "firm_" if self.per_firm else "all"
        return sorted(
            p.name for p in self.index_dir.iterdir() if p.is_dir() and p.name.startswith(prefix)
        )

    # -- writes ----------------------------------------------------------------------------

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Queue these documents for (re)indexing; see :meth:`flush`."""
        self._check_open()
        for doc in docs:
            self._queue.put(("doc", self._key(doc.firm_id), document_fields(doc)))

    def delete(self, ids: Iterable[int], firm_id: int) -> None:
        """Queue the removal of these document ids of ``firm_id``."""
        self._check_open()
        key = self._key(firm_id)
        for doc_id in ids:
            self._queue.put(("delete", key, int(doc_id)))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until the writes queued so far are committed and visible to searches."""
        self._check_open()
        done = threading.Event()
        self._queue.put(("flush", None, done))
        if not done.wait(timeout):
            raise TimeoutError("search index flush timed out")
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError("L'index de recherche n'a pas pu être mis à jour.") from error

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("search backend is closed")

    def _writer_loop(self) -> None:
        pending: dict[str, list[tuple[str, Any]]] = {}
        waiters: list[threading.Event] = []
        count = 0
        deadline: float | None = None
        stop = False
        while not stop:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                kind, key, payload = self._queue.get(timeout=timeout)
            except queue.Empty:
                kind = ""
            commit_now = False
            if kind in ("doc", "delete"):
                pending.setdefault(key, []).append((kind, payload))
                count += 1
                if deadline is None:
                    deadline = time.monotonic() + self.commit_interval
            elif kind == "flush":
                waiters.append(payload)
                commit_now = True
            elif kind == "stop":
                waiters.append(payload)
                commit_now = stop = True
            if (
                commit_now
                or count >= self.batch_size
                or (deadline is not None and time.monotonic() >= deadline)
            ):
                if pending:
                    try:
                        self._commit(pending)
                    except BaseException as exc:  # noqa: BLE001 - reported by flush()
                        log.exception("search index commit failed")
                        self._error = exc
                pending, count, deadline = {}, 0, None
                for event in waiters:
                    event.set()
                waiters = []

    def _commit(self, pending: dict[str, list[tuple[str, Any]]]) -> None:
        with self._write_lock:
            for key, ops in pending.items():
                if self._replay is not None and (
                    self._replay_keys is None or key in self._replay_keys
                ):
                    self._replay.setdefault(key, []).extend(ops)
                shard = self._shard(key)
                writer = shard.open_index().writer(timeout=30.0, limitmb=self.limitmb)
                _apply(writer, ops)
                writer.commit(mergetype=MERGE_SMALL)
                shard.dirty = True

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild(
        self,
        chunks: Iterable[list[IndexedDocument]],
        *,
        firm_ids: Iterable[int] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Build fresh indexes from ``chunks`` beside the live ones, then swap them in.

        Writes queued while the rebuild runs are replayed on the new indexes before the swap.
        """
        self.flush()
        targets = None if firm_ids is None else {self._key(f) for f in firm_ids}
        build_root = self.index_dir / f".rebuild-{uuid.uuid4().hex}"
        build_root.mkdir()
        with self._write_lock:
            self._replay = {}
            self._replay_keys = targets
        # At most one bulk writer is open: memory stays at ``limitmb`` whatever the number of
        # firms. Chunks ordered by firm (``ORDER BY firm_id``) give one segment per firm.
        current: tuple[str, IndexWriter] | None = None
        in_writer = 0
        try:
            done = 0
            for chunk in chunks:
                for doc in chunk:
                    key = self._key(doc.firm_id)
                    if targets is not None and key not in targets:
                        raise ValueError(f"document {doc.id} is outside the rebuilt firms")
                    if (
                        current is None
                        or current[0] != key
                        or in_writer >= self.rebuild_segment_docs
                    ):
                        # A writer holds its segment's stored fields in memory until it
                        # commits: committing every N documents bounds the rebuild's memory.
                        if current is not None:
                            # A firm's last segment: merge its segments into one.
                            last = current[0] != key
                            current[1].commit(merge=False, optimize=last and self.optimize)
                            current = None
                        current = (key, self._bulk_writer(build_root / key))
                        in_writer = 0
                    current[1].add_document(**document_fields(doc))
                    in_writer += 1
                done += len(chunk)
                if progress is not None:
                    progress(done)
            if current is not None:
                if self.optimize:
                    current[1].commit(optimize=True)
                else:
                    current[1].commit(mergetype=MERGE_SMALL)
                current = None
            self.flush()
            self._swap(build_root, targets)
        finally:
            if current is not None:
                current[1].cancel()
            with self._write_lock:
                self._replay = None
                self._replay_keys = None
            shutil.rmtree(build_root, ignore_errors=True)
        self.needs_rebuild = False

    def _bulk_writer(self, path: Path) -> IndexWriter:
        ix = _open_or_create(path, self.schema)
        if self.procs > 1:
            return ix.writer(procs=self.procs, limitmb=self.limitmb, multisegment=True)
        return ix.writer(limitmb=self.limitmb)

    def _swap(self, build_root: Path, targets: set[str] | None) -> None:
        trash = self.index_dir / f".trash-{uuid.uuid4().hex}"
        trash.mkdir()
        with self._write_lock:
            built = {p.name for p in build_root.iterdir() if p.is_dir()}
            replaced = set(targets) if targets is not None else set(self._existing_keys())
            for key, ops in (self._replay or {}).items():
                built.add(key)
                writer = _open_or_create(build_root / key, self.schema).writer(timeout=30.0)
                _apply(writer, ops)
                writer.commit(mergetype=MERGE_SMALL)
            for key in sorted(replaced | built):
                with self._shards_lock:
                    shard = self._shards.pop(key, None)
                if shard is not None:
                    shard.close()
                live = self.index_dir / key
                if live.exists():
                    live.rename(trash / key)
                if key in built:
                    (build_root / key).rename(live)
        shutil.rmtree(trash, ignore_errors=True)

    # -- search ----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Run ``query`` on the firm's index; see :class:`SearchQuery`."""
        self._check_open()
        if query.sort not in SORTS:
            raise ValueError(f"unknown sort {query.sort!r}")
        page = max(1, query.page)
        per_page = max(1, query.per_page)
        empty = SearchResult([], 0, True, page, per_page)
        if query.company_ids is not None and not query.company_ids:
            return empty
        if query.restrict_ids is not None and not query.restrict_ids:
            return empty
        key = self._key(query.firm_id)
        if not (self.index_dir / key).exists():
            return empty
        cache_key = _result_key(query, page, per_page)
        for _attempt in range(3):
            shard = self._shard(key)
            with shard.lock:
                if shard.closed:  # swapped by a rebuild meanwhile
                    continue
                shard.current_searcher()  # a commit since the last search clears the caches
                result = shard.results.get(cache_key)
                if result is not None:
                    shard.results.move_to_end(cache_key)
                else:
                    result = self._search_shard(shard, query, page, per_page)
                    shard.results[cache_key] = result
                    while len(shard.results) > self.result_cache_size:
                        shard.results.popitem(last=False)
                return _copy_result(result)
        raise RuntimeError("search index is being replaced")

    def _search_shard(
        self, shard: _Shard, sq: SearchQuery, page: int, per_page: int
    ) -> SearchResult:
        searcher = shard.current_searcher()
        allowed = self._allowed_docnums(shard, searcher, sq)
        if allowed is not None and not len(allowed):
            return SearchResult([], 0, True, page, per_page)
        text_q = self._parse(sq.q, sq.aliases) if sq.q.strip() else None
        if text_q is query.NullQuery:  # only punctuation or stop words: nothing to look for
            return SearchResult([], 0, True, page, per_page)
        sort = sq.sort if (text_q is not None or sq.sort != "relevance") else "-created"
        limit = page * per_page
        start = (page - 1) * per_page

        def collect(text_q: query.Query | None) -> tuple[list[tuple[int, float]], int, bool]:
            if sort == "relevance":
                assert text_q is not None
                return self._relevance(shard, searcher, text_q, allowed, limit)
            return self._sorted(shard, searcher, text_q, allowed, sort, limit)

        try:
            page_hits, total, exact = collect(_prune(text_q, searcher.reader()))
        except Exception:  # noqa: BLE001 - a strange query must not break the search page
            if text_q is None:
                raise
            log.info("query %r failed, searched as plain words", sq.q, exc_info=True)
            text_q = self._plain_query(sq.q)
            page_hits, total, exact = collect(_prune(text_q, searcher.reader()))
        page_hits = page_hits[start:limit]
        ids = self._id_column(shard, searcher)
        hits = [SearchHit(int(ids[docnum]), score, {}) for docnum, score in page_hits]
        if hits and text_q is not None and sq.highlight:  # highlight=False: ids only
            self._highlight(searcher, sq.firm_id, text_q, page_hits, hits)
        return SearchResult(hits, total, exact, page, per_page)

    @staticmethod
    def _relevance(
        shard: _Shard,
        searcher: Searcher,
        text_q: query.Query,
        allowed: array | None,
        limit: int,
    ) -> tuple[list[tuple[int, float]], int, bool]:
        """Top ``limit`` (docnum, score) by relevance.

        Terms, ``And`` and ``Or`` (what the parser makes of words, amounts and identifiers)
        are evaluated on whole posting lists with numpy (:class:`_VectorSearch`): every match
        scored, an exact count. Other queries (phrases, prefixes, ranges...) go through
        whoosh's top-k collector, which skips blocks that cannot enter the top ``limit``, so
        its total is then an estimate.
        """
        if text_q is query.NullQuery:
            return [], 0, True
        vector = WhooshBackend._vector(shard, searcher)
        found = vector.evaluate(text_q)
        if found is not None:
            docs, scores = found
            if allowed is not None:
                keep = np.isin(docs, vector.as_array(allowed), assume_unique=True)
                docs, scores = docs[keep], scores[keep]
            return _top_k(docs, scores, limit), len(docs), True
        final_q: query.Query = text_q
        if allowed is not None:
            final_q = FilteredQuery(text_q, DocnumSetQuery(allowed, searcher.leaf_searchers()))
        results = searcher.search(final_q, limit=limit)
        scored = results.scored_length()
        if results.has_exact_length():
            total, exact = len(results), True
        elif scored < limit:
            # The top-k heap never filled up, so no block was skipped: every match was seen.
            total, exact = scored, True
        else:
            total, exact = max(results.estimated_length(), scored), False
        top = [(results[pos].docnum, float(results[pos].score or 0.0)) for pos in range(scored)]
        return top, total, exact

    def _sorted(
        self,
        shard: _Shard,
        searcher: Searcher,
        text_q: query.Query | None,
        allowed: array | None,
        sort: str,
        limit: int,
    ) -> tuple[list[tuple[int, float]], int, bool]:
        """Top ``limit`` (docnum, 0.0) in ``sort`` order, without scoring: the matches (or the
        filtered documents) ranked by a per-searcher rank array; the count is exact."""
        vector = self._vector(shard, searcher)
        if text_q is None:
            docnums = allowed if allowed is not None else self._all_docnums(shard, searcher)
            candidates = vector.as_array(docnums)
        else:
            found = vector.evaluate(text_q) if text_q is not query.NullQuery else _EMPTY
            if found is not None:
                candidates = found[0]
            else:
                candidates = np.array(sorted(searcher.docs_for_query(text_q)), dtype=np.int64)
            if allowed is not None:
                keep = np.isin(candidates, vector.as_array(allowed), assume_unique=True)
                candidates = candidates[keep]
        ranks = self._ranks(shard, searcher, sort)[candidates]
        if len(candidates) > limit:
            best = np.argpartition(ranks, limit - 1)[:limit]
            best = best[np.argsort(ranks[best])]
        else:
            best = np.argsort(ranks)
        return [(int(docnum), 0.0) for docnum in candidates[best]], len(candidates), True

    def _highlight(
        self,
        searcher: Searcher,
        firm_id: int,
        text_q: query.Query,
        page_hits: list[tuple[int, float]],
        hits: list[SearchHit],
    ) -> None:
        """Highlights of the page's hits: file and party names from the stored fields, the
        text from :attr:`text_source` (the database) unless the index stores it."""
        wanted = _highlight_terms(text_q)
        if not wanted:
            return
        texts: dict[int, str] = {}
        stored_text = "text" in searcher.schema.stored_names()
        if "text" in wanted and not stored_text and self.text_source is not None:
            try:
                texts = self.text_source(firm_id, [hit.id for hit in hits])
            except Exception:  # noqa: BLE001 - hits without text highlights, never no hits
                log.warning(
                    "search highlights: the documents' texts could not be read", exc_info=True
                )
        for (docnum, _score), hit in zip(page_hits, hits, strict=True):
            stored = searcher.stored_fields(docnum)
            for name, terms in wanted.items():
                value = texts.get(hit.id) if name == "text" and texts else stored.get(name)
                if value:
                    snippet = highlight_snippet(value, terms, self.highlight_chars)
                    if snippet:
                        hit.highlights[name] = snippet

    @staticmethod
    def _id_column(shard: _Shard, searcher: Searcher) -> array:
        """Document id by docnum (from the sortable ``id`` column), cached per searcher."""
        if shard.ids is None:
            column = searcher.reader().column_reader("id")
            shard.ids = array("q", (int(v) for v in column))
        return shard.ids

    def _all_docnums(self, shard: _Shard, searcher: Searcher) -> array:
        return self._cached(
            shard, ("all",), lambda: array("q", sorted(searcher.reader().all_doc_ids()))
        )

    def _ranks(self, shard: _Shard, searcher: Searcher, sort: str) -> array:
        """Each docnum's position in ``sort`` order (ties and missing values by id), cached
        per searcher: the same order as whoosh's ``sortedby=[FieldFacet, FieldFacet("id")]``."""
        rank = shard.ranks.get(sort)
        if rank is None:
            values = self._column(shard, searcher, _SORT_FIELDS[sort.lstrip("-")])
            if sort.startswith("-"):
                # Descending, but documents without a value stay last.
                values = np.where(values == _MISSING, _MISSING, _MISSING - 1 - values)
            ids = np.frombuffer(self._id_column(shard, searcher), dtype=np.int64)
            order = np.lexsort((ids, values))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order), dtype=np.int64)
            shard.ranks[sort] = rank
        return rank

    @staticmethod
    def _column(shard: _Shard, searcher: Searcher, name: str) -> np.ndarray:
        """The sortable column of ``name`` by docnum (raw, order-preserving unsigned values;
        a document without a value holds the largest), cached per searcher."""
        column = shard.columns.get(name)
        if column is None:
            reader = searcher.reader()
            column = np.full(reader.doc_count_all(), _MISSING, dtype=np.uint64)
            # The column's own "no value" (4294967295 for a 32-bit date) becomes _MISSING.
            default = np.uint64(searcher.schema[name].column_type.default_value(reverse=False))
            # Segment by segment: one written while no document had a value has no column at
            # all (its documents keep the "missing" value), which a whole-index read skips.
            for leaf, offset in reader.leaf_readers():
                if not leaf.has_column(name):
                    continue
                count = leaf.doc_count_all()
                raw = leaf.column_reader(name, translate=False)
                values = np.fromiter(itertools.islice(raw, count), dtype=np.uint64)
                values[values == default] = _MISSING
                column[offset : offset + len(values)] = values
            shard.columns[name] = column
        return column

    def _allowed_docnums(self, shard: _Shard, searcher: Searcher, sq: SearchQuery) -> array | None:
        """Sorted docnums passing the non-text filters (cached per searcher), None if no filter."""
        terms: list[query.Query] = []
        if not self.per_firm:
            terms.append(query.Term("firm_id", str(sq.firm_id)))
        if sq.company_ids is not None:
            terms.append(
                query.Or([query.Term("company_id", str(c)) for c in sorted(sq.company_ids)])
            )
        if sq.binder_id is not None:
            terms.append(query.Term("binder_id", str(sq.binder_id)))
        if sq.binder_type is not None:
            terms.append(query.Term("binder_type", sq.binder_type))
        if sq.state is not None:
            terms.append(query.Term("state", sq.state))
        if sq.date_from is not None or sq.date_to is not None:
            terms.append(
                query.NumericRange(
                    "date",
                    sq.date_from.toordinal() if sq.date_from else None,
                    sq.date_to.toordinal() if sq.date_to else None,
                )
            )
        if sq.amount_min is not None or sq.amount_max is not None:
            terms.append(query.NumericRange("amount", sq.amount_min, sq.amount_max))
        if not terms and sq.restrict_ids is None:
            return None
        fkey = tuple(repr(t) for t in terms)
        base = (
            self._cached(shard, ("f", *fkey), lambda: self._filter(shard, searcher, terms))
            if terms
            else None
        )
        if sq.restrict_ids is None:
            return base
        restricted = self._cached(
            shard, ("r", sq.restrict_ids), lambda: self._ids_to_docnums(shard, searcher, sq)
        )
        if base is None:
            return restricted
        allowed = set(base)
        return array("q", (d for d in restricted if d in allowed))

    @staticmethod
    def _vector(shard: _Shard, searcher: Searcher) -> _VectorSearch:
        vector = shard.vector
        if vector is None or vector.searcher is not searcher:
            vector = shard.vector = _VectorSearch(searcher, shard.posting_budget)
        return vector

    def _filter(self, shard: _Shard, searcher: Searcher, terms: list[query.Query]) -> array:
        """Docnums matching every filter, with numpy: terms from their posting lists, ranges
        from the field's column (whoosh walks every matching posting in Python)."""
        vector = self._vector(shard, searcher)
        result: np.ndarray | None = None
        for term in terms:
            if type(term) is query.Term:
                docs = vector._term(term.fieldname, term.text)[0]
            elif type(term) is query.Or and all(type(t) is query.Term for t in term.subqueries):
                parts = [vector._term(t.fieldname, t.text)[0] for t in term.subqueries]
                docs = np.unique(np.concatenate(parts)) if parts else _EMPTY[0]
            elif type(term) is query.NumericRange:
                docs = self._range(shard, searcher, term)
            else:
                docs = np.array(sorted(searcher.docs_for_query(term)), dtype=np.int64)
            result = docs if result is None else np.intersect1d(result, docs, assume_unique=True)
        out = array("q")
        if result is not None:
            out.frombytes(np.ascontiguousarray(result, dtype=np.int64).tobytes())
        return out

    @staticmethod
    def _range(shard: _Shard, searcher: Searcher, term: query.NumericRange) -> np.ndarray:
        """Docnums whose ``term.fieldname`` value is within the range (bounds included)."""
        name = term.fieldname
        field_type = searcher.schema[name]
        column = WhooshBackend._column(shard, searcher, name)
        # A document without a value holds _MISSING (see _column).
        mask = column != _MISSING
        if term.start is not None:
            low = field_type.to_column_value(term.start)
            mask &= column > low if term.startexcl else column >= low
        if term.end is not None:
            high = field_type.to_column_value(term.end)
            mask &= column < high if term.endexcl else column <= high
        live = WhooshBackend._vector(shard, searcher)._live_mask()
        if live is not None:
            mask &= live
        return np.flatnonzero(mask).astype(np.int64)

    @staticmethod
    def _cached(shard: _Shard, key: Any, compute: Any) -> array:
        cache = shard.filters
        value = cache.get(key)
        if value is None:
            value = cache[key] = compute()
            if len(cache) > _FILTER_CACHE_SIZE:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return value

    def _ids_to_docnums(self, shard: _Shard, searcher: Searcher, sq: SearchQuery) -> array:
        if shard.id_map is None:
            ids = self._id_column(shard, searcher)
            shard.id_map = {ids[docnum]: docnum for docnum in searcher.reader().all_doc_ids()}
        id_map = shard.id_map
        assert sq.restrict_ids is not None
        return array("q", sorted(id_map[i] for i in sq.restrict_ids if i in id_map))

    # -- query parsing ---------------------------------------------------------------------

    def _parse(self, text: str, aliases: dict[str, str] | None = None) -> query.Query:
        """The query of what a user typed: amounts, dates and identifiers however written
        (``core.search.mentions``) are required mentions; the other words go to the parser
        (field names, quotes, boolean words), a reference-like word also matching without its
        punctuation. Nothing searchable gives ``NullQuery`` (no hits), never something else."""
        understood = understand(text)
        if understood.empty:
            return query.NullQuery
        required: list[query.Query] = [
            query.Or([query.Term("mentions", token) for token in group])
            if len(group) > 1
            else query.Term("mentions", group[0], boost=5.0)
            for group in understood.groups
        ]
        if re.search(r"[\w*?]", understood.words):
            words_q = self._parse_words(understood.words, aliases)
            if words_q is not query.NullQuery:
                required.append(words_q)
            elif not required:
                return query.NullQuery
        if not required:
            return query.NullQuery
        return required[0] if len(required) == 1 else query.And(required)

    def _parse_words(self, text: str, aliases: dict[str, str] | None) -> query.Query:
        # "-word" excludes the word, as in a web search engine (and the PostgreSQL backend).
        text = re.sub(r"(?<!\S)-(?=\w)", "NOT ", text)
        parser = qparser.MultifieldParser(
            list(QUERY_FIELDS), self.schema, fieldboosts=QUERY_FIELDS, group=qparser.AndGroup
        )
        by_field: dict[str, list[str]] = {}
        for alias, name in query_field_names(aliases).items():
            if alias != name:
                by_field.setdefault(name, []).append(alias)
        parser.add_plugin(qparser.FieldAliasPlugin(by_field))
        try:
            parsed = parser.parse(text)
        except Exception:  # noqa: BLE001 - bad syntax is searched as plain words
            log.info("unparsable query %r, searched as plain words", text, exc_info=True)
            parsed = self._plain_query(text)
        if parsed is query.NullQuery:
            parsed = self._plain_query(text)
        extra = self._identifier_queries(text)
        if extra:
            return query.Or([parsed, *extra]) if parsed is not query.NullQuery else query.Or(extra)
        return parsed

    def _plain_query(self, text: str) -> query.Query:
        """Every word must appear in one of the searched fields: no syntax at all."""
        analyzer = french_analyzer()
        groups: list[query.Query] = []
        for word in _WORD_RE.findall(text):
            stems = [t.text for t in analyzer(word)]
            alternatives: list[query.Query] = [
                query.Term(name, stem, boost=QUERY_FIELDS[name])
                for name in _WORD_FIELDS
                for stem in stems
            ]
            for name in _IDENTIFIER_FIELDS:
                alternatives.append(query.Term(name, word.lower(), boost=QUERY_FIELDS[name]))
            groups.append(query.Or(alternatives))
        if not groups:
            return query.NullQuery
        return query.And(groups) if len(groups) > 1 else groups[0]

    @staticmethod
    def _identifier_queries(text: str) -> list[query.Query]:
        """Exact matches of the whole string as a reference or a party identifier, with or
        without its spaces and punctuation (``FA-2026/0042`` finds ``FA20260042``)."""
        extra: list[query.Query] = []
        ident = normalize_identifier(text)
        if len(ident) >= 3 and " " in text.strip():
            # Single words are matched by the parser already.
            for name in _IDENTIFIER_FIELDS:
                extra.append(query.Term(name, ident, boost=QUERY_FIELDS[name]))
        token = reference_alternatives(text.strip())
        if token is None and " " in text.strip():
            compact = normalize_reference(text)
            token = f"i:{compact}" if len(compact) >= 3 and re.search(r"\d", compact) else None
        if token is not None:
            extra.append(query.Term("mentions", token, boost=QUERY_FIELDS["reference"]))
        return extra

    # -- misc ------------------------------------------------------------------------------

    def document_count(self, firm_id: int | None = None) -> int:
        """Number of searchable documents of ``firm_id`` (or of every firm)."""
        if firm_id is not None:
            keys = [self._key(firm_id)] if (self.index_dir / self._key(firm_id)).exists() else []
        else:
            keys = self._existing_keys()
        total = 0
        for key in keys:
            shard = self._shard(key)
            with shard.lock:
                if not self.per_firm and firm_id is not None:
                    searcher = shard.current_searcher()
                    total += len(_docnums(searcher, query.Term("firm_id", str(firm_id))))
                else:
                    total += shard.current_searcher().doc_count()
        return total

    def close(self) -> None:
        """Commit pending writes, stop the writer thread and close every index."""
        if self._closed:
            return
        done = threading.Event()
        self._queue.put(("stop", None, done))
        done.wait()
        self._thread.join()
        self._closed = True
        with self._shards_lock:
            shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            shard.close()
        self._raise_error()

    def index_size(self) -> int:
        """Bytes used on disk by the indexes (for the benchmark and the admin page)."""
        return sum(p.stat().st_size for p in self.index_dir.rglob("*") if p.is_file())


def _apply(writer: IndexWriter, ops: list[tuple[str, Any]]) -> None:
    # Keep only the last operation per document id: whoosh's update_document does not
    # replace a document added earlier through the same writer (it would be found twice).
    last: dict[Any, int] = {}
    for position, (kind, payload) in enumerate(ops):
        key = payload["id"] if kind == "doc" else payload
        last[key] = position
    ops = [op for position, op in enumerate(ops) if last[_op_key(op)] == position]
    for kind, payload in ops:
        if kind == "doc":
            writer.update_document(**payload)
        else:
            writer.delete_by_term("id", payload)


def _op_key(op: tuple[str, Any]) -> Any:
    kind, payload = op
    return payload["id"] if kind == "doc" else payload


def _docnums(searcher: Searcher, q: query.Query) -> array:
    return array("q", sorted(searcher.docs_for_query(q)))


def _highlight_terms(q: query.Query) -> dict[str, frozenset[str]]:
    """Terms of the highlighted fields that the query looks for."""
    found: dict[str, set[str]] = {name: set() for name in HIGHLIGHT_FIELDS}
    for fieldname, text in q.iter_all_terms():
        if fieldname in found and isinstance(text, str):
            found[fieldname].add(text)
    return {name: frozenset(terms) for name, terms in found.items() if terms}


def _result_key(sq: SearchQuery, page: int, per_page: int) -> tuple[Any, ...]:
    """What a page of results depends on (the firm's shard being the same searcher)."""
    return (
        sq.firm_id,
        sq.q,
        sq.highlight,
        sq.company_ids,
        sq.binder_id,
        sq.binder_type,
        sq.state,
        sq.date_from,
        sq.date_to,
        sq.amount_min,
        sq.amount_max,
        sq.restrict_ids,
        tuple(sorted(sq.aliases.items())),
        sq.sort,
        page,
        per_page,
    )


def _copy_result(result: SearchResult) -> SearchResult:
    """A copy callers may change without changing the cached page."""
    hits = [SearchHit(h.id, h.score, dict(h.highlights)) for h in result.hits]
    return SearchResult(hits, result.total, result.total_is_exact, result.page, result.per_page)


def _prune(q: query.Query | None, reader: Any) -> Any:
    """``q`` without the terms the index does not hold (``NullQuery`` if nothing is left).

    The parser asks every word in eight fields; most of those terms do not exist, and each
    would still be a matcher in whoosh's union tree, called for every posting. Same matches,
    same scores (an absent term scores nothing); an ``And`` with an absent part matches nothing.
    """
    if q is None:
        return None
    if type(q) is query.Term:
        return q if (q.fieldname, q.text) in reader else query.NullQuery
    if type(q) is query.Or:
        subs = [s for s in (_prune(s, reader) for s in q.subqueries) if s is not query.NullQuery]
        if not subs:
            return query.NullQuery
        return query.Or(subs, boost=q.boost, minmatch=q.minmatch, scale=q.scale)
    if type(q) is query.And:
        subs = [_prune(s, reader) for s in q.subqueries]
        if any(s is query.NullQuery for s in subs):
            return query.NullQuery
        return query.And(subs, boost=q.boost)
    return q
