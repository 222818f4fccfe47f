"""Purchases over real HTTP: validation, idempotency, payments, supervision, source filter."""

from __future__ import annotations

import pytest
import requests

from plugins.meg_export.client import MegApiError


def refused(call) -> MegApiError:
    """Run ``call`` and return the MegApiError it must raise."""
    with pytest.raises(MegApiError) as info:
        call()
    return info.value


def test_purchase_is_stored_with_pending_payment_and_supervision(client, pdf_bytes, make_purchase):
    assert client.supervision("DEMO01")["last_purchase_import_at"] is None
    created = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "free.pdf", "k-1")
    assert created["id"]
    assert created["invoice_number"] == "FA-2024-0001"
    assert created["total_incl_tax"] == "35.99"
    assert created["file"] == {"filename": "free.pdf", "size": len(pdf_bytes)}
    assert created["payment"]["status"] == "en_attente"
    assert created["payment"]["amount"] == "35.99"
    assert created["payment"]["due_date"] == "2024-12-02"

    pending = client.list_payments("DEMO01", status="en_attente")
    assert created["payment"]["id"] in [p["id"] for p in pending]
    paid = client.list_payments("DEMO01", status="paye")
    assert [p["status"] for p in paid] == ["paye"]  # the seeded MEG one

    supervision = client.supervision("DEMO01")
    assert supervision["platform"] == "Classeur"
    assert supervision["last_purchase_import_at"].startswith("20")
    assert client.supervision("DEMO02")["last_purchase_import_at"] is None
    assert any(s["siren"] == "421938861" for s in client.list_suppliers("DEMO01"))


def test_stored_pdf_is_the_sent_one(client, pdf_bytes, token, sandbox, make_purchase):
    created = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "free.pdf", "k-pdf")
    response = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers/DEMO01/purchases/{created['id']}/file",
        headers={"Authorization": f"Bearer {client.token['access_token']}"},
        timeout=5,
    )
    assert response.content == pdf_bytes


def test_source_filter_separates_classeur_from_meg(client, pdf_bytes, make_purchase):
    client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-src")
    everything = client.list_purchases("DEMO01")
    ours = client.list_purchases("DEMO01", source="Classeur")
    theirs = client.list_purchases("DEMO01", source="MEG")
    assert [p["source_platform"] for p in ours] == ["Classeur"]
    assert len(theirs) == 2 and {p["source_platform"] for p in theirs} == {"MEG"}
    assert len(everything) == 3


def test_same_idempotency_key_and_body_gives_the_same_purchase(client, pdf_bytes, make_purchase):
    first = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-same")
    again = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-same")
    assert again["id"] == first["id"]
    assert len(client.list_purchases("DEMO01", source="Classeur")) == 1
    assert len(client.list_payments("DEMO01", status="en_attente")) == 2  # 1 seeded + 1


def test_same_idempotency_key_with_other_body_is_a_conflict(client, pdf_bytes, make_purchase):
    client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-conflict")
    error = refused(
        lambda: client.create_purchase(
            "DEMO01", make_purchase(invoice_number="OTHER"), pdf_bytes, "f.pdf", "k-conflict"
        )
    )
    assert error.status == 409
    assert error.code == "idempotency_conflict"
    assert not error.transient


def test_error_after_store_then_retry_with_same_key_gives_exactly_one(
    client, sandbox, pdf_bytes, make_purchase
):
    sandbox.faults(error_after_store_next=1)
    error = refused(
        lambda: client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-retry")
    )
    assert error.status == 500
    assert error.transient
    retried = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-retry")
    ours = client.list_purchases("DEMO01", source="Classeur")
    assert [p["id"] for p in ours] == [retried["id"]]


def test_injected_5xx_before_storing_stores_nothing(client, sandbox, pdf_bytes, make_purchase):
    sandbox.faults(error_5xx_next=1)
    error = refused(
        lambda: client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-5xx")
    )
    assert error.status == 503
    assert error.transient
    assert client.list_purchases("DEMO01", source="Classeur") == []


