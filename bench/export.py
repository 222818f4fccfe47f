"""MEG export benchmark: throughput to the sandbox, 429 back-pressure, draining after an outage.

Usage::

    .venv/bin/python bench/export.py [--docs 500] [--latency-ms 50] [--workers 32]
                                     [--outage 60] [--rate-limit 40] [--quick]

A real MEG sandbox (waitress, multi-threaded) runs on loopback with ``latency_ms`` injected on
every API call; a real Classeur app (SQLite, in-process runner with ``--workers`` threads)
exports validated purchase invoices to it through the ``meg_export`` connector. Three runs:

1. throughput: all documents queued at once, time until every status is ``exported``;
   the sequential bound is ``1000 / latency_ms`` purchases/s;
2. rate limit: the sandbox allows ``--rate-limit`` requests/s per token; 429 answers with
   ``Retry-After`` must slow the exporter down, never fail a document;
3. outage: MEG answers 5xx for ``--outage`` seconds while the backlog is queued, then comes
   back; the drain time is measured from the recovery.

``--quick`` shrinks everything for a smoke run (60 documents, 5 s outage).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from core.app import create_app  # noqa: E402
from core.binders.registry import BinderType  # noqa: E402
from core.db import db  # noqa: E402
from core.exports.models import ExportState, ExportStatus  # noqa: E402
from core.plugins.hookspecs import hookimpl  # noqa: E402

FIELDS: dict[str, Any] = {
    "supplier": {
        "name": "Free",
        "siren": "421938861",
        "vat_number": "FR60421938861",
        "country": "FR",
    },
    "invoice_date": "2024-11-02",
    "due_date": "2024-12-02",
    "currency": "EUR",
    "total_excl_tax": "100.00",
    "total_tax": "20.00",
    "total_incl_tax": "120.00",
    "vat_lines": [{"rate": "20", "base": "100.00", "amount": "20.00"}],
    "payment_mode": "transfer",
    "vat_regime": "standard",
    "document_kind": "invoice",
    "accounting": {"lines": [], "proposal": {"account": "626000"}},
}


def start_sandbox(data_dir: Path, threads: int) -> tuple[str, subprocess.Popen[bytes]]:
    """Serve a sandbox (waitress, ``threads`` threads) in its own process, as MEG would be:
    sharing this process's GIL would measure the sandbox, not the exporter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "from plugins.meg_export.sandbox import run_sandbox; "
        f"run_sandbox('127.0.0.1', {port}, {str(data_dir)!r}, threads={threads}, "
        "config={'SESSION_COOKIE_NAME': 'meg_sandbox_session'})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base_url}/_sandbox/faults", timeout=1).raise_for_status()
            return base_url, process
        except requests.RequestException:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)


STUB = """
import itertools, json, sys, time
from waitress import serve
ids = itertools.count(1)
def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    time.sleep({latency} / 1000)
    body = json.dumps({{"id": next(ids)}}).encode()
    start_response("201 Created", [("Content-Type", "application/json")])
    return [body]
serve(app, host="127.0.0.1", port={port}, threads={threads}, _quiet=True)
"""


