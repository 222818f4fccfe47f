"""FEC export benchmark: the purchase journal of 10,000 validated invoices.

Usage::

    .venv/bin/python bench/fec_export.py [--docs 10000] [--suppliers 300]

A temporary SQLite database (migrated with ``alembic upgrade heads``) gets ``--docs``
validated purchase invoices of one company over one year, inserted directly (no OCR) with
realistic fields: 1 to 3 accounting lines on classes 6 and 2, one to three VAT rates, credit
notes (one in twenty), a few hundred suppliers. Then:

1. the exporter alone (``plugins.fec_export``: entries, FEC, CSV) over the loaded documents,
   timed and traced (tracemalloc peak);
2. the whole core period export (``export_period``: selection on the invoice date, FEC + CSV,
   storage, batch, one ``ExportStatus`` per document) — the first export of the year;
3. the same export again (nothing changed: the same version comes back).

The first export notifies ``after_export`` for each invoice; with ``binder_purchases`` loaded
that plugin learns each supplier's accounting then (its "accepted" rule), which is most of
that step's time. ``--plain`` loads only ``core`` and ``fec_export`` with a plain
``purchase_invoices`` binder type, to time the core's own work.

Prints seconds, FEC lines per second and peak memory; timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from core.app import create_app  # noqa: E402
from core.db import db, utcnow  # noqa: E402
from core.documents.models import Document  # noqa: E402
from core.exports.periods import export_period, period_documents  # noqa: E402
from core.exports.services import set_connector_enabled  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.tenancy.models import Company  # noqa: E402
from core.tenancy.services import create_binder, create_company, create_firm  # noqa: E402

CHARGES = ["6064", "6063", "6061", "607", "613", "6226", "626", "6251", "616", "6156"]
ASSETS = ["2183", "2184", "2154"]
RATES = [Decimal("20"), Decimal("10"), Decimal("5.5")]
NAMES = ["Papeterie", "Électricité", "Garage", "Imprimerie", "Transports", "Cabinet", "Bureau"]
CENT = Decimal("0.01")


def _fields(rng: random.Random, n: int, supplier: dict[str, Any], day: date) -> dict[str, Any]:
    lines, vat_lines = [], {}
    for _ in range(rng.choice((1, 1, 2, 3))):
        account = rng.choice(ASSETS) if rng.random() < 0.05 else rng.choice(CHARGES)
        rate = rng.choice(RATES)
        excl = (Decimal(rng.randint(500, 500000)) / 100).quantize(CENT)
        vat = (excl * rate / 100).quantize(CENT)
        lines.append(
            {
                "account": account,
                "label": "Achat",
                "vat_code": None,
                "amount_excl_tax": f"{excl:.2f}",
                "vat_amount": f"{vat:.2f}",
            }
        )
        base, amount = vat_lines.get(rate, (Decimal(0), Decimal(0)))
        vat_lines[rate] = (base + excl, amount + vat)
    total_excl = sum((Decimal(x["amount_excl_tax"]) for x in lines), Decimal(0))
    total_tax = sum((Decimal(x["vat_amount"]) for x in lines), Decimal(0))
    credit = rng.random() < 0.05
    return {
        "source": "einvoice",
        "document_kind": "credit_note" if credit else "invoice",
        "supplier": supplier,
        "buyer": {"name": "Bench SAS", "siren": "552100554"},
        "invoice_number": f"F-{day:%Y}-{n:06d}",
        "invoice_date": day.isoformat(),
        "due_date": (day + timedelta(days=30)).isoformat(),
        "currency": "EUR",
        "total_excl_tax": f"{total_excl:.2f}",
        "total_tax": f"{total_tax:.2f}",
        "total_incl_tax": f"{total_excl + total_tax:.2f}",
        "amount_due": f"{total_excl + total_tax:.2f}",
        "vat_lines": [
            {"rate": f"{r:.2f}", "base": f"{b:.2f}", "amount": f"{a:.2f}", "category": "S"}
            for r, (b, a) in vat_lines.items()
        ],
        "payment_mode": "transfer",
        "vat_regime": "standard",
        "accounting": {"lines": lines, "proposal": None, "supplier_id": None},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--plain", action="store_true", help="core and fec_export only")
    args = parser.parse_args()
    extra: dict[str, Any] = {}
    if args.plain:
        from core.binders.registry import BinderType
        from core.plugins.hookspecs import hookimpl

        class PlainPurchases:
            @hookimpl
            def register_binder_types(self, register: Any) -> None:
                register(BinderType(name="purchase_invoices", label="Achats", plugin="bench"))

        extra = {"PLUGINS": "core,fec_export", "EXTRA_PLUGINS": [PlainPurchases()]}
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATA_DIR": tmp,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "SECRET_KEY": "bench",
                "START_WORKERS": False,
                **extra,
            }
        )
        upgrade(app)
        with app.app_context():
            firm = create_firm("Cabinet Bench")
            company = create_company(
                firm.id, name="Bench SAS", dossier_code="BENCH", siren="552100554"
            )
            binder = create_binder(company, type="purchase_invoices", name="Achats")
            set_connector_enabled(firm.id, "fec_export", True)
            db.session.commit()
            suppliers = [
                {
                    "name": f"{rng.choice(NAMES)} {i:03d} SARL",
                    "siren": f"{rng.randint(100000000, 999999999)}",
                    "country": "FR",
                }
                for i in range(args.suppliers)
            ]
            start = date(2025, 1, 1)
            now = utcnow()
            t0 = time.perf_counter()
            rows = []
            for n in range(args.docs):
                day = start + timedelta(days=rng.randrange(365))
                rows.append(
                    {
                        "firm_id": firm.id,
                        "company_id": company.id,
                        "binder_id": binder.id,
                        "sha256": f"{n:064x}",
                        "filename": f"facture-{n}.pdf",
                        "media_type": "application/pdf",
                        "size": 1000,
                        "pages": 1,
                        "state": "VALIDATED",
                        "fields": _fields(rng, n, rng.choice(suppliers), day),
                        "version": 1,
                        "processing_attempts": 1,
                        "created_at": now,
                        "updated_at": now,
                        "validated_at": now,
                    }
                )
            db.session.execute(insert(Document), rows)
            db.session.commit()
            print(f"inserted {args.docs} validated invoices in {time.perf_counter() - t0:.1f} s")

            from plugins.fec_export.exporter import entries_of, journal_settings
            from plugins.fec_export.formats import render_csv, render_fec

            company = db.session.get(Company, company.id)
            exporter = app.extensions["classeur"].exporters.period("fec_export")
            end = date(2025, 12, 31)
            t0 = time.perf_counter()
            documents = period_documents(company, exporter, start, end)
            select_s = time.perf_counter() - t0
            settings = journal_settings(company)
            rejected: list[Any] = []
            tracemalloc.start()
            t0 = time.perf_counter()
            entries = entries_of(documents, settings, lambda d, e: rejected.append((d.id, e)))
            entries_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            fec = render_fec(entries, settings)
            fec_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            csv = render_csv(entries, settings)
            csv_s = time.perf_counter() - t0
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            lines = fec.count(b"\r\n") - 1
            print(
                f"selection of the year: {len(documents)} documents in {select_s:.2f} s; "
                f"rejected: {len(rejected)}"
            )
            print(
                f"exporter alone: entries {entries_s:.2f} s, FEC {fec_s:.2f} s "
                f"({len(fec) / 1e6:.1f} MB, {lines} lines), CSV {csv_s:.2f} s "
                f"({len(csv) / 1e6:.1f} MB); "
                f"{lines / (entries_s + fec_s):.0f} FEC lines/s, "
                f"{len(entries) / (entries_s + fec_s):.0f} invoices/s; "
                f"tracemalloc peak {peak / 1e6:.0f} MB"
            )
            db.session.commit()
            # As under `classeur serve`: plugins hear of the export on the training workers.
            runner = app.extensions["classeur"].tasks
            runner.start()
            t0 = time.perf_counter()
            done = export_period(company, "fec_export", start, end, None)
            first_s = time.perf_counter() - t0
            print(
                f"export_period, first export (FEC + CSV + {done.batch.document_count} "
                f"statuses and events): {first_s:.2f} s, "
                f"{done.batch.document_count / first_s:.0f} invoices/s, version "
                f"{done.batch.version}"
            )
            t0 = time.perf_counter()
            runner.wait_idle(timeout=3600, poll=False)
            print(
                f"then the plugins' after_export in the background (training queue): "
                f"{time.perf_counter() - t0:.2f} s more"
            )
            t0 = time.perf_counter()
            again = export_period(company, "fec_export", start, end, None)
            again_s = time.perf_counter() - t0
            print(
                f"export_period again, nothing changed: {again_s:.2f} s, version "
                f"{again.batch.version} (created: {again.created})"
            )
            assert db.session.scalar(select(Document.id).limit(1)) is not None
            runner.stop()
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process peak RSS: {maxrss:.0f} MB")


if __name__ == "__main__":
    main()
