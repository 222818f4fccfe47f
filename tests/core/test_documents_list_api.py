"""GET /api/v1/documents (filters, sorts, cursor pagination, scoping, O(page) queries) and
GET /api/v1/exports, and both in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event

from core.db import db
from core.documents.models import Document
from core.exports.models import ExportStatus
from tests.conftest import Factory


def _invoice(supplier: str, day: str, total: str, number: str = "F-1") -> dict[str, Any]:
    return {
        "supplier": {"name": supplier},
        "invoice_number": number,
        "invoice_date": day,
        "total_incl_tax": total,
    }


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    c2 = factory.company(f, name="Garage Durand", code="GD02")
    other = factory.firm("Cabinet Voisin")
    oc = factory.company(other, name="Voisin SARL", code="VO01")
    return {
        "firm": f,
        "c1": c1,
        "c2": c2,
        "p1": factory.binder(c1, name="Factures d'achat"),
        "p2": factory.binder(c2, name="Factures d'achat"),
        "o1": factory.binder(c1, "other", name="Divers"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
        "other_binder": factory.binder(oc, name="Factures d'achat"),
        "other_admin": factory.user(other, "admin"),
    }


@pytest.fixture
def docs(app: Any, factory: Factory, firm: dict[str, Any]) -> dict[str, Any]:
    out = {
        "edf": factory.document(
            firm["p1"], fields=_invoice("Électricité de France", "2026-10-15", "1250.00")
        ),
        "orange": factory.document(
            firm["p1"], state="validated", fields=_invoice("Orange", "2026-09-01", "39.99")
        ),
        "societe": factory.document(
            firm["p2"], fields=_invoice("Société Générale", "2026-11-20", "-10.50")
        ),
        "nodate": factory.document(firm["o1"], filename="a-note.pdf"),
        "trashed": factory.document(
            firm["p1"], state="trashed", fields=_invoice("Orange", "2026-08-01", "5")
        ),
        "foreign": factory.document(
            firm["other_binder"], fields=_invoice("Orange", "2026-10-01", "12")
        ),
    }
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=out["orange"].id,
                firm_id=out["orange"].firm_id,
                connector="meg_export",
                state="error",
                message="Compte fournisseur inconnu",
                code="account",
                field="supplier",
                remote_id=None,
            )
        )
        db.session.add(
            ExportStatus(
                document_id=out["foreign"].id,
                firm_id=out["foreign"].firm_id,
                connector="meg_export",
                state="error",
                message="secret",
            )
        )
        db.session.commit()
    return out


def _get(client: Any, token: str, url: str, **params: Any) -> Any:
    return client.get(url, query_string=params, headers={"Authorization": f"Bearer {token}"})


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json
    return [d["id"] for d in response.json["documents"]]


def test_list_columns_follow_the_fields(app, docs):
    with app.app_context():
        edf = db.session.get(Document, docs["edf"].id)
        assert edf.field_date == dt.date(2026, 10, 15)
        assert edf.field_amount_cents == 125000
        assert edf.field_party == "electricite de france"
        from core.documents.services import update_fields

        update_fields(edf, {"total_incl_tax": "99.90"}, None)
        db.session.commit()
        assert db.session.get(Document, edf.id).field_amount_cents == 9990


def test_default_list_scoped_without_trash_and_archive(app, client, factory, firm, docs):
    token = factory.token(firm["accountant"])
    ids = _ids(_get(client, token, "/api/v1/documents"))
    # Newest first; another firm's and the trashed document left out.
    assert ids == [docs[k].id for k in ("nodate", "societe", "orange", "edf")]
    item = _get(client, token, "/api/v1/documents", sort="date").json["documents"][0]
    assert item["id"] == docs["orange"].id
    assert item["binder_type"] == "purchase_invoices"
    assert item["date"] == "2026-09-01"
    assert item["amount"] == "39.99"
    assert item["summary"]["supplier"] == "Orange"
    assert item["fields"]["supplier"] == {"name": "Orange"}
    assert item["state"] == "validated" and item["archived_at"] is None
    assert item["exports"][0]["message"] == "Compte fournisseur inconnu"
    assert "checks" not in item and "text" not in item
    # An uploader sees its company only.
    uploader = factory.token(firm["uploader"])
    assert _ids(_get(client, uploader, "/api/v1/documents")) == [
        docs[k].id for k in ("nodate", "orange", "edf")
    ]
    # The other firm sees only its own.
    other = factory.token(firm["other_admin"])
    assert _ids(_get(client, other, "/api/v1/documents")) == [docs["foreign"].id]
    assert _ids(_get(client, other, "/api/v1/documents", company_id=firm["c1"].id)) == []


def test_filters(app, client, factory, firm, docs):
    token = factory.token(firm["accountant"])
    url = "/api/v1/documents"
    assert _ids(_get(client, token, url, company_id=firm["c2"].id)) == [docs["societe"].id]
    assert _ids(_get(client, token, url, binder_id=firm["o1"].id)) == [docs["nodate"].id]
    assert _ids(_get(client, token, url, binder_type="other")) == [docs["nodate"].id]
    assert _ids(_get(client, token, url, state="validated")) == [docs["orange"].id]
    assert set(_ids(_get(client, token, url, state=["validated", "trashed"]))) == {
        docs["orange"].id,
        docs["trashed"].id,
    }
    assert _ids(_get(client, token, url, export_state="error")) == [docs["orange"].id]
    assert _ids(_get(client, token, url, connector="meg_export")) == [docs["orange"].id]
    assert _ids(_get(client, token, url, connector="meg_export", export_state="exported")) == []
    assert _ids(
        _get(client, token, url, date_from="2026-10-01", date_to="2026-11-20", sort="date")
    ) == [docs["edf"].id, docs["societe"].id]
    # The party: a substring, accents and case ignored.
    assert _ids(_get(client, token, url, supplier="electricite")) == [docs["edf"].id]
    assert _ids(_get(client, token, url, party="SOCIÉTÉ gén")) == [docs["societe"].id]
    assert _ids(_get(client, token, url, party="%")) == []
    today = dt.date.today()
    assert len(_ids(_get(client, token, url, created_from=today.isoformat()))) == 4
    assert (
        _ids(_get(client, token, url, created_to=(today - dt.timedelta(days=2)).isoformat())) == []
    )
    # Archive: out by default, there on request.
    with app.app_context():
        from core.documents.services import archive_document

        archive_document(db.session.get(Document, docs["orange"].id), None)
    assert docs["orange"].id not in _ids(_get(client, token, url))
    assert _ids(_get(client, token, url, archived="true")) == [docs["orange"].id]
    assert len(_ids(_get(client, token, url, archived="all"))) == 4
    # Bad input: a clear refusal.
    assert _get(client, token, url, state="nope").status_code == 422
    assert _get(client, token, url, limit=500).status_code == 422
    assert _get(client, token, url, sort="size").status_code == 422
    response = _get(client, token, url, cursor="garbage")
    assert response.status_code == 400
    assert "Curseur invalide" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("amount", ["societe", "orange", "edf", "nodate"]),
        ("-amount", ["edf", "orange", "societe", "nodate"]),
        ("date:asc", ["orange", "edf", "societe", "nodate"]),
        ("-date", ["societe", "edf", "orange", "nodate"]),
        ("filename", ["nodate", "edf", "orange", "societe"]),
        ("created_at", ["edf", "orange", "societe", "nodate"]),
    ],
)
def test_sorts_and_cursor_pages(app, client, factory, firm, docs, sort, expected):
    token = factory.token(firm["accountant"])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        response = _get(client, token, "/api/v1/documents", **params)
        seen += _ids(response)
        cursor = response.json["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 10
    if sort == "filename":  # same names: ties by id
        assert seen[0] == docs["nodate"].id
        assert seen[1:] == sorted(seen[1:])
    else:
        assert seen == [docs[k].id for k in expected]
    # A cursor is only valid for its own sort.
    first = _get(client, token, "/api/v1/documents", sort=sort, limit=1).json["next_cursor"]
    other_sort = "state" if sort != "state" else "amount"
    assert (
        _get(client, token, "/api/v1/documents", sort=other_sort, cursor=first).status_code == 400
    )


def test_list_queries_do_not_grow_with_the_page(app, client, factory, firm):
    token = factory.token(firm["accountant"])
    for n in range(3):
        factory.document(firm["p1"], fields=_invoice(f"Fournisseur {n}", "2026-10-01", "10"))

    def count(limit: int) -> int:
        statements: list[str] = []

        def before(conn, cursor, statement, *args):  # noqa: ANN001
            statements.append(statement)

        engine = db.engine_for(app)
        event.listen(engine, "before_cursor_execute", before)
        try:
            assert len(_ids(_get(client, token, "/api/v1/documents", limit=limit))) == limit
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(statements)

    small = count(1)
    for n in range(6):
        factory.document(firm["p1"], fields=_invoice(f"Autre {n}", "2026-10-01", "10"))
    assert count(9) == small


def test_exports_list(app, client, factory, firm, docs):
    token = factory.token(firm["accountant"])
    response = _get(client, token, "/api/v1/exports")
    assert response.status_code == 200, response.json
    (item,) = response.json["exports"]
    assert item["document_id"] == docs["orange"].id
    assert item["filename"] == "facture.pdf"
    assert item["company_id"] == firm["c1"].id
    assert item["company"] == "Boulangerie Martin"
    assert item["connector"] == "meg_export"
    assert item["state"] == "error"
    assert item["message"] == "Compte fournisseur inconnu"
    assert (item["code"], item["field"]) == ("account", "supplier")
    assert item["attempts"] == 0 and item["remote_id"] is None and item["updated_at"]
    assert response.json["next_cursor"] is None
    url = "/api/v1/exports"
    assert len(_get(client, token, url, state="error").json["exports"]) == 1
    assert _get(client, token, url, state="exported").json["exports"] == []
    assert _get(client, token, url, connector="fec_export").json["exports"] == []
    assert _get(client, token, url, company_id=firm["c2"].id).json["exports"] == []
    assert len(_get(client, token, url, document_id=docs["orange"].id).json["exports"]) == 1
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert _get(client, token, url, since=tomorrow).json["exports"] == []
    assert len(_get(client, token, url, until=tomorrow).json["exports"]) == 1
    # The other firm's statuses are its own.
    other = factory.token(firm["other_admin"])
    (foreign,) = _get(client, other, url).json["exports"]
    assert foreign["document_id"] == docs["foreign"].id
    assert _get(client, other, url, document_id=docs["orange"].id).json["exports"] == []
    # An uploader sees the statuses of its companies only.
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=docs["societe"].id,
                firm_id=docs["societe"].firm_id,
                connector="meg_export",
                state="exported",
                remote_id="R-42",
            )
        )
        db.session.commit()
    uploader = factory.token(firm["uploader"])
    assert [e["document_id"] for e in _get(client, uploader, url).json["exports"]] == [
        docs["orange"].id
    ]
    # Cursor pages.
    first = _get(client, token, url, limit=1).json
    assert len(first["exports"]) == 1 and first["next_cursor"]
    second = _get(client, token, url, limit=1, cursor=first["next_cursor"]).json
    assert len(second["exports"]) == 1 and second["next_cursor"] is None
    assert {first["exports"][0]["document_id"], second["exports"][0]["document_id"]} == {
        docs["orange"].id,
        docs["societe"].id,
    }


def test_openapi_documents_the_lists(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "get" in spec["paths"]["/api/v1/documents"]
    assert "get" in spec["paths"]["/api/v1/exports"]
    assert "post" in spec["paths"]["/api/v1/documents/bulk"]
    assert "patch" in spec["paths"]["/api/v1/documents/{document_id}"]
    assert "post" in spec["paths"]["/api/v1/documents/{document_id}/archive"]
    params = {p["name"] for p in spec["paths"]["/api/v1/documents"]["get"]["parameters"]}
    assert {"state", "export_state", "connector", "date_from", "party", "cursor"} <= params


def test_refresh_lists_command_recomputes_the_columns(app, app_config, docs):
    from click.testing import CliRunner
    from sqlalchemy import update

    from core.cli import main

    with app.app_context():
        db.session.execute(update(Document).values(field_date=None, field_amount_cents=None))
        db.session.commit()
    env = {
        "CLASSEUR_DATA_DIR": app_config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app_config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": "test-secret",
    }
    result = CliRunner().invoke(main, ["documents", "refresh-lists"], env=env)
    assert result.exit_code == 0, result.output
    assert "6 documents refreshed" in result.output
    with app.app_context():
        edf = db.session.get(Document, docs["edf"].id)
        assert (edf.field_date, edf.field_amount_cents) == (dt.date(2026, 10, 15), 125000)


def test_migration_fills_the_list_columns_of_existing_documents(tmp_path):
    from sqlalchemy import text

    from core.app import create_app
    from core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "x"})
    upgrade(app, "0009_saved_searches")
    now = "2026-11-01 10:00:00.000000"
    fields = '{"supplier": {"name": "Électricité de France"}, "invoice_date": "2026-10-15", ' + (
        '"total_incl_tax": "1250.00"}'
    )
    engine = db.engine_for(app)
    with engine.begin() as conn:
        conn.execute(text(f"insert into firms (id, name, created_at) values (1, 'F', '{now}')"))
        conn.execute(
            text(
                "insert into companies (id, firm_id, name, dossier_code, settings, created_at, "
                f"updated_at) values (1, 1, 'C', 'C01', '{{}}', '{now}', '{now}')"
            )
        )
        conn.execute(
            text(
                "insert into binders (id, company_id, type, name, created_at) "
                f"values (1, 1, 'purchase_invoices', 'Achats', '{now}')"
            )
        )
        conn.execute(
            text(
                "insert into documents (id, firm_id, company_id, binder_id, sha256, filename, "
                "media_type, size, pages, state, fields, version, processing_attempts, "
                "created_at, updated_at) values (1, 1, 1, 1, 'ab', 'f.pdf', 'application/pdf', "
                f"1, 1, 'validated', :fields, 1, 0, '{now}', '{now}')"
            ),
            {"fields": fields},
        )
    upgrade(app)
    with engine.connect() as conn:
        row = conn.execute(
            text("select field_date, field_amount_cents, field_party, archived_at from documents")
        ).one()
    engine.dispose()
    assert tuple(row) == ("2026-10-15", 125000, "electricite de france", None)
