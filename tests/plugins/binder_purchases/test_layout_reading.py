"""Layout-aware reading: the patterns real French invoicing programs print.

Each invoice below is laid out as ``pdftotext -layout`` prints a real program's page (columns
matter); the expected values are written from the printed invoice, not from the reader.
"""

from __future__ import annotations

import pytest

from plugins.binder_purchases.extraction import extract_from_text
from plugins.binder_purchases.extraction.layout import Layout

# The number after the word "Facture" without "N°", share capital in the header, a VAT table
# by rate, "Solde à payer" after a partial payment, the buyer's VAT number in the buyer block.
ODOO_LIKE = """\
                  Au bon moulin SARL - 1242 chemin de l'olive - 84340 Malaucène - France
                  TVA : FR11999999998 - SIRET : 99999999800010 - SARL au capital de 120 000,00 €

Facture FA-2026-0010
                                                          Ma jolie boutique
Adresse de livraison                                      35 rue de la République
Ma jolie boutique                                         69001 Lyon

Date de facture          13/11/2026                       Contact commercial
Conditions de paiement   30% d'acompte, solde à 30 j      Tony Dubois
Date d'échéance          13/12/2026
Votre référence          PO445
N° TVA client            FR19787878784

Description                          Quantité    Prix unitaire     Prix HT
Nougat de l'Abbaye 250g                    20          4,55 €      81,90 €
Huile d'olive à l'ancienne                 25         21,72 €     543,00 €

      Taxe                 Base      Montant                     Total HT      624,90 €
TVA 20,0 %              81,90 €      16,38 €                  Total taxes       46,25 €
TVA 5,5 %              543,00 €      29,87 €                    Total TTC      671,15 €
      Règlement      Date             Montant                Solde à payer     470,15 €
Virement             05/11/2026       201,00 €
IBAN : FR76 3000 6000 0112 3456 7890 189
"""

# Seller on the right, buyer on the left with its own SIREN and VAT ("Vos identifiants"),
# the number labelled far from its value, an order date and a delivery date near the invoice
# date, a service period, a due date as "Prélevé le".
SELLER_RIGHT = """\
CLIENT :                                                     ÉLEC SERVICES SAS
Boulangerie Martin SAS                                       12 avenue Foch
3 place du Marché                                            75016 Paris
21000 Dijon                                                  SIREN 732 829 320
Vos identifiants                                             TVA FR44732829320
SIREN 404 833 048
TVA FR83404833048

FACTURE N° :                                                           EL-26-00421
Date de commande : 02/10/2026
Date de livraison : 08/10/2026
Date de facture : 15/10/2026
Période du 01/09/2026 au 30/09/2026

Désignation                                  Qté      PU HT       Montant HT
Abonnement maintenance                         1     250,00           250,00
Intervention                                   2      87,50           175,00

                                                        Montant HT       425,00
                                                        Montant TVA       85,00
                                                        Total TTC        510,00
Prélevé le 30/10/2026 sur votre compte
ÉLEC SERVICES SAS au capital de 50 000 € - RCS Paris 732 829 320 - Pénalités de retard : 3 fois
le taux d'intérêt légal - indemnité forfaitaire pour frais de recouvrement : 40,00 €
"""

# A header table: labels in one row, values below; the number labelled "Pièce n°"; a due date
# as "À payer avant le"; a quote-acceptance date.
HEADER_TABLE = """\
MENUISERIE DUPUIS EURL
8 rue des Artisans, 44000 Nantes
SIRET 552 100 554 00014 - TVA intracommunautaire FR72552100554

                                         FACTURE
Pièce n°            Date               Client            Devis accepté le
F2026/118           03/11/2026         C0042             12/10/2026

Désignation                              Qté    P.U. HT     TVA     Total HT
Pose de fenêtres                           3     420,00     10 %    1 260,00
Fournitures                                1     180,00     20 %      180,00

Taux        Base HT       TVA
10 %        1 260,00      126,00
20 %          180,00       36,00
                                                   Total HT          1 440,00
                                                   Total TVA           162,00
                                                   Net à payer       1 602,00
À payer avant le 03/12/2026
"""


def _read(text: str) -> dict:
    return extract_from_text(text)


def test_odoo_like_layout() -> None:
    f = _read(ODOO_LIKE)
    assert f["invoice_number"] == "FA-2026-0010"
    assert f["invoice_date"] == "2026-11-13"
    assert f["due_date"] == "2026-12-13"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "624.90",
        "46.25",
        "671.15",
    )
    assert f["amount_due"] == "470.15"
    assert f["supplier"]["vat_number"] == "FR11999999998"
    assert f["supplier"]["siren"] == "999999998"
    assert f["buyer"]["vat_number"] == "FR19787878784"
    rates = {line["rate"]: line["amount"] for line in f["vat_lines"]}
    assert rates == {"20.00": "16.38", "5.50": "29.87"}


