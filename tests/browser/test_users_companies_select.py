"""The Utilisateurs page: the companies' multi-select of the invitation form shows its options
whole (long names included), not cut by its grid column."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_companies_select_is_not_cut(
    browser: Any, live_server: Any, factory: Any, viewport: dict[str, int]
) -> None:
    firm = factory.firm("Cabinet Durand")
    for n in range(8):
        factory.company(firm, name=f"Société Civile Immobilière des Grands Boulevards {n}")
    admin = factory.user(firm, "admin")
    context = browser.new_context(locale="fr-FR", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, admin)
        page.goto(live_server.url + "/admin/users")
        select = page.locator("#invite select[multiple]")
        box = select.bounding_box()
        card = page.locator("#invite").bounding_box()
        assert box is not None and card is not None
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1
        # Every option's text fits the select's width (no name cut at its right edge).
        cut = select.evaluate(
            "s => [...s.options].filter(o => o.scrollWidth > s.clientWidth).map(o => o.text)"
        )
        assert cut == []
        widths = select.evaluate("s => [s.scrollWidth, s.clientWidth]")
        assert widths[0] <= widths[1] + 1, widths
        # Several options visible at once (a list, not a one-line box).
        assert box["height"] > 80
    finally:
        context.close()
