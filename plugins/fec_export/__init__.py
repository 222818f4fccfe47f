"""The ``fec_export`` plugin: a company's purchase journal over a period, as a FEC and a CSV.

Hook implementations only, importing their modules lazily. Written against the plugin API
(``core.plugin_api``) alone — see ``docs/plugins/fec_export.md``, "writing a connector".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from core.plugin_api import PluginInfo, hookimpl

NAME = "fec_export"


@hookimpl
def plugin_info() -> PluginInfo:
    """A period exporter: off until switched on, as every connector."""
    return PluginInfo(
        name=NAME,
        label="Journal d'achats (FEC)",
        kind="period_exporter",
        default_enabled=False,
        description="Produit le journal des achats d'une période au format FEC et CSV.",
        labels={
            "fec_export": "Journal d'achats exporté",
            "fec_export_settings": "Paramétrage du journal d'achats",
        },
    )


@hookimpl
def register_exporters(register: Callable[[Any], None]) -> None:
    """Register the period exporter ``fec_export`` (purchase invoices)."""
    from plugins.fec_export.exporter import FecExporter

    register(FecExporter())


@hookimpl
def register_blueprints(register: Callable[..., None]) -> None:
    """The tab's pages (``fec_export``) and the API (``api_fec_export``, OpenAPI)."""
    from plugins.fec_export.api import bp as api_bp
    from plugins.fec_export.views import bp

    register(bp)
    register(api_bp)


@hookimpl
def register_company_tabs(register: Callable[[Any], None]) -> None:
    """Add the tab "Journal d'achats" to the company's "Comptabilité" page."""
    from core.plugin_api import CompanyTab

    register(
        CompanyTab(
            id="fec_export", label="Journal d'achats", endpoint="fec_export.company_tab", order=120
        )
    )


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    """Add ``classeur fec export``."""
    from plugins.fec_export.cli import fec

    cli.add_command(fec)
