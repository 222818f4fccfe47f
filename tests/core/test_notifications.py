"""Notifications: notify / notify_firm (in-app count, e-mail at once, nothing when off, one
unread per key), the daily digest (content, once per user and day, the hour), an export error
notifying its firm's admins and accountants only, the pages and the API, Administration →
E-mails (outbox, « Renvoyer », the demo catcher's messages), the ``classeur mail`` commands."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import db
from core.exports.registry import ExportError, ExportResult
from core.mail.models import MailState, OutgoingMail
from core.notifications.models import Notification, NotificationDigest
from core.plugins.hookspecs import hookimpl
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401


class FailingExporter:
    """Subscribes to purchase invoices and refuses every document for good."""

    name = "refuser"
    label = "Logiciel Refus"
    description = "Exporter of the tests"
    binder_types = {"purchase_invoices"}

    def export(self, context: Any) -> ExportResult:
        raise ExportError("Compte 401 inconnu dans le logiciel.", code="unknown_account")


class FailingPlugin:
    @hookimpl
    def register_exporters(self, register: Any) -> None:
        register(FailingExporter())


@pytest.fixture
def app(app_config: dict[str, Any]) -> Any:
    from core.app import create_app

    application = create_app(
        {**app_config, "EXTRA_PLUGINS": [FailingPlugin()], "PUBLIC_URL": "http://classeur.test"}
    )
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def _notify(app: Any, user_ids: list[int], firm_id: int, **kwargs: Any) -> None:
    from core.notifications.services import notify

    args = {"kind": "export_error", "title": "Un document en erreur", **kwargs}
    with app.test_request_context():
        notify(user_ids, firm_id, **args)
        db.session.commit()


def _count(app: Any, user_id: int, unread: bool = True) -> int:
    with app.app_context():
        stmt = select(func.count(Notification.id)).where(Notification.user_id == user_id)
        if unread:
            stmt = stmt.where(Notification.read_at.is_(None))
        return int(db.session.scalar(stmt) or 0)


def _set_modes(app: Any, user: Any, **modes: str) -> None:
    from core.auth.models import User

    with app.app_context():
        row = db.session.get(User, user.id)
        row.notification_settings = {**(row.notification_settings or {}), **modes}
        db.session.commit()


def test_immediate_notification_is_in_app_and_mailed(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    admin = world["a"]["admin"]
    _notify(
        app,
        [admin.id],
        world["a"]["firm"].id,
        body="Compte 401 inconnu.",
        link="/documents/1",
        key="k1",
    )
    assert _count(app, admin.id) == 1
    [message] = mail_outbox.deliver()
    assert message["To"] == admin.email
    assert message["Subject"] == "Un document en erreur"
    text = mail_outbox.text(message)
    assert "Compte 401 inconnu." in text
    assert "http://classeur.test/documents/1" in text
    assert "http://classeur.test/notifications/settings" in text
    with app.app_context():
        assert db.session.scalar(select(Notification.emailed_at)) is not None


def test_same_key_refreshes_the_unread_notification(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    admin, firm_id = world["a"]["admin"], world["a"]["firm"].id
    _notify(app, [admin.id], firm_id, key="export_error:document:7", title="Premier")
    _notify(app, [admin.id], firm_id, key="export_error:document:7", title="Deuxième")
    assert _count(app, admin.id) == 1
    with app.app_context():
        assert db.session.scalar(select(Notification.title)) == "Deuxième"
    assert len(mail_outbox.deliver()) == 1  # told once
    # Once read, the same key makes a new notification.
    with app.app_context():
        from core.notifications.services import mark_read

        mark_read(admin.id, firm_id)
        db.session.commit()
    _notify(app, [admin.id], firm_id, key="export_error:document:7", title="Troisième")
    assert _count(app, admin.id) == 1 and _count(app, admin.id, unread=False) == 2


def test_off_mode_records_and_sends_nothing(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    admin = world["a"]["admin"]
    _set_modes(app, admin, export_error="off")
    _notify(app, [admin.id], world["a"]["firm"].id)
    assert _count(app, admin.id, unread=False) == 0
    assert mail_outbox.deliver() == []


def test_unknown_kind_is_immediate_and_other_firms_users_are_ignored(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    admin_a, admin_b = world["a"]["admin"], world["b"]["admin"]
    _notify(app, [admin_a.id, admin_b.id], world["a"]["firm"].id, kind="plugin_kind")
    assert _count(app, admin_a.id) == 1
    assert _count(app, admin_b.id, unread=False) == 0
    assert [m["To"] for m in mail_outbox.deliver()] == [admin_a.email]


def test_only_safe_links_are_kept(app: Any, world: dict[str, Any]) -> None:
    admin, firm_id = world["a"]["admin"], world["a"]["firm"].id
    for link in ("javascript:alert(1)", "//evil.example/x", "data:text/html,x", "/" + "x" * 600):
        _notify(app, [admin.id], firm_id, link=link, key=link[:20], title=link[:20])
    _notify(app, [admin.id], firm_id, link="/documents/3", key="ok", title="ok")
    with app.app_context():
        links = {n.title: n.link for n in db.session.scalars(select(Notification))}
    assert links.pop("ok") == "/documents/3"
    assert set(links.values()) == {None}


def test_notify_firm_reaches_the_members_who_see_the_company(
    app: Any, world: dict[str, Any]
) -> None:
    from core.notifications.services import notify_firm

    a = world["a"]
    c1, c2 = a["companies"]
    with app.test_request_context():
        notify_firm(a["firm"].id, "payment", "Réglé", company_id=c2.id, roles=("admin", "uploader"))
        notify_firm(a["firm"].id, "payment", "Réglé 1", company_id=c1.id, roles=("uploader",))
        db.session.commit()
    assert _count(app, a["admin"].id) == 1
    assert _count(app, a["accountant"].id) == 0  # not in the roles
    assert _count(app, a["uploader"].id) == 1  # only c1's, the company it was given
    for user in ("admin", "accountant", "uploader"):
        assert _count(app, world["b"][user].id, unread=False) == 0


def test_export_error_notifies_the_firms_admins_and_accountants(
    app: Any, world: dict[str, Any], factory: Any, mail_outbox: Any
) -> None:
    from core.documents.models import Document
    from core.documents.services import validate_document
    from core.exports.models import ExportState, ExportStatus
    from core.exports.services import run_export, set_connector_enabled

    a = world["a"]
    document = factory.document(a["binders"][0], filename="facture-zinc.pdf")
    with app.app_context():
        set_connector_enabled(a["firm"].id, "refuser", True)
        db.session.commit()
    with app.app_context():
        ids = validate_document(db.session.get(Document, document.id), None)
        db.session.commit()
    with app.app_context():
        for status_id in ids:
            run_export(status_id)
        status = db.session.scalar(
            select(ExportStatus).where(
                ExportStatus.document_id == document.id, ExportStatus.connector == "refuser"
            )
        )
        assert status.state == ExportState.ERROR, status.message
        rows = db.session.scalars(select(Notification)).all()
    assert sorted(n.user_id for n in rows) == sorted([a["admin"].id, a["accountant"].id])
    n = rows[0]
    assert n.kind == "export_error" and n.firm_id == a["firm"].id
    assert "facture-zinc.pdf" in n.title and "Logiciel Refus" in n.title
    assert n.body == "Compte 401 inconnu dans le logiciel."
    assert n.link == f"/documents/{document.id}"
    assert n.key == f"export_error:document:{document.id}:refuser"
    assert _count(app, a["uploader"].id, unread=False) == 0
    for user in ("admin", "accountant", "uploader"):
        assert _count(app, world["b"][user].id, unread=False) == 0
    sent = mail_outbox.deliver()
    assert sorted(m["To"] for m in sent) == sorted([a["admin"].email, a["accountant"].email])
    assert f"http://classeur.test/documents/{document.id}" in mail_outbox.text(sent[0])


# --- the daily digest ------------------------------------------------------------------------


def test_digest_lists_daily_notifications_and_documents_to_review(
    app: Any, world: dict[str, Any], factory: Any, mail_outbox: Any
) -> None:
    from core.notifications.services import run_digest

    a = world["a"]
    accountant = a["accountant"]
    _set_modes(app, accountant, export_error="daily")
    for binder in a["binders"]:
        factory.document(binder, state="to_review")
    factory.document(a["binders"][0], state="to_review")
    factory.document(a["binders"][0], state="validated")
    factory.document(world["b"]["binders"][0], state="to_review")  # another firm's
    _notify(app, [accountant.id], a["firm"].id, title="Zinc en erreur", link="/documents/5")
    assert mail_outbox.deliver() == []  # daily: no mail at once
    with app.app_context():
        assert run_digest(accountant.id, "2026-12-02") == "sent"
        assert run_digest(accountant.id, "2026-12-02") is None  # once a day
        notification = db.session.scalar(select(Notification))
        assert notification.emailed_at is not None and notification.read_at is None
    [message] = mail_outbox.deliver()
    assert message["To"] == accountant.email
    assert message["Subject"] == "Classeur : votre résumé du 02/12/2026"
    text = mail_outbox.text(message)
    c1, c2 = a["companies"]
    assert "Documents à valider : 3" in text
    assert f"{c1.name} : 2 documents à valider" in text
    assert f"{c2.name} : 1 document à valider" in text
    assert f"http://classeur.test/trays/to-review?company={c1.id}" in text
    assert "Zinc en erreur" in text and "http://classeur.test/documents/5" in text
    assert world["b"]["companies"][0].name not in text
    # The next day: the notification was e-mailed already, the documents still wait.
    with app.app_context():
        assert run_digest(accountant.id, "2026-12-03") == "sent"
    text = mail_outbox.text(mail_outbox.deliver()[-1])
    assert "Zinc en erreur" not in text and "Documents à valider : 3" in text


def test_digest_with_nothing_to_tell_sends_nothing(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    from core.notifications.services import run_digest

    with app.app_context():
        assert run_digest(world["a"]["admin"].id, "2026-12-02") == "empty"
        assert run_digest(world["a"]["admin"].id, "2026-12-02") is None
        # The uploader reviews nothing; its to_review mode does not matter.
        assert run_digest(world["a"]["uploader"].id, "2026-12-02") == "empty"
    assert mail_outbox.deliver() == []


def test_to_review_off_leaves_documents_out_of_the_digest(
    app: Any, world: dict[str, Any], factory: Any, mail_outbox: Any
) -> None:
    from core.notifications.services import run_digest

    admin = world["a"]["admin"]
    _set_modes(app, admin, to_review="off")
    factory.document(world["a"]["binders"][0], state="to_review")
    with app.app_context():
        assert run_digest(admin.id, "2026-12-02") == "empty"
    assert mail_outbox.deliver() == []


def test_digest_is_due_after_the_hour_in_the_firms_time_zone(
    app: Any, world: dict[str, Any]
) -> None:
    from core.notifications.services import digest_candidates, digest_day, task_specs

    app.config["DIGEST_HOUR"] = 7
    with app.app_context():
        # 05:30 UTC is 06:30 in Paris (winter): not yet; 06:10 UTC is 07:10 there.
        assert digest_day(datetime(2026, 12, 2, 5, 30, tzinfo=UTC)) is None
        assert digest_day(datetime(2026, 12, 2, 6, 10, tzinfo=UTC)) == date(2026, 12, 2)
        users = {u.id for w in world.values() for u in (w["admin"], w["accountant"])}
        assert users <= set(digest_candidates(date(2026, 12, 2)))
        db.session.add(NotificationDigest(user_id=world["a"]["admin"].id, day=date(2026, 12, 2)))
        db.session.commit()
        assert world["a"]["admin"].id not in digest_candidates(date(2026, 12, 2))
        [spec] = task_specs()
        assert spec.name == "notification_digest" and spec.poll is not None


# --- pages and API ---------------------------------------------------------------------------


def test_pages_list_mark_read_and_settings(
    app: Any, client: Any, auth: Any, world: dict[str, Any]
) -> None:
    a = world["a"]
    admin = a["admin"]
    _notify(app, [admin.id], a["firm"].id, title="Zinc en erreur", link="/documents/1", key="1")
    _notify(app, [admin.id], a["firm"].id, title="Cuivre en erreur", key="2")
    _notify(app, [world["b"]["admin"].id], world["b"]["firm"].id, title="Zorglub secret")
    auth.login(admin)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Zinc en erreur" in page and "Cuivre en erreur" in page
    assert "Zorglub" not in page
    assert 'id="notifications-count">2<' in page  # the header's count
    with app.app_context():
        first = db.session.scalar(
            select(Notification.id).where(Notification.title == "Zinc en erreur")
        )
        theirs = db.session.scalar(
            select(Notification.id).where(Notification.title == "Zorglub secret")
        )
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert client.post(f"/notifications/{first}/read").status_code == 302
    assert _count(app, admin.id) == 1
    assert _count(app, world["b"]["admin"].id) == 1
    client.post("/notifications/read-all")
    assert _count(app, admin.id) == 0
    assert 'id="notifications-count"' not in client.get("/notifications").get_data(as_text=True)

    settings = client.get("/notifications/settings").get_data(as_text=True)
    assert "Documents en erreur d'export" in settings and "Documents à valider" in settings
    form = {
        "mode-export_error": "daily",
        "mode-to_review": "off",
        "mode-connector_disconnected": "immediate",
        "mode-document_request": "immediate",
        "mode-payment": "off",
    }
    assert client.post("/notifications/settings", data=form).status_code == 302
    from core.auth.models import User

    with app.app_context():
        stored = db.session.get(User, admin.id).notification_settings
    assert stored["export_error"] == "daily" and stored["to_review"] == "off"
    # to_review has no immediate mode; a made-up mode is refused, nothing changes.
    bad = client.post("/notifications/settings", data={**form, "mode-to_review": "immediate"})
    assert bad.status_code == 400 and "Choix invalide" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin.id).notification_settings["to_review"] == "off"


def test_api_lists_and_marks_read(
    app: Any, client: Any, factory: Any, world: dict[str, Any]
) -> None:
    admin = world["a"]["admin"]
    _notify(app, [admin.id], world["a"]["firm"].id, title="Zinc en erreur")
    _notify(app, [world["b"]["admin"].id], world["b"]["firm"].id, title="Zorglub secret")
    headers = {"Authorization": f"Bearer {factory.token(admin)}"}
    body = client.get("/api/v1/notifications", headers=headers).get_json()
    assert body["unread"] == 1 and [i["title"] for i in body["items"]] == ["Zinc en erreur"]
    assert body["items"][0]["kind_label"] == "Documents en erreur d'export"
    with app.app_context():
        theirs = db.session.scalar(
            select(Notification.id).where(Notification.title == "Zorglub secret")
        )
    assert client.post(f"/api/v1/notifications/{theirs}/read", headers=headers).status_code == 404
    mine = body["items"][0]["id"]
    answer = client.post(f"/api/v1/notifications/{mine}/read", headers=headers).get_json()
    assert answer == {"unread": 0}


# --- Administration → E-mails ----------------------------------------------------------------


def _outbox_row(app: Any, firm_id: int | None, subject: str, state: str = "failed") -> int:
    with app.app_context():
        row = OutgoingMail(
            firm_id=firm_id,
            to_address="x@example.fr",
            subject=subject,
            body_text="texte",
            state=state,
            attempts=8 if state == "failed" else 0,
            last_error="ConnectionRefusedError: refused" if state == "failed" else None,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_admin_mail_page_lists_the_firms_outbox_and_sends_again(
    app: Any, client: Any, auth: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    mine = _outbox_row(app, world["a"]["firm"].id, "Invitation Alpha")
    theirs = _outbox_row(app, world["b"]["firm"].id, "Invitation Zorglub")
    auth.login(world["a"]["admin"])
    page = client.get("/admin/mails").get_data(as_text=True)
    assert "Invitation Alpha" in page and "Zorglub" not in page
    assert "ConnectionRefusedError: refused" in page and "Renvoyer" in page
    assert "mail-not-configured" not in page  # the fixture's SMTP server is set
    assert client.post(f"/admin/mails/{theirs}/retry").status_code == 404
    assert client.post(f"/admin/mails/{mine}/retry").status_code == 302
    with app.app_context():
        row = db.session.get(OutgoingMail, mine)
        assert row.state == MailState.PENDING and row.attempts == 0
    [message] = mail_outbox.deliver()
    assert message["Subject"] == "Invitation Alpha"
    # Accountants and uploaders do not see the outbox.
    auth.login(world["a"]["accountant"])
    assert client.get("/admin/mails").status_code == 403


def test_admin_mail_page_says_mail_is_not_configured(
    app: Any, client: Any, auth: Any, world: dict[str, Any]
) -> None:
    _outbox_row(app, world["a"]["firm"].id, "En attente", state="pending")
    auth.login(world["a"]["admin"])
    page = client.get("/admin/mails").get_data(as_text=True)
    assert "mail-not-configured" in page and "n'est pas configuré" in page
    assert "En attente" in page


def test_admin_mail_page_shows_the_catchers_messages_of_the_firm_only(
    app: Any, client: Any, auth: Any, world: dict[str, Any], tmp_path: Any
) -> None:
    from core.mail.catcher import start_catcher
    from core.mail.services import queue_mail, send_due

    controller = start_catcher(app.config["DATA_DIR"], "127.0.0.1", 0)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_CATCHER_PORT=1)
    try:
        with app.test_request_context():
            queue_mail("a@alpha.fr", "Pour Alpha", "test", firm_id=world["a"]["firm"].id)
            queue_mail("b@zorglub.fr", "Pour Zorglub", "test", firm_id=world["b"]["firm"].id)
            db.session.commit()
            send_due()
    finally:
        controller.stop()
    auth.login(world["a"]["admin"])
    page = client.get("/admin/mails").get_data(as_text=True)
    assert "E-mails reçus par le serveur de démonstration" in page
    assert "Pour Alpha" in page and "Pour Zorglub" not in page
    from core.mail.catcher import caught_mails

    caught = {c.subject: c.name for c in caught_mails(app.config["DATA_DIR"])}
    shown = client.get(f"/admin/mails/caught/{caught['Pour Alpha']}").get_data(as_text=True)
    assert "l&#39;envoi d&#39;e-mails fonctionne" in shown and "a@alpha.fr" in shown
    assert client.get(f"/admin/mails/caught/{caught['Pour Zorglub']}").status_code == 404
    assert client.get("/admin/mails/caught/..%2Fclasseur.db").status_code == 404


def test_caught_mail_of_a_person_in_another_firm_is_not_readable(
    app: Any, client: Any, auth: Any, world: dict[str, Any], factory: Any
) -> None:
    """A password reset sent to someone who is also in firm B: firm A's administrator sees
    that it went out, never its link (which would open firm B)."""
    from core.auth.models import User
    from core.mail.catcher import caught_mails, start_catcher
    from core.mail.services import queue_mail, send_due
    from core.tenancy.models import Firm, Membership, Role

    both = factory.user(world["a"]["firm"], "accountant", email="deux@cabinets.fr")
    only_a = world["a"]["accountant"]
    with app.app_context():
        user = db.session.get(User, both.id)
        user.memberships.append(
            Membership(firm=db.session.get(Firm, world["b"]["firm"].id), role=Role.ADMIN)
        )
        db.session.commit()
    controller = start_catcher(app.config["DATA_DIR"], "127.0.0.1", 0)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_CATCHER_PORT=1)
    try:
        with app.test_request_context():
            for person, subject in ((both, "Lien secret deux"), (only_a, "Lien secret un")):
                queue_mail(
                    person.email, subject, "test", firm_id=world["a"]["firm"].id, user_id=person.id
                )
            db.session.commit()
            send_due()
    finally:
        controller.stop()
    names = {c.subject: c.name for c in caught_mails(app.config["DATA_DIR"])}
    auth.login(world["a"]["admin"])
    hidden = client.get(f"/admin/mails/caught/{names['Lien secret deux']}").get_data(as_text=True)
    assert 'id="caught-hidden"' in hidden and "fonctionne" not in hidden
    shown = client.get(f"/admin/mails/caught/{names['Lien secret un']}").get_data(as_text=True)
    assert 'id="caught-text"' in shown and "fonctionne" in shown


# --- commands --------------------------------------------------------------------------------


def test_mail_commands(tmp_path: Any) -> None:
    from core.mail.catcher import caught_mails, start_catcher
    from tests.core.test_cli import run

    data_dir = tmp_path / "var"
    run(data_dir, "init")
    no_smtp = run(data_dir, "mail", "test", "moi@example.fr", check=False)
    assert no_smtp.returncode == 1 and "CLASSEUR_SMTP_HOST" in no_smtp.stderr
    controller = start_catcher(tmp_path / "smtp", "127.0.0.1", 0)
    env = {"CLASSEUR_SMTP_HOST": "127.0.0.1", "CLASSEUR_SMTP_PORT": str(controller.port)}
    try:
        sent = run(data_dir, "mail", "test", "moi@example.fr", env_extra=env)
        assert "Sent to moi@example.fr" in sent.stdout
        [caught] = caught_mails(tmp_path / "smtp")
        assert caught.to == "moi@example.fr" and "message d'essai" in caught.subject
    finally:
        controller.stop()
    # Server down now: the test mail stays in the outbox, listed, then put back once failed.
    down = run(data_dir, "mail", "test", "moi@example.fr", env_extra=env, check=False)
    assert down.returncode == 1 and "stays in the outbox" in down.stderr
    listed = run(data_dir, "mail", "outbox", env_extra=env).stdout
    assert "pending" in listed and "moi@example.fr" in listed
    assert "\tsent\t" in run(data_dir, "mail", "outbox", "--all").stdout
    assert "\tsent\t" not in listed
    import sqlite3

    with sqlite3.connect(data_dir / "classeur.db") as conn:
        conn.execute("UPDATE outgoing_mails SET state = 'FAILED' WHERE state = 'PENDING'")
    assert "1 mail(s) put back" in run(data_dir, "mail", "retry").stdout
