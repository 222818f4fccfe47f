"""In a real browser, issue 14's follow-ups on the selection bar: « Mettre à la corbeille » asks
first (and says when the trash is purged); « Renvoyer » says the sends are asked for, follows
them and shows how each one ended (the row back in « En erreur d'export » when it failed
again); a bulk move from search results refreshes the results and their counts; « Commencer la
validation » from the firm's list walks every company's documents."""

from __future__ import annotations

import re

import pytest

from tests.browser import test_trays_bulk as _bulk
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The same app (CSRF on, workers stopped at the end) and helpers as the bulk tests.
app = _bulk.app
_state = _bulk._state
_wait_done = _bulk._wait_done


def test_trash_asks_first(page, live_server, factory, app):
    firm = factory.firm()
    binder = factory.binder(factory.company(firm, name="Garage Dupont", code="GD01"), "other")
    kept = factory.document(binder, filename="contrat.pdf")
    user = factory.user(firm, "accountant")
    login(page, live_server, user)
    page.goto(f"{live_server.url}/trays/{binder.id}")
    page.get_by_label("Sélectionner contrat.pdf").check()

    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Mettre à la corbeille").click()
    page.wait_for_timeout(300)  # a refused confirmation posts nothing (no run to wait for)
    assert asked == [
        "Mettre 1 document(s) à la corbeille ? La corbeille est vidée définitivement "
        "après 30 jours."
    ]
    assert page.locator("#bulk-results li").count() == 0
    assert _state(app, kept.id) == "to_review"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mettre à la corbeille").click()
    _wait_done(page, None)
    assert page.locator("#bulk-results li").all_inner_texts() == [
        "contrat.pdf — Mis à la corbeille"
    ]
    assert _state(app, kept.id) == "trashed"


def test_resend_is_followed_until_the_send_ends(page, live_server, factory, app):
    from core.db import db
    from core.exports.models import ExportState, ExportStatus
    from core.exports.services import set_connector_enabled

    firm = factory.firm()
    binder = factory.binder(factory.company(firm, name="Boulangerie Martin", code="BM01"))
    failing = factory.document(binder, filename="rejetee.pdf", state="validated")
    with app.app_context():
        status = ExportStatus(
            document_id=failing.id,
            firm_id=failing.firm_id,
            connector="meg_export",
            state=ExportState.ERROR,
            message="Compte 401XYZ inconnu",
            attempts=1,
        )
        db.session.add(status)
        set_connector_enabled(firm.id, "meg_export", True)
        db.session.commit()
        status_id = status.id
    user = factory.user(firm, "accountant")
    login(page, live_server, user)
    page.goto(f"{live_server.url}/trays/{binder.id}?export=error")
    assert page.locator("#documents tbody tr[data-document]").count() == 1
    page.get_by_label("Sélectionner rejetee.pdf").check()
    page.get_by_role("button", name="Renvoyer").click()

    # Only asked for: never « réussi » while the send has not run.
    summary = page.locator("#bulk-summary")
    summary.filter(has_text="Renvoi demandé").wait_for()
    assert page.locator("#bulk-results li").inner_text() == (
        "rejetee.pdf — Renvoi demandé vers MEG (RCA)"
    )
    assert "réussi" not in summary.inner_text()
    # No worker runs in this test: the connector's answer is written as a worker would.
    with app.app_context():
        row = db.session.get(ExportStatus, status_id)
        assert row.state == ExportState.PENDING
        row.state = ExportState.ERROR
        row.message = "Compte 401XYZ toujours inconnu"
        db.session.commit()
    stamp = _wait_done(page, None)
    assert stamp
    assert summary.inner_text() == "0 envoyé(s), 1 en erreur"
    line = page.locator("#bulk-results li")
    assert line.get_attribute("class") == "ko"
    assert line.inner_text() == (
        "rejetee.pdf — Erreur lors de l'export (MEG (RCA)) : Compte 401XYZ toujours inconnu"
    )
    # The rows were read again once it ended: the document is back among the errors.
    assert page.locator(f'#documents tr[data-document="{failing.id}"]').count() == 1
    assert re.search(r"\(1\)", page.locator("#export-error-tab").inner_text())


def test_search_move_refreshes_results_and_counts(page, live_server, factory, app):
    from core.db import db
    from core.documents.models import Document
    from core.search.services import flush, index_documents

    firm = factory.firm()
    c1 = factory.company(firm, name="Garage Dupont", code="GD01")
    c2 = factory.company(firm, name="Hôtel du Port", code="HP02")
    source = factory.binder(c1, "other", name="Divers Dupont")
    target = factory.binder(c2, "other", name="Divers Port")
    docs = [factory.document(source, filename=f"bail-{n}.pdf") for n in range(3)]
    with app.app_context():
        for d in docs:
            db.session.get(Document, d.id).text = "Bail commercial du local"
        db.session.commit()
        index_documents([d.id for d in docs])
        flush()
    user = factory.user(firm, "accountant")
    login(page, live_server, user)
    page.goto(f"{live_server.url}/search?q=commercial&company={c1.id}")
    assert page.locator("#results li.result").count() == 3
    assert "Archiver" in page.locator("#bulk-bar").inner_text()
    page.get_by_label("Sélectionner bail-0.pdf").check()
    page.locator("#bulk-binder").select_option(str(target.id))
    page.get_by_role("button", name="Déplacer").click()
    _wait_done(page, None)
    # Re-run on the same filters: the moved one has left this company's results and counts.
    page.wait_for_function("() => document.querySelectorAll('#results li.result').length === 2")
    assert page.locator("#total").inner_text() == "2 résultat(s)"


def test_review_from_the_firms_list_walks_every_company(page, live_server, factory, app):
    firm = factory.firm()
    p1 = factory.binder(factory.company(firm, name="Boulangerie Martin", code="BM01"))
    p2 = factory.binder(factory.company(firm, name="Garage Durand", code="GD02"))
    a = factory.document(p1, filename="a.pdf")
    b = factory.document(p2, filename="b.pdf")
    user = factory.user(firm, "accountant")
    login(page, live_server, user)
    page.goto(f"{live_server.url}/trays/to-review")
    page.get_by_role("link", name="Commencer la validation").click()
    page.wait_for_url(re.compile(rf"/purchases/{a.id}/review\?queue=firm$"))
    assert page.locator("#review-position").inner_text() == "1 / 2 à valider"
    page.get_by_role("link", name="Suivant").click()
    page.wait_for_url(re.compile(rf"/purchases/{b.id}/review\?queue=firm$"))
    assert page.locator("#review-position").inner_text() == "2 / 2 à valider"
    assert page.locator("#review-next").count() == 0
