"""What a new user found: a spoofed ``From:`` filed, reasons said twice, broken base64 called
an unsupported type, the envelope sender of an unreadable message not shown, « Supprimer »
without confirmation, « Message » as a link label, the releaser not named, the history's
event not self-explanatory."""

from __future__ import annotations

import re
import smtplib

from core.db import db
from tests.conftest import make_pdf_bytes

BROKEN_B64 = (
    b"From: compta@martin.fr\r\nTo: x\r\nSubject: casse\r\nMessage-ID: <b64-2@martin.fr>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nbonjour\r\n"
    b'--B\r\nContent-Type: application/pdf; name="facture.pdf"\r\n'
    b'Content-Disposition: attachment; filename="facture.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!! pas du base64 @@@\r\n--B--\r\n"
)


def send(receiver, msg, to, sender):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as smtp:
        if isinstance(msg, bytes):
            return smtp.sendmail(sender, [to], msg)
        return smtp.send_message(msg, from_addr=sender, to_addrs=[to])


def _pdf_message(message_factory, name, **kwargs):
    pdf = make_pdf_bytes([f"Facture {name}"])
    return message_factory(attachments=[(name, pdf, "application/pdf")], **kwargs)


def test_envelope_sender_must_be_allowed_too(collect, receiver, message_factory):
    # From: allowed, MAIL FROM: a stranger → quarantine, the reason naming both.
    spoofed = _pdf_message(message_factory, "spoof.pdf")
    send(receiver, spoofed, collect.address, sender="attacker@evil.example")
    assert collect.documents() == []
    (item,) = collect.quarantine()
    assert item.reason_code == "unknown_sender"
    assert "attacker@evil.example" in item.reason and "compta@martin.fr" in item.reason
    assert "enveloppe SMTP" in item.reason
    # The null sender <> is not allowed either.
    bounce = _pdf_message(message_factory, "bounce.pdf")
    send(receiver, bounce, collect.address, sender="")
    assert [i.filename for i in collect.quarantine()] == [None, None]
    assert "<> (vide)" in collect.quarantine()[1].reason
    # An envelope in the From address's domain, or itself allowed, passes.
    send(
        receiver,
        _pdf_message(message_factory, "meme-domaine.pdf"),
        collect.address,
        sender="bounces+42@martin.fr",
    )
    send(
        receiver,
        _pdf_message(message_factory, "autorise.pdf"),
        collect.address,
        sender="relais@fournisseur.fr",
    )
    assert sorted(d.filename for d in collect.documents()) == ["autorise.pdf", "meme-domaine.pdf"]
    assert len(collect.quarantine()) == 2


def test_imap_messages_are_checked_on_their_return_path(app, collect, message_factory):
    from plugins.mail_collect.services import receive

    spoofed = _pdf_message(message_factory, "imap-spoof.pdf")
    spoofed["Return-Path"] = "<attacker@evil.example>"
    plain = _pdf_message(message_factory, "imap-ok.pdf")  # no Return-Path: From only
    same = _pdf_message(message_factory, "imap-rp.pdf")
    same["Return-Path"] = "<compta@martin.fr>"
    with app.app_context():
        for msg in (spoofed, plain, same):
            receive(collect.company.id, msg.as_bytes(), source="imap")
    assert sorted(d.filename for d in collect.documents()) == ["imap-ok.pdf", "imap-rp.pdf"]
    (item,) = collect.quarantine()
    assert "Return-Path" in item.reason and "attacker@evil.example" in item.reason


def test_broken_base64_is_an_undecodable_attachment(collect, receiver):
    send(receiver, BROKEN_B64, collect.address, sender="compta@martin.fr")
    (item,) = collect.quarantine()
    assert item.reason_code == "undecodable" and item.filename == "facture.pdf"
    assert item.reason.startswith("facture.pdf : Pièce jointe illisible (encodage)")
    assert "non pris en charge" not in item.reason


