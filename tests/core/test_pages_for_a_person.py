"""The administration, audit and token pages show names a person reads — binder types,
plugins, actions, companies, scopes — and dates in French local time, never codes."""

from __future__ import annotations

import re
from datetime import datetime

from core.db import db


def visible(html: str) -> str:
    """The page's text, without tags and attributes."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_admin_page_names_plugins_and_binder_types(client, factory, auth):
    auth.login(factory.user(factory.firm(), "admin"))
    text = visible(client.get("/admin").get_data(as_text=True))
    assert "Factures d'achat" in text or "Factures d&#39;achat" in text
    for code in ("purchase_invoices", "admin_documents", "meg_export", "binder_purchases"):
        assert code not in text, code
    assert "MEG (RCA)" in text


def test_token_scopes_and_dates_in_french(client, factory, auth):
    auth.login(factory.user(factory.firm(), "accountant"))
    html = client.post(
        "/account/tokens",
        data={"name": "Scanner", "scope_read": "y", "scope_write": "y", "days": "30"},
    ).get_data(as_text=True)
    row = visible(re.search(r'<table class="list" id="tokens">.*?</table>', html, re.S).group(0))
    assert "Lecture, écriture" in row and "read write" not in row
    assert re.search(r"\d\d/\d\d/\d{4}", row)


def test_audit_log_names_targets_and_uses_local_time(app, client, factory, auth):
    from core.auth.audit import audit
    from core.auth.models import AuditEvent

    firm = factory.firm()
    company = factory.company(firm, name="Entreprise Dupont", code="DUP")
    other_firm = factory.firm()
    stranger = factory.company(other_firm, name="Secret SARL", code="SEC")
    admin = factory.user(firm, "admin")
    with app.app_context():
        audit("company_settings", target=f"company:{company.id}", user_id=admin.id, firm_id=firm.id)
        audit("meg_link", target=f"company:{stranger.id}", user_id=admin.id, firm_id=firm.id)
        audit(
            "connector_switch",
            target="meg_export:firm",
            details={"enabled": "on"},
            user_id=admin.id,
            firm_id=firm.id,
        )
        db.session.flush()
        winter = db.session.query(AuditEvent).filter_by(action="company_settings").one()
        winter.created_at = datetime(2026, 1, 15, 12, 0, 0)  # UTC: 13:00 in Paris
        db.session.commit()
    auth.login(admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    text = visible(html)
    assert f'<a href="/companies/{company.id}">Entreprise Dupont (DUP)</a>' in html
    assert "15/01/2026 13:00:00" in text
    assert "Liaison MEG" in text and "meg_link" not in text
    assert "MEG (RCA) — cabinet" in text and "activé" in text
    # A company of another firm is never named, even if a target points at it.
    assert "Secret SARL" not in text
    assert "company:" not in text and "meg_export" not in text
