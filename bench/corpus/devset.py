"""Development corpus: labelled French purchase invoices printed the way real programs print them.

Usage::

    python -m bench.corpus.devset --out bench/out/devset --size 80 --seed 3 --scans 10

Each document ``NNNN-<family>.pdf`` has ``NNNN-<family>.json`` beside it; ``--scans N`` also
rasterises N of them (200 dpi, skew within ±1.5°, noise, blur, JPEG 60; ``bench/scans.py``) as
``NNNN-<family>-scan.jpg`` with the same label (``kind`` "scan").

The layout families (``FAMILIES``) imitate invoicing programs: logo and framed customer,
seller on the right, boxed ERP grids, utility bills, e-commerce, craftsmen, consultants,
two-page wholesale invoices, SaaS, transport, credit notes, auto-entrepreneurs, reverse charge,
right-margin ledgers, word-processor templates, modern summaries, hotel folios, dot-matrix
prints. Each draws with random fonts, sizes, positions, column widths, label synonyms and
amount / date formats, and prints distractors (the buyer's identifiers, order, delivery, quote,
period and original-invoice dates, carried-forward subtotals, masked bank accounts).

Labels are the fields *as printed*, in the form of ``extract_file``: amounts as "1234.50"
strings (credit notes positive), ISO dates, ``due_date`` null when only terms such as
"30 jours fin de mois" are printed, ``amount_due`` null when no amount-to-pay line is printed,
``vat_lines`` empty when no rate is printed and their ``base`` null when the bases are not
printed (per-rate VAT amounts without a VAT table). A party's ``siren`` is labelled when its
nine digits are printed as a SIREN, the head of a SIRET or an RCS mention (not from a VAT
number alone), ``siret`` / ``vat_number`` / ``iban`` when printed. An auto-entrepreneur's
total is both HT and TTC, its VAT "0.00". Every identifier has a valid checksum, line totals
add up, VAT is rounded per rate and HT + TVA = TTC.
"""

from __future__ import annotations

import argparse
import calendar
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from schwifty import IBAN
from stdnum import luhn
from stdnum.eu import vat as eu_vat
from stdnum.iso7064 import mod_11_10

from bench.corpus.generate import CITIES, FR_MONTHS, NAMES, fr_vat, make_siren

W, H = A4
CENT = Decimal("0.01")
ZERO = Decimal(0)
D = Decimal


def q(v: Decimal) -> Decimal:
    """Round to the cent, half up."""
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


# -- identifiers -----------------------------------------------------------------------------
def make_siret(rng: random.Random, siren: str) -> str:
    """A SIRET of ``siren`` with a valid Luhn key (establishment number 00010-09999)."""
    nic = f"{rng.choice([1, 1, 2, 3, rng.randint(4, 999)]):04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def iban_from_bban(country: str, bban: str) -> str:
    """The IBAN of a national account number (ISO 13616 check digits)."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def fr_iban(rng: random.Random) -> tuple[str, str]:
    """A French IBAN with a valid RIB key, and a BIC."""
    bank, bic = rng.choice(
        [
            ("30006", "AGRIFRPP"),
            ("30004", "BNPAFRPP"),
            ("10278", "CMCIFR2A"),
            ("20041", "PSSTFRPP"),
            ("30003", "SOGEFRPP"),
            ("10107", "BREDFRPP"),
            ("16958", "QNTOFRP1"),
        ]
    )
    iban = IBAN.generate(
        "FR",
        bank_code=bank + f"{rng.randint(0, 99999):05d}",
        account_code=f"{rng.randint(10**9, 10**11 - 1):011d}",
    )
    return str(iban.compact), bic + rng.choice(["", "XXX", f"{rng.randint(100, 999)}"])


def foreign_ids(rng: random.Random, country: str) -> tuple[str, str]:
    """A valid EU VAT number and IBAN for a German, Belgian, Italian or Dutch supplier."""
    while True:
        if country == "DE":
            body = str(rng.randint(10**7, 10**8 - 1))
            vat = "DE" + body + mod_11_10.calc_check_digit(body)
            iban = str(
                IBAN.generate(
                    "DE",
                    bank_code=rng.choice(["37040044", "10070000", "50010517"]),
                    account_code=str(rng.randint(10**9, 10**10 - 1)),
                ).compact
            )
        elif country == "BE":
            n = f"{rng.randint(2_000_000, 19_999_999):08d}"
            vat = "BE" + n + f"{97 - int(n) % 97:02d}"
            acct = (
                rng.choice(["001", "068", "363", "310", "735"]) + f"{rng.randint(0, 9999999):07d}"
            )
            iban = iban_from_bban("BE", acct + f"{int(acct) % 97 or 97:02d}")
        elif country == "IT":
            body = f"{rng.randint(1_000_000, 9_999_999)}{rng.randint(1, 100):03d}"
            vat = "IT" + body + luhn.calc_check_digit(body)
            iban = str(
                IBAN.generate(
                    "IT",
                    bank_code=rng.choice(["0306909606", "0542811101", "0200801633"]),
                    account_code=f"{rng.randint(10**6, 10**12 - 1):012d}",
                ).compact
            )
        else:  # NL
            digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
            check = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True)) % 11
            if check == 10:
                continue
            vat = "NL" + "".join(map(str, digits)) + str(check) + "B01"
            iban = str(
                IBAN.generate(
                    "NL",
                    bank_code=rng.choice(["ABNA", "INGB", "RABO"]),
                    account_code=f"{rng.randint(10**8, 10**10 - 1):010d}",
                ).compact
            )
        if eu_vat.is_valid(vat):
            return vat, iban


# -- parties ---------------------------------------------------------------------------------
FIRST_NAMES = ["Julie", "Thomas", "Camille", "Nicolas", "Sophie", "Julien", "Claire", "Antoine"]
FIRST_NAMES += ["Émilie", "Mathieu", "Laure", "Pierre", "Manon", "Hugo", "Élodie", "Karim"]
STREETS = ["rue", "avenue", "boulevard", "impasse", "chemin", "place", "allée", "quai"]
STREET_NAMES = ["de la République", "Victor Hugo", "des Lilas", "Jean Jaurès", "du Commerce"]
STREET_NAMES += ["de Verdun", "Pasteur", "des Artisans", "Gambetta", "du Port", "de l'Industrie"]
EXTRA_CITIES = [("35000", "Rennes"), ("21000", "Dijon"), ("38000", "Grenoble")]
EXTRA_CITIES += [("06000", "Nice"), ("49000", "Angers"), ("63000", "Clermont-Ferrand")]
EXTRA_CITIES += [("76000", "Rouen"), ("29200", "Brest"), ("87000", "Limoges")]
ALL_CITIES = CITIES + EXTRA_CITIES
FOREIGN_CITIES = {
    "DE": [("10115", "Berlin", "Allemagne"), ("80331", "München", "Allemagne")],
    "BE": [("1000", "Bruxelles", "Belgique"), ("4000", "Liège", "Belgique")],
    "IT": [("20121", "Milano", "Italie"), ("10121", "Torino", "Italie")],
    "NL": [("1012 AB", "Amsterdam", "Pays-Bas"), ("3011 AA", "Rotterdam", "Pays-Bas")],
}
FOREIGN_FORMS = {"DE": "GmbH", "BE": "SRL", "IT": "S.r.l.", "NL": "B.V."}
# country: (family names, trade words, streets, phone prefix, BICs)
FOREIGN: dict[str, tuple[list[str], list[str], list[str], str, list[str]]] = {
    "DE": (
        ["Schmidt", "Müller", "Weber", "Becker", "Hoffmann"],
        ["Bürotechnik", "Druckerei", "IT-Systeme"],
        ["Hauptstraße", "Bahnhofstraße", "Industriestraße"],
        "49",
        ["COBADEFFXXX", "DEUTDEDBXXX", "GENODEF1S04"],
    ),
    "BE": (
        ["Janssens", "Peeters", "Dubois", "Maes", "Lambert"],
        ["Office Supplies", "Imprimerie", "Informatique"],
        ["Rue Royale", "Avenue Louise", "Rue de la Loi"],
        "32",
        ["GEBABEBB", "BBRUBEBB", "GKCCBEBB"],
    ),
    "IT": (
        ["Rossi", "Bianchi", "Romano", "Colombo", "Ricci"],
        ["Forniture Ufficio", "Stampa", "Informatica"],
        ["Via Roma", "Corso Italia", "Via Garibaldi"],
        "39",
        ["BCITITMM", "UNCRITMM", "BPMOIT22"],
    ),
    "NL": (
        ["de Vries", "Jansen", "Bakker", "Visser", "Smit"],
        ["Kantoorartikelen", "Drukkerij", "ICT"],
        ["Keizersgracht", "Damrak", "Coolsingel"],
        "31",
        ["ABNANL2A", "INGBNL2A", "RABONL2U"],
    ),
}
BUYER_NAMES = [
    "Boulangerie {n}",
    "Garage {n}",
    "Cabinet {n}",
    "Menuiserie {n}",
    "Restaurant Le Bistrot",
    "Pharmacie {n}",
    "SCI Les Tilleuls",
    "Transports {n}",
    "Hôtel du Parc",
    "Atelier {n}",
    "Fromagerie {n}",
    "Agence {n} Immobilier",
    "Coiffure {n}",
    "Ambulances {n}",
    "Librairie {n}",
    "Cave {n}",
]
FORMS = ["SARL", "SAS", "SASU", "EURL", "SA"]


@dataclass
class Party:
    """A company on the invoice with its (valid) identifiers."""

    name: str
    street: str
    zip: str
    city: str
    country: str = "FR"
    country_name: str = ""
    form: str | None = None
    capital: int | None = None
    siren: str | None = None
    siret: str | None = None
    vat: str | None = None
    iban: str | None = None
    bic: str | None = None
    ape: str | None = None
    phone: str = ""
    email: str = ""
    web: str = ""
    code: str = ""  # the buyer's customer code at the supplier


def _phone(rng: random.Random) -> str:
    return f"0{rng.randint(1, 5)} " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))


def _slug(name: str) -> str:
    keep = "".join(ch for ch in name.lower() if ch.isalnum() or ch == " ")
    table = str.maketrans("éèêëàâîïôûùç", "eeeeaaiiouuc")
    words = [w for w in keep.translate(table).split() if w.upper() not in FORMS + ["EI"]]
    return "-".join(words[:3]) or "contact"


def make_party(
    rng: random.Random,
    name: str,
    *,
    ape: str = "4690Z",
    form: str | None = None,
    capital: bool = True,
    country: str = "FR",
) -> Party:
    """A supplier or buyer with address, identifiers, bank account and contact."""
    if country != "FR":
        zip_, city, cname = rng.choice(FOREIGN_CITIES[country])
        vat, iban = foreign_ids(rng, country)
        _names, _trades, streets, prefix, bics = FOREIGN[country]
        return Party(
            name=name,
            street=f"{rng.choice(streets)} {rng.randint(1, 180)}",
            zip=zip_,
            city=city,
            country=country,
            country_name=cname,
            form=FOREIGN_FORMS[country],
            vat=vat,
            iban=iban,
            bic=rng.choice(bics),
            phone=f"+{prefix} {rng.randint(10, 99)} {rng.randint(100000, 9999999)}",
            email=f"invoice@{_slug(name)}.eu",
        )
    siren = make_siren(rng)
    zip_, city = rng.choice(ALL_CITIES)
    iban, bic = fr_iban(rng)
    return Party(
        name=name,
        street=f"{rng.randint(1, 140)}{rng.choice(['', '', '', ' bis'])} {rng.choice(STREETS)} "
        f"{rng.choice(STREET_NAMES)}",
        zip=zip_,
        city=city,
        form=form or rng.choice(FORMS),
        capital=rng.choice([1000, 5000, 7500, 10000, 15000, 37000, 50000, 100000, 250000])
        if capital
        else None,
        siren=siren,
        siret=make_siret(rng, siren),
        vat=fr_vat(siren),
        iban=iban,
        bic=bic,
        ape=ape,
        phone=_phone(rng),
        email=f"{rng.choice(['contact', 'compta', 'facturation', 'info'])}@{_slug(name)}.fr",
        web=f"www.{_slug(name)}.fr",
    )


def make_buyer(rng: random.Random) -> Party:
    """The accounting firm's client the invoice is addressed to."""
    name = rng.choice(BUYER_NAMES).format(n=rng.choice(NAMES))
    form = rng.choice(FORMS)
    if rng.random() < 0.5:
        name = f"{name} {form}" if rng.random() < 0.6 else f"{form} {name}"
    party = make_party(rng, name, form=form)
    party.code = rng.choice(
        [
            f"C{rng.randint(1, 99999):05d}",
            f"411{_slug(name)[:3].upper()}{rng.randint(1, 99):02d}",
            f"{rng.randint(100000, 9999999)}",
            f"CLI-{rng.randint(100, 9999)}",
        ]
    )
    return party


# -- invoice model ---------------------------------------------------------------------------
@dataclass
class Line:
    """One invoice line."""

    desc: str
    qty: Decimal
    unit: str
    pu: Decimal
    rate: Decimal
    disc: Decimal = ZERO
    ref: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """Line amount excluding tax, rounded to the cent."""
        return q(self.qty * self.pu * (1 - self.disc / 100))


