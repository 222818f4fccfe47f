"""Depositing documents end to end: API upload, reading (text layer and real Tesseract),
indexing in a real whoosh index, search, previews, duplicates, bad input, retries."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf_bytes, make_scan_bytes
from tests.conftest import upload_files as upload
from tests.conftest import wait_ready as ready


@pytest.fixture
def setup(app, factory):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    binder = factory.binder(company, "admin_documents", name="Administratif")
    user = factory.user(firm, "accountant")
    token = factory.token(user)
    runner = app.extensions["classeur"].tasks
    runner.start()
    return {
        "firm": firm,
        "company": company,
        "binder": binder,
        "user": user,
        "h": {"Authorization": f"Bearer {token}"},
        "runner": runner,
    }


def test_upload_read_index_and_search(client, setup):
    h, binder = setup["h"], setup["binder"]
    pdf = make_pdf_bytes(["Contrat de maintenance des fours", "Quincaillerie Dubois"], pages=2)
    response = upload(client, binder.id, h, ("contrat.pdf", pdf))
    assert response.status_code == 202, response.get_json()
    doc_id = response.get_json()["documents"][0]["id"]
    body = ready(client, doc_id, h)
    assert body["state"] == "to_review" and body["pages"] == 2
    assert body["media_type"] == "application/pdf" and body["text_source"] == "text"
    text = client.get(f"/api/v1/documents/{doc_id}/text", headers=h).get_data(as_text=True)
    assert "maintenance des fours" in text and "\f" in text
    original = client.get(f"/api/v1/documents/{doc_id}/file", headers=h)
    assert original.data == pdf
    preview = client.get(f"/api/v1/documents/{doc_id}/pages/2.png", headers=h)
    assert preview.status_code == 200 and preview.data[:4] == b"\x89PNG"
    assert client.get(f"/api/v1/documents/{doc_id}/pages/3.png", headers=h).status_code == 404
    from core.search.services import flush

    with client.application.app_context():
        flush()
    found = client.get("/api/v1/search?q=fours", headers=h).get_json()
    assert [r["id"] for r in found["results"]] == [doc_id]
    assert "<mark>" in found["results"][0]["highlights"]["text"]
    assert client.get("/api/v1/search?q=inexistantmot", headers=h).get_json()["results"] == []


@pytest.mark.slow
def test_scan_is_read_by_tesseract_and_searchable(client, setup):
    h, binder = setup["h"], setup["binder"]
    scan = make_scan_bytes(["FACTURE Quincaillerie Rambouillet", "Total TTC 1 234,56 EUR"])
    doc_id = upload(client, binder.id, h, ("scan.png", scan)).get_json()["documents"][0]["id"]
    body = ready(client, doc_id, h)
    assert body["state"] == "to_review", body
    assert body["text_source"] == "ocr"
    text = client.get(f"/api/v1/documents/{doc_id}/text", headers=h).get_data(as_text=True)
    assert "Rambouillet" in text
    from core.search.services import flush

    with client.application.app_context():
        flush()
    found = client.get("/api/v1/search?q=rambouillet", headers=h).get_json()
    assert [r["id"] for r in found["results"]] == [doc_id]


def test_duplicate_in_same_binder_is_not_stored_twice(client, setup, factory):
    h, binder = setup["h"], setup["binder"]
    pdf = make_pdf_bytes(["Statuts de la société"])
    first = upload(client, binder.id, h, ("statuts.pdf", pdf)).get_json()["documents"][0]
    second = upload(client, binder.id, h, ("copie.pdf", pdf)).get_json()["documents"][0]
    assert second["duplicate"] is True and second["id"] == first["id"]
    other = factory.binder(setup["company"], "other", name="Divers")
    third = upload(client, other.id, h, ("statuts.pdf", pdf)).get_json()["documents"][0]
    assert third["duplicate"] is False and third["id"] != first["id"]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("vide.pdf", b"", "empty"),
        ("faux.pdf", b"%PDF-1.4\n garbage without structure", "corrupt"),
        ("texte.pdf", b"hello, this is plain text and nothing else", "unsupported_type"),
        (
            "dtd.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><Invoice>&e;</Invoice>',
            "xml_forbidden",
        ),
    ],
)
def test_bad_files_get_clear_errors_and_nothing_is_stored(client, setup, app, name, content, code):
    response = upload(client, setup["binder"].id, setup["h"], (name, content))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code and error["field"] == "file" and error["message"]
    from sqlalchemy import func, select

    from core.db import db
    from core.documents.models import Document

    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 0
    leftovers = list((app.extensions["classeur"].storage.root / "tmp").glob("*"))
    assert leftovers == []


def test_size_limit_is_enforced_while_streaming(client, setup, app):
    app.config["MAX_UPLOAD_BYTES"] = 10_000
    big = make_pdf_bytes(["x" * 80] * 40, pages=30)
    assert len(big) > 10_000
    response = upload(client, setup["binder"].id, setup["h"], ("gros.pdf", big))
    assert response.status_code == 413
    assert "trop volumineux" in response.get_json()["error"]["message"]


def test_mixed_upload_reports_each_file(client, setup):
    ok = make_pdf_bytes(["Kbis de la société"])
    response = upload(client, setup["binder"].id, setup["h"], ("kbis.pdf", ok), ("vide.pdf", b""))
    assert response.status_code == 202
    body = response.get_json()
    assert len(body["documents"]) == 1 and body["errors"][0]["code"] == "empty"


def test_documents_of_another_firm_are_invisible(client, setup, factory):
    doc = upload(
        client,
        setup["binder"].id,
        setup["h"],
        ("a.pdf", make_pdf_bytes(["Confidentiel cabinet A"])),
    ).get_json()["documents"][0]
    ready(client, doc["id"], setup["h"])
    other_firm = factory.firm()
    outsider = factory.user(other_firm, "admin")
    oh = {"Authorization": f"Bearer {factory.token(outsider)}"}
    for path in ("", "/file", "/text", "/pages/1.png"):
        assert client.get(f"/api/v1/documents/{doc['id']}{path}", headers=oh).status_code == 404
    assert client.post(f"/api/v1/documents/{doc['id']}/retry", headers=oh).status_code == 404
    assert upload(client, setup["binder"].id, oh, ("b.pdf", b"%PDF")).status_code == 404
    from core.search.services import flush

    with client.application.app_context():
        flush()
    assert client.get("/api/v1/search?q=confidentiel", headers=oh).get_json()["results"] == []
    assert (
        len(client.get("/api/v1/search?q=confidentiel", headers=setup["h"]).get_json()["results"])
        == 1
    )
