"""Generate a labelled corpus of purchase invoices (born-digital PDFs, Factur-X, scans).

Usage: ``python -m bench.corpus.generate [--out bench/out/corpus] [--size 200] [--seed 7]``

Each document ``NNNN.pdf`` / ``NNNN.jpg`` has ``NNNN.json`` beside it: the expected fields
(same form as ``extract_file``), plus ``layout``, ``kind`` (text/einvoice/scan), ``account``
(the PCG account an accountant would choose) and ``text`` (the line descriptions).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from schwifty import IBAN
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

CENT = Decimal("0.01")

# (name, account, vocabulary of line descriptions, usual VAT rate)
SUPPLIER_KINDS: list[tuple[str, str, list[str], str]] = [
    (
        "Informatique",
        "2183",
        ["Ordinateur portable 14 pouces", "Écran 27 pouces", "Serveur NAS"],
        "20",
    ),
    (
        "Bureautique",
        "6064",
        ["Ramettes papier A4", "Cartouches d'encre", "Stylos et classeurs"],
        "20",
    ),
    (
        "Énergie",
        "6061",
        ["Consommation électricité", "Abonnement électricité", "Gaz naturel"],
        "20",
    ),
    (
        "Télécom",
        "626",
        ["Forfait mobile professionnel", "Abonnement fibre internet", "Ligne téléphone fixe"],
        "20",
    ),
    ("Immobilier", "6132", ["Loyer bureaux", "Loyer local commercial"], "20"),
    ("Conseil", "6226", ["Honoraires de conseil", "Honoraires mission juridique"], "20"),
    ("Assurances", "616", ["Prime assurance multirisque", "Assurance responsabilité civile"], "20"),
    ("Hôtellerie", "6256", ["Nuitée hôtel", "Chambre double petit-déjeuner"], "10"),
    ("Restauration", "6257", ["Repas d'affaires", "Déjeuner clients", "Traiteur séminaire"], "10"),
    (
        "Transports",
        "6241",
        ["Frais de livraison", "Transport palettes", "Messagerie express"],
        "20",
    ),
    ("Maintenance", "6156", ["Contrat de maintenance annuel", "Infogérance serveurs"], "20"),
    ("Nettoyage", "6152", ["Nettoyage des locaux", "Réparation climatisation"], "20"),
    ("Librairie", "6181", ["Abonnement revue professionnelle", "Ouvrages techniques"], "5.5"),
    ("Publicité", "6231", ["Annonce presse locale", "Campagne publicitaire"], "20"),
    ("Carburant", "6061", ["Carburant gazole", "Sans plomb 95"], "20"),
]
NAMES = [
    "Dupont",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Moreau",
    "Garnier",
    "Rousseau",
    "Fontaine",
    "Chevalier",
    "Lambert",
    "Bonnet",
    "Mercier",
    "Girard",
    "Faure",
    "André",
    "Blanc",
    "Guerin",
    "Boyer",
    "Muller",
    "Henry",
]
FORMS = ["SAS", "SARL", "SA", "EURL", "SASU"]
CITIES = [
    ("75002", "Paris"),
    ("69003", "Lyon"),
    ("13001", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
]

FR_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DE_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]

LABELS: dict[str, dict[str, list[str]]] = {
    "fr": {
        "title": ["FACTURE", "Facture"],
        "number": ["Facture n°", "N° de facture", "Numéro de facture", "Facture N°"],
        "date": ["Date", "Date de facture", "Date d'émission", "Date de facturation"],
        "due": ["Échéance", "Date d'échéance", "À régler avant le"],
        "ht": ["Total HT", "Montant HT", "Total hors taxes", "Sous-total HT"],
        "tva": ["TVA", "Total TVA", "Montant TVA"],
        "ttc": ["Total TTC", "Net à payer", "Montant TTC", "Total à payer"],
        "client": ["Facturé à", "Client", "Adresse de facturation"],
        "pay": [
            "Règlement par virement",
            "Paiement par prélèvement",
            "Règlement par chèque",
            "Payé par carte bancaire",
        ],
        "cols": ["Désignation", "Qté", "PU HT", "Total HT"],
    },
    "en": {
        "title": ["INVOICE", "Invoice"],
        "number": ["Invoice No", "Invoice number", "Invoice #"],
        "date": ["Invoice date", "Date", "Date of issue"],
        "due": ["Due date", "Payment due", "Pay by"],
        "ht": ["Subtotal", "Total excl. VAT", "Net amount"],
        "tva": ["VAT", "VAT amount", "Total VAT"],
        "ttc": ["Total due", "Amount due", "Grand total"],
        "client": ["Bill to", "Customer"],
        "pay": [
            "Payment by bank transfer",
            "Paid by direct debit",
            "Payment by cheque",
            "Paid by credit card",
        ],
        "cols": ["Description", "Qty", "Unit price", "Amount"],
    },
    "de": {
        "title": ["RECHNUNG", "Rechnung"],
        "number": ["Rechnungsnummer", "Rechnungs-Nr."],
        "date": ["Rechnungsdatum", "Datum"],
        "due": ["Fällig am", "Zahlbar bis"],
        "ht": ["Nettobetrag", "Summe netto", "Zwischensumme"],
        "tva": ["MwSt", "Umsatzsteuer", "USt."],
        "ttc": ["Gesamtbetrag", "Rechnungsbetrag", "Bruttobetrag"],
        "client": ["Rechnungsempfänger", "Kunde"],
        "pay": [
            "Zahlung per Überweisung",
            "Zahlung per Lastschrift",
            "Zahlung per Scheck",
            "Bezahlt mit Kreditkarte",
        ],
        "cols": ["Beschreibung", "Menge", "Einzelpreis", "Betrag"],
    },
}
PAY_MODES = ["transfer", "direct_debit", "cheque", "card"]


@dataclass(frozen=True)
class Layout:
    """One visual layout: language and formats, block positions, totals arrangement."""

    lang: str
    date_fmt: str  # dmy_slash | dmy_dot | iso | long
    amount_fmt: str  # fr_space | fr_dot | plain_comma | en
    supplier_pos: str  # left | right | footer
    header: str  # lines | table
    totals: str  # stacked | row
    vat_rates: int  # 1 or 2


def layouts() -> list[Layout]:
    """The 24 layouts of the corpus (mostly French)."""
    out = []
    fr = [
        ("dmy_slash", "fr_space"),
        ("long", "fr_space"),
        ("dmy_dot", "fr_dot"),
        ("iso", "plain_comma"),
        ("dmy_slash", "plain_comma"),
        ("long", "fr_dot"),
    ]
    for i, (df, af) in enumerate(fr):
        for j, (sp, hd, tt) in enumerate(
            [("left", "lines", "stacked"), ("right", "table", "row"), ("footer", "lines", "row")]
        ):
            out.append(Layout("fr", df, af, sp, hd, tt, 2 if (i + j) % 3 == 0 else 1))
    out += [
        Layout("en", "long", "en", "left", "lines", "stacked", 1),
        Layout("en", "iso", "en", "right", "table", "row", 1),
        Layout("en", "dmy_slash", "en", "footer", "lines", "stacked", 2),
        Layout("de", "dmy_dot", "fr_dot", "left", "lines", "stacked", 1),
        Layout("de", "long", "fr_dot", "right", "table", "row", 1),
        Layout("de", "dmy_dot", "fr_dot", "footer", "lines", "stacked", 2),
    ]
    return out


def fmt_date(d: date, layout: Layout) -> str:
    """Print a date in the layout's style."""
    if layout.date_fmt == "iso":
        return d.isoformat()
    if layout.date_fmt == "dmy_dot":
        return d.strftime("%d.%m.%Y")
    if layout.date_fmt == "dmy_slash":
        return d.strftime("%d/%m/%Y")
    if layout.lang == "en":
        return f"{EN_MONTHS[d.month - 1]} {d.day}, {d.year}"
    if layout.lang == "de":
        return f"{d.day}. {DE_MONTHS[d.month - 1]} {d.year}"
    return f"{'1er' if d.day == 1 else d.day} {FR_MONTHS[d.month - 1]} {d.year}"