def test_seller_on_the_right_and_buyer_identifiers() -> None:
    f = _read(SELLER_RIGHT)
    assert f["invoice_number"] == "EL-26-00421"
    assert f["invoice_date"] == "2026-10-15"
    assert f["due_date"] == "2026-10-30"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "425.00",
        "85.00",
        "510.00",
    )
    sup, buyer = f["supplier"], f["buyer"]
    assert sup["siren"] == "732829320"
    assert sup["vat_number"] == "FR44732829320"
    assert buyer["siren"] == "404833048"
    assert buyer["vat_number"] == "FR83404833048"
    assert f["payment_mode"] == "direct_debit"


def test_header_table_and_vat_table() -> None:
    f = _read(HEADER_TABLE)
    assert f["invoice_number"] == "F2026/118"
    assert f["invoice_date"] == "2026-11-03"
    assert f["due_date"] == "2026-12-03"
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "1440.00",
        "162.00",
        "1602.00",
    )
    assert f["supplier"]["siren"] == "552100554"
    assert {line["rate"] for line in f["vat_lines"]} == {"10.00", "20.00"}


def test_share_capital_and_recovery_fee_are_never_amounts() -> None:
    text = (
        "ACME SAS au capital de 120 000,00 €\n"
        "Facture n° 77\nDate : 01/02/2026\n"
        "Indemnité forfaitaire pour frais de recouvrement : 40,00 €\n"
        "Total TVA        20,00\n"
    )
    f = _read(text)
    assert f["total_tax"] != "120000.00"
    assert f["total_incl_tax"] not in ("120000.00", "40.00")


@pytest.mark.parametrize("source", ["text", "ocr"])
def test_layout_from_words_groups_two_columns_into_one_line(source: str) -> None:
    words = {
        1: [
            {"text": "Total", "x0": 0.55, "y0": 0.80, "x1": 0.60, "y1": 0.81, "conf": 0.9},
            {"text": "TTC", "x0": 0.61, "y0": 0.801, "x1": 0.64, "y1": 0.811, "conf": 0.9},
            {"text": "510,00", "x0": 0.80, "y0": 0.799, "x1": 0.86, "y1": 0.81, "conf": 0.4},
            {"text": "Facture", "x0": 0.1, "y0": 0.1, "x1": 0.18, "y1": 0.11, "conf": 0.95},
        ]
    }
    layout = Layout.from_words(words, source=source)
    assert [line.text.split() for line in layout.lines] == [["Facture"], ["Total", "TTC", "510,00"]]
    total_line = layout.lines[1]
    assert "   " in total_line.text  # far-apart words stay in separate cells
    assert total_line.words_in(total_line.text.index("510"), len(total_line.text))[0].conf == 0.4


def test_unlabelled_number_near_the_title_and_due_date_terms() -> None:
    text = (
        "PLOMBERIE ROUX SARL                               FACTURE\n"
        "4 rue Neuve, 69003 Lyon                           PR-2026-0311\n"
        "SIRET 732 829 320 00074\n\n"
        "Lyon, le 4 mars 2026\n"
        "Règlement à 30 jours, soit le 03/04/2026\n"
        "                                        Total HT        100,00\n"
        "                                        TVA 20 %         20,00\n"
        "                                        Total TTC       120,00\n"
    )
    f = extract_from_text(text)
    assert f["invoice_number"] == "PR-2026-0311"
    assert f["confidence"]["invoice_number"] < 0.9
    assert f["invoice_date"] == "2026-03-04"
    assert f["due_date"] == "2026-04-03"


def _words(lines: list[tuple[float, list[tuple[float, str]]]], conf: float = 0.9) -> list[dict]:
    out = []
    for y, cells in lines:
        for x, text in cells:
            out.append(
                {"text": text, "x0": x, "y0": y, "x1": x + 0.012 * len(text), "y1": y + 0.012}
                | {"conf": conf}
            )
    return out


def test_second_pass_reads_the_totals_of_a_scan_again(tmp_path) -> None:
    """A scan whose totals do not add up has its zones read again (``reocr``); that reading
    is kept because it adds up, and only then."""
    from plugins.binder_purchases.extraction import extract_file

    header = [
        (0.05, [(0.08, "PLOMBERIE"), (0.2, "ROUX"), (0.27, "SARL")]),
        (0.10, [(0.08, "Facture"), (0.17, "n°"), (0.21, "PR-0311")]),
        (0.13, [(0.08, "Date"), (0.14, ":"), (0.17, "04/03/2026")]),
    ]
    garbled = [
        (0.70, [(0.55, "Total"), (0.62, "HT"), (0.8, "100,00")]),
        (0.73, [(0.55, "TVA"), (0.61, "20"), (0.64, "%"), (0.8, "2O,0O")]),
        (0.76, [(0.55, "Total"), (0.62, "TTC"), (0.8, "12O,OO")]),
    ]
    clean = [
        (0.70, [(0.55, "Total"), (0.62, "HT"), (0.8, "100,00")]),
        (0.73, [(0.55, "TVA"), (0.61, "20"), (0.64, "%"), (0.8, "20,00")]),
        (0.76, [(0.55, "Total"), (0.62, "TTC"), (0.8, "120,00")]),
    ]
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n")  # never opened: the words are handed in
    asked = []

    def reocr(page: int, box: tuple[float, float, float, float], digits: bool = False) -> list:
        asked.append((page, box, digits))
        return [w for w in _words(clean) if box[1] <= w["y0"] <= box[3]]

    words = {1: _words(header + garbled)}
    f = extract_file(scan, ocr_words=words, reocr=reocr)
    assert asked and all(page == 1 and not digits for page, _, digits in asked)
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "100.00",
        "20.00",
        "120.00",
    )
    assert f["reading"].get("second_pass") is True
    assert f["invoice_number"] == "PR-0311"  # the header read again keeps what it had
    # A second reading that does not add up either is not kept.
    f = extract_file(scan, ocr_words=words, reocr=lambda page, box, digits=False: _words(garbled))
    assert not f["reading"].get("second_pass")
    # When the block reading fails too, the figures alone are read again and put beside the
    # first reading's labels.
    figures = [w for w in _words(clean) if any(ch.isdigit() for ch in w["text"])]

    def digits_only(page: int, box: tuple[float, float, float, float], digits: bool = False):
        fresh = figures if digits else _words(garbled)
        return [w for w in fresh if box[1] <= w["y0"] <= box[3]]

    f = extract_file(scan, ocr_words=words, reocr=digits_only)
    assert (f["total_tax"], f["total_incl_tax"]) == ("20.00", "120.00")
    assert f["reading"].get("second_pass") is True and f["reading"].get("digits") is True


