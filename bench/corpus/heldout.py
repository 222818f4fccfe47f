"""Held-out generated corpus: French invoices in layouts that ``generate.py`` does not make.

Usage: ``python -m bench.corpus.heldout [--out bench/out/heldout] [--size 40] [--seed 11]``

HELD-OUT: this split measures how the reader generalises. Whoever writes or tunes extraction
rules must not read this file, its output or its misses; the benchmark prints its figures
apart under the name "held-out" and hides its per-document misses.

Ten "programs" imitate real invoicing software: a small-business invoicing tool, an ERP, an
energy bill, an e-commerce order, a craftsman, a consulting firm, a wholesaler, a SaaS, a
carrier and a property manager. They carry the hard patterns of real invoices: seller block on
either side, the buyer's own SIREN / VAT ("Vos identifiants", "CLIENT :"), numbers labelled
"Pièce n°" / "Référence :" / "Facture FA-2026-0012" without "N°" / label far left and value at
the right margin, share capital in the header, RCS and late-payment footers, VAT tables by rate,
partial payments ("Solde à payer" differing from the total), delivery / order / quote / service
period dates near the invoice date, due dates written "Prélevé le" or "À payer avant le",
many-column line tables, two-column headers, a second page, credit notes, VAT-exempt
micro-entrepreneurs.

Each supplier keeps its program, style and numbering from one invoice to the next (the
template benchmark reads a supplier's 2nd invoice with what it learnt from the 1st). Every
``NNNN.pdf`` has ``NNNN.json`` beside it: the expected fields (``extract_file`` form, plus
``buyer`` and ``amount_due``), ``program``, ``supplier_key``, ``kind``, ``account``, ``text``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from schwifty import IBAN
from stdnum import luhn

from bench.corpus.generate import CITIES, FR_MONTHS, NAMES, fr_vat, make_siren, q, spaced

#: Bump when the output changes: the benchmark caches the corpus under this version.
VERSION = 1
W, H = A4
NBSP = "\u00a0"
FR_MONTHS_ABBR = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]
STREETS = ["rue", "avenue", "boulevard", "chemin", "allée", "impasse", "place"]
BUYER_TRADES = [
    "Boulangerie",
    "Garage",
    "Pharmacie",
    "Cabinet dentaire",
    "Restaurant",
    "Agence immobilière",
    "Fromagerie",
    "Librairie",
]


# -- formats ---------------------------------------------------------------------------------
def fmt_amount(v: Decimal, style: str) -> str:
    """Print an amount in a French style (several thousands separators and currency marks)."""
    sign = "-" if v < 0 else ""
    whole, frac = f"{abs(v):.2f}".split(".")
    groups = f"{int(whole):,}"
    if style == "space":
        return f"{sign}{groups.replace(',', ' ')},{frac} €"
    if style == "nbsp":
        return f"{sign}{groups.replace(',', NBSP)},{frac}{NBSP}€"
    if style == "dot":
        return f"{sign}{groups.replace(',', '.')},{frac} €"
    if style == "eur":
        return f"{sign}{groups.replace(',', ' ')},{frac} EUR"
    if style == "prefix":
        return f"{sign}€ {groups.replace(',', ' ')},{frac}"
    return f"{sign}{whole},{frac}"  # plain


def fmt_date(d: date, style: str) -> str:
    """Print a date in a French style."""
    if style == "slash":
        return d.strftime("%d/%m/%Y")
    if style == "short":
        return d.strftime("%d/%m/%y")
    if style == "dash":
        return d.strftime("%d-%m-%Y")
    if style == "dot":
        return d.strftime("%d.%m.%Y")
    if style == "abbr":
        return f"{d.day} {FR_MONTHS_ABBR[d.month - 1]} {d.year}"
    return f"{'1er' if d.day == 1 else d.day} {FR_MONTHS[d.month - 1]} {d.year}"  # long


def pct(rate: Decimal) -> str:
    """A VAT rate as printed ("20 %", "5,5 %")."""
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def end_of_month(d: date) -> date:
    """Last day of d's month."""
    nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


# -- parties ---------------------------------------------------------------------------------
@dataclass
class Party:
    """A company: legal and trade names, identifiers, address."""

    name: str
    trade_name: str | None
    form: str
    siren: str
    siret: str
    vat: str | None
    street: str
    city: tuple[str, str]
    capital: str
    iban: str = ""
    bic: str = ""
    phone: str = ""
    email: str = ""
    ape: str = ""

    @property
    def address(self) -> list[str]:
        """Street line and city line."""
        return [self.street, f"{self.city[0]} {self.city[1]}"]


def make_party(
    rng: random.Random,
    name: str,
    form: str,
    trade: str | None = None,
    vat: bool = True,
    slug: str | None = None,
) -> Party:
    """A French company with valid SIREN / SIRET / VAT / IBAN."""
    siren = make_siren(rng)
    nic = f"{rng.randint(1, 99):04d}"
    siret = siren + nic + luhn.calc_check_digit(siren + nic)
    iban = str(
        IBAN.generate(
            "FR",
            bank_code=rng.choice(["30003", "30004", "10907", "17515", "18206"]),
            account_code=str(rng.randint(10**10, 10**11 - 1)),
        ).compact
    )
    city = rng.choice(CITIES)
    slug = (slug or (trade or name).split()[0]).lower()
    slug = "".join(c for c in slug.translate(str.maketrans("éèêëàçôï", "eeeeacoi")) if c.isalnum())
    return Party(
        name=name,
        trade_name=trade,
        form=form,
        siren=siren,
        siret=siret,
        vat=fr_vat(siren) if vat else None,
        street=f"{rng.randint(1, 180)} {rng.choice(STREETS)} {rng.choice(NAMES)}",
        city=city,
        capital=rng.choice(["1 000", "7 500", "15 000", "50 000", "120 000", "300 000"]),
        iban=iban,
        bic=rng.choice(["SOGEFRPP", "BNPAFRPP", "CCBPFRPP", "AGRIFRPP", "CMCIFR2A"]),
        phone=f"0{rng.randint(1, 5)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
        f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
        email=f"contact@{slug}.fr",
        ape=f"{rng.randint(10, 96)}{rng.randint(10, 99)}{rng.choice('ABCDZ')}",
    )


# -- programs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Program:
    """One imitated invoicing program: trades, VAT rates, vocabulary, account, drawer."""

    name: str
    trades: tuple[tuple[str, str], ...]  # (legal name pattern, trade name pattern or "")
    rates: tuple[str, ...]
    vocab: tuple[tuple[str, str, int, int], ...]  # (description, unit, min cents, max cents)
    account: str
    pay: str
    draw: Callable[..., None] = field(compare=False)


def _siren_txt(s: str) -> str:
    return spaced(s, (3, 3, 3))


def _siret_txt(s: str) -> str:
    return spaced(s, (3, 3, 3, 5))


def _iban_txt(s: str) -> str:
    return spaced(s, (4,) * 8)


def _vat_txt(v: str, style: int) -> str:
    if style == 1:
        return f"{v[:2]} {v[2:4]} {_siren_txt(v[4:])}"
    return v


