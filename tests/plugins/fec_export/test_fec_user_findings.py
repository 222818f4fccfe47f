"""What a new user found: the download's Content-Type, the connector's state on the tab, the
API and CLI exports in the audit log, the self-assessed VAT of intra-EU / extra-EU /
reverse-charge invoices (posted when the rate is known, listed « à saisir » otherwise)."""

from __future__ import annotations

import re
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from core.db import db

MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
START, END = date(2026, 3, 1), date(2026, 3, 31)


def _intra(make_invoice, number: str, rate: str, regime: str = "intra_eu", **extra):
    """A 1,000.00 € HT invoice without invoiced VAT, of a self-assessed ``regime``."""
    return make_invoice(
        invoice_number=number,
        supplier={"name": "Lieferant GmbH", "country": "DE", "vat_number": "DE123456789"},
        total_excl_tax="1000.00",
        total_tax="0.00",
        total_incl_tax="1000.00",
        amount_due="1000.00",
        vat_regime=regime,
        vat_lines=[
            {"rate": rate, "base": "1000.00", "amount": "0.00", "category": None, "regime": regime}
        ],
        accounting={
            "lines": [
                {
                    "account": "607",
                    "label": "Marchandises",
                    "vat_code": "INTRA",
                    "amount_excl_tax": "1000.00",
                    "vat_amount": "0.00",
                }
            ],
            "proposal": None,
            "supplier_id": None,
        },
        **extra,
    )


def _audits(app, firm_id):
    from core.auth.models import AuditEvent

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.firm_id == firm_id, AuditEvent.action == "fec_export")
                .order_by(AuditEvent.id)
            )
        )


def test_web_download_has_one_charset(books, make_invoice, client, auth):
    books.validated(make_invoice())
    auth.login(books.admin)
    done = client.post(f"/companies/{books.company.id}/fec-export", data=MARCH)
    page = client.get(done.headers["Location"]).text
    fec_link, csv_link = re.findall(r'href="([^"]+/fec-export/\d+/(?:fec|csv))"', page)
    fec = client.get(fec_link)
    assert fec.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert client.get(csv_link).headers["Content-Type"] == "text/csv; charset=utf-8"
    # An ISO-8859-15 FEC says so, once.
    client.post(
        f"/companies/{books.company.id}/fec-export/settings",
        data={
            "journal_code": "HA",
            "journal_label": "Achats",
            "supplier_account": "401",
            "encoding": "iso-8859-15",
        },
    )
    done = client.post(f"/companies/{books.company.id}/fec-export", data=MARCH)
    page = client.get(done.headers["Location"]).text
    latest = re.findall(r'href="([^"]+/fec-export/\d+/fec)"', page)[0]
    assert client.get(latest).headers["Content-Type"] == "text/plain; charset=iso-8859-15"


def test_tab_says_whether_the_connector_is_on(books, client, auth, app):
    from core.plugins.activation import set_plugin_enabled

    auth.login(books.admin)
    url = f"/companies/{books.company.id}/fec-export"
    on = client.get(url).text
    assert 'data-connector="on"' in on and "Connecteur FEC activé" in on
    with app.app_context():
        set_plugin_enabled(books.firm.id, "fec_export", False, books.company.id)
        db.session.commit()
    off = client.get(url).text
    assert 'data-connector="off"' in off
    assert "Connecteur FEC désactivé pour cette entreprise" in off
    assert "« Administration » → « Modules »" in off
    assert 'href="/admin/modules"' in off


