"""The document page: preview, text, fields, checks, state, history and exports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents import presenters
from core.documents.services import (
    document_checks,
    retry_processing,
    submit_processing,
    validate_document,
)
from core.errors import ServiceError
from core.exports.services import retry_export, submit_exports
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.route("/<int:document_id>")
@requires("documents.read")
def show(document_id: int) -> Any:
    """The document page."""
    document = scoping.get_document(document_id)
    binder = db.session.get(Binder, document.binder_id)
    company = db.session.get(Company, document.company_id)
    binder_type = classeur().binder_types.get(binder.type) if binder else None
    return render_template(
        "documents/show.html",
        document=document,
        binder=binder,
        company=company,
        binder_type=binder_type,
        checks=document_checks(document) if document.fields else [],
        events=presenters.events(document),
        exports=presenters.export_statuses(document),
        exporters={e.name: e for e in classeur().exporters.all()},
        field_labels=(binder_type.extra.get("field_labels", {}) if binder_type else {}),
    )


@bp.route("/<int:document_id>/retry", methods=["POST"])
@requires("documents.upload")
def retry(document_id: int) -> Any:
    """Read a failed document again ("Relancer la lecture")."""
    document = scoping.get_document(document_id)
    try:
        retry_processing(document, current_user.id)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        submit_processing([document.id])
        flash(_("Lecture relancée."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/validate", methods=["POST"])
@requires("documents.review")
def validate(document_id: int) -> Any:
    """Validate the document ("Valider")."""
    document = scoping.get_document(document_id)
    try:
        to_run = validate_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        submit_exports(to_run)
        from core.documents.api import _reindex

        _reindex(document.id)
        flash(_("Document validé."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/exports/<connector>/retry", methods=["POST"])
@requires("documents.export")
def retry_export_view(document_id: int, connector: str) -> Any:
    """Resend to a connector ("Renvoyer")."""
    document = scoping.get_document(document_id)
    try:
        status = retry_export(document, connector, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        submit_exports([status.id])
        flash(_("Document renvoyé."), "success")
    return redirect(url_for("documents.show", document_id=document.id))
