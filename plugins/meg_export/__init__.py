"""The ``meg_export`` plugin: the MEG (RCA) connector and its sandbox.

Hook implementations only, importing their modules lazily: importing this package (as the
sandbox does) stays cheap and needs neither Flask-Login nor the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from core.plugin_api import PluginInfo, hookimpl

if TYPE_CHECKING:
    from core.plugin_api import Company

NAME = "meg_export"


@hookimpl
def plugin_info() -> PluginInfo:
    """A connector: off until switched on (linking a company switches it on there)."""
    return PluginInfo(
        name=NAME,
        label="MEG (RCA)",
        kind="exporter",
        default_enabled=False,
        description="Publie les factures d'achat validées dans le module Achats de MEG.",
        labels={"meg_link": "Liaison MEG", "meg_unlink": "Déliaison MEG"},
    )


@hookimpl
def config_defaults() -> dict[str, Any]:
    """The MEG server (the sandbox by default) and its OAuth client; seconds before a MEG call
    times out, the longest Retry-After waited inside a worker, and how often payments are read
    back."""
    return {
        "MEG_BASE_URL": "http://127.0.0.1:8100",
        "MEG_CLIENT_ID": "classeur",
        "MEG_CLIENT_SECRET": "classeur-sandbox-secret",
        "MEG_TIMEOUT": 15,
        "MEG_MAX_INLINE_WAIT": 5,
        # Minutes between two readings of a linked company's payments (the client portal).
        "MEG_PAYMENTS_REFRESH_MINUTES": 60,
    }


@hookimpl
def register_exporters(register: Callable[[Any], None]) -> None:
    """Register the MEG exporter (purchase invoices only)."""
    from plugins.meg_export.exporter import MegExporter

    register(MegExporter())


@hookimpl
def register_tasks(register: Callable[[Any], None]) -> None:
    """Reading back the payments of each linked company, every
    ``MEG_PAYMENTS_REFRESH_MINUTES`` (the runner's poll finds the companies due)."""
    from core.plugin_api import TaskSpec
    from plugins.meg_export.payments import REFRESH_TASK, due_companies, refresh_payments

    register(TaskSpec(name=REFRESH_TASK, run=refresh_payments, queue="exports", poll=due_companies))


@hookimpl
def document_payment(document: Any) -> dict[str, Any] | None:
    """The payment MEG holds for a document published there, as last read back."""
    from plugins.meg_export.payments import payment_for

    return payment_for(document)


@hookimpl
def register_blueprints(register: Callable[..., None]) -> None:
    """Register the ``meg_export`` blueprint (tab "MEG", OAuth callback, dossier choice)."""
    from plugins.meg_export.views import bp

    register(bp)


@hookimpl
def register_company_tabs(register: Callable[[Any], None]) -> None:
    """Add the tab "MEG" to the company's "Comptabilité" page."""
    from core.plugin_api import CompanyTab

    register(CompanyTab(id="meg", label="MEG", endpoint="meg_export.company_tab"))


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    """Add ``classeur meg-sandbox``, ``classeur meg demo-link`` and ``serve --with-meg-sandbox``."""
    from plugins.meg_export.cli import add_serve_option, meg, meg_sandbox

    cli.add_command(meg_sandbox)
    cli.add_command(meg)
    add_serve_option(cli)


@hookimpl
def before_serve(app: Any, options: dict[str, Any]) -> None:
    """``classeur serve --with-meg-sandbox PORT``: serve the MEG sandbox beside Classeur."""
    from plugins.meg_export.cli import start_sandbox_for_serve

    start_sandbox_for_serve(app, options)


@hookimpl
def after_export(document: Any, connector: str, result: Any) -> None:
    """A MEG export that found the link expired or refused: the firm is told the connector is
    disconnected (« Connecteur déconnecté »)."""
    if connector != NAME:
        return
    from plugins.meg_export.alerts import after_export as alert

    alert(document, result)


@hookimpl
def seed_demo_company(company: Company) -> None:
    """``classeur init --demo``: MEG as the company's accounting software (merged into the
    section, keeping what other plugins wrote)."""
    from core.plugin_api import update_company_settings

    current = dict((company.settings or {}).get("accounting") or {})
    update_company_settings(company, "accounting", current | {"software": "meg"})
