"""The embedded SMTP receiver (aiosmtpd): mail for the collection addresses is filed,
unknown recipients are refused (550).

aiosmtpd runs an asyncio loop in a thread of its own; the database work (finding the company
of an address, filing a message) runs in a small thread pool, each call in an app context, so
a slow disk never stalls the SMTP dialogue of other senders.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from core.plugin_api import db
from plugins.mail_collect import services

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("classeur.plugins.mail_collect")

REFUSALS = {
    "unknown": "550 5.1.1 Adresse de collecte inconnue",
    "disabled": "550 5.7.1 Collecte par e-mail desactivee pour cette adresse",
}


class CollectHandler:
    """aiosmtpd handler: RCPT checks the collection address, DATA files the message."""

    def __init__(self, app: Flask, workers: int = 4) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="mail-collect")

    def _in_app(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self.app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.rollback()

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: self._in_app(fn, *args, **kwargs))

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            recipient = await self._run(services.resolve_recipient, address)
        except Exception:
            log.exception("looking up recipient %s failed", address)
            return "451 4.3.0 Erreur temporaire, reessayez plus tard"
        if recipient.refusal is not None:
            log.info("refused recipient %s (%s)", address, recipient.refusal)
            return REFUSALS[recipient.refusal]
        envelope.rcpt_tos.append(address)
        companies = getattr(envelope, "mail_collect_companies", [])
        if recipient.company_id not in companies:
            companies.append(recipient.company_id)
        envelope.mail_collect_companies = companies
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        # The envelope sender (MAIL FROM; "" for the null sender <>): checked with From:.
        sender = str(envelope.mail_from or "").strip().strip("<>").lower()
        for company_id in getattr(envelope, "mail_collect_companies", []):
            try:
                await self._run(
                    services.receive,
                    company_id,
                    raw,
                    source="smtp",
                    envelope_sender=sender,
                )
            except Exception:
                # Nothing was acknowledged: the sender's server keeps the message and retries.
                log.exception("message for company %s not stored", company_id)
                return "451 4.3.0 Message non enregistre, reessayez plus tard"
        return "250 2.0.0 Message recu"


class _Controller(Controller):
    """aiosmtpd's controller, also on port 0 (a free port, read back once bound)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None and self.server.sockets:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_receiver(app: Flask, host: str, port: int) -> Controller:
    """Start the receiver in its own thread; returns the controller (``.port``, ``.stop()``)."""
    with app.app_context():
        limit = int(services.setting("MAIL_COLLECT_MAX_BYTES"))
        domain = str(services.setting("MAIL_DOMAIN"))
    controller = _Controller(
        CollectHandler(app),
        hostname=host,
        port=port,
        data_size_limit=limit,
        server_hostname=domain,
        ready_timeout=10.0,
    )
    controller.start()
    return controller
