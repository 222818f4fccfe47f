"""A binder type owns its behaviour: the files it accepts, the JSON Schema of its fields
(checked on every change, served in the API docs and at ``GET /api/v1/binder-types``) and the
reading of its fields (``extract``). Proven with a binder type the core has never heard of."""

from __future__ import annotations

from typing import Any

import pytest

from core.binders.registry import BinderType
from core.plugins.hookspecs import hookimpl
from tests.conftest import make_pdf_bytes, make_scan_bytes
from tests.conftest import upload_files as upload
from tests.conftest import wait_ready as ready

CONTRACT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "counterparty": {"type": ["string", "null"], "maxLength": 50},
        "term_months": {"type": ["integer", "null"], "minimum": 1, "title": "Durée (mois)"},
        "signed_on": {"type": ["string", "null"], "format": "date", "title": "Signé le"},
        "kind": {"enum": ["lease", "service", None]},
    },
}


class ContractsPlugin:
    """A plugin adding a "contracts" binder type: PDF only, its own schema and reader."""

    def __init__(self) -> None:
        self.extracted: list[int] = []

    def extract(self, document: Any, text: str, path: Any, layout: Any = None) -> dict[str, Any]:
        self.extracted.append(document.id)
        words = text.split()
        return {"counterparty": words[0] if words else None, "kind": "lease"}

    @hookimpl
    def register_binder_types(self, register: Any) -> None:
        register(
            BinderType(
                name="contracts",
                label="Contrats",
                plugin="contracts_test",
                fields_schema=CONTRACT_SCHEMA,
                media_types=frozenset({"application/pdf"}),
                extract=self.extract,
            )
        )


@pytest.fixture
def plugin() -> ContractsPlugin:
    return ContractsPlugin()


@pytest.fixture
def app(app_config: dict[str, Any], plugin: ContractsPlugin) -> Any:
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "EXTRA_PLUGINS": [plugin]})
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


@pytest.fixture
def setup(app: Any, factory: Any) -> dict[str, Any]:
    firm = factory.firm()
    company = factory.company(firm, name="Garage Dupont", code="GAR01")
    contracts = factory.binder(company, "contracts", name="Contrats")
    other = factory.binder(company, "other", name="Divers")
    token = factory.token(factory.user(firm, "accountant"))
    app.extensions["classeur"].tasks.start()
    return {
        "contracts": contracts,
        "other": other,
        "h": {"Authorization": f"Bearer {token}"},
    }


def test_the_binder_type_reads_its_own_fields(client: Any, setup: dict, plugin: Any) -> None:
    body = upload(
        client, setup["contracts"].id, setup["h"], ("bail.pdf", make_pdf_bytes(["Immobel bail"]))
    ).get_json()
    doc_id = body["documents"][0]["id"]
    doc = ready(client, doc_id, setup["h"])
    assert plugin.extracted == [doc_id]
    assert doc["fields"] == {"counterparty": "Immobel", "kind": "lease"}


def test_a_file_type_the_binder_type_refuses(client: Any, setup: dict) -> None:
    scan = make_scan_bytes(["Contrat signé"], fmt="PNG")
    response = upload(client, setup["contracts"].id, setup["h"], ("photo.png", scan))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_for_binder"
    assert "n'accepte pas ce type de fichier (PNG)" in error["message"]
    assert "PDF" in error["message"]
    # The same file is welcome in a binder that takes anything.
    assert upload(client, setup["other"].id, setup["h"], ("photo.png", scan)).status_code == 202


