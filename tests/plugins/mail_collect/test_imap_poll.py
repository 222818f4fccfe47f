"""Polling a real IMAP server (dovecot on loopback): messages put in the mailbox with APPEND
are filed with their origin, marked read (or moved) only once stored, never filed twice; an
unreachable mailbox or a wrong password is noted and retried at the next poll."""

from __future__ import annotations

import imaplib
import re
import socket

from core.db import db
from tests.conftest import make_pdf_bytes


def _append(dovecot, user, password, msg, folder="INBOX") -> None:
    conn = dovecot.imap(user, password)
    try:
        status, _ = conn.append(folder, None, None, msg.as_bytes())
        assert status == "OK"
    finally:
        conn.logout()


def _flags(dovecot, user, password, folder="INBOX") -> list[str]:
    conn = dovecot.imap(user, password)
    try:
        conn.select(folder)
        _, data = conn.uid("SEARCH", None, "ALL")
        flags = []
        for uid in (data[0] or b"").split():
            _, fetched = conn.uid("FETCH", uid, "(FLAGS)")
            flags.append(fetched[0].decode())
        return flags
    finally:
        conn.logout()


def _poll(app, mailbox_id):
    from plugins.mail_collect.imap import poll_mailbox

    with app.app_context():
        return poll_mailbox(mailbox_id)


def _mailbox(app, mailbox_id):
    from plugins.mail_collect.models import Mailbox

    with app.app_context():
        return db.session.get(Mailbox, mailbox_id)


def test_imap_poll_files_marks_read_and_never_twice(
    app, collect, dovecot, imap_user, message_factory
):
    user, password = imap_user
    collect.set_imap(dovecot, user, password)
    msg = message_factory(
        attachments=[("facture-imap.pdf", make_pdf_bytes(["Facture IMAP"]), "application/pdf")],
        message_id="<imap-1@martin.fr>",
    )
    _append(dovecot, user, password, msg)
    assert "\\Seen" not in _flags(dovecot, user, password)[0]

    counts = _poll(app, collect.mailbox_id)
    assert counts["messages"] == 1 and counts["documents"] == 1
    (document,) = collect.documents()
    assert document.filename == "facture-imap.pdf"
    (event,) = collect.events(document.id)
    assert event.after["source"] == "imap"
    assert event.after["message_id"] == "imap-1@martin.fr"
    assert event.after["sender"] == "compta@martin.fr"
    assert "\\Seen" in _flags(dovecot, user, password)[0]
    mailbox = _mailbox(app, collect.mailbox_id)
    assert mailbox.state == "idle" and mailbox.last_poll_error is None
    assert mailbox.last_poll_at is not None

    # Polled again: nothing new.
    assert _poll(app, collect.mailbox_id)["messages"] == 0
    # The same message put back unread (a client that re-sends): marked read, not refiled.
    _append(dovecot, user, password, msg)
    again = _poll(app, collect.mailbox_id)
    assert again["messages"] == 1 and again["duplicates"] == 1 and again["documents"] == 0
    assert len(collect.documents()) == 1 and len(collect.messages()) == 1
    assert all("\\Seen" in f for f in _flags(dovecot, user, password))


def test_imap_poll_moves_stored_messages_and_quarantines_strangers(
    app, collect, dovecot, imap_user, message_factory
):
    user, password = imap_user
    conn = dovecot.imap(user, password)
    conn.create("Classeur")
    conn.logout()
    collect.set_imap(dovecot, user, password, move_to="Classeur")
    _append(
        dovecot,
        user,
        password,
        message_factory(attachments=[("a.pdf", make_pdf_bytes(["A"]), "application/pdf")]),
    )
    _append(
        dovecot,
        user,
        password,
        message_factory(
            sender="pirate@ailleurs.example",
            attachments=[("b.pdf", make_pdf_bytes(["B"]), "application/pdf")],
        ),
    )
    counts = _poll(app, collect.mailbox_id)
    assert counts == {
        "messages": 2,
        "documents": 1,
        "quarantined": 1,
        "duplicates": 0,
        "left": 0,
    }
    assert _flags(dovecot, user, password) == []  # both moved away once stored
    assert len(_flags(dovecot, user, password, "Classeur")) == 2
    (item,) = collect.quarantine()
    assert item.reason_code == "unknown_sender"


def test_imap_outage_is_noted_and_retried(app, collect, dovecot, imap_user, message_factory):
    from plugins.mail_collect.imap import due_mailboxes

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    user, password = imap_user

    class Down:
        host, port = "127.0.0.1", closed_port

    collect.set_imap(Down, user, password)
    assert _poll(app, collect.mailbox_id) is None
    mailbox = _mailbox(app, collect.mailbox_id)
    assert mailbox.state == "idle"
    assert mailbox.last_poll_error.startswith("Boîte IMAP injoignable")
    # Due again once the interval has passed: the runner's poll lists it.
    app.config["MAIL_COLLECT_POLL_INTERVAL"] = 0
    with app.app_context():
        assert (collect.mailbox_id,) in due_mailboxes()
        assert ("mail_collect.poll_mailbox", (collect.mailbox_id,)) in (
            app.extensions["classeur"].task_registry.waiting()
        )
    # A wrong password: noted too, in French.
    collect.set_imap(dovecot, user, "mauvais")
    assert _poll(app, collect.mailbox_id) is None
    assert _mailbox(app, collect.mailbox_id).last_poll_error.startswith("Le serveur IMAP a refusé")
    # Back to the right settings: the message waiting is collected.
    _append(
        dovecot,
        user,
        password,
        message_factory(attachments=[("c.pdf", make_pdf_bytes(["C"]), "application/pdf")]),
    )
    collect.set_imap(dovecot, user, password)
    assert _poll(app, collect.mailbox_id)["documents"] == 1
    assert _mailbox(app, collect.mailbox_id).last_poll_error is None


def test_imap_password_is_encrypted_at_rest(app, collect, dovecot, imap_user):
    user, password = imap_user
    collect.set_imap(dovecot, user, password)
    from sqlalchemy import text

    with app.app_context():
        stored = db.session.execute(
            text("SELECT imap_secret FROM mail_collect_mailboxes WHERE id = :i"),
            {"i": collect.mailbox_id},
        ).scalar()
    assert password not in stored and user not in stored
    assert re.match(r"^[A-Za-z0-9_=-]+$", stored)


def test_a_message_not_stored_stays_unread(
    app, collect, dovecot, imap_user, message_factory, monkeypatch
):
    """A storage failure while filing: the message is left unread for the next poll."""
    from plugins.mail_collect import services

    user, password = imap_user
    collect.set_imap(dovecot, user, password)
    _append(
        dovecot,
        user,
        password,
        message_factory(attachments=[("d.pdf", make_pdf_bytes(["D"]), "application/pdf")]),
    )

    def disk_full(raw: bytes) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "save_raw", disk_full)
    counts = _poll(app, collect.mailbox_id)
    assert counts["left"] == 1 and counts["messages"] == 0
    assert "\\Seen" not in _flags(dovecot, user, password)[0]
    monkeypatch.undo()
    assert _poll(app, collect.mailbox_id)["documents"] == 1
    assert "\\Seen" in _flags(dovecot, user, password)[0]
    assert imaplib  # the module under test's client
