"""The MEG link in a real browser: Classeur's tab → MEG's login and consent → dossier choice."""

from __future__ import annotations

import pytest

from core.db import db
from core.exports.models import ConnectorSetting
from tests.browser.conftest import LiveServer, login


@pytest.fixture
def meg_server(serve_sandbox, tmp_path):
    """A sandbox on the same host as Classeur (other port): as in the demo, its session
    cookie needs its own name, or the two apps would overwrite each other's."""
    with serve_sandbox(
        {"SANDBOX_DATA_DIR": str(tmp_path / "meg"), "SESSION_COOKIE_NAME": "meg_sandbox_session"}
    ) as running:
        yield running


def test_link_a_company_in_the_browser(app, factory, page, meg_server):
    app.config["MEG_BASE_URL"] = meg_server.base_url
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    admin = factory.user(firm, "admin")
    server = LiveServer(app).start()
    try:
        login(page, server, admin)
        page.goto(f"{server.url}/companies/{company.id}")
        page.get_by_role("link", name="Comptabilité").first.click()
        page.get_by_role("link", name="MEG", exact=True).click()
        page.get_by_text("Non liée").wait_for()
        page.get_by_role("button", name="Lier un compte à ce dossier comptable").click()
        page.get_by_role("heading", name="Connexion à MEG").wait_for()
        assert page.url.startswith(meg_server.base_url + "/login")
        page.get_by_label("Adresse e-mail").fill("demo@meg.example")
        page.get_by_label("Mot de passe").fill("demo")
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("button", name="Autoriser").click()
        page.get_by_role("heading", name="Choisir le dossier MEG").wait_for()
        page.get_by_label("DEMO01", exact=False).check()
        page.get_by_role("button", name="Lier ce dossier").click()
        page.wait_for_url(f"{server.url}/companies/{company.id}/meg")
        page.get_by_text("Liée", exact=True).wait_for()
        assert "DEMO01" in page.content()
    finally:
        server.stop()
    with app.app_context():
        setting = db.session.query(ConnectorSetting).filter_by(company_id=company.id).one()
        assert setting.enabled and setting.settings["dossier_code"] == "DEMO01"
