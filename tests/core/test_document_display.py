"""Values of a document for a person (core.documents.display), the words of a page and where a
field is printed (core.documents.words), the page's live states and the e-invoice view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.binders.registry import BinderType
from tests.conftest import make_pdf_bytes

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "invoices"

FIELDS = {
    "source": "text",
    "document_kind": "credit_note",
    "supplier": {"name": "Free", "siren": "421938861", "vat_number": "FR60421938861"},
    "invoice_number": "FA-2026-0042",
    "invoice_date": "2026-10-15",
    "due_date": "2026-11-14",
    "currency": "EUR",
    "total_excl_tax": "1250.00",
    "total_tax": "250.00",
    "total_incl_tax": "1500.00",
    "vat_lines": [{"rate": "5.5", "base": "1250.00", "amount": "250.00", "regime": "standard"}],
    "payment_mode": "transfer",
    "vat_regime": "standard",
    "reading": {"method": "layout"},
    "confidence": {"invoice_number": 0.9},
    "accounting": {
        "lines": [
            {
                "account": "626000",
                "label": "Abonnement",
                "vat_code": "FR_200",
                "amount_excl_tax": "1250.00",
                "vat_amount": "250.00",
            }
        ],
        "proposal": {"source": "model", "confidence": 0.82, "account": "626000"},
        "supplier_id": 7,
    },
}

#: What a person must never read on the document page.
RAW = ("amount_excl_tax", "supplier_id", "vat_number", "credit_note", "meg_export", "1250.00")


def _norm(text: str) -> str:
    """Babel's French spaces (narrow no-break, no-break) as plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture
def purchases(app):
    return app.extensions["classeur"].binder_types.get("purchase_invoices")


def _by_key(rows):
    from core.documents.display import leaf_rows

    out = {}
    for row in rows:
        out[row.key] = row
        for leaf in leaf_rows([row]):
            out[leaf.key] = leaf
    return out


def test_display_fields_of_a_purchase_invoice(app, purchases):
    from core.documents.display import display_fields

    with app.test_request_context():
        rows = display_fields(purchases, FIELDS, company_id=3)
        rows_by_key = _by_key(rows)
    labels = [r.label for r in rows]
    assert "Date de facture" in labels and "Total HT" in labels and "Fournisseur" in labels
    assert not {"reading", "confidence", "Lecture", "Confiance"} & set(labels)
    assert rows_by_key["invoice_date"].text == "15/10/2026"
    assert _norm(rows_by_key["total_excl_tax"].text) == "1 250,00 €"
    assert rows_by_key["document_kind"].text == "Avoir"
    assert rows_by_key["payment_mode"].text == "Virement"
    assert rows_by_key["vat_regime"].text == "Taux normal"
    assert rows_by_key["source"].text == "Couche texte du PDF"
    assert rows_by_key["supplier.vat_number"].label == "N° de TVA intracommunautaire"
    vat = rows_by_key["vat_lines"]
    assert vat.columns == ["Taux", "Base HT", "Montant de TVA", "Régime"]
    assert [_norm(c) for c in vat.cells[0]] == ["5,5 %", "1 250,00 €", "250,00 €", "Taux normal"]
    accounting = rows_by_key["accounting"]
    children = {c.key: c for c in accounting.children}
    lines = children["accounting.lines"]
    assert "Montant HT" in lines.columns and "amount_excl_tax" not in lines.columns
    proposal = children["accounting.proposal"].text
    assert proposal.startswith("Proposé par le modèle (confiance 82 %)"), proposal
    assert "626000" in proposal
    # The supplier's internal id is a link to its card, never shown.
    link = children["accounting.supplier_id"]
    assert link.kind == "link" and link.url == "/purchases/companies/3/suppliers/7"
    assert "7" not in link.text
    everything = repr([(r.label, r.text, r.columns, r.cells) for r in rows_by_key.values()])
    for raw in RAW:
        assert raw not in everything, raw


def test_display_fields_other_currency_and_empty_values(app, purchases):
    from core.documents.display import display_fields

    fields = {"currency": "USD", "total_incl_tax": 99.5, "due_date": None, "supplier": {}}
    with app.test_request_context():
        rows = _by_key(display_fields(purchases, fields))
    assert _norm(rows["total_incl_tax"].text) == "99,50 $US"
    assert rows["due_date"].text == "—"
    assert rows["supplier"].text == "—"


