"""Period exporters (core/exports/periods.py): a test exporter, registered through the
``register_exporters`` hook, over a binder type of its own — no FEC here."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from core.binders.registry import BinderType
from core.db import db
from core.errors import ServiceError
from core.exports.batches import ExportBatch
from core.exports.models import ExportStatus
from core.exports.registry import ExporterRegistry, ExportError, PeriodExportContext
from core.plugins.hookspecs import hookimpl


class ListExporter:
    """One line per document: its id and ``amount``; ``amount`` "bad" is rejected."""

    name = "list_export"
    label = "Liste"
    description = "Liste de test"
    binder_types = {"notes"}
    date_field = "meta.day"
    media_type = "text/plain; charset=utf-8"
    max_months = 12

    def filename(self, company: Any, start: date, end: date) -> str:
        return f"{company.dossier_code}-{start:%Y%m%d}-{end:%Y%m%d}.txt"

    def export_period(self, context: PeriodExportContext) -> bytes:
        lines = []
        for document in context.documents:
            amount = document.fields.get("amount")
            if amount == "bad":
                context.reject(document, ExportError("Montant illisible.", code="bad_amount"))
                continue
            lines.append(f"{document.fields['meta']['day']};{amount}")
        content = "\n".join(lines).encode()
        context.attach("upper", "upper.txt", "text/plain", content.upper())
        return content


class Plugin:
    def __init__(self):
        self.notified = []

    @hookimpl
    def after_export(self, document, connector, result):
        import threading

        self.notified.append((document.id, connector, result.ok, threading.current_thread().name))

    @hookimpl
    def register_binder_types(self, register):
        register(BinderType(name="notes", label="Notes", plugin="tests"))

    @hookimpl
    def register_exporters(self, register):
        register(ListExporter())


@pytest.fixture
def plugin():
    return Plugin()


@pytest.fixture
def app_config(app_config, plugin):
    return {**app_config, "PLUGINS": "core", "EXTRA_PLUGINS": [plugin]}


@pytest.fixture
def setup(app, factory):
    from core.exports.services import set_connector_enabled

    firm = factory.firm()
    company = factory.company(firm, code="NOTES")
    binder = factory.binder(company, type="notes")
    with app.app_context():
        set_connector_enabled(firm.id, "list_export", True)
        db.session.commit()

    def note(day: str, amount: str = "1", state: str = "validated") -> Any:
        return factory.document(
            binder, state=state, fields={"meta": {"day": day}, "amount": amount}
        )

    def export(start: str, end: str) -> Any:
        from core.exports.periods import export_period
        from core.tenancy.models import Company

        with app.app_context():
            return export_period(
                db.session.get(Company, company.id), "list_export", start, end, None
            )

    def read(batch: Any, fmt: str | None = None) -> bytes:
        from core.exports.periods import batch_file

        with app.app_context():
            return batch_file(batch, fmt)[0].read_bytes()

    return {"firm": firm, "company": company, "note": note, "export": export, "read": read}


def test_hook_registers_both_kinds_in_one_registry(app):
    exporters = app.extensions["classeur"].exporters
    assert [e.name for e in exporters.periods()] == ["list_export"]
    assert exporters.period("list_export") is exporters.get("list_export")
    assert exporters.for_binder_type("notes") == []  # never dispatched per document


def test_registry_refuses_what_is_neither_kind():
    with pytest.raises(TypeError, match="neither"):
        ExporterRegistry().register(object())


def test_selects_validated_documents_dated_in_the_period(setup, app):
    note = setup["note"]
    inside = [note("2026-01-01", "10"), note("2026-01-31T23:00:00", "20"), note("2026-01-15", "30")]
    note("2025-12-31")
    note("2026-02-01")
    note("2026-01-10", state="to_review")
    done = setup["export"]("2026-01-01", "2026-01-31")
    assert done.created and done.batch.version == 1
    assert done.batch.document_ids == [inside[0].id, inside[2].id, inside[1].id]
    assert setup["read"](done.batch) == b"2026-01-01;10\n2026-01-15;30\n2026-01-31T23:00:00;20"
    assert setup["read"](done.batch, "upper").startswith(b"2026-01-01;10")
    assert done.batch.filename == "NOTES-20260101-20260131.txt"
    with app.app_context():
        statuses = db.session.scalars(
            select(ExportStatus).where(ExportStatus.connector == "list_export")
        ).all()
        assert {s.document_id for s in statuses} == {d.id for d in inside}
        assert {s.remote_id for s in statuses} == {"Liste v1 du 01/01/2026 au 31/01/2026"}
        assert {s.state for s in statuses} == {"exported"}


def test_versions(setup, app):
    note = setup["note"]
    note("2026-01-05")
    first = setup["export"]("2026-01-01", "2026-01-31")
    same = setup["export"]("2026-01-01", "2026-01-31")
    assert (same.created, same.batch.id) == (False, first.batch.id)
    note("2026-01-06")
    second = setup["export"]("2026-01-01", "2026-01-31")
    assert second.created and second.batch.version == 2
    # Another period is versioned on its own.
    assert setup["export"]("2026-01-01", "2026-01-06").batch.version == 1
    with app.app_context():
        rows = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id)).all()
        assert [(b.period_end.day, b.version) for b in rows] == [(31, 1), (31, 2), (6, 1)]
    assert setup["read"](first.batch) == b"2026-01-05;1"


def test_rejected_documents_get_an_error_status(setup, app):
    note = setup["note"]
    good, bad = note("2026-01-05"), note("2026-01-06", "bad")
    done = setup["export"]("2026-01-01", "2026-01-31")
    assert done.batch.document_ids == [good.id]
    assert done.rejected == {bad.id: "Montant illisible."}
    with app.app_context():
        status = db.session.scalar(select(ExportStatus).where(ExportStatus.document_id == bad.id))
        assert (status.state, status.code) == ("error", "bad_amount")


def test_every_document_rejected_records_the_errors_and_refuses(setup, app):
    bad = setup["note"]("2026-01-06", "bad")
    with pytest.raises(ServiceError, match="Aucun document exportable"):
        setup["export"]("2026-01-01", "2026-01-31")
    with app.app_context():
        assert (
            db.session.scalar(select(ExportStatus.state).where(ExportStatus.document_id == bad.id))
            == "error"
        )
        assert db.session.scalar(select(ExportBatch.id)) is None


def test_period_rules(setup):
    setup["note"]("2026-01-05")
    with pytest.raises(ServiceError, match="ne peut dépasser 12 mois"):
        setup["export"]("2026-01-01", "2027-01-01")
    with pytest.raises(ServiceError, match="précède"):
        setup["export"]("2026-01-02", "2026-01-01")
    with pytest.raises(ServiceError, match="Aucun document validé"):
        setup["export"]("2026-03-01", "2026-03-31")
    assert setup["export"]("05/01/2026", "05/01/2026").batch.document_count == 1


def test_switched_off_exporter_is_refused(setup, app):
    from core.exports.services import set_connector_enabled

    setup["note"]("2026-01-05")
    with app.app_context():
        set_connector_enabled(setup["firm"].id, "list_export", False)
        db.session.commit()
    with pytest.raises(ServiceError, match="désactivé") as refused:
        setup["export"]("2026-01-01", "2026-01-31")
    assert refused.value.status == 409


def test_run_export_never_hands_a_document_to_a_period_exporter(setup, app):
    from core.exports.services import run_export

    document = setup["note"]("2026-01-05")
    with app.app_context():
        status = ExportStatus(
            document_id=document.id,
            firm_id=setup["firm"].id,
            connector="list_export",
            state="pending",
        )
        db.session.add(status)
        db.session.commit()
        assert run_export(status.id) == "skipped"


def test_plugins_hear_of_a_period_export_in_the_background(setup, app, plugin):
    """``after_export`` for each document runs on the ``training`` workers when they run (a
    large period must not hold the request), at once from a command (no workers)."""
    note = setup["note"]
    first = note("2026-03-02", "5")
    setup["export"]("2026-03-01", "2026-03-31")
    assert [(d, c, ok) for d, c, ok, _ in plugin.notified] == [(first.id, "list_export", True)]
    assert plugin.notified[0][3] == "MainThread"  # no workers: inline
    runner = app.extensions["classeur"].tasks
    runner.start()
    second = note("2026-03-03", "7")
    setup["export"]("2026-03-01", "2026-03-31")
    assert runner.wait_idle(timeout=30, poll=False)
    latest = {d: (ok, thread) for d, c, ok, thread in plugin.notified[1:]}
    assert latest[second.id][0] is True
    assert latest[second.id][1].startswith("classeur-training")
