"""The search backends, on real indexes: every test using the ``backend`` fixture runs on the
whoosh backend (index in a temporary directory) and on the PostgreSQL backend (a migrated
database of the local server; skipped with the reason if the server is unreachable)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.search.backend import IndexedDocument, SearchBackend, SearchQuery
from core.search.whoosh_backend import SCHEMA_VERSION, VERSION_FILE, WhooshBackend

FIRM, OTHER_FIRM = 1, 2


def make_doc(doc_id: int, **overrides: object) -> IndexedDocument:
    """A document of firm 1, company 10, binder 100, unless overridden."""
    values: dict[str, object] = {
        "id": doc_id,
        "firm_id": FIRM,
        "company_id": 10,
        "company_name": "Boulangerie Martin",
        "binder_id": 100,
        "binder_name": "Classeur principal",
        "binder_type": "purchase_invoices",
        "state": "to_review",
        "filename": f"scan_{doc_id}.pdf",
        "text": "Document sans intérêt particulier.",
        "party_name": None,
        "party_ids": (),
        "reference": None,
        "date": None,
        "amount": None,
        "keywords": (),
        "created_at": datetime(2024, 3, 1, 9, doc_id % 60),
    }
    values.update(overrides)
    return IndexedDocument(**values)  # type: ignore[arg-type]


class DatabaseTextWhoosh(WhooshBackend):
    """A whoosh backend whose ``text_source`` stands for the database: the texts of the
    documents indexed so far (the index does not store them)."""

    def __init__(self, index_dir: Path, **kwargs: object) -> None:
        self.texts: dict[int, str] = {}
        super().__init__(index_dir, text_source=self.read_texts, **kwargs)  # type: ignore[arg-type]

    def read_texts(self, firm_id: int, ids: list[int]) -> dict[int, str]:
        return {i: self.texts[i] for i in ids if i in self.texts}

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        docs = list(docs)
        self.texts.update((d.id, d.text) for d in docs)
        super().index(docs)


@pytest.fixture(params=["whoosh", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    b: SearchBackend
    if request.param == "postgres":
        from core.search.pg_backend import PostgresBackend

        b = PostgresBackend(request.getfixturevalue("empty_search_pg_url"))
    else:
        b = DatabaseTextWhoosh(tmp_path / "index", commit_interval=0.05)
    yield b
    b.close()


def ids(backend: SearchBackend, **kwargs: object) -> list[int]:
    kwargs.setdefault("firm_id", FIRM)
    return [hit.id for hit in backend.search(SearchQuery(**kwargs)).hits]  # type: ignore[arg-type]


def test_french_stemming_and_accents(backend: SearchBackend) -> None:
    backend.index(
        [
            make_doc(1, text="Facture d'électricité du mois de mars"),
            make_doc(2, text="Relevé bancaire de la Société Générale"),
        ]
    )
    backend.flush()
    assert ids(backend, q="factures") == [1]
    assert ids(backend, q="electricite") == [1]
    assert ids(backend, q="ÉLECTRICITÉ facture") == [1]
    assert ids(backend, q="releves bancaires") == [2]
    assert ids(backend, q="societe generale") == [2]
    # Stop words do not become required terms.
    assert ids(backend, q="facture de la électricité") == [1]


def test_identifiers_and_amount_are_searchable(backend: SearchBackend) -> None:
    backend.index(
        [
            make_doc(
                1,
                party_name="EDF Entreprises",
                reference="FA-2024-00123",
                party_ids=("552 081 317", "FR03552081317", "FR76 3000 4000 0312 3456 7890 143"),
                amount=Decimal("1234.56"),
                keywords=("Avoir",),
            ),
            make_doc(2, party_name="Orange", reference="FA-2024-00124", amount=Decimal("12")),
        ]
    )
    backend.flush()
    assert ids(backend, q="FA-2024-00123") == [1]
    assert ids(backend, q="fa-2024-00124") == [2]
    assert ids(backend, q="552081317") == [1]
    assert ids(backend, q="552 081 317") == [1]
    assert ids(backend, q="FR03552081317") == [1]
    assert ids(backend, q="1 234,56 €") == [1]
    assert ids(backend, q="1234.56") == [1]
    assert ids(backend, q="FR7630004000031234567890143") == [1]
    assert ids(backend, q="FR76 3000 4000 0312 3456 7890 143") == [1]
    assert ids(backend, q="edf") == [1]
    assert ids(backend, q="avoirs") == [1]  # keywords are words (stemmed)
    assert ids(backend, q="tiers:orange") == [2]
    assert ids(backend, q="reference:fa-2024-00124") == [2]
    assert ids(backend, q="identifiant:552081317") == [1]
    # A binder type's own names for the generic fields.
    aliases = {"fournisseur": "party_name", "tva": "party_ids", "facture": "reference"}
    assert ids(backend, q="fournisseur:orange", aliases=aliases) == [2]
    assert ids(backend, q="tva:FR03552081317", aliases=aliases) == [1]
    assert ids(backend, q="facture:FA-2024-00123", aliases=aliases) == [1]


def test_filters(backend: SearchBackend) -> None:
    backend.index(
        [
            make_doc(1, text="loyer", company_id=10, date=date(2024, 1, 15)),
            make_doc(2, text="loyer", company_id=11, binder_id=101, amount=Decimal("50.00")),
            make_doc(3, text="loyer", binder_type="bank_statements", state="validated"),
            make_doc(4, text="loyer", date=date(2024, 3, 1), amount=Decimal("900.10")),
        ]
    )
    backend.flush()
    assert sorted(ids(backend, q="loyer")) == [1, 2, 3, 4]
    assert sorted(ids(backend, q="loyer", company_ids=frozenset({11}))) == [2]
    assert sorted(ids(backend, q="loyer", company_ids=frozenset({10}))) == [1, 3, 4]
    assert ids(backend, q="loyer", company_ids=frozenset()) == []
    assert ids(backend, q="loyer", binder_id=101) == [2]
    assert ids(backend, q="loyer", binder_type="bank_statements") == [3]
    assert ids(backend, q="loyer", state="validated") == [3]
    assert ids(backend, q="loyer", date_from=date(2024, 2, 1)) == [4]
    assert ids(backend, q="loyer", date_to=date(2024, 2, 1)) == [1]
    assert ids(backend, q="loyer", amount_min=Decimal("100")) == [4]
    assert ids(backend, q="loyer", amount_max=Decimal("50.00")) == [2]
    assert sorted(ids(backend, company_ids=frozenset({10}), binder_type="purchase_invoices")) == [
        1,
        4,
    ]
    # The same filter twice (served from the per-searcher cache) gives the same answer.
    assert ids(backend, q="loyer", binder_id=101) == [2]


def test_sorting_and_pagination(backend: SearchBackend) -> None:
    backend.index(
        make_doc(
            i,
            text="facture téléphone",
            amount=Decimal(100 - i),
            date=date(2024, 1, 1 + i),
            created_at=datetime(2024, 5, 1, 10, i),
        )
        for i in range(1, 26)
    )
    backend.flush()
    assert ids(backend, q="telephone", sort="date", per_page=5) == [1, 2, 3, 4, 5]
    assert ids(backend, q="telephone", sort="-date", per_page=3) == [25, 24, 23]
    assert ids(backend, q="telephone", sort="amount", per_page=3) == [25, 24, 23]
    assert ids(backend, q="telephone", sort="-amount", per_page=3) == [1, 2, 3]
    assert ids(backend, q="telephone", sort="created", per_page=2, page=2) == [3, 4]
    # No words: newest first.
    assert ids(backend, per_page=2) == [25, 24]
    result = backend.search(
        SearchQuery(firm_id=FIRM, q="telephone", sort="date", per_page=10, page=3)
    )
    assert [h.id for h in result.hits] == [21, 22, 23, 24, 25]
    assert result.total == 25 and result.total_is_exact
    assert (result.page, result.per_page) == (3, 10)
    relevance_pages = [
        h.id
        for page in (1, 2, 3)
        for h in backend.search(
            SearchQuery(firm_id=FIRM, q="telephone", per_page=10, page=page)
        ).hits
    ]
    assert sorted(relevance_pages) == list(range(1, 26))
    assert ids(backend, q="telephone", per_page=10, page=4) == []
    with pytest.raises(ValueError):
        backend.search(SearchQuery(firm_id=FIRM, q="x", sort="name"))


def test_highlights_are_escaped_and_marked(backend: SearchBackend) -> None:
    backend.index(
        [
            make_doc(
                1,
                text="Client <script>alert(1)</script> : facture d'électricité n° 42",
                party_name="EDF & Cie",
                filename="facture_edf.pdf",
            )
        ]
    )
    backend.flush()
    hit = backend.search(SearchQuery(firm_id=FIRM, q="electricite edf")).hits[0]
    assert "<mark>électricité</mark>" in hit.highlights["text"]
    assert "<script>" not in hit.highlights["text"]
    assert "&lt;/script&gt;" in hit.highlights["text"]
    assert hit.highlights["party_name"] == "<mark>EDF</mark> &amp; Cie"
    assert "<mark>edf</mark>" in hit.highlights["filename"]
    assert hit.score > 0


def test_tenancy_other_firm_never_returned(backend: SearchBackend) -> None:
    backend.index(
        [
            make_doc(1, text="facture secrète", company_id=10),
            make_doc(2, text="facture secrète", firm_id=OTHER_FIRM, company_id=10),
            make_doc(3, text="facture secrète", firm_id=OTHER_FIRM, company_id=20),
        ]
    )
    backend.flush()
    assert ids(backend, q="facture") == [1]
    assert ids(backend) == [1]
    assert ids(backend, q="*") == [1]
    # Naming the other firm's company or ids does not cross the boundary.
    assert ids(backend, q="facture", company_ids=frozenset({20})) == []
    assert ids(backend, q="facture", restrict_ids=frozenset({2, 3})) == []
    assert ids(backend, q="firm_id:2 OR facture") == [1]
    assert sorted(ids(backend, firm_id=OTHER_FIRM, q="facture")) == [2, 3]
    assert ids(backend, firm_id=3, q="facture") == []
    assert backend.document_count(FIRM) == 1
    assert backend.document_count(OTHER_FIRM) == 2
    assert backend.document_count() == 3


def test_tenancy_in_single_index_mode(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path / "single", per_firm=False)
    try:
        backend.index(
            [
                make_doc(1, text="facture"),
                make_doc(2, text="facture", firm_id=OTHER_FIRM),
                make_doc(3, text="facture", firm_id=OTHER_FIRM, company_id=11),
            ]
        )
        backend.flush()
        assert ids(backend, q="facture") == [1]
        assert ids(backend) == [1]
        assert ids(backend, firm_id=OTHER_FIRM, q="facture", company_ids=frozenset({11})) == [3]
        assert backend.document_count(OTHER_FIRM) == 2
    finally:
        backend.close()


def test_restrict_ids(backend: SearchBackend) -> None:
    backend.index(
        make_doc(i, text="avoir fournisseur", company_id=10 + i % 2) for i in range(1, 11)
    )
    backend.flush()
    assert sorted(ids(backend, q="avoir", restrict_ids=frozenset({2, 5, 99}))) == [2, 5]
    assert sorted(ids(backend, restrict_ids=frozenset({2, 5}))) == [2, 5]
    assert ids(backend, q="avoir", restrict_ids=frozenset()) == []
    assert sorted(
        ids(backend, q="avoir", restrict_ids=frozenset({2, 5}), company_ids=frozenset({11}))
    ) == [5]
    backend.delete([5], FIRM)
    backend.flush()
    assert ids(backend, q="avoir", restrict_ids=frozenset({2, 5})) == [2]


@pytest.mark.parametrize(
    "text",
    [
        '"facture',
        "facture AND",
        "(((",
        ")",
        "fournisseur:",
        "[",
        "party_ids:[1 TO",
        "amount:[x TO y]",
        "date:abc",
        "facture ~~ ^^ {",
        "NOT",
        "*?*",
    ],
)
def test_bad_syntax_never_raises(backend: SearchBackend, text: str) -> None:
    backend.index([make_doc(1, text="facture fournisseur")])
    backend.flush()
    result = backend.search(SearchQuery(firm_id=FIRM, q=text))
    assert result.total == len(result.hits)
    if text in ('"facture', "facture AND", "facture ~~ ^^ {"):
        assert [h.id for h in result.hits] == [1]
    if text in ("(((", ")", "[", "NOT"):
        assert result.hits == []  # nothing to look for is not "everything"


def test_schema_version_change_recreates_index(tmp_path: Path) -> None:
    path = tmp_path / "index"
    first = WhooshBackend(path)
    assert first.needs_rebuild  # new, empty index
    first.index([make_doc(1, text="facture")])
    first.close()

    reopened = WhooshBackend(path)
    assert not reopened.needs_rebuild
    assert reopened.document_count() == 1
    reopened.close()

    (path / VERSION_FILE).write_text("whoosh-0\n")
    upgraded = WhooshBackend(path)
    try:
        assert upgraded.needs_rebuild
        assert upgraded.document_count() == 0
        assert (path / VERSION_FILE).read_text().strip() == SCHEMA_VERSION
        upgraded.rebuild([[make_doc(1, text="facture")]])
        assert not upgraded.needs_rebuild
        assert ids(upgraded, q="facture") == [1]
    finally:
        upgraded.close()


def test_concurrent_index_from_many_threads(backend: SearchBackend) -> None:
    errors: list[BaseException] = []

    def work(thread_no: int) -> None:
        try:
            for n in range(50):
                doc_id = thread_no * 1000 + n
                backend.index([make_doc(doc_id, text=f"lot{thread_no} pièce comptable")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    backend.flush(timeout=60)
    assert errors == []
    assert backend.document_count(FIRM) == 400
    result = backend.search(SearchQuery(firm_id=FIRM, q="piece comptable", per_page=500))
    assert len({h.id for h in result.hits}) == 400
    assert len(ids(backend, q="lot7", per_page=100)) == 50


def test_reindex_replaces_and_delete_removes(backend: SearchBackend) -> None:
    backend.index([make_doc(1, text="ancien texte"), make_doc(2, text="autre")])
    backend.flush()
    backend.index([make_doc(1, text="nouveau texte")])
    backend.delete([2, 404], FIRM)
    backend.flush()
    assert ids(backend, q="nouveau") == [1]
    assert ids(backend, q="ancien") == []
    assert ids(backend, q="autre") == []
    assert backend.document_count(FIRM) == 1


def test_rebuild_from_chunks(backend: SearchBackend) -> None:
    backend.index([make_doc(1, text="périmé"), make_doc(7, text="périmé", firm_id=OTHER_FIRM)])
    backend.flush()
    chunks = [
        [make_doc(i, text=f"facture numéro {i}") for i in range(10, 15)],
        [make_doc(i, text=f"facture numéro {i}") for i in range(15, 20)],
    ]
    seen: list[int] = []
    backend.rebuild(chunks, firm_ids=[FIRM], progress=seen.append)
    assert seen == [5, 10]
    assert ids(backend, q="perime") == []
    assert len(ids(backend, q="facture", per_page=50)) == 10
    # Another firm is untouched by a per-firm rebuild.
    assert ids(backend, firm_id=OTHER_FIRM, q="perime") == [7]
    # A full rebuild replaces every firm, including firms without documents any more.
    backend.rebuild([[make_doc(30, text="facture")]])
    assert ids(backend, q="facture") == [30]
    assert ids(backend, firm_id=OTHER_FIRM, q="perime") == []
    assert backend.document_count() == 1
    with pytest.raises(ValueError):
        backend.rebuild([[make_doc(31, firm_id=OTHER_FIRM)]], firm_ids=[FIRM])
    assert ids(backend, q="facture") == [30]


def test_writes_during_rebuild_are_kept(backend: SearchBackend) -> None:
    def chunks() -> Iterator[list[IndexedDocument]]:
        yield [make_doc(1, text="facture")]
        # A document stored while the rebuild reads the database.
        backend.index([make_doc(2, text="facture tardive")])
        backend.flush()
        yield [make_doc(3, text="facture")]

    backend.rebuild(chunks())
    assert sorted(ids(backend, q="facture")) == [1, 2, 3]
