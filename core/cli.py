"""The ``classeur`` command."""

from __future__ import annotations

import functools
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask

from core.config import load_config


@contextmanager
def app_context(**overrides: Any) -> Iterator[Flask]:
    """Create the app (workers off unless asked) and push its context."""
    from core.app import create_app

    overrides.setdefault("START_WORKERS", False)
    app = create_app(overrides)
    with app.app_context():
        yield app


def with_app(**overrides: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with app_context(**overrides) as app:
                return fn(app, *args, **kwargs)

        return wrapper

    return decorator


def fail(message: str) -> None:
    """Stop the command with a clear message and exit status 1."""
    raise click.ClickException(message)


class ClasseurGroup(click.Group):
    """The root group; plugins add their commands through ``register_cli_commands``."""

    _plugins_loaded = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from core.plugins.manager import Hooks, build_plugin_manager

        try:
            Hooks(build_plugin_manager(load_config())).register_cli_commands(cli=self)
        except Exception as exc:  # a broken plugin must not hide the core's commands
            click.echo(f"warning: plugin commands not loaded: {exc}", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugins()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from core.plugins.manager import PluginConfigError
        from core.tasks.celery_runner import CeleryNotInstalled

        try:
            return super().invoke(ctx)
        except CeleryNotInstalled as exc:  # CLASSEUR_TASK_RUNNER=celery without the extra
            raise click.ClickException(str(exc)) from exc
        except PluginConfigError as exc:  # CLASSEUR_PLUGINS names a plugin not installed
            raise click.ClickException(str(exc)) from exc


@click.group(cls=ClasseurGroup)
@click.version_option(package_name="classeur", message="classeur %(version)s")
def main() -> None:
    """Classeur: document management for accounting firms."""


# --- set-up ----------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@with_app()
def db_upgrade(app: Flask) -> None:
    """Apply every migration (core and plugins), then refill the search index if it is new
    or of an older layout (a migration may empty the PostgreSQL search table)."""
    from core.migrate import upgrade
    from core.search.services import rebuild_if_needed
    from core.state import classeur

    upgrade(app)
    indexed = rebuild_if_needed()
    classeur(app).search.close()
    if indexed:
        click.echo(f"search index rebuilt: {indexed} documents")
    click.echo("database is up to date")


DEMO_COMPANIES = [
    ("Boulangerie Martin", "DEMO01", "732829320"),
    ("Garage Dupont", "DEMO02", "552100554"),
    ("Cabinet Médical Leroy", "DEMO03", None),
]
#: The core's own binders of each demo company, created after the plugins' (``seed_demo_company``).
DEMO_BINDERS = [
    ("sales_invoices", "Factures de vente"),
    ("admin_documents", "Documents administratifs"),
]


@main.command()
@click.option("--demo", is_flag=True, help="Also create demo companies and binders.")
@click.option("--firm", "firm_name", default="Mon cabinet", show_default=True)
@click.option("--email", default="admin@classeur.local", show_default=True)
@click.option("--password", default=None, help="Admin password (generated if omitted).")
@with_app()
def init(app: Flask, demo: bool, firm_name: str, email: str, password: str | None) -> None:
    """Migrate the database, create the first firm and its admin (printed once)."""
    from sqlalchemy import select

    from core.auth.services import AuthError, create_user
    from core.db import db as database
    from core.migrate import upgrade
    from core.tenancy.models import Firm
    from core.tenancy.services import create_firm

    upgrade(app)
    session = database.session
    firm = session.scalar(select(Firm).order_by(Firm.id))
    if firm is None:
        firm = create_firm(firm_name)
        password = password or _generated_password()
        try:
            create_user(email, password, firm, "admin", name="Administrateur")
        except AuthError as exc:
            fail(exc.message)
        session.commit()
        click.echo(f"Firm created: {firm.name}")
        click.echo("Administrator account (shown once, keep it):")
        click.echo(f"  e-mail:   {email}")
        click.echo(f"  password: {password}")
    else:
        click.echo(f"Already initialised (firm: {firm.name}).")
    if demo:
        created = _create_demo(firm.id)
        session.commit()
        click.echo(f"Demo data: {created} companies created.")
        _create_demo_operator()


#: The demo's platform operator (``/operator``: the firms, their figures, disabling one).
DEMO_OPERATOR = "operateur@classeur.local"


def _create_demo_operator() -> None:
    """The demo operator, once: its password is printed that time only."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.db import db as database
    from core.operator.services import create_operator

    if database.session.scalar(select(User.id).where(User.email == DEMO_OPERATOR)) is not None:
        return
    password = _generated_password()
    create_operator(DEMO_OPERATOR, password, name="Opérateur")
    database.session.commit()
    click.echo("Operator account, page /operator (shown once, keep it):")
    click.echo(f"  operator e-mail:    {DEMO_OPERATOR}")
    click.echo(f"  operator password:  {password}")


def _generated_password() -> str:
    return secrets.token_urlsafe(12) + "-7"


def _create_demo(firm_id: int) -> int:
    """Create the demo companies missing from the firm; plugins seed each in
    ``seed_demo_company`` (before the core's binders, so the plugins' binders come first)."""
    from sqlalchemy import select

    from core.db import db as database
    from core.state import classeur
    from core.tenancy.models import Company
    from core.tenancy.services import create_binder, create_company

    hooks = classeur().hooks
    created = 0
    for name, code, siren in DEMO_COMPANIES:
        exists = database.session.scalar(
            select(Company).where(Company.firm_id == firm_id, Company.dossier_code == code)
        )
        if exists is not None:
            continue
        company = create_company(firm_id, name=name, dossier_code=code, siren=siren)
        hooks.seed_demo_company(company=company)
        for binder_type, binder_name in DEMO_BINDERS:
            create_binder(company, type=binder_type, name=binder_name)
        created += 1
    return created


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--with-mail-catcher",
    "mail_catcher_port",
    type=int,
    default=None,
    metavar="PORT",
    help="Also run the demo mail catcher (SMTP on 127.0.0.1:PORT, messages read in "
    "Administration → E-mails); mail goes there unless CLASSEUR_SMTP_HOST is set.",
)
def serve(
    host: str, port: int, threads: int, mail_catcher_port: int | None = None, **options: Any
) -> None:
    """Serve Classeur with a production WSGI server (waitress) and the in-process workers."""
    # Plugins add their options to this command in ``register_cli_commands`` (``options``
    # here) and act on them in ``before_serve`` (meg_export: ``--with-meg-sandbox PORT``).
    import logging

    import waitress

    from core.app import create_app
    from core.migrate import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    overrides: dict[str, Any] = {"START_WORKERS": False}
    if mail_catcher_port is not None:
        overrides["MAIL_CATCHER_PORT"] = mail_catcher_port
        if not load_config().get("SMTP_HOST"):
            overrides.update(SMTP_HOST="127.0.0.1", SMTP_PORT=mail_catcher_port)
    app = create_app(overrides)
    upgrade(app)
    state = app.extensions["classeur"]
    catcher = None
    if mail_catcher_port is not None:
        from core.mail.catcher import catcher_dir, start_catcher

        try:
            catcher = start_catcher(app.config["DATA_DIR"], "127.0.0.1", mail_catcher_port)
        except OSError as exc:
            fail(f"Mail catcher: cannot listen on 127.0.0.1:{mail_catcher_port}: {exc}")
        click.echo(
            f"Mail catcher on 127.0.0.1:{mail_catcher_port}: messages kept in "
            f"{catcher_dir(app.config['DATA_DIR'])}, read in Administration → E-mails "
            f"(/admin/mails)",
            err=True,
        )
    with app.app_context():
        from core.search.services import rebuild_if_needed

        rebuild_if_needed()
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="Classeur",
            max_request_body_size=int(app.config["MAX_REQUEST_BYTES"]),
        )
    except OSError as exc:
        fail(f"Cannot listen on {host}:{port}: {exc.strerror} (another server there? use --port)")
    # Plugins start their companions (the MEG sandbox...) and adjust the app's settings.
    state.hooks.before_serve(
        app=app, options={"host": host, "port": port, "threads": threads, **options}
    )
    if state.tasks is not None:
        state.tasks.start()
    click.echo(f"Classeur is serving on http://{host}:{port}", err=True)
    try:
        server.run()
    finally:
        if state.tasks is not None:
            state.tasks.stop(wait=False)
        if catcher is not None:
            catcher.stop()


# --- e-mail ----------------------------------------------------------------------------------


@main.group()
def mail() -> None:
    """Outgoing e-mail: a test message, the outbox, failed mail sent again."""


@mail.command("test")
@click.argument("address")
@with_app()
def mail_test(app: Flask, address: str) -> None:
    """Send a test message to ADDRESS now, through the SMTP settings."""
    from core.db import db as database
    from core.mail.models import MailState
    from core.mail.services import MailError, mail_configured, queue_mail, send_mail

    if not mail_configured():
        fail("E-mail is not configured: set CLASSEUR_SMTP_HOST (and CLASSEUR_SMTP_PORT...).")
    try:
        with app.test_request_context():
            mail = queue_mail(address, "Classeur : message d'essai", "test", kind="test")
            database.session.commit()
            mail_id = mail.id
    except MailError as exc:
        fail(str(exc))
    state = send_mail(mail_id)
    from core.mail.models import OutgoingMail

    row = database.session.get(OutgoingMail, mail_id, populate_existing=True)
    if state == MailState.SENT:
        click.echo(
            f"Sent to {address} through {app.config['SMTP_HOST']}:{app.config['SMTP_PORT']}."
        )
        return
    fail(
        f"Not sent ({row.last_error if row is not None else state}); it stays in the outbox "
        "and is retried by `classeur serve`."
    )


@mail.command("outbox")
@click.option("--all", "show_all", is_flag=True, help="Sent mail too.")
@with_app()
def mail_outbox(app: Flask, show_all: bool) -> None:
    """List the mail waiting (pending, sending) or failed, newest first."""
    from core.mail.models import MailState
    from core.mail.services import mail_configured, outbox

    states = None if show_all else (MailState.PENDING, MailState.SENDING, MailState.FAILED)
    rows = outbox(None, states, limit=1000)
    if not mail_configured():
        click.echo("E-mail is not configured (CLASSEUR_SMTP_HOST): mail waits here.", err=True)
    if not rows:
        click.echo("No mail waiting nor failed." if not show_all else "No mail.")
        return
    for m in rows:
        when = m.created_at.strftime("%Y-%m-%d %H:%M")
        error = f"  {m.last_error}" if m.last_error and m.state != MailState.SENT else ""
        click.echo(f"{m.id}\t{when}\t{m.state}\t{m.attempts}\t{m.to_address}\t{m.subject}{error}")


@mail.command("retry")
@click.option("--id", "mail_ids", multiple=True, type=int, help="Only this mail (repeatable).")
@with_app()
def mail_retry(app: Flask, mail_ids: tuple[int, ...]) -> None:
    """Put failed mail back in the queue (sent by `classeur serve`'s workers)."""
    from core.db import db as database
    from core.mail.models import OutgoingMail
    from core.mail.services import retry, retry_failed

    if mail_ids:
        count = 0
        for mail_id in mail_ids:
            row = database.session.get(OutgoingMail, mail_id)
            if row is None:
                fail(f"No mail {mail_id}.")
            count += retry(row)
    else:
        count = retry_failed()
    database.session.commit()
    click.echo(f"{count} mail(s) put back in the queue.")


# --- users and tokens ------------------------------------------------------------------------


def warn_without_public_url(app: Flask) -> None:
    """Warn (on stderr) that the links a command builds point at http://127.0.0.1:8000 when
    CLASSEUR_PUBLIC_URL is not set."""
    if not str(app.config.get("PUBLIC_URL") or "").strip():
        click.echo(
            "warning: CLASSEUR_PUBLIC_URL is not set; links in this output and in the "
            "e-mails point at http://127.0.0.1:8000 (set CLASSEUR_PUBLIC_URL to Classeur's "
            "public address).",
            err=True,
        )


@main.group()
def notifications() -> None:
    """Notifications: the daily digest sent now."""


@notifications.command("digest")
@click.option("--user", "email", default=None, help="Only this user's digest (e-mail).")
@click.option(
    "--force",
    is_flag=True,
    help="Send even before CLASSEUR_DIGEST_HOUR, or if today's digest went out already.",
)
@with_app()
def notifications_digest(app: Flask, email: str | None, force: bool) -> None:
    """Send the daily digests due now (queued in the outbox, sent by `classeur serve` or
    `classeur mail retry`)."""
    from sqlalchemy import func, select

    from core.auth.models import User
    from core.db import db as database
    from core.db import utcnow
    from core.notifications.services import (
        _zone,
        digest_candidates,
        digest_day,
        run_digest,
    )

    day = digest_day()
    if day is None:
        if not force:
            fail(
                f"The digest is not due yet (CLASSEUR_DIGEST_HOUR={app.config['DIGEST_HOUR']}, "
                "the firm's time zone); --force sends it now."
            )
        day = utcnow().astimezone(_zone()).date()
    if email:
        user = database.session.scalar(
            select(User).where(func.lower(User.email) == email.strip().lower())
        )
        if user is None:
            fail(f"No user {email!r}.")
        user_ids = [user.id]
    else:
        user_ids = digest_candidates(day, limit=100_000)
    warn_without_public_url(app)
    counts = {"sent": 0, "empty": 0, "done": 0}
    for user_id in user_ids:
        outcome = run_digest(user_id, day.isoformat(), force=force)
        counts[outcome or "done"] += 1
    click.echo(
        f"digest of {day.isoformat()}: {counts['sent']} sent, {counts['empty']} with nothing "
        f"to tell, {counts['done']} done already"
    )


@main.group()
def users() -> None:
    """User accounts."""


def _find_firm(value: str) -> Any:
    from sqlalchemy import select

    from core.db import db as database
    from core.tenancy.models import Firm

    if value.isdigit():
        firm = database.session.get(Firm, int(value))
    else:
        firm = database.session.scalar(select(Firm).where(Firm.name == value))
    if firm is None:
        fail(f"No firm {value!r} (give its id or exact name).")
    return firm


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--firm", "firm_ref", required=True, help="Firm id or exact name.")
@click.option(
    "--role",
    type=click.Choice(["admin", "accountant", "uploader"]),
    default="accountant",
    show_default=True,
)
@click.option("--company", "companies", multiple=True, help="Dossier code (uploaders).")
@click.option("--name", default="")
@click.option(
    "--operator", is_flag=True, help="Also the platform's operator (see `classeur operators`)."
)
@with_app()
def users_create(
    app: Flask,
    email: str,
    password: str,
    firm_ref: str,
    role: str,
    companies: tuple[str, ...],
    name: str,
    operator: bool,
) -> None:
    """Create a user in a firm."""
    from sqlalchemy import select

    from core.auth.services import AuthError, create_user
    from core.db import db as database
    from core.tenancy.models import Company

    firm = _find_firm(firm_ref)
    chosen = []
    for code in companies:
        company = database.session.scalar(
            select(Company).where(Company.firm_id == firm.id, Company.dossier_code == code.upper())
        )
        if company is None:
            fail(f"No company with dossier code {code!r} in firm {firm.name!r}.")
        chosen.append(company)
    try:
        user = create_user(email, password, firm, role, name=name, companies=chosen)
    except AuthError as exc:
        fail(exc.message)
    user.is_operator = operator
    database.session.commit()
    click.echo(
        f"user {user.email} created ({role}, firm {firm.name}{', operator' if operator else ''})"
    )


def _firm_or_only(firm_ref: str | None) -> Any:
    """The firm named by ``--firm``, else the instance's only firm."""
    from sqlalchemy import select

    from core.db import db as database
    from core.tenancy.models import Firm

    if firm_ref:
        return _find_firm(firm_ref)
    firms = database.session.scalars(select(Firm).order_by(Firm.id).limit(2)).all()
    if len(firms) != 1:
        fail("Several firms (or none): say which with --firm (id or exact name).")
    return firms[0]


@users.command("invite")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["admin", "accountant", "uploader"]),
    required=True,
)
@click.option("--company", "companies", multiple=True, help="Dossier code (uploaders).")
@click.option("--firm", "firm_ref", default=None, help="Firm id or exact name (if several).")
@click.option("--name", default="")
@with_app()
def users_invite(
    app: Flask,
    email: str,
    role: str,
    companies: tuple[str, ...],
    firm_ref: str | None,
    name: str,
) -> None:
    """Invite a person by e-mail (a 7-day link to choose a password). The link is printed
    too, for an instance that sends no mail."""
    from sqlalchemy import select

    from core.auth.services import AuthError, invite_user
    from core.db import db as database
    from core.tenancy.models import Company

    firm = _firm_or_only(firm_ref)
    chosen = []
    for code in companies:
        company = database.session.scalar(
            select(Company).where(
                Company.firm_id == firm.id, Company.dossier_code == code.strip().upper()
            )
        )
        if company is None:
            fail(f"No company with dossier code {code!r} in firm {firm.name!r}.")
        chosen.append(company)
    if chosen and role != "uploader":
        fail("--company is for an uploader only (the other roles see every company).")
    try:
        membership, link = invite_user(firm, email, role, name=name, companies=chosen)
    except AuthError as exc:
        fail(exc.message)
    database.session.commit()
    user = membership.user
    if link:
        warn_without_public_url(app)
        click.echo(f"invitation queued for {user.email} ({role}, firm {firm.name})")
        click.echo(f"link (valid 7 days, single use): {link}")
    else:
        click.echo(f"{user.email} already had an account: added to firm {firm.name} ({role})")


@users.command("list")
@click.option("--firm", "firm_ref", default=None, help="Firm id or exact name (default: all).")
@with_app()
def users_list(app: Flask, firm_ref: str | None) -> None:
    """List users: address, firm, role, state, last login."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.db import db as database
    from core.tenancy.models import Membership

    stmt = select(Membership).join(User).order_by(Membership.firm_id, User.email)
    if firm_ref:
        stmt = stmt.where(Membership.firm_id == _find_firm(firm_ref).id)
    rows = database.session.scalars(stmt).all()
    for m in rows:
        user = m.user
        state = "inactive" if not user.active else "invited" if user.invited_at else "active"
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never"
        codes = ",".join(sorted(c.dossier_code for c in m.companies))
        role = f"{m.role}({codes})" if codes else str(m.role)
        click.echo(f"{user.email}\t{m.firm.name}\t{role}\t{state}\t{last}")
    if firm_ref is None:
        for user in database.session.scalars(
            select(User).where(~User.memberships.any()).order_by(User.email)
        ):
            state = "active" if user.active else "inactive"
            kind = "operator" if user.is_operator else "-"
            click.echo(f"{user.email}\t-\t{kind}\t{state}\t-")


@users.command("deactivate")
@click.argument("email")
@click.option(
    "--firm",
    "firm_ref",
    default=None,
    help="Only in this firm (an account shared with another firm just leaves this one).",
)
@with_app()
def users_deactivate(app: Flask, email: str, firm_ref: str | None) -> None:
    """Deactivate an account (it can no longer log in nor use its API tokens; nothing is
    deleted). A firm's last active admin is kept."""
    from sqlalchemy import select

    from core.auth.audit import audit
    from core.auth.models import User
    from core.auth.services import AuthError, deactivate_member, ensure_an_admin_left, membership_of
    from core.db import db as database

    user = database.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        fail(f"No user {email!r}.")
    try:
        if firm_ref:
            firm = _find_firm(firm_ref)
            membership = membership_of(user.id, firm.id)
            if membership is None:
                fail(f"{user.email} is not a user of firm {firm.name!r}.")
            outcome = deactivate_member(membership)
        else:
            for membership in user.memberships:
                ensure_an_admin_left(membership)
            outcome = "deactivated"
            if user.active:
                user.active = False
                for membership in user.memberships:
                    audit("user_deactivated", target=f"user:{user.id}", firm_id=membership.firm_id)
    except AuthError as exc:
        fail(exc.message)
    database.session.commit()
    click.echo(f"{user.email} {outcome}")


@users.command("reactivate")
@click.argument("email")
@with_app()
def users_reactivate(app: Flask, email: str) -> None:
    """Reactivate a deactivated account."""
    from sqlalchemy import select

    from core.auth.audit import audit
    from core.auth.models import User
    from core.db import db as database

    user = database.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        fail(f"No user {email!r}.")
    if not user.active:
        user.active = True
        for membership in user.memberships:
            audit("user_reactivated", target=f"user:{user.id}", firm_id=membership.firm_id)
        database.session.commit()
    click.echo(f"{user.email} active")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli")
@click.option(
    "--scopes",
    default=None,
    help="Comma-separated: read, write, admin (users, modules: an admin user only). "
    "Default: read,write; read,write,admin for an operator outside the firms (the operator "
    "API needs admin).",
)
@click.option("--days", default=365, show_default=True, type=int, help="0 = never expires.")
@click.option(
    "--firm",
    "firm_id",
    default=None,
    type=int,
    help="Id of the firm the token acts in (only that one). Default: the user's first firm.",
)
@with_app()
def tokens_create(
    app: Flask, email: str, name: str, scopes: str | None, days: int, firm_id: int | None
) -> None:
    """Create an API token bound to one firm; the token alone is printed on the last line."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.auth.services import AuthError, create_token
    from core.db import db as database

    user = database.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        fail(f"No user {email!r}.")
    if scopes is None:
        scopes = "read,write,admin" if user.is_operator and not user.memberships else "read,write"
    try:
        token, clear = create_token(
            user,
            name=name,
            scopes=[s.strip() for s in scopes.split(",") if s.strip()],
            expires_in_days=days or None,
            firm_id=firm_id,
        )
    except AuthError as exc:
        fail(exc.message)
    database.session.commit()
    firm = f"firm {token.firm_id}" if token.firm_id is not None else "no firm"
    click.echo(f"token {token.prefix}… for {user.email} ({firm}), scopes {token.scopes}", err=True)
    click.echo(clear)


# --- firms and operators (several firms per instance) ----------------------------------------


@main.group()
def firms() -> None:
    """The firms of this instance (the operator's commands)."""


@firms.command("create")
@click.argument("name")
@click.option("--admin-email", default=None, help="Its first administrator (invited by e-mail).")
@click.option(
    "--admin-name", default=None, help="The administrator's name (default: before the @)."
)
@with_app()
def firms_create(app: Flask, name: str, admin_email: str | None, admin_name: str | None) -> None:
    """Create firm NAME and, with --admin-email, invite its first administrator."""
    from core.db import db as database
    from core.errors import ServiceError
    from core.tenancy.services import open_firm

    try:
        opened = open_firm(name, admin_email, admin_name=admin_name)
    except ServiceError as exc:
        fail(exc.message)
    database.session.commit()
    firm = opened.firm
    click.echo(f"firm {firm.id} created: {firm.name}")
    if opened.admin_access == "invited":
        click.echo(f"administrator {opened.admin.email} invited by e-mail")
        if opened.link:
            warn_without_public_url(app)
            click.echo(f"  invitation link: {opened.link}")
    elif opened.admin_access == "existing":
        click.echo(f"administrator: {opened.admin.email} (existing account, password kept)")
    elif opened.admin_access == "password":
        click.echo("Administrator account (shown once, hand it over):")
        click.echo(f"  e-mail:   {opened.admin.email}")
        click.echo(f"  password: {opened.password}")


@firms.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@with_app()
def firms_list(app: Flask, as_json: bool) -> None:
    """Every firm: id, name, active, users, companies, documents, storage, last activity."""
    import json

    from core.operator.services import firm_figures

    rows = firm_figures()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{'id':>4}  {'name':30} {'active':6} {'users':>5} {'companies':>9} {'documents':>9} "
        f"{'storage':>12}  last activity"
    )
    for r in rows:
        last = r.last_activity.strftime("%Y-%m-%d %H:%M") if r.last_activity else "-"
        click.echo(
            f"{r.id:>4}  {r.name[:30]:30} {'yes' if r.active else 'no':6} {r.users:>5} "
            f"{r.companies:>9} {r.documents:>9} {r.storage_bytes:>12}  {last}"
        )


def _switch_firm(ref: str, enabled: bool) -> None:
    from core.db import db as database
    from core.tenancy.services import disable_firm, enable_firm, find_firm

    with app_context():
        firm = find_firm(ref)
        if firm is None:
            fail(f"No firm {ref!r} (give its id or exact name; see `classeur firms list`).")
        changed = (enable_firm if enabled else disable_firm)(firm)
        database.session.commit()
        state = "enabled" if enabled else "disabled"
        if not changed:
            click.echo(f"firm {firm.id} ({firm.name}) was already {state}")
        else:
            click.echo(f"firm {firm.id} ({firm.name}) {state}")


@firms.command("disable")
@click.argument("ref")
def firms_disable(ref: str) -> None:
    """Disable firm REF (id or name): its members can no longer log in nor use the API;
    nothing is deleted."""
    _switch_firm(ref, False)


@firms.command("enable")
@click.argument("ref")
def firms_enable(ref: str) -> None:
    """Enable firm REF (id or name) again: everything it had is back."""
    _switch_firm(ref, True)


@main.group()
def operators() -> None:
    """The platform's operators: above the firms, they create, list and disable them."""


@operators.command("create")
@click.argument("email")
@click.option("--password", default=None, help="Generated and printed once if omitted.")
@click.option("--name", default="")
@with_app()
def operators_create(app: Flask, email: str, password: str | None, name: str) -> None:
    """Create operator EMAIL (in no firm), or make an existing account an operator."""
    from core.auth.services import AuthError
    from core.db import db as database
    from core.operator.services import create_operator

    generated = password is None
    password = password or _generated_password()
    try:
        user, created = create_operator(email, password, name=name)
    except AuthError as exc:
        fail(exc.message)
    database.session.commit()
    if not created:
        click.echo(f"{user.email} is now an operator (existing account, password kept)")
        return
    click.echo(f"operator {user.email} created")
    if generated:
        click.echo(f"  password: {password}")


@operators.command("list")
@with_app()
def operators_list(app: Flask) -> None:
    """The operators' e-mails."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.db import db as database

    for user in database.session.scalars(
        select(User).where(User.is_operator.is_(True)).order_by(User.email)
    ):
        click.echo(f"{user.email}{'' if user.active else ' (deactivated)'}")


# --- plugins ---------------------------------------------------------------------------------


@main.group()
def plugins() -> None:
    """Plugins."""


@plugins.command("list")
@click.option("--firm", "firm_id", type=int, help="Also show this firm's switches.")
def plugins_list(firm_id: int | None) -> None:
    """List loaded plugins: kind, default switch, binder types and connectors."""
    with app_context() as app:
        state = app.extensions["classeur"]
        firm = {}
        if firm_id is None:  # one firm (the usual installation): show its switches
            from sqlalchemy import select

            from core.db import db as database
            from core.tenancy.models import Firm

            firms = database.session.scalars(select(Firm.id).limit(2)).all()
            firm_id = firms[0] if len(firms) == 1 else None
        if firm_id is not None:
            from core.plugins.activation import plugin_states

            firm = {s["name"]: s for s in plugin_states(firm_id)}
        for info in state.plugins.all():
            types = [t for t, p in state.plugins.binder_types.items() if p == info.name]
            exporters = state.plugins.exporters_of(info.name)
            default = (
                "always on"
                if not info.switchable
                else ("on by default" if info.default_enabled else "off by default")
            )
            extra = [info.kind, default]
            if info.name in firm and info.switchable:
                extra.append("firm: " + ("on" if firm[info.name]["enabled"] else "off"))
            if types:
                extra.append("binder types: " + ", ".join(sorted(types)))
            if exporters:
                extra.append("connectors: " + ", ".join(sorted(exporters)))
            click.echo(f"{info.name:20} {info.label:30} {'; '.join(extra)}")


def _switch_plugin(
    name: str, enabled: bool | None, firm_id: int | None, company_ref: str | None
) -> None:
    from sqlalchemy import select

    from core.db import db as database
    from core.errors import ServiceError
    from core.exports.services import submit_exports
    from core.plugins.activation import switch_plugin
    from core.tenancy.models import Firm

    with app_context():
        company_id = None
        if company_ref is not None:
            company = _company_by_ref(company_ref, firm_id)
            firm_id, company_id = company.firm_id, company.id
        elif firm_id is None:
            firms = database.session.scalars(select(Firm.id)).all()
            if len(firms) != 1:
                fail("Several firms (or none): say which with --firm ID.")
            firm_id = firms[0]
        elif database.session.get(Firm, firm_id) is None:
            fail(f"No firm {firm_id}.")
        try:
            to_run = switch_plugin(firm_id, name, enabled, company_id)
        except ServiceError as exc:
            fail(exc.message)
        database.session.commit()
        submit_exports(to_run)
        state = {True: "on", False: "off", None: "inherit"}[enabled]
        where = f"company {company_id}" if company_id is not None else f"firm {firm_id}"
        click.echo(
            f"{name}: {state} for {where}" + (f"; {len(to_run)} export(s) queued" if to_run else "")
        )


def _company_by_ref(ref: str, firm_id: int | None) -> Any:
    """The company of ``ref``: its dossier code (``DEMO01``) or its id, within ``firm_id``
    when given; a code two firms use needs ``--firm``."""
    from sqlalchemy import select

    from core.db import db as database
    from core.tenancy.models import Company

    stmt = select(Company).where(Company.dossier_code == ref.strip())
    if firm_id is not None:
        stmt = stmt.where(Company.firm_id == firm_id)
    found = database.session.scalars(stmt).all()
    if not found and ref.strip().isdigit():
        company = database.session.get(Company, int(ref))
        found = [company] if company and firm_id in (None, company.firm_id) else []
    if not found:
        fail(f"No company {ref!r}" + (f" in firm {firm_id}." if firm_id else "."))
    if len(found) > 1:
        fail(f"Several firms have a company {ref!r}: say which with --firm ID.")
    return found[0]


_firm_option = click.option("--firm", "firm_id", type=int, help="Firm id (default: the only one).")
_company_option = click.option(
    "--company",
    "company_ref",
    help="Company (dossier code or id): switch for this company only.",
)


@plugins.command("enable")
@click.argument("name")
@_firm_option
@_company_option
def plugins_enable(name: str, firm_id: int | None, company_ref: str | None) -> None:
    """Switch plugin NAME on for a firm, or for one company."""
    _switch_plugin(name, True, firm_id, company_ref)


@plugins.command("disable")
@click.argument("name")
@_firm_option
@_company_option
def plugins_disable(name: str, firm_id: int | None, company_ref: str | None) -> None:
    """Switch plugin NAME off for a firm, or for one company."""
    _switch_plugin(name, False, firm_id, company_ref)


@plugins.command("inherit")
@click.argument("name")
@_firm_option
@_company_option
def plugins_inherit(name: str, firm_id: int | None, company_ref: str | None) -> None:
    """Forget a switch: a company follows its firm again, a firm the plugin's default."""
    _switch_plugin(name, None, firm_id, company_ref)


# --- documents -------------------------------------------------------------------------------


def _iter_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            fail(f"No such file or folder: {raw}")
    return files


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--binder", "binder_id", required=True, type=int, help="Binder id.")
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Read the documents before returning."
)
@with_app()
def import_(app: Flask, paths: tuple[str, ...], binder_id: int, wait: bool) -> None:
    """Import files and folders into a binder (a file already there is skipped)."""
    from tqdm import tqdm

    from core.binders.models import Binder
    from core.db import db as database
    from core.documents.services import store_upload
    from core.errors import ServiceError

    binder = database.session.get(Binder, binder_id)
    if binder is None:
        fail(f"No binder {binder_id}.")
    files = _iter_files(paths)
    stored, skipped, refused = [], 0, []
    for path in tqdm(files, desc="import", unit="file", file=sys.stderr):
        try:
            with path.open("rb") as fh:
                result = store_upload(binder, fh, path.name, None)
        except ServiceError as exc:
            refused.append((path, exc.message))
            continue
        if result.duplicate:
            skipped += 1
        else:
            stored.append(result.document.id)
    for path, message in refused:
        click.echo(f"refused: {path}: {message}", err=True)
    runner = app.extensions["classeur"].tasks
    if wait and stored and runner is not None:
        runner.start()  # queues the documents waiting to be read
        runner.wait_idle(timeout=3600)
        runner.stop()
    click.echo(f"{len(stored)} imported, {skipped} skipped (already there), {len(refused)} refused")
    if refused and not stored and not skipped:
        sys.exit(1)


