"""The crash script: a real ``classeur serve`` SIGKILLed during ingestion (many scans being
OCRed) and during an export burst (many validated invoices being sent to a real MEG sandbox
server). After a restart: every document stored exactly once, every reading finished exactly
once, and MEG holds exactly one purchase per validated invoice."""

from __future__ import annotations

import collections
import copy
import hashlib
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import make_pdf_bytes, make_scan_bytes, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "classeur", "classeur-sandbox-secret"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": str(data_dir),
        "CLASSEUR_WORKERS": "2",
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **extra,
    }
    env.pop("CLASSEUR_DATABASE_URL", None)  # this test is about the process: its own SQLite
    return env


def _cli(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        env=_env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )


def _wait_up(url: str) -> None:
    def up() -> bool:
        try:
            return requests.get(url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    # A loaded machine (the whole suite, other jobs) may take long to start a server.
    wait_for(up, timeout=180, interval=0.2)


def _serve(data_dir: Path, port: int, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
    # The server's log is kept beside the data for a failure's diagnosis (pytest keeps the
    # last runs' temporary folders).
    log_path = data_dir.parent / f"serve-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "serve", "--port", str(port)],
            env=_env(data_dir, **extra),
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base + "/healthz")
    except AssertionError as exc:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{exc}; server exit code {proc.poll()}, its log:\n{tail}") from exc
    return proc, base


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            _kill(proc)


def _originals(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "originals").rglob("*") if p.is_file()]


def _state(value: str) -> str:
    return value.lower()  # SQLAlchemy stores enum member names


def _states(data_dir: Path, ids: list[int]) -> list[str]:
    """The documents' states read straight from the server's SQLite (WAL: never blocks it),
    so the test sees a reading under way within milliseconds, whatever the HTTP load."""
    db = sqlite3.connect(f"file:{data_dir / 'classeur.db'}?mode=ro", uri=True, timeout=30)
    try:
        found = dict(db.execute("select id, state from documents").fetchall())
    finally:
        db.close()
    return [_state(found[i]) for i in ids]


