"""The OpenAPI contract documents every route the sandbox serves."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from plugins.meg_export.sandbox import create_sandbox_app

CONTRACT = Path(__file__).parents[3] / "plugins" / "meg_export" / "openapi.yaml"
NOT_API = {"/", "/login", "/logout", "/static/<path:filename>"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_contract_is_openapi_31_with_oauth_pkce_scopes():
    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    flow = spec["components"]["securitySchemes"]["megOAuth"]["flows"]["authorizationCode"]
    assert set(flow["scopes"]) == {"dossiers:read", "purchases:write", "purchases:read"}


def test_every_sandbox_route_and_method_is_in_the_contract(tmp_path):
    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    app = create_sandbox_app({"SANDBOX_DATA_DIR": str(tmp_path)})
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule in NOT_API:
            continue
        path = _openapi_path(rule.rule)
        documented = spec["paths"].get(path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if documented is None or method.lower() not in documented:
                missing.append(f"{method} {path}")
    assert missing == []


def test_contract_vat_codes_match_the_sandbox():
    from plugins.meg_export.sandbox.validation import VAT_CODES

    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert spec["components"]["schemas"]["VatCode"]["enum"] == list(VAT_CODES)