class Pen:
    """A reportlab canvas with the few drawing helpers the programs use."""

    def __init__(self, c: canvas.Canvas, font: str = "Helvetica") -> None:
        self.c = c
        self.font = font
        self.bold = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold"}.get(
            font, "Courier-Bold"
        )

    def t(self, x: float, y: float, s: str, size: float = 9, bold: bool = False) -> None:
        """Left-aligned text."""
        self.c.setFont(self.bold if bold else self.font, size)
        self.c.drawString(x, y, s)

    def r(self, x: float, y: float, s: str, size: float = 9, bold: bool = False) -> None:
        """Right-aligned text ending at x."""
        self.c.setFont(self.bold if bold else self.font, size)
        self.c.drawRightString(x, y, s)

    def m(self, x: float, y: float, s: str, size: float = 9, bold: bool = False) -> None:
        """Centred text."""
        self.c.setFont(self.bold if bold else self.font, size)
        self.c.drawCentredString(x, y, s)

    def foot(self, y: float, s: str, size: float = 6.5) -> None:
        """A centred footer line (always Helvetica: fits the page width)."""
        self.c.setFont("Helvetica", size)
        self.c.drawCentredString(W / 2, y, s)

    def lines(self, x: float, y: float, rows: list[str], size: float = 9, step: float = 12):
        """Several lines downwards; returns the y below the last."""
        for k, row in enumerate(rows):
            self.t(x, y - step * k, row, size)
        return y - step * len(rows)

    def box(self, x: float, y: float, w: float, h: float, fill: float | None = None) -> None:
        """A rectangle whose top-left corner is (x, y); optional grey fill."""
        if fill is not None:
            self.c.setFillGray(fill)
            self.c.rect(x, y - h, w, h, stroke=1, fill=1)
            self.c.setFillGray(0)
        else:
            self.c.rect(x, y - h, w, h)

    def hline(self, x1: float, x2: float, y: float) -> None:
        """A horizontal rule."""
        self.c.line(x1, y, x2, y)

    def leaders(
        self, x1: float, x2: float, y: float, label: str, value: str, size: float = 9
    ) -> None:
        """Label at x1, value right-aligned at x2, dots between."""
        self.t(x1, y, label, size)
        self.r(x2, y, value, size)
        self.c.setFont(self.font, size)
        start = x1 + self.c.stringWidth(label, self.font, size) + 4
        end = x2 - self.c.stringWidth(value, self.font, size) - 4
        if end > start:
            n = int((end - start) / self.c.stringWidth(".", self.font, size))
            self.c.drawString(start, y, "." * n)

    def table(
        self,
        x0: float,
        y: float,
        cols: list[tuple[str, float, str]],
        rows: list[list[str]],
        size: float = 8,
        step: float = 13,
        grid: bool = False,
    ) -> float:
        """Header + rows; cols are (title, width, align l/r/c). Returns the y below."""
        xs = [x0]
        for _, w, _ in cols:
            xs.append(xs[-1] + w)
        if grid:
            self.box(x0, y + 10, xs[-1] - x0, step, fill=0.88)
        for (title, w, align), x in zip(cols, xs, strict=False):
            for k, part in enumerate(title.split("\n")):
                yy = y - k * (size + 1)
                if align == "r":
                    self.r(x + w - 3, yy, part, size, True)
                elif align == "c":
                    self.m(x + w / 2, yy, part, size, True)
                else:
                    self.t(x + 3, yy, part, size, True)
        y -= step * max(t.count("\n") + 1 for t, _, _ in cols)
        self.hline(x0, xs[-1], y + step - 3)
        for row in rows:
            for (_, w, align), x, cell in zip(cols, xs, row, strict=False):
                if align == "r":
                    self.r(x + w - 3, y, cell, size)
                elif align == "c":
                    self.m(x + w / 2, y, cell, size)
                else:
                    self.t(x + 3, y, cell, size)
            y -= step
        self.hline(x0, xs[-1], y + step - 3)
        if grid:
            for x in xs:
                self.c.line(x, y + step - 3, x, y + step * (len(rows) + 1) + 10)
        return y


@dataclass
class Ctx:
    """Everything a program's drawer needs for one invoice."""

    inv: dict[str, Any]
    sup: Party
    buyer: Party
    style: dict[str, Any]
    rng: random.Random

    def a(self, v: Any) -> str:
        """Amount in the supplier's style."""
        return fmt_amount(Decimal(str(v)), self.style["amount"])

    def d(self, v: str | date | None) -> str:
        """Date in the supplier's style."""
        if v is None:
            return ""
        return fmt_date(date.fromisoformat(v) if isinstance(v, str) else v, self.style["date"])


def legal_line(sup: Party, with_vat: bool = True) -> str:
    """'X SARL au capital de 120 000,00 € - RCS Lyon 123 456 789 - ...'."""
    parts = [
        f"{sup.name} - {sup.form} au capital de {sup.capital},00 €",
        f"RCS {sup.city[1]} {_siren_txt(sup.siren)}",
        f"SIRET {sup.siret}",
        f"APE {sup.ape}",
    ]
    if with_vat and sup.vat:
        parts.append(f"N° TVA intracommunautaire {sup.vat}")
    return " - ".join(parts)


PENALTIES = [
    "En cas de retard de paiement, une pénalité égale à 3 fois le taux d'intérêt légal sera "
    "exigible (art. L441-10 du Code de commerce),",
    "ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 €. "
    "Pas d'escompte pour paiement anticipé.",
]


def vat_rows(ctx: Ctx) -> list[list[str]]:
    """VAT table rows: rate, base, amount."""
    return [
        [pct(Decimal(v["rate"])), ctx.a(v["base"]), ctx.a(v["amount"])]
        for v in ctx.inv["vat_lines"]
    ]


