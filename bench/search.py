"""Search benchmark: the whoosh and PostgreSQL backends, and SQLite FTS5, on the same corpus.

    .venv/bin/python bench/search.py --docs 2000 --queries 50 --backend both    # quick check
    .venv/bin/python bench/search.py --docs 10000 --queries 100     # whoosh and FTS5
    .venv/bin/python bench/search.py                                # 100,000 docs, 300 queries
    .venv/bin/python bench/search.py --docs 100000 --backend postgres   # PostgreSQL and FTS5

``--backend`` picks whoosh (default), postgres or both; PostgreSQL runs in a database created
on ``--pg-server`` for the run (migrated with ``alembic upgrade heads``, dropped at the end) and
is fed by ``PostgresBackend.rebuild`` from the same corpus file; it answers the same queries.

Prints, for each case (plain, company filter, binder-type filter, export-error restriction),
p50/p95 of selective queries (reference, party identifier, party name, amount — an invoice's
number, its supplier's SIREN and name, its total) and of broad queries
(one or two common words), for whoosh and FTS5; the rebuild time and peak memory (measured in
a child process that streams the corpus from disk, like ``classeur reindex``); the index sizes;
and the time for one document added to the live index to become searchable.
"""

from __future__ import annotations

import argparse
import json
import random
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

SEED = 20240501
FIRMS = (1, 2, 3)
BINDER_TYPES = [
    ("purchase_invoices", "Factures d'achat", 60),
    ("sales_invoices", "Factures de vente", 15),
    ("bank_statements", "Relevés bancaires", 10),
    ("payroll", "Bulletins de paie", 5),
    ("legal", "Juridique", 10),
]
SUPPLIER_HEADS = [
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
]
SUPPLIER_TAILS = [
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
]
SUPPLIER_FORMS = ("SARL", "SAS", "SA", "EURL", "SCI", "et Fils", "& Associés", "Services")
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
    "expertise comptable",
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
    "hôtel",
    "billet de train",
    "péage autoroute",
    "stationnement",
    "affranchissement",
    "cotisation annuelle",
    "abonnement presse",
    "publicité locale",
    "impression flyers",
    "site internet",
    "sauvegarde en ligne",
]
BOILERPLATE = [
    "Conditions",
    "de",
    "paiement",
    ":",
    "règlement",
    "à",
    "30",
    "jours",
    "fin",
    "de",
    "mois",
    "par",
    "virement",
    "bancaire.",
    "En",
    "cas",
    "de",
    "retard",
    "de",
    "paiement,",
    "une",
    "pénalité",
    "égale",
    "à",
    "trois",
    "fois",
    "le",
    "taux",
    "d'intérêt",
    "légal",
    "sera",
    "exigible",
    "ainsi",
    "qu'une",
    "indemnité",
    "forfaitaire",
    "pour",
    "frais",
    "de",
    "recouvrement",
    "de",
    "40",
    "euros.",
    "Pas",
    "d'escompte",
    "pour",
    "paiement",
    "anticipé.",
    "TVA",
    "acquittée",
    "sur",
    "les",
    "débits.",
    "Merci",
    "de",
    "rappeler",
    "la",
    "référence",
    "de",
    "la",
    "facture",
    "lors",
    "de",
    "votre",
    "règlement.",
    "Le",
    "vendeur",
    "conserve",
    "la",
    "propriété",
    "des",
    "marchandises",
    "jusqu'au",
    "paiement",
    "intégral",
    "du",
    "prix.",
    "Tout",
    "litige",
    "relève",
    "de",
    "la",
    "compétence",
    "du",
    "tribunal",
    "de",
    "commerce.",
]
ADMIN_WORDS = [
    "relevé",
    "compte",
    "courant",
    "solde",
    "créditeur",
    "débiteur",
    "virement",
    "prélèvement",
    "carte",
    "bancaire",
    "remise",
    "chèque",
    "agios",
    "commission",
    "frais",
    "tenue",
    "de",
    "compte",
    "salaire",
    "brut",
    "net",
    "cotisations",
    "sociales",
    "URSSAF",
    "retraite",
    "complémentaire",
    "prévoyance",
    "congés",
    "payés",
    "heures",
    "supplémentaires",
    "statuts",
    "assemblée",
    "générale",
    "procès-verbal",
    "approbation",
    "des",
    "comptes",
    "dividendes",
    "capital",
    "social",
    "gérant",
    "bail",
    "commercial",
    "loyer",
    "charges",
    "locatives",
    "dépôt",
    "de",
    "garantie",
    "quittance",
    "avis",
    "d'imposition",
    "cotisation",
    "foncière",
    "des",
    "entreprises",
    "taxe",
    "sur",
    "la",
    "valeur",
    "ajoutée",
    "déclaration",
]
BROAD_QUERIES = [
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
    "maintenance",
    "pénalité retard",
]


