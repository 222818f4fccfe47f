"""The company's ``collection_address`` (API and page), the tab "Collecte par e-mail" and the
"Quarantaine" page with CSRF on, firm-scoped; the ``serve --with-mail-in`` option."""

from __future__ import annotations

import re
import smtplib

import pytest

from core.app import create_app
from core.db import db
from tests.conftest import Auth, Factory, make_pdf_bytes

ADDRESS = re.compile(r"^bm01\.[a-z2-7]{12}@classeur\.localhost$")


@pytest.fixture
def csrf_app(app_config):
    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_collection_address_in_the_company_api_and_page(app, factory, client, auth):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    other = factory.company(firm, code="XY02")
    admin = factory.user(firm, "admin")
    token = factory.token(admin)
    headers = {"Authorization": f"Bearer {token}"}

    first = client.get(f"/api/v1/companies/{company.id}", headers=headers).get_json()
    assert ADDRESS.match(first["collection_address"])
    # Stable: the same on every read, in the list too, and distinct per company.
    again = client.get(f"/api/v1/companies/{company.id}", headers=headers).get_json()
    assert again["collection_address"] == first["collection_address"]
    listed = {c["id"]: c for c in client.get("/api/v1/companies", headers=headers).get_json()}
    assert listed[company.id]["collection_address"] == first["collection_address"]
    assert listed[other.id]["collection_address"] != first["collection_address"]

    # A company created through the API has its address in the answer.
    created = client.post(
        "/api/v1/companies", json={"name": "Nouvelle", "dossier_code": "NV01"}, headers=headers
    ).get_json()
    assert re.match(r"^nv01\.[a-z2-7]{12}@", created["collection_address"])
    assert (
        client.get(f"/api/v1/companies/{created['id']}", headers=headers).get_json()[
            "collection_address"
        ]
        == created["collection_address"]
    )

    auth.login(admin)
    page = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Adresse de collecte" in page
    assert first["collection_address"] in page
    # The domain is a setting.
    app.config["MAIL_DOMAIN"] = "collecte.cabinet.fr"
    renamed = client.get(f"/api/v1/companies/{company.id}", headers=headers).get_json()
    assert renamed["collection_address"].endswith("@collecte.cabinet.fr")
    assert renamed["collection_address"].split("@")[0] == first["collection_address"].split("@")[0]


