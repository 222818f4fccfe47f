"""Issue 14's follow-ups: « Renommer » and « Archiver » / « Désarchiver » on the document page,
refused actions shown as their reason, the firm's audit log with the documents' events, the
trash's purge delay said on the pages, and the API's dates and French validation messages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import db
from core.documents.models import Document, DocumentEvent
from core.exports.models import ExportStatus
from tests.conftest import Factory


def visible(html: str) -> str:
    """The page's text, without tags and attributes."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


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
        "admin": factory.user(f, "admin"),
        "accountant": factory.user(f, "accountant"),
        "uploader": factory.user(f, "uploader", companies=[c1]),
        "other": other,
        "other_binder": factory.binder(oc, "other", name="Divers"),
        "other_admin": factory.user(other, "admin"),
    }


def _reload(app: Any, document_id: int) -> Document | None:
    with app.app_context():
        document = db.session.get(Document, document_id)
        if document is not None:
            db.session.expunge(document)
        return document


def _events(app: Any, document_id: int, action: str) -> list[DocumentEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(DocumentEvent).where(
                    DocumentEvent.document_id == document_id, DocumentEvent.action == action
                )
            )
        )


def _page(client: Any, document_id: int) -> str:
    response = client.get(f"/documents/{document_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _flashes(response: Any) -> str:
    return visible(response.get_data(as_text=True))


# --- rename ------------------------------------------------------------------------------------


def test_rename_on_the_document_page(app, client, factory, auth, firm):
    doc = factory.document(firm["b1"], filename="scan0001.pdf")
    auth.login(firm["accountant"])
    html = _page(client, doc.id)
    form = re.search(r'<details class="confirm" id="rename">.*?</details>', html, re.S).group(0)
    assert f'action="/documents/{doc.id}/rename"' in form
    assert 'name="filename" value="scan0001.pdf"' in form  # the current name, prefilled
    response = client.post(
        f"/documents/{doc.id}/rename", data={"filename": " Facture EDF "}, follow_redirects=True
    )
    assert "Document renommé en « Facture EDF.pdf »." in _flashes(response)
    assert _reload(app, doc.id).filename == "Facture EDF.pdf"
    (event,) = _events(app, doc.id, "renamed")
    assert event.user_id == firm["accountant"].id
    # The API's rules and messages, in a flash; the name is left as it was.
    for bad, message in (
        ("a/b", "Le nom du fichier ne peut pas contenir « / » ni « \\ »."),
        ("   ", "Le nom du fichier est vide."),
        ("x" * 300, "Le nom du fichier est trop long (255 caractères au plus)."),
    ):
        response = client.post(
            f"/documents/{doc.id}/rename", data={"filename": bad}, follow_redirects=True
        )
        assert message in _flashes(response)
        assert _reload(app, doc.id).filename == "Facture EDF.pdf"
    # Same name: nothing recorded.
    client.post(f"/documents/{doc.id}/rename", data={"filename": "Facture EDF.pdf"})
    assert len(_events(app, doc.id, "renamed")) == 1


def test_rename_needs_the_review_right_and_the_firm(app, client, factory, auth, firm):
    doc = factory.document(firm["b1"], filename="scan.pdf")
    auth.login(firm["uploader"])
    assert 'id="rename"' not in _page(client, doc.id)
    assert client.post(f"/documents/{doc.id}/rename", data={"filename": "x"}).status_code == 403
    client.get("/logout")
    auth.login(firm["other_admin"])
    assert client.post(f"/documents/{doc.id}/rename", data={"filename": "x"}).status_code == 404
    assert client.post(f"/documents/{doc.id}/archive").status_code == 404
    assert _reload(app, doc.id).filename == "scan.pdf"


# --- archive -----------------------------------------------------------------------------------


def test_archive_and_unarchive_on_the_document_page(app, client, factory, auth, firm):
    to_review = factory.document(firm["b1"], filename="a-valider.pdf")
    doc = factory.document(firm["b1"], state="validated", filename="valide.pdf")
    auth.login(firm["accountant"])
    # Only a validated document offers « Archiver ».
    assert f'action="/documents/{to_review.id}/archive"' not in _page(client, to_review.id)
    html = _page(client, doc.id)
    assert f'action="/documents/{doc.id}/archive"' in html
    assert 'id="archived-notice"' not in html
    response = client.post(f"/documents/{doc.id}/archive", follow_redirects=True)
    assert "Document archivé" in _flashes(response)
    archived_at = _reload(app, doc.id).archived_at
    assert archived_at is not None
    assert len(_events(app, doc.id, "archived")) == 1
    html = _page(client, doc.id)
    notice = re.search(r'<p class="notice" id="archived-notice">.*?</p>', html, re.S).group(0)
    assert re.search(r"Archivé le \d\d/\d\d/\d{4}", visible(notice))
    assert f'action="/documents/{doc.id}/unarchive"' in html
    assert f'action="/documents/{doc.id}/archive"' not in html
    # An archived document cannot be moved: no button, the reason instead.
    assert '<details class="confirm" id="move">' not in html
    assert "Déplacement impossible : Document archivé : désarchivez-le d'abord." in visible(html)
    # Archiving twice through a stale page: a French refusal.
    response = client.post(f"/documents/{doc.id}/archive", follow_redirects=True)
    assert "Ce document est déjà archivé." in _flashes(response)
    response = client.post(f"/documents/{doc.id}/unarchive", follow_redirects=True)
    assert "Document désarchivé." in _flashes(response)
    assert _reload(app, doc.id).archived_at is None
    assert len(_events(app, doc.id, "unarchived")) == 1
    html = _page(client, doc.id)
    assert '<details class="confirm" id="move">' in html and 'id="archived-notice"' not in html


def test_an_exported_document_shows_why_it_cannot_move(app, client, factory, auth, firm):
    doc = factory.document(firm["b1"], state="validated", filename="exporte.pdf")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=doc.id,
                firm_id=doc.firm_id,
                connector="meg_export",
                state="exported",
                idempotency_key="key-exported",
            )
        )
        db.session.commit()
    auth.login(firm["accountant"])
    html = _page(client, doc.id)
    assert '<details class="confirm" id="move">' not in html
    assert f'action="/documents/{doc.id}/move"' not in html
    reasons = visible(re.search(r'<ul class="action-reasons.*?</ul>', html, re.S).group(0))
    assert "Déplacement impossible : Document déjà exporté : il ne peut plus être déplacé." in (
        reasons
    )
    # The trash is still offered (it only sets exports aside), with the purge delay said.
    trash = re.search(r'<details class="confirm" id="trash">.*?</details>', html, re.S).group(0)
    assert "pendant 30 jours, puis il est supprimé définitivement" in visible(trash)
    assert "Rien n'est effacé" not in visible(html)


