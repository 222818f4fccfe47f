"""Bulk actions on documents: the one service the API (``POST /api/v1/documents/bulk``) and the
pages (selections in trays and search results) call.

Each document is handled on its own through the single-document services (same refusals, same
audit events, each committed apart): one refused document does not stop the others, its result
says why in French. Ids outside the user's firm (or an uploader's companies) answer « Document
introuvable », exactly like ids that do not exist.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app, g, has_request_context
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.auth.permissions import role_allows, scope_for
from core.binders.models import Binder
from core.db import db
from core.documents.models import Document, DocumentState
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus
from core.state import classeur
from core.tenancy.models import Company, Membership, Role

BULK_ACTIONS = ("validate", "move", "trash", "restore", "resend", "archive", "unarchive")

#: Ids accepted in one call.
MAX_BULK_IDS = 500

#: Permission each action needs (the same as the single-document routes).
ACTION_PERMISSIONS: dict[str, str] = {
    "validate": "documents.review",
    "move": "documents.review",
    "trash": "documents.review",
    "restore": "documents.review",
    "resend": "documents.export",
    "archive": "documents.review",
    "unarchive": "documents.review",
    "download": "documents.read",
}

#: French message of a document that went through, per action.
DONE_MESSAGES: dict[str, str] = {
    "validate": "Validé",
    "move": "Déplacé (relu dans son nouveau classeur)",
    "trash": "Mis à la corbeille",
    "restore": "Restauré",
    "resend": "Renvoyé",
    "archive": "Archivé",
    "unarchive": "Désarchivé",
}

NOT_FOUND = "Document introuvable"


@dataclass
class BulkResult:
    """The outcome of one document of a bulk action."""

    document_id: int
    ok: bool
    #: French, for a person ("Validé", "Ce document est déjà à la corbeille.", ...).
    message: str
    #: The document's state after the action (a DocumentState value), None if not found.
    state: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.document_id, "ok": self.ok, "message": self.message, "state": self.state}


# --- scope and permissions ---------------------------------------------------------------------


def _membership(user: Any) -> Membership:
    """The membership ``user`` acts through: the request's one when it is the current user."""
    if (
        has_request_context()
        and current_user.is_authenticated
        and getattr(current_user, "id", None) == user.id
    ):
        from core.tenancy.scoping import current_membership

        return current_membership()
    memberships = sorted(
        db.session.scalars(select(Membership).where(Membership.user_id == user.id)),
        key=lambda m: m.id,
    )
    if not memberships:
        raise ServiceError("Aucun cabinet pour cet utilisateur.", code="forbidden", status=403)
    return memberships[0]


def check_permission(membership: Membership, permission: str) -> None:
    """Refuse (403) a role, or an API token's scopes, without ``permission``."""
    allowed = role_allows(membership.role, permission)
    if allowed and has_request_context():
        scopes = g.get("token_scopes")
        allowed = scopes is None or scope_for(permission) in scopes
    if not allowed:
        raise ServiceError(
            "Vous n'avez pas le droit de faire cette action.", code="forbidden", status=403
        )


def _documents_stmt(membership: Membership) -> Any:
    stmt = select(Document).where(Document.firm_id == membership.firm_id)
    if membership.role == Role.UPLOADER:
        stmt = stmt.where(Document.company_id.in_([c.id for c in membership.companies]))
    return stmt


def _binder(membership: Membership, binder_id: Any) -> Binder:
    if binder_id is None or isinstance(binder_id, bool) or not isinstance(binder_id, int):
        raise ServiceError(
            "Choisissez le classeur où déplacer les documents.",
            "binder_id",
            code="binder_required",
            status=400,
        )
    stmt = (
        select(Binder)
        .join(Company)
        .where(Company.firm_id == membership.firm_id, Binder.id == binder_id)
    )
    if membership.role == Role.UPLOADER:
        stmt = stmt.where(Binder.company_id.in_([c.id for c in membership.companies]))
    binder = db.session.scalar(stmt)
    if binder is None:
        raise ServiceError("Classeur introuvable.", "binder_id", code="not_found", status=404)
    return binder


