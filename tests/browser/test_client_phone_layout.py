"""At phone size (390×844) the client's pages other than the portal (Mon compte, Notifications,
Mes notifications, Jetons d'API) and the portal itself: the sidebar is a top bar, nothing
overflows sideways, every button is reachable (the element at its centre is the button)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
PAGES = ("/portal", "/account", "/notifications", "/notifications/settings", "/account/tokens")

#: The buttons of the page (visible ones) whose centre is not the button itself (or inside it).
HIDDEN_BUTTONS = """() => {
  const out = [];
  for (const b of document.querySelectorAll('main button, main input[type=submit]')) {
    const r = b.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(b).visibility === 'hidden') continue;
    b.scrollIntoView({block: 'center', inline: 'center'});
    const s = b.getBoundingClientRect();
    const hit = document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2);
    if (!(hit === b || b.contains(hit))) out.push((b.textContent || b.value).trim());
  }
  return out;
}"""


def test_client_pages_fit_a_phone(browser: Any, live_server: Any, factory: Any) -> None:
    from core.notifications.services import notify

    firm = factory.firm("Cabinet Durand")
    company = factory.company(firm, name="Boulangerie Martin", code="BOUL01")
    factory.binder(company, "purchase_invoices", name="Factures d'achat")
    client = factory.user(firm, "uploader", email="martin@boulangerie.fr", companies=[company])
    with live_server.app.test_request_context():
        from core.db import db

        notify(
            [client.id],
            firm.id,
            kind="document_request",
            title="Une demande de document très longue qui ne doit pas élargir la page " * 3,
            link="/portal",
        )
        db.session.commit()
    context = browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(live_server.url + "/login")
        page.get_by_label("Adresse e-mail").fill(client.email)
        page.get_by_label("Mot de passe").fill(client.password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(live_server.url + "/portal")
        for path in PAGES:
            page.goto(live_server.url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a 390px screen"
            # The menu is a bar above the content, not a column beside it.
            nav = page.locator("nav.sidebar").bounding_box()
            main = page.locator("main").bounding_box()
            assert nav is not None and main is not None
            assert main["x"] < 20 and main["y"] >= nav["y"] + nav["height"] - 1, path
            assert page.evaluate(HIDDEN_BUTTONS) == [], path
        # The token form's button is reachable and works from the phone.
        page.goto(live_server.url + "/account/tokens")
        button = page.get_by_role("button", name="Créer le jeton")
        assert button.is_visible()
    finally:
        context.close()
