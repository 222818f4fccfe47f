"""The FEC and CSV purchase journal: entries, versions, statuses (the core's period export)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import ServiceError
from core.exports.batches import ExportBatch
from core.exports.models import ExportStatus

MARCH = ("2026-03-01", "2026-03-31")
START, END = date(2026, 3, 1), date(2026, 3, 31)


def _status(document):
    return select(ExportStatus).where(
        ExportStatus.document_id == document.id, ExportStatus.connector == "fec_export"
    )


def _rows(entry):
    return {r["CompteNum"]: r for r in entry}


def test_fec_of_a_period_passes_the_checker(books, make_invoice, fec_checker):
    books.validated(make_invoice())
    books.validated(make_invoice(invoice_number="FA-2", invoice_date="2026-03-01"))
    books.validated(make_invoice(invoice_number="FA-3", invoice_date="2026-03-31"))
    books.validated(make_invoice(invoice_number="AVRIL", invoice_date="2026-04-01"))
    books.validated(make_invoice(invoice_number="FEVRIER", invoice_date="2026-02-28"))
    done = books.export(*MARCH)
    assert done.created and done.batch.version == 1 and done.batch.document_count == 3
    assert done.batch.filename == "552100554FEC20260331.txt"
    text = books.fec_text(done.batch)
    found = fec_checker(text, START, END)
    assert len(found["entries"]) == 3 and found["rows"] == 9
    # Entries in date order, numbered 1, 2, 3.
    refs = [rows[0]["PieceRef"] for rows in found["entries"].values()]
    assert refs == ["FA-2", "FA-2026-117", "FA-3"]
    first = _rows(found["entries"]["2"])
    assert first["6064"]["Debit"] == "100,00" and first["445660"]["Debit"] == "20,00"
    supplier = first["401"]
    assert supplier["Credit"] == "120,00" and supplier["Debit"] == "0,00"
    assert supplier["CompAuxNum"] == "FPAPETERIEMOREAU"
    assert supplier["CompAuxLib"] == "Papeterie Moreau SARL"
    assert supplier["JournalCode"] == "HA" and supplier["JournalLib"] == "Achats"
    assert supplier["EcritureLib"] == "Papeterie Moreau SARL FA-2026-117"
    assert supplier["PieceDate"] == supplier["EcritureDate"] == "20260312"


def test_same_period_again_returns_the_same_version(books, make_invoice, app):
    books.validated(make_invoice())
    first = books.export(*MARCH)
    again = books.export(*MARCH)
    assert not again.created
    assert again.batch.id == first.batch.id and again.batch.version == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(ExportBatch.id))) == 1


def test_a_change_makes_a_new_version_and_keeps_the_old(books, make_invoice, app, fec_checker):
    from core.documents.models import Document
    from core.documents.services import update_fields

    document = books.validated(make_invoice())
    v1 = books.export(*MARCH).batch
    # A document validated since, in the period: next version.
    books.validated(make_invoice(invoice_number="FA-TARD", invoice_date="2026-03-20"))
    v2 = books.export(*MARCH)
    assert v2.created and v2.batch.version == 2 and v2.batch.document_count == 2
    # A validated document's fields changed: next version.
    with app.app_context():
        doc = db.session.get(Document, document.id)
        lines = [{**doc.fields["accounting"]["lines"][0], "account": "6063"}]
        update_fields(doc, {"accounting": {**doc.fields["accounting"], "lines": lines}}, None)
        db.session.commit()
    v3 = books.export(*MARCH)
    assert v3.created and v3.batch.version == 3
    assert "\t6063\t" in books.fec_text(v3.batch)
    # The older versions stay downloadable, as they were.
    old = books.fec_text(v1)
    fec_checker(old, START, END)
    assert "\t6064\t" in old and "FA-TARD" not in old
    assert books.export(*MARCH).batch.version == 3


def test_each_document_gets_its_export_status(books, make_invoice, app, client, auth):
    document = books.validated(make_invoice())
    books.export(*MARCH)
    with app.app_context():
        status = db.session.scalar(_status(document))
        assert status.state == "exported"
        assert status.remote_id == "FEC v1 du 01/03/2026 au 31/03/2026"
    books.validated(make_invoice(invoice_number="FA-9"))
    books.export(*MARCH)
    with app.app_context():
        status = db.session.scalar(_status(document))
        assert status.remote_id.startswith("FEC v2 ")
    auth.login(books.admin)
    page = client.get(f"/documents/{document.id}")
    assert "Exporté" in page.text and "FEC v2" in page.text


def test_validation_dispatches_nothing_to_a_period_exporter(books, make_invoice, app):
    document = books.validated(make_invoice())
    with app.app_context():
        assert db.session.scalars(_status(document)).all() == []


def test_a_document_that_cannot_make_an_entry_is_left_out_with_an_error(
    books, make_invoice, app, fec_checker
):
    from core.documents.models import Document
    from core.exports.services import retry_export

    good = books.validated(make_invoice())
    bad = books.validated(make_invoice(invoice_number="DOLLARS", currency="USD"))
    done = books.export(*MARCH)
    assert done.batch.document_ids == [good.id]
    assert "Facture en USD" in done.rejected[bad.id]
    fec_checker(books.fec_text(done.batch), START, END)
    with app.app_context():
        status = db.session.scalar(_status(bad))
        assert status.state == "error" and status.code == "foreign_currency"
        # "Renvoyer" makes no sense for a period export: refused with the way out.
        with pytest.raises(ServiceError, match="exporte par période"):
            retry_export(db.session.get(Document, bad.id), "fec_export", None)


def test_credit_note_is_reversed(books, make_invoice, fec_checker):
    books.validated(
        make_invoice(
            document_kind="credit_note",
            invoice_number="AV-12",
            total_excl_tax="-50.00",
            total_tax="-10.00",
            total_incl_tax="-60.00",
            amount_due="-60.00",
            vat_lines=[{"rate": "20.00", "base": "-50.00", "amount": "-10.00"}],
            accounting={
                "lines": [
                    {
                        "account": "6064",
                        "label": "Retour",
                        "vat_code": "FR_200",
                        "amount_excl_tax": "-50.00",
                        "vat_amount": "-10.00",
                    }
                ],
                "proposal": None,
                "supplier_id": None,
            },
        )
    )
    # The same credit note stored with positive amounts and its kind.
    books.validated(
        make_invoice(
            document_kind="credit_note",
            invoice_number="AV-13",
            total_excl_tax="50.00",
            total_tax="10.00",
            total_incl_tax="60.00",
            amount_due="60.00",
            vat_lines=[{"rate": "20.00", "base": "50.00", "amount": "10.00"}],
            accounting={
                "lines": [{"account": "6064", "amount_excl_tax": "50.00", "vat_amount": "10.00"}],
                "proposal": None,
                "supplier_id": None,
            },
        )
    )
    found = fec_checker(books.fec_text(books.export(*MARCH).batch), START, END)
    for entry in found["entries"].values():
        rows = _rows(entry)
        assert rows["401"]["Debit"] == "60,00" and rows["401"]["Credit"] == "0,00"
        assert rows["6064"]["Credit"] == "50,00" and rows["445660"]["Credit"] == "10,00"


def test_multi_rate_vat_from_the_vat_lines(books, make_invoice, fec_checker):
    books.validated(
        make_invoice(
            invoice_number="MULTI",
            total_excl_tax="300.00",
            total_tax="35.50",
            total_incl_tax="335.50",
            amount_due="335.50",
            vat_lines=[
                {"rate": "20.00", "base": "100.00", "amount": "20.00"},
                {"rate": "5.50", "base": "100.00", "amount": "5.50"},
                {"rate": "10.00", "base": "100.00", "amount": "10.00"},
            ],
            # Lines without their VAT: the invoice's VAT lines give it.
            accounting={
                "lines": [
                    {"account": "607", "amount_excl_tax": "100.00", "vat_code": code}
                    for code in ("FR_200", "FR_55", "FR_100")
                ],
                "proposal": None,
                "supplier_id": None,
            },
        )
    )
    found = fec_checker(books.fec_text(books.export(*MARCH).batch), START, END)
    entry = found["entries"]["1"]
    charges = [r for r in entry if r["CompteNum"] == "607"]
    assert [r["Debit"] for r in charges] == ["100,00", "100,00", "100,00"]
    assert _rows(entry)["445660"]["Debit"] == "35,50"
    assert _rows(entry)["401"]["Credit"] == "335,50"


def test_asset_line_takes_its_vat_on_445620(books, make_invoice, fec_checker, app):
    from core.tenancy.models import Company
    from core.tenancy.services import update_company_settings

    with app.app_context():  # "Paramétrage général": class 2 allowed on purchase lines
        company = db.session.get(Company, books.company.id)
        elements = {"allow_class_2": True, "allow_class_6": True}
        update_company_settings(company, "accounting", {"elements": elements})
        db.session.commit()
    books.validated(
        make_invoice(
            invoice_number="PC-1",
            total_excl_tax="1100.00",
            total_tax="220.00",
            total_incl_tax="1320.00",
            amount_due="1320.00",
            vat_lines=[{"rate": "20.00", "base": "1100.00", "amount": "220.00"}],
            accounting={
                "lines": [
                    {"account": "2183", "amount_excl_tax": "1000.00", "vat_amount": "200.00"},
                    {"account": "6063", "amount_excl_tax": "100.00", "vat_amount": "20.00"},
                ],
                "proposal": None,
                "supplier_id": None,
            },
        )
    )
    found = fec_checker(books.fec_text(books.export(*MARCH).batch), START, END)
    rows = _rows(found["entries"]["1"])
    assert rows["2183"]["Debit"] == "1000,00" and rows["445620"]["Debit"] == "200,00"
    assert rows["6063"]["Debit"] == "100,00" and rows["445660"]["Debit"] == "20,00"
    assert rows["2183"]["CompteLib"] == "Matériel de bureau et matériel informatique"


def test_rounding_difference_goes_on_the_largest_charge_line(books, make_invoice, fec_checker):
    # Lines rounded one by one: 33.33 × 3 + VAT 6.67 × 3 = 120.00, the invoice says 120.01.
    line = {"account": "6064", "amount_excl_tax": "33.33", "vat_amount": "6.67"}
    big = {"account": "6063", "amount_excl_tax": "33.34", "vat_amount": "6.66"}
    books.validated(
        make_invoice(
            total_incl_tax="120.01",
            accounting={"lines": [line, big, line], "proposal": None, "supplier_id": None},
        )
    )
    found = fec_checker(books.fec_text(books.export(*MARCH).batch), START, END)
    rows = found["entries"]["1"]
    assert [r["Debit"] for r in rows if r["CompteNum"] == "6063"] == ["33,35"]
    assert sum(Decimal(r["Credit"].replace(",", ".")) for r in rows) == Decimal("120.01")


def test_unbalanced_invoice_is_an_error_not_a_rounding(books, make_invoice, app):
    from core.documents.models import Document
    from core.documents.services import update_fields

    bad = books.validated(make_invoice())
    books.validated(make_invoice(invoice_number="OK"))
    with app.app_context():  # changed after its validation (the review's checks not run)
        update_fields(db.session.get(Document, bad.id), {"total_incl_tax": "150.00"}, None)
        db.session.commit()
    done = books.export(*MARCH)
    assert "ne font pas le total TTC" in done.rejected[bad.id]


def test_csv_journal_holds_the_same_lines(books, make_invoice):
    books.validated(make_invoice())
    books.validated(make_invoice(invoice_number="FA-2", supplier={"name": "Électricité Dupont"}))
    batch = books.export(*MARCH).batch
    text = books.csv_text(batch)
    lines = text.strip("\r\n").split("\r\n")
    assert lines[0].split(";")[:4] == ["Journal", "N° écriture", "Date", "Compte"]
    assert len(lines) == 1 + 6
    first = lines[1].split(";")
    assert first[:4] == ["HA", "1", "12/03/2026", "6064"] and first[10] == "100,00"
    assert any("Électricité Dupont" in line for line in lines)
    assert batch.files[0]["filename"] == "552100554_journal_achats_20260301_20260331.csv"


def test_period_checks_are_french(books, make_invoice):
    books.validated(make_invoice())
    with pytest.raises(ServiceError, match="précède la date de début"):
        books.export("2026-03-31", "2026-03-01")
    with pytest.raises(ServiceError, match="ne peut dépasser 24 mois"):
        books.export("2024-01-01", "2026-01-01")
    with pytest.raises(ServiceError, match="Aucun document"):  # 24 months: accepted
        books.export("2024-01-02", "2026-01-01")
    with pytest.raises(ServiceError, match="invalide"):
        books.export("2026-13-01", "2026-03-31")
    with pytest.raises(ServiceError, match="Aucun document validé"):
        books.export("2025-03-01", "2025-03-31")


def test_switched_off_for_the_company_is_refused(books, make_invoice, app):
    from core.exports.services import set_connector_enabled

    books.validated(make_invoice())
    with app.app_context():
        set_connector_enabled(books.firm.id, "fec_export", False, books.company.id)
        db.session.commit()
    with pytest.raises(ServiceError, match="désactivé"):
        books.export(*MARCH)


def test_journal_settings_and_iso_encoding(books, make_invoice, app, client, auth):
    books.validated(make_invoice(supplier={"name": "Œuvres Sociales €"}))
    auth.login(books.admin)
    page = client.post(
        f"/companies/{books.company.id}/fec-export/settings",
        data={
            "journal_code": "ach",
            "journal_label": "Achats divers",
            "supplier_account": "4011",
            "encoding": "iso-8859-15",
        },
    )
    assert page.status_code == 302
    bad = client.post(
        f"/companies/{books.company.id}/fec-export/settings",
        data={"journal_code": "ACH", "journal_label": "x", "supplier_account": "601"},
        follow_redirects=True,
    )
    assert "Le compte fournisseurs commence par 40" in bad.text
    batch = books.export(*MARCH).batch
    assert batch.media_type == "text/plain; charset=iso-8859-15"
    with app.app_context():
        from core.exports.periods import batch_file

        text = batch_file(batch)[0].read_bytes().decode("iso-8859-15")
    row = text.split("\r\n")[3].split("\t")
    assert row[:2] == ["ACH", "Achats divers"] and row[4] == "4011"
    assert row[7] == "Œuvres Sociales €"
