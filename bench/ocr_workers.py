"""Scale-out benchmark: OCR throughput of Celery worker processes (pages per minute).

    .venv/bin/python bench/ocr_workers.py             # 20 scanned pages, 1 then 2 workers
    .venv/bin/python bench/ocr_workers.py --pages 4   # quick check

Needs Redis and PostgreSQL (defaults: 127.0.0.1, see ``--redis`` and ``--pg``). Creates a
PostgreSQL database of its own (dropped at the end), a data folder in a temporary directory,
and a firm with one ``admin_documents`` binder. For each configuration it starts the worker
processes (``classeur worker --queues reading --concurrency 1`` with ``OCR_PROCESSES=1``: one
document and one Tesseract at a time per process), waits until they answer, then uploads N
one-page scans (text rendered with Pillow and DejaVu Sans, distinct per run), queues them
through the Celery runner and measures the wall time until every document is read. Prints
pages per minute for each configuration and the scaling ratio.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = [
    "FACTURE N° {n}",
    "Quincaillerie Dupont SARL - 12 rue des Forges - 69003 Lyon",
    "SIRET 552 100 554 00017 - TVA FR40552100554",
    "Date : 14/03/2025   Echeance : 13/04/2025",
    "Vis inox 4x40, boite de 200      3 x 12,50 = 37,50 EUR",
    "Ramette papier A4 80 g          10 x  4,20 = 42,00 EUR",
    "Total HT 79,50   TVA 20 % 15,90   Total TTC 95,40 EUR",
]


def scan_page(n: int) -> bytes:
    """One scanned A4-ish page (PNG, no text layer) with invoice text numbered ``n``."""
    font = ImageFont.truetype(FONT, 34)
    img = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(img)
    y = 120
    for line in LINES * 3:
        draw.text((90, y), line.format(n=n), fill=0, font=font)
        y += 60
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="scanned pages per run")
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]

    import redis

    broker = redis.Redis.from_url(args.redis)
    broker.flushdb()
    name = f"classeur_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory(prefix="classeur-bench-") as tmp:
            results = run(url, Path(tmp), args.redis, args.pages, counts)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        broker.flushdb()
    print(f"\nOCR throughput, {args.pages} one-page scans, {os.cpu_count()} CPUs:")
    for count, (seconds, ppm) in results.items():
        print(f"  {count} worker process(es): {seconds:6.1f} s  {ppm:6.1f} pages/min")
    if len(results) > 1:
        first, last = counts[0], counts[-1]
        print(f"  scaling {first} -> {last} processes: x{results[last][1] / results[first][1]:.2f}")


def run(
    url: str, data_dir: Path, broker_url: str, pages: int, counts: list[int]
) -> dict[int, tuple[float, float]]:
    """Measure each worker count; returns ``{count: (seconds, pages per minute)}``."""
    from core.app import create_app
    from core.db import db
    from core.documents.models import Document, DocumentState
    from core.documents.services import store_upload, submit_processing
    from core.migrate import upgrade
    from core.tenancy.services import create_binder, create_company, create_firm

    settings = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "TASK_RUNNER": "celery",
        "BROKER_URL": broker_url,
        "OCR_PROCESSES": "1",
    }
    app = create_app(settings)
    upgrade(app)
    with app.app_context():
        firm = create_firm("Cabinet banc d'essai")
        db.session.flush()
        company = create_company(firm.id, name="Quincaillerie Dupont", dossier_code="BENCH1")
        db.session.flush()
        binder = create_binder(company, type="admin_documents", name="Scans")
        db.session.commit()
        binder_id = binder.id
    runner = app.extensions["classeur"].tasks
    env = {**os.environ, **{f"CLASSEUR_{k}": v for k, v in settings.items()}}
    results: dict[int, tuple[float, float]] = {}
    for run_no, count in enumerate(counts):
        procs = [start_worker(env) for _ in range(count)]
        try:
            wait_ready(runner.celery, procs)
            with app.app_context():
                from core.binders.models import Binder

                b = db.session.get(Binder, binder_id)
                ids = []
                for i in range(pages):
                    page = scan_page(run_no * 10_000 + i)
                    stored = store_upload(b, io.BytesIO(page), f"scan-{run_no}-{i}.png", None)
                    ids.append(stored.document.id)
            start = time.monotonic()
            with app.app_context():
                submit_processing(ids)
            while True:
                with app.app_context():
                    left = db.session.scalar(
                        select(func.count())
                        .select_from(Document)
                        .where(
                            Document.id.in_(ids),
                            Document.state.in_([DocumentState.RECEIVED, DocumentState.EXTRACTING]),
                        )
                    )
                if not left:
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit("a worker died; see its output above")
                time.sleep(0.1)
            seconds = time.monotonic() - start
            results[count] = (seconds, pages / seconds * 60)
            stats = runner.celery.control.inspect(timeout=2).stats() or {}
            shares = sorted(s.get("total", {}).get("classeur.run", 0) for s in stats.values())
            print(
                f"{count} worker process(es): {pages} pages in {seconds:.1f} s, tasks per "
                f"worker {shares}, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
    runner.stop()
    db.engine_for(app).dispose()
    return results


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start one ``classeur worker`` on the reading queue, one task at a time."""
    code = "from core.tasks.worker import worker_command; worker_command()"
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--queues",
            "reading",
            "--concurrency",
            "1",
            "--loglevel",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


def wait_ready(celery: object, procs: list[subprocess.Popen[bytes]]) -> None:
    """Wait until every worker answers a ping."""
    names = {f"classeur-{p.pid}@" for p in procs}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = celery.control.ping(timeout=0.5)  # type: ignore[attr-defined]
        seen = {n for n in names for reply in replies for node in reply if n in node}
        if seen == names:
            return
    raise SystemExit("workers did not start within 60 s")


if __name__ == "__main__":
    main()
