"""The tab "Journal d'achats", the API ``/api/v1/companies/{id}/fec`` and ``classeur fec``."""

from __future__ import annotations

import re
from datetime import date

from click.testing import CliRunner

MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def test_page_flow(books, make_invoice, client, auth, fec_checker):
    books.validated(make_invoice())
    auth.login(books.admin)
    accounting = client.get(f"/companies/{books.company.id}/accounting")
    assert "Journal d&#39;achats" in accounting.text or "Journal d'achats" in accounting.text
    tab = client.get(f"/companies/{books.company.id}/fec-export")
    assert tab.status_code == 200
    assert (
        "Exporter le journal d&#39;achats" in tab.text or "Exporter le journal d'achats" in tab.text
    )
    assert "Aucun export pour le moment." in tab.text
    done = client.post(f"/companies/{books.company.id}/fec-export", data=MARCH)
    assert done.status_code == 302
    page = client.get(done.headers["Location"])
    assert "version 1, 1 facture(s)" in page.text
    assert 'data-version="1"' in page.text
    links = re.findall(r'href="([^"]+/fec-export/\d+/(?:fec|csv))"', page.text)
    assert len(links) == 2
    fec = client.get(links[0])
    assert fec.status_code == 200
    assert "552100554FEC20260331.txt" in fec.headers["Content-Disposition"]
    fec_checker(fec.data.decode("utf-8"), date(2026, 3, 1), date(2026, 3, 31))
    csv = client.get(links[1])
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").startswith("Journal;")
    # Again: same version, said so.
    again = client.post(
        f"/companies/{books.company.id}/fec-export", data=MARCH, follow_redirects=True
    )
    assert "depuis la version 1" in again.text
    assert again.text.count('data-version="') == 1


def test_page_errors_are_french(books, make_invoice, client, auth):
    books.validated(make_invoice())
    auth.login(books.admin)
    url = f"/companies/{books.company.id}/fec-export"
    backwards = client.post(url, data={"start": "2026-03-31", "end": "2026-03-01"})
    assert backwards.status_code == 422
    assert "précède la date de début" in backwards.text
    too_long = client.post(url, data={"start": "2023-01-01", "end": "2026-03-01"})
    assert "ne peut dépasser 24 mois" in too_long.text
    empty = client.post(url, data={"start": "2025-01-01", "end": "2025-01-31"})
    assert "Aucun document validé du 01/01/2025 au 31/01/2025" in empty.text
    missing = client.post(url, data={"start": "", "end": "2026-03-01"})
    assert "date de début est obligatoire" in missing.text


def test_page_is_for_the_firm_and_the_accountants(books, factory, client, auth):
    other_firm = factory.firm()
    stranger = factory.user(other_firm, "admin")
    uploader = factory.user(books.firm, "uploader", companies=[books.company])
    auth.login(stranger)
    assert client.get(f"/companies/{books.company.id}/fec-export").status_code == 404
    client.get("/logout")
    auth.login(uploader)
    assert client.get(f"/companies/{books.company.id}/fec-export").status_code == 403


def test_api_returns_the_fec(books, make_invoice, client, factory, fec_checker):
    books.validated(make_invoice())
    headers = {"Authorization": f"Bearer {factory.token(books.admin)}"}
    url = f"/api/v1/companies/{books.company.id}/fec"
    answer = client.get(url, query_string=MARCH, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert 'filename="552100554FEC20260331.txt"' in answer.headers["Content-Disposition"]
    assert answer.headers["X-Export-Version"] == "1"
    text = answer.data.decode("utf-8")
    assert text.startswith("JournalCode\tJournalLib\tEcritureNum\t")
    fec_checker(text, date(2026, 3, 1), date(2026, 3, 31))
    assert client.get(url, query_string=MARCH, headers=headers).headers["X-Export-Version"] == "1"


def test_api_bad_dates_are_400_in_french(books, make_invoice, client, factory):
    books.validated(make_invoice())
    headers = {"Authorization": f"Bearer {factory.token(books.admin)}"}
    url = f"/api/v1/companies/{books.company.id}/fec"
    for query, words in (
        ({"start": "2026-03-31", "end": "2026-03-01"}, "précède"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "invalide"),
        ({"end": "2026-03-01"}, "obligatoire"),
        ({"start": "2020-01-01", "end": "2026-03-01"}, "24 mois"),
    ):
        answer = client.get(url, query_string=query, headers=headers)
        assert answer.status_code == 400, (query, answer.text)
        assert words in answer.get_json()["error"]["message"]


def test_api_is_firm_scoped(books, make_invoice, client, factory):
    books.validated(make_invoice())
    stranger = factory.user(factory.firm(), "admin")
    headers = {"Authorization": f"Bearer {factory.token(stranger)}"}
    answer = client.get(
        f"/api/v1/companies/{books.company.id}/fec", query_string=MARCH, headers=headers
    )
    assert answer.status_code == 404


def test_api_is_in_the_openapi_docs(app, client):
    spec = client.get("/api/v1/openapi.json")
    if spec.status_code == 404:
        spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    assert any(p.endswith("/companies/{company_id}/fec") for p in paths), list(paths)[:20]


def test_cli_exports_to_a_file(books, make_invoice, app_config, tmp_path, monkeypatch, fec_checker):
    from core.cli import main

    books.validated(make_invoice())
    monkeypatch.setenv("CLASSEUR_DATA_DIR", app_config["DATA_DIR"])
    monkeypatch.setenv("CLASSEUR_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("CLASSEUR_SEARCH_BACKEND", app_config["SEARCH_BACKEND"])
    out, csv = tmp_path / "fec.txt", tmp_path / "journal.csv"
    code = books.company.dossier_code
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "fec",
            "export",
            "--company",
            code,
            "--start",
            "2026-03-01",
            "--end",
            "2026-03-31",
            "--out",
            str(out),
            "--csv",
            str(csv),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "552100554FEC20260331.txt : version 1 (nouvelle version), 1 facture(s)" in result.output
    fec_checker(out.read_bytes().decode("utf-8"), date(2026, 3, 1), date(2026, 3, 31))
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfJournal;")
    bad = runner.invoke(
        main, ["fec", "export", "--company", code, "--start", "2026-03-31", "--end", "2026-03-01"]
    )
    assert bad.exit_code == 1 and "précède la date de début" in bad.output
