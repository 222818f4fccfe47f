"""In a real browser, keyboard only: an accountant opens a pre-filled purchase invoice's page
"À valider", corrects a field, validates with Ctrl+Entrée and lands on the next invoice; the
last one is validated by tabbing to "Valider"."""

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


def _invoice(number: str) -> bytes:
    return make_pdf_bytes(
        [
            "Papeterie Moreau SARL",
            "SIREN 732 829 320",
            f"Facture n° {number}",
            "Date : 12/03/2026",
            "Client : Boulangerie Martin",
            "Ramettes de papier A4   100,00",
            "Total HT 100,00 EUR",
            "TVA 20 % 20,00 EUR",
            "Total TTC 120,00 EUR",
        ]
    )


def _stored(app, binder, user, number: str) -> int:
    from core.binders.models import Binder
    from core.db import db
    from core.documents.services import store_upload

    with app.app_context():
        stored = store_upload(
            db.session.get(Binder, binder.id),
            io.BytesIO(_invoice(number)),
            f"{number}.pdf",
            user.id,
        )
        document_id = stored.document.id
    app.extensions["classeur"].tasks.run_now("process_document", document_id)
    return document_id


def _state(app, document_id: int) -> tuple[str, dict]:
    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        document = db.session.get(Document, document_id)
        return str(document.state), dict(document.fields or {})


def test_review_with_the_keyboard_only(page, live_server, factory, app):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, name="Factures d'achat")
    user = factory.user(firm, "accountant")
    first = _stored(app, binder, user, "FA-1")
    second = _stored(app, binder, user, "FA-2")
    for document_id in (first, second):
        wait_for(lambda d=document_id: _state(app, d)[0] == "to_review")

    login(page, live_server, user)
    page.goto(f"{live_server.url}/purchases/{first}/review")
    assert page.locator("#proposal").inner_text().count("règle : fournitures") == 1
    # Autofocus on the first field: the supplier's name, guessed from the text (highlighted).
    focused = page.evaluate("document.activeElement.name")
    assert focused == "supplier.name"
    assert "low-confidence" in page.locator("#f-supplier\\.name").get_attribute("class")
    page.keyboard.press("Control+A")
    page.keyboard.type("Papeterie Moreau")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server.url}/purchases/{second}/review")
    state, fields = _state(app, first)
    assert state == "validated"
    assert fields["supplier"]["name"] == "Papeterie Moreau"
    assert fields["accounting"]["lines"][0]["account"] == "6064"

    # The last one: Tab to the plain "Valider" button, then Enter.
    assert page.evaluate("document.activeElement.name") == "supplier.name"
    for _ in range(80):
        if page.evaluate("document.activeElement.id") == "validate":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "validate"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/trays/{binder.id}")
    assert _state(app, second)[0] == "validated"
