"""Renaming (PATCH /api/v1/documents/{id}), archiving (…/archive, …/unarchive) and purging the
trash after TRASH_RETENTION_DAYS (the service, the task's poll, ``classeur trash purge``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from core.auth.models import AuditEvent
from core.db import db
from core.documents.models import Document, DocumentEvent
from core.exports.models import ExportStatus
from tests.conftest import Factory


@pytest.fixture
def firm(factory: Factory) -> dict[str, Any]:
    f = factory.firm("Cabinet Martin")
    c1 = factory.company(f, name="Boulangerie Martin", code="BM01")
    other = factory.firm("Cabinet Voisin")
    oc = factory.company(other, name="Voisin SARL", code="VO01")
    return {
        "firm": f,
        "c1": c1,
        "b1": factory.binder(c1, "other", name="Divers"),
        "b2": factory.binder(c1, "admin_documents", name="Administratif"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
        "other_binder": factory.binder(oc, "other", name="Divers"),
        "other_admin": factory.user(other, "admin"),
    }


def _call(client: Any, token: str, method: str, url: str, **kwargs: Any) -> Any:
    return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _events(app: Any, document_id: int, action: str) -> list[DocumentEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(DocumentEvent).where(
                    DocumentEvent.document_id == document_id, DocumentEvent.action == action
                )
            )
        )


# --- rename ------------------------------------------------------------------------------------


def test_rename_keeps_the_extension_and_audits(app, client, factory, firm):
    doc = factory.document(firm["b1"], filename="scan0001.pdf")
    token = factory.token(firm["accountant"])
    url = f"/api/v1/documents/{doc.id}"
    response = _call(client, token, "PATCH", url, json={"filename": "  Facture EDF octobre "})
    assert response.status_code == 200, response.json
    assert response.json["filename"] == "Facture EDF octobre.pdf"
    (event,) = _events(app, doc.id, "renamed")
    assert event.before == {"filename": "scan0001.pdf"}
    assert event.after == {"filename": "Facture EDF octobre.pdf"}
    assert event.user_id == firm["accountant"].id
    # A name with its own extension is taken as is.
    response = _call(client, token, "PATCH", url, json={"filename": "edf.PDF"})
    assert response.json["filename"] == "edf.PDF"
    # The search finds it by its new name (re-indexed after the commit).
    with app.app_context():
        from core.search.services import flush

        flush()
    found = _call(client, token, "GET", "/api/v1/search", query_string={"q": "edf"})
    assert found.status_code == 200
    assert doc.id in [r["id"] for r in found.json["results"]]


@pytest.mark.parametrize(
    "name,code",
    [("", "empty"), ("   ", "empty"), ("a/b.pdf", "path_separator"), ("..\\x", "path_separator")],
)
def test_rename_refusals(app, client, factory, firm, name, code):
    doc = factory.document(firm["b1"], filename="scan.pdf")
    token = factory.token(firm["accountant"])
    response = _call(client, token, "PATCH", f"/api/v1/documents/{doc.id}", json={"filename": name})
    assert response.status_code == 422
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == "filename"
    with app.app_context():
        assert db.session.get(Document, doc.id).filename == "scan.pdf"
    assert _events(app, doc.id, "renamed") == []


def test_rename_too_long_trashed_other_firm_and_uploader(app, client, factory, firm):
    doc = factory.document(firm["b1"], filename="scan.pdf")
    token = factory.token(firm["accountant"])
    url = f"/api/v1/documents/{doc.id}"
    response = _call(client, token, "PATCH", url, json={"filename": "x" * 252})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "too_long"
    assert _call(client, token, "PATCH", url, json={"filename": "x" * 251}).status_code == 200
    assert _call(client, token, "PATCH", url, json={"name": "x"}).status_code == 422
    trashed = factory.document(firm["b1"], state="trashed")
    response = _call(
        client, token, "PATCH", f"/api/v1/documents/{trashed.id}", json={"filename": "a"}
    )
    assert response.status_code == 409
    other = factory.token(firm["other_admin"])
    assert _call(client, other, "PATCH", url, json={"filename": "a"}).status_code == 404
    uploader = factory.token(firm["uploader"])
    assert _call(client, uploader, "PATCH", url, json={"filename": "a"}).status_code == 403


# --- archive -----------------------------------------------------------------------------------


def test_archive_only_validated_and_unarchive(app, client, factory, firm):
    validated = factory.document(firm["b1"], state="validated")
    to_review = factory.document(firm["b1"])
    token = factory.token(firm["accountant"])
    response = _call(client, token, "POST", f"/api/v1/documents/{to_review.id}/archive")
    assert response.status_code == 409
    assert response.json["error"]["message"] == "Seul un document validé peut être archivé."
    response = _call(client, token, "POST", f"/api/v1/documents/{validated.id}/archive")
    assert response.status_code == 200
    assert response.json["archived_at"]
    # An archived document is not moved (it would be read and reviewed again).
    response = _call(
        client,
        token,
        "POST",
        f"/api/v1/documents/{validated.id}/move",
        json={"binder_id": firm["b2"].id},
    )
    assert response.status_code == 409
    assert response.json["error"]["message"] == "Document archivé : désarchivez-le d'abord."
    assert len(_events(app, validated.id, "archived")) == 1
    again = _call(client, token, "POST", f"/api/v1/documents/{validated.id}/archive")
    assert again.status_code == 409
    # Out of the default list, still searchable.
    listed = _call(client, token, "GET", "/api/v1/documents").json["documents"]
    assert [d["id"] for d in listed] == [to_review.id]
    other = factory.token(firm["other_admin"])
    assert (
        _call(client, other, "POST", f"/api/v1/documents/{validated.id}/unarchive").status_code
        == 404
    )
    response = _call(client, token, "POST", f"/api/v1/documents/{validated.id}/unarchive")
    assert response.status_code == 200 and response.json["archived_at"] is None
    assert len(_events(app, validated.id, "unarchived")) == 1
    response = _call(client, token, "POST", f"/api/v1/documents/{validated.id}/unarchive")
    assert response.status_code == 409


# --- purge -------------------------------------------------------------------------------------


def _trash(app: Any, document: Any, days_ago: int, user_id: int | None = None) -> None:
    """Trash ``document`` through the service, then date its "trashed" event ``days_ago``."""
    from core.documents.services import trash_document

    with app.app_context():
        trash_document(db.session.get(Document, document.id), user_id)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        db.session.execute(
            update(DocumentEvent)
            .where(DocumentEvent.document_id == document.id, DocumentEvent.action == "trashed")
            .values(created_at=when)
        )
        db.session.commit()


def _paths(app: Any, sha256: str) -> tuple[Any, Any]:
    storage = app.extensions["classeur"].storage
    return storage.path(sha256), storage.derived_dir(sha256)


def test_purge_old_trash_keeps_recent_and_shared_and_traces_exports(app, factory, firm):
    old = factory.document(firm["b1"], content=b"%PDF-1.4 old", filename="vieux.pdf")
    recent = factory.document(firm["b1"], content=b"%PDF-1.4 recent")
    shared_a = factory.document(firm["b1"], content=b"%PDF-1.4 shared", filename="a.pdf")
    shared_b = factory.document(firm["b2"], content=b"%PDF-1.4 shared", filename="b.pdf")
    kept = factory.document(firm["b1"], content=b"%PDF-1.4 kept")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=old.id,
                firm_id=old.firm_id,
                connector="meg_export",
                state="exported",
                remote_id="MEG-77",
            )
        )
        db.session.commit()
    original, derived = _paths(app, old.sha256)
    derived.mkdir(parents=True)
    (derived / "page-1.png").write_bytes(b"png")
    _trash(app, old, 31, firm["accountant"].id)
    _trash(app, recent, 29)
    _trash(app, shared_a, 40)
    from core.documents.services import purge_trash, purgeable_ids

    with app.app_context():
        assert purgeable_ids() == [old.id, shared_a.id]
        # A dry run changes nothing.
        dry = purge_trash(dry_run=True)
        assert [r["document_id"] for r in dry] == [old.id, shared_a.id]
        assert db.session.get(Document, old.id) is not None and original.exists()
        records = purge_trash()
    assert [r["document_id"] for r in records] == [old.id, shared_a.id]
    with app.app_context():
        assert db.session.get(Document, old.id) is None
        assert db.session.get(Document, shared_a.id) is None
        assert db.session.get(Document, recent.id) is not None
        assert db.session.get(Document, kept.id) is not None
        assert db.session.get(Document, shared_b.id) is not None
        assert _events_left(old.id) == 0
        assert (
            db.session.scalar(select(ExportStatus).where(ExportStatus.document_id == old.id))
            is None
        )
        audits = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "document_purged")
                .order_by(AuditEvent.id)
            )
        )
    assert not original.exists() and not derived.exists()
    assert _paths(app, recent.sha256)[0].exists()
    assert _paths(app, shared_b.sha256)[0].exists()  # shared with b.pdf: kept
    assert records[1]["files_deleted"] is False
    assert [a.firm_id for a in audits] == [firm["firm"].id, firm["firm"].id]
    details = audits[0].details
    assert details["filename"] == "vieux.pdf"
    assert (details["dossier_code"], details["company_name"]) == ("BM01", "Boulangerie Martin")
    assert details["binder_name"] == "Divers"
    assert details["exports"] == [
        {
            "connector": "meg_export",
            "state": "exported",
            "remote_id": "MEG-77",
            "exported_at": None,
            "message": None,
        }
    ]
    # Purging again finds nothing.
    with app.app_context():
        assert purge_trash() == []


def _events_left(document_id: int) -> int:
    return len(
        list(
            db.session.scalars(
                select(DocumentEvent).where(DocumentEvent.document_id == document_id)
            )
        )
    )


def test_purge_task_polls_documents_past_the_setting(app, factory, firm):
    doc = factory.document(firm["b1"])
    _trash(app, doc, 3)
    spec = app.extensions["classeur"].task_registry.get("purge_trashed_document")
    assert spec is not None and spec.poll is not None
    with app.app_context():
        assert spec.poll() == []
        app.config["TRASH_RETENTION_DAYS"] = 2
        assert spec.poll() == [(doc.id,)]
        assert spec.run(doc.id)["document_id"] == doc.id
        assert db.session.get(Document, doc.id) is None
        assert spec.run(doc.id) is None


def test_trash_purge_command(app, app_config, factory, firm):
    old = factory.document(firm["b1"], filename="vieux.pdf")
    recent = factory.document(firm["b1"])
    _trash(app, old, 10)
    _trash(app, recent, 1)
    from core.cli import main

    env = {
        "CLASSEUR_DATA_DIR": app_config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app_config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": "test-secret",
    }
    runner = CliRunner()
    result = runner.invoke(main, ["trash", "purge", "--older-than", "5", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert f"would delete document {old.id} 'vieux.pdf'" in result.output
    assert "1 document(s) would delete" in result.output
    with app.app_context():
        assert db.session.get(Document, old.id) is not None
    result = runner.invoke(main, ["trash", "purge", "--older-than", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert f"deleted document {old.id} 'vieux.pdf' [BM01 / Divers]" in result.output
    with app.app_context():
        assert db.session.get(Document, old.id) is None
        assert db.session.get(Document, recent.id) is not None
    # The default delay (30 days) keeps the recent one.
    result = runner.invoke(main, ["trash", "purge"], env=env)
    assert result.exit_code == 0 and "0 document(s) deleted" in result.output
