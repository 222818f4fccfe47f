"""`GET /api/v1/search` and the page "Rechercher": filters, the export-error checkbox taken
from the database, scoping, and clear errors for bad parameters."""

from __future__ import annotations

import pytest


@pytest.fixture
def corpus(app, factory):
    from core.db import db
    from core.exports.models import ExportState, ExportStatus
    from core.search.services import flush, index_documents

    firm = factory.firm()
    c1 = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    c2 = factory.company(firm, name="Garage Dupont", code="DEMO02")
    b1 = factory.binder(c1, "purchase_invoices", name="Achats")
    b2 = factory.binder(c2, "admin_documents", name="Administratif")
    docs = {
        "edf": factory.document(b1, filename="edf.pdf", state="validated"),
        "orange": factory.document(b1, filename="orange.pdf", state="validated"),
        "kbis": factory.document(b2, filename="kbis.pdf", state="to_review"),
    }
    texts = {
        "edf": "Facture électricité EDF contrat professionnel",
        "orange": "Facture téléphone Orange fibre professionnel",
        "kbis": "Extrait Kbis du greffe professionnel",
    }
    from core.documents.models import Document

    with app.app_context():
        for key, d in docs.items():
            db.session.get(Document, d.id).text = texts[key]
        db.session.add(
            ExportStatus(
                document_id=docs["orange"].id,
                firm_id=firm.id,
                connector="meg_export",
                state=ExportState.ERROR,
                message="Code TVA inconnu",
            )
        )
        db.session.add(
            ExportStatus(
                document_id=docs["edf"].id,
                firm_id=firm.id,
                connector="meg_export",
                state=ExportState.EXPORTED,
            )
        )
        db.session.commit()
        index_documents([d.id for d in docs.values()])
        flush()
    user = factory.user(firm, "accountant")
    uploader = factory.user(firm, "uploader", companies=[c2])
    return {
        "docs": docs,
        "c1": c1,
        "c2": c2,
        "b1": b1,
        "h": {"Authorization": f"Bearer {factory.token(user)}"},
        "hu": {"Authorization": f"Bearer {factory.token(uploader)}"},
        "user": user,
    }


def ids(client, h, **params):
    response = client.get("/api/v1/search", query_string=params, headers=h)
    assert response.status_code == 200, response.get_json()
    return sorted(r["id"] for r in response.get_json()["results"])


def test_filters_and_checkbox(client, corpus):
    d, h = corpus["docs"], corpus["h"]
    assert ids(client, h, q="professionnel") == sorted(x.id for x in d.values())
    assert ids(client, h, q="electricite") == [d["edf"].id]  # accents folded
    assert ids(client, h, q="factures") == sorted([d["edf"].id, d["orange"].id])  # stemming
    assert ids(client, h, q="professionnel", company=corpus["c2"].id) == [d["kbis"].id]
    assert ids(client, h, q="professionnel", binder_type="purchase_invoices") == sorted(
        [d["edf"].id, d["orange"].id]
    )
    assert ids(client, h, q="professionnel", state="to_review") == [d["kbis"].id]
    # The export state comes from the database, intersected with the index hits.
    assert ids(client, h, q="professionnel", export_error="true") == [d["orange"].id]
    assert ids(client, h, export_error="1") == [d["orange"].id]
    assert ids(client, h, q="edf", export_error="1") == []


def test_uploader_sees_only_its_company(client, corpus):
    d = corpus["docs"]
    assert ids(client, corpus["hu"], q="professionnel") == [d["kbis"].id]
    refused = client.get(
        "/api/v1/search", query_string={"company": corpus["c1"].id}, headers=corpus["hu"]
    )
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "company"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("date_from", "31/02/2026"),
        ("amount_min", "beaucoup"),
        ("sort", "hasard"),
        ("state", "perdu"),
        ("per_page", "1000"),
        ("page", "0"),
        ("binder_type", "nope"),
    ],
)
def test_bad_parameters_get_clear_errors(client, corpus, param, value):
    response = client.get("/api/v1/search", query_string={param: value}, headers=corpus["h"])
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == param


def test_search_page_with_checkbox_lists_error_documents(client, corpus, auth):
    auth.login(corpus["user"])
    html = client.get("/search?q=&export_error=1").get_data(as_text=True)
    assert "orange.pdf" in html and "edf.pdf" not in html
    html = client.get("/search?q=greffe").get_data(as_text=True)
    assert "kbis.pdf" in html and "<mark>" in html
    dashboard = client.get("/").get_data(as_text=True)
    assert "Documents en erreur" in dashboard and "Code TVA inconnu" in dashboard
    assert "DEMO01" in dashboard


def test_reindexing_in_the_same_batch_never_duplicates_a_hit(app, client, corpus):
    from core.search.services import flush, index_documents

    d = corpus["docs"]
    with app.app_context():
        for _ in range(3):
            index_documents([d["edf"].id])
        flush()
    assert ids(client, corpus["h"], q="electricite") == [d["edf"].id]


def test_a_get_request_may_declare_a_write(app, factory):
    """db.begin_write() in a read-only request ends the read transaction and the next one
    takes SQLite's write lock (the chart of accounts is seeded on a page's first visit)."""
    from sqlalchemy import text

    from core.db import _read_only_request, db

    with app.test_request_context("/", method="GET"):
        assert _read_only_request()
        db.session.execute(text("SELECT 1"))
        assert db.session.in_transaction()
        db.begin_write()
        assert not db.session.in_transaction()
        assert not _read_only_request()
    with app.test_request_context("/", method="POST"):
        assert not _read_only_request()
