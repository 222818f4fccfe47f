"""Fixtures of the e-mail collection tests: the plugin's own SMTP receiver on loopback, and a
real IMAP server (Debian's dovecot-imapd) started unprivileged in a temporary folder.

Helpers are fixtures because the suite runs with ``--import-mode=importlib``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from core.db import db

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
#: IMAP accounts created with the server, one per test that asks for one.
USERS = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return next((p for p in DOVECOT_CANDIDATES if os.path.exists(p)), None)


def _install_dovecot() -> str:
    """Install dovecot-imapd (as ``make system`` does); what went wrong, if it did."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and not shutil.which("sudo"):
        return "not root and no sudo"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*prefix, "apt-get", "install", "-y", "-q", "dovecot-imapd"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            subprocess.run(
                [*prefix, "apt-get", "update", "-q"], capture_output=True, timeout=600, env=env
            )
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr or done.stdout)[-500:]


@dataclass
class Dovecot:
    """A running dovecot: ``host``, ``port``, and users added on the fly."""

    host: str
    port: int
    folder: Path
    uid: int
    gid: int
    users: list[str] = field(default_factory=list)
    taken: int = 0

    def add_user(self, name: str, password: str) -> None:
        """Add an account (before dovecot starts: it rereads the file at most once a second,
        so accounts added later might not be seen yet)."""
        home = self.folder / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, self.uid, self.gid)
        with open(self.folder / "passwd", "a") as fh:
            fh.write(f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n")
        self.users.append(name)

    def take_user(self) -> tuple[str, str]:
        """An account no test has used yet (each has an empty INBOX)."""
        name = self.users[self.taken]
        self.taken += 1
        return name, f"secret-{name}"

    def imap(self, user: str, password: str) -> Any:
        import imaplib

        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(user, password)
        return conn


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """dovecot-imapd on a free loopback port, its own configuration, users and maildirs in a
    temporary folder. Installed if missing; the tests skip only if it cannot be."""
    binary = _dovecot_binary()
    if binary is None:
        problem = _install_dovecot()
        binary = _dovecot_binary()
        if binary is None:
            pytest.skip(f"dovecot-imapd could not be installed: {problem.strip()}")
    folder = Path(tempfile.mkdtemp(prefix="classeur-dovecot-"))
    # Dovecot refuses to log users in as root, and its login processes must not run as root:
    # as root they run as "nobody", who must reach the maildirs.
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        login_user, uid, gid = "nobody", nobody.pw_uid, nobody.pw_gid
        folder.chmod(0o755)
    else:
        login_user, uid, gid = pwd.getpwuid(os.getuid()).pw_name, os.getuid(), os.getgid()
    for name in ("run", "state", "mail", "home"):
        (folder / name).mkdir()
    for name in ("mail", "home"):
        os.chown(folder / name, uid, gid)
    (folder / "passwd").write_text("")
    port = _free_port()
    internal_user = pwd.getpwuid(os.getuid()).pw_name
    config = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = classeur-test-{port}
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{folder}/mail/%u
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {min(uid, 500)}
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {internal_user}
}}
service auth-worker {{
  user = {internal_user}
}}
"""
    conf = folder / "dovecot.conf"
    conf.write_text(config)
    server = Dovecot("127.0.0.1", port, folder, uid, gid)
    for number in range(USERS):
        server.add_user(f"client{number}", f"secret-client{number}")
    # dovecot daemonizes: its children keep the output open, so it goes to a file, not a pipe.
    with open(folder / "start.log", "w") as out:
        started = subprocess.run(
            [binary, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    if started.returncode != 0:
        logs = "".join(
            (folder / name).read_text()
            for name in ("start.log", "dovecot.log")
            if (folder / name).exists()
        )
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"dovecot did not start: {logs}")
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("dovecot did not answer: " + (folder / "dovecot.log").read_text())
        time.sleep(0.1)
    try:
        yield server
    finally:
        subprocess.run(
            [binary, "-c", str(conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pid_file = folder / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> tuple[str, str]:
    """A fresh IMAP account (empty INBOX) for one test: (user, password)."""
    return dovecot.take_user()


class Collect:
    """One company with collection on: its address, helpers to send and to inspect."""

    def __init__(self, app: Any, factory: Any) -> None:
        self.app = app
        self.factory = factory
        self.firm = factory.firm()
        self.company = factory.company(self.firm, name="Boulangerie Martin", code="BM01")
        self.binder = factory.binder(self.company, type="purchase_invoices", name="Achats")
        self.admin = factory.user(self.firm, "admin")
        self.configure(enabled=True, senders=["compta@martin.fr", "@fournisseur.fr"])

    def configure(self, *, enabled: bool = True, senders: list[str] | None = None) -> None:
        from core.tenancy.models import Company
        from plugins.mail_collect import services

        with self.app.app_context():
            company = db.session.get(Company, self.company.id)
            mailbox = services.mailbox_in_session(company)
            mailbox.enabled = enabled
            if senders is not None:
                mailbox.allowed_senders = senders
            db.session.commit()
            self.mailbox_id = mailbox.id
            self.address = services.collection_address(mailbox, company)

    def set_imap(self, dovecot: Dovecot, user: str, password: str, **extra: Any) -> None:
        from plugins.mail_collect import services
        from plugins.mail_collect.models import Mailbox

        with self.app.app_context():
            mailbox = db.session.get(Mailbox, self.mailbox_id)
            services.set_imap_settings(
                mailbox,
                {
                    "host": dovecot.host,
                    "port": dovecot.port,
                    "security": "none",
                    "user": user,
                    "password": password,
                    **extra,
                },
            )
            mailbox.imap_enabled = True
            db.session.commit()

    def documents(self) -> list[Any]:
        from sqlalchemy import select

        from core.documents.models import Document

        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(Document)
                    .where(Document.company_id == self.company.id)
                    .order_by(Document.id)
                )
            )

    def events(self, document_id: int) -> list[Any]:
        from sqlalchemy import select

        from core.documents.models import DocumentEvent

        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(DocumentEvent).where(
                        DocumentEvent.document_id == document_id,
                        DocumentEvent.action == "email_received",
                    )
                )
            )

    def quarantine(self) -> list[Any]:
        from sqlalchemy import select

        from plugins.mail_collect.models import QuarantineItem

        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(QuarantineItem)
                    .where(QuarantineItem.company_id == self.company.id)
                    .order_by(QuarantineItem.id)
                )
            )

    def messages(self) -> list[Any]:
        from sqlalchemy import select

        from plugins.mail_collect.models import MailMessage

        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(MailMessage)
                    .where(MailMessage.company_id == self.company.id)
                    .order_by(MailMessage.id)
                )
            )


@pytest.fixture
def collect(app: Any, factory: Any) -> Collect:
    return Collect(app, factory)


@pytest.fixture
def receiver(app: Any) -> Iterator[Any]:
    """The plugin's SMTP receiver on a free loopback port."""
    from plugins.mail_collect.smtp import start_receiver

    controller = start_receiver(app, "127.0.0.1", 0)
    try:
        yield controller
    finally:
        controller.stop()
        controller.handler.pool.shutdown(wait=True)


def build_message(
    *,
    sender: str = "compta@martin.fr",
    to: str = "collecte@example.fr",
    subject: str = "Facture de novembre",
    attachments: list[tuple[str, bytes, str]] = (),
    message_id: str | None = None,
    attached_messages: list[EmailMessage] = (),
) -> EmailMessage:
    """A message with (filename, bytes, mime type) attachments and attached messages."""
    from datetime import UTC, datetime

    msg = EmailMessage()
    msg["From"] = f"Comptabilité Martin <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 9, 15, tzinfo=UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="martin.fr")
    msg.set_content("Bonjour,\nveuillez trouver ci-joint nos factures.\n")
    for name, content, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    for inner in attached_messages:
        msg.add_attachment(inner)
    return msg


@pytest.fixture
def message_factory() -> Any:
    return build_message


@pytest.fixture
def pdf_bytes() -> Any:
    """A small born-digital PDF with these lines."""
    from tests.conftest import make_pdf_bytes

    return lambda *lines: make_pdf_bytes(list(lines) or ["Facture"])
