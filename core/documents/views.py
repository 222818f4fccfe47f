"""The document page: preview, text, fields, checks, state, history and exports; the actions
« Déplacer », « Renommer », « Archiver » / « Désarchiver », « Mettre à la corbeille » and
« Restaurer » (also targeted by plugins' pages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents import display, presenters
from core.documents.models import (
    EVENT_LABELS,
    STATE_LABELS,
    Document,
    DocumentEvent,
    DocumentState,
)
from core.documents.services import (
    MAX_FILENAME,
    archive_document,
    archive_refusal,
    document_checks,
    move_document,
    move_refusal,
    rename_document,
    restore_document,
    retry_processing,
    trash_document,
    trash_refusal,
    unarchive_document,
    validate_document,
)
from core.errors import ServiceError
from core.exports.services import retry_export
from core.portal.services import document_requests
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company
from core.web.urls import local_path

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.route("/<int:document_id>")
@requires("documents.read")
def show(document_id: int) -> Any:
    """The document page: the viewer (pages, or the e-invoice's data), the fields for a
    person, checks, exports and history; states followed live (see :func:`live`)."""
    document = scoping.get_document(document_id)
    binder = db.session.get(Binder, document.binder_id)
    company = db.session.get(Company, document.company_id)
    binder_type = classeur().binder_types.get(binder.type) if binder else None
    statuses = presenters.export_statuses(document)
    exporter_labels = {e.name: e.label for e in classeur().exporters.all()}
    rows = display.display_fields(binder_type, document.fields or {}, company_id=company.id)
    labels = {**classeur().plugins.labels(), **EVENT_LABELS}
    titles = {row.key: row.label for row in rows}
    panel = (binder_type.extra.get("document_panel") if binder_type else None) or None
    return render_template(
        "documents/show.html",
        document=document,
        binder=binder,
        company=company,
        binder_type=binder_type,
        checks=document_checks(document) if document.fields else [],
        history=[
            (
                display.format_moment(e.created_at, seconds=True),
                display.event_text(e, labels, exporter_labels, titles),
            )
            for e in presenters.events(document)
        ],
        exports=presenters.export_rows(document, statuses),
        busy=presenters.is_busy(document, statuses),
        rows=rows,
        text_source=display.text_source_label(document.text_source),
        panel=panel(document) if callable(panel) else None,
        move_choices=_move_choices(document),
        move_refusal=move_refusal(document),
        trash_refusal=trash_refusal(document),
        archive_refusal=archive_refusal(document),
        max_filename=MAX_FILENAME,
        purge_on=trash_purge_dates([document]).get(document.id),
        doc_requests=document_requests(document),
    )


@bp.route("/<int:document_id>/live")
@requires("documents.read")
def live(document_id: int) -> Any:
    """What the page follows without reloading: the state badge and the export rows (HTML
    rendered like the page's), and whether something is still under way (``busy``)."""
    document = scoping.get_document(document_id)
    statuses = presenters.export_statuses(document)
    state = str(document.state)
    return jsonify(
        {
            "state": state,
            "state_label": STATE_LABELS.get(document.state, state),
            "busy": presenters.is_busy(document, statuses),
            "exports_html": render_template(
                "documents/_exports.html",
                document=document,
                exports=presenters.export_rows(document, statuses),
            ),
        }
    )


def trash_retention_days() -> int:
    """Days a document stays in the trash before ``classeur trash purge`` deletes it."""
    return int(current_app.config.get("TRASH_RETENTION_DAYS", 30))


def trash_purge_dates(documents: Any) -> dict[int, dt.datetime]:
    """When each trashed document of ``documents`` becomes due for deletion: its latest « mis à
    la corbeille » (else its last change) plus :func:`trash_retention_days`. One query."""
    trashed = {d.id: d for d in documents if d.state == DocumentState.TRASHED}
    if not trashed:
        return {}
    from sqlalchemy import func, select

    latest = dict(
        db.session.execute(
            select(DocumentEvent.document_id, func.max(DocumentEvent.created_at))
            .where(DocumentEvent.document_id.in_(trashed), DocumentEvent.action == "trashed")
            .group_by(DocumentEvent.document_id)
        ).all()
    )
    delay = dt.timedelta(days=trash_retention_days())
    return {
        i: (latest.get(i) or d.updated_at or d.created_at) + delay
        for i, d in trashed.items()
        if (latest.get(i) or d.updated_at or d.created_at) is not None
    }


@bp.app_context_processor
def _trash_globals() -> dict[str, Any]:
    """The trash's delay and purge dates for every page listing trashed documents."""
    return {"trash_retention_days": trash_retention_days, "trash_purge_dates": trash_purge_dates}


def _move_choices(document: Document) -> list[tuple[Company, list[Binder]]]:
    """The binders the document may go to, grouped by company: every binder of the companies
    the user sees, but its own."""
    rows = db.session.execute(
        scoping.binders_stmt()
        .add_columns(Company)
        .where(Binder.id != document.binder_id)
        .order_by(Company.name, Company.id, Binder.name)
    ).all()
    groups: list[tuple[Company, list[Binder]]] = []
    for binder, company in rows:
        if not groups or groups[-1][0].id != company.id:
            groups.append((company, []))
        groups[-1][1].append(binder)
    return groups


def _back(document: Document) -> Any:
    """Redirect to the form's ``next`` when it is a path of this site, else the document."""
    target = request.form.get("next") or request.args.get("next")
    return redirect(local_path(target, url_for("documents.show", document_id=document.id)))


@bp.route("/<int:document_id>/move", methods=["POST"])
@requires("documents.review")
def move(document_id: int) -> Any:
    """ "Déplacer": to the binder ``binder_id`` of the form; back to ``next`` (a local path)."""
    document = scoping.get_document(document_id)
    binder_id = request.form.get("binder_id", type=int)
    binder = (
        db.session.scalar(scoping.binders_stmt().where(Binder.id == binder_id))
        if binder_id is not None
        else None
    )
    if binder is None:
        flash(_("Choisissez le classeur où déplacer le document."), "error")
        return _back(document)
    try:
        move_document(document, binder, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Document déplacé vers « %(company)s — %(binder)s » : il est relu.",
                company=binder.company.name,
                binder=binder.name,
            ),
            "success",
        )
    return _back(document)


def _act(document_id: int, service: Any, done: str) -> Any:
    """Run ``service(document, user_id)`` on a document of the user's firm; flash ``done`` or
    the service's refusal, then back to ``next`` (a local path) or the document."""
    document = scoping.get_document(document_id)
    try:
        service(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return _back(document)


@bp.route("/<int:document_id>/trash", methods=["POST"])
@requires("documents.review")
def trash(document_id: int) -> Any:
    """ "Mettre à la corbeille"; back to ``next`` (a local path) or the document."""
    return _act(document_id, trash_document, _("Document mis à la corbeille."))


@bp.route("/<int:document_id>/restore", methods=["POST"])
@requires("documents.review")
def restore(document_id: int) -> Any:
    """ "Restaurer" a trashed document; back to ``next`` (a local path) or the document."""
    return _act(document_id, restore_document, _("Document restauré."))


@bp.route("/<int:document_id>/rename", methods=["POST"])
@requires("documents.review")
def rename(document_id: int) -> Any:
    """ "Renommer": the form's ``filename``, with the API's rules (the extension kept when the
    new name has none; refused: empty, too long, a path separator, a trashed document)."""
    document = scoping.get_document(document_id)
    old = document.filename
    try:
        rename_document(document, request.form.get("filename", ""), current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        if document.filename == old:
            flash(_("Le document porte déjà ce nom."), "info")
        else:
            flash(_("Document renommé en « %(name)s ».", name=document.filename), "success")
    return _back(document)


@bp.route("/<int:document_id>/archive", methods=["POST"])
@requires("documents.review")
def archive(document_id: int) -> Any:
    """ "Archiver" a validated document: it leaves the trays, stays searchable."""
    return _act(
        document_id,
        archive_document,
        _("Document archivé : il ne figure plus dans les listes du classeur."),
    )


@bp.route("/<int:document_id>/unarchive", methods=["POST"])
@requires("documents.review")
def unarchive(document_id: int) -> Any:
    """ "Désarchiver": the document is back in its binder's lists."""
    return _act(document_id, unarchive_document, _("Document désarchivé."))


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
        flash(_("Lecture relancée."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/validate", methods=["POST"])
@requires("documents.review")
def validate(document_id: int) -> Any:
    """Validate the document ("Valider")."""
    document = scoping.get_document(document_id)
    try:
        validate_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Document validé."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/exports/<connector>/retry", methods=["POST"])
@requires("documents.export")
def retry_export_view(document_id: int, connector: str) -> Any:
    """Resend to a connector ("Renvoyer"). Asked by the page's script (``Accept:
    application/json``), answers ``{"ok", "message"}`` instead of a redirect and a flash."""
    document = scoping.get_document(document_id)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        retry_export(document, connector, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        if wants_json:
            return jsonify({"ok": False, "message": exc.message}), exc.status or 409
        flash(exc.message, "error")
    else:
        db.session.commit()
        label = display.connector_label(
            connector, {e.name: e.label for e in classeur().exporters.all()}
        )
        message = _("Document renvoyé vers %(connector)s.", connector=label)
        if wants_json:
            return jsonify({"ok": True, "message": message})
        flash(message, "success")
    return redirect(url_for("documents.show", document_id=document.id))
