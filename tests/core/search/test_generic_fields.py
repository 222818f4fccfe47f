"""Generic searchable fields: a binder type declares them, the index knows nothing else.

A test plugin registers a binder type ``contracts`` with its own ``searchable``; its party,
identifiers, reference, date, amount and keywords are searched and filtered through the real
app, on the backend the suite runs with (whoosh in a temporary folder by default; PostgreSQL
with ``CLASSEUR_TEST_DATABASE_URL=... CLASSEUR_TEST_SEARCH_BACKEND=postgres``). An index of an
older layout is rebuilt at start.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.app import create_app
from core.binders.registry import BinderType
from core.binders.searchable import Searchable, searchable_labels
from core.db import db
from core.plugins import hookspecs
from tests.conftest import Auth, Factory

ROOT = Path(__file__).resolve().parents[3]


def contract_searchable(fields: dict[str, Any]) -> dict[str, Any]:
    """A contract: its counterparty, their identifiers, number, signature date, yearly fee."""
    if fields.get("explode"):
        raise RuntimeError("broken searchable")
    return {
        "party_name": fields.get("counterparty"),
        "party_ids": fields.get("counterparty_ids"),
        "reference": fields.get("contract_no"),
        "date": fields.get("signed_on"),
        "amount": fields.get("yearly_fee"),
        "keywords": fields.get("tags"),
    }


class ContractsPlugin:
    """A plugin contributing the binder type ``contracts``."""

    @hookspecs.hookimpl
    def register_binder_types(self, register: Callable[[BinderType], None]) -> None:
        register(
            BinderType(
                name="contracts",
                label="Contrats",
                plugin="contracts_test",
                searchable=contract_searchable,
                searchable_labels={
                    "party_name": "Cocontractant",
                    "reference": "N° de contrat",
                    "date": "Date de signature",
                    "amount": "Redevance annuelle",
                },
                search_aliases={"cocontractant": "party_name", "contrat": "reference"},
            )
        )


@pytest.fixture
def contracts_app(app_config: dict[str, Any]) -> Iterator[Any]:
    application = create_app({**app_config, "EXTRA_PLUGINS": [ContractsPlugin()]})
    yield application
    state = application.extensions["classeur"]
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


def _set_text(app: Any, documents: dict[str, Any], texts: dict[str, str]) -> None:
    from core.documents.models import Document

    with app.app_context():
        for key, text in texts.items():
            db.session.get(Document, documents[key].id).text = text
        db.session.commit()


@pytest.fixture
def corpus(contracts_app: Any) -> dict[str, Any]:
    from core.search.services import flush, index_documents

    factory = Factory(contracts_app)
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    contracts = factory.binder(company, "contracts", name="Contrats")
    purchases = factory.binder(company, "purchase_invoices", name="Achats")
    admin = factory.binder(company, "admin_documents", name="Administratif")
    docs = {
        "lease": factory.document(
            contracts,
            filename="bail.pdf",
            fields={
                "counterparty": "Foncière du Lac",
                "counterparty_ids": ["552 081 317", "FR03552081317"],
                "contract_no": "BAIL-2024-07",
                "signed_on": "2024-07-01",
                "yearly_fee": "18000.00",
                "tags": ["résiliation triennale"],
            },
        ),
        "insurance": factory.document(
            contracts,
            filename="assurance.pdf",
            fields={
                "counterparty": "Mutuelle Armorique",
                "counterparty_ids": "775 670 417",
                "contract_no": "MA-99",
                "signed_on": "2023-01-15",
                "yearly_fee": 1250,
            },
        ),
        "broken": factory.document(
            contracts, filename="illisible.pdf", fields={"explode": True, "contract_no": "X-1"}
        ),
        "invoice": factory.document(
            purchases,
            filename="edf.pdf",
            fields={
                "supplier": {
                    "name": "EDF Entreprises",
                    "siren": "552081317",
                    "vat_number": "FR03552081317",
                    "iban": "FR7630004000031234567890143",
                },
                "invoice_number": "FA-2024-00123",
                "invoice_date": "2024-03-05",
                "total_incl_tax": "1234.56",
            },
        ),
        "credit": factory.document(
            purchases,
            filename="avoir.pdf",
            fields={
                "document_kind": "credit_note",
                "supplier": {"name": "Orange"},
                "invoice_number": "AV-12",
                "invoice_date": "2024-04-01",
                "total_incl_tax": "-40.00",
            },
        ),
        "kbis": factory.document(admin, filename="kbis.pdf", fields={"anything": "Foncière"}),
    }
    _set_text(
        contracts_app,
        docs,
        {
            "lease": "Bail commercial du local de la rue du Port",
            "insurance": "Contrat multirisque professionnelle",
            "broken": "Contrat de maintenance du four",
            "invoice": "Facture d'électricité",
            "credit": "Avoir téléphone",
            "kbis": "Extrait Kbis du greffe",
        },
    )
    with contracts_app.app_context():
        index_documents([d.id for d in docs.values()])
        flush()
    user = factory.user(firm, "accountant")
    return {
        "docs": docs,
        "firm": firm,
        "user": user,
        "h": {"Authorization": f"Bearer {factory.token(user)}"},
    }


def search(client: Any, h: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/search", query_string=params, headers=h)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def ids(client: Any, h: dict[str, str], **params: Any) -> list[int]:
    return sorted(r["id"] for r in search(client, h, **params))


def test_searchable_of_cleans_what_a_binder_type_returns() -> None:
    got = Searchable.of(
        {
            "party_name": "  Foncière   du Lac ",
            "party_ids": "552 081 317",
            "reference": 42,
            "date": "2024-07-01T10:00:00",
            "amount": "1 234,50",
            "keywords": ["bail", "", None, "bail"],
        }
    )
    assert got == Searchable(
        party_name="Foncière du Lac",
        party_ids=("552 081 317",),
        reference="42",
        date=dt.date(2024, 7, 1),
        amount=Decimal("1234.50"),
        keywords=("bail",),
    )
    assert Searchable.of({"date": "hier", "amount": "beaucoup"}) == Searchable()
    assert Searchable.of({"amount": "NaN"}).amount is None
    assert Searchable.of(None) == Searchable()
    with pytest.raises(ValueError, match="supplier"):
        Searchable.of({"supplier": "EDF"})
    assert Searchable.of(got) == got
    assert got.as_json()["amount"] == "1234.50" and got.as_json()["date"] == "2024-07-01"


def test_labels_default_and_named_by_the_binder_type() -> None:
    defaults = searchable_labels(None)
    assert str(defaults["party_name"]) == "Tiers" and str(defaults["reference"]) == "Référence"
    contract = BinderType(name="c", label="C", searchable_labels={"party_name": "Bailleur"})
    labels = searchable_labels(contract)
    assert labels["party_name"] == "Bailleur" and str(labels["date"]) == "Date du document"


def test_custom_binder_type_fields_are_searchable(contracts_app: Any, corpus: dict[str, Any]):
    client, h, d = contracts_app.test_client(), corpus["h"], corpus["docs"]
    lease, insurance = d["lease"].id, d["insurance"].id
    assert ids(client, h, q="Foncière du Lac") == [lease]
    assert ids(client, h, q="fonciere") == sorted([lease])  # the kbis' fields are not indexed
    assert ids(client, h, q="BAIL-2024-07") == [lease]
    assert ids(client, h, q="bail-2024-07") == [lease]
    # An identifier, exactly, with or without its spaces; shared by the lease and the invoice.
    assert ids(client, h, q="552 081 317") == sorted([lease, d["invoice"].id])
    assert ids(client, h, q="552081317", binder_type="contracts") == [lease]
    assert ids(client, h, q="775670417") == [insurance]
    assert ids(client, h, q="résiliation") == [lease]  # keywords
    # The binder type's own query names, and the core's generic ones.
    assert ids(client, h, q="cocontractant:armorique") == [insurance]
    assert ids(client, h, q="contrat:MA-99") == [insurance]
    assert ids(client, h, q="tiers:armorique") == [insurance]
    assert ids(client, h, q="reference:ma-99") == [insurance]
    # An amount typed as the whole query.
    assert ids(client, h, q="18 000 €") == [lease]
    # A binder type whose searchable fails still has its text and file name searchable.
    assert ids(client, h, q="maintenance four") == [d["broken"].id]
    assert ids(client, h, q="X-1") == []

    [hit] = search(client, h, q="BAIL-2024-07")
    assert hit["binder_type"] == "contracts"
    assert hit["searchable"] == {
        "party_name": "Foncière du Lac",
        "party_ids": ["552 081 317", "FR03552081317"],
        "reference": "BAIL-2024-07",
        "date": "2024-07-01",
        "amount": "18000.00",
        "keywords": ["résiliation triennale"],
    }


def test_custom_binder_type_fields_filter_and_sort(contracts_app: Any, corpus: dict[str, Any]):
    client, h, d = contracts_app.test_client(), corpus["h"], corpus["docs"]
    lease, insurance = d["lease"].id, d["insurance"].id
    contracts = {"binder_type": "contracts"}
    assert ids(client, h, date_from="2024-01-01", **contracts) == [lease]
    assert ids(client, h, date_to="2023-12-31", **contracts) == [insurance]
    assert ids(client, h, amount_min="5000", **contracts) == [lease]
    assert ids(client, h, amount_max="1250,00", **contracts) == [insurance]
    dated = {**contracts, "date_from": "2000-01-01"}
    assert [r["id"] for r in search(client, h, sort="-amount", **dated)] == [lease, insurance]
    assert [r["id"] for r in search(client, h, sort="amount", **dated)] == [insurance, lease]
    assert [r["id"] for r in search(client, h, sort="date", **dated)] == [insurance, lease]
    assert [r["id"] for r in search(client, h, sort="-date", **dated)] == [lease, insurance]
    # Every binder type shares the same filters: the purchases' dates and amounts too.
    assert ids(client, h, date_from="2024-03-01", date_to="2024-12-31") == sorted(
        [lease, d["invoice"].id, d["credit"].id]
    )
    assert ids(client, h, amount_max="0") == [d["credit"].id]  # a credit note is negative


def test_purchase_invoices_declare_their_generic_fields(contracts_app, corpus):
    client, h, d = contracts_app.test_client(), corpus["h"], corpus["docs"]
    invoice, credit = d["invoice"].id, d["credit"].id
    assert ids(client, h, q="fournisseur:edf") == [invoice]
    assert ids(client, h, q="facture:FA-2024-00123") == [invoice]
    assert ids(client, h, q="tva:FR03552081317") == sorted([d["lease"].id, invoice])
    assert ids(client, h, q="FR76 3000 4000 0312 3456 7890 143") == [invoice]
    assert ids(client, h, q="avoir", binder_type="purchase_invoices") == [credit]
    [hit] = search(client, h, q="AV-12")
    assert hit["searchable"]["party_name"] == "Orange"
    assert hit["searchable"]["amount"] == "-40.00"
    assert hit["searchable"]["keywords"] == ["Avoir"]


def test_search_page_names_the_fields_as_the_binder_type_does(contracts_app, corpus):
    client = contracts_app.test_client()
    assert Auth(client).login(corpus["user"]).status_code == 302
    html = client.get("/search?binder_type=contracts&q=lac").get_data(as_text=True)
    assert "Date de signature du" in html and "Redevance annuelle min." in html
    assert "Redevance annuelle (décroissant)" in html
    assert "<dt>N° de contrat</dt>" in html and "BAIL-2024-07" in html
    assert "<dt>Cocontractant</dt>" in html
    assert "18\u202f000,00" in html and "01/07/2024" in html
    assert "Foncière du <mark>Lac</mark>" in html  # the party name highlighted
    html = client.get("/search?q=edf").get_data(as_text=True)
    assert "<dt>Fournisseur</dt>" in html and "<dt>N° de facture</dt>" in html
    assert "Montant min." in html  # no binder type chosen: the generic names
    html = client.get("/search?binder_type=purchase_invoices").get_data(as_text=True)
    assert "Date de facture (récentes)" in html and "Montant TTC max." in html


def test_dashboard_names_a_document_by_its_reference(contracts_app, corpus):
    from core.exports.models import ExportState, ExportStatus

    d = corpus["docs"]
    with contracts_app.app_context():
        for key in ("lease", "kbis"):
            db.session.add(
                ExportStatus(
                    document_id=d[key].id,
                    firm_id=corpus["firm"].id,
                    connector="archive",
                    state=ExportState.ERROR,
                    message="Refusé",
                )
            )
        db.session.commit()
    client = contracts_app.test_client()
    assert Auth(client).login(corpus["user"]).status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert ">BAIL-2024-07</a>" in html  # its reference
    assert ">kbis.pdf</a>" in html  # no reference: its file name
    # The checkbox "Erreur lors de l'export" keeps working with the generic index.
    h = corpus["h"]
    assert ids(client, h, export_error="1") == sorted([d["lease"].id, d["kbis"].id])
    assert ids(client, h, export_error="1", q="lac") == [d["lease"].id]


# --- an index of an older layout ---------------------------------------------------------


def _old_whoosh_index(index_dir: Path, firm_id: int) -> None:
    """An index as version whoosh-1 wrote it: invoice-shaped fields."""
    from whoosh import index
    from whoosh.fields import ID, NUMERIC, TEXT, Schema

    schema = Schema(
        id=NUMERIC(int, bits=64, signed=False, stored=True, unique=True, sortable=True),
        firm_id=ID(),
        supplier=TEXT(stored=True),
        invoice_number=ID(),
        text=TEXT(stored=True),
    )
    shard = index_dir / f"firm_{firm_id}"
    shard.mkdir(parents=True)
    writer = index.create_in(str(shard), schema).writer()
    writer.add_document(id=1, firm_id=str(firm_id), supplier="Ancien", text="ancien")
    writer.commit()
    (index_dir / "schema_version").write_text("whoosh-1\n")


def test_old_whoosh_index_is_rebuilt_at_start(contracts_app: Any, corpus: dict[str, Any]):
    if contracts_app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("the whoosh index layout")
    from core.search.services import rebuild_if_needed

    state = contracts_app.extensions["classeur"]
    state._search.close()
    state._search = None
    index_dir = Path(contracts_app.config["DATA_DIR"]) / "index"
    for child in index_dir.iterdir():
        if child.is_dir():
            import shutil

            shutil.rmtree(child)
    _old_whoosh_index(index_dir, corpus["firm"].id)

    # What ``classeur serve`` does at start.
    restarted = create_app({**contracts_app.config, "EXTRA_PLUGINS": [ContractsPlugin()]})
    try:
        with restarted.app_context():
            assert restarted.extensions["classeur"].search.needs_rebuild
            assert rebuild_if_needed() == len(corpus["docs"])
        client = restarted.test_client()
        h = corpus["h"]
        assert ids(client, h, q="cocontractant:lac") == [corpus["docs"]["lease"].id]
        assert ids(client, h, q="ancien") == []
        with restarted.app_context():
            assert rebuild_if_needed() is None  # current layout: nothing to do
    finally:
        restarted.extensions["classeur"].search.close()
        db.engine_for(restarted).dispose()


def test_db_upgrade_rebuilds_an_old_whoosh_index(contracts_app: Any, corpus: dict[str, Any]):
    """The command an upgrade runs: the old index is replaced by one of every document."""
    if contracts_app.config["SEARCH_BACKEND"] != "whoosh" or not contracts_app.config[
        "DATABASE_URL"
    ].startswith("sqlite"):
        pytest.skip("a SQLite data folder with a whoosh index")
    state = contracts_app.extensions["classeur"]
    state._search.close()
    state._search = None
    data_dir = Path(contracts_app.config["DATA_DIR"])
    import shutil

    shutil.rmtree(data_dir / "index")
    _old_whoosh_index(data_dir / "index", corpus["firm"].id)
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": str(data_dir),
        "CLASSEUR_DATABASE_URL": contracts_app.config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": contracts_app.config["SECRET_KEY"],
        "CLASSEUR_SEARCH_BACKEND": "whoosh",
    }
    result = subprocess.run(
        [sys.executable, "-m", "core", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The contracts plugin is not installed in that process: its documents are still indexed
    # by text and file name.
    assert f"search index rebuilt: {len(corpus['docs'])} documents" in result.stdout
    from core.search.whoosh_backend import SCHEMA_VERSION

    assert (data_dir / "index" / "schema_version").read_text().strip() == SCHEMA_VERSION
    client = contracts_app.test_client()
    h = corpus["h"]
    assert ids(client, h, q="ancien") == []
    assert ids(client, h, q="fournisseur:edf") == [corpus["docs"]["invoice"].id]
    assert ids(client, h, q="greffe") == [corpus["docs"]["kbis"].id]


@pytest.mark.postgres
def test_postgres_migration_empties_the_old_table_and_start_refills_it(tmp_path: Path) -> None:
    """0006 drops the invoice-shaped columns and the rows; the start refills the table."""
    import uuid

    from alembic import command
    from sqlalchemy import create_engine, text

    from core.migrate import alembic_config, upgrade
    from core.search.services import rebuild_if_needed

    from .conftest import PG_SERVER

    name = f"pgsearch_gen_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - depends on the machine
        admin.dispose()
        pytest.skip(f"PostgreSQL server not reachable: {exc}")
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    config = {
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": url,
        "SECRET_KEY": "x",
        "START_WORKERS": False,
        "SEARCH_BACKEND": "postgres",
        "EXTRA_PLUGINS": [ContractsPlugin()],
    }
    app = create_app(config)
    engine = create_engine(url)
    try:
        upgrade(app)
        factory = Factory(app)
        company = factory.company(factory.firm())
        binder = factory.binder(company, "contracts")
        lease = factory.document(
            binder, fields={"counterparty": "Foncière du Lac", "contract_no": "BAIL-1"}
        )
        # The database as 0005 left it, with a row of the old layout.
        command.downgrade(alembic_config(app), "0006_search_generic-1")
        with engine.begin() as conn:
            old = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
            assert "0005_plugin_activation" in old
            conn.execute(
                text(
                    "INSERT INTO search_documents (id, firm_id, company_id, company_name, "
                    "binder_id, binder_name, binder_type, state, filename, supplier, "
                    "invoice_number, created_at, indexed_at, text, tsv) VALUES (:id, 1, 1, 'c', "
                    "1, 'b', 'contracts', 'to_review', 'f.pdf', 'Ancien', 'OLD-1', now(), "
                    "now(), 'ancien', to_tsvector('ancien'))"
                ),
                {"id": lease.id},
            )
        upgrade(app)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM search_documents")).scalar() == 0
            columns = set(
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'search_documents'"
                    )
                ).scalars()
            )
        assert {"party_name", "party_ids", "reference", "date", "keywords"} <= columns
        assert not {"supplier", "invoice_number", "siren", "vat_number"} & columns
        # What ``classeur serve`` (and ``classeur db upgrade``) do at start.
        with app.app_context():
            assert app.extensions["classeur"].search.needs_rebuild
            assert rebuild_if_needed() == 1
            from core.search.backend import SearchQuery
            from core.search.services import search as run

            firm_id = company.firm_id
            hits = run(SearchQuery(firm_id=firm_id, q="contrat:BAIL-1")).hits
            assert [h.id for h in hits] == [lease.id]
            assert run(SearchQuery(firm_id=firm_id, q="ancien")).hits == []
    finally:
        state = app.extensions["classeur"]
        if state._search is not None:
            state._search.close()
        db.engine_for(app).dispose()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
