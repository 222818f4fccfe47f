"""Commands of the MEG connector: ``classeur meg-sandbox``, ``classeur meg demo-link`` and the
``--with-meg-sandbox PORT`` option of ``classeur serve``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_SANDBOX_DIR = "./data/meg-sandbox"
SANDBOX_COOKIE = "meg_sandbox_session"


@click.command("meg-sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option(
    "--data-dir", default=DEFAULT_SANDBOX_DIR, show_default=True, type=click.Path(file_okay=False)
)
@click.option("--threads", default=8, show_default=True, type=int)
def meg_sandbox(host: str, port: int, data_dir: str, threads: int) -> None:
    """Serve the MEG sandbox (login demo@meg.example / demo) until interrupted."""
    import logging

    from plugins.meg_export.sandbox import run_sandbox

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"MEG sandbox on http://{host}:{port} (demo@meg.example / demo)", err=True)
    # Classeur and the sandbox usually share 127.0.0.1, and cookies ignore ports: two cookies
    # named "session" would log the user out of Classeur in the middle of the link.
    run_sandbox(
        host=host,
        port=port,
        data_dir=data_dir,
        threads=threads,
        config={"SESSION_COOKIE_NAME": SANDBOX_COOKIE},
    )


#: Parameter name of ``classeur serve --with-meg-sandbox PORT``.
SERVE_OPTION = "meg_port"


def add_serve_option(cli: click.Group) -> None:
    """Add ``--with-meg-sandbox PORT`` to ``classeur serve`` (once; nothing if no ``serve``)."""
    serve = cli.commands.get("serve")
    if serve is None or any(p.name == SERVE_OPTION for p in serve.params):
        return
    serve.params.append(
        click.Option(
            ["--with-meg-sandbox", SERVE_OPTION],
            type=int,
            default=None,
            help="Also serve the MEG sandbox on this port (demos).",
        )
    )


def start_sandbox_for_serve(app: Flask, options: dict[str, Any]) -> threading.Thread | None:
    """For ``serve --with-meg-sandbox PORT``: serve the sandbox beside Classeur, in a thread.

    The sandbox listens on Classeur's host, keeps its data in ``<DATA_DIR>/meg-sandbox`` and
    becomes the app's ``MEG_BASE_URL`` unless ``CLASSEUR_MEG_BASE_URL`` says otherwise.
    """
    port = options.get(SERVE_OPTION)
    if port is None:
        return None
    from plugins.meg_export import sandbox

    host = options.get("host") or "127.0.0.1"
    thread = threading.Thread(
        target=sandbox.run_sandbox,
        kwargs={
            "host": host,
            "port": port,
            "data_dir": str(Path(app.config["DATA_DIR"]) / "meg-sandbox"),
            "config": {"SESSION_COOKIE_NAME": SANDBOX_COOKIE},
            "threads": 8,
        },
        name="meg-sandbox",
        daemon=True,
    )
    thread.start()
    if "CLASSEUR_MEG_BASE_URL" not in os.environ:
        app.config["MEG_BASE_URL"] = f"http://{host}:{port}"
    click.echo(f"MEG sandbox on http://{host}:{port} (demo@meg.example / demo)", err=True)
    return thread


@click.group("meg")
def meg() -> None:
    """The MEG (RCA) connector."""


def _sandbox_codes(base_url: str) -> set[str] | None:
    """Dossier codes shown on the sandbox's overview page, or None if it is unreachable."""
    import re

    import requests

    try:
        page = requests.get(base_url.rstrip("/") + "/", timeout=5)
    except requests.RequestException:
        return None
    if page.status_code != 200:
        return None
    return set(re.findall(r"\b([A-Z][A-Z0-9]{2,})\b", page.text))


