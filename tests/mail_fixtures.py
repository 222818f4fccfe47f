"""The ``mail_outbox`` fixture: a real SMTP server (Classeur's mail catcher, aiosmtpd) on a
free port, with the test app's ``SMTP_HOST``/``SMTP_PORT`` pointed at it.

Use it from a test module (or a conftest) with
``from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401`` (the fixture's name is
``mail_outbox``).

Tests do not start the workers, so queued mail stays in the outbox until the test calls
``mail_outbox.deliver()``, which sends every due mail now and returns what the server received
(:class:`email.message.EmailMessage` objects, oldest first)::

    def test_invitation(client, mail_outbox):
        client.post("/admin/users/invite", data={...})
        [message] = mail_outbox.deliver()
        assert message["To"] == "new@example.fr"
        assert "mot de passe" in mail_outbox.text(message)
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest


class MailOutbox:
    """What the test SMTP server received; :meth:`deliver` sends the due mails first."""

    def __init__(self, app: Any, data_dir: Path, controller: Any) -> None:
        self.app = app
        self.data_dir = data_dir
        self.controller = controller

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        from core.mail.catcher import caught_mails

        return [c.message for c in reversed(caught_mails(self.data_dir, limit=10_000))]

    def deliver(self) -> list[EmailMessage]:
        """Send every due mail of the outbox now (in this thread), then return the messages
        received so far."""
        from core.db import db
        from core.mail.services import send_due

        with self.app.app_context():
            send_due()
            db.session.close()
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        """The received messages addressed to ``address`` (case-insensitive)."""
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body of a message."""
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str | None:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None

    def clear(self) -> None:
        from core.mail.catcher import catcher_dir

        for path in catcher_dir(self.data_dir).glob("*.eml"):
            path.unlink()


@pytest.fixture(name="mail_outbox")
def mail_outbox_fixture(app: Any, tmp_path: Path) -> Iterator[MailOutbox]:
    """A real SMTP server the test app sends to (see the module's docstring)."""
    from core.mail.catcher import start_catcher

    data_dir = tmp_path / "smtp-server"
    controller = start_catcher(data_dir, "127.0.0.1", 0)
    previous = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=int(controller.port))
    try:
        yield MailOutbox(app, data_dir, controller)
    finally:
        controller.stop()
        app.config.update(previous)
