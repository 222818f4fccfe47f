"""Pages "Bannettes": the trays of the user's companies, a binder's documents and its
« Corbeille » (trashed documents), and "déposer des documents"."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from core.auth.permissions import requires
from core.binders import columns as tray
from core.binders.models import Binder
from core.db import db
from core.documents.models import STATE_LABELS, Document, DocumentState
from core.errors import ServiceError
from core.exports.models import EXPORT_LABELS, ExportState, ExportStatus
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company
from core.web.urls import local_path

bp = Blueprint("binders", __name__, url_prefix="/trays")

PER_PAGE = 50

#: The selection bar's actions in a tray (``binders/_bulk.html``).
TRAY_ACTIONS = ("validate", "move", "trash", "resend", "archive", "download")

#: The states listed in binders: a trashed document only shows on the binder's « Corbeille ».
LISTED_STATES: dict[str, str] = {
    state: label for state, label in STATE_LABELS.items() if state != DocumentState.TRASHED
}


@bp.route("")
@requires("binders.read")
def trays() -> Any:
    """Every binder of the visible companies with its documents counted by state."""
    rows = db.session.execute(
        scoping.binders_stmt().add_columns(Company).order_by(Company.name, Binder.name)
    ).all()
    ids = [b.id for b, _ in rows]
    counts: dict[int, dict[str, int]] = {}
    for binder_id, state, n in db.session.execute(
        select(Document.binder_id, Document.state, func.count(Document.id))
        .where(Document.binder_id.in_(ids), Document.archived_at.is_(None))
        .group_by(Document.binder_id, Document.state)
    ):
        counts.setdefault(binder_id, {})[str(state)] = n
    return render_template(
        "binders/trays.html",
        rows=rows,
        counts=counts,
        binder_types=classeur().binder_types,
        listed_states=LISTED_STATES,
    )


def to_review_stmt() -> Any:
    """The documents waiting for review that the current user sees (never trashed: a
    trashed document has left the "to_review" state)."""
    return scoping.documents_stmt().where(Document.state == DocumentState.TO_REVIEW)


@bp.app_context_processor
def _to_review_menu() -> dict[str, Any]:
    def menu_to_review_count() -> int:
        """The count beside « À valider » in the menu: one COUNT per request, cached."""
        if "_to_review_count" not in g:
            g._to_review_count = (
                db.session.scalar(to_review_stmt().with_only_columns(func.count(Document.id))) or 0
            )
        return int(g._to_review_count)

    return {"menu_to_review_count": menu_to_review_count}


@bp.route("/to-review")
@requires("documents.review")
def to_review() -> Any:
    """ "À valider": the documents waiting for review in every company of the firm (or one,
    ``?company=``), oldest first, each opening its binder type's review page."""
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    company_id = request.args.get("company", type=int)
    if company_id is not None and company_id not in {c.id for c in companies}:
        company_id = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = to_review_stmt()
    by_company = dict(
        db.session.execute(
            stmt.with_only_columns(Document.company_id, func.count(Document.id)).group_by(
                Document.company_id
            )
        ).all()
    )
    if company_id is not None:
        stmt = stmt.where(Document.company_id == company_id)
    total = db.session.scalar(stmt.with_only_columns(func.count(Document.id))) or 0
    ids = db.session.scalars(
        stmt.with_only_columns(Document.id)
        .order_by(Document.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    from core.search.results import build_rows

    rows = build_rows((i, {}) for i in ids)
    registry = classeur().binder_types
    # The review walks this list (every company, or the one chosen), not one binder.
    queue = f"company:{company_id}" if company_id is not None else "firm"

    def review_url(row: Any) -> str:
        declared = registry.get(row.binder_type)
        if declared is not None and declared.review_endpoint:
            return url_for(declared.review_endpoint, document_id=row.document.id, queue=queue)
        return url_for("documents.show", document_id=row.document.id)

    # One binder type on the page: its names for the generic fields (« Fournisseur »...).
    types = {row.binder_type for row in rows}
    labels = rows[0].labels if len(types) == 1 else {}
    return render_template(
        "binders/to_review.html",
        rows=rows,
        labels=labels,
        companies=[c for c in companies if by_company.get(c.id)],
        by_company=by_company,
        company_id=company_id,
        review_url=review_url,
        bulk_actions=("validate", "move", "trash", "download"),
        page=page,
        total=total,
        per_page=PER_PAGE,
        move_targets=_move_targets(),
    )


@bp.route("/to-review/<int:document_id>/open")
@requires("documents.review")
def open_review(document_id: int) -> Any:
    """The review page of a document of a review queue (``?queue=firm|company:<id>``, kept):
    each binder type has its own review page, a queue of the firm mixes them."""
    document = scoping.get_document(document_id)
    binder = db.session.get(Binder, document.binder_id)
    declared = classeur().binder_types.get(binder.type) if binder is not None else None
    queue = request.args.get("queue") or None
    if declared is not None and declared.review_endpoint:
        return redirect(url_for(declared.review_endpoint, document_id=document.id, queue=queue))
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:binder_id>")
@requires("binders.read")
def binder(binder_id: int) -> Any:
    """One binder's documents (never the trashed ones) in the columns of its binder type,
    sorted by a column (``?sort=<key>&dir=asc|desc``, newest first by default), filtered by
    state or by an export in error (``?export=error``), 50 a page."""
    b = scoping.get_binder(binder_id)
    state = request.args.get("state") or None
    if state == DocumentState.TRASHED:
        return redirect(url_for("binders.trash", binder_id=b.id))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    binder_type = classeur().binder_types.get(b.type)
    columns = tray.columns_for(binder_type)
    sort = request.args.get("sort") or None
    if sort not in {c.key for c in columns if c.sortable}:
        sort = None
    direction = "asc" if request.args.get("dir") == "asc" else "desc"
    export_error = request.args.get("export") == "error"
    archived = request.args.get("archived") == "1"
    listed = select(Document).where(
        Document.binder_id == b.id, Document.state != DocumentState.TRASHED
    )
    # An archived document leaves the tray: only the « Archivés » filter lists it.
    stmt = listed.where(
        Document.archived_at.is_not(None) if archived else Document.archived_at.is_(None)
    )
    if state in LISTED_STATES:
        stmt = stmt.where(Document.state == state)
    else:
        state = None
    if export_error:
        stmt = stmt.where(Document.id.in_(_export_error_ids(b)))
    total = db.session.scalar(stmt.with_only_columns(func.count(Document.id))) or 0
    documents = db.session.scalars(
        tray.apply_sort(stmt.options(defer(Document.text)), columns, sort, direction)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    params = {
        "state": state,
        "export": "error" if export_error else None,
        "archived": "1" if archived else None,
        "sort": sort,
        "dir": direction if sort else None,
    }

    def tray_url(**changes: Any) -> str:
        return url_for("binders.binder", binder_id=b.id, **{**params, **changes})

    def sort_url(column: tray.Column) -> str:
        # A first click sorts ascending (dates: newest first), a second one reverses.
        first = "desc" if column.kind in ("date", "created") else "asc"
        if sort == column.key:
            reverse = "asc" if direction == "desc" else "desc"
            return tray_url(sort=column.key, dir=reverse, page=None)
        return tray_url(sort=column.key, dir=first, page=None)

    return render_template(
        "binders/binder.html",
        binder=b,
        columns=columns,
        # From the second date column on (« Échéance »): shown from 1500 px wide only.
        wide_only={c.key for c in [c for c in columns if c.kind == "date"][1:]},
        rows=tray.rows(list(documents), columns),
        state=state,
        export_error=export_error,
        export_errors=_export_error_count(b),
        archived=archived,
        archived_count=db.session.scalar(
            listed.where(Document.archived_at.is_not(None)).with_only_columns(
                func.count(Document.id)
            )
        )
        or 0,
        bulk_actions=("unarchive", "download") if archived else TRAY_ACTIONS,
        sort=sort,
        direction=direction,
        tray_url=tray_url,
        sort_url=sort_url,
        page=page,
        total=total,
        per_page=PER_PAGE,
        binder_type=binder_type,
        listed_states=LISTED_STATES,
        trashed=_trashed_count(b.id),
        move_targets=_move_targets(),
    )


def _export_error_ids(b: Binder) -> Any:
    return select(ExportStatus.document_id).where(
        ExportStatus.firm_id == scoping.current_firm_id(), ExportStatus.state == ExportState.ERROR
    )


def _export_error_count(b: Binder) -> int:
    return (
        db.session.scalar(
            select(func.count(Document.id)).where(
                Document.binder_id == b.id,
                Document.state != DocumentState.TRASHED,
                Document.archived_at.is_(None),
                Document.id.in_(_export_error_ids(b)),
            )
        )
        or 0
    )


def _move_targets() -> list[tuple[Binder, Company]]:
    """The binders a selection may be moved to: every binder of the visible companies."""
    return list(
        db.session.execute(
            scoping.binders_stmt().add_columns(Company).order_by(Company.name, Binder.name)
        ).all()
    )


def _trashed_count(binder_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Document.id)).where(
                Document.binder_id == binder_id, Document.state == DocumentState.TRASHED
            )
        )
        or 0
    )


