"""In a real browser: a company form with three mistakes answers them all at once — a summary
"3 erreurs :" at the top whose links lead to the fields, each message beside its field."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser]


def test_company_form_errors_all_at_once(page, live_server, factory):
    firm = factory.firm()
    user = factory.user(firm, "admin")
    login(page, live_server, user)
    page.goto(live_server.url + "/companies/new")
    page.get_by_label("Code dossier").fill("pas bon!")
    page.get_by_label("SIREN").fill("123456789")
    page.get_by_role("button", name="Enregistrer").click()  # the name left empty
    summary = page.locator("#error-summary")
    assert "3 erreurs" in summary.inner_text()
    assert summary.get_by_role("link").count() == 3
    for field in ("name", "dossier_code", "siren"):
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#{field}-errors .error").count() == 1
    summary.get_by_role("link", name="SIREN").click()
    assert page.evaluate("document.activeElement.id") == "siren"
    assert page.url.endswith("#siren")