@dataclass
class Inv:
    """An invoice or credit note with its computed totals."""

    supplier: Party
    buyer: Party
    number: str
    day: date
    lines: list[Line]
    kind: str = "invoice"
    due: date | None = None
    regime: str = "standard"  # standard | exempt | reverse_charge | intra_eu
    discount_pct: Decimal = ZERO
    shipping: Decimal = ZERO
    ship_rate: Decimal | None = None  # shipping follows the goods: the main rate by default
    deposit: Decimal = ZERO
    terms: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    gross: dict[Decimal, Decimal] = field(default_factory=dict)
    disc: dict[Decimal, Decimal] = field(default_factory=dict)
    base: dict[Decimal, Decimal] = field(default_factory=dict)
    vat: dict[Decimal, Decimal] = field(default_factory=dict)

    def compute(self) -> Inv:
        """Per-rate bases (lines - discount + shipping) and VAT rounded per rate."""
        self.gross, self.disc, self.base, self.vat = {}, {}, {}, {}
        for line in self.lines:
            self.gross[line.rate] = self.gross.get(line.rate, ZERO) + line.total
        if self.ship_rate is None:
            self.ship_rate = max(self.gross, key=lambda r: (self.gross[r], r))
        rates = set(self.gross) | ({self.ship_rate} if self.shipping else set())
        for r in sorted(rates, reverse=True):
            g = self.gross.get(r, ZERO)
            self.disc[r] = q(g * self.discount_pct / 100)
            self.base[r] = g - self.disc[r] + (self.shipping if r == self.ship_rate else ZERO)
            taxed = self.regime == "standard"
            self.vat[r] = q(self.base[r] * r / 100) if taxed else ZERO
        return self

    @property
    def lines_total(self) -> Decimal:
        return sum(self.gross.values(), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum(self.disc.values(), ZERO)

    @property
    def ht(self) -> Decimal:
        return sum(self.base.values(), ZERO)

    @property
    def tva(self) -> Decimal:
        return sum(self.vat.values(), ZERO)

    @property
    def ttc(self) -> Decimal:
        return self.ht + self.tva

    @property
    def amount_due(self) -> Decimal:
        return self.ttc - self.deposit

    @property
    def rates(self) -> list[Decimal]:
        return sorted(self.base, reverse=True)


def rand_day(rng: random.Random) -> date:
    """An invoice date between January 2025 and June 2026."""
    return date(2025, 1, 2) + timedelta(days=rng.randint(0, 540))


def end_of_month(d: date, days: int) -> date:
    """``days`` days end of month (the French "30 jours fin de mois")."""
    d = d + timedelta(days=days)
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def invoice_number(rng: random.Random, day: date, shape: str | None = None) -> str:
    """An invoice number in one of the usual program shapes."""
    shape = shape or rng.choice(
        ["FA2026-0012", "2026/118", "F-000123", "123456", "FAC-26-04-0007", "FA-2026-0012"]
        + ["2026-0042", "FC26/00412", "F2026031", "INV-2026-0193"]
    )
    y, m, n = day.year, day.month, rng.randint(1, 2999)
    return {
        "FA2026-0012": f"FA{y}-{n:04d}",
        "2026/118": f"{y}/{n}",
        "F-000123": f"F-{rng.randint(100, 99999):06d}",
        "123456": f"{rng.randint(100000, 999999)}",
        "FAC-26-04-0007": f"FAC-{y % 100:02d}-{m:02d}-{rng.randint(1, 300):04d}",
        "FA-2026-0012": f"FA-{y}-{n:04d}",
        "2026-0042": f"{y}-{n:04d}",
        "FC26/00412": f"FC{y % 100:02d}/{rng.randint(1, 99999):05d}",
        "F2026031": f"F{y}{m:02d}{rng.randint(1, 999):03d}",
        "INV-2026-0193": f"INV-{y}-{n:04d}",
        "long": f"{rng.randint(10**9, 10**12 - 1)}",
        "AV": f"AV-{y}-{rng.randint(1, 300):03d}",
        "AV2": f"AV{y % 100:02d}{rng.randint(1, 9999):05d}",
    }[shape]


def money(rng: random.Random, lo: float, hi: float) -> Decimal:
    """A unit price between lo and hi, usually ending nicely."""
    v = D(str(round(rng.uniform(lo, hi), 2)))
    if rng.random() < 0.4:
        v = D(int(v))
    elif rng.random() < 0.3:
        v = D(int(v)) + D("0.90")
    return max(v, D("0.10"))


# -- formats ---------------------------------------------------------------------------------
FONTS = [
    ("Helvetica", "Helvetica-Bold", None, None),
    ("Helvetica", "Helvetica-Bold", None, None),
    ("Times-Roman", "Times-Bold", None, None),
    ("Vera", "VeraBd", "Vera.ttf", "VeraBd.ttf"),
    (
        "LiberationSans",
        "LiberationSans-Bold",
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
    ),
    (
        "LiberationSerif",
        "LiberationSerif-Bold",
        "LiberationSerif-Regular.ttf",
        "LiberationSerif-Bold.ttf",
    ),
    ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    (
        "DejaVuSansCondensed",
        "DejaVuSansCondensed-Bold",
        "DejaVuSansCondensed.ttf",
        "DejaVuSansCondensed-Bold.ttf",
    ),
    (
        "LiberationSansNarrow",
        "LiberationSansNarrow-Bold",
        "LiberationSansNarrow-Regular.ttf",
        "LiberationSansNarrow-Bold.ttf",
    ),
]
_REGISTERED: dict[str, str] = {}


def font_pair(choice: tuple[str, str, str | None, str | None]) -> tuple[str, str]:
    """Register a TTF pair once (bundled with reportlab or in the system font folders);
    Helvetica when not found, so a missing font never changes the random choices."""
    regular, bold, f_regular, f_bold = choice
    if f_regular is None or f_bold is None:
        return regular, bold
    out = []
    for name, file in ((regular, f_regular), (bold, f_bold)):
        if name not in _REGISTERED:
            try:
                pdfmetrics.registerFont(TTFont(name, file))
                _REGISTERED[name] = name
            except Exception:  # noqa: BLE001 - font not installed
                _REGISTERED[name] = "Helvetica-Bold" if name == bold else "Helvetica"
        out.append(_REGISTERED[name])
    return out[0], out[1]


ACCENTS = [
    Color(0.05, 0.2, 0.45),
    Color(0.0, 0.42, 0.45),
    Color(0.55, 0.08, 0.1),
    Color(0.25, 0.25, 0.25),
    Color(0.1, 0.45, 0.2),
    Color(0.45, 0.2, 0.55),
    Color(0.85, 0.4, 0.0),
]
LIGHT = Color(0.9, 0.9, 0.9)


@dataclass
class Style:
    """How one document prints dates, amounts, rates and text."""

    font: str
    bold: str
    size: float
    date_fmt: str  # slash | dot | long | dash | short
    sep: str  # space | plain | dot | nbsp
    cur: str  # "" | " €" | "€" | " EUR"
    cur_lines: bool  # currency also on line amounts
    rate_fmt: str  # "20 %" | "20%" | "20,00 %" | "20,00"
    first_er: bool  # "1er mars"
    accent: Color
    lead: float


def random_style(rng: random.Random, mono: bool = False) -> Style:
    """A random style; ``mono`` for dot-matrix prints (Courier)."""
    if mono:
        font, bold = "Courier", "Courier-Bold"
    else:
        font, bold = font_pair(rng.choice(FONTS))
    size = rng.choice([8, 8.5, 9, 9, 9.5, 10, 10.5])
    return Style(
        font=font,
        bold=bold,
        size=size,
        date_fmt=rng.choice(["slash", "slash", "slash", "dot", "long", "long", "dash"]),
        sep=rng.choice(["space", "space", "plain", "dot", "nbsp"]),
        cur=rng.choice([" €", " €", "€", "", " EUR"]),
        cur_lines=rng.random() < 0.4,
        rate_fmt=rng.choice(["20 %", "20 %", "20%", "20,00 %", "20,00"]),
        first_er=rng.random() < 0.5,
        accent=rng.choice(ACCENTS),
        lead=size * rng.uniform(1.25, 1.5),
    )


def fmt_amount(v: Decimal, sep: str, cur: str, places: int = 2) -> str:
    """French amount: "1 234,56 €", "1234,56", "1.234,56 EUR"..."""
    sign = "-" if v < 0 else ""
    whole, frac = f"{abs(v):.{places}f}".split(".")
    if sep != "plain":
        whole = f"{int(whole):,}".replace(",", {"space": " ", "dot": ".", "nbsp": "\u00a0"}[sep])
    return f"{sign}{whole},{frac}{cur}"


def fmt_date(d: date, how: str, first_er: bool = False) -> str:
    """French date: "12/03/2026", "12.03.2026", "12 mars 2026", "12-03-2026", "12/03/26"."""
    if how == "slash":
        return d.strftime("%d/%m/%Y")
    if how == "dot":
        return d.strftime("%d.%m.%Y")
    if how == "dash":
        return d.strftime("%d-%m-%Y")
    if how == "short":
        return d.strftime("%d/%m/%y")
    day = "1er" if d.day == 1 and first_er else str(d.day)
    return f"{day} {FR_MONTHS[d.month - 1]} {d.year}"


def fmt_rate(r: Decimal, how: str) -> str:
    """A VAT rate: "20 %", "5,5%", "20,00 %", "2,10"."""
    if how in ("20,00 %", "20,00"):
        txt = f"{r:.2f}".replace(".", ",")
    else:
        txt = f"{r.normalize():f}".replace(".", ",")
    return {"20 %": f"{txt} %", "20%": f"{txt}%", "20,00 %": f"{txt} %", "20,00": txt}[how]


def fmt_qty(v: Decimal, decimals: bool) -> str:
    """A quantity: "3", "2,5" or "3,00"."""
    if decimals:
        return f"{v:.2f}".replace(".", ",")
    return f"{v.normalize():f}".replace(".", ",")


def spaced(s: str, groups: tuple[int, ...]) -> str:
    """Split ``s`` into groups of the given sizes, space separated."""
    out, i = [], 0
    for g in groups:
        out.append(s[i : i + g])
        i += g
    if i < len(s):
        out.append(s[i:])
    return " ".join(x for x in out if x)


# -- label synonyms --------------------------------------------------------------------------
LAB: dict[str, list[str]] = {
    "number": [
        "Facture N°",
        "N° de facture",
        "Facture n°",
        "Numéro de facture",
        "Numéro",
        "N° facture",
        "Référence",
        "Pièce n°",
    ],
    "date": ["Date", "Date de facture", "Date de facturation", "Date d'émission", "Émise le"],
    "due": [
        "Échéance",
        "Date d'échéance",
        "À payer avant le",
        "Date limite de paiement",
        "Payable le",
        "À régler avant le",
    ],
    "client": ["Client", "Facturé à", "Adresse de facturation", "Destinataire", "Doit"],
    "code": ["Code client", "N° client", "Réf. client", "Compte client", "Votre code client"],
    "ht": ["Total HT", "Montant HT", "Total H.T.", "Total hors taxes", "Total HT net"],
    "tva": ["TVA", "Total TVA", "Montant TVA", "T.V.A."],
    "ttc": ["Total TTC", "Montant TTC", "Total T.T.C.", "Total toutes taxes comprises"],
    "pay": ["Net à payer", "Montant à payer", "Total à payer", "NET À PAYER"],
    "ref": ["Réf.", "Référence", "Code", "Article", "Réf"],
    "desc": ["Désignation", "Description", "Libellé", "Désignation des produits"],
    "qty": ["Qté", "Quantité", "Qté.", "Qte"],
    "unit": ["Unité", "U.", "Un.", "Unité"],
    "pu": ["PU HT", "P.U. HT", "Prix unit. HT", "Prix unitaire HT", "PU", "Prix HT"],
    "disc": ["Remise", "Rem. %", "Remise %", "Rem."],
    "rate": ["TVA", "Taux TVA", "TVA %", "Tx TVA"],
    "total": ["Montant HT", "Total HT", "Montant", "Total", "Mt HT"],
    "vat_rate": ["Taux", "Taux TVA", "TVA %", "Taux de TVA"],
    "vat_base": ["Base HT", "Base", "Montant HT", "Assiette"],
    "vat_amount": ["Montant TVA", "TVA", "Montant", "Total TVA"],
}
PENALTIES = [
    "En cas de retard de paiement, une pénalité égale à 3 fois le taux d'intérêt légal sera "
    "exigible, ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 €.",
    "Pénalités de retard : 3 fois le taux d'intérêt légal. Indemnité forfaitaire pour frais de "
    "recouvrement : 40 € (art. L441-10 et D441-5 du Code de commerce).",
    "Tout retard de paiement entraîne de plein droit des pénalités au taux de 10 % l'an et une "
    "indemnité forfaitaire de 40 € pour frais de recouvrement. Pas d'escompte pour paiement "
    "anticipé.",
    "Conformément à l'article L441-10 du Code de commerce, tout retard de paiement donne lieu à "
    "des pénalités calculées à 3 fois le taux d'intérêt légal et à une indemnité forfaitaire de "
    "40 euros. Escompte pour règlement anticipé : néant.",
]
TERMS_ONLY = [
    "30 jours fin de mois",
    "45 jours fin de mois",
    "Paiement à 30 jours fin de mois",
    "Règlement à réception de facture",
    "Paiement comptant à réception",
    "60 jours date de facture",
    "Virement à 30 jours",
]


# -- drawing ---------------------------------------------------------------------------------
class Pen:
    """A reportlab canvas with the document's fonts and a few drawing helpers."""

    def __init__(self, style: Style) -> None:
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=A4, pageCompression=1)
        self.s = style
        self.page = 1

    def width(self, s: str, size: float | None = None, bold: bool = False) -> float:
        return pdfmetrics.stringWidth(s, self.s.bold if bold else self.s.font, size or self.s.size)

    def t(
        self,
        x: float,
        y: float,
        s: str,
        size: float | None = None,
        bold: bool = False,
        align: str = "l",
        color: Color | None = None,
        font: str | None = None,
    ) -> None:
        """Draw a string left ("l"), right ("r") or centre ("c") aligned."""
        if not s:
            return
        c = self.c
        c.setFont(font or (self.s.bold if bold else self.s.font), size or self.s.size)
        c.setFillColor(color or black)
        if align == "r":
            c.drawRightString(x, y, s)
        elif align == "c":
            c.drawCentredString(x, y, s)
        else:
            c.drawString(x, y, s)
        c.setFillColor(black)

    def fit(self, s: str, w: float, size: float | None = None, bold: bool = False) -> str:
        """``s`` cut at a word so it fits in ``w`` points."""
        cut = False
        while s and self.width(s, size, bold) > w:
            s = s.rsplit(" ", 1)[0] if " " in s else s[:-1]
            cut = True
        return s.rstrip(" -(,") if cut else s

    def wrap(self, s: str, w: float, size: float | None = None) -> list[str]:
        """``s`` broken into lines of at most ``w`` points."""
        out, cur = [], ""
        for word in s.split():
            trial = f"{cur} {word}".strip()
            if self.width(trial, size) > w and cur:
                out.append(cur)
                cur = word
            else:
                cur = trial
        return [*out, cur] if cur else out

    def para(self, x: float, y: float, s: str, w: float, size: float, lead: float) -> float:
        """A wrapped paragraph; returns the y below it."""
        for line in self.wrap(s, w, size):
            self.t(x, y, line, size=size)
            y -= lead
        return y

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: Color | None = None,
        stroke: bool = True,
        radius: float = 0,
        lw: float = 0.6,
    ) -> None:
        c = self.c
        c.setLineWidth(lw)
        if fill is not None:
            c.setFillColor(fill)
        if radius:
            c.roundRect(x, y, w, h, radius, stroke=int(stroke), fill=int(fill is not None))
        else:
            c.rect(x, y, w, h, stroke=int(stroke), fill=int(fill is not None))
        c.setFillColor(black)

    def hl(self, x0: float, x1: float, y: float, lw: float = 0.5, color: Color | None = None):
        self.c.setLineWidth(lw)
        self.c.setStrokeColor(color or black)
        self.c.line(x0, y, x1, y)
        self.c.setStrokeColor(black)

    def vl(self, x: float, y0: float, y1: float, lw: float = 0.5) -> None:
        self.c.setLineWidth(lw)
        self.c.line(x, y0, x, y1)

    def show_page(self) -> None:
        self.c.showPage()
        self.page += 1

    def pdf(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self.buf.getvalue()


@dataclass
class Col:
    """A column of a line table."""

    key: str
    title: str
    width: float
    align: str = "r"


class Gen:
    """One document being drawn: the invoice, its style, pen and what got printed."""

    def __init__(self, rng: random.Random, inv: Inv, family: str, mono: bool = False) -> None:
        self.rng = rng
        self.inv = inv
        self.family = family
        self.mono = mono
        self.style = random_style(rng, mono)
        self.pen = Pen(self.style)
        self.marks: set[str] = set()
        self.M = rng.uniform(30, 48)
        self.pages = 1  # total pages, known on the second drawing pass
        self.footer: Callable[[Gen], None] | None = None
        self.cont_header: Callable[[Gen], float] | None = None
        self.upper = mono

    # formatting --------------------------------------------------------------------------
    def a(self, v: Decimal, cur: bool = True) -> str:
        return fmt_amount(v, self.style.sep, self.style.cur if cur else "")

    def al(self, v: Decimal) -> str:
        """A line amount (with the currency only when the style says so)."""
        return self.a(v, self.style.cur_lines)

    def d(self, day: date) -> str:
        return fmt_date(day, self.style.date_fmt, self.style.first_er)

    def r(self, rate: Decimal) -> str:
        return fmt_rate(rate, self.style.rate_fmt)

    def pick(self, key: str, among: list[str] | None = None) -> str:
        s = self.rng.choice(among or LAB[key])
        return s.upper() if self.upper else s

    def mark(self, *names: str) -> None:
        self.marks.update(names)

    @property
    def lead(self) -> float:
        return self.style.lead

    @property
    def size(self) -> float:
        return self.style.size

    # identifiers as printed --------------------------------------------------------------
    def siren_txt(self, siren: str) -> str:
        return self.rng.choice([spaced(siren, (3, 3, 3)), siren])

    def siret_txt(self, siret: str) -> str:
        return self.rng.choice([spaced(siret, (3, 3, 3, 5)), siret, spaced(siret, (3, 3, 3, 3, 2))])

    def vat_txt(self, vat: str) -> str:
        if not vat.startswith("FR"):
            return self.rng.choice([vat, f"{vat[:2]} {vat[2:]}"])
        return self.rng.choice(
            [vat, f"FR {vat[2:4]} {vat[4:]}", f"FR{vat[2:4]} {spaced(vat[4:], (3, 3, 3))}"]
        )

    def iban_txt(self, iban: str) -> str:
        return self.rng.choice([spaced(iban, (4,) * 8), spaced(iban, (4,) * 8), iban])

    def capital_txt(self, p: Party) -> str:
        amount = fmt_amount(D(p.capital or 0), self.rng.choice(["space", "dot", "plain"]), "")
        amount = amount[:-3] if self.rng.random() < 0.4 else amount
        return f"{p.form} au capital de {amount} {self.rng.choice(['€', 'euros', 'EUR'])}"

    def id_mention(self, p: Party, kind: str, who: str = "supplier") -> str:
        """One legal mention of a party, marking the identifiers it prints."""
        rng = self.rng
        if kind == "siret" and p.siret:
            self.mark(f"{who}.siret", f"{who}.siren")
            label = rng.choice(["SIRET", "SIRET :", "Siret", "N° SIRET :", "SIRET n°"])
            return f"{label} {self.siret_txt(p.siret)}"
        if kind == "siren" and p.siren:
            self.mark(f"{who}.siren")
            return f"{rng.choice(['SIREN', 'SIREN :', 'Siren'])} {self.siren_txt(p.siren)}"
        if kind == "rcs" and p.siren:
            self.mark(f"{who}.siren")
            return rng.choice(
                [
                    f"RCS {p.city} {self.siren_txt(p.siren)}",
                    f"R.C.S. {p.city} B {self.siren_txt(p.siren)}",
                    f"RCS {p.city} B {p.siren}",
                ]
            )
        if kind == "vat" and p.vat:
            self.mark(f"{who}.vat_number")
            label = rng.choice(
                [
                    "N° TVA intracommunautaire :",
                    "N° TVA intracommunautaire",
                    "TVA intracom. :",
                    "N° TVA :",
                    "TVA Intra :",
                    "Numéro de TVA :",
                    "Identifiant TVA :",
                ]
            )
            return f"{label} {self.vat_txt(p.vat)}"
        if kind == "ape" and p.ape:
            return rng.choice([f"APE {p.ape}", f"Code APE : {p.ape}", f"NAF {p.ape}"])
        if kind == "capital" and p.capital:
            return self.capital_txt(p)
        if kind == "iban" and p.iban:
            self.mark(f"{who}.iban")
            bic = f"  BIC : {p.bic}" if p.bic and rng.random() < 0.8 else ""
            return f"IBAN : {self.iban_txt(p.iban)}{bic}"
        return ""

    def legal_parts(self, p: Party, kinds: list[str]) -> list[str]:
        return [m for m in (self.id_mention(p, k) for k in kinds) if m]

    def random_legal(self, p: Party, vat: bool = True) -> list[str]:
        """A random set of legal mentions, ordered as programs print them."""
        rng = self.rng
        kinds = ["capital"] if rng.random() < 0.7 else []
        kinds += rng.choice([["rcs", "siret"], ["siret"], ["rcs"], ["siren", "siret"], ["siret"]])
        kinds += ["ape"] if rng.random() < 0.6 else []
        kinds += ["vat"] if vat else []
        return self.legal_parts(p, kinds)

    # common blocks -----------------------------------------------------------------------
    def seller_block(
        self,
        x: float,
        y: float,
        *,
        align: str = "l",
        logo: float = 0,
        ids: list[str] | None = None,
        contact: bool = True,
        name_bold: bool = True,
    ) -> float:
        """Supplier name (logo size when ``logo``), address, contact and identifiers."""
        p, s = self.inv.supplier, self.pen
        name = p.name.upper() if (logo and self.rng.random() < 0.4) or self.upper else p.name
        if logo:
            y -= logo
            s.t(x, y, name, size=logo, bold=True, align=align, color=self.style.accent)
            y -= self.lead * 1.2
            if self.rng.random() < 0.4:
                tag = self.inv.extra.get("tagline", "")
                s.t(x, y, tag, size=self.size * 0.95, align=align)
                y -= self.lead if tag else 0
        else:
            y -= self.size * 1.2
            s.t(x, y, name, size=self.size * 1.2, bold=name_bold, align=align)
            y -= self.lead
        lines = [p.street, f"{p.zip} {p.city}"]
        if p.country != "FR":
            lines.append(p.country_name)
        if contact:
            lines += [
                self.rng.choice([f"Tél. : {p.phone}", f"Tél {p.phone}", p.phone]),
                p.email if self.rng.random() < 0.7 else p.web,
            ]
        lines += [self.id_mention(p, k) for k in ids or []]
        for line in lines:
            if line:
                s.t(x, y, line.upper() if self.upper else line, align=align)
                y -= self.lead
        return y

    def buyer_lines(self, *, ids: str = "random", code: bool = False) -> list[str]:
        """The buyer's block lines, with its own identifiers (a trap for the reader)."""
        b, rng = self.inv.buyer, self.rng
        lines = [b.name]
        if rng.random() < 0.35:
            lines.append(
                f"{rng.choice(['À l’attention de', 'Att.', 'Contact :'])} "
                f"{rng.choice(FIRST_NAMES)} {rng.choice(NAMES)}"
            )
        lines += [b.street, f"{b.zip} {b.city}"]
        if rng.random() < 0.2:
            lines.append("FRANCE")
        self.mark("buyer.name")
        if ids == "random":
            ids = rng.choice(["none", "vat", "siret", "both", "siren"])
        if code:
            lines.append(f"{self.pick('code')} : {b.code}")
        if ids in ("vat", "both") and b.vat:
            self.mark("buyer.vat_number")
            label = rng.choice(["N° TVA :", "TVA intracom. :", "N° TVA client :", "TVA :"])
            lines.append(f"{label} {self.vat_txt(b.vat)}")
        if ids in ("siret", "both") and b.siret:
            self.mark("buyer.siret", "buyer.siren")
            lines.append(f"{rng.choice(['SIRET :', 'Siret :', 'SIRET'])} {self.siret_txt(b.siret)}")
        if ids == "siren" and b.siren:
            self.mark("buyer.siren")
            lines.append(f"SIREN : {self.siren_txt(b.siren)}")
        return [ln.upper() for ln in lines] if self.upper else lines

    def buyer_block(
        self,
        x: float,
        y: float,
        w: float,
        *,
        frame: bool = True,
        heading: str | None = "random",
        ids: str = "random",
        code: bool = False,
        fill: bool = False,
    ) -> float:
        """The buyer's block, framed or not, under a heading; returns the y below it."""
        s, rng = self.pen, self.rng
        if heading == "random":
            heading = rng.choice([*LAB["client"], None])
        lines = self.buyer_lines(ids=ids, code=code)
        pad = 8 if frame else 0
        top = y
        if heading:
            y -= self.size
            s.t(x + pad, y - pad / 2, heading + rng.choice(["", " :"]), bold=rng.random() < 0.6)
            y -= self.lead * 1.1
        for k, line in enumerate(lines):
            y -= self.lead if k else self.size
            s.t(x + pad, y - pad / 2, s.fit(line, w - 2 * pad), bold=k == 0 and rng.random() < 0.7)
            if k == 0:
                y -= self.lead * 0.3
        y -= pad + self.lead * 0.35
        if frame:
            s.box(
                x,
                y - pad / 2,
                w,
                top - y + pad / 2,
                fill=Color(0.95, 0.95, 0.95) if fill else None,
                radius=rng.choice([0, 0, 4]),
            )
        return y - pad - self.lead * 0.8

    def meta(
        self,
        x: float,
        y: float,
        items: list[tuple[str, str]],
        *,
        mode: str = "colon",
        label_w: float = 90,
        right: float | None = None,
        bold_labels: bool = False,
        dots: bool = False,
    ) -> float:
        """Label / value lines: "Label : value", aligned columns, or value at ``right``."""
        s = self.pen
        for label, value in items:
            if mode == "colon":
                sep = self.rng.choice([" : ", " : ", ": "])
                s.t(x, y, label + sep, bold=bold_labels)
                s.t(x + s.width(label + sep, bold=bold_labels), y, value)
            elif mode == "aligned":
                s.t(x, y, label + (" :" if self.rng.random() < 0.5 else ""), bold=bold_labels)
                s.t(x + label_w, y, value)
            else:  # right margin
                s.t(x, y, label, bold=bold_labels)
                s.t(right or W - self.M, y, value, align="r")
                if dots:
                    x0 = x + s.width(label, bold=bold_labels) + 4
                    x1 = (right or W - self.M) - s.width(value) - 4
                    n = int((x1 - x0) / s.width("."))
                    s.t(x0, y, "." * max(n, 0))
            y -= self.lead
        return y

    def grid(
        self,
        x: float,
        y: float,
        items: list[tuple[str, str]],
        widths: list[float],
        *,
        fill: Color | None = LIGHT,
        head_color: Color | None = None,
        align: str = "c",
    ) -> float:
        """A boxed header row of labels with the values in the row below."""
        s = self.pen
        h = self.lead + 6
        cx = x
        for (label, value), w in zip(items, widths, strict=True):
            s.box(cx, y - h, w, h, fill=fill)
            s.box(cx, y - 2 * h, w, h)
            px = cx + w / 2 if align == "c" else cx + 4
            s.t(px, y - h + 5, s.fit(label, w - 4), bold=True, align=align, color=head_color)
            s.t(px, y - 2 * h + 5, s.fit(value, w - 4), align=align)
            cx += w
        return y - 2 * h - 6

    # lines table -------------------------------------------------------------------------
    def columns(self, keys: list[str], x0: float, x1: float) -> list[Col]:
        """Columns for ``keys`` spanning x0-x1, the description taking what is left."""
        base = {"ref": 55, "qty": 38, "unit": 38, "pu": 62, "disc": 42, "rate": 40, "total": 70}
        base |= {"date": 58, "bl": 62, "weight": 52, "route": 150}
        cols = []
        for k in keys:
            width = base.get(k, 0) * self.rng.uniform(0.9, 1.25) * self.size / 9
            own = {
                "rate": ["Code TVA", "TVA", "Cd TVA", "C. TVA"]
                if self.inv.extra.get("rate_codes")
                else None,
                "date": ["Date"],
                "bl": ["N° BL", "BL n°", "Bon de livraison"],
                "weight": ["Poids kg", "Poids (kg)", "Kg"],
                "route": ["Trajet", "Parcours"],
            }
            title = self.pick(k, own.get(k))
            align = "l" if k in ("ref", "desc", "route", "bl", "date") else "r"
            align = "c" if k in ("unit", "rate") and self.rng.random() < 0.5 else align
            if k != "desc":
                width = max(width, self.pen.width(title, bold=True) + 8)
            cols.append(Col(k, title, width, align))
        fixed = sum(c.width for c in cols if c.key != "desc")
        for c in cols:
            if c.key == "desc":
                c.width = max(x1 - x0 - fixed, 120)
        scale = (x1 - x0) / sum(c.width for c in cols)
        for c in cols:
            c.width *= scale
        return cols

    def cell(self, line: Line, key: str) -> str:
        rate_code = self.inv.extra.get("rate_codes")
        vals = {
            "ref": line.ref,
            "desc": line.desc,
            "qty": fmt_qty(line.qty, self.inv.extra.get("qty_decimals", False)),
            "unit": line.unit,
            "pu": self.al(line.pu)
            if line.pu == q(line.pu)
            else fmt_amount(line.pu, self.style.sep, "", 4),
            "disc": fmt_rate(line.disc, "20 %") if line.disc else "",
            "rate": rate_code[line.rate] if rate_code else self.r(line.rate),
            "total": self.al(line.total),
        }
        vals |= {k: str(v) for k, v in line.info.items()}
        out = vals.get(key, "")
        return out.upper() if self.upper and key == "desc" else out

    def table(
        self,
        x0: float,
        x1: float,
        y: float,
        keys: list[str],
        *,
        head: str = "fill",  # fill | dark | line | box
        grid: bool = False,
        zebra: bool = False,
        carry: bool = False,
        bottom: float = 120,
    ) -> float:
        """The line table, continued on new pages when it does not fit; returns the y below."""
        s, rng = self.pen, self.rng
        cols = self.columns(keys, x0, x1)
        row_h = self.lead * rng.uniform(1.1, 1.45)
        head_h = self.lead + 7
        accent = self.style.accent

        def draw_head(y: float) -> float:
            if head in ("fill", "dark", "box"):
                fill = accent if head == "dark" else LIGHT if head == "fill" else None
                s.box(x0, y - head_h, x1 - x0, head_h, fill=fill, stroke=head != "dark")
            else:
                s.hl(x0, x1, y - head_h, lw=1)
                s.hl(x0, x1, y, lw=1)
            cx = x0
            for c in cols:
                px = cx + 3 if c.align == "l" else cx + c.width - 3 if c.align == "r" else cx
                px = cx + c.width / 2 if c.align == "c" else px
                title = c.title.upper() if self.upper else c.title
                color = white if head == "dark" else None
                s.t(
                    px,
                    y - head_h + 5,
                    s.fit(title, c.width - 4, bold=True),
                    bold=True,
                    align=c.align,
                    color=color,
                )
                cx += c.width
            return y - head_h

        y = draw_head(y)
        top = y
        running = ZERO
        for k, line in enumerate(self.inv.lines):
            if y - row_h < bottom:
                if grid:
                    self.col_rules(x0, cols, top, y)
                if carry:
                    s.t(
                        x1 - 90,
                        y - self.lead,
                        self.rng.choice(["À reporter", "A reporter"]),
                        align="r",
                        bold=True,
                    )
                    s.t(x1 - 3, y - self.lead, self.a(running), align="r", bold=True)
                y = self.new_page()
                if carry:
                    s.t(x1 - 90, y - self.lead, "Report", align="r", bold=True)
                    s.t(x1 - 3, y - self.lead, self.a(running), align="r", bold=True)
                    y -= self.lead * 2
                y = draw_head(y)
                top = y
            if zebra and k % 2:
                s.box(x0, y - row_h, x1 - x0, row_h, fill=Color(0.96, 0.96, 0.96), stroke=False)
            cx = x0
            for c in cols:
                txt = s.fit(self.cell(line, c.key), c.width - 6)
                px = cx + 3 if c.align == "l" else cx + c.width - 3
                px = cx + c.width / 2 if c.align == "c" else px
                s.t(px, y - row_h + (row_h - self.size) / 2 + 1.5, txt, align=c.align)
                cx += c.width
            y -= row_h
            running += line.total
        if grid:
            self.col_rules(x0, cols, top, y)
            s.hl(x0, x1, y)
        else:
            s.hl(x0, x1, y, lw=0.7)
        return y - 8

    def col_rules(self, x0: float, cols: list[Col], top: float, bottom: float) -> None:
        cx = x0
        self.pen.vl(cx, top, bottom)
        for c in cols:
            cx += c.width
            self.pen.vl(cx, top, bottom)

    def new_page(self) -> float:
        """Finish the page (footer), start the next one; returns the top y for content."""
        if self.footer:
            self.footer(self)
        self.pen.show_page()
        if self.cont_header:
            return self.cont_header(self)
        y = H - self.M - 10
        self.pen.t(self.M, y, f"{self.title_word()} {self.inv.number} (suite)", bold=True)
        self.pen.t(W - self.M, y, f"Page {self.pen.page}/{self.pages}", align="r")
        return y - 30

    def need(self, h: float, bottom: float = 70) -> float | None:
        """A new page's top y when ``h`` points do not fit below the current y, else None."""
        return None if self._y - h > bottom else self.new_page()

    _y: float = 0.0

    def title_word(self) -> str:
        return "Avoir" if self.inv.kind == "credit_note" else "Facture"

    # totals ------------------------------------------------------------------------------
    def total_rows(
        self,
        *,
        vat_detail: str = "random",  # per_rate | single | with_base
        pay: str = "random",  # none | net | deposit
        ttc_label: str | None = None,
    ) -> list[tuple[str, str, bool]]:
        """Rows of the totals block: (label, amount text, bold). Marks what it prints."""
        inv, rng = self.inv, self.rng
        rows: list[tuple[str, str, bool]] = []
        if inv.discount or inv.shipping:
            rows.append(
                (
                    self.pick(
                        "", ["Sous-total HT", "Total brut HT", "Total lignes HT", "Montant brut HT"]
                    ),
                    self.a(inv.lines_total),
                    False,
                )
            )
        if inv.discount:
            rows.append(
                (
                    f"{rng.choice(['Remise', 'Remise globale', 'Remise commerciale'])} "
                    f"{fmt_rate(inv.discount_pct, '20 %')}",
                    self.a(-inv.discount),
                    False,
                )
            )
        if inv.shipping:
            rows.append(
                (
                    self.pick(
                        "", ["Frais de port", "Frais de port HT", "Frais de livraison", "Port"]
                    ),
                    self.a(inv.shipping),
                    False,
                )
            )
        rows.append((self.pick("ht"), self.a(inv.ht), False))
        if vat_detail == "random":
            vat_detail = rng.choice(["per_rate", "per_rate", "with_base", "single"])
        if inv.regime == "standard":
            if vat_detail == "single" and len(inv.rates) == 1:
                rows.append((f"{self.pick('tva')} {self.r(inv.rates[0])}", self.a(inv.tva), False))
                self.mark("vat_lines", "vat_bases")
            elif vat_detail == "single":
                rows.append((self.pick("tva"), self.a(inv.tva), False))
            else:
                for r in inv.rates:
                    label = f"TVA {self.r(r)}"
                    if vat_detail == "with_base":
                        label += f" sur {self.a(inv.base[r], False)}"
                    rows.append((label, self.a(inv.vat[r]), False))
                self.mark("vat_lines")
                if vat_detail == "with_base" or len(inv.rates) == 1:
                    self.mark("vat_bases")
                if len(inv.rates) > 1 and rng.random() < 0.5:
                    rows.append(
                        (self.pick("tva", ["Total TVA", "Montant TVA"]), self.a(inv.tva), False)
                    )
        rows.append((ttc_label or self.pick("ttc"), self.a(inv.ttc), True))
        if pay == "random":
            pay = rng.choice(["none", "net", "net"]) if not inv.deposit else "deposit"
        if inv.deposit:
            pay = "deposit"
        if pay == "deposit":
            rows[-1] = (rows[-1][0], rows[-1][1], False)
            label = rng.choice(["Acompte versé", "Acompte reçu", "Déjà versé", "Acompte"])
            if rng.random() < 0.5 and inv.extra.get("deposit_day"):
                label += f" le {self.d(inv.extra['deposit_day'])}"
            rows.append((label, self.a(-inv.deposit), False))
            rows.append(
                (
                    rng.choice(["Reste à payer", "Solde à payer", "Net à payer", "Solde dû"]),
                    self.a(inv.amount_due),
                    True,
                )
            )
            self.mark("amount_due")
        elif pay == "net":
            rows.append((self.pick("pay"), self.a(inv.amount_due), True))
            self.mark("amount_due")
        return [(lab.upper() if self.upper else lab, v, b) for lab, v, b in rows]

    def totals_stack(
        self,
        xl: float,
        xr: float,
        y: float,
        rows: list[tuple[str, str, bool]],
        *,
        boxed: bool = False,
        fill_last: bool = False,
        lead: float | None = None,
    ) -> float:
        """Totals as label / right-aligned value rows; returns the y below."""
        s = self.pen
        lead = lead or self.lead * 1.15
        top = y + lead * 0.75
        for k, (label, value, bold) in enumerate(rows):
            if fill_last and k == len(rows) - 1:
                s.box(xl - 4, y - lead * 0.35, xr - xl + 8, lead * 1.1, fill=LIGHT, stroke=False)
            s.t(xl, y, label, bold=bold)
            s.t(xr, y, value, bold=bold, align="r")
            y -= lead
        if boxed:
            s.box(xl - 6, y + lead * 0.6, xr - xl + 12, top - y - lead * 0.6)
        return y

    def totals_row(
        self, x: float, y: float, w: float, rows: list[tuple[str, str, bool]], fill: bool = True
    ) -> float:
        """Totals as a header row of labels with the amounts in the row below."""
        widths = [w / len(rows)] * len(rows)
        return self.grid(
            x, y, [(lab, v) for lab, v, _b in rows], widths, fill=LIGHT if fill else None
        )

    def vat_table(self, x: float, y: float, w: float, *, codes: bool = False) -> float:
        """The VAT breakdown by rate (rate, base, amount); returns the y below."""
        inv, s = self.inv, self.pen
        self.mark("vat_lines", "vat_bases")
        titles = [self.pick("vat_rate"), self.pick("vat_base"), self.pick("vat_amount")]
        if codes:
            titles = ["Code", *titles]
        n = len(titles)
        xs = [x + w * k / n for k in range(n + 1)]
        h = self.lead + 4
        s.box(x, y - h, w, h, fill=LIGHT)
        for k, title in enumerate(titles):
            s.t(xs[k + 1] - 4, y - h + 4, s.fit(title, w / n - 6), bold=True, align="r")
        y -= h
        code_of = inv.extra.get("rate_codes") or {}
        for r in inv.rates:
            vals = [self.r(r), self.a(inv.base[r], False), self.a(inv.vat[r], False)]
            if codes:
                vals = [code_of.get(r, ""), *vals]
            for k, v in enumerate(vals):
                s.t(xs[k + 1] - 4, y - h + 4, v, align="r")
            y -= h
        s.box(x, y, w, (len(inv.rates) + 1) * h, stroke=True)
        return y - 6

    def payment(
        self,
        x: float,
        y: float,
        w: float,
        *,
        iban: bool = True,
        due: bool = True,
        penalties: bool = True,
        size: float | None = None,
    ) -> float:
        """Payment terms, bank account and late-payment penalties; returns the y below."""
        inv, s, rng = self.inv, self.pen, self.rng
        size = size or self.size * 0.9
        lead = size * 1.3
        lines = []
        if due and inv.due:
            self.mark("due_date")
            lines.append(f"{self.pick('due')} : {self.d(inv.due)}")
        elif inv.terms:
            lines.append(
                f"{rng.choice(['Conditions de paiement', 'Règlement', 'Conditions'])} : {inv.terms}"
            )
        mode = inv.extra.get("mode") or rng.choice(
            ["Virement bancaire", "Virement", "Chèque ou virement", "Prélèvement", "LCR"]
        )
        lines.append(
            f"{rng.choice(['Mode de règlement', 'Mode de paiement', 'Paiement par'])} : {mode}"
        )
        if iban and inv.supplier.iban:
            lines.append(self.id_mention(inv.supplier, "iban"))
        for line in lines:
            s.t(x, y, line, size=size)
            y -= lead
        if penalties:
            y = s.para(x, y - 2, rng.choice(PENALTIES), w, size * 0.9, lead * 0.9)
        return y

    def legal_footer(
        self, lines: list[str], *, size: float | None = None, y: float = 28, rule: bool = True
    ) -> None:
        """Centred small legal lines at the bottom of the page."""
        s = self.pen
        size = size or max(self.size * 0.75, 6.5)
        text = self.rng.choice([" - ", " – ", " • ", " | "]).join(x for x in lines if x)
        wrapped = s.wrap(text, W - 2 * self.M - 20, size)
        yy = y + size * 1.25 * (len(wrapped) - 1)
        if rule:
            s.hl(self.M, W - self.M, yy + size * 1.6, lw=0.4)
        for line in wrapped:
            s.t(W / 2, yy, line, size=size, align="c")
            yy -= size * 1.25


# -- invoice content by trade ----------------------------------------------------------------
R20, R10, R55, R21 = D("20"), D("10"), D("5.5"), D("2.1")
# (name patterns, APE, tagline, [(description, unit, min, max, rate)])
TRADES: dict[str, tuple[list[str], str, str, list[tuple[str, str, float, float, Decimal]]]] = {
    "it": (
        ["{n} Informatique", "InfoSphère", "Micro Services {n}", "Net & Com {n}"],
        "6202A",
        "Matériel - Logiciels - Maintenance",
        [
            ("Ordinateur portable 14 pouces i5 16 Go", "u", 650, 1400, R20),
            ("Écran 27 pouces IPS", "u", 160, 380, R20),
            ("Clavier + souris sans fil", "u", 25, 75, R20),
            ("Installation et paramétrage poste", "h", 55, 95, R20),
            ("Licence antivirus 1 an", "u", 29, 69, R20),
            ("Switch 24 ports", "u", 120, 340, R20),
            ("Câble réseau RJ45 5 m", "u", 4, 12, R20),
            ("Contrat de maintenance trimestriel", "forfait", 180, 600, R20),
        ],
    ),
    "office": (
        ["Bureau Plus {n}", "Papeterie {n}", "Fournitures {n}", "OfficeDépôt {n}"],
        "4762Z",
        "Fournitures de bureau",
        [
            ("Ramette papier A4 80 g (carton de 5)", "ctn", 19, 32, R20),
            ("Cartouche d'encre noire XL", "u", 18, 59, R20),
            ("Classeur à levier dos 8 cm", "u", 2, 6, R20),
            ("Stylos bille bleus (boîte de 50)", "bte", 8, 19, R20),
            ("Enveloppes C5 (500)", "bte", 14, 34, R20),
            ("Agenda 2026", "u", 9, 24, R55),
            ("Chaise de bureau ergonomique", "u", 120, 390, R20),
        ],
    ),
    "plumbing": (
        ["{n} Plomberie", "{n} Chauffage Sanitaire", "Plomberie {n} & Fils", "Thermi'{n}"],
        "4322A",
        "Plomberie - Chauffage - Sanitaire",
        [
            ("Remplacement chauffe-eau 200 L", "forfait", 650, 1300, R10),
            ("Main d'œuvre plombier", "h", 45, 65, R10),
            ("Mitigeur thermostatique", "u", 80, 220, R10),
            ("Raccords et fournitures diverses", "forfait", 20, 90, R10),
            ("Déplacement", "forfait", 30, 60, R10),
            ("Entretien annuel chaudière gaz", "forfait", 110, 180, R10),
            ("Pompe de relevage (local professionnel)", "u", 250, 600, R20),
        ],
    ),
    "electric": (
        ["{n} Électricité", "Élec'{n}", "{n} Elec Services", "Lumière & Courant {n}"],
        "4321A",
        "Électricité générale - Courants faibles",
        [
            ("Mise aux normes tableau électrique", "forfait", 600, 1500, R10),
            ("Main d'œuvre électricien", "h", 42, 60, R10),
            ("Disjoncteur différentiel 30 mA", "u", 45, 95, R10),
            ("Câble R2V 3G2,5", "ml", 1, 3, R10),
            ("Prise RJ45 cat. 6", "u", 12, 28, R20),
            ("Éclairage LED dalle 60x60", "u", 35, 80, R20),
        ],
    ),
    "consulting": (
        ["{n} Conseil", "{n} & Associés", "Cabinet {n}", "Stratégies {n}", "{n} Consulting"],
        "7022Z",
        "Conseil en organisation et gestion",
        [
            ("Mission de conseil - accompagnement direction", "j", 650, 1200, R20),
            ("Atelier de formation", "j", 900, 1500, R20),
            ("Audit organisationnel", "forfait", 1500, 4800, R20),
            ("Frais de déplacement", "forfait", 60, 380, R20),
            ("Rédaction du rapport de synthèse", "forfait", 400, 1200, R20),
        ],
    ),
    "building": (
        ["Matériaux {n}", "{n} Négoce Bâtiment", "Point Bois {n}", "Comptoir {n}"],
        "4673A",
        "Négoce de matériaux",
        [
            ("Ciment CEM II 35 kg", "sac", 7, 12, R20),
            ("Plaque de plâtre BA13 250x120", "u", 6, 11, R20),
            ("Rail R48 3 m", "u", 3, 6, R20),
            ("Vis TTPC 25 mm (boîte 1000)", "bte", 9, 18, R20),
            ("Laine de verre 100 mm", "rlx", 19, 45, R20),
            ("Parpaing 20x20x50", "u", 1, 2, R20),
            ("Sable 0/4 big bag", "u", 45, 80, R20),
            ("Mortier colle C2", "sac", 12, 24, R20),
            ("Bastaing sapin 63x175 4 m", "u", 14, 29, R20),
            ("Tuyau PVC 100 mm 4 m", "u", 9, 22, R20),
        ],
    ),
    "food": (
        ["{n} Distribution", "Comptoir Alimentaire {n}", "Primeurs {n}", "Grossiste {n}"],
        "4639B",
        "Distribution alimentaire CHR",
        [
            ("Farine T55 sac 25 kg", "sac", 14, 26, R55),
            ("Sucre semoule 10 kg", "u", 9, 16, R55),
            ("Huile de tournesol 5 L", "u", 8, 15, R55),
            ("Café grains 1 kg", "kg", 12, 24, R55),
            ("Jus d'orange 1 L (x6)", "pack", 7, 14, R55),
            ("Plats cuisinés traiteur", "u", 4, 9, R10),
            ("Vin rouge AOC 75 cl", "bt", 5, 14, R20),
            ("Sacs poubelle 100 L (x100)", "u", 9, 19, R20),
            ("Produit vaisselle 5 L", "u", 6, 12, R20),
            ("Quotidien régional", "ex", 1, 2, R21),
            ("Magazine professionnel", "ex", 4, 9, R21),
            ("Eau minérale 6 x 1,5 L", "pack", 2, 5, R55),
        ],
    ),
    "saas": (
        ["{n} Cloud", "Factoriz", "Agendo", "Compta{n}", "Planifio", "Stockly"],
        "5829C",
        "Logiciel en ligne",
        [
            ("Abonnement Pro", "mois", 29, 149, R20),
            ("Utilisateurs supplémentaires", "u", 5, 15, R20),
            ("Stockage additionnel 100 Go", "u", 4, 19, R20),
            ("Module Signature électronique", "mois", 9, 39, R20),
            ("Support prioritaire", "mois", 19, 59, R20),
        ],
    ),
    "transport": (
        ["Transports {n}", "{n} Logistique", "TRL {n}", "Express {n} Fret"],
        "4941A",
        "Transport routier de marchandises",
        [],
    ),
    "printing": (
        ["Imprimerie {n}", "{n} Graphic", "Atelier {n} Impression"],
        "1812Z",
        "Impression offset et numérique",
        [
            ("Cartes de visite 350 g (x500)", "lot", 35, 90, R20),
            ("Flyers A5 recto-verso (x2000)", "lot", 80, 220, R20),
            ("Brochure 12 pages A4", "ex", 2, 6, R20),
            ("Kakémono 85x200", "u", 60, 150, R20),
            ("Livre d'or relié", "ex", 8, 25, R55),
        ],
    ),
    "garage": (
        ["Garage {n}", "{n} Automobiles", "Auto Service {n}"],
        "4520A",
        "Entretien et réparation automobile",
        [
            ("Vidange + filtre à huile", "forfait", 89, 160, R20),
            ("Pneumatique 205/55 R16", "u", 75, 140, R20),
            ("Main d'œuvre atelier", "h", 55, 80, R20),
            ("Plaquettes de frein AV", "jeu", 45, 110, R20),
            ("Contrôle technique", "forfait", 70, 95, R20),
        ],
    ),
    "cleaning": (
        ["{n} Propreté", "Net'{n} Services", "Clean {n}"],
        "8121Z",
        "Nettoyage de locaux professionnels",
        [
            ("Nettoyage des locaux - forfait mensuel", "mois", 280, 950, R20),
            ("Nettoyage des vitres", "forfait", 90, 260, R20),
            ("Fourniture consommables sanitaires", "forfait", 30, 120, R20),
            ("Intervention exceptionnelle", "h", 25, 38, R20),
        ],
    ),
}


def supplier_name(rng: random.Random, trade: str) -> str:
    return rng.choice(TRADES[trade][0]).format(n=rng.choice(NAMES))


def make_supplier(rng: random.Random, trade: str, *, with_form: bool | None = None) -> Party:
    """A French supplier of ``trade``; its name sometimes carries its legal form."""
    name = supplier_name(rng, trade)
    form = rng.choice(FORMS)
    if with_form if with_form is not None else rng.random() < 0.3:
        name = f"{name} {form}"
    return make_party(rng, name, ape=TRADES[trade][1], form=form)


def trade_lines(
    rng: random.Random,
    trade: str,
    n: int,
    *,
    rates: list[Decimal] | None = None,
    disc: float = 0.0,
    qty_max: int = 5,
) -> list[Line]:
    """``n`` lines of the trade's vocabulary, optionally only at ``rates``."""
    vocab = TRADES[trade][3]
    if rates:
        vocab = [v for v in vocab if v[4] in rates] or vocab
    out = []
    order = rng.sample(vocab, len(vocab))
    for k in range(n):
        desc, unit, lo, hi, rate = order[k % len(order)]
        if k >= len(order):
            desc = f"{desc} - {rng.choice(['lot', 'réf. B', 'modèle 2', 'complément', 'variante'])}"
        if unit in ("h", "j", "ml", "kg"):
            qty = D(rng.choice([1, 1.5, 2, 2.5, 3, 4, 6, 7.5, 8, 10, 12]))
        elif unit in ("forfait", "mois") and rng.random() < 0.8:
            qty = D(1)
        else:
            qty = D(rng.randint(1, qty_max))
        line = Line(desc, qty, unit, money(rng, lo, hi), rate)
        line.ref = rng.choice(
            [
                f"{rng.randint(10000, 99999)}",
                f"A{rng.randint(100, 9999):04d}",
                f"{desc[:3].upper()}-{rng.randint(10, 999)}",
            ]
        )
        if disc and rng.random() < disc:
            line.disc = D(rng.choice([5, 10, 15, 20]))
        out.append(line)
    rng.shuffle(out)
    return out


def base_inv(
    rng: random.Random,
    trade: str,
    n: int,
    *,
    shape: str | None = None,
    supplier: Party | None = None,
    **kw: Any,
) -> Inv:
    """An invoice from a ``trade`` supplier with ``n`` lines and a due date 30-60 days on."""
    day = rand_day(rng)
    due_kind = rng.choice(["plain", "plain", "eom", "terms"])
    days = rng.choice([15, 30, 30, 45, 60]) if due_kind == "plain" else rng.choice([30, 45])
    due, terms = None, rng.choice(TERMS_ONLY)
    if due_kind == "plain":
        due = day + timedelta(days=days)
        terms = rng.choice(
            [f"{days} jours", f"à {days} jours date de facture", f"virement à {days} jours"]
        )
    elif due_kind == "eom":
        due = end_of_month(day, days)
        terms = rng.choice([f"{days} jours fin de mois", f"{days} j. fin de mois"])
    inv = Inv(
        supplier=supplier or make_supplier(rng, trade),
        buyer=make_buyer(rng),
        number=invoice_number(rng, day, shape),
        day=day,
        lines=trade_lines(rng, trade, n, **kw),
        due=due,
        terms=terms,
    )
    inv.extra["tagline"] = TRADES[trade][2]
    return inv


# -- families --------------------------------------------------------------------------------
# Each family: build(rng) -> Inv, draw(g) -> None. The draw runs twice (the first pass only
# counts pages, for "Page 1/2"), both from the same random state.


def build_classic(rng: random.Random) -> Inv:
    trade = rng.choice(["it", "office", "printing", "garage", "cleaning"])
    inv = base_inv(rng, trade, rng.randint(2, 7), disc=0.2)
    if rng.random() < 0.3:
        inv.discount_pct = D(rng.choice([2, 3, 5, 10]))
    if rng.random() < 0.3:
        inv.shipping = money(rng, 8, 45)
    return inv


def draw_classic(g: Gen) -> None:
    """Seller block top left with its name as a big logo, buyer framed on the right."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y0 = H - M - rng.uniform(0, 14)
    y = g.seller_block(
        M, y0, logo=rng.uniform(17, 28), ids=rng.choice([[], ["siret"], ["siret", "vat"]])
    )
    bx = rng.uniform(300, 335)
    by = g.buyer_block(
        bx,
        H - M - rng.uniform(70, 115),
        W - M - bx,
        code=rng.random() < 0.4,
        fill=rng.random() < 0.3,
    )
    y = min(y, by) - rng.uniform(14, 30)
    title = rng.choice(["FACTURE", "Facture", "FACTURE"])
    s.t(M, y, title, size=rng.uniform(15, 22), bold=True, color=g.style.accent)
    y -= g.lead * 2
    items = [(g.pick("number", LAB["number"][:6]), inv.number), (g.pick("date"), g.d(inv.day))]
    if inv.due and rng.random() < 0.7:
        items.append((g.pick("due"), g.d(inv.due)))
        g.mark("due_date")
    if rng.random() < 0.4:
        items.append(("Date de livraison", g.d(inv.day - timedelta(days=rng.randint(1, 9)))))
    if rng.random() < 0.3:
        items.append(("Votre commande", f"BC-{rng.randint(1000, 99999)}"))
    y = g.meta(
        M,
        y,
        items,
        mode=rng.choice(["colon", "aligned"]),
        label_w=rng.uniform(95, 130),
        bold_labels=rng.random() < 0.5,
    )
    y -= g.lead
    keys = rng.choice(
        [
            ["desc", "qty", "pu", "total"],
            ["ref", "desc", "qty", "pu", "rate", "total"],
            ["desc", "qty", "unit", "pu", "disc", "total"],
            ["ref", "desc", "qty", "unit", "pu", "rate", "total"],
        ]
    )
    g._y = g.table(
        M, W - M, y, keys, head=rng.choice(["fill", "dark", "line"]), zebra=rng.random() < 0.3
    )
    g._y = g.need(220) or g._y
    rows = g.total_rows()
    xl = rng.uniform(330, 370)
    yt = g.totals_stack(
        xl, W - M, g._y - g.lead, rows, boxed=rng.random() < 0.4, fill_last=rng.random() < 0.5
    )
    yl = g._y - g.lead
    if len(inv.rates) > 1 or rng.random() < 0.3:
        yl = g.vat_table(M, yl + g.lead * 0.7, rng.uniform(200, 260)) - g.lead
    y = min(yt, yl) - g.lead
    y = g.payment(M, y, W - 2 * M, due=not g.marks & {"due_date"}, penalties=rng.random() < 0.7)
    g.legal_footer([inv.supplier.name, *g.random_legal(inv.supplier)])


def build_seller_right(rng: random.Random) -> Inv:
    trade = rng.choice(["it", "office", "printing", "building", "cleaning", "food"])
    inv = base_inv(
        rng,
        trade,
        rng.randint(1, 6),
        shape=rng.choice(["FA2026-0012", "FA-2026-0012", "FAC-26-04-0007", None]),
    )
    if trade in ("office", "printing") and rng.random() < 0.5:
        inv.lines += trade_lines(rng, trade, 1, rates=[R55])
    return inv


def draw_seller_right(g: Gen) -> None:
    """Seller block on the right, buyer on the left (window envelope), "Facture X du <date>"."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(
        W - M,
        H - M,
        align="r",
        logo=rng.choice([0, 16, 20]),
        ids=rng.choice([["siret", "vat"], ["rcs", "vat"], ["vat"]]),
    )
    by = g.buyer_block(
        M + rng.uniform(0, 30),
        H - M - rng.uniform(90, 140),
        rng.uniform(200, 250),
        frame=rng.random() < 0.5,
        heading=rng.choice([None, "Client", "Destinataire"]),
        ids=rng.choice(["vat", "both", "siret", "none"]),
    )
    y = min(y, by) - rng.uniform(20, 40)
    head = rng.choice(["FACTURE", "Facture"])
    city_date = rng.random() < 0.3
    if city_date:
        s.t(
            W - M, y + g.lead * 2, f"{inv.supplier.city}, le {fmt_date(inv.day, 'long')}", align="r"
        )
        s.t(M, y, f"{head} {inv.number}", size=g.size * 1.6, bold=True)
    else:
        du = rng.choice(["du", "du", "en date du"])
        s.t(M, y, f"{head} {inv.number} {du} {g.d(inv.day)}", size=g.size * 1.5, bold=True)
    y -= g.lead * 2
    items = [(g.pick("code"), inv.buyer.code)]
    if rng.random() < 0.6:
        items.append(
            (
                "Votre référence",
                f"CDE {rng.randint(1000, 9999)} du "
                f"{g.d(inv.day - timedelta(days=rng.randint(3, 25)))}",
            )
        )
    if inv.due:
        items.append(
            (g.pick("due", ["À payer avant le", "Échéance", "Date d'échéance"]), g.d(inv.due))
        )
        g.mark("due_date")
    else:
        items.append(("Conditions", inv.terms))
    y = g.meta(M, y, items, mode="colon")
    y -= g.lead * 0.5
    keys = rng.choice(
        [
            ["ref", "desc", "qty", "pu", "rate", "total"],
            ["ref", "desc", "qty", "unit", "pu", "total"],
        ]
    )
    if len(inv.rates) > 1 and "rate" not in keys:
        keys.insert(-1, "rate")
    g._y = g.table(M, W - M, y, keys, head=rng.choice(["line", "fill"]), grid=rng.random() < 0.4)
    g._y = g.need(200) or g._y
    y = g.vat_table(M, g._y - 4, rng.uniform(210, 250)) if rng.random() < 0.7 else g._y
    rows = g.total_rows(vat_detail=rng.choice(["single", "per_rate"]))
    yt = g.totals_stack(rng.uniform(340, 380), W - M, g._y - g.lead, rows, boxed=True)
    y = min(y, yt) - g.lead * 1.5
    y = g.payment(M, y, W - 2 * M, due=False, penalties=True)
    g.legal_footer(
        g.random_legal(inv.supplier, vat=False) + [f"Tél. {inv.supplier.phone}"],
        rule=rng.random() < 0.5,
    )