def test_a_document_being_sent_offers_neither_move_nor_trash(app, client, factory, auth, firm):
    doc = factory.document(firm["b1"], state="validated", filename="envoi.pdf")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=doc.id,
                firm_id=doc.firm_id,
                connector="meg_export",
                state="sending",
                idempotency_key="key-sending",
            )
        )
        db.session.commit()
    auth.login(firm["accountant"])
    html = _page(client, doc.id)
    assert 'id="move"' not in html and '<details class="confirm" id="trash">' not in html
    text = visible(html)
    assert "Déplacement impossible : Envoi en cours vers la comptabilité" in text
    assert "Mise à la corbeille impossible : Envoi en cours vers la comptabilité" in text


# --- trash wording -----------------------------------------------------------------------------


def test_the_trash_says_when_documents_are_deleted(app, client, factory, auth, firm):
    doc = factory.document(firm["b1"], filename="doublon.pdf")
    auth.login(firm["accountant"])
    client.post(f"/documents/{doc.id}/trash")
    with app.app_context():
        db.session.execute(
            update(DocumentEvent)
            .where(DocumentEvent.document_id == doc.id, DocumentEvent.action == "trashed")
            .values(created_at=dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC))
        )
        db.session.commit()
    text = visible(_page(client, doc.id))
    assert (
        "Les documents sont supprimés définitivement 30 jours après leur mise à la corbeille ;"
        " le 31/10/2026 pour celui-ci." in text
    )
    html = client.get(f"/trays/{firm['b1'].id}/trash").get_data(as_text=True)
    assert "supprimés définitivement 30 jours après leur mise à la corbeille" in visible(html)
    row = re.search(rf'<tr data-document="{doc.id}">.*?</tr>', html, re.S).group(0)
    assert re.search(r'<td class="purge-on">31/10/2026</td>', row)
    app.config["TRASH_RETENTION_DAYS"] = 7
    html = client.get(f"/trays/{firm['b1'].id}/trash").get_data(as_text=True)
    assert "définitivement 7 jours après" in visible(html)
    assert '<td class="purge-on">08/10/2026</td>' in html


# --- the audit log -----------------------------------------------------------------------------