@main.group()
def documents() -> None:
    """Documents."""


@documents.command("retry")
@click.argument("document_ids", nargs=-1, type=int, required=True)
@with_app()
def documents_retry(app: Flask, document_ids: tuple[int, ...]) -> None:
    """Read failed documents again."""
    from core.db import db as database
    from core.documents.models import Document
    from core.documents.services import retry_processing
    from core.errors import ServiceError

    runner = app.extensions["classeur"].tasks
    runner.start()
    for document_id in document_ids:
        document = database.session.get(Document, document_id)
        if document is None:
            fail(f"No document {document_id}.")
        try:
            retry_processing(document, None)
        except ServiceError as exc:
            fail(f"document {document_id}: {exc.message}")
        runner.submit("process_document", document_id)
    runner.wait_idle(timeout=3600)
    runner.stop()
    for document_id in document_ids:
        document = database.session.get(Document, document_id)
        database.session.refresh(document)
        reason = f" ({document.failure_reason})" if document.failure_reason else ""
        click.echo(f"document {document_id}: {document.state}{reason}")


@documents.command("refresh-lists")
@with_app()
def documents_refresh_lists(app: Flask) -> None:
    """Recompute the date, amount and party lists sort and filter on, from each document's
    fields (after a binder type changed what it makes searchable)."""
    from core.documents.listing import refresh_all

    click.echo(f"{refresh_all()} documents refreshed")


