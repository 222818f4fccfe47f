"""Search benchmark: one firm, the queries people type, whoosh (and PostgreSQL) against FTS5.

    .venv/bin/python bench/search.py --docs 3000 --queries 40            # quick check
    .venv/bin/python bench/search.py --docs 30000 --busy                 # issue 13 conditions
    .venv/bin/python bench/search.py --docs 100000 --busy
    .venv/bin/python bench/search.py --docs 3000 --queries 40 --backend both   # + PostgreSQL

The corpus (seed ``--seed``) is **one firm** of 500 companies: purchase invoices, sales invoices
and administrative documents (bank statements, payslips, leases, tax notices, minutes), with
amounts written the French way (``23 958,12``; ``23958,12`` in bank lines; sometimes a
no-break space) in totals, VAT lines, invoice lines and bank statement lines, dates
(``15/10/2026``, ``15 octobre 2026``), SIREN, SIRET, VAT numbers and IBAN (spaced as printed),
invoice numbers with punctuation (``FA-2026/00123``); 1 % of documents are "in export error".
It is written to a JSONL file and indexed through ``WhooshBackend.rebuild`` in a child process
(time, peak RSS), and into SQLite FTS5 (external content, ``unicode61 remove_diacritics 2``,
bm25), the comparison point, in the same run.

The queries run in **another child process** (its RSS is the figure reported: ``ru_maxrss``
and ``VmRSS``), warm-up first, each type against whoosh (and PostgreSQL) and FTS5:

* ``plain`` — one to three common words;
* ``company_binder`` — words (or nothing) within one company and one binder type;
* ``date_range`` — words (or nothing) within a month or a quarter of invoice dates;
* ``export_error`` — words (or nothing) restricted to the 1 % in export error (``restrict_ids``);
* ``highlights`` — words, FTS5 with ``snippet()`` (whoosh highlights every page anyway);
* ``amounts`` — an amount of a document typed ``23 958,12``, ``23958,12``, ``23 958.12``,
  ``23958.12 €``, quoted or not;
* ``invoice_numbers`` — an invoice number as printed, without punctuation, spaced;
* ``identifiers`` — a SIREN, SIRET, VAT number or IBAN with or without spaces.

Prints p50/p95 per type and engine, the ratio of p95 to FTS5's, and for the selective types
(amounts, invoice numbers, identifiers) the **recall against FTS5**: the share of FTS5's hits
(every hit, not a page) that the engine also finds; FTS5 is given the amount or number in the
forms the corpus writes it (``"23 958 12" OR "23958 12"``), since it does not normalise. A
second, **held-out** query set is drawn from another seed (``--heldout-seed``, words picked from
documents rather than from the lists below) and printed apart. ``--busy`` keeps both cores busy
with two processes reading and hashing the corpus file while the queries run.

``--backend`` picks whoosh (default), postgres or both; PostgreSQL runs in a database created on
``--pg-server`` for the run (migrated with ``alembic upgrade heads``, dropped at the end) and
filled by ``PostgresBackend.rebuild`` from the same corpus file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.search.backend import IndexedDocument, SearchBackend, SearchQuery  # noqa: E402
from core.search.whoosh_backend import WhooshBackend  # noqa: E402

SEED = 20261015
HELDOUT_SEED = 777_000_013
FIRM = 1
N_COMPANIES = 500
TYPES = (
    "plain",
    "company_binder",
    "date_range",
    "export_error",
    "highlights",
    "amounts",
    "invoice_numbers",
    "identifiers",
)
SELECTIVE = ("amounts", "invoice_numbers", "identifiers")
ADMIN_TYPES = [
    ("bank_statements", "Relevés bancaires"),
    ("payroll", "Bulletins de paie"),
    ("legal", "Juridique"),
    ("tax", "Impôts et taxes"),
]
BINDERS = [
    ("purchase_invoices", "Factures d'achat"),
    ("sales_invoices", "Factures de vente"),
    *ADMIN_TYPES,
]
MONTHS = [
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
HEADS = [
    "Électricité",
    "Nouvelle",
    "Distribution",
    "Énergie",
    "Transports",
    "Boulangerie",
    "Garage",
    "Imprimerie",
    "Cabinet",
    "Pharmacie",
    "Quincaillerie",
    "Menuiserie",
    "Plomberie",
    "Informatique",
    "Télécom",
    "Assurances",
    "Nettoyage",
    "Papeterie",
    "Restauration",
    "Sécurité",
    "Logistique",
    "Bâtiment",
    "Maçonnerie",
    "Électroménager",
    "Jardinerie",
    "Fromagerie",
    "Brasserie",
    "Librairie",
    "Agence",
    "Atelier",
    "Comptoir",
    "Charpente",
    "Carrosserie",
    "Optique",
]
TAILS = [
    "Dupont",
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupuis",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefort",
    "Mercier",
    "Garnier",
    "Faure",
    "André",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
]
FORMS = ("SARL", "SAS", "SA", "EURL", "SCI", "et Fils", "& Associés", "Services", "SASU")
CITIES = [
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nantes",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Dijon",
    "Angers",
    "Grenoble",
    "Brest",
    "Limoges",
    "Tours",
    "Amiens",
    "Perpignan",
    "Metz",
    "Besançon",
    "Orléans",
    "Rouen",
    "Caen",
    "Nancy",
    "Avignon",
    "Poitiers",
]
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "chemin des Vignes",
    "rue du Moulin",
    "allée des Tilleuls",
)
PRODUCTS = [
    "ramette papier A4",
    "cartouche encre noire",
    "abonnement fibre optique",
    "maintenance annuelle chaudière",
    "location véhicule utilitaire",
    "carburant gazole",
    "électricité heures pleines",
    "électricité heures creuses",
    "consommation gaz naturel",
    "forfait téléphonie mobile",
    "licence logiciel comptable",
    "hébergement serveur",
    "nettoyage des locaux",
    "fournitures de bureau",
    "farine de blé T65",
    "levure boulangère",
    "beurre AOP",
    "sucre en poudre",
    "emballages carton",
    "transport palettes",
    "frais de port",
    "main d'œuvre",
    "déplacement technicien",
    "pièces détachées",
    "pneumatiques",
    "vidange moteur",
    "contrôle technique",
    "assurance multirisque",
    "honoraires conseil",
    "mission expertise comptable",
    "formation sécurité",
    "équipements de protection",
    "vêtements de travail",
    "peinture intérieure",
    "plaques de plâtre",
    "ciment",
    "bois de charpente",
    "quincaillerie diverse",
    "outillage électroportatif",
    "matériel informatique",
    "écran 27 pouces",
    "ordinateur portable",
    "imprimante laser",
    "câbles réseau",
    "repas d'affaires",
    "nuitée hôtel",
    "billet de train",
    "péage autoroute",
    "stationnement",
    "affranchissement",
    "cotisation annuelle",
    "abonnement presse",
    "publicité locale",
    "impression flyers",
    "refonte site internet",
    "sauvegarde en ligne",
    "vin rouge AOC",
    "café en grains",
    "location nacelle",
    "échafaudage",
    "tuiles terre cuite",
]
BOILERPLATE = (
    "Conditions de paiement : règlement à 30 jours fin de mois par virement bancaire. En cas de "
    "retard de paiement, une pénalité égale à trois fois le taux d'intérêt légal sera exigible "
    "ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 euros. Pas d'escompte "
    "pour paiement anticipé. TVA acquittée sur les débits. Merci de rappeler la référence de la "
    "facture lors de votre règlement. Le vendeur conserve la propriété des marchandises "
    "jusqu'au paiement intégral du prix."
)
ADMIN_TEXT = {
    "payroll": "Bulletin de salaire période du {p} salaire de base brut heures supplémentaires "
    "cotisations sociales URSSAF retraite complémentaire prévoyance mutuelle congés payés "
    "net à payer avant impôt prélèvement à la source net payé {a} euros",
    "legal": "Procès-verbal de l'assemblée générale ordinaire du {p} approbation des comptes "
    "de l'exercice affectation du résultat dividendes capital social de {a} euros quitus au "
    "gérant bail commercial loyer charges locatives dépôt de garantie",
    "tax": "Avis d'imposition cotisation foncière des entreprises taxe sur la valeur ajoutée "
    "déclaration de résultats période {p} montant à payer {a} € date limite de paiement "
    "prélèvement à l'échéance impots.gouv.fr espace professionnel",
}
PLAIN_QUERIES = [
    "facture",
    "paiement",
    "virement",
    "électricité",
    "transport",
    "total TTC",
    "facture électricité",
    "frais de port",
    "loyer",
    "cotisations",
    "maintenance chaudière",
    "pénalité retard",
    "carburant",
    "assurance",
    "honoraires",
    "relevé de compte",
    "fournitures bureau",
    "location",
    "téléphonie",
    "prélèvement",
    "gaz naturel",
    "avoir",
    "salaire",
    "ordinateur portable",
    "pièces détachées",
    "nettoyage",
    "affranchissement",
    "formation",
    "hôtel",
    "assemblée générale",
]
STOP = {
    "de",
    "la",
    "le",
    "les",
    "des",
    "du",
    "à",
    "et",
    "en",
    "par",
    "pour",
    "sur",
    "au",
    "une",
    "un",
    "d'",
    "l'",
    "n°",
    ":",
    "€",
    "euros",
}


# -- corpus -------------------------------------------------------------------------------------


def luhn_complete(base: list[int]) -> str:
    for key in range(10):
        digits = base + [key]
        total = 0
        for pos, digit in enumerate(reversed(digits)):
            if pos % 2:
                digit *= 2
                digit -= 9 if digit > 9 else 0
            total += digit
        if total % 10 == 0:
            return "".join(map(str, digits))
    raise AssertionError("unreachable")


def make_party(rng: random.Random, name: str) -> dict[str, str]:
    siren = luhn_complete([rng.randrange(10) for _ in range(8)])
    siret = luhn_complete([int(c) for c in siren] + [0, 0, rng.randrange(10), rng.randrange(10)])
    vat = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    iban = "FR76" + "".join(str(rng.randrange(10)) for _ in range(23))
    style = rng.randrange(5)
    return {
        "name": name,
        "siren": siren,
        "siret": siret,
        "vat": vat,
        "iban": iban,
        # Each supplier numbers its invoices its own way.
        "prefix": rng.choice(("FA", "F", "FAC", "INV", "FV", "")),
        "style": str(style),
        "city": rng.choice(CITIES),
    }


def invoice_number(party: dict[str, str], year: int, seq: int) -> str:
    p = party["prefix"] or "N"
    return {
        "0": f"{p}-{year}/{seq:05d}",
        "1": f"{p}{year}-{seq:06d}",
        "2": f"{year}.{seq % 12 + 1:02d}.{seq:04d}",
        "3": f"{p} {seq:06d}",
        "4": f"{p}/{year % 100:02d}/{seq:05d}",
    }[party["style"]]


def fr_amount(value: Decimal, sep: str = " ") -> str:
    """``23958.12`` → ``23 958,12`` (``sep`` between thousands)."""
    units, cents = f"{value:.2f}".split(".")
    groups = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    return sep.join(groups) + "," + cents


def spaced(value: str, size: int) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


def fr_date(d: date, rng: random.Random) -> str:
    if rng.random() < 0.75:
        return f"{d:%d/%m/%Y}"
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def generate(n_docs: int, seed: int) -> Iterator[tuple[IndexedDocument, dict[str, Any]]]:
    """A deterministic stream of (document, facts the queries are drawn from)."""
    rng = random.Random(seed)
    suppliers = [
        make_party(rng, f"{rng.choice(HEADS)} {rng.choice(TAILS)} {rng.choice(FORMS)}")
        for _ in range(1500)
    ]
    companies = []
    for c in range(1, N_COMPANIES + 1):
        party = make_party(rng, f"{rng.choice(HEADS)} {rng.choice(TAILS)} {rng.choice(FORMS)}")
        companies.append((c, party))
    # Each company buys from a few dozen suppliers and sells to a few dozen clients.
    company_suppliers = {c: rng.sample(suppliers, 30) for c, _ in companies}
    company_clients = {c: rng.sample(suppliers, 20) for c, _ in companies}
    recent: dict[int, list[tuple[str, str, Decimal]]] = {c: [] for c, _ in companies}
    seqs: dict[str, int] = {}
    start = datetime(2024, 1, 1)
    span_minutes = 3 * 365 * 24 * 60
    for doc_id in range(1, n_docs + 1):
        company_id, company = companies[rng.randrange(N_COMPANIES)]
        roll = rng.random()
        binder_index = 0 if roll < 0.5 else 1 if roll < 0.72 else 2 + rng.randrange(4)
        binder_type, binder_name = BINDERS[binder_index]
        created = start + timedelta(minutes=doc_id * span_minutes // n_docs)
        nbsp = "\u00a0" if rng.random() < 0.1 else " "
        facts: dict[str, Any] = {"amounts": [], "ids": []}
        party_name = reference = None
        party_ids: tuple[str, ...] = ()
        doc_date = amount = None
        keywords: tuple[str, ...] = ()
        if binder_type in ("purchase_invoices", "sales_invoices"):
            purchase = binder_type == "purchase_invoices"
            other = rng.choice(
                company_suppliers[company_id] if purchase else company_clients[company_id]
            )
            issuer, client = (other, company) if purchase else (company, other)
            key = issuer["siren"]
            seqs[key] = seqs.get(key, rng.randrange(1, 9000)) + 1
            doc_date = (created - timedelta(days=rng.randint(0, 30))).date()
            number = invoice_number(issuer, doc_date.year, seqs[key])
            lines = []
            total_ht = Decimal(0)
            for _ in range(rng.randint(1, 12)):
                qty = rng.randint(1, 40)
                unit = Decimal(rng.randint(100, 250_000)) / 100
                line = qty * unit
                total_ht += line
                lines.append(
                    f"{rng.choice(PRODUCTS)} {qty} x {fr_amount(unit, nbsp)} € = "
                    f"{fr_amount(line, nbsp)} €"
                )
                facts["amounts"].append(line)
            vat_rate = rng.choice(
                (Decimal("0.20"), Decimal("0.20"), Decimal("0.10"), Decimal("0.055"))
            )
            vat = (total_ht * vat_rate).quantize(Decimal("0.01"))
            total = total_ht + vat
            facts["amounts"] += [total_ht, vat, total]
            amount = total
            party_name = other["name"]
            party_ids = (other["siren"], other["siret"], other["vat"], other["iban"])
            reference = number
            keywords = ("Facture",)
            facts["number"] = number
            facts["ids"] = list(party_ids)
            recent[company_id].append((other["name"], number, total))
            del recent[company_id][:-20]
            text = (
                f"{issuer['name']} {rng.randint(1, 120)} {rng.choice(STREETS)} "
                f"{rng.randint(10, 95)}000 {issuer['city']} SIRET {spaced(issuer['siret'][:9], 3)} "
                f"{issuer['siret'][9:]} RCS {issuer['city']} {spaced(issuer['siren'], 3)} "
                f"N° TVA intracommunautaire {issuer['vat']} "
                f"FACTURE N° {number} du {fr_date(doc_date, rng)} "
                f"Client : {client['name']} {client['city']} "
                f"Désignation Quantité Prix unitaire HT Montant HT "
                + " ".join(lines)
                + f" Total HT {fr_amount(total_ht, nbsp)} € "
                f"TVA {vat_rate * 100:.1f} % {fr_amount(vat, nbsp)} € "
                f"Total TTC {fr_amount(total, nbsp)} € Net à payer {fr_amount(total, nbsp)} EUR "
                f"Échéance {fr_date(doc_date + timedelta(days=30), rng)} "
                f"IBAN {spaced(issuer['iban'], 4)} BIC {issuer['prefix'] or 'BNP'}AFRPPXXX "
                + BOILERPLATE
            )
            filename = f"facture_{number.replace('/', '-').replace(' ', '_')}.pdf"
        elif binder_type == "bank_statements":
            first = created.date().replace(day=1)
            doc_date = first
            lines = []
            balance = Decimal(rng.randint(-500_000, 5_000_000)) / 100
            for _ in range(rng.randint(8, 25)):
                day = first + timedelta(days=rng.randint(0, 27))
                if recent[company_id] and rng.random() < 0.4:
                    name, number, value = rng.choice(recent[company_id])
                    label = f"VIR SEPA {name.upper()} {number}"
                else:
                    value = Decimal(rng.randint(500, 900_000)) / 100
                    label = rng.choice(
                        (
                            "PRLV SEPA URSSAF",
                            "CB CARREFOUR",
                            "PRLV EDF",
                            "VIR SALAIRES",
                            "REMISE CHEQUE",
                            "FRAIS TENUE COMPTE",
                            "PRLV DGFIP TVA",
                            "CB TOTALENERGIES",
                        )
                    )
                # Banks print amounts without thousands separators.
                written = fr_amount(value, "") if rng.random() < 0.6 else fr_amount(value, nbsp)
                lines.append(f"{day:%d/%m/%Y} {label} {written}")
                facts["amounts"].append(value)
            text = (
                f"Relevé de compte courant n° {created.month} du {first:%d/%m/%Y} "
                f"{company['name']} IBAN {spaced(company['iban'], 4)} "
                f"Ancien solde {fr_amount(balance, nbsp)} Date Libellé Débit Crédit "
                + " ".join(lines)
                + f" Nouveau solde créditeur {fr_amount(abs(balance), nbsp)}"
            )
            party_ids = (company["iban"],)
            filename = f"releve_{created:%Y_%m}_{company_id}.pdf"
        else:
            value = Decimal(rng.randint(10_000, 2_000_000)) / 100
            facts["amounts"].append(value)
            doc_date = created.date()
            period = f"{MONTHS[doc_date.month - 1]} {doc_date.year}"
            text = f"{company['name']} SIREN {spaced(company['siren'], 3)} " + ADMIN_TEXT.get(
                binder_type, ADMIN_TEXT["tax"]
            ).format(p=period, a=fr_amount(value, nbsp))
            party_ids = (company["siren"],)
            filename = f"{binder_type}_{created:%Y%m%d}_{doc_id}.pdf"
        doc = IndexedDocument(
            id=doc_id,
            firm_id=FIRM,
            company_id=company_id,
            company_name=company["name"],
            binder_id=company_id * 10 + binder_index,
            binder_name=binder_name,
            binder_type=binder_type,
            state=rng.choice(("to_review", "validated", "validated", "validated")),
            filename=filename,
            text=text,
            party_name=party_name,
            party_ids=party_ids,
            reference=reference,
            date=doc_date,
            amount=amount,
            keywords=keywords,
            created_at=created,
        )
        yield doc, facts


def to_json(doc: IndexedDocument) -> str:
    data = asdict(doc)
    data["date"] = doc.date.isoformat() if doc.date else None
    data["amount"] = str(doc.amount) if doc.amount is not None else None
    data["created_at"] = doc.created_at.isoformat()
    return json.dumps(data, ensure_ascii=False)


def from_json(line: str) -> IndexedDocument:
    data = json.loads(line)
    data["date"] = date.fromisoformat(data["date"]) if data["date"] else None
    data["party_ids"] = tuple(data["party_ids"])
    data["keywords"] = tuple(data["keywords"])
    data["amount"] = Decimal(data["amount"]) if data["amount"] is not None else None
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    # Fields added to IndexedDocument later (e.g. ``mentions``) keep their defaults.
    return IndexedDocument(**data)


def read_chunks(path: Path, size: int = 500) -> Iterator[list[IndexedDocument]]:
    chunk: list[IndexedDocument] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            chunk.append(from_json(line))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# -- queries ------------------------------------------------------------------------------------


def amount_variants(value: Decimal) -> list[str]:
    plain = f"{value:.2f}"
    units, cents = plain.split(".")
    spaced_units = fr_amount(value).split(",")[0]
    forms = [
        f"{spaced_units},{cents}",
        f"{units},{cents}",
        f"{spaced_units}.{cents}",
        f"{units}.{cents} €",
    ]
    forms += [f'"{f}"' for f in forms[:2]]
    return forms


def fts_amount(value: Decimal) -> str:
    units, cents = f"{value:.2f}".split(".")
    spaced_units = fr_amount(value).split(",")[0]
    phrases = {f'"{spaced_units} {cents}"', f'"{units} {cents}"'}
    return " OR ".join(sorted(phrases))


def fts_words(text: str) -> str:
    """FTS5 MATCH string: every word quoted (the tokens of one word form a phrase)."""
    return " ".join('"' + w.replace('"', "") + '"' for w in text.split())


def identifier_variants(kind: str, value: str) -> list[str]:
    """As printed and as typed: ``552 081 317``, ``552 081 317 00012``, ``FR03 552 081 317``,
    ``FR76 3000 6000 …``, and without spaces."""
    if kind == "siren":
        printed = spaced(value, 3)
    elif kind == "siret":
        printed = f"{spaced(value[:9], 3)} {value[9:]}"
    elif kind == "vat":
        printed = f"{value[:4]} {spaced(value[4:], 3)}"
    else:
        printed = spaced(value, 4)
    return [value, printed]


def number_variants(number: str) -> list[str]:
    bare = "".join(ch for ch in number if ch.isalnum())
    spaced_form = " ".join("".join(ch if ch.isalnum() else " " for ch in number).split())
    return [number, bare, spaced_form]


def make_queries(
    meta: list[dict[str, Any]],
    n: int,
    seed: int,
    texts: dict[int, str] | None,
    restrict: list[int],
) -> list[dict[str, Any]]:
    """``n`` queries per type. With ``texts`` (held-out), words are drawn from documents."""
    rng = random.Random(seed)
    invoices = [m for m in meta if m.get("number")]
    dated = [m["date"] for m in meta if m["date"]]
    out: list[dict[str, Any]] = []

    def words() -> str:
        if texts is None:
            roll = rng.random()
            if roll < 0.4:
                return rng.choice(PLAIN_QUERIES)
            if roll < 0.7:
                product = rng.choice(PRODUCTS).split()
                return " ".join(product[: rng.choice((1, 2, 2))])
            if roll < 0.85:
                return rng.choice(TAILS) if rng.random() < 0.5 else rng.choice(HEADS)
            return f"{rng.choice(HEADS)} {rng.choice(TAILS)}"
        text = texts[rng.choice(list(texts))]
        candidates = [
            w.strip(".,:;()")
            for w in text.split()
            if w.isalpha() and len(w) > 3 and w.lower() not in STOP
        ]
        return " ".join(rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2)))))

    for t in TYPES:
        for i in range(n):
            spec: dict[str, Any] = {"type": t, "q": "", "fts": None}
            if t in ("plain", "highlights"):
                spec["q"] = words()
            elif t == "company_binder":
                m = rng.choice(meta)
                spec["company_id"] = m["company_id"]
                spec["binder_type"] = m["binder_type"]
                spec["q"] = words() if i % 3 else ""
            elif t == "date_range":
                d = date.fromisoformat(rng.choice(dated))
                if i % 2:
                    spec["date_from"] = d.replace(day=1).isoformat()
                    spec["date_to"] = (
                        (d.replace(day=28) + timedelta(days=4)).replace(day=1).isoformat()
                    )
                else:
                    q0 = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
                    spec["date_from"] = q0.isoformat()
                    spec["date_to"] = (q0 + timedelta(days=92)).replace(day=1).isoformat()
                spec["q"] = words() if i % 3 else ""
            elif t == "export_error":
                spec["export_error"] = True
                spec["q"] = words() if i % 3 else ""
            elif t == "amounts":
                m = rng.choice(meta)
                value = Decimal(rng.choice(m["amounts"]))
                spec["q"] = rng.choice(amount_variants(value))
                spec["fts_raw"] = fts_amount(value)
                spec["amount"] = str(value)
            elif t == "invoice_numbers":
                m = rng.choice(invoices)
                spec["q"] = rng.choice(number_variants(m["number"]))
                spec["fts_raw"] = '"' + number_variants(m["number"])[2] + '"'  # a phrase
            else:
                m = rng.choice(invoices)
                kind, value = rng.choice(
                    list(zip(("siren", "siret", "vat", "iban"), m["ids"], strict=True))
                )
                spec["q"] = rng.choice(identifier_variants(kind, value))
                spaced_value = identifier_variants(kind, value)[1]
                spec["fts_raw"] = f'"{value}" OR {fts_words(spaced_value).replace(" ", " + ")}'
            if spec["q"] and "fts_raw" not in spec:
                spec["fts_raw"] = fts_words(spec["q"])
            out.append(spec)
    rng.shuffle(out)
    return out


# -- child processes ----------------------------------------------------------------------------


def rebuild_child(corpus: Path, index_dir: Path, limitmb: int) -> None:
    """In a child process: rebuild the whoosh index, print time and peak memory as JSON."""
    t0 = time.perf_counter()
    backend = WhooshBackend(index_dir, limitmb=limitmb)
    backend.rebuild(read_chunks(corpus))
    elapsed = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = backend.document_count()
    backend.close()
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, "count": count}))


def rss_mb() -> tuple[float, float]:
    """(current VmRSS, peak ru_maxrss) of this process, MB."""
    current = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def burn(path: str, stop: Any) -> None:
    """Keep one core busy reading: hash the corpus file again and again."""
    while not stop.is_set():
        with open(path, "rb") as f:
            h = hashlib.sha256()
            while chunk := f.read(1 << 20):
                h.update(chunk)
                if stop.is_set():
                    return


def fts_search(
    con: sqlite3.Connection, spec: dict[str, Any], restrict_table: bool, limit: int | None = 20
) -> list[int]:
    where = ["d.firm_id = ?"]
    args: list[Any] = [FIRM]
    if "company_id" in spec:
        where.append("d.company_id = ? AND d.binder_type = ?")
        args += [spec["company_id"], spec["binder_type"]]
    if "date_from" in spec:
        where.append("d.date >= ? AND d.date < ?")
        args += [spec["date_from"], spec["date_to"]]
    if spec.get("export_error") and restrict_table:
        where.append("d.id IN (SELECT id FROM export_error)")
    tail = f" LIMIT {limit}" if limit else ""
    if spec.get("fts_raw"):
        snippet = (
            ", snippet(docs_fts, 0, '<mark>', '</mark>', '…', 16)"
            if spec["type"] == "highlights"
            else ""
        )
        sql = (
            f"SELECT d.id{snippet} FROM docs_fts JOIN docs d ON d.id = docs_fts.rowid "
            f"WHERE docs_fts MATCH ? AND {' AND '.join(where)} ORDER BY rank{tail}"
        )
        args.insert(0, spec["fts_raw"])
    else:
        sql = f"SELECT d.id FROM docs d WHERE {' AND '.join(where)} ORDER BY created DESC{tail}"
    return [row[0] for row in con.execute(sql, args)]


def to_search_query(
    spec: dict[str, Any], restrict: frozenset[int], per_page: int = 20
) -> SearchQuery:
    sq = SearchQuery(firm_id=FIRM, q=spec["q"], per_page=per_page)
    if "company_id" in spec:
        sq.company_ids = frozenset({spec["company_id"]})
        sq.binder_type = spec["binder_type"]
    if "date_from" in spec:
        sq.date_from = date.fromisoformat(spec["date_from"])
        sq.date_to = date.fromisoformat(spec["date_to"]) - timedelta(days=1)
    if spec.get("export_error"):
        sq.restrict_ids = restrict
    return sq


def verified_amount_hits(con: sqlite3.Connection, ids: set[int], value: Decimal) -> set[int]:
    """FTS5's phrase ``"234 56"`` also matches ``1 234,56``: keep the documents showing it."""
    if not ids:
        return ids
    units, cents = f"{value:.2f}".split(".")
    groups = fr_amount(value).split(",")[0].split(" ")
    pattern = re.compile(
        r"(?<![\d,.])(?<!\d[ \u00a0])" + "[ \u00a0]?".join(groups) + "," + cents + r"(?![\d,])"
    )
    rows = con.execute(
        f"SELECT id, text FROM docs WHERE id IN ({','.join('?' * len(ids))})", sorted(ids)
    )
    return {i for i, text in rows if pattern.search(text)}


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return p50 * 1000, p95 * 1000