def build_grid(rng: random.Random) -> Inv:
    trade = rng.choice(["building", "office", "food", "garage", "it"])
    inv = base_inv(
        rng,
        trade,
        rng.randint(3, 12),
        disc=0.25,
        shape=rng.choice(["F2026031", "123456", "FC26/00412", "2026-0042"]),
    )
    inv.extra["rate_codes"] = (
        {r: str(k + 1) for k, r in enumerate([R20, R10, R55, R21])} if rng.random() < 0.4 else None
    )
    if rng.random() < 0.4:
        inv.shipping = money(rng, 10, 80)
    return inv


def draw_grid(g: Gen) -> None:
    """ERP print: everything in frames, the header as a grid row (labels above values), lines
    table with vertical rules, totals as "Total HT | Total TVA | Total TTC" header row."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(M, H - M, logo=rng.choice([0, 15, 18]), ids=[])
    title = "FACTURE" if rng.random() < 0.7 else "Facture"
    s.t(W - M, H - M - 18, title, size=20, bold=True, align="r")
    by = g.buyer_block(
        rng.uniform(300, 320),
        H - M - rng.uniform(60, 90),
        W - M - 320,
        heading=rng.choice([None, "Adresse de facturation"]),
        ids="random",
    )
    y = min(y, by) - 18
    number_label = g.pick("number", ["N° facture", "Pièce n°", "Numéro", "N° pièce", "Facture"])
    items = [
        (number_label, inv.number),
        ("Date", g.d(inv.day)),
        (g.pick("code", ["Code client", "Compte", "N° client"]), inv.buyer.code),
    ]
    if inv.due:
        items.append((g.pick("due", ["Échéance", "Date d'échéance"]), g.d(inv.due)))
        g.mark("due_date")
    else:
        items.append(("Règlement", inv.terms))
    if rng.random() < 0.5:
        items.insert(rng.randint(1, 3), ("Représentant", rng.choice(NAMES).upper()))
    items.append(("Page", f"{g.pen.page}/{g.pages}"))
    widths = [rng.uniform(0.8, 1.3) for _ in items]
    widths = [w * (W - 2 * M) / sum(widths) for w in widths]
    y = g.grid(M, y, items, widths)
    g.cont_header = lambda g2: (
        g2.grid(
            M,
            H - M - 10,
            [
                (number_label, inv.number),
                ("Date", g2.d(inv.day)),
                ("Page", f"{g2.pen.page}/{g2.pages}"),
            ],
            [140, 120, 80],
        )
        - 6
    )
    keys = (
        ["ref", "desc", "qty", "pu", "disc", "total"]
        if any(ln.disc for ln in inv.lines)
        else ["ref", "desc", "qty", "unit", "pu", "total"]
    )
    if len(inv.rates) > 1 or rng.random() < 0.4:
        keys.insert(-1, "rate")
    g._y = g.table(M, W - M, y - 4, keys, head="box", grid=True, bottom=140)
    g._y = g.need(180) or g._y
    y = g.vat_table(M, g._y - 4, rng.uniform(230, 280), codes=bool(inv.extra["rate_codes"]))
    rows = [
        (g.pick("ht", ["Total HT", "Montant HT", "Total H.T."]), g.a(inv.ht), False),
        (g.pick("tva", ["Total TVA", "Montant TVA", "TVA"]), g.a(inv.tva), False),
        (g.pick("ttc", ["Total TTC", "Montant TTC", "Total T.T.C."]), g.a(inv.ttc), False),
    ]
    if inv.shipping:
        rows.insert(0, ("Port HT", g.a(inv.shipping), False))
    if rng.random() < 0.6:
        rows.append(
            (
                g.pick("pay", ["Net à payer", "NET À PAYER", "Net à payer EUR"]),
                g.a(inv.amount_due),
                True,
            )
        )
        g.mark("amount_due")
    y = g.totals_row(M, y - 6, W - 2 * M, rows)
    y = g.payment(M, y - 6, W - 2 * M, due=False, penalties=True, iban=rng.random() < 0.7)
    g.footer = lambda g2: g2.legal_footer(
        [inv.supplier.name, *g2.random_legal(inv.supplier)], rule=False
    )
    g.footer(g)
    g.footer = None


def build_utility(rng: random.Random) -> Inv:
    day = rand_day(rng)
    kind = rng.choice(["water", "energy", "telecom"])
    buyer = make_buyer(rng)
    start = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = day.replace(day=1) - timedelta(days=1)
    per = f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"
    if kind == "water":
        name = rng.choice(["Eaux de {c}", "Régie des Eaux {c}", "Syndicat des Eaux {c}"])
        cons = rng.randint(20, 400)
        lines = [
            Line(f"Abonnement eau {per}", D(1), "forfait", money(rng, 12, 40), R55),
            Line(
                "Consommation eau potable",
                D(cons),
                "m3",
                D(str(rng.choice([1.62, 2.08, 2.41]))),
                R55,
            ),
            Line("Redevance pollution domestique", D(cons), "m3", D("0.33"), R55),
            Line("Assainissement collectif", D(cons), "m3", D(str(rng.choice([1.45, 2.11]))), R10),
            Line("Modernisation des réseaux de collecte", D(cons), "m3", D("0.15"), R10),
        ]
        ape = "3600Z"
    elif kind == "energy":
        name = rng.choice(["{c} Énergies", "Électricité de {c}", "Volt'{c}", "Gaz & Lumière {c}"])
        kwh = rng.randint(800, 9000)
        lines = [
            Line(f"Abonnement {per}", D(1), "forfait", money(rng, 25, 120), R20),
            Line("Consommation heures pleines", D(kwh), "kWh", D("0.2068"), R20),
            Line("Consommation heures creuses", D(kwh // 3), "kWh", D("0.1565"), R20),
            Line("Accise sur l'électricité", D(kwh + kwh // 3), "kWh", D("0.0225"), R20),
            Line("Contribution tarifaire d'acheminement", D(1), "forfait", money(rng, 4, 30), R20),
        ]
        ape = "3514Z"
    else:
        name = rng.choice(["{c} Télécom", "Fibre {c} Pro", "Net'{c} Business"])
        lines = [
            Line(f"Forfait Fibre Pro {per}", D(1), "mois", money(rng, 39, 89), R20),
            Line("Forfait mobile 100 Go", D(rng.randint(1, 6)), "ligne", money(rng, 15, 35), R20),
            Line("Location box", D(1), "mois", D(5), R20),
            Line("Communications hors forfait", D(1), "forfait", money(rng, 0.5, 25), R20),
        ]
        ape = "6110Z"
    sup = make_party(rng, name, ape=ape, form=rng.choice(["SA", "SAS", "SEM"]))
    sup.name = name.format(c=sup.city)
    sup.email, sup.web = f"clients@{_slug(sup.name)}.fr", f"www.{_slug(sup.name)}.fr"
    inv = Inv(
        sup,
        buyer,
        invoice_number(rng, day, rng.choice(["long", "123456"])),
        day,
        lines,
        due=day + timedelta(days=rng.randint(8, 16)),
    )
    inv.extra |= {"kind": kind, "start": start, "end": end, "contract": rng.randint(10**9, 10**10)}
    return inv


def draw_utility(g: Gen) -> None:
    """Utility bill: big "Montant à payer" box, "Prélevé le", customer references, much text,
    the consumption detail, a VAT table and a masked buyer IBAN for the direct debit."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup, buy = inv.supplier, inv.buyer
    s.t(M, H - M - 24, sup.name, size=rng.uniform(18, 24), bold=True, color=g.style.accent)
    s.t(
        M,
        H - M - 40,
        rng.choice(["Votre fournisseur", "Service clients"]) + f" : {sup.phone} - {sup.web}",
        size=g.size * 0.9,
    )
    y = H - M - 80
    title = rng.choice(["Votre facture", "FACTURE", "Facture"])
    if rng.random() < 0.5:
        s.t(M, y, f"{title} du {g.d(inv.day)}", size=g.size * 1.6, bold=True)
        y -= g.lead * 1.6
        items = [("N° de facture", inv.number)]
    else:
        s.t(M, y, title, size=g.size * 1.6, bold=True)
        y -= g.lead * 1.6
        items = [
            (g.pick("number", ["N° de facture", "Numéro de facture", "Facture n°"]), inv.number),
            (g.pick("date", ["Date", "Date de facture", "Émise le"]), g.d(inv.day)),
        ]
    # "Vos identifiants" box with the buyer's own references
    ids = [("Référence client", inv.buyer.code), ("N° de contrat", str(inv.extra["contract"]))]
    if rng.random() < 0.6:
        ids.append(("SIRET du site", g.siret_txt(buy.siret or "")))
        g.mark("buyer.siret", "buyer.siren")
    y = g.meta(M, y, items, mode="colon", bold_labels=True)
    y -= 6
    s.t(M, y, rng.choice(["Vos identifiants", "Vos références", "VOS IDENTIFIANTS"]), bold=True)
    y = g.meta(M + 6, y - g.lead, ids, mode="aligned", label_w=110) - 4
    # amount box
    bx, bw = W - M - 220, 220
    s.box(bx, H - M - 190, bw, 110, fill=Color(0.93, 0.95, 0.98), radius=6)
    s.t(
        bx + 12,
        H - M - 104,
        rng.choice(["Montant à payer", "Montant TTC à payer", "Total à payer"]),
        bold=True,
        size=g.size * 1.2,
    )
    s.t(bx + bw - 12, H - M - 132, g.a(inv.ttc), size=g.size * 2, bold=True, align="r")
    g.mark("amount_due")
    g.mark("due_date")
    due_label = rng.choice(
        ["Prélevé le", "Sera prélevé le", "Date de prélèvement :", "Prélèvement le"]
    )
    s.t(bx + 12, H - M - 158, f"{due_label} {g.d(inv.due)}")
    s.t(
        bx + 12,
        H - M - 174,
        f"sur le compte FR76 **** **** **** **** ***{rng.randint(1, 9)} {rng.randint(100, 999)}",
        size=g.size * 0.8,
    )
    # buyer address
    by = g.buyer_block(bx, H - M - 210, bw, frame=False, heading=None, ids="none")
    y = min(y, by) - 10
    per = f"du {g.d(inv.extra['start'])} au {g.d(inv.extra['end'])}"
    text = rng.choice(
        [
            f"Cette facture correspond à votre consommation {per}. Le prochain relevé de compteur "
            f"aura lieu vers le {g.d(inv.extra['end'] + timedelta(days=rng.randint(40, 70)))}.",
            f"Période de facturation {per}. Index relevé le {g.d(inv.extra['end'])}. Pensez à "
            "l'espace client pour suivre votre consommation et télécharger vos factures.",
        ]
    )
    y = s.para(M, y, text, W - 2 * M, g.size * 0.9, g.lead * 0.95) - 8
    s.t(
        M,
        y,
        rng.choice(["Détail de votre facture", "DÉTAIL DE LA FACTURE"]),
        bold=True,
        size=g.size * 1.1,
    )
    inv.extra["qty_decimals"] = False
    g._y = g.table(M, W - M, y - 6, ["desc", "qty", "unit", "pu", "rate", "total"], head="line")
    g._y = g.need(200) or g._y
    y = g.vat_table(M, g._y - 4, 240)
    rows = [
        (g.pick("ht", ["Total HT", "Montant HT"]), g.a(inv.ht), False),
        (g.pick("tva", ["Total TVA", "TVA"]), g.a(inv.tva), False),
        (g.pick("ttc", ["Total TTC", "Montant TTC"]), g.a(inv.ttc), True),
    ]
    yt = g.totals_stack(W - M - 200, W - M, g._y - g.lead, rows)
    y = min(y, yt) - 10
    body = (
        "Le montant de cette facture sera prélevé sur votre compte bancaire à la date "
        "indiquée. Mandat SEPA - RUM : "
        + f"{rng.randint(10**11, 10**12)}"
        + " - ICS : FR"
        + f"{rng.randint(10, 99)}ZZZ{rng.randint(100000, 999999)}. "
        "En cas de réclamation, contactez le service clients. Médiateur national de "
        "l'énergie / de la consommation : www.mediateur.fr. Tout retard de paiement "
        "entraîne des pénalités de 3 fois le taux d'intérêt légal et une indemnité "
        "forfaitaire de 40 € pour frais de recouvrement."
    )
    s.para(M, y, body, W - 2 * M, g.size * 0.8, g.lead * 0.85)
    g.legal_footer([sup.name, *g.random_legal(sup)])


