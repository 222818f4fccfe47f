"""In a real browser: "déposer des documents" opens on the binder the user came from, makes
the user choose when there is no hint, says where each file went, and keeps a duplicate's
message with a link to the document already there."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login
from tests.conftest import make_pdf_bytes

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


def test_upload_page_binder_choice_destination_and_duplicate(page, live_server, factory, tmp_path):
    firm = factory.firm()
    first = factory.company(firm, name="Alpha Conseil", code="ALPHA")
    factory.binder(first, "admin_documents", name="Administratif")
    second = factory.company(firm, name="Boulangerie Martin", code="BOUL01")
    factory.binder(second, "admin_documents", name="Administratif")
    target = factory.binder(second, "admin_documents", name="Contrats")
    user = factory.user(firm, "accountant")
    contract = tmp_path / "contrat.pdf"
    contract.write_bytes(make_pdf_bytes(["Contrat de location du fournil"]))
    lease = tmp_path / "bail.pdf"
    lease.write_bytes(make_pdf_bytes(["Bail commercial de la boutique"]))

    login(page, live_server, user)

    # No hint: nothing preselected, and a drop is refused until a binder is chosen.
    page.goto(live_server.url + "/trays/upload")
    select = page.get_by_label("Entreprise et classeur")
    assert select.input_value() == ""
    assert "choisir un classeur" in select.locator("option:checked").inner_text()
    page.locator("#files").set_input_files([str(contract)])
    assert page.locator("#binder-error").is_visible()
    assert page.locator("#uploads tbody tr").count() == 0

    # From the company page, the binder's link opens the page on that binder.
    page.goto(live_server.url + f"/companies/{second.id}")
    page.locator("#binders tr", has_text="Contrats").get_by_role(
        "link", name="déposer des documents"
    ).click()
    assert select.input_value() == str(target.id)
    assert not page.locator("#binder-error").is_visible()

    page.locator("#files").set_input_files([str(contract)])
    row = page.locator("#uploads tbody tr").nth(0)
    assert row.locator(".binder").inner_text() == "Boulangerie Martin (BOUL01) — Contrats"
    page.wait_for_function(
        "() => document.querySelector('#uploads tbody tr').dataset.state === 'to_review'",
        timeout=120000,
    )
    document_href = row.locator(".name a").get_attribute("href")
    assert re.fullmatch(r"/documents/\d+", document_href or "")

    # The same file again: "Déjà déposé" with a link to the existing document...
    page.locator("#files").set_input_files([str(contract)])
    duplicate = page.locator("#uploads tbody tr").nth(1)
    duplicate.and_(page.locator("[data-state='duplicate']")).wait_for()
    assert "Déjà déposé" in duplicate.locator(".status").inner_text()
    assert duplicate.locator(".status a").get_attribute("href") == document_href
    # ... still there once a later file has been followed to its end (the old page replaced
    # it with the existing document's state at the first poll).
    page.locator("#files").set_input_files([str(lease)])
    page.wait_for_function(
        "() => document.querySelectorAll('#uploads tbody tr')[2].dataset.state === 'to_review'",
        timeout=120000,
    )
    assert duplicate.get_attribute("data-state") == "duplicate"
    assert "Déjà déposé" in duplicate.locator(".status").inner_text()

    # Badges are spans inside ordinary table cells, aligned like every other table's.
    displays = page.eval_on_selector_all(
        "#uploads td.status",
        "cells => cells.map(c => [getComputedStyle(c).display, !!c.querySelector('.state')])",
    )
    assert displays == [["table-cell", True]] * 3

    # The dashboard's link remembers the binder last used.
    page.goto(live_server.url + "/")
    link = page.locator("#dashboard-upload")
    assert link.get_attribute("href").endswith(f"binder={target.id}")
    link.click()
    assert page.get_by_label("Entreprise et classeur").input_value() == str(target.id)
