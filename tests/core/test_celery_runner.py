"""The Celery runner against a real Redis, real worker processes and a real PostgreSQL:
documents read by a worker, queue routing (an export is not stuck behind OCR), a worker
killed mid-OCR (the document is read exactly once), leases that spare live workers."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from core.app import create_app
from core.db import db, utcnow
from tests.conftest import Factory, _truncate_all, make_pdf_bytes, make_scan_bytes, wait_for

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CLASSEUR_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_ADMIN_URL = os.environ.get(
    "CLASSEUR_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)
#: Short lease and sweep so recovery happens within the test.
LEASE = "3"
POLL = "0.5"
VISIBILITY = "6"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, Any]]:
    """A PostgreSQL database of our own, migrated; a dedicated, flushed Redis database."""
    try:
        _redis().ping()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis or PostgreSQL not reachable: {exc}")
    name = f"classeur_celery_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        from core.migrate import upgrade

        migrator = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "DATA_DIR": "/tmp"})
        upgrade(migrator)
        db.engine_for(migrator).dispose()
        yield {"url": url}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _redis().flushdb()


@pytest.fixture
def cluster(services: dict[str, Any], tmp_path: Path) -> Iterator[Cluster]:
    _truncate_all(services["url"])
    _redis().flushdb()
    c = Cluster(services["url"], tmp_path / "data")
    try:
        yield c
    finally:
        c.close()
        _redis().flushdb()


class Cluster:
    """A web app using the Celery runner, plus worker subprocesses sharing its data folder."""

    def __init__(self, url: str, data_dir: Path) -> None:
        data_dir.mkdir()
        self.data_dir = data_dir
        self.settings = {
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "TASK_RUNNER": "celery",
            "BROKER_URL": REDIS_URL,
            "TASK_LEASE": LEASE,
            "POLL_INTERVAL": POLL,
            "BROKER_VISIBILITY_TIMEOUT": VISIBILITY,
            "OCR_PROCESSES": "1",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # The daily notification digest never falls due by itself (counted sweeps).
            "DIGEST_HOUR": "24",
        }
        self.app = create_app({**self.settings, "TESTING": True, "WTF_CSRF_ENABLED": False})
        self.client = self.app.test_client()
        self.factory = Factory(self.app)
        self.workers: list[subprocess.Popen[bytes]] = []
        firm = self.factory.firm()
        company = self.factory.company(firm)
        self.firm = firm
        self.binder = self.factory.binder(company, "admin_documents", name="Administratif")
        user = self.factory.user(firm, "accountant")
        self.h = {"Authorization": f"Bearer {self.factory.token(user)}"}

    @property
    def runner(self) -> Any:
        return self.app.extensions["classeur"].tasks

    def worker(self, queues: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """Start `classeur worker` in its own process group and wait until it consumes."""
        env = {**os.environ, **{f"CLASSEUR_{k}": v for k, v in self.settings.items()}}
        code = "from core.tasks.worker import worker_command; worker_command()"
        log = open(self.data_dir / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        name = f"classeur-{proc.pid}@"
        celery = self.runner.celery

        def ready() -> bool:
            assert proc.poll() is None, (
                self.data_dir / f"worker-{len(self.workers) - 1}.log"
            ).read_text()
            replies = celery.control.ping(timeout=0.5)
            return any(name in node for reply in replies for node in reply)

        wait_for(ready, timeout=40, interval=0.2)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and every process it started (Tesseract included)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                self.kill(proc)
        self.runner.stop()
        state = self.app.extensions["classeur"]
        if state._search is not None:
            state._search.close()
        db.engine_for(self.app).dispose()

    def upload(self, *files: tuple[str, bytes]) -> list[int]:
        data = {"file": [(io.BytesIO(content), name) for name, content in files]}
        response = self.client.post(
            f"/api/v1/binders/{self.binder.id}/documents",
            data=data,
            headers=self.h,
            content_type="multipart/form-data",
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        return [d["id"] for d in response.get_json()["documents"]]

    def documents(self, ids: list[int]) -> dict[int, Any]:
        from core.documents.models import Document

        with self.app.app_context():
            rows = db.session.scalars(select(Document).where(Document.id.in_(ids))).all()
            return {d.id: d for d in rows}

    def events(self, document_id: int, action: str) -> int:
        from core.documents.models import DocumentEvent

        with self.app.app_context():
            return len(
                db.session.scalars(
                    select(DocumentEvent).where(
                        DocumentEvent.document_id == document_id, DocumentEvent.action == action
                    )
                ).all()
            )


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _runs_tesseract(pid: int) -> bool:
    for child in _descendants(pid):
        try:
            if b"tesseract" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def _scan_pdf(lines: list[str], pages: int) -> bytes:
    from PIL import Image

    images = [
        Image.open(io.BytesIO(make_scan_bytes([*lines, f"Page {p + 1}"]))) for p in range(pages)
    ]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", resolution=200.0, save_all=True, append_images=images[1:])
    return buf.getvalue()


def test_uploaded_documents_are_read_by_a_worker(cluster: Cluster) -> None:
    ids = cluster.upload(
        ("scan.png", make_scan_bytes(["Attestation URSSAF", "Boulangerie Martin"])),
        ("contrat.pdf", make_pdf_bytes(["Contrat de maintenance des fours"])),
    )
    # The web process runs nothing: the documents wait in the broker's reading queue.
    assert cluster.runner.redis.llen("reading") == 2
    assert all(d.state == "received" for d in cluster.documents(ids).values())

    cluster.worker("reading,exports,default", concurrency=2)

    def read() -> dict[int, Any] | None:
        docs = cluster.documents(ids)
        return docs if all(d.state == "to_review" for d in docs.values()) else None

    docs = wait_for(read, timeout=60, interval=0.2)
    scan, contract = docs[ids[0]], docs[ids[1]]
    assert scan.text_source == "ocr" and "URSSAF" in scan.text
    assert contract.text_source == "text" and "maintenance" in contract.text
    assert [cluster.events(i, "read") for i in ids] == [1, 1]
    # Submitting a task already queued is a no-op; once started it may be queued again.
    assert cluster.runner.redis.keys("classeur:queued:*") == []


def test_an_export_is_not_stuck_behind_a_burst_of_ocr(cluster: Cluster) -> None:
    from core.exports.models import ExportStatus
    from core.exports.services import submit_exports

    scans = [
        (f"scan{i}.png", make_scan_bytes([f"Facture numero {i}", "Montant 12,00"]))
        for i in range(20)
    ]
    ids = cluster.upload(*scans)
    validated = cluster.factory.document(cluster.binder, state="validated")
    with cluster.app.app_context():
        status = ExportStatus(
            document_id=validated.id, firm_id=cluster.firm.id, connector="absent_connector"
        )
        db.session.add(status)
        db.session.commit()
        status_id = status.id
        submit_exports([status_id])
        # A second submit of the same queued work is dropped.
        submit_exports([status_id])
    redis = cluster.runner.redis
    assert (redis.llen("reading"), redis.llen("exports"), redis.llen("default")) == (20, 1, 0)

    cluster.worker("reading", concurrency=1)
    cluster.worker("exports,default", concurrency=1)

    def sent() -> Any:
        with cluster.app.app_context():
            row = db.session.get(ExportStatus, status_id)
            return row if row.state not in ("pending", "sending") else None

    row = wait_for(sent, timeout=40, interval=0.1)
    waiting = [d for d in cluster.documents(ids).values() if d.state == "received"]
    # The connector does not exist: the export task ran and recorded that outcome...
    assert row.state == "skipped" and row.attempts == 1
    # ...while part of the OCR burst was still waiting in its own queue: in one shared FIFO
    # queue the export would have come after all twenty scans.
    assert len(waiting) >= 1


def test_a_worker_killed_mid_ocr_loses_nothing_and_reads_once(cluster: Cluster) -> None:
    from core.documents.models import Document

    first = cluster.worker("reading", concurrency=1)
    [doc_id] = cluster.upload(
        ("liasse.pdf", _scan_pdf(["Releve bancaire", "Societe Generale"], pages=4))
    )

    def mid_ocr() -> bool:
        return cluster.documents([doc_id])[doc_id].state == "extracting" and _runs_tesseract(
            first.pid
        )

    wait_for(mid_ocr, timeout=60, interval=0.05)
    cluster.kill(first)
    doc = cluster.documents([doc_id])[doc_id]
    assert doc.state == "extracting" and doc.processing_attempts == 1
    # The message was taken but never acknowledged: the broker still holds it.
    assert cluster.runner.redis.hlen("unacked") == 1

    # Redis hands an unacknowledged message back once it is older than the visibility
    # timeout, when a worker starts (then only every ~100 s): start the next one after that.
    [(_, taken_at)] = cluster.runner.redis.zrange("unacked_index", 0, -1, withscores=True)
    wait_for(lambda: time.time() > taken_at + float(VISIBILITY) + 0.5, timeout=30)
    # Two threads: had the lease of the running read not been renewed, the sweep would have
    # handed the document to the second thread and it would be read twice.
    cluster.worker("reading", concurrency=2)

    def read() -> Any:
        d = cluster.documents([doc_id])[doc_id]
        return d if d.state == "to_review" else None

    doc = wait_for(read, timeout=90, interval=0.2)
    assert "bancaire" in doc.text.lower() and doc.text_source == "ocr"
    assert doc.processing_attempts == 2
    # The redelivered original message found the document read and did nothing.
    wait_for(lambda: cluster.runner.redis.hlen("unacked") == 0, timeout=40, interval=0.5)
    assert cluster.events(doc_id, "read") == 1
    with cluster.app.app_context():
        assert db.session.get(Document, doc_id).state == "to_review"


def test_recovery_puts_back_only_expired_leases(cluster: Cluster) -> None:
    from core.documents.models import Document
    from core.tasks.worker import Heartbeat

    live = cluster.factory.document(cluster.binder, state="extracting")
    dead = cluster.factory.document(cluster.binder, state="extracting")
    with cluster.app.app_context():
        db.session.get(Document, dead.id).updated_at = utcnow() - timedelta(seconds=60)
        db.session.commit()
    heartbeat = Heartbeat(cluster.app, interval=1)
    with heartbeat.hold("process_document", [live.id]):
        assert heartbeat.beat() == 1
        # What a web node or a worker runs at start-up: live work is left alone.
        assert cluster.runner.recover() == 1
    docs = cluster.documents([live.id, dead.id])
    assert docs[live.id].state == "extracting"
    assert docs[dead.id].state == "received"
    assert heartbeat.held() == {}
    # The sweep queues the document put back.
    assert cluster.runner.sweep() == 1
    assert cluster.runner.redis.llen("reading") == 1