def start_stub(latency_ms: int, threads: int) -> tuple[str, subprocess.Popen[bytes]]:
    """A MEG stand-in that only sleeps ``latency_ms`` and answers 201: it measures what the
    Classeur side (runner, database, exporter) sustains when MEG itself costs nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = STUB.format(latency=latency_ms, port=port, threads=threads)
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.post(url, timeout=1)
            return url, process
        except requests.RequestException:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)


def faults(base_url: str, **values: Any) -> None:
    requests.post(f"{base_url}/_sandbox/faults", json=values, timeout=10).raise_for_status()


def authorize(
    base_url: str, redirect_uri: str, dossiers: tuple[str, ...] = ("DEMO01",)
) -> dict[str, Any]:
    """The OAuth code + PKCE flow, driven as a browser would, consenting to ``dossiers``."""
    from plugins.meg_export.client import MegOAuth

    oauth = MegOAuth(base_url, "classeur", "classeur-sandbox-secret", redirect_uri)
    url, state, verifier = oauth.authorization_url(dossier=dossiers[0])
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    browser.post(
        f"{base_url}/login",
        timeout=10,
        data={
            "email": "demo@meg.example",
            "password": "demo",
            "next": parse_qs(urlsplit(page.url).query)["next"][0],
        },
    )
    answer = browser.post(
        url,
        data={"decision": "allow", "dossiers": list(dossiers)},
        allow_redirects=False,
        timeout=10,
    )
    return oauth.exchange_code(
        code_verifier=verifier, authorization_response=answer.headers["Location"], state=state
    )


class PurchaseBinderType:
    """A plain ``purchase_invoices`` binder type: the bench measures exports, not the review
    checks of ``binder_purchases`` (loaded plugins: ``core`` and ``meg_export`` only)."""

    @hookimpl
    def register_binder_types(self, register: Any) -> None:
        register(BinderType(name="purchase_invoices", label="Factures d'achat", plugin="bench"))


class Bench:
    """One Classeur app linked to the sandbox's DEMO01 dossier."""

    def __init__(self, base_url: str, data_dir: Path, workers: int, extra: dict[str, Any]):
        from core.migrate import upgrade

        self.base_url = base_url
        config = {
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'c.db'}",
            "SECRET_KEY": "bench",
            "START_WORKERS": False,
            "WORKERS": workers,
            "MEG_BASE_URL": base_url,
            "MEG_TIMEOUT": 30,
            "PLUGINS": "core,meg_export",
        }
        # Migrations run from an app without plugin objects: the migration environment only
        # knows plugin modules.
        plain = create_app(config)
        upgrade(plain)
        db.engine_for(plain).dispose()
        self.app = create_app({**config, "EXTRA_PLUGINS": [PurchaseBinderType()], **extra})
        self.runner = self.app.extensions["classeur"].tasks
        self.runner.poll_interval = 0.5
        self.counter = 0
        with self.app.app_context():
            from types import SimpleNamespace

            from core.tenancy.services import create_binder, create_company, create_firm
            from plugins.meg_export.link import link_company

            firm = create_firm("Cabinet bench")
            company = create_company(firm.id, name="Boulangerie Martin", dossier_code="DEMO01")
            self.binder_id = create_binder(company, type="purchase_invoices", name="Achats").id
            db.session.flush()
            token = authorize(base_url, "http://127.0.0.1/meg/callback")
            dossiers = requests.get(
                f"{base_url}/api/v1/dossiers",
                timeout=10,
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ).json()
            dossier = next(d for d in dossiers if d["code"] == "DEMO01")
            link_company(company, token, dossier, SimpleNamespace(email="bench@classeur"))
            db.session.commit()

    def make_documents(self, count: int, tag: str) -> list[int]:
        """Documents to review, with their (tiny, distinct) PDF originals stored."""
        import hashlib

        from core.binders.models import Binder
        from core.documents.models import Document

        ids = []
        with self.app.app_context():
            storage = self.app.extensions["classeur"].storage
            binder = db.session.get(Binder, self.binder_id)
            for _ in range(count):
                self.counter += 1
                content = f"%PDF-1.4 bench {tag} {self.counter}\n%%EOF\n".encode()
                sha = hashlib.sha256(content).hexdigest()
                path = storage.path(sha)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                document = Document(
                    firm_id=binder.company.firm_id,
                    company_id=binder.company_id,
                    binder_id=binder.id,
                    sha256=sha,
                    filename=f"f{self.counter}.pdf",
                    media_type="application/pdf",
                    size=len(content),
                    pages=1,
                    state="to_review",
                    text="",
                    fields={**FIELDS, "invoice_number": f"{tag}-{self.counter:06d}"},
                )
                db.session.add(document)
                db.session.flush()
                ids.append(document.id)
            db.session.commit()
        return ids

    def validate(self, ids: list[int]) -> list[int]:
        """Validate (commit) without sending: returns the export statuses to run."""
        from core.documents.models import Document
        from core.documents.services import validate_document

        to_run: list[int] = []
        with self.app.app_context():
            for document_id in ids:
                to_run += validate_document(db.session.get(Document, document_id), None)
        return to_run

    def submit(self, status_ids: list[int]) -> None:
        from core.exports.services import submit_exports

        with self.app.app_context():
            submit_exports(status_ids)

    def counts(self, status_ids: list[int]) -> dict[str, int]:
        with self.app.app_context():
            rows = db.session.execute(
                select(ExportStatus.state, func.count(), func.sum(ExportStatus.attempts))
                .where(ExportStatus.id.in_(status_ids))
                .group_by(ExportStatus.state)
            ).all()
        out = {str(state): int(n) for state, n, _ in rows}
        out["attempts"] = sum(int(a or 0) for _, _, a in rows)
        return out

    def wait_done(self, status_ids: list[int], timeout: float) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts(status_ids)
            done = counts.get(ExportState.EXPORTED, 0) + counts.get(ExportState.ERROR, 0)
            if done == len(status_ids) or time.monotonic() > deadline:
                return counts
            time.sleep(0.05)


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="classeur-bench-export-"))
    base_url, server = start_sandbox(tmp / "meg", threads=max(args.workers + 8, 16))
    try:
        _runs(args, base_url)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _runs(args: argparse.Namespace, base_url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="classeur-bench-export-"))
    print(
        f"sandbox {base_url}, latency {args.latency_ms} ms, {args.workers} export workers, "
        f"{args.docs} documents per run"
    )
    sequential = 1000 / args.latency_ms

    # 1. Throughput.
    faults(base_url, latency_ms=args.latency_ms, rate_limit_per_second=100_000)
    bench = Bench(base_url, tmp / "c1", args.workers, {})
    ids = bench.validate(bench.make_documents(args.docs, "T"))
    bench.runner.start()
    started = time.perf_counter()
    bench.submit(ids)
    counts = bench.wait_done(ids, timeout=600)
    elapsed = time.perf_counter() - started
    rate = args.docs / elapsed
    print(
        f"[throughput] {counts.get('exported', 0)}/{args.docs} exported in {elapsed:.2f} s = "
        f"{rate:.1f} purchases/s (sequential bound {sequential:.0f}/s, x{rate / sequential:.1f}"
        f"; target >= {5 * sequential:.0f}/s); errors {counts.get('error', 0)}"
    )
    bench.runner.stop()

    # 1b. The same against a MEG that costs nothing but its latency (where is the limit?).
    stub_url, stub = start_stub(args.latency_ms, max(args.workers + 8, 16))
    try:
        bench = Bench(base_url, tmp / "c1b", args.workers, {})
        bench.app.config["MEG_BASE_URL"] = stub_url
        ids = bench.validate(bench.make_documents(args.docs, "S"))
        bench.runner.start()
        started = time.perf_counter()
        bench.submit(ids)
        counts = bench.wait_done(ids, timeout=600)
        elapsed = time.perf_counter() - started
        print(
            f"[classeur side, MEG stand-in sleeping {args.latency_ms} ms] "
            f"{counts.get('exported', 0)}/{args.docs} in {elapsed:.2f} s = "
            f"{args.docs / elapsed:.1f} exports/s"
        )
        bench.runner.stop()
    finally:
        stub.terminate()
        stub.wait(timeout=10)

    # 2. 429 back-pressure.
    requests.post(f"{base_url}/_sandbox/reset", timeout=10)
    faults(base_url, latency_ms=args.latency_ms, rate_limit_per_second=args.rate_limit)
    # The core's default retry settings (EXPORT_MAX_ATTEMPTS=6): a 429 must not use them up.
    bench = Bench(base_url, tmp / "c2", args.workers, {})
    ids = bench.validate(bench.make_documents(args.docs, "R"))
    bench.runner.start()
    started = time.perf_counter()
    bench.submit(ids)
    counts = bench.wait_done(ids, timeout=900)
    elapsed = time.perf_counter() - started
    gate = bench.app.extensions["classeur"].exporters.get("meg_export").gate
    print(
        f"[rate limit {args.rate_limit}/s per token] {counts.get('exported', 0)}/{args.docs} "
        f"exported, {counts.get('error', 0)} errors, {counts['attempts']} core attempts "
        f"(default EXPORT_MAX_ATTEMPTS), {gate.hits} requests answered 429, "
        f"{args.docs / elapsed:.1f} purchases/s ({elapsed:.1f} s)"
    )
    bench.runner.stop()

    # 3. Outage then drain.
    requests.post(f"{base_url}/_sandbox/reset", timeout=10)
    faults(base_url, latency_ms=args.latency_ms, rate_limit_per_second=100_000)
    extra = {"EXPORT_RETRY_BASE": args.retry_base, "EXPORT_MAX_ATTEMPTS": 30}
    bench = Bench(base_url, tmp / "c3", args.workers, extra)
    faults(base_url, error_5xx_rate=1.0)
    ids = bench.validate(bench.make_documents(args.docs, "O"))
    bench.runner.start()
    outage_start = time.perf_counter()
    bench.submit(ids)  # the backlog meets the outage
    time.sleep(args.outage)
    during = bench.counts(ids)
    faults(base_url, error_5xx_rate=0.0)
    recovered = time.perf_counter()
    counts = bench.wait_done(ids, timeout=900)
    drain = time.perf_counter() - recovered
    print(
        f"[outage {args.outage:.0f} s] during: {during.get('exported', 0)} exported, "
        f"{during['attempts']} attempts all answered 5xx; after recovery "
        f"{counts.get('exported', 0)}/{args.docs} exported in {drain:.1f} s "
        f"(EXPORT_RETRY_BASE={args.retry_base}, EXPORT_MAX_ATTEMPTS=30, "
        f"total {time.perf_counter() - outage_start:.1f} s), errors {counts.get('error', 0)}"
    )
    bench.runner.stop()
    check = requests.get(f"{base_url}/?source=Classeur", timeout=30)
    print(f"sandbox page with the Classeur filter: HTTP {check.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--rate-limit", type=int, default=20)
    parser.add_argument("--retry-base", type=float, default=0.5)
    parser.add_argument("--quick", action="store_true", help="60 documents, 5 s outage")
    args = parser.parse_args()
    if args.quick:
        args.docs, args.outage = 60, 5.0
    run(args)


if __name__ == "__main__":
    main()