def build_ecommerce(rng: random.Random) -> Inv:
    trade = rng.choice(["it", "office", "printing"])
    sup = make_party(
        rng,
        rng.choice(
            ["Bureau-Direct.fr", "TechnoShop", "MatérielPro.com", "Top Office", "eCartouche"]
        ),
        ape="4791A",
    )
    inv = base_inv(
        rng,
        trade,
        rng.randint(1, 5),
        supplier=sup,
        shape=rng.choice(["F-000123", "INV-2026-0193", "F2026031", "123456"]),
    )
    inv.shipping = money(rng, 4.9, 19.9) if rng.random() < 0.7 else ZERO
    inv.due = None
    inv.extra |= {
        "order": rng.choice(
            [
                f"{rng.randint(100, 999)}-{rng.randint(10**6, 10**7)}",
                f"CMD{rng.randint(10**5, 10**6)}",
                f"#{rng.randint(10000, 99999)}",
            ]
        ),
        "order_day": inv.day - timedelta(days=rng.randint(1, 8)),
        "mode": rng.choice(["Carte bancaire", "CB", "PayPal", "Carte Visa"]),
    }
    return inv


def draw_ecommerce(g: Gen) -> None:
    """Web shop invoice: order number and date, billing and delivery addresses, card payment."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    s.t(M, H - M - 22, sup.name, size=rng.uniform(20, 26), bold=True, color=g.style.accent)
    s.t(W - M, H - M - 18, rng.choice(["FACTURE", "Facture"]), size=18, bold=True, align="r")
    y = H - M - 60
    label = rng.choice(["Facture n°", "N° de facture", "INVOICE #", "Numéro de facture"])
    items = [
        (label, inv.number),
        (g.pick("date", ["Date de facture", "Date", "Date d'émission"]), g.d(inv.day)),
        (rng.choice(["Commande n°", "N° de commande", "Commande"]), inv.extra["order"]),
        (rng.choice(["Date de commande", "Commandé le", "Passée le"]), g.d(inv.extra["order_day"])),
    ]
    if rng.random() < 0.5:
        items.append(("Date d'expédition", g.d(inv.day - timedelta(days=rng.randint(0, 2)))))
    if rng.random() < 0.3:
        rng.shuffle(items)
    g.meta(W - M - 230, y, items, mode="right", right=W - M)
    y -= g.lead * (len(items) + 1)
    w = (W - 2 * M - 20) / 2
    y1 = g.buyer_block(
        M,
        y,
        w,
        heading="Adresse de facturation",
        ids=rng.choice(["vat", "none"]),
        frame=rng.random() < 0.5,
    )
    b = inv.buyer
    ship = [
        rng.choice(FIRST_NAMES) + " " + rng.choice(NAMES),
        b.name,
        b.street,
        f"{b.zip} {b.city}",
    ]
    s.t(M + w + 20, y - g.size, "Adresse de livraison", bold=True)
    yy = y - g.size - g.lead * 1.1
    for line in ship:
        s.t(M + w + 20, yy, line)
        yy -= g.lead
    y = min(y1, yy) - 14
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice(
            [["ref", "desc", "qty", "pu", "total"], ["ref", "desc", "qty", "pu", "rate", "total"]]
        ),
        head=rng.choice(["fill", "dark"]),
        zebra=True,
    )
    g._y = g.need(180) or g._y
    rows = g.total_rows(vat_detail="per_rate", pay="none")
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows, fill_last=True)
    s.t(
        M,
        y - 6,
        f"{rng.choice(['Payée par', 'Réglée par', 'Paiement :'])} {inv.extra['mode']} "
        f"le {g.d(inv.extra['order_day'])}",
        bold=True,
    )
    s.t(
        M,
        y - 6 - g.lead,
        rng.choice(
            ["Facture acquittée.", "Aucun montant restant dû.", "Merci pour votre commande !"]
        ),
    )
    g.legal_footer(
        [
            sup.name,
            g.capital_txt(sup) if sup.capital else "",
            *g.legal_parts(sup, ["rcs", "vat"]),
            f"{sup.street} {sup.zip} {sup.city}",
        ]
    )


def build_craftsman(rng: random.Random) -> Inv:
    trade = rng.choice(["plumbing", "electric"])
    sup = make_supplier(rng, trade, with_form=False)
    if rng.random() < 0.4:
        sup.form, sup.capital = "EI", None
    inv = base_inv(
        rng,
        trade,
        rng.randint(2, 6),
        supplier=sup,
        shape=rng.choice(["2026/118", "2026-0042", "FA-2026-0012"]),
    )
    inv.extra |= {
        "quote": rng.choice(
            [
                f"D-{rng.randint(1, 300)}",
                f"DEV{inv.day.year}-{rng.randint(1, 999):03d}",
                f"{rng.randint(100, 999)}",
            ]
        ),
        "quote_day": inv.day - timedelta(days=rng.randint(15, 70)),
        "site": f"{rng.randint(1, 90)} {rng.choice(STREETS)} {rng.choice(STREET_NAMES)}, "
        f"{rng.choice(ALL_CITIES)[1]}",
    }
    if rng.random() < 0.6:
        inv.deposit = q(inv.compute().ttc * D(rng.choice([20, 30, 40])) / 100)
        inv.extra["deposit_day"] = inv.extra["quote_day"] + timedelta(days=rng.randint(1, 9))
    if rng.random() < 0.5:
        inv.due = None
        inv.terms = rng.choice(
            ["Payable à réception", "À réception de facture", "Paiement à la fin des travaux"]
        )
    return inv


def draw_craftsman(g: Gen) -> None:
    """Craftsman: trade and insurance in the header, "Devis n° .. accepté le ..", the work site,
    "Lyon, le 12 mars 2026", deposit deducted ("Reste à payer")."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    y = g.seller_block(
        M,
        H - M,
        logo=rng.uniform(16, 24),
        ids=rng.choice([["siret"], ["siret", "vat"], ["siren"], []]),
    )
    s.t(
        M,
        y,
        f"Assurance décennale {rng.choice(['MAAF', 'SMABTP', 'AXA'])} n° "
        f"{rng.randint(10**6, 10**8)}",
        size=g.size * 0.85,
    )
    if sup.form == "EI":
        s.t(
            M,
            y - g.lead,
            "Entrepreneur individuel - Inscrit au Répertoire des Métiers",
            size=g.size * 0.85,
        )
    bx = rng.uniform(310, 330)
    by = g.buyer_block(
        bx,
        H - M - rng.uniform(80, 110),
        W - M - bx,
        heading=rng.choice([None, "Client", "Facturé à"]),
        ids=rng.choice(["none", "siret", "vat"]),
    )
    y = min(y - g.lead * 2, by) - 16
    city_date = rng.random() < 0.5
    if city_date:
        s.t(W - M, y, f"{sup.city}, le {fmt_date(inv.day, 'long', g.style.first_er)}", align="r")
        y -= g.lead * 2
    label = rng.choice(["FACTURE N°", "Facture n°", "FACTURE"])
    s.t(M, y, f"{label} {inv.number}", size=g.size * 1.5, bold=True)
    y -= g.lead * 1.8
    items = []
    if not city_date:
        items.append((g.pick("date", ["Date", "Date de facture", "Émise le"]), g.d(inv.day)))
    items += [
        ("Chantier", inv.extra["site"]),
        (
            "Objet",
            rng.choice(["Travaux suivant devis", "Remplacement équipement", "Mise en conformité"]),
        ),
    ]
    y = g.meta(M, y, items, mode="colon")
    s.t(
        M,
        y,
        f"{rng.choice(['Devis n°', 'Selon devis n°', 'Réf. devis'])} {inv.extra['quote']} "
        f"{rng.choice(['accepté le', 'signé le', 'du'])} {g.d(inv.extra['quote_day'])}",
    )
    y -= g.lead * 1.5
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice(
            [["desc", "qty", "unit", "pu", "rate", "total"], ["desc", "unit", "qty", "pu", "total"]]
        ),
        head=rng.choice(["fill", "line"]),
        grid=rng.random() < 0.5,
    )
    if len(inv.rates) > 1:
        pass
    g._y = g.need(220) or g._y
    rows = g.total_rows(vat_detail=rng.choice(["per_rate", "with_base"]))
    y = g.totals_stack(W - M - 230, W - M, g._y - g.lead, rows, boxed=rng.random() < 0.5)
    if R10 in inv.rates:
        y = s.para(
            M,
            y - 4,
            "TVA au taux réduit de 10 % (art. 279-0 bis du CGI) : travaux "
            "d'amélioration sur un local d'habitation achevé depuis plus de deux ans, "
            "attestation remise par le client.",
            W - 2 * M,
            g.size * 0.8,
            g.lead * 0.85,
        )
    y = g.payment(M, y - 6, W - 2 * M, penalties=True)
    s.t(
        W - M - 150,
        max(y - 20, 80),
        rng.choice(["Bon pour accord", "Signature", "Cachet de l'entreprise"]),
        size=g.size * 0.9,
    )
    g.legal_footer([sup.name, *g.random_legal(sup, vat=rng.random() < 0.7)])


