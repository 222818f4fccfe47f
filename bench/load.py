"""Load benchmark: concurrent clients uploading small PDFs, searching and opening pages against
a real ``classeur serve`` on loopback, for a bounded time; then every accepted upload must be
read (``to_review``) and stored exactly once.

    .venv/bin/python bench/load.py --quick                  # 10 clients, 10 s
    .venv/bin/python bench/load.py                          # 50 clients, 60 s
    .venv/bin/python bench/load.py --clients 50 --duration 60 --server-threads 16

Prints requests/s and p50/p95/max latency by kind (upload, search, page), the errors (any
answer other than 2xx, or a connection failure), and the lost documents (202 ids not read to
``to_review`` within the drain timeout, or rows that do not match the accepted uploads).
Exits 1 on any error or lost document. Everything runs in a temporary data folder.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SUPPLIERS = [
    "Quincaillerie Dubois",
    "Boulangerie Martin",
    "Garage Dupont",
    "Free Telecom",
    "EDF Entreprises",
    "Transports Leroy",
    "Papeterie Moderne",
    "Imprimerie Roux",
]
WORDS = [
    "maintenance",
    "fournitures",
    "abonnement",
    "location",
    "carburant",
    "assurance",
    "honoraires",
    "transport",
    "entretien",
    "electricite",
]
PAGES = ["/", "/trays", "/search?q=facture", "/companies"]


class BlockAll(DefaultCookiePolicy):
    """Refuse every cookie."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


@dataclass
class Stats:
    """Latencies and errors gathered by every client thread."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    accepted: set[int] = field(default_factory=set)
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")


def small_pdf(seed: int) -> bytes:
    """A one-page born-digital invoice with unique text (so no upload is a duplicate)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    lines = [
        f"FACTURE N° LD-{seed:07d}",
        rng.choice(SUPPLIERS),
        f"Objet : {rng.choice(WORDS)} {rng.choice(WORDS)}",
        f"Total TTC {rng.randint(10, 5000)},{rng.randint(0, 99):02d} EUR",
    ]
    y = 800
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": str(data),
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    env.pop("CLASSEUR_DATABASE_URL", None)
    return env


def _cli(data: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "core", *args],
        env=_env(data),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return result.stdout


