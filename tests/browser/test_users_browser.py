"""In a real browser: Administration → Utilisateurs (invite, the invited person chooses a
password from the e-mail's link, role change, deactivation), Mon compte (name, language,
password) and the forgotten password from the login page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401

pytestmark = pytest.mark.browser

LINK = re.compile(r"http://\S+/(?:invitation|password/reset)/\S+")


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def _link(outbox, address: str) -> str:
    outbox.deliver()
    messages = outbox.to(address)
    assert messages, f"no mail to {address}"
    found = LINK.search(outbox.text(messages[-1]))
    assert found, outbox.text(messages[-1])
    return found.group(0)


def test_users_page_invite_accept_change_role_deactivate(
    page, browser, live_server, factory, mail_outbox
):
    firm = factory.firm("Cabinet Lumière")
    factory.company(firm, name="Boulangerie Martin", code="BOUL")
    factory.company(firm, name="Garage Dupuis", code="GAR")
    admin = factory.user(firm, "admin", email="chef@lumiere.fr")
    login(page, live_server, admin)

    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Utilisateurs").click()
    assert page.locator("#users").get_by_text("chef@lumiere.fr").is_visible()

    invite = page.locator("#invite")
    invite.get_by_label("Nom").fill("Paul Martin")
    invite.get_by_label("Adresse e-mail").fill("paul@boulangerie.fr")
    invite.get_by_label("Rôle").select_option("uploader")
    invite.get_by_label("Entreprises (pour un client)").select_option(
        label="Boulangerie Martin (BOUL)"
    )
    invite.get_by_role("button", name="Envoyer l'invitation").click()
    assert page.get_by_text("Invitation envoyée à paul@boulangerie.fr.").is_visible()
    row = page.locator('#users tr[data-user="paul@boulangerie.fr"]')
    assert row.get_by_text("Invitation envoyée le").is_visible()
    assert row.get_by_text("Boulangerie Martin").is_visible()
    assert row.get_by_text("Client (dépôt de pièces)").is_visible()

    # The invited person opens the e-mail's link in their own browser.
    link = _link(mail_outbox, "paul@boulangerie.fr")
    context = browser.new_context(locale="fr-FR")
    guest = context.new_page()
    guest.set_default_timeout(15000)
    try:
        guest.goto(link)
        assert guest.get_by_role("heading", name="Choisir votre mot de passe").is_visible()
        guest.get_by_label("Nouveau mot de passe", exact=True).fill("pain-frais-2026")
        guest.get_by_label("Nouveau mot de passe (encore)").fill("pain-frais-2027")
        guest.get_by_role("button", name="Enregistrer le mot de passe").click()
        assert guest.get_by_text("pas identiques").first.is_visible()
        guest.get_by_label("Nouveau mot de passe", exact=True).fill("pain-frais-2026")
        guest.get_by_label("Nouveau mot de passe (encore)").fill("pain-frais-2026")
        guest.get_by_role("button", name="Enregistrer le mot de passe").click()
        guest.wait_for_url(re.compile(r"^(?!.*/invitation/).*$"))
        assert guest.get_by_text("vous êtes connecté").is_visible()
        # The link served once.
        guest.goto(link)
        assert guest.get_by_role("heading", name="Lien invalide").is_visible()
    finally:
        context.close()

    page.reload()
    row = page.locator('#users tr[data-user="paul@boulangerie.fr"]')
    assert row.get_by_text("Actif").is_visible()
    row.get_by_role("link", name="Modifier").click()
    page.get_by_label("Rôle").select_option("accountant")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Utilisateur enregistré.").is_visible()
    row = page.locator('#users tr[data-user="paul@boulangerie.fr"]')
    assert row.get_by_text("Collaborateur comptable").is_visible()
    assert row.get_by_text("toutes").is_visible()

    row.get_by_role("link", name="Modifier").click()
    page.get_by_role("button", name="Désactiver").click()
    assert page.get_by_text("paul@boulangerie.fr est désactivé.").is_visible()
    assert (
        page.locator('#users tr[data-user="paul@boulangerie.fr"]')
        .get_by_text("Désactivé")
        .is_visible()
    )

    # The firm's last admin cannot deactivate itself.
    page.locator('#users tr[data-user="chef@lumiere.fr"]').get_by_role(
        "link", name="Modifier"
    ).click()
    page.get_by_role("button", name="Désactiver").click()
    assert page.get_by_text("au moins un administrateur actif").is_visible()


def test_account_page_and_forgotten_password(page, live_server, factory, mail_outbox):
    firm = factory.firm()
    user = factory.user(firm, "accountant", email="camille@cabinet.fr")
    login(page, live_server, user)

    page.locator("#account-link").click()
    assert page.get_by_role("heading", name="Mon compte").is_visible()
    assert page.locator("#tokens").get_by_role("link", name="Jetons d'API").is_visible()
    page.locator("#profile").get_by_label("Nom").fill("Camille Durand")
    page.locator("#profile").get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Vos préférences sont enregistrées.").is_visible()
    assert page.locator("#profile").get_by_label("Nom").input_value() == "Camille Durand"

    section = page.locator("#password-change")
    section.get_by_label("Mot de passe actuel").fill("pas-le-bon-mdp-1")
    section.get_by_label("Nouveau mot de passe", exact=True).fill("nouveau-mdp-2026")
    section.get_by_label("Nouveau mot de passe (encore)").fill("nouveau-mdp-2026")
    section.get_by_role("button", name="Changer le mot de passe").click()
    assert page.get_by_text("Le mot de passe actuel est incorrect.").first.is_visible()
    section = page.locator("#password-change")
    section.get_by_label("Mot de passe actuel").fill(user.password)
    section.get_by_label("Nouveau mot de passe", exact=True).fill("nouveau-mdp-2026")
    section.get_by_label("Nouveau mot de passe (encore)").fill("nouveau-mdp-2026")
    section.get_by_role("button", name="Changer le mot de passe").click()
    assert page.get_by_text("Votre mot de passe est modifié.").is_visible()

    # Log out, forget it, get a new one by e-mail.
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_label("Adresse e-mail").fill("camille@cabinet.fr")
    page.get_by_role("button", name="Envoyer le lien").click()
    assert page.get_by_text(
        "Si un compte existe pour cette adresse, un e-mail a été envoyé."
    ).is_visible()
    page.goto(_link(mail_outbox, "camille@cabinet.fr"))
    page.get_by_label("Nouveau mot de passe", exact=True).fill("encore-un-autre-9")
    page.get_by_label("Nouveau mot de passe (encore)").fill("encore-un-autre-9")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    assert page.get_by_text("vous êtes connecté").is_visible()

    # Only French has a catalog: no language to choose, the others announced.
    page.locator("#account-link").click()
    assert page.locator("#profile #locale-info").inner_text() == "Langue : Français"
    assert page.locator("#other-locales").inner_text() == "Autres langues : à venir"
    page.locator("#profile").get_by_role("button", name="Enregistrer").click()
    assert page.locator("#profile #locale-info").is_visible()
