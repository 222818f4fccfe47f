"""Payments read back from MEG (seed: "un suivi facilité de leurs achats et des règlements
associés").

MEG creates a pending payment ("règlement en attente") at the due date of each purchase
Classeur publishes, and marks it paid when the accountant records the payment. For each linked
company with the connector on, :func:`refresh_company` reads the dossier's payments
(``MegClient.list_payments``), maps each to the document published as its purchase (the
export status's ``remote_id``) and stores them in ``meg_export_payments``. A polled task does
so every ``MEG_PAYMENTS_REFRESH_MINUTES`` (default 60); ``classeur meg payments refresh``
does it now. The ``document_payment`` hook answers from the stored rows, never calling MEG.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_date
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from core.plugin_api import (
    Company,
    Document,
    ExportState,
    ExportStatus,
    db,
    plugin_enabled,
    utcnow,
)
from plugins.meg_export.client import MegApiError
from plugins.meg_export.models import MegPayment, MegPaymentSync, MegToken

log = logging.getLogger("classeur.plugins.meg_export")

NAME = "meg_export"
REFRESH_TASK = "meg_export.refresh_payments"
#: MEG's statuses → the hook's states.
STATES = {"en_attente": "pending", "paye": "paid"}


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _interval() -> timedelta:
    minutes = float(current_app.config.get("MEG_PAYMENTS_REFRESH_MINUTES", 60) or 60)
    return timedelta(minutes=max(minutes, 1.0))


def linked_companies(dossier_code: str | None = None) -> list[Company]:
    """Companies with a stored MEG token and the connector on (optionally one dossier)."""
    stmt = select(Company).join(MegToken, MegToken.company_id == Company.id).order_by(Company.id)
    if dossier_code:
        stmt = stmt.where(Company.dossier_code == dossier_code)
    return [c for c in db.session.scalars(stmt) if plugin_enabled(c.firm_id, c.id, NAME)]


def due_companies() -> list[tuple[int]]:
    """Linked companies whose payments were not read back for the refresh interval, or not
    since a purchase was published (MEG creates its pending payment then: the client sees it
    at once rather than an interval later). The task's ``poll``."""
    cutoff = utcnow() - _interval()
    published_since = (
        select(ExportStatus.id)
        .join(Document, Document.id == ExportStatus.document_id)
        .where(
            Document.company_id == MegToken.company_id,
            ExportStatus.connector == NAME,
            ExportStatus.state == ExportState.EXPORTED,
            ExportStatus.exported_at > MegPaymentSync.refreshed_at,
        )
        .exists()
    )
    stale = set(
        db.session.scalars(
            select(MegToken.company_id)
            .outerjoin(MegPaymentSync, MegPaymentSync.company_id == MegToken.company_id)
            .where(
                or_(
                    MegPaymentSync.id.is_(None),
                    MegPaymentSync.refreshed_at.is_(None),
                    MegPaymentSync.refreshed_at < cutoff,
                    published_since,
                )
            )
        )
    )
    if not stale:
        return []
    return [(c.id,) for c in linked_companies() if c.id in stale]


def refresh_payments(company_id: int) -> dict[str, int] | None:
    """The task: refresh one company's payments; never raises for MEG's own failure (noted on
    the company's sync row, tried again at the next interval)."""
    company = db.session.get(Company, company_id)
    if company is None:
        return None
    try:
        return refresh_company(company)
    except MegApiError as exc:
        db.session.rollback()
        log.warning("MEG payments of company %s not refreshed: %s", company_id, exc.message)
        _note(company, exc.message)
        if exc.status == 401 or exc.code in {"invalid_grant", "invalid_token"}:
            # The token was refused or could not be refreshed: the link must be made again.
            from plugins.meg_export.alerts import link_lost

            link_lost(company, exc.message)
        db.session.commit()
        return None


def _note(company: Company, error: str | None) -> None:
    sync = db.session.scalar(select(MegPaymentSync).where(MegPaymentSync.company_id == company.id))
    if sync is None:
        sync = MegPaymentSync(firm_id=company.firm_id, company_id=company.id)
        db.session.add(sync)
    sync.refreshed_at = utcnow()
    sync.error = error


