"""Issue 11, finding 1, end to end with binder_purchases and a real sandbox: an account MEG
refuses is not learned; once corrected and accepted, the corrected one is, and the refused one
is never proposed again for the supplier. Also: nothing is learned while MEG has not
accepted the invoice, and a class-4 account never reaches MEG."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.db import db
from core.documents.models import Document
from tests.conftest import wait_for

INVOICE_LINES = [
    "Papeterie Durand SARL",
    "12 rue des Lilas, 75011 Paris",
    "SIREN 552 100 554",
    "",
    "Facture n° {number}",
    "Date : 12/03/2026",
    "Échéance : 11/04/2026",
    "Client : Boulangerie Martin",
    "",
    "Ramettes de papier A4          100,00",
    "Total HT 100,00 EUR",
    "TVA 20 % 20,00 EUR",
    "Total TTC 120,00 EUR",
]


@pytest.fixture
def app_config(app_config):
    """The purchase plugin too: its review checks and its memory are under test here."""
    return {**app_config, "PLUGINS": "core,binder_purchases,meg_export", "EXTRA_PLUGINS": []}


def _pdf(number: str, due: bool = True) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 60
    for line in INVOICE_LINES:
        if not due and line.startswith("Échéance"):
            continue
        c.drawString(50, y, line.format(number=number))
        y -= 20
    c.showPage()
    c.save()
    return buf.getvalue()


class Flow:
    def __init__(self, app, meg, factory):
        self.app, self.meg, self.web = app, meg, meg.web
        self.binder = factory.binder(meg.company, "purchase_invoices")
        if not meg.runner.running:
            meg.runner.start()  # exports run in the background, as in production

    def drop(self, number: str, due: bool = True) -> int:
        response = self.web.post(
            f"/api/v1/binders/{self.binder.id}/documents",
            data={"file": (io.BytesIO(_pdf(number, due)), f"{number}.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 202, response.text
        document_id = response.get_json()["documents"][0]["id"]
        self.app.extensions["classeur"].tasks.run_now("process_document", document_id)
        wait_for(lambda: self.get(document_id)["state"] == "to_review")
        return document_id

    def get(self, document_id: int) -> dict:
        return self.web.get(f"/api/v1/documents/{document_id}").get_json()

    def set_account(self, document_id: int, account: str) -> None:
        fields = self.get(document_id)["fields"]
        accounting = fields["accounting"]
        lines = [{**line, "account": account} for line in accounting["lines"]]
        answer = self.web.patch(
            f"/api/v1/documents/{document_id}/fields",
            json={"accounting": {**accounting, "lines": lines}},
        )
        assert answer.status_code == 200, answer.text

    def validate(self, document_id: int):
        return self.web.post(f"/api/v1/documents/{document_id}/validate")

    def export_state(self, document_id: int) -> dict:
        def final():
            exports = self.get(document_id).get("exports") or []
            done = [e for e in exports if e["state"] in ("exported", "error")]
            return done[0] if done else None

        return wait_for(final, timeout=60)

    def memory(self) -> set[tuple[str, str, str]]:
        from plugins.binder_purchases.models import SupplierMemory

        with self.app.app_context():
            return {
                (r.field, r.value, r.status) for r in db.session.scalars(select(SupplierMemory))
            }


def test_a_refused_account_is_unlearned_and_the_correction_learned(app, meg_for, factory):
    meg = meg_for("DEMO01")
    flow = Flow(app, meg, factory)
    meg.sandbox.faults(closed_accounts=["6068"])
    first = flow.drop("F124212")
    flow.set_account(first, "6068")
    assert flow.validate(first).status_code == 200
    error = flow.export_state(first)
    assert error["state"] == "error" and "fermé" in error["message"]
    # Refused by MEG: remembered as refused (by the after_export hooks, which run once the
    # export's state is committed: waited for), nothing learned.
    wait_for(lambda: ("account", "6068", "refused") in flow.memory(), timeout=30)
    assert not {m for m in flow.memory() if m[2] == "learned" and m[0] == "account"}
    # Corrected and resent through the review page ("Enregistrer et renvoyer").
    flow.set_account(first, "6064")
    resend = flow.web.post(f"/api/v1/documents/{first}/exports/meg_export/retry")
    assert resend.status_code == 202, resend.text
    assert flow.export_state(first)["state"] == "exported"
    wait_for(lambda: ("account", "6064", "learned") in flow.memory(), timeout=30)
    assert ("account", "6068", "refused") in flow.memory()
    # The next invoice: the corrected account, with its source; never 6068.
    second = flow.drop("F124213")
    proposal = flow.get(second)["fields"]["accounting"]["proposal"]
    assert proposal["account"] == "6064" and proposal["source"] == "supplier"
    assert "F124212" in proposal["reason"]
    # The supplier's card shows both, the refusal with MEG's message.
    from plugins.binder_purchases.models import Supplier

    with app.app_context():
        supplier = db.session.scalars(select(Supplier)).one()
    card = flow.web.get(f"/purchases/companies/{meg.company.id}/suppliers/{supplier.id}").get_data(
        as_text=True
    )
    assert 'data-value="6068"' in card and "Refusé" in card and "fermé" in card
    # Typing the refused account again is flagged on the line.
    flow.set_account(second, "6068")
    checks = {c["code"]: c for c in flow.get(second)["checks"]}
    assert checks["account_refused_before"]["field"] == "accounting.lines[0].account"


def test_nothing_is_learned_before_meg_accepts(app, meg_for, factory):
    meg = meg_for("DEMO01")
    flow = Flow(app, meg, factory)
    meg.sandbox.faults(error_5xx_next=100, error_5xx_rate=1.0)
    first = flow.drop("F200")
    flow.set_account(first, "6063")
    assert flow.validate(first).status_code == 200
    wait_for(
        lambda: (flow.get(first).get("exports") or [{}])[0].get("attempts", 0) >= 1, timeout=30
    )
    assert not flow.memory()
    meg.sandbox.faults(error_5xx_next=0, error_5xx_rate=0.0)
    assert flow.export_state(first)["state"] == "exported"
    wait_for(lambda: ("account", "6063", "learned") in flow.memory(), timeout=30)


def test_a_class_4_account_never_reaches_meg(app, meg_for, factory):
    meg = meg_for("DEMO01")
    flow = Flow(app, meg, factory)
    document = flow.drop("F401")
    flow.set_account(document, "401")
    answer = flow.validate(document)
    assert answer.status_code == 422
    assert "classe 4" in answer.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.get(Document, document).state == "to_review"
    assert meg.purchases() == []


def test_what_meg_requires_is_required_before_sending(app, meg_for, factory):
    """MEG refuses a purchase without a due date: the review asks for it first, and shows the
    field even though the company did not enable "date d'échéance"."""
    meg = meg_for("DEMO01")
    flow = Flow(app, meg, factory)
    document = flow.drop("F-9100", due=False)
    flow.set_account(document, "6064")
    missing = {c["field"]: c for c in flow.get(document)["checks"] if c["code"] == "missing_field"}
    assert list(missing) == ["due_date"]
    assert "(exigé par MEG (RCA))" in missing["due_date"]["message"]
    answer = flow.validate(document)
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == "due_date"
    assert meg.purchases() == []
    page = flow.web.get(f"/purchases/{document}/review").get_data(as_text=True)
    assert 'id="f-due_date"' in page


def test_the_settings_page_says_what_the_connector_accepts(app, meg_for, factory):
    meg = meg_for("DEMO01")
    flow = Flow(app, meg, factory)
    from core.tenancy.models import Company
    from core.tenancy.services import update_company_settings

    with app.app_context():
        company = db.session.get(Company, meg.company.id)
        update_company_settings(company, "accounting", {"purchase_binder_id": flow.binder.id})
        db.session.commit()
    page = flow.web.get(f"/companies/{meg.company.id}/accounting").get_data(as_text=True)
    assert "Connecteurs actifs : MEG (RCA)." in page
    assert "Classes de comptes acceptées : 2 et 6." in page
    assert "Date d&#39;échéance" in page or "Date d'échéance" in page