def test_audit_log_shows_the_documents_events(app, client, factory, auth, firm):
    from core.auth.audit import audit
    from core.documents import services

    moved = factory.document(firm["b1"], filename="mal-classe.pdf")
    kept = factory.document(firm["b1"], state="validated", filename="facture-edf.pdf")
    purged = factory.document(firm["b1"], filename="a-purger.pdf")
    doubt = factory.document(firm["b1"], filename="hesitation.pdf")
    secret = factory.document(firm["other_binder"], filename="secret-voisin.pdf")
    user_id = firm["accountant"].id
    with app.app_context():
        get = db.session.get
        services.rename_document(get(Document, kept.id), "EDF octobre", user_id)
        services.archive_document(get(Document, kept.id), user_id)
        services.unarchive_document(get(Document, kept.id), user_id)
        services.move_document(get(Document, moved.id), _binder(firm["b2"]), user_id)
        services.trash_document(get(Document, doubt.id), user_id)
        services.restore_document(get(Document, doubt.id), user_id)
        services.trash_document(get(Document, purged.id), user_id)
        db.session.execute(
            update(DocumentEvent)
            .where(DocumentEvent.document_id == purged.id, DocumentEvent.action == "trashed")
            .values(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
        db.session.commit()
        assert services.purge_document(purged.id) is not None
        other_user = firm["other_admin"].id
        services.rename_document(get(Document, secret.id), "autre-nom-secret", other_user)
        audit("login", user_id=firm["admin"].id, firm_id=firm["firm"].id)
        db.session.commit()
    auth.login(firm["admin"])
    html = client.get("/admin/audit").get_data(as_text=True)
    text = visible(html)
    for label in (
        "Renommé",
        "Archivé",
        "Désarchivé",
        "Déplacé",
        "Mis à la corbeille",
        "Restauré",
        "Document supprimé de la corbeille",
        "Connexion",
    ):
        assert label in text, label
    assert f'<a href="/documents/{kept.id}">EDF octobre.pdf</a>' in html
    assert f'<a href="/documents/{moved.id}">mal-classe.pdf</a>' in html
    assert "facture-edf.pdf → EDF octobre.pdf" in text
    assert "Boulangerie Martin / Divers → Boulangerie Martin / Administratif" in text
    # The purged document is named by its file name, without a link.
    assert "a-purger.pdf" in text and f'href="/documents/{purged.id}"' not in html
    assert firm["accountant"].email in text
    # Another firm's documents never show.
    assert "secret" not in text and firm["other_admin"].email not in text
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", text)
    # Newest first: the login (last) comes before the rename (first).
    assert text.index("Connexion") < text.index("Renommé")
    # Filtered by kind.
    documents = _audit_table(client, "documents")
    assert "Renommé" in documents and "Document supprimé de la corbeille" in documents
    assert "Connexion" not in documents
    admin = _audit_table(client, "admin")
    assert "Connexion" in admin and "Renommé" not in admin and "a-purger.pdf" not in admin
    # An unknown kind or page is the whole log's first page.
    assert client.get("/admin/audit?kind=zzz&page=-3").status_code == 200


def _audit_table(client: Any, kind: str) -> str:
    html = client.get(f"/admin/audit?kind={kind}").get_data(as_text=True)
    return visible(re.search(r'<table class="list" id="audit">.*?</table>', html, re.S).group(0))


def _binder(binder: Any) -> Any:
    from core.binders.models import Binder

    return db.session.get(Binder, binder.id)


def test_audit_log_is_paginated_by_time(app, client, factory, auth, firm):
    from core.auth.audit import audit
    from core.auth.models import AuditEvent

    doc = factory.document(firm["b1"], filename="pagine.pdf")
    start = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    with app.app_context():
        for n in range(60):
            audit("company_settings", target="x", user_id=firm["admin"].id, firm_id=firm["firm"].id)
        db.session.flush()
        for n, event in enumerate(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "company_settings"))
        ):
            event.created_at = start + dt.timedelta(minutes=n)
        # A document event older than every audit event: last line of the last page.
        db.session.add(
            DocumentEvent(
                document_id=doc.id,
                user_id=firm["admin"].id,
                action="validated",
                created_at=start - dt.timedelta(days=1),
            )
        )
        db.session.commit()
    auth.login(firm["admin"])
    first = client.get("/admin/audit").get_data(as_text=True)
    rows = re.findall(r"<tr><td><time", first)
    assert len(rows) == 50
    assert 'href="/admin/audit?page=2"' in first and "pagine.pdf" not in first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    rows = re.findall(r"<tr><td><time[^>]*>([^<]*)</time>", second)
    # 60 settings + 1 login + 1 validation = 62: 12 on page 2, the validation last.
    assert len(rows) == 12
    assert rows[-1].startswith("28/02/2026")
    assert "pagine.pdf" in second and "Plus récents" in second and "Plus anciens" not in second


# --- API: dates and messages -------------------------------------------------------------------


