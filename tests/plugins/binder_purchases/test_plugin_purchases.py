"""The ``binder_purchases`` plugin wired into Classeur: real database, storage, reading
pipeline, index and files (reportlab PDFs, CII XML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bp_helpers import Purchases, cii
from sqlalchemy import select

from core.db import db
from tests.conftest import make_pdf_bytes, wait_for


def invoice_pdf(
    number: str,
    *,
    supplier: str = "Papeterie Moreau SARL",
    siren: str = "732 829 320",
    item: str = "Ramettes de papier A4",
    ht: str = "100,00",
    tva: str = "20,00",
    ttc: str = "120,00",
    extra: list[str] | None = None,
) -> bytes:
    """A born-digital French invoice (text layer)."""
    return make_pdf_bytes(
        [
            supplier,
            "12 rue des Lilas, 75011 Paris",
            f"SIREN {siren}",
            "",
            f"Facture n° {number}",
            "Date : 12/03/2026",
            "Client : Boulangerie Martin",
            "",
            *(extra or []),
            f"{item}          {ht}",
            f"Total HT {ht} EUR",
            f"TVA 20 % {tva} EUR",
            f"Total TTC {ttc} EUR",
        ]
    )


@pytest.fixture
def purchases(app: Any, client: Any, factory: Any, auth: Any) -> Purchases:
    return Purchases(app, client, factory, auth)


def codes(document: dict[str, Any], level: str | None = None) -> list[str]:
    return [c["code"] for c in document["checks"] if level is None or c["level"] == level]


# --- reading ---------------------------------------------------------------------------------


def test_plugin_einvoice_read_exactly_and_validated_without_correction(purchases):
    doc_id = purchases.drop(cii(), "facture.xml")
    doc = purchases.get(doc_id)
    fields = doc["fields"]
    assert doc["state"] == "to_review"
    assert fields["source"] == "einvoice"
    assert fields["invoice_number"] == "FA-2026-117"
    assert fields["invoice_date"] == "2026-03-12"
    assert fields["due_date"] == "2026-04-11"
    assert (fields["total_excl_tax"], fields["total_tax"], fields["total_incl_tax"]) == (
        "1034.56",
        "206.91",
        "1241.47",
    )
    assert fields["supplier"]["siren"] == "732829320"
    assert fields["supplier"]["vat_number"] == "FR44732829320"
    assert fields["payment_mode"] == "transfer"
    assert set(fields["confidence"].values()) == {1.0}
    # "Papeterie" → the keyword rule proposes office supplies, VAT 20 %.
    accounting = fields["accounting"]
    assert accounting["proposal"]["source"] == "rules"
    assert accounting["lines"] == [
        {
            "account": "6064",
            "label": "Papeterie Moreau SARL FA-2026-117",
            "vat_code": "FR_200",
            "amount_excl_tax": "1034.56",
            "vat_amount": "206.91",
        }
    ]
    assert codes(doc, "error") == []
    response = purchases.validate(doc_id)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "validated"


def test_plugin_text_pdf_is_prefilled(purchases):
    doc_id = purchases.drop(invoice_pdf("FA-2026-001"), "facture.pdf")
    doc = purchases.get(doc_id)
    fields = doc["fields"]
    assert doc["text_source"] == "text"
    assert fields["source"] == "text"
    assert fields["supplier"]["name"] == "Papeterie Moreau SARL"
    assert fields["supplier"]["siren"] == "732829320"
    assert fields["invoice_number"] == "FA-2026-001"
    assert fields["invoice_date"] == "2026-03-12"
    assert fields["total_incl_tax"] == "120.00"
    assert fields["vat_lines"] == [
        {
            "rate": "20.00",
            "base": "100.00",
            "amount": "20.00",
            "category": "S",
            "regime": "standard",
        }
    ]
    assert 0 < fields["confidence"]["total_incl_tax"] <= 1


def test_plugin_unreadable_scan_gives_empty_fields_not_a_failure(purchases):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (600, 400), 255).save(buf, format="PNG")
    doc_id = purchases.drop(buf.getvalue(), "blanc.png")
    doc = purchases.get(doc_id)
    assert doc["state"] == "to_review"
    assert doc["fields"]["total_incl_tax"] is None
    assert doc["fields"]["source"] == "ocr"
    assert "missing_field" in codes(doc, "error")


# --- fields through the API ------------------------------------------------------------------


def test_plugin_patch_fields_normalises_french_input_and_refuses_bad_values(purchases, app):
    doc_id = purchases.drop(invoice_pdf("FA-2026-002"), "facture.pdf")
    response = purchases.patch(
        doc_id,
        {
            "total_excl_tax": "1 234,56",
            "total_tax": "246,91",
            "total_incl_tax": "1 481,47",
            "invoice_date": "12/03/2026",
            "due_date": "1er avril 2026",
            "vat_lines": [{"rate": "20", "base": "1 234,56", "amount": "246,91"}],
            "supplier": {
                "name": "  Papeterie   Moreau ",
                "siren": "732 829 320",
                "vat_number": "fr 44 732829320",
            },
        },
    )
    assert response.status_code == 200, response.get_json()
    fields = response.get_json()["fields"]
    assert fields["total_excl_tax"] == "1234.56"
    assert fields["total_incl_tax"] == "1481.47"
    assert fields["invoice_date"] == "2026-03-12"
    assert fields["due_date"] == "2026-04-01"
    assert fields["vat_lines"] == [
        {
            "rate": "20.00",
            "base": "1234.56",
            "amount": "246.91",
            "category": None,
            "regime": None,
        }
    ]
    assert fields["supplier"]["name"] == "Papeterie Moreau"
    assert fields["supplier"]["vat_number"] == "FR44732829320"

    for changes, field in (
        ({"invoice_date": "31/02/2026"}, "invoice_date"),
        ({"total_incl_tax": "douze euros"}, "total_incl_tax"),
        ({"payment_mode": "bitcoin"}, "payment_mode"),
        ({"supplier": {"siren": "12345"}}, "supplier.siren"),
        (
            {"accounting": {"lines": [{"account": "6063", "vat_code": "FR_999"}]}},
            "accounting.lines[0].vat_code",
        ),
        ({"colour": "blue"}, "colour"),
    ):
        response = purchases.patch(doc_id, changes)
        assert response.status_code == 422, changes
        assert response.get_json()["error"]["field"] == field
    # Every accepted change is in the audit trail, the refused ones are not.
    from core.documents.models import DocumentEvent

    with app.app_context():
        events = db.session.scalars(
            select(DocumentEvent).where(
                DocumentEvent.document_id == doc_id, DocumentEvent.action == "fields_changed"
            )
        ).all()
        assert len(events) == 1
        assert events[0].after["total_excl_tax"] == "1234.56"


# --- checks ----------------------------------------------------------------------------------


def test_plugin_duplicate_invoice_is_flagged(purchases):
    first = purchases.drop(invoice_pdf("FA-2026-010"), "a.pdf")
    # Another file (another item), same supplier (same SIREN) and same number.
    second = purchases.drop(invoice_pdf("FA-2026-010", item="Stylos bille"), "b.pdf")
    third = purchases.drop(invoice_pdf("FA-2026-011"), "c.pdf")
    assert "duplicate" not in codes(purchases.get(first))
    dup = [c for c in purchases.get(second)["checks"] if c["code"] == "duplicate"]
    assert dup and dup[0]["level"] == "error"
    assert f"n° {first}" in dup[0]["message"]
    assert "duplicate" not in codes(purchases.get(third))
    assert purchases.validate(second).status_code == 422


def test_plugin_same_file_in_another_binder_is_a_duplicate(purchases, factory):
    content = invoice_pdf("FA-2026-020")
    first = purchases.drop(content, "a.pdf")
    other = factory.binder(purchases.company, name="Achats 2025")
    purchases.binder, main = other, purchases.binder
    second = purchases.drop(content, "a-bis.pdf")
    purchases.binder = main
    messages = [c["message"] for c in purchases.get(second)["checks"] if c["code"] == "duplicate"]
    assert any(f"document n° {first}" in m for m in messages)


def test_plugin_reverse_charge_is_flagged(purchases):
    doc_id = purchases.drop(
        cii("AE-1", category="AE", rate="0", tax="0.00", total="1034.56"), "autoliquidation.xml"
    )
    doc = purchases.get(doc_id)
    assert doc["fields"]["vat_regime"] == "reverse_charge"
    assert "reverse_charge" in codes(doc, "warning")
    assert {line["vat_code"] for line in doc["fields"]["accounting"]["lines"]} == {"AE"}


def test_plugin_validation_blocked_by_totals_mismatch(purchases):
    doc_id = purchases.drop(invoice_pdf("FA-2026-030"), "facture.pdf")
    purchases.set_account(doc_id, "6064")
    assert purchases.patch(doc_id, {"total_incl_tax": "130,00"}).status_code == 200
    response = purchases.validate(doc_id)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "totals_mismatch"
    assert purchases.get(doc_id)["state"] == "to_review"
    assert purchases.patch(doc_id, {"total_incl_tax": "120,00"}).status_code == 200
    assert purchases.validate(doc_id).status_code == 200


def test_plugin_required_elements_follow_company_settings(purchases):
    doc_id = purchases.drop(invoice_pdf("FA-2026-040"), "facture.pdf")  # no due date printed
    purchases.set_account(doc_id, "6064")
    assert (
        purchases.patch(
            doc_id,
            {
                "accounting": {
                    **purchases.get(doc_id)["fields"]["accounting"],
                    "lines": [
                        {
                            **purchases.get(doc_id)["fields"]["accounting"]["lines"][0],
                            "vat_code": None,
                        }
                    ],
                }
            },
        ).status_code
        == 200
    )
    assert codes(purchases.get(doc_id), "error") == []
    purchases.elements(due_date=True, vat_codes=True, payment_mode=True, invoice_number=True)
    checks = purchases.get(doc_id)["checks"]
    fields_in_error = {c["field"] for c in checks if c["level"] == "error"}
    assert {"due_date", "payment_mode", "accounting.lines[0].vat_code"} <= fields_in_error
    assert "invoice_number" not in fields_in_error  # it was read
    assert purchases.validate(doc_id).status_code == 422


def test_plugin_accounts_outside_chart_or_disallowed_class_are_errors(purchases):
    doc_id = purchases.drop(invoice_pdf("FA-2026-050"), "facture.pdf")
    purchases.set_account(doc_id, "2183")  # class 2, not allowed by default
    assert "class_2_refused" in codes(purchases.get(doc_id), "error")
    purchases.set_account(doc_id, "6999")
    assert "unknown_account" in codes(purchases.get(doc_id), "error")
    purchases.elements(allow_class_2=True)
    purchases.set_account(doc_id, "2183")
    assert codes(purchases.get(doc_id), "error") == []


# --- proposal --------------------------------------------------------------------------------


def test_plugin_supplier_memory_proposes_the_last_account(purchases, app):
    first = purchases.drop(invoice_pdf("FA-2026-100", item="Petites fournitures"), "a.pdf")
    purchases.set_account(first, "6063")
    assert purchases.validate(first).status_code == 200
    # The supplier was created on validation, with its memory.
    from plugins.binder_purchases.models import Supplier

    with app.app_context():
        supplier = db.session.scalars(select(Supplier)).one()
        assert (supplier.siren, supplier.last_account, supplier.invoice_count) == (
            "732829320",
            "6063",
            1,
        )
    second = purchases.drop(invoice_pdf("FA-2026-101", item="Ramettes de papier"), "b.pdf")
    proposal = purchases.get(second)["fields"]["accounting"]["proposal"]
    assert proposal["account"] == "6063"
    assert proposal["source"] == "supplier"
    assert proposal["reason"].startswith("même fournisseur que la facture FA-2026-100 validée")
    assert proposal["document_id"] == first
    assert purchases.get(second)["fields"]["accounting"]["lines"][0]["account"] == "6063"


def test_plugin_class_2_proposed_only_where_allowed(purchases):
    laptop = {
        "item": "Ordinateur portable Dell Latitude",
        "ht": "1 200,00",
        "tva": "240,00",
        "ttc": "1 440,00",
    }
    first = purchases.drop(
        invoice_pdf("INF-1", supplier="Informatique Dupont SARL", siren="552 100 554", **laptop),
        "a.pdf",
    )
    proposal = purchases.get(first)["fields"]["accounting"]["proposal"]
    assert proposal["account"] == "6063"
    assert proposal["reason"].startswith("règle : ordinateur")
    purchases.elements(allow_class_2=True)
    second = purchases.drop(
        invoice_pdf("INF-2", supplier="Informatique Dupont SARL", siren="552 100 554", **laptop),
        "b.pdf",
    )
    assert purchases.get(second)["fields"]["accounting"]["proposal"]["account"] == "2183"


def test_plugin_model_trained_in_background_and_used_for_unknown_supplier(purchases, app, factory):
    app.config["PURCHASES_MODEL_MIN_SAMPLES"] = 4  # the firm's history below, all of it
    app.extensions["classeur"].tasks.start()
    history = [
        ("Cabinet Lemoine", "732 829 320", "Mission d'audit des comptes annuels", "6226"),
        ("Cabinet Lemoine", "732 829 320", "Mission d'audit intermédiaire", "6226"),
        ("Imprimerie Vasseur", "552 100 554", "Flyers quadrichromie recto verso", "6236"),
        ("Imprimerie Vasseur", "552 100 554", "Plaquettes quadrichromie pliées", "6236"),
    ]
    for n, (supplier, siren, item, account) in enumerate(history):
        doc_id = purchases.drop(
            invoice_pdf(f"H-{n}", supplier=supplier, siren=siren, item=item), f"h{n}.pdf"
        )
        purchases.set_account(doc_id, account)
        assert purchases.validate(doc_id).status_code == 200
    with app.app_context():
        from plugins.binder_purchases.services import model_path

        path = model_path(purchases.firm.id)

    def trained_on_everything() -> bool:
        if not path.exists():
            return False
        from plugins.binder_purchases.accounting.model import AccountModel

        model = AccountModel.load(path)
        return model.trained and set(model.pipeline.classes_) == {"6226", "6236"}

    wait_for(trained_on_everything, timeout=60)
    unknown = purchases.drop(
        invoice_pdf(
            "X-1",
            supplier="Audit et Associés",
            siren="443 061 841",
            item="Mission d'audit des comptes consolidés",
        ),
        "x.pdf",
    )
    proposal = purchases.get(unknown)["fields"]["accounting"]["proposal"]
    assert proposal["source"] == "model"
    assert proposal["account"] == "6226"
    assert proposal["reason"].startswith("modèle du cabinet")


# --- review page -----------------------------------------------------------------------------


def test_plugin_review_page_saves_and_validates_then_opens_the_next(purchases, app):
    first = purchases.drop(invoice_pdf("R-1"), "r1.pdf")
    second = purchases.drop(invoice_pdf("R-2"), "r2.pdf")
    page = purchases.client.get(f"/purchases/{first}/review")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/api/v1/documents/{first}/pages/1.png" in html
    assert 'name="supplier.name"' in html and "autofocus" in html
    assert "low-confidence" in html  # the supplier name was guessed (confidence 0.7)
    assert "règle : fournitures" in html
    assert "review.js" in html and "<script>" not in html
    assert 'name="amount_due"' in html and "Net à payer" in html
    assert 'name="supplier.siret"' in html  # the bad_identifier check may point at it

    form = {
        "rows": "2",
        "supplier.name": "Papeterie Moreau",
        "supplier.siren": "732829320",
        "invoice_date": "12/03/2026",
        "total_excl_tax": "100,00",
        "total_tax": "20,00",
        "total_incl_tax": "120,00",
        "amount_due": "70,00",
        "currency": "EUR",
        "document_kind": "invoice",
        "vat_regime": "standard",
        "vat-0-rate": "20",
        "vat-0-base": "100,00",
        "vat-0-amount": "20,00",
        "line-0-account": "6063",
    }
    saved = purchases.client.post(f"/purchases/{first}/review", data={**form, "action": "save"})
    assert saved.status_code == 302
    doc = purchases.get(first)
    assert doc["fields"]["supplier"]["name"] == "Papeterie Moreau"
    assert doc["fields"]["confidence"]["supplier.name"] == 1.0
    assert doc["fields"]["accounting"]["lines"][0]["account"] == "6063"
    assert doc["fields"]["amount_due"] == "70.00"  # after a deposit, what is left to pay
    assert doc["state"] == "to_review"

    bad = purchases.client.post(
        f"/purchases/{first}/review",
        data={**form, "total_incl_tax": "999,00", "action": "validate"},
    )
    assert bad.status_code == 422
    assert "Les totaux ne concordent pas" in bad.get_data(as_text=True)
    assert purchases.get(first)["state"] == "to_review"

    done = purchases.client.post(f"/purchases/{first}/review", data={**form, "action": "validate"})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/purchases/{second}/review")
    assert purchases.get(first)["state"] == "validated"
    listing = purchases.client.get(f"/purchases/binders/{purchases.binder.id}/to-review")
    assert f"/purchases/{second}/review" in listing.get_data(as_text=True)
    assert f"/purchases/{first}/review" not in listing.get_data(as_text=True)


def test_plugin_review_shows_only_enabled_elements(purchases):
    doc_id = purchases.drop(invoice_pdf("E-1"), "e.pdf")
    html = purchases.client.get(f"/purchases/{doc_id}/review").get_data(as_text=True)
    assert 'name="due_date"' not in html and 'name="line-0-vat_code"' not in html
    purchases.elements(due_date=True, vat_codes=True, invoice_number=True, payment_mode=True)
    html = purchases.client.get(f"/purchases/{doc_id}/review").get_data(as_text=True)
    for name in ("due_date", "line-0-vat_code", "invoice_number", "payment_mode"):
        assert f'name="{name}"' in html


# --- company tabs, tenancy -------------------------------------------------------------------


def test_hook_register_company_tabs(purchases):
    company_id = purchases.company.id
    html = purchases.client.get(f"/companies/{company_id}/accounting").get_data(as_text=True)
    assert f'href="/purchases/companies/{company_id}/accounts"' in html
    assert "Plan comptable" in html and "Fournisseurs" in html
    page = purchases.client.get(f"/purchases/companies/{company_id}/accounts")
    assert page.status_code == 200
    assert 'data-number="6063"' in page.get_data(as_text=True)
    assert purchases.client.get(f"/purchases/companies/{company_id}/suppliers").status_code == 200


def test_plugin_chart_of_accounts_add_rename_deactivate(purchases, app):
    company_id = purchases.company.id
    url = f"/purchases/companies/{company_id}/accounts"
    assert (
        purchases.client.post(url, data={"number": "6068 1", "label": "Emballages"}).status_code
        == 302
    )
    refused = purchases.client.post(url, data={"number": "abc", "label": "x"})
    assert refused.status_code == 422
    from plugins.binder_purchases.models import Account

    with app.app_context():
        account = db.session.scalars(
            select(Account).where(Account.company_id == company_id, Account.number == "60681")
        ).one()
        account_id = account.id
    purchases.client.post(
        f"{url}/{account_id}", data={"action": "rename", "label": "Emballages perdus"}
    )
    purchases.client.post(f"{url}/{account_id}", data={"action": "deactivate"})
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert (account.label, account.active) == ("Emballages perdus", False)
    doc_id = purchases.drop(invoice_pdf("C-1"), "c.pdf")
    purchases.set_account(doc_id, "60681")
    assert "inactive_account" in codes(purchases.get(doc_id), "error")


def test_plugin_tenancy_other_firm_gets_404(purchases, factory, app):
    doc_id = purchases.drop(invoice_pdf("T-1"), "t.pdf")
    other_firm = factory.firm("Cabinet Voisin")
    intruder = factory.user(other_firm, "admin")
    client = app.test_client()
    client.post("/login", data={"email": intruder.email, "password": intruder.password})
    company_id = purchases.company.id
    assert client.get(f"/purchases/{doc_id}/review").status_code == 404
    assert (
        client.post(f"/purchases/{doc_id}/review", data={"action": "validate"}).status_code == 404
    )
    assert client.get(f"/purchases/companies/{company_id}/accounts").status_code == 404
    assert client.get(f"/purchases/companies/{company_id}/suppliers").status_code == 404
    assert client.get(f"/purchases/binders/{purchases.binder.id}/to-review").status_code == 404
    uploader = factory.user(purchases.firm, "uploader", companies=[purchases.company])
    client = app.test_client()
    client.post("/login", data={"email": uploader.email, "password": uploader.password})
    assert client.get(f"/purchases/{doc_id}/review").status_code == 403


# --- command line ----------------------------------------------------------------------------


def _classeur(*args: str, cwd: Path) -> Any:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("classeur")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def test_plugin_cli_extract_json_on_pdf_and_xml(tmp_path):
    from plugins.binder_purchases.extraction import extract_file

    pdf = tmp_path / "facture.pdf"
    pdf.write_bytes(invoice_pdf("CLI-1"))
    xml = tmp_path / "facture.xml"
    xml.write_bytes(cii("CLI-2"))
    for path, number, source in ((pdf, "CLI-1", "text"), (xml, "CLI-2", "einvoice")):
        run = _classeur("extract", str(path), "--json", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        fields = json.loads(run.stdout)
        assert fields["invoice_number"] == number
        assert fields["source"] == source
        assert fields == extract_file(path)
    run = _classeur("extract", str(pdf), "--no-einvoice", "--json", cwd=tmp_path)
    assert json.loads(run.stdout)["source"] == "text"
    bad = tmp_path / "note.xml"
    bad.write_bytes(b"<note>pas une facture</note>")
    run = _classeur("extract", str(bad), "--json", cwd=tmp_path)
    assert run.returncode == 1
    assert "pas une facture électronique" in run.stderr
    assert run.stdout == ""
    assert not (tmp_path / "classeur.db").exists()  # no app, no database
    run = _classeur("extract", str(pdf), "--layout", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "CLI-1" in run.stdout and "{" not in run.stdout  # the page's lines, not the fields


def test_a_rejected_validated_invoice_is_corrected_on_the_review_page_and_resent(
    app, client, factory, auth
):
    """The error workflow: a validated invoice in export error opens on the review page again;
    "Enregistrer et renvoyer" saves the correction and resends it."""
    from core.db import db
    from core.documents.models import Document
    from core.exports.models import ExportState, ExportStatus

    firm = factory.firm()
    company = factory.company(firm, code="DEMO01")
    binder = factory.binder(company, "purchase_invoices", name="Achats")
    fields = {
        "source": "text",
        "document_kind": "invoice",
        "supplier": {
            "name": "Papeterie Lebrun",
            "siren": None,
            "siret": None,
            "vat_number": None,
            "iban": None,
            "country": "FR",
        },
        "invoice_number": "PL-77",
        "invoice_date": "2026-03-14",
        "due_date": "2026-04-14",
        "currency": "EUR",
        "total_excl_tax": "100.00",
        "total_tax": "20.00",
        "total_incl_tax": "120.00",
        "vat_lines": [{"rate": "20.00", "base": "100.00", "amount": "20.00"}],
        "payment_mode": None,
        "vat_regime": "standard",
        "confidence": {},
    }
    document = factory.document(binder, state="validated", fields=fields)
    with app.app_context():
        from core.exports.services import set_connector_enabled

        set_connector_enabled(firm.id, "meg_export", True)
        db.session.add(
            ExportStatus(
                document_id=document.id,
                firm_id=firm.id,
                connector="meg_export",
                state=ExportState.ERROR,
                message="Compte refusé",
            )
        )
        db.session.commit()
    auth.login(factory.user(firm, "accountant"))
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "Corriger" in page
    review = client.get(f"/purchases/{document.id}/review").get_data(as_text=True)
    assert "Enregistrer et renvoyer" in review
    import re

    form = {
        m.group(1): m.group(2) for m in re.finditer(r'name="([^"]+)"[^>]*value="([^"]*)"', review)
    }
    form["action"] = "validate"
    response = client.post(f"/purchases/{document.id}/review", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        status = db.session.query(ExportStatus).filter_by(document_id=document.id).one()
        # Resent: back in the queue (the task runner is not started in this test).
        assert status.state == ExportState.PENDING
        assert db.session.get(Document, document.id).state == "validated"