def test_display_fields_any_binder_type_from_its_schema(app):
    """A binder type without labels of its own: titles, formats, x-labels, hidden, unknown."""
    from core.documents.display import display_fields

    schema = {
        "type": "object",
        "properties": {
            "signed_on": {"type": "string", "format": "date", "title": "Signé le"},
            "kind": {
                "oneOf": [
                    {"const": "lease", "title": "Bail"},
                    {"const": "loan", "title": "Prêt"},
                ],
                "title": "Nature",
            },
            "deposit": {"type": "number", "x-kind": "amount", "title": "Dépôt de garantie"},
            "internal": {"type": "string", "x-hidden": True},
            "paid": {"type": "boolean", "title": "Payé"},
        },
    }
    contracts = BinderType(name="contracts", label="Contrats", fields_schema=schema)
    fields = {
        "signed_on": "2026-03-01",
        "kind": "lease",
        "deposit": 1800,
        "internal": "x-42",
        "paid": True,
        "order_ref": "BC-12",
        "net_amount": "10",
    }
    with app.test_request_context():
        rows = _by_key(display_fields(contracts, fields))
    assert rows["signed_on"].text == "01/03/2026" and rows["signed_on"].label == "Signé le"
    assert rows["kind"].text == "Bail"
    assert _norm(rows["deposit"].text) == "1 800,00 €"
    assert "internal" not in rows
    assert rows["paid"].text == "Oui"
    # Unknown keys: readable names, and the key conventions for amounts.
    assert rows["order_ref"].label == "Order ref" and rows["order_ref"].text == "BC-12"
    assert _norm(rows["net_amount"].text) == "10,00 €"
    # A binder type without any schema still shows its fields.
    bare = BinderType(name="misc", label="Divers")
    with app.test_request_context():
        assert [r.text for r in display_fields(bare, {"date": "2026-01-02"})] == ["02/01/2026"]


def test_event_texts_without_identifiers(app):
    from types import SimpleNamespace

    from core.documents.display import event_text
    from core.documents.models import EVENT_LABELS

    exporters = {"meg_export": "MEG (RCA)"}

    def text(action, message=None, after=None):
        event = SimpleNamespace(action=action, message=message, after=after)
        return event_text(event, EVENT_LABELS, exporters, {"invoice_date": "Date de facture"})

    with app.test_request_context():
        assert text("read", "text") == "Lu (couche texte du PDF)"
        assert (
            text("exported", "meg_export: Achat n° 12 créé.")
            == "Exporté vers MEG (RCA) : Achat n° 12 créé."
        )
        assert text("export_error", "meg_export: Refusé") == (
            "Erreur lors de l'export vers MEG (RCA) : Refusé"
        )
        assert text("export_retry", "meg_export") == "Renvoyé vers MEG (RCA)"
        assert text("fields_changed", after={"invoice_date": "2026-01-01"}) == (
            "Champs modifiés : Date de facture"
        )


def test_moment_in_the_firm_time_zone(app):
    from datetime import UTC, datetime

    from core.documents.display import attempts_text, format_moment

    with app.test_request_context():
        # 12:30 UTC in October is 14:30 in Paris (summer time), 13:30 in December.
        assert format_moment(datetime(2026, 10, 15, 12, 30, tzinfo=UTC)) == "15/10/2026 14:30"
        assert format_moment(datetime(2026, 12, 15, 12, 30, tzinfo=UTC)) == "15/12/2026 13:30"
        assert attempts_text(3) == "3 tentatives" and attempts_text(1) == "1 tentative"
        assert attempts_text(0) == ""