def client_loop(
    base: str,
    token: str,
    binder_ids: list[int],
    deadline: float,
    seed: int,
    stats: Stats,
    weights: tuple[int, int, int],
) -> None:
    """One simulated user: uploads, searches and pages until ``deadline``."""
    rng = random.Random(seed)
    session = requests.Session()
    # A token client keeps no cookies: a page answer sets a session cookie (CSRF token), and
    # with it flask-login's "strong" session protection refuses the bearer token (401) on
    # the next calls: a known bug, reported to the lead (see docs/benchmarks-load.md).
    session.cookies.set_policy(BlockAll())
    session.headers["Authorization"] = f"Bearer {token}"
    counter = 0
    while time.monotonic() < deadline:
        kind = rng.choices(["upload", "search", "page"], weights=weights)[0]
        started = time.monotonic()
        error = None
        try:
            if kind == "upload":
                counter += 1
                content = small_pdf(seed * 1_000_000 + counter)
                binder = rng.choice(binder_ids)
                answer = session.post(
                    f"{base}/api/v1/binders/{binder}/documents",
                    files={"file": (f"ld-{seed}-{counter}.pdf", content)},
                    timeout=120,
                )
                if answer.status_code == 202:
                    for doc in answer.json()["documents"]:
                        with stats.lock:
                            stats.accepted.add(doc["id"])
                            stats.duplicates += bool(doc["duplicate"])
                else:
                    error = f"{answer.status_code} {answer.text[:120]}"
            elif kind == "search":
                q = rng.choice(WORDS + [s.split()[0] for s in SUPPLIERS])
                answer = session.get(f"{base}/api/v1/search", params={"q": q}, timeout=120)
                if answer.status_code != 200:
                    error = f"{answer.status_code} {answer.text[:120]}"
            else:
                answer = session.get(base + rng.choice(PAGES), timeout=120)
                if answer.status_code != 200:
                    error = f"{answer.status_code} {answer.url}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        stats.record(kind, time.monotonic() - started, error)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def drain(data: Path, ids: set[int], timeout: float) -> dict[str, int]:
    """Wait until every accepted document is read; return the states of those documents."""
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    while True:
        conn = sqlite3.connect(data / "classeur.db", timeout=30)
        try:
            rows = conn.execute("select id, state from documents").fetchall()
        finally:
            conn.close()
        mine = {i: s.lower() for i, s in rows if i in ids}
        states = defaultdict(int)
        for s in mine.values():
            states[s] += 1
        pending = states.get("received", 0) + states.get("extracting", 0)
        if (len(mine) == len(ids) and not pending) or time.monotonic() > deadline:
            return dict(states)
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--quick", action="store_true", help="10 clients for 10 seconds")
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="reading worker threads")
    parser.add_argument("--mix", default="20,50,30", help="upload,search,page weights")
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration = 10, 10.0
    weights = tuple(int(x) for x in args.mix.split(","))
    assert len(weights) == 3

    tmp = Path(tempfile.mkdtemp(prefix="classeur-load-"))
    data = tmp / "var"
    _cli(data, "init", "--demo")
    token = _cli(data, "tokens", "create", "--email", "admin@classeur.local").split()[-1]
    port = _port()
    env = {**_env(data), "CLASSEUR_WORKERS": str(args.workers)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "serve",
            "--port",
            str(port),
            "--threads",
            str(args.server_threads),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        h = {"Authorization": f"Bearer {token}"}
        binders = requests.get(base + "/api/v1/binders", headers=h, timeout=10).json()
        binder_ids = [b["id"] for b in binders]
        stats = Stats()
        print(
            f"load: {args.clients} clients for {args.duration:.0f} s against {base} "
            f"(server threads {args.server_threads}, reading workers {args.workers}, "
            f"mix upload/search/page {args.mix})",
            flush=True,
        )
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(
                target=client_loop, args=(base, token, binder_ids, deadline, i + 1, stats, weights)
            )
            for i in range(args.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        drain_started = time.monotonic()
        states = drain(data, stats.accepted, args.drain_timeout)
        drained = time.monotonic() - drain_started
        conn = sqlite3.connect(data / "classeur.db")
        rows = conn.execute("select count(*) from documents").fetchone()[0]
        reads = conn.execute("select count(*) from document_events where action='read'").fetchone()[
            0
        ]
        conn.close()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()

    total = sum(len(v) for v in stats.latencies.values())
    print(f"\n{'kind':8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind in ("upload", "search", "page"):
        values = stats.latencies.get(kind, [])
        print(
            f"{kind:8} {len(values):9d} {len(values) / elapsed:8.1f} "
            f"{percentile(values, 0.5) * 1000:8.0f} {percentile(values, 0.95) * 1000:8.0f} "
            f"{(max(values) if values else float('nan')) * 1000:8.0f}"
        )
    print(f"{'all':8} {total:9d} {total / elapsed:8.1f}")
    accepted = len(stats.accepted)
    read = states.get("to_review", 0)
    lost = accepted - read
    print(f"\nerrors: {len(stats.errors)}")
    for line in stats.errors[:10]:
        print(f"  {line}")
    print(
        f"uploads accepted: {accepted} (duplicates {stats.duplicates}); read to_review: "
        f"{read}; states {states}; drained in {drained:.1f} s after the load"
    )
    print(f"document rows: {rows}; 'read' events: {reads}; lost documents: {lost}")
    ok = not stats.errors and lost == 0 and rows == accepted and reads == accepted
    print("RESULT:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
