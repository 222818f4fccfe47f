"""Commands: ``classeur mail-in`` (the SMTP receiver), ``classeur mail-poll`` (poll the IMAP
mailboxes now) and the ``--with-mail-in PORT`` option of ``classeur serve``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask

#: Parameter name of ``classeur serve --with-mail-in PORT``.
SERVE_OPTION = "mail_in_port"


@click.command("mail-in")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
def mail_in(host: str, port: int) -> None:
    """Receive collection e-mails by SMTP until interrupted (documents are read by the
    workers of ``classeur serve``)."""
    import logging

    from core.plugin_api import app_context
    from plugins.mail_collect.services import setting
    from plugins.mail_collect.smtp import start_receiver

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with app_context() as app:
        domain = setting("MAIL_DOMAIN")
    try:
        controller = start_receiver(app, host, port)
    except OSError as exc:
        raise click.ClickException(f"Impossible d'écouter sur {host}:{port} : {exc}") from exc
    click.echo(
        f"Collecte par e-mail : SMTP sur {host}:{controller.port} (adresses @{domain})", err=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@click.command("mail-poll")
@click.option("--company", "dossier_code", default=None, help="Dossier code (default: all).")
def mail_poll(dossier_code: str | None) -> None:
    """Poll the IMAP mailboxes of the companies now (collection and IMAP switched on)."""
    from sqlalchemy import select

    from core.plugin_api import Company, app_context, db
    from plugins.mail_collect.imap import poll_mailbox
    from plugins.mail_collect.models import Mailbox

    with app_context():
        stmt = (
            select(Mailbox.id, Company.name, Company.dossier_code)
            .join(Company, Company.id == Mailbox.company_id)
            .where(Mailbox.enabled.is_(True), Mailbox.imap_enabled.is_(True))
            .order_by(Company.firm_id, Company.dossier_code)
        )
        if dossier_code:
            stmt = stmt.where(Company.dossier_code == dossier_code)
        rows = db.session.execute(stmt).all()
        if not rows:
            raise click.ClickException("Aucune boîte IMAP à relever (collecte et IMAP activés).")
        for mailbox_id, name, code in rows:
            counts = poll_mailbox(mailbox_id)
            mailbox = db.session.get(Mailbox, mailbox_id)
            if counts is None and mailbox is not None and mailbox.last_poll_error:
                click.echo(f"{name} ({code}) : erreur — {mailbox.last_poll_error}", err=True)
            elif counts is None:
                click.echo(f"{name} ({code}) : relève déjà en cours ailleurs.", err=True)
            else:
                click.echo(
                    f"{name} ({code}) : {counts['messages']} message(s), "
                    f"{counts['documents']} document(s), {counts['quarantined']} en quarantaine, "
                    f"{counts['duplicates']} déjà reçu(s), {counts['left']} laissé(s)."
                )


def add_serve_option(cli: click.Group) -> None:
    """Add ``--with-mail-in PORT`` to ``classeur serve`` (once; nothing if no ``serve``)."""
    serve = cli.commands.get("serve")
    if serve is None or any(p.name == SERVE_OPTION for p in serve.params):
        return
    serve.params.append(
        click.Option(
            ["--with-mail-in", SERVE_OPTION],
            type=int,
            default=None,
            help="Also receive collection e-mails by SMTP on this port.",
        )
    )


def start_for_serve(app: Flask, options: dict[str, Any]) -> Any:
    """For ``serve --with-mail-in PORT``: the SMTP receiver on Classeur's host, in a thread."""
    port = options.get(SERVE_OPTION)
    if port is None:
        return None
    from plugins.mail_collect.services import setting
    from plugins.mail_collect.smtp import start_receiver

    host = options.get("host") or "127.0.0.1"
    try:
        controller = start_receiver(app, host, port)
    except OSError as exc:
        raise click.ClickException(
            f"Collecte par e-mail : impossible d'écouter sur {host}:{port} : {exc}"
        ) from exc
    with app.app_context():
        domain = setting("MAIL_DOMAIN")
    click.echo(
        f"Collecte par e-mail : SMTP sur {host}:{controller.port} (adresses @{domain})", err=True
    )
    return controller