def test_killed_during_ingestion_every_document_once(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert _cli(data, "init", "--demo").returncode == 0
    token = _cli(data, "tokens", "create", "--email", "admin@classeur.local").stdout.split()[-1]
    h = {"Authorization": f"Bearer {token}"}
    port = _port()
    proc, base = _serve(data, port)
    scans: list[bytes] = []
    try:
        binder = requests.get(base + "/api/v1/binders", headers=h, timeout=10).json()[0]["id"]
        ids: list[int] = []

        def upload(count: int) -> None:
            batch = [
                make_scan_bytes([f"Facture numero {len(scans) + i}", "Quincaillerie Dubois"])
                for i in range(count)
            ]
            scans.extend(batch)
            files = [
                ("file", (f"scan{len(ids) + i}.png", content)) for i, content in enumerate(batch)
            ]
            answer = requests.post(
                f"{base}/api/v1/binders/{binder}/documents", files=files, headers=h, timeout=120
            )
            assert answer.status_code == 202, answer.text
            ids.extend(d["id"] for d in answer.json()["documents"])

        upload(5)
        upload(5)
        # Kill while a reading is under way. A fast machine may read every scan before the
        # first look: then more scans are dropped (a few rounds at most), so the kill always
        # lands in the middle of OCR rather than after it.
        states: list[str] = []

        def reading_or_all_read() -> list[str] | None:
            now = _states(data, ids)
            return now if "extracting" in now or "received" not in now else None

        for _round in range(6):
            states = wait_for(reading_or_all_read, timeout=300, interval=0.005)
            if "extracting" in states:
                break
            upload(5)
        _kill(proc)
        assert "extracting" in states, states

        proc, base = _serve(data, port)

        def all_read() -> list[dict[str, Any]] | None:
            docs = [
                requests.get(f"{base}/api/v1/documents/{i}", headers=h, timeout=10).json()
                for i in ids
            ]
            return docs if all(d["state"] in ("to_review", "failed") for d in docs) else None

        docs = wait_for(all_read, timeout=600, interval=0.5)
        assert [d["state"] for d in docs] == ["to_review"] * len(ids), docs
    finally:
        _stop(proc)
    db = sqlite3.connect(data / "classeur.db")
    assert db.execute("select count(*) from documents").fetchone()[0] == len(scans)
    distinct = db.execute("select count(distinct sha256) from documents").fetchone()[0]
    assert len(_originals(data)) == distinct == len(set(scans))
    reads = dict(
        db.execute(
            "select document_id, count(*) from document_events "
            "where action='read' group by document_id"
        ).fetchall()
    )
    assert reads == dict.fromkeys(ids, 1)
    assert list((data / "tmp").glob("*")) == []


# --- the export burst ------------------------------------------------------------------------


def _purchase_fields(n: int) -> dict[str, Any]:
    from tests.plugins.meg_export.conftest import PURCHASE_FIELDS

    fields = copy.deepcopy(PURCHASE_FIELDS)
    fields["invoice_number"] = f"CRASH-{n:04d}"
    return fields


def _sandbox(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    code = (
        "from plugins.meg_export.sandbox import run_sandbox; "
        f"run_sandbox(port={port}, data_dir={str(tmp_path / 'meg')!r}, threads=8)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    _wait_up(base + "/login")
    return proc, base


def _prepare_burst(data: Path, meg_url: str, count: int) -> tuple[dict[str, Any], list[int]]:
    """Link DEMO01 to the sandbox (real OAuth), then store ``count`` invoices, validate them
    and dispatch them: export statuses wait, pending, for the server to send them."""
    from core.app import create_app
    from core.binders.models import Binder
    from core.db import db
    from core.documents.models import Document, DocumentEvent, DocumentState
    from core.exports.services import dispatch_document
    from core.tenancy.models import Company
    from plugins.meg_export.client import MegClient
    from plugins.meg_export.link import link_company
    from tests.plugins.meg_export.conftest import _authorize

    token, _ = _authorize(meg_url)
    dossier = next(
        d
        for d in MegClient(
            meg_url, token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ).list_dossiers()
        if d["code"] == "DEMO01"
    )
    app = create_app({"DATA_DIR": str(data), "MEG_BASE_URL": meg_url, "START_WORKERS": False})
    ids = []
    try:
        with app.app_context():
            from sqlalchemy import select

            company = db.session.scalar(select(Company).where(Company.dossier_code == "DEMO01"))
            link_company(company, token, dossier, None)
            db.session.commit()
            binder = db.session.scalar(
                select(Binder).where(
                    Binder.company_id == company.id, Binder.type == "purchase_invoices"
                )
            )
            storage = app.extensions["classeur"].storage
            for n in range(count):
                content = make_pdf_bytes([f"Free - facture CRASH-{n:04d}", "Total 120,00"])
                tmp, sha, size = storage.spool(io.BytesIO(content), 10**9)
                storage.commit(tmp, sha)
                document = Document(
                    firm_id=company.firm_id,
                    company_id=company.id,
                    binder_id=binder.id,
                    sha256=sha,
                    filename=f"facture-{n}.pdf",
                    media_type="application/pdf",
                    size=size,
                    pages=1,
                    state=DocumentState.VALIDATED,
                    fields=_purchase_fields(n),
                    text="Free facture",
                )
                assert hashlib.sha256(content).hexdigest() == sha
                db.session.add(document)
                db.session.flush()
                db.session.add(DocumentEvent(document_id=document.id, action="validated"))
                assert dispatch_document(document), "the MEG connector did not take it"
                ids.append(document.id)
            db.session.commit()
    finally:
        db.engine_for(app).dispose()
    return token, ids


def test_killed_during_an_export_burst_one_purchase_per_invoice(tmp_path: Path) -> None:
    from plugins.meg_export.client import MegClient

    meg_proc, meg_url = _sandbox(tmp_path)
    data = tmp_path / "var"
    proc = None
    try:
        assert _cli(data, "init", "--demo").returncode == 0
        count = 40
        token, ids = _prepare_burst(data, meg_url, count)
        meg = MegClient(meg_url, token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

        def partner_ids() -> collections.Counter[str]:
            purchases = meg.list_purchases("DEMO01", source="Classeur")
            return collections.Counter(str(p.get("partner_id")) for p in purchases)

        port = _port()
        extra = {"CLASSEUR_MEG_BASE_URL": meg_url, "CLASSEUR_WORKERS": "4"}
        proc, _ = _serve(data, port, **extra)
        sent_at_kill = wait_for(
            lambda: sum(partner_ids().values()) >= 3 and sum(partner_ids().values()),
            timeout=180,
            interval=0.05,
        )
        _kill(proc)
        db = sqlite3.connect(data / "classeur.db")
        states_at_kill = collections.Counter(
            _state(s) for (s,) in db.execute("select state from export_statuses")
        )
        db.close()
        assert sent_at_kill < count, "the burst ended before the kill: nothing was tested"
        assert states_at_kill.get("exported", 0) < count, states_at_kill

        proc, _ = _serve(data, port, **extra)

        def all_final() -> dict[str, int] | None:
            conn = sqlite3.connect(data / "classeur.db")
            try:
                states = collections.Counter(
                    _state(s) for (s,) in conn.execute("select state from export_statuses")
                )
            finally:
                conn.close()
            return dict(states) if states.get("exported", 0) == count else None

        wait_for(all_final, timeout=600, interval=0.5)
        counts = partner_ids()
        assert counts == {str(i): 1 for i in ids}, (
            f"purchases per partner_id: {dict(counts)}; killed with {dict(states_at_kill)}"
        )
    finally:
        if proc is not None:
            _stop(proc)
        _stop(meg_proc)