def build_consulting(rng: random.Random) -> Inv:
    inv = base_inv(
        rng,
        "consulting",
        rng.randint(1, 4),
        shape=rng.choice(["FAC-26-04-0007", "2026-0042", "FA2026-0012", "2026/118"]),
    )
    start = inv.day.replace(day=1) - timedelta(days=rng.choice([0, 1]))
    start = start.replace(day=1)
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    inv.extra |= {
        "start": start,
        "end": end,
        "po": f"PO-{rng.randint(10000, 99999)}",
        "po_day": start - timedelta(days=rng.randint(10, 60)),
    }
    return inv


def draw_consulting(g: Gen) -> None:
    """Consulting: "Émise le", service period "du .. au ..", purchase order date, client VAT."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    right = rng.random() < 0.5
    if right:
        y = g.seller_block(W - M, H - M, align="r", ids=["siret", "vat"], logo=rng.choice([0, 18]))
        by = g.buyer_block(
            M,
            H - M - 20,
            240,
            frame=False,
            heading=rng.choice(["Client", "Facturé à", None]),
            ids=rng.choice(["vat", "both"]),
        )
    else:
        y = g.seller_block(M, H - M, ids=["siret", "vat"], logo=rng.choice([0, 18]))
        by = g.buyer_block(
            W - M - 240,
            H - M - 40,
            240,
            frame=rng.random() < 0.5,
            heading=rng.choice(["Client", "Facturé à", None]),
            ids=rng.choice(["vat", "both"]),
        )
    y = min(y, by) - 24
    s.t(M, y, rng.choice(["Facture", "FACTURE", "Note d'honoraires"]), size=g.size * 2, bold=True)
    y -= g.lead * 2
    items = [
        (
            g.pick("number", ["Numéro :", "N° :", "Facture n°", "Référence :"]).rstrip(" :"),
            inv.number,
        ),
        (rng.choice(["Émise le", "Date d'émission", "Date"]), g.d(inv.day)),
    ]
    per = rng.choice(["Période", "Prestations réalisées", "Période de prestation"])
    items.append((per, f"du {g.d(inv.extra['start'])} au {g.d(inv.extra['end'])}"))
    if inv.due:
        items.append(
            (
                g.pick("due", ["Date limite de paiement", "Échéance", "À payer avant le"]),
                g.d(inv.due),
            )
        )
        g.mark("due_date")
    y = g.meta(M, y, items, mode=rng.choice(["aligned", "colon"]), label_w=150)
    s.t(
        M,
        y,
        f"Mission selon bon de commande {inv.extra['po']} du {g.d(inv.extra['po_day'])}",
        size=g.size * 0.9,
    )
    y -= g.lead * 1.5
    g._y = g.table(M, W - M, y, ["desc", "qty", "unit", "pu", "total"], head="line")
    g._y = g.need(200) or g._y
    rows = g.total_rows(vat_detail=rng.choice(["single", "per_rate"]))
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows, fill_last=True)
    y = g.payment(M, y - 10, W - 2 * M, due=not g.marks & {"due_date"}, penalties=True)
    g.legal_footer([sup.name, *g.random_legal(sup, vat=False)])


def build_wholesale(rng: random.Random) -> Inv:
    trade = rng.choice(["building", "food", "food"])
    n = rng.randint(24, 42)
    inv = base_inv(
        rng,
        trade,
        n,
        disc=0.3,
        qty_max=24,
        shape=rng.choice(["FA2026-0012", "F2026031", "123456", "FC26/00412"]),
    )
    if trade == "food":
        rates = rng.choice([[R55, R20], [R55, R20, R21], [R55, R10, R20], [R55]])
        inv.lines = [ln for ln in inv.lines if ln.rate in rates] or inv.lines
        while len(inv.lines) < 24:
            inv.lines += trade_lines(rng, trade, 6, rates=rates, qty_max=24)
    inv.extra["qty_decimals"] = rng.random() < 0.5
    inv.extra["rate_codes"] = (
        {r: str(k + 1) for k, r in enumerate([R55, R20, R10, R21])} if rng.random() < 0.5 else None
    )
    if rng.random() < 0.5:
        inv.discount_pct = D(rng.choice([2, 3, 5]))
    if rng.random() < 0.6:
        inv.shipping = money(rng, 15, 120)
    inv.extra["bl"] = [f"BL{rng.randint(10000, 99999)}" for _ in range(rng.randint(1, 3))]
    return inv


def draw_wholesale(g: Gen) -> None:
    """Wholesaler: 8 columns, 24-42 lines over two pages ("À reporter" / "Report"), the totals
    on page 2 with a VAT table by rate, a global discount and shipping costs."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(M, H - M, logo=rng.uniform(15, 20), ids=["siret"], contact=True)
    by = g.buyer_block(W - M - 230, H - M - 60, 230, code=True, ids="random")
    y = min(y, by) - 14
    title = "Avoir" if inv.kind == "credit_note" else rng.choice(["FACTURE", "Facture"])
    num_label = g.pick("number", ["N°", "Facture N°", "Pièce n°", "Numéro"])
    s.t(M, y, f"{title}  {num_label} {inv.number}", size=g.size * 1.4, bold=True)
    s.t(W - M, y, f"Page {g.pen.page}/{g.pages}", align="r")
    y -= g.lead * 1.5
    items = [(g.pick("date", ["Date", "Date facture"]), g.d(inv.day))]
    bls = ", ".join(
        f"{b} du {g.d(inv.day - timedelta(days=rng.randint(1, 12)))}" for b in inv.extra["bl"]
    )
    items.append(("Livraisons", bls))
    if inv.due:
        items.append((g.pick("due", ["Échéance", "Date d'échéance", "Payable le"]), g.d(inv.due)))
        g.mark("due_date")
    else:
        items.append(("Conditions de règlement", inv.terms))
    y = g.meta(M, y, items, mode="aligned", label_w=130)

    def cont(g2: Gen) -> float:
        yy = H - g2.M - 14
        g2.pen.t(
            g2.M, yy, f"{inv.supplier.name} - {title} {inv.number} du {g2.d(inv.day)}", bold=True
        )
        g2.pen.t(W - g2.M, yy, f"Page {g2.pen.page}/{g2.pages}", align="r")
        return yy - 24

    g.cont_header = cont
    legal = [inv.supplier.name, *g.legal_parts(inv.supplier, ["capital", "rcs", "vat"])]
    g.footer = lambda g2: g2.legal_footer(legal)
    keys = ["ref", "desc", "qty", "unit", "pu", "disc", "rate", "total"]
    if rng.random() < 0.3:
        keys.remove("unit")
    g._y = g.table(
        M,
        W - M,
        y - 6,
        keys,
        head=rng.choice(["fill", "box"]),
        grid=rng.random() < 0.5,
        carry=rng.random() < 0.7,
        bottom=90,
    )
    g._y = g.need(240) or g._y
    y = g.vat_table(M, g._y - 4, rng.uniform(230, 270), codes=bool(inv.extra["rate_codes"]))
    rows = g.total_rows(
        vat_detail=rng.choice(["single", "per_rate"]), pay=rng.choice(["net", "none"])
    )
    yt = g.totals_stack(W - M - 210, W - M, g._y - g.lead, rows, boxed=True)
    y = min(y, yt) - 10
    y = g.payment(M, y, W - 2 * M, due=False, penalties=True)
    g.footer(g)
    g.footer = None