def draw_tpe(p: Pen, ctx: Ctx) -> None:
    """Small-business invoicing tool: seller left, "CLIENT :" right, title without N°."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    credit = inv["document_kind"] == "credit_note"
    p.t(40, 790, sup.trade_name or sup.name, 16, True)
    p.lines(40, 772, [*sup.address, f"Tél. {sup.phone}", sup.email], 9)
    title = ("Avoir " if credit else "Facture ") + inv["invoice_number"]
    p.r(555, 790, title, 17, True)
    p.r(555, 770, f"Date d'émission : {ctx.d(inv['invoice_date'])}", 9)
    p.r(555, 758, f"Date de livraison : {ctx.d(inv['_delivery'])}", 9)
    if inv["due_date"]:
        p.r(555, 746, f"Échéance : {ctx.d(inv['due_date'])}", 9)
    p.t(330, 700, "CLIENT :", 9, True)
    rows = [buy.name, *buy.address]
    rows.append(f"SIREN : {_siren_txt(buy.siren)}")
    rows.append(f"TVA : {buy.vat}")
    p.lines(330, 686, rows, 9)
    if credit:
        p.t(40, 620, f"Avoir sur facture {inv['_ref_invoice']}", 9)
    y = p.table(
        40,
        590,
        [
            ("Désignation", 215, "l"),
            ("Qté", 35, "r"),
            ("Unité", 45, "l"),
            ("Prix unitaire HT", 80, "r"),
            ("TVA", 45, "r"),
            ("Total HT", 95, "r"),
        ],
        [
            [
                ln["desc"],
                ln["qty"],
                ln["unit"],
                ctx.a(ln["unit_price"]),
                pct(ln["rate"]),
                ctx.a(ln["total"]),
            ]
            for ln in inv["_lines"]
        ],
        size=8.5,
    )
    y -= 10
    p.table(40, y, [("Taux", 50, "l"), ("Base HT", 80, "r"), ("TVA", 70, "r")], vat_rows(ctx))
    rows2 = [
        ("Total HT", inv["total_excl_tax"]),
        ("Total TVA", inv["total_tax"]),
        ("Total TTC", inv["total_incl_tax"]),
    ]
    if inv["_deposit"]:
        rows2.append((f"Acompte versé le {ctx.d(inv['_deposit_date'])}", inv["_deposit"]))
        rows2.append(("Solde à payer", inv["amount_due"]))
    for k, (label, value) in enumerate(rows2):
        bold = label in ("Total TTC", "Solde à payer")
        p.t(340, y - 14 * k, label, 9, bold)
        p.r(555, y - 14 * k, ctx.a(value), 9, bold)
    y -= 14 * len(rows2) + 20
    p.t(40, y, "Conditions de paiement : 30 jours date de facture", 8.5)
    p.t(40, y - 12, f"Règlement par virement - IBAN {_iban_txt(sup.iban)} - BIC {sup.bic}", 8.5)
    p.lines(40, 62, PENALTIES, 6.5, 8)
    p.foot(40, legal_line(sup))


def draw_erp(p: Pen, ctx: Ctx) -> None:
    """ERP print: buyer in the envelope window (right), "Pièce n°" grid, many columns."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    credit = inv["document_kind"] == "credit_note"
    p.t(40, 795, sup.name, 13, True)
    p.t(40, 781, f"{sup.form} au capital de {sup.capital} €", 7.5)
    p.lines(40, 769, [*sup.address, f"Tél : {sup.phone}"], 7.5, 10)
    p.t(40, 736, f"Siret {sup.siret} - TVA {sup.vat}", 7.5)
    p.lines(330, 760, [buy.name, "Service comptabilité", *buy.address], 10, 13)
    p.t(330, 700, f"Vos identifiants : SIREN {buy.siren} - TVA {buy.vat}", 7.5)
    p.t(40, 680, "AVOIR" if credit else "FACTURE", 15, True)
    heads = ["Pièce n°", "Date", "Code client", "Commande du", "Représentant"]
    vals = [
        inv["invoice_number"],
        ctx.d(inv["invoice_date"]),
        inv["_client_code"],
        ctx.d(inv["_order"]),
        ctx.style["rep"],
    ]
    for k, (h, v) in enumerate(zip(heads, vals, strict=True)):
        p.box(40 + 103 * k, 665, 103, 14, fill=0.85)
        p.box(40 + 103 * k, 651, 103, 16)
        p.m(40 + 103 * k + 51, 655, h, 8, True)
        p.m(40 + 103 * k + 51, 640, v, 8.5)
    rows = []
    for ln in inv["_lines"]:
        rows.append(
            [
                ln["ref"],
                ln["desc"][:30],
                ln["qty"],
                ln["unit"],
                ctx.a(ln["gross"]).replace(" €", ""),
                f"{ln['discount']}" if ln["discount"] else "",
                ctx.a(ln["unit_price"]).replace(" €", ""),
                ctx.a(ln["total"]).replace(" €", ""),
                ln["code"],
            ]
        )
    y = p.table(
        40,
        605,
        [
            ("Référence", 55, "l"),
            ("Désignation", 150, "l"),
            ("Qté", 30, "r"),
            ("U", 25, "l"),
            ("PU brut", 55, "r"),
            ("Rem.%", 35, "r"),
            ("PU net HT", 55, "r"),
            ("Montant HT", 75, "r"),
            ("TVA", 35, "c"),
        ],
        rows,
        size=7.5,
        step=12,
        grid=True,
    )
    y -= 16
    p.table(
        40,
        y,
        [("Code", 35, "c"), ("Taux", 45, "r"), ("Base HT", 75, "r"), ("Montant TVA", 75, "r")],
        [[c, *r] for c, r in zip(inv["_codes"], vat_rows(ctx), strict=True)],
        size=7.5,
        step=12,
        grid=True,
    )
    tot = [
        ("Total HT", inv["total_excl_tax"]),
        ("Total TVA", inv["total_tax"]),
        ("Total TTC", inv["total_incl_tax"]),
    ]
    if inv["_deposit"]:
        tot.append(("Acompte", inv["_deposit"]))
    tot.append(("Net à payer", inv["amount_due"]))
    for k, (label, value) in enumerate(tot):
        p.box(380, y + 10 - 15 * k, 90, 15, fill=0.9)
        p.box(470, y + 10 - 15 * k, 85, 15)
        p.t(384, y - 15 * k, label, 8.5, True)
        p.r(551, y - 15 * k, ctx.a(value), 8.5)
    y -= 15 * len(tot) + 20
    if inv["due_date"]:
        p.t(40, y, f"Échéance(s) : {ctx.d(inv['due_date'])}   {ctx.a(inv['amount_due'])}", 8.5)
    p.t(40, y - 12, f"Mode de règlement : Virement - RIB : {_iban_txt(sup.iban)}", 8.5)
    p.lines(40, 60, PENALTIES, 6.5, 8)
    p.foot(36, legal_line(sup))


def draw_utility(p: Pen, ctx: Ctx) -> None:
    """Energy / telecom bill: 'Référence :', period, 'Prélevé le', dotted leaders, 2 rates."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    p.t(40, 790, sup.trade_name or sup.name, 20, True)
    p.t(40, 774, ctx.style["tagline"], 8)
    p.t(330, 795, f"Facture du {ctx.d(inv['invoice_date'])}", 11, True)
    p.t(330, 780, f"Référence : {inv['invoice_number']}", 9)
    p.t(330, 768, f"N° client : {inv['_client_code']}", 9)
    p.t(330, 756, f"N° de contrat : {inv['_contract']}", 9)
    p.t(40, 730, "Titulaire du contrat", 8, True)
    p.lines(40, 718, [buy.name, *buy.address], 9)
    p.t(330, 730, "Vos identifiants", 8, True)
    p.lines(330, 718, [f"SIRET : {_siret_txt(buy.siret)}", f"TVA : {buy.vat}"], 9)
    p.box(40, 660, 515, 50, fill=0.92)
    p.t(52, 640, "Montant TTC de votre facture", 11, True)
    p.r(543, 640, ctx.a(inv["total_incl_tax"]), 14, True)
    p.t(52, 622, f"Prélevé le {ctx.d(inv['due_date'])} sur votre compte", 9)
    start, end = inv["_period"]
    p.t(40, 590, f"Période de consommation du {ctx.d(start)} au {ctx.d(end)}", 9, True)
    y = 570
    for ln in inv["_lines"]:
        label = f"{ln['desc']} ({pct(ln['rate'])})"
        p.leaders(40, 555, y, label, ctx.a(ln["total"]), 9)
        y -= 14
    y -= 6
    p.leaders(40, 555, y, "Total hors TVA", ctx.a(inv["total_excl_tax"]), 9)
    y -= 14
    for v in inv["vat_lines"]:
        label = f"TVA à {pct(Decimal(v['rate']))} sur {ctx.a(v['base'])}"
        p.leaders(40, 555, y, label, ctx.a(v["amount"]), 9)
        y -= 14
    p.leaders(40, 555, y, "Total TVA", ctx.a(inv["total_tax"]), 9)
    y -= 16
    p.t(40, y, "Montant total TTC", 10, True)
    p.r(555, y, ctx.a(inv["total_incl_tax"]), 10, True)
    p.t(40, y - 30, f"Prochaine facture vers le {ctx.d(inv['_next'])}", 8)
    p.lines(
        40,
        58,
        [
            f"{sup.name}, {sup.form} au capital de {sup.capital} 000 € - Siège social : "
            f"{sup.street}, {sup.city[0]} {sup.city[1]}",
            f"RCS {sup.city[1]} {_siren_txt(sup.siren)} - TVA intracommunautaire {sup.vat}",
        ],
        6.5,
        8,
    )


def draw_ecommerce(p: Pen, ctx: Ctx) -> None:
    """Marketplace order invoice: number at the right margin, order dates, paid by card."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    p.t(40, 790, "Facture", 22, True)
    p.t(40, 772, f"Payé   Référence de paiement {inv['_payref']}", 8)
    info = [
        ("Date de la facture / Date de livraison", ctx.d(inv["invoice_date"])),
        ("Numéro de la facture", inv["invoice_number"]),
        ("Total à payer", ctx.a(inv["amount_due"])),
    ]
    for k, (label, value) in enumerate(info):
        p.t(300, 790 - 13 * k, label, 8.5)
        p.r(555, 790 - 13 * k, value, 8.5, True)
    p.t(40, 730, "Adresse de facturation", 8.5, True)
    p.lines(40, 718, [buy.name, *buy.address, f"TVA : {buy.vat}"], 8.5, 11)
    p.t(220, 730, "Adresse de livraison", 8.5, True)
    p.lines(220, 718, [buy.name, *buy.address], 8.5, 11)
    p.t(400, 730, "Vendu par", 8.5, True)
    p.lines(400, 718, [sup.name, *sup.address, f"TVA : {sup.vat}"], 8.5, 11)
    p.t(40, 650, "Informations de commande", 9, True)
    p.t(40, 637, f"Date de la commande {ctx.d(inv['_order'])}", 8.5)
    p.t(40, 625, f"Numéro de la commande {inv['_order_no']}", 8.5)
    rows = []
    for ln in inv["_lines"]:
        unit_ttc = q(Decimal(ln["unit_price"]) * (1 + ln["rate"] / 100))
        rows.append(
            [
                ln["desc"],
                ln["qty"],
                ctx.a(ln["unit_price"]),
                pct(ln["rate"]),
                ctx.a(unit_ttc),
                ctx.a(q(unit_ttc * int(ln["qty"]))),
            ]
        )
    y = p.table(
        40,
        595,
        [
            ("Description", 200, "l"),
            ("Qté", 30, "r"),
            ("Prix unitaire\n(HT)", 75, "r"),
            ("Taux TVA", 50, "r"),
            ("Prix unitaire\n(TTC)", 75, "r"),
            ("Total (TTC)", 85, "r"),
        ],
        rows,
        size=8,
    )
    y -= 12
    tot = [("Total HT", inv["total_excl_tax"])]
    tot += [(f"TVA {pct(Decimal(v['rate']))}", v["amount"]) for v in inv["vat_lines"]]
    tot += [("Total TTC", inv["total_incl_tax"]), ("Montant payé", inv["total_incl_tax"])]
    tot += [("Reste à payer", inv["amount_due"])]
    for k, (label, value) in enumerate(tot):
        p.t(380, y - 13 * k, label, 8.5, label == "Total TTC")
        p.r(555, y - 13 * k, ctx.a(value), 8.5, label == "Total TTC")
    p.t(40, y, "Payé par carte bancaire", 8.5)
    p.lines(
        40,
        52,
        [
            f"Vendu par {sup.name}, {sup.form} au capital social de {sup.capital} €, "
            f"{sup.street}, {sup.city[0]} {sup.city[1]}",
            f"RCS {sup.city[1]} {sup.siren} - SIRET {sup.siret} - Numéro de TVA {sup.vat}",
        ],
        6.5,
        8,
    )


