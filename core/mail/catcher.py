"""The mail catcher for the demo and the tests: an SMTP server (aiosmtpd) that accepts every
message and keeps it as a ``.eml`` file under ``<DATA_DIR>/mail-catcher/``, readable in
Administration → E-mails. Nothing is relayed.

``classeur serve --with-mail-catcher PORT`` runs it beside Classeur (``make run`` does, and
points ``CLASSEUR_SMTP_HOST``/``CLASSEUR_SMTP_PORT`` at it).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("classeur.mail")

#: Folder of the caught messages, under the data folder.
FOLDER = "mail-catcher"
#: Largest message kept (bytes).
MAX_BYTES = 10 * 1024 * 1024


def catcher_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / FOLDER


class CatcherHandler:
    """aiosmtpd handler: every message is written to its own file (written whole, then
    renamed, so a reader never sees half a message)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        try:
            tmp.write_bytes(raw)
            tmp.rename(self.folder / name)
        except OSError:
            log.exception("mail catcher: could not store a message")
            return "451 4.3.0 Message non enregistre"
        return "250 2.0.0 Message recu"


class _Controller(Controller):
    """aiosmtpd's controller, also on port 0 (a free port, read back once bound)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None and self.server.sockets:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_catcher(data_dir: str | Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the catcher in its own thread; returns the controller (``.port``, ``.stop()``)."""
    controller = _Controller(
        CatcherHandler(catcher_dir(data_dir)),
        hostname=host,
        port=port,
        data_size_limit=MAX_BYTES,
        server_hostname="classeur-mail-catcher",
        ready_timeout=10.0,
    )
    controller.start()
    return controller


@dataclass
class CaughtMail:
    """One caught message, parsed."""

    name: str
    message: EmailMessage
    received_at: datetime

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def sender(self) -> str:
        return str(self.message.get("From", ""))

    @property
    def mail_id(self) -> int | None:
        """The outbox row it came from (Classeur's own header), if any."""
        from core.mail.services import ID_HEADER

        value = str(self.message.get(ID_HEADER, "")).strip()
        return int(value) if value.isdigit() else None

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None


def _parse(path: Path) -> CaughtMail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    try:
        received = parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return CaughtMail(name=path.name, message=message, received_at=received)


def caught_mails(data_dir: str | Path, limit: int = 200) -> list[CaughtMail]:
    """The caught messages, newest first."""
    folder = catcher_dir(data_dir)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    return [_parse(p) for p in paths]


def caught_mail(data_dir: str | Path, name: str) -> CaughtMail | None:
    """One caught message by its file name (``None`` if unknown or not a plain name)."""
    if "/" in name or "\\" in name or not name.endswith(".eml") or name.startswith("."):
        return None
    path = catcher_dir(data_dir) / name
    return _parse(path) if path.is_file() else None
