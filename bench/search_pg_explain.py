"""PostgreSQL search backend on a one-firm corpus: latency per query type, and query plans.

    .venv/bin/python bench/search_pg_explain.py --docs 30000              # build, measure, drop
    .venv/bin/python bench/search_pg_explain.py --docs 100000 --keep      # keep the database
    .venv/bin/python bench/search_pg_explain.py --db classeur_pgx_100000 --reuse --explain

A synthetic French corpus in **one firm** (500 companies; purchase and sales invoices, bank
statements, payroll and administrative documents; 1 % in export error) is loaded by
``PostgresBackend.rebuild`` into a database created on ``--pg-server`` and migrated with
``alembic upgrade heads``. Then, after a warm-up, ``--queries`` queries per type go through
``PostgresBackend.search`` (highlights included, as the search page asks them):

* ``plain`` — one or two words people type (common words, supplier words);
* ``company_type`` — the same words, one company and a binder type;
* ``date_range`` — the same words within a quarter;
* ``export_error`` — the same words, restricted to the documents in export error;
* ``date_sorted`` — the same words, newest first;
* ``amount`` — an invoice's total typed the French way (``23 958,12``);
* ``reference`` — an invoice number.

Prints p50 / p95 / max in ms per type, the share of queries with hits, the table size, and with
``--explain`` the ``EXPLAIN (ANALYZE, BUFFERS)`` of the search statement of one broad query of
each type. ``bench/search.py --backend postgres`` is the benchmark against whoosh and FTS5.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.search.backend import IndexedDocument, SearchQuery  # noqa: E402

SEED = 13
FIRM = 1
N_COMPANIES = 500
HEADS = [
    "Électricité",
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
    "Jardinerie",
    "Fromagerie",
    "Librairie",
]
TAILS = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guerin",
]
FORMS = ("SARL", "SAS", "SA", "EURL", "& Fils", "et Associés")
PRODUCTS = [
    "abonnement électricité",
    "fourniture de bureau",
    "prestation de nettoyage",
    "maintenance informatique",
    "location de véhicule",
    "transport de marchandises",
    "frais de port",
    "repas d'affaires",
    "carburant gazole",
    "licence logiciel",
    "honoraires comptables",
    "assurance multirisque",
    "téléphonie mobile",
    "papier ramette",
    "cartouche encre",
    "réparation chaudière",
    "travaux peinture",
    "contrôle technique",
    "pneumatiques",
    "hébergement hôtel",
]
ADMIN = [
    "contrat",
    "bail",
    "loyer",
    "échéance",
    "avenant",
    "résiliation",
    "courrier",
    "relance",
    "assemblée",
    "générale",
    "procès-verbal",
    "statuts",
    "cotisations",
    "URSSAF",
    "retraite",
    "mutuelle",
    "salaire",
    "brut",
    "net",
    "congés",
    "payés",
    "virement",
    "prélèvement",
    "solde",
    "créditeur",
    "débiteur",
    "agios",
    "commission",
    "relevé",
    "compte",
    "banque",
    "attestation",
    "déclaration",
    "impôts",
    "taxe",
    "foncière",
    "avis",
    "échéancier",
]
BOILER = [
    "Conditions",
    "de",
    "paiement",
    "à",
    "30",
    "jours",
    "fin",
    "de",
    "mois",
    "pénalité",
    "de",
    "retard",
    "indemnité",
    "forfaitaire",
    "pour",
    "frais",
    "de",
    "recouvrement",
    "40",
    "euros",
    "escompte",
    "néant",
]
TYPES = (
    [("purchase_invoices", "Factures d'achat")] * 55
    + [("sales_invoices", "Factures de vente")] * 20
    + [("bank_statements", "Relevés bancaires")] * 10
    + [("payroll", "Bulletins de paie")] * 5
    + [("legal", "Juridique")] * 10
)
BROAD = [
    "facture",
    "électricité",
    "transport",
    "loyer",
    "cotisations",
    "maintenance",
    "virement",
    "carburant",
    "frais de port",
    "facture électricité",
    "honoraires",
    "assurance",
    "contrat bail",
    "relevé compte",
    "réparation chaudière",
    "pénalité retard",
    "téléphonie",
    "hôtel",
    "peinture",
    "salaire",
]


def generate(n_docs: int, rng: random.Random) -> Iterator[IndexedDocument]:
    """A deterministic stream of French documents of one firm."""
    suppliers = [
        (
            f"{rng.choice(HEADS)} {rng.choice(TAILS)} {rng.choice(FORMS)}",
            f"{rng.randrange(10**8, 10**9)}",
        )
        for _ in range(2000)
    ]
    companies = [(c + 1, f"{rng.choice(HEADS)} {rng.choice(TAILS)}") for c in range(N_COMPANIES)]
    start = datetime(2022, 1, 1)
    step = timedelta(minutes=max(1, (5 * 365 * 24 * 60) // max(n_docs, 1)))
    for doc_id in range(1, n_docs + 1):
        company_id, company_name = rng.choice(companies)
        binder_type, binder_label = rng.choice(TYPES)
        created = start + step * doc_id
        n_words = rng.randint(150, 500)
        words: list[str] = []
        party = siren = reference = None
        doc_date = amount = None
        if binder_type.endswith("_invoices"):
            party, siren = rng.choice(suppliers)
            reference = f"F{created.year}-{doc_id:06d}"
            doc_date = (created - timedelta(days=rng.randint(0, 40))).date()
            amount = Decimal(rng.randint(500, 5_000_000)) / 100
            words += (
                f"{party} SIREN {siren} FACTURE n° {reference} du {doc_date:%d/%m/%Y} "
                f"Client {company_name}".split()
            )
            while len(words) < n_words - len(BOILER) - 12:
                words += rng.choice(PRODUCTS).split() + [
                    "quantité",
                    str(rng.randint(1, 40)),
                    f"{rng.randint(1, 900)},{rng.randint(0, 99):02d}",
                ]
            shown = f"{amount:,.2f}".replace(",", " ").replace(".", ",")
            words += f"Total HT {shown} € TVA 20 % Total TTC {shown} €".split() + BOILER
        else:
            doc_date = (created - timedelta(days=rng.randint(0, 10))).date()
            words += f"{company_name} {binder_label}".split()
            while len(words) < n_words:
                words += rng.sample(ADMIN, 8) + [f"{rng.randint(1, 9999)},{rng.randint(0, 99):02d}"]
        yield IndexedDocument(
            id=doc_id,
            firm_id=FIRM,
            company_id=company_id,
            company_name=company_name,
            binder_id=company_id * 10 + [t for t, _ in TYPES].index(binder_type) % 10,
            binder_name=binder_label,
            binder_type=binder_type,
            state=rng.choice(("to_review", "validated", "validated", "validated")),
            filename=f"{binder_type}_{doc_id}.pdf",
            text=" ".join(words[:n_words]),
            party_name=party,
            party_ids=(siren,) if siren else (),
            reference=reference,
            date=doc_date,
            amount=amount,
            keywords=("Facture",) if reference else (),
            created_at=created,
        )


def chunks(n_docs: int, meta: list[dict[str, Any]], size: int = 2000) -> Iterator[list]:
    batch: list[IndexedDocument] = []
    for doc in generate(n_docs, random.Random(SEED)):
        meta.append(
            {
                "id": doc.id,
                "company_id": doc.company_id,
                "binder_type": doc.binder_type,
                "reference": doc.reference,
                "amount": doc.amount,
                "date": doc.date,
            }
        )
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def make_queries(meta: list[dict[str, Any]], n: int, rng: random.Random) -> dict[str, list]:
    """SearchQuery lists per type."""
    invoices = [m for m in meta if m["reference"]]
    errors = frozenset(rng.sample([m["id"] for m in meta], max(1, len(meta) // 100)))
    out: dict[str, list[SearchQuery]] = {}
    words = [rng.choice(BROAD) for _ in range(n)]
    for i in range(len(words)):
        if i % 3 == 2:  # a supplier word: a head or a tail of the party names
            words[i] = rng.choice(HEADS + TAILS)
    out["plain"] = [SearchQuery(firm_id=FIRM, q=w) for w in words]
    out["company_type"] = []
    for w in words:
        m = rng.choice(meta)
        out["company_type"].append(
            SearchQuery(
                firm_id=FIRM,
                q=w,
                company_ids=frozenset({m["company_id"]}),
                binder_type=m["binder_type"],
            )
        )
    out["date_range"] = []
    for w in words:
        start = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 4 * 365))
        out["date_range"].append(
            SearchQuery(firm_id=FIRM, q=w, date_from=start, date_to=start + timedelta(days=91))
        )
    out["export_error"] = [SearchQuery(firm_id=FIRM, q=w, restrict_ids=errors) for w in words]
    out["date_sorted"] = [SearchQuery(firm_id=FIRM, q=w, sort="-date") for w in words]
    out["amount"] = []
    out["reference"] = []
    for i in range(n):
        m = rng.choice(invoices)
        shown = f"{m['amount']:,.2f}".replace(",", " ").replace(".", ",")
        if i % 2:
            shown = shown.replace(" ", "")
        out["amount"].append(SearchQuery(firm_id=FIRM, q=shown))
        out["reference"].append(SearchQuery(firm_id=FIRM, q=m["reference"]))
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per type")
    parser.add_argument(
        "--pg-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server URL (a database is created there)",
    )
    parser.add_argument("--db", default=None, help="database name (default classeur_pgx_<docs>)")
    parser.add_argument("--reuse", action="store_true", help="search an existing database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--profile", action="store_true", help="time per statement kind")
    parser.add_argument("--types", default="", help="comma-separated query types to run")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from core.search.pg_backend import PostgresBackend

    name = args.db or f"classeur_pgx_{args.docs}"
    url = args.pg_server.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(args.pg_server, isolation_level="AUTOCOMMIT")
    meta: list[dict[str, Any]] = []
    if not args.reuse:
        from core.app import create_app
        from core.db import db
        from core.migrate import upgrade

        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        work = tempfile.mkdtemp(prefix="classeur-pgx-")
        app = create_app({"DATA_DIR": work, "DATABASE_URL": url, "SECRET_KEY": "bench"})
        upgrade(app)
        db.engine_for(app).dispose()
        backend = PostgresBackend(url)
        t0 = time.perf_counter()
        backend.rebuild(chunks(args.docs, meta))
        with backend.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE search_documents"))
        elapsed = time.perf_counter() - t0
        print(f"rebuild: {args.docs} docs in {elapsed:.0f} s ({args.docs / elapsed:.0f} docs/s)")
    else:
        backend = PostgresBackend(url)
        for _ in chunks(args.docs, meta):
            pass
    print(
        f"database {name}: {backend.document_count()} docs, table + TOAST + indexes "
        f"{backend.index_size() / 2**20:.0f} MB"
    )
    queries = make_queries(meta, args.queries, random.Random(SEED + 1))
    wanted = [t for t in args.types.split(",") if t] or list(queries)
    # Warm-up: every query once.
    for kind in wanted:
        for sq in queries[kind]:
            backend.search(sq)
    print(f"\n{'type':<14} {'p50':>7} {'p95':>7} {'max':>7} {'mean':>7}  with hits  total exact")
    for kind in wanted:
        times: list[float] = []
        hits = exact = 0
        for sq in queries[kind]:
            t = time.perf_counter()
            res = backend.search(sq)
            times.append((time.perf_counter() - t) * 1000)
            hits += bool(res.hits)
            exact += res.total_is_exact
        print(
            f"{kind:<14} {percentile(times, 0.5):>7.1f} {percentile(times, 0.95):>7.1f} "
            f"{max(times):>7.1f} {statistics.mean(times):>7.1f}  "
            f"{hits:>4}/{len(times):<4}  {exact:>4}/{len(times)}"
        )
    if args.profile:
        profile(backend, {k: queries[k] for k in wanted})
    if args.explain:
        explain(backend, {k: queries[k] for k in wanted})
    backend.close()
    if not args.keep and not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def profile(backend: Any, queries: dict[str, list[SearchQuery]]) -> None:
    """Mean ms per search of each kind of statement (estimate, reads, count, highlights)."""
    from sqlalchemy import event

    spent: dict[str, float] = {}
    started: list[float] = []

    def kind(statement: str) -> str:
        s = statement.lstrip()
        for prefix, name in (
            ("EXPLAIN", "estimate"),
            ("WITH d AS MATERIALIZED", "all_matches"),
            ("WITH q AS MATERIALIZED", "highlights"),
            ("SELECT count(*)", "count"),
        ):
            if s.startswith(prefix):
                return name
        return "recent_matches" if "LIMIT :m_window" in s else "other"

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        name = kind(statement)
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - started.pop()

    event.listen(backend.engine, "before_cursor_execute", before)
    event.listen(backend.engine, "after_cursor_execute", after)
    print("\nms per search, by statement kind")
    for kind_name, sqs in queries.items():
        spent.clear()
        t = time.perf_counter()
        for sq in sqs:
            backend.search(sq)
        total = (time.perf_counter() - t) * 1000 / len(sqs)
        parts = ", ".join(f"{k} {v * 1000 / len(sqs):.1f}" for k, v in sorted(spent.items()))
        print(f"  {kind_name:<14} {total:6.1f}: {parts}")
    event.remove(backend.engine, "before_cursor_execute", before)
    event.remove(backend.engine, "after_cursor_execute", after)


def explain(backend: Any, queries: dict[str, list[SearchQuery]]) -> None:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the statements of the first broad query of each type."""
    from sqlalchemy import event, text

    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith(("WITH", "SELECT")) and "EXPLAIN" not in (
            statement
        ):
            captured.append((statement, parameters))

    event.listen(backend.engine, "before_cursor_execute", capture)
    for kind, sqs in queries.items():
        sq = next((s for s in sqs if s.q in ("facture", "transport", "électricité")), sqs[0])
        captured.clear()
        backend.search(sq)
        statements = list(captured)
        print(f"\n=== {kind}: {sq.q!r}")
        for statement, parameters in statements:
            with backend.engine.connect() as conn:
                raw = conn.connection.driver_connection
                cur = raw.cursor()
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print("\n".join(r[0] for r in cur.fetchall()))
                print("---")
    event.remove(backend.engine, "before_cursor_execute", capture)
    del text


if __name__ == "__main__":
    main()