def draw_craftsman(p: Pen, ctx: Ctx) -> None:
    """Craftsman: quote accepted, intervention date, deposit, 'À payer avant le', 293 B."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    exempt = inv["vat_regime"] == "exempt"
    p.t(40, 792, sup.trade_name or sup.name, 15, True)
    sub = [sup.name if sup.trade_name else sup.form, *sup.address, f"Tél. {sup.phone}"]
    sub.append(f"SIRET {_siret_txt(sup.siret)} - RM {sup.siren} {sup.city[0][:2]}")
    if sup.vat:
        sub.append(f"TVA intracom. {_vat_txt(sup.vat, 1)}")
    sub.append(f"Assurance décennale n° {ctx.style['insurance']}")
    p.lines(40, 776, sub, 8, 10)
    p.t(340, 792, f"FACTURE N° {inv['invoice_number']}", 12, True)
    p.t(340, 778, f"Fait à {sup.city[1]}, le {ctx.d(inv['invoice_date'])}", 9)
    p.t(340, 730, "CLIENT :", 9, True)
    p.lines(340, 716, [buy.name, *buy.address, f"N° TVA : {buy.vat}"], 9)
    p.t(40, 650, f"Objet : {ctx.style['object']}", 9, True)
    p.t(
        40,
        637,
        f"Suivant devis n° {inv['_quote_no']} accepté le {ctx.d(inv['_quote'])}",
        9,
    )
    p.t(40, 624, f"Date d'intervention : {ctx.d(inv['_delivery'])}", 9)
    rows = [
        [
            ln["desc"],
            ln["qty"],
            ln["unit"],
            ctx.a(ln["unit_price"]),
            "" if exempt else pct(ln["rate"]),
            ctx.a(ln["total"]),
        ]
        for ln in inv["_lines"]
    ]
    y = p.table(
        40,
        600,
        [
            ("Désignation", 230, "l"),
            ("Qté", 35, "r"),
            ("U", 30, "l"),
            ("PU HT", 80, "r"),
            ("TVA", 45, "r"),
            ("Total HT", 95, "r"),
        ],
        rows,
        size=8.5,
        grid=True,
    )
    y -= 16
    tot = [("Total HT", inv["total_excl_tax"])]
    if exempt:
        tot.append(("Total TTC", inv["total_incl_tax"]))
    else:
        tot += [(f"TVA {pct(Decimal(v['rate']))}", v["amount"]) for v in inv["vat_lines"]]
        tot.append(("Total TTC", inv["total_incl_tax"]))
    if inv["_deposit"]:
        tot.append((f"Acompte versé le {ctx.d(inv['_deposit_date'])}", f"-{inv['_deposit']}"))
        tot.append(("Reste à payer", inv["amount_due"]))
    for k, (label, value) in enumerate(tot):
        p.t(330, y - 14 * k, label, 9, label in ("Total TTC", "Reste à payer"))
        p.r(555, y - 14 * k, ctx.a(value), 9, label in ("Total TTC", "Reste à payer"))
    if exempt:
        p.t(40, y, "TVA non applicable, art. 293 B du CGI", 8.5, True)
    y -= 14 * len(tot) + 20
    p.t(40, y, f"À payer avant le {ctx.d(inv['due_date'])}", 9, True)
    p.t(40, y - 13, f"Par chèque à l'ordre de {sup.name} ou par virement : {sup.iban}", 8.5)
    p.lines(40, 50, PENALTIES, 6.5, 8)


def draw_consulting(p: Pen, ctx: Ctx) -> None:
    """Consulting firm: buyer left / seller right, 'Référence :', service period, TJM."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    p.t(40, 795, "FACTURE", 20, True)
    p.t(40, 770, "Facturé à", 8, True)
    p.lines(40, 757, [buy.name, *buy.address], 9)
    p.t(40, 715, f"Vos identifiants : SIREN {_siren_txt(buy.siren)}", 8)
    p.t(40, 704, f"N° TVA : {buy.vat}", 8)
    p.t(330, 795, sup.name, 11, True)
    p.lines(
        330,
        781,
        [
            f"{sup.form} au capital de {sup.capital},00 €",
            *sup.address,
            f"SIREN {sup.siren} - RCS {sup.city[1]}",
            f"TVA {sup.vat}",
            sup.email,
        ],
        8,
        10,
    )
    p.hline(40, 555, 690)
    p.t(40, 672, "Référence :", 9, True)
    p.t(110, 672, inv["invoice_number"], 9)
    p.t(330, 672, "Date :", 9, True)
    p.t(400, 672, ctx.d(inv["invoice_date"]), 9)
    p.t(40, 658, "Mission :", 9, True)
    p.t(110, 658, ctx.style["mission"], 9)
    p.t(330, 658, "Bon de commande :", 9, True)
    p.t(420, 658, inv["_order_no"], 9)
    start, end = inv["_period"]
    p.t(40, 636, f"Prestation du {ctx.d(start)} au {ctx.d(end)}", 9)
    rows = [
        [
            ctx.style["consultant"],
            ln["desc"],
            ln["qty"],
            ctx.a(ln["unit_price"]),
            ctx.a(ln["total"]),
        ]
        for ln in inv["_lines"]
    ]
    y = p.table(
        40,
        610,
        [
            ("Intervenant", 90, "l"),
            ("Prestation", 200, "l"),
            ("Jours", 45, "r"),
            ("TJM HT", 80, "r"),
            ("Montant HT", 100, "r"),
        ],
        rows,
        size=8.5,
    )
    y -= 14
    for k, (label, value) in enumerate(
        [
            ("Total HT", inv["total_excl_tax"]),
            (f"TVA {pct(Decimal(inv['vat_lines'][0]['rate']))}", inv["total_tax"]),
            ("Total TTC", inv["total_incl_tax"]),
        ]
    ):
        p.t(360, y - 14 * k, label, 9, k == 2)
        p.r(555, y - 14 * k, ctx.a(value), 9, k == 2)
    y -= 70
    p.t(
        40,
        y,
        f"Conditions : paiement à 30 jours fin de mois, soit le {ctx.d(inv['due_date'])}",
        8.5,
    )
    p.t(40, y - 12, f"IBAN : {_iban_txt(sup.iban)}   BIC : {sup.bic}", 8.5)
    p.lines(40, 62, PENALTIES, 6.5, 8)
    p.foot(40, legal_line(sup, with_vat=False))


