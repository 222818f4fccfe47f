"""OCR words through the reading pipeline: real Tesseract, words handed to the binder type's
``extract`` as ``layout``, kept beside the original and read back with ``stored_ocr_words``."""

from __future__ import annotations

import gzip
import json

import pytest

from core.binders.registry import BinderType
from core.plugins.hookspecs import hookimpl
from tests.conftest import make_pdf_bytes, make_scan_bytes
from tests.conftest import upload_files as upload
from tests.conftest import wait_ready as ready

SCAN_LINES = ["FACTURE Quincaillerie Rambouillet", "Total TTC 1 234,56 EUR"]


class LayoutRecorder:
    """A binder type "scans" whose ``extract`` records the ``layout`` it receives."""

    def __init__(self):
        self.layouts = []

    def extract(self, document, text, path, layout=None):
        self.layouts.append(("scans", layout))
        return None

    @hookimpl
    def register_binder_types(self, register):
        register(BinderType(name="scans", label="Numérisations", extract=self.extract))


@pytest.fixture
def recorder():
    return LayoutRecorder()


@pytest.fixture
def app(app_config, recorder):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "EXTRA_PLUGINS": [recorder]})
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


@pytest.fixture
def setup(app, factory):
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    user = factory.user(firm, "accountant")
    token = factory.token(user)
    app.extensions["classeur"].tasks.start()
    return {"company": company, "h": {"Authorization": f"Bearer {token}"}}


def stored(app, doc_id):
    from core.db import db
    from core.documents.models import Document
    from core.documents.pipeline import OCR_WORDS_FILE, stored_ocr_words

    with app.app_context():
        document = db.session.get(Document, doc_id)
        folder = app.extensions["classeur"].storage.derived_dir(document.sha256)
        return stored_ocr_words(document), folder / OCR_WORDS_FILE


@pytest.mark.slow
def test_scan_words_reach_the_binder_type_and_are_kept(client, setup, factory, recorder, app):
    binder = factory.binder(setup["company"], "scans", name="Numérisations")
    scan = make_scan_bytes(SCAN_LINES)
    doc_id = upload(client, binder.id, setup["h"], ("scan.png", scan)).get_json()["documents"][0][
        "id"
    ]
    body = ready(client, doc_id, setup["h"])
    assert body["state"] == "to_review" and body["text_source"] == "ocr"
    ((binder_type, layout),) = recorder.layouts
    assert binder_type == "scans" and list(layout) == [1]
    words = {word["text"]: word for word in layout[1]}
    assert "Rambouillet" in words
    word = words["Rambouillet"]
    assert 0 < word["x0"] < word["x1"] < 1 and 0 < word["y0"] < word["y1"] < 0.2
    assert set(word) == {"text", "x0", "y0", "x1", "y1", "conf", "block", "line"}
    # Kept for later, gzipped JSON beside the original: the same words come back.
    kept, path = stored(app, doc_id)
    assert kept == layout
    assert json.loads(gzip.decompress(path.read_bytes()))["pages"]["1"] == layout[1]


def test_text_layer_gives_no_layout_and_keeps_nothing(client, setup, factory, recorder, app):
    binder = factory.binder(setup["company"], "scans", name="Numérisations")
    pdf = make_pdf_bytes(["Attestation de vigilance URSSAF"])
    doc_id = upload(client, binder.id, setup["h"], ("a.pdf", pdf)).get_json()["documents"][0]["id"]
    assert ready(client, doc_id, setup["h"])["text_source"] == "text"
    assert recorder.layouts == [("scans", None)]
    kept, path = stored(app, doc_id)
    assert kept is None and not path.exists()


@pytest.mark.slow
def test_purchase_invoice_scan_hands_the_words_to_the_extraction(
    client, setup, factory, recorder, monkeypatch
):
    import plugins.binder_purchases.extraction as extraction

    real = extraction.extract_file
    received = []

    def spy(path, *, ocr=None, ocr_words=None, **options):
        received.append(ocr_words)
        return real(path, ocr=ocr, ocr_words=ocr_words, **options)

    monkeypatch.setattr(extraction, "extract_file", spy)
    binder = factory.binder(setup["company"], "purchase_invoices", name="Achats")
    scan = make_scan_bytes(SCAN_LINES)
    doc_id = upload(client, binder.id, setup["h"], ("facture.png", scan)).get_json()["documents"][
        0
    ]["id"]
    body = ready(client, doc_id, setup["h"])
    assert body["state"] == "to_review", body
    assert len(received) == 1 and list(received[0]) == [1]
    assert "Rambouillet" in [word["text"] for word in received[0][1]]
    assert body["fields"]["source"] == "ocr"


def test_ocr_words_file_round_trip(tmp_path):
    from core.documents.pipeline import OCR_WORDS_FILE, load_ocr_words, save_ocr_words

    layout = {2: [{"text": "Total", "x0": 0.1, "y0": 0.5, "x1": 0.2, "y1": 0.52, "conf": 0.9,
                   "block": 1, "line": 0}]}  # fmt: skip
    assert load_ocr_words(tmp_path) is None
    save_ocr_words(tmp_path / "sub", layout)
    assert load_ocr_words(tmp_path / "sub") == layout
    (tmp_path / "sub" / OCR_WORDS_FILE).write_bytes(b"not gzip")
    assert load_ocr_words(tmp_path / "sub") is None  # unreadable: as if absent
    save_ocr_words(tmp_path / "sub", None)
    assert not (tmp_path / "sub" / OCR_WORDS_FILE).exists()
