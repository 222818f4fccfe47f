"""Payments read back from the real MEG sandbox over HTTP: stored, refreshed by the polled task
and by ``classeur meg payments refresh``, answered through the ``document_payment`` hook and
shown on the client's portal."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from datetime import date, timedelta
from types import SimpleNamespace

import requests
from sqlalchemy import select, update

from core.db import db, utcnow
from core.documents.models import Document
from core.exports.models import ExportStatus
from core.notifications.models import Notification
from plugins.meg_export.models import MegPayment, MegPaymentSync
from plugins.meg_export.payments import (
    REFRESH_TASK,
    due_companies,
    refresh_company,
    refresh_payments,
)
from tests.conftest import wait_for


def _published(meg, purchase_fields, number="FA-PAY-1"):
    document = meg.document(purchase_fields(invoice_number=number, due_date="2026-12-31"))
    meg.validate(document)
    status = meg.wait_final(document)
    assert status.state == "exported", status.message
    return document, status.remote_id


def _payment_id(meg, purchase_id: str) -> int:
    rows = meg.api.list_payments(meg.company.dossier_code)
    return next(p["id"] for p in rows if str(p["purchase_id"]) == purchase_id)


def _pay(meg, purchase_id: str, day: str) -> None:
    answer = requests.post(
        f"{meg.sandbox.base_url}/_sandbox/payments/{_payment_id(meg, purchase_id)}/pay",
        json={"paid_at": day},
        timeout=5,
    )
    answer.raise_for_status()


def _hook(app, document_id):
    with app.test_request_context():
        document = db.session.get(Document, document_id)
        return app.extensions["classeur"].hooks.document_payment(document=document)


def test_payments_are_read_back_mapped_to_documents_and_shown(app, meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    document, purchase_id = _published(meg, purchase_fields)
    # (The running workers may already have read it back: a publication makes it due.)

    with app.app_context():
        counts = refresh_company(db.session.get(type(meg.company), meg.company.id))
    # The sandbox's own purchases (keyed in MEG) are read but tied to no document.
    assert counts["payments"] >= 2
    assert counts["matched"] == 1
    assert counts["paid"] == 0
    pending = _hook(app, document.id)
    assert pending == {
        "state": "pending",
        "due_date": date(2026, 12, 31),
        "paid_at": None,
        "amount": "120.00",
        "connector": "meg_export",
    }

    client = meg.factory.user(
        SimpleNamespace(id=meg.company.firm_id), "uploader", companies=[meg.company]
    )
    _pay(meg, purchase_id, "2026-12-20")
    with app.app_context():
        refresh_company(db.session.get(type(meg.company), meg.company.id))
        rows = db.session.scalars(select(MegPayment)).all()
        assert [(r.purchase_id, r.status) for r in rows] == [(purchase_id, "paye")]
        # Its client is told once (kind "payment"), not at every reading.
        refresh_company(db.session.get(type(meg.company), meg.company.id))
        told = db.session.scalars(
            select(Notification).where(Notification.user_id == client.id)
        ).all()
        assert [n.kind for n in told] == ["payment"]
        assert "réglée depuis le 20/12/2026" in told[0].body
    paid = _hook(app, document.id)
    assert paid["state"] == "paid"
    assert paid["paid_at"] == date(2026, 12, 20)

    # The client sees it on its portal, in its words.
    web = app.test_client()
    web.post("/login", data={"email": client.email, "password": client.password})
    page = html.unescape(web.get("/portal").get_data(as_text=True))
    assert "Validé par le cabinet" in page
    assert "Réglé le 20/12/2026" in page
    api = web.get("/api/v1/portal/documents").get_json()
    assert api[0]["payment"]["state"] == "paid"
    assert api[0]["payment"]["paid_at"] == "2026-12-20"


def test_polled_task_refreshes_due_companies_and_notes_failures(app, meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    document, _purchase_id = _published(meg, purchase_fields, "FA-PAY-2")
    company_id = meg.company.id

    def synced():
        with app.app_context():
            return db.session.scalar(select(MegPaymentSync.refreshed_at))

    # The running workers' poll found the linked company due and read its payments back.
    wait_for(synced, timeout=30)
    meg.runner.stop(wait=True)
    # Through the task, as the poll queues it (now the purchase is surely published).
    meg.runner.run_now(REFRESH_TASK, company_id)
    with app.app_context():
        assert (company_id,) not in due_companies()
        sync = db.session.scalar(select(MegPaymentSync))
        assert sync.company_id == company_id and sync.error is None
        # An hour later (the default MEG_PAYMENTS_REFRESH_MINUTES) it is due again.
        db.session.execute(
            update(MegPaymentSync).values(refreshed_at=utcnow() - timedelta(minutes=61))
        )
        db.session.commit()
        assert (company_id,) in due_companies()
    meg.runner.run_now(REFRESH_TASK, company_id)
    with app.app_context():
        assert (company_id,) not in due_companies()
        # A purchase published since the last reading: due at once (MEG made its payment).
        db.session.execute(
            update(ExportStatus)
            .where(ExportStatus.document_id == document.id)
            .values(exported_at=utcnow() + timedelta(seconds=5))
        )
        db.session.commit()
        assert (company_id,) in due_companies()
    assert _hook(app, document.id)["state"] == "pending"

    # MEG unreachable: the failure is noted, what was read stays.
    app.config["MEG_BASE_URL"] = "http://127.0.0.1:9"
    with app.app_context():
        assert refresh_payments(company_id) is None
        sync = db.session.scalar(select(MegPaymentSync))
        assert "MEG est injoignable" in sync.error
    assert _hook(app, document.id)["state"] == "pending"


def test_hook_document_payment_silent_when_the_connector_is_off(app, meg_for, purchase_fields):
    from core.exports.services import set_connector_enabled

    meg = meg_for("DEMO01")
    document, _ = _published(meg, purchase_fields, "FA-PAY-3")
    with app.app_context():
        refresh_company(db.session.get(type(meg.company), meg.company.id))
    assert _hook(app, document.id)["state"] == "pending"
    with app.app_context():
        set_connector_enabled(meg.company.firm_id, "meg_export", False, meg.company.id)
        db.session.commit()
        assert (meg.company.id,) not in due_companies()
    assert _hook(app, document.id) is None


def test_cli_payments_refresh(app, app_config, meg_for, purchase_fields):
    meg = meg_for("DEMO01")
    document, purchase_id = _published(meg, purchase_fields, "FA-PAY-4")
    _pay(meg, purchase_id, "2026-12-24")
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": app_config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app_config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": app_config["SECRET_KEY"],
        "CLASSEUR_MEG_BASE_URL": meg.sandbox.base_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "core", "meg", "payments", "refresh", "--company", "DEMO01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 règlement(s) de factures publiées par Classeur, dont 1 réglé(s)" in result.stdout
    assert _hook(app, document.id)["paid_at"] == date(2026, 12, 24)
    unknown = subprocess.run(
        [sys.executable, "-m", "core", "meg", "payments", "refresh", "--company", "NOPE1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert unknown.returncode != 0
    assert "Aucune entreprise liée à MEG pour le dossier NOPE1" in unknown.stderr


def test_sandbox_pay_control_and_contract(sandbox, client, make_purchase, pdf_bytes):
    stored = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "pay-key-1")
    payment = stored["payment"]
    assert payment["status"] == "en_attente" and payment["paid_at"] is None
    bad = requests.post(
        f"{sandbox.base_url}/_sandbox/payments/{payment['id']}/pay",
        json={"paid_at": "31/12/2026"},
        timeout=5,
    )
    assert bad.status_code == 422
    done = requests.post(
        f"{sandbox.base_url}/_sandbox/payments/{payment['id']}/pay",
        json={"paid_at": "2026-12-31"},
        timeout=5,
    ).json()
    assert done["status"] == "paye" and done["paid_at"] == "2026-12-31"
    paid = {p["purchase_id"]: p for p in client.list_payments("DEMO01", status="paye")}
    assert paid[stored["id"]]["paid_at"] == "2026-12-31"
    # The overview page's « Marquer réglé » (a form, today).
    other = client.create_purchase(
        "DEMO01", make_purchase(invoice_number="FA-2", partner_id="d2"), pdf_bytes, "g.pdf", "k2"
    )
    overview = requests.get(f"{sandbox.base_url}/", timeout=5).text
    action = f"/_sandbox/payments/{other['payment']['id']}/pay"
    assert action in overview and "Marquer réglé" in overview
    answer = requests.post(sandbox.base_url + action, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    paid = {p["purchase_id"]: p for p in client.list_payments("DEMO01", status="paye")}
    assert paid[other["id"]]["paid_at"] is not None
    assert action not in requests.get(f"{sandbox.base_url}/", timeout=5).text
