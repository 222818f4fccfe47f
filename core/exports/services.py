"""The export dispatcher: which connectors get a document, and what came of it.

Exporters never write a status row and never commit: the core hands each one only documents
of the binder types it subscribes to, isolates its failures, and records every outcome in
``ExportStatus`` — which drives "Documents en erreur", the search checkbox "Erreur lors de
l'export" and the resend button.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from core.binders.models import Binder
from core.db import db, utcnow
from core.documents.models import Document, DocumentEvent, DocumentState
from core.errors import ServiceError
from core.exports.models import ConnectorSetting, ExportState, ExportStatus
from core.exports.registry import (
    ExportContext,
    ExportError,
    ExportResult,
    exporter_rules,
    is_period_exporter,
)
from core.plugins.activation import exporter_enabled, plugin_enabled, set_switch, setting_row
from core.plugins.activation import resolve as resolve_switch
from core.state import classeur
from core.tasks import after_commit
from core.tasks.registry import Lease, TaskSpec
from core.tenancy.models import Company

log = logging.getLogger("classeur.exports")

DISABLED_MESSAGE = "Connecteur désactivé pour cette entreprise : document en attente d'envoi."


def connector_setting(
    firm_id: int, company_id: int | None, connector: str
) -> ConnectorSetting | None:
    """The switch and settings row of a connector for a firm (company None) or one company."""
    return setting_row(firm_id, company_id, connector)


def connector_enabled(firm_id: int, company_id: int, connector: str) -> bool:
    """A company's own switch wins over the firm's; a connector is off until switched on, and
    off wherever its plugin is off (:func:`core.plugins.activation.exporter_enabled`)."""
    return exporter_enabled(firm_id, company_id, connector)


def connector_rules(firm_id: int, company_id: int, binder_type: str) -> dict[str, Any]:
    """What the connectors a document of ``binder_type`` of this company goes to all accept.

    The exporters subscribed to ``binder_type`` and switched on for the company
    (:func:`connector_enabled`) are combined: ``account_classes`` and ``vat_codes`` are the
    intersections of the sets they publish (``Exporter.rules``), ``None`` when none of them
    restricts that key; ``connectors`` lists their labels. A binder uses it to refuse before
    validation what a connector would refuse after::

        {"account_classes": {"2", "6"} | None, "vat_codes": {"FR_200", ...} | None,
         "required_fields": {"due_date", ...}, "connectors": ["MEG (RCA)"]}

    ``required_fields`` is the union of the fields (dotted names of the binder's fields) the
    connectors need.
    """
    account_classes: set[str] | None = None
    vat_codes: set[str] | None = None
    required: set[str] = set()
    labels: list[str] = []
    for exporter in classeur().exporters.for_binder_type(binder_type):
        if not connector_enabled(firm_id, company_id, exporter.name):
            continue
        labels.append(exporter.label)
        rules = exporter_rules(exporter)
        if rules.get("account_classes") is not None:
            accepted = {str(c) for c in rules["account_classes"]}
            account_classes = accepted if account_classes is None else account_classes & accepted
        if rules.get("vat_codes") is not None:
            known = {str(c) for c in rules["vat_codes"]}
            vat_codes = known if vat_codes is None else vat_codes & known
        required |= {str(f) for f in rules.get("required_fields") or ()}
    return {
        "account_classes": account_classes,
        "vat_codes": vat_codes,
        "required_fields": required,
        "connectors": labels,
    }


def set_connector_enabled(
    firm_id: int, connector: str, enabled: bool | None, company_id: int | None = None
) -> ConnectorSetting | None:
    """Switch a connector for the firm or one company; ``None`` = inherit.

    Returns the setting row (kept, with its settings, when a company goes back to inherit);
    flushes. The caller queues what waited while it was off (:func:`release_skipped`).
    """
    if classeur().exporters.get(connector) is None:
        raise ServiceError(f"Connecteur inconnu : {connector}.", "connector")
    set_switch(firm_id, connector, enabled, company_id)
    return setting_row(firm_id, company_id, connector)


def idempotency_key(document: Document, connector: str) -> str:
    """Stable for one version of a document: a retry never creates a second record."""
    install = current_app.config.get("INSTALL_ID") or "x"
    return f"classeur-{install}-{document.firm_id}-{document.id}-v{document.version}-{connector}"


def dispatch_document(document: Document) -> list[int]:
    """Create or reset the export statuses of a validated document; flushes.

    The statuses to run are queued once the caller's transaction commits; their ids are
    returned.
    """
    binder = db.session.get(Binder, document.binder_id)
    assert binder is not None
    to_run: list[int] = []
    for exporter in classeur().exporters.for_binder_type(binder.type):
        status = db.session.scalar(
            select(ExportStatus).where(
                ExportStatus.document_id == document.id, ExportStatus.connector == exporter.name
            )
        )
        if status is None:
            status = ExportStatus(
                document_id=document.id, firm_id=document.firm_id, connector=exporter.name
            )
            db.session.add(status)
        if status.state == ExportState.EXPORTED and status.idempotency_key == idempotency_key(
            document, exporter.name
        ):
            continue  # this very version is already in the remote system
        status.idempotency_key = idempotency_key(document, exporter.name)
        status.attempts = 0
        status.transient = False
        status.next_attempt_at = None
        status.message = status.code = status.field = None
        status.warning = False
        if connector_enabled(document.firm_id, document.company_id, exporter.name):
            status.state = ExportState.PENDING
        else:
            status.state = ExportState.SKIPPED
            status.message = DISABLED_MESSAGE
        db.session.flush()
        if status.state == ExportState.PENDING:
            to_run.append(status.id)
    submit_exports(to_run)
    return to_run


def submit_exports(status_ids: list[int]) -> None:
    """Queue these statuses' sends once the current transaction commits (at once outside
    one): a worker never picks up a status that is not committed."""
    for status_id in status_ids:
        after_commit.queue("run_export", status_id)


def retry_export(document: Document, connector: str, user_id: int | None) -> ExportStatus:
    """Resend a document to one connector ("Renvoyer"); flushes, the send is queued once the
    caller commits."""
    if document.state != DocumentState.VALIDATED:
        raise ServiceError("Seul un document validé peut être envoyé.", "state", status=409)
    status = db.session.scalar(
        select(ExportStatus).where(
            ExportStatus.document_id == document.id, ExportStatus.connector == connector
        )
    )
    if status is None:
        raise ServiceError(
            "Ce document n'a jamais été envoyé à ce connecteur.", "connector", status=404
        )
    if is_period_exporter(classeur().exporters.get(connector)):
        # A period exporter's file is made over a period, never sent per document.
        raise ServiceError(
            "Ce connecteur exporte par période : corrigez le document puis exportez à nouveau "
            "sa période.",
            "connector",
            code="period_exporter",
            status=409,
        )
    if status.state in (ExportState.SENDING, ExportState.EXPORTED):
        raise ServiceError("Ce document est déjà envoyé ou en cours d'envoi.", "state", status=409)
    if not connector_enabled(document.firm_id, document.company_id, connector):
        raise ServiceError(
            "Ce connecteur est désactivé pour cette entreprise.", "connector", status=409
        )
    status.state = ExportState.PENDING
    status.idempotency_key = idempotency_key(document, connector)
    status.attempts = 0
    status.transient = False
    status.next_attempt_at = None
    db.session.add(
        DocumentEvent(
            document_id=document.id, user_id=user_id, action="export_retry", message=connector
        )
    )
    db.session.flush()
    submit_exports([status.id])
    return status


def release_skipped(firm_id: int, connector: str, company_id: int | None = None) -> list[int]:
    """Put back what was validated while a connector was off, now that it is on; flushes, the
    sends are queued once the caller commits."""
    stmt = (
        select(ExportStatus)
        .join(Document, Document.id == ExportStatus.document_id)
        .where(
            ExportStatus.firm_id == firm_id,
            ExportStatus.connector == connector,
            ExportStatus.state == ExportState.SKIPPED,
            # Only validated documents go out: never one in the trash or back to review.
            Document.state == DocumentState.VALIDATED,
        )
    )
    if company_id is not None:
        stmt = stmt.where(Document.company_id == company_id)
    ids = []
    for status in db.session.scalars(stmt):
        document = db.session.get(Document, status.document_id)
        if document and connector_enabled(firm_id, document.company_id, connector):
            status.state = ExportState.PENDING
            status.message = None
            status.idempotency_key = idempotency_key(document, connector)
            ids.append(status.id)
    db.session.flush()
    submit_exports(ids)
    return ids


def set_aside(firm_id: int, connector: str, company_id: int | None = None) -> list[int]:
    """Put aside what waits for or failed with a connector now switched off for its company:
    its statuses become ``skipped`` (they leave « Documents en erreur ») and are released
    when it is switched on again; flushes. Documents already sent are left as they are."""
    stmt = (
        select(ExportStatus)
        .join(Document, Document.id == ExportStatus.document_id)
        .where(
            ExportStatus.firm_id == firm_id,
            ExportStatus.connector == connector,
            ExportStatus.state.in_([ExportState.PENDING, ExportState.ERROR]),
        )
    )
    if company_id is not None:
        stmt = stmt.where(Document.company_id == company_id)
    ids = []
    for status, company in db.session.execute(stmt.add_columns(Document.company_id)):
        if not connector_enabled(firm_id, company, connector):
            status.state = ExportState.SKIPPED
            status.message = DISABLED_MESSAGE
            status.code = status.field = None
            status.transient = False
            status.next_attempt_at = None
            ids.append(status.id)
    db.session.flush()
    return ids


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    base = float(current_app.config.get("EXPORT_RETRY_BASE", 2.0))
    ceiling = float(current_app.config.get("EXPORT_RETRY_MAX_DELAY", 300.0))
    delay = min(base * (2 ** min(max(attempts - 1, 0), 30)), ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def _claim(status_id: int) -> bool:
    """Compare-and-set pending → sending: only one worker ever sends a status."""
    now = utcnow()
    result = db.session.execute(
        update(ExportStatus)
        .where(
            ExportStatus.id == status_id,
            ExportStatus.state == ExportState.PENDING,
            or_(ExportStatus.next_attempt_at.is_(None), ExportStatus.next_attempt_at <= now),
        )
        .values(state=ExportState.SENDING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def run_export(status_id: int) -> str | None:
    """Send one document to one connector and record the outcome. Idempotent."""
    if not _claim(status_id):
        return None
    session = db.session
    status = session.get(ExportStatus, status_id)
    assert status is not None
    state = classeur()
    exporter = state.exporters.get(status.connector)
    document = session.get(Document, status.document_id)
    if document is None:
        return None
    binder = session.get(Binder, document.binder_id)
    company = session.get(Company, document.company_id)
    assert binder is not None and company is not None
    status.attempts += 1
    result: ExportResult
    if document.state != DocumentState.VALIDATED:
        # Trashed, moved back to review or being read again since it was queued.
        status.state = ExportState.SKIPPED
        status.message = "Document qui n'est plus validé : non envoyé."
        session.commit()
        return status.state
    if exporter is None or is_period_exporter(exporter) or binder.type not in exporter.binder_types:
        # Never hand a connector a document it did not subscribe to (nor one document to a
        # period exporter, which runs over a period).
        status.state = ExportState.SKIPPED
        status.message = "Connecteur absent ou non abonné à ce type de classeur."
        session.commit()
        return status.state
    # The firm's and the company's rows in one query: the switch is checked at send time.
    rows = session.scalars(
        select(ConnectorSetting).where(
            ConnectorSetting.firm_id == document.firm_id,
            ConnectorSetting.plugin == exporter.name,
            or_(
                ConnectorSetting.company_id.is_(None),
                ConnectorSetting.company_id == document.company_id,
            ),
        )
    ).all()
    setting = next((r for r in rows if r.company_id is not None), None)
    firm_setting = next((r for r in rows if r.company_id is None), None)
    enabled = resolve_switch(
        setting.enabled if setting is not None else None,
        firm_setting.enabled if firm_setting is not None else None,
        state.plugins.default(exporter.name),
    )
    plugin = state.plugins.plugin_of_exporter(exporter.name)
    if enabled and plugin != exporter.name:
        enabled = plugin_enabled(document.firm_id, document.company_id, plugin)
    if not enabled:
        status.state = ExportState.SKIPPED
        status.message = DISABLED_MESSAGE
        session.commit()
        return status.state
    merged: dict[str, Any] = {}
    if firm_setting is not None:
        merged.update(firm_setting.settings or {})
    if setting is not None:
        merged.update(setting.settings or {})

    def save_settings(values: dict[str, Any], company_level: bool = True) -> None:
        # Connector state (refreshed tokens) is persisted by the core, in its own session.
        with db.fresh_session() as other:
            owner = (
                ConnectorSetting.company_id == document.company_id
                if company_level
                else ConnectorSetting.company_id.is_(None)
            )
            target = other.scalar(
                select(ConnectorSetting).where(
                    ConnectorSetting.firm_id == document.firm_id,
                    ConnectorSetting.plugin == exporter.name,
                    owner,
                )
            )
            if target is None:
                # Settings alone: the row leaves the switch to inherit.
                target = ConnectorSetting(
                    firm_id=document.firm_id,
                    company_id=document.company_id if company_level else None,
                    plugin=exporter.name,
                    enabled=None,
                    settings={},
                )
                other.add(target)
            target.settings = {**(target.settings or {}), **values}
            other.commit()

    context = ExportContext(
        document=document,
        binder=binder,
        company=company,
        settings=merged,
        original_path=state.storage.path(document.sha256),
        idempotency_key=status.idempotency_key or idempotency_key(document, exporter.name),
        config=current_app.config,
        save_settings=save_settings,
    )
    # End the transaction: the remote call may take seconds and must not hold the database.
    session.commit()
    try:
        result = exporter.export(context)
        if not isinstance(result, ExportResult):
            result = ExportResult(ok=True, remote_id=str(result) if result else None)
    except ExportError as exc:
        result = ExportResult(ok=False, message=exc.message, code=exc.code, transient=exc.transient)
        status = session.get(ExportStatus, status_id)
        status.field = exc.field
        max_attempts = int(current_app.config.get("EXPORT_MAX_ATTEMPTS", 30))
        if exc.transient and exc.retry_after is not None:
            # Rate limited: the remote system is up and says when to come back; such an
            # answer does not use up an attempt.
            status.attempts -= 1
        if exc.transient and status.attempts < max_attempts:
            status.state = ExportState.PENDING
            status.next_attempt_at = utcnow() + _backoff(status.attempts, exc.retry_after)
        else:
            status.state = ExportState.ERROR
            status.next_attempt_at = None
        status.message, status.code, status.transient = exc.message, exc.code, exc.transient
        status.warning = False
    except Exception as exc:  # one connector's bug never stops the others
        log.exception("exporter %s crashed on document %s", status.connector, document.id)
        result = ExportResult(ok=False, message=f"Erreur interne du connecteur : {exc}")
        status.state = ExportState.ERROR
        status.message, status.code, status.transient = result.message, "internal", False
        status.warning = False
        status.next_attempt_at = None
    else:
        status.state = ExportState.EXPORTED
        status.remote_id = result.remote_id
        status.exported_at = utcnow()
        status.message = "\n".join(result.warnings) or result.message
        # "Exporté avec avertissement": what the accountant should check in the remote system.
        status.warning = bool(result.warnings)
        status.code = None
        status.field = None
        status.transient = False
        status.next_attempt_at = None
    if status.state != ExportState.PENDING:
        session.add(
            DocumentEvent(
                document_id=document.id,
                action="exported" if status.state == ExportState.EXPORTED else "export_error",
                message=f"{status.connector}: {status.message or status.remote_id or ''}",
                after={
                    "state": str(status.state),
                    "remote_id": status.remote_id,
                    "code": status.code,
                    "warning": status.warning,
                },
            )
        )
    if status.state == ExportState.ERROR:
        from core.notifications.services import notify_export_error

        notify_export_error(document, status)
    session.commit()
    try:
        state.hooks.after_export(document=document, connector=status.connector, result=result)
    except Exception:
        log.exception("after_export hook failed")
    return str(status.state)


def _due_exports() -> Any:
    now = utcnow()
    return (
        ExportStatus.state == ExportState.PENDING,
        or_(ExportStatus.next_attempt_at.is_(None), ExportStatus.next_attempt_at <= now),
    )


def _waiting_exports() -> list[tuple[Any, ...]]:
    ids = db.session.scalars(
        select(ExportStatus.id).where(*_due_exports()).order_by(ExportStatus.id).limit(1000)
    ).all()
    return [(i,) for i in ids]


def _exports_outstanding() -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(ExportStatus)
        .where(or_(ExportStatus.state == ExportState.SENDING, and_(*_due_exports())))
    )
    return int(count or 0)


def task_spec() -> TaskSpec:
    """The export task: claims its status (``pending → sending``), on ``exports``. A send cut
    short may or may not have reached the remote system: resending with the same idempotency
    key is what makes putting it back safe."""
    return TaskSpec(
        name="run_export",
        run=run_export,
        queue="exports",
        lease=Lease(
            ExportStatus,
            ExportState.SENDING,
            {"state": ExportState.PENDING, "next_attempt_at": None},
        ),
        poll=_waiting_exports,
        outstanding=_exports_outstanding,
    )