def query_child(config_path: Path) -> None:
    """In a child process: open the engines, run the query sets, print the tables."""
    config = json.loads(config_path.read_text())
    work = Path(config["work"])
    restrict = frozenset(config["restrict"])
    con = sqlite3.connect(work / "fts.sqlite", check_same_thread=False)
    texts_con = sqlite3.connect(work / "fts.sqlite", check_same_thread=False)

    def texts(firm_id: int, ids: list[int]) -> dict[int, str]:
        # What the service does with ``Document.text``: the page's texts from the database.
        rows = texts_con.execute(
            f"SELECT id, text FROM docs WHERE firm_id = ? AND id IN ({','.join('?' * len(ids))})",
            [firm_id, *ids],
        )
        return dict(rows)

    engines: dict[str, SearchBackend] = {}
    if "whoosh" in config["engines"]:
        # The result cache is off unless asked: repeated queries would measure the cache.
        whoosh = WhooshBackend(work / "whoosh", result_cache_size=config["result_cache"])
        if hasattr(whoosh, "text_source"):
            whoosh.text_source = texts
        engines["whoosh"] = whoosh
    if "postgres" in config["engines"]:
        from core.search.pg_backend import PostgresBackend

        engines["postgres"] = PostgresBackend(config["pg_url"])
    rss_open = rss_mb()
    busy: list[Any] = []
    stop = multiprocessing.Event()
    if config["busy"]:
        for _ in range(2):
            p = multiprocessing.Process(target=burn, args=(str(work / "corpus.jsonl"), stop))
            p.start()
            busy.append(p)
    try:
        for label, key in (("main", "queries"), ("held-out", "heldout")):
            specs = config[key]
            # Warm-up: every engine answers a tenth of the set (at least 20) first.
            for spec in specs[: max(20, len(specs) // 10)]:
                for engine in engines.values():
                    engine.search(to_search_query(spec, restrict))
                fts_search(con, spec, True)
            run_set(label, specs, engines, con, restrict)
    finally:
        stop.set()
        for p in busy:
            p.join()
    rss_now, rss_peak = rss_mb()
    print(
        f"\nquery process RSS: {rss_now:.0f} MB now, peak {rss_peak:.0f} MB "
        f"(after opening the engines: {rss_open[0]:.0f} MB)"
    )
    for engine in engines.values():
        engine.close()


def run_set(
    label: str,
    specs: list[dict[str, Any]],
    engines: dict[str, SearchBackend],
    con: sqlite3.Connection,
    restrict: frozenset[int],
) -> None:
    names = [*engines, "fts5"]
    timings: dict[tuple[str, str], list[float]] = {}
    empty: dict[tuple[str, str], int] = {}
    for spec in specs:
        sq = to_search_query(spec, restrict)
        for name, engine in engines.items():
            t = time.perf_counter()
            res = engine.search(sq)
            timings.setdefault((name, spec["type"]), []).append(time.perf_counter() - t)
            empty[(name, spec["type"])] = empty.get((name, spec["type"]), 0) + (not res.hits)
        t = time.perf_counter()
        rows = fts_search(con, spec, True)
        timings.setdefault(("fts5", spec["type"]), []).append(time.perf_counter() - t)
        empty[("fts5", spec["type"])] = empty.get(("fts5", spec["type"]), 0) + (not rows)
    # Recall on the selective types: FTS5's every hit against the engine's (untimed).
    recall: dict[tuple[str, str], list[int]] = {}
    for spec in specs:
        if spec["type"] not in SELECTIVE:
            continue
        expected = set(fts_search(con, spec, True, limit=None))
        if spec["type"] == "amounts":
            expected = verified_amount_hits(con, expected, Decimal(spec["amount"]))
        size = max(500, len(expected) + 20)
        for name, engine in engines.items():
            got = {h.id for h in engine.search(to_search_query(spec, restrict, size)).hits}
            cell = recall.setdefault((name, spec["type"]), [0, 0, 0])
            cell[0] += len(expected & got)
            cell[1] += len(expected)
            cell[2] += expected <= got
    print(f"\n[{label} queries] p50 / p95 ms, ratio = p95 / FTS5 p95, empty = queries without hit")
    header = f"{'type':<16} {'n':>4} " + " ".join(f"{n + ' p50/p95':>18}" for n in names)
    print(header + f" {'ratio':>6} {'empty ' + '/'.join(n[0] for n in names):>12} recall")
    for t in TYPES:
        if (names[0], t) not in timings:
            continue
        cells, p95s = [], {}
        for name in names:
            p50, p95 = percentiles(timings[(name, t)])
            p95s[name] = p95
            cells.append(f"{p50:>8.1f} / {p95:>7.1f}")
        ratio = p95s[names[0]] / p95s["fts5"] if p95s["fts5"] else float("inf")
        rec = ""
        for name in engines:
            if (name, t) in recall:
                hit, total, full = recall[(name, t)]
                rec += f" {name[0]} {100 * hit / max(1, total):.1f} % ({full} full)"
        print(
            f"{t:<16} {len(timings[(names[0], t)]):>4} "
            + " ".join(cells)
            + f" {ratio:>6.2f} {'/'.join(str(empty[(n, t)]) for n in names):>12}{rec}"
        )


# -- main ---------------------------------------------------------------------------------------


def build_fts(corpus: Path, db_path: Path, restrict: list[int]) -> None:
    """The FTS5 peer: a documents table, an external-content FTS5 table, an error table."""
    db_path.unlink(missing_ok=True)
    con = sqlite3.connect(db_path)
    con.executescript(
        """
        CREATE TABLE docs (id INTEGER PRIMARY KEY, firm_id INT, company_id INT, binder_type TEXT,
                           date TEXT, created TEXT, text TEXT, filename TEXT, party_name TEXT,
                           company_name TEXT, reference TEXT, party_ids TEXT);
        CREATE INDEX docs_company ON docs (firm_id, company_id, binder_type, created);
        CREATE INDEX docs_date ON docs (firm_id, date);
        CREATE INDEX docs_created ON docs (firm_id, created);
        CREATE VIRTUAL TABLE docs_fts USING fts5(
            text, filename, party_name, company_name, reference, party_ids,
            content='docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TABLE export_error (id INTEGER PRIMARY KEY);
        """
    )
    for chunk in read_chunks(corpus, 5000):
        con.executemany(
            "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    d.id,
                    d.firm_id,
                    d.company_id,
                    d.binder_type,
                    d.date.isoformat() if d.date else None,
                    d.created_at.isoformat(),
                    d.text,
                    d.filename,
                    d.party_name,
                    d.company_name,
                    d.reference,
                    " ".join(d.party_ids),
                )
                for d in chunk
            ],
        )
    con.execute(
        "INSERT INTO docs_fts (rowid, text, filename, party_name, company_name, reference, "
        "party_ids) SELECT id, text, filename, party_name, company_name, reference, party_ids "
        "FROM docs"
    )
    con.executemany("INSERT INTO export_error VALUES (?)", [(i,) for i in restrict])
    con.commit()
    con.execute("VACUUM")
    con.execute("ANALYZE")  # statistics: SQLite picks the date index for a date range
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=30_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per type")
    parser.add_argument("--heldout", type=int, default=100, help="held-out queries per type")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--heldout-seed", type=int, default=HELDOUT_SEED)
    parser.add_argument("--limitmb", type=int, default=64)
    parser.add_argument("--busy", action="store_true", help="two processes keep both cores busy")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--result-cache",
        type=int,
        default=0,
        help="whoosh result cache size during the queries (0: off, every query computed)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the corpus and FTS5 of --workdir"
    )
    parser.add_argument(
        "--reuse-index", action="store_true", help="with --reuse, keep the whoosh index too"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the corpus and indexes, no queries"
    )
    parser.add_argument("--rebuild-child", nargs=2, metavar=("CORPUS", "INDEX"))
    parser.add_argument("--query-child", type=Path, metavar="CONFIG")
    parser.add_argument(
        "--backend", choices=("whoosh", "postgres", "both"), default="whoosh", help="engines"
    )
    parser.add_argument(
        "--pg-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server URL (a database is created there for the run)",
    )
    parser.add_argument("--keep-pg", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    if args.rebuild_child:
        rebuild_child(Path(args.rebuild_child[0]), Path(args.rebuild_child[1]), args.limitmb)
        return
    if args.query_child:
        query_child(args.query_child)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="classeur-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.jsonl"
    meta_path = work / "meta.json"
    reuse = args.reuse and corpus.exists() and meta_path.exists()
    t0 = time.perf_counter()
    if reuse:
        meta = json.loads(meta_path.read_text())
    else:
        meta = []
        with corpus.open("w", encoding="utf-8") as f:
            for doc, facts in generate(args.docs, args.seed):
                f.write(to_json(doc) + "\n")
                meta.append(
                    {
                        "id": doc.id,
                        "company_id": doc.company_id,
                        "binder_type": doc.binder_type,
                        "date": doc.date.isoformat() if doc.date else None,
                        "number": facts.get("number"),
                        "ids": facts["ids"],
                        "amounts": [str(a) for a in facts["amounts"]],
                    }
                )
        meta_path.write_text(json.dumps(meta))
    print(
        f"corpus: {len(meta)} docs, one firm, {N_COMPANIES} companies, "
        f"{'reused' if reuse else 'generated'} in {time.perf_counter() - t0:.1f} s ({work}), "
        f"{corpus.stat().st_size / 2**20:.0f} MB of JSONL"
    )
    restrict = sorted(
        random.Random(args.seed + 1).sample([m["id"] for m in meta], max(1, len(meta) // 100))
    )

    engines = (
        ["whoosh"]
        if args.backend == "whoosh"
        else (["postgres"] if args.backend == "postgres" else ["whoosh", "postgres"])
    )
    if "whoosh" in engines and not (reuse and args.reuse_index and (work / "whoosh").exists()):
        run_whoosh_rebuild(args, corpus, work)
    if "whoosh" in engines:
        size = sum(p.stat().st_size for p in (work / "whoosh").rglob("*") if p.is_file())
        print(f"whoosh index size: {size / 2**20:.0f} MB")
    pg_url, pg_cleanup = None, None
    if "postgres" in engines:
        pg_url, pg_cleanup = build_postgres(args, corpus, work)
    if not (reuse and (work / "fts.sqlite").exists()):
        t0 = time.perf_counter()
        build_fts(corpus, work / "fts.sqlite", restrict)
        print(f"fts5 build: {time.perf_counter() - t0:.1f} s")
    print(f"fts5 size: {(work / 'fts.sqlite').stat().st_size / 2**20:.0f} MB (text included)")
    if args.build_only:
        return

    # Held-out words come from documents drawn with the held-out seed.
    pick = random.Random(args.heldout_seed).sample(range(len(meta)), min(200, len(meta)))
    wanted = {meta[i]["id"] for i in pick}
    texts = {}
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            data = json.loads(line)
            if data["id"] in wanted:
                texts[data["id"]] = data["text"]
    config = {
        "work": str(work),
        "engines": engines,
        "pg_url": pg_url,
        "busy": args.busy,
        "result_cache": args.result_cache,
        "restrict": restrict,
        "queries": make_queries(meta, args.queries, args.seed + 2, None, restrict),
        "heldout": make_queries(meta, args.heldout, args.heldout_seed, texts, restrict),
    }
    del meta, texts
    (work / "queries.json").write_text(json.dumps(config))
    print(
        f"queries: {args.queries} per type (+ {args.heldout} held-out per type), "
        f"busy cores: {'yes' if args.busy else 'no'}"
    )
    try:
        subprocess.run(
            [sys.executable, __file__, "--query-child", str(work / "queries.json")], check=True
        )
        if "whoosh" in engines:
            live_add(work)
    finally:
        if pg_cleanup is not None:
            pg_cleanup()


def live_add(work: Path) -> None:
    """One document added to the live whoosh index until a search finds it."""
    engine = WhooshBackend(work / "whoosh")
    latencies = []
    for n in range(10):
        doc, _ = next(generate(1, n))
        doc.id = 10_000_000 + n
        doc.text += f" marqueurunique{n}"
        t = time.perf_counter()
        engine.index([doc])
        engine.flush()
        hits = engine.search(SearchQuery(firm_id=FIRM, q=f"marqueurunique{n}")).hits
        latencies.append(time.perf_counter() - t)
        assert [h.id for h in hits] == [doc.id]
    engine.delete([10_000_000 + n for n in range(10)], FIRM)
    engine.close()
    p50, p95 = percentiles(latencies)
    print(f"live add whoosh (index + flush + search finds it): p50 {p50:.0f} ms, p95 {p95:.0f} ms")


def run_whoosh_rebuild(args: argparse.Namespace, corpus: Path, work: Path) -> None:
    """Rebuild the whoosh index in a child process (time, peak RSS)."""
    index_dir = work / "whoosh"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    cmd = [
        sys.executable,
        __file__,
        "--rebuild-child",
        str(corpus),
        str(index_dir),
        "--limitmb",
        str(args.limitmb),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rebuild = json.loads(out.strip().splitlines()[-1])
    print(
        f"whoosh rebuild: {rebuild['seconds']:.1f} s ({rebuild['count'] / rebuild['seconds']:.0f}"
        f" docs/s), peak RSS {rebuild['peak_mb']:.0f} MB, {rebuild['count']} docs"
    )


def build_postgres(args: argparse.Namespace, corpus: Path, work: Path) -> tuple[str, Any]:
    """Create and migrate a database, fill it with ``PostgresBackend.rebuild``.

    Returns its URL and a function dropping the database.
    """
    import uuid

    from sqlalchemy import create_engine, text

    from core.app import create_app
    from core.db import db
    from core.migrate import upgrade
    from core.search.pg_backend import PostgresBackend

    name = f"classeur_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg_server.rsplit("/", 1)[0] + f"/{name}"
    app = create_app({"DATA_DIR": str(work), "DATABASE_URL": url, "SECRET_KEY": "bench"})
    upgrade(app)
    db.engine_for(app).dispose()
    backend = PostgresBackend(url)
    t0 = time.perf_counter()
    backend.rebuild(read_chunks(corpus))
    with backend.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE search_documents"))
    elapsed = time.perf_counter() - t0
    print(
        f"postgres rebuild: {elapsed:.1f} s ({backend.document_count() / elapsed:.0f} docs/s), "
        f"{backend.document_count()} docs, table + indexes "
        f"{backend.index_size() / 2**20:.0f} MB (database {name})"
    )
    backend.close()

    def cleanup() -> None:
        if args.keep_pg:
            print(f"postgres database kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, cleanup


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
