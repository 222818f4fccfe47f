"""Login throttling, the API token page (create, scopes, expiry, revoke) and the audit log."""

from __future__ import annotations

import re


def test_login_is_throttled(client, factory):
    user = factory.user(factory.firm())
    codes = [
        client.post(
            "/login", data={"email": user.email, "password": "faux-mot-de-passe1"}
        ).status_code
        for _ in range(11)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    # Even the right password is refused while throttled.
    assert (
        client.post("/login", data={"email": user.email, "password": user.password}).status_code
        == 429
    )


def test_token_page_create_use_and_revoke(client, factory, auth):
    firm = factory.firm()
    user = factory.user(firm, "accountant")
    auth.login(user)
    page = client.post(
        "/account/tokens",
        data={"name": "Scanner", "scope_read": "y", "scope_write": "y", "days": "30"},
    )
    html = page.get_data(as_text=True)
    token = re.search(r"<code>(clsr_[^<]+)</code>", html).group(1)
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/companies", headers=h).status_code == 200
    # An accountant cannot mint an admin token.
    refused = client.post("/account/tokens", data={"name": "x", "scope_admin": "y", "days": "1"})
    assert "Seul un administrateur" in refused.get_data(as_text=True)
    token_id = int(re.search(r"/account/tokens/(\d+)/revoke", html).group(1))
    client.post(f"/account/tokens/{token_id}/revoke")
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    fresh = client.application.test_client()
    assert fresh.get("/api/v1/companies", headers=h).status_code == 401
    other = factory.user(firm, "accountant")
    fresh_auth = fresh.post("/login", data={"email": other.email, "password": other.password})
    assert fresh_auth.status_code == 302
    assert fresh.post(f"/account/tokens/{token_id}/revoke").status_code == 404


def test_expired_token_is_refused(app, client, factory):
    from datetime import timedelta

    from sqlalchemy import select

    from core.auth.models import ApiToken
    from core.db import db, utcnow

    user = factory.user(factory.firm())
    token = factory.token(user)
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert (
        client.get("/api/v1/companies", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_audit_log_shows_logins_and_settings(client, factory, auth, world):
    a = world["a"]
    client.post("/login", data={"email": a["accountant"].email, "password": "mauvais-mdp-12"})
    auth.login(a["admin"])
    company = a["companies"][0]
    client.post(
        f"/companies/{company.id}/accounting",
        data={
            "software": "meg",
            "dossier_code": "A01",
            "binder_type": "purchase_invoices",
            "binder_name": "Achats",
            "invoice_number": "y",
            "due_date": "y",
        },
    )
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Échec de connexion" in html and "Connexion" in html
    assert "Paramétrage modifié" in html
    auth.login(a["accountant"])
    assert client.get("/admin/audit").status_code == 403


def test_accounting_settings_saved(client, factory, auth, app):
    firm = factory.firm()
    company = factory.company(firm, code="DEMO01")
    auth.login(factory.user(firm, "accountant"))
    response = client.post(
        f"/companies/{company.id}/accounting",
        data={
            "software": "meg",
            "dossier_code": "DEMO01",
            "binder_type": "purchase_invoices",
            "binder_name": "Factures d'achat",
            "invoice_number": "y",
            "due_date": "y",
            "allow_class_2": "y",
            "allow_class_6": "y",
            "payment_mode": "y",
            "vat_codes": "y",
        },
    )
    assert response.status_code == 302
    from core.db import db
    from core.tenancy.models import Company
    from plugins.binder_purchases.settings import accounting_settings, purchase_binder

    with app.app_context():
        c = db.session.get(Company, company.id)
        settings = accounting_settings(c)
        assert settings["software"] == "meg"
        assert all(settings["elements"].values())
        assert purchase_binder(c).name == "Factures d'achat"
    page = client.get(f"/companies/{company.id}/accounting").get_data(as_text=True)
    assert "Paramétrage général" in page and "MEG (RCA)" in page
