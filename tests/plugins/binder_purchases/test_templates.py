"""Supplier templates ("modèle fournisseur"): learned from one validated invoice, used to read
the supplier's next one; refused on another layout or when the amounts do not add up; and in
the product: learned at validation, used at reading, shown on the review and supplier pages."""

from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from bp_helpers import DATA, text_pdf
from bp_helpers import Purchases as BasePurchases
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from plugins.binder_purchases.extraction import extract_file, read_einvoice
from plugins.binder_purchases.extraction.layout import Layout
from plugins.binder_purchases.extraction.templates import (
    apply_template,
    learn_template,
    loose_shape,
    norm_label,
    shape,
)

W, H = A4
HEADER = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "amount_due",
)
FNFE = DATA / "pdf" / "fnfe-2017"


def vernier_pdf(
    number: str,
    date: str,
    items: list[tuple[str, str]],
    totals: tuple[str, str, str, str],
    *,
    supplier: str = "Atelier Vernier",
    tagline: str = "Ébénisterie et agencement sur mesure",
    address: str = "4 impasse des Tanneurs, 69002 Lyon",
    ids: str = "SIRET 732 829 320 00074 - TVA FR 44 732 829 320",
    iban: str = "FR76 3000 6000 0112 3456 7890 189",
    move: tuple[float, float] = (0, 0),
    totals_lower: float = 0,
) -> bytes:
    """An invoice of an unusual layout: the number alone at the top right (no label), the date
    as "Lyon, le ...", totals under made-up labels ("Travaux", "Part de l'État", "Somme
    globale", "Reste à nous virer"). ``move`` shifts the whole page (a scan placed off),
    ``totals_lower`` only the totals block (more item lines)."""
    ht, tva, ttc, due = totals
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.translate(*move)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(40, H - 50, supplier)
    c.setFont("Helvetica", 9)
    c.drawString(40, H - 64, tagline)
    c.drawString(40, H - 76, address)
    c.drawString(40, H - 88, ids)
    c.setFont("Helvetica-Bold", 14)
    c.drawRightString(W - 40, H - 50, number)
    c.setFont("Helvetica", 9)
    c.drawRightString(W - 40, H - 66, f"Lyon, le {date}")
    for i, line in enumerate(("Boulangerie Martin", "8 place du Marché", "69003 Lyon")):
        c.drawString(330, H - 130 - 12 * i, line)
    c.drawString(40, H - 200, "Désignation")
    c.drawRightString(W - 40, H - 200, "Montant")
    y = H - 220
    for label, amount in items:
        c.drawString(40, y, label)
        c.drawRightString(W - 40, y, amount)
        y -= 16
    y = H - 330 - totals_lower
    for label, amount in (
        ("Travaux", ht),
        ("Part de l'État", tva),
        ("Somme globale", ttc),
        ("Reste à nous virer", due),
    ):
        c.drawString(360, y, label)
        c.drawRightString(W - 40, y, amount)
        y -= 16
    c.drawString(40, H - 460 - totals_lower, f"Règlement par virement : {iban}")
    c.drawString(40, 40, "Merci de votre confiance.")
    c.showPage()
    c.save()
    return buf.getvalue()


def first_invoice() -> bytes:
    return vernier_pdf(
        "2026-0042",
        "12/03/2026",
        [("Pose d'étagères en chêne", "1 250,00"), ("Fournitures", "250,00")],
        ("1 500,00", "300,00", "1 800,00", "1 300,00"),
    )


#: The validated fields of the first invoice (what the accountant confirmed).
TRUTH_1: dict[str, Any] = {
    "invoice_number": "2026-0042",
    "invoice_date": "2026-03-12",
    "due_date": None,
    "total_excl_tax": "1500.00",
    "total_tax": "300.00",
    "total_incl_tax": "1800.00",
    "amount_due": "1300.00",
    "supplier": {
        "name": "Atelier Vernier",
        "siren": "732829320",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "iban": "FR7630006000011234567890189",
    },
}


