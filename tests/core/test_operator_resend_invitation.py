"""The operator's firm page offers « Renvoyer l'invitation » for a firm administrator whose
invitation is pending: a new e-mail with a new link (the previous one void), audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.db import db
from tests.conftest import Auth
from tests.core.test_firms_operator import _operator
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401


def test_operator_resends_a_pending_admin_invitation(
    app: Any, factory: Any, mail_outbox: Any
) -> None:
    from core.auth.models import User
    from core.tenancy.models import Firm

    client = app.test_client()
    Auth(client).login(_operator(app))
    created = client.post("/operator", data={"name": "Cabinet Neuf", "admin_email": "p@neuf.fr"})
    firm_url = created.headers["Location"]
    with app.app_context():
        firm = db.session.scalar(select(Firm).where(Firm.name == "Cabinet Neuf"))
        admin = db.session.scalar(select(User).where(User.email == "p@neuf.fr"))
        firm_id, admin_id = firm.id, admin.id
    page = client.get(firm_url).get_data(as_text=True)
    action = f"/operator/firms/{firm_id}/users/{admin_id}/invitation"
    assert "Renvoyer l'invitation" in page and f'action="{action}"' in page
    assert len(mail_outbox.deliver()) == 1
    answer = client.post(action, follow_redirects=True)
    assert "Invitation renvoyée à p@neuf.fr." in answer.get_data(as_text=True)
    sent = mail_outbox.deliver()
    assert [m["To"] for m in sent] == ["p@neuf.fr", "p@neuf.fr"]
    assert "/invitation/" in mail_outbox.text(sent[1]) or "invitation" in sent[1]["Subject"].lower()
    with app.app_context():
        from core.auth.models import AuditEvent

        resent = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "invitation_resent")
        )
        assert resent.firm_id == firm_id and resent.target == f"user:{admin_id}"
    # Another firm's user, or a user who chose a password: refused.
    other = factory.firm("Autre")
    accountant = factory.user(other, "accountant")
    assert (
        client.post(f"/operator/firms/{firm_id}/users/{accountant.id}/invitation").status_code
        == 404
    )
    active_admin = factory.user(other, "admin")
    done = client.post(
        f"/operator/firms/{other.id}/users/{active_admin.id}/invitation", follow_redirects=True
    )
    assert "a déjà choisi son mot de passe" in done.get_data(as_text=True)
    assert len(mail_outbox.deliver()) == 2
    # Not for a firm member.
    member = app.test_client()
    Auth(member).login(active_admin)
    assert member.post(action).status_code == 403
