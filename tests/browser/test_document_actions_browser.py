"""In a real browser (CSRF on): an accountant moves an invoice dropped in the wrong company's
binder with « Déplacer » (it is read again there), puts it in the trash after confirming, finds
it in the binder's « Corbeille » only, and restores it."""

from __future__ import annotations

import re

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
    state = application.extensions["classeur"]
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


def _state(app, document_id: int) -> tuple[str, int]:
    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        document = db.session.get(Document, document_id)
        return str(document.state), document.binder_id


def test_move_trash_and_restore_in_the_browser(page, live_server, factory, app):
    from playwright.sync_api import expect

    firm = factory.firm()
    martin = factory.company(firm, name="Boulangerie Martin", code="BM01")
    durand = factory.company(firm, name="Garage Durand", code="GD02")
    wrong = factory.binder(martin, name="Factures d'achat")
    right = factory.binder(durand, name="Factures d'achat")
    user = factory.user(firm, "accountant")
    content = make_pdf_bytes(["Pneus Michelin", "Facture n° GD-77", "Client : Garage Durand"])
    doc = factory.document(wrong, content=content, filename="pneus.pdf")

    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")
    page.get_by_text("Déplacer", exact=True).click()
    select = page.get_by_label("Vers le classeur")
    # The current binder is not offered; the other company's binder is, under its name.
    expect(select.locator("optgroup[label='Garage Durand (GD02)'] option")).to_have_count(1)
    expect(select.locator(f"option[value='{wrong.id}']")).to_have_count(0)
    select.select_option(str(right.id))
    page.get_by_role("button", name="Déplacer le document").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "Document déplacé vers « Garage Durand — Factures d'achat »"
    )
    expect(page.locator(".page-head .muted")).to_contain_text("Garage Durand")
    # Read again for its new binder by the in-process worker.
    wait_for(lambda: _state(app, doc.id) == ("to_review", right.id), timeout=60)
    page.reload()
    expect(page.locator("#history")).to_contain_text("Déplacé")
    expect(page.locator("#history")).to_contain_text("Lu")

    # Trash: a confirmation first, then the document says where it is.
    page.get_by_text("Mettre à la corbeille", exact=True).click()
    expect(page.locator("#trash")).to_contain_text("reste restaurable")
    page.get_by_role("button", name="Confirmer la mise à la corbeille").click()
    expect(page.locator(".flash-success")).to_have_text("Document mis à la corbeille.")
    expect(page.locator("#state")).to_have_text("Corbeille")
    assert _state(app, doc.id)[0] == "trashed"

    # Gone from the binder list, present in its « Corbeille ».
    page.goto(f"{live_server.url}/trays/{right.id}")
    expect(page.locator("#documents")).not_to_contain_text("pneus.pdf")
    page.get_by_role("link", name=re.compile(r"^Corbeille \(1\)$")).click()
    row = page.locator("#trashed-documents tr", has_text="pneus.pdf")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Restaurer").click()
    expect(page.locator(".flash-success")).to_have_text("Document restauré.")
    expect(page.locator("#trashed-documents")).to_contain_text("La corbeille est vide.")
    assert _state(app, doc.id) == ("to_review", right.id)
    page.goto(f"{live_server.url}/trays/{right.id}")
    expect(page.locator("#documents")).to_contain_text("pneus.pdf")
