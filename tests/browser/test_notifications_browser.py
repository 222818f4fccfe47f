"""In a real browser: the header's notification count, the list, marking one and then all as
read, « Mes notifications » (per subject: e-mail at once, daily digest or off), and
Administration → E-mails (the outbox, « Renvoyer », a message caught by the demo's catcher,
opened in the page)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app_config: dict[str, Any]) -> Any:
    from core.app import create_app

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def _notify(app: Any, user: Any, firm: Any, title: str, **kwargs: Any) -> None:
    from core.notifications.services import notify

    with app.test_request_context():
        notify([user.id], firm.id, kwargs.pop("kind", "export_error"), title, **kwargs)
        db.session.commit()


def test_header_count_list_mark_read_and_settings(
    page: Any, live_server: Any, world: dict[str, Any], factory: Any
) -> None:
    app = live_server.app
    a = world["a"]
    admin = a["admin"]
    document = factory.document(a["binders"][0], filename="facture-zinc.pdf")
    _notify(
        app,
        admin,
        a["firm"],
        "Erreur d'export : facture-zinc.pdf",
        body="Compte 401 inconnu.",
        link=f"/documents/{document.id}",
        key="zinc",
    )
    _notify(app, admin, a["firm"], "MEG déconnecté : Société a1", kind="connector_disconnected")
    _notify(app, world["b"]["admin"], world["b"]["firm"], "Zorglub secret")

    login(page, live_server, admin)
    link = page.locator("#notifications-link")
    assert link.is_visible()
    assert page.locator("#notifications-count").inner_text() == "2"
    link.click()
    page.wait_for_url(live_server.url + "/notifications")
    assert page.get_by_role("heading", name="Notifications").is_visible()
    rows = page.locator("#notifications tbody tr")
    assert rows.count() == 2
    assert "Zorglub" not in page.content()
    assert page.locator("#unread-summary").inner_text() == "2 notifications non lues."
    zinc = page.locator("#notifications tbody tr", has_text="facture-zinc.pdf")
    assert zinc.get_by_text("Documents en erreur d'export").is_visible()
    assert zinc.get_by_text("Compte 401 inconnu.").is_visible()

    # Mark one read: the header's count drops to 1, the row says « Lue ».
    zinc.get_by_role("button", name="Marquer comme lue").click()
    page.wait_for_load_state()
    assert page.locator("#notifications-count").inner_text() == "1"
    zinc = page.locator("#notifications tbody tr", has_text="facture-zinc.pdf")
    assert zinc.locator("td.read-state").inner_text() == "Lue"
    assert zinc.get_by_role("button", name="Marquer comme lue").count() == 0

    # The title opens what was notified.
    zinc.get_by_role("link", name="Erreur d'export : facture-zinc.pdf").click()
    page.wait_for_url(live_server.url + f"/documents/{document.id}")
    page.go_back()

    # Mark all: no count left in the header.
    page.get_by_role("button", name="Tout marquer comme lu").click()
    page.wait_for_load_state()
    assert page.locator("#notifications-count").count() == 0
    assert page.locator("#unread-summary").inner_text() == "Aucune notification non lue."
    assert page.get_by_text("notification(s) marquée(s) comme lue(s)").is_visible()

    # « Mes notifications »: the current modes, then new ones saved.
    page.get_by_role("link", name="Mes notifications").click()
    page.wait_for_url(live_server.url + "/notifications/settings")
    assert page.get_by_role("heading", name="Mes notifications").is_visible()
    assert page.get_by_label("Documents en erreur d'export : E-mail immédiat").is_checked()
    assert page.get_by_label("Documents à valider : Résumé quotidien").is_checked()
    # « Documents à valider » is computed for the digest: no immediate e-mail offered.
    assert page.get_by_label("Documents à valider : E-mail immédiat").count() == 0
    page.get_by_label("Documents en erreur d'export : Résumé quotidien").check()
    page.get_by_label("Documents à valider : Désactivé").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(live_server.url + "/notifications/settings")
    assert page.get_by_text("Vos préférences de notification sont enregistrées.").is_visible()
    assert page.get_by_label("Documents en erreur d'export : Résumé quotidien").is_checked()
    assert page.get_by_label("Documents à valider : Désactivé").is_checked()
    from core.auth.models import User

    with app.app_context():
        stored = db.session.get(User, admin.id).notification_settings
    assert stored["export_error"] == "daily" and stored["to_review"] == "off"


def test_admin_mail_page_outbox_retry_and_caught_message(
    page: Any, live_server: Any, world: dict[str, Any]
) -> None:
    from core.mail.catcher import start_catcher
    from core.mail.models import MailState, OutgoingMail
    from core.mail.services import queue_mail, send_due

    app = live_server.app
    a = world["a"]
    controller = start_catcher(app.config["DATA_DIR"], "127.0.0.1", 0)
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_CATCHER_PORT=controller.port
    )
    try:
        with app.test_request_context():
            queue_mail("client@alpha.fr", "Essai pour le cabinet A", "test", firm_id=a["firm"].id)
            queue_mail(
                "z@zorglub.fr", "Zorglub confidentiel", "test", firm_id=world["b"]["firm"].id
            )
            failed = OutgoingMail(
                firm_id=a["firm"].id,
                to_address="perdu@alpha.fr",
                subject="Invitation perdue",
                body_text="Bonjour",
                state=MailState.FAILED,
                attempts=8,
                last_error="ConnectionRefusedError: [Errno 111] Connection refused",
            )
            db.session.add(failed)
            db.session.commit()
            send_due()
            failed_id = failed.id

        login(page, live_server, a["admin"])
        page.goto(live_server.url + "/admin")
        page.get_by_role("link", name="E-mails").click()
        page.wait_for_url(live_server.url + "/admin/mails")
        assert page.get_by_role("heading", name="E-mails", exact=True).is_visible()
        assert "Zorglub" not in page.content()
        outbox = page.locator("#outbox")
        sent = outbox.locator("tr", has_text="Essai pour le cabinet A")
        assert "Envoyé" in sent.locator("td.mail-state").inner_text()
        lost = outbox.locator(f'tr[data-mail="{failed_id}"]')
        assert "Échec" in lost.locator("td.mail-state").inner_text()
        assert lost.get_by_text("Connection refused").is_visible()
        lost.get_by_role("button", name="Renvoyer").click()
        page.wait_for_url(live_server.url + "/admin/mails")
        assert page.get_by_text("est remis dans la file d'envoi").is_visible()
        lost = page.locator(f'#outbox tr[data-mail="{failed_id}"]')
        assert "En attente" in lost.locator("td.mail-state").inner_text()
        with app.app_context():
            row = db.session.scalar(select(OutgoingMail).where(OutgoingMail.id == failed_id))
            assert row.state == MailState.PENDING

        # The demo catcher's messages of the firm, opened in the page.
        caught = page.locator("#caught-mails")
        assert caught.get_by_role("link", name="Zorglub confidentiel").count() == 0
        caught.get_by_role("link", name="Essai pour le cabinet A").click()
        assert page.get_by_role("heading", name="Essai pour le cabinet A").is_visible()
        assert page.locator("#caught-to").inner_text() == "client@alpha.fr"
        assert "l'envoi d'e-mails fonctionne" in page.locator("#caught-text").inner_text()
    finally:
        controller.stop()
