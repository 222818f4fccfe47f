"""The embedded SMTP receiver, driven with ``smtplib`` on loopback: attachments filed with
their origin, unknown recipients refused, Message-ID idempotency, quarantine of unknown
senders, refused files and malformed messages, attached messages read recursively."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.conftest import make_pdf_bytes

XML_INVOICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>F-2026-042</cbc:ID></Invoice>
"""


def send(receiver, msg: EmailMessage | bytes, to: str, sender: str = "compta@martin.fr"):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as smtp:
        if isinstance(msg, bytes):
            return smtp.sendmail(sender, [to], msg)
        return smtp.send_message(msg, from_addr=sender, to_addrs=[to])


def test_attachments_land_in_the_purchase_binder_with_their_origin(
    collect, receiver, message_factory, app, auth, client
):
    pdf = make_pdf_bytes(["Facture F-1", "Total 120,00 EUR"])
    msg = message_factory(
        to=collect.address,
        attachments=[("facture-f1.pdf", pdf, "application/pdf")],
        message_id="<f1-2026@martin.fr>",
    )
    send(receiver, msg, collect.address)

    documents = collect.documents()
    assert [(d.filename, d.binder_id) for d in documents] == [("facture-f1.pdf", collect.binder.id)]
    (event,) = collect.events(documents[0].id)
    assert event.after["sender"] == "compta@martin.fr"
    assert event.after["subject"] == "Facture de novembre"
    assert event.after["message_id"] == "f1-2026@martin.fr"
    assert event.after["date"].startswith("2026-11-30T09:15")
    assert event.message.startswith(
        "Collecte par e-mail (SMTP) : reçu par e-mail de compta@martin.fr — pièce jointe "
        "« facture-f1.pdf »"
    )
    assert "Message-ID <f1-2026@martin.fr>" in event.message
    # The origin shows in the document's history.
    auth.login(collect.admin)
    page = client.get(f"/documents/{documents[0].id}").get_data(as_text=True)
    assert "reçu par e-mail de compta@martin.fr" in page
    assert collect.quarantine() == []


def test_unknown_and_switched_off_recipients_are_refused(collect, receiver, message_factory):
    msg = message_factory(attachments=[("f.pdf", make_pdf_bytes(["x"]), "application/pdf")])
    unknown = collect.address.replace(collect.address.split("@")[0].split(".")[-1], "zzzzzzzzzzzz")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(receiver, msg, unknown)
    assert refused.value.recipients[unknown][0] == 550
    other_domain = collect.address.split("@")[0] + "@ailleurs.example"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(receiver, msg, other_domain)
    collect.configure(enabled=False)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as off:
        send(receiver, msg, collect.address)
    assert off.value.recipients[collect.address][0] == 550
    # The module switched off for the company ("Modules") wins over the tab's setting.
    collect.configure(enabled=True)
    from core.db import db
    from core.plugins.activation import set_plugin_enabled

    with collect.app.app_context():
        set_plugin_enabled(collect.firm.id, "mail_collect", False, collect.company.id)
        db.session.commit()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as module_off:
        send(receiver, msg, collect.address)
    assert module_off.value.recipients[collect.address][0] == 550
    assert collect.documents() == [] and collect.messages() == []


def test_same_message_id_twice_gives_one_set_of_documents(collect, receiver, message_factory):
    attachments = [
        ("a.pdf", make_pdf_bytes(["Facture A"]), "application/pdf"),
        ("b.xml", XML_INVOICE, "application/xml"),
    ]
    msg = message_factory(attachments=attachments, message_id="<twice@martin.fr>")
    send(receiver, msg, collect.address)
    send(receiver, msg, collect.address)
    # The same Message-ID with other content (a resend by the client's software) too.
    again = message_factory(
        attachments=[("c.pdf", make_pdf_bytes(["Autre"]), "application/pdf")],
        message_id="<twice@martin.fr>",
    )
    send(receiver, again, collect.address)
    assert sorted(d.filename for d in collect.documents()) == ["a.pdf", "b.xml"]
    assert len(collect.messages()) == 1
    # A message without Message-ID is recognised by its content.
    bare = message_factory(attachments=[("d.pdf", make_pdf_bytes(["D"]), "application/pdf")])
    del bare["Message-ID"]
    raw = bare.as_bytes(policy=bare.policy.clone(linesep="\r\n"))  # same bytes twice
    send(receiver, raw, collect.address)
    send(receiver, raw, collect.address)
    assert len(collect.documents()) == 3 and len(collect.messages()) == 2


def test_unknown_sender_waits_in_quarantine(collect, receiver, message_factory):
    msg = message_factory(
        sender="inconnu@spam.example",
        attachments=[("f.pdf", make_pdf_bytes(["x"]), "application/pdf")],
    )
    send(receiver, msg, collect.address, sender="inconnu@spam.example")
    assert collect.documents() == []
    (item,) = collect.quarantine()
    assert item.reason_code == "unknown_sender" and item.part_index is None
    assert "Expéditeur non autorisé : inconnu@spam.example" in item.reason
    # An allowed domain passes.
    ok = message_factory(
        sender="factures@fournisseur.fr",
        attachments=[("g.pdf", make_pdf_bytes(["g"]), "application/pdf")],
    )
    send(receiver, ok, collect.address, sender="factures@fournisseur.fr")
    assert [d.filename for d in collect.documents()] == ["g.pdf"]