def second_invoice(**layout: Any) -> bytes:
    """The supplier's next invoice: three items, so the totals stand one line lower."""
    return vernier_pdf(
        "2026-0057",
        "02/04/2026",
        [("Cuisine sur mesure", "2 400,00"), ("Déplacement", "80,00"), ("Quincaillerie", "120,50")],
        ("2 600,50", "520,10", "3 120,60", "2 120,60"),
        totals_lower=16,
        **layout,
    )


TRUTH_2 = {
    "invoice_number": "2026-0057",
    "invoice_date": "2026-04-02",
    "total_excl_tax": "2600.50",
    "total_tax": "520.10",
    "total_incl_tax": "3120.60",
    "amount_due": "2120.60",
}


@pytest.fixture
def pdfs(tmp_path: Path) -> tuple[Path, Path]:
    one, two = tmp_path / "vernier-1.pdf", tmp_path / "vernier-2.pdf"
    one.write_bytes(first_invoice())
    two.write_bytes(second_invoice())
    return one, two


@pytest.fixture
def template(pdfs: tuple[Path, Path]) -> dict[str, Any]:
    tpl = learn_template(pdfs[0], TRUTH_1)
    assert tpl is not None
    return tpl


def header(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields.get(k) for k in TRUTH_2}


# --- learning --------------------------------------------------------------------------------


def test_learn_keeps_place_label_offset_and_format_of_each_field(pdfs):
    tpl = learn_template(Layout.from_pdf(pdfs[0]), TRUTH_1)
    assert tpl is not None
    assert json.loads(json.dumps(tpl)) == tpl  # JSON-able, stored as is
    assert tpl["version"] == 1
    fields = tpl["fields"]
    assert set(fields) == {
        "invoice_number",
        "invoice_date",
        "total_excl_tax",
        "total_tax",
        "total_incl_tax",
        "amount_due",
        "supplier.vat_number",
        "supplier.siren",
        "supplier.siret",
        "supplier.iban",
    }
    number = fields["invoice_number"]
    assert number["label"] is None  # printed alone at the top right
    assert number["format"] == "9999-9999"
    assert number["page"] == 1 and number["box"][0] > 0.75 and number["box"][1] < 0.1
    due = fields["amount_due"]
    assert due["label"]["text"] == "reste a nous virer"
    assert due["label"]["where"] == "left"
    assert due["format"] == "amount"
    assert due["offset"][0] > 0.1 and abs(due["offset"][1]) < 0.005
    assert fields["total_tax"]["label"]["text"] == "part de l etat"
    assert fields["invoice_date"]["format"] == "date"
    # The anchors are the stable words of the top of the page, not the values.
    anchors = {a["text"] for a in tpl["anchors"]}
    assert {"atelier", "vernier", "ebenisterie"} <= anchors
    assert not any(any(c.isdigit() for c in a) for a in anchors)


def test_learn_needs_three_fields_found(pdfs):
    assert learn_template(pdfs[0], {"invoice_number": "2026-0042"}) is None
    wrong = {**TRUTH_1, "supplier": {}, "total_excl_tax": "9.99", "total_tax": "8.88"}
    wrong |= {"total_incl_tax": "7.77", "amount_due": "6.66", "invoice_date": "2020-01-01"}
    assert learn_template(pdfs[0], wrong) is None  # only the number is printed
    assert learn_template(pdfs[0], "not fields") is None  # type: ignore[arg-type]
    assert learn_template(Layout.from_text(""), TRUTH_1) is None


def test_learn_from_a_missing_file_gives_none(tmp_path):
    assert learn_template(tmp_path / "absent.pdf", TRUTH_1) is None


def test_formats():
    assert shape("FA-2017-0010") == "AA-9999-9999"
    assert loose_shape("FA-2017-0010") == loose_shape("AV-17-5") == "A-9-9"
    assert norm_label("Date d'échéance :") == "date d echeance"


# --- reading with a template ----------------------------------------------------------------


