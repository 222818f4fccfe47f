"""End to end through the core's runner and a real sandbox: VAT regimes per line, credit
notes, the supplier MEG matched, and "Exporté avec avertissement" on the document and the
dashboard."""

from __future__ import annotations

import re

import requests
from sqlalchemy import select

from core.db import db
from core.exports.models import ExportStatus
from plugins.meg_export.exporter import INTRA_EU_WARNING
from plugins.meg_export.sandbox.seed import MEG_SUPPLIER

WERKZEUG = {"name": "Werkzeug GmbH", "vat_number": "DE136695976", "country": "DE"}


def _mixed(purchase_fields, invoice_number="MIX-1"):
    """An intra-EU line (category K, 0 % on the invoice) beside a 20 % and a 10 % line."""
    return purchase_fields(
        invoice_number=invoice_number,
        supplier=dict(WERKZEUG),
        vat_regime="mixed",
        total_excl_tax="600.00",
        total_tax="50.00",
        total_incl_tax="650.00",
        vat_lines=[
            {
                "rate": "0",
                "base": "300.00",
                "amount": "0.00",
                "category": "K",
                "regime": "intra_eu",
            },
            {
                "rate": "20",
                "base": "200.00",
                "amount": "40.00",
                "category": "S",
                "regime": "standard",
            },
            {
                "rate": "10",
                "base": "100.00",
                "amount": "10.00",
                "category": "S",
                "regime": "standard",
            },
        ],
        accounting={
            "lines": [
                {
                    "account": "607000",
                    "label": "Outillage importé",
                    "vat_code": "INTRA",
                    "amount_excl_tax": "300.00",
                    "vat_amount": "0.00",
                },
                {
                    "account": "606300",
                    "label": "Fournitures",
                    "vat_code": "FR_200",
                    "amount_excl_tax": "200.00",
                    "vat_amount": "40.00",
                },
                {
                    "account": "606100",
                    "label": "Documentation",
                    "vat_code": "FR_100",
                    "amount_excl_tax": "100.00",
                    "vat_amount": "10.00",
                },
            ]
        },
    )


def _stored_lines(purchase):
    return [
        (x["account"], x["vat_code"], x["amount_excl_tax"], x["vat_amount"])
        for x in purchase["lines"]
    ]


def _export(meg, fields):
    document = meg.document(fields)
    meg.validate(document)
    return document, meg.wait_final(document)


def test_mixed_invoice_without_capability_only_the_intra_line_becomes_classic(
    meg_for, purchase_fields
):
    meg = meg_for("DEMO01")
    _, status = _export(meg, _mixed(purchase_fields))
    assert status.state == "exported", status.message
    assert status.message == INTRA_EU_WARNING  # once for the document
    assert status.warning is True
    [purchase] = meg.purchases()
    assert purchase["vat_regime"] == "national"
    assert _stored_lines(purchase) == [
        ("607000", "FR_200", "300.00", "60.00"),  # self-assessed at 20 %
        ("606300", "FR_200", "200.00", "40.00"),
        ("606100", "FR_100", "100.00", "10.00"),
    ]
    assert (purchase["total_excl_tax"], purchase["total_tax"], purchase["total_incl_tax"]) == (
        "600.00",
        "110.00",
        "710.00",
    )
    assert purchase["payment"]["amount"] == "710.00"


def test_mixed_invoice_with_capability_keeps_intra_on_its_line(meg_for, purchase_fields):
    meg = meg_for("DEMO02")
    _, status = _export(meg, _mixed(purchase_fields, "MIX-2"))
    assert status.state == "exported", status.message
    assert status.warning is False and "intracommunautaire" not in (status.message or "")
    [purchase] = meg.purchases()
    assert purchase["vat_regime"] == "national"
    assert _stored_lines(purchase) == [
        ("607000", "INTRA", "300.00", "0.00"),
        ("606300", "FR_200", "200.00", "40.00"),
        ("606100", "FR_100", "100.00", "10.00"),
    ]
    assert purchase["total_incl_tax"] == "650.00"


def _credit_note(purchase_fields, **overrides):
    fields = purchase_fields(
        document_kind="credit_note",
        invoice_number="AV-2024-3",
        total_excl_tax="-100.00",
        total_tax="-20.00",
        total_incl_tax="-120.00",
        vat_lines=[{"rate": "20", "base": "-100.00", "amount": "-20.00"}],
    )
    fields["accounting"]["lines"][0].update(
        label="Avoir sur abonnement", amount_excl_tax="-100.00", vat_amount="-20.00"
    )
    fields.update(overrides)
    return fields