def draw_wholesale(p: Pen, ctx: Ctx) -> None:
    """Wholesaler: boxed 'Pièce n°' grid, many lines and columns, 3 rates, page 2."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    lines = inv["_lines"]

    def header(page: int, pages: int) -> None:
        p.t(40, 795, sup.name.upper(), 14, True)
        p.lines(
            40,
            781,
            [f"{sup.form} au capital de {sup.capital} €", *sup.address, f"Tél {sup.phone}"],
            7.5,
            9,
        )
        p.t(380, 795, "FACTURE", 16, True)
        p.r(555, 795, f"Page {page}/{pages}", 8)
        cells = [
            ("Pièce n°", inv["invoice_number"]),
            ("Date", ctx.d(inv["invoice_date"])),
            ("Client", inv["_client_code"]),
            ("Livraison du", ctx.d(inv["_delivery"])),
            ("BL n°", inv["_bl"]),
            ("Commande n°", inv["_order_no"]),
        ]
        for k, (label, value) in enumerate(cells):
            x = 320 + 78 * (k % 3)
            yy = 770 - 30 * (k // 3)
            p.box(x, yy, 78, 12, fill=0.85)
            p.box(x, yy - 12, 78, 14)
            p.m(x + 39, yy - 9, label, 7, True)
            p.m(x + 39, yy - 22, value, 8)

    pages = 2 if len(lines) > 18 else 1
    header(1, pages)
    p.t(40, 700, "Adresse de facturation", 8, True)
    p.lines(40, 688, [buy.name, *buy.address, f"Siret {buy.siret}", f"TVA {buy.vat}"], 8.5, 11)
    p.t(320, 700, "Adresse de livraison", 8, True)
    p.lines(320, 688, [buy.name, "Quai de réception", *buy.address], 8.5, 11)
    cols = [
        ("Code", 45, "l"),
        ("Désignation", 160, "l"),
        ("Cond.", 40, "l"),
        ("Qté", 30, "r"),
        ("PU HT", 55, "r"),
        ("Rem.", 35, "r"),
        ("Montant HT", 70, "r"),
        ("T", 20, "c"),
        ("Lot", 60, "l"),
    ]

    def row(ln: dict[str, Any]) -> list[str]:
        return [
            ln["ref"],
            ln["desc"][:28],
            ln["unit"],
            ln["qty"],
            ctx.a(ln["unit_price"]).replace(" €", ""),
            f"{ln['discount']}%" if ln["discount"] else "",
            ctx.a(ln["total"]).replace(" €", ""),
            ln["code"],
            ln["lot"],
        ]

    first, rest = lines[:18], lines[18:]
    y = p.table(40, 615, cols, [row(ln) for ln in first], size=7.5, step=12, grid=True)
    if rest:
        p.r(555, y - 4, "Suite page 2", 8)
        p.c.showPage()
        header(2, 2)
        y = p.table(40, 700, cols, [row(ln) for ln in rest], size=7.5, step=12, grid=True)
    y -= 14
    p.table(
        40,
        y,
        [("T", 20, "c"), ("Taux", 45, "r"), ("Base HT", 75, "r"), ("TVA", 70, "r")],
        [[c, *r] for c, r in zip(inv["_codes"], vat_rows(ctx), strict=True)],
        size=7.5,
        step=12,
        grid=True,
    )
    heads = ["Total HT", "Total TVA", "Total TTC", "NET À PAYER"]
    vals = [inv["total_excl_tax"], inv["total_tax"], inv["total_incl_tax"], inv["amount_due"]]
    yb = y - 60 - 12 * len(inv["vat_lines"])
    for k, (h, v) in enumerate(zip(heads, vals, strict=True)):
        p.box(40 + 129 * k, yb, 129, 13, fill=0.85)
        p.box(40 + 129 * k, yb - 13, 129, 16)
        p.m(40 + 129 * k + 64, yb - 10, h, 8, True)
        p.m(40 + 129 * k + 64, yb - 25, ctx.a(v), 9, k == 3)
    p.t(40, yb - 50, f"Échéance : {ctx.d(inv['due_date'])} - Règlement par virement", 8.5)
    p.t(40, yb - 62, f"IBAN {_iban_txt(sup.iban)} - BIC {sup.bic}", 8.5)
    p.t(40, yb - 74, "Escompte pour paiement anticipé : néant", 8)
    p.lines(40, 58, PENALTIES, 6.5, 8)
    p.foot(36, legal_line(sup))


def draw_saas(p: Pen, ctx: Ctx) -> None:
    """SaaS (Stripe-like): labels far left and values right, 'dus le', period under lines."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    p.t(40, 790, "Facture", 18, True)
    p.r(555, 790, sup.trade_name or sup.name, 14, True)
    kv = [
        ("Numéro de facture", inv["invoice_number"]),
        ("Date d'émission", ctx.d(inv["invoice_date"])),
        ("Date d'échéance", ctx.d(inv["due_date"])),
    ]
    for k, (label, value) in enumerate(kv):
        p.t(40, 762 - 13 * k, label, 9)
        p.t(150, 762 - 13 * k, value, 9)
    p.lines(40, 712, [sup.name, *sup.address, sup.email, f"Numéro de TVA : {sup.vat}"], 8.5, 11)
    p.t(300, 712, "Facturé à", 8.5, True)
    p.lines(300, 700, [buy.name, *buy.address, f"Numéro de TVA : {buy.vat}"], 8.5, 11)
    p.t(40, 630, f"{ctx.a(inv['amount_due'])} dus le {ctx.d(inv['due_date'])}", 14, True)
    start, end = inv["_period"]
    y = 600
    p.t(40, y, "Description", 8.5, True)
    for x, h in ((330, "Qté"), (410, "Prix unitaire"), (470, "TVA"), (555, "Montant")):
        p.r(x, y, h, 8.5, True)
    p.hline(40, 555, y - 4)
    y -= 18
    for ln in inv["_lines"]:
        p.t(40, y, ln["desc"], 9)
        p.r(330, y, ln["qty"], 9)
        p.r(410, y, ctx.a(ln["unit_price"]), 9)
        p.r(470, y, pct(ln["rate"]), 9)
        p.r(555, y, ctx.a(ln["total"]), 9)
        p.t(40, y - 11, f"{ctx.d(start)} – {ctx.d(end)}", 7.5)
        y -= 28
    p.hline(300, 555, y + 10)
    tot = [
        ("Sous-total", inv["total_excl_tax"]),
        ("Total hors TVA", inv["total_excl_tax"]),
        (
            f"TVA - France ({pct(Decimal(inv['vat_lines'][0]['rate']))} sur "
            f"{ctx.a(inv['total_excl_tax'])})",
            inv["total_tax"],
        ),
        ("Total", inv["total_incl_tax"]),
        ("Montant dû", inv["amount_due"]),
    ]
    for k, (label, value) in enumerate(tot):
        p.t(300, y - 14 * k, label, 8.5, label == "Montant dû")
        p.r(555, y - 14 * k, ctx.a(value), 8.5, label == "Montant dû")
    p.t(40, y - 100, f"Prélèvement SEPA le {ctx.d(inv['due_date'])}", 8.5)
    p.t(40, 50, f"{sup.name} - {sup.form} - RCS {sup.city[1]} {sup.siren}", 7)
    p.r(555, 50, "Page 1 sur 1", 7)


