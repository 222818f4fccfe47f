"""The document hooks, through a recording plugin: stored, extract_text, a binder type's own
reader (``extract``), and a failed reading kept with its original and retried."""

from __future__ import annotations

import pytest

from core.plugins.hookspecs import hookimpl
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
    app.extensions["classeur"].tasks.start()
    return {"company": company, "binder": binder, "h": {"Authorization": f"Bearer {token}"}}


class Recorder:
    def __init__(self):
        self.stored, self.text_calls, self.fields_calls = [], [], []
        self.fail_ocr = False

    @hookimpl(tryfirst=True)
    def extract_text(self, document, path, pages, config):
        self.text_calls.append((document.id, list(pages)))
        if self.fail_ocr:
            raise RuntimeError("Tesseract a planté sur la page 1")
        return {p: f"texte de la page {p} par le plugin de test" for p in pages}

    def count_words(self, document, text, path, layout=None):
        self.fields_calls.append("word_counts")
        return {"word_count": len(text.split())}

    @hookimpl
    def register_binder_types(self, register):
        from core.binders.registry import BinderType

        register(BinderType(name="word_counts", label="Comptages", extract=self.count_words))

    @hookimpl
    def after_document_stored(self, document):
        self.stored.append(document.id)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def app(app_config, recorder):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "EXTRA_PLUGINS": [recorder]})
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def test_hook_after_document_stored(client, setup, recorder):
    doc = upload(
        client, setup["binder"].id, setup["h"], ("a.pdf", make_pdf_bytes(["Attestation URSSAF"]))
    ).get_json()["documents"][0]
    assert recorder.stored == [doc["id"]]


def test_hook_extract_text(client, setup, recorder):
    scan = make_scan_bytes(["Avis de situation"], fmt="PDF")
    doc = upload(client, setup["binder"].id, setup["h"], ("scan.pdf", scan)).get_json()
    doc_id = doc["documents"][0]["id"]
    body = ready(client, doc_id, setup["h"])
    assert recorder.text_calls == [(doc_id, [1])]
    assert body["text_source"] == "ocr"
    text = client.get(f"/api/v1/documents/{doc_id}/text", headers=setup["h"]).get_data(as_text=True)
    assert "par le plugin de test" in text


def test_binder_type_reads_its_fields(client, setup, factory, recorder):
    other = factory.binder(setup["company"], "word_counts", name="Comptages")
    doc = upload(
        client, other.id, setup["h"], ("a.pdf", make_pdf_bytes(["un deux trois quatre"]))
    ).get_json()["documents"][0]
    body = ready(client, doc["id"], setup["h"])
    assert recorder.fields_calls == ["word_counts"]  # only for its own binders
    assert body["fields"]["word_count"] >= 4


def test_failed_reading_keeps_original_and_can_be_retried(client, setup, recorder, app):
    recorder.fail_ocr = True
    scan = make_scan_bytes(["Relevé"], fmt="PDF")
    doc_id = upload(client, setup["binder"].id, setup["h"], ("releve.pdf", scan)).get_json()[
        "documents"
    ][0]["id"]
    body = ready(client, doc_id, setup["h"])
    assert body["state"] == "failed" and "Tesseract a planté" in body["failure_reason"]
    assert client.get(f"/api/v1/documents/{doc_id}/file", headers=setup["h"]).data == scan
    recorder.fail_ocr = False
    retried = client.post(f"/api/v1/documents/{doc_id}/retry", headers=setup["h"])
    assert retried.status_code == 202
    assert ready(client, doc_id, setup["h"])["state"] == "to_review"
    again = client.post(f"/api/v1/documents/{doc_id}/retry", headers=setup["h"])
    assert again.status_code == 409
