"""In a real browser: search, narrow by a facet, save the search, find it in the menu and run
it again; then export the results as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    application.extensions["classeur"].search.close()
    db.engine_for(application).dispose()


def test_search_facet_save_and_menu(page, live_server, factory, app):
    from core.db import db
    from core.documents.models import Document
    from core.search.services import flush, index_documents

    firm = factory.firm()
    martin = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    dupont = factory.company(firm, name="Garage Dupont", code="DEMO02")
    purchases = factory.binder(martin, "purchase_invoices", name="Achats")
    admin = factory.binder(dupont, "admin_documents", name="Administratif")
    docs = [
        factory.document(
            purchases,
            filename=f"edf-{i}.pdf",
            state="validated",
            fields={
                "supplier": {"name": "EDF"},
                "invoice_number": f"FA-{i}",
                "invoice_date": f"2025-0{i + 1}-10",
                "total_incl_tax": f"{1234.56 * (i + 1):.2f}",
            },
        )
        for i in range(3)
    ]
    docs += [factory.document(admin, filename=f"contrat-{i}.pdf") for i in range(2)]
    with app.app_context():
        for d in docs:
            db.session.get(Document, d.id).text = "Contrat d'électricité professionnel"
        db.session.commit()
        index_documents([d.id for d in docs])
        flush()
    user = factory.user(firm, "accountant")

    login(page, live_server, user)
    page.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Recherche", exact=True).fill("électricité")
    page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#results li.result")
    assert results.count() == 5
    assert "Boulangerie Martin" in page.locator("#facets").inner_text()
    first = page.locator("#results li.result", has_text="edf-0.pdf")
    text = first.inner_text()
    assert "Fournisseur" in text and "EDF" in text and "10/01/2025" in text
    assert "1\u202f234,56\u00a0€" in text and "Validé" in text

    page.locator("[data-facet=company]").get_by_role("link", name="Garage Dupont").click()
    assert results.count() == 2
    assert all("Garage Dupont" in t for t in results.all_inner_texts())
    assert "retirer ce filtre" in page.locator("#facets").inner_text()

    page.get_by_label("Nom de la recherche").fill("Contrats du garage")
    page.get_by_role("button", name="Enregistrer cette recherche").click()
    assert "Recherche « Contrats du garage » enregistrée." in page.locator("main").inner_text()
    menu = page.locator("#menu-saved-searches")
    assert "Contrats du garage" in menu.inner_text()

    page.get_by_role("link", name="Tableau de bord").click()
    page.locator("#menu-saved-searches").get_by_role("link", name="Contrats du garage").click()
    assert page.get_by_label("Recherche", exact=True).input_value() == "électricité"
    assert results.count() == 2

    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en CSV").click()
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Tiers;Numéro;Date;Montant")
    assert len(lines) == 3

    page.locator("#menu-saved-searches").get_by_role("link", name="Recherches enregistrées").click()
    page.get_by_role("button", name="Supprimer").click()
    assert "Aucune recherche enregistrée." in page.locator("#saved-searches").inner_text()
    assert "Contrats du garage" not in page.locator("#menu-saved-searches").inner_text()