def clean_ids(document_ids: Any) -> list[int]:
    """The ids as given, without repeats; a clear error (400) for anything else."""
    if not isinstance(document_ids, list | tuple) or not document_ids:
        raise ServiceError(
            "Donnez la liste des documents (« ids »).", "ids", code="no_ids", status=400
        )
    if any(isinstance(i, bool) or not isinstance(i, int) for i in document_ids):
        raise ServiceError(
            "Les identifiants de documents doivent être des nombres entiers.",
            "ids",
            code="bad_ids",
            status=400,
        )
    ids = list(dict.fromkeys(document_ids))
    if len(ids) > MAX_BULK_IDS:
        raise ServiceError(
            f"{MAX_BULK_IDS} documents au plus par action groupée ({len(ids)} demandés).",
            "ids",
            code="too_many_ids",
            status=400,
        )
    return ids


# --- actions -------------------------------------------------------------------------------------


def _resend(document: Document, user_id: int | None) -> str:
    """Retry every export of ``document`` in error or skipped; each connector committed apart."""
    from core.exports.services import retry_export

    connectors = list(
        db.session.scalars(
            select(ExportStatus.connector)
            .where(
                ExportStatus.document_id == document.id,
                ExportStatus.state.in_([ExportState.ERROR, ExportState.SKIPPED]),
            )
            .order_by(ExportStatus.connector)
        )
    )
    if not connectors:
        raise ServiceError("Aucun envoi en erreur à relancer.", "state", code="nothing", status=409)
    sent: list[str] = []
    refused: list[str] = []
    for connector in connectors:
        exporter = classeur().exporters.get(connector)
        label = getattr(exporter, "label", None) or connector
        try:
            retry_export(document, connector, user_id)
            db.session.commit()
            sent.append(label)
        except ServiceError as exc:
            db.session.rollback()
            refused.append(f"{label} : {exc.message}")
    if not sent:
        raise ServiceError(" ; ".join(refused), "state", code="refused", status=409)
    message = "Renvoi demandé vers " + ", ".join(sent)
    if refused:
        message += " (refusé : " + " ; ".join(refused) + ")"
    return message


def _apply_one(action: str, document: Document, user_id: int | None, binder: Binder | None) -> str:
    from core.documents import services

    if action == "validate":
        services.validate_document(document, user_id)
    elif action == "move":
        assert binder is not None
        services.move_document(document, binder, user_id)
    elif action == "trash":
        services.trash_document(document, user_id)
    elif action == "restore":
        services.restore_document(document, user_id)
    elif action == "resend":
        return _resend(document, user_id)
    elif action == "archive":
        services.archive_document(document, user_id)
    elif action == "unarchive":
        services.unarchive_document(document, user_id)
    return DONE_MESSAGES[action]