def test_second_invoice_read_right_with_the_template(pdfs, template):
    generic = extract_file(pdfs[1], use_einvoice=False)
    # The generic reader misses the made-up "amount due" label and can only guess the
    # unlabelled number.
    assert generic["amount_due"] != TRUTH_2["amount_due"]
    assert (
        generic["invoice_number"] != TRUTH_2["invoice_number"]
        or generic["confidence"]["invoice_number"] < 0.9
    )

    fields = extract_file(pdfs[1], use_einvoice=False, template=template)
    assert header(fields) == TRUTH_2
    assert fields["supplier"]["siren"] == "732829320"
    assert fields["supplier"]["vat_number"] == "FR44732829320"
    assert fields["supplier"]["iban"] == "FR7630006000011234567890189"
    assert fields["reading"]["method"] == "template"
    read = fields["reading"]["template_fields"].split(",")
    assert {"invoice_number", "amount_due", "total_incl_tax"} <= set(read)
    for key in read:
        assert fields["confidence"][key] == 0.99
    # What the template does not read stays the generic reading's.
    assert fields["supplier"]["name"] == generic["supplier"]["name"]
    assert fields["vat_lines"] == generic["vat_lines"]
    # A template stored as JSON and read back works the same.
    again = extract_file(pdfs[1], use_einvoice=False, template=json.loads(json.dumps(template)))
    assert header(again) == TRUTH_2


def test_template_follows_a_page_placed_off(tmp_path, template):
    """A scan placed 4 % off to the right and down: the anchors give the shift."""
    moved = tmp_path / "moved.pdf"
    moved.write_bytes(second_invoice(move=(25, -30)))
    fields = extract_file(moved, use_einvoice=False, template=template)
    assert fields["reading"]["method"] == "template"
    assert header(fields) == TRUTH_2


def test_template_reads_ocr_words(pdfs, template):
    """OCR words (boxes a little off, confidence below 1) are read like a text layer."""
    rng = random.Random(7)
    words = [w.as_dict() for w in Layout.from_pdf(pdfs[1]).words]
    for w in words:
        jitter = rng.uniform(-0.002, 0.002)
        w.update(x0=w["x0"] + jitter, x1=w["x1"] + jitter, conf=0.9)
    layout = Layout.from_words({1: words})
    from plugins.binder_purchases.extraction.text import extract_from_layout

    fields = apply_template(template, layout, extract_from_layout(layout, source="ocr"))
    assert fields["reading"]["method"] == "template"
    assert header(fields) == TRUTH_2


