"""The ``company_details`` hook: facts a plugin adds to the company's JSON and page."""

from __future__ import annotations

from typing import Any

import pytest

from core.app import create_app
from core.db import db
from core.plugins import hookspecs


class DetailsPlugin:
    """Gives each company a ``lucky_number`` (and tries to override the core's ``name``)."""

    @hookspecs.hookimpl
    def company_details(self, company: Any) -> dict[str, dict[str, Any]]:
        return {
            "lucky_number": {"label": "Numéro porte-bonheur", "value": 1000 + company.id},
            "name": {"label": "Nom", "value": "écrasé"},
        }


class BrokenPlugin:
    """A plugin whose details fail: the page and the API answer without them."""

    @hookspecs.hookimpl
    def company_details(self) -> dict[str, dict[str, Any]]:
        raise RuntimeError("boom")


@pytest.fixture
def details_app(app_config):
    application = create_app({**app_config, "EXTRA_PLUGINS": [BrokenPlugin(), DetailsPlugin()]})
    yield application
    db.engine_for(application).dispose()


def test_hook_company_details(details_app):
    from tests.conftest import Auth, Factory

    factory = Factory(details_app)
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin")
    admin = factory.user(firm, "admin")
    client = details_app.test_client()
    assert Auth(client).login(admin).status_code == 302

    one = client.get(f"/api/v1/companies/{company.id}").get_json()
    assert one["lucky_number"] == 1000 + company.id
    assert one["name"] == "Boulangerie Martin"  # the core's keys win
    listed = client.get("/api/v1/companies").get_json()
    assert [c["lucky_number"] for c in listed] == [1000 + company.id]

    html = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Numéro porte-bonheur" in html
    assert f'<dd data-key="lucky_number">{1000 + company.id}</dd>' in html

    with details_app.app_context():
        from core.tenancy.models import Company

        facts = details_app.extensions["classeur"].hooks.company_details(
            company=db.session.get(Company, company.id)
        )
    assert {"lucky_number", "name"} <= set(facts)