def test_unreadable_message_shows_the_envelope_sender(
    collect, receiver, client, auth, message_factory
):
    send(receiver, b"\x00\x01 pas un message\r\n", collect.address, sender="scanner@martin.fr")
    (message,) = collect.messages()
    assert message.sender == "scanner@martin.fr"
    auth.login(collect.admin)
    page = client.get("/mail-collect/quarantine").get_data(as_text=True)
    row = re.search(r'<tr data-item="\d+">.*?</tr>', page, re.S).group(0)
    assert "scanner@martin.fr" in row


def test_each_reason_is_said_once(collect, receiver, client, auth, message_factory):
    send(
        receiver,
        _pdf_message(message_factory, "x.pdf", sender="inconnu@spam.example"),
        collect.address,
        sender="inconnu@spam.example",
    )
    send(receiver, b"\x00\x01 pas un message\r\n", collect.address, sender="compta@martin.fr")
    send(receiver, BROKEN_B64, collect.address, sender="compta@martin.fr")
    auth.login(collect.admin)
    page = client.get("/mail-collect/quarantine").get_data(as_text=True)
    cells = re.findall(r'<td class="reason">(.*?)</td>', page, re.S)
    assert len(cells) == 3
    for label in (
        "Expéditeur non autorisé",
        "Message illisible",
        "Pièce jointe illisible (encodage)",
    ):
        (cell,) = [c for c in cells if label in c]
        assert cell.count(label) == 1, cell
    stranger = next(c for c in cells if "Expéditeur" in c)
    assert "<strong>Expéditeur non autorisé</strong> — inconnu@spam.example" in stranger


def test_delete_asks_for_confirmation_and_release_names_who(
    collect, receiver, client, auth, message_factory
):
    send(
        receiver,
        _pdf_message(message_factory, "a-liberer.pdf", sender="nouveau@client.example"),
        collect.address,
        sender="nouveau@client.example",
    )
    send(
        receiver,
        _pdf_message(message_factory, "a-supprimer.pdf", sender="autre@client.example"),
        collect.address,
        sender="autre@client.example",
    )
    release_item, delete_item = collect.quarantine()
    auth.login(collect.admin)
    page = client.get("/mail-collect/quarantine").get_data(as_text=True)
    assert "Télécharger le message (.eml)" in page and ">Message<" not in page
    # No inline script (CSP: script-src 'self'): a required checkbox in the form.
    assert "<script>" not in page and "onclick" not in page and "onsubmit" not in page
    form = re.search(
        rf'<form method="post" action="/mail-collect/quarantine/{delete_item.id}/delete">.*?'
        r"</form>",
        page,
        re.S,
    ).group(0)
    assert re.search(r'<input type="checkbox" name="confirm" value="on" required>', form)
    assert "Confirmer la suppression" in form
    # Not ticked (a client without the browser's check): nothing deleted.
    refused = client.post(
        f"/mail-collect/quarantine/{delete_item.id}/delete", follow_redirects=True
    ).get_data(as_text=True)
    assert "Cochez « Confirmer la suppression »" in refused
    assert len(collect.quarantine()) == 2
    done = client.post(
        f"/mail-collect/quarantine/{delete_item.id}/delete",
        data={"confirm": "on"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Supprimé de la quarantaine." in done
    assert [i.id for i in collect.quarantine()] == [release_item.id]

    client.post(f"/mail-collect/quarantine/{release_item.id}/release")
    (document,) = collect.documents()
    (event,) = collect.events(document.id)
    assert event.user_id == collect.admin.id and event.after["released_by"] == collect.admin.id
    assert event.message.startswith(
        "Collecte par e-mail (SMTP) : reçu par e-mail de nouveau@client.example — pièce jointe "
        "« a-liberer.pdf »"
    )
    assert event.message.endswith(f"libéré de la quarantaine par {collect.admin.email}")
    history = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert f"libéré de la quarantaine par {collect.admin.email}" in history
    with collect.app.app_context():
        from core.auth.models import AuditEvent

        audits = db.session.query(AuditEvent).filter_by(action="mail_collect_release").all()
        assert [a.user_id for a in audits] == [collect.admin.id]
