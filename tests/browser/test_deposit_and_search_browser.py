"""In a real browser: "Bannettes" → "+ ajouter" → "déposer des documents", drop a born-digital
PDF, a scan and an XML e-invoice, watch them become ready, then find a word only the OCR could
read, and use the checkbox "Erreur lors de l'export"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import login
from tests.conftest import make_pdf_bytes, make_scan_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XML_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "invoices"


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    application.extensions["classeur"].tasks.start()
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def test_drop_files_watch_them_and_search(page, live_server, factory, tmp_path, app):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    factory.binder(company, "admin_documents", name="Administratif")
    user = factory.user(firm, "accountant")
    pdf = tmp_path / "contrat.pdf"
    pdf.write_bytes(make_pdf_bytes(["Contrat de location du fournil"]))
    scan = tmp_path / "scan.png"
    scan.write_bytes(make_scan_bytes(["Quittance Ermenonville", "Loyer de mars"]))
    xml = next(iter(sorted(XML_SAMPLE.rglob("*.xml"))), None)
    files = [pdf, scan]
    if xml is not None:
        shutil.copy(xml, tmp_path / "einvoice.xml")
        files.append(tmp_path / "einvoice.xml")
    empty = tmp_path / "vide.pdf"
    empty.write_bytes(b"")
    files.append(empty)

    login(page, live_server, user)
    page.get_by_role("link", name="Bannettes").click()
    page.get_by_text("+ ajouter").click()
    page.get_by_role("link", name="déposer des documents").click()
    page.locator("#files").set_input_files([str(f) for f in files])
    rows = page.locator("#uploads tbody tr")
    assert rows.count() == len(files)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#uploads tbody tr')].every("
        "r => ['to_review', 'failed'].includes(r.dataset.state))",
        timeout=120000,
    )
    done = page.locator("#uploads tbody tr[data-state='to_review']")
    assert done.count() == len(files) - 1
    failed = page.locator("#uploads tbody tr[data-state='failed']")
    assert "vide" in failed.inner_text()

    live_server.app.extensions["classeur"].search.flush(30)
    page.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Recherche").fill("ermenonville")
    page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#results li")
    assert results.count() == 1
    assert "scan.png" in results.inner_text()
    assert results.locator("mark").count() >= 1

    page.get_by_label("Erreur lors de l'export").check()
    page.get_by_role("button", name="Rechercher").click()
    assert "Aucun document ne correspond" in page.locator("#results").inner_text()

    results_link = page.get_by_role("link", name="Rechercher")
    results_link.click()
    page.get_by_label("Recherche").fill("fournil")
    page.get_by_role("button", name="Rechercher").click()
    page.locator("#results a").first.click()
    assert page.get_by_role("heading", name="contrat.pdf").is_visible()
    assert page.locator("#text").inner_text().count("fournil") == 1