def long_invoice(number: str, pages: int, totals: tuple[str, str, str, str]) -> bytes:
    """The supplier's header on page 1, item pages, the totals on the last page."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for page in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(40, H - 50, "Atelier Vernier")
        c.setFont("Helvetica", 9)
        c.drawString(40, H - 64, "Ébénisterie et agencement sur mesure")
        c.drawRightString(W - 40, H - 50, number)
        c.drawString(40, H - 200, f"Page {page} / {pages}")
        for i in range(5):
            c.drawString(40, H - 230 - 16 * i, f"Heure de pose n° {page}.{i + 1}")
            c.drawRightString(W - 40, H - 230 - 16 * i, "45,00")
        if page == pages:
            for i, (label, amount) in enumerate(
                zip(("Travaux", "Part de l'État", "Somme globale", "Reste à nous virer"), totals)
            ):
                c.drawString(360, H - 400 - 16 * i, label)
                c.drawRightString(W - 40, H - 400 - 16 * i, amount)
        c.showPage()
    c.save()
    return buf.getvalue()


def test_totals_on_the_last_page_of_a_longer_invoice(tmp_path):
    two, three = tmp_path / "two.pdf", tmp_path / "three.pdf"
    two.write_bytes(long_invoice("2026-0100", 2, ("450,00", "90,00", "540,00", "540,00")))
    three.write_bytes(long_invoice("2026-0101", 3, ("675,00", "135,00", "810,00", "610,00")))
    truth = {
        "invoice_number": "2026-0100",
        "total_excl_tax": "450.00",
        "total_tax": "90.00",
        "total_incl_tax": "540.00",
        "amount_due": "540.00",
    }
    tpl = learn_template(two, truth)
    assert tpl is not None
    assert tpl["fields"]["total_tax"]["last_page"] is True
    assert tpl["fields"]["invoice_number"]["last_page"] is False
    fields = extract_file(three, use_einvoice=False, template=tpl)
    assert fields["reading"]["method"] == "template"
    assert [fields[k] for k in ("invoice_number", "total_excl_tax", "total_tax")] == [
        "2026-0101",
        "675.00",
        "135.00",
    ]
    assert [fields[k] for k in ("total_incl_tax", "amount_due")] == ["810.00", "610.00"]


def test_template_of_another_supplier_layout_is_rejected(tmp_path, template):
    other = tmp_path / "other.pdf"
    other.write_bytes(
        text_pdf(
            [
                "Papeterie Moreau SARL",
                "12 rue des Lilas, 75011 Paris",
                "SIREN 552 100 554",
                "Facture n° FA-2026-001",
                "Date : 12/03/2026",
                "Total HT 100,00 EUR",
                "TVA 20 % 20,00 EUR",
                "Total TTC 120,00 EUR",
            ]
        )
    )
    generic = extract_file(other, use_einvoice=False)
    fields = extract_file(other, use_einvoice=False, template=template)
    assert fields["reading"] == {**generic["reading"], "template": "rejected"}
    assert {**fields, "reading": None} == {**generic, "reading": None}


def test_same_layout_of_another_supplier_is_rejected(tmp_path, template):
    """The same invoicing program, another company: the top of the page differs."""
    other = tmp_path / "dubois.pdf"
    other.write_bytes(
        vernier_pdf(
            "2026-0100",
            "05/04/2026",
            [("Parquet massif", "900,00")],
            ("900,00", "180,00", "1 080,00", "1 080,00"),
            supplier="Menuiserie Dubois",
            tagline="Parquets, escaliers, portes",
            address="17 chemin Vert, 38000 Grenoble",
            ids="SIRET 552 100 554 00013 - TVA FR 55 552 100 554",
        )
    )
    fields = extract_file(other, use_einvoice=False, template=template)
    assert fields["reading"]["template"] == "rejected"


def test_template_whose_totals_do_not_add_up_is_rejected(pdfs, template):
    generic = extract_file(pdfs[1], use_einvoice=False)
    # "Total TVA" read where the amount due stands: HT + TVA != TTC.
    broken = copy.deepcopy(template)
    broken["fields"]["total_tax"] = copy.deepcopy(template["fields"]["amount_due"])
    broken["fields"]["total_tax"]["label"]["text"] = "reste a nous virer"
    fields = extract_file(pdfs[1], use_einvoice=False, template=broken)
    assert fields["reading"]["template"] == "rejected"
    assert {**fields, "reading": None} == {**generic, "reading": None}
    # Only some totals templated: they must agree with the generic reading's other totals.
    partial = copy.deepcopy(broken)
    for key in ("total_excl_tax", "total_incl_tax"):
        del partial["fields"][key]
    fields = extract_file(pdfs[1], use_einvoice=False, template=partial)
    assert fields["reading"]["template"] == "rejected"
    assert fields["total_tax"] == generic["total_tax"] == "520.10"


def test_template_whose_totals_were_learned_wrong_is_rejected(pdfs):
    """A tax total validated with the wrong printed amount (an item line): the template
    points at a line that holds something else on the next invoice."""
    wrong = {**TRUTH_1, "total_tax": "250.00"}
    tpl = learn_template(pdfs[0], wrong)
    assert tpl is not None
    fields = extract_file(pdfs[1], use_einvoice=False, template=tpl)
    assert fields["reading"]["template"] == "rejected"


CORRUPT: list[Any] = [
    None,
    {},
    "template",
    [1, 2],
    {"version": 2, "fields": {}, "anchors": []},
    {"version": 1, "fields": "x", "anchors": []},
    {"version": 1, "fields": {"invoice_number": {}}, "anchors": []},
    {"version": 1, "fields": {"nope": {"kind": "amount"}}, "anchors": []},
    {
        "version": 1,
        "anchors": [],
        "fields": {"total_tax": {"kind": "amount", "page": 1, "box": [0, 0, float("nan"), 1]}},
    },
    {
        "version": 1,
        "anchors": [{"text": 3}],
        "fields": {"total_tax": {"kind": "amount", "page": 1, "box": [0, 0, 1, 1]}},
    },
]


@pytest.mark.parametrize("corrupt", CORRUPT, ids=range(len(CORRUPT)))
def test_corrupt_template_is_ignored(pdfs, corrupt):
    generic = extract_file(pdfs[1], use_einvoice=False)
    assert extract_file(pdfs[1], use_einvoice=False, template=corrupt) == generic


def test_damaged_entries_of_a_real_template_are_ignored(pdfs, template):
    from plugins.binder_purchases.extraction.text import extract_from_layout

    layout = Layout.from_pdf(pdfs[1])
    generic = extract_from_layout(layout)
    rng = random.Random(3)
    junk: list[Any] = [None, "x", -1, 10**9, [], {}, [1], float("inf"), True, "9" * 500]
    for _ in range(300):
        broken = copy.deepcopy(template)
        field = rng.choice(sorted(broken["fields"]))
        entry = broken["fields"][field]
        key = rng.choice(sorted(entry))
        entry[key] = rng.choice(junk)
        fields = apply_template(broken, layout, generic)
        # Ignored, rejected, or a reading of the fields it still can: never a wrong value.
        if fields == generic:
            continue
        if fields["reading"].get("template") == "rejected":
            assert {**fields, "reading": None} == {**generic, "reading": None}
            continue
        for name, value in header(fields).items():
            assert value in (TRUTH_2[name], generic[name]), (field, key, entry[key], name)


def test_apply_never_raises(template):
    from plugins.binder_purchases.extraction.fields import empty_fields

    for layout in (Layout.from_text(""), Layout.from_text("Total 12,00\n" * 3), Layout([])):
        fields = empty_fields("text")
        out = apply_template(template, layout, fields)
        assert out["reading"].get("template") == "rejected"
        assert out["invoice_number"] is None
    assert apply_template(template, "not a layout", {"a": 1}) == {"a": 1}  # type: ignore[arg-type]


# --- FNFE samples: one seller's invoice and credit note ------------------------------------


def embedded_truth(path: Path) -> dict[str, Any]:
    from facturx import get_xml_from_pdf

    with path.open("rb") as fh:
        _name, xml = get_xml_from_pdf(fh, check_xsd=False)
    fields = read_einvoice(xml)
    assert fields is not None
    return fields


def test_fnfe_credit_note_read_with_the_invoice_template():
    invoice, credit = FNFE / "Facture_FR_BASIC.pdf", FNFE / "Avoir_FR_type380_BASIC.pdf"
    tpl = learn_template(invoice, embedded_truth(invoice))
    assert tpl is not None
    assert {"invoice_number", "invoice_date", "total_incl_tax", "amount_due"} <= set(tpl["fields"])
    assert tpl["fields"]["invoice_number"]["label"]["text"] == "facture"

    truth = embedded_truth(credit)
    fields = extract_file(credit, use_einvoice=False, template=tpl)
    assert fields["reading"]["method"] == "template"
    read = fields["reading"]["template_fields"].split(",")
    # "Avoir AV-2017-0005" where the invoice said "Facture FA-2017-0010": another label, the
    # same place and format ("Facture liée FA-2017-0010" further down is not taken).
    assert "invoice_number" in read
    assert fields["invoice_number"] == "AV-2017-0005"
    for key in HEADER:
        assert fields[key] == truth[key], key
    assert fields["supplier"]["vat_number"] == truth["supplier"]["vat_number"]


def test_fnfe_english_invoice_is_never_made_worse():
    """The seller's English invoice: other labels, totals lower. Whatever the template does,
    no field the generic reading had right is made wrong."""
    invoice, english = FNFE / "Facture_FR_BASIC.pdf", FNFE / "Facture_UE_BASIC.pdf"
    tpl = learn_template(invoice, embedded_truth(invoice))
    truth = embedded_truth(english)
    generic = extract_file(english, use_einvoice=False)
    fields = extract_file(english, use_einvoice=False, template=tpl)
    for key in HEADER:
        if generic[key] == truth[key]:
            assert fields[key] == truth[key], key


# --- in the product --------------------------------------------------------------------------


class Purchases(BasePurchases):
    """The product's purchase binder, with a way to validate an invoice as corrected."""

    def __init__(
        self, app: Any, client: Any, factory: Any, auth: Any, firm: str = "Cabinet Modèles"
    ) -> None:
        super().__init__(app, client, factory, auth, firm)

    def correct_and_validate(self, document_id: int, changes: dict[str, Any]) -> None:
        response = self.client.patch(f"/api/v1/documents/{document_id}/fields", json=changes)
        assert response.status_code == 200, response.get_json()
        doc = self.get(document_id)
        accounting = doc["fields"]["accounting"]
        lines = [{**line, "account": "6063"} for line in accounting["lines"]]
        response = self.client.patch(
            f"/api/v1/documents/{document_id}/fields",
            json={"accounting": {**accounting, "lines": lines}},
        )
        assert response.status_code == 200, response.get_json()
        response = self.client.post(f"/api/v1/documents/{document_id}/validate")
        assert response.status_code == 200, response.get_json()