def test_moving_into_a_binder_that_refuses_the_file(client: Any, setup: dict) -> None:
    scan = make_scan_bytes(["Contrat signé"], fmt="PNG")
    doc_id = upload(client, setup["other"].id, setup["h"], ("photo.png", scan)).get_json()[
        "documents"
    ][0]["id"]
    ready(client, doc_id, setup["h"])
    response = client.post(
        f"/api/v1/documents/{doc_id}/move",
        json={"binder_id": setup["contracts"].id},
        headers=setup["h"],
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_for_binder"
    again = client.get(f"/api/v1/documents/{doc_id}", headers=setup["h"]).get_json()
    assert again["binder_id"] == setup["other"].id  # nothing moved


def test_field_changes_are_checked_against_the_schema(client: Any, setup: dict) -> None:
    doc_id = upload(
        client, setup["contracts"].id, setup["h"], ("bail.pdf", make_pdf_bytes(["Immobel"]))
    ).get_json()["documents"][0]["id"]
    ready(client, doc_id, setup["h"])
    url = f"/api/v1/documents/{doc_id}/fields"
    bad_type = client.patch(url, json={"term_months": "douze"}, headers=setup["h"])
    assert bad_type.status_code == 422
    assert bad_type.get_json()["error"]["field"] == "term_months"
    assert bad_type.get_json()["error"]["message"] == (
        "« Durée (mois) » : un nombre entier ou vide attendu."
    )
    too_small = client.patch(url, json={"term_months": 0}, headers=setup["h"]).get_json()
    assert too_small["error"]["message"] == "« Durée (mois) » : doit être au moins 1."
    bad_date = client.patch(url, json={"signed_on": "2026-02-30"}, headers=setup["h"])
    assert bad_date.status_code == 422
    assert "une date AAAA-MM-JJ attendue" in bad_date.get_json()["error"]["message"]
    unknown = client.patch(url, json={"rent": 900}, headers=setup["h"])
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["message"] == "Champ inconnu : « rent »."
    bad_choice = client.patch(url, json={"kind": "loan"}, headers=setup["h"])
    assert "valeur non permise" in bad_choice.get_json()["error"]["message"]
    not_json = client.patch(url, data="term", headers=setup["h"], content_type="text/plain")
    assert not_json.status_code == 422
    good = client.patch(url, json={"term_months": 36}, headers=setup["h"])
    assert good.status_code == 200
    assert good.get_json()["fields"]["term_months"] == 36
    assert good.get_json()["fields"]["counterparty"] == "Immobel"  # kept


def test_the_schemas_are_served(client: Any, setup: dict) -> None:
    types = client.get("/api/v1/binder-types", headers=setup["h"]).get_json()
    by_name = {t["name"]: t for t in types}
    assert by_name["contracts"]["fields_schema"] == CONTRACT_SCHEMA
    assert by_name["contracts"]["media_types"] == ["application/pdf"]
    assert by_name["other"]["media_types"] is None
    purchases = by_name["purchase_invoices"]["fields_schema"]
    assert purchases["properties"]["supplier"]["properties"]["siren"]
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["Fields_contracts"]["properties"]["term_months"]["minimum"] == 1
    assert "Fields_purchase_invoices" in schemas
    refs = [item.get("$ref") for item in schemas["FieldsPatch"]["anyOf"]]
    assert "#/components/schemas/Fields_contracts" in refs
    patch = spec["paths"]["/api/v1/documents/{document_id}/fields"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/FieldsPatch"}
    # Every operation asks for a token unless it says otherwise, and plugins' company facts
    # (collection_address...) are allowed in the Company schema.
    assert spec["security"] == [{"bearerAuth": []}]
    assert schemas["Company"]["additionalProperties"] not in (False, None)


def test_purchase_fields_keep_their_french_input(client: Any, app: Any, factory: Any) -> None:
    """The purchase schema states the shape but lets the cleaning read "1 234,56"."""
    from core.binders.registry import check_fields_schema
    from core.state import classeur

    with app.app_context():
        purchases = classeur().binder_types.get("purchase_invoices")
        check_fields_schema(
            purchases,
            {"total_incl_tax": "1 234,56", "invoice_date": "12/03/2026", "supplier": {"name": "X"}},
        )
        with pytest.raises(Exception, match="Champ inconnu"):
            check_fields_schema(purchases, {"supplier": {"nom": "X"}})
