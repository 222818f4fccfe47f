"""The plugin host: loading, allow/block lists, check_pending, and the hook meta-tests."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pluggy
import pytest

from core.app import create_app
from core.plugins import hookspecs
from core.plugins.manager import PluginConfigError, build_plugin_manager

HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "classeur_spec")
)


def test_hook_list_is_the_documented_first_set():
    assert set(HOOKS) >= {
        "register_binder_types",
        "register_exporters",
        "register_blueprints",
        "register_cli_commands",
        "register_company_tabs",
        "extract_text",
        "after_document_stored",
        "after_document_validated",
        "after_export",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_and_typed(name):
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn)
    assert doc and len(doc) > 40, f"{name} needs a docstring saying what it is for"
    sig = inspect.signature(fn)
    assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())
    assert sig.return_annotation is not inspect.Signature.empty
    if fn.classeur_spec.get("firstresult"):
        assert "Stops at first non-None result." in doc


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name):
    """A test function named ``test_hook_<name>...`` must exist somewhere under tests/."""
    tests = Path(__file__).resolve().parents[1]
    pattern = re.compile(rf"def test_hook_{name}\b")
    found = any(pattern.search(p.read_text()) for p in tests.rglob("test_*.py"))
    assert found, f"no test_hook_{name} test"


def test_plugins_are_declared_once_as_entry_points(app):
    """The core loads its own plugin first, then every entry point of ``classeur.plugins``;
    it names no plugin of its own (the shipped ones are entry points like any other)."""
    import configparser
    from pathlib import Path

    from core.plugins.manager import BUILTIN_PLUGINS

    assert BUILTIN_PLUGINS == {"core": "core.default_plugin"}
    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    declared = [
        line.split("=")[0].strip()
        for line in config["options.entry_points"]["classeur.plugins"].strip().splitlines()
    ]
    names = app.extensions["classeur"].hooks.plugin_names()
    assert names[0] == "core"
    assert sorted(names[1:]) == sorted(declared)


def test_allow_list_loads_only_named_plugins():
    pm = build_plugin_manager({"PLUGINS": "binder_purchases"})
    assert sorted(n for n, _ in pm.list_name_plugin()) == ["binder_purchases", "core"]


def test_block_list_removes_a_plugin():
    pm = build_plugin_manager({"DISABLED_PLUGINS": "meg_export"})
    assert "meg_export" not in {n for n, _ in pm.list_name_plugin()}


def test_unknown_plugin_name_stops_startup_with_clear_message(tmp_path):
    with pytest.raises(PluginConfigError, match="Unknown plugin.*nope"):
        create_app({"DATA_DIR": str(tmp_path), "PLUGINS": "nope"})
    with pytest.raises(PluginConfigError):
        build_plugin_manager({"DISABLED_PLUGINS": "core"})


def test_check_pending_rejects_a_misspelled_hookimpl():
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)

    class Bad:
        @hookspecs.hookimpl
        def register_binder_typo(self, register):  # misspelled on purpose
            pass

    pm.register(Bad())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_entry_point_group_names_the_three_builtin_plugins():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="classeur.plugins")}
    assert {"binder_purchases", "ocr_tesseract", "meg_export"} <= names


def test_hook_register_binder_types(app):
    registry = app.extensions["classeur"].binder_types
    assert {"purchase_invoices", "sales_invoices", "admin_documents", "other"} <= {
        t.name for t in registry.all()
    }
    assert registry["purchase_invoices"].label == "Factures d'achat"


class TmpPlugin:
    """A plugin contributing a blueprint and a command, given through EXTRA_PLUGINS."""

    def __init__(self):
        import click
        from flask import Blueprint

        self.bp = Blueprint("tmp_plugin", __name__)

        @self.bp.route("/tmp-plugin")
        def hello():
            return "bonjour"

        hello._classeur_permission = "public"
        self.command = click.Command("tmp-cmd", callback=lambda: None)

    @hookspecs.hookimpl
    def register_blueprints(self, register):
        register(self.bp)

    @hookspecs.hookimpl
    def register_cli_commands(self, cli):
        cli.add_command(self.command)


def test_hook_register_blueprints(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "EXTRA_PLUGINS": [TmpPlugin()]})
    assert app.test_client().get("/tmp-plugin").data == b"bonjour"


def test_hook_register_cli_commands(tmp_path):
    import click

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "EXTRA_PLUGINS": [TmpPlugin()]})
    group = click.Group()
    app.extensions["classeur"].hooks.register_cli_commands(cli=group)
    assert "tmp-cmd" in group.commands


def test_plugins_name_their_history_and_audit_codes(app, client, factory, auth):
    """A plugin's event and audit codes read in French on the pages (``PluginInfo.labels``)."""
    labels = app.extensions["classeur"].plugins.labels()
    assert labels["email_received"] == "Reçu par e-mail"
    assert labels["fec_export"] == "Journal d'achats exporté"
    firm = factory.firm()
    admin = factory.user(firm, "admin")
    auth.login(admin)
    with app.app_context():
        from core.auth.audit import audit
        from core.db import db

        audit("fec_export", target="company:1", user_id=admin.id, firm_id=firm.id)
        db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Journal d&#39;achats exporté" in page or "Journal d'achats exporté" in page
    assert ">fec_export<" not in page
