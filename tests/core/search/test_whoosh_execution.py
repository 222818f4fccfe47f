"""How the whoosh backend executes searches: text highlights from the database's text (the
index does not store it), the result cache that writes clear, the unscored sorted mode, the
estimated total of relevance ranking, BM25 with cached lengths, the optimized rebuild."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from whoosh import scoring, sorting
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


def test_sorted_mode_gives_whooshs_own_order(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    # Two batches: two segments, so docnums of the second are offset.
    docs = _random_docs(120, 3)
    backend.index(docs[:70])
    backend.flush()
    backend.index(docs[70:])
    backend.flush()
    shard = backend._shard("firm_1")
    for q in ("", "gaz"):
        for sort in ("date", "-date", "amount", "-amount", "created", "-created"):
            with shard.lock:
                searcher = shard.current_searcher()
                whoosh_q = QueryParser("text", searcher.schema).parse(q or "facture")
                facet = sorting.FieldFacet(sort.lstrip("-"), reverse=sort.startswith("-"))
                expected = [
                    int(hit["id"])
                    for hit in searcher.search(
                        whoosh_q, limit=None, sortedby=[facet, sorting.FieldFacet("id")]
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


def test_relevance_total_is_an_estimate_when_blocks_are_skipped(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    rng = random.Random(5)
    backend.index(
        make_doc(i, text=" ".join(["facture"] * rng.randint(1, 9) + ["mot"] * rng.randint(0, 60)))
        for i in range(1, 6001)
    )
    backend.flush()
    result = backend.search(SearchQuery(firm_id=FIRM, q="facture", per_page=10))
    assert len(result.hits) == 10
    assert not result.total_is_exact
    # An estimate, never fewer than the hits seen, never more than the index holds.
    assert 10 <= result.total <= 6000
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    # A query whose matches all fit in the page is exact.
    few = backend.search(SearchQuery(firm_id=FIRM, q="facture", restrict_ids=frozenset({1, 2})))
    assert few.total_is_exact and few.total == 2
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


def test_rebuild_merges_each_firms_segments(tmp_path: Path) -> None:
    backend = _backend(tmp_path, rebuild_segment_docs=40)
    docs = sorted(_random_docs(150, 2), key=lambda d: d.id)
    backend.rebuild([docs[i : i + 30] for i in range(0, 150, 30)])
    shard = backend._shard("firm_1")
    with shard.lock:
        searcher = shard.current_searcher()
        assert len(searcher.leaf_searchers()) == 1
        assert searcher.doc_count() == 150
    assert backend.search(SearchQuery(firm_id=FIRM, q="facture")).total == 150
    backend.close()