def siren_with_key(rng: random.Random) -> str:
    """A random SIREN with a valid Luhn key."""
    base = [rng.randrange(10) for _ in range(8)]
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


def vat_from_siren(siren: str) -> str:
    """The French VAT number of a SIREN."""
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def generate(n_docs: int, rng: random.Random) -> Iterator[IndexedDocument]:
    """A deterministic stream of realistic French documents."""
    suppliers = []
    for _ in range(600):
        head, tail = rng.choice(SUPPLIER_HEADS), rng.choice(SUPPLIER_TAILS)
        name = f"{head} {tail} {rng.choice(SUPPLIER_FORMS)}"
        siren = siren_with_key(rng)
        suppliers.append((name, siren, vat_from_siren(siren), rng.choice("ABCDEFGHJKLMNPRST")))
    companies_per_firm = max(4, n_docs // 1000)
    companies = {
        firm: [
            (firm * 10_000 + c, f"{rng.choice(SUPPLIER_HEADS)} {rng.choice(SUPPLIER_TAILS)}")
            for c in range(companies_per_firm)
        ]
        for firm in FIRMS
    }
    types = [t for t in BINDER_TYPES for _ in range(t[2])]
    start = datetime(2022, 1, 1)
    for doc_id in range(1, n_docs + 1):
        firm = FIRMS[doc_id % len(FIRMS)]
        company_id, company_name = rng.choice(companies[firm])
        binder_type, binder_label, _ = rng.choice(types)
        binder_id = company_id * 10 + BINDER_TYPES.index((binder_type, binder_label, _))
        created = start + timedelta(minutes=doc_id * 7)
        n_words = rng.randint(200, 600)
        words: list[str] = []
        supplier = invoice_number = siren = vat = None
        invoice_date = amount = None
        if binder_type in ("purchase_invoices", "sales_invoices"):
            supplier, siren, vat, letter = rng.choice(suppliers)
            invoice_number = f"F{letter}-{created.year}-{doc_id:06d}"
            invoice_date = (created - timedelta(days=rng.randint(0, 40))).date()
            amount = Decimal(rng.randint(500, 1_500_000)) / 100
            words += (
                f"{supplier} SIREN {siren} TVA intracommunautaire {vat} FACTURE n° "
                f"{invoice_number} du {invoice_date:%d/%m/%Y} Client {company_name}".split()
            )
            while len(words) < n_words - len(BOILERPLATE) - 12:
                qty = rng.randint(1, 40)
                words += rng.choice(PRODUCTS).split() + [
                    "quantité",
                    str(qty),
                    "prix unitaire",
                    f"{rng.randint(1, 900)},{rng.randint(0, 99):02d}",
                ]
            amount_text = f"{amount:.2f}".replace(".", ",")
            words += f"Total HT {amount_text} € TVA 20 % Total TTC {amount_text} €".split()
            words += BOILERPLATE
        else:
            words += f"{company_name} {binder_label}".split()
            while len(words) < n_words:
                words += rng.sample(ADMIN_WORDS, 8) + [
                    f"{rng.randint(1, 9999)},{rng.randint(0, 99):02d}"
                ]
        yield IndexedDocument(
            id=doc_id,
            firm_id=firm,
            company_id=company_id,
            company_name=company_name,
            binder_id=binder_id,
            binder_name=binder_label,
            binder_type=binder_type,
            state=rng.choice(("to_review", "validated", "validated", "validated")),
            filename=f"{binder_type}_{doc_id}.pdf",
            text=" ".join(words[:n_words]),
            # The generic searchable fields, as the purchase binder type declares them.
            party_name=supplier,
            party_ids=tuple(v for v in (siren, vat) if v),
            reference=invoice_number,
            date=invoice_date,
            amount=amount,
            keywords=("Facture",) if invoice_number else (),
            created_at=created,
        )


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
    return IndexedDocument(**data)


def read_chunks(path: Path, size: int = 1000) -> Iterator[list[IndexedDocument]]:
    chunk: list[IndexedDocument] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            chunk.append(from_json(line))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------


def rebuild_child(corpus: Path, index_dir: Path, procs: int, limitmb: int, single: bool) -> None:
    """Run in a child process: rebuild the whoosh index, print time and peak memory as JSON."""
    t0 = time.perf_counter()
    backend = WhooshBackend(index_dir, limitmb=limitmb, procs=procs, per_firm=not single)
    backend.rebuild(read_chunks(corpus))
    elapsed = time.perf_counter() - t0
    # Peak of the rebuild itself, before any searcher maps the new index files into memory
    # (opening searchers touches the mmap'd files, which counts in RSS as page cache).
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    count = backend.document_count()
    backend.close()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": peak_kb / 1024,
                "children_peak_mb": children_kb / 1024,
                "count": count,
            }
        )
    )


