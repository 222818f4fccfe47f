"""Issue 14's follow-ups, found with real invoices: amounts in each document's currency, the
review walking the list it was started from (the firm's « À valider », or one company's), every
unreadable date or amount of the review form at once, the company form's duplicate code with
its other errors, the supplier memory's history in French, the exports followed after a bulk
« Renvoyer » (only queued), the selection bar's texts (trash confirmation, Archiver in search)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.db import db
from core.exports.models import ExportState, ExportStatus
from tests.conftest import Factory

REVIEW_FORM = {
    "rows": "2",
    "supplier.name": "Papeterie Moreau",
    "supplier.siren": "732829320",
    "invoice_date": "12/03/2026",
    "total_excl_tax": "100,00",
    "total_tax": "20,00",
    "total_incl_tax": "120,00",
    "amount_due": "120,00",
    "currency": "EUR",
    "document_kind": "invoice",
    "vat_regime": "standard",
    "vat-0-rate": "20",
    "vat-0-base": "100,00",
    "vat-0-amount": "20,00",
    "line-0-account": "6063",
    "action": "validate",
}


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    c2 = factory.company(f, name="Garage Durand", code="GD02")
    return {
        "firm": f,
        "c1": c1,
        "c2": c2,
        "p1": factory.binder(c1, name="Achats Martin"),
        "p2": factory.binder(c2, name="Achats Durand"),
        "o1": factory.binder(c1, "other", name="Divers"),
        "accountant": factory.user(f, "accountant"),
        "admin": factory.user(f, "admin"),
    }


def _row(html: str, document_id: int) -> str:
    start = html.index(f'<tr data-document="{document_id}"')
    return html[start : html.index("</tr>", start)]


# -- 1. amounts in the document's currency ------------------------------------------------------


def test_amounts_are_shown_in_each_documents_currency(app, factory, auth, firm):
    usd = factory.document(
        firm["p1"],
        filename="aws.pdf",
        fields={"supplier": {"name": "AWS"}, "total_incl_tax": "4.11", "currency": "USD"},
    )
    dkk = factory.document(
        firm["p2"],
        filename="bis3.xml",
        fields={
            "supplier": {"name": "Company A"},
            "total_incl_tax": "782179.43",
            "currency": "DKK",
        },
    )
    eur = factory.document(
        firm["p1"], filename="moreau.pdf", fields={"total_incl_tax": "120.00", "currency": "EUR"}
    )
    auth.login(firm["accountant"])
    html = auth.client.get("/trays/to-review").get_data(as_text=True)
    assert re.search(r"4,11\s\$US", _row(html, usd.id)), _row(html, usd.id)
    assert "€" not in _row(html, usd.id)
    assert re.search(r"782\s179,43\sDKK", _row(html, dkk.id)), _row(html, dkk.id)
    assert "€" not in _row(html, dkk.id)
    assert re.search(r"120,00\s€", _row(html, eur.id))
    # The purchase plugin's list of a binder and its tray say the same.
    html = auth.client.get(f"/purchases/binders/{firm['p1'].id}/to-review").get_data(as_text=True)
    assert re.search(r"4,11\s\$US", _row(html, usd.id))
    html = auth.client.get(f"/trays/{firm['p2'].id}").get_data(as_text=True)
    assert re.search(r"782\s179,43\sDKK", _row(html, dkk.id))
    # The search results' rows (the same ResultRow as « À valider »).
    from core.search.results import build_rows

    with app.test_request_context():
        from flask_login import login_user

        from core.auth.models import User

        login_user(db.session.get(User, firm["accountant"].id))
        rows = {r.document.id: r.amount_text for r in build_rows([(usd.id, {}), (dkk.id, {})])}
    assert re.fullmatch(r"4,11\s\$US", rows[usd.id]), rows
    assert re.fullmatch(r"782\s179,43\sDKK", rows[dkk.id]), rows


# -- 6. the review walks the list it was started from -------------------------------------------


def test_review_started_from_the_firms_list_walks_every_binder(app, factory, auth, firm):
    a1 = factory.document(firm["p1"], filename="a1.pdf")
    a2 = factory.document(firm["p1"], filename="a2.pdf")
    b1 = factory.document(firm["p2"], filename="b1.pdf")
    other = factory.document(firm["o1"], filename="kbis.pdf")
    b2 = factory.document(firm["p2"], filename="b2.pdf")
    auth.login(firm["accountant"])
    client = auth.client

    html = client.get("/trays/to-review").get_data(as_text=True)
    start = re.search(r'id="review-first" href="([^"]+)"', html).group(1)
    assert start == f"/purchases/{a1.id}/review?queue=firm"

    # The last of the first binder: the position counts the firm's list, « Suivant » goes on
    # to the next company's binder (through the core's redirect to its review page).
    html = client.get(f"/purchases/{a2.id}/review?queue=firm").get_data(as_text=True)
    assert "2 / 5 à valider" in html
    nxt = re.search(r'id="review-next" rel="next" href="([^"]+)"', html).group(1)
    assert nxt == f"/trays/to-review/{b1.id}/open?queue=firm"
    opened = client.get(nxt)
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/purchases/{b1.id}/review?queue=firm")
    # A document of a binder type without a review page opens its document page.
    opened = client.get(f"/trays/to-review/{other.id}/open?queue=firm")
    assert opened.headers["Location"].endswith(f"/documents/{other.id}")

    # « Valider » on the binder's last one opens the next waiting one of the list.
    done = client.post(f"/purchases/{a2.id}/review?queue=firm", data=REVIEW_FORM)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert done.headers["Location"].endswith(f"/trays/to-review/{b1.id}/open?queue=firm")
    # Without a queue, the binder's own walk is kept (back to its first one).
    html = client.get(f"/purchases/{a1.id}/review").get_data(as_text=True)
    assert "1 / 1 à valider" in html and 'id="review-next"' not in html

    # Filtered on a company: that company's documents only.
    queue = f"company:{firm['c2'].id}"
    html = client.get(f"/trays/to-review?company={firm['c2'].id}").get_data(as_text=True)
    assert f'href="/purchases/{b1.id}/review?queue=company:{firm["c2"].id}"' in html
    html = client.get(f"/purchases/{b2.id}/review?queue={queue}").get_data(as_text=True)
    assert "2 / 2 à valider" in html
    prev = re.search(r'id="review-prev" rel="prev" href="([^"]+)"', html).group(1)
    assert prev == f"/trays/to-review/{b1.id}/open?queue=company:{firm['c2'].id}"
    assert 'id="review-next"' not in html

    # Another firm's company names nothing of it; an unknown queue is the binder's.
    stranger = factory.company(factory.firm("Autre"), name="Autre", code="AU01")
    factory.document(factory.binder(stranger))
    html = client.get(f"/purchases/{b2.id}/review?queue=company:{stranger.id}").get_data(
        as_text=True
    )
    assert "0 à valider" in html
    html = client.get(f"/purchases/{b2.id}/review?queue=everything").get_data(as_text=True)
    assert "2 / 2 à valider" in html and f"/purchases/{b1.id}/review" in html


# -- 5. every error of a form at once -----------------------------------------------------------


def test_review_form_reports_every_unreadable_date_and_amount(app, factory, auth, firm):
    document = factory.document(
        firm["p1"], filename="sans-date.pdf", fields={"total_incl_tax": "120.00"}
    )
    auth.login(firm["accountant"])
    answer = auth.client.post(
        f"/purchases/{document.id}/review",
        data={
            **REVIEW_FORM,
            "invoice_date": "32/13/2026",
            "total_incl_tax": "abc",
            "vat-0-base": "1O0",
            "action": "save",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" id="error-summary".*?</div>', html, re.S)
    assert summary, "no summary of the errors"
    summary = summary.group(0)
    assert "3 erreurs :" in summary
    assert '<a href="#f-invoice_date">Date de facture</a> : Date invalide (jj/mm/aaaa)' in summary
    assert '<a href="#f-total_incl_tax">Total TTC</a> : Montant invalide' in summary
    assert '<a href="#f-vat-0-base">Base HT ligne 1</a> : Montant invalide' in summary
    # Beside each field too, and the value typed is shown back.
    assert 'id="e-invoice_date">Date invalide (jj/mm/aaaa)<' in html
    assert 'value="32/13/2026"' in html and 'value="abc"' in html
    # Never « Champ obligatoire manquant » for a date that was typed (wrongly).
    assert "Champ obligatoire manquant : Date" not in html
    # Nothing was saved.
    with app.app_context():
        from core.documents.models import Document

        saved = db.session.get(Document, document.id).fields
    assert saved.get("invoice_date") in (None, "") and saved["total_incl_tax"] == "120.00"


def test_company_form_reports_a_used_code_with_the_other_errors(app, factory, auth, firm):
    auth.login(firm["admin"])
    html = auth.client.post(
        "/companies/new", data={"name": "", "dossier_code": "BM01", "siren": "12345"}
    ).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert "3 erreurs :" in summary
    assert "Le code dossier BM01 est déjà utilisé par une autre entreprise." in summary
    assert 'href="#name"' in summary and 'href="#siren"' in summary
    # A company keeps its own code when edited; another's is refused at once.
    company = firm["c1"]
    kept = auth.client.post(
        f"/companies/{company.id}",
        data={"name": "Boulangerie Martin", "dossier_code": "BM01", "siren": ""},
    )
    assert "déjà utilisé" not in kept.get_data(as_text=True)
    html = auth.client.post(
        f"/companies/{company.id}",
        data={"name": "", "dossier_code": "GD02", "siren": ""},
    ).get_data(as_text=True)
    assert "2 erreurs :" in html and "Le code dossier GD02 est déjà utilisé" in html


# -- 7. the supplier memory's history -----------------------------------------------------------


def test_learned_values_are_told_in_french():
    from plugins.binder_purchases.memory import learned_message

    text = learned_message(
        {"account": "6262", "vat_code": "FR_200", "iban": "FR7630006000011234567890189"}
    )
    assert (
        text == "compte 6262, code TVA FR_200 (20\u00a0%), IBAN FR76 3000 6000 0112 3456 7890 189"
    )
    assert "account" not in text and "vat_code" not in text
    assert learned_message({"vat_code": "FR_55"}) == "code TVA FR_55 (5,5\u00a0%)"
    assert learned_message({"iban_proposed": "FR7612345"}) == "nouvel IBAN FR76 1234 5 à confirmer"


# -- 3. a bulk « Renvoyer » is followed until the sends end -------------------------------------


def test_bulk_exports_tell_where_the_sends_stand(app, factory, auth, firm):
    sent = factory.document(firm["p1"], filename="sent.pdf", state="validated")
    failing = factory.document(firm["p1"], filename="failing.pdf", state="validated")
    stranger = factory.document(factory.binder(factory.company(factory.firm("Autre"))))
    with app.app_context():
        for document, state, message in (
            (sent, ExportState.SENDING, None),
            (failing, ExportState.ERROR, "Compte 401XYZ inconnu"),
            (stranger, ExportState.ERROR, "secret"),
        ):
            db.session.add(
                ExportStatus(
                    document_id=document.id,
                    firm_id=document.firm_id,
                    connector="meg_export",
                    state=state,
                    message=message,
                )
            )
        db.session.commit()
    auth.login(firm["accountant"])
    ids = f"ids={sent.id}&ids={failing.id}&ids={stranger.id}"
    answer = auth.client.get(f"/trays/bulk/exports?{ids}").get_json()
    by_id = {d["id"]: d for d in answer["documents"]}
    assert set(by_id) == {sent.id, failing.id}  # another firm's document is left out
    assert by_id[sent.id]["busy"] is True and by_id[sent.id]["ok"] is False
    assert by_id[failing.id] == {
        "id": failing.id,
        "busy": False,
        "ok": False,
        "message": "Erreur lors de l'export (MEG (RCA)) : Compte 401XYZ inconnu",
    }
    with app.app_context():
        status = db.session.query(ExportStatus).filter_by(document_id=sent.id).one()
        status.state = ExportState.EXPORTED
        db.session.commit()
    answer = auth.client.get(f"/trays/bulk/exports?ids={sent.id}").get_json()
    assert answer["documents"][0]["ok"] is True
    assert answer["documents"][0]["message"] == "Exporté (MEG (RCA))"
    bad = auth.client.get("/trays/bulk/exports?ids=abc")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["message"] == "Identifiants invalides."


def test_retry_resets_the_attempts_so_the_page_says_since_the_last_resend(app, factory, auth, firm):
    document = factory.document(firm["p1"], filename="retry.pdf", state="validated")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=document.id,
                firm_id=document.firm_id,
                connector="meg_export",
                state=ExportState.ERROR,
                attempts=3,
            )
        )
        db.session.commit()
    auth.login(firm["accountant"])
    html = auth.client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "Tentatives depuis le dernier renvoi" in html


# -- 4. and 8. the selection bar ----------------------------------------------------------------


def test_selection_bar_confirms_the_trash_and_follows_resends(app, factory, auth, firm):
    factory.document(firm["p1"], filename="a.pdf")
    auth.login(firm["accountant"])
    html = auth.client.get(f"/trays/{firm['p1'].id}").get_data(as_text=True)
    confirm = re.search(r'data-confirm-trash="([^"]+)"', html).group(1)
    assert "corbeille" in confirm and "30 jours" in confirm
    assert 'data-exports-url="/trays/bulk/exports"' in html
    assert "renvoi(s) demandé(s)" in html
    assert 'value="archive"' in html


def test_search_bulk_bar_offers_archiver(app, factory, auth, firm):
    from core.documents.models import Document
    from core.search.services import flush, index_documents

    documents = [factory.document(firm["o1"], filename=f"bail-{n}.pdf") for n in range(2)]
    with app.app_context():
        for d in documents:
            db.session.get(Document, d.id).text = "Bail commercial du local"
        db.session.commit()
        index_documents([d.id for d in documents])
        flush()
    auth.login(firm["accountant"])
    html = auth.client.get("/search?q=commercial").get_data(as_text=True)
    assert html.count('class="card result"') == 2
    assert 'name="action" value="archive"' in html
    # The counts and facets refresh with the results after a bulk action (data-live).
    assert re.search(r'data-live id="total"', html)
    assert 'id="facets" data-live' in html or 'id="facets"' not in html


def test_resend_without_script_says_it_was_asked_for(app, factory, auth, firm):
    from core.exports.services import set_connector_enabled

    document = factory.document(firm["p1"], filename="rejetee.pdf", state="validated")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=document.id,
                firm_id=document.firm_id,
                connector="meg_export",
                state=ExportState.ERROR,
                message="Compte inconnu",
            )
        )
        set_connector_enabled(firm["firm"].id, "meg_export", True)
        db.session.commit()
    auth.login(firm["accountant"])
    back = f"/trays/{firm['p1'].id}?export=error"
    answer = auth.client.post(
        "/trays/bulk",
        data={"action": "resend", "ids": [str(document.id)], "next": back},
        follow_redirects=True,
    )
    html = answer.get_data(as_text=True)
    assert "Renvoi demandé pour 1 document(s) sur 1 : l&#39;envoi est en cours" in html
    assert "Renvoyer : 1 document(s)" not in html
