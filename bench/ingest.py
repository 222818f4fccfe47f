"""Ingest figure: N generated born-digital one-page PDFs uploaded through the API of a real
`classeur serve`, until every one is read and indexed. Prints documents per second.

    python bench/ingest.py [--docs 1000] [--clients 8] [--workers 0]

Set CLASSEUR_DATABASE_URL to measure on PostgreSQL instead of the embedded SQLite.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

WORDS = [
    "facture",
    "fourniture",
    "livraison",
    "maintenance",
    "prestation",
    "loyer",
    "électricité",
    "carburant",
    "assurance",
    "téléphone",
    "honoraires",
    "transport",
    "abonnement",
    "papeterie",
]
SUPPLIERS = [
    "Quincaillerie Dubois",
    "EDF",
    "Orange",
    "Boulangerie Martin",
    "Garage Dupont",
    "Bureau Vallée",
    "Total Energies",
    "SNCF",
    "La Poste",
    "Manutan",
]


def make_pdf(i: int, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.drawString(60, 800, f"{rng.choice(SUPPLIERS)} — Facture n° F-{2026}-{i:06d}")
    c.drawString(60, 780, f"Date : {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2026")
    y = 740
    for _ in range(12):
        c.drawString(60, y, " ".join(rng.choice(WORDS) for _ in range(8)) + f" benchtoken{i}")
        y -= 16
    c.drawString(60, y - 20, f"Total TTC : {rng.randint(10, 5000)},{rng.randint(0, 99):02d} €")
    c.showPage()
    c.save()
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="reading threads (0 = cores)")
    args = parser.parse_args()
    rng = random.Random(42)
    pdfs = [make_pdf(i, rng) for i in range(args.docs)]
    tmp = Path(tempfile.mkdtemp(prefix="classeur-ingest-"))
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(tmp), "CLASSEUR_WORKERS": str(args.workers)}
    server = None
    try:
        subprocess.run(
            [sys.executable, "-m", "core", "init", "--demo", "--password", "bench-pass-123"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        token = subprocess.run(
            [sys.executable, "-m", "core", "tokens", "create", "--email", "admin@classeur.local"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "core", "serve", "--port", str(port), "--threads", "16"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        h = {"Authorization": f"Bearer {token}"}
        for _ in range(600):
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        binder = requests.get(base + "/api/v1/binders", headers=h).json()[0]["id"]
        session = requests.Session()

        def send(i: int) -> int:
            r = session.post(
                f"{base}/api/v1/binders/{binder}/documents",
                headers=h,
                files={"file": (f"facture-{i}.pdf", pdfs[i], "application/pdf")},
            )
            r.raise_for_status()
            return r.json()["documents"][0]["id"]

        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            ids = list(pool.map(send, range(args.docs)))
        uploaded = time.perf_counter() - start
        assert len(set(ids)) == args.docs
        while True:
            r = session.get(
                f"{base}/api/v1/search",
                headers=h,
                params={
                    "q": "benchtoken0 OR facture",
                    "sort": "-created",
                    "state": "to_review",
                    "per_page": 1,
                },
            ).json()
            if r["total"] >= args.docs and r["total_is_exact"]:
                break
            if time.perf_counter() - start > 1800:
                raise RuntimeError(f"only {r['total']} indexed after 30 minutes")
            time.sleep(0.2)
        total = time.perf_counter() - start
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    db = (
        "PostgreSQL"
        if os.environ.get("CLASSEUR_DATABASE_URL", "").startswith("postgres")
        else "SQLite"
    )
    search = os.environ.get("CLASSEUR_SEARCH_BACKEND", "whoosh")
    print(f"ingest ({db}, {search} search): {args.docs} one-page PDFs, {args.clients} clients")
    print(f"ingest: uploads accepted in {uploaded:.1f} s ({args.docs / uploaded:.1f} docs/s)")
    print(f"ingest: all read and indexed in {total:.1f} s -> {args.docs / total:.1f} docs/s")


if __name__ == "__main__":
    main()
