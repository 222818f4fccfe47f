"""A company's MEG link lost (its token revoked in the real sandbox): the export that finds it
out and the payments' reading both tell the firm « Connecteur déconnecté », once per company
until read, linked to the company's MEG tab; another firm hears nothing."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.notifications.models import Notification
from plugins.meg_export.client import MegOAuth
from plugins.meg_export.payments import refresh_payments
from tests.conftest import wait_for
from tests.plugins.meg_export.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from tests.plugins.meg_export.meg_helpers import stored_token


def _disconnected(app) -> list[Notification]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification).where(Notification.kind == "connector_disconnected")
            )
        )


def test_lost_link_notifies_connector_disconnected(app, meg_for, purchase_fields, factory):
    meg = meg_for("DEMO01")
    other_firm = factory.firm("Cabinet Ailleurs")
    other_admin = factory.user(other_firm, "admin")
    token = stored_token(app, meg.company)
    MegOAuth(meg.sandbox.base_url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI).revoke(
        token["refresh_token"]
    )

    # An export finds the link gone.
    document = meg.document(purchase_fields(invoice_number="FA-LOST-1", due_date="2026-12-31"))
    meg.validate(document)
    status = meg.wait_final(document)
    assert (status.state, status.code) == ("error", "link_expired")
    [notification] = wait_for(lambda: _disconnected(app))
    assert notification.firm_id == meg.company.firm_id
    assert notification.user_id != other_admin.id
    assert meg.company.name in notification.title and "MEG" in notification.title
    assert "Reliez l'entreprise à MEG" in notification.body
    assert notification.link == f"/companies/{meg.company.id}/meg"
    assert notification.key == f"connector_disconnected:meg_export:{meg.company.id}"
    with app.app_context():
        kinds = set(db.session.scalars(select(Notification.kind)))
    assert kinds == {"connector_disconnected", "export_error"}

    # A second failure refreshes the unread notification instead of repeating it.
    meg.runner.stop()
    with app.app_context():
        assert refresh_payments(meg.company.id) is None
    assert [n.id for n in _disconnected(app)] == [notification.id]

    # Once read, the payments' reading that meets the refused token tells it again.
    with app.app_context():
        from core.notifications.services import mark_read

        mark_read(notification.user_id, notification.firm_id)
        db.session.commit()
        assert refresh_payments(meg.company.id) is None
    unread = [n for n in _disconnected(app) if n.read_at is None]
    assert len(unread) == 1 and unread[0].id != notification.id