def test_credit_note_reaches_meg_as_a_credit_note_with_a_pending_refund(meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    _, status = _export(meg, _credit_note(purchase_fields))
    assert status.state == "exported", status.message
    [purchase] = meg.purchases()
    assert purchase["document_type"] == "credit_note"
    assert _stored_lines(purchase) == [("626000", "FR_200", "100.00", "20.00")]
    assert purchase["total_incl_tax"] == "120.00"
    assert purchase["payment"] == {
        **purchase["payment"],
        "kind": "remboursement",
        "status": "en_attente",
        "amount": "120.00",
    }
    page = requests.get(f"{meg.sandbox.base_url}/?source=Classeur", timeout=5).text
    row = re.search(rf'<tr data-purchase="{purchase["id"]}">.*?</tr>', page, re.S).group(0)
    assert '<td class="document-type">Avoir</td>' in row
    assert "remboursement en attente" in page
    # An invoice of the same dossier stays an invoice with an ordinary payment.
    _, status = _export(meg, purchase_fields(invoice_number="FA-9"))
    invoice = next(p for p in meg.purchases() if p["invoice_number"] == "FA-9")
    assert (invoice["document_type"], invoice["payment"]["kind"]) == ("invoice", "reglement")


def test_credit_note_with_mixed_signs_is_an_export_error_in_french(meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    fields = _credit_note(purchase_fields)
    fields["accounting"]["lines"][0]["vat_amount"] = "20.00"
    _, status = _export(meg, fields)
    assert (status.state, status.code) == ("error", "credit_note_mixed_signs")
    assert "Cet avoir mélange des montants négatifs et positifs" in status.message
    assert status.field == "accounting.lines[0].vat_amount"
    assert meg.purchases() == []


def _papeterie(purchase_fields, invoice_number="PD-2024-12"):
    """An invoice of a supplier whose SIREN MEG's contact base gives to the Minoterie."""
    return purchase_fields(
        invoice_number=invoice_number,
        supplier={
            "name": "Papeterie Durand SARL",
            "siren": MEG_SUPPLIER["siren"],
            "vat_number": None,
            "country": "FR",
        },
    )


MISMATCH = (
    "MEG a rattaché cet achat au fournisseur « Minoterie du Moulin » (SIREN 812345676) alors "
    "que la facture est de « Papeterie Durand SARL » : vérifiez la fiche fournisseur dans MEG."
)


def _warning_rows(web) -> str:
    page = web.get("/").text
    return page.split('id="export-warnings"', 1)[1].split("</section>", 1)[0]


def test_supplier_mismatch_is_exported_with_a_warning_on_the_document_and_dashboard(
    app, meg_for, purchase_fields, factory, login_web
):
    meg = meg_for("DEMO01")
    document, status = _export(meg, _papeterie(purchase_fields))
    assert status.state == "exported", status.message
    assert status.message == MISMATCH and status.warning is True
    [purchase] = meg.purchases()
    assert purchase["supplier"]["name"] == "Minoterie du Moulin"

    rows = _warning_rows(meg.web)
    assert f'data-document="{document.id}"' in rows
    assert "Minoterie du Moulin" in rows and meg.company.dossier_code in rows
    page = meg.web.get(f"/documents/{document.id}").text
    exports = page.split('id="exports"', 1)[1].split("</section>", 1)[0]
    assert "Exporté avec avertissement" in exports and "Minoterie du Moulin" in exports
    # Not an error: "Documents en erreur" stays empty.
    assert "Aucun document en erreur." in meg.web.get("/").text

    # Another firm never sees it, even with a company of the same dossier code.
    other = meg_for("DEMO01")
    assert f'data-document="{document.id}"' not in _warning_rows(other.web)
    assert "Aucun document exporté avec avertissement." in _warning_rows(other.web)
    # Nor does an uploader of the same firm who may only see another company.
    with app.app_context():
        from core.tenancy.models import Company

        firm_id = db.session.get(Company, meg.company.id).firm_id
    firm = type("Firm", (), {"id": firm_id})()
    elsewhere = factory.company(firm)
    uploader = factory.user(firm, "uploader", companies=[elsewhere])
    web = app.test_client()
    login_web(web, uploader)
    # An uploader's home is its portal (the dashboard sends it there): nothing of it either.
    assert web.get("/").headers["Location"].endswith("/portal")
    portal = web.get("/portal").text
    assert f'data-document="{document.id}"' not in portal
    assert document.filename not in portal


def test_matching_supplier_names_give_no_warning_and_a_resend_clears_the_flag(
    app, meg_for, purchase_fields
):
    from core.documents.models import Document
    from core.documents.services import update_fields
    from core.exports.services import dispatch_document, submit_exports

    meg = meg_for("DEMO01")
    _, status = _export(meg, purchase_fields(invoice_number="FREE-1"))
    assert (status.state, status.warning) == ("exported", False)
    # The same SIREN spelled otherwise by the next invoice: the same supplier.
    free = purchase_fields(invoice_number="FREE-2")
    free["supplier"]["name"] = "FREE S.A.S."
    _, status = _export(meg, free)
    assert (status.state, status.warning) == ("exported", False), status.message
    assert status.message.startswith("Achat n° ")

    # A mismatch, then corrected in Classeur and sent again as a new version.
    document, status = _export(meg, _papeterie(purchase_fields, "PD-2"))
    assert status.warning is True
    with app.app_context():
        doc = db.session.get(Document, document.id)
        update_fields(doc, {"supplier": {**doc.fields["supplier"], "siren": None}}, None)
        ids = dispatch_document(doc)
        db.session.commit()
        assert (
            db.session.scalar(
                select(ExportStatus.warning).where(ExportStatus.document_id == document.id)
            )
            is False
        )
        submit_exports(ids)
    status = meg.wait_final(document)
    assert status.state == "exported" and status.warning is False, status.message
