"""A form shows all its errors at once: a summary at the top ("3 erreurs :" with a link to
each field) and each message beside its field."""

from __future__ import annotations

import re


def test_company_form_shows_every_error_at_once(client, factory, auth):
    firm = factory.firm()
    auth.login(factory.user(firm, "admin"))
    html = client.post(
        "/companies/new", data={"name": "", "dossier_code": "pas bon!", "siren": "123456789"}
    ).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert summary, "no error summary"
    summary = summary.group(0)
    assert "3 erreurs :" in summary
    for field in ("name", "dossier_code", "siren"):
        assert f'href="#{field}"' in summary
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag
        assert f'id="{field}-errors"' in html
    assert "Code dossier invalide" in summary and "SIREN invalide" in summary
    # Nothing was created.
    assert client.get("/companies").get_data(as_text=True).count("pas bon") == 0


def test_one_error_is_counted_in_the_singular(client, factory, auth):
    firm = factory.firm()
    auth.login(factory.user(firm, "admin"))
    html = client.post(
        "/companies/new", data={"name": "Dupont", "dossier_code": "DUP", "siren": "123456789"}
    ).get_data(as_text=True)
    assert "1 erreur :" in html and "SIREN invalide" in html


def test_valid_company_form_has_no_summary(client, factory, auth):
    firm = factory.firm()
    auth.login(factory.user(firm, "admin"))
    answer = client.post(
        "/companies/new", data={"name": "Dupont", "dossier_code": "DUP", "siren": "732829320"}
    )
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "error-summary" not in page
