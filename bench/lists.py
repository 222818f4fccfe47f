"""Document lists benchmark (issue 14): the API lists, a purchase tray sorted by a column,
« À valider » and its menu count, and bulk validation, on one firm of many documents.

    .venv/bin/python bench/lists.py                        # 20000 documents, SQLite
    .venv/bin/python bench/lists.py --documents 100000     # the large firm
    .venv/bin/python bench/lists.py --database-url \\
        postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres   # PostgreSQL

One app (``core`` + ``binder_purchases``, in-process runner not started, whoosh index in the
temporary folder) with one firm of 30 companies, each with a purchase binder and an
administrative binder; one company holds a quarter of the documents (its purchase tray is the
one sorted). Documents are **inserted in bulk** (no file, no reading; seed ``--seed``):
suppliers of each company, invoice dates over two years, due dates, amounts with VAT, a few
credit notes and foreign currencies, states (validated, to review, failed, received, trashed,
archived) and export statuses (exported, error with a message, pending, sending, skipped) for
two connectors. The list columns (``field_date``, ``field_amount_cents``, ``field_party``) are
computed by ``core.documents.listing.list_values``, as the app does on a flush. PostgreSQL is
``VACUUM ANALYZE``d after the fill (autovacuum would do it); SQLite is not (the app never
runs ``ANALYZE``; ``--analyze`` does), so its planner works without statistics, as in use.

The real samples of ``../shared/data/invoices`` (e-invoices, Factur-X and text PDFs) are then
dropped through the real pipeline (``store_upload`` then the ``process_document`` task) into
one purchase binder of another company; its figures are printed apart.

Every request goes through the Flask test client: the API with a bearer token, the pages with
a session logged in through the login form. For each kind: p50 / p95 latency (warm-up
first), SQL statements of one request (SQLAlchemy ``before_cursor_execute``; a list must not
grow with its page size) for page sizes 50 and 200, on the first page and a deep page (the
cursor after 50 pages, or page 51 of a tray), and the peak Python memory (``tracemalloc``) of
one list request. The filters and sorts are drawn from ``--seed``; a second set drawn from
``--heldout-seed`` (suppliers, companies and months nobody looked at) is printed apart.

Figures are taken on whatever machine runs it; the project's machine is shared with other
agents, so they are those of a busy machine (load average printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, func, insert, select, text  # noqa: E402

from core.app import create_app  # noqa: E402
from core.db import db  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "invoices"
SEED = 20261202
HELDOUT_SEED = 914_000_014
N_COMPANIES = 30
SUPPLIERS_PER_COMPANY = 40
PASSWORD = "motdepasse-solide-1"
START = dt.date(2024, 12, 1)
SPAN_DAYS = 730

HEADS = [
    "Électricité",
    "Transports",
    "Boulangerie",
    "Garage",
    "Imprimerie",
    "Cabinet",
    "Quincaillerie",
    "Plomberie",
    "Informatique",
    "Télécom",
    "Assurances",
    "Nettoyage",
    "Papeterie",
    "Sécurité",
    "Logistique",
    "Bâtiment",
    "Fromagerie",
    "Brasserie",
    "Librairie",
    "Agence",
    "Atelier",
    "Comptoir",
    "Carrosserie",
    "Société",
]
TAILS = [
    "Dupont",
    "Martin",
    "Bernard",
    "Durand",
    "Dubois",
    "Moreau",
    "Lefèvre",
    "Leroy",
    "Fournier",
    "Girard",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Mercier",
    "Garnier",
    "Faure",
    "André",
    "Chevalier",
    "François",
    "Legrand",
    "Générale",
]
FORMS = ("SARL", "SAS", "SA", "EURL", "et Fils", "Services", "SASU")
ERRORS = [
    ("account", "supplier", "Compte fournisseur inconnu dans le dossier."),
    ("closed_period", "invoice_date", "La période comptable est clôturée."),
    ("duplicate", "invoice_number", "Facture déjà saisie dans le logiciel comptable."),
    ("vat", "vat_lines", "Code de TVA refusé par le logiciel comptable."),
    ("unavailable", None, "Service indisponible, nouvel essai prévu."),
]
#: (state, weight) of the generated purchase invoices.
STATES = [
    ("validated", 62),
    ("to_review", 26),
    ("failed", 4),
    ("received", 2),
    ("extracting", 1),
    ("trashed", 2),
]
#: (export state, weight) of a validated document's status.
EXPORT_STATES = [("exported", 84), ("error", 6), ("pending", 3), ("sending", 1), ("skipped", 6)]
TRAY_SORTS = [
    ("supplier.name", "asc"),
    ("invoice_number", "asc"),
    ("invoice_date", "desc"),
    ("total_incl_tax", "desc"),
    ("due_date", "asc"),
    ("state", "asc"),
    ("filename", "asc"),
]
ACCOUNTS = ("6061", "6063", "6064", "607", "611", "6132", "616", "6156")
API_SORTS = ["-created_at", "-date", "date", "-amount", "amount", "filename", "state"]


def busy_note() -> str:
    load = os.getloadavg()
    return (
        f"busy machine: load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
        f"{os.cpu_count()} cores, shared with other agents"
    )


# -- data ---------------------------------------------------------------------------------------


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def money(value: float) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def purchase_fields(
    rng: random.Random, supplier: dict[str, str], day: dt.date, seq: int
) -> dict[str, Any]:
    ht = round(rng.lognormvariate(5.5, 1.1), 2)
    rate = rng.choice((20, 20, 20, 10, 5.5))
    tax = round(ht * rate / 100, 2)
    credit = rng.random() < 0.06
    sign = -1 if credit else 1
    fields: dict[str, Any] = {
        "source": rng.choice(("text", "text", "ocr", "einvoice")),
        "document_kind": "credit_note" if credit else "invoice",
        "supplier": {
            "name": supplier["name"],
            "siren": supplier["siren"],
            "vat_number": f"FR{int(supplier['siren']) % 97:02d}{supplier['siren']}",
        },
        "invoice_number": f"{supplier['prefix']}-{day.year}-{seq:05d}",
        "invoice_date": day.isoformat(),
        "currency": rng.choices(("EUR", "USD", "GBP", "CHF"), weights=(94, 3, 2, 1))[0],
        "total_excl_tax": money(sign * ht),
        "total_tax": money(sign * tax),
        "total_incl_tax": money(sign * (ht + tax)),
        "vat_lines": [{"rate": str(rate), "base": money(sign * ht), "amount": money(sign * tax)}],
    }
    # An account of the default chart: the invoice can be validated as it is.
    fields["accounting"] = {"lines": [{"account": rng.choice(ACCOUNTS)}]}
    if rng.random() < 0.9:
        fields["due_date"] = (day + dt.timedelta(days=rng.choice((0, 30, 45, 60)))).isoformat()
    return fields


class Data:
    """The firm, its companies and binders, its users and what the queries draw from."""

    firm_id: int
    admin_id: int
    token: str
    big_binder: int
    real_binder: int
    real_company: int
    companies: list[int]
    purchase_binders: dict[int, int]
    suppliers: dict[int, list[dict[str, str]]]
    counts: Counter[str]
    real_counts: Counter[str]


def setup_firm(app: Any, seed: int) -> Data:
    from core.auth.models import User
    from core.auth.services import create_token, create_user
    from core.tenancy.services import create_binder, create_company, create_firm

    rng = random.Random(seed)
    data = Data()
    with app.app_context():
        firm = create_firm("Cabinet Banc d'essai")
        data.firm_id = firm.id
        user = create_user("expert@bench.example", PASSWORD, firm, "admin")
        db.session.flush()
        data.admin_id = user.id
        data.companies, data.purchase_binders, data.suppliers = [], {}, {}
        data.admin_binders = {}  # type: ignore[attr-defined]
        for n in range(N_COMPANIES):
            name = f"{rng.choice(HEADS)} {rng.choice(TAILS)} {rng.choice(FORMS)}"
            company = create_company(firm.id, name=name, dossier_code=f"DOS{n:03d}")
            purchases = create_binder(company, type="purchase_invoices", name="Factures d'achat")
            admin = create_binder(company, type="admin_documents", name="Documents administratifs")
            db.session.flush()
            data.companies.append(company.id)
            data.purchase_binders[company.id] = purchases.id
            data.admin_binders[company.id] = admin.id  # type: ignore[attr-defined]
            suppliers = []
            for s in range(SUPPLIERS_PER_COMPANY):
                suppliers.append(
                    {
                        "name": f"{rng.choice(HEADS)} {rng.choice(TAILS)} {rng.choice(FORMS)}",
                        "siren": f"{rng.randrange(10**8, 10**9)}",
                        "prefix": rng.choice(("FA", "F", "FAC", "INV")) + str(s),
                    }
                )
            data.suppliers[company.id] = suppliers
        real = create_company(firm.id, name="Échantillons réels SAS", dossier_code="REEL01")
        real_binder = create_binder(real, type="purchase_invoices", name="Factures d'achat")
        db.session.flush()
        data.real_company, data.real_binder = real.id, real_binder.id
        data.big_binder = data.purchase_binders[data.companies[0]]
        _, data.token = create_token(db.session.get(User, data.admin_id), scopes=("read", "write"))
        db.session.commit()
    return data


def generate(app: Any, data: Data, n_docs: int, seed: int, batch: int = 2000) -> float:
    """Insert ``n_docs`` documents (and their export statuses) in bulk; returns seconds."""
    from core.documents.listing import list_values
    from core.documents.models import Document
    from core.exports.models import ExportStatus
    from core.state import classeur

    rng = random.Random(seed + 1)
    t0 = time.perf_counter()
    counts: Counter[str] = Counter()
    meg_companies = set(data.companies[: 2 * N_COMPANIES // 3])
    seqs: Counter[str] = Counter()
    with app.app_context():
        registry = classeur().binder_types
        purchase_type = registry.get("purchase_invoices")
        admin_type = registry.get("admin_documents")
        done = 0
        while done < n_docs:
            size = min(batch, n_docs - done)
            rows, pending_statuses = [], []
            for i in range(done, done + size):
                company = data.companies[0] if rng.random() < 0.25 else rng.choice(data.companies)
                purchase = rng.random() < 0.85
                day = START + dt.timedelta(days=rng.randrange(SPAN_DAYS))
                created = dt.datetime.combine(
                    day + dt.timedelta(days=rng.randrange(0, 12)),
                    dt.time(rng.randrange(7, 20), rng.randrange(60), rng.randrange(60)),
                    tzinfo=dt.UTC,
                )
                state = pick(rng, STATES)
                if purchase:
                    supplier = rng.choice(data.suppliers[company])
                    seqs[supplier["prefix"]] += 1
                    fields = (
                        purchase_fields(rng, supplier, day, seqs[supplier["prefix"]])
                        if state not in ("received", "extracting")
                        and not (state == "failed" and rng.random() < 0.7)
                        else {}
                    )
                    binder_id, kind = data.purchase_binders[company], purchase_type
                    filename = f"{supplier['name'].split()[0].lower()}-{i:07d}.pdf"
                else:
                    fields = {}
                    binder_id = data.admin_binders[company]  # type: ignore[attr-defined]
                    kind = admin_type
                    filename = rng.choice(("kbis", "bail", "statuts", "courrier")) + f"-{i}.pdf"
                validated = state == "validated"
                archived = (
                    validated
                    and created < dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
                    and rng.random() < 0.3
                )
                counts[state] += 1
                counts["archived"] += archived
                rows.append(
                    {
                        "firm_id": data.firm_id,
                        "company_id": company,
                        "binder_id": binder_id,
                        "sha256": hashlib.sha256(f"{seed}-{i}".encode()).hexdigest(),
                        "filename": filename,
                        "media_type": "application/pdf",
                        "size": rng.randrange(20_000, 900_000),
                        "pages": rng.choice((1, 1, 1, 2, 2, 3, 5)),
                        "state": state,
                        "failure_reason": "Illisible" if state == "failed" else None,
                        "text": None,
                        "text_source": fields.get("source") if fields else None,
                        "fields": fields,
                        "version": 1,
                        "processing_attempts": 1,
                        "uploaded_by_id": data.admin_id,
                        "created_at": created,
                        "updated_at": created + dt.timedelta(hours=2),
                        "processed_at": created + dt.timedelta(minutes=1),
                        "validated_at": created + dt.timedelta(days=1) if validated else None,
                        "archived_at": created + dt.timedelta(days=200) if archived else None,
                        **list_values(kind, fields),
                    }
                )
                if validated and purchase:
                    connectors = ["meg_export"] if company in meg_companies else ["fec_export"]
                    if rng.random() < 0.1:
                        connectors = ["meg_export", "fec_export"]
                    for connector in connectors:
                        export = pick(rng, EXPORT_STATES)
                        counts[f"export {export}"] += 1
                        error = rng.choice(ERRORS) if export == "error" else (None, None, None)
                        moment = created + dt.timedelta(days=1, minutes=rng.randrange(1, 600))
                        pending_statuses.append(
                            (
                                len(rows) - 1,
                                {
                                    "firm_id": data.firm_id,
                                    "connector": connector,
                                    "state": export,
                                    "message": error[2]
                                    or (
                                        "Non envoyé : export désactivé"
                                        if export == "skipped"
                                        else None
                                    ),
                                    "code": error[0],
                                    "field": error[1],
                                    "transient": error[0] == "unavailable",
                                    "warning": export == "exported" and rng.random() < 0.05,
                                    "attempts": 1 + (export == "error") * rng.randrange(3),
                                    "next_attempt_at": None,
                                    "remote_id": f"R{i}" if export == "exported" else None,
                                    "idempotency_key": f"{i}-{connector}-1",
                                    "created_at": moment,
                                    "updated_at": moment,
                                    "exported_at": moment if export == "exported" else None,
                                },
                            )
                        )
            ids = db.session.scalars(
                insert(Document).returning(Document.id, sort_by_parameter_order=True), rows
            ).all()
            if pending_statuses:
                db.session.execute(
                    insert(ExportStatus),
                    [{**status, "document_id": ids[row]} for row, status in pending_statuses],
                )
            db.session.commit()
            done += size
    data.counts = counts
    return time.perf_counter() - t0


def drop_real(app: Any, data: Data) -> tuple[int, float]:
    """The shared real invoices dropped and read through the real pipeline."""
    from core.binders.models import Binder
    from core.documents.models import Document
    from core.documents.services import store_upload

    files = sorted(p for p in SHARED.rglob("*") if p.suffix.lower() in (".xml", ".pdf"))
    t0 = time.perf_counter()
    ids = []
    for path in files:
        with app.app_context():
            binder = db.session.get(Binder, data.real_binder)
            try:
                stored = store_upload(binder, io.BytesIO(path.read_bytes()), path.name, None)
            except Exception as exc:  # a refused file (not an invoice): the pipeline's answer
                print(f"  refused {path.name}: {exc}")
                continue
            ids.append(stored.document.id)
    for document_id in ids:
        app.extensions["classeur"].tasks.run_now("process_document", document_id)
    with app.app_context():
        states = db.session.execute(
            select(Document.state, func.count())
            .where(Document.binder_id == data.real_binder)
            .group_by(Document.state)
        ).all()
    data.real_counts = Counter({str(s): n for s, n in states})
    return len(ids), time.perf_counter() - t0


# -- measuring ----------------------------------------------------------------------------------


class Probe:
    """Counts the SQL statements the app's engine runs."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *_args: Any) -> None:
        self.count += 1


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered) * 1000, p95 * 1000