def draw_transport(p: Pen, ctx: Ctx) -> None:
    """Carrier: seller right, 'N° ... du ...' on one line, shipments table, fuel surcharge."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    p.t(330, 795, sup.name, 13, True)
    p.lines(
        330,
        780,
        [
            *sup.address,
            f"Tél. {sup.phone}",
            f"SIRET {sup.siret} - APE {sup.ape}",
            f"TVA intracom : {sup.vat}",
            f"Licence de transport n° {ctx.style['licence']}",
        ],
        8,
        10,
    )
    p.t(40, 795, "Donneur d'ordre", 8, True)
    p.lines(40, 782, [buy.name, *buy.address, f"N° TVA : {buy.vat}"], 9)
    p.t(40, 690, "FACTURE DE TRANSPORT", 14, True)
    p.t(
        40,
        672,
        f"N° {inv['invoice_number']} du {ctx.d(inv['invoice_date'])}",
        11,
        True,
    )
    start, end = inv["_period"]
    p.t(40, 656, f"Relevé des expéditions du {ctx.d(start)} au {ctx.d(end)}", 9)
    rows = [
        [ctx.d(ln["day"]), ln["ref"], ln["desc"], ln["weight"], ln["qty"], ctx.a(ln["total"])]
        for ln in inv["_lines"]
    ]
    y = p.table(
        40,
        630,
        [
            ("Date", 60, "l"),
            ("Récépissé", 60, "l"),
            ("Trajet", 200, "l"),
            ("Poids kg", 55, "r"),
            ("Colis", 40, "r"),
            ("Montant HT", 100, "r"),
        ],
        rows,
        size=8,
        step=12,
    )
    y -= 14
    tot = [
        ("Total HT", inv["total_excl_tax"]),
        (f"TVA {pct(Decimal(inv['vat_lines'][0]['rate']))}", inv["total_tax"]),
        ("Total TTC", inv["total_incl_tax"]),
    ]
    for k, (label, value) in enumerate(tot):
        p.t(380, y - 14 * k, label, 9, k == 2)
        p.r(555, y - 14 * k, ctx.a(value), 9, k == 2)
    y -= 60
    p.t(40, y, f"Échéance : 45 jours fin de mois, le {ctx.d(inv['due_date'])}", 9)
    p.t(40, y - 12, f"Règlement par virement - IBAN {sup.iban}", 8.5)
    p.lines(40, 58, PENALTIES, 6.5, 8)
    p.foot(36, legal_line(sup, with_vat=False))


def draw_rent(p: Pen, ctx: Ctx) -> None:
    """Property manager: landlord SCI invoicing through a managing agent (its own ids)."""
    inv, sup, buy = ctx.inv, ctx.sup, ctx.buyer
    agent = ctx.style["agent"]
    p.t(40, 795, agent.name, 12, True)
    p.lines(
        40,
        781,
        [
            "Administrateur de biens",
            *agent.address,
            f"SIRET {agent.siret} - TVA {agent.vat}",
            f"Carte professionnelle CPI {ctx.style['card']}",
        ],
        7.5,
        9,
    )
    p.lines(330, 760, [buy.name, *buy.address], 10, 13)
    p.t(40, 700, "AVIS D'ÉCHÉANCE VALANT FACTURE", 13, True)
    start, end = inv["_period"]
    p.t(40, 682, f"Facture n° {inv['invoice_number']}", 9)
    p.t(40, 670, f"Date : {ctx.d(inv['invoice_date'])}", 9)
    p.t(40, 658, f"Terme du {ctx.d(start)} au {ctx.d(end)}", 9)
    p.t(330, 682, "Bailleur :", 9, True)
    p.lines(
        330,
        670,
        [sup.name, f"SIREN {_siren_txt(sup.siren)}", f"TVA {sup.vat}"],
        9,
    )
    p.t(40, 630, f"Locataire : {buy.name} - Lot n° {ctx.style['lot']}", 9)
    y = p.table(
        40,
        605,
        [("Libellé", 270, "l"), ("Montant HT", 80, "r"), ("TVA", 80, "r"), ("TTC", 85, "r")],
        [
            [
                ln["desc"],
                ctx.a(ln["total"]),
                ctx.a(q(Decimal(ln["total"]) * ln["rate"] / 100)),
                ctx.a(q(Decimal(ln["total"]) * (1 + ln["rate"] / 100))),
            ]
            for ln in inv["_lines"]
        ],
        size=8.5,
    )
    y -= 14
    for k, (label, value) in enumerate(
        [
            ("Total HT", inv["total_excl_tax"]),
            ("TVA 20 %", inv["total_tax"]),
            ("Total TTC", inv["total_incl_tax"]),
        ]
    ):
        p.t(360, y - 14 * k, label, 9, k == 2)
        p.r(555, y - 14 * k, ctx.a(value), 9, k == 2)
    y -= 60
    p.t(40, y, f"À payer avant le {ctx.d(inv['due_date'])}", 10, True)
    p.t(40, y - 13, f"Prélèvement sur le compte du bailleur {_iban_txt(sup.iban)}", 8.5)
    p.lines(
        40,
        52,
        [
            f"{sup.name}, société civile immobilière au capital de {sup.capital} €, "
            f"RCS {sup.city[1]} {sup.siren}",
            f"Gérance : {agent.name}, {agent.form} - RCS {agent.city[1]} {agent.siren}",
        ],
        6.5,
        8,
    )


PROGRAMS: list[Program] = [
    Program(
        "tpe",
        (("Atelier {n}", "Atelier Graphique {n}"), ("Studio {n} Photographie", "")),
        ("20",),
        (
            ("Création de logo", "forfait", 15000, 90000),
            ("Maquette plaquette commerciale", "forfait", 20000, 60000),
            ("Séance photo produits", "heure", 6000, 12000),
            ("Retouches photo", "unité", 800, 3000),
        ),
        "6231",
        "transfer",
        draw_tpe,
    ),
    Program(
        "erp",
        (("{n} Industrie", ""), ("Établissements {n}", "")),
        ("20", "10"),
        (
            ("Roulement à billes 6204", "PCE", 300, 2500),
            ("Courroie trapézoïdale", "PCE", 800, 4500),
            ("Graisse lithium 400 g", "PCE", 500, 1500),
            ("Gants de manutention", "PAI", 300, 900),
            ("Huile hydraulique 20 L", "BID", 5000, 12000),
            ("Visserie inox assortie", "BTE", 1500, 6000),
        ),
        "6068",
        "transfer",
        draw_erp,
    ),
    Program(
        "utility",
        (("{n} Énergie France", "Voltéa"), ("{n} Télécom", "Ondine Mobile")),
        ("5.5", "20"),
        (
            ("Abonnement", "mois", 1500, 6000),
            ("Consommation heures pleines", "kWh", 4000, 40000),
            ("Consommation heures creuses", "kWh", 2000, 20000),
            ("Contribution tarifaire d'acheminement", "forfait", 300, 1500),
        ),
        "6061",
        "direct_debit",
        draw_utility,
    ),
    Program(
        "ecommerce",
        (("{n} Direct", ""), ("Bureau {n} Distribution", "")),
        ("20", "5.5"),
        (
            ("Souris sans fil ergonomique", "unité", 1500, 6000),
            ("Clavier mécanique", "unité", 4000, 15000),
            ("Guide pratique de la comptabilité", "unité", 1500, 4000),
            ("Câble HDMI 2 m", "unité", 500, 2000),
            ("Lampe de bureau LED", "unité", 2000, 8000),
        ),
        "6064",
        "card",
        draw_ecommerce,
    ),
    Program(
        "craftsman",
        (("{n} Plomberie", "Plomberie {n}"), ("{n} Électricité Générale", "Élec {n}")),
        ("10", "20"),
        (
            ("Main d'oeuvre", "h", 4500, 6500),
            ("Remplacement chauffe-eau 200 L", "u", 60000, 120000),
            ("Fourniture robinetterie", "u", 3000, 15000),
            ("Déplacement", "forfait", 3000, 6000),
            ("Tableau électrique 3 rangées", "u", 25000, 60000),
        ),
        "6152",
        "cheque",
        draw_craftsman,
    ),
    Program(
        "consulting",
        (("{n} Conseil", ""), ("{n} & Associés", "")),
        ("20",),
        (
            ("Accompagnement stratégique", "jour", 60000, 120000),
            ("Audit organisationnel", "jour", 70000, 130000),
            ("Atelier de formation", "jour", 50000, 90000),
        ),
        "6226",
        "transfer",
        draw_consulting,
    ),
    Program(
        "wholesale",
        (("{n} Distribution Alimentaire", ""), ("Comptoir {n}", "")),
        ("5.5", "10", "20"),
        (
            ("Farine T55 25 kg", "SAC", 1500, 3000),
            ("Sucre semoule 10 kg", "SAC", 900, 1800),
            ("Beurre AOP 1 kg", "PLQ", 800, 1400),
            ("Levure fraîche 500 g", "PQT", 200, 500),
            ("Jus de pomme 1 L", "CART", 1200, 2500),
            ("Sacs kraft boulangerie", "CART", 2000, 5000),
            ("Chocolat noir pistoles 5 kg", "SAC", 4000, 9000),
            ("Oeufs frais plein air x180", "PLT", 3000, 5000),
        ),
        "607",
        "transfer",
        draw_wholesale,
    ),
    Program(
        "saas",
        (("{n} Software", "Planifio"), ("{n} Cloud", "Nuagix")),
        ("20",),
        (
            ("Abonnement Équipe", "mois", 2900, 19900),
            ("Utilisateurs supplémentaires", "unité", 500, 1500),
            ("Stockage additionnel 100 Go", "mois", 500, 2000),
        ),
        "6511",
        "direct_debit",
        draw_saas,
    ),
    Program(
        "transport",
        (("Transports {n} et Fils", ""), ("{n} Logistique", "")),
        ("20",),
        (
            ("Lyon - Marseille", "kg", 8000, 30000),
            ("Paris - Lille", "kg", 6000, 25000),
            ("Bordeaux - Toulouse", "kg", 5000, 20000),
            ("Nantes - Rennes", "kg", 4000, 15000),
        ),
        "6241",
        "transfer",
        draw_transport,
    ),
    Program(
        "rent",
        (("SCI {n}", ""), ("SCI Les Tilleuls {n}", "")),
        ("20",),
        (
            ("Loyer local commercial", "terme", 150000, 450000),
            ("Provision sur charges", "terme", 20000, 60000),
            ("Taxe foncière refacturée", "terme", 10000, 40000),
        ),
        "6132",
        "direct_debit",
        draw_rent,
    ),
]


# -- invoices --------------------------------------------------------------------------------
#: Label fields a program does not print (its labels are None).
NOT_PRINTED: dict[str, tuple[str, ...]] = {
    "tpe": ("buyer.siret",),
    "erp": ("buyer.siret",),
    "utility": ("supplier.iban", "supplier.siret"),
    "ecommerce": ("supplier.iban", "buyer.siret"),
    "craftsman": ("payment_mode", "buyer.siret"),  # "par chèque ... ou par virement"
    "consulting": ("payment_mode", "buyer.siret"),  # an IBAN, no payment mode written
    "wholesale": (),
    "saas": ("supplier.iban", "supplier.siret", "buyer.siret"),
    "transport": ("buyer.siret",),
    "rent": ("supplier.siret", "buyer.siren", "buyer.siret", "buyer.vat_number"),
}


def make_supplier(rng: random.Random, idx: int, buyers: list[Party]) -> dict[str, Any]:
    """A supplier: its program, company, fixed style and numbering, and its client."""
    prog = PROGRAMS[idx % len(PROGRAMS)]
    legal, trade = rng.choice(prog.trades)
    n = rng.choice(NAMES)
    form = "SCI" if prog.name == "rent" else rng.choice(["SARL", "SAS", "SA", "EURL", "SASU"])
    micro = prog.name == "craftsman" and rng.random() < 0.35
    if micro:
        form = "EI"
    name = legal.format(n=n) + ("" if form in ("SCI", "EI") else f" {form}")
    party = make_party(rng, name, form, trade.format(n=n) if trade else None, vat=not micro, slug=n)
    style = {
        "amount": rng.choice(["space", "nbsp", "dot", "eur", "plain", "prefix"]),
        "date": rng.choice(["slash", "slash", "long", "abbr", "dash", "short", "dot"]),
        "rep": rng.choice(["JDU", "MLE", "ADE", "PFA"]),
        "tagline": "Votre fournisseur d'énergie" if "Énergie" in name else "Internet & mobile",
        "insurance": f"{rng.randint(100000, 999999)}/{rng.randint(10, 99)}",
        "object": rng.choice(["Rénovation salle de bains", "Mise aux normes électriques"]),
        "mission": rng.choice(["Transformation digitale", "Organisation comptable"]),
        "consultant": f"{rng.choice('ABCDEFG')}. {rng.choice(NAMES)}",
        "licence": f"{rng.randint(2010, 2024)}/{rng.randint(10, 99)}/{rng.randint(1000, 9999)}",
        "card": f"{rng.randint(6901, 7599)} {rng.randint(2018, 2024)} 000 "
        f"0{rng.randint(10000, 99999)}",
        "lot": str(rng.randint(1, 40)),
        "agent": make_party(rng, f"Cabinet {rng.choice(NAMES)} Immobilier SAS", "SAS"),
    }
    if prog.name in ("ecommerce", "saas", "utility"):
        style["amount"] = rng.choice(["space", "nbsp", "prefix"])
    if prog.name in ("saas",):
        style["date"] = rng.choice(["abbr", "long"])
    if prog.name == "utility":
        style["date"] = rng.choice(["slash", "short", "long"])
    return {
        "program": prog,
        "party": party,
        "style": style,
        "buyer": rng.choice(buyers),
        "counter": rng.randint(3, 400),
        "key": f"h{idx:03d}",
        "micro": micro,
    }


def next_number(s: dict[str, Any], day: date, rng: random.Random, credit: bool) -> str:
    """The supplier's next invoice number in its own scheme."""
    s["counter"] += rng.randint(1, 9)
    n, y, prog = s["counter"], day.year, s["program"].name
    if credit:
        return f"AV-{y}-{n:04d}" if prog == "tpe" else f"AV{y % 100}{n:05d}"
    return {
        "tpe": f"FA-{y}-{n:04d}",
        "erp": f"VT{y % 100}{n:05d}",
        "utility": f"{rng.randint(10**11, 10**12 - 1)}",
        "ecommerce": f"FR{rng.randint(1000, 9999)}{s['key'][1:].upper()}AEU{n:05d}",
        "craftsman": f"{y}-{n:03d}",
        "consulting": f"F{y}{day.month:02d}-{n:03d}",
        "wholesale": f"{y % 100}F{n:06d}",
        "saas": f"{s['key'].upper()[1:]}{'A7F3'}-{n:04d}",
        "transport": f"T{y % 100}-{n:05d}",
        "rent": f"QT-{y}-{n:03d}",
    }[prog]


