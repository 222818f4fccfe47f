"""The search page a user expects: result columns, sorts, facets with counts, pagination that
does not count every hit, saved searches in the menu, and a CSV of the results (page and API).

Real app, real database, real index (the suite's backend); only the backend's exactness is
forced in one test, to show the page's wording when the total is an estimate.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from dataclasses import replace
from typing import Any

import pytest

from core.db import db
from tests.conftest import Auth, Factory

NBSP, NNBSP = "\u00a0", "\u202f"
SUPPLIERS = ("EDF", "Orange", "Total Énergies")


@pytest.fixture
def corpus(app: Any, factory: Factory) -> dict[str, Any]:
    """25 purchase invoices of « Boulangerie Martin » (3 suppliers, 2024 and 2025, validated
    or to review), 3 administrative documents of « Garage Dupont », one invoice in export
    error; and another firm whose documents say the same words."""
    from core.documents.models import Document
    from core.exports.models import ExportState, ExportStatus
    from core.search.services import flush, index_documents

    firm = factory.firm()
    c1 = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    c2 = factory.company(firm, name="Garage Dupont", code="DEMO02")
    purchases = factory.binder(c1, "purchase_invoices", name="Achats 2025")
    admin = factory.binder(c2, "admin_documents", name="Administratif")
    invoices = []
    for i in range(25):
        year = 2024 if i < 10 else 2025
        invoices.append(
            factory.document(
                purchases,
                filename=f"facture-{i:02d}.pdf",
                state="validated" if i % 2 == 0 else "to_review",
                fields={
                    "supplier": {"name": SUPPLIERS[i % 3], "siren": "552081317"},
                    "invoice_number": f"FA-{i:04d}",
                    "invoice_date": f"{year}-{(i % 12) + 1:02d}-15",
                    "total_incl_tax": f"{1000 * i + 234.56:.2f}",
                },
            )
        )
    papers = [
        factory.document(admin, filename=f"attestation-{i}.pdf", state="validated")
        for i in range(3)
    ]
    other_firm = factory.firm("Cabinet Zephyrin")
    zc = factory.company(other_firm, name="Zorglub Industries", code="ZRG01")
    zdoc = factory.document(factory.binder(zc, "purchase_invoices"), filename="zorglub.pdf")
    with app.app_context():
        for i, d in enumerate(invoices):
            db.session.get(
                Document, d.id
            ).text = f"Facture {SUPPLIERS[i % 3]} électricité numéro FA-{i:04d} boulangerie"
        for d in papers:
            db.session.get(Document, d.id).text = "Attestation jointe à la facture du garage"
        db.session.get(Document, zdoc.id).text = "Facture Zorglub électricité"
        db.session.add(
            ExportStatus(
                document_id=invoices[3].id,
                firm_id=firm.id,
                connector="meg_export",
                state=ExportState.ERROR,
                message="Code TVA inconnu",
            )
        )
        db.session.commit()
        index_documents([d.id for d in [*invoices, *papers, zdoc]])
        flush()
    user = factory.user(firm, "accountant", email="compta@martin.fr")
    colleague = factory.user(firm, "accountant", email="collegue@martin.fr")
    uploader = factory.user(firm, "uploader", email="client@martin.fr", companies=[c2])
    stranger = factory.user(other_firm, "admin", email="admin@zephyrin.fr")
    return {
        "firm": firm,
        "c1": c1,
        "c2": c2,
        "purchases": purchases,
        "invoices": invoices,
        "papers": papers,
        "user": user,
        "colleague": colleague,
        "uploader": uploader,
        "stranger": stranger,
        "h": {"Authorization": f"Bearer {factory.token(user)}"},
        "hu": {"Authorization": f"Bearer {factory.token(uploader)}"},
    }


@pytest.fixture
def logged(client: Any, corpus: dict[str, Any]) -> Any:
    assert Auth(client).login(corpus["user"]).status_code == 302
    return client


def page(client: Any, **params: Any) -> str:
    response = client.get("/search", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def results(html: str) -> list[str]:
    """The result cards of a page, in order."""
    block = html.split('id="results"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<li class="card result"[^>]*>(.*?)</li>\s*(?=<li|$)', block, re.S)


def result_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="card result" data-id="(\d+)"', html)]


def facet(html: str, name: str) -> dict[str, str]:
    """{label: count text} of one facet of the page."""
    match = re.search(rf'data-facet="{name}">(.*?)</section>', html, re.S)
    if match is None:
        return {}
    items = re.findall(
        r'<a href="[^"]*"[^>]*>([^<]*)</a>\s*<span class="count">([^<]*)</span>', match.group(1)
    )
    return {
        html_lib.unescape(label): html_lib.unescape(count).replace(NBSP, " ")
        for label, count in items
    }


def facet_link(html: str, name: str, label: str) -> str:
    match = re.search(rf'data-facet="{name}">(.*?)</section>', html, re.S)
    assert match is not None
    href = re.search(rf'<a href="([^"]*)"[^>]*>{re.escape(label)}</a>', match.group(1))
    assert href is not None, label
    return href.group(1).replace("&amp;", "&")


# -- results ----------------------------------------------------------------------------------


def test_each_result_shows_party_number_date_amount_company_binder_state(logged, corpus):
    html = page(logged, q="FA-0013")
    [card] = results(html)
    # Invoice 13: Orange (13 % 3 == 1), 2025-02-15, 13 234,56 €, to review.
    assert "<dt>Fournisseur</dt>" in card and ">Orange</dd>" in card
    assert "<dt>N° de facture</dt>" in card and "FA-0013" in card
    assert "<dt>Date de facture</dt>" in card and ">15/02/2025</dd>" in card
    assert f">13{NNBSP}234,56{NBSP}€</dd>" in card
    assert ">Boulangerie Martin</dd>" in card
    assert "Achats 2025" in card and "(Factures d&#39;achat)" in card
    assert "À valider" in card
    assert "<mark>" in card  # the highlight snippet
    # An administrative document has no party: its company, binder and state still show.
    html = page(logged, q="attestation")
    cards = results(html)
    assert len(cards) == 3
    assert all(">Garage Dupont</dd>" in c and "Administratif" in c for c in cards)
    assert all("Validé" in c for c in cards)


def test_sort_by_relevance_date_and_amount(logged, corpus):
    inv = corpus["invoices"]
    by_amount = [d.id for d in inv]  # amounts grow with the index
    common = {"binder_type": "purchase_invoices", "per_page": 100}
    assert result_ids(page(logged, sort="-amount", **common)) == by_amount[::-1]
    assert result_ids(page(logged, sort="amount", **common)) == by_amount
    dates = sorted(inv, key=lambda d: (d.fields["invoice_date"], d.id))
    assert result_ids(page(logged, sort="date", **common)) == [d.id for d in dates]
    newest = result_ids(page(logged, sort="-date", **common))
    assert newest[0] == max(inv, key=lambda d: d.fields["invoice_date"]).id
    assert newest[-1] == min(inv, key=lambda d: d.fields["invoice_date"]).id
    html = page(logged, q="edf", sort="relevance")
    assert len(result_ids(html)) == 9  # EDF: i % 3 == 0
    for label in ("Pertinence", "Date de facture (récentes)", "Montant TTC (décroissant)"):
        assert label in page(logged, binder_type="purchase_invoices")


# -- facets -----------------------------------------------------------------------------------


def test_facets_count_company_binder_type_state_and_year(logged, corpus):
    # A text query: counted over the matching ids.
    html = page(logged, q="facture")
    assert facet(html, "company") == {"Boulangerie Martin": "25", "Garage Dupont": "3"}
    assert facet(html, "binder_type") == {"Factures d'achat": "25", "Documents administratifs": "3"}
    assert facet(html, "state") == {"Validé": "16", "À valider": "12"}
    assert facet(html, "year") == {"2025": "15", "2024": "10"}
    assert "≥" not in html.split('id="facets"')[1].split("</aside>")[0]
    # No text query: counted by SQL over the whole filtered set.
    html = page(logged, q="", state="validated")
    assert facet(html, "company") == {"Boulangerie Martin": "13", "Garage Dupont": "3"}
    assert facet(html, "state") == {"Validé": "16"}
    # A date filter (from the binder type's fields): counted over the matching ids.
    html = page(logged, date_from="2025-01-01", date_to="2025-12-31")
    assert facet(html, "year") == {"2025": "15"}
    assert facet(html, "company") == {"Boulangerie Martin": "15"}
    # The export-error checkbox, in both ways of counting.
    assert facet(page(logged, q="", export_error="1"), "company") == {"Boulangerie Martin": "1"}
    assert facet(page(logged, q="facture", export_error="1"), "state") == {"À valider": "1"}


def test_facets_past_the_sample_are_lower_bounds(app, logged, corpus):
    app.config["SEARCH_FACET_SAMPLE"] = 5
    html = page(logged, q="facture", per_page=2)
    counts = facet(html, "company")
    assert all(c.startswith("≥ ") for c in counts.values())
    assert sum(int(c[2:]) for c in counts.values()) == 5
    assert "Comptes faits sur les 5 premiers résultats" in html


def test_clicking_a_facet_value_adds_its_filter(logged, corpus):
    html = page(logged, q="facture")
    url = facet_link(html, "company", "Garage Dupont")
    assert "company=" in url and "q=facture" in url
    html = logged.get(url).get_data(as_text=True)
    assert len(result_ids(html)) == 3
    assert 'class="selected"' in html and "retirer ce filtre" in html
    # Then a year: both filters hold.
    html = page(logged, q="facture")
    url = facet_link(html, "year", "2024")
    assert "date_from=2024-01-01" in url and "date_to=2024-12-31" in url
    html = logged.get(url).get_data(as_text=True)
    assert len(result_ids(html)) == 10
    url = facet_link(html, "state", "Validé")
    html = logged.get(url).get_data(as_text=True)
    assert len(result_ids(html)) == 5  # 2024 and even
    # "× retirer ce filtre" on the year drops both dates and keeps the state.
    clear = re.search(r'data-facet="year">.*?class="facet-clear" href="([^"]*)"', html, re.S)
    assert clear is not None
    url = clear.group(1).replace("&amp;", "&")
    assert "date_from" not in url and "state=validated" in url
    assert len(result_ids(logged.get(url).get_data(as_text=True))) == 16


# -- pagination -------------------------------------------------------------------------------


def test_pages_go_forward_and_back(logged, corpus):
    html = page(logged, binder_type="purchase_invoices", per_page=10)
    assert "28" not in re.search(r'id="total">([^<]*)<', html).group(1)
    assert "25 résultat(s)" in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    html = page(logged, binder_type="purchase_invoices", per_page=10, page=3)
    assert len(result_ids(html)) == 5
    assert 'rel="prev"' in html and 'rel="next"' not in html
    seen = set()
    for n in (1, 2, 3):
        seen |= set(result_ids(page(logged, binder_type="purchase_invoices", per_page=10, page=n)))
    assert seen == {d.id for d in corpus["invoices"]}


def test_an_estimated_total_says_more_than_and_still_pages(app, logged, corpus, monkeypatch):
    backend = app.extensions["classeur"].search
    real = backend.search

    def estimating(query):
        # A backend that stops counting (whoosh's top-k with skipped blocks) answers so.
        result = real(query)
        return replace(result, total=10_000, total_is_exact=False)

    monkeypatch.setattr(backend, "search", estimating)
    html = page(logged, q="électricité", per_page=10)
    total = re.search(r'id="total">([^<]*)<', html).group(1)
    # Never the backend's guess: what was seen for sure (the facets' sample).
    assert total == "plus de 25 résultats"
    assert 'rel="next"' in html
    html = page(logged, q="électricité", per_page=10, page=3)
    assert len(result_ids(html)) == 5 and 'rel="next"' not in html
    # No text query: the database counts the filtered set exactly.
    html = page(logged, q="", company=corpus["c1"].id, per_page=10)
    assert "25 résultat(s)" in html


# -- saved searches ---------------------------------------------------------------------------


def saved_id(app: Any, name: str) -> int:
    from sqlalchemy import select

    from core.search.saved import SavedSearch

    with app.app_context():
        return db.session.scalar(select(SavedSearch.id).where(SavedSearch.name == name))


def test_save_list_open_rename_delete(app, logged, corpus):
    html = page(logged, q="edf", sort="-amount", export_error="")
    assert "Enregistrer cette recherche" in html
    form = {"name": "  Factures EDF  ", "q": "edf", "sort": "-amount", "page": "3"}
    response = logged.post("/search/saved", data=form)
    assert response.status_code == 302
    assert "q=edf" in response.location and "sort=-amount" in response.location
    html = logged.get(response.location).get_data(as_text=True)
    assert "Recherche « Factures EDF » enregistrée." in html
    ident = saved_id(app, "Factures EDF")
    # In the menu of every page, a link that re-runs it.
    dashboard = logged.get("/").get_data(as_text=True)
    menu = dashboard.split('id="menu-saved-searches"')[1].split("</li></ul>")[0]
    assert "Recherches enregistrées" in dashboard and "Factures EDF" in menu
    assert f"/search/saved/{ident}" in menu
    opened = logged.get(f"/search/saved/{ident}")
    assert opened.status_code == 302
    assert "q=edf" in opened.location and "page" not in opened.location
    assert len(result_ids(logged.get(opened.location).get_data(as_text=True))) == 9
    # Rename; a blank name or another search's name is refused in French.
    logged.post("/search/saved", data={"name": "Tout", "q": ""})
    assert logged.post(f"/search/saved/{ident}/rename", data={"name": "EDF"}).status_code == 302
    listing = logged.get("/search/saved").get_data(as_text=True)
    assert ">EDF</a>" in listing and "Recherche renommée « EDF »." in listing
    logged.post(f"/search/saved/{ident}/rename", data={"name": "Tout"})
    assert "Une recherche enregistrée s&#39;appelle déjà « Tout »." in logged.get(
        "/search/saved"
    ).get_data(as_text=True)
    logged.post(f"/search/saved/{ident}/rename", data={"name": "   "})
    assert "Donnez un nom à la recherche." in logged.get("/search/saved").get_data(as_text=True)
    response = logged.post("/search/saved", data={"name": "", "q": "edf"}, follow_redirects=True)
    assert "Donnez un nom à la recherche." in response.get_data(as_text=True)
    # Saving under an existing name is refused, unless « Remplacer » is ticked.
    refused = logged.post(
        "/search/saved", data={"name": "Tout", "q": "orange"}, follow_redirects=True
    )
    assert "s&#39;appelle déjà « Tout »" in refused.get_data(as_text=True)
    assert "q=orange" not in logged.get(f"/search/saved/{saved_id(app, 'Tout')}").location
    logged.post("/search/saved", data={"name": "Tout", "q": "orange", "replace": "on"})
    assert saved_id(app, "Tout") is not None
    opened = logged.get(f"/search/saved/{saved_id(app, 'Tout')}")
    assert "q=orange" in opened.location
    # Delete.
    assert logged.post(f"/search/saved/{ident}/delete").status_code == 302
    assert logged.get(f"/search/saved/{ident}").status_code == 404
    assert "EDF" not in logged.get("/").get_data(as_text=True).split('id="menu-saved-searches"')[1]


def test_saved_searches_belong_to_their_user_and_firm(app, client, corpus):
    auth = Auth(client)
    auth.login(corpus["user"])
    client.post("/search/saved", data={"name": "Mes factures", "q": "facture"})
    ident = saved_id(app, "Mes factures")
    client.post("/logout")
    for other in ("colleague", "stranger"):
        auth.login(corpus[other])
        assert client.get(f"/search/saved/{ident}").status_code == 404
        assert client.post(f"/search/saved/{ident}/rename", data={"name": "x"}).status_code == 404
        assert client.post(f"/search/saved/{ident}/delete").status_code == 404
        assert "Mes factures" not in client.get("/").get_data(as_text=True)
        assert "Mes factures" not in client.get("/search/saved").get_data(as_text=True)
        client.post("/logout")
    auth.login(corpus["user"])
    assert "Mes factures" in client.get("/search/saved").get_data(as_text=True)


def test_an_uploader_running_a_saved_search_sees_only_its_companies(app, client, corpus):
    Auth(client).login(corpus["uploader"])
    client.post("/search/saved", data={"name": "Tout", "q": "facture"})
    opened = client.get(f"/search/saved/{saved_id(app, 'Tout')}")
    html = client.get(opened.location).get_data(as_text=True)
    assert sorted(result_ids(html)) == sorted(d.id for d in corpus["papers"])
    assert facet(html, "company") == {"Garage Dupont": "3"}


def test_forms_need_their_csrf_token(app_config, corpus):
    from core.app import create_app

    csrf_app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        client = csrf_app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        client.post(
            "/login",
            data={
                "email": corpus["user"].email,
                "password": corpus["user"].password,
                "csrf_token": token,
            },
        )
        html = client.get("/search", query_string={"q": "edf"}).get_data(as_text=True)
        form = html.split('id="save-search"')[1].split("</form>")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert client.post("/search/saved", data={"name": "EDF", "q": "edf"}).status_code == 400
        ok = client.post("/search/saved", data={"name": "EDF", "q": "edf", "csrf_token": token})
        assert ok.status_code == 302
        ident = saved_id(csrf_app, "EDF")
        assert client.post(f"/search/saved/{ident}/delete").status_code == 400
        assert client.post(f"/search/saved/{ident}/rename", data={"name": "x"}).status_code == 400
        assert (
            client.post(f"/search/saved/{ident}/delete", data={"csrf_token": token}).status_code
            == 302
        )
    finally:
        csrf_app.extensions["classeur"].search.close()
        db.engine_for(csrf_app).dispose()


# -- CSV --------------------------------------------------------------------------------------


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_csv_of_the_results(logged, corpus):
    html = page(logged, q="orange", sort="amount")
    link = re.search(r'id="export-csv" href="([^"]*)"', html).group(1).replace("&amp;", "&")
    assert "q=orange" in link and "sort=amount" in link
    response = logged.get(link)
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Classeur-Truncated"] == "0"
    rows = read_csv(response)
    assert rows[0] == [
        "Tiers",
        "Numéro",
        "Date",
        "Montant",
        "Entreprise",
        "Classeur",
        "Type de classeur",
        "État",
        "Fichier",
        "Document",
    ]
    orange = [d for i, d in enumerate(corpus["invoices"]) if i % 3 == 1]
    assert len(rows) == 1 + len(orange)
    first = rows[1]  # the smallest amount: invoice 1
    assert first[:9] == [
        "Orange",
        "FA-0001",
        "15/02/2024",
        "1234,56",
        "Boulangerie Martin",
        "Achats 2025",
        "Factures d'achat",
        "À valider",
        "facture-01.pdf",
    ]
    assert first[9].endswith(f"/documents/{orange[0].id}")
    assert [r[1] for r in rows[1:]] == [d.fields["invoice_number"] for d in orange]
    assert b"\r\n" in response.get_data()


def test_csv_is_capped_and_says_so(app, logged, corpus):
    app.config["SEARCH_CSV_MAX_ROWS"] = 4
    response = logged.get("/search/export.csv", query_string={"q": "facture"})
    assert response.headers["X-Classeur-Truncated"] == "1"
    assert response.headers["X-Classeur-Rows"] == "4"
    assert len(read_csv(response)) == 1 + 4
    html = page(logged, q="facture")
    assert "(les 4 premiers résultats)" in html


def test_csv_in_the_api_is_scoped(client, corpus):
    h, hu = corpus["h"], corpus["hu"]
    rows = read_csv(client.get("/api/v1/search.csv", query_string={"q": "facture"}, headers=h))
    assert len(rows) == 1 + 28
    assert not any("Zorglub" in cell for row in rows for cell in row)
    same = read_csv(
        client.get("/api/v1/search", query_string={"q": "facture", "format": "csv"}, headers=h)
    )
    assert sorted(same) == sorted(rows)
    mine = read_csv(client.get("/api/v1/search.csv", query_string={"q": "facture"}, headers=hu))
    assert {r[4] for r in mine[1:]} == {"Garage Dupont"}
    bad = client.get("/api/v1/search", query_string={"format": "xls"}, headers=h)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "format"
    bad = client.get("/api/v1/search.csv", query_string={"sort": "hasard"}, headers=h)
    assert bad.status_code == 422
    assert client.get("/api/v1/search.csv").status_code == 401
    assert client.get("/search/export.csv").status_code == 302  # to the login page


def test_csv_cells_never_start_a_formula(app, logged, corpus):
    from core.documents.models import Document
    from core.search.services import flush, index_documents

    d = corpus["invoices"][0]
    with app.app_context():
        doc = db.session.get(Document, d.id)
        doc.fields = {**doc.fields, "supplier": {"name": '=HYPERLINK("x")'}}
        db.session.commit()
        index_documents([d.id])
        flush()
    rows = read_csv(logged.get("/search/export.csv", query_string={"q": "FA-0000"}))
    assert rows[1][0] == '\'=HYPERLINK("x")'


def test_the_api_says_whether_there_is_a_next_page(client, corpus):
    response = client.get(
        "/api/v1/search", query_string={"q": "facture", "per_page": 10}, headers=corpus["h"]
    )
    data = response.get_json()
    assert data["has_next"] is True and len(data["results"]) == 10
    assert {"company_name", "binder_name", "searchable"} <= set(data["results"][0])


def test_amount_filters_take_amounts_typed_the_french_way(app, client, corpus):
    auth = Auth(client)
    auth.login(corpus["user"])
    typed = client.get("/search?amount_min=1%20000%2C50%20%E2%82%AC")
    assert typed.status_code == 200
    assert "Montant attendu" not in typed.get_data(as_text=True)
    assert "Montant attendu" in client.get("/search?amount_min=beaucoup").get_data(as_text=True)