@pytest.fixture
def purchases(app: Any, client: Any, factory: Any, auth: Any) -> Purchases:
    return Purchases(app, client, factory, auth)


def stored_templates(app: Any) -> list[Any]:
    from sqlalchemy import select

    from core.db import db
    from plugins.binder_purchases.models import SupplierTemplate

    with app.app_context():
        rows = db.session.scalars(select(SupplierTemplate)).all()
        db.session.expunge_all()
        return list(rows)


def test_validated_invoice_teaches_the_template_and_the_next_one_is_read_with_it(purchases, app):
    first = purchases.drop(first_invoice(), "vernier-1.pdf")
    fields = purchases.get(first)["fields"]
    assert fields["reading"]["method"] == "layout"
    assert fields["amount_due"] != "1300.00"
    assert stored_templates(app) == []
    purchases.correct_and_validate(first, {"invoice_number": "2026-0042", "amount_due": "1300.00"})

    (row,) = stored_templates(app)
    assert row.learned_from_document_id == first
    assert (row.uses, row.rejections) == (0, 0)
    assert row.firm_id == purchases.firm.id
    assert "amount_due" in row.template["fields"]

    second = purchases.drop(second_invoice(), "vernier-2.pdf")
    doc = purchases.get(second)
    assert header(doc["fields"]) == TRUTH_2
    assert doc["fields"]["reading"]["method"] == "template"
    assert doc["fields"]["confidence"]["amount_due"] == 0.99
    (row,) = stored_templates(app)
    assert row.uses == 1

    html = purchases.client.get(f"/purchases/{second}/review").get_data(as_text=True)
    assert "Lu avec le modèle du fournisseur" in html
    html = purchases.client.get(f"/purchases/{first}/review").get_data(as_text=True)
    assert "Lu avec le modèle du fournisseur" not in html

    # The supplier page tells where the template comes from, and forgets it on demand.
    page = purchases.client.get(f"/purchases/companies/{purchases.company.id}/suppliers")
    html = page.get_data(as_text=True)
    assert 'data-template="yes"' in html
    assert "Appris sur la facture" in html and "2026-0042" in html
    assert "utilisé 1 fois" in html
    assert "Oublier le modèle" in html
    forget = f"/purchases/companies/{purchases.company.id}/suppliers/forget-template"
    assert f'action="{forget}"' in html
    assert f'name="supplier_id" value="{row.supplier_id}"' in html
    response = purchases.client.post(forget, data={"supplier_id": row.supplier_id})
    assert response.status_code == 302
    assert stored_templates(app) == []
    html = purchases.client.get(f"/purchases/companies/{purchases.company.id}/suppliers")
    assert 'data-template="no"' in html.get_data(as_text=True)
    assert purchases.client.post(forget, data={"supplier_id": row.supplier_id}).status_code == 404
    assert purchases.client.post(forget).status_code == 404

    # Without its template, the next invoice is read generically again.
    third = purchases.drop(second_invoice(move=(0, -1)), "vernier-3.pdf")
    assert purchases.get(third)["fields"]["reading"]["method"] == "layout"


