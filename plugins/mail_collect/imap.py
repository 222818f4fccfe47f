"""Polling a company's existing mailbox over IMAP (``imaplib``).

Each unread message of the folder is fetched without marking it (``BODY.PEEK[]``), filed
through :func:`~plugins.mail_collect.services.receive`, and only then marked read
(``\\Seen``) or moved to the folder chosen. A message that could not be stored stays unread
and is tried again at the next poll; a message fetched twice is filed once (Message-ID).
A mailbox that cannot be reached is noted on the mailbox (``last_poll_error``) and polled
again later: nothing stops the other mailboxes.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from core.plugin_api import Company, SecretError, db, utcnow
from plugins.mail_collect import services
from plugins.mail_collect.models import Mailbox

log = logging.getLogger("classeur.plugins.mail_collect")

#: Task name (one name for one thing: the plugin's name first).
POLL_TASK = "mail_collect.poll_mailbox"
#: Messages read from one mailbox in one poll (the rest at the next one).
BATCH = 200


class ImapError(Exception):
    """The mailbox could not be polled; ``message`` is French."""


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(settings: dict[str, Any], timeout: float) -> imaplib.IMAP4:
    """A logged-in connection to the mailbox described by ``settings``."""
    host, port = settings["host"], int(settings["port"])
    security = settings.get("security") or "ssl"
    if security == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    else:
        conn = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            conn.starttls(ssl_context=ssl.create_default_context())
    try:
        conn.login(settings["user"], settings["password"])
    except BaseException:
        with contextlib.suppress(OSError):
            conn.shutdown()
        raise
    return conn


def _check(result: tuple[str, Any], what: str) -> Any:
    status, data = result
    if status != "OK":
        detail = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) else ""
        raise ImapError(f"{what} : le serveur IMAP a répondu {status} {detail}".strip())
    return data


def _message_bytes(data: Any) -> bytes | None:
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """The capabilities once logged in (servers announce MOVE, UIDPLUS only then)."""
    try:
        status, data = conn.capability()
    except (imaplib.IMAP4.error, OSError):
        return {c.upper() for c in conn.capabilities}
    if status != "OK" or not data or not isinstance(data[0], bytes):
        return {c.upper() for c in conn.capabilities}
    return set(data[0].decode(errors="replace").upper().split())


def _mark(conn: imaplib.IMAP4, uid: str, move_to: str, capabilities: set[str]) -> None:
    """Mark a stored message: moved to ``move_to`` when set, else read."""
    if not move_to:
        _check(conn.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "Marquage du message lu")
        return
    if "MOVE" in capabilities:
        _check(conn.uid("MOVE", uid, _quote(move_to)), f"Déplacement vers {move_to}")
        return
    _check(conn.uid("COPY", uid, _quote(move_to)), f"Copie vers {move_to}")
    _check(conn.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)"), "Marquage du message")
    if "UIDPLUS" in capabilities:
        _check(conn.uid("EXPUNGE", uid), "Suppression du message déplacé")
    else:
        _check(conn.expunge(), "Suppression du message déplacé")


def poll_now(mailbox: Mailbox) -> dict[str, int]:
    """Fetch, file and mark the unread messages of one mailbox; returns counts. Raises
    :class:`ImapError`, ``imaplib.IMAP4.error`` or ``OSError`` when the mailbox fails."""
    settings = services.imap_settings(mailbox)
    if not settings:
        raise ImapError("Aucune boîte IMAP n'est paramétrée.")
    company_id = mailbox.company_id
    timeout = float(services.setting("MAIL_COLLECT_IMAP_TIMEOUT"))
    max_bytes = int(services.setting("MAIL_COLLECT_MAX_BYTES"))
    counts = {"messages": 0, "documents": 0, "quarantined": 0, "duplicates": 0, "left": 0}
    conn = connect(settings, timeout)
    try:
        _check(conn.select(_quote(settings.get("folder") or "INBOX")), "Ouverture du dossier")
        data = _check(conn.uid("SEARCH", None, "UNSEEN"), "Recherche des messages non lus")
        uids = (data[0] or b"").decode().split()
        move_to = settings.get("move_to") or ""
        capabilities = _capabilities(conn) if move_to else set()
        for uid in uids[:BATCH]:
            size_data = _check(conn.uid("FETCH", uid, "(RFC822.SIZE)"), "Taille du message")
            found = re.search(
                rb"RFC822\.SIZE (\d+)",
                b" ".join(x if isinstance(x, bytes) else b"" for x in size_data),
            )
            if found and int(found.group(1)) > max_bytes:
                log.warning("IMAP message %s of mailbox %s too large: left", uid, mailbox.id)
                counts["left"] += 1
                continue
            raw = _message_bytes(_check(conn.uid("FETCH", uid, "(BODY.PEEK[])"), "Lecture"))
            if raw is None:
                counts["left"] += 1
                continue
            try:
                outcome = services.receive(company_id, raw, source="imap")
            except Exception:
                # Not stored: left unread, tried again at the next poll.
                db.session.rollback()
                log.exception("IMAP message %s of mailbox %s not stored", uid, mailbox.id)
                counts["left"] += 1
                continue
            _mark(conn, uid, move_to, capabilities)
            counts["messages"] += 1
            counts["duplicates"] += int(outcome.duplicate)
            counts["documents"] += len(outcome.new_document_ids)
            counts["quarantined"] += len(outcome.quarantined)
        counts["left"] += max(0, len(uids) - BATCH)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()
    return counts


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ImapError):
        return str(exc)
    if isinstance(exc, SecretError):
        return (
            "Paramètres IMAP illisibles (clé de chiffrement changée ?) : saisissez-les à nouveau."
        )
    if isinstance(exc, imaplib.IMAP4.error):
        return f"Le serveur IMAP a refusé : {exc}"
    return f"Boîte IMAP injoignable : {exc}"


def poll_mailbox(mailbox_id: int) -> dict[str, int] | None:
    """The poll task: claim the mailbox (``idle`` → ``polling``), poll it, note the outcome,
    put it back to ``idle``. Returns the counts, or None when another worker holds it or
    collection is off. Never raises for a mailbox's own failure (noted and logged)."""
    claimed = db.session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.state == "idle")
        .values(state="polling", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not claimed.rowcount:
        return None
    mailbox = db.session.get(Mailbox, mailbox_id)
    counts: dict[str, int] | None = None
    error: str | None = None
    try:
        if mailbox is not None and mailbox.imap_enabled and services.collection_on(mailbox):
            counts = poll_now(mailbox)
    except (ImapError, imaplib.IMAP4.error, OSError, SecretError, ssl.SSLError) as exc:
        error = _error_text(exc)
        log.warning("IMAP poll of mailbox %s failed: %s", mailbox_id, exc)
    finally:
        db.session.rollback()
        db.session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id)
            .values(state="idle", last_poll_at=utcnow(), last_poll_error=error, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return counts


def due_mailboxes() -> list[tuple[int]]:
    """Mailboxes whose IMAP poll is due (the task's ``poll``: called by the runner)."""
    interval = timedelta(seconds=float(services.setting("MAIL_COLLECT_POLL_INTERVAL")))
    rows = db.session.scalars(
        select(Mailbox)
        .join(Company, Company.id == Mailbox.company_id)
        .where(
            Mailbox.enabled.is_(True),
            Mailbox.imap_enabled.is_(True),
            Mailbox.imap_secret.is_not(None),
            Mailbox.state == "idle",
            or_(Mailbox.last_poll_at.is_(None), Mailbox.last_poll_at < utcnow() - interval),
        )
        .order_by(Mailbox.id)
    ).all()
    return [(mailbox.id,) for mailbox in rows if services.collection_on(mailbox)]
