"""The core's export dispatcher: subscriptions, isolation, switches, and ExportStatus."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from core.exports.registry import ExportError, ExportResult
from core.plugins.hookspecs import hookimpl
from tests.conftest import wait_for


class RecordingExporter:
    """Subscribes to purchase invoices; fails when told to."""

    name = "recorder"
    label = "Enregistreur"
    description = "Exporter of the tests"
    binder_types = {"purchase_invoices"}

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.keys: list[str] = []
        self.fail_with: Exception | None = None
        self.lock = threading.Lock()

    def export(self, context: Any) -> ExportResult:
        with self.lock:
            self.seen.append(context.document.id)
            self.keys.append(context.idempotency_key)
        if self.fail_with is not None:
            raise self.fail_with
        return ExportResult(remote_id=f"R{context.document.id}")


class CrashingExporter:
    name = "crasher"
    label = "Plantage"
    description = "Always crashes"
    binder_types = {"purchase_invoices", "sales_invoices"}

    def export(self, context: Any) -> ExportResult:
        raise RuntimeError("boom")


class RecordingPlugin:
    def __init__(self) -> None:
        self.recorder = RecordingExporter()
        self.validated: list[int] = []
        self.exported: list[tuple[int, str, bool]] = []

    @hookimpl
    def register_exporters(self, register):
        register(self.recorder)
        register(CrashingExporter())

    @hookimpl
    def after_document_validated(self, document, user_id):
        self.validated.append(document.id)

    @hookimpl
    def after_export(self, document, connector, result):
        self.exported.append((document.id, connector, result.ok))


@pytest.fixture
def plugin():
    return RecordingPlugin()


@pytest.fixture
def app(app_config, plugin):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "EXTRA_PLUGINS": [plugin]})
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def _enable(app, firm, connector, enabled=True, company=None):
    from core.db import db
    from core.exports.services import set_connector_enabled

    with app.app_context():
        set_connector_enabled(firm.id, connector, enabled, company.id if company else None)
        db.session.commit()


def _validate(app, document):
    from core.db import db
    from core.documents.models import Document
    from core.documents.services import validate_document
    from core.exports.services import submit_exports

    with app.app_context():
        ids = validate_document(db.session.get(Document, document.id), None)
        submit_exports(ids)


def _statuses(app, document):
    from sqlalchemy import select

    from core.db import db
    from core.exports.models import ExportStatus

    with app.app_context():
        rows = db.session.scalars(
            select(ExportStatus).where(ExportStatus.document_id == document.id)
        ).all()
        return {s.connector: s for s in rows}


def test_hook_register_exporters(app, plugin):
    exporters = app.extensions["classeur"].exporters
    assert exporters.get("recorder") is plugin.recorder
    assert [e.name for e in exporters.for_binder_type("admin_documents")] == []


def test_hook_after_document_validated(app, factory, plugin):
    firm = factory.firm()
    binder = factory.binder(factory.company(firm))
    document = factory.document(binder)
    _validate(app, document)
    assert plugin.validated == [document.id]


def test_hook_after_export(app, factory, plugin):
    firm = factory.firm()
    _enable(app, firm, "recorder")
    binder = factory.binder(factory.company(firm))
    document = factory.document(binder)
    runner = app.extensions["classeur"].tasks
    runner.start()
    _validate(app, document)
    assert runner.wait_idle(30)
    assert (document.id, "recorder", True) in plugin.exported


def test_only_subscribed_binder_types_reach_an_exporter_and_failures_are_isolated(
    app, factory, plugin
):
    firm = factory.firm()
    company = factory.company(firm)
    _enable(app, firm, "recorder")
    _enable(app, firm, "crasher")
    purchases = factory.binder(company, "purchase_invoices")
    admin = factory.binder(company, "admin_documents")
    sales = factory.binder(company, "sales_invoices")
    doc_p, doc_a, doc_s = (factory.document(b) for b in (purchases, admin, sales))
    runner = app.extensions["classeur"].tasks
    runner.start()
    for d in (doc_p, doc_a, doc_s):
        _validate(app, d)
    assert runner.wait_idle(30)
    assert plugin.recorder.seen == [doc_p.id]
    p = _statuses(app, doc_p)
    assert p["recorder"].state == "exported" and p["recorder"].remote_id == f"R{doc_p.id}"
    # The crashing connector did not stop the recorder; its error is recorded by the core.
    assert p["crasher"].state == "error" and "boom" in p["crasher"].message
    assert _statuses(app, doc_a) == {}
    assert set(_statuses(app, doc_s)) == {"crasher"}


def test_transient_errors_are_retried_then_become_errors(app, factory, plugin):
    app.config["EXPORT_MAX_ATTEMPTS"] = 3
    firm = factory.firm()
    _enable(app, firm, "recorder")
    document = factory.document(factory.binder(factory.company(firm)))
    plugin.recorder.fail_with = ExportError("MEG indisponible", transient=True, code="503")
    runner = app.extensions["classeur"].tasks
    runner.poll_interval = 0.05
    runner.start()
    _validate(app, document)
    status = wait_for(lambda: (s := _statuses(app, document)["recorder"]).state == "error" and s)
    assert status.attempts == 3 and status.transient
    # Every attempt carried the same idempotency key.
    assert len(set(plugin.recorder.keys)) == 1 and len(plugin.recorder.keys) == 3


def test_permanent_error_then_fix_and_resend(app, factory, plugin):
    from core.db import db
    from core.documents.models import Document
    from core.exports.services import retry_export, submit_exports

    firm = factory.firm()
    _enable(app, firm, "recorder")
    document = factory.document(factory.binder(factory.company(firm)))
    plugin.recorder.fail_with = ExportError(
        "Code TVA inconnu", code="unknown_vat_code", field="vat_code"
    )
    runner = app.extensions["classeur"].tasks
    runner.start()
    _validate(app, document)
    assert runner.wait_idle(30)
    status = _statuses(app, document)["recorder"]
    assert (status.state, status.message, status.field) == ("error", "Code TVA inconnu", "vat_code")
    plugin.recorder.fail_with = None
    with app.app_context():
        status = retry_export(db.session.get(Document, document.id), "recorder", None)
        db.session.commit()
        submit_exports([status.id])
    assert runner.wait_idle(30)
    assert _statuses(app, document)["recorder"].state == "exported"


def test_disabled_connector_receives_nothing_until_switched_on(app, factory, plugin):
    from core.db import db
    from core.exports.services import release_skipped, submit_exports

    firm = factory.firm()
    company = factory.company(firm)
    _enable(app, firm, "recorder", True)
    _enable(app, firm, "recorder", False, company=company)  # company switch wins
    document = factory.document(factory.binder(company))
    runner = app.extensions["classeur"].tasks
    runner.start()
    _validate(app, document)
    assert runner.wait_idle(30)
    assert plugin.recorder.seen == []
    assert _statuses(app, document)["recorder"].state == "skipped"
    _enable(app, firm, "recorder", True, company=company)
    with app.app_context():
        ids = release_skipped(firm.id, "recorder")
        db.session.commit()
        submit_exports(ids)
    assert runner.wait_idle(30)
    assert plugin.recorder.seen == [document.id]


def test_sending_left_by_a_crash_is_resumed_at_start(app, factory, plugin):
    from core.db import db
    from core.exports.models import ExportState, ExportStatus

    firm = factory.firm()
    _enable(app, firm, "recorder")
    document = factory.document(factory.binder(factory.company(firm)), state="validated")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=document.id,
                firm_id=firm.id,
                connector="recorder",
                state=ExportState.SENDING,
                idempotency_key="k-1",
            )
        )
        db.session.commit()
    runner = app.extensions["classeur"].tasks
    runner.start()  # recover + poll
    assert runner.wait_idle(30)
    assert plugin.recorder.seen == [document.id]
    assert plugin.recorder.keys == ["k-1"]
    assert _statuses(app, document)["recorder"].state == "exported"


def test_connectors_page_switches_and_lists_what_waited(app, client, factory, plugin, auth):
    from core.db import db

    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin")
    document = factory.document(factory.binder(company), filename="attente.pdf")
    _validate(app, document)  # the connector is off: the status is "skipped"
    auth.login(factory.user(firm, "admin"))
    page = client.get("/admin/connectors").get_data(as_text=True)
    assert "Enregistreur" in page and 'id="waiting-recorder"' in page and "attente.pdf" in page
    runner = app.extensions["classeur"].tasks
    runner.start()
    response = client.post("/admin/connectors/recorder", data={"enabled": "on"})
    assert response.status_code == 302
    assert runner.wait_idle(30)
    assert plugin.recorder.seen == [document.id]
    after = client.get("/admin/connectors").get_data(as_text=True)
    assert 'id="waiting-recorder"' not in after  # sent; still waiting for the other one
    assert 'id="waiting-crasher"' in after
    with app.app_context():
        from core.auth.models import AuditEvent

        assert db.session.query(AuditEvent).filter_by(action="connector_switch").count() == 1
    auth.login(factory.user(firm, "accountant"))
    assert client.post("/admin/connectors/recorder", data={"enabled": "off"}).status_code == 403