def refresh_company(company: Company) -> dict[str, int]:
    """Read the dossier's payments from MEG and store those of purchases Classeur published;
    commits. Returns ``{"payments": read, "matched": tied to a document, "paid": paid}``.
    Raises ``MegApiError`` when MEG cannot be reached or refuses."""
    from plugins.meg_export.link import link_state, meg_client, stored_token, token_store

    state = link_state(company)
    token = stored_token(company)
    if not state or token is None:
        raise MegApiError(
            "Entreprise non liée à MEG : liez-la dans l'onglet MEG de l'entreprise.",
            code="not_linked",
        )
    code = state["dossier_code"]
    client = meg_client(token)
    client.token_store = token_store(company)
    # End this session's transaction before calling MEG: a token refresh locks the token's
    # row in a session of its own (on SQLite, a second writer would wait for this one).
    db.session.commit()
    rows = client.list_payments(code)
    # MEG's purchase id → the document of this company published as it.
    published = dict(
        db.session.execute(
            select(ExportStatus.remote_id, ExportStatus.document_id)
            .join(Document, Document.id == ExportStatus.document_id)
            .where(
                ExportStatus.connector == NAME,
                ExportStatus.firm_id == company.firm_id,
                ExportStatus.state == ExportState.EXPORTED,
                ExportStatus.remote_id.is_not(None),
                Document.company_id == company.id,
            )
        ).all()
    )
    for attempt in range(2):
        try:
            counts = _store(company, rows if isinstance(rows, list) else [], published)
            _note(company, None)
            db.session.commit()
            break
        except IntegrityError:
            # Another worker (the polled task, the command) stored the same rows meanwhile:
            # update them instead.
            db.session.rollback()
            if attempt:
                raise
    log.info("MEG payments of company %s (%s) refreshed: %s", company.id, code, counts)
    return counts


def _store(
    company: Company, rows: list[dict[str, Any]], published: dict[str | None, int]
) -> dict[str, int]:
    """Upsert the payments of purchases published from this company; flushes."""
    existing = {
        p.purchase_id: p
        for p in db.session.scalars(select(MegPayment).where(MegPayment.company_id == company.id))
    }
    counts = {"payments": 0, "matched": 0, "paid": 0}
    paid: list[MegPayment] = []
    for row in rows:
        purchase_id = str(row.get("purchase_id") or "")
        if not purchase_id:
            continue
        counts["payments"] += 1
        document_id = published.get(purchase_id)
        if document_id is None:
            continue  # keyed in MEG itself, or published by another platform
        payment = existing.get(purchase_id)
        was_paid = payment is not None and payment.status == "paye"
        if payment is None:
            payment = MegPayment(
                firm_id=company.firm_id, company_id=company.id, purchase_id=purchase_id
            )
            db.session.add(payment)
        payment.document_id = document_id
        payment.payment_id = str(row.get("id")) if row.get("id") is not None else None
        payment.status = str(row.get("status") or "en_attente")
        payment.kind = str(row.get("kind") or "reglement")
        payment.due_date = _day(row.get("due_date"))
        payment.paid_at = _day(row.get("paid_at"))
        payment.amount = str(row["amount"]) if row.get("amount") is not None else None
        payment.refreshed_at = utcnow()
        counts["matched"] += 1
        counts["paid"] += payment.status == "paye"
        if payment.status == "paye" and not was_paid:
            paid.append(payment)
    db.session.flush()
    for payment in paid:
        _tell_paid(company, payment)
    return counts


def _tell_paid(company: Company, payment: MegPayment) -> None:
    """Tell the company's clients (its uploaders) that MEG holds the invoice as paid."""
    from core.plugin_api import notify_firm

    document = db.session.get(Document, payment.document_id) if payment.document_id else None
    name = document.filename if document is not None else f"achat {payment.purchase_id}"
    day = format_date(payment.paid_at, "dd/MM/yyyy") if payment.paid_at else None
    try:
        with db.session.begin_nested():
            notify_firm(
                company.firm_id,
                "payment",
                f"Facture réglée : {name}",
                f"{company.name} : la facture « {name} » est réglée"
                + (f" depuis le {day}." if day else "."),
                link="/portal",
                key=f"meg_payment_paid:{payment.id}",
                company_id=company.id,
                roles=("uploader",),
            )
    except Exception:  # a notification never loses the payments read
        log.exception("payment notification failed for company %s", company.id)


def payment_for(document: Any) -> dict[str, Any] | None:
    """The ``document_payment`` answer: the stored payment of a document published to MEG,
    or None (unknown, or a status MEG has not documented)."""
    payment = db.session.scalar(
        select(MegPayment)
        .where(MegPayment.document_id == document.id, MegPayment.firm_id == document.firm_id)
        .order_by(MegPayment.refreshed_at.desc())
        .limit(1)
    )
    if payment is None or payment.status not in STATES:
        return None
    return {
        "state": STATES[payment.status],
        "due_date": payment.due_date,
        "paid_at": payment.paid_at,
        "amount": payment.amount,
        "connector": NAME,
    }