def test_document_page_shows_values_for_a_person(app, factory, auth, client):
    firm = factory.firm()
    company = factory.company(firm)
    binder = factory.binder(company, name="Achats")
    user = factory.user(firm, "accountant")
    doc = factory.document(binder, fields=FIELDS)
    auth.login(user)
    html = _norm(client.get(f"/documents/{doc.id}").get_data(as_text=True))
    assert "15/10/2026" in html and "1 250,00 €" in html and "Virement" in html
    assert "Proposé par le modèle (confiance 82 %)" in html
    body = html.split("<main", 1)[-1]
    for raw in (*RAW, "2026-10-15", "proposal"):
        assert raw not in re.sub(r'data-field="[^"]*"', "", body), raw
    # Original: opened in the browser, and downloaded apart.
    assert f'href="/api/v1/documents/{doc.id}/file/inline" target="_blank"' in html
    inline = client.get(f"/api/v1/documents/{doc.id}/file/inline")
    assert inline.headers["Content-Disposition"].startswith("inline")
    download = client.get(f"/api/v1/documents/{doc.id}/file")
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_words_of_a_text_pdf_and_where_fields_are_printed(app, factory, auth, client):
    firm = factory.firm()
    binder = factory.binder(factory.company(firm))
    user = factory.user(firm, "accountant")
    content = make_pdf_bytes(
        ["Free SAS", "Facture FA-2026-0042 du 15/10/2026", "Total TTC : 1 500,00 EUR"]
    )
    doc = factory.document(binder, fields=FIELDS, content=content)
    auth.login(user)
    answer = client.get(f"/api/v1/documents/{doc.id}/words")
    assert answer.status_code == 200, answer.text
    data = answer.get_json()
    words = data["pages"]["1"]
    assert any(w["text"] == "FA-2026-0042" for w in words)
    assert all(0 <= w["x0"] < w["x1"] <= 1 and 0 <= w["y0"] < w["y1"] <= 1 for w in words)
    fields = data["fields"]
    (number,) = fields["invoice_number"]
    word = next(w for w in words if w["text"] == "FA-2026-0042")
    assert (number["page"], number["x0"], number["y1"]) == (1, word["x0"], word["y1"])
    assert fields["invoice_date"][0]["page"] == 1  # 2026-10-15 printed 15/10/2026
    # 1500.00 printed "1 500,00": one box over the two words.
    (total,) = fields["total_incl_tax"]
    cents = next(w for w in words if w["text"] == "500,00")
    thousands = words[words.index(cents) - 1]
    assert thousands["text"] == "1"
    assert (total["x0"], total["x1"]) == (thousands["x0"], cents["x1"])
    assert "due_date" not in fields  # not printed
    # Cached in the derived folder; another firm cannot read them.
    other = factory.user(factory.firm(), "admin")
    auth.login(other)
    assert client.get(f"/api/v1/documents/{doc.id}/words").status_code == 404


def test_live_state_and_resend_only_when_the_connector_can_send(app, factory, auth, client):
    from core.db import db
    from core.exports.models import ExportStatus
    from core.plugins.activation import switch_plugin

    firm = factory.firm()
    company = factory.company(firm)
    binder = factory.binder(company)
    user = factory.user(firm, "admin")
    doc = factory.document(binder, state="validated", fields=FIELDS)
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=doc.id,
                firm_id=firm.id,
                connector="meg_export",
                state="error",
                message="Refusé par MEG.",
                attempts=3,
            )
        )
        db.session.commit()
    auth.login(user)
    html = _norm(client.get(f"/documents/{doc.id}").get_data(as_text=True))
    assert "MEG (RCA)" in html and "3 tentatives" in html
    exports = html.split('id="exports"', 1)[1].split("</section>", 1)[0]
    # The connector is off for the company: no « Renvoyer », the reason instead.
    assert "MEG (RCA) est désactivé pour cette entreprise" in exports
    assert ">Renvoyer<" not in exports
    # Switched on but not linked: no « Renvoyer », the reason instead.
    with app.app_context():
        switch_plugin(firm.id, "meg_export", True, company.id)
        db.session.commit()
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    exports = html.split('id="exports"', 1)[1].split("</section>", 1)[0]
    assert "Entreprise non liée à MEG" in exports and ">Renvoyer<" not in exports
    live = client.get(f"/documents/{doc.id}/live").get_json()
    assert live["state"] == "validated" and live["state_label"] == "Validé"
    assert live["busy"] is False and "Erreur lors de l&#39;export" in live["exports_html"]


