"""Linking a company to its MEG dossier through Classeur's pages and the real sandbox."""

from __future__ import annotations

import html
import json

import pytest
import requests
from sqlalchemy import select, text

from core.auth.models import AuditEvent
from core.db import db
from core.exports.models import ConnectorSetting
from core.exports.services import connector_enabled
from core.tenancy.models import Company
from tests.plugins.meg_export.meg_helpers import raw_token_row, stored_token


@pytest.fixture
def linked_world(factory, app, login_web, sandbox):
    sandbox.reset()
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    admin = factory.user(firm, "admin")
    web = app.test_client()
    login_web(web, admin)
    return {"firm": firm, "company": company, "admin": admin, "web": web}


def _setting(app, company):
    with app.app_context():
        return db.session.scalar(
            select(ConnectorSetting).where(
                ConnectorSetting.company_id == company.id,
                ConnectorSetting.connector == "meg_export",
            )
        )


def _raw_row(app, setting_id) -> str:
    with app.app_context():
        row = db.session.execute(
            text("SELECT settings FROM plugin_settings WHERE id = :id"), {"id": setting_id}
        ).scalar_one()
    return row if isinstance(row, str) else json.dumps(row)


def test_tab_shows_not_linked_and_the_link_button(linked_world):
    web, company = linked_world["web"], linked_world["company"]
    page = web.get(f"/companies/{company.id}/meg")
    assert page.status_code == 200
    assert "Non liée" in page.text
    assert "Lier un compte à ce dossier comptable" in page.text
    assert 'aria-current="page">MEG' in page.text
    # The link form may leave for MEG: the page's CSP allows MEG's origin as form action.
    assert "form-action 'self' http://127.0.0.1:" in page.headers["Content-Security-Policy"]


def test_oauth_link_through_the_pages_stores_encrypted_tokens_and_enables(
    app, linked_world, link_through_pages, sandbox
):
    web, company = linked_world["web"], linked_world["company"]
    answer = link_through_pages(web, sandbox, company)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/companies/{company.id}/meg")
    setting = _setting(app, company)
    assert setting.enabled is True
    assert setting.settings["dossier_code"] == "DEMO01"
    assert setting.settings["licence"] == "premium"
    assert setting.settings["capabilities"] == {"reverse_charge": False, "intra_eu": False}
    assert setting.settings["linked_by"] == linked_world["admin"].email
    assert "token" not in setting.settings  # in a row of its own, locked when refreshed
    token = stored_token(app, company)
    with app.app_context():
        assert connector_enabled(company.firm_id, company.id, "meg_export")
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "meg_link")).all()
        assert [a.target for a in audit] == [f"company:{company.id}"]
    # The token works at MEG, and is nowhere in clear in the database row.
    dossiers = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    ).json()
    assert "DEMO01" in [d["code"] for d in dossiers]
    for raw in (_raw_row(app, setting.id), raw_token_row(app, company)):
        assert token["access_token"] not in raw and token["refresh_token"] not in raw
    page = web.get(f"/companies/{company.id}/meg")
    assert "Liée" in page.text and "DEMO01" in page.text
    assert "Boulangerie Martin" in page.text
    # Supervision was read from MEG: no purchase imported yet.
    assert "aucun achat importé" in page.text


@pytest.mark.parametrize(
    ("code", "consent", "chosen", "expected"),
    [
        ("DEMO01", ["DEMO01", "DEMO02"], "DEMO02", "est différent du code dossier"),
        ("NOACH", ["NOACH"], "NOACH", "ne dispose pas du module Achats"),
        ("STD01", ["STD01"], "STD01", "n'a pas de licence Premium"),
    ],
)
def test_link_is_refused_with_a_clear_message(
    app, factory, login_web, sandbox, link_through_pages, code, consent, chosen, expected
):
    firm = factory.firm()
    company = factory.company(firm, code=code)
    web = app.test_client()
    login_web(web, factory.user(firm, "accountant"))
    answer = link_through_pages(web, sandbox, company, dossier=chosen, consent=consent)
    assert answer.status_code == 422
    assert expected in html.unescape(answer.text)
    assert stored_token(app, company) is None
    with app.app_context():
        assert not connector_enabled(firm.id, company.id, "meg_export")


def test_unlink_removes_tokens_revokes_them_and_switches_off(
    app, linked_world, link_through_pages, sandbox
):
    web, company = linked_world["web"], linked_world["company"]
    link_through_pages(web, sandbox, company)
    token = stored_token(app, company)
    answer = web.post(f"/companies/{company.id}/meg/unlink")
    assert answer.status_code == 302
    setting = _setting(app, company)
    assert "dossier_code" not in setting.settings
    assert stored_token(app, company) is None
    assert setting.enabled is False
    assert "Non liée" in web.get(f"/companies/{company.id}/meg").text
    revoked = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert revoked.status_code == 401
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "meg_unlink" in actions


def test_uploader_may_neither_view_nor_link(app, factory, login_web, sandbox):
    firm = factory.firm()
    company = factory.company(firm, code="DEMO01")
    web = app.test_client()
    login_web(web, factory.user(firm, "uploader", companies=[company]))
    assert web.get(f"/companies/{company.id}/meg").status_code == 403
    assert web.post(f"/companies/{company.id}/meg/link").status_code == 403


def test_other_firm_company_is_not_found(app, factory, login_web, sandbox):
    other = factory.company(factory.firm(), code="DEMO01")
    firm = factory.firm()
    web = app.test_client()
    login_web(web, factory.user(firm, "admin"))
    assert web.get(f"/companies/{other.id}/meg").status_code == 404
    assert web.post(f"/companies/{other.id}/meg/link").status_code == 404


def test_callback_with_a_foreign_state_is_refused(app, linked_world, sandbox):
    web, company = linked_world["web"], linked_world["company"]
    web.post(f"/companies/{company.id}/meg/link")
    answer = web.get("/meg/callback?code=abc&state=forged")
    assert answer.status_code == 302
    assert "ne correspond pas" in html.unescape(web.get(answer.headers["Location"]).text)
    with app.app_context():
        assert db.session.get(Company, company.id) is not None
    assert _setting(app, company) is None


def test_link_and_unlink_forms_need_the_csrf_token(app, linked_world):
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    web, company = linked_world["web"], linked_world["company"]
    assert web.post(f"/companies/{company.id}/meg/link").status_code == 400
    page = web.get(f"/companies/{company.id}/meg").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = web.post(f"/companies/{company.id}/meg/link", data={"csrf_token": csrf})
    assert answer.status_code == 302 and "/oauth/authorize" in answer.headers["Location"]


def test_consent_refused_at_meg_leaves_the_company_unlinked(app, linked_world, sandbox):
    from urllib.parse import parse_qs, urlsplit

    web, company = linked_world["web"], linked_world["company"]
    authorize_url = web.post(f"/companies/{company.id}/meg/link").headers["Location"]
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=5)
    browser.post(
        f"{sandbox.base_url}/login",
        data={
            "email": "demo@meg.example",
            "password": "demo",
            "next": parse_qs(urlsplit(page.url).query)["next"][0],
        },
        timeout=5,
    )
    denied = browser.post(
        authorize_url, data={"decision": "deny"}, allow_redirects=False, timeout=5
    )
    callback = urlsplit(denied.headers["Location"])
    assert "error=access_denied" in callback.query
    answer = web.get(f"{callback.path}?{callback.query}")
    assert answer.status_code == 302
    assert "refusée" in html.unescape(web.get(answer.headers["Location"]).text)
    assert _setting(app, company) is None
