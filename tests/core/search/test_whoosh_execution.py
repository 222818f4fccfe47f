"""How the whoosh backend executes searches: text highlights from the database's text (the
index does not store it), the result cache that writes clear, the unscored sorted mode, the
estimated total of relevance ranking, BM25 with cached lengths, the optimized rebuild."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from whoosh import scoring
from whoosh.qparser import QueryParser

from core.search.backend import IndexedDocument, SearchQuery
from core.search.whoosh_backend import FastBM25F, WhooshBackend
from tests.core.search.test_whoosh_backend import FIRM, make_doc


def _backend(
    tmp_path: Path, texts: dict[int, str] | None = None, **kwargs: object
) -> WhooshBackend:
    calls: list[list[int]] = []

    def text_source(firm_id: int, ids: list[int]) -> dict[int, str]:
        assert firm_id == FIRM
        calls.append(list(ids))
        return {i: texts[i] for i in ids if texts is not None and i in texts}

    backend = WhooshBackend(
        tmp_path / "index",
        commit_interval=0.05,
        text_source=text_source if texts is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )
    backend.text_source_calls = calls  # type: ignore[attr-defined]
    return backend


def test_text_is_not_stored_and_highlights_come_from_the_text_source(tmp_path: Path) -> None:
    docs = [
        make_doc(1, text="Facture d'électricité du mois de mars", party_name="EDF"),
        make_doc(2, text="Relevé de compte, prélèvement électricité EDF"),
        make_doc(3, text="Sans rapport"),
    ]
    texts = {d.id: d.text for d in docs}
    backend = _backend(tmp_path, texts)
    backend.index(docs)
    backend.flush()
    result = backend.search(SearchQuery(firm_id=FIRM, q="electricite", per_page=1))
    assert [h.id for h in result.hits] in ([1], [2])
    hit = result.hits[0]
    assert "<mark>électricité</mark>" in hit.highlights["text"]
    # Only the page's hits are read from the database, once.
    assert backend.text_source_calls == [[hit.id]]  # type: ignore[attr-defined]
    shard = backend._shard("firm_1")
    with shard.lock:
        searcher = shard.current_searcher()
        assert "text" not in searcher.schema.stored_names()
        assert all("text" not in fields for fields in searcher.all_stored_fields())
    backend.close()


def test_without_text_source_the_stored_fields_still_highlight(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    backend.index([make_doc(1, text="facture EDF", party_name="EDF", filename="edf.pdf")])
    backend.flush()
    hit = backend.search(SearchQuery(firm_id=FIRM, q="edf")).hits[0]
    assert hit.highlights["party_name"] == "<mark>EDF</mark>"
    assert "<mark>edf</mark>" in hit.highlights["filename"]
    assert "text" not in hit.highlights
    backend.close()


def test_a_failing_text_source_costs_the_text_highlight_only(tmp_path: Path) -> None:
    def broken(firm_id: int, ids: list[int]) -> dict[int, str]:
        raise RuntimeError("no database here")

    backend = WhooshBackend(tmp_path / "index", commit_interval=0.05, text_source=broken)
    backend.index([make_doc(1, text="facture EDF", party_name="EDF")])
    backend.flush()
    hits = backend.search(SearchQuery(firm_id=FIRM, q="edf")).hits
    assert [h.id for h in hits] == [1]
    assert hits[0].highlights == {"party_name": "<mark>EDF</mark>"}
    backend.close()


def test_result_cache_serves_repeats_and_a_write_clears_it(tmp_path: Path) -> None:
    texts = {1: "facture de gaz naturel"}
    backend = _backend(tmp_path, texts)
    backend.index([make_doc(1, text=texts[1])])
    backend.flush()
    first = backend.search(SearchQuery(firm_id=FIRM, q="gaz"))
    again = backend.search(SearchQuery(firm_id=FIRM, q="gaz"))
    assert [h.id for h in first.hits] == [h.id for h in again.hits] == [1]
    assert backend.text_source_calls == [[1]]  # type: ignore[attr-defined]  # served cached
    # A caller changing its copy does not change the cached page.
    again.hits[0].highlights.clear()
    assert backend.search(SearchQuery(firm_id=FIRM, q="gaz")).hits[0].highlights
    # A write (add, then delete) is seen by the very next search.
    texts[2] = "avoir gaz naturel"
    backend.index([make_doc(2, text=texts[2])])
    backend.flush()
    assert sorted(h.id for h in backend.search(SearchQuery(firm_id=FIRM, q="gaz")).hits) == [1, 2]
    backend.delete([1], FIRM)
    backend.flush()
    assert [h.id for h in backend.search(SearchQuery(firm_id=FIRM, q="gaz")).hits] == [2]
    # Other filters, pages and sorts are other cache entries.
    assert (
        backend.search(SearchQuery(firm_id=FIRM, q="gaz", company_ids=frozenset({99}))).total == 0
    )
    assert backend.search(SearchQuery(firm_id=FIRM, q="gaz", page=2)).hits == []
    backend.close()


def _random_docs(n: int, seed: int) -> list[IndexedDocument]:
    rng = random.Random(seed)
    docs = []
    for i in range(1, n + 1):
        docs.append(
            make_doc(
                i,
                text="facture " + rng.choice(("gaz", "eau", "loyer")),
                # Missing values and ties, as real documents have.
                date=None if i % 7 == 0 else date(2024, 1 + rng.randrange(3), 1 + rng.randrange(3)),
                amount=None if i % 5 == 0 else Decimal(rng.randrange(1, 40)),
                created_at=datetime(2024, 5, 1 + rng.randrange(3), 10, rng.randrange(3)),
                company_id=10 + i % 2,
            )
        )
    rng.shuffle(docs)
    return docs


def _sort_value(doc: IndexedDocument, name: str) -> float | None:
    value = {"date": doc.date, "amount": doc.amount, "created": doc.created_at}[name]
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value.toordinal()) if isinstance(value, date) else float(value)


def test_sorted_mode_order_ties_by_id_missing_values_last(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    # Two batches: two segments, so docnums of the second are offset.
    docs = _random_docs(120, 3)
    backend.index(docs[:70])
    backend.flush()
    backend.index(docs[70:])
    backend.flush()
    for q in ("", "gaz"):
        for sort in ("date", "-date", "amount", "-amount", "created", "-created"):
            name, sign = sort.lstrip("-"), (-1 if sort.startswith("-") else 1)
            matching = [d for d in docs if not q or q in d.text]
            keyed = [(d, _sort_value(d, name)) for d in matching]
            expected = [
                d.id
                for d, v in sorted(
                    keyed, key=lambda dv: (dv[1] is None, sign * (dv[1] or 0), dv[0].id)
                )
            ]
            got = [
                h.id
                for page in (1, 2, 3)
                for h in backend.search(
                    SearchQuery(firm_id=FIRM, q=q, sort=sort, per_page=25, page=page)
                ).hits
            ]
            assert got == expected[:75], (q, sort)
            result = backend.search(SearchQuery(firm_id=FIRM, q=q, sort=sort))
            assert result.total_is_exact and result.total == len(expected)
            assert all(h.score == 0.0 for h in result.hits)
    # With a filter, the order is the filtered part of the same order.
    everything = [
        h.id for h in backend.search(SearchQuery(firm_id=FIRM, sort="-date", per_page=200)).hits
    ]
    by_id = {d.id: d for d in docs}
    filtered = backend.search(
        SearchQuery(firm_id=FIRM, q="gaz", company_ids=frozenset({11}), sort="-date", per_page=200)
    )
    assert [h.id for h in filtered.hits] == [
        i for i in everything if by_id[i].company_id == 11 and "gaz" in by_id[i].text
    ]
    backend.close()


def test_relevance_total_exact_from_postings_estimated_by_whooshs_collector(
    tmp_path: Path,
) -> None:
    backend = _backend(tmp_path)
    rng = random.Random(5)
    backend.index(
        make_doc(i, text=" ".join(["facture"] * rng.randint(1, 9) + ["mot"] * rng.randint(0, 60)))
        for i in range(1, 6001)
    )
    backend.flush()
    # Words: evaluated on whole posting lists, every match counted.
    words = backend.search(SearchQuery(firm_id=FIRM, q="facture", per_page=10))
    assert len(words.hits) == 10 and words.total_is_exact and words.total == 6000
    scores = [h.score for h in words.hits]
    assert scores == sorted(scores, reverse=True)
    # A prefix goes through whoosh's top-k collector, which skips blocks: an estimate, never
    # fewer than the hits seen, never more than the index holds.
    prefix = backend.search(SearchQuery(firm_id=FIRM, q="factur*", per_page=10))
    assert len(prefix.hits) == 10
    assert not prefix.total_is_exact
    assert 10 <= prefix.total <= 6000
    # A query whose matches all fit in the page is exact.
    few = backend.search(SearchQuery(firm_id=FIRM, q="factur*", restrict_ids=frozenset({1, 2})))
    assert few.total_is_exact and few.total == 2
    backend.close()


def test_posting_list_relevance_equals_whooshs_full_evaluation(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    rng = random.Random(11)
    words = ["gaz", "eau", "loyer", "facture", "avoir", "relevé", "transport", "carburant"]
    docs = [
        make_doc(
            i,
            text=" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))),
            party_name=rng.choice(("EDF", "Engie", "Total Énergies", None)),
            company_id=10 + i % 3,
        )
        for i in range(1, 801)
    ]
    backend.index(docs[:500])
    backend.flush()
    backend.index(docs[500:])
    backend.delete([3, 600], FIRM)
    backend.flush()
    shard = backend._shard("firm_1")
    for q in ("gaz", "gaz eau", "facture edf", "loyer OR transport", "engie carburant relevé"):
        with shard.lock:
            searcher = shard.current_searcher()
            parsed = backend._parse(q, {})
            ids = backend._id_column(shard, searcher)
            # whoosh without a limit: every match scored, no block skipped.
            full = [
                (int(ids[h.docnum]), round(h.score, 6)) for h in searcher.search(parsed, limit=None)
            ]
        for company in (None, frozenset({11})):
            result = backend.search(
                SearchQuery(firm_id=FIRM, q=q, per_page=30, company_ids=company)
            )
            expected = [
                hit
                for hit in full
                if company is None or next(d for d in docs if d.id == hit[0]).company_id in company
            ]
            assert result.total == len(expected) and result.total_is_exact
            got = [(h.id, round(h.score, 6)) for h in result.hits]
            # Same scores in the same order (ties: any order whoosh would give).
            assert [s for _, s in got] == [s for _, s in expected[:30]], q
            assert set(got) <= set(expected), q
            assert 3 not in {i for i, _ in got} and 600 not in {i for i, _ in got}
    backend.close()


def test_fast_bm25_scores_like_whooshs(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    backend.index(_random_docs(300, 8))
    backend.flush()
    shard = backend._shard("firm_1")
    with shard.lock:
        searcher = shard.current_searcher()
        q = QueryParser("text", searcher.schema).parse("facture OR gaz")
        ours = [(h.docnum, round(h.score, 9)) for h in searcher.search(q, limit=50)]
        with shard.ix.searcher(weighting=scoring.BM25F()) as bm25:  # type: ignore[union-attr]
            theirs = [(h.docnum, round(h.score, 9)) for h in bm25.search(q, limit=50)]
    assert isinstance(searcher.weighting, FastBM25F)
    assert ours == theirs
    backend.close()


def test_rebuild_merges_each_firms_segments_when_asked(tmp_path: Path) -> None:
    docs = sorted(_random_docs(150, 2), key=lambda d: d.id)
    for optimize, leaves in ((True, 1), (False, 4)):
        backend = _backend(tmp_path / str(optimize), rebuild_segment_docs=40, optimize=optimize)
        backend.rebuild([docs[i : i + 30] for i in range(0, 150, 30)])
        shard = backend._shard("firm_1")
        with shard.lock:
            searcher = shard.current_searcher()
            assert len(searcher.leaf_searchers()) == leaves
            assert searcher.doc_count() == 150
        assert backend.search(SearchQuery(firm_id=FIRM, q="facture")).total == 150
        backend.close()


def test_filters_from_columns_and_postings_equal_whooshs(tmp_path: Path) -> None:
    from whoosh import query

    backend = _backend(tmp_path)
    docs = _random_docs(200, 4)
    backend.index(docs[:120])
    backend.flush()
    backend.index(docs[120:])
    backend.delete([docs[0].id], FIRM)
    backend.flush()
    shard = backend._shard("firm_1")
    cases = [
        ("date", date(2024, 1, 2), date(2024, 2, 2)),
        ("date", None, date(2024, 2, 1)),
        ("date", date(2024, 2, 2), None),
        ("amount", Decimal("3"), Decimal("17.5")),
        ("amount", None, Decimal("0")),
        ("amount", Decimal("30"), None),
    ]
    for name, low, high in cases:
        with shard.lock:
            searcher = shard.current_searcher()
            value = (lambda v: v.toordinal()) if name == "date" else (lambda v: v)
            whoosh_q = query.NumericRange(
                name, value(low) if low else None, value(high) if high else None
            )
            expected = sorted(searcher.docs_for_query(whoosh_q))
            assert list(backend._range(shard, searcher, whoosh_q)) == expected, (name, low, high)
    # Through the backend: companies and dates together.
    by_id = {d.id: d for d in docs if d.id != docs[0].id}
    got = {
        h.id
        for h in backend.search(
            SearchQuery(
                firm_id=FIRM,
                company_ids=frozenset({11}),
                date_from=date(2024, 1, 2),
                date_to=date(2024, 2, 2),
                per_page=500,
            )
        ).hits
    }
    assert got == {
        i
        for i, d in by_id.items()
        if d.company_id == 11 and d.date and date(2024, 1, 2) <= d.date <= date(2024, 2, 2)
    }
    backend.close()
