"""Every route declares its permission; the matrix is enforced for each role."""

from __future__ import annotations

import pytest

from core.auth.permissions import MATRIX, role_allows

EXEMPT = {"static", "api-docs.openapi_json"}


def test_every_route_declares_a_permission(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "_classeur_permission"):
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert missing == [], "routes without a declared permission: " + ", ".join(missing)


def test_matrix_roles():
    assert role_allows("admin", "connectors.manage")
    assert not role_allows("accountant", "connectors.manage")
    assert role_allows("uploader", "documents.upload")
    assert not role_allows("uploader", "documents.review")
    assert all(perm.count(".") == 1 for perm in MATRIX)


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("uploader", "/admin", 403),
        ("accountant", "/admin", 403),
        ("admin", "/admin", 200),
        ("accountant", "/admin/connectors", 403),
        ("uploader", "/companies/new", 403),
        ("uploader", "/trays/upload", 200),
        ("uploader", "/search", 200),
    ],
)
def test_pages_follow_the_matrix(client, world, auth, role, path, expected):
    auth.login(world["a"][role])
    assert client.get(path).status_code == expected