def test_einvoice_view_of_cii_and_ubl(app):
    from plugins.binder_purchases.einvoice_view import einvoice_view

    with app.test_request_context():
        cii = einvoice_view((SAMPLES / "akretion" / "factur-x-en16931.xml").read_bytes())
        ubl = einvoice_view((SAMPLES / "akretion" / "ubl-21-en16931.xml").read_bytes())
        assert einvoice_view(b"<note>rien</note>") is None
    for view in (cii, ubl):
        assert view["seller"]["name"] and view["buyer"]["name"]
        assert view["number"] and re.fullmatch(r"\d{2}/\d{2}/\d{4}", view["date"])
        assert view["lines"] and view["vat_lines"]
        totals = dict(view["totals"])
        assert _norm(totals["Total TTC"]).endswith(" €")
        assert "<" in view["xml"]


def test_xml_document_page_shows_the_einvoice(app, factory, auth, client):
    from core.db import db
    from core.documents.models import Document

    firm = factory.firm()
    binder = factory.binder(factory.company(firm))
    user = factory.user(firm, "accountant")
    content = (SAMPLES / "akretion" / "factur-x-en16931.xml").read_bytes()
    doc = factory.document(binder, content=content, filename="facture.xml")
    with app.app_context():
        db.session.get(Document, doc.id).media_type = "application/xml"
        db.session.commit()
    auth.login(user)
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert 'id="einvoice-seller"' in html and 'id="einvoice-totals"' in html
    # The raw XML is escaped, never markup of the page.
    assert "&lt;rsm:CrossIndustryInvoice" in html
    inline = client.get(f"/api/v1/documents/{doc.id}/file/inline")
    assert inline.mimetype == "text/plain"
    assert "sandbox" in inline.headers["Content-Security-Policy"]


def test_facturx_pdf_page_has_the_einvoice_tab(app, factory, auth, client):
    firm = factory.firm()
    binder = factory.binder(factory.company(firm))
    user = factory.user(firm, "accountant")
    content = (SAMPLES / "fnfe-2017" / "Facture_UE_EN16931.pdf").read_bytes()
    doc = factory.document(binder, content=content, filename="facturx.pdf")
    auth.login(user)
    html = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Données de la facture électronique" in html
    assert 'data-tab-panel="einvoice" hidden' in html and 'id="einvoice-seller"' in html
    assert 'id="viewer"' in html  # the pages stay the first tab
    # A plain PDF has no such tab.
    plain = factory.document(binder, content=make_pdf_bytes(["Facture"]), filename="p.pdf")
    html = client.get(f"/documents/{plain.id}").get_data(as_text=True)
    assert "Données de la facture électronique" not in html


def test_locate_values_among_ocr_words():
    """Amounts, dates and references found however they are printed, over several words of
    one line, never across lines."""
    from core.documents.display import DisplayRow
    from core.documents.words import field_boxes, locate

    def word(text, x0, line, page_line="1-1"):
        return {
            "text": text,
            "x0": x0,
            "y0": 0.1 * line,
            "x1": x0 + 0.05,
            "y1": 0.1 * line + 0.02,
            "line": page_line,
        }

    words = {
        1: [
            word("Total", 0.1, 1),
            word("TTC", 0.2, 1),
            word("1", 0.3, 1),
            word("250,00", 0.35, 1),
            word("€", 0.45, 1),
            word("le", 0.1, 2, "1-2"),
            word("15", 0.2, 2, "1-2"),
            word("octobre", 0.3, 2, "1-2"),
            word("2026", 0.4, 2, "1-2"),
            word("N°", 0.1, 3, "1-3"),
            word("FA", 0.2, 3, "1-3"),
            word("2026/42", 0.3, 3, "1-3"),
        ],
        2: [word("1", 0.8, 1, "2-1"), word("250,00", 0.1, 2, "2-2")],
    }
    amount = DisplayRow("total", "Total", "1 250,00 €", "amount", "1250.00")
    (box,) = locate(amount, words)
    assert box == pytest.approx({"page": 1, "x0": 0.3, "y0": 0.1, "x1": 0.4, "y1": 0.12})
    day = DisplayRow("date", "Date", "15/10/2026", "date", "2026-10-15")
    (box,) = locate(day, words)
    assert (box["x0"], box["x1"]) == pytest.approx((0.2, 0.45))
    number = DisplayRow("number", "N°", "FA-2026-42", "text", "FA-2026/42")
    (box,) = locate(number, words)
    assert (box["x0"], box["x1"]) == pytest.approx((0.2, 0.35))
    missing = DisplayRow("due", "Échéance", "", "date", "2026-11-14")
    assert field_boxes([amount, day, missing], words).keys() == {"total", "date"}
