"""Sending e-mail: :func:`queue_mail` writes a row of the outbox (rendered from the French
templates in ``core/web/templates/mail/``) and, once the caller commits, queues the
``send_mail`` task, which sends it with :mod:`smtplib` and retries with a growing delay when
the mail server is down. The runners' polling finds due rows again after a restart, so an
outage delays mail and never loses it.

Settings (``CLASSEUR_SMTP_*``): ``SMTP_HOST`` (empty: mail waits in the outbox, "pending"),
``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS``, ``SMTP_SSL``,
``SMTP_FROM``, ``SMTP_TIMEOUT``; ``MAIL_MAX_ATTEMPTS`` attempts before a mail is ``failed``.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import and_, func, or_, select, update

from core.db import db, utcnow
from core.mail.models import MailState, OutgoingMail
from core.tasks import after_commit
from core.tasks.registry import Lease, TaskSpec

log = logging.getLogger("classeur.mail")

#: Name of the sending task.
SEND_TASK = "send_mail"

#: Waits before the 2nd, 3rd... attempt (seconds); the last one repeats.
RETRY_DELAYS: tuple[int, ...] = (60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600)

#: Header naming the outbox row a message came from (the mail catcher's page uses it to show
#: a firm only its own mail).
ID_HEADER = "X-Classeur-Mail-Id"

SUBJECT_MAX = 300
ERROR_MAX = 1000
ADDRESS_MAX = 254


class MailError(Exception):
    """A mail that cannot be queued (bad address, unknown template)."""


def mail_configured() -> bool:
    """Whether an SMTP server is set (``CLASSEUR_SMTP_HOST``): without one, mail waits."""
    return bool(str(current_app.config.get("SMTP_HOST") or "").strip())


def _check_address(to: str) -> str:
    address = (to or "").strip()
    _, parsed = parseaddr(address)
    if (
        not parsed
        or parsed != address
        or "@" not in address
        or len(address) > ADDRESS_MAX
        or any(c in address for c in "\r\n ,;")
    ):
        raise MailError(f"Adresse e-mail invalide : {to!r}.")
    return address


def render_mail(template: str, **context: Any) -> tuple[str, str | None]:
    """The text (and HTML, when ``mail/<template>.html`` exists) of a mail."""
    if not template or "/" in template or "." in template:
        raise MailError(f"Modèle d'e-mail invalide : {template!r}.")
    try:
        text = render_template(f"mail/{template}.txt", **context)
    except TemplateNotFound as exc:
        raise MailError(f"Modèle d'e-mail inconnu : {template!r}.") from exc
    try:
        html: str | None = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:
        html = None
    return text, html


def queue_mail(
    to: str,
    subject: str,
    template: str,
    *,
    firm_id: int | None = None,
    user_id: int | None = None,
    kind: str = "",
    **context: Any,
) -> OutgoingMail:
    """Put a mail in the outbox: renders ``mail/<template>.txt`` (and ``.html`` if it exists)
    with ``context``, adds the row to the current session and queues its sending once the
    caller commits (the caller commits; a rollback drops the mail)."""
    address = _check_address(to)
    text, html = render_mail(template, **context)
    subject = " ".join(str(subject).split())[:SUBJECT_MAX]
    mail = OutgoingMail(
        firm_id=firm_id,
        user_id=user_id,
        to_address=address,
        subject=subject,
        body_text=text,
        body_html=html,
        kind=(kind or template)[:50],
        state=MailState.PENDING,
        attempts=0,
    )
    db.session.add(mail)
    db.session.flush()
    after_commit.queue(SEND_TASK, mail.id)
    return mail


# --- sending ----------------------------------------------------------------------------------


def build_message(mail: OutgoingMail) -> EmailMessage:
    """The message of an outbox row: text, with the HTML as an alternative when there is one."""
    config = current_app.config
    sender = str(config.get("SMTP_FROM") or "Classeur <classeur@localhost>")
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=f"classeur.{mail.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message[ID_HEADER] = str(mail.id)
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


def _deliver(message: EmailMessage, to: str) -> None:
    """Hand one message to the SMTP server of the settings (raises on failure)."""
    config = current_app.config
    host = str(config.get("SMTP_HOST") or "").strip()
    port = int(config.get("SMTP_PORT") or 0)
    timeout = float(config.get("SMTP_TIMEOUT") or 30.0)
    smtp_class = smtplib.SMTP_SSL if config.get("SMTP_SSL") else smtplib.SMTP
    sender = parseaddr(str(message["From"]))[1]
    with smtp_class(host, port or (465 if config.get("SMTP_SSL") else 25), timeout=timeout) as smtp:
        if config.get("SMTP_STARTTLS") and not config.get("SMTP_SSL"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(str(config["SMTP_USER"]), str(config.get("SMTP_PASSWORD") or ""))
        smtp.send_message(message, from_addr=sender, to_addrs=[to])


def _permanent(exc: Exception) -> bool:
    """A refusal that a retry will not change (5xx on the recipient or the message)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # fixed by correcting the settings: keep trying
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts (1 min, 5 min, 30 min, 2 h, 6 h, 6 h...)."""
    index = min(max(attempts - 1, 0), len(RETRY_DELAYS) - 1)
    return timedelta(seconds=RETRY_DELAYS[index])


def _due() -> tuple[Any, ...]:
    now = utcnow()
    return (
        OutgoingMail.state == MailState.PENDING,
        or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now),
    )


def _claim(mail_id: int) -> bool:
    """Compare-and-set pending → sending: one worker only sends a mail."""
    result = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, *_due())
        .values(state=MailState.SENDING, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def send_mail(mail_id: int) -> str | None:
    """Send one outbox row if it is due (the task). Idempotent: a row another worker claimed,
    already sent or not due yet is left alone; ``None`` then, else the new state."""
    if not mail_configured():
        return None
    if not _claim(mail_id):
        return None
    mail = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    if mail is None:
        return None
    message = build_message(mail)
    to = mail.to_address
    # End the transaction: the SMTP dialogue may take seconds and must not hold the database.
    db.session.commit()
    error: Exception | None = None
    try:
        _deliver(message, to)
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timeout...
        error = exc
    mail = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    assert mail is not None
    mail.attempts += 1
    if error is None:
        mail.state = MailState.SENT
        mail.sent_at = utcnow()
        mail.next_attempt_at = None
        mail.last_error = None
    else:
        mail.last_error = f"{type(error).__name__}: {error}"[:ERROR_MAX]
        max_attempts = int(current_app.config.get("MAIL_MAX_ATTEMPTS") or 8)
        if _permanent(error) or mail.attempts >= max_attempts:
            mail.state = MailState.FAILED
            mail.next_attempt_at = None
            log.warning("mail %s to %s failed for good: %s", mail.id, to, mail.last_error)
        else:
            mail.state = MailState.PENDING
            mail.next_attempt_at = utcnow() + retry_delay(mail.attempts)
            log.info("mail %s to %s not sent (%s); retry later", mail.id, to, mail.last_error)
    db.session.commit()
    return str(mail.state)


def due_mail_ids(limit: int = 500) -> list[int]:
    """Ids of the mails due for an attempt (none while no SMTP server is set)."""
    if not mail_configured():
        return []
    return list(
        db.session.scalars(
            select(OutgoingMail.id).where(*_due()).order_by(OutgoingMail.id).limit(limit)
        )
    )


def send_due(limit: int = 500) -> dict[str, int]:
    """Send every due mail now, in this thread; counts by resulting state (commands, tests)."""
    counts: dict[str, int] = {}
    for mail_id in due_mail_ids(limit):
        state = send_mail(mail_id)
        if state is not None:
            counts[state] = counts.get(state, 0) + 1
    return counts


def _outstanding() -> int:
    if not mail_configured():
        return 0
    count = db.session.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(or_(OutgoingMail.state == MailState.SENDING, and_(*_due())))
    )
    return int(count or 0)


def task_spec() -> TaskSpec:
    """The sending task, on ``default``: claims its row (``pending → sending``); a row left
    ``sending`` by a dead process goes back to ``pending`` (it may be sent twice, never lost)."""
    return TaskSpec(
        name=SEND_TASK,
        run=send_mail,
        queue="default",
        lease=Lease(OutgoingMail, MailState.SENDING, {"state": MailState.PENDING}),
        poll=lambda: [(i,) for i in due_mail_ids()],
        outstanding=_outstanding,
    )


# --- the outbox (pages and commands) ------------------------------------------------------------


def outbox(
    firm_id: int | None, states: tuple[MailState, ...] | None = None, limit: int = 200
) -> list[OutgoingMail]:
    """The outbox, newest first: of one firm (``firm_id``) or of the whole instance (``None``,
    commands only)."""
    stmt = select(OutgoingMail)
    if firm_id is not None:
        stmt = stmt.where(OutgoingMail.firm_id == firm_id)
    if states:
        stmt = stmt.where(OutgoingMail.state.in_(states))
    return list(db.session.scalars(stmt.order_by(OutgoingMail.id.desc()).limit(limit)))


def retry(mail: OutgoingMail) -> bool:
    """Put a failed mail back in the queue (at once; attempts start again). Flushes; the
    caller commits. False if it was not failed."""
    if mail.state != MailState.FAILED:
        return False
    mail.state = MailState.PENDING
    mail.attempts = 0
    mail.next_attempt_at = None
    db.session.flush()
    after_commit.queue(SEND_TASK, mail.id)
    return True


def retry_failed(firm_id: int | None = None) -> int:
    """Put every failed mail (of one firm, or all) back in the queue; the caller commits."""
    count = 0
    for mail in outbox(firm_id, (MailState.FAILED,), limit=10_000):
        count += retry(mail)
    return count