def fmt_amount(v: Decimal, layout: Layout) -> str:
    """Print an amount in the layout's style."""
    sign = "-" if v < 0 else ""
    whole, frac = f"{abs(v):.2f}".split(".")
    groups = f"{int(whole):,}"
    if layout.amount_fmt == "en":
        return f"{sign}€{groups}.{frac}"
    if layout.amount_fmt == "fr_space":
        return f"{sign}{groups.replace(',', ' ')},{frac} €"
    if layout.amount_fmt == "fr_dot":
        return f"{sign}{groups.replace(',', '.')},{frac} €"
    return f"{sign}{whole},{frac}"


def make_siren(rng: random.Random) -> str:
    """A random SIREN with a valid Luhn key."""
    body = str(rng.randint(10_000_000, 99_999_999))
    return body + luhn.calc_check_digit(body)


def fr_vat(siren: str) -> str:
    """The French VAT number of a SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def make_supplier(rng: random.Random, idx: int) -> dict[str, Any]:
    """One supplier with valid identifiers, a trade, an account and a VAT rate."""
    kind, account, vocab, rate = SUPPLIER_KINDS[idx % len(SUPPLIER_KINDS)]
    german = idx % 11 == 10
    siren = make_siren(rng)
    nic = f"{rng.randint(1, 9999):04d}"
    siret = siren + nic + luhn.calc_check_digit(siren + nic)
    if german:
        body = str(rng.randint(10_000_000, 99_999_999))
        vat = "DE" + body + mod_11_10.calc_check_digit(body)
        iban = str(
            IBAN.generate(
                "DE", bank_code="37040044", account_code=str(rng.randint(10**9, 10**10 - 1))
            ).compact
        )
        name = f"{rng.choice(NAMES)} {kind} GmbH"
        return {
            "name": name,
            "siren": None,
            "siret": None,
            "vat_number": vat,
            "iban": iban,
            "country": "DE",
            "kind": kind,
            "account": account,
            "vocab": vocab,
            "rate": rate,
            "city": ("10115", "Berlin"),
        }
    iban = str(
        IBAN.generate(
            "FR",
            bank_code=rng.choice(["30006", "30004", "10278", "20041"]),
            account_code=str(rng.randint(10**10, 10**11 - 1)),
        ).compact
    )
    name = f"{rng.choice(NAMES)} {kind} {rng.choice(FORMS)}"
    return {
        "name": name,
        "siren": siren,
        "siret": siret,
        "vat_number": fr_vat(siren),
        "iban": iban,
        "country": "FR",
        "kind": kind,
        "account": account,
        "vocab": vocab,
        "rate": rate,
        "city": rng.choice(CITIES),
    }


def spaced(s: str, groups: tuple[int, ...]) -> str:
    """Split ``s`` into groups of the given sizes, space separated."""
    out, i = [], 0
    for g in groups:
        out.append(s[i : i + g])
        i += g
    if i < len(s):
        out.append(s[i:])
    return " ".join(x for x in out if x)


def q(v: Decimal) -> Decimal:
    """Round to the cent."""
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


def make_invoice(
    rng: random.Random, n: int, supplier: dict[str, Any], layout: Layout, day: date
) -> dict[str, Any]:
    """Labels of one invoice (amounts as Decimal in ``_lines``)."""
    rates = [Decimal(supplier["rate"])]
    if layout.vat_rates == 2:
        rates.append(Decimal("5.5") if rates[0] != Decimal("5.5") else Decimal("20"))
    lines = []
    for k in range(rng.randint(1, 4)):
        rate = rates[k % len(rates)]
        qty = rng.randint(1, 5)
        unit = q(Decimal(rng.randint(500, 90_000)) / 100)
        lines.append((rng.choice(supplier["vocab"]), qty, unit, q(unit * qty), rate))
    by_rate: dict[Decimal, Decimal] = {}
    for *_x, total, rate in lines:
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + total
    vat_lines = [
        {"rate": f"{r:.2f}", "base": f"{b:.2f}", "amount": f"{q(b * r / 100):.2f}"}
        for r, b in sorted(by_rate.items(), reverse=True)
    ]
    ht = sum(by_rate.values(), Decimal(0))
    tva = sum((Decimal(v["amount"]) for v in vat_lines), Decimal(0))
    reverse = supplier["country"] != "FR"
    if reverse:
        tva = Decimal(0)
        vat_lines = [{"rate": "0.00", "base": f"{ht:.2f}", "amount": "0.00"}]
    prefix = rng.choice(["F", "FA", "INV-", "", "2026-", "FAC"])
    number = (
        f"{prefix}{day.year}{rng.randint(100, 99999):05d}"
        if prefix != "2026-"
        else f"{day.year}-{rng.randint(1, 9999):04d}"
    )
    pay = rng.choice(PAY_MODES)
    return {
        "document_kind": "invoice",
        "supplier": {
            k: supplier[k] for k in ("name", "siren", "siret", "vat_number", "iban", "country")
        },
        "invoice_number": number,
        "invoice_date": day.isoformat(),
        "due_date": (day + timedelta(days=rng.choice([0, 15, 30, 45]))).isoformat(),
        "currency": "EUR",
        "total_excl_tax": f"{ht:.2f}",
        "total_tax": f"{tva:.2f}",
        "total_incl_tax": f"{ht + tva:.2f}",
        "vat_lines": vat_lines,
        "payment_mode": pay,
        "vat_regime": "intra_eu" if reverse else "standard",
        "account": supplier["account"],
        "text": " ; ".join(x[0] for x in lines),
        "_lines": lines,
    }


def draw_pdf(
    inv: dict[str, Any], supplier: dict[str, Any], layout: Layout, rng: random.Random
) -> bytes:
    """Render one invoice with reportlab; returns PDF bytes."""
    lab = {k: rng.choice(v) for k, v in LABELS[layout.lang].items()}
    lab["pay"] = LABELS[layout.lang]["pay"][PAY_MODES.index(inv["payment_mode"])]
    lab_cols = LABELS[layout.lang]["cols"]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    width, height = A4
    c.setFont("Helvetica", 10)
    sup_x = {"left": 40, "right": 330, "footer": 40}[layout.supplier_pos]
    cli_x = 330 if layout.supplier_pos != "right" else 40
    a = lambda v: fmt_amount(Decimal(v), layout)  # noqa: E731
    d = lambda v: fmt_date(date.fromisoformat(v), layout)  # noqa: E731

    sup_lines = [
        supplier["name"],
        f"{rng.randint(1, 120)} rue {rng.choice(NAMES)}",
        f"{supplier['city'][0]} {supplier['city'][1]}",
    ]
    ids = []
    if supplier["siret"]:
        ids.append(
            rng.choice(
                [
                    f"SIRET : {spaced(supplier['siret'], (3, 3, 3, 5))}",
                    f"SIREN : {spaced(supplier['siren'], (3, 3, 3))}",
                    f"RCS {supplier['city'][1]} {spaced(supplier['siren'], (3, 3, 3))}",
                ]
            )
        )
    vat_label = {"fr": "N° TVA intracommunautaire :", "en": "VAT No:", "de": "USt-IdNr.:"}
    ids.append(f"{vat_label[layout.lang]} {supplier['vat_number']}")
    iban_txt = f"IBAN : {spaced(supplier['iban'], (4,) * 8)}"
    y = height - 50
    if layout.supplier_pos != "footer":
        c.setFont("Helvetica-Bold", 12)
        c.drawString(sup_x, y, sup_lines[0])
        c.setFont("Helvetica", 10)
        for k, line in enumerate(sup_lines[1:] + ids):
            c.drawString(sup_x, y - 14 * (k + 1), line)
    else:
        c.setFont("Helvetica-Bold", 14)
        c.drawString(40, y, sup_lines[0])
        c.setFont("Helvetica", 10)
    title_x = (
        330 if layout.supplier_pos == "left" else 40 if layout.supplier_pos == "right" else 330
    )
    title_y = y if layout.supplier_pos != "footer" else y - 20
    c.setFont("Helvetica-Bold", 16)
    c.drawString(
        title_x, title_y - 30 if layout.supplier_pos == "right" else title_y, lab["title"]
    ) if layout.supplier_pos != "right" else c.drawString(cli_x, height - 130, lab["title"])
    c.setFont("Helvetica", 10)

    # Header: number / dates.
    hy = height - 170
    info = [
        (lab["number"], inv["invoice_number"]),
        (lab["date"], d(inv["invoice_date"])),
        (lab["due"], d(inv["due_date"])),
    ]
    if layout.header == "lines":
        for k, (label, value) in enumerate(info):
            c.drawString(
                40,
                hy - 14 * k,
                f"{label} : {value}" if layout.lang == "fr" else f"{label}: {value}",
            )
    else:
        for k, (label, value) in enumerate(info):
            c.drawString(40 + 150 * k, hy, label)
            c.drawString(40 + 150 * k, hy - 14, value)

    # Client block (with its own VAT number: a trap for the reader).
    cy = height - 240
    c.drawString(cli_x, cy, f"{lab['client']} :")
    client_siren = make_siren(rng)
    for k, line in enumerate(
        [
            f"Société {rng.choice(NAMES)} {rng.choice(FORMS)}",
            f"{rng.randint(1, 99)} avenue {rng.choice(NAMES)}",
            f"{rng.choice(CITIES)[0]} {rng.choice(CITIES)[1]}",
            f"TVA : {fr_vat(client_siren)}" if rng.random() < 0.5 else "",
        ]
    ):
        c.drawString(cli_x, cy - 14 * (k + 1), line)

    # Lines table.
    ty = height - 340
    cols = [40, 300, 360, 460]
    for x, title in zip(cols, lab_cols, strict=True):
        c.drawString(x, ty, title)
    c.line(40, ty - 4, width - 40, ty - 4)
    for k, (desc, qty, unit, total, rate) in enumerate(inv["_lines"]):
        yy = ty - 18 * (k + 1)
        c.drawString(cols[0], yy, f"{desc}" + (f" ({rate:g} %)" if layout.vat_rates == 2 else ""))
        c.drawString(cols[1], yy, str(qty))
        c.drawRightString(cols[2] + 70, yy, a(unit))
        c.drawRightString(cols[3] + 90, yy, a(total))

    # Totals.
    y0 = ty - 18 * (len(inv["_lines"]) + 2)
    rows = [(lab["ht"], inv["total_excl_tax"])]
    if inv["vat_regime"] == "intra_eu":
        rows.append((lab["tva"], "0.00"))
    else:
        for vl in inv["vat_lines"]:
            rate = Decimal(vl["rate"]).normalize()
            rate_txt = f"{rate:f}".replace(".", ",") if layout.lang != "en" else f"{rate:f}"
            rows.append((f"{lab['tva']} {rate_txt} %", vl["amount"]))
    rows.append((lab["ttc"], inv["total_incl_tax"]))
    if layout.totals == "stacked":
        for k, (label, value) in enumerate(rows):
            c.drawString(330, y0 - 16 * k, label)
            c.drawRightString(width - 40, y0 - 16 * k, a(value))
    else:
        for k, (label, value) in enumerate(rows):
            x = 60 + 125 * k
            c.drawString(x, y0, label)
            c.drawString(x, y0 - 14, a(value))
    fy = y0 - 16 * len(rows) - 40
    notes = [lab["pay"] + ".", iban_txt]
    if inv["vat_regime"] == "intra_eu":
        notes.append(
            {
                "fr": "Exonération de TVA, art. 262 ter I du CGI - autoliquidation",
                "en": "Intra-community supply, VAT reverse charge",
                "de": "Innergemeinschaftliche Lieferung, steuerfrei",
            }[layout.lang]
        )
    for k, line in enumerate(notes):
        c.drawString(40, fy - 14 * k, line)
    if layout.supplier_pos == "footer":
        c.setFont("Helvetica", 8)
        footer = f"{supplier['name']} - {sup_lines[1]} {sup_lines[2]} - " + " - ".join(ids)
        c.drawString(40, 40, footer[:130])
    c.showPage()
    c.save()
    return buf.getvalue()


def cii_xml(inv: dict[str, Any]) -> bytes:
    """A Factur-X EN 16931 CII document for an invoice's labels."""
    s = inv["supplier"]
    ymd = lambda v: v.replace("-", "")  # noqa: E731
    taxes = "".join(
        f"""<ram:ApplicableTradeTax><ram:CalculatedAmount>{v["amount"]}</ram:CalculatedAmount>
<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{v["base"]}</ram:BasisAmount>
<ram:CategoryCode>{"K" if inv["vat_regime"] == "intra_eu" else "S"}</ram:CategoryCode>
<ram:RateApplicablePercent>{v["rate"]}</ram:RateApplicablePercent></ram:ApplicableTradeTax>"""
        for v in inv["vat_lines"]
    )
    legal = (
        (
            f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{s["siren"]}</ram:ID>'
            "</ram:SpecifiedLegalOrganization>"
        )
        if s["siren"]
        else ""
    )
    means = {"transfer": "30", "direct_debit": "49", "cheque": "20", "card": "48"}
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
</rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{inv["invoice_number"]}</ram:ID><ram:TypeCode>380</ram:TypeCode>
<ram:IssueDateTime><udt:DateTimeString format="102">{ymd(inv["invoice_date"])}</udt:DateTimeString>
</ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement>
<ram:SellerTradeParty><ram:Name>{s["name"]}</ram:Name>{legal}
<ram:PostalTradeAddress><ram:CountryID>{s["country"]}</ram:CountryID></ram:PostalTradeAddress>
<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{s["vat_number"]}</ram:ID>
</ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
<ram:BuyerTradeParty><ram:Name>Client</ram:Name></ram:BuyerTradeParty>
</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement>
<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>{means[inv["payment_mode"]]}</ram:TypeCode>
<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{s["iban"]}</ram:IBANID>
</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
{taxes}
<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
<udt:DateTimeString format="102">{ymd(inv["due_date"])}</udt:DateTimeString>
</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation>
<ram:LineTotalAmount>{inv["total_excl_tax"]}</ram:LineTotalAmount>
<ram:TaxBasisTotalAmount>{inv["total_excl_tax"]}</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="EUR">{inv["total_tax"]}</ram:TaxTotalAmount>
<ram:GrandTotalAmount>{inv["total_incl_tax"]}</ram:GrandTotalAmount>
<ram:DuePayableAmount>{inv["total_incl_tax"]}</ram:DuePayableAmount>
</ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""".encode()


def degrade(pdf: bytes, rng: random.Random) -> bytes:
    """Rasterise a PDF page and make it look scanned (rotation, noise, blur, JPEG)."""
    import numpy as np
    from PIL import Image, ImageFilter

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "200",
                "-gray",
                "-png",
                "-singlefile",
                str(src),
                str(Path(tmp) / "page"),
            ],
            check=True,
        )
        img = Image.open(Path(tmp) / "page.png").convert("L")
    angle = rng.uniform(1, 3) * rng.choice([-1, 1])
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    arr = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(6, 14), arr.shape)
    img = Image.fromarray(np.clip(arr + noise, 0, 255).astype("uint8"))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=rng.randint(45, 70))
    return out.getvalue()


def generate(
    out: Path, size: int = 200, seed: int = 7, scan_share: float = 0.25, einvoice_share: float = 0.1
) -> list[Path]:
    """Write ``size`` labelled documents into ``out``; returns the label files."""
    from facturx import generate_from_binary

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    all_layouts = layouts()
    suppliers = [make_supplier(rng, i) for i in range(max(8, size // 5))]
    written = []
    day = date(2025, 1, 6)
    for n in range(size):
        supplier = rng.choice(suppliers)
        layout = all_layouts[n % len(all_layouts)]
        if supplier["country"] != "FR" and layout.lang == "fr" and rng.random() < 0.5:
            layout = all_layouts[-(n % 3) - 1]
        day += timedelta(days=rng.randint(0, 3))
        inv = make_invoice(rng, n, supplier, layout, day)
        pdf = draw_pdf(inv, supplier, layout, rng)
        r = rng.random()
        stem = out / f"{n:04d}"
        if r < scan_share:
            kind, path = "scan", stem.with_suffix(".jpg")
            path.write_bytes(degrade(pdf, rng))
        elif r < scan_share + einvoice_share:
            kind, path = "einvoice", stem.with_suffix(".pdf")
            path.write_bytes(
                generate_from_binary(
                    pdf, cii_xml(inv), flavor="factur-x", level="en16931", check_xsd=False
                )
            )
        else:
            kind, path = "text", stem.with_suffix(".pdf")
            path.write_bytes(pdf)
        labels = {k: v for k, v in inv.items() if not k.startswith("_")}
        labels.update(
            {
                "file": path.name,
                "kind": kind,
                "layout": all_layouts.index(layout),
                "language": layout.lang,
            }
        )
        label_path = stem.with_suffix(".json")
        label_path.write_text(json.dumps(labels, ensure_ascii=False, indent=1), "utf-8")
        written.append(label_path)
    return written


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out/corpus"))
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files = generate(args.out, args.size, args.seed)
    print(f"{len(files)} documents written to {args.out}")


if __name__ == "__main__":
    main()