def make_invoice(rng: random.Random, s: dict[str, Any], day: date) -> dict[str, Any]:
    """Labels of one invoice of supplier ``s`` dated ``day`` (drawing data in ``_`` keys)."""
    prog: Program = s["program"]
    party: Party = s["party"]
    buyer: Party = s["buyer"]
    credit = prog.name in ("tpe", "erp") and rng.random() < 0.25
    exempt = s["micro"]
    rates = [Decimal(r) for r in prog.rates]
    n_lines = {"wholesale": rng.randint(6, 26), "utility": 4, "rent": 3}.get(
        prog.name, rng.randint(1, 5)
    )
    lines = []
    for k in range(n_lines):
        desc, unit, lo, hi = (
            prog.vocab[k % len(prog.vocab)]
            if prog.name
            in (
                "utility",
                "rent",
            )
            else rng.choice(prog.vocab)
        )
        if prog.name == "utility":
            rate = rates[0] if k in (0, 3) else rates[1]
        elif prog.name == "ecommerce":
            rate = rates[1] if desc.startswith("Guide") else rates[0]
        else:
            rate = rates[k % len(rates)] if len(rates) > 1 and rng.random() < 0.6 else rates[0]
        qty = 1 if unit in ("forfait", "mois", "terme", "kWh") else rng.randint(1, 12)
        if prog.name == "consulting":
            qty = rng.choice([1, 2, 3, 5, 8, 10])
        gross = q(Decimal(rng.randint(lo, hi)) / 100)
        discount = rng.choice([0, 0, 0, 5, 10]) if prog.name in ("erp", "wholesale") else 0
        unit_price = q(gross * (100 - discount) / 100)
        lines.append(
            {
                "desc": desc,
                "unit": unit,
                "qty": str(qty),
                "gross": f"{gross:.2f}",
                "discount": discount,
                "unit_price": f"{unit_price:.2f}",
                "total": f"{q(unit_price * qty):.2f}",
                "rate": Decimal(0) if exempt else rate,
                "ref": f"{rng.choice('ABCDEKMRT')}{rng.randint(1000, 99999)}",
                "lot": f"L{rng.randint(10000, 99999)}",
                "weight": f"{rng.randint(20, 2400)}",
                "day": day - timedelta(days=rng.randint(1, 25)),
            }
        )
    by_rate: dict[Decimal, Decimal] = {}
    for ln in lines:
        by_rate[ln["rate"]] = by_rate.get(ln["rate"], Decimal(0)) + Decimal(ln["total"])
    ordered = sorted(by_rate.items())
    codes = {r: str(i + 1) for i, (r, _) in enumerate(ordered)}
    for ln in lines:
        ln["code"] = codes[ln["rate"]]
    vat_lines = (
        []
        if exempt
        else [
            {"rate": f"{r:.2f}", "base": f"{b:.2f}", "amount": f"{q(b * r / 100):.2f}"}
            for r, b in ordered
        ]
    )
    ht = sum(by_rate.values(), Decimal(0))
    tva = sum((Decimal(v["amount"]) for v in vat_lines), Decimal(0))
    ttc = ht + tva
    deposit = Decimal(0)
    if not credit and (
        (prog.name in ("tpe", "erp") and rng.random() < 0.3)
        or (prog.name == "craftsman" and rng.random() < 0.6)
    ):
        deposit = q(ttc * Decimal(rng.choice([20, 30, 40])) / 100)
    due: date | None = {
        "tpe": day + timedelta(days=30),
        "erp": day + timedelta(days=rng.choice([30, 45])),
        "utility": day + timedelta(days=rng.choice([10, 14, 15])),
        "ecommerce": None,
        "craftsman": day + timedelta(days=rng.choice([15, 30])),
        "consulting": end_of_month(day + timedelta(days=30)),
        "wholesale": day + timedelta(days=rng.choice([30, 45, 60])),
        "saas": day + timedelta(days=rng.choice([0, 7, 14])),
        "transport": end_of_month(day + timedelta(days=45)),
        "rent": day + timedelta(days=rng.randint(5, 12)),
    }[prog.name]
    if credit:
        due = None
    amount_due = Decimal(0) if prog.name == "ecommerce" else ttc - deposit
    month_start = day.replace(day=1)
    prev_end = month_start - timedelta(days=1)
    period = {
        "utility": (prev_end.replace(day=1), prev_end),
        "consulting": (month_start, end_of_month(day)),
        "saas": (day, day + timedelta(days=30)),
        "transport": (month_start, day),
        "rent": (due or day, (due or day) + timedelta(days=89)),
    }.get(prog.name, (day, day))
    if prog.name == "consulting":
        day = end_of_month(day)
        due = end_of_month(day + timedelta(days=30))
    number = next_number(s, day, rng, credit)
    labels = {
        "document_kind": "credit_note" if credit else "invoice",
        "supplier": {
            "name": party.name,
            "trade_name": party.trade_name,
            "siren": party.siren,
            "siret": party.siret,
            "vat_number": party.vat,
            "iban": party.iban,
            "country": "FR",
        },
        "buyer": {
            "name": buyer.name,
            "siren": buyer.siren,
            "siret": buyer.siret,
            "vat_number": buyer.vat,
            "country": "FR",
        },
        "invoice_number": number,
        "invoice_date": day.isoformat(),
        "due_date": due.isoformat() if due else None,
        "currency": "EUR",
        "total_excl_tax": f"{ht:.2f}",
        "total_tax": f"{tva:.2f}",
        "total_incl_tax": f"{ttc:.2f}",
        "amount_due": f"{amount_due:.2f}",
        "vat_lines": vat_lines,
        "payment_mode": prog.pay,
        "vat_regime": "exempt" if exempt else "standard",
        "account": prog.account,
        "text": " ; ".join(ln["desc"] for ln in lines),
        "_lines": lines,
        "_codes": [codes[r] for r, _ in ordered],
        "_deposit": f"{deposit:.2f}" if deposit else "",
        "_deposit_date": day - timedelta(days=rng.randint(10, 40)),
        "_delivery": day - timedelta(days=rng.randint(0, 6)),
        "_order": day - timedelta(days=rng.randint(3, 20)),
        "_quote": day - timedelta(days=rng.randint(15, 60)),
        "_quote_no": f"D-{day.year}-{rng.randint(10, 400):03d}",
        "_order_no": f"CMD{rng.randint(100000, 999999)}",
        "_bl": f"BL{rng.randint(10000, 99999)}",
        "_client_code": f"C{rng.randint(1000, 99999)}",
        "_contract": f"{rng.randint(10**9, 10**10 - 1)}",
        "_payref": f"{rng.randint(10**6, 10**7)}-{rng.randint(1000, 9999)}",
        "_period": period,
        "_next": day + timedelta(days=61),
        "_ref_invoice": f"FA-{day.year}-{max(1, s['counter'] - 5):04d}",
    }
    if prog.name == "ecommerce":
        labels["due_date"] = None
    # Label only what the program prints (or what a printed identifier implies: the SIREN
    # inside a SIRET or a French VAT number).
    for key in NOT_PRINTED.get(prog.name, ()):
        head, sub = key.split(".") if "." in key else (key, "")
        if sub:
            labels[head][sub] = None
        else:
            labels[head] = None
    return labels


