"""In a real browser: the platform's operator logs in, lands on « Cabinets de la plateforme »,
creates a firm with its first administrator, disables it (confirmed) — whose administrator is
then turned away at login — and enables it again."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import db

pytestmark = pytest.mark.browser

PASSWORD = "motdepasse-solide-1"


@pytest.fixture
def app(app_config: dict[str, Any]) -> Any:
    from core.app import create_app

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def _log_in(page: Any, server: Any, email: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_operator_creates_and_disables_a_firm(page: Any, live_server: Any, factory: Any) -> None:
    from core.operator.services import create_operator

    firm = factory.firm("Cabinet Historique")
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    factory.document(factory.binder(company), filename="facture-confidentielle.pdf")
    with live_server.app.app_context():
        create_operator("ops@plateforme.fr", PASSWORD, name="Opératrice")
        db.session.commit()

    _log_in(page, live_server, "ops@plateforme.fr", PASSWORD)
    page.wait_for_url(live_server.url + "/operator")
    assert page.get_by_role("heading", name="Cabinets de la plateforme").is_visible()
    assert page.get_by_role("link", name="Opérateur").is_visible()
    # A firm's menu entries lead nowhere for an operator outside the firms: not shown.
    assert page.get_by_role("link", name="Entreprises").count() == 0
    row = page.locator(f'#firms tr[data-firm="{firm.id}"]')
    assert row.locator('[data-col="documents"]').inner_text() == "1"
    assert "facture-confidentielle" not in page.content()

    # Create a firm: its first administrator gets a provisional access (an invitation).
    form = page.locator("#create-firm")
    form.get_by_role("button", name="Créer le cabinet").click()  # empty: refused, in French
    assert page.locator("#error-summary").get_by_text("Nom du cabinet").is_visible()
    form = page.locator("#create-firm")
    form.get_by_label("Nom du cabinet").fill("Cabinet Durand")
    form.get_by_label("E-mail de son premier administrateur").fill("patron@durand.fr")
    form.get_by_role("button", name="Créer le cabinet").click()
    assert page.get_by_role("heading", name="Cabinet Durand").is_visible()
    assert page.get_by_text("Cabinet « Cabinet Durand » créé").is_visible()
    assert page.locator("#members").get_by_text("patron@durand.fr").is_visible()

    # Disable it: a confirmation first, then the state, and nothing of it deleted.
    page.get_by_text("Désactiver le cabinet").click()
    page.get_by_role("button", name="Confirmer la désactivation").click()
    assert page.locator("#firm-disabled").is_visible()
    assert page.get_by_text("Cabinet « Cabinet Durand » désactivé").is_visible()
    page.get_by_role("link", name="Tous les cabinets").click()
    durand = page.locator("#firms tr", has_text="Cabinet Durand")
    assert durand.get_by_text("Désactivé").is_visible()
    assert page.locator(f'#firms tr[data-firm="{firm.id}"]').get_by_text("Actif").is_visible()
    page.screenshot(path=str(live_server.app.config["DATA_DIR"]) + "/operator.png")

    # The disabled firm's member is turned away at login, in French.
    member = factory.user(firm, "admin", email="chef@historique.fr")
    page.get_by_role("button", name="Se déconnecter").click()
    with live_server.app.app_context():
        from core.tenancy.models import Firm
        from core.tenancy.services import disable_firm

        disable_firm(db.session.get(Firm, firm.id))
        db.session.commit()
    _log_in(page, live_server, member.email, member.password)
    assert page.get_by_text("Le cabinet Cabinet Historique est désactivé").is_visible()
    assert page.url.startswith(live_server.url + "/login")

    # Enabled again by the operator: the member comes back to everything.
    _log_in(page, live_server, "ops@plateforme.fr", PASSWORD)
    page.wait_for_url(live_server.url + "/operator")
    page.locator(f'#firms tr[data-firm="{firm.id}"]').get_by_role("link").click()
    page.get_by_role("button", name="Réactiver le cabinet").click()
    assert page.locator("#firm-active").is_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    _log_in(page, live_server, member.email, member.password)
    page.wait_for_url(live_server.url + "/")
    page.get_by_role("link", name="Entreprises").click()
    assert page.locator("#companies").get_by_text("Boulangerie Martin").is_visible()
