"""In a real browser (CSRF on): the document page reads like a page for a person (no key, no
identifier, no ISO date), its viewer zooms and turns pages, a field clicked is boxed on the page,
an XML e-invoice is shown readable, and an export in error turns "Exporté" after « Renvoyer »
without reloading (the real MEG sandbox)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer, login
from tests.conftest import make_pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "invoices"

FIELDS = {
    "source": "text",
    "document_kind": "invoice",
    "supplier": {"name": "Free", "siren": "421938861", "vat_number": "FR60421938861"},
    "invoice_number": "FA-2026-0042",
    "invoice_date": "2026-10-15",
    "due_date": "2026-11-14",
    "currency": "EUR",
    "total_excl_tax": "1250.00",
    "total_tax": "250.00",
    "total_incl_tax": "1500.00",
    "vat_lines": [{"rate": "20", "base": "1250.00", "amount": "250.00", "regime": "standard"}],
    "payment_mode": "transfer",
    "vat_regime": "standard",
    "accounting": {
        "lines": [
            {
                "account": "626000",
                "label": "Abonnement",
                "vat_code": "FR_200",
                "amount_excl_tax": "1250.00",
                "vat_amount": "250.00",
            }
        ],
        "proposal": {"source": "model", "confidence": 0.82, "account": "626000"},
        "supplier_id": None,
    },
}


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    application.extensions["classeur"].tasks.start()
    yield application
    application.extensions["classeur"].tasks.stop()
    state = application.extensions["classeur"]
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


def _set(app, document_id: int, **values) -> None:
    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        document = db.session.get(Document, document_id)
        for key, value in values.items():
            setattr(document, key, value)
        db.session.commit()


def test_purchase_invoice_page_viewer_and_highlight(page, live_server, factory, app):
    from playwright.sync_api import expect

    firm = factory.firm()
    binder = factory.binder(factory.company(firm, name="Boulangerie Martin"), name="Achats")
    user = factory.user(firm, "accountant")
    content = make_pdf_bytes(
        ["Free SAS", "Facture FA-2026-0042 du 15/10/2026", "Total TTC : 1 500,00 EUR"], pages=3
    )
    doc = factory.document(binder, fields=FIELDS, content=content, filename="free.pdf")
    _set(app, doc.id, pages=3)

    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")
    main = page.locator("main").inner_text()
    for raw in ("amount_excl_tax", "meg_export", "supplier_id", "vat_number", "proposal"):
        assert raw not in main, raw
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", main), "an ISO date is shown"
    fields = page.locator("#fields")
    expect(fields).to_contain_text("15/10/2026")
    expect(fields).to_contain_text("Virement")
    expect(fields).to_contain_text("Proposé par le modèle (confiance 82 %)")
    assert "1 250,00 €" in fields.inner_text().replace("\u202f", " ").replace("\u00a0", " ")

    # Every page reachable, one after the other.
    indicator = page.locator("#page-indicator")
    expect(indicator).to_have_text("page 1 / 3")
    expect(page.locator("#page-1 img")).to_have_attribute("src", re.compile(r"/pages/1\.png$"))
    expect(page.locator("#page-1.loaded")).to_have_count(1)
    page.get_by_role("button", name="Page suivante").click()
    expect(indicator).to_have_text("page 2 / 3")
    page.get_by_role("button", name="Page suivante").click()
    expect(indicator).to_have_text("page 3 / 3")
    expect(page.locator("#page-3 img")).to_have_attribute("src", re.compile(r"/pages/3\.png$"))
    expect(page.get_by_role("button", name="Page suivante")).to_be_disabled()
    page.get_by_role("button", name="Page précédente").click()
    expect(indicator).to_have_text("page 2 / 3")

    # Zoom: the page image grows, and "Ajuster" brings it back to the column's width.
    def width() -> float:
        return page.locator("#page-1 img").bounding_box()["width"]

    fitted = width()
    page.get_by_role("button", name="Agrandir").click()
    expect(page.locator("#zoom-level")).to_have_text("125 %")
    assert width() > fitted * 1.2
    page.get_by_role("button", name="Ajuster").click()
    assert abs(width() - fitted) < 1
    page.get_by_role("button", name="Réduire").click()
    assert width() < fitted * 0.9
    page.get_by_role("button", name="Ajuster").click()
    # Ctrl + wheel over the pages zooms too.
    page.locator("#viewer-scroll").hover()
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    expect(page.locator("#zoom-level")).to_have_text("125 %")
    page.get_by_role("button", name="Ajuster").click()

    # The invoice number, clicked, is boxed on the page over the word that gave it.
    page.locator('.field-value[data-field="invoice_number"]').click()
    # (the number is printed on every page: one box on each)
    expect(page.locator('.word-box[data-field="invoice_number"]')).to_have_count(3)
    box = page.locator('#page-1 .word-box[data-field="invoice_number"]')
    expect(box).to_be_visible()
    mark = box.bounding_box()
    image = page.locator("#page-1 img").bounding_box()
    assert image["x"] <= mark["x"] and mark["x"] + mark["width"] <= image["x"] + image["width"]
    assert 0 < mark["width"] < image["width"] / 2
    # Another field replaces the boxes.
    page.locator('.field-value[data-field="total_incl_tax"]').click()
    expect(page.locator('.word-box[data-field="total_incl_tax"]').first).to_be_visible()
    expect(page.locator('.word-box[data-field="invoice_number"]')).to_have_count(0)

    # Original opens in a new tab (inline), "Télécharger" downloads.
    expect(page.locator("#open-original")).to_have_attribute("target", "_blank")
    with page.expect_download() as download:
        page.locator("#download-original").click()
    assert download.value.suggested_filename == "free.pdf"


def test_xml_einvoice_is_readable(page, live_server, factory, app):
    from playwright.sync_api import expect

    firm = factory.firm()
    binder = factory.binder(factory.company(firm), name="Achats")
    user = factory.user(firm, "accountant")
    content = (SAMPLES / "akretion" / "factur-x-en16931.xml").read_bytes()
    doc = factory.document(binder, content=content, filename="facture.xml")
    _set(app, doc.id, media_type="application/xml", pages=0)

    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")
    seller = page.locator("#einvoice-seller")
    expect(seller).to_be_visible()
    assert seller.locator("strong").inner_text().strip() not in ("", "—")
    totals = page.locator("#einvoice-totals")
    expect(totals).to_contain_text("Total TTC")
    assert re.search(r"\d,\d\d\s€", totals.inner_text().replace("\u202f", " "))
    expect(page.locator("#einvoice-lines tbody tr").first).to_be_visible()
    # The raw XML beside, folded, escaped.
    xml = page.locator("#einvoice-xml pre")
    expect(xml).to_be_hidden()
    page.locator("#einvoice-xml summary").click()
    expect(xml).to_contain_text("<rsm:CrossIndustryInvoice")


def test_export_row_turns_sent_after_resend_without_reload(page, factory, app, tmp_path):
    from playwright.sync_api import expect

    from core.db import db
    from core.exports.models import ExportStatus
    from tests.plugins.meg_export.conftest import (
        PURCHASE_FIELDS,
        _link_through_pages,
        _serve,
    )

    config = {"SANDBOX_DATA_DIR": str(tmp_path / "meg"), "SESSION_COOKIE_NAME": "meg_sb"}
    with _serve(config) as sandbox:
        app.config["MEG_BASE_URL"] = sandbox.base_url
        firm = factory.firm()
        company = factory.company(firm, name="Démo", code="DEMO01")
        binder = factory.binder(company, name="Achats")
        admin = factory.user(firm, "admin")
        web = app.test_client()
        # The link through Classeur's pages, posted by the test client (no CSRF token there).
        app.config["WTF_CSRF_ENABLED"] = False
        try:
            web.post("/login", data={"email": admin.email, "password": admin.password})
            linked = _link_through_pages(web, sandbox, company)
        finally:
            app.config["WTF_CSRF_ENABLED"] = True
        assert linked.status_code == 302, linked.text
        fields = copy.deepcopy(PURCHASE_FIELDS)
        doc = factory.document(
            binder,
            state="validated",
            fields=fields,
            content=make_pdf_bytes(["Free", "Facture FA-2024-0001"]),
        )
        with app.app_context():
            db.session.add(
                ExportStatus(
                    document_id=doc.id,
                    firm_id=firm.id,
                    connector="meg_export",
                    state="error",
                    message="MEG ne répondait pas.",
                    attempts=3,
                )
            )
            db.session.commit()

        server = LiveServer(app).start()
        try:
            login(page, server, admin)
            page.goto(f"{server.url}/documents/{doc.id}")
            row = page.locator('#exports tr[data-connector="meg_export"]')
            expect(row).to_contain_text("MEG (RCA)")
            expect(row).to_contain_text("Erreur lors de l'export")
            expect(row).to_contain_text("3 tentatives")
            page.evaluate("window.__same_page = true")
            row.get_by_role("button", name="Renvoyer").click()
            # Never the old error beside the new state; then the new result, same page.
            expect(row).not_to_contain_text("MEG ne répondait pas.")
            expect(row.locator(".state")).to_have_text(re.compile(r"^Exporté"), timeout=60000)
            expect(row).to_contain_text("Achat n°")
            expect(page.locator("#history")).not_to_contain_text("meg_export")
            assert page.evaluate("window.__same_page === true")
        finally:
            server.stop()


def test_reading_state_follows_without_reload(page, live_server, factory, app):
    """A document being read: its badge turns « À valider » and its fields appear by
    themselves once the worker has read it."""
    from playwright.sync_api import expect

    from core.db import db
    from core.documents.services import submit_processing

    firm = factory.firm()
    binder = factory.binder(factory.company(firm), name="Achats")
    user = factory.user(firm, "accountant")
    content = make_pdf_bytes(["SARL Fournil", "Facture n° F-881 du 02/03/2026", "Total TTC 60,00"])
    doc = factory.document(binder, state="received", content=content, filename="fournil.pdf")
    _set(app, doc.id, fields=None, text=None)

    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")
    expect(page.locator("#state")).to_have_text("Reçu")
    expect(page.locator("#fields")).to_have_count(0)
    with app.app_context():
        submit_processing([doc.id])
        db.session.commit()
    expect(page.locator("#state")).to_have_text("À valider", timeout=60000)
    expect(page.locator("#fields")).to_contain_text("F-881")