def test_tab_sets_activation_senders_and_imap_with_csrf(csrf_app):
    factory = Factory(csrf_app)
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    admin = factory.user(firm, "admin")
    uploader = factory.user(firm, "uploader", companies=[company])
    client = csrf_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"email": admin.email, "password": admin.password, "csrf_token": _csrf(login)},
    )
    url = f"/companies/{company.id}/mail-collect"
    page = client.get(url).get_data(as_text=True)
    for label in ("Collecte par e-mail", "Adresse de collecte", "Expéditeurs autorisés"):
        assert label in page
    assert "Collecte désactivée" in page
    assert f'href="/companies/{company.id}/mail-collect"' in client.get(
        f"/companies/{company.id}/accounting"
    ).get_data(as_text=True)

    form = {
        "enabled": "on",
        "allowed_senders": "Compta@Martin.fr\n@fournisseur.fr, expert.fr",
        "imap_enabled": "on",
        "imap_host": "imap.martin.fr",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_user": "factures@martin.fr",
        "imap_password": "tres-secret",
        "imap_folder": "INBOX",
    }
    assert client.post(url, data=form).status_code == 400  # no CSRF token
    saved = client.post(url, data={**form, "csrf_token": _csrf(page)})
    assert saved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Collecte activée" in page and "tres-secret" not in page
    assert "compta@martin.fr\n@fournisseur.fr\n@expert.fr" in page
    with csrf_app.app_context():
        from plugins.mail_collect.models import Mailbox
        from plugins.mail_collect.services import imap_settings

        mailbox = db.session.query(Mailbox).filter_by(company_id=company.id).one()
        assert mailbox.enabled and mailbox.imap_enabled
        assert "tres-secret" not in mailbox.imap_secret
        assert imap_settings(mailbox)["password"] == "tres-secret"
    # Saved again with the password left empty: kept.
    client.post(url, data={**form, "imap_password": "", "csrf_token": _csrf(page)})
    with csrf_app.app_context():
        mailbox = db.session.query(Mailbox).filter_by(company_id=company.id).one()
        assert imap_settings(mailbox)["password"] == "tres-secret"
    # A bad sender: a French error, nothing changed.
    bad = client.post(
        url,
        data={**form, "allowed_senders": "pas une adresse@", "csrf_token": _csrf(page)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "« pas » n&#39;est ni une adresse e-mail ni un domaine" in bad
    # An uploader neither sees the tab (the accounting tabs are the firm's) nor changes it.
    other = csrf_app.test_client()
    login = other.get("/login").get_data(as_text=True)
    other.post(
        "/login",
        data={"email": uploader.email, "password": uploader.password, "csrf_token": _csrf(login)},
    )
    assert other.get(url).status_code == 403
    assert other.post(url, data={**form, "csrf_token": _csrf(login)}).status_code in (400, 403)


def test_quarantine_page_release_and_delete_firm_scoped(csrf_app):
    from plugins.mail_collect.services import mailbox_in_session, receive
    from plugins.mail_collect.smtp import start_receiver
    from tests.plugins.mail_collect.conftest import build_message

    factory = Factory(csrf_app)
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="BM01")
    binder = factory.binder(company, name="Achats")
    admin = factory.user(firm, "admin")
    accountant = factory.user(firm, "accountant")
    other_firm = factory.firm()
    other_admin = factory.user(other_firm, "admin")
    with csrf_app.app_context():
        from core.tenancy.models import Company

        mailbox = mailbox_in_session(db.session.get(Company, company.id))
        mailbox.enabled, mailbox.allowed_senders = True, ["compta@martin.fr"]
        db.session.commit()
    stranger = build_message(
        sender="nouveau@client.example",
        subject="Factures du nouveau comptable",
        attachments=[("f1.pdf", make_pdf_bytes(["F1"]), "application/pdf")],
    )
    refused = build_message(attachments=[("notes.txt", b"texte", "text/plain")])
    with csrf_app.app_context():
        receive(company.id, stranger.as_bytes(), source="smtp")
        receive(company.id, refused.as_bytes(), source="smtp")

    client = csrf_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"email": admin.email, "password": admin.password, "csrf_token": _csrf(login)},
    )
    page = client.get("/mail-collect/quarantine").get_data(as_text=True)
    for label in ("Quarantaine", "Libérer", "Supprimer", "nouveau@client.example", "notes.txt"):
        assert label in page
    ids = [int(i) for i in re.findall(r'data-item="(\d+)"', page)]
    assert len(ids) == 2
    stranger_id, refused_id = sorted(ids)
    raw = client.get(f"/mail-collect/quarantine/{stranger_id}/message.eml")
    assert raw.status_code == 200 and b"Factures du nouveau comptable" in raw.data

    # Another firm's admin sees nothing of it; an accountant has no access.
    outsider = csrf_app.test_client()
    login = outsider.get("/login").get_data(as_text=True)
    outsider.post(
        "/login",
        data={
            "email": other_admin.email,
            "password": other_admin.password,
            "csrf_token": _csrf(login),
        },
    )
    outside = outsider.get("/mail-collect/quarantine").get_data(as_text=True)
    assert "nouveau@client.example" not in outside
    assert (
        outsider.post(
            f"/mail-collect/quarantine/{stranger_id}/delete",
            data={"csrf_token": _csrf(outside), "confirm": "on"},
        ).status_code
        == 404
    )
    Auth(csrf_app.test_client())  # (helper kept for symmetry with other page tests)
    clerk = csrf_app.test_client()
    login = clerk.get("/login").get_data(as_text=True)
    clerk.post(
        "/login",
        data={
            "email": accountant.email,
            "password": accountant.password,
            "csrf_token": _csrf(login),
        },
    )
    assert clerk.get("/mail-collect/quarantine").status_code == 403

    token = _csrf(page)
    # Without the CSRF token: refused.
    assert client.post(f"/mail-collect/quarantine/{stranger_id}/release").status_code == 400
    released = client.post(
        f"/mail-collect/quarantine/{stranger_id}/release",
        data={"csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Libéré : 1 document(s) classé(s)." in released
    with csrf_app.app_context():
        from core.documents.models import Document, DocumentEvent

        (document,) = db.session.query(Document).filter_by(binder_id=binder.id).all()
        event = (
            db.session.query(DocumentEvent)
            .filter_by(document_id=document.id, action="email_received")
            .one()
        )
        assert event.after["sender"] == "nouveau@client.example"
    # A refused file released again is refused again, with the intake's French reason.
    again = client.post(
        f"/mail-collect/quarantine/{refused_id}/release",
        data={"csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "notes.txt" in again  # still there
    deleted = client.post(
        f"/mail-collect/quarantine/{refused_id}/delete",
        data={"csrf_token": token, "confirm": "on"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "La quarantaine est vide." in deleted
    assert start_receiver  # the receiver module imports without a running loop


def test_serve_option_starts_the_receiver(app, factory):
    import click

    from plugins.mail_collect.cli import SERVE_OPTION, add_serve_option, start_for_serve

    group = click.Group()
    group.add_command(click.Command("serve", params=[]))
    add_serve_option(group)
    add_serve_option(group)  # once only
    assert [p.name for p in group.commands["serve"].params] == [SERVE_OPTION]
    assert start_for_serve(app, {"host": "127.0.0.1", SERVE_OPTION: None}) is None
    controller = start_for_serve(app, {"host": "127.0.0.1", SERVE_OPTION: 0})
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as smtp:
            assert smtp.ehlo()[0] == 250
            code, _ = smtp.mail("x@exemple.fr")
            assert code == 250
            code, message = smtp.rcpt("personne@classeur.localhost")
            assert code == 550 and b"inconnue" in message
    finally:
        controller.stop()


def test_demo_companies_collect_from_the_demo_domain(app, factory):
    from core.tenancy.models import Company
    from plugins.mail_collect import seed_demo_company
    from plugins.mail_collect.services import get_mailbox, sender_allowed

    firm = factory.firm()
    company = factory.company(firm, code="DEMO01")
    with app.app_context():
        seed_demo_company(db.session.get(Company, company.id))
        db.session.commit()
        mailbox = get_mailbox(company.id)
        assert mailbox.enabled
        assert sender_allowed(mailbox, "compta@exemple.fr")
        assert not sender_allowed(mailbox, "compta@autre.fr")
