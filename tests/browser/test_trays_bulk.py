"""In a real browser: select documents in a tray and in search results, run « Valider » and
« Mettre à la corbeille » on the selection, follow the progress and read the result of each
document; the review page's Précédent / Suivant and keyboard shortcuts; the lines table of
the review page inside its card at 1366×768 and 1920×1080."""

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
    yield application
    state = application.extensions["classeur"]
    if state.tasks is not None:
        state.tasks.stop(wait=True)
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


def _state(app, document_id: int) -> str:
    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        return str(db.session.get(Document, document_id).state)


def _wait_done(page, before: str | None) -> str:
    """Wait for the selection bar to finish a run (its data-done changes)."""
    page.wait_for_function(
        "before => { const f = document.getElementById('bulk-form');"
        " return f.dataset.done && f.dataset.done !== before; }",
        arg=before or "",
    )
    return page.locator("#bulk-form").get_attribute("data-done")


def test_tray_selection_validate_then_trash(page, live_server, factory, app):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, "other", name="Divers")
    docs = [factory.document(binder, filename=f"doc-{n:02d}.pdf") for n in range(22)]
    done = factory.document(binder, filename="deja.pdf", state="validated")
    user = factory.user(firm, "accountant")

    login(page, live_server, user)
    assert "(22)" in page.locator("#menu-to-review").inner_text()
    page.goto(f"{live_server.url}/trays/{binder.id}")
    assert page.locator("#bulk-count").inner_text() == "0 sélectionné"
    assert page.get_by_role("button", name="Valider").is_disabled()

    # « Tout sélectionner », then « Valider »: two chunks of 20 and 3, one refusal.
    page.get_by_label("Tout sélectionner").check()
    assert page.locator("#bulk-count").inner_text() == "23 sélectionnés"
    page.get_by_role("button", name="Valider").click()
    stamp = _wait_done(page, None)
    assert page.locator("#bulk-progress").inner_text().strip() == "Traitement : 23 / 23"
    results = page.locator("#bulk-results li")
    assert results.count() == 23
    assert page.locator("#bulk-results li.ok").count() == 22
    refused = page.locator("#bulk-results li.ko")
    assert refused.count() == 1
    assert refused.inner_text() == "deja.pdf — Ce document est déjà validé."
    assert "doc-00.pdf — Validé" in results.all_inner_texts()
    assert page.locator("#bulk-summary").inner_text() == "22 réussi(s), 1 en erreur"
    assert all(_state(app, d.id) == "validated" for d in docs)
    # The rows were refreshed: every state badge says « Validé »; nothing is left checked;
    # the menu's count is gone.
    badges = page.locator("#documents td.col-state .state").all_inner_texts()
    assert badges == ["Validé"] * 23
    assert page.locator("#bulk-count").inner_text() == "0 sélectionné"
    assert "(" not in page.locator("#menu-to-review").inner_text()

    # Two rows, « Mettre à la corbeille »: they leave the tray, the trash tab counts them.
    page.get_by_label("Sélectionner doc-00.pdf").check()
    page.get_by_label("Sélectionner doc-01.pdf").check()
    assert page.locator("#bulk-count").inner_text() == "2 sélectionnés"
    page.once("dialog", lambda dialog: dialog.accept())  # « Mettre 2 document(s) … ? »
    page.get_by_role("button", name="Mettre à la corbeille").click()
    _wait_done(page, stamp)
    assert sorted(page.locator("#bulk-results li").all_inner_texts()) == [
        "doc-00.pdf — Mis à la corbeille",
        "doc-01.pdf — Mis à la corbeille",
    ]
    assert page.locator(f'#documents tr[data-document="{docs[0].id}"]').count() == 0
    assert page.locator("#documents tbody tr").count() == 21
    assert "Corbeille (2)" in page.locator("#trash-tab").inner_text()
    assert _state(app, docs[1].id) == "trashed" and _state(app, done.id) == "validated"


def test_search_results_selection(page, live_server, factory, app):
    from core.db import db
    from core.documents.models import Document
    from core.search.services import flush, index_documents

    firm = factory.firm()
    company = factory.company(firm, name="Garage Dupont", code="GD01")
    binder = factory.binder(company, "other", name="Divers")
    docs = [factory.document(binder, filename=f"contrat-{n}.pdf") for n in range(3)]
    with app.app_context():
        for d in docs:
            db.session.get(Document, d.id).text = "Contrat d'entretien du compresseur"
        db.session.commit()
        index_documents([d.id for d in docs])
        flush()
    user = factory.user(firm, "accountant")

    login(page, live_server, user)
    page.goto(f"{live_server.url}/search?q=compresseur")
    assert page.locator("#results li.result").count() == 3
    page.get_by_label("Sélectionner contrat-0.pdf").check()
    page.get_by_label("Sélectionner contrat-2.pdf").check()
    assert page.locator("#bulk-count").inner_text() == "2 sélectionnés"
    page.get_by_role("button", name="Valider").click()
    stamp = _wait_done(page, None)
    assert page.locator("#bulk-results li").all_inner_texts() == [
        "contrat-0.pdf — Validé",
        "contrat-2.pdf — Validé",
    ]
    assert [_state(app, d.id) for d in docs] == ["validated", "to_review", "validated"]

    page.get_by_label("Sélectionner contrat-1.pdf").check()
    page.once("dialog", lambda dialog: dialog.accept())  # the trash's confirmation
    page.get_by_role("button", name="Mettre à la corbeille").click()
    _wait_done(page, stamp)
    assert page.locator("#bulk-results li").all_inner_texts() == [
        "contrat-1.pdf — Mis à la corbeille"
    ]
    assert page.locator("#bulk-results li.ok").count() == 1
    assert _state(app, docs[1].id) == "trashed"