def build_fts(corpus: Path, db_path: Path, restrict: set[int]) -> sqlite3.Connection:
    """The FTS5 peer: a documents table, an external-content FTS5 table, an error table."""
    db_path.unlink(missing_ok=True)
    con = sqlite3.connect(db_path, check_same_thread=False)
    con.executescript(
        """
        CREATE TABLE docs (id INTEGER PRIMARY KEY, firm_id INT, company_id INT, binder_type TEXT,
                           text TEXT, filename TEXT, party_name TEXT, company_name TEXT,
                           reference TEXT, party_ids TEXT);
        CREATE INDEX docs_firm ON docs (firm_id, company_id);
        CREATE VIRTUAL TABLE docs_fts USING fts5(
            text, filename, party_name, company_name, reference, party_ids,
            content='docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TABLE export_error (id INTEGER PRIMARY KEY);
        """
    )
    for chunk in read_chunks(corpus, 5000):
        con.executemany(
            "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    d.id,
                    d.firm_id,
                    d.company_id,
                    d.binder_type,
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
    con.executemany("INSERT INTO export_error VALUES (?)", [(i,) for i in sorted(restrict)])
    con.commit()
    return con


def fts_query(text: str) -> str:
    """FTS5 MATCH string: every word, quoted (tokens of one word form a phrase)."""
    return " ".join('"' + w.replace('"', "") + '"' for w in text.split())


def fts_search(con: sqlite3.Connection, q: SearchQuery) -> list[int]:
    sql = (
        "SELECT d.id, snippet(docs_fts, 0, '<mark>', '</mark>', '…', 16) FROM docs_fts "
        "JOIN docs d ON d.id = docs_fts.rowid WHERE docs_fts MATCH ? AND d.firm_id = ?"
    )
    args: list[object] = [fts_query(q.q), q.firm_id]
    if q.company_ids is not None:
        sql += f" AND d.company_id IN ({','.join('?' * len(q.company_ids))})"
        args += sorted(q.company_ids)
    if q.binder_type is not None:
        sql += " AND d.binder_type = ?"
        args.append(q.binder_type)
    if q.restrict_ids is not None:
        sql += " AND d.id IN (SELECT id FROM export_error)"
    sql += " ORDER BY rank LIMIT ?"
    args.append(q.per_page)
    return [row[0] for row in con.execute(sql, args)]


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return p50 * 1000, p95 * 1000


def make_queries(meta: list[dict], n: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """(kind, firm_id, text): 60 % selective, 40 % broad."""
    invoices = [m for m in meta if m["reference"]]
    out: list[tuple[str, int, str]] = []
    for i in range(n):
        if i % 5 in (0, 1, 2):
            m = rng.choice(invoices)
            kind = ("reference", "party_id", "party_name", "amount")[i % 4]
            text = {
                "reference": m["reference"],
                "party_id": m["party_ids"][0],
                "party_name": m["party_name"],
                "amount": f"{Decimal(m['amount']):.2f}".replace(".", ","),
            }[kind]
            out.append(("selective", m["firm_id"], text))
        else:
            out.append(("broad", FIRMS[i % 3], rng.choice(BROAD_QUERIES)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per case")
    parser.add_argument("--procs", type=int, default=1, help="rebuild writer processes")
    parser.add_argument("--limitmb", type=int, default=64)
    parser.add_argument("--single-index", action="store_true", help="one index for all firms")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--rebuild-child", nargs=2, metavar=("CORPUS", "INDEX"))
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
        rebuild_child(
            Path(args.rebuild_child[0]),
            Path(args.rebuild_child[1]),
            args.procs,
            args.limitmb,
            args.single_index,
        )
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="classeur-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.jsonl"
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    meta: list[dict] = []
    # Written grouped by firm, as ``classeur reindex`` reads ``ORDER BY firm_id, id``.
    parts = {firm: (work / f"corpus-{firm}.jsonl").open("w", encoding="utf-8") for firm in FIRMS}
    with corpus.open("w", encoding="utf-8") as f:
        for doc in generate(args.docs, rng):
            parts[doc.firm_id].write(to_json(doc) + "\n")
            meta.append(
                {
                    k: getattr(doc, k)
                    for k in (
                        "id",
                        "firm_id",
                        "company_id",
                        "binder_type",
                        "reference",
                        "party_ids",
                        "party_name",
                        "amount",
                    )
                }
            )
        for firm, part in parts.items():
            part.close()
            with (work / f"corpus-{firm}.jsonl").open(encoding="utf-8") as src:
                shutil.copyfileobj(src, f)
            (work / f"corpus-{firm}.jsonl").unlink()
    print(f"corpus: {args.docs} docs generated in {time.perf_counter() - t0:.1f} s ({work})")

    engines: dict[str, SearchBackend] = {}
    if args.backend in ("whoosh", "both"):
        engines["whoosh"] = run_whoosh_rebuild(args, corpus, work)
    pg_cleanup = None
    if args.backend in ("postgres", "both"):
        engines["postgres"], pg_cleanup = build_postgres(args, corpus, work)

    restrict = set(rng.sample([m["id"] for m in meta], max(1, args.docs // 100)))
    t0 = time.perf_counter()
    con = build_fts(corpus, work / "fts.sqlite", restrict)
    print(
        f"fts5 build: {time.perf_counter() - t0:.1f} s, size "
        f"{(work / 'fts.sqlite').stat().st_size / 2**20:.0f} MB"
    )

    queries = make_queries(meta, args.queries, rng)
    by_id = {m["id"]: m for m in meta}
    companies_by_firm: dict[int, list[int]] = {}
    for m in meta:
        companies_by_firm.setdefault(m["firm_id"], []).append(m["company_id"])
    restrict_by_firm = {
        f: frozenset(i for i in restrict if by_id[i]["firm_id"] == f) for f in FIRMS
    }

    def case_query(case: str, firm: int, text: str) -> SearchQuery:
        sq = SearchQuery(firm_id=firm, q=text)
        if case == "company":
            sq.company_ids = frozenset(rng.sample(sorted(set(companies_by_firm[firm])), 3))
        elif case == "binder_type":
            sq.binder_type = "purchase_invoices"
        elif case == "export_error":
            sq.restrict_ids = restrict_by_firm[firm]
        return sq

    names = [*engines, "fts5"]
    print(
        f"\n{'case':<13} {'kind':<10} "
        + " ".join(f"{name + ' p50/p95 ms':>22}" for name in names)
        + f" {'found ' + '/'.join(n[0] for n in names):>14}"
    )
    for case in ("plain", "company", "binder_type", "export_error"):
        timings: dict[tuple[str, str], list[float]] = {}
        found = dict.fromkeys(names, 0)
        for kind, firm, text in queries:
            sq = case_query(case, firm, text)
            for name, engine in engines.items():
                t = time.perf_counter()
                res = engine.search(sq)
                timings.setdefault((name, kind), []).append(time.perf_counter() - t)
                found[name] += bool(res.hits)
            t = time.perf_counter()
            rows = fts_search(con, sq)
            timings.setdefault(("fts5", kind), []).append(time.perf_counter() - t)
            found["fts5"] += bool(rows)
        for kind in ("selective", "broad"):
            cells = []
            for name in names:
                p50, p95 = percentiles(timings[(name, kind)])
                cells.append(f"{p50:>11.1f} / {p95:>7.1f}")
            print(
                f"{case:<13} {kind:<10} "
                + " ".join(cells)
                + f" {'/'.join(str(found[n]) for n in names):>14}"
            )

    if "postgres" in engines:
        pg_broad_details(engines["postgres"], queries)

    # Live add: one document until searchable.
    for name, engine in engines.items():
        latencies = []
        for n in range(20):
            doc = next(generate(1, random.Random(n)))
            doc.id = args.docs + 1 + n
            doc.firm_id = FIRMS[n % 3]
            doc.text += f" marqueurunique{n}"
            t = time.perf_counter()
            engine.index([doc])
            engine.flush()
            hits = engine.search(SearchQuery(firm_id=doc.firm_id, q=f"marqueurunique{n}")).hits
            latencies.append(time.perf_counter() - t)
            assert [h.id for h in hits] == [doc.id]
        p50, p95 = percentiles(latencies)
        print(
            f"live add {name} (index + flush + search finds it): p50 {p50:.0f} ms, p95 {p95:.0f} ms"
        )
        engine.close()
    con.close()
    if pg_cleanup is not None:
        pg_cleanup()


def run_whoosh_rebuild(args: argparse.Namespace, corpus: Path, work: Path) -> WhooshBackend:
    """Rebuild the whoosh index in a child process (time, peak RSS); open it."""
    index_dir = work / "whoosh"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    cmd = [
        sys.executable,
        __file__,
        "--rebuild-child",
        str(corpus),
        str(index_dir),
        "--procs",
        str(args.procs),
        "--limitmb",
        str(args.limitmb),
    ]
    if args.single_index:
        cmd.append("--single-index")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rebuild = json.loads(out.strip().splitlines()[-1])
    print(
        f"whoosh rebuild: {rebuild['seconds']:.1f} s ({args.docs / rebuild['seconds']:.0f} docs/s),"
        f" peak RSS {rebuild['peak_mb']:.0f} MB (writer children {rebuild['children_peak_mb']:.0f}"
        f" MB), {rebuild['count']} docs, procs={args.procs} limitmb={args.limitmb}"
    )
    backend = WhooshBackend(index_dir, per_firm=not args.single_index)
    print(f"whoosh index size: {backend.index_size() / 2**20:.0f} MB")
    return backend


def build_postgres(args: argparse.Namespace, corpus: Path, work: Path) -> tuple[SearchBackend, Any]:
    """Create and migrate a database, fill it with ``PostgresBackend.rebuild``; open it.

    Returns the backend and a function dropping the database.
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
        f"postgres rebuild: {elapsed:.1f} s ({args.docs / elapsed:.0f} docs/s), "
        f"{backend.document_count()} docs, table + indexes "
        f"{backend.index_size() / 2**20:.0f} MB (database {name})"
    )

    def cleanup() -> None:
        if args.keep_pg:
            print(f"postgres database kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return backend, cleanup


def pg_broad_details(backend: SearchBackend, queries: list[tuple[str, int, str]]) -> None:
    """Where PostgreSQL's broad-query time goes: matches per query, and the count's share."""
    from sqlalchemy import text

    from core.search.models import TS_CONFIG

    engine = backend.engine  # type: ignore[attr-defined]
    broad = sorted({(firm, q) for kind, firm, q in queries if kind == "broad"})[:12]
    print("\npostgres broad queries: matches, full search ms, matches-only count ms")
    with engine.connect() as conn:
        for firm, q in broad:
            t = time.perf_counter()
            backend.search(SearchQuery(firm_id=firm, q=q))
            full = time.perf_counter() - t
            t = time.perf_counter()
            n = conn.execute(
                text(
                    "SELECT count(*) FROM search_documents WHERE firm_id = :f AND "
                    f"tsv @@ websearch_to_tsquery('{TS_CONFIG}', :q)"
                ),
                {"f": firm, "q": q},
            ).scalar()
            count = time.perf_counter() - t
            print(f"  firm {firm} {q!r:<24} {n:>7} {full * 1000:>8.1f} {count * 1000:>8.1f}")


if __name__ == "__main__":
    main()