def _api(client: Any, token: str, url: str, **kwargs: Any) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_list_filters_take_a_date_or_a_date_time(app, client, factory, firm):
    early = factory.document(firm["b1"], filename="tot.pdf")
    late = factory.document(firm["b1"], filename="tard.pdf")
    with app.app_context():
        for document, hour in ((early, 8), (late, 15)):
            db.session.execute(
                update(Document)
                .where(Document.id == document.id)
                .values(created_at=dt.datetime(2026, 10, 15, hour, 0, tzinfo=dt.UTC))
            )
        db.session.commit()
    token = factory.token(firm["accountant"])

    def names(**query: str) -> list[str]:
        response = _api(client, token, "/api/v1/documents", query_string=query)
        assert response.status_code == 200, response.json
        return sorted(d["filename"] for d in response.json["documents"])

    assert names(created_from="2026-10-15") == ["tard.pdf", "tot.pdf"]
    assert names(created_from="2026-10-15T12:00:00") == ["tard.pdf"]
    assert names(created_from="2026-10-15T12:00:00Z") == ["tard.pdf"]
    assert names(created_from="2026-10-15T14:00:00+02:00") == ["tard.pdf"]  # 12:00 UTC
    assert names(created_to="2026-10-15T08:00:00") == ["tot.pdf"]  # inclusive
    assert names(created_to="2026-10-15") == ["tard.pdf", "tot.pdf"]  # the whole day
    assert names(created_to="2026-10-14") == []
    bad = _api(client, token, "/api/v1/documents", query_string={"created_from": "15/10/2026"})
    assert bad.status_code == 422
    error = bad.json["error"]
    assert error["field"] == "created_from"
    assert error["message"].startswith("created_from : une date AAAA-MM-JJ ou une date-heure")
    assert "« 15/10/2026 »" in error["message"]


def test_exports_since_until_take_a_date_or_a_date_time(app, client, factory, firm):
    doc = factory.document(firm["b1"], state="validated", filename="export.pdf")
    with app.app_context():
        for n, (connector, hour) in enumerate((("meg_export", 8), ("other_export", 15))):
            db.session.add(
                ExportStatus(
                    document_id=doc.id,
                    firm_id=doc.firm_id,
                    connector=connector,
                    state="error",
                    message="Refusé",
                    idempotency_key=f"key-{n}",
                    updated_at=dt.datetime(2026, 10, 15, hour, 0, tzinfo=dt.UTC),
                )
            )
        db.session.commit()
    token = factory.token(firm["accountant"])

    def connectors(**query: str) -> list[str]:
        response = _api(client, token, "/api/v1/exports", query_string=query)
        assert response.status_code == 200, response.json
        return sorted(e["connector"] for e in response.json["exports"])

    assert connectors(since="2026-10-15") == ["meg_export", "other_export"]
    assert connectors(since="2026-10-15T12:00") == ["other_export"]
    assert connectors(until="2026-10-15T08:00:00Z") == ["meg_export"]
    assert connectors(until="2026-10-15") == ["meg_export", "other_export"]
    bad = _api(client, token, "/api/v1/exports", query_string={"until": "demain"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "until"
    assert "date-heure ISO 8601" in bad.json["error"]["message"]
    state = _api(client, token, "/api/v1/exports", query_string={"state": "xyz"}).json["error"]
    assert state["message"].startswith("state : valeur inconnue « xyz » ; valeurs possibles : ")
    assert "pending" in state["message"] and "exported" in state["message"]


def test_validation_errors_are_french_and_readable(client, factory, firm):
    token = factory.token(firm["accountant"])
    response = _api(
        client, token, "/api/v1/documents", query_string={"state": ["to_review", "xyz"]}
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["field"] == "state"
    assert error["message"] == (
        "state : valeur inconnue « xyz » ; valeurs possibles : received, extracting, to_review,"
        " validated, failed, trashed."
    )
    response = _api(
        client, token, "/api/v1/documents", query_string={"limit": "0", "archived": "peut-etre"}
    )
    message = response.json["error"]["message"]
    assert "limit : entre 1 et 200." in message
    assert "archived : valeur inconnue « peut-etre » ; valeurs possibles : false, true, all." in (
        message
    )
    for raw in ("{0:", "Must be one of", "Not a valid", "Must be greater"):
        assert raw not in message
    response = _api(client, token, "/api/v1/documents", query_string={"limit": "beaucoup"})
    assert response.json["error"]["message"] == "limit : Nombre entier attendu."


def test_bulk_bad_action_lists_every_action(client, factory, firm):
    doc = factory.document(firm["b1"])
    token = factory.token(firm["accountant"])
    response = client.post(
        "/api/v1/documents/bulk",
        headers={"Authorization": f"Bearer {token}"},
        json={"action": "explode", "ids": [doc.id]},
    )
    assert response.status_code == 400
    assert response.json["error"]["message"] == (
        "Action inconnue « explode » : choisissez parmi validate, move, trash, restore, resend,"
        " archive, unarchive, download."
    )
