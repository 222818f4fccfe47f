"""Search page benchmark: what the facets, the pages and the CSV cost on top of the search.

    .venv/bin/python bench/search_page.py --docs 20000 --runs 20
    .venv/bin/python bench/search_page.py --docs 100000 --runs 20 --workdir /tmp/sp --reuse

One firm of 100 companies in a SQLite database migrated with alembic (purchase invoices with
supplier, number, date and amount; administrative documents), 1 % in export error, indexed by
``rebuild_index`` (the configured backend, whoosh by default). A logged-in test client then asks,
``--runs`` times each after a warm-up, for:

* ``api`` — ``GET /api/v1/search`` (one page, no facets): the search itself;
* ``page`` — the page ``/search`` (the same page of results, plus facets counted over the
  first ``FACET_SAMPLE`` matching ids, or by SQL without a text query);
* ``csv`` — ``/search/export.csv`` (at most ``CSV_MAX_ROWS`` rows);

for a common word (matches most documents), a supplier's name, no text in one company, and a
year of invoice dates. Prints p50 / p95 in milliseconds per case.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUPPLIERS = [
    "EDF",
    "Orange",
    "Total Énergies",
    "Metro",
    "Brake France",
    "Leroy Merlin",
    "SNCF",
    "La Poste",
    "Free",
    "Bouygues Telecom",
    "Engie",
    "Veolia",
]
WORDS = [
    "facture",
    "livraison",
    "prestation",
    "mensuelle",
    "abonnement",
    "électricité",
    "téléphone",
    "fourniture",
    "marchandises",
    "transport",
    "entretien",
    "location",
    "matériel",
    "bureau",
    "conseil",
    "maintenance",
    "contrat",
    "échéance",
    "règlement",
    "virement",
    "acompte",
    "remise",
    "escompte",
    "pénalités",
    "retard",
    "service",
    "client",
]


def build(workdir: Path, n_docs: int, seed: int) -> dict[str, Any]:
    """The migrated database, its corpus and the index; returns the app config and ids."""
    from sqlalchemy import insert, select

    from core.app import create_app
    from core.auth.services import create_user
    from core.db import db
    from core.documents.models import Document
    from core.exports.models import ExportState, ExportStatus
    from core.migrate import upgrade
    from core.search.services import rebuild_index
    from core.tenancy.models import Company
    from core.tenancy.services import create_binder, create_company, create_firm

    config = {
        "DATA_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'classeur.db'}",
        "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False,
        "START_WORKERS": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    app = create_app(config)
    if (workdir / "built").exists():
        with app.app_context():
            company_id = db.session.scalar(select(Company.id).order_by(Company.id))
        return {"config": config, "company_id": company_id}
    upgrade(app)
    rng = random.Random(seed)
    with app.app_context():
        firm = create_firm("Cabinet Bench")
        companies, binders = [], []
        for i in range(100):
            c = create_company(firm.id, name=f"Entreprise {i:03d}", dossier_code=f"B{i:04d}")
            companies.append(c)
            binders.append((c, create_binder(c, type="purchase_invoices", name="Achats"), "p"))
            if i % 3 == 0:
                binders.append(
                    (c, create_binder(c, type="admin_documents", name="Administratif"), "a")
                )
        create_user("bench@example.fr", "motdepasse-solide-1", firm, "accountant")
        db.session.commit()
        rows = []
        for n in range(n_docs):
            company, binder, kind = binders[rng.randrange(len(binders))]
            supplier = rng.choice(SUPPLIERS)
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
            fields: dict[str, Any] = {}
            if kind == "p":
                fields = {
                    "supplier": {"name": supplier},
                    "invoice_number": f"FA-{n:06d}",
                    "invoice_date": f"{rng.choice((2023, 2024, 2025))}-"
                    f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "total_incl_tax": f"{rng.uniform(5, 50_000):.2f}",
                }
            rows.append(
                {
                    "firm_id": firm.id,
                    "company_id": company.id,
                    "binder_id": binder.id,
                    "sha256": hashlib.sha256(f"{seed}-{n}".encode()).hexdigest(),
                    "filename": f"document-{n:06d}.pdf",
                    "media_type": "application/pdf",
                    "size": 1000,
                    "pages": 1,
                    "state": rng.choice(("validated", "validated", "to_review", "failed")),
                    "fields": fields,
                    "text": f"Facture {supplier} {words}" if kind == "p" else words,
                }
            )
            if len(rows) == 2000:
                db.session.execute(insert(Document), rows)
                rows = []
        if rows:
            db.session.execute(insert(Document), rows)
        ids = list(db.session.scalars(select(Document.id)))
        db.session.execute(
            insert(ExportStatus),
            [
                {
                    "document_id": i,
                    "firm_id": firm.id,
                    "connector": "meg_export",
                    "state": ExportState.ERROR,
                    "message": "Code TVA inconnu",
                }
                for i in rng.sample(ids, max(1, len(ids) // 100))
            ],
        )
        db.session.commit()
        started = time.perf_counter()
        rebuild_index()
        print(f"indexed {len(ids)} documents in {time.perf_counter() - started:.1f} s")
        company_id = companies[0].id
    app.extensions["classeur"].search.close()
    db.engine_for(app).dispose()
    (workdir / "built").touch()
    return {"config": config, "company_id": company_id}


def measure(client: Any, url: str, params: dict[str, Any], runs: int) -> tuple[float, float]:
    client.get(url, query_string=params)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, query_string=params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep and reuse --workdir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="search_page_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if not args.reuse and (workdir / "built").exists():
        sys.exit(f"{workdir} holds a corpus: pass --reuse or another --workdir")
    built = build(workdir, args.docs, args.seed)

    from core.app import create_app
    from core.search.results import CSV_MAX_ROWS, FACET_SAMPLE

    app = create_app(built["config"])
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "bench@example.fr", "password": "motdepasse-solide-1"}
    )
    assert response.status_code == 302, "login failed"
    cases = {
        "common word": {"q": "facture"},
        "supplier": {"q": "orange"},
        "one company, no text": {"company": built["company_id"]},
        "year of invoice dates": {"date_from": "2024-01-01", "date_to": "2024-12-31"},
        "export error": {"export_error": "1"},
    }
    print(
        f"{args.docs} documents, facets over at most {FACET_SAMPLE} ids, "
        f"CSV at most {CSV_MAX_ROWS} rows; p50 / p95 ms over {args.runs} runs"
    )
    print(f"{'case':24} {'api (search)':>16} {'page (+facets)':>16} {'csv':>16}")
    for name, params in cases.items():
        api = measure(client, "/api/v1/search", params, args.runs)
        page = measure(client, "/search", params, args.runs)
        csv = measure(client, "/search/export.csv", params, max(3, args.runs // 4))
        print(
            f"{name:24} {api[0]:7.0f} / {api[1]:6.0f} {page[0]:7.0f} / {page[1]:6.0f} "
            f"{csv[0]:7.0f} / {csv[1]:6.0f}"
        )
    app.extensions["classeur"].search.close()


if __name__ == "__main__":
    main()