def test_template_rejected_on_another_layout_is_counted(purchases, app):
    first = purchases.drop(first_invoice(), "vernier-1.pdf")
    purchases.correct_and_validate(first, {"invoice_number": "2026-0042", "amount_due": "1300.00"})
    # Same supplier (same SIREN), a new invoicing program: another layout.
    other = text_pdf(
        [
            "Atelier Vernier",
            "SIRET 732 829 320 00074",
            "Facture n° F-88",
            "Date : 20/04/2026",
            "Total HT 100,00 EUR",
            "TVA 20 % 20,00 EUR",
            "Total TTC 120,00 EUR",
        ]
    )
    doc_id = purchases.drop(other, "vernier-new.pdf")
    fields = purchases.get(doc_id)["fields"]
    assert fields["reading"]["template"] == "rejected"
    assert fields["invoice_number"] == "F-88"
    (row,) = stored_templates(app)
    assert (row.uses, row.rejections) == (0, 1)


def test_template_of_another_firm_is_never_used(purchases, app, factory, client, auth):
    first = purchases.drop(first_invoice(), "vernier-1.pdf")
    purchases.correct_and_validate(first, {"invoice_number": "2026-0042", "amount_due": "1300.00"})
    client.post("/logout")
    other = Purchases(app, client, factory, auth, firm="Cabinet Voisin")
    doc_id = other.drop(second_invoice(), "vernier-2.pdf")
    assert other.get(doc_id)["fields"]["reading"]["method"] == "layout"


