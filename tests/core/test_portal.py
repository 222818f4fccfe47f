"""The client portal: the uploader's home, deposits into the purchase binder, states in the
client's words, the firm's requests answered end to end, the API, and tenancy."""

from __future__ import annotations

import html
import io
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.documents.models import Document
from core.exports.models import ExportState, ExportStatus
from core.plugins.hookspecs import hookimpl
from core.portal.models import DocumentRequest, RequestState
from tests.conftest import make_pdf_bytes
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401 - the mail_outbox fixture


class FakePayments:
    """A connector plugin that knows the payment of documents named ``paid-*``/``due-*``."""

    @hookimpl
    def document_payment(self, document):
        from datetime import date

        if document.filename.startswith("paid-"):
            return {
                "state": "paid",
                "due_date": date(2026, 11, 30),
                "paid_at": date(2026, 11, 28),
                "amount": "120.00",
                "connector": "fake",
            }
        if document.filename.startswith("due-"):
            return {
                "state": "pending",
                "due_date": date(2026, 12, 31),
                "paid_at": None,
                "amount": "99.00",
                "connector": "fake",
            }
        return None


@pytest.fixture
def app_config(app_config):
    return {**app_config, "EXTRA_PLUGINS": [FakePayments()]}


@pytest.fixture
def client_world(factory) -> dict[str, Any]:
    firm = factory.firm("Cabinet Portail")
    c1 = factory.company(firm, name="Boulangerie Martin", code="BOUL01")
    c2 = factory.company(firm, name="Garage Voisin", code="GAR02")
    other = factory.binder(c1, "sales_invoices", name="Ventes")
    purchases = factory.binder(c1, "purchase_invoices", name="Achats")
    c2_binder = factory.binder(c2, "purchase_invoices", name="Achats garage")
    return {
        "firm": firm,
        "c1": c1,
        "c2": c2,
        "purchases": purchases,
        "sales": other,
        "c2_binder": c2_binder,
        "client": factory.user(firm, "uploader", email="client@boulangerie.fr", companies=[c1]),
        "accountant": factory.user(firm, "accountant", email="compta@cabinet.fr"),
    }


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _login(app, user):
    web = app.test_client()
    answer = web.post("/login", data={"email": user.email, "password": user.password})
    assert answer.status_code == 302
    return web


