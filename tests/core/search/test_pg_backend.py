"""What only the PostgreSQL backend has: its table, weights, query translation, shared index.

The behaviour shared with whoosh (stemming, filters, sorts, tenancy...) is tested on both
backends in ``test_whoosh_backend.py``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
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
