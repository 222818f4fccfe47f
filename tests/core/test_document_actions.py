"""Moving a document to another binder, putting it in the trash and restoring it: the
services (each refusal, the effects), the API, the pages, tenant isolation, and a trashed
document's absence from binder lists, review lists and search until it is restored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.documents.models import Document, DocumentEvent, DocumentState
from core.errors import ServiceError
from core.exports.models import ExportStatus
from tests.conftest import Factory, make_pdf_bytes


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    """One firm: two companies, a purchase binder each and an "other" binder in the first."""
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    c2 = factory.company(f, name="Garage Durand", code="GD02")
    return {
        "firm": f,
        "c1": c1,
        "c2": c2,
        "p1": factory.binder(c1, name="Factures d'achat"),
        "p2": factory.binder(c2, name="Factures d'achat"),
        "o1": factory.binder(c1, "other", name="Divers"),
        "admin": factory.user(f, "admin"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
    }


def _pdf(word: str) -> bytes:
    return make_pdf_bytes([f"Facture {word}", "Total TTC 120,00 EUR"])


def _get(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    assert document is not None
    return document


def _binder(binder_id: int) -> Any:
    from core.binders.models import Binder

    return db.session.get(Binder, binder_id)


def _status(app: Any, document: Any, connector: str, state: str, message: str | None = None):
    with app.app_context():
        status = ExportStatus(
            document_id=document.id,
            firm_id=document.firm_id,
            connector=connector,
            state=state,
            message=message,
            code="E1" if state == "error" else None,
            idempotency_key=f"key-{connector}",
        )
        db.session.add(status)
        db.session.commit()
        return status.id


def _statuses(document_id: int) -> dict[str, tuple[str, str | None]]:
    rows = db.session.scalars(select(ExportStatus).where(ExportStatus.document_id == document_id))
    return {s.connector: (str(s.state), s.message) for s in rows}


def _events(document_id: int, action: str) -> list[DocumentEvent]:
    return list(
        db.session.scalars(
            select(DocumentEvent)
            .where(DocumentEvent.document_id == document_id, DocumentEvent.action == action)
            .order_by(DocumentEvent.id)
        )
    )


def _refused(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    db.session.rollback()
    return caught.value


# --- move: effects ---------------------------------------------------------------------------


def test_move_to_another_company_rereads_and_drops_the_unsent_exports(app, factory, firm):
    doc = factory.document(
        firm["p1"], state="validated", content=_pdf("move"), fields={"invoice_number": "F-1"}
    )
    for connector, state in (("meg", "error"), ("fec", "pending"), ("other", "skipped")):
        _status(app, doc, connector, state, "refusé")
    with app.app_context():
        document = _get(doc.id)
        document.validated_at = document.created_at
        db.session.commit()
        from core.documents.services import move_document

        moved = move_document(document, _binder(firm["p2"].id), firm["accountant"].id)
        assert moved.id == doc.id
    with app.app_context():
        document = _get(doc.id)
        assert (document.company_id, document.binder_id) == (firm["c2"].id, firm["p2"].id)
        assert document.firm_id == firm["firm"].id
        assert document.version == 2
        assert document.state == DocumentState.RECEIVED
        assert document.validated_at is None
        assert _statuses(doc.id) == {}
        (event,) = _events(doc.id, "moved")
        assert event.user_id == firm["accountant"].id
        assert event.before == {
            "binder_id": firm["p1"].id,
            "binder_name": "Factures d'achat",
            "company_id": firm["c1"].id,
            "company_name": "Boulangerie Martin",
            "state": "validated",
        }
        assert event.after == {
            "binder_id": firm["p2"].id,
            "binder_name": "Factures d'achat",
            "company_id": firm["c2"].id,
            "company_name": "Garage Durand",
            "state": "received",
        }
        assert "Boulangerie Martin" in event.message and "Garage Durand" in event.message
    # The in-process worker reads it again, for its new binder.
    assert app.extensions["classeur"].tasks.run_now("process_document", doc.id) == "to_review"
    with app.app_context():
        document = _get(doc.id)
        assert document.state == DocumentState.TO_REVIEW
        assert "Facture move" in (document.text or "")
        assert _events(doc.id, "read")


def test_move_to_another_binder_type_reads_the_fields_again(app, factory, firm):
    doc = factory.document(
        firm["p1"], content=_pdf("type"), fields={"invoice_number": "F-2", "supplier": "X"}
    )
    with app.app_context():
        from core.documents.services import move_document

        move_document(_get(doc.id), _binder(firm["o1"].id), None)
    assert app.extensions["classeur"].tasks.run_now("process_document", doc.id) == "to_review"
    with app.app_context():
        document = _get(doc.id)
        assert document.binder_id == firm["o1"].id and document.company_id == firm["c1"].id
        # An "other" binder has no field extractor: the invoice fields are gone.
        assert document.fields == {}


def test_move_updates_the_search_index(app, factory, firm):
    from core.search.backend import SearchQuery
    from core.search.services import flush, index_documents, search

    doc = factory.document(firm["p1"], content=_pdf("index"))
    with app.app_context():
        _get(doc.id).text = "rhododendron"
        db.session.commit()
        index_documents([doc.id])
        flush()
        from core.documents.services import move_document

        move_document(_get(doc.id), _binder(firm["p2"].id), None)
        flush()
        by_binder = search(SearchQuery(firm_id=firm["firm"].id, q="rhododendron"))
        assert [h.id for h in by_binder.hits] == [doc.id]
        in_new = search(
            SearchQuery(firm_id=firm["firm"].id, q="rhododendron", binder_id=firm["p2"].id)
        )
        assert [h.id for h in in_new.hits] == [doc.id]
        in_old = search(
            SearchQuery(firm_id=firm["firm"].id, q="rhododendron", binder_id=firm["p1"].id)
        )
        assert in_old.hits == []


# --- move: refusals --------------------------------------------------------------------------


def test_move_refuses_a_binder_of_another_firm_as_not_found(app, factory, firm):
    other = factory.firm("Cabinet Autre")
    foreign = factory.binder(factory.company(other, name="Ailleurs"), name="Achats")
    doc = factory.document(firm["p1"])
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(foreign.id), None))
        assert (error.status, error.code, error.field) == (404, "not_found", "binder_id")
        assert _get(doc.id).binder_id == firm["p1"].id


def test_move_refuses_the_same_binder(app, factory, firm):
    doc = factory.document(firm["p1"])
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p1"].id), None))
        assert error.code == "same_binder" and error.message == (
            "Le document est déjà dans ce classeur."
        )


def test_move_refuses_an_exported_document(app, factory, firm):
    doc = factory.document(firm["p1"], state="validated")
    _status(app, doc, "meg", "exported")
    _status(app, doc, "fec", "error")
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None))
        assert error.status == 409
        assert error.message == "Document déjà exporté : il ne peut plus être déplacé."
        document = _get(doc.id)
        assert document.binder_id == firm["p1"].id and document.state == "validated"
        assert _statuses(doc.id)["fec"][0] == "error"  # nothing deleted


def test_move_refuses_a_document_being_sent(app, factory, firm):
    doc = factory.document(firm["p1"], state="validated")
    _status(app, doc, "meg", "sending")
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None))
        assert (error.status, error.code) == (409, "sending")


@pytest.mark.parametrize("state", ["received", "extracting"])
def test_move_refuses_a_document_being_read(app, factory, firm, state):
    doc = factory.document(firm["p1"], state=state)
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None))
        assert (error.status, error.code) == (409, "not_ready")
        assert "en lecture" in error.message


def test_move_refuses_a_binder_already_holding_the_same_file(app, factory, firm):
    content = _pdf("twice")
    doc = factory.document(firm["p1"], content=content)
    there = factory.document(firm["p2"], content=content)
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None))
        assert (error.status, error.code) == (409, "duplicate")
        assert error.message == f"Ce fichier est déjà dans ce classeur (document n° {there.id})."
        assert _get(doc.id).binder_id == firm["p1"].id


def test_move_refuses_a_trashed_document(app, factory, firm):
    doc = factory.document(firm["p1"], state="trashed")
    with app.app_context():
        from core.documents.services import move_document

        error = _refused(lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None))
        assert (error.status, error.code) == (409, "trashed")


# --- trash and restore: effects --------------------------------------------------------------


def test_trash_keeps_everything_and_sets_the_unsent_exports_aside(app, factory, firm):
    doc = factory.document(
        firm["p1"], state="validated", content=_pdf("trash"), fields={"invoice_number": "F-9"}
    )
    _status(app, doc, "meg", "error", "Compte 401 refusé")
    _status(app, doc, "fec", "pending")
    _status(app, doc, "archive", "exported", "ok")
    with app.app_context():
        from core.documents.services import trash_document
        from core.search.services import export_error_ids

        assert doc.id in export_error_ids(firm["firm"].id)
        trash_document(_get(doc.id), firm["admin"].id)
        document = _get(doc.id)
        assert document.state == DocumentState.TRASHED
        assert document.fields == {"invoice_number": "F-9"} and document.text == "texte"
        assert app.extensions["classeur"].storage.path(document.sha256).exists()
        assert _statuses(doc.id) == {
            "meg": ("skipped", "Document mis à la corbeille."),
            "fec": ("skipped", "Document mis à la corbeille."),
            "archive": ("exported", "ok"),
        }
        # It leaves "Documents en erreur" (and the search checkbox built on the same query).
        assert doc.id not in export_error_ids(firm["firm"].id)
        (event,) = _events(doc.id, "trashed")
        assert event.user_id == firm["admin"].id
        assert event.before["state"] == "validated"
        assert event.after == {"state": "trashed"}


def test_restore_puts_back_a_validated_document_and_its_exports(app, factory, firm):
    doc = factory.document(firm["p1"], state="validated")
    _status(app, doc, "meg", "error", "Compte 401 refusé")
    _status(app, doc, "fec", "pending")
    with app.app_context():
        from core.documents.services import restore_document, trash_document

        trash_document(_get(doc.id), None)
        restored = restore_document(_get(doc.id), firm["accountant"].id)
        assert restored.state == DocumentState.VALIDATED
        assert _statuses(doc.id) == {
            "meg": ("error", "Compte 401 refusé"),
            "fec": ("pending", None),
        }
        (event,) = _events(doc.id, "restored")
        assert event.user_id == firm["accountant"].id
        assert (event.before, event.after) == ({"state": "trashed"}, {"state": "validated"})


@pytest.mark.parametrize("state", ["to_review", "failed"])
def test_restore_puts_back_the_state_it_had(app, factory, firm, state):
    doc = factory.document(firm["p1"], state=state)
    with app.app_context():
        from core.documents.services import restore_document, trash_document

        trash_document(_get(doc.id), None)
        assert _get(doc.id).state == DocumentState.TRASHED
        restore_document(_get(doc.id), None)
        assert _get(doc.id).state == state


def test_trash_and_restore_refusals(app, factory, firm):
    reading = factory.document(firm["p1"], state="extracting")
    sending = factory.document(firm["p1"], state="validated")
    _status(app, sending, "meg", "sending")
    trashed = factory.document(firm["p1"], state="trashed")
    fine = factory.document(firm["p1"])
    with app.app_context():
        from core.documents.services import restore_document, trash_document

        assert _refused(lambda: trash_document(_get(reading.id), None)).code == "not_ready"
        assert _refused(lambda: trash_document(_get(sending.id), None)).code == "sending"
        error = _refused(lambda: trash_document(_get(trashed.id), None))
        assert (error.status, error.message) == (409, "Ce document est déjà à la corbeille.")
        error = _refused(lambda: restore_document(_get(fine.id), None))
        assert (error.status, error.code) == (409, "not_trashed")
        assert _get(reading.id).state == "extracting" and _get(sending.id).state == "validated"


def test_a_trashed_document_cannot_be_validated_edited_exported_or_moved(app, factory, firm):
    doc = factory.document(firm["p1"], fields={"invoice_number": "F-3"})
    done = factory.document(firm["p1"], state="validated")
    _status(app, done, "meg", "error", "refusé")
    with app.app_context():
        from core.documents.services import (
            move_document,
            retry_processing,
            trash_document,
            update_fields,
            validate_document,
        )
        from core.exports.services import retry_export

        trash_document(_get(doc.id), None)
        trash_document(_get(done.id), None)
        for call in (
            lambda: validate_document(_get(doc.id), None),
            lambda: update_fields(_get(doc.id), {"invoice_number": "F-4"}, None),
            lambda: move_document(_get(doc.id), _binder(firm["p2"].id), None),
            lambda: retry_processing(_get(doc.id), None),
        ):
            error = _refused(call)
            assert (error.status, error.code) == (409, "trashed")
            assert error.message == "Document à la corbeille : restaurez-le d'abord."
        assert _refused(lambda: retry_export(_get(done.id), "meg", None)).status == 409
        document = _get(doc.id)
        assert document.state == "trashed" and document.fields == {"invoice_number": "F-3"}
        assert _statuses(done.id)["meg"][0] == "skipped"


# --- trash: absent from lists and search, back after restore ---------------------------------


def _search_ids(client: Any, headers: dict[str, str], q: str) -> list[int]:
    from core.search.services import flush

    with client.application.app_context():
        flush()
    body = client.get(f"/api/v1/search?q={q}", headers=headers).get_json()
    return [r["id"] for r in body["results"]]


def test_a_trashed_document_leaves_lists_and_search_until_restored(
    app, client, auth, factory, firm
):
    from core.search.services import index_documents, rebuild_index

    doc = factory.document(firm["p1"], filename="facture-corbeille.pdf")
    kept = factory.document(firm["p1"], filename="facture-gardee.pdf")
    with app.app_context():
        _get(doc.id).text = "Papeterie Moreau sarcophage"
        _get(kept.id).text = "Papeterie Moreau gardee"
        db.session.commit()
        index_documents([doc.id, kept.id])
    h = {"Authorization": f"Bearer {factory.token(firm['accountant'])}"}
    auth.login(firm["accountant"])
    binder_url = f"/trays/{firm['p1'].id}"
    review_url = f"/purchases/binders/{firm['p1'].id}/to-review"
    trash_url = f"/trays/{firm['p1'].id}/trash"

    def visible() -> dict[str, bool]:
        return {
            "binder": "facture-corbeille.pdf" in client.get(binder_url).get_data(as_text=True),
            "binder_to_review": "facture-corbeille.pdf"
            in client.get(binder_url + "?state=to_review").get_data(as_text=True),
            "review_list": "facture-corbeille.pdf" in client.get(review_url).get_data(as_text=True),
            "search": doc.id in _search_ids(client, h, "sarcophage"),
            "search_all": doc.id in _search_ids(client, h, "papeterie"),
            "trash_page": "facture-corbeille.pdf" in client.get(trash_url).get_data(as_text=True),
        }

    before = dict.fromkeys(("binder", "binder_to_review", "review_list", "search"), True)
    assert visible() == {**before, "search_all": True, "trash_page": False}
    response = client.post(f"/api/v1/documents/{doc.id}/trash", headers=h)
    assert response.status_code == 200 and response.get_json()["state"] == "trashed"
    assert visible() == dict.fromkeys(before, False) | {"search_all": False, "trash_page": True}
    assert "facture-gardee.pdf" in client.get(binder_url).get_data(as_text=True)
    assert _search_ids(client, h, "papeterie") == [kept.id]
    trays = client.get("/trays").get_data(as_text=True)
    assert 'data-trashed="1"' in trays
    # Neither a re-index of that document nor a full rebuild brings it back.
    with app.app_context():
        index_documents([doc.id])
    assert doc.id not in _search_ids(client, h, "sarcophage")
    with app.app_context():
        rebuild_index()
    assert doc.id not in _search_ids(client, h, "sarcophage")
    assert _search_ids(client, h, "papeterie") == [kept.id]
    assert client.get(binder_url + "?state=trashed").status_code == 302
    response = client.post(f"/api/v1/documents/{doc.id}/restore", headers=h)
    assert response.status_code == 200 and response.get_json()["state"] == "to_review"
    assert visible() == {**before, "search_all": True, "trash_page": False}


# --- API -------------------------------------------------------------------------------------


def test_api_move_trash_restore(client, factory, firm):
    doc = factory.document(firm["p1"], content=_pdf("api"))
    h = {"Authorization": f"Bearer {factory.token(firm['accountant'])}"}
    response = client.post(
        f"/api/v1/documents/{doc.id}/move", json={"binder_id": firm["p2"].id}, headers=h
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["binder_id"], body["company_id"]) == (firm["p2"].id, firm["c2"].id)
    assert body["state"] == "received" and body["version"] == 2
    with client.application.app_context():
        _get(doc.id).state = DocumentState.TO_REVIEW  # as if read again
        db.session.commit()
    response = client.post(f"/api/v1/documents/{doc.id}/trash", headers=h)
    assert response.status_code == 200 and response.get_json()["state"] == "trashed"
    again = client.post(f"/api/v1/documents/{doc.id}/trash", headers=h)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "trashed"
    moved = client.post(
        f"/api/v1/documents/{doc.id}/move", json={"binder_id": firm["p1"].id}, headers=h
    )
    assert moved.status_code == 409
    assert moved.get_json()["error"]["message"] == (
        "Document à la corbeille : restaurez-le d'abord."
    )
    response = client.post(f"/api/v1/documents/{doc.id}/restore", headers=h)
    assert response.status_code == 200 and response.get_json()["state"] == "to_review"


def test_api_move_refusals(client, factory, firm):
    content = _pdf("dup")
    doc = factory.document(firm["p1"], content=content)
    there = factory.document(firm["o1"], content=content)
    h = {"Authorization": f"Bearer {factory.token(firm['admin'])}"}
    url = f"/api/v1/documents/{doc.id}/move"
    missing = client.post(url, json={}, headers=h)
    assert missing.status_code == 422
    assert missing.get_json()["error"]["field"] == "binder_id"
    same = client.post(url, json={"binder_id": firm["p1"].id}, headers=h)
    assert same.status_code == 422 and same.get_json()["error"]["code"] == "same_binder"
    dup = client.post(url, json={"binder_id": firm["o1"].id}, headers=h)
    assert dup.status_code == 409
    assert dup.get_json()["error"]["message"] == (
        f"Ce fichier est déjà dans ce classeur (document n° {there.id})."
    )
    unknown = client.post(url, json={"binder_id": 999999}, headers=h)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["field"] == "binder_id"


def test_api_an_uploader_may_neither_move_nor_trash_nor_restore(client, factory, firm):
    doc = factory.document(firm["p1"])
    h = {"Authorization": f"Bearer {factory.token(firm['uploader'])}"}
    base = f"/api/v1/documents/{doc.id}"
    assert client.get(base, headers=h).status_code == 200  # its own company: visible
    for action in ("move", "trash", "restore"):
        response = client.post(f"{base}/{action}", json={"binder_id": firm["o1"].id}, headers=h)
        assert response.status_code == 403, action
    read_only = {"Authorization": f"Bearer {factory.token(firm['admin'], scopes=('read',))}"}
    assert client.post(base + "/trash", headers=read_only).status_code == 403
    with client.application.app_context():
        assert _get(doc.id).state == "to_review" and _get(doc.id).binder_id == firm["p1"].id


def test_api_isolation_between_two_firms(client, factory, firm):
    a_doc = factory.document(firm["p1"])
    firm_b = factory.firm("Cabinet B")
    b_binder = factory.binder(factory.company(firm_b, name="Société B"), name="Achats B")
    b_other = factory.binder(factory.company(firm_b, name="Société B2"), name="Achats B2")
    b_doc = factory.document(b_binder)
    hb = {"Authorization": f"Bearer {factory.token(factory.user(firm_b, 'admin'))}"}
    # A user of firm B can neither move firm A's document...
    for action, payload in (
        ("move", {"binder_id": b_other.id}),
        ("move", {"binder_id": firm["p2"].id}),
        ("trash", None),
        ("restore", None),
    ):
        response = client.post(f"/api/v1/documents/{a_doc.id}/{action}", json=payload, headers=hb)
        assert response.status_code == 404, action
    # ...nor move its own document into a binder of firm A.
    response = client.post(
        f"/api/v1/documents/{b_doc.id}/move", json={"binder_id": firm["p2"].id}, headers=hb
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "Factures" not in response.get_data(as_text=True)
    with client.application.app_context():
        assert _get(a_doc.id).binder_id == firm["p1"].id and _get(a_doc.id).state == "to_review"
        assert _get(b_doc.id).binder_id == b_binder.id


def test_openapi_documents_the_new_endpoints(client):
    spec = client.get("/api/v1/openapi.json")
    if spec.status_code == 404:
        pytest.skip("OpenAPI document not served at this path")
    paths = spec.get_json()["paths"]
    move = paths["/api/v1/documents/{document_id}/move"]["post"]
    assert "202" in move["responses"] and "requestBody" in move
    assert "binder_id" in str(spec.get_json()["components"]["schemas"])
    for action in ("trash", "restore"):
        assert "200" in paths[f"/api/v1/documents/{{document_id}}/{action}"]["post"]["responses"]


# --- pages -----------------------------------------------------------------------------------


def test_document_page_offers_the_binders_grouped_by_company(client, auth, factory, firm):
    other_firm = factory.firm("Cabinet Voisin")
    factory.binder(factory.company(other_firm, name="Voisin Secret"), name="Achats voisins")
    doc = factory.document(firm["p1"])
    auth.login(firm["accountant"])
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert f'action="/documents/{doc.id}/move"' in html
    assert f'action="/documents/{doc.id}/trash"' in html
    assert '<optgroup label="Boulangerie Martin (BM01)">' in html
    assert '<optgroup label="Garage Durand (GD02)">' in html
    assert f'<option value="{firm["p2"].id}">' in html
    assert f'<option value="{firm["o1"].id}">' in html
    assert f'<option value="{firm["p1"].id}">' not in html  # not its own binder
    assert "Voisin Secret" not in html and "Achats voisins" not in html
    assert "Confirmer la mise à la corbeille" in html
    # An uploader sees the document but is offered neither action.
    client.post("/logout")
    auth.login(firm["uploader"])
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "/move" not in html and "/trash" not in html


def test_document_page_explains_why_a_document_cannot_move(client, auth, factory, firm):
    doc = factory.document(firm["p1"], state="validated")
    _status(client.application, doc, "meg", "exported")
    auth.login(firm["admin"])
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Document déjà exporté : il ne peut plus être déplacé." in html
    assert f'action="/documents/{doc.id}/move"' not in html


def test_page_actions_redirect_to_a_local_next_only(client, auth, factory, firm):
    doc = factory.document(firm["p1"])
    auth.login(firm["accountant"])
    response = client.post(
        f"/documents/{doc.id}/move",
        data={"binder_id": firm["p2"].id, "next": "/purchases/binders/1/to-review"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/purchases/binders/1/to-review"
    with client.application.app_context():
        document = _get(doc.id)
        assert document.binder_id == firm["p2"].id
        document.state = DocumentState.TO_REVIEW
        db.session.commit()
    for evil in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:1"):
        response = client.post(f"/documents/{doc.id}/trash", data={"next": evil})
        assert response.headers["Location"] == f"/documents/{doc.id}", evil
        client.post(f"/documents/{doc.id}/restore")
    page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Document restauré." in page
    with client.application.app_context():
        assert _get(doc.id).state == "to_review"


def test_page_flashes_refusals_and_the_trash_page_restores(client, auth, factory, firm):
    doc = factory.document(firm["p1"], filename="a-restaurer.pdf")
    auth.login(firm["accountant"])
    response = client.post(
        f"/documents/{doc.id}/move", data={"binder_id": firm["p1"].id}, follow_redirects=True
    )
    assert "Le document est déjà dans ce classeur." in response.get_data(as_text=True)
    response = client.post(f"/documents/{doc.id}/move", data={}, follow_redirects=True)
    assert "Choisissez le classeur où déplacer le document." in response.get_data(as_text=True)
    response = client.post(f"/documents/{doc.id}/trash", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Document mis à la corbeille." in html and "Ce document est à la corbeille." in html
    assert f'action="/documents/{doc.id}/restore"' in html
    trash = client.get(f"/trays/{firm['p1'].id}/trash").get_data(as_text=True)
    assert "a-restaurer.pdf" in trash and "Restaurer" in trash
    response = client.post(
        f"/documents/{doc.id}/restore", data={"next": f"/trays/{firm['p1'].id}/trash"}
    )
    assert response.headers["Location"] == f"/trays/{firm['p1'].id}/trash"
    assert "La corbeille est vide." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_page_actions_are_refused_to_an_uploader_and_to_another_firm(client, auth, factory, firm):
    doc = factory.document(firm["p1"])
    auth.login(firm["uploader"])
    for action in ("move", "trash", "restore"):
        assert client.post(f"/documents/{doc.id}/{action}").status_code == 403
    client.post("/logout")
    firm_b = factory.firm("Cabinet B")
    b_binder = factory.binder(factory.company(firm_b, name="Société B"), name="Achats B")
    b_doc = factory.document(b_binder)
    auth.login(factory.user(firm_b, "admin"))
    for action in ("move", "trash", "restore"):
        assert client.post(f"/documents/{doc.id}/{action}").status_code == 404
    response = client.post(
        f"/documents/{b_doc.id}/move", data={"binder_id": firm["p2"].id}, follow_redirects=True
    )
    assert "Choisissez le classeur où déplacer le document." in response.get_data(as_text=True)
    assert client.get(f"/trays/{firm['p1'].id}/trash").status_code == 404
    with client.application.app_context():
        assert _get(b_doc.id).binder_id == b_binder.id
        assert _get(doc.id).state == "to_review"


def test_page_forms_need_the_csrf_token(app_config):
    from core.app import create_app

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        factory = Factory(application)
        f = factory.firm()
        company = factory.company(f)
        b1 = factory.binder(company, name="Un")
        b2 = factory.binder(company, name="Deux")
        doc = factory.document(b1)
        user = factory.user(f, "accountant")
        client = application.test_client()
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        client.post(
            "/login", data={"email": user.email, "password": user.password, "csrf_token": token}
        )
        for action, data in (("move", {"binder_id": b2.id}), ("trash", {}), ("restore", {})):
            assert client.post(f"/documents/{doc.id}/{action}", data=data).status_code == 400
        page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert page.count('name="csrf_token"') >= 3  # move, trash and logout forms
        response = client.post(f"/documents/{doc.id}/trash", data={"csrf_token": token})
        assert response.status_code == 302
        with application.app_context():
            assert _get(doc.id).state == "trashed"
    finally:
        state = application.extensions["classeur"]
        if state._search is not None:
            state._search.close()
        db.engine_for(application).dispose()
