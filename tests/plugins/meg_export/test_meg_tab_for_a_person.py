"""The MEG tab says "Liée" only when the connector also sends for the company; the
connectors page and the audit log name MEG and the company, never their codes."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def linked_world(factory, app, login_web, sandbox):
    sandbox.reset()
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    admin = factory.user(firm, "admin")
    web = app.test_client()
    login_web(web, admin)
    return {"firm": firm, "company": company, "admin": admin, "web": web}


def test_linked_but_switched_off_and_named_for_a_person(linked_world, link_through_pages, sandbox):
    web, company = linked_world["web"], linked_world["company"]
    assert link_through_pages(web, sandbox, company).status_code == 302
    page = web.get(f"/companies/{company.id}/meg").text
    assert re.search(r"<strong>Liée</strong>", page)
    assert re.search(r"Liée le</dt><dd>\d\d/\d\d/\d{4} \d\d:\d\d</dd>", page)

    # Switched off on the connectors page: the flash names MEG and the company.
    answer = web.post(
        "/admin/connectors/meg_export",
        data={"company": company.id, "enabled": "off"},
        follow_redirects=True,
    )
    assert "Connecteur « MEG (RCA) » désactivé pour Boulangerie Martin." in answer.text
    flashes = re.findall(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', answer.text)
    assert flashes and not any("meg_export" in f for f in flashes)
    assert "Administration → Modules" in answer.text  # where the same switch also lives

    page = web.get(f"/companies/{company.id}/meg").text
    assert "<strong>Liée</strong>" not in page
    assert "Liée, mais le connecteur MEG est désactivé pour cette entreprise" in page
    assert 'href="/admin/modules"' in page

    audit = web.get("/admin/audit").text
    assert "Liaison MEG" in audit and ">meg_link<" not in audit
    assert f'<a href="/companies/{company.id}">Boulangerie Martin (DEMO01)</a>' in audit
    assert "MEG (RCA) — Boulangerie Martin (DEMO01)" in audit and "désactivé" in audit
    assert f"company:{company.id}" not in audit and "meg_export:" not in audit
