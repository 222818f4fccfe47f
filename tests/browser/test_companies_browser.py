"""In a real browser: log in, create a company and a purchase binder, see them listed."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def test_create_company_and_binder_through_the_pages(page, live_server, factory):
    firm = factory.firm()
    user = factory.user(firm, "admin")
    login(page, live_server, user)
    assert page.get_by_role("link", name="Tableau de bord").is_visible()

    page.get_by_role("link", name="Entreprises").click()
    page.get_by_role("link", name="Nouvelle entreprise").click()
    page.get_by_label("Nom", exact=True).fill("Boulangerie Martin")
    page.get_by_label("Code dossier").fill("demo01")
    page.get_by_label("SIREN").fill("732 829 320")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Entreprise « Boulangerie Martin » créée.").is_visible()

    page.get_by_label("Type de classeur").select_option("purchase_invoices")
    page.get_by_label("Nom du classeur").fill("Factures d'achat 2026")
    page.get_by_role("button", name="Créer le classeur").click()
    binders = page.locator("#binders")
    assert binders.get_by_text("Factures d'achat 2026").is_visible()
    assert binders.get_by_role("cell", name="Factures d'achat", exact=True).is_visible()

    page.get_by_role("link", name="Entreprises").click()
    row = page.locator("#companies tbody tr", has_text="Boulangerie Martin")
    assert row.get_by_text("DEMO01").is_visible()
    assert row.get_by_role("cell", name="1", exact=True).first.is_visible()
    page.screenshot(path=str(live_server.app.config["DATA_DIR"]) + "/companies.png")