# -- review page ------------------------------------------------------------------------------


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
    wait_for(lambda: _state(app, document_id) == "to_review")
    return document_id


def _purchases(factory, app):
    from core.db import db
    from core.tenancy.models import Company
    from core.tenancy.services import update_company_settings
    from plugins.binder_purchases.settings import DEFAULT_ELEMENTS

    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, name="Factures d'achat")
    with app.app_context():
        update_company_settings(
            db.session.get(Company, company.id),
            "accounting",
            {"purchase_binder_id": binder.id, "elements": {**DEFAULT_ELEMENTS, "vat_codes": True}},
        )
        db.session.commit()
    return firm, binder, factory.user(firm, "accountant")


def test_review_previous_next_and_keyboard(page, live_server, factory, app):
    firm, binder, user = _purchases(factory, app)
    first, second, third = (_stored(app, binder, user, f"FA-{n}") for n in (1, 2, 3))
    url = f"{live_server.url}/purchases/{{}}/review"

    login(page, live_server, user)
    page.goto(url.format(second))
    # Titled by the document; the badge says the state.
    assert page.title() == "FA-2.pdf — Classeur"
    assert page.locator("h1").inner_text() == "FA-2.pdf"
    assert page.locator("#review-state").inner_text() == "À valider"
    assert page.locator("#review-position").inner_text() == "2 / 3 à valider"
    assert "Alt+→" in page.locator("#review-shortcuts").inner_text()

    page.get_by_role("link", name="Suivant").click()
    page.wait_for_url(url.format(third))
    assert page.locator("#review-position").inner_text() == "3 / 3 à valider"
    assert page.locator("#review-next").count() == 0  # the last one: no « Suivant »

    # K outside the fields: the previous one; typed in a field, J is only a letter.
    page.locator("h1").click()
    page.keyboard.press("k")
    page.wait_for_url(url.format(second))
    page.locator("#f-currency").click()
    page.keyboard.press("End")
    page.keyboard.press("j")
    assert page.url == url.format(second)
    assert page.locator("#f-currency").input_value().endswith("j")
    page.reload()  # drop the typed letter
    page.locator("h1").click()
    page.keyboard.press("Alt+ArrowLeft")
    page.wait_for_url(url.format(first))
    page.locator("h1").click()
    page.keyboard.press("j")
    page.wait_for_url(url.format(second))

    # Ctrl+Entrée from outside the form validates, then the next one of the binder opens.
    page.locator("h1").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_url(url.format(third))
    assert _state(app, second) == "validated"
    assert page.locator("#review-position").inner_text() == "2 / 2 à valider"
    page.get_by_role("link", name="Précédent").click()
    page.wait_for_url(url.format(first))
    assert page.locator("#review-position").inner_text() == "1 / 2 à valider"


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_review_cards_do_not_overflow(page, live_server, factory, app, size):
    firm, binder, user = _purchases(factory, app)
    document = _stored(app, binder, user, "FA-20")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(page, live_server, user)
    page.goto(f"{live_server.url}/purchases/{document}/review")
    assert page.locator("table.lines th").all_inner_texts()[-1] == "Code TVA"
    overflowing = page.evaluate(
        "() => Array.from(document.querySelectorAll('.card, .lines-wrap'))"
        ".filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => (e.id || e.className) + ' ' + e.scrollWidth + '>' + e.clientWidth)"
    )
    assert overflowing == []
    hidden = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.lines th, table.lines td'))
          .filter(cell => {
            const box = cell.getBoundingClientRect();
            const card = cell.closest('.card').getBoundingClientRect();
            return box.width < 20 || box.left < card.left - 1 || box.right > card.right + 1;
          }).map(cell => cell.textContent.trim() || cell.innerHTML.slice(0, 40))"""
    )
    assert hidden == []
    # The selects keep a usable width ("Compte" is not clipped to nothing).
    for selector in ("#f-line-0-account", "#f-line-0-vat_code"):
        assert page.locator(selector).bounding_box()["width"] > 80, selector
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
