"""``core.exports.services.connector_rules``: what the connectors a binder's documents go to
all accept, from the rules they publish and their switches (firm, then company)."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import db
from core.exports.registry import Exporter, ExportResult, exporter_rules
from core.plugins.hookspecs import hookimpl
from plugins.meg_export.exporter import MegExporter


class _Stub:
    description = "Connecteur des tests"

    def export(self, context: Any) -> ExportResult:
        return ExportResult(remote_id="x")


class StrictExporter(_Stub):
    name = "strict"
    label = "Logiciel strict"
    binder_types = {"purchase_invoices"}
    rules = {"account_classes": ["6"], "vat_codes": ["FR_200", "FR_55", "ZZ_1"]}


class RuleLessExporter(_Stub):
    """Publishes no rules at all: accepted by the registry, restricts nothing."""

    name = "ruleless"
    label = "Sans règles"
    binder_types = {"purchase_invoices"}


class SalesExporter(_Stub):
    name = "sales"
    label = "Ventes"
    binder_types = {"sales_invoices"}
    rules = {"account_classes": ["7"]}


class Exporters:
    @hookimpl
    def register_exporters(self, register):
        register(StrictExporter())
        register(RuleLessExporter())
        register(SalesExporter())


@pytest.fixture
def app_config(app_config):
    return {**app_config, "EXTRA_PLUGINS": [*app_config["EXTRA_PLUGINS"], Exporters()]}


MEG_CODES = set(MegExporter.rules["vat_codes"])


@pytest.fixture
def rules(app, factory):
    """``rules(company, binder_type)`` and ``switch(connector, on, company=None)`` of a firm."""
    from core.exports.services import connector_rules, set_connector_enabled

    firm = factory.firm()
    companies = [factory.company(firm), factory.company(firm)]

    def read(company, binder_type="purchase_invoices"):
        with app.app_context():
            return connector_rules(firm.id, company.id, binder_type)

    def switch(connector, enabled, company=None):
        with app.app_context():
            set_connector_enabled(firm.id, connector, enabled, company.id if company else None)
            db.session.commit()

    return read, switch, companies


def test_an_exporter_without_rules_is_still_an_exporter():
    assert isinstance(RuleLessExporter(), Exporter)
    assert exporter_rules(RuleLessExporter()) == {}
    assert exporter_rules(MegExporter())["account_classes"] == ["2", "6"]


def test_nothing_enabled_restricts_nothing(rules):
    read, _, (company, _) = rules
    assert read(company) == {
        "account_classes": None,
        "vat_codes": None,
        "required_fields": set(),
        "connectors": [],
    }


def test_meg_alone_gives_its_classes_and_codes(rules):
    read, switch, (company, _) = rules
    switch("meg_export", True)
    assert read(company) == {
        "account_classes": {"2", "6"},
        "vat_codes": MEG_CODES,
        "required_fields": {"supplier.name", "invoice_number", "invoice_date", "due_date"},
        "connectors": ["MEG (RCA)"],
    }
    assert {"AE", "INTRA", "FR_130", "FR_13", "FR_200"} <= MEG_CODES


def test_several_connectors_give_the_intersection(rules):
    read, switch, (company, _) = rules
    for connector in ("meg_export", "strict", "ruleless"):
        switch(connector, True)
    got = read(company)
    assert got["account_classes"] == {"6"}
    assert got["vat_codes"] == {"FR_200", "FR_55"}  # ZZ_1 unknown to MEG
    assert sorted(got["connectors"]) == ["Logiciel strict", "MEG (RCA)", "Sans règles"]


def test_a_connector_without_rules_restricts_nothing(rules):
    read, switch, (company, _) = rules
    switch("ruleless", True)
    assert read(company) == {
        "account_classes": None,
        "vat_codes": None,
        "required_fields": set(),
        "connectors": ["Sans règles"],
    }


def test_the_company_switch_wins_over_the_firm(rules):
    read, switch, (first, second) = rules
    switch("meg_export", True)
    switch("strict", True)
    switch("strict", False, first)  # off for the first company only
    assert read(first)["account_classes"] == {"2", "6"}
    assert read(first)["connectors"] == ["MEG (RCA)"]
    assert read(second)["account_classes"] == {"6"}
    # On for one company while the firm has it off.
    switch("meg_export", False)
    switch("meg_export", True, second)
    assert read(first)["connectors"] == []
    assert read(second)["connectors"] == ["MEG (RCA)", "Logiciel strict"]
    # Back to the firm's switch.
    switch("meg_export", None, second)
    assert read(second)["connectors"] == ["Logiciel strict"]


def test_only_the_connectors_of_the_binder_type_count(rules):
    read, switch, (company, _) = rules
    switch("meg_export", True)
    switch("sales", True)
    assert read(company, "sales_invoices") == {
        "account_classes": {"7"},
        "vat_codes": None,
        "required_fields": set(),
        "connectors": ["Ventes"],
    }
    assert read(company, "admin_documents")["connectors"] == []