def test_forget_needs_write_rights_and_the_company(purchases, app, factory, client, auth):
    first = purchases.drop(first_invoice(), "vernier-1.pdf")
    purchases.correct_and_validate(first, {"invoice_number": "2026-0042", "amount_due": "1300.00"})
    (row,) = stored_templates(app)
    other_company = factory.company(purchases.firm, name="Autre", code="AU01")
    url = f"/purchases/companies/{other_company.id}/suppliers/forget-template"
    assert client.post(url, data={"supplier_id": row.supplier_id}).status_code == 404
    assert len(stored_templates(app)) == 1
    # An uploader neither sees the suppliers (the accounting tabs are the firm's) nor forgets.
    client.post("/logout")
    auth.login(factory.user(purchases.firm, "uploader", companies=[purchases.company]))
    page = client.get(f"/purchases/companies/{purchases.company.id}/suppliers")
    assert page.status_code == 403
    url = f"/purchases/companies/{purchases.company.id}/suppliers/forget-template"
    assert client.post(url, data={"supplier_id": row.supplier_id}).status_code == 403
    assert len(stored_templates(app)) == 1


def test_scan_learns_from_the_ocr_words_the_core_kept(purchases, app, factory, monkeypatch, pdfs):
    """A validated scan: the template comes from the OCR words kept by the core; without
    them, nothing is learned (text columns are no positions)."""
    from core.db import db
    from core.documents.models import Document
    from plugins.binder_purchases import supplier_templates
    from plugins.binder_purchases.models import Supplier

    words = [w.as_dict() for w in Layout.from_pdf(pdfs[0]).words]
    doc = factory.document(
        purchases.binder, state="validated", fields=TRUTH_1, content=b"\x89PNG scan"
    )
    with app.app_context():
        document = db.session.get(Document, doc.id)
        document.media_type = "image/png"
        supplier = Supplier(company_id=purchases.company.id, name="Atelier Vernier")
        db.session.add(supplier)
        db.session.commit()
        monkeypatch.setattr(supplier_templates, "stored_ocr_words", lambda _document: None)
        assert supplier_templates.learn_from_validated(document, supplier) is None
        monkeypatch.setattr(supplier_templates, "stored_ocr_words", lambda _document: {1: words})
        row = supplier_templates.learn_from_validated(document, supplier)
        assert row is not None
        assert row.template["source"] == "ocr"
        assert "amount_due" in row.template["fields"]
    (stored,) = stored_templates(app)
    assert stored.learned_from_document_id == doc.id
