"""The buyer's block on text invoices: the company invoiced, never the seller.

The synthetic invoices are drawn where real programs print them (a window-envelope address top
right without a label, a "Facturé à" block under the header, a two-column header whose lines do
not share baselines, a buyer with its own SIREN and VAT number while the seller's stand in the
footer's legal mentions); the real ones are public samples read without their XML. Expected
values are written from the printed page, not from the reader.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from plugins.binder_purchases.extraction import extract_file

from .bp_helpers import DATA

# (x, y from the top, text, size): one drawString each.
Item = tuple[float, float, str, int]

SELLER_HEADER: list[Item] = [
    (50, 50, "PAPETERIE DURAND SARL", 16),
    (50, 72, "12 rue des Lilas", 10),
    (50, 86, "75011 Paris", 10),
    (50, 100, "Tél. 01 43 55 12 34 - contact@papeterie-durand.fr", 10),
    (50, 114, "SIRET 732 829 320 00074 - TVA FR44732829320", 10),
]
LINES_AND_TOTALS: list[Item] = [
    (50, 300, "Facture n° FA-2026-0412", 12),
    (50, 316, "Date : 12/03/2026", 10),
    (50, 360, "Désignation", 10),
    (330, 360, "Qté", 10),
    (400, 360, "P.U. HT", 10),
    (480, 360, "Montant HT", 10),
    (50, 376, "Ramettes de papier A4", 10),
    (330, 376, "10", 10),
    (400, 376, "10,00", 10),
    (480, 376, "100,00", 10),
    (380, 420, "Total HT", 10),
    (480, 420, "100,00", 10),
    (380, 434, "TVA 20 %", 10),
    (480, 434, "20,00", 10),
    (380, 448, "Total TTC", 10),
    (480, 448, "120,00", 10),
]


def page(items: list[Item]) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    height = A4[1]
    for x, y, text, size in items:
        c.setFont("Helvetica-Bold" if size > 12 else "Helvetica", size)
        c.drawString(x, height - y, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def read(tmp_path: Path, items: list[Item]) -> dict:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(page(items))
    return extract_file(path, use_einvoice=False)


def assert_seller_kept(f: dict) -> None:
    sup = f["supplier"]
    assert sup["siren"] == "732829320"
    assert sup["vat_number"] == "FR44732829320"
    assert sup["name"] == "PAPETERIE DURAND SARL"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "100.00",
        "20.00",
        "120.00",
    )


def test_client_block_top_right_without_label(tmp_path: Path) -> None:
    # The window envelope's address: no label, a street and a postal-code line.
    buyer = [
        (330, 150, "Boulangerie Martin", 11),
        (330, 164, "3 place du Marché", 11),
        (330, 178, "21000 Dijon", 11),
    ]
    f = read(tmp_path, SELLER_HEADER + buyer + LINES_AND_TOTALS)
    assert f["buyer"]["name"] == "Boulangerie Martin"
    # Guessed from its place alone: shown, but below 0.9.
    assert 0.6 <= f["confidence"]["buyer.name"] < 0.9
    assert_seller_kept(f)


def test_facture_a_block_below_the_header(tmp_path: Path) -> None:
    # The label, a blank line, then the block in the seller's own column.
    buyer = [
        (50, 170, "Facturé à :", 10),
        (50, 198, "Garage Rousseau SAS", 10),
        (50, 212, "Attn. Julie Rousseau", 10),
        (50, 226, "8 avenue de la Gare", 10),
        (50, 240, "35000 Rennes", 10),
    ]
    f = read(tmp_path, SELLER_HEADER + buyer + LINES_AND_TOTALS)
    assert f["buyer"]["name"] == "Garage Rousseau SAS"
    assert f["confidence"]["buyer.name"] >= 0.9
    assert_seller_kept(f)


def test_two_column_header_whose_lines_do_not_share_baselines(tmp_path: Path) -> None:
    # Seller on the left, "Client" and its block on the right, half a line lower; the block
    # carries the client's SIRET, which is never the seller's.
    seller = [
        (50, 50, "PAPETERIE DURAND SARL", 16),
        (50, 72, "12 rue des Lilas", 10),
        (50, 86, "75011 Paris", 10),
        (50, 100, "Tél. 01 43 55 12 34", 10),
        (50, 114, "SIRET 732 829 320 00074", 10),
        (50, 128, "TVA FR44732829320", 10),
    ]
    buyer = [
        (340, 79, "Client", 10),
        (340, 93, "Cave Muller EURL", 10),
        (340, 107, "15 rue Victor Hugo", 10),
        (340, 121, "87000 Limoges", 10),
        (340, 135, "SIRET 404 833 048 00022", 10),
    ]
    f = read(tmp_path, seller + buyer + LINES_AND_TOTALS)
    assert f["buyer"]["name"] == "Cave Muller EURL"
    assert f["buyer"]["siren"] == "404833048"
    assert f["supplier"]["siret"] == "73282932000074"
    assert_seller_kept(f)


def test_buyer_identifiers_beside_the_sellers_legal_mentions_in_the_footer(
    tmp_path: Path,
) -> None:
    # The seller prints its identifiers only in the footer; the buyer's block has its own.
    seller = [
        (50, 50, "PAPETERIE DURAND SARL", 16),
        (50, 72, "12 rue des Lilas", 10),
        (50, 86, "75011 Paris", 10),
    ]
    buyer = [
        (330, 150, "Boulangerie Martin SAS", 11),
        (330, 164, "3 place du Marché", 11),
        (330, 178, "21000 Dijon", 11),
        (330, 192, "SIREN 404 833 048", 11),
        (330, 206, "Votre n° TVA : FR83404833048", 11),
    ]
    footer = [
        (50, 790, "PAPETERIE DURAND SARL au capital de 10 000 € - RCS Paris 732 829 320", 8),
        (
            50,
            802,
            "TVA intracommunautaire FR44732829320 - IBAN FR76 3000 6000 0112 3456 7890 189",
            8,
        ),
    ]
    f = read(tmp_path, seller + buyer + LINES_AND_TOTALS + footer)
    assert f["buyer"]["name"] == "Boulangerie Martin SAS"
    assert f["buyer"]["siren"] == "404833048"
    assert f["buyer"]["vat_number"] == "FR83404833048"
    assert f["confidence"]["buyer.vat_number"] >= 0.9  # labelled "Votre n° TVA"
    assert f["supplier"]["iban"] == "FR7630006000011234567890189"
    assert_seller_kept(f)


def test_german_window_under_the_senders_line(tmp_path: Path) -> None:
    # DIN 5008: the sender's line in small print above the recipient's block on the left,
    # the letterhead on the right.
    items: list[Item] = [
        (330, 50, "Bürobedarf Schulz GmbH", 14),
        (330, 70, "Hauptstraße 12", 10),
        (330, 84, "10115 Berlin", 10),
        (330, 98, "www.buero-schulz.de", 10),
        (330, 112, "USt-IdNr.: DE136695976", 10),
        (60, 140, "Bürobedarf Schulz GmbH · Hauptstraße 12 · 10115 Berlin", 7),
        (60, 160, "Kanzlei Weber & Partner", 10),
        (60, 174, "Musterweg 5", 10),
        (60, 188, "80331 München", 10),
        (50, 300, "Rechnung Nr. RE-2026-118", 12),
        (50, 316, "Rechnungsdatum: 12.03.2026", 10),
        (380, 420, "Nettobetrag", 10),
        (480, 420, "100,00", 10),
        (380, 434, "MwSt. 19 %", 10),
        (480, 434, "19,00", 10),
        (380, 448, "Gesamtbetrag", 10),
        (480, 448, "119,00", 10),
    ]
    f = read(tmp_path, items)
    assert f["buyer"]["name"] == "Kanzlei Weber & Partner"
    assert f["confidence"]["buyer.name"] < 0.9
    assert f["supplier"]["vat_number"] == "DE136695976"
    assert f["supplier"]["name"] == "Bürobedarf Schulz GmbH"


def test_a_foreign_seller_keeps_its_vat_number_beside_a_french_buyers_identifiers(
    tmp_path: Path,
) -> None:
    # Reverse charge: the French client prints a SIRET and a VAT number in the window, the
    # German seller only its VAT number in its letterhead. Two identifiers must not outvote one.
    items: list[Item] = [
        (50, 40, "Becker & Weber GmbH", 12),
        (50, 56, "Hauptstraße 57", 10),
        (50, 70, "80331 München", 10),
        (50, 84, "Tél +49 89 1501722", 10),
        (50, 98, "N° TVA : DE136695976", 10),
        (330, 110, "Hôtel du Parc SAS", 10),
        (330, 124, "52 quai de la République", 10),
        (330, 138, "59000 Lille", 10),
        (330, 152, "TVA : FR83 404 833 048", 10),
        (330, 166, "SIRET : 404 833 048 00022", 10),
        (50, 420, "Autoliquidation - article 283-2 du CGI", 9),
        (50, 300, "Facture n° INV-2026-2049", 12),
        (50, 316, "Date : 12/03/2026", 10),
        (380, 440, "Total HT", 10),
        (480, 440, "100,00", 10),
        (380, 454, "TVA 0 %", 10),
        (480, 454, "0,00", 10),
        (380, 468, "Total TTC", 10),
        (480, 468, "100,00", 10),
    ]
    f = read(tmp_path, items)
    assert f["supplier"]["vat_number"] == "DE136695976"
    assert f["supplier"]["siren"] is None
    assert f["supplier"]["name"] == "Becker & Weber GmbH"
    assert f["buyer"]["name"] == "Hôtel du Parc SAS"
    assert f["buyer"]["siren"] == "404833048"
    assert f["buyer"]["vat_number"] == "FR83404833048"


def test_a_delivery_address_alone_is_a_less_sure_buyer(tmp_path: Path) -> None:
    buyer = [
        (330, 150, "Livré à :", 10),
        (330, 164, "Hôtel du Lac", 10),
        (330, 178, "1 quai du Mont-Blanc", 10),
        (330, 192, "74000 Annecy", 10),
    ]
    f = read(tmp_path, SELLER_HEADER + buyer + LINES_AND_TOTALS)
    assert f["buyer"]["name"] == "Hôtel du Lac"
    assert f["confidence"]["buyer.name"] < 0.9
    assert_seller_kept(f)


def test_the_sellers_own_block_is_never_the_buyer(tmp_path: Path) -> None:
    # One address block on the page, the seller's (its identifiers in the footer): no buyer.
    seller = [
        (50, 50, "PAPETERIE DURAND SARL", 16),
        (50, 72, "12 rue des Lilas", 10),
        (50, 86, "75011 Paris", 10),
    ]
    footer = [(50, 790, "SIRET 732 829 320 00074 - TVA FR44732829320", 8)]
    f = read(tmp_path, seller + LINES_AND_TOTALS + footer)
    assert f["buyer"]["name"] is None
    assert "buyer.name" not in f["confidence"]
    assert_seller_kept(f)


def test_a_label_of_the_left_column_is_not_the_right_blocks(tmp_path: Path) -> None:
    # "CLIENT :" heads the block below it, not the seller's block on the same line.
    items: list[Item] = [
        (50, 50, "CLIENT :", 10),
        (330, 50, "ÉLEC SERVICES SAS", 10),
        (50, 64, "Boulangerie Martin SAS", 10),
        (330, 64, "12 avenue Foch", 10),
        (50, 78, "21000 Dijon", 10),
        (330, 78, "75016 Paris", 10),
        (330, 92, "SIREN 732 829 320", 10),
        (330, 106, "TVA FR44732829320", 10),
    ]
    f = read(tmp_path, items + LINES_AND_TOTALS)
    assert f["buyer"]["name"] == "Boulangerie Martin SAS"
    assert f["supplier"]["siren"] == "732829320"
    assert f["supplier"]["vat_number"] == "FR44732829320"


# -- real samples, read without their XML -------------------------------------------------------
REAL = [
    # Odoo's layout: the billing address top right without a label, "Adresse de livraison" on the
    # left, the seller's identifiers in its header line.
    ("fnfe-2017/Facture_FR_MINIMUM.pdf", "Ma jolie boutique", "999999998", "FR11999999998"),
    ("fnfe-2017/Avoir_FR_type381_BASICWL.pdf", "Ma jolie boutique", "999999998", "FR11999999998"),
    ("fnfe-2017/Facture_UE_EN16931.pdf", "Me gusta olive", "999999998", "FR11999999998"),
    ("pdf/fnfe-2017/Facture_UE_BASIC.pdf", "Me gusta olive", "999999998", "FR11999999998"),
    # ZUGFeRD's print of the XML: "Verkäufer:" then "Käufer:" blocks, one above the other.
    ("horstoeko/pdf_zf_en16931_1.pdf", "Kunden AG Mitte", None, "DE123456789"),
    ("horstoeko/pdf_zf_extended_1.pdf", "MUSTER-KUNDE GMBH", None, "DE123456789"),
    # XRechnung's print: "Käufer/Leistungsempfänger" then "Name:   Kunden AG Mitte".
    ("horstoeko/pdf_zf_xrechnung_1.pdf", "Kunden AG Mitte", None, "DE123456789"),
    # Free's bill: the subscriber's window address top right.
    ("invoice2data/free_fiber.pdf", "de Lattre Alexis", "421938861", "FR60421938861"),
]


@pytest.mark.parametrize(("name", "buyer", "siren", "vat"), REAL)
def test_real_text_pdfs_name_their_buyer(
    name: str, buyer: str, siren: str | None, vat: str | None
) -> None:
    f = extract_file(DATA / name, use_einvoice=False)
    assert f["buyer"]["name"] == buyer
    assert f["confidence"]["buyer.name"] > 0.5
    assert f["supplier"]["siren"] == siren
    assert f["supplier"]["vat_number"] == vat
    assert f["supplier"]["name"] != buyer


def test_odoo_buyer_identifiers_stay_the_buyers() -> None:
    f = extract_file(DATA / "fnfe-2017/Facture_FR_MINIMUM.pdf", use_einvoice=False)
    assert f["buyer"]["vat_number"] == "FR19787878784"
    assert f["buyer"]["siren"] == "787878784"
    assert f["supplier"]["siret"] == "99999999800010"
    assert f["supplier"]["name"] == "Au bon moulin SARL"
