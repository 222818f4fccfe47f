"""In a real browser: a member of two firms picks the other firm in the menu's « Cabinet : »
(with CSRF on) and then sees that firm's companies only."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import db
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app_config: dict[str, Any]) -> Any:
    from core.app import create_app

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    db.engine_for(application).dispose()


def test_member_switches_firm_from_the_menu(page: Any, live_server: Any, factory: Any) -> None:
    from core.auth.models import User
    from core.tenancy.models import Firm, Membership

    first = factory.firm("Cabinet Alpha")
    factory.company(first, name="Société Alpha", code="ALP01")
    second = factory.firm("Cabinet Beta")
    factory.company(second, name="Société Beta", code="BET01")
    user = factory.user(first, "accountant", email="double@alpha.fr")
    with live_server.app.app_context():
        row = db.session.get(User, user.id)
        row.memberships.append(Membership(firm=db.session.get(Firm, second.id), role="admin"))
        db.session.commit()
    login(page, live_server, user)
    page.goto(live_server.url + "/companies")
    assert page.get_by_text("Société Alpha").count() == 1
    assert page.get_by_text("Société Beta").count() == 0
    page.locator("#menu-firm-select").select_option(label="Cabinet Beta")
    page.locator("#menu-firm").get_by_role("button", name="Changer").click()
    page.wait_for_url(live_server.url + "/")
    assert "Cabinet Beta" in page.locator(".flash, [role=alert], main").first.inner_text()
    page.goto(live_server.url + "/companies")
    assert page.get_by_text("Société Beta").count() == 1
    assert page.get_by_text("Société Alpha").count() == 0
    assert page.locator("#menu-firm-select").input_value() == str(second.id)