@main.command()
@click.option("--chunk", default=500, show_default=True, type=int)
@with_app()
def reindex(app: Flask, chunk: int) -> None:
    """Rebuild the search index from the database, in chunks."""
    from core.search.services import rebuild_index

    count = rebuild_index(chunk_size=chunk, progress=True)
    click.echo(f"{count} documents indexed")


@main.group()
def trash() -> None:
    """The trash: documents set aside, deleted for good after TRASH_RETENTION_DAYS."""


@trash.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    default=None,
    help="Days in the trash (default: the TRASH_RETENTION_DAYS setting).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@with_app()
def trash_purge(app: Flask, older_than: int | None, dry_run: bool) -> None:
    """Delete the documents trashed for longer than the delay: rows and files (an original
    still used by another document is kept); an audit line keeps what was exported where."""
    from core.documents.services import purge_trash

    days = older_than if older_than is not None else int(app.config["TRASH_RETENTION_DAYS"])
    records = purge_trash(older_than_days=days, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for r in records:
        exports = ", ".join(
            f"{e['connector']} {e['state']}" + (f" ({e['remote_id']})" if e["remote_id"] else "")
            for e in r["exports"]
        )
        files = "files removed" if r["files_deleted"] else "original kept (shared)"
        if dry_run:
            files = "files would go" if r["files_deleted"] else "original kept (shared)"
        click.echo(
            f"{verb} document {r['document_id']} {r['filename']!r} "
            f"[{r['dossier_code']} / {r['binder_name']}], trashed {r['trashed_at']}; {files}"
            + (f"; exports: {exports}" if exports else "")
        )
    click.echo(f"{len(records)} document(s) {verb} (in the trash for more than {days} days)")


def _add_scale_out_commands() -> None:
    from core.tasks.worker import worker_command

    main.add_command(worker_command)


_add_scale_out_commands()


def _add_backup_commands() -> None:
    from core.backup import export_all_command, import_all_command

    main.add_command(export_all_command)
    main.add_command(import_all_command)


_add_backup_commands()