def test_missing_idempotency_key_is_refused(client, pdf_bytes, make_purchase):
    error = refused(lambda: client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f", ""))
    assert error.code == "idempotency_key_required"
    assert error.field == "Idempotency-Key"


def _line(**overrides) -> list[dict]:
    line = {
        "account": "626000",
        "label": "Abonnement fibre",
        "vat_code": "FR_200",
        "amount_excl_tax": "29.99",
        "vat_amount": "6.00",
    }
    line.update(overrides)
    return [line]


@pytest.mark.parametrize(
    ("dossier", "overrides", "code", "field", "words"),
    [
        (
            "DEMO01",
            {"lines": _line(vat_code="FR_196")},
            "unknown_vat_code",
            "lines[0].vat_code",
            "FR_196",
        ),
        (
            "DEMO01",
            {"lines": _line(account="401000")},
            "invalid_account",
            "lines[0].account",
            "classes 2",
        ),
        (
            "DEMO01",
            {"lines": _line(account="706000")},
            "invalid_account",
            "lines[0].account",
            "706000",
        ),
        ("DEMO01", {"due_date": None}, "missing_due_date", "due_date", "échéance"),
        (
            "DEMO01",
            {"total_excl_tax": "30.99", "total_incl_tax": "36.99"},
            "totals_mismatch",
            "total_excl_tax",
            "somme des lignes",
        ),
        (
            "DEMO01",
            {"total_tax": "7.00", "total_incl_tax": "36.99"},
            "totals_mismatch",
            "total_tax",
            "TVA",
        ),
        ("DEMO01", {"total_incl_tax": "36.50"}, "totals_mismatch", "total_incl_tax", "TTC"),
        (
            "DEMO01",
            {"vat_regime": "reverse_charge"},
            "reverse_charge_not_allowed",
            "vat_regime",
            "autoliquid",
        ),
        (
            "DEMO01",
            {
                "lines": _line(vat_code="AE", vat_amount="0"),
                "total_tax": "0",
                "total_incl_tax": "29.99",
            },
            "reverse_charge_not_allowed",
            "lines",
            "autoliquid",
        ),
        (
            "DEMO01",
            {"vat_regime": "intra_eu"},
            "intra_eu_not_allowed",
            "vat_regime",
            "intracommunautaires",
        ),
        (
            "DEMO01",
            {"lines": _line(vat_code="INTRA")},
            "intra_eu_not_allowed",
            "lines",
            "intracommunautaires",
        ),
        ("DEMO01", {"invoice_date": "02/11/2024"}, "invalid_date", "invoice_date", "AAAA-MM-JJ"),
        (
            "DEMO01",
            {"document_type": "receipt"},
            "invalid_document_type",
            "document_type",
            "Type de document inconnu",
        ),
        (
            "DEMO01",
            {
                "document_type": "credit_note",
                "lines": _line(amount_excl_tax="-29.99", vat_amount="-6.00"),
                "total_excl_tax": "-29.99",
                "total_tax": "-6.00",
                "total_incl_tax": "-35.99",
            },
            "negative_credit_note",
            "total_excl_tax",
            "Un avoir se transmet en montants positifs",
        ),
        (
            "DEMO01",
            {"supplier": {"name": "X", "siren": "123456789"}},
            "invalid_siren",
            "supplier.siren",
            "SIREN",
        ),
    ],
)
def test_validation_errors_are_422_in_french_with_field(
    client, pdf_bytes, dossier, overrides, code, field, words, make_purchase
):
    error = refused(
        lambda: client.create_purchase(
            dossier, make_purchase(**overrides), pdf_bytes, "f.pdf", f"k-{code}-{field}"
        )
    )
    assert error.status == 422
    assert error.code == code
    assert error.field == field
    assert words in error.message
    assert not error.transient
    assert client.list_purchases(dossier, source="Classeur") == []


def test_tolerance_of_one_cent_is_accepted(client, pdf_bytes, make_purchase):
    created = client.create_purchase(
        "DEMO01", make_purchase(total_incl_tax="36.00"), pdf_bytes, "f.pdf", "k-cent"
    )
    assert created["total_incl_tax"] == "36.00"


def test_reverse_charge_and_intra_eu_accepted_when_dossier_allows(client, pdf_bytes, make_purchase):
    reverse = make_purchase(
        vat_regime="reverse_charge",
        lines=_line(vat_code="AE", vat_amount="0"),
        total_tax="0",
        total_incl_tax="29.99",
    )
    assert client.create_purchase("DEMO02", reverse, pdf_bytes, "f.pdf", "k-ae")["id"]
    intra = make_purchase(
        invoice_number="FA-INTRA", vat_regime="intra_eu", lines=_line(vat_code="INTRA")
    )
    assert client.create_purchase("DEMO02", intra, pdf_bytes, "f.pdf", "k-intra")["id"]


def test_duplicate_invoice_number_for_same_supplier_is_refused(client, pdf_bytes, make_purchase):
    client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-dup-1")
    error = refused(
        lambda: client.create_purchase(
            "DEMO01", make_purchase(partner_id="doc-2"), pdf_bytes, "f.pdf", "k-dup-2"
        )
    )
    assert error.status == 422
    assert error.code == "duplicate_invoice"
    assert error.field == "invoice_number"
    # The same number from another supplier is fine.
    other = make_purchase(supplier={"name": "Orange", "siren": "380129866", "country": "france"})
    assert client.create_purchase("DEMO01", other, pdf_bytes, "f.pdf", "k-dup-3")["id"]


def test_missing_or_non_pdf_file_is_refused(client, pdf_bytes, make_purchase):
    error = refused(lambda: client.create_purchase("DEMO01", make_purchase(), b"", "f", "k-nf"))
    assert (error.status, error.code, error.field) == (422, "missing_file", "file")
    error = refused(
        lambda: client.create_purchase("DEMO01", make_purchase(), b"hello", "f.txt", "k-np")
    )
    assert (error.status, error.code, error.field) == (422, "invalid_file", "file")


@pytest.mark.parametrize(
    ("dossier", "code", "words"),
    [
        ("NOACH", "module_achats_missing", "module Achats"),
        ("STD01", "licence_not_premium", "licence Premium"),
    ],
)
def test_dossier_without_achats_or_premium_is_forbidden(
    client, pdf_bytes, dossier, code, words, make_purchase
):
    error = refused(
        lambda: client.create_purchase(dossier, make_purchase(), pdf_bytes, "f.pdf", "k-403")
    )
    assert error.status == 403
    assert error.code == code
    assert words in error.message
    assert not error.transient


def test_unknown_dossier_is_404(client, pdf_bytes):
    error = refused(lambda: client.list_purchases("NOPE"))
    assert (error.status, error.code) == (404, "dossier_not_found")


def test_suppliers_can_be_created_and_validated(client):
    created = client.create_supplier(
        "DEMO02",
        {"name": "Bau GmbH", "vat_number": "DE136695976", "country": "union_europeenne"},
    )
    assert created["country"] == "union_europeenne"
    assert created["id"] in [s["id"] for s in client.list_suppliers("DEMO02")]
    error = refused(lambda: client.create_supplier("DEMO02", {"name": "X", "country": "mars"}))
    assert (error.status, error.code, error.field) == (422, "invalid_country", "country")


def test_overview_page_shows_the_purchase_in_french(client, sandbox, pdf_bytes, make_purchase):
    client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-html")
    page = requests.get(f"{sandbox.base_url}/?source=Classeur", timeout=5).text
    assert "Date dernier import d'achat" in page
    assert "FA-2024-0001" in page
    assert "MM-2024-101" not in page  # filtered out: created in MEG
    assert "Règlements en attente" in page


def test_credit_note_is_stored_as_such_with_a_pending_refund(
    client, sandbox, pdf_bytes, make_purchase
):
    created = client.create_purchase(
        "DEMO01",
        make_purchase(document_type="credit_note", invoice_number="AV-1"),
        pdf_bytes,
        "avoir.pdf",
        "k-avoir",
    )
    assert created["document_type"] == "credit_note"
    assert created["payment"]["kind"] == "remboursement"
    assert created["payment"]["amount"] == "35.99"
    invoice = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-fact")
    assert (invoice["document_type"], invoice["payment"]["kind"]) == ("invoice", "reglement")
    pending = {p["purchase_id"]: p["kind"] for p in client.list_payments("DEMO01", "en_attente")}
    assert pending[created["id"]] == "remboursement" and pending[invoice["id"]] == "reglement"
    credit_notes = client.list_purchases("DEMO01", document_type="credit_note")
    assert [p["id"] for p in credit_notes] == [created["id"]]
    page = requests.get(f"{sandbox.base_url}/?source=Classeur", timeout=5).text
    assert page.count('<td class="document-type">Avoir</td>') == 1
    assert page.count('<td class="document-type">Facture</td>') == 1
    assert "remboursement en attente (avoir)" in page


def test_national_purchase_may_carry_an_ae_line_where_the_dossier_allows(
    client, pdf_bytes, make_purchase
):
    lines = _line() + _line(account="604000", label="Travaux", vat_code="AE", vat_amount="0")
    body = make_purchase(
        invoice_number="FA-MIX", lines=lines, total_excl_tax="59.98", total_incl_tax="65.98"
    )
    created = client.create_purchase("DEMO02", body, pdf_bytes, "f.pdf", "k-mix")
    assert [x["vat_code"] for x in created["lines"]] == ["FR_200", "AE"]
    error = refused(lambda: client.create_purchase("DEMO01", body, pdf_bytes, "f.pdf", "k-mix1"))
    assert (error.code, error.field) == ("reverse_charge_not_allowed", "lines")


def test_the_answer_names_the_supplier_meg_matched(client, pdf_bytes, make_purchase):
    from plugins.meg_export.sandbox.seed import MEG_SUPPLIER

    body = make_purchase(
        invoice_number="PD-1",
        supplier={"name": "Papeterie Durand", "siren": MEG_SUPPLIER["siren"], "country": "france"},
    )
    created = client.create_purchase("DEMO01", body, pdf_bytes, "f.pdf", "k-match")
    seeded = next(s for s in client.list_suppliers("DEMO01") if s["name"] == MEG_SUPPLIER["name"])
    assert created["supplier"] == seeded
    assert created["supplier"]["siren"] == MEG_SUPPLIER["siren"]


def test_demo_sirens_belong_to_one_supplier_each(client):
    from core.cli import DEMO_COMPANIES
    from plugins.meg_export.sandbox.seed import MEG_SUPPLIER

    companies = {siren for _name, _code, siren in DEMO_COMPANIES if siren}
    assert MEG_SUPPLIER["siren"] not in companies
    # In the freshly seeded dossier, one supplier per SIREN.
    sirens = [s["siren"] for s in client.list_suppliers("DEMO01") if s["siren"]]
    assert len(sirens) == len(set(sirens))
    assert not companies & set(sirens)  # a client company is not its own supplier


def test_an_older_sandbox_database_gets_the_new_columns(tmp_path):
    from sqlalchemy import create_engine, text

    from plugins.meg_export.sandbox import create_sandbox_app

    create_sandbox_app({"SANDBOX_DATA_DIR": str(tmp_path)})
    engine = create_engine(f"sqlite:///{tmp_path / 'meg-sandbox.sqlite3'}")
    with engine.begin() as conn:  # the schema before credit notes
        conn.execute(text("ALTER TABLE purchase DROP COLUMN document_type"))
        conn.execute(text("ALTER TABLE payment DROP COLUMN kind"))
    app = create_sandbox_app({"SANDBOX_DATA_DIR": str(tmp_path)})
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT document_type FROM purchase")).scalars().all()
        kinds = conn.execute(text("SELECT kind FROM payment")).scalars().all()
    engine.dispose()
    assert rows == ["invoice", "invoice"] and kinds == ["reglement", "reglement"]
    with app.test_client() as web:
        assert "MM-2024-101" in web.get("/").text
