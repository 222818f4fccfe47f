"""What only the PostgreSQL backend has: its table, weights, query translation, shared index.

The behaviour shared with whoosh (stemming, filters, sorts, tenancy...) is tested on both
backends in ``test_whoosh_backend.py``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from core.search.backend import IndexedDocument, SearchQuery
from core.search.pg_backend import PostgresBackend, parse_query

from .conftest import PG_SERVER
from .test_whoosh_backend import FIRM, OTHER_FIRM, make_doc

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(empty_search_pg_url: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(empty_search_pg_url, batch_size=7)
    yield backend
    backend.close()


def ids(backend: PostgresBackend, **kwargs: object) -> list[int]:
    kwargs.setdefault("firm_id", FIRM)
    return [hit.id for hit in backend.search(SearchQuery(**kwargs)).hits]  # type: ignore[arg-type]


def test_parse_query_translates_whoosh_syntax() -> None:
    aliases = {"fournisseur": "party_name", "tva": "party_ids"}
    parsed = parse_query('fournisseur:"EDF Pro" factur* NOT avoir AND tva:FR03 552', aliases)
    assert parsed.fields == [("party_name", "EDF Pro"), ("party_ids", "FR03")]
    assert parsed.prefixes == ["factur"]
    assert parsed.words.split() == ["-avoir", "552"]
    assert parse_query("*").match_all
    assert not parse_query("*").has_text
    assert parse_query("1 234,56 €").mentions == [["a:123456"]]  # an amount, not words
    assert parse_query("552 081 317").mentions == [["i:552081317"]]
    assert parse_query("ACME 552").exact == "acme552"
    assert parse_query("firm_id:2").fields == []  # not a searchable field: plain words
    assert parse_query("tiers:edf reference:FA-1").fields == [
        ("party_name", "edf"),
        ("reference", "FA-1"),
    ]
    # An alias naming no generic field is ignored.
    assert parse_query("x:1", {"x": "firm_id"}).fields == []


def test_table_layout_and_unaccent(pg: PostgresBackend, empty_search_pg_url: str) -> None:
    assert pg.unaccent  # Debian's PostgreSQL 15 ships the extension
    pg.index([make_doc(1, text="x", party_name="Électricité Dupont")])
    engine = create_engine(empty_search_pg_url)
    with engine.connect() as conn:
        indexes = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = 'search_documents'"
                )
            ).all()
        )
        tsv = conn.execute(text("SELECT tsv::text FROM search_documents")).scalar()
    engine.dispose()
    assert "USING gin (tsv)" in indexes["ix_search_documents_tsv"]
    assert "(firm_id, company_id)" in indexes["ix_search_documents_firm_company"]
    assert "'electricit':" in tsv and "B" in tsv.split("'electricit':")[1][:4]


def test_party_and_identifiers_rank_above_text(pg: PostgresBackend) -> None:
    pg.index(
        [
            make_doc(1, text="Orange orange orange : facture de téléphone, réseau Orange."),
            make_doc(2, text="Facture de téléphone.", party_name="Orange"),
            make_doc(3, text="Référence FA-77 citée dans le texte."),
            make_doc(4, text="Rien.", reference="FA-77"),
        ]
    )
    assert ids(pg, q="orange")[0] == 2
    assert ids(pg, q="FA-77")[0] == 4
    assert ids(pg, q="numero:fa-77") == [4]
    assert ids(pg, q="texte:orange") == [1]


def test_prefix_and_phrase_queries(pg: PostgresBackend) -> None:
    pg.index(
        [
            make_doc(1, text="maintenance annuelle de la chaudière"),
            make_doc(2, text="chaudière neuve, maintenance à prévoir"),
        ]
    )
    assert sorted(ids(pg, q="maint*")) == [1, 2]
    assert ids(pg, q='"maintenance annuelle"') == [1]
    assert ids(pg, q="chaudiere -annuelle") == [2]
    assert ids(pg, q="chaudiere NOT annuelle") == [2]
    assert sorted(ids(pg, q="annuelle OR neuve")) == [1, 2]


def test_filename_highlight_keeps_separators(pg: PostgresBackend) -> None:
    pg.index([make_doc(1, filename="2024-03_facture_edf&co.pdf", text="rien")])
    hit = pg.search(SearchQuery(firm_id=FIRM, q="edf")).hits[0]
    assert hit.highlights == {"filename": "2024-03_facture_<mark>edf</mark>&amp;co.pdf"}


def test_text_highlight_is_a_bounded_snippet(pg: PostgresBackend) -> None:
    filler = " ".join(f"mot{i}" for i in range(400))
    pg.index([make_doc(1, text=f"{filler} <b>loyer</b> commercial de mars {filler}")])
    snippet = pg.search(SearchQuery(firm_id=FIRM, q="loyer")).hits[0].highlights["text"]
    assert "&lt;b&gt;<mark>loyer</mark>&lt;/b&gt;" in snippet
    assert len(snippet) < 400


def test_total_is_exact_beyond_the_page(pg: PostgresBackend) -> None:
    pg.index(make_doc(i, text="relevé bancaire") for i in range(1, 61))
    result = pg.search(SearchQuery(firm_id=FIRM, q="releve", per_page=7, page=3))
    assert (result.total, result.total_is_exact, len(result.hits)) == (60, True, 7)
    beyond = pg.search(SearchQuery(firm_id=FIRM, q="releve", per_page=7, page=20))
    assert (beyond.total, beyond.hits) == (60, [])


def test_delete_is_scoped_to_the_firm(pg: PostgresBackend) -> None:
    pg.index([make_doc(1, text="bail"), make_doc(2, text="bail", firm_id=OTHER_FIRM)])
    pg.delete([1, 2], OTHER_FIRM)
    assert ids(pg, q="bail") == [1]
    assert pg.document_count() == 1


def test_writes_are_visible_to_another_process_at_once(
    pg: PostgresBackend, empty_search_pg_url: str
) -> None:
    other = PostgresBackend(empty_search_pg_url)
    try:
        assert other.needs_rebuild  # empty table
        pg.index([make_doc(1, text="quittance de loyer")])
        assert ids(other, q="quittance") == [1]  # no flush: writes are synchronous
        assert not PostgresBackend(empty_search_pg_url).needs_rebuild
    finally:
        other.close()


def test_rebuild_removes_stale_rows_and_keeps_concurrent_writes(pg: PostgresBackend) -> None:
    pg.index([make_doc(i, text="ancien") for i in range(1, 6)])
    pg.index([make_doc(9, text="autre cabinet", firm_id=OTHER_FIRM)])
    started = threading.Event()
    release = threading.Event()

    def chunks() -> Iterator[list[IndexedDocument]]:
        yield [make_doc(1, text="nouveau"), make_doc(2, text="nouveau")]
        started.set()
        release.wait(10)
        yield [make_doc(3, text="nouveau")]

    def live_write() -> None:
        started.wait(10)
        # Searches still answer during the rebuild, with the old rows of documents 4 and 5.
        assert sorted(ids(pg, q="ancien")) == [3, 4, 5]
        pg.index([make_doc(6, text="nouveau document")])
        release.set()

    writer = threading.Thread(target=live_write)
    writer.start()
    pg.rebuild(chunks(), firm_ids=[FIRM])
    writer.join()
    assert sorted(ids(pg, q="nouveau")) == [1, 2, 3, 6]
    assert ids(pg, q="ancien") == []
    assert ids(pg, firm_id=OTHER_FIRM, q="cabinet") == [9]


def test_sort_puts_missing_values_last(pg: PostgresBackend) -> None:
    pg.index(
        [
            make_doc(1, text="note", date=date(2024, 2, 1), amount=Decimal("5")),
            make_doc(2, text="note"),
            make_doc(3, text="note", date=date(2024, 1, 1), amount=Decimal("9")),
        ]
    )
    assert ids(pg, q="note", sort="date") == [3, 1, 2]
    assert ids(pg, q="note", sort="-date") == [1, 3, 2]
    assert ids(pg, q="note", sort="-amount") == [3, 1, 2]


def test_unmigrated_database_is_refused_with_a_french_message() -> None:
    name = f"pgsearch_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - depends on the machine
        pytest.skip(f"PostgreSQL server not reachable: {exc}")
    try:
        with pytest.raises(RuntimeError, match="classeur db upgrade"):
            PostgresBackend(PG_SERVER.rsplit("/", 1)[0] + f"/{name}")
        with pytest.raises(ValueError, match="PostgreSQL"):
            PostgresBackend("sqlite:///classeur.db")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- reading at scale (migration 0008_search_pg_speed) -------------------------------------


def test_ranking_vector_holds_the_short_fields_only(
    pg: PostgresBackend, empty_search_pg_url: str
) -> None:
    pg.index([make_doc(1, text="quittance de loyer", party_name="Orange", reference="FA-1")])
    engine = create_engine(empty_search_pg_url)
    with engine.connect() as conn:
        rtsv, tsv = conn.execute(text("SELECT rtsv::text, tsv::text FROM search_documents")).one()
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'search_documents'")
        ).scalar()
        storage = dict(
            conn.execute(
                text(
                    "SELECT attname, attstorage FROM pg_attribute "
                    "WHERE attrelid = 'search_documents'::regclass AND attnum > 0"
                )
            ).all()
        )
    engine.dispose()
    assert "'orang':" in rtsv and "'fa':1A" in rtsv and "quittanc" not in rtsv
    assert "'quittanc':" in tsv and "'orang':" in tsv
    assert "toast_tuple_target=128" in options
    assert storage["rtsv"] == storage["party_name"] == "m"  # kept in the row
    assert storage["text"] == storage["tsv"] == "x"  # out of line beyond 128 bytes


def test_many_matches_give_an_estimated_total(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.search.pg_backend.EXACT_COUNT_LIMIT", 5)
    pg.index(make_doc(i, text="relevé bancaire") for i in range(1, 31))
    first = pg.search(SearchQuery(firm_id=FIRM, q="releve", per_page=7))
    assert len(first.hits) == 7 and not first.total_is_exact
    assert first.total >= 8  # at least one more page
    last = pg.search(SearchQuery(firm_id=FIRM, q="releve", per_page=7, page=5))
    assert (len(last.hits), last.total, last.total_is_exact) == (2, 30, True)


@pytest.mark.parametrize("many", [False, True], ids=["few", "many"])
def test_ranked_candidates_then_text_matches_newest_first(
    empty_search_pg_url: str, monkeypatch: pytest.MonkeyPatch, many: bool
) -> None:
    if many:  # the reads among the most recent documents, as for a broad word at 100k
        monkeypatch.setattr("core.search.pg_backend.FEW_MATCHES", -1)
        monkeypatch.setattr("core.search.pg_backend.RECENT_WINDOW", 3)
    pg = PostgresBackend(empty_search_pg_url, rank_candidates=3)
    try:
        docs = [
            make_doc(i, text="facture de transport", created_at=datetime(2024, 1, i))
            for i in range(1, 11)
        ]
        docs[2].party_name = "Transports Martin"  # id 3: party (B)
        docs[4].company_name = "Transports Dupont"  # id 5: company (C)
        docs[6].party_name = "Transports Dubois"  # id 7: party (B), newer than 3
        docs.append(make_doc(11, text="sans rapport", created_at=datetime(2024, 2, 1)))
        pg.index(docs)
        # Short-field matches first, ranked (party B above company C), then the text-only
        # matches newest first; the pages follow each other.
        expected = [7, 3, 5, 10, 9, 8, 6, 4, 2, 1]
        assert ids(pg, q="transport", per_page=20) == expected
        pages = [ids(pg, q="transport", per_page=3, page=n) for n in (1, 2, 3, 4)]
        assert [i for p in pages for i in p] == expected
        # A word found in no recent document: every match read, then sorted.
        pg.index([make_doc(12, text="rarissime", created_at=datetime(2020, 1, 1))])
        assert ids(pg, q="rarissime") == [12]
    finally:
        pg.close()


@pytest.mark.parametrize("many", [False, True], ids=["few", "many"])
def test_date_sorted_reads_without_ranking(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch, many: bool
) -> None:
    if many:
        monkeypatch.setattr("core.search.pg_backend.FEW_MATCHES", -1)
        monkeypatch.setattr("core.search.pg_backend.RECENT_WINDOW", 2)
    pg.index(
        [
            make_doc(i, text="note de frais", date=date(2024, 1, 1 + (i * 7) % 12))
            for i in range(1, 13)
        ]
        + [make_doc(13, text="note de frais"), make_doc(14, text="autre chose")]
    )
    by_date = sorted(range(1, 13), key=lambda i: ((i * 7) % 12, i))
    result = pg.search(SearchQuery(firm_id=FIRM, q="frais", sort="date", per_page=5, page=3))
    assert [h.id for h in result.hits] == [*by_date[10:], 13]  # no date: last
    assert {h.score for h in result.hits} == {0.0}  # not ranked
    newest = [ids(pg, q="frais", sort="-date", per_page=4, page=n) for n in (1, 2, 3, 4)]
    assert [i for p in newest for i in p] == [*reversed(by_date), 13]


def test_highlights_are_made_for_the_page_only(pg: PostgresBackend) -> None:
    from sqlalchemy import event

    pg.index(make_doc(i, text=f"loyer commercial numéro {i}") for i in range(1, 26))
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "ts_headline" in statement:
            statements.append((statement, parameters))

    event.listen(pg.engine, "before_cursor_execute", capture)
    try:
        result = pg.search(SearchQuery(firm_id=FIRM, q="loyer", per_page=10, page=2))
    finally:
        event.remove(pg.engine, "before_cursor_execute", capture)
    page_ids = [h.id for h in result.hits]
    assert len(page_ids) == 10 and all(
        "<mark>loyer</mark>" in h.highlights["text"] for h in result.hits
    )
    assert len(statements) == 1
    assert sorted(statements[0][1]["page_ids"]) == sorted(page_ids)  # type: ignore[index]
