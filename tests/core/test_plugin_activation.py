"""Every plugin switched on or off per firm and per company (issue 12): the switches, their
enforcement on each kind (reader, binder type, exporter, notifications), the "Modules" page,
the API and the command line."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import threading
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.exports.registry import ExportResult
from core.plugins.activation import PluginInfo
from core.plugins.hookspecs import hookimpl
from tests.conftest import Auth, make_pdf_bytes, make_scan_bytes, wait_for
from tests.conftest import upload_files as upload
from tests.conftest import wait_ready as ready


class SwitchedExporter:
    name = "switched"
    label = "Connecteur de test"
    description = "Records what it is given"
    binder_types = {"purchase_invoices"}

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.lock = threading.Lock()

    def export(self, context: Any) -> ExportResult:
        with self.lock:
            self.seen.append(context.document.id)
        return ExportResult(remote_id=f"S{context.document.id}")


class SwitchedPlugin:
    """A connector plugin that declares itself (off by default) and listens to validations."""

    __name__ = "switched"

    def __init__(self) -> None:
        self.exporter = SwitchedExporter()
        self.validated: list[int] = []

    @hookimpl
    def plugin_info(self):
        return PluginInfo(
            name="switched", label="Connecteur de test", kind="exporter", default_enabled=False
        )

    @hookimpl
    def register_exporters(self, register):
        register(self.exporter)

    @hookimpl
    def after_document_validated(self, document, user_id):
        self.validated.append(document.id)


class DictInfoPlugin:
    """Declares its information as a dict, under another name than it is loaded with."""

    __name__ = "dict_info"

    @hookimpl
    def plugin_info(self):
        return {"name": "whatever", "label": "Source de test", "kind": "intake"}


class SilentPlugin:
    """Declares nothing: its information is guessed."""

    __name__ = "silent"

    @hookimpl
    def after_document_stored(self, document):
        pass

    @hookimpl
    def company_details(self, company):
        return {"silent_fact": {"label": "Fait", "value": "42"}}


@pytest.fixture
def switched():
    return SwitchedPlugin()


@pytest.fixture
def app(app_config, switched):
    from core.app import create_app

    application = create_app(
        {**app_config, "EXTRA_PLUGINS": [switched, DictInfoPlugin(), SilentPlugin()]}
    )
    yield application
    state = application.extensions["classeur"]
    state.tasks.stop(wait=True)
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


@pytest.fixture
def two(factory):
    """One firm, two companies, an admin."""
    firm = factory.firm()
    return {
        "firm": firm,
        "c1": factory.company(firm, name="Alpha", code="ALPHA"),
        "c2": factory.company(firm, name="Beta", code="BETA"),
        "admin": factory.user(firm, "admin"),
    }


def _switch(app, firm, plugin, enabled, company=None):
    from core.plugins.activation import switch_plugin

    with app.app_context():
        ids = switch_plugin(firm.id, plugin, enabled, company.id if company else None)
        db.session.commit()
        return ids


def _enabled(app, firm, plugin, company=None):
    from core.plugins.activation import plugin_enabled

    with app.app_context():
        return plugin_enabled(firm.id, company.id if company else None, plugin)


# --- declared information -------------------------------------------------------------------


def test_hook_plugin_info(app):
    plugins = app.extensions["classeur"].plugins
    infos = {i.name: i for i in plugins.all()}
    assert list(infos)[0] == "core" and not infos["core"].switchable
    assert (infos["switched"].kind, infos["switched"].default_enabled) == ("exporter", False)
    # A dict is accepted, and the switch is keyed by the name the plugin was loaded under.
    assert infos["dict_info"].label == "Source de test"
    assert infos["dict_info"].kind == "intake"
    # Undeclared: guessed, and never switched off by default.
    assert (infos["silent"].kind, infos["silent"].default_enabled) == ("other", True)
    # The built-ins declare themselves.
    assert (infos["binder_purchases"].kind, infos["binder_purchases"].default_enabled) == (
        "binder_type",
        True,
    )
    assert (infos["ocr_tesseract"].kind, infos["ocr_tesseract"].default_enabled) == (
        "reader",
        True,
    )
    assert (infos["meg_export"].kind, infos["meg_export"].default_enabled) == ("exporter", False)
    assert plugins.binder_types["purchase_invoices"] == "binder_purchases"
    assert plugins.exporters["meg_export"] == "meg_export"
    assert plugins.exporters["switched"] == "switched"


def test_plugin_info_with_an_unknown_kind_stops_start_up(app_config):
    from core.app import create_app

    class Wrong:
        __name__ = "wrong"

        @hookimpl
        def plugin_info(self):
            return {"label": "x", "kind": "banana"}

    with pytest.raises(ValueError, match="unknown kind 'banana'"):
        create_app({**app_config, "EXTRA_PLUGINS": [Wrong()]})


# --- switches: default, firm, company override, inherit -------------------------------------


def test_company_switch_wins_over_firm_which_wins_over_default(app, two):
    firm, c1, c2 = two["firm"], two["c1"], two["c2"]
    # Defaults: a reader on, a connector off.
    assert _enabled(app, firm, "ocr_tesseract", c1)
    assert not _enabled(app, firm, "switched", c1)
    _switch(app, firm, "ocr_tesseract", False)
    assert not _enabled(app, firm, "ocr_tesseract", c1)
    assert not _enabled(app, firm, "ocr_tesseract")
    _switch(app, firm, "ocr_tesseract", True, c2)
    assert not _enabled(app, firm, "ocr_tesseract", c1)
    assert _enabled(app, firm, "ocr_tesseract", c2)
    # Back to inherit: the company follows the firm, the firm the default.
    _switch(app, firm, "ocr_tesseract", None, c2)
    assert not _enabled(app, firm, "ocr_tesseract", c2)
    _switch(app, firm, "ocr_tesseract", None)
    assert _enabled(app, firm, "ocr_tesseract", c1) and _enabled(app, firm, "ocr_tesseract", c2)
    # Another firm never sees these switches.
    _switch(app, firm, "binder_purchases", False)
    with app.app_context():
        from core.plugins.activation import disabled_plugins
        from core.tenancy.services import create_firm

        other_firm = create_firm("Autre cabinet")
        db.session.commit()
        assert "binder_purchases" not in disabled_plugins(other_firm.id, None)
        assert "binder_purchases" in disabled_plugins(firm.id, c1.id)


def test_company_details_leave_out_a_plugin_off_for_the_company(app, client, factory, two):
    _switch(app, two["firm"], "silent", False, two["c1"])
    h = {"Authorization": f"Bearer {factory.token(two['admin'])}"}
    off = client.get(f"/api/v1/companies/{two['c1'].id}", headers=h).get_json()
    on = client.get(f"/api/v1/companies/{two['c2'].id}", headers=h).get_json()
    assert "silent_fact" not in off and on["silent_fact"] == "42"


def test_the_core_and_unknown_plugins_cannot_be_switched(app, two):
    from core.errors import ServiceError

    with pytest.raises(ServiceError, match="ne peut pas être désactivé"):
        _switch(app, two["firm"], "core", False)
    with pytest.raises(ServiceError, match="Module inconnu : nope"):
        _switch(app, two["firm"], "nope", False)


# --- enforcement per kind -------------------------------------------------------------------


def test_reader_off_for_one_company_reads_no_scan_there_only(app, client, factory, two):
    firm, c1, c2 = two["firm"], two["c1"], two["c2"]
    _switch(app, firm, "ocr_tesseract", False, c1)
    token = factory.token(factory.user(firm, "accountant"))
    h = {"Authorization": f"Bearer {token}"}
    app.extensions["classeur"].tasks.start()
    scan = make_scan_bytes(["Attestation URSSAF"], fmt="PDF")
    results = {}
    for company in (c1, c2):
        binder = factory.binder(company, "admin_documents", name="Administratif")
        doc_id = upload(client, binder.id, h, ("scan.pdf", scan)).get_json()["documents"][0]["id"]
        body = ready(client, doc_id, h)
        text = client.get(f"/api/v1/documents/{doc_id}/text", headers=h).get_data(as_text=True)
        results[company.name] = (body.get("text_source"), text)
    assert results["Beta"][0] == "ocr" and "URSSAF" in results["Beta"][1].upper()
    assert results["Alpha"][0] == "none" and "URSSAF" not in results["Alpha"][1].upper()
    # The page says why there is no text, and where to switch the reader on.
    auth = Auth(client)
    auth.login(factory.user(firm, "admin"))
    alpha_doc = max(_ids_in(app, c1))
    page = client.get(f"/documents/{alpha_doc}").get_data(as_text=True)
    assert "Document numérisé non lu" in page and "Administration → Modules" in page


def _ids_in(app, company):
    from core.documents.models import Document

    with app.app_context():
        return list(
            db.session.scalars(select(Document.id).where(Document.company_id == company.id))
        )


def test_binder_type_off_refuses_new_binders_and_uploads_but_keeps_documents(
    app, client, factory, auth, two
):
    firm, c1, c2 = two["firm"], two["c1"], two["c2"]
    binder = factory.binder(c1, "purchase_invoices", name="Achats")
    document = factory.document(binder)
    _switch(app, firm, "binder_purchases", False, c1)
    token = factory.token(factory.user(firm, "accountant"))
    h = {"Authorization": f"Bearer {token}"}
    answer = upload(client, binder.id, h, ("f.pdf", make_pdf_bytes(["Facture 1"])))
    body = answer.get_json()
    assert answer.status_code in (409, 422), body
    message = str(body)
    assert "Factures d'achat" in message and "désactivé pour l'entreprise Alpha" in message
    created = client.post(
        "/api/v1/binders",
        json={"company_id": c1.id, "type": "purchase_invoices", "name": "Achats 2"},
        headers=h,
    )
    assert created.status_code in (400, 409, 422), created.get_json()
    assert "désactivé" in str(created.get_json())
    # The other company is untouched; the existing document stays readable.
    other = factory.binder(c2, "purchase_invoices", name="Achats")
    assert upload(client, other.id, h, ("g.pdf", make_pdf_bytes(["Facture 2"]))).status_code == 202
    shown = client.get(f"/api/v1/documents/{document.id}", headers=h)
    assert shown.status_code == 200


def test_exporter_off_for_one_company_is_skipped_then_released(app, factory, two, switched):
    from core.documents.models import Document
    from core.documents.services import validate_document
    from core.exports.models import ExportStatus
    from core.exports.services import submit_exports

    firm, c1, c2 = two["firm"], two["c1"], two["c2"]
    _switch(app, firm, "switched", True)
    _switch(app, firm, "switched", False, c1)
    runner = app.extensions["classeur"].tasks
    runner.poll_interval = 0.05
    runner.start()
    docs = [factory.document(factory.binder(c, "purchase_invoices")) for c in (c1, c2)]
    with app.app_context():
        for d in docs:
            submit_exports(validate_document(db.session.get(Document, d.id), None))
            db.session.commit()

    def states():
        with app.app_context():
            return {
                s.document_id: s.state
                for s in db.session.scalars(
                    select(ExportStatus).where(ExportStatus.connector == "switched")
                )
            }

    wait_for(lambda: states().get(docs[1].id) == "exported")
    assert states()[docs[0].id] == "skipped"
    assert switched.exporter.seen == [docs[1].id]
    # Notifications of a plugin off for a company are not sent for its documents either.
    assert switched.validated == [docs[1].id]
    # Back to the firm's switch: what waited goes out.
    released = _switch(app, firm, "switched", None, c1)
    assert released
    submit = app.extensions["classeur"].tasks
    for status_id in released:
        submit.submit("run_export", status_id)
    wait_for(lambda: states().get(docs[0].id) == "exported")


def test_switching_a_connector_off_puts_its_errors_aside(app, factory, two):
    """Errors (and sends waiting) of a connector switched off for a company leave « Documents
    en erreur »: they wait as skipped and go out when it is switched on again."""
    from core.exports.models import ExportState, ExportStatus

    firm, c1, c2 = two["firm"], two["c1"], two["c2"]
    _switch(app, firm, "switched", True)
    docs = [
        factory.document(factory.binder(c, "purchase_invoices"), state="validated")
        for c in (c1, c2)
    ]
    with app.app_context():
        for d in docs:
            db.session.add(
                ExportStatus(
                    document_id=d.id,
                    firm_id=firm.id,
                    connector="switched",
                    state=ExportState.ERROR,
                    message="Refusé",
                )
            )
        db.session.commit()

    def state(d):
        with app.app_context():
            return db.session.scalar(
                select(ExportStatus.state).where(ExportStatus.document_id == d.id)
            )

    _switch(app, firm, "switched", False, c1)
    assert (state(docs[0]), state(docs[1])) == ("skipped", "error")  # only where it is off
    released = _switch(app, firm, "switched", None, c1)
    assert released and state(docs[0]) == "pending"


# --- the "Modules" page, the API, the command line -------------------------------------------


def test_modules_page_lists_every_plugin_and_switches_them(app, client, auth, factory, two):
    firm, c1 = two["firm"], two["c1"]
    auth.login(two["admin"])
    page = client.get("/admin/modules")
    assert page.status_code == 200
    text_of_page = html.unescape(page.get_data(as_text=True))
    for text in (
        "Modules",
        "OCR Tesseract",
        "Lecture des documents (OCR)",
        "Factures d'achat",
        "Connecteur d'export",
        "Alpha",
        "Comme le cabinet",
    ):
        assert text in text_of_page, text
    assert 'name="csrf_token"' in text_of_page
    answer = client.post(
        "/admin/modules/ocr_tesseract", data={"enabled": "off", "company": str(c1.id)}
    )
    assert answer.status_code == 302
    assert not _enabled(app, firm, "ocr_tesseract", c1)
    assert "Module mis à jour." in client.get("/admin/modules").get_data(as_text=True)
    client.post("/admin/modules/ocr_tesseract", data={"enabled": "inherit", "company": str(c1.id)})
    assert _enabled(app, firm, "ocr_tesseract", c1)
    refused = client.post("/admin/modules/core", data={"enabled": "off"}, follow_redirects=True)
    assert "ne peut pas être désactivé" in refused.get_data(as_text=True)
    assert client.post("/admin/modules/ocr_tesseract", data={"enabled": "maybe"}).status_code == 400
    # Another firm's company is not found.
    stranger = factory.company(factory.firm(), name="Ailleurs")
    assert (
        client.post(
            "/admin/modules/ocr_tesseract", data={"enabled": "off", "company": str(stranger.id)}
        ).status_code
        == 404
    )
    # Admin only.
    client.get("/logout")
    auth.login(factory.user(firm, "accountant"))
    assert client.get("/admin/modules").status_code == 403


def test_modules_page_needs_the_csrf_token(app_config, factory):
    from core.app import create_app

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        from tests.conftest import Factory

        f = Factory(application)
        firm = f.firm()
        admin = f.user(firm, "admin")
        web = application.test_client()
        page = web.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        web.post(
            "/login", data={"email": admin.email, "password": admin.password, "csrf_token": token}
        )
        assert web.get("/admin/modules").status_code == 200  # logged in
        answer = web.post("/admin/modules/ocr_tesseract", data={"enabled": "off"})
        assert answer.status_code == 400
        with application.app_context():
            from core.plugins.activation import plugin_enabled

            assert plugin_enabled(firm.id, None, "ocr_tesseract")
    finally:
        db.engine_for(application).dispose()


def test_plugins_api(app, client, factory, two):
    firm, c1 = two["firm"], two["c1"]
    h = {
        "Authorization": f"Bearer {factory.token(two['admin'], scopes=('read', 'write', 'admin'))}"
    }
    listed = client.get("/api/v1/plugins", headers=h)
    assert listed.status_code == 200
    by_name = {p["name"]: p for p in listed.get_json()}
    assert by_name["ocr_tesseract"]["kind"] == "reader" and by_name["ocr_tesseract"]["enabled"]
    assert by_name["meg_export"]["default"] is False and by_name["meg_export"]["firm"] is None
    put = client.put("/api/v1/plugins/ocr_tesseract", json={"enabled": False}, headers=h)
    assert put.status_code == 200 and put.get_json()["firm"] is False
    own = client.put(
        f"/api/v1/companies/{c1.id}/plugins/ocr_tesseract", json={"enabled": True}, headers=h
    )
    assert own.status_code == 200
    assert (own.get_json()["firm"], own.get_json()["company"], own.get_json()["enabled"]) == (
        False,
        True,
        True,
    )
    company_view = {
        p["name"]: p for p in client.get(f"/api/v1/companies/{c1.id}/plugins", headers=h).get_json()
    }
    assert company_view["ocr_tesseract"]["enabled"] is True
    back = client.put(
        f"/api/v1/companies/{c1.id}/plugins/ocr_tesseract", json={"enabled": None}, headers=h
    )
    assert back.get_json()["enabled"] is False
    unknown = client.put("/api/v1/plugins/nope", json={"enabled": True}, headers=h)
    assert unknown.status_code == 404 and "Module inconnu" in str(unknown.get_json())
    bad = client.put("/api/v1/plugins/ocr_tesseract", json={"enabled": "peut-être"}, headers=h)
    assert bad.status_code == 422
    stranger = factory.company(factory.firm())
    assert client.get(f"/api/v1/companies/{stranger.id}/plugins", headers=h).status_code == 404
    accountant = factory.token(factory.user(firm, "accountant"))
    assert (
        client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {accountant}"}).status_code
        == 403
    )


def _env(app_config):
    return {
        **os.environ,
        "CLASSEUR_DATA_DIR": app_config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app_config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": "test-secret",
    }


def _cli(app_config, *args):
    env = _env(app_config)
    return subprocess.run(
        [sys.executable, "-m", "core", "plugins", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_plugins_list_enable_disable(app, app_config, two):
    firm, c1 = two["firm"], two["c1"]
    listed = _cli(app_config, "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "reader" in lines["ocr_tesseract"] and "on by default" in lines["ocr_tesseract"]
    assert "exporter" in lines["meg_export"] and "off by default" in lines["meg_export"]
    assert "connectors: meg_export" in lines["meg_export"]
    assert "binder types: purchase_invoices" in lines["binder_purchases"]
    assert "always on" in lines["core"]

    off = _cli(app_config, "disable", "ocr_tesseract", "--company", str(c1.id))
    assert off.returncode == 0, off.stderr
    assert f"ocr_tesseract: off for company {c1.id}" in off.stdout
    assert not _enabled(app, firm, "ocr_tesseract", c1)
    assert _enabled(app, firm, "ocr_tesseract", two["c2"])
    on = _cli(app_config, "enable", "meg_export", "--firm", str(firm.id))
    assert on.returncode == 0, on.stderr
    assert _enabled(app, firm, "meg_export", c1)
    assert "firm: on" in _cli(app_config, "list", "--firm", str(firm.id)).stdout
    back = _cli(app_config, "inherit", "ocr_tesseract", "--company", "ALPHA")
    assert back.returncode == 0 and _enabled(app, firm, "ocr_tesseract", c1)  # by its code
    unknown = _cli(app_config, "disable", "ocr_tesseract", "--company", "NOPE99")
    assert unknown.returncode == 1 and "No company 'NOPE99'" in unknown.stderr
    bad_setting = subprocess.run(
        [sys.executable, "-m", "core", "plugins", "list"],
        capture_output=True,
        text=True,
        env={**_env(app_config), "CLASSEUR_PLUGINS": "nosuch"},
        timeout=120,
    )
    assert bad_setting.returncode == 1
    assert "Unknown plugin(s) in configuration: nosuch" in bad_setting.stderr
    assert "Traceback" not in bad_setting.stderr
    wrong = _cli(app_config, "disable", "nope", "--firm", str(firm.id))
    assert wrong.returncode == 1 and "Module inconnu : nope" in wrong.stderr
    core = _cli(app_config, "disable", "core", "--firm", str(firm.id))
    assert core.returncode == 1 and "ne peut pas être désactivé" in core.stderr


# --- the migration keeps the connectors' switches -------------------------------------------


def _fresh_database(kind: str, tmp_path):
    from sqlalchemy import create_engine, text

    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}", None
    server = os.environ.get(
        "CLASSEUR_TEST_PG_SERVER", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"classeur_act_{os.urandom(4).hex()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable: {exc}")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_keeps_every_connector_switch_and_setting(tmp_path, kind):
    from sqlalchemy import create_engine, text

    from core.app import create_app
    from core.migrate import upgrade

    url, drop = _fresh_database(kind, tmp_path)
    try:
        application = create_app(
            {"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "x"}
        )
        upgrade(application, "0004_export_batches")
        engine = create_engine(url)
        old = [
            (1, 1, None, "meg_export", True, '{"note": "cabinet"}'),
            (2, 1, 7, "meg_export", False, '{"dossier_code": "DEMO01"}'),
            (5, 1, 8, "other_connector", True, "{}"),
        ]
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO firms (id, name, created_at) VALUES (1, 'C', '2026-01-01')")
            )
            for company in (7, 8):
                conn.execute(
                    text(
                        "INSERT INTO companies (id, firm_id, name, dossier_code, settings, "
                        "created_at, updated_at) VALUES (:i, 1, :n, :n, '{}', '2026-01-01', "
                        "'2026-01-01')"
                    ),
                    {"i": company, "n": f"E{company}"},
                )
            for row in old:
                conn.execute(
                    text(
                        "INSERT INTO connector_settings (id, firm_id, company_id, connector, "
                        "enabled, settings, created_at, updated_at) VALUES (:i, :f, :c, :n, :e, "
                        ":s, '2026-01-01', '2026-01-01')"
                    ),
                    dict(zip("ifcnes", row, strict=True)),
                )
        upgrade(application)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, firm_id, company_id, plugin, enabled, settings FROM "
                    "plugin_settings ORDER BY id"
                )
            ).all()
            tables = set(
                conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                    if kind == "sqlite"
                    else text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
            )
        import json

        got = [
            (i, f, c, p, bool(e), s if isinstance(s, dict) else json.loads(s))
            for i, f, c, p, e, s in rows
        ]
        assert got == [(i, f, c, n, e, json.loads(s)) for i, f, c, n, e, s in old]
        assert "connector_settings" not in tables
        with application.app_context():
            from core.exports.services import connector_enabled
            from core.plugins.activation import set_plugin_enabled

            # The switches read as before: the company's own off, the firm's on.
            assert not connector_enabled(1, 7, "meg_export")
            assert connector_enabled(1, 8, "meg_export")
            # New rows get new ids after the copied ones (PostgreSQL's sequence follows).
            row = set_plugin_enabled(1, "ocr_tesseract", False, 8)
            db.session.commit()
            assert row.id > 5
        engine.dispose()
        db.engine_for(application).dispose()
    finally:
        if drop is not None:
            drop()