def draw(inv: dict[str, Any], s: dict[str, Any], rng: random.Random) -> bytes:
    """Render one invoice with its supplier's program; returns PDF bytes."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(f"{s['party'].name} {inv['invoice_number']}")
    font = {"erp": "Courier", "rent": "Times-Roman", "craftsman": "Times-Roman"}.get(
        s["program"].name, "Helvetica"
    )
    ctx = Ctx(inv, s["party"], s["buyer"], s["style"], rng)
    s["program"].draw(Pen(c, font), ctx)
    c.showPage()
    c.save()
    return buf.getvalue()


def make_buyers(rng: random.Random, n: int = 6) -> list[Party]:
    """The accounting firm's clients: the companies the invoices are addressed to."""
    out = []
    for _ in range(n):
        trade = rng.choice(BUYER_TRADES)
        form = rng.choice(["SARL", "SAS", "SELARL", "EURL"])
        out.append(make_party(rng, f"{trade} {rng.choice(NAMES)} {form}", form))
    return out


def generate_heldout(out: Path, size: int = 40, seed: int = 11) -> list[Path]:
    """Write ``size`` labelled held-out invoices into ``out``; returns the label files.

    Suppliers number ``max(10, size // 2)``; invoice n goes to supplier n mod that number, so
    with ``size >= 20`` every supplier has at least two invoices.
    """
    rng = random.Random(seed * 7919 + 1)
    out.mkdir(parents=True, exist_ok=True)
    buyers = make_buyers(rng)
    n_sup = max(10, size // 2)
    suppliers = [make_supplier(rng, i, buyers) for i in range(n_sup)]
    day = date(2026, 1, 5)
    written = []
    for n in range(size):
        s = suppliers[n % n_sup]
        day += timedelta(days=rng.randint(0, 4))
        inv = make_invoice(rng, s, day)
        pdf = draw(inv, s, rng)
        stem = out / f"{n:04d}"
        stem.with_suffix(".pdf").write_bytes(pdf)
        labels = {k: v for k, v in inv.items() if not k.startswith("_")}
        labels.update(
            {
                "file": f"{n:04d}.pdf",
                "kind": "text",
                "program": s["program"].name,
                "layout": s["program"].name,
                "supplier_key": s["key"],
                "language": "fr",
            }
        )
        label_path = stem.with_suffix(".json")
        label_path.write_text(json.dumps(labels, ensure_ascii=False, indent=1), "utf-8")
        written.append(label_path)
    return written


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out/heldout"))
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    files = generate_heldout(args.out, args.size, args.seed)
    print(f"{len(files)} held-out documents written to {args.out}")


if __name__ == "__main__":
    main()
