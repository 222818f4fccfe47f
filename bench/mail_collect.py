"""E-mail collection benchmark: N e-mails, each with one small PDF invoice, sent with
``smtplib`` to the embedded SMTP receiver (``plugins.mail_collect``) on loopback.

Usage::

    .venv/bin/python bench/mail_collect.py [--mails 200] [--connections 4] [--workers 2]

A temporary data folder and SQLite database (``alembic upgrade heads``), one company with
collection on and a purchase binder. The messages (a born-digital PDF each, all different)
are built before the clock starts. Then:

1. **received**: the mails sent over ``--connections`` SMTP connections in parallel, reading
   workers off. The receiver answers 250 only once the raw message, its row and its
   document are committed: e-mails received per second = e-mails received → document
   stored.
2. **read**: the in-process workers (``--workers`` reading threads) started on those stored
   documents, until none is left to read: documents read by the pipeline per second.
3. **received and read**: as many new mails again with the workers running, until every
   document is read: e-mails per second from the first send to the last document read.

Prints the figures; timings are asserted nowhere.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from core.app import create_app  # noqa: E402
from core.db import db  # noqa: E402
from core.documents.models import Document, DocumentState  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.tenancy.models import Company  # noqa: E402
from core.tenancy.services import create_binder, create_company, create_firm  # noqa: E402
from plugins.mail_collect import services  # noqa: E402
from plugins.mail_collect.smtp import start_receiver  # noqa: E402

SENDER = "compta@martin.fr"


def _pdf(number: int) -> bytes:
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    lines = [
        "Papeterie Durand SARL",
        "SIREN 732 829 320",
        f"Facture N° F-2026-{number:05d}",
        "Date : 15/11/2026",
        "Fournitures de bureau",
        f"Total HT : {100 + number % 50},00 EUR",
        "TVA 20 %",
    ]
    y = 800
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def _messages(first: int, count: int, address: str) -> list[bytes]:
    out = []
    for number in range(first, first + count):
        msg = EmailMessage()
        msg["From"] = f"Comptabilité Martin <{SENDER}>"
        msg["To"] = address
        msg["Subject"] = f"Facture {number}"
        msg["Message-ID"] = make_msgid(idstring=str(number), domain="martin.fr")
        msg.set_content("Bonjour, ci-joint notre facture.\n")
        msg.add_attachment(
            _pdf(number), maintype="application", subtype="pdf", filename=f"facture-{number}.pdf"
        )
        out.append(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return out


def _send_all(port: int, address: str, raws: list[bytes], connections: int) -> float:
    """Send every message over ``connections`` parallel SMTP sessions; seconds taken."""
    chunks = [raws[i::connections] for i in range(connections)]
    errors: list[BaseException] = []

    def worker(chunk: list[bytes]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
                for raw in chunk:
                    smtp.sendmail(SENDER, [address], raw)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks if c]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} sending error(s), first: {errors[0]!r}")
    return elapsed


def _unread(app, company_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Document.id)).where(
                Document.company_id == company_id,
                Document.state.in_([DocumentState.RECEIVED, DocumentState.EXTRACTING]),
            )
        )


def _count(app, company_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Document.id)).where(Document.company_id == company_id)
        )


def _wait_read(app, company_id: int, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while _unread(app, company_id):
        if time.monotonic() > deadline:
            raise RuntimeError("documents still unread at the deadline")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="classeur-bench-mail-") as tmp:
        app = create_app(
            {
                "DATA_DIR": tmp,
                "SECRET_KEY": "bench",
                "START_WORKERS": False,
                "WORKERS": args.workers,
            }
        )
        upgrade(app)
        with app.app_context():
            firm = create_firm("Cabinet Bench")
            db.session.flush()
            company = create_company(firm.id, name="Boulangerie Martin", dossier_code="BM01")
            db.session.flush()
            create_binder(company, type="purchase_invoices", name="Factures d'achat")
            mailbox = services.mailbox_in_session(company)
            mailbox.enabled, mailbox.allowed_senders = True, [SENDER]
            db.session.commit()
            company_id = company.id
            address = services.collection_address(mailbox, db.session.get(Company, company_id))
        print(f"building {2 * args.mails} messages (one PDF each)...", flush=True)
        first = _messages(0, args.mails, address)
        second = _messages(args.mails, args.mails, address)
        size = sum(len(r) for r in first) / len(first)

        controller = start_receiver(app, "127.0.0.1", 0)
        try:
            received = _send_all(controller.port, address, first, args.connections)
            stored = _count(app, company_id)
            runner = app.extensions["classeur"].tasks
            start = time.perf_counter()
            runner.start()
            _wait_read(app, company_id)
            read = time.perf_counter() - start

            start = time.perf_counter()
            _send_all(controller.port, address, second, args.connections)
            _wait_read(app, company_id)
            both = time.perf_counter() - start
            runner.stop(wait=True)
        finally:
            controller.stop()
        total = _count(app, company_id)
        with app.app_context():
            states = dict(
                db.session.execute(
                    select(Document.state, func.count(Document.id))
                    .where(Document.company_id == company_id)
                    .group_by(Document.state)
                ).all()
            )
        from core.db import db as database

        database.engine_for(app).dispose()

    print(f"mails: {args.mails} x 2, {size / 1024:.1f} KiB each, {args.connections} connections")
    print(f"1. received → stored: {stored} documents in {received:.2f} s")
    print(f"   e-mails received per second: {args.mails / received:.1f}")
    print(f"2. read by the pipeline ({args.workers} reading workers): {read:.2f} s")
    print(f"   documents read per second: {stored / read:.1f}")
    print(f"3. received and read, workers on: {both:.2f} s")
    print(f"   e-mails received → read per second: {args.mails / both:.1f}")
    print(f"documents: {total}, states: { {str(k): v for k, v in states.items()} }")


if __name__ == "__main__":
    main()
