"""Bulk actions (core.documents.bulk and POST /api/v1/documents/bulk): each document judged on
its own with the single-document services' refusals and audit events, another firm's ids not
found, permissions per action, the 500-id limit, and the ZIP of the originals."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.documents.models import Document, DocumentEvent
from core.exports.models import ExportStatus
from tests.conftest import Factory


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    c2 = factory.company(f, name="Garage Durand", code="GD02")
    other = factory.firm("Cabinet Voisin")
    oc = factory.company(other, name="Voisin SARL", code="VO01")
    return {
        "firm": f,
        "c1": c1,
        "p1": factory.binder(c1, "other", name="Divers"),
        "p2": factory.binder(c2, "other", name="Divers"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
        "other_binder": factory.binder(oc, "other", name="Divers"),
        "other_admin": factory.user(other, "admin"),
    }


def _bulk(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/documents/bulk", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def _events(app: Any, document_id: int, action: str) -> list[DocumentEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(DocumentEvent).where(
                    DocumentEvent.document_id == document_id, DocumentEvent.action == action
                )
            )
        )


def test_bulk_trash_each_document_on_its_own(app, client, factory, firm):
    a = factory.document(firm["p1"])
    b = factory.document(firm["p1"], state="trashed")
    c = factory.document(firm["p2"], state="validated")
    foreign = factory.document(firm["other_binder"])
    token = factory.token(firm["accountant"])
    response = _bulk(
        client, token, {"action": "trash", "ids": [a.id, b.id, foreign.id, c.id, a.id, 999999]}
    )
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["id"] for r in results] == [a.id, b.id, foreign.id, c.id, 999999]
    by_id = {r["id"]: r for r in results}
    assert by_id[a.id] == {
        "id": a.id,
        "ok": True,
        "message": "Mis à la corbeille",
        "state": "trashed",
    }
    assert by_id[b.id]["ok"] is False
    assert by_id[b.id]["message"] == "Ce document est déjà à la corbeille."
    assert by_id[b.id]["state"] == "trashed"
    assert by_id[c.id]["ok"] is True
    # Another firm's document and an unknown id answer the same.
    assert by_id[foreign.id] == {
        "id": foreign.id,
        "ok": False,
        "message": "Document introuvable",
        "state": None,
    }
    assert by_id[999999] == {**by_id[foreign.id], "id": 999999}
    with app.app_context():
        assert str(db.session.get(Document, foreign.id).state) == "to_review"
    assert len(_events(app, a.id, "trashed")) == 1
    assert len(_events(app, c.id, "trashed")) == 1
    assert _events(app, foreign.id, "trashed") == []


def test_bulk_validate_move_restore_archive(app, client, factory, firm):
    a = factory.document(firm["p1"])
    b = factory.document(firm["p1"], state="received")
    token = factory.token(firm["accountant"])
    results = _bulk(client, token, {"action": "validate", "ids": [a.id, b.id]}).json["results"]
    assert (results[0]["ok"], results[0]["message"], results[0]["state"]) == (
        True,
        "Validé",
        "validated",
    )
    assert results[1]["ok"] is False
    assert results[1]["message"] == "Le document n'est pas prêt à être validé."
    assert len(_events(app, a.id, "validated")) == 1

    results = _bulk(client, token, {"action": "archive", "ids": [a.id, b.id]}).json["results"]
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["message"] == "Seul un document validé peut être archivé."
    with app.app_context():
        assert db.session.get(Document, a.id).archived_at is not None
    results = _bulk(client, token, {"action": "unarchive", "ids": [a.id]}).json["results"]
    assert results[0]["ok"] is True
    with app.app_context():
        assert db.session.get(Document, a.id).archived_at is None

    c = factory.document(firm["p1"])
    results = _bulk(
        client, token, {"action": "move", "ids": [c.id], "binder_id": firm["p2"].id}
    ).json["results"]
    assert results[0]["ok"] is True and results[0]["state"] == "received"
    with app.app_context():
        assert db.session.get(Document, c.id).binder_id == firm["p2"].id
    # A binder of another firm is not found: the whole call is refused.
    response = _bulk(
        client, token, {"action": "move", "ids": [c.id], "binder_id": firm["other_binder"].id}
    )
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Classeur introuvable."
    response = _bulk(client, token, {"action": "move", "ids": [c.id]})
    assert response.status_code == 400

    d = factory.document(firm["p1"], state="trashed")
    results = _bulk(client, token, {"action": "restore", "ids": [d.id, a.id]}).json["results"]
    assert results[0]["ok"] is True and results[0]["state"] == "to_review"
    assert results[1] == {
        "id": a.id,
        "ok": False,
        "message": "Ce document n'est pas à la corbeille.",
        "state": "validated",
    }


def test_bulk_resend_retries_the_exports_in_error(app, client, factory, firm):
    a = factory.document(firm["p1"], state="validated")
    b = factory.document(firm["p1"])
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=a.id, firm_id=a.firm_id, connector="nope", state="error", message="x"
            )
        )
        db.session.commit()
    token = factory.token(firm["accountant"])
    results = _bulk(client, token, {"action": "resend", "ids": [a.id, b.id]}).json["results"]
    assert results[0]["ok"] is True
    assert results[0]["message"] == "Renvoi demandé vers nope"
    assert len(_events(app, a.id, "export_retry")) == 1
    assert results[1] == {
        "id": b.id,
        "ok": False,
        "message": "Aucun envoi en erreur à relancer.",
        "state": "to_review",
    }


def test_bulk_refusals_as_a_whole(app, client, factory, firm):
    a = factory.document(firm["p1"])
    token = factory.token(firm["accountant"])
    assert _bulk(client, token, {"action": "explode", "ids": [a.id]}).status_code == 400
    assert _bulk(client, token, {"action": "trash", "ids": []}).status_code == 400
    assert _bulk(client, token, {"action": "trash", "ids": ["1"]}).status_code == 400
    response = _bulk(client, token, {"action": "trash", "ids": list(range(1, 502))})
    assert response.status_code == 400
    assert "500 documents au plus" in response.json["error"]["message"]
    # An uploader may not trash (documents.review), nor may a read-only token.
    uploader = factory.token(firm["uploader"])
    assert _bulk(client, uploader, {"action": "trash", "ids": [a.id]}).status_code == 403
    read_only = factory.token(firm["accountant"], scopes=("read",))
    assert _bulk(client, read_only, {"action": "trash", "ids": [a.id]}).status_code == 403
    with app.app_context():
        assert str(db.session.get(Document, a.id).state) == "to_review"


def test_bulk_download_zip_unique_names_and_scope(app, client, factory, firm):
    a = factory.document(firm["p1"], content=b"%PDF-1.4 a", filename="facture.pdf")
    b = factory.document(firm["p1"], content=b"%PDF-1.4 b", filename="facture.pdf")
    c = factory.document(firm["p2"], content=b"%PDF-1.4 c", filename="facture.pdf")
    foreign = factory.document(firm["other_binder"], content=b"%PDF-1.4 secret")
    token = factory.token(firm["uploader"])  # sees c1 only
    response = _bulk(client, token, {"action": "download", "ids": [a.id, b.id, c.id, foreign.id]})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = zf.namelist()
        assert names == ["BM01/Divers/facture.pdf", "BM01/Divers/facture (2).pdf"]
        assert zf.read(names[0]) == b"%PDF-1.4 a"
        assert zf.read(names[1]) == b"%PDF-1.4 b"
    # The temporary ZIP is gone once sent.
    response.close()
    from pathlib import Path

    assert not list((Path(app.config["DATA_DIR"]) / "tmp").glob("bulk-*.zip"))
    response = _bulk(client, token, {"action": "download", "ids": [foreign.id]})
    assert response.status_code == 404


def test_bulk_download_size_limit(app, client, factory, firm):
    app.config["BULK_ZIP_MAX_BYTES"] = 15
    a = factory.document(firm["p1"], content=b"%PDF-1.4 aaaaaa")
    b = factory.document(firm["p1"], content=b"%PDF-1.4 bbbbbb")
    token = factory.token(firm["accountant"])
    response = _bulk(client, token, {"action": "download", "ids": [a.id, b.id]})
    assert response.status_code == 413
    assert "limite" in response.json["error"]["message"]
