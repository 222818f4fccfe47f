"""Exports of validated purchase invoices to the real MEG sandbox, through the core's runner."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from core.db import db
from core.documents.models import Document
from tests.conftest import wait_for
from tests.plugins.meg_export.meg_helpers import Meg, raw_token_row, stored_token

INVOICES = Path(__file__).resolve().parents[3] / "tests" / "data" / "invoices"
PDF = INVOICES / "invoice2data/free_fiber.pdf"
PNG = INVOICES / "invoice2data/AmazonWebServices.png"
UBL = INVOICES / "akretion/ubl-21-en16931.xml"


def test_purchase_reaches_meg_with_its_pending_payment(meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    document = meg.document(purchase_fields())
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", status.message
    [purchase] = meg.purchases()
    assert status.remote_id == str(purchase["id"])
    assert purchase["partner_id"] == str(document.id)
    assert purchase["source_platform"] == "Classeur"
    assert purchase["payment_mode"] == "prelevement"
    assert purchase["supplier"]["country"] == "france"
    assert purchase["total_incl_tax"] == "120.00"
    assert [line["account"] for line in purchase["lines"]] == ["626000"]
    assert purchase["payment"] == {
        **purchase["payment"],
        "status": "en_attente",
        "amount": "120.00",
        "due_date": "2024-12-02",
    }
    assert purchase["file"]["filename"] == "facture.pdf"
    stored = requests.get(
        f"{meg.sandbox.base_url}/api/v1/dossiers/DEMO01/purchases/{purchase['id']}/file",
        headers={"Authorization": f"Bearer {meg.api.token['access_token']}"},
        timeout=5,
    )
    assert stored.content == PDF.read_bytes()
    assert meg.api.supervision("DEMO01")["platform"] == "Classeur"
    # The "MEG" tab shows the last purchase import, read from MEG's supervision.
    page = meg.web.get(f"/companies/{meg.company.id}/meg").text
    assert "aucun achat importé" not in page and "— Classeur" in page


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"vat_code": "FR_999"}, "lines[0].vat_code", "Le code TVA « FR_999 » de la ligne 1"),
        ({"account": "401000"}, "lines[0].account", "seuls les comptes des classes 2"),
    ],
)
def test_meg_refusal_shows_its_french_message_then_fix_and_resend(
    app, meg_for, purchase_fields, line, field, message
):
    from core.documents.services import update_fields
    from core.exports.services import retry_export, submit_exports

    meg = meg_for("DEMO01")
    fields = purchase_fields()
    good_line = dict(fields["accounting"]["lines"][0])
    fields["accounting"]["lines"][0].update(line)
    document = meg.document(fields)
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "error"
    assert message in status.message
    assert status.field == field and status.transient is False
    assert meg.purchases() == []
    with app.app_context():
        doc = db.session.get(Document, document.id)
        update_fields(doc, {"accounting": {"lines": [good_line]}}, None)
        db.session.commit()
        retried = retry_export(doc, "meg_export", None)
        db.session.commit()
        submit_exports([retried.id])
    status = wait_for(lambda: (s := meg.status(document)).state == "exported" and s, timeout=60)
    assert [p["partner_id"] for p in meg.purchases()] == [str(document.id)]


def test_sales_invoices_and_admin_documents_are_never_sent(meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    documents = [
        meg.document(purchase_fields(invoice_number=f"V-{kind}"), kind)
        for kind in ("sales_invoices", "admin_documents")
    ]
    for document in documents:
        meg.validate(document)
    assert meg.runner.wait_idle(30)
    assert [meg.status(d) for d in documents] == [None, None]
    assert meg.purchases() == []


def test_faults_never_create_a_second_purchase(meg_for, purchase_fields, serve_sandbox, tmp_path):
    # A sandbox of its own: the request held by the time-out fault may land after the test.
    with serve_sandbox({"SANDBOX_DATA_DIR": str(tmp_path / "meg")}) as own:
        _faults_never_create_a_second_purchase(meg_for("DEMO01", own), purchase_fields, own)


def _faults_never_create_a_second_purchase(meg, purchase_fields, sandbox):
    sandbox.faults(error_5xx_next=2, timeout_next=1, timeout_seconds=3, error_after_store_next=2)
    documents = [meg.document(purchase_fields(invoice_number=f"FA-{n}")) for n in range(5)]
    for document in documents:
        meg.validate(document)
    statuses = [meg.wait_final(d) for d in documents]
    assert [s.state for s in statuses] == ["exported"] * 5
    assert sum(s.attempts for s in statuses) > 5  # the faults were really met
    partner_ids = sorted(p["partner_id"] for p in meg.purchases())
    assert partner_ids == sorted(str(d.id) for d in documents)


@pytest.mark.parametrize(
    ("inline_wait", "attempts"),
    [(5, 1), (0.5, 1)],
    ids=["waited-in-the-worker", "handed-to-the-core-retry"],
)
def test_rate_limit_slows_the_export_down_instead_of_failing(
    app, meg_for, purchase_fields, sandbox, inline_wait, attempts
):
    app.config["MEG_MAX_INLINE_WAIT"] = inline_wait
    meg = meg_for("DEMO01")
    sandbox.faults(status_429_next=2, retry_after=1)
    document = meg.document(purchase_fields())
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", (status.message, status.code, status.attempts)
    # Both 429s were met (and waited out), not skipped.
    assert sandbox.faults()["status_429_next"] == 0
    # A Retry-After within MEG_MAX_INLINE_WAIT is waited in the worker; a longer one goes back
    # to the core's retry with that delay. Either way a rate-limited answer uses no attempt.
    assert status.attempts == attempts
    with meg.app.app_context():
        events = (
            db.session.execute(
                text("SELECT action FROM document_events WHERE document_id = :d"),
                {"d": document.id},
            )
            .scalars()
            .all()
        )
    assert "export_error" not in events
    assert [p["partner_id"] for p in meg.purchases()] == [str(document.id)]


def _reverse_charge(purchase_fields):
    fields = purchase_fields(
        invoice_number="AL-2024-7",
        vat_regime="reverse_charge",
        total_excl_tax="1000.00",
        total_tax="0.00",
        total_incl_tax="1000.00",
        vat_lines=[{"rate": "20", "base": "1000.00", "amount": "0.00"}],
        accounting={"lines": [], "proposal": {"account": "604000", "source": "rules"}},
    )
    fields["supplier"] = {
        "name": "Maçonnerie Sous-traitance",
        "siren": "552100554",
        "vat_number": "FR96552100554",
        "country": "FR",
    }
    return fields


def test_reverse_charge_without_capability_is_sent_as_classic_with_a_warning(
    meg_for, purchase_fields
):
    meg = meg_for("DEMO01")
    document = meg.document(_reverse_charge(purchase_fields))
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", status.message
    assert "Autoliquidation bâtiment" in status.message
    [purchase] = meg.purchases()
    assert purchase["vat_regime"] == "national"
    assert [(x["vat_code"], x["vat_amount"], x["account"]) for x in purchase["lines"]] == [
        ("FR_200", "200.00", "604000")
    ]
    assert (purchase["total_tax"], purchase["total_incl_tax"]) == ("200.00", "1200.00")


def test_reverse_charge_with_capability_is_sent_with_ae(meg_for, purchase_fields):
    meg = meg_for("DEMO02")
    document = meg.document(_reverse_charge(purchase_fields))
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", status.message
    assert "Autoliquidation" not in (status.message or "")
    [purchase] = meg.purchases()
    assert purchase["vat_regime"] == "reverse_charge"
    assert [x["vat_code"] for x in purchase["lines"]] == ["AE"]
    assert purchase["total_incl_tax"] == purchase["total_excl_tax"] == "1000.00"


def test_intra_eu_supplier_without_capability_gets_the_intra_warning(meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    fields = _reverse_charge(purchase_fields)
    fields.update(vat_regime="intra_eu", invoice_number="DE-1")
    fields["supplier"] = {"name": "Werkzeug GmbH", "vat_number": "DE136695976"}
    document = meg.document(fields)
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", status.message
    assert "Achat intracommunautaire" in status.message
    [purchase] = meg.purchases()
    assert purchase["supplier"]["country"] == "union_europeenne"


def test_expired_token_is_refreshed_and_stored_encrypted(app, meg_for, purchase_fields, sandbox):
    meg = meg_for("DEMO01")
    before = stored_token(app, meg.company)
    requests.post(f"{sandbox.base_url}/_sandbox/expire-tokens", timeout=5).raise_for_status()
    document = meg.document(purchase_fields())
    meg.validate(document)
    assert meg.wait_final(document).state == "exported"
    after = stored_token(app, meg.company)
    raw = raw_token_row(app, meg.company)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # MEG rotates it
    assert after["access_token"] not in raw and after["refresh_token"] not in raw
    # The stored token is the live one.
    answer = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {after['access_token']}"},
        timeout=5,
    )
    assert answer.status_code == 200


def test_revoked_link_is_an_error_asking_to_link_again(app, meg_for, purchase_fields, sandbox):
    from plugins.meg_export.client import MegOAuth

    meg = meg_for("DEMO01")
    token = stored_token(app, meg.company)
    oauth = MegOAuth(sandbox.base_url, "classeur", "classeur-sandbox-secret")
    oauth.revoke(token["refresh_token"])
    oauth.revoke(token["access_token"], "access_token")
    document = meg.document(purchase_fields())
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "error"
    assert status.message == "Liaison MEG expirée : reliez l'entreprise à nouveau (onglet MEG)"
    assert status.transient is False


def test_enabled_but_not_linked_is_an_error(app, factory, sandbox, purchase_fields):
    from core.exports.services import set_connector_enabled

    firm = factory.firm()
    company = factory.company(firm, code="DEMO01")
    with app.app_context():
        set_connector_enabled(firm.id, "meg_export", True)
        db.session.commit()
    meg = Meg(app, factory, sandbox, {"access_token": "x"}, None, company)
    document = meg.document(purchase_fields())
    meg.validate(document)
    status = meg.wait_final(document)
    assert (status.state, status.code) == ("error", "not_linked")
    assert "Entreprise non liée à un dossier MEG" in status.message


def test_image_and_xml_originals_are_sent_as_pdf(meg_for, purchase_fields):
    from pypdf import PdfReader

    meg = meg_for("DEMO01")
    image = meg.document(
        purchase_fields(invoice_number="IMG-1"),
        content=PNG.read_bytes(),
        filename="scan.png",
        media_type="image/png",
    )
    xml = meg.document(
        purchase_fields(invoice_number="XML-1"),
        content=UBL.read_bytes(),
        filename="facture-ubl.xml",
        media_type="application/xml",
    )
    for document in (image, xml):
        meg.validate(document)
    assert [meg.wait_final(d).state for d in (image, xml)] == ["exported", "exported"]
    files = {p["partner_id"]: p["file"]["filename"] for p in meg.purchases()}
    assert files == {str(image.id): "scan.pdf", str(xml.id): "facture-ubl.pdf"}
    purchase = next(p for p in meg.purchases() if p["partner_id"] == str(xml.id))
    pdf = requests.get(
        f"{meg.sandbox.base_url}/api/v1/dossiers/DEMO01/purchases/{purchase['id']}/file",
        headers={"Authorization": f"Bearer {meg.api.token['access_token']}"},
        timeout=5,
    ).content
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments["facture-ubl.xml"] == [UBL.read_bytes()]
    assert len(reader.pages) == 1  # the summary page