def build_saas(rng: random.Random) -> Inv:
    inv = base_inv(
        rng,
        "saas",
        rng.randint(1, 4),
        shape=rng.choice(["F-000123", "INV-2026-0193", "FA2026-0012", "2026-0042"]),
    )
    start = inv.day
    end = (start + timedelta(days=32)).replace(day=min(start.day, 28)) - timedelta(days=1)
    inv.extra |= {
        "start": start,
        "end": end,
        "mode": rng.choice(["Prélèvement SEPA", "Carte bancaire", "Carte **** 4242"]),
    }
    inv.due = inv.day + timedelta(days=rng.choice([0, 7, 14, 30])) if rng.random() < 0.7 else None
    return inv


def draw_saas(g: Gen) -> None:
    """SaaS: coloured band, "Montant dû" summary, monthly period, seller in the footer."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    band = rng.random() < 0.6
    if band:
        s.box(0, H - 80, W, 80, fill=g.style.accent, stroke=False)
        s.t(M, H - 50, sup.name, size=22, bold=True, color=white)
        s.t(
            W - M,
            H - 50,
            rng.choice(["Facture", "FACTURE"]),
            size=18,
            bold=True,
            color=white,
            align="r",
        )
    else:
        s.t(M, H - M - 22, sup.name, size=22, bold=True, color=g.style.accent)
        s.t(W - M, H - M - 22, "Facture", size=18, bold=True, align="r")
    y = H - 110
    label = rng.choice(["Numéro de facture", "INVOICE #", "Facture #", "N° de facture"])
    items = [
        (label, inv.number),
        (rng.choice(["Date d'émission", "Date", "Émise le"]), g.d(inv.day)),
    ]
    if inv.due:
        items.append((rng.choice(["Date d'échéance", "Prélevé le", "Payable le"]), g.d(inv.due)))
        g.mark("due_date")
    g.meta(M, y, items, mode="aligned", label_w=120, bold_labels=True)
    g.buyer_block(
        W - M - 220,
        y + g.size,
        220,
        frame=False,
        heading="Facturé à",
        ids=rng.choice(["vat", "vat", "none", "both"]),
    )
    y -= g.lead * 7
    due_txt = f" dû le {g.d(inv.due)}" if inv.due else ""
    label = rng.choice(["Montant dû", "Total à payer", "Montant à régler"])
    s.t(M, y + g.lead * 1.6, label, color=g.style.accent, bold=True)
    s.t(M, y, f"{g.a(inv.amount_due)}{due_txt}", size=g.size * 2, bold=True)
    g.mark("amount_due")
    y -= g.lead * 2
    s.t(
        M,
        y,
        f"{rng.choice(['Période', 'Abonnement mensuel', 'Période de facturation'])} : "
        f"{g.d(inv.extra['start'])} - {g.d(inv.extra['end'])}",
    )
    y -= g.lead * 1.5
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice([["desc", "qty", "pu", "total"], ["desc", "qty", "pu", "rate", "total"]]),
        head="line",
    )
    rows = g.total_rows(vat_detail=rng.choice(["single", "per_rate"]), pay="none")
    rows.append(
        (rng.choice(["Montant dû", "Total dû", "Montant à payer"]), g.a(inv.amount_due), True)
    )
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows)
    s.t(M, y - 10, f"{rng.choice(['Moyen de paiement', 'Paiement'])} : {inv.extra['mode']}")
    s.t(
        M,
        y - 10 - g.lead,
        rng.choice(["Pas d'escompte pour paiement anticipé.", "Merci de votre confiance."]),
        size=g.size * 0.9,
    )
    s.t(
        M,
        y - 10 - 2 * g.lead,
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        size=g.size * 0.85,
    )
    g.legal_footer(
        [f"{sup.name}, {sup.street}, {sup.zip} {sup.city}", *g.random_legal(sup)], size=7
    )


def build_transport(rng: random.Random) -> Inv:
    trade = "transport"
    sup = make_supplier(rng, trade)
    day = rand_day(rng)
    n = rng.randint(3, 12)
    lines = []
    for _ in range(n):
        d0 = day - timedelta(days=rng.randint(2, 28))
        kg = rng.randint(80, 18000)
        a, b = rng.sample(ALL_CITIES, 2)
        lines.append(
            Line(
                f"Transport {a[1]} > {b[1]}",
                D(1),
                "",
                money(rng, 65, 980),
                R20,
                info={
                    "date": d0.strftime("%d/%m/%Y"),
                    "bl": f"{rng.randint(10000, 99999)}",
                    "route": f"{a[1]} > {b[1]}",
                    "weight": str(kg),
                },
            )
        )
    lines.sort(key=lambda ln: ln.info["date"][6:] + ln.info["date"][3:5] + ln.info["date"][:2])
    inv = Inv(sup, make_buyer(rng), invoice_number(rng, day), day, lines)
    gas = D(rng.choice(["4.5", "6.2", "8.1", "11.3"]))
    inv.lines.append(
        Line(
            f"Surcharge gazole {fmt_rate(gas, '20 %')}",
            D(1),
            "",
            q(sum((ln.total for ln in lines), ZERO) * gas / 100),
            R20,
            info={"route": f"Indexation gazole {fmt_rate(gas, '20 %')}"},
        )
    )
    if rng.random() < 0.7:
        inv.due, inv.terms = (
            None,
            rng.choice(
                [
                    "30 jours fin de mois",
                    "45 jours fin de mois",
                    "Paiement à 30 jours fin de mois le 10",
                ]
            ),
        )
    else:
        inv.due = end_of_month(day, 30)
    return inv


def draw_transport(g: Gen) -> None:
    """Carrier: one line per delivery note with its date ("BL n°"), fuel surcharge, terms."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(M, H - M, logo=rng.uniform(16, 22), ids=rng.choice([["siret"], []]))
    s.t(M, y, "Licence communautaire n° " + f"{rng.randint(10**9, 10**10)}", size=g.size * 0.85)
    by = g.buyer_block(W - M - 230, H - M - 70, 230, code=rng.random() < 0.5)
    y = min(y - g.lead, by) - 16
    s.t(M, y, rng.choice(["FACTURE", "Facture de transport"]), size=g.size * 1.7, bold=True)
    y -= g.lead * 2
    items = [
        (g.pick("number", ["Facture N°", "N° de facture", "Numéro"]), inv.number),
        (g.pick("date", ["Date", "Date de facture", "Date de facturation"]), g.d(inv.day)),
    ]
    if inv.due:
        items.append((g.pick("due", ["Échéance", "Date d'échéance"]), g.d(inv.due)))
        g.mark("due_date")
    y = g.meta(M, y, items, mode=rng.choice(["aligned", "colon"]), label_w=120)
    s.t(M, y - 2, rng.choice(["Récapitulatif des expéditions", "Détail des livraisons"]), bold=True)
    keys = ["date", "bl", "route", "weight", "total"]
    g._y = g.table(
        M, W - M, y - 8, keys, head=rng.choice(["fill", "line"]), grid=rng.random() < 0.4
    )
    g._y = g.need(200) or g._y
    rows = g.total_rows(vat_detail="per_rate", pay=rng.choice(["net", "none"]))
    y = g.totals_stack(W - M - 210, W - M, g._y - g.lead, rows, boxed=rng.random() < 0.5)
    y = g.payment(M, y - 10, W - 2 * M, due=False, penalties=True)
    g.legal_footer([inv.supplier.name, *g.random_legal(inv.supplier)])