def test_api_and_cli_exports_are_audited(
    books, make_invoice, client, factory, app, app_config, monkeypatch
):
    from core.cli import main

    books.validated(make_invoice())
    headers = {"Authorization": f"Bearer {factory.token(books.admin)}"}
    answer = client.get(
        f"/api/v1/companies/{books.company.id}/fec", query_string=MARCH, headers=headers
    )
    assert answer.status_code == 200
    (api,) = _audits(app, books.firm.id)
    assert api.user_id == books.admin.id and api.target == f"company:{books.company.id}"
    assert api.details["via"] == "api" and api.details["version"] == 1
    assert api.details["created"] is True

    monkeypatch.setenv("CLASSEUR_DATA_DIR", app_config["DATA_DIR"])
    monkeypatch.setenv("CLASSEUR_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("CLASSEUR_SEARCH_BACKEND", app_config["SEARCH_BACKEND"])
    result = CliRunner().invoke(
        main,
        ["fec", "export", "--company", books.company.dossier_code]
        + ["--start", MARCH["start"], "--end", MARCH["end"]],
    )
    assert result.exit_code == 0, result.output
    api, cli = _audits(app, books.firm.id)
    assert cli.details["via"] == "cli" and cli.user_id is None
    assert cli.details["created"] is False and cli.details["batch"] == api.details["batch"]


def test_self_assessed_vat_is_posted_and_the_fec_stays_valid(books, make_invoice, fec_checker):
    books.validated(make_invoice())
    books.validated(_intra(make_invoice, "DE-1", "20.00"))
    books.validated(_intra(make_invoice, "AE-1", "10.00", regime="reverse_charge"))
    done = books.export(MARCH["start"], MARCH["end"])
    assert done.rejected == {}
    found = fec_checker(books.fec_text(done.batch), START, END)
    by_piece = {rows[0]["PieceRef"]: rows for rows in found["entries"].values()}
    intra = {r["CompteNum"]: (r["Debit"], r["Credit"]) for r in by_piece["DE-1"]}
    assert intra == {
        "607": ("1000,00", "0,00"),
        "445662": ("200,00", "0,00"),
        "4452": ("0,00", "200,00"),
        "401": ("0,00", "1000,00"),
    }
    reverse = {r["CompteNum"]: (r["Debit"], r["Credit"]) for r in by_piece["AE-1"]}
    assert reverse["445662"] == ("100,00", "0,00") and reverse["4452"] == ("0,00", "100,00")
    # The French invoice is untouched; nothing to enter by hand.
    assert {r["CompteNum"] for r in by_piece["FA-2026-117"]} == {"6064", "445660", "401"}
    assert "notes" not in {f["format"] for f in done.batch.files}
    assert "445662" in books.csv_text(done.batch)


def test_self_assessed_vat_without_rate_is_listed_to_enter(
    books, make_invoice, fec_checker, client, auth, factory
):
    books.validated(_intra(make_invoice, "DE-0", "0.00"))
    books.validated(make_invoice(invoice_number="FA-OK"))
    auth.login(books.admin)
    done = client.post(
        f"/companies/{books.company.id}/fec-export", data=MARCH, follow_redirects=True
    )
    assert "TVA autoliquidée non passée, à saisir" in done.text
    assert "TVA autoliquidée non passée : à saisir" in done.text
    assert "Lieferant GmbH DE-0" in done.text
    (link,) = re.findall(r'href="([^"]+/fec-export/\d+/notes)"', done.text)
    notes = client.get(link)
    assert notes.status_code == 200
    assert notes.headers["Content-Type"] == "text/plain; charset=utf-8"
    body = notes.data.decode("utf-8")
    assert "Lieferant GmbH DE-0" in body and "TVA autoliquidée non passée : à saisir" in body
    assert "FA-OK" not in body
    # The FEC stays valid, the invoice in it without self-assessed lines.
    fec = client.get(link.replace("/notes", "/fec")).data.decode("utf-8")
    found = fec_checker(fec, START, END)
    rows = [r for rows in found["entries"].values() for r in rows if r["PieceRef"] == "DE-0"]
    assert {r["CompteNum"] for r in rows} == {"607", "401"}
    # The API says it too.
    headers = {"Authorization": f"Bearer {factory.token(books.admin)}"}
    answer = client.get(
        f"/api/v1/companies/{books.company.id}/fec", query_string=MARCH, headers=headers
    )
    assert answer.headers["X-Export-Warnings"] == "1"