def apply_bulk(
    action: str, document_ids: list[int], *, user: Any, binder_id: int | None = None
) -> list[BulkResult]:
    """Apply ``action`` to each document of ``document_ids`` (in the order given, repeats
    dropped) on behalf of ``user``; one result per id.

    Refused as a whole (:class:`ServiceError`): an unknown action or bad ids (400), more than
    :data:`MAX_BULK_IDS` ids (400), a role (or token) without the action's permission (403),
    for "move" a missing (400) or unknown (404) target binder.
    """
    if action not in BULK_ACTIONS:
        shown = f" « {action[:40]} »" if isinstance(action, str) and action else ""
        raise ServiceError(
            f"Action inconnue{shown} : choisissez parmi "
            + ", ".join((*BULK_ACTIONS, "download"))
            + ".",
            "action",
            code="bad_action",
            status=400,
        )
    ids = clean_ids(document_ids)
    membership = _membership(user)
    check_permission(membership, ACTION_PERMISSIONS[action])
    binder = _binder(membership, binder_id) if action == "move" else None
    binder_id_ = binder.id if binder is not None else None
    firm_stmt = _documents_stmt(membership)
    found = set(
        db.session.scalars(firm_stmt.with_only_columns(Document.id).where(Document.id.in_(ids)))
    )
    results: list[BulkResult] = []
    for document_id in ids:
        if document_id not in found:
            results.append(BulkResult(document_id, False, NOT_FOUND, None))
            continue
        document = db.session.get(Document, document_id)
        if document is None:  # deleted meanwhile (trash purge)
            results.append(BulkResult(document_id, False, NOT_FOUND, None))
            continue
        if binder_id_ is not None:
            binder = db.session.get(Binder, binder_id_)
        try:
            message = _apply_one(action, document, user.id, binder)
            ok = True
        except ServiceError as exc:
            db.session.rollback()
            message, ok = exc.message, False
        except Exception:
            # One broken document must not stop the others; the log says why.
            db.session.rollback()
            current_app.logger.exception("bulk %s failed for document %s", action, document_id)
            message, ok = "Erreur inattendue : l'action n'a pas été faite.", False
        state = db.session.scalar(select(Document.state).where(Document.id == document_id))
        results.append(
            BulkResult(document_id, ok, message, str(state) if state is not None else None)
        )
    db.session.commit()
    return results


# --- ZIP download --------------------------------------------------------------------------------


def _zip_part(text: str) -> str:
    from core.documents.intake import safe_filename

    return safe_filename(text)


def _unique(name: str, taken: set[str]) -> str:
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or "/" in ext:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
        n += 1


def zip_documents(document_ids: list[int], *, user: Any) -> tuple[Path, str]:
    """A ZIP of the originals of the documents visible to ``user`` among ``document_ids``.

    Returns a temporary file (the caller deletes it once sent) and the download name. Inside,
    each original is ``<dossier code>/<binder name>/<file name>``, a suffix `` (2)`` making
    names unique. Refused: bad ids (400), none visible (404), a total size of originals above
    ``BULK_ZIP_MAX_BYTES`` (413). Trashed documents are left out.
    """
    ids = clean_ids(document_ids)
    membership = _membership(user)
    check_permission(membership, ACTION_PERMISSIONS["download"])
    documents = list(
        db.session.scalars(
            _documents_stmt(membership)
            .where(Document.id.in_(ids), Document.state != DocumentState.TRASHED)
            .options(joinedload(Document.binder).joinedload(Binder.company))
        ).unique()
    )
    if not documents:
        raise ServiceError("Aucun document à télécharger.", "ids", code="not_found", status=404)
    order = {document_id: n for n, document_id in enumerate(ids)}
    documents.sort(key=lambda d: order[d.id])
    limit = int(current_app.config["BULK_ZIP_MAX_BYTES"])
    total = sum(d.size for d in documents)
    if total > limit:
        raise ServiceError(
            f"Téléchargement trop volumineux ({total / 1024 / 1024:.0f} Mo) : la limite est de "
            f"{limit / 1024 / 1024:g} Mo. Sélectionnez moins de documents.",
            "ids",
            code="too_large",
            status=413,
        )
    storage = classeur().storage
    tmp_dir = Path(current_app.config["DATA_DIR"]) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="bulk-", suffix=".zip")
    os.close(fd)
    path = Path(tmp_name)
    taken: set[str] = set()
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for document in documents:
                company = document.binder.company
                name = "/".join(
                    (
                        _zip_part(company.dossier_code or company.name),
                        _zip_part(document.binder.name),
                        _zip_part(document.filename),
                    )
                )
                original = storage.path(document.sha256)
                if not original.exists():
                    current_app.logger.error("original missing for document %s", document.id)
                    continue
                zf.write(original, _unique(name, taken))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return path, f"documents-{stamp}.zip"