def build_credit(rng: random.Random) -> Inv:
    trade = rng.choice(["it", "office", "building", "food", "printing"])
    inv = base_inv(rng, trade, rng.randint(1, 4), shape=rng.choice(["AV", "AV2"]))
    inv.kind = "credit_note"
    inv.extra |= {
        "orig": invoice_number(rng, inv.day, "FA2026-0012"),
        "orig_day": inv.day - timedelta(days=rng.randint(8, 70)),
        "reason": rng.choice(
            [
                "Retour de marchandise",
                "Erreur de facturation",
                "Geste commercial",
                "Produit défectueux",
            ]
        ),
    }
    inv.due = None
    return inv


def draw_credit(g: Gen) -> None:
    """Credit note: "AVOIR N° AV-2026-003" / "Facture d'avoir", the original invoice and its
    date, positive amounts, "Montant à rembourser"."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(
        M, H - M, logo=rng.choice([0, 18, 22]), ids=rng.choice([["siret", "vat"], []])
    )
    by = g.buyer_block(W - M - 230, H - M - 60, 230, ids="random", code=rng.random() < 0.4)
    y = min(y, by) - 24
    head = rng.choice(["AVOIR N°", "Avoir n°", "FACTURE D'AVOIR N°", "Facture d'avoir"])
    s.t(M, y, f"{head} {inv.number}", size=g.size * 1.6, bold=True)
    y -= g.lead * 2
    items = [
        (g.pick("date", ["Date", "Date de l'avoir", "Émis le", "Date d'émission"]), g.d(inv.day)),
        (
            rng.choice(["Avoir sur facture n°", "Facture d'origine", "Réf. facture"]),
            f"{inv.extra['orig']} du {g.d(inv.extra['orig_day'])}",
        ),
        ("Motif", inv.extra["reason"]),
    ]
    y = g.meta(M, y, items, mode=rng.choice(["colon", "aligned"]), label_w=130)
    g._y = g.table(
        M,
        W - M,
        y - 8,
        rng.choice([["ref", "desc", "qty", "pu", "total"], ["desc", "qty", "pu", "rate", "total"]]),
        head=rng.choice(["fill", "line"]),
    )
    g._y = g.need(180) or g._y
    rows = g.total_rows(
        vat_detail=rng.choice(["single", "per_rate"]),
        pay="none",
        ttc_label=rng.choice(["Total TTC", "Total avoir TTC", "Montant TTC"]),
    )
    if rng.random() < 0.6:
        rows.append(
            (
                rng.choice(["Montant à rembourser", "Net à déduire", "Net en votre faveur"]),
                g.a(inv.ttc),
                True,
            )
        )
        g.mark("amount_due")
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows)
    s.t(
        M,
        y - 10,
        rng.choice(
            [
                "Cet avoir sera déduit de votre prochain règlement.",
                "Remboursement par virement sous 30 jours.",
                "Avoir à valoir sur vos prochaines factures.",
            ]
        ),
    )
    g.legal_footer([inv.supplier.name, *g.random_legal(inv.supplier)])


def build_micro(rng: random.Random) -> Inv:
    first, last = rng.choice(FIRST_NAMES), rng.choice(NAMES)
    job, trade = rng.choice(
        [
            ("Graphiste", "printing"),
            ("Développeur web", "it"),
            ("Formatrice", "consulting"),
            ("Agent d'entretien", "cleaning"),
        ]
    )
    name = rng.choice([f"{first} {last}", f"{first} {last.upper()}", f"{last} {first}"])
    sup = make_party(rng, name, ape=TRADES[trade][1], form="EI", capital=False)
    sup.vat = None
    inv = base_inv(
        rng,
        trade,
        rng.randint(1, 4),
        supplier=sup,
        shape=rng.choice(["2026-0042", "2026/118", "FA-2026-0012"]),
    )
    inv.regime = "exempt"
    inv.extra["job"] = job
    return inv


def draw_micro(g: Gen) -> None:
    """Auto-entrepreneur (word processor): "Lyon, le 12 mars 2026", SIRET only,
    "TVA non applicable, art. 293 B du CGI"."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    y = H - M
    s.t(M, y - 14, sup.name, size=14, bold=True)
    s.t(
        M,
        y - 28,
        f"{inv.extra['job']} - {rng.choice(['Entrepreneur individuel', 'EI', 'Micro-entreprise'])}",
    )
    yy = y - 28 - g.lead
    for line in [
        sup.street,
        f"{sup.zip} {sup.city}",
        sup.phone,
        sup.email,
        g.id_mention(sup, "siret"),
    ]:
        s.t(M, yy, line)
        yy -= g.lead
    by = g.buyer_block(
        W - M - 220,
        H - M - 90,
        220,
        frame=False,
        heading=None,
        ids=rng.choice(["none", "siret", "none"]),
    )
    y = min(yy, by) - 20
    if rng.random() < 0.6:
        s.t(W - M, y, f"{sup.city}, le {fmt_date(inv.day, 'long', g.style.first_er)}", align="r")
        date_printed = True
        y -= g.lead * 2
    else:
        date_printed = False
    centred = rng.random() < 0.5
    title = rng.choice([f"FACTURE N° {inv.number}", f"Facture n° {inv.number}"])
    s.t(W / 2 if centred else M, y, title, size=14, bold=True, align="c" if centred else "l")
    y -= g.lead * 2
    if not date_printed:
        s.t(
            M,
            y,
            rng.choice(
                [
                    f"Date : {g.d(inv.day)}",
                    f"Date de la facture : {g.d(inv.day)}",
                    f"Le {g.d(inv.day)}",
                ]
            ),
        )
        y -= g.lead * 1.5
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice([["desc", "qty", "pu", "total"], ["desc", "qty", "unit", "pu", "total"]]),
        head=rng.choice(["box", "line"]),
        grid=rng.random() < 0.6,
    )
    total_label = rng.choice(["Total HT", "Total", "TOTAL", "Montant total"])
    rows = [(total_label, g.a(inv.ht), True)]
    if rng.random() < 0.6:
        rows.append(
            (rng.choice(["Net à payer", "Total à payer", "Montant à régler"]), g.a(inv.ttc), True)
        )
        g.mark("amount_due")
    y = g.totals_stack(W - M - 200, W - M, g._y - g.lead, rows)
    s.t(
        M,
        y - 6,
        rng.choice(
            [
                "TVA non applicable, art. 293 B du CGI",
                "TVA non applicable - article 293 B du Code général des impôts",
                "« TVA non applicable, article 293 B du CGI »",
            ]
        ),
        bold=True,
    )
    y -= g.lead * 2
    y = g.payment(M, y - 6, W - 2 * M, penalties=rng.random() < 0.7)
    if rng.random() < 0.5:
        g.legal_footer(
            [sup.name, "Dispensé d'immatriculation au RCS et au RM", g.id_mention(sup, "siret")]
        )


def build_reverse(rng: random.Random) -> Inv:
    if rng.random() < 0.5:  # French subcontractor in the building trade
        trade = rng.choice(["electric", "plumbing"])
        inv = base_inv(rng, trade, rng.randint(1, 5))
        for ln in inv.lines:
            ln.rate = R20
        inv.regime = "reverse_charge"
        inv.buyer.name = (
            rng.choice(["Bâtiment {n}", "{n} Construction", "Entreprise {n} BTP"]).format(
                n=rng.choice(NAMES)
            )
            + f" {inv.buyer.form}"
        )
    else:  # EU supplier
        country = rng.choice(["DE", "BE", "IT", "NL"])
        trade = rng.choice(["it", "office", "printing"])
        names, trades, *_rest = FOREIGN[country]
        name = f"{rng.choice(names)} {rng.choice(trades)} {FOREIGN_FORMS[country]}"
        if rng.random() < 0.3:
            name = f"{rng.choice(names)} & {rng.choice(names)} {FOREIGN_FORMS[country]}"
        sup = make_party(rng, name, country=country)
        inv = base_inv(
            rng,
            trade,
            rng.randint(1, 5),
            supplier=sup,
            shape=rng.choice(["INV-2026-0193", "2026-0042", "123456"]),
        )
        inv.regime = "intra_eu"
    return inv


def draw_reverse(g: Gen) -> None:
    """Reverse charge: no VAT charged ("Autoliquidation"), the buyer's VAT number printed."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    foreign = sup.country != "FR"
    ids = ["vat"] if foreign else rng.choice([["siret", "vat"], ["vat"]])
    y = g.seller_block(M, H - M, logo=rng.choice([0, 18]), ids=ids)
    by = g.buyer_block(W - M - 240, H - M - 50, 240, ids=rng.choice(["vat", "both"]))
    y = min(y, by) - 20
    s.t(M, y, rng.choice(["FACTURE", "Facture"]), size=g.size * 1.8, bold=True)
    y -= g.lead * 2
    items = [(g.pick("number"), inv.number), (g.pick("date"), g.d(inv.day))]
    if inv.due:
        items.append((g.pick("due"), g.d(inv.due)))
        g.mark("due_date")
    y = g.meta(M, y, items, mode=rng.choice(["colon", "aligned"]), label_w=120)
    if not foreign:
        s.t(
            M,
            y - 2,
            f"Chantier : {rng.choice(STREET_NAMES)} - lot "
            f"{rng.choice(['électricité', 'plomberie', 'CVC'])}",
        )
        y -= g.lead
    g._y = g.table(
        M,
        W - M,
        y - 8,
        rng.choice([["desc", "qty", "pu", "total"], ["ref", "desc", "qty", "unit", "pu", "total"]]),
        head=rng.choice(["fill", "line"]),
    )
    rows = [(g.pick("ht"), g.a(inv.ht), False)]
    zero_rate = rng.random() < 0.5
    if zero_rate:
        rows.append((f"TVA {g.r(ZERO)}", g.a(ZERO), False))
        g.mark("vat_lines", "vat_bases")
    else:
        rows.append(
            (
                rng.choice(["TVA", "TVA due par le preneur", "TVA (autoliquidation)"]),
                g.a(ZERO),
                False,
            )
        )
    rows.append((g.pick("ttc", ["Total TTC", "Montant total", "Net à payer"]), g.a(inv.ttc), True))
    if rows[-1][0].lower().startswith("net"):
        g.mark("amount_due")
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows)
    mention = (
        rng.choice(
            [
                "Autoliquidation - Article 196 de la directive 2006/112/CE",
                "Exonération de TVA, article 262 ter I du CGI - Autoliquidation",
                "Reverse charge - Autoliquidation par le preneur",
            ]
        )
        if foreign
        else rng.choice(
            [
                "Autoliquidation - TVA due par le preneur, art. 283-2 nonies du CGI",
                "Autoliquidation de la TVA (sous-traitance BTP, article 283-2 nonies du CGI)",
            ]
        )
    )
    s.t(M, y - 6, mention, bold=True)
    y = g.payment(M, y - 6 - g.lead * 1.5, W - 2 * M, due=False, penalties=not foreign)
    g.legal_footer(
        [
            sup.name,
            *(
                g.random_legal(sup)
                if not foreign
                else [f"{sup.street}, {sup.zip} {sup.city}, {sup.country_name}"]
            ),
        ]
    )


def build_margin(rng: random.Random) -> Inv:
    trade = rng.choice(["it", "garage", "cleaning", "printing", "consulting"])
    inv = base_inv(
        rng,
        trade,
        rng.randint(1, 6),
        shape=rng.choice(["F-000123", "FAC-26-04-0007", "2026/118", "123456"]),
    )
    return inv


def draw_margin(g: Gen) -> None:
    """Ledger style: each header label far left with its value at the right margin (dot leaders
    sometimes), the totals laid out the same way across the page."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    y = g.seller_block(M, H - M, logo=rng.choice([0, 16, 20]), ids=rng.choice([["siret"], []]))
    by = g.buyer_block(
        rng.uniform(250, 320),
        H - M - 30,
        220,
        frame=True,
        heading=rng.choice(["Client", None]),
        ids="random",
    )
    y = min(y, by) - 24
    s.t(M, y, rng.choice(["FACTURE", "Facture"]), size=g.size * 1.8, bold=True)
    y -= g.lead * 2
    dots = rng.random() < 0.5
    items = [
        (g.pick("number", ["Référence :", "Numéro :", "Facture n°", "N° de facture"]), inv.number),
        (g.pick("date", ["Date de facture", "Date", "Date d'émission"]), g.d(inv.day)),
    ]
    if rng.random() < 0.5:
        items.append(("Date de livraison", g.d(inv.day - timedelta(days=rng.randint(1, 6)))))
    if inv.due:
        items.append((g.pick("due"), g.d(inv.due)))
        g.mark("due_date")
    else:
        items.append(("Conditions de paiement", inv.terms))
    right = W - M if rng.random() < 0.6 else rng.uniform(380, 450)
    y = g.meta(M, y, items, mode="right", right=right, dots=dots)
    y -= g.lead
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice([["desc", "qty", "pu", "total"], ["ref", "desc", "qty", "pu", "rate", "total"]]),
        head=rng.choice(["line", "fill"]),
    )
    g._y = g.need(200) or g._y
    rows = g.total_rows()
    y = g._y - g.lead
    for label, value, bold in rows:
        s.t(M, y, label, bold=bold)
        s.t(W - M, y, value, align="r", bold=bold)
        if dots:
            x0 = M + s.width(label, bold=bold) + 4
            x1 = W - M - s.width(value, bold=bold) - 4
            s.t(x0, y, "." * max(int((x1 - x0) / s.width(".")), 0))
        y -= g.lead * 1.2
    y = g.payment(M, y - 10, W - 2 * M, due=False, penalties=True)
    g.legal_footer([inv.supplier.name, *g.random_legal(inv.supplier)])


def build_word(rng: random.Random) -> Inv:
    trade = rng.choice(["consulting", "cleaning", "printing", "garage", "it"])
    return base_inv(
        rng, trade, rng.randint(1, 4), shape=rng.choice(["2026/118", "2026-0042", "FA2026-0012"])
    )


