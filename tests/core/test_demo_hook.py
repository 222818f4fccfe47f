"""``classeur init --demo`` and the ``seed_demo_company`` hook: the core creates the demo
companies and its own binders; the purchase binder, the accounting settings and MEG as software
come from the ``binder_purchases`` and ``meg_export`` plugins.

``init`` runs in-process here, on the test database, with ``core.app.create_app`` building its
app from ``app_config`` (plus, for the hook's test, a recording plugin).
"""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import core.app
import core.cli
from core.db import db
from core.plugins import hookspecs
from plugins.binder_purchases.settings import ELEMENTS

DEMO_CODES = ["DEMO01", "DEMO02", "DEMO03"]


class SeedingPlugin:
    """Records the companies it is asked to seed, adds a binder and a setting of its own."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int, list[str]]] = []

    @hookspecs.hookimpl
    def seed_demo_company(self, company: Any) -> None:
        from core.binders.models import Binder
        from core.tenancy.services import create_binder, update_company_settings

        existing = db.session.scalars(
            select(Binder.type).where(Binder.company_id == company.id)
        ).all()
        self.seen.append((company.dossier_code, company.firm_id, company.id, sorted(existing)))
        create_binder(company, type="other", name="Autres (démo)")
        update_company_settings(company, "seeding", {"seeded": company.dossier_code})


@pytest.fixture
def init_demo(app_config, monkeypatch):
    """Run ``classeur init --demo`` in-process; returns ``(invoke, apps)``. Extra config (for
    instance ``EXTRA_PLUGINS``) is passed to ``invoke``."""
    apps: list[Any] = []
    real_create_app = core.app.create_app

    def invoke(*args: str, **config: Any):
        def create_app(overrides=None):
            application = real_create_app({**app_config, **(overrides or {}), **config})
            apps.append(application)
            return application

        monkeypatch.setattr(core.app, "create_app", create_app)
        result = CliRunner().invoke(core.cli.init, ["--demo", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    yield invoke, apps
    for application in apps:
        state = application.extensions["classeur"]
        if state.tasks is not None:
            state.tasks.stop(wait=True)
        if state._search is not None:
            state._search.close()
        db.engine_for(application).dispose()


def _demo(app) -> dict[str, dict[str, Any]]:
    """``{dossier_code: {"id", "name", "siren", "settings", "binders": [(type, name), ...]}}``,
    binders in creation order."""
    from core.binders.models import Binder
    from core.tenancy.models import Company

    with app.app_context():
        companies = db.session.scalars(select(Company).order_by(Company.id)).all()
        out = {}
        for company in companies:
            binders = db.session.scalars(
                select(Binder).where(Binder.company_id == company.id).order_by(Binder.id)
            ).all()
            out[company.dossier_code] = {
                "id": company.id,
                "name": company.name,
                "siren": company.siren,
                "settings": dict(company.settings or {}),
                "binders": [(b.type, b.name) for b in binders],
                "binder_ids": {b.type: b.id for b in binders},
            }
        return out


def test_hook_seed_demo_company(init_demo):
    invoke, apps = init_demo
    plugin = SeedingPlugin()
    result = invoke(EXTRA_PLUGINS=[plugin])
    assert "Demo data: 3 companies created." in result.output
    demo = _demo(apps[-1])
    # Called once for each new company, with the company created and flushed, before the
    # core's own binders (so a plugin's binders keep the first ids of the company).
    assert [code for code, *_ in plugin.seen] == DEMO_CODES
    for code, firm_id, company_id, binders_before in plugin.seen:
        assert company_id == demo[code]["id"] and firm_id == 1
        assert "sales_invoices" not in binders_before
        assert "admin_documents" not in binders_before
    for code in DEMO_CODES:
        types = [t for t, _ in demo[code]["binders"]]
        assert types.index("other") < types.index("sales_invoices")
        assert types[-2:] == ["sales_invoices", "admin_documents"]
        # What the plugin wrote is kept, beside the built-in plugins' section.
        assert demo[code]["settings"]["seeding"] == {"seeded": code}
        assert demo[code]["settings"]["accounting"]["software"] == "meg"

    # Existing demo companies are not seeded again.
    again = invoke(EXTRA_PLUGINS=[plugin])
    assert "0 companies created" in again.output
    assert len(plugin.seen) == 3


def test_init_demo_with_every_plugin_is_unchanged(init_demo):
    invoke, apps = init_demo
    invoke()
    demo = _demo(apps[-1])
    assert list(demo) == DEMO_CODES
    assert [(demo[c]["name"], demo[c]["siren"]) for c in DEMO_CODES] == [
        ("Boulangerie Martin", "732829320"),
        ("Garage Dupont", "552100554"),
        ("Cabinet Médical Leroy", None),
    ]
    for code in DEMO_CODES:
        # Same binders, in the same order (the purchase binder first: ``--binder 1`` is
        # DEMO01's "Factures d'achat").
        assert demo[code]["binders"] == [
            ("purchase_invoices", "Factures d'achat"),
            ("sales_invoices", "Factures de vente"),
            ("admin_documents", "Documents administratifs"),
        ]
        assert demo[code]["settings"] == {
            "accounting": {
                "software": "meg",
                "purchase_binder_id": demo[code]["binder_ids"]["purchase_invoices"],
                "elements": dict.fromkeys(ELEMENTS, True),
            }
        }
    assert demo["DEMO01"]["binder_ids"]["purchase_invoices"] == 1


def test_init_demo_without_meg_export_has_no_software(init_demo, monkeypatch):
    invoke, apps = init_demo
    monkeypatch.setenv("CLASSEUR_DISABLED_PLUGINS", "meg_export")
    invoke()
    demo = _demo(apps[-1])
    assert "meg_export" not in apps[-1].extensions["classeur"].hooks.plugin_names()
    for code in DEMO_CODES:
        accounting = demo[code]["settings"]["accounting"]
        assert "software" not in accounting
        assert accounting == {
            "purchase_binder_id": demo[code]["binder_ids"]["purchase_invoices"],
            "elements": dict.fromkeys(ELEMENTS, True),
        }
        assert demo[code]["binders"][0] == ("purchase_invoices", "Factures d'achat")


def _fresh_database(tmp_path) -> str:
    """A database of its own: one migrated with a plugin cannot be upgraded without it."""
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def test_init_demo_without_binder_purchases_has_no_purchase_binder(
    init_demo, monkeypatch, tmp_path
):
    invoke, apps = init_demo
    monkeypatch.setenv("CLASSEUR_DISABLED_PLUGINS", "binder_purchases")
    invoke(DATABASE_URL=_fresh_database(tmp_path))
    demo = _demo(apps[-1])
    for code in DEMO_CODES:
        assert demo[code]["binders"] == [
            ("sales_invoices", "Factures de vente"),
            ("admin_documents", "Documents administratifs"),
        ]
        assert demo[code]["settings"] == {"accounting": {"software": "meg"}}


def test_init_demo_with_the_core_alone_seeds_nothing_of_the_domain(init_demo, tmp_path):
    """The core itself writes no accounting settings and no purchase binder."""
    invoke, apps = init_demo
    invoke(PLUGINS="core", DATABASE_URL=_fresh_database(tmp_path))
    assert apps[-1].extensions["classeur"].hooks.plugin_names() == ["core"]
    demo = _demo(apps[-1])
    assert list(demo) == DEMO_CODES
    for code in DEMO_CODES:
        assert demo[code]["settings"] == {}
        assert [t for t, _ in demo[code]["binders"]] == ["sales_invoices", "admin_documents"]