@meg.command("demo-link")
@click.option(
    "--sandbox-data-dir",
    default=DEFAULT_SANDBOX_DIR,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Data folder of the local sandbox, to add dossiers missing there.",
)
@click.option("--firm", "firm_ref", default=None, help="Firm id or exact name (default: all).")
@click.option(
    "--skip",
    multiple=True,
    default=("DEMO03",),
    show_default=True,
    help="Dossier codes to leave unlinked.",
)
@click.option(
    "--public-url",
    default=None,
    help="Classeur's address in the printed links (default: CLASSEUR_PUBLIC_URL, else "
    "http://127.0.0.1:8000).",
)
def demo_link(
    sandbox_data_dir: str, firm_ref: str | None, skip: tuple[str, ...], public_url: str | None
) -> None:
    """Prepare the demo link: MEG dossiers matching the companies, then print the steps.

    Tokens are never written here: the link is made through Classeur's pages (OAuth).
    """
    from sqlalchemy import select

    from core.plugin_api import Company, Firm, app_context, db

    with app_context() as app:
        base_url = app.config["MEG_BASE_URL"]
        public = (public_url or app.config.get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        stmt = select(Company).order_by(Company.firm_id, Company.dossier_code)
        if firm_ref:
            firm = (
                db.session.get(Firm, int(firm_ref))
                if firm_ref.isdigit()
                else db.session.scalar(select(Firm).where(Firm.name == firm_ref))
            )
            if firm is None:
                raise click.ClickException(f"Cabinet introuvable : {firm_ref}")
            stmt = stmt.where(Company.firm_id == firm.id)
        companies = [c for c in db.session.scalars(stmt) if c.dossier_code not in skip]
        rows = [(c.id, c.name, c.dossier_code) for c in companies]
    if not rows:
        raise click.ClickException(
            "Aucune entreprise à lier : lancez d'abord « classeur init --demo »."
        )
    codes = _sandbox_codes(base_url)
    missing = sorted({code for _, _, code in rows} - (codes or set()))
    seeded_locally = False
    if missing and (codes is None or Path(sandbox_data_dir).exists()):
        # Not running yet (the README's run command starts it next): prepare its data folder.
        Path(sandbox_data_dir).mkdir(parents=True, exist_ok=True)
        seeded_locally = True
        from plugins.meg_export.sandbox import create_sandbox_app, seed_dossier
        from plugins.meg_export.sandbox.seed import DEFAULT_DOSSIERS

        sandbox = create_sandbox_app({"SANDBOX_DATA_DIR": sandbox_data_dir})
        # A fresh sandbox has its default dossiers (DEMO02 with its reverse-charge and
        # intra-EU options): only the others are added, never overwritten.
        defaults = {d["code"] for d in DEFAULT_DOSSIERS}
        for _, name, code in rows:
            if code in missing and code not in defaults:
                seed_dossier(sandbox, code, name)
                click.echo(f"Dossier MEG {code} ({name}) ajouté au bac à sable.")
        missing = []
    if codes is None and not seeded_locally:
        click.echo(
            f"Le bac à sable MEG ne répond pas sur {base_url} : lancez « classeur meg-sandbox » "
            "(ou « classeur serve --with-meg-sandbox 8100 »).",
            err=True,
        )
    elif missing:
        click.echo(f"Dossiers absents du bac à sable : {', '.join(missing)}.", err=True)
    click.echo("\nPour lier une entreprise à son dossier MEG :")
    click.echo("  1. Connectez-vous à Classeur.")
    click.echo("  2. Ouvrez l'onglet MEG de l'entreprise :")
    for company_id, name, code in rows:
        click.echo(f"     - {name} ({code}) : {public}/companies/{company_id}/meg")
    click.echo("  3. Cliquez sur « Lier un compte à ce dossier comptable ».")
    click.echo(f"  4. Sur la page MEG ({base_url}), connectez-vous : demo@meg.example / demo,")
    click.echo("     autorisez Classeur, puis choisissez le dossier de même code.")
    click.echo(
        "  5. L'onglet MEG affiche « Liée » : les factures d'achat validées partent vers MEG."
    )
    click.echo(f"  Liste des achats reçus par MEG : {base_url}/?source=Classeur")


@meg.group("payments")
def payments() -> None:
    """Payments read back from MEG (« Règlements »)."""


@payments.command("refresh")
@click.option("--company", "code", default=None, help="Only the company of this dossier code.")
def payments_refresh(code: str | None) -> None:
    """Read back now the payments of the linked companies (all, or one dossier)."""
    from core.plugin_api import app_context
    from plugins.meg_export.client import MegApiError
    from plugins.meg_export.payments import linked_companies, refresh_company

    failed = False
    with app_context():
        companies = linked_companies(code)
        if not companies:
            raise click.ClickException(
                f"Aucune entreprise liée à MEG{f' pour le dossier {code}' if code else ''}."
            )
        for company in companies:
            try:
                counts = refresh_company(company)
            except MegApiError as exc:
                failed = True
                click.echo(
                    f"{company.name} ({company.dossier_code}) : erreur — {exc.message}", err=True
                )
                continue
            click.echo(
                f"{company.name} ({company.dossier_code}) : {counts['matched']} règlement(s) "
                f"de factures publiées par Classeur, dont {counts['paid']} réglé(s)."
            )
    if failed:
        raise SystemExit(1)
