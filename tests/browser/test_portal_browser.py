"""In a real browser at phone size (390×844): the client lands on its portal, nothing overflows
sideways, the buttons are large enough to tap, a chosen file is sent at once and followed in the
client's words, a payment is shown, and the firm's request is answered from the phone and seen
on the accountant's company page."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.plugins.hookspecs import hookimpl
from tests.conftest import make_pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


class DuePayment:
    """A connector that knows one pending payment (documents named ``due-*``)."""

    @hookimpl
    def document_payment(self, document):
        if document.filename.startswith("due-"):
            return {
                "state": "pending",
                "due_date": date(2026, 12, 31),
                "paid_at": None,
                "amount": "99.00",
                "connector": "test",
            }
        return None


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app(
        {**app_config, "WTF_CSRF_ENABLED": True, "EXTRA_PLUGINS": [DuePayment()]}
    )
    application.extensions["classeur"].tasks.start()
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def _login(page: Any, url: str, user: Any, lands_on: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(url + lands_on)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a 390px screen"


def _tap_size(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, (selector, box)


def test_portal_on_a_phone(browser, live_server, factory, tmp_path):
    firm = factory.firm("Cabinet Durand")
    company = factory.company(firm, name="Boulangerie Martin", code="BOUL01")
    factory.binder(company, "admin_documents", name="Administratif")
    purchases = factory.binder(company, "purchase_invoices", name="Factures d'achat")
    factory.document(purchases, state="validated", filename="due-orange.pdf")
    client = factory.user(firm, "uploader", email="martin@boulangerie.fr", companies=[company])
    accountant = factory.user(firm, "accountant", email="compta@durand.fr")
    url = live_server.url

    # The accountant asks the client for a document from the company page.
    desk = browser.new_context(locale="fr-FR")
    office = desk.new_page()
    office.set_default_timeout(15000)
    _login(office, url, accountant, "/")
    office.goto(url + f"/companies/{company.id}")
    office.get_by_text("Demander un document au client").click()
    office.get_by_label("Message au client").fill("Merci de déposer la facture EDF de mars.")
    office.get_by_role("button", name="Envoyer la demande").click()
    office.wait_for_url(url + f"/companies/{company.id}#requests")
    assert "Demande envoyée au client." in office.locator(".flash").inner_text()
    assert "En attente du client" in office.locator("#requests-list").inner_text()

    phone_context = browser.new_context(
        locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True
    )
    phone = phone_context.new_page()
    phone.set_default_timeout(15000)
    try:
        _login(phone, url, client, "/portal")
        assert phone.locator("h1").inner_text() == "Mon espace"
        # The request comes first, before the deposit.
        requests = phone.locator("#requests")
        assert "Merci de déposer la facture EDF de mars." in requests.inner_text()
        assert requests.bounding_box()["y"] < phone.locator("#deposit").bounding_box()["y"]
        _no_sideways_scroll(phone)
        for selector in (
            "#take-photo",
            "#choose-files",
            "#requests label.big-button",
            "#requests summary",
        ):
            _tap_size(phone, selector)
        camera = phone.locator("#take-photo input[type=file]")
        assert camera.get_attribute("accept") == "image/*"
        assert camera.get_attribute("capture") == "environment"
        # The payment MEG holds for a validated purchase, in the client's words.
        due = phone.locator("li.portal-document", has_text="due-orange.pdf")
        assert "Validé par le cabinet" in due.inner_text()
        assert "Règlement en attente — échéance le 31/12/2026" in due.inner_text()

        # Choosing a file sends it at once, into the purchase binder.
        invoice = tmp_path / "farine.pdf"
        invoice.write_bytes(make_pdf_bytes(["Facture Moulin de la Vallée farine T65"]))
        phone.locator("#choose-files input[type=file]").set_input_files(str(invoice))
        phone.wait_for_selector("text=1 document reçu")
        row = phone.locator("li.portal-document", has_text="farine.pdf")
        assert row.locator(".state").inner_text() in {
            "Reçu",
            "En cours de lecture",
            "En cours de vérification par le cabinet",
        }
        _no_sideways_scroll(phone)

        # Answering the request from the phone.
        answer = tmp_path / "edf-mars.pdf"
        answer.write_bytes(make_pdf_bytes(["Facture EDF mars électricité fournil"]))
        phone.locator("#requests input[type=file]").set_input_files(str(answer))
        phone.wait_for_selector("text=Merci : votre cabinet a reçu le document demandé.")
        assert phone.locator("#requests").count() == 0
        assert phone.locator("li.portal-document", has_text="edf-mars.pdf").count() == 1
        _no_sideways_scroll(phone)
    finally:
        phone_context.close()

    # The accountant's company page shows the answer, linked to the new document.
    office.goto(url + f"/companies/{company.id}")
    listed = office.locator("#requests-list li").first
    assert "Reçu du client" in listed.inner_text()
    listed.locator("a.request-answer").click()
    office.wait_for_url(url + "/documents/*")
    assert office.locator("h1").inner_text() == "edf-mars.pdf"
    desk.close()
