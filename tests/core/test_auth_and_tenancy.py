"""Login, tokens, CSRF, and firm isolation on the pages and the API."""

from __future__ import annotations

import re

import pytest


def test_login_page_is_french_and_login_works(client, factory):
    firm = factory.firm()
    user = factory.user(firm, "admin")
    page = client.get("/login")
    assert page.status_code == 200
    assert "Se connecter" in page.get_data(as_text=True)
    assert client.get("/").status_code == 302  # anonymous → login
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    for label in ("Tableau de bord", "Entreprises", "Administration"):
        assert label in html


def test_wrong_password_is_refused(client, factory):
    user = factory.user(factory.firm())
    response = client.post("/login", data={"email": user.email, "password": "mauvais-mdp-123"})
    assert response.status_code == 401
    assert "incorrect" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_refuses_open_redirect(client, factory):
    user = factory.user(factory.firm())
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": user.password}
    )
    assert response.headers["Location"] == "/"


def test_password_policy(app, factory):
    from core.auth.services import AuthError, create_user
    from core.db import db
    from core.tenancy.models import Firm

    firm = factory.firm()
    with app.app_context(), pytest.raises(AuthError, match="au moins"):
        create_user("x@example.fr", "court", db.session.get(Firm, firm.id), "admin")


def test_csrf_is_enforced_on_forms(app_config, factory):
    from core.app import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    firm = factory.firm()
    user = factory.user(firm)
    # Without the token the login form is refused.
    assert (
        client.post("/login", data={"email": user.email, "password": user.password}).status_code
        == 400
    )
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": user.password, "csrf_token": token}
    )
    assert response.status_code == 302


def test_api_token_auth_and_scopes(client, factory):
    firm = factory.firm()
    user = factory.user(firm, "admin")
    read_token = factory.token(user, scopes=("read",))
    assert client.get("/api/v1/companies").status_code == 401
    assert client.get("/api/v1/companies").get_json()["error"]["code"] == "unauthorized"
    ok = client.get("/api/v1/companies", headers={"Authorization": f"Bearer {read_token}"})
    assert ok.status_code == 200
    denied = client.post(
        "/api/v1/companies",
        json={"name": "X", "dossier_code": "X1"},
        headers={"Authorization": f"Bearer {read_token}"},
    )
    assert denied.status_code == 403
    bad = client.get("/api/v1/companies", headers={"Authorization": "Bearer clsr_nope"})
    assert bad.status_code == 401


def test_tokens_are_stored_hashed(app, factory):
    from sqlalchemy import select

    from core.auth.models import ApiToken
    from core.db import db

    user = factory.user(factory.firm())
    clear = factory.token(user)
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).one()
        assert clear not in (stored.token_hash, stored.prefix)
        assert len(stored.token_hash) == 64


def _h(factory, user):
    return {"Authorization": f"Bearer {factory.token(user)}"}


def test_company_api_crud_and_errors(client, factory):
    firm = factory.firm()
    admin = factory.user(firm, "admin")
    h = _h(factory, admin)
    created = client.post(
        "/api/v1/companies",
        json={"name": "Boulangerie", "dossier_code": "bou01", "siren": "732 829 320"},
        headers=h,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["dossier_code"] == "BOU01" and body["siren"] == "732829320"
    bad = client.post(
        "/api/v1/companies",
        json={"name": "X", "dossier_code": "X2", "siren": "123456789"},
        headers=h,
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "siren"
    assert "SIREN invalide" in bad.get_json()["error"]["message"]
    missing = client.post("/api/v1/companies", json={"dossier_code": "X3"}, headers=h)
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "name"
    dup = client.post("/api/v1/companies", json={"name": "Y", "dossier_code": "BOU01"}, headers=h)
    assert dup.status_code == 409
    cid = body["id"]
    patched = client.patch(
        f"/api/v1/companies/{cid}", json={"name": "Boulangerie Martin"}, headers=h
    )
    assert patched.status_code == 200 and patched.get_json()["name"] == "Boulangerie Martin"
    assert (
        client.get(f"/api/v1/companies/{cid}", headers=h).get_json()["name"] == "Boulangerie Martin"
    )
    binder = client.post(
        "/api/v1/binders",
        json={"company_id": cid, "type": "purchase_invoices", "name": "Achats 2026"},
        headers=h,
    )
    assert binder.status_code == 201
    unknown_type = client.post(
        "/api/v1/binders", json={"company_id": cid, "type": "nope", "name": "Z"}, headers=h
    )
    assert unknown_type.status_code == 422 and unknown_type.get_json()["error"]["field"] == "type"
    listed = client.get(f"/api/v1/binders?company_id={cid}", headers=h).get_json()
    assert [b["name"] for b in listed] == ["Achats 2026"]


def test_firm_isolation_on_api_and_pages(client, factory, world, auth):
    a, b = world["a"], world["b"]
    h = _h(factory, a["admin"])
    other_company = b["companies"][0].id
    other_binder = b["binders"][0].id
    assert client.get(f"/api/v1/companies/{other_company}", headers=h).status_code == 404
    assert (
        client.patch(
            f"/api/v1/companies/{other_company}", json={"name": "pirate"}, headers=h
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/binders/{other_binder}", headers=h).status_code == 404
    created = client.post(
        "/api/v1/binders",
        json={"company_id": other_company, "type": "other", "name": "pirate"},
        headers=h,
    )
    assert created.status_code == 422
    names = {c["name"] for c in client.get("/api/v1/companies", headers=h).get_json()}
    assert names == {"Société a1", "Société a2"}
    auth.login(a["admin"])
    assert client.get(f"/companies/{other_company}").status_code == 404
    html = client.get("/companies").get_data(as_text=True)
    assert "Société a1" in html and "Société b1" not in html


def test_uploader_sees_only_its_companies(client, factory, world):
    a = world["a"]
    h = _h(factory, a["uploader"])
    names = [c["name"] for c in client.get("/api/v1/companies", headers=h).get_json()]
    assert names == ["Société a1"]
    assert client.get(f"/api/v1/companies/{a['companies'][1].id}", headers=h).status_code == 404
    assert (
        client.post(
            "/api/v1/companies", json={"name": "X", "dossier_code": "UPL"}, headers=h
        ).status_code
        == 403
    )


def test_company_pages_create_edit_and_binder(client, factory, auth):
    firm = factory.firm()
    auth.login(factory.user(firm, "accountant"))
    response = client.post(
        "/companies/new",
        data={"name": "Garage Dupont", "dossier_code": "gar01", "siren": "552100554"},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Garage Dupont" in page and "GAR01" in page
    cid = int(response.headers["Location"].rstrip("/").split("/")[-1])
    bad = client.post(
        f"/companies/{cid}",
        data={"name": "Garage Dupont", "dossier_code": "GAR01", "siren": "552100555"},
    )
    assert "SIREN invalide" in bad.get_data(as_text=True)
    client.post(
        f"/companies/{cid}/binders",
        data={"binder-type": "purchase_invoices", "binder-name": "Factures d'achat"},
    )
    page = client.get(f"/companies/{cid}").get_data(as_text=True)
    assert "Factures d&#39;achat" in page


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_is_generated(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Classeur API"
    assert "/api/v1/companies" in spec["paths"]
    assert "/api/v1/binders/{binder_id}" in spec["paths"]
