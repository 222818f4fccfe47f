"""Trays that fit their binder type: the purchase tray's columns (supplier, number, dates and
amounts formatted the French way, state, export state with the connector's name), sorting by
column in SQL (missing values last, ties by id), quick filters; the core columns of other
binders; « À valider » in the menu with its count and its page across the firm's companies;
the selection form's route (no script: a flashed summary; the script: JSON per document)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.db import db
from core.documents.models import Document
from core.exports.models import ExportStatus
from tests.conftest import Factory


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    c2 = factory.company(f, name="Garage Durand", code="GD02")
    return {
        "firm": f,
        "c1": c1,
        "c2": c2,
        "p1": factory.binder(c1, name="Achats Martin"),
        "p2": factory.binder(c2, name="Achats Durand"),
        "o1": factory.binder(c1, "other", name="Divers"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
    }


def _invoice(supplier: str | None, number: str, day: str | None, ttc: str | None, **more: Any):
    fields: dict[str, Any] = {
        "supplier": {"name": supplier} if supplier else {},
        "invoice_number": number,
        "invoice_date": day,
        "total_incl_tax": ttc,
    }
    fields.update(more)
    return fields


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-document="(\d+)"', html)]


def _cells(html: str, document_id: int) -> str:
    start = html.index(f'<tr data-document="{document_id}"')
    return html[start : html.index("</tr>", start)]


def test_purchase_tray_shows_the_invoice_columns_formatted(app, factory, auth, firm):
    d = factory.document(
        firm["p1"],
        filename="moreau.pdf",
        fields=_invoice(
            "Papeterie Moreau", "FA-2026-001", "2026-10-15", "1250.00", due_date="2026-11-14"
        ),
    )
    with app.app_context():
        connector = app.extensions["classeur"].exporters.all()[0]
        db.session.add(
            ExportStatus(
                document_id=d.id,
                firm_id=d.firm_id,
                connector=connector.name,
                state="error",
                message="Compte inconnu",
            )
        )
        db.session.commit()
    auth.login(firm["accountant"])
    html = auth.client.get(f"/trays/{firm['p1'].id}").get_data(as_text=True)
    for label in ("Fournisseur", "N° de facture", "Date de facture", "Montant TTC", "Échéance"):
        assert f">{label}" in html
    row = _cells(html, d.id)
    assert "Papeterie Moreau" in row
    assert "FA-2026-001" in row
    assert "15/10/2026" in row and "14/11/2026" in row
    assert re.search(r"1\s250,00\s€", row), row
    assert "À valider" in row
    # Short in the cell, the full state and the connector's message in its title.
    assert f">{connector.label} : erreur<" in row
    assert connector.name not in row.replace(f'data-column="{connector.name}"', "")
    assert f'title="Erreur lors de l&#39;export ({connector.label}) : Compte inconnu"' in row
    # The quick filter "En erreur d'export" keeps it; a state filter may drop it.
    html = auth.client.get(f"/trays/{firm['p1'].id}?export=error").get_data(as_text=True)
    assert _row_ids(html) == [d.id]
    html = auth.client.get(f"/trays/{firm['p1'].id}?state=validated").get_data(as_text=True)
    assert _row_ids(html) == []


def test_other_binders_keep_the_core_columns(app, factory, auth, firm):
    d = factory.document(firm["o1"], filename="statuts.pdf", state="validated")
    auth.login(firm["accountant"])
    html = auth.client.get(f"/trays/{firm['o1'].id}").get_data(as_text=True)
    for label in ("Document", "Pages", "État", "Déposé le"):
        assert f">{label}" in html
    assert "Fournisseur" not in html
    row = _cells(html, d.id)
    assert "statuts.pdf" in row and "Validé" in row


def test_sorting_by_a_column_in_sql(app, factory, auth, firm):
    p = firm["p1"]
    a = factory.document(p, fields=_invoice("bravo", "2", "2026-03-01", "99.50"))
    b = factory.document(p, fields=_invoice("Alpha", "1", "2026-01-15", "1250.00"))
    c = factory.document(p, fields=_invoice(None, "3", None, None))
    d = factory.document(p, fields=_invoice("Charlie", "4", "2026-03-01", "5.00"))
    auth.login(firm["accountant"])

    def order(query: str) -> list[int]:
        response = auth.client.get(f"/trays/{p.id}?{query}")
        assert response.status_code == 200
        return _row_ids(response.get_data(as_text=True))

    assert order("") == [d.id, c.id, b.id, a.id]  # newest first
    # Amounts as numbers (99.50 < 1250), missing last in both directions.
    assert order("sort=total_incl_tax&dir=asc") == [d.id, a.id, b.id, c.id]
    assert order("sort=total_incl_tax&dir=desc") == [b.id, a.id, d.id, c.id]
    # Text without case, nested in the fields.
    assert order("sort=supplier.name&dir=asc") == [b.id, a.id, d.id, c.id]
    # Dates; ties by id in the same direction.
    assert order("sort=invoice_date&dir=asc") == [b.id, a.id, d.id, c.id]
    assert order("sort=invoice_date&dir=desc") == [d.id, a.id, b.id, c.id]
    # An unknown or unsortable column falls back to the default order.
    assert order("sort=export&dir=asc") == [d.id, c.id, b.id, a.id]
    assert order("sort=nope") == [d.id, c.id, b.id, a.id]
    # The header links: a click sorts, a second one reverses; pages keep the sort.
    html = auth.client.get(f"/trays/{p.id}?sort=total_incl_tax&dir=asc").get_data(as_text=True)
    assert 'aria-sort="ascending"' in html
    assert "sort=total_incl_tax&amp;dir=desc" in html


def test_pagination_keeps_the_sort(app, factory, auth, firm, monkeypatch):
    import core.binders.views as views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    p = firm["p1"]
    ids = [factory.document(p, fields=_invoice("S", str(n), None, f"{n}.00")).id for n in range(5)]
    auth.login(firm["accountant"])
    first = auth.client.get(f"/trays/{p.id}?sort=total_incl_tax&dir=asc").get_data(as_text=True)
    assert _row_ids(first) == ids[:2]
    assert "page=2" in first and "sort=total_incl_tax" in first
    second = auth.client.get(f"/trays/{p.id}?sort=total_incl_tax&dir=asc&page=2")
    assert _row_ids(second.get_data(as_text=True)) == ids[2:4]


def test_to_review_in_the_menu_with_its_count(app, factory, auth, firm):
    factory.document(firm["p1"])
    factory.document(firm["p2"])
    factory.document(firm["o1"])
    factory.document(firm["p1"], state="validated")
    factory.document(firm["p1"], state="trashed")
    other = factory.firm("Autre cabinet")
    factory.document(factory.binder(factory.company(other)))
    auth.login(firm["accountant"])
    html = auth.client.get("/trays").get_data(as_text=True)
    assert re.search(r'id="menu-to-review"[^>]*>À valider <span[^>]*>\(3\)</span>', html), html
    # The uploader cannot review: no entry.
    auth.client.post("/logout")
    auth.login(firm["uploader"])
    assert 'id="menu-to-review"' not in auth.client.get("/trays").get_data(as_text=True)
    assert auth.client.get("/trays/to-review").status_code == 403


def test_to_review_page_lists_every_company_with_a_filter(app, factory, auth, firm):
    a = factory.document(firm["p1"], filename="a.pdf", fields=_invoice("Moreau", "1", None, "12"))
    b = factory.document(firm["p2"], filename="b.pdf")
    factory.document(firm["p1"], filename="done.pdf", state="validated")
    auth.login(firm["accountant"])
    html = auth.client.get("/trays/to-review").get_data(as_text=True)
    assert _row_ids(html) == [a.id, b.id]
    assert f"/purchases/{a.id}/review" in html  # the binder type's review page
    assert "Moreau" in html and "Garage Durand" in html
    html = auth.client.get(f"/trays/to-review?company={firm['c2'].id}").get_data(as_text=True)
    assert _row_ids(html) == [b.id]
    # A company of another firm is ignored, never shown.
    other = factory.company(factory.firm("Autre"))
    html = auth.client.get(f"/trays/to-review?company={other.id}").get_data(as_text=True)
    assert _row_ids(html) == [a.id, b.id]


def test_bulk_form_without_script_flashes_a_summary(app, factory, auth, firm):
    a = factory.document(firm["o1"], filename="a.pdf")
    b = factory.document(firm["o1"], filename="b.pdf", state="trashed")
    outsider = factory.document(factory.binder(factory.company(factory.firm("Autre"))))
    auth.login(firm["accountant"])
    response = auth.client.post(
        "/trays/bulk",
        data={"action": "trash", "ids": [a.id, b.id, outsider.id], "next": "/trays"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/trays")
    html = auth.client.get("/trays").get_data(as_text=True)
    assert "Mettre à la corbeille : 1 document(s) sur 3." in html
    assert "b.pdf :" in html
    with app.app_context():
        assert str(db.session.get(Document, a.id).state) == "trashed"
        assert str(db.session.get(Document, outsider.id).state) == "to_review"
    # An outside "next" is never followed.
    response = auth.client.post(
        "/trays/bulk", data={"action": "trash", "ids": [a.id], "next": "//evil.example/"}
    )
    assert response.headers["Location"].endswith("/trays")


def test_bulk_json_answers_per_document_with_names(app, factory, auth, firm):
    a = factory.document(firm["o1"], filename="a.pdf")
    outsider = factory.document(factory.binder(factory.company(factory.firm("Autre"))))
    auth.login(firm["accountant"])
    response = auth.client.post(
        "/trays/bulk",
        data={"action": "move", "ids": [a.id, outsider.id], "binder_id": firm["p2"].id},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == [a.id, outsider.id]
    assert results[0]["ok"] is True and results[0]["name"] == "a.pdf"
    assert results[1] == {
        "id": outsider.id,
        "ok": False,
        "message": "Document introuvable",
        "state": None,
        "name": f"Document n° {outsider.id}",
        "state_label": "",
    }
    with app.app_context():
        assert db.session.get(Document, a.id).binder_id == firm["p2"].id
    # No binder for a move: one clear French error for the whole selection.
    response = auth.client.post(
        "/trays/bulk",
        data={"action": "move", "ids": [a.id]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert "classeur" in response.get_json()["error"]["message"]
    # Nothing checked.
    response = auth.client.post(
        "/trays/bulk", data={"action": "trash"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Cochez au moins un document."


def test_bulk_download_is_a_zip_of_the_visible_originals(app, factory, auth, firm):
    import io
    import zipfile

    a = factory.document(firm["o1"], filename="a.pdf", content=b"%PDF-1.4 a")
    outsider = factory.document(factory.binder(factory.company(factory.firm("Autre"))))
    auth.login(firm["accountant"])
    response = auth.client.post(
        "/trays/bulk", data={"action": "download", "ids": [a.id, outsider.id]}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert len(names) == 1 and names[0].endswith("a.pdf")


def test_archived_documents_leave_the_tray_for_their_filter(app, factory, auth, firm):
    kept = factory.document(firm["o1"], filename="kept.pdf", state="validated")
    old = factory.document(firm["o1"], filename="old.pdf", state="validated")
    auth.login(firm["accountant"])
    response = auth.client.post(
        "/trays/bulk",
        data={"action": "archive", "ids": [old.id]},
        headers={"Accept": "application/json"},
    )
    assert response.get_json()["results"][0]["ok"] is True
    html = auth.client.get(f"/trays/{firm['o1'].id}").get_data(as_text=True)
    assert _row_ids(html) == [kept.id]
    assert "Archivés (1)" in html
    html = auth.client.get(f"/trays/{firm['o1'].id}?archived=1").get_data(as_text=True)
    assert _row_ids(html) == [old.id]
    assert 'value="unarchive"' in html and 'value="validate"' not in html
    # The overview counts only what the tray lists.
    overview = auth.client.get("/trays").get_data(as_text=True)
    row = overview[overview.index(f'<tr data-binder="{firm["o1"].id}"') :]
    assert 'state=validated">1</a>' in row[: row.index("</tr>")]


def test_trash_page_restores_a_selection(app, factory, auth, firm):
    a = factory.document(firm["o1"], filename="a.pdf")
    b = factory.document(firm["o1"], filename="b.pdf")
    auth.login(firm["accountant"])
    auth.client.post("/trays/bulk", data={"action": "trash", "ids": [a.id, b.id]})
    html = auth.client.get(f"/trays/{firm['o1'].id}/trash").get_data(as_text=True)
    assert 'value="restore"' in html and 'value="trash"' not in html
    assert sorted(_row_ids(html)) == [a.id, b.id]
    response = auth.client.post(
        "/trays/bulk",
        data={"action": "restore", "ids": [a.id, b.id]},
        headers={"Accept": "application/json"},
    )
    assert [r["state"] for r in response.get_json()["results"]] == ["to_review", "to_review"]
    html = auth.client.get(f"/trays/{firm['o1'].id}").get_data(as_text=True)
    assert sorted(_row_ids(html)) == [a.id, b.id]


REVIEW_FORM = {
    "rows": "2",
    "supplier.name": "Papeterie Moreau",
    "supplier.siren": "732829320",
    "invoice_date": "12/03/2026",
    "total_excl_tax": "100,00",
    "total_tax": "20,00",
    "total_incl_tax": "120,00",
    "amount_due": "120,00",
    "currency": "EUR",
    "document_kind": "invoice",
    "vat_regime": "standard",
    "vat-0-rate": "20",
    "vat-0-base": "100,00",
    "vat-0-amount": "20,00",
    "line-0-account": "6063",
    "action": "validate",
}


def test_review_position_and_where_valider_leads(app, factory, auth, firm):
    first = factory.document(firm["p1"], filename="r1.pdf")
    second = factory.document(firm["p1"], filename="r2.pdf")
    elsewhere = factory.document(firm["p2"], filename="r3.pdf")
    auth.login(firm["accountant"])
    html = auth.client.get(f"/purchases/{second.id}/review").get_data(as_text=True)
    assert "<title>r2.pdf — Classeur</title>" in html
    assert "2 / 2 à valider" in html
    assert f'id="review-prev" rel="prev" href="/purchases/{first.id}/review"' in html
    assert 'id="review-next"' not in html
    # The binder's next one first (from the start again)...
    done = auth.client.post(f"/purchases/{second.id}/review", data=REVIEW_FORM)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert done.headers["Location"].endswith(f"/purchases/{first.id}/review")
    # ...then, the binder done, the firm's « À valider » where another company waits...
    done = auth.client.post(f"/purchases/{first.id}/review", data=REVIEW_FORM)
    assert done.headers["Location"].endswith("/trays/to-review")
    # ...and the binder once nothing is left anywhere.
    done = auth.client.post(f"/purchases/{elsewhere.id}/review", data=REVIEW_FORM)
    assert done.headers["Location"].endswith(f"/trays/{firm['p2'].id}")
