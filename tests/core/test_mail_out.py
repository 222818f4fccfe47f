"""E-mail out: the outbox, sending to a real SMTP server (the mail catcher, aiosmtpd), retries
after an outage, the lease that puts back a mail left "sending", the commands."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import db, utcnow
from core.mail.models import MailState, OutgoingMail
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401


def _queue(app: Any, to: str = "alice@example.fr", **kwargs: Any) -> int:
    from core.mail.services import queue_mail

    with app.test_request_context():
        mail = queue_mail(to, "Essai d'envoi", "test", **kwargs)
        db.session.commit()
        return mail.id


def _mail(app: Any, mail_id: int) -> OutgoingMail:
    with app.app_context():
        mail = db.session.get(OutgoingMail, mail_id)
        assert mail is not None
        db.session.expunge(mail)
        return mail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_queue_then_send_to_a_real_smtp_server(app: Any, mail_outbox: Any) -> None:
    mail_id = _queue(app, kind="essai")
    assert _mail(app, mail_id).state == MailState.PENDING
    [message] = mail_outbox.deliver()
    assert message["To"] == "alice@example.fr"
    assert message["Subject"] == "Essai d'envoi"
    assert message["From"] == "Classeur <classeur@localhost>"
    assert message["Message-ID"] and message["Date"]
    assert message["X-Classeur-Mail-Id"] == str(mail_id)
    assert "l'envoi d'e-mails fonctionne" in mail_outbox.text(message)
    mail = _mail(app, mail_id)
    assert mail.state == MailState.SENT and mail.attempts == 1 and mail.sent_at is not None
    assert mail.kind == "essai"
    # Sent once: delivering again sends nothing more.
    assert len(mail_outbox.deliver()) == 1


def test_html_alternative_is_sent_with_the_text(app: Any, mail_outbox: Any) -> None:
    from core.mail.services import queue_mail

    with app.test_request_context():
        queue_mail(
            "bob@example.fr",
            "Une notification",
            "notification",
            notification={"title": "Document en erreur", "body": "Détail <b>", "link": None},
            kind_label="Documents en erreur d'export",
            url="http://classeur.test/documents/1",
            settings_url=None,
        )
        db.session.commit()
    [message] = mail_outbox.deliver()
    assert "Document en erreur" in mail_outbox.text(message)
    html = mail_outbox.html(message)
    assert html is not None and 'href="http://classeur.test/documents/1"' in html
    assert "Détail &lt;b&gt;" in html


def test_bad_address_or_template_is_refused(app: Any) -> None:
    from core.mail.services import MailError, queue_mail

    with app.test_request_context():
        for bad in ("pas-une-adresse", "a@b.fr, c@d.fr", "x@y.fr\r\nBcc: z@z.fr", ""):
            with pytest.raises(MailError):
                queue_mail(bad, "Sujet", "test")
        with pytest.raises(MailError):
            queue_mail("a@b.fr", "Sujet", "../base")
        with pytest.raises(MailError):
            queue_mail("a@b.fr", "Sujet", "nope")


def test_rolled_back_mail_is_never_sent(app: Any, mail_outbox: Any) -> None:
    from core.mail.services import queue_mail

    with app.test_request_context():
        queue_mail("carol@example.fr", "Jamais", "test")
        db.session.rollback()
        assert db.session.scalar(select(OutgoingMail.id)) is None
    assert mail_outbox.deliver() == []


def test_without_smtp_host_mail_waits_in_the_outbox(app: Any) -> None:
    from core.mail.services import send_due, send_mail

    assert not app.config["SMTP_HOST"]
    mail_id = _queue(app)
    with app.app_context():
        assert send_due() == {}
        assert send_mail(mail_id) is None
    mail = _mail(app, mail_id)
    assert mail.state == MailState.PENDING and mail.attempts == 0


def test_outage_keeps_the_mail_then_delivers_it(app: Any, tmp_path: Any) -> None:
    """Server down: the mail stays pending with a retry time and the error; once the server
    is up (and the retry due), it is delivered."""
    from core.mail.catcher import caught_mails, start_catcher
    from core.mail.services import send_due

    port = _free_port()  # nothing listens there yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=5.0)
    mail_id = _queue(app)
    with app.app_context():
        send_due()
    mail = _mail(app, mail_id)
    assert mail.state == MailState.PENDING
    assert mail.attempts == 1
    assert mail.last_error and "Connection" in mail.last_error
    assert mail.next_attempt_at is not None
    wait = mail.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)

    controller = start_catcher(tmp_path / "smtp", "127.0.0.1", port)
    try:
        with app.app_context():
            assert send_due() == {}  # not due yet: nothing tried
            db.session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
            assert send_due() == {"sent": 1}
        [caught] = caught_mails(tmp_path / "smtp")
        assert caught.to == "alice@example.fr"
        mail = _mail(app, mail_id)
        assert mail.state == MailState.SENT and mail.attempts == 2
    finally:
        controller.stop()


def test_backoff_then_failed_after_the_last_attempt(app: Any) -> None:
    from core.mail.services import retry_delay, send_mail

    assert [retry_delay(n).total_seconds() for n in range(1, 8)] == [
        60,
        300,
        1800,
        7200,
        21600,
        21600,
        21600,
    ]
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_TIMEOUT=5.0, MAIL_MAX_ATTEMPTS=3
    )
    mail_id = _queue(app)
    with app.app_context():
        for expected in ("pending", "pending", "failed"):
            db.session.execute(
                update(OutgoingMail).where(OutgoingMail.id == mail_id).values(next_attempt_at=None)
            )
            db.session.commit()
            assert send_mail(mail_id) == expected
    mail = _mail(app, mail_id)
    assert mail.state == MailState.FAILED and mail.attempts == 3 and mail.last_error


def test_sending_row_of_a_dead_process_goes_back_to_pending(app: Any, mail_outbox: Any) -> None:
    """The lease: a row left "sending" is put back by the registry's recovery, then the
    poll finds it and it is sent."""
    from core.state import classeur

    mail_id = _queue(app)
    with app.app_context():
        db.session.execute(
            update(OutgoingMail).where(OutgoingMail.id == mail_id).values(state=MailState.SENDING)
        )
        db.session.commit()
        registry = classeur(app).task_registry
        assert ("send_mail", mail_id) in registry.recover()
        assert ("send_mail", (mail_id,)) in registry.waiting()
    [message] = mail_outbox.deliver()
    assert message["X-Classeur-Mail-Id"] == str(mail_id)


def test_in_process_runner_sends_queued_mail(app_config: dict[str, Any], tmp_path: Any) -> None:
    """With the workers running, committing a queued mail sends it without anyone asking."""
    from core.app import create_app
    from core.mail.catcher import caught_mails, start_catcher
    from core.mail.services import queue_mail
    from tests.conftest import wait_for

    controller = start_catcher(tmp_path / "smtp", "127.0.0.1", 0)
    application = create_app({**app_config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": controller.port})
    runner = application.extensions["classeur"].tasks
    runner.start()
    try:
        with application.test_request_context():
            queue_mail("dan@example.fr", "Par le worker", "test")
            db.session.commit()
        wait_for(lambda: caught_mails(tmp_path / "smtp"))
        [caught] = caught_mails(tmp_path / "smtp")
        assert caught.subject == "Par le worker"
    finally:
        runner.stop(wait=True)
        controller.stop()
        db.engine_for(application).dispose()


def test_serve_with_mail_catcher_sends_there(
    app_config: dict[str, Any], monkeypatch: Any, tmp_path: Any
) -> None:
    """``classeur serve --with-mail-catcher PORT``: the catcher listens, mail goes to it
    (no ``CLASSEUR_SMTP_HOST``) and the running workers deliver a queued mail there."""
    import waitress
    from click.testing import CliRunner

    import core.app
    import core.cli
    from core.mail.catcher import caught_mails
    from core.mail.services import queue_mail
    from tests.conftest import wait_for

    real_create_app = core.app.create_app
    apps: list[Any] = []

    def create_app(overrides: dict[str, Any] | None = None) -> Any:
        application = real_create_app({**app_config, **(overrides or {})})
        apps.append(application)
        return application

    port = _free_port()
    seen: dict[str, Any] = {}

    class Server:
        def run(self) -> None:
            app = apps[-1]
            seen["config"] = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT")}
            seen["catcher"] = app.config["MAIL_CATCHER_PORT"]
            with app.test_request_context():
                queue_mail("demo@example.fr", "Par le serveur de démonstration", "test")
                db.session.commit()
            wait_for(lambda: caught_mails(app.config["DATA_DIR"]), timeout=30)

    monkeypatch.delenv("CLASSEUR_SMTP_HOST", raising=False)
    monkeypatch.setattr(core.app, "create_app", create_app)
    monkeypatch.setattr(waitress, "create_server", lambda app, **kwargs: Server())
    try:
        result = CliRunner().invoke(
            core.cli.serve, ["--with-mail-catcher", str(port)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert f"Mail catcher on 127.0.0.1:{port}" in result.output
        assert seen == {"config": {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}, "catcher": port}
        [caught] = caught_mails(app_config["DATA_DIR"])
        assert caught.subject == "Par le serveur de démonstration"
        # Stopped with the server: the port is free again.
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        for application in apps:
            state = application.extensions["classeur"]
            if state.tasks is not None:
                state.tasks.stop(wait=True)
            db.engine_for(application).dispose()