class Bench:
    def __init__(self, app: Any, data: Data, repeat: int) -> None:
        self.app = app
        self.data = data
        self.repeat = repeat
        self.probe = Probe(db.engine_for(app))
        self.api = app.test_client()
        self.web = app.test_client()
        answer = self.web.post(
            "/login", data={"email": "expert@bench.example", "password": PASSWORD}
        )
        assert answer.status_code in (302, 303), answer.status_code
        self.headers = {"Authorization": f"Bearer {data.token}"}
        self.rows: list[tuple[str, str, str, str, str]] = []

    def get(self, url: str, api: bool = True) -> Any:
        client = self.api if api else self.web
        answer = client.get(url, headers=self.headers if api else None)
        assert answer.status_code == 200, (url, answer.status_code, answer.data[:300])
        return answer

    def time_urls(self, urls: list[str], api: bool = True) -> tuple[float, float, int]:
        """p50 / p95 (ms) over the urls (repeated), and the statements of the first one."""
        for url in urls[:3]:
            self.get(url, api)  # warm-up
        before = self.probe.count
        self.get(urls[0], api)
        statements = self.probe.count - before
        times = []
        # At least 20 timings a kind (a single URL is asked 4 times per pass).
        for _ in range(max(self.repeat, -(-20 // len(urls)))):
            for url in urls:
                t = time.perf_counter()
                self.get(url, api)
                times.append(time.perf_counter() - t)
        p50, p95 = percentiles(times)
        return p50, p95, statements

    def memory(self, url: str, api: bool = True) -> float:
        self.get(url, api)
        tracemalloc.start()
        self.get(url, api)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 2**20

    def record(self, kind: str, page: str, urls: list[str], api: bool = True) -> None:
        p50, p95, statements = self.time_urls(urls, api)
        flag = " SLOW" if p95 > 200 else ""
        self.rows.append((kind, page, f"{p50:.1f}", f"{p95:.1f}{flag}", str(statements)))
        print(
            f"  {kind:<44} {page:<14} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{flag}  "
            f"{statements:>3} SQL"
        )

    def cursor_after(self, url: str, pages: int) -> tuple[str | None, int]:
        """The cursor after ``pages`` pages of ``url`` (fewer if the list ends first)."""
        cursor, walked = None, 0
        for _ in range(pages):
            answer = self.get(url + (f"&cursor={cursor}" if cursor else "")).json
            walked += 1
            if answer["next_cursor"] is None:
                return cursor, walked - 1
            cursor = answer["next_cursor"]
        return cursor, walked


# -- the runs -----------------------------------------------------------------------------------


def api_queries(data: Data, seed: int, n: int, binder: int | None = None) -> list[str]:
    """Filtered and sorted list URLs drawn from ``seed`` (a supplier, a company, a month...)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        company = rng.choice(data.companies)
        params = [f"sort={rng.choice(API_SORTS)}"]
        roll = rng.randrange(6)
        if binder is not None:
            params.append(f"binder_id={binder}")
        elif roll == 0:
            params.append(f"company_id={company}")
        elif roll == 1:
            params.append("state=to_review")
        elif roll == 2:
            params.append("export_state=error")
        elif roll == 3:
            start = START + dt.timedelta(days=rng.randrange(SPAN_DAYS - 31))
            params += [f"date_from={start}", f"date_to={start + dt.timedelta(days=30)}"]
        elif roll == 4:
            supplier = rng.choice(data.suppliers[company])["name"].split()[1]
            params.append(f"supplier={supplier}")
        else:
            params += ["binder_type=purchase_invoices", f"created_from={START.year + 1}-01-01"]
        out.append("/api/v1/documents?" + "&".join(params))
    return out


def run_lists(bench: Bench, data: Data, args: argparse.Namespace) -> None:
    print("\n[GET /api/v1/documents]")
    for limit in (50, 200):
        base = f"/api/v1/documents?limit={limit}&sort=-created_at"
        bench.record(f"documents, newest first, limit {limit}", "first page", [base])
        cursor, depth = bench.cursor_after(base, 50)
        if cursor:
            bench.record(
                f"documents, newest first, limit {limit}",
                f"after {depth} pages",
                [f"{base}&cursor={cursor}"],
            )
        by_date = f"/api/v1/documents?limit={limit}&sort=-date&binder_type=purchase_invoices"
        bench.record(f"documents, invoice date, limit {limit}", "first page", [by_date])
        cursor, depth = bench.cursor_after(by_date, 50)
        if cursor:
            bench.record(
                f"documents, invoice date, limit {limit}",
                f"after {depth} pages",
                [f"{by_date}&cursor={cursor}"],
            )
    for label, seed in (("main", args.seed + 2), ("held-out", args.heldout_seed)):
        urls = api_queries(data, seed, args.queries)
        for limit in (50, 200):
            bench.record(
                f"documents, filters + sorts ({label}), limit {limit}",
                "first page",
                [f"{u}&limit={limit}" for u in urls],
            )
    print("\n[GET /api/v1/exports]")
    for limit in (50, 200):
        base = f"/api/v1/exports?limit={limit}"
        bench.record(f"exports, limit {limit}", "first page", [base])
        cursor, depth = bench.get(base).json["next_cursor"], 1
        for _ in range(49):
            if cursor is None:
                break
            nxt = bench.get(f"{base}&cursor={cursor}").json["next_cursor"]
            if nxt is None:
                break
            cursor, depth = nxt, depth + 1
        if cursor:
            bench.record(
                f"exports, limit {limit}", f"after {depth} pages", [f"{base}&cursor={cursor}"]
            )
        bench.record(
            f"exports in error since a date, limit {limit}",
            "first page",
            [f"{base}&state=error&since={START.year + 1}-06-01"],
        )


def run_pages(bench: Bench, data: Data, binder: int, label: str) -> None:
    print(f"\n[tray /trays/{binder} ({label}), 50 a page]")
    for key, direction in TRAY_SORTS:
        url = f"/trays/{binder}?sort={key}&dir={direction}"
        bench.record(f"tray {label}, sort {key} {direction}", "page 1", [url], api=False)
    with bench.app.app_context():
        from core.documents.models import Document, DocumentState

        total = db.session.scalar(
            select(func.count(Document.id)).where(
                Document.binder_id == binder,
                Document.state != DocumentState.TRASHED,
                Document.archived_at.is_(None),
            )
        )
    deep = min(51, max(1, (total + 49) // 50))
    if deep > 1:
        for key, direction in (("supplier.name", "asc"), ("total_incl_tax", "desc"), (None, None)):
            sort = f"sort={key}&dir={direction}&" if key else ""
            bench.record(
                f"tray {label}, sort {key or 'default'} {direction or ''}".rstrip(),
                f"page {deep}",
                [f"/trays/{binder}?{sort}page={deep}"],
                api=False,
            )


def run_to_review(bench: Bench) -> None:
    print("\n[« À valider » and its menu count]")
    bench.record("/trays/to-review (firm-wide)", "page 1", ["/trays/to-review"], api=False)
    bench.record("/trays/to-review (firm-wide)", "page 51", ["/trays/to-review?page=51"], api=False)
    bench.record("/trays (every binder, counts by state)", "page", ["/trays"], api=False)
    from flask_login import login_user

    from core.auth.models import User
    from core.binders.views import to_review_stmt
    from core.documents.models import Document

    times = []
    with bench.app.test_request_context("/"):
        login_user(db.session.get(User, bench.data.admin_id))
        stmt = to_review_stmt().with_only_columns(func.count(Document.id))
        count = db.session.scalar(stmt)
        for _ in range(bench.repeat * 5):
            t = time.perf_counter()
            db.session.scalar(stmt)
            times.append(time.perf_counter() - t)
    p50, p95 = percentiles(times)
    bench.rows.append(
        ("menu count « À valider » (one COUNT)", f"{count} docs", f"{p50:.1f}", f"{p95:.1f}", "1")
    )
    print(f"  menu count ({count} to review): p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def run_bulk(bench: Bench, data: Data, rounds: int) -> None:
    print("\n[POST /api/v1/documents/bulk: validate 100 ids]")
    from core.documents.models import Document, DocumentState

    with bench.app.app_context():
        ids = db.session.scalars(
            select(Document.id)
            .where(
                Document.firm_id == data.firm_id,
                Document.state == DocumentState.TO_REVIEW,
                Document.binder_id != data.real_binder,
            )
            .order_by(Document.id)
            .limit(100 * rounds)
        ).all()
    times, statements, ok, refused = [], [], 0, Counter()
    for r in range(rounds):
        chunk = ids[r * 100 : (r + 1) * 100]
        if len(chunk) < 100:
            break
        before = bench.probe.count
        t = time.perf_counter()
        answer = bench.api.post(
            "/api/v1/documents/bulk",
            json={"action": "validate", "ids": chunk},
            headers=bench.headers,
        )
        times.append(time.perf_counter() - t)
        statements.append(bench.probe.count - before)
        assert answer.status_code == 200, answer.data[:300]
        for result in answer.json["results"]:
            ok += result["ok"]
            if not result["ok"]:
                refused[result["message"][:60]] += 1
    p50, p95 = percentiles(times)
    per_doc = statistics.median(statements) / 100
    bench.rows.append(
        (
            "bulk validate 100 ids (API)",
            f"{len(times)} rounds",
            f"{p50:.0f}",
            f"{p95:.0f}",
            f"{statistics.median(statements):.0f} ({per_doc:.0f}/doc)",
        )
    )
    print(
        f"  {len(times)} rounds: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"{statistics.median(statements):.0f} SQL a request; {ok} validated, refused: "
        f"{dict(refused) or 0}"
    )


def run_memory(bench: Bench, data: Data) -> None:
    print("\n[peak Python memory of one request (tracemalloc)]")
    for label, url, api in (
        ("GET /api/v1/documents?limit=200", "/api/v1/documents?limit=200", True),
        ("GET /api/v1/documents?limit=50", "/api/v1/documents?limit=50", True),
        ("GET /api/v1/exports?limit=200", "/api/v1/exports?limit=200", True),
        ("tray sorted by supplier", f"/trays/{data.big_binder}?sort=supplier.name&dir=asc", False),
        ("/trays/to-review", "/trays/to-review", False),
    ):
        peak = bench.memory(url, api)
        bench.rows.append((f"memory: {label}", "peak", f"{peak:.1f} MB", "", ""))
        print(f"  {label:<40} {peak:6.1f} MB")


def table(rows: list[tuple[str, str, str, str, str]]) -> None:
    print("\n| request | page | p50 ms | p95 ms | SQL statements |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--heldout-seed", type=int, default=HELDOUT_SEED)
    parser.add_argument("--repeat", type=int, default=5, help="passes over each request set")
    parser.add_argument("--queries", type=int, default=12, help="filtered list URLs per set")
    parser.add_argument("--bulk-rounds", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (…/postgres): a database is created there for the run "
        "and dropped at the end; SQLite in the temporary folder without it",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the data folder and the PostgreSQL database"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the SQLite database first (the app never does: off by default)",
    )
    parser.add_argument("--no-real", action="store_true", help="skip the shared real invoices")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="classeur-bench-lists-"))
    admin, name = None, None
    if args.database_url:
        name = f"classeur_bench_lists_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
        backend = f"PostgreSQL (database {name}, dropped at the end)"
    else:
        url = f"sqlite:///{work / 'classeur.db'}"
        backend = "SQLite (WAL)"
    config = {
        "DATA_DIR": str(work),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False,
        "START_WORKERS": False,
        "PLUGINS": "core,binder_purchases",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    try:
        from core.migrate import upgrade

        plain = create_app(config)
        upgrade(plain)
        db.engine_for(plain).dispose()
        app = create_app(config)
        print(f"# Document lists benchmark: {args.documents} documents, {backend}")
        print(f"# {busy_note()}")
        data = setup_firm(app, args.seed)
        seconds = generate(app, data, args.documents, args.seed)
        if args.database_url:
            with (
                db.engine_for(app).connect().execution_options(isolation_level="AUTOCOMMIT") as conn
            ):
                conn.execute(text("VACUUM ANALYZE"))
        elif args.analyze:
            with db.engine_for(app).begin() as conn:
                conn.execute(text("ANALYZE"))
        with app.app_context():
            from core.documents.models import Document

            big = db.session.scalar(
                select(func.count()).where(Document.binder_id == data.big_binder)
            )
        print(
            f"generated {args.documents} documents in {seconds:.1f} s "
            f"({args.documents / seconds:.0f}/s): {dict(sorted(data.counts.items()))}; "
            f"the sorted tray holds {big}"
        )
        if not args.no_real and SHARED.exists():
            dropped, took = drop_real(app, data)
            print(
                f"real samples: {dropped} files dropped and read in {took:.0f} s, states "
                f"{dict(data.real_counts)}"
            )
        else:
            print("real samples: skipped (../shared/data/invoices absent or --no-real)")
            data.real_counts = Counter()
        bench = Bench(app, data, args.repeat)
        run_lists(bench, data, args)
        run_pages(bench, data, data.big_binder, "big")
        run_to_review(bench)
        run_memory(bench, data)
        run_bulk(bench, data, args.bulk_rounds)
        print(f"\n## Whole firm ({args.documents} generated documents, {backend})")
        print(f"# {busy_note()}")
        table(bench.rows)
        if data.real_counts:
            real = Bench(app, data, args.repeat)
            print("\n[real samples' binder]")
            urls = api_queries(data, args.heldout_seed + 1, 6, binder=data.real_binder)
            real.record("documents of the real binder, filters + sorts", "first page", urls)
            real.record(
                "exports", "first page", [f"/api/v1/exports?company_id={data.real_company}"]
            )
            run_pages(real, data, data.real_binder, "real")
            print(f"\n## Real samples' binder ({sum(data.real_counts.values())} documents)")
            table(real.rows)
        db.engine_for(app).dispose()
    finally:
        if args.keep:
            print(f"data folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if admin is not None:
            if args.keep:
                print(f"database kept: {url}")
            else:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
