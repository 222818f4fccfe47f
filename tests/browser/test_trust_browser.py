"""In a real browser (issue 11): an invoice addressed to another company of the firm is moved
there from the review page; a duplicate is declared "not a duplicate"; the supplier's card
shows what was learned with its source and forgets it; a class-4 account is not offered."""

from __future__ import annotations

import io

import pytest

from tests.browser.conftest import login
from tests.conftest import make_pdf_bytes, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    application.extensions["classeur"].tasks.start()
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def _invoice(number: str, client: str, client_siren: str) -> bytes:
    return make_pdf_bytes(
        [
            "Papeterie Moreau SARL",
            "SIREN 732 829 320",
            f"Facture n° {number}",
            "Date : 12/03/2026",
            f"Client : {client}",
            f"SIREN client : {client_siren}",
            "Ramettes de papier A4   100,00",
            "Total HT 100,00 EUR",
            "TVA 20 % 20,00 EUR",
            "Total TTC 120,00 EUR",
        ]
    )


def _stored(app, binder, user, content: bytes, name: str) -> int:
    from core.binders.models import Binder
    from core.db import db
    from core.documents.services import store_upload

    with app.app_context():
        stored = store_upload(db.session.get(Binder, binder.id), io.BytesIO(content), name, user.id)
        document_id = stored.document.id
    app.extensions["classeur"].tasks.run_now("process_document", document_id)
    wait_for(lambda: _document(app, document_id).state == "to_review")
    return document_id


def _document(app, document_id: int):
    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        document = db.session.get(Document, document_id)
        db.session.expunge(document)
        return document


def test_move_dismiss_and_the_supplier_card(page, live_server, factory, app):
    firm = factory.firm()
    bakery = factory.company(firm, name="Boulangerie Martin", code="BM01", siren="443061841")
    garage = factory.company(firm, name="Garage Dupont", code="GD01", siren="552100554")
    bakery_binder = factory.binder(bakery, name="Achats boulangerie")
    garage_binder = factory.binder(garage, name="Achats garage")
    user = factory.user(firm, "accountant")
    misfiled = _stored(
        app,
        garage_binder,
        user,
        _invoice("FA-10", "Boulangerie Martin SAS", "443 061 841"),
        "fa10.pdf",
    )

    login(page, live_server, user)
    page.goto(f"{live_server.url}/purchases/{misfiled}/review")
    assert "Boulangerie Martin SAS" in page.locator("#buyer").inner_text()
    check = page.locator('li[data-code="wrong_company"]')
    assert "Garage Dupont" in check.inner_text()
    # No account of class 4 is offered on the purchase line.
    options = page.locator("#f-line-0-account option").all_inner_texts()
    assert options and not [o for o in options if o.startswith("4")]
    check.get_by_role("button", name="Déplacer vers Boulangerie Martin").click()
    page.wait_for_load_state()
    wait_for(lambda: _document(app, misfiled).binder_id == bakery_binder.id)
    wait_for(lambda: _document(app, misfiled).state == "to_review")

    # Validated in its right company: the supplier's memory learns its account.
    page.goto(f"{live_server.url}/purchases/{misfiled}/review")
    assert page.locator('li[data-code="wrong_company"]').count() == 0
    page.select_option("#f-line-0-account", "6064")
    page.locator("#validate").click()
    page.wait_for_load_state()
    wait_for(lambda: _document(app, misfiled).state == "validated")

    # The same invoice number again: a duplicate, which the accountant says it is not.
    again = _stored(
        app,
        bakery_binder,
        user,
        _invoice("FA-10", "Boulangerie Martin", "443 061 841") + b"\n% autre",
        "fa10-bis.pdf",
    )
    page.goto(f"{live_server.url}/purchases/{again}/review")
    duplicate = page.locator('li[data-code="duplicate"]')
    assert duplicate.locator("a.duplicate-link").get_attribute("href") == f"/documents/{misfiled}"
    proposal = page.locator("#proposal").inner_text()
    assert "6064" in proposal and "FA-10" in proposal
    duplicate.get_by_role("button", name="Ce n'est pas un doublon").click()
    page.wait_for_load_state()
    assert page.locator('li[data-code="duplicate"]').count() == 0

    # The supplier's card: the learned account, its source, and "Oublier".
    page.goto(f"{live_server.url}/purchases/companies/{bakery.id}/suppliers")
    page.get_by_role("link", name="Papeterie Moreau SARL").click()
    row = page.locator('tr[data-field="account"]')
    assert "6064" in row.inner_text() and "FA-10" in row.inner_text()
    row.get_by_role("button", name="Oublier").click()
    page.wait_for_load_state()
    assert page.locator('tr[data-field="account"]').count() == 0


@pytest.mark.parametrize("width", [1366, 1920])
def test_the_lines_table_fits_its_card(page, live_server, factory, app, width):
    """Every column of the lines table, "Code TVA" included, is inside the form's card."""
    from core.db import db
    from core.tenancy.models import Company
    from core.tenancy.services import update_company_settings
    from plugins.binder_purchases.settings import DEFAULT_ELEMENTS

    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, name="Achats")
    with app.app_context():
        update_company_settings(
            db.session.get(Company, company.id),
            "accounting",
            {"purchase_binder_id": binder.id, "elements": {**DEFAULT_ELEMENTS, "vat_codes": True}},
        )
        db.session.commit()
    user = factory.user(firm, "accountant")
    document = _stored(
        app, binder, user, _invoice("FA-20", "Boulangerie Martin", "443 061 841"), "a.pdf"
    )
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, user)
    page.goto(f"{live_server.url}/purchases/{document}/review")
    card = page.locator("#review-form").bounding_box()
    for selector in ("#f-line-0-account", "#f-line-0-vat_code", "#f-vat-0-amount"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 40, selector
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