def test_refused_files_are_quarantined_with_the_intake_reason(
    collect, receiver, message_factory, app
):
    app.config["MAX_UPLOAD_BYTES"] = 20_000
    msg = message_factory(
        attachments=[
            ("bon.pdf", make_pdf_bytes(["Facture bonne"]), "application/pdf"),
            ("notes.txt", b"juste du texte", "text/plain"),
            ("casse.pdf", b"%PDF-1.4\n1 0 obj <<>> endobj\n", "application/pdf"),
            ("gros.pdf", make_pdf_bytes(["Gros"] * 40, pages=40), "application/pdf"),
        ]
    )
    send(receiver, msg, collect.address)
    assert [d.filename for d in collect.documents()] == ["bon.pdf"]
    items = {i.filename: i for i in collect.quarantine()}
    assert set(items) == {"notes.txt", "casse.pdf", "gros.pdf"}
    assert items["notes.txt"].reason_code == "unsupported_type"
    assert items["casse.pdf"].reason_code == "corrupt"
    assert items["gros.pdf"].reason_code == "too_large"
    assert "trop volumineux" in items["gros.pdf"].reason
    assert [i.part_index for i in collect.quarantine()] == [1, 2, 3]


def test_malformed_message_is_quarantined_and_the_receiver_keeps_running(
    collect, receiver, message_factory
):
    send(receiver, b"\x00\x01\x02 ceci n'est pas un message\r\n", collect.address)
    (item,) = collect.quarantine()
    assert item.reason_code == "malformed"
    assert "illisible" in item.reason
    # A message whose only attachment is broken base64: said to be undecodable.
    raw = (
        b"From: compta@martin.fr\r\nTo: x\r\nSubject: casse\r\nMessage-ID: <b64@martin.fr>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nbonjour\r\n"
        b'--B\r\nContent-Type: application/pdf; name="f.pdf"\r\n'
        b'Content-Disposition: attachment; filename="f.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!! pas du base64 @@@\r\n--B--\r\n"
    )
    send(receiver, raw, collect.address)
    (broken,) = collect.quarantine()[1:]
    assert broken.filename == "f.pdf"
    assert broken.reason_code == "undecodable"
    assert "Pièce jointe illisible (encodage)" in broken.reason
    # Still receiving.
    good = message_factory(attachments=[("ok.pdf", make_pdf_bytes(["ok"]), "application/pdf")])
    send(receiver, good, collect.address)
    assert [d.filename for d in collect.documents()] == ["ok.pdf"]


def test_message_without_attachment_is_kept(collect, receiver, message_factory):
    send(receiver, message_factory(), collect.address)
    (item,) = collect.quarantine()
    assert item.reason_code == "no_attachment"


def test_attached_messages_are_read_recursively(collect, receiver, message_factory):
    innermost = message_factory(
        sender="factures@fournisseur.fr",
        subject="Facture XML",
        attachments=[("facture.xml", XML_INVOICE, "application/xml")],
    )
    inner = message_factory(
        sender="factures@fournisseur.fr",
        subject="TR: factures",
        attachments=[("interieure.pdf", make_pdf_bytes(["Interieure"]), "application/pdf")],
        attached_messages=[innermost],
    )
    outer = message_factory(
        subject="TR: TR: factures",
        attachments=[("dessus.pdf", make_pdf_bytes(["Dessus"]), "application/pdf")],
        attached_messages=[inner],
    )
    send(receiver, outer, collect.address)
    assert sorted(d.filename for d in collect.documents()) == [
        "dessus.pdf",
        "facture.xml",
        "interieure.pdf",
    ]
    for document in collect.documents():
        (event,) = collect.events(document.id)
        assert event.after["subject"] == "TR: TR: factures"


def test_no_binder_quarantines_then_first_binder_is_used(app, factory, message_factory):
    """A company without a purchase binder: its first binder; without any binder: quarantine."""
    from plugins.mail_collect.services import receive
    from tests.plugins.mail_collect.conftest import Collect

    c = Collect.__new__(Collect)
    c.app, c.factory = app, factory
    c.firm = factory.firm()
    c.company = factory.company(c.firm, code="NOB1")
    c.configure(enabled=True, senders=["@martin.fr"])
    msg = message_factory(attachments=[("f.pdf", make_pdf_bytes(["f"]), "application/pdf")])
    from core.db import db

    with app.app_context():
        outcome = receive(c.company.id, msg.as_bytes(), source="smtp")
        db.session.commit()
    assert outcome.document_ids == []
    assert [i.reason_code for i in c.quarantine()] == ["no_binder"]
    other = factory.binder(c.company, type="other", name="Divers")
    msg2 = message_factory(attachments=[("g.pdf", make_pdf_bytes(["g"]), "application/pdf")])
    with app.app_context():
        receive(c.company.id, msg2.as_bytes(), source="smtp")
    assert [d.binder_id for d in c.documents()] == [other.id]
