"""The ``mail_collect`` plugin: documents collected by e-mail ("Collecte par e-mail").

Each company gets a collection address; the attachments of mail sent to it (by the embedded
SMTP receiver, ``classeur mail-in`` or ``serve --with-mail-in PORT``) or found in an IMAP
mailbox it polls land in the company's purchase binder through the core's intake, with their
origin; the rest waits in a quarantine. Hook implementations only, importing their modules
lazily. Written against ``core.plugin_api`` alone (see ``docs/plugins/mail_collect.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from core.plugin_api import hookimpl

if TYPE_CHECKING:
    from core.plugin_api import Company, PluginInfo, TaskSpec

NAME = "mail_collect"


@hookimpl
def plugin_info() -> PluginInfo:
    """An intake source. Its module switch is on by default: each company's collection is
    off until "Collecte activée" is ticked on its tab, which is the consent that matters; the
    module switch (firm or company, "Modules") turns it off whatever the tab says."""
    from core.plugin_api import PluginInfo

    return PluginInfo(
        name=NAME,
        label="Collecte par e-mail",
        kind="intake",
        default_enabled=True,
        description="Classe les pièces jointes des e-mails reçus à l'adresse de collecte de "
        "chaque entreprise ou relevés dans sa boîte IMAP.",
        labels={
            "email_received": "Reçu par e-mail",
            "mail_collect_release": "Quarantaine : message libéré",
            "mail_collect_delete": "Quarantaine : message supprimé",
        },
    )


@hookimpl
def register_blueprints(register: Callable[..., None]) -> None:
    """The tab "Collecte par e-mail" and the page "Quarantaine"."""
    from plugins.mail_collect.views import bp

    register(bp)


@hookimpl
def register_company_tabs(register: Callable[[Any], None]) -> None:
    """Add the tab "Collecte par e-mail" to the company's "Comptabilité" page."""
    from core.plugin_api import CompanyTab

    register(
        CompanyTab(
            id="mail_collect",
            label="Collecte par e-mail",
            endpoint="mail_collect.company_tab",
            order=150,
        )
    )


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Polling the IMAP mailboxes: due mailboxes are found by the runner's poll, each claimed
    (``idle`` → ``polling``) while a worker reads it."""
    from core.plugin_api import Lease, TaskSpec
    from plugins.mail_collect.imap import POLL_TASK, due_mailboxes, poll_mailbox
    from plugins.mail_collect.models import Mailbox

    register(
        TaskSpec(
            name=POLL_TASK,
            run=poll_mailbox,
            queue="default",
            lease=Lease(model=Mailbox, working="polling", reset={"state": "idle"}),
            poll=due_mailboxes,
        )
    )


@hookimpl
def company_details(company: Company) -> dict[str, dict[str, Any]]:
    """``collection_address``: in the company's JSON and on its page."""
    from plugins.mail_collect.services import collection_address, mailbox_for

    address = collection_address(mailbox_for(company), company)
    return {"collection_address": {"label": "Adresse de collecte", "value": address}}


@hookimpl
def seed_demo_company(company: Company) -> None:
    """``classeur init --demo``: collection on, mail from any ``@exemple.fr`` address
    accepted (flushed; the command commits)."""
    from plugins.mail_collect.services import DEMO_SENDERS, mailbox_in_session

    mailbox = mailbox_in_session(company)
    mailbox.enabled = True
    mailbox.allowed_senders = list(DEMO_SENDERS)


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    """``classeur mail-in``, ``classeur mail-poll`` and ``serve --with-mail-in PORT``."""
    from plugins.mail_collect.cli import add_serve_option, mail_in, mail_poll

    cli.add_command(mail_in)
    cli.add_command(mail_poll)
    add_serve_option(cli)


@hookimpl
def before_serve(app: Any, options: dict[str, Any]) -> None:
    """``classeur serve --with-mail-in PORT``: the SMTP receiver beside Classeur."""
    from plugins.mail_collect.cli import start_for_serve

    start_for_serve(app, options)
