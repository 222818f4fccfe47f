"""Accounting an accountant can trust (issue 11): the supplier memory learns what was accepted
and says where each proposal comes from, the company's account classes are enforced before
anything is sent, the buyer is checked against the company, a changed IBAN is highlighted and
never learned silently, a duplicate can be dismissed or trashed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bp_helpers import Purchases, cii, text_pdf
from sqlalchemy import select

from core.db import db

SIREN_MARTIN = "732829320"  # the seller of ``cii()``
SIREN_GARAGE = "552100554"
SIREN_BAKERY = "443061841"


@pytest.fixture()
def purchases(app: Any, client: Any, factory: Any, auth: Any) -> Purchases:
    p = Purchases(app, client, factory, auth)
    p.elements(vat_codes=True)
    return p


def invoice(
    number: str,
    *,
    supplier: str = "Papeterie Durand SARL",
    siren: str = "732 829 320",
    client_line: str = "Client : Boulangerie Martin",
    iban: str | None = None,
    item: str = "Ramettes de papier A4",
) -> bytes:
    lines = [
        supplier,
        "12 rue des Lilas, 75011 Paris",
        f"SIREN {siren}",
        "",
        f"Facture n° {number}",
        "Date : 12/03/2026",
        client_line,
        "",
        f"{item}          100,00",
        "Total HT 100,00 EUR",
        "TVA 20 % 20,00 EUR",
        "Total TTC 120,00 EUR",
    ]
    if iban:
        lines.append(f"IBAN : {iban}")
    return text_pdf(lines)


def codes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in document["checks"]}


def memory_rows(app: Any) -> list[tuple[str, str, str, str]]:
    from plugins.binder_purchases.models import SupplierMemory

    with app.app_context():
        return [
            (r.field, r.value, r.status, r.origin)
            for r in db.session.scalars(select(SupplierMemory).order_by(SupplierMemory.id))
        ]


# --- allowed account classes -------------------------------------------------------------------


def test_an_account_of_class_4_is_refused_on_a_purchase_line(purchases: Purchases) -> None:
    doc = purchases.drop(invoice("F-401"), "a.pdf")
    purchases.set_account(doc, "401")
    body = purchases.get(doc)
    refused = codes(body)["class_4_refused"]
    assert refused["level"] == "error"
    assert refused["field"] == "accounting.lines[0].account"
    assert "classe 4" in refused["message"] and "seule la classe 6" in refused["message"]
    response = purchases.validate(doc)
    assert response.status_code == 422
    assert "classe 4" in response.get_json()["error"]["message"]
    # The review page offers no account of class 4 on purchase lines.
    html = purchases.client.get(f"/purchases/{doc}/review").get_data(as_text=True)
    select_html = re.search(r'<select name="line-0-account".*?</select>', html, re.S).group(0)
    offered = re.findall(r'<option value="(\d+)"', select_html)
    assert offered and all(number[0] == "6" for number in offered if number != "401")
    assert "hors plan ou non autorisé" in select_html


def test_class_2_follows_the_company_settings(purchases: Purchases) -> None:
    doc = purchases.drop(invoice("F-2183"), "a.pdf")
    purchases.set_account(doc, "2183")
    assert "class_2_refused" in codes(purchases.get(doc))
    purchases.elements(vat_codes=True, allow_class_2=True, allow_class_6=True)
    assert "class_2_refused" not in codes(purchases.get(doc))
    purchases.elements(vat_codes=True, allow_class_2=True, allow_class_6=False)
    purchases.set_account(doc, "6064")
    message = codes(purchases.get(doc))["class_6_refused"]["message"]
    assert "seule la classe 2 est autorisée" in message


# --- the supplier memory -----------------------------------------------------------------------


def test_memory_learned_from_an_accepted_invoice_with_its_source(
    purchases: Purchases, app: Any
) -> None:
    first = purchases.drop(invoice("F-1", iban="FR76 3000 6000 0112 3456 7890 189"), "a.pdf")
    purchases.set_account(first, "6064")
    assert purchases.validate(first).status_code == 200
    # No connector is enabled for the company: the validation is the acceptance.
    learned = {(f, v, s) for f, v, s, _o in memory_rows(app)}
    assert ("account", "6064", "learned") in learned
    assert ("iban", "FR7630006000011234567890189", "learned") in learned
    second = purchases.drop(invoice("F-2"), "b.pdf")
    proposal = purchases.get(second)["fields"]["accounting"]["proposal"]
    assert proposal["account"] == "6064" and proposal["source"] == "supplier"
    assert proposal["document_id"] == first
    assert "F-1" in proposal["reason"] and purchases.user.email in proposal["reason"]
    html = purchases.client.get(f"/purchases/{second}/review").get_data(as_text=True)
    assert 'id="proposal-source"' in html and f"/documents/{first}" in html


def test_the_card_changes_and_forgets_a_learned_value(purchases: Purchases, app: Any) -> None:
    from plugins.binder_purchases.models import Supplier, SupplierMemory

    first = purchases.drop(invoice("F-1"), "a.pdf")
    purchases.set_account(first, "6064")
    assert purchases.validate(first).status_code == 200
    with app.app_context():
        supplier = db.session.scalars(select(Supplier)).one()
    url = f"/purchases/companies/{purchases.company.id}/suppliers/{supplier.id}"
    page = purchases.client.get(url).get_data(as_text=True)
    assert 'data-field="account" data-status="learned" data-value="6064"' in page
    assert "F-1" in page
    # A class-4 account is refused on the card too, with the French reason.
    response = purchases.client.post(
        f"{url}/memory", data={"field": "account", "value": "401"}, follow_redirects=True
    )
    assert "classe 4" in response.get_data(as_text=True)
    purchases.client.post(f"{url}/memory", data={"field": "account", "value": "6063"})
    second = purchases.drop(invoice("F-2"), "b.pdf")
    proposal = purchases.get(second)["fields"]["accounting"]["proposal"]
    assert proposal["account"] == "6063"
    assert proposal["reason"].startswith("fiche du fournisseur : saisi")
    with app.app_context():
        row = db.session.scalars(
            select(SupplierMemory).where(SupplierMemory.field == "account")
        ).one()
    purchases.client.post(f"{url}/memory", data={"forget": row.id})
    third = purchases.drop(invoice("F-3"), "c.pdf")
    proposal = purchases.get(third)["fields"]["accounting"]["proposal"]
    assert proposal is None or proposal["source"] != "supplier"


def test_a_changed_iban_is_highlighted_and_never_learned_silently(
    purchases: Purchases, app: Any
) -> None:
    first = purchases.drop(invoice("F-1", iban="FR76 3000 6000 0112 3456 7890 189"), "a.pdf")
    purchases.set_account(first, "6064")
    assert purchases.validate(first).status_code == 200
    second = purchases.drop(invoice("F-2", iban="DE89 3704 0044 0532 0130 00"), "b.pdf")
    check = codes(purchases.get(second))["iban_changed"]
    assert check["level"] == "warning" and "fraude" in check["message"]
    assert "FR7630006000011234567890189" in check["message"]
    purchases.set_account(second, "6064")
    assert purchases.validate(second).status_code == 200
    rows = {(f, v): s for f, v, s, _o in memory_rows(app)}
    assert rows[("iban", "FR7630006000011234567890189")] == "learned"
    assert rows[("iban", "DE89370400440532013000")] == "proposed"
    # Confirmed on the card, it becomes the supplier's IBAN.
    from plugins.binder_purchases.models import Supplier, SupplierMemory

    with app.app_context():
        supplier = db.session.scalars(select(Supplier)).one()
        proposed = db.session.scalars(
            select(SupplierMemory).where(SupplierMemory.status == "proposed")
        ).one()
    url = f"/purchases/companies/{purchases.company.id}/suppliers/{supplier.id}"
    assert "Confirmer ce nouvel IBAN" in purchases.client.get(url).get_data(as_text=True)
    purchases.client.post(f"{url}/memory", data={"confirm": proposed.id})
    rows = {(f, v): s for f, v, s, _o in memory_rows(app)}
    assert rows == {**rows, ("iban", "DE89370400440532013000"): "learned"}
    assert ("iban", "FR7630006000011234567890189") not in rows


# --- the buyer check ---------------------------------------------------------------------------


def test_an_invoice_for_another_company_offers_to_move_it(
    purchases: Purchases, factory: Any, app: Any
) -> None:
    from core.db import db as database
    from core.tenancy.models import Company

    with app.app_context():
        company = database.session.get(Company, purchases.company.id)
        company.siren = SIREN_BAKERY
        database.session.commit()
    garage = factory.company(purchases.firm, name="Garage Dupont", code="GD01", siren=SIREN_GARAGE)
    garage_binder = factory.binder(garage, name="Achats du garage")
    xml = cii("BM-77").replace(
        b"<ram:BuyerTradeParty><ram:Name>Client SAS</ram:Name></ram:BuyerTradeParty>",
        b"<ram:BuyerTradeParty><ram:Name>Boulangerie Martin SAS</ram:Name>"
        b'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">'
        + SIREN_BAKERY.encode()
        + b"</ram:ID></ram:SpecifiedLegalOrganization></ram:BuyerTradeParty>",
    )
    doc = purchases.drop(xml, "bm.xml", binder_id=garage_binder.id)
    check = codes(purchases.get(doc))["wrong_company"]
    assert check["level"] == "warning"
    assert "Boulangerie Martin SAS" in check["message"] and "Garage Dupont" in check["message"]
    assert check["action"] == {
        "kind": "move",
        "label": "Déplacer vers Boulangerie Martin",
        "company_id": purchases.company.id,
        "binder_id": purchases.binder.id,
    }
    html = purchases.client.get(f"/purchases/{doc}/review").get_data(as_text=True)
    assert "Déplacer vers Boulangerie Martin" in html
    # The button posts to the core's move action, which reads it again in its new binder.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    data = {"binder_id": purchases.binder.id}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    purchases.client.post(f"/documents/{doc}/move", data=data)
    from tests.conftest import wait_for

    purchases.app.extensions["classeur"].tasks.run_now("process_document", doc)
    wait_for(lambda: purchases.get(doc)["state"] in ("to_review", "failed"))
    moved = purchases.get(doc)
    assert moved["binder_id"] == purchases.binder.id
    assert "wrong_company" not in codes(moved)


def test_the_right_buyer_passes_and_an_unknown_one_is_said(purchases: Purchases) -> None:
    doc = purchases.drop(cii("OK-1").replace(b"Client SAS", b"Boulangerie Martin"), "a.xml")
    assert not {"wrong_company", "buyer_unknown"} & set(codes(purchases.get(doc)))
    anonymous = purchases.drop(
        invoice("F-9", client_line="Merci de votre confiance"), "anonymous.pdf"
    )
    found = codes(purchases.get(anonymous))
    assert "wrong_company" not in found
    assert found["buyer_unknown"]["level"] == "info"
    assert "Boulangerie Martin" in found["buyer_unknown"]["message"]


# --- duplicates --------------------------------------------------------------------------------


def test_a_duplicate_links_to_the_original_and_can_be_dismissed(
    purchases: Purchases,
) -> None:
    first = purchases.drop(invoice("DUP-1"), "a.pdf")
    second = purchases.drop(invoice("DUP-1", item="Autre contenu"), "b.pdf")
    duplicate = codes(purchases.get(second))["duplicate"]
    assert duplicate["document_id"] == first
    html = purchases.client.get(f"/purchases/{second}/review").get_data(as_text=True)
    assert f'href="/documents/{first}"' in html
    assert "Ce n'est pas un doublon" in html and "Mettre à la corbeille" in html
    purchases.client.post(f"/purchases/{second}/not-duplicate", data={"other_id": first})
    after = codes(purchases.get(second))
    assert "duplicate" not in after
    # Still the same number for the same supplier: said, since MEG would refuse it.
    assert after["same_number"]["level"] == "warning"
    assert after["same_number"]["document_id"] == first
    # The dismissal is kept in the document's history.
    events = purchases.client.get(f"/documents/{second}").get_data(as_text=True)
    assert "doublon" in events.lower()


def test_a_duplicate_goes_to_the_trash(purchases: Purchases) -> None:
    first = purchases.drop(invoice("DUP-2"), "a.pdf")
    second = purchases.drop(invoice("DUP-2", item="Autre contenu"), "b.pdf")
    assert "duplicate" in codes(purchases.get(second))
    response = purchases.client.post(f"/documents/{second}/trash", data={})
    assert response.status_code in (302, 303)
    assert purchases.get(second)["state"] == "trashed"
    assert purchases.get(first)["state"] == "to_review"


def test_a_keyword_guess_is_highlighted_and_a_learned_account_is_not(
    purchases: Purchases,
) -> None:
    first = purchases.drop(
        invoice("F-1", item="Ramettes de papier et cartouches de toner"), "a.pdf"
    )
    assert purchases.get(first)["fields"]["accounting"]["proposal"]["source"] == "rules"
    html = purchases.client.get(f"/purchases/{first}/review").get_data(as_text=True)
    select_tag = re.search(r'<select name="line-0-account"[^>]*>', html).group(0)
    assert "low-confidence" in select_tag
    purchases.set_account(first, "6064")
    assert purchases.validate(first).status_code == 200
    second = purchases.drop(invoice("F-2"), "b.pdf")
    html = purchases.client.get(f"/purchases/{second}/review").get_data(as_text=True)
    select_tag = re.search(r'<select name="line-0-account"[^>]*>', html).group(0)
    assert "low-confidence" not in select_tag


# --- the API -------------------------------------------------------------------------------------


def test_the_api_lists_changes_and_forgets_the_memory(purchases: Purchases, app: Any) -> None:
    first = purchases.drop(invoice("F-1", iban="FR76 3000 6000 0112 3456 7890 189"), "a.pdf")
    purchases.set_account(first, "6064")
    assert purchases.validate(first).status_code == 200
    company = purchases.company.id
    [supplier] = purchases.client.get(f"/api/v1/companies/{company}/suppliers").get_json()
    learned = {m["field"]: m for m in supplier["memory"]}
    assert learned["account"]["value"] == "6064" and learned["account"]["status"] == "learned"
    assert learned["account"]["document_id"] == first
    assert learned["account"]["user"] == purchases.user.email
    assert "F-1" in learned["account"]["source"]
    base = f"/api/v1/companies/{company}/suppliers/{supplier['id']}"
    refused = purchases.client.post(f"{base}/memory", json={"field": "account", "value": "401"})
    assert refused.status_code == 422 and "classe 4" in refused.get_json()["error"]["message"]
    bad = purchases.client.post(f"{base}/memory", json={"field": "colour", "value": "x"})
    assert bad.status_code == 422
    changed = purchases.client.post(f"{base}/memory", json={"field": "account", "value": "6063"})
    assert {m["field"]: m["value"] for m in changed.get_json()["memory"]}["account"] == "6063"
    row = next(m for m in changed.get_json()["memory"] if m["field"] == "account")
    forgotten = purchases.client.delete(f"{base}/memory/{row['id']}")
    assert "account" not in {m["field"] for m in forgotten.get_json()["memory"]}
    assert purchases.client.delete(f"{base}/memory/{row['id']}").status_code == 404
    # Documented in the OpenAPI.
    spec = purchases.client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/companies/{company_id}/suppliers" in spec["paths"]
    assert "/api/v1/documents/{document_id}/not-duplicate" in spec["paths"]


def test_the_api_dismisses_a_duplicate(purchases: Purchases) -> None:
    first = purchases.drop(invoice("DUP-9"), "a.pdf")
    second = purchases.drop(invoice("DUP-9", item="Autre contenu"), "b.pdf")
    wrong = purchases.client.post(f"/api/v1/documents/{second}/not-duplicate", json={"of": 99999})
    assert wrong.status_code == 409
    answer = purchases.client.post(f"/api/v1/documents/{second}/not-duplicate", json={"of": first})
    assert answer.status_code == 200
    assert "duplicate" not in {c["code"] for c in answer.get_json()["checks"]}


def test_the_firm_model_waits_for_enough_accepted_invoices(purchases: Purchases, app: Any) -> None:
    from plugins.binder_purchases.services import model_path, train_model

    for n, (item, account) in enumerate([("Ramettes", "6064"), ("Mission d'audit", "6226")]):
        doc = purchases.drop(
            invoice(
                f"M-{n}",
                supplier=f"Fournisseur {n}",
                siren=["552100554", "443061841"][n],
                item=item,
            ),
            f"m{n}.pdf",
        )
        purchases.set_account(doc, account)
        assert purchases.validate(doc).status_code == 200
    with app.app_context():
        assert train_model(purchases.firm.id) == 2
        assert not model_path(purchases.firm.id).exists()  # two invoices teach nothing yet
        app.config["PURCHASES_MODEL_MIN_SAMPLES"] = 2
        train_model(purchases.firm.id)
        assert model_path(purchases.firm.id).exists()


def test_a_refused_value_cannot_be_set_on_the_card_before_its_refusal_is_forgotten(
    purchases: Purchases, app: Any
) -> None:
    from plugins.binder_purchases import memory
    from plugins.binder_purchases.models import Supplier, SupplierMemory

    doc = purchases.drop(invoice("R-1"), "a.pdf")
    purchases.set_account(doc, "6068")
    with app.app_context():
        from core.documents.models import Document

        document = db.session.get(Document, doc)
        supplier = Supplier(
            company_id=purchases.company.id,
            name="Papeterie Durand SARL",
            siren="732829320",
            invoice_count=0,
        )
        db.session.add(supplier)
        db.session.flush()
        memory.record_refusal(document, supplier, "lines[0].account", "Compte fermé dans MEG")
        db.session.commit()
        supplier_id = supplier.id
        row_id = db.session.scalars(select(SupplierMemory.id)).one()
    base = f"/api/v1/companies/{purchases.company.id}/suppliers/{supplier_id}"
    refused = purchases.client.post(f"{base}/memory", json={"field": "account", "value": "6068"})
    assert (
        refused.status_code == 422
        and "oubliez d'abord ce refus" in refused.get_json()["error"]["message"]
    )
    purchases.client.delete(f"{base}/memory/{row_id}")
    allowed = purchases.client.post(f"{base}/memory", json={"field": "account", "value": "6068"})
    assert allowed.status_code == 200


def test_a_due_date_from_the_terms_follows_a_corrected_invoice_date(
    purchases: Purchases,
) -> None:
    purchases.elements(vat_codes=True, due_date=True)
    pdf = text_pdf(
        [
            "Papeterie Durand SARL",
            "SIREN 732 829 320",
            "Facture n° T-45",
            "Date : 15/11/2026",
            "Client : Boulangerie Martin",
            "Ramettes de papier A4          100,00",
            "Total HT 100,00 EUR",
            "TVA 20 % 20,00 EUR",
            "Total TTC 120,00 EUR",
            "Conditions de paiement : 45 jours fin de mois",
        ]
    )
    doc = purchases.drop(pdf, "t45.pdf")
    fields = purchases.get(doc)["fields"]
    assert (fields["due_date"], fields["due_date_rule"]) == ("2026-12-31", "45 jours fin de mois")
    page = purchases.client.get(f"/purchases/{doc}/review").get_data(as_text=True)
    form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    form.update({"invoice_date": "20/11/2026", "action": "save"})
    purchases.client.post(f"/purchases/{doc}/review", data=form)
    fields = purchases.get(doc)["fields"]
    assert fields["invoice_date"] == "2026-11-20"
    assert fields["due_date"] == "2027-01-31"  # 20/11 + 45 days = 04/01, end of month
    # A due date typed by hand wins, and the rule no longer claims it.
    form.update({"invoice_date": "20/11/2026", "due_date": "15/01/2027"})
    purchases.client.post(f"/purchases/{doc}/review", data=form)
    fields = purchases.get(doc)["fields"]
    assert (fields["due_date"], fields["due_date_rule"]) == ("2027-01-15", None)


def test_a_buyer_name_guessed_from_its_place_only_is_not_called_another_company(
    app: Any, factory: Any
) -> None:
    from core.tenancy.models import Company
    from plugins.binder_purchases.buyers import buyer_check

    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    with app.app_context():
        row = db.session.get(Company, company.id)
        fields = {"buyer": {"name": "Garage Dupont"}, "confidence": {"buyer.name": 0.6}}
        [check] = buyer_check(row, fields, "purchase_invoices")
        assert (check["code"], check["level"]) == ("buyer_uncertain", "info")
        fields["confidence"]["buyer.name"] = 0.9
        [check] = buyer_check(row, fields, "purchase_invoices")
        assert (check["code"], check["level"]) == ("wrong_company", "warning")
        # An identifier says it whatever the name's confidence.
        row.siren = "443061841"
        fields = {"buyer": {"name": "x", "siren": "552100554"}, "confidence": {"buyer.name": 0.5}}
        assert buyer_check(row, fields, "purchase_invoices")[0]["code"] == "wrong_company"