def draw_word(g: Gen) -> None:
    """Word-processor template: centred title, "Numéro : 2026/118", "Vos identifiants" with the
    client's SIRET and VAT number, a plain table."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    s.t(
        W / 2,
        H - M - 20,
        rng.choice(["FACTURE", "F A C T U R E", "Facture"]),
        size=20,
        bold=True,
        align="c",
    )
    y = g.seller_block(
        M,
        H - M - 40,
        ids=rng.choice([["siret"], ["siret", "vat"], ["rcs"]]),
        name_bold=rng.random() < 0.5,
    )
    by = H - M - 50
    s.t(
        W - M - 220, by, rng.choice(["Client :", "À l'attention de :", "Destinataire :"]), bold=True
    )
    by = g.buyer_block(W - M - 220, by - 4, 220, frame=False, heading=None, ids="none")
    if rng.random() < 0.7:
        s.t(W - M - 220, by - 2, "Vos identifiants", bold=True)
        ids = []
        if rng.random() < 0.7:
            ids.append(("SIRET", g.siret_txt(inv.buyer.siret or "")))
            g.mark("buyer.siret", "buyer.siren")
        ids.append(("N° TVA client", g.vat_txt(inv.buyer.vat or "")))
        g.mark("buyer.vat_number")
        by = g.meta(W - M - 220, by - 2 - g.lead, ids, mode="colon")
    y = min(y, by) - 20
    items = [
        (rng.choice(["Numéro", "Référence", "N°"]), inv.number),
        (rng.choice(["Date", "Date d'émission", "Le"]), g.d(inv.day)),
    ]
    if inv.due and rng.random() < 0.7:
        items.append((g.pick("due"), g.d(inv.due)))
        g.mark("due_date")
    y = g.meta(M, y, items, mode="colon")
    y -= g.lead
    g._y = g.table(M, W - M, y, ["desc", "qty", "pu", "total"], head="box", grid=True)
    rows = g.total_rows(vat_detail=rng.choice(["single", "per_rate"]))
    y = g.totals_stack(W - M - 200, W - M, g._y - g.lead, rows, boxed=True)
    y = g.payment(
        M, y - 14, W - 2 * M, due=not g.marks & {"due_date"}, penalties=rng.random() < 0.6
    )
    s.t(M, y - 10, rng.choice(["Merci de votre confiance.", "Cordialement,", ""]))
    g.legal_footer([inv.supplier.name, *g.random_legal(inv.supplier)], rule=False)


def build_modern(rng: random.Random) -> Inv:
    trade = rng.choice(["consulting", "it", "printing", "saas", "cleaning"])
    inv = base_inv(
        rng,
        trade,
        rng.randint(1, 5),
        shape=rng.choice(["F-000123", "INV-2026-0193", "FA-2026-0012", "2026-0042"]),
    )
    if inv.due is None:
        inv.due = inv.day + timedelta(days=30)
    return inv


def draw_modern(g: Gen) -> None:
    """Modern tool: three columns "De" / "Facturé à" / "Détails", a big amount due sentence
    ("1 234,56 € à payer avant le ..."), legal and bank details in the footer."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    s.t(M, H - M - 26, rng.choice(["Facture", "FACTURE"]), size=28, bold=True, color=g.style.accent)
    s.t(W - M, H - M - 22, sup.name, size=14, bold=True, align="r")
    y = H - M - 70
    cw = (W - 2 * M) / 3
    s.t(M, y, rng.choice(["De", "Émetteur", "Vendeur"]), bold=True, color=g.style.accent)
    y1 = g.seller_block(
        M, y - 4, contact=False, ids=rng.choice([["vat"], ["siren", "vat"], []]), name_bold=False
    )
    s.t(M + cw, y, rng.choice(["Facturé à", "Client", "À"]), bold=True, color=g.style.accent)
    y2 = g.buyer_block(
        M + cw, y - 4, cw - 10, frame=False, heading=None, ids=rng.choice(["vat", "none", "siren"])
    )
    s.t(M + 2 * cw, y, "Détails", bold=True, color=g.style.accent)
    label = rng.choice(["N° de facture", "Numéro", "INVOICE #", "Facture #"])
    items = [
        (label, inv.number),
        (rng.choice(["Date d'émission", "Émise le", "Date"]), g.d(inv.day)),
        (rng.choice(["Date d'échéance", "Échéance", "Payable le"]), g.d(inv.due)),
    ]
    g.mark("due_date")
    y3 = (
        g.meta(M + 2 * cw, y - g.lead * 1.3, items, mode="colon")
        if rng.random() < 0.5
        else g.meta(M + 2 * cw, y - g.lead * 1.3, items, mode="right", right=W - M)
    )
    y = min(y1, y2, y3) - 20
    s.t(
        M,
        y,
        f"{g.a(inv.amount_due)} {rng.choice(['à payer avant le', 'dus le', 'à régler le'])} "
        f"{g.d(inv.due)}",
        size=g.size * 1.6,
        bold=True,
    )
    g.mark("amount_due")
    y -= g.lead * 2.5
    g._y = g.table(
        M,
        W - M,
        y,
        rng.choice(
            [["desc", "qty", "pu", "rate", "total"], ["desc", "qty", "unit", "pu", "total"]]
        ),
        head=rng.choice(["line", "dark"]),
        zebra=rng.random() < 0.5,
    )
    rows = g.total_rows(pay="none")
    rows.append(
        (rng.choice(["Montant dû", "Total dû", "Reste à payer"]), g.a(inv.amount_due), True)
    )
    y = g.totals_stack(W - M - 220, W - M, g._y - g.lead, rows, fill_last=True)
    s.t(M, y - 10, "Paiement par virement", bold=True)
    s.t(M, y - 10 - g.lead, g.id_mention(sup, "iban"))
    s.para(M, y - 10 - 2.5 * g.lead, rng.choice(PENALTIES), W - 2 * M, g.size * 0.8, g.lead * 0.85)
    g.legal_footer([sup.name, *g.random_legal(sup, vat=False)], size=7, rule=False)


def build_hotel(rng: random.Random) -> Inv:
    sup = make_party(
        rng,
        rng.choice(
            ["Hôtel {n}", "Hôtel du Commerce", "Le Relais {n}", "Grand Hôtel de la Gare"]
        ).format(n=rng.choice(NAMES)),
        ape="5510Z",
    )
    day = rand_day(rng)
    nights = rng.randint(1, 4)
    arrival = day - timedelta(days=nights)
    price = money(rng, 69, 189)
    room = rng.choice(["simple", "double", "twin", "supérieure"])
    lines = []
    for k in range(nights):
        dk = (arrival + timedelta(days=k)).strftime("%d/%m/%Y")
        lines.append(
            Line(
                f"Nuitée chambre {room}",
                D(1),
                "nuit",
                price,
                R10,
                info={"date": dk},
            )
        )
        if rng.random() < 0.7:
            lines.append(
                Line(
                    "Petit-déjeuner",
                    D(rng.randint(1, 2)),
                    "u",
                    money(rng, 9, 19),
                    R10,
                    info={"date": dk},
                )
            )
        if rng.random() < 0.4:
            lines.append(
                Line("Restaurant - dîner", D(1), "u", money(rng, 20, 60), R10, info={"date": dk})
            )
        if rng.random() < 0.3:
            lines.append(
                Line(
                    "Bar - boissons alcoolisées",
                    D(1),
                    "u",
                    money(rng, 6, 30),
                    R20,
                    info={"date": dk},
                )
            )
    if rng.random() < 0.5:
        lines.append(
            Line(
                "Parking",
                D(nights),
                "j",
                money(rng, 8, 18),
                R20,
                info={"date": day.strftime("%d/%m/%Y")},
            )
        )
    inv = Inv(
        sup,
        make_buyer(rng),
        invoice_number(rng, day, rng.choice(["123456", "F-000123"])),
        day,
        lines,
    )
    inv.extra |= {"arrival": arrival, "room": rng.randint(101, 420)}
    if rng.random() < 0.4:
        inv.deposit = q(inv.compute().ttc * D("0.3"))
    inv.extra["mode"] = rng.choice(["CB", "Carte bancaire", "Virement"])
    return inv


def draw_hotel(g: Gen) -> None:
    """Hotel folio: arrival / departure dates, room, dated lines at 10 % and 20 %."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    sup = inv.supplier
    s.t(W / 2, H - M - 24, sup.name, size=22, bold=True, align="c", color=g.style.accent)
    s.t(
        W / 2,
        H - M - 40,
        f"{sup.street} - {sup.zip} {sup.city} - Tél. {sup.phone}",
        align="c",
        size=g.size * 0.9,
    )
    by = g.buyer_block(W - M - 230, H - M - 70, 230, ids=rng.choice(["none", "vat", "siret"]))
    y = H - M - 80
    label = rng.choice(["Facture n°", "Note n°", "Facture N°"])
    items = [
        (label, inv.number),
        (g.pick("date", ["Date", "Date de facture", "Émise le"]), g.d(inv.day)),
        ("Chambre", str(inv.extra["room"])),
        (rng.choice(["Arrivée", "Arrivée le"]), g.d(inv.extra["arrival"])),
        (rng.choice(["Départ", "Départ le"]), g.d(inv.day)),
    ]
    y = g.meta(M, y, items, mode="aligned", label_w=90)
    y = min(y, by) - 16
    g._y = g.table(
        M,
        W - M,
        y,
        ["date", "desc", "qty", "pu", "rate", "total"],
        head=rng.choice(["fill", "line"]),
    )
    g._y = g.need(200) or g._y
    y = g.vat_table(M, g._y - 4, 230)
    rows = g.total_rows(vat_detail="single", pay="random")
    yt = g.totals_stack(W - M - 210, W - M, g._y - g.lead, rows, boxed=True)
    y = min(y, yt)
    s.t(M, y - 10, f"Règlement : {inv.extra['mode']}")
    g.legal_footer([sup.name, *g.random_legal(sup)])


def build_dotmatrix(rng: random.Random) -> Inv:
    trade = rng.choice(["food", "building", "garage", "office"])
    inv = base_inv(
        rng,
        trade,
        rng.randint(4, 14),
        qty_max=12,
        shape=rng.choice(["123456", "F2026031", "FC26/00412"]),
    )
    inv.extra["qty_decimals"] = True
    inv.extra["rate_codes"] = {r: str(k + 1) for k, r in enumerate([R20, R55, R10, R21])}
    if rng.random() < 0.5:
        inv.discount_pct = D(rng.choice([2, 3]))
    return inv


def draw_dotmatrix(g: Gen) -> None:
    """Old ERP / dot-matrix print: Courier, capitals, dashed rules, VAT codes, short dates,
    "PIECE N°" and "REFERENCE" side by side."""
    inv, s, rng, M = g.inv, g.pen, g.rng, g.M
    g.style.date_fmt = rng.choice(["short", "slash", "dot"])
    g.style.sep = rng.choice(["plain", "space"])
    g.style.cur = ""
    g.style.cur_lines = False
    sup = inv.supplier
    y = g.seller_block(M, H - M, ids=["siret"], contact=True)
    s.t(W - M, H - M - 12, f"PAGE {g.pen.page}", align="r")
    by = g.buyer_block(
        W - M - 240,
        H - M - 60,
        240,
        frame=False,
        heading=None,
        ids=rng.choice(["none", "vat"]),
        code=False,
    )
    y = min(y, by) - 20
    dash = "-" * int((W - 2 * M) / s.width("-"))
    s.t(M, y, dash)
    y -= g.lead
    label = rng.choice(["FACTURE", "FACTURE N°", "PIECE N°"])
    parts = [f"{label} {inv.number}", f"DU {g.d(inv.day)}", f"CLIENT {inv.buyer.code}"]
    if inv.due:
        parts.append(f"{rng.choice(['ECHEANCE', 'ECH.', 'A PAYER LE'])} {g.d(inv.due)}")
        g.mark("due_date")
    else:
        parts.append(f"REGLT {inv.terms.upper()}")
    s.t(M, y, "   ".join(parts))
    y -= g.lead
    s.t(
        M,
        y,
        f"REFERENCE : CDE {rng.randint(1000, 99999)} DU "
        f"{g.d(inv.day - timedelta(days=rng.randint(2, 20)))}",
    )
    y -= g.lead
    s.t(M, y, dash)
    g._y = g.table(M, W - M, y - 4, ["ref", "desc", "qty", "pu", "rate", "total"], head="line")
    g._y = g.need(200) or g._y
    y = g._y - g.lead
    s.t(M, y, "CODE  TAUX     BASE HT      TVA")
    y -= g.lead
    for r in inv.rates:
        s.t(
            M,
            y,
            f"{inv.extra['rate_codes'][r]:<5} {g.r(r):<8} {g.a(inv.base[r]):>10}  "
            f"{g.a(inv.vat[r]):>10}",
        )
        y -= g.lead
    g.mark("vat_lines", "vat_bases")
    rows = g.total_rows(vat_detail="single", pay=rng.choice(["net", "none"]))
    g.totals_stack(W - M - 230, W - M, g._y - g.lead, rows)
    y = min(y, g._y - g.lead * (len(rows) + 1)) - g.lead
    s.t(M, y, dash)
    g.payment(M, y - g.lead, W - 2 * M, due=False, penalties=True)
    g.legal_footer([sup.name.upper(), *[x.upper() for x in g.random_legal(sup)]], rule=False)


FAMILIES: dict[str, tuple[Callable[[random.Random], Inv], Callable[[Gen], None], bool]] = {
    # name: (build, draw, monospace)
    "logo_left_framed_buyer": (build_classic, draw_classic, False),
    "seller_right_buyer_left": (build_seller_right, draw_seller_right, False),
    "erp_boxed_grid": (build_grid, draw_grid, False),
    "utility_bill": (build_utility, draw_utility, False),
    "ecommerce_order": (build_ecommerce, draw_ecommerce, False),
    "craftsman_quote_deposit": (build_craftsman, draw_craftsman, False),
    "consulting_period": (build_consulting, draw_consulting, False),
    "wholesale_two_pages": (build_wholesale, draw_wholesale, False),
    "saas_subscription": (build_saas, draw_saas, False),
    "transport_delivery_notes": (build_transport, draw_transport, False),
    "credit_note": (build_credit, draw_credit, False),
    "auto_entrepreneur": (build_micro, draw_micro, False),
    "reverse_charge": (build_reverse, draw_reverse, False),
    "ledger_right_margin": (build_margin, draw_margin, False),
    "word_template": (build_word, draw_word, False),
    "modern_summary": (build_modern, draw_modern, False),
    "hotel_folio": (build_hotel, draw_hotel, False),
    "dot_matrix_erp": (build_dotmatrix, draw_dotmatrix, True),
}


# -- rendering and labels --------------------------------------------------------------------
def render(rng: random.Random, family: str) -> tuple[bytes, dict[str, Any], int]:
    """One document of ``family``: PDF bytes, label, page count."""
    build, draw, mono = FAMILIES[family]
    inv = build(rng).compute()
    state = rng.getstate()
    pages = 1
    for _ in range(2):  # first pass counts the pages
        rng.setstate(state)
        g = Gen(rng, inv, family, mono)
        g.pages = pages
        draw(g)
        pages = g.pen.page
        pdf = g.pen.pdf()
    return pdf, label(inv, g.marks, family), pages


def label(inv: Inv, marks: set[str], family: str) -> dict[str, Any]:
    """The fields as printed (see the module docstring)."""
    s, b = inv.supplier, inv.buyer

    def m(name: str, value: Any) -> Any:
        return value if name in marks else None

    vat_lines = []
    if "vat_lines" in marks:
        vat_lines = [
            {
                "rate": f"{r:.2f}",
                "base": m("vat_bases", f"{inv.base[r]:.2f}"),
                "amount": f"{inv.vat[r]:.2f}",
            }
            for r in inv.rates
        ]
        if inv.regime != "standard":
            vat_lines = [{"rate": "0.00", "base": f"{inv.ht:.2f}", "amount": "0.00"}]
    return {
        "document_kind": inv.kind,
        "invoice_number": inv.number,
        "invoice_date": inv.day.isoformat(),
        "due_date": m("due_date", inv.due.isoformat() if inv.due else None),
        "currency": "EUR",
        "total_excl_tax": f"{inv.ht:.2f}",
        "total_tax": f"{inv.tva:.2f}",
        "total_incl_tax": f"{inv.ttc:.2f}",
        "amount_due": m("amount_due", f"{inv.amount_due:.2f}"),
        "vat_lines": vat_lines,
        "vat_regime": inv.regime,
        "supplier": {
            "name": s.name,
            "siren": m("supplier.siren", s.siren),
            "siret": m("supplier.siret", s.siret),
            "vat_number": m("supplier.vat_number", s.vat),
            "iban": m("supplier.iban", s.iban),
            "country": s.country,
        },
        "buyer": {
            "name": b.name,
            "siren": m("buyer.siren", b.siren),
            "siret": m("buyer.siret", b.siret),
            "vat_number": m("buyer.vat_number", b.vat),
        },
        "layout": family,
    }


def check(lab: dict[str, Any]) -> None:
    """Consistency of a label (raises AssertionError)."""
    ht, tva, ttc = (D(lab[k]) for k in ("total_excl_tax", "total_tax", "total_incl_tax"))
    assert ht + tva == ttc, lab
    if lab["vat_lines"] and lab["vat_lines"][0]["base"] is not None:
        assert sum(D(v["base"]) for v in lab["vat_lines"]) == ht, lab
        assert sum(D(v["amount"]) for v in lab["vat_lines"]) == tva, lab
        for v in lab["vat_lines"]:
            assert q(D(v["base"]) * D(v["rate"]) / 100) == D(v["amount"]), lab
    for party in ("supplier", "buyer"):
        p = lab[party]
        if p["siren"]:
            assert luhn.is_valid(p["siren"]), p
        if p["siret"]:
            assert luhn.is_valid(p["siret"]) and p["siret"].startswith(p["siren"] or ""), p
        if p["vat_number"]:
            assert eu_vat.is_valid(p["vat_number"]), p
    if lab["supplier"]["iban"]:
        from stdnum import iban

        assert iban.is_valid(lab["supplier"]["iban"]), lab["supplier"]


def generate(out: Path, size: int = 80, seed: int = 3, scans: int = 0) -> list[Path]:
    """Write ``size`` documents (families in turn) and ``scans`` scans; returns the labels."""
    from bench.scans import make_scan

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    names = list(FAMILIES)
    written: list[Path] = []
    singles: list[tuple[Path, dict[str, Any]]] = []
    doubles: list[tuple[Path, dict[str, Any]]] = []
    for n in range(size):
        family = names[n % len(names)]
        pdf, lab, pages = render(rng, family)
        check(lab)
        stem = out / f"{n:04d}-{family}"
        stem.with_suffix(".pdf").write_bytes(pdf)
        lab |= {"file": stem.with_suffix(".pdf").name, "kind": "text", "pages": pages}
        stem.with_suffix(".json").write_text(json.dumps(lab, ensure_ascii=False, indent=1), "utf-8")
        written.append(stem.with_suffix(".json"))
        (singles if pages == 1 else doubles).append((stem, lab))
    chosen = rng.sample(singles, min(scans, len(singles)))
    chosen += rng.sample(doubles, min(scans - len(chosen), len(doubles)))
    for stem, lab in sorted(chosen, key=lambda x: str(x[0])):
        scan_stem = stem.with_name(stem.name + "-scan")
        for old in (scan_stem.with_suffix(".jpg"), scan_stem.with_suffix(".pdf")):
            old.unlink(missing_ok=True)
        path, pages = make_scan(stem.with_suffix(".pdf"), scan_stem, seed)
        scan_lab = lab | {"file": path.name, "kind": "scan", "pages": pages}
        scan_stem.with_suffix(".json").write_text(
            json.dumps(scan_lab, ensure_ascii=False, indent=1), "utf-8"
        )
        written.append(scan_stem.with_suffix(".json"))
    return written


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/devset"))
    parser.add_argument("--size", type=int, default=80)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--scans", type=int, default=0, help="documents also rasterised as scans")
    args = parser.parse_args()
    files = generate(args.out, args.size, args.seed, args.scans)
    print(
        f"{len(files)} labelled documents ({len(FAMILIES)} layout families) written to {args.out}"
    )


if __name__ == "__main__":
    main()