@bp.route("/<int:binder_id>/trash")
@requires("binders.read")
def trash(binder_id: int) -> Any:
    """ "Corbeille": the binder's trashed documents, most recently trashed first, to restore."""
    b = scoping.get_binder(binder_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(Document).where(
        Document.binder_id == b.id, Document.state == DocumentState.TRASHED
    )
    total = db.session.scalar(stmt.with_only_columns(func.count(Document.id))) or 0
    documents = db.session.scalars(
        stmt.order_by(Document.updated_at.desc(), Document.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return render_template(
        "binders/trash.html",
        binder=b,
        bulk_actions=("restore",),
        move_targets=[],
        documents=documents,
        page=page,
        total=total,
        per_page=PER_PAGE,
        listed_states=LISTED_STATES,
    )


@bp.route("/upload")
@requires("documents.upload")
def upload() -> Any:
    """ "+ ajouter" → "déposer des documents": pick the company and binder, drop files.

    The binder comes from ``?binder=`` (every "déposer" link passes the binder the user came
    from, remembered in the session for the dashboard's link); with no hint and several
    binders, none is preselected: the user must choose, never a misfiling default.
    """
    from flask import session

    from core.web.views import UPLOAD_BINDER_KEY

    rows = db.session.execute(
        scoping.binders_stmt().add_columns(Company).order_by(Company.name, Binder.name)
    ).all()
    wanted = request.args.get("binder", type=int)
    selected = wanted if wanted in {b.id for b, _c in rows} else None
    if selected is None and len(rows) == 1:
        selected = rows[0][0].id
    if selected is not None:
        session[UPLOAD_BINDER_KEY] = selected
    return render_template(
        "binders/upload.html",
        rows=rows,
        selected=selected,
        max_mb=int(current_app.config["MAX_UPLOAD_BYTES"]) // (1024 * 1024),
    )


# -- bulk actions on a selection (trays, "À valider", search results) -------------------------

#: The actions the selection bar offers, with the French verb of its summary.
BULK_LABELS: dict[str, str] = {
    "validate": "Valider",
    "move": "Déplacer",
    "trash": "Mettre à la corbeille",
    "restore": "Restaurer",
    "resend": "Renvoyer",
    "archive": "Archiver",
    "unarchive": "Désarchiver",
    "download": "Télécharger",
}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _index_visible() -> None:
    """Wait (a few seconds at most) for the index to show what the action changed: the page
    reads its results again right after (search results filtered on a company, a state...)."""
    from core.search.services import flush

    try:
        flush(5)
    except Exception:  # noqa: BLE001 - a slow index only delays the refreshed results
        current_app.logger.warning("search index not flushed after a bulk action")


@bp.route("/bulk", methods=["POST"])
@requires("documents.read")
def bulk() -> Any:
    """The selection bar's form: ``action`` on the checked ``ids`` (``binder_id`` for a move).

    Answers JSON (the page's script, 20 ids at a time: ``{"results": [{"id", "name", "ok",
    "message", "state", "state_label"}]}``) or, without script, a summary flashed on the page
    of ``next``; "download" answers a ZIP of the originals.
    """
    from core.documents.bulk import apply_bulk, zip_documents

    back = local_path(request.form.get("next"), url_for("binders.trays"))
    action = request.form.get("action") or ""
    raw_ids = request.form.getlist("ids")
    try:
        ids = [int(i) for i in raw_ids]
    except ValueError:
        ids = []
    binder_id = request.form.get("binder_id", type=int)
    try:
        if action not in BULK_LABELS:
            raise ServiceError("Action inconnue.", "action", code="bad_action", status=400)
        if not ids:
            raise ServiceError(_("Cochez au moins un document."), "ids", code="no_ids", status=400)
        if action == "download":
            path, name = zip_documents(ids, user=current_user)
            try:
                data = path.read_bytes()
            finally:
                path.unlink(missing_ok=True)
            return send_file(
                io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name
            )
        results = apply_bulk(action, ids, user=current_user, binder_id=binder_id)
        if action != "resend":
            _index_visible()
    except ServiceError as exc:
        db.session.rollback()
        if _wants_json():
            return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.status
        flash(exc.message, "error")
        return redirect(back)
    names = dict(
        db.session.execute(
            scoping.documents_stmt()
            .with_only_columns(Document.id, Document.filename)
            .where(Document.id.in_(ids))
        ).all()
    )
    if _wants_json():
        return jsonify(
            {
                "results": [
                    {
                        **r.as_json(),
                        "name": names.get(r.document_id) or _("Document n° %(n)s", n=r.document_id),
                        "state_label": STATE_LABELS.get(r.state or "", ""),
                    }
                    for r in results
                ]
            }
        )
    done = sum(1 for r in results if r.ok)
    if action == "resend":
        # Only queued: the send may still fail, the tray's « En erreur d'export » will say.
        summary = _(
            "Renvoi demandé pour %(done)s document(s) sur %(n)s : l'envoi est en cours, "
            "« En erreur d'export » montre ceux qui échouent encore.",
            done=done,
            n=len(results),
        )
    else:
        summary = _(
            "%(action)s : %(done)s document(s) sur %(n)s.",
            action=BULK_LABELS[action],
            done=done,
            n=len(results),
        )
    flash(summary, "success" if done == len(results) else "error")
    for r in results:
        if not r.ok:
            flash(f"{names.get(r.document_id) or r.document_id} : {r.message}", "error")
    return redirect(back)


#: Ids whose exports one poll of the selection bar reads at most.
MAX_POLL_IDS = 100


@bp.route("/bulk/exports")
@requires("documents.read")
def bulk_exports() -> Any:
    """Where the exports of these documents (``?ids=1&ids=2``) stand, for the selection bar
    following a « Renvoyer » (the sends are only queued): ``{"documents": [{"id", "busy",
    "ok", "message"}]}``, ``busy`` while a send waits or runs, ``ok`` once every connector
    took it; ids out of scope are left out."""
    try:
        ids = [int(i) for i in request.args.getlist("ids")][:MAX_POLL_IDS]
    except ValueError:
        return jsonify({"error": {"code": "bad_ids", "message": _("Identifiants invalides.")}}), 400
    visible = db.session.scalars(
        scoping.documents_stmt().with_only_columns(Document.id).where(Document.id.in_(ids))
    ).all()
    statuses = tray.export_states(list(visible))
    out = []
    for document_id in visible:
        rows = statuses.get(document_id, [])
        busy = any(st.state in (ExportState.PENDING, ExportState.SENDING) for st in rows)
        parts = []
        for st in rows:
            label = tray.connector_label(st.connector)
            text = f"{EXPORT_LABELS.get(str(st.state), str(st.state))} ({label})"
            if st.state == ExportState.ERROR and st.message:
                text += f" : {st.message}"
            parts.append(text)
        out.append(
            {
                "id": document_id,
                "busy": busy,
                # Sent: every connector took it (not skipped, not in error).
                "ok": bool(rows) and all(st.state == ExportState.EXPORTED for st in rows),
                "message": " · ".join(parts),
            }
        )
    return jsonify({"documents": out})