def test_uploader_lands_on_portal_and_deposits_into_purchase_binder(app, client_world):
    web = _login(app, client_world["client"])
    assert web.get("/").headers["Location"].endswith("/portal")
    home = _page(web.get("/portal"))
    assert "Prendre une photo" in home
    assert 'capture="environment"' in home
    assert "Choisir des fichiers" in home
    assert "Boulangerie Martin" in home
    assert "Garage Voisin" not in home  # not given to this client
    # The purchase binder is the default, the other one may be chosen.
    assert f'<option value="{client_world["purchases"].id}" selected' in home

    pdf = make_pdf_bytes(["Facture boulangerie farine"])
    answer = web.post(
        "/portal/upload",
        data={
            "company_id": str(client_world["c1"].id),
            "file": (io.BytesIO(pdf), "farine.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    with app.app_context():
        document = db.session.scalar(select(Document).where(Document.filename == "farine.pdf"))
        assert document.binder_id == client_world["purchases"].id
        assert document.uploaded_by_id == client_world["client"].id
    home = _page(web.get("/portal"))
    assert "1 document reçu" in home
    assert "farine.pdf" in home
    assert "Reçu" in home


def test_uploader_may_choose_another_binder_of_its_company_only(app, client_world):
    web = _login(app, client_world["client"])
    pdf = make_pdf_bytes(["Facture de vente 12"])
    web.post(
        "/portal/upload",
        data={
            "company_id": str(client_world["c1"].id),
            "binder_id": str(client_world["sales"].id),
            "file": (io.BytesIO(pdf), "vente.pdf"),
        },
        content_type="multipart/form-data",
    )
    foreign = web.post(
        "/portal/upload",
        data={
            "company_id": str(client_world["c1"].id),
            "binder_id": str(client_world["c2_binder"].id),
            "file": (io.BytesIO(make_pdf_bytes(["intrus"])), "intrus.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert foreign.status_code == 302
    other_company = web.post(
        "/portal/upload",
        data={
            "company_id": str(client_world["c2"].id),
            "file": (io.BytesIO(make_pdf_bytes(["intrus 2"])), "intrus2.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert other_company.status_code == 404
    with app.app_context():
        names = dict(db.session.execute(select(Document.filename, Document.binder_id)).all())
    assert names == {"vente.pdf": client_world["sales"].id}


def test_no_file_and_refused_file_say_so_in_french(app, client_world):
    web = _login(app, client_world["client"])
    empty = web.post(
        "/portal/upload",
        data={"company_id": str(client_world["c1"].id)},
        follow_redirects=True,
    )
    assert "Choisissez un fichier ou prenez une photo." in _page(empty)
    bad = web.post(
        "/portal/upload",
        data={
            "company_id": str(client_world["c1"].id),
            "file": (io.BytesIO(b"MZ\x90\x00 not a document"), "virus.exe"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "virus.exe :" in _page(bad)
    with app.app_context():
        assert db.session.scalar(select(Document.id)) is None


def test_states_in_the_clients_words(app, factory, client_world):
    binder = client_world["purchases"]
    docs = {
        state: factory.document(binder, state=state, filename=f"{state}.pdf")
        for state in ("received", "extracting", "to_review", "failed")
    }
    valid = factory.document(binder, state="validated", filename="valide.pdf")
    in_error = factory.document(binder, state="validated", filename="erreur-export.pdf")
    paid = factory.document(binder, state="validated", filename="paid-edf.pdf")
    due = factory.document(binder, state="validated", filename="due-orange.pdf")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=in_error.id,
                firm_id=client_world["firm"].id,
                connector="meg_export",
                state=ExportState.ERROR,
                message="HTTP 422 supplier.siren invalide",
            )
        )
        failed = db.session.get(Document, docs["failed"].id)
        failed.failure_reason = "pdftotext: Syntax Error"
        db.session.commit()
    web = _login(app, client_world["client"])
    rows = {row["filename"]: row for row in web.get("/api/v1/portal/documents").get_json()}
    assert rows["received.pdf"]["state_label"] == "Reçu"
    assert rows["extracting.pdf"]["state_label"] == "En cours de lecture"
    assert rows["to_review.pdf"]["state_label"] == "En cours de vérification par le cabinet"
    assert rows["valide.pdf"]["state_label"] == "Validé par le cabinet"
    assert rows["failed.pdf"]["state_label"] == "En cours de traitement par le cabinet"
    assert rows["erreur-export.pdf"]["state_label"] == "En cours de traitement par le cabinet"
    assert rows["paid-edf.pdf"]["payment"] == {
        "state": "paid",
        "due_date": "2026-11-30",
        "paid_at": "2026-11-28",
        "amount": "120.00",
    }
    assert rows["due-orange.pdf"]["payment"]["state"] == "pending"
    assert rows["valide.pdf"]["payment"] is None
    home = _page(web.get("/portal"))
    # Technical texts never reach the client.
    assert "supplier.siren" not in home
    assert "pdftotext" not in home
    assert "Réglé le 28/11/2026" in home
    assert "Règlement en attente — échéance le 31/12/2026" in home
    assert valid.id and paid.id and due.id


def test_request_answered_end_to_end(app, factory, client_world):
    accountant = _login(app, client_world["accountant"])
    company = client_world["c1"]
    page = _page(accountant.get(f"/companies/{company.id}"))
    assert "Demander un document au client" in page
    empty = accountant.post(
        f"/companies/{company.id}/requests", data={"message": "  "}, follow_redirects=True
    )
    assert "Écrivez ce que vous demandez au client." in _page(empty)
    accountant.post(
        f"/companies/{company.id}/requests",
        data={"message": "Merci de déposer la facture EDF de mars."},
    )
    document = factory.document(client_world["purchases"], state="to_review", filename="ticket.pdf")
    answer = accountant.post(
        f"/documents/{document.id}/request",
        data={"message": "Il manque la deuxième page."},
    )
    assert answer.status_code == 302
    with app.app_context():
        asked = db.session.scalars(select(DocumentRequest).order_by(DocumentRequest.id)).all()
        assert [(r.document_id, r.state) for r in asked] == [
            (None, RequestState.OPEN),
            (document.id, RequestState.OPEN),
        ]
        general, on_document = asked

    from core.notifications.models import Notification

    with app.app_context():
        told = db.session.scalars(
            select(Notification).where(Notification.user_id == client_world["client"].id)
        ).all()
        assert [n.kind for n in told] == ["document_request", "document_request"]
        assert "Il manque la deuxième page." in told[1].body

    client = _login(app, client_world["client"])
    home = _page(client.get("/portal"))
    assert home.index("Votre cabinet vous demande") < home.index("Déposer des documents")
    assert "Merci de déposer la facture EDF de mars." in home
    assert "Il manque la deuxième page." in home
    rows = {r["filename"]: r for r in client.get("/api/v1/portal/documents").get_json()}
    assert rows["ticket.pdf"]["state"] == "to_complete"
    assert rows["ticket.pdf"]["state_label"] == "À compléter"
    assert rows["ticket.pdf"]["request"]["message"] == "Il manque la deuxième page."

    pdf = make_pdf_bytes(["Facture EDF mars"])
    client.post(
        "/portal/upload",
        data={"request_id": str(general.id), "file": (io.BytesIO(pdf), "edf-mars.pdf")},
        content_type="multipart/form-data",
    )
    client.post(
        "/portal/upload",
        data={
            "request_id": str(on_document.id),
            "file": (io.BytesIO(make_pdf_bytes(["page 2"])), "page2.pdf"),
        },
        content_type="multipart/form-data",
    )
    with app.app_context():
        general = db.session.get(DocumentRequest, general.id)
        on_document = db.session.get(DocumentRequest, on_document.id)
        assert general.state == RequestState.FULFILLED
        answer_doc = db.session.get(Document, general.fulfilled_document_id)
        assert answer_doc.filename == "edf-mars.pdf"
        assert answer_doc.binder_id == client_world["purchases"].id
        assert general.fulfilled_at is not None
        assert on_document.state == RequestState.FULFILLED
        page2 = db.session.get(Document, on_document.fulfilled_document_id)
        assert page2.binder_id == document.binder_id
    with app.app_context():
        firm_told = db.session.scalars(
            select(Notification).where(Notification.user_id == client_world["accountant"].id)
        ).all()
        assert [n.kind for n in firm_told] == ["document_request", "document_request"]
        assert "edf-mars.pdf" in firm_told[0].body
    home = _page(client.get("/portal"))
    assert "Votre cabinet vous demande" not in home
    # Answering a closed request is refused.
    again = client.post(
        "/portal/upload",
        data={
            "request_id": str(general.id),
            "file": (io.BytesIO(make_pdf_bytes(["encore"])), "encore.pdf"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Cette demande n'est plus ouverte." in _page(again)
    # The accountant's pages show the answers.
    page = _page(accountant.get(f"/companies/{company.id}"))
    assert f'href="/documents/{answer_doc.id}"' in page
    assert "Reçu du client" in page
    doc_page = _page(accountant.get(f"/documents/{document.id}"))
    assert f'href="/documents/{page2.id}"' in doc_page


def test_cancel_request(app, client_world):
    accountant = _login(app, client_world["accountant"])
    company = client_world["c1"]
    accountant.post(f"/companies/{company.id}/requests", data={"message": "Relevé de banque"})
    with app.app_context():
        req_id = db.session.scalar(select(DocumentRequest.id))
    client = _login(app, client_world["client"])
    assert client.post("/portal/requests/cancel", data={"request_id": req_id}).status_code == 403
    accountant.post("/portal/requests/cancel", data={"request_id": req_id})
    with app.app_context():
        assert db.session.get(DocumentRequest, req_id).state == RequestState.CANCELLED
    assert "Relevé de banque" not in _page(client.get("/portal"))


def test_requests_api(app, factory, client_world):
    token = factory.token(client_world["accountant"])
    headers = {"Authorization": f"Bearer {token}"}
    web = app.test_client()
    company = client_world["c1"]
    created = web.post(
        f"/api/v1/companies/{company.id}/requests",
        json={"message": "Facture du loyer de janvier"},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["state"] == "open"
    bad = web.post(f"/api/v1/companies/{company.id}/requests", json={}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "message"
    other = factory.document(client_world["c2_binder"], filename="autre.pdf")
    wrong = web.post(
        f"/api/v1/companies/{company.id}/requests",
        json={"message": "x", "document_id": other.id},
        headers=headers,
    )
    assert wrong.status_code == 422
    listed = web.get(f"/api/v1/companies/{company.id}/requests", headers=headers).get_json()
    assert [r["message"] for r in listed] == ["Facture du loyer de janvier"]
    # A client reads its company's requests but cannot ask.
    client_headers = {"Authorization": f"Bearer {factory.token(client_world['client'])}"}
    assert (
        web.get(f"/api/v1/companies/{company.id}/requests", headers=client_headers).status_code
        == 200
    )
    assert (
        web.post(
            f"/api/v1/companies/{company.id}/requests",
            json={"message": "x"},
            headers=client_headers,
        ).status_code
        == 403
    )
    assert (
        web.get(
            f"/api/v1/companies/{client_world['c2'].id}/requests", headers=client_headers
        ).status_code
        == 404
    )
    spec = web.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/portal/documents" in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/companies/{company_id}/requests"]


def test_uploader_never_sees_other_companies_documents_or_requests(app, factory, client_world):
    factory.document(client_world["c2_binder"], filename="secret-garage.pdf")
    accountant = _login(app, client_world["accountant"])
    accountant.post(
        f"/companies/{client_world['c2'].id}/requests",
        data={"message": "Contrat confidentiel du garage"},
    )
    client = _login(app, client_world["client"])
    home = _page(client.get("/portal"))
    assert "secret-garage.pdf" not in home
    assert "Contrat confidentiel du garage" not in home
    assert client.get(f"/portal?company={client_world['c2'].id}").status_code == 200
    assert "secret-garage.pdf" not in _page(client.get(f"/portal?company={client_world['c2'].id}"))
    api = client.get(f"/api/v1/portal/documents?company_id={client_world['c2'].id}")
    assert api.status_code == 404
    with app.app_context():
        req_id = db.session.scalar(select(DocumentRequest.id))
    answer = client.post(
        "/portal/upload",
        data={
            "request_id": str(req_id),
            "file": (io.BytesIO(make_pdf_bytes(["intrus"])), "intrus.pdf"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Demande introuvable." in _page(answer)
    with app.app_context():
        assert db.session.get(DocumentRequest, req_id).state == RequestState.OPEN


def test_hook_document_payment(app, factory, client_world):
    """The portal asks plugins through the hook: the first answer wins, a failing plugin is
    logged and skipped (switched-off plugins: tests/plugins/meg_export/test_payments.py)."""

    class Broken:
        @hookimpl
        def document_payment(self, document):
            raise RuntimeError("boom")

    app.extensions["classeur"].pm.register(Broken())
    factory.document(client_world["purchases"], state="validated", filename="paid-x.pdf")
    web = _login(app, client_world["client"])
    rows = web.get("/api/v1/portal/documents").get_json()
    # Asked first (registered last), it fails: the other plugin still answers.
    assert rows[0]["payment"]["state"] == "paid"
    assert rows[0]["state_label"] == "Validé par le cabinet"


def test_request_answered_with_a_message_only(app, client_world):
    accountant = _login(app, client_world["accountant"])
    company = client_world["c1"]
    accountant.post(f"/companies/{company.id}/requests", data={"message": "Facture Orange ?"})
    with app.app_context():
        req_id = db.session.scalar(select(DocumentRequest.id))
    client = _login(app, client_world["client"])
    home = _page(client.get("/portal"))
    assert "Répondre par un message" in home
    empty = client.post("/portal/upload", data={"request_id": req_id}, follow_redirects=True)
    assert "Ajoutez le document demandé ou écrivez votre réponse." in _page(empty)
    too_long = client.post(
        "/portal/upload",
        data={"request_id": req_id, "answer": "x" * 2001},
        follow_redirects=True,
    )
    assert "Réponse trop longue" in _page(too_long)
    done = client.post(
        "/portal/upload",
        data={"request_id": req_id, "answer": "  Pas d'abonnement Orange cette année.  "},
        follow_redirects=True,
    )
    assert "Merci : votre réponse a été transmise à votre cabinet." in _page(done)
    with app.app_context():
        req = db.session.get(DocumentRequest, req_id)
        assert req.state == RequestState.FULFILLED
        assert req.answer == "Pas d'abonnement Orange cette année."
        assert req.fulfilled_document_id is None
        assert db.session.scalar(select(Document.id)) is None
    page = _page(accountant.get(f"/companies/{company.id}"))
    assert "Réponse du client :</strong> Pas d'abonnement Orange cette année." in page
    # Answered by a message only: « Réponse du client », not « Reçu du client ».
    assert "Reçu du client" not in page and ">Réponse du client</span>" in page
    with app.app_context():
        from core.notifications.models import Notification

        titles = set(db.session.scalars(select(Notification.title)))
        assert f"Le client a répondu : {company.name} — « Facture Orange ? »" in titles
    listed = accountant.get(f"/api/v1/companies/{company.id}/requests").get_json()
    assert listed[0]["answer"] == "Pas d'abonnement Orange cette année."


def test_older_documents_a_page_further(app, factory, client_world):
    for n in range(52):
        factory.document(
            client_world["purchases"], state="received", filename=f"ticket-{n:02d}.pdf"
        )
    web = _login(app, client_world["client"])
    first = _page(web.get("/portal"))
    assert "ticket-51.pdf" in first and "ticket-02.pdf" in first
    assert "ticket-01.pdf" not in first
    assert 'id="older"' in first
    second = _page(web.get("/portal?page=2"))
    assert "ticket-01.pdf" in second and "ticket-00.pdf" in second
    assert "ticket-02.pdf" not in second
    assert 'id="older"' not in second and "Documents plus récents" in second
    api = web.get("/api/v1/portal/documents?page=2").get_json()
    assert [row["filename"] for row in api] == ["ticket-01.pdf", "ticket-00.pdf"]
    assert web.get("/api/v1/portal/documents?page=0").status_code == 422


def test_company_without_binder_and_several_companies(app, factory, client_world):
    bare = factory.company(client_world["firm"], name="Atelier Sans Classeur", code="NOBIND")
    client = factory.user(client_world["firm"], "uploader", companies=[client_world["c1"], bare])
    web = _login(app, client)
    home = _page(web.get("/portal"))
    # Two companies: the page asks which one, for the view and for the deposit.
    assert "Toutes mes entreprises" in home
    assert 'id="deposit-company"' in home
    refused = web.post(
        "/portal/upload",
        data={"company_id": str(bare.id), "file": (io.BytesIO(make_pdf_bytes(["x"])), "x.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Cette entreprise n'a encore aucun classeur : contactez votre cabinet." in _page(refused)
    no_company = web.post(
        "/portal/upload",
        data={"file": (io.BytesIO(make_pdf_bytes(["y"])), "y.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Choisissez l'entreprise pour laquelle vous déposez." in _page(no_company)
    one = _page(web.get(f"/portal?company={client_world['c1'].id}"))
    assert 'id="deposit-company"' not in one
    assert f'name="company_id" value="{client_world["c1"].id}"' in one
    # The firm's own staff may open the portal too (every company of the firm).
    staff = _login(app, client_world["accountant"])
    assert "Garage Voisin" in _page(staff.get("/portal"))


def test_the_client_is_told_by_email_and_the_firm_when_answered(app, client_world, mail_outbox):
    accountant = _login(app, client_world["accountant"])
    company = client_world["c1"]
    accountant.post(
        f"/companies/{company.id}/requests", data={"message": "Relevé bancaire de novembre"}
    )
    [message] = mail_outbox.deliver()
    assert message["To"] == client_world["client"].email
    assert "Relevé bancaire de novembre" in mail_outbox.text(message)
    mail_outbox.clear()
    with app.app_context():
        req_id = db.session.scalar(select(DocumentRequest.id))
    client = _login(app, client_world["client"])
    client.post(
        "/portal/upload",
        data={
            "request_id": str(req_id),
            "file": (io.BytesIO(make_pdf_bytes(["Relevé novembre"])), "releve.pdf"),
        },
        content_type="multipart/form-data",
    )
    told = mail_outbox.deliver()
    assert [m["To"] for m in told] == [client_world["accountant"].email]
    assert "releve.pdf" in mail_outbox.text(told[0])