def test_unreadable_files_are_refused_with_a_french_reason(tmp_path) -> None:
    from plugins.binder_purchases.extraction import InvoiceReadError, extract_file

    cases = {
        "vide.pdf": (b"", "Le fichier est vide."),
        "texte.pdf": (b"Bonjour, ceci n'est pas un PDF", "endommagé ou incomplet"),
        "coupe.pdf": (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "endommagé ou incomplet"),
        "image.png": (b"\x89PNG\r\n\x1a\n\x00\x00", "ni un PDF, ni une image"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InvoiceReadError, match=message):
            extract_file(path)


def test_a_line_item_that_looks_like_a_vat_row_is_not_a_vat_line() -> None:
    """ "10 litres x 19,80 € = 198,00 €" reads as 10 % of 198,00: the VAT lines kept are those
    that add up to the VAT total."""
    text = """\
Huile d'olive 10 Litre(s)    19,80 €    198,00 €
Nougat          5 Unité(s)    4,10 €     20,48 €
TVA 20,0 %      20,48 €       4,10 €                 Total HT       218,48 €
TVA 5,5 %      198,00 €      10,89 €                 Total taxes     14,99 €
                                                      Total TTC      233,47 €
"""
    f = extract_from_text(text)
    assert f["total_tax"] == "14.99"
    assert [(v["rate"], v["base"], v["amount"]) for v in f["vat_lines"]] == [
        ("20.00", "20.48", "4.10"),
        ("5.50", "198.00", "10.89"),
    ]
    assert {(v["category"], v["regime"]) for v in f["vat_lines"]} == {("S", "standard")}


def test_no_vat_is_invented_and_an_unreadable_vat_is_derived() -> None:
    # A garbled totals header: only the VAT table and "Net à payer" are readable. The invoice
    # says nothing of being untaxed, so no "VAT 0" is invented; HT and VAT come from the table
    # and the TTC is found among the printed amounts.
    text = """\
Taux     Base TVA     Montant TVA
10,00%     100,00         10,00
TOTAL    FOTALIVA    fOTAL TE
            100,00       10,00      110,00
Acompte :                            10,00
NET À PAYER                         100,00
"""
    f = extract_from_text(text, source="ocr")
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "100.00",
        "10.00",
        "110.00",
    )
    assert f["amount_due"] == "100.00"
    # HT and TTC under strong labels, the VAT amount unreadable: the VAT is their difference.
    text = """\
Rechnungssumme ohne USt.      193,77
Steuerbetrag                  2s, 30,
Bruttosumme                   215,07
"""
    f = extract_from_text(text, source="ocr")
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "193.77",
        "21.30",
        "215.07",
    )
    assert f["confidence"]["total_tax"] < 0.9


def test_supplier_name_without_the_title_and_with_its_legal_form_cell() -> None:
    f = extract_from_text("Amazon Web Services Invoice\nInvoice Number: 42183017\n")
    assert f["supplier"]["name"] == "Amazon Web Services"
    # An OCR that split "Lieferant GmbH" into two cells: the legal form joins the name.
    f = extract_from_text("Lieferant      GmbH\nBAURECHNUNG Nr. 12\nUSt-IdNr.: DE812345673\n")
    assert f["supplier"]["name"] == "Lieferant GmbH"


def test_a_credit_note_in_negative_amounts_whose_vat_lost_its_sign() -> None:
    f = extract_from_text(
        "AVOIR AV-12\nTotal HT    -218,48 €\nTotal taxes    14,99 €\nTotal TTC   -233,47 €\n"
    )
    assert (f["total_excl_tax"], f["total_tax"], f["total_incl_tax"]) == (
        "-218.48",
        "-14.99",
        "-233.47",
    )
    assert f["document_kind"] == "credit_note"
