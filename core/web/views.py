"""The dashboard ("Tableau de bord") and the administration page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, send_from_directory, session
from flask_login import current_user
from sqlalchemy import func, select

from core.auth.permissions import public, requires
from core.binders.models import Binder
from core.db import db
from core.documents.models import Document
from core.exports.models import ExportState, ExportStatus
from core.search.services import searchable_fields
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("web", __name__)

#: The session's last binder chosen for "déposer des documents" (set by the upload page).
UPLOAD_BINDER_KEY = "upload_binder"


def last_upload_binder() -> int | None:
    """The binder the upload page was last opened on in this session, else the one the user
    last dropped files into; only if still visible, else None."""
    visible = scoping.binders_stmt().with_only_columns(Binder.id)
    remembered = session.get(UPLOAD_BINDER_KEY)
    if isinstance(remembered, int) and db.session.scalar(visible.where(Binder.id == remembered)):
        return remembered
    return db.session.scalar(
        select(Document.binder_id)
        .where(Document.uploaded_by_id == current_user.id, Document.binder_id.in_(visible))
        .order_by(Document.id.desc())
        .limit(1)
    )


@bp.route("/")
@requires("dashboard.view")
def dashboard() -> Any:
    """ "Tableau de bord": documents by state, export errors, exports with warnings. A client
    (uploader) lands on its portal instead."""
    from flask import redirect, url_for

    from core.tenancy.models import Role

    if scoping.current_membership().role == Role.UPLOADER and "portal.home" in (
        current_app.view_functions
    ):
        return redirect(url_for("portal.home"))
    stmt = scoping.documents_stmt().with_only_columns(Document.state, func.count(Document.id))
    counts = dict(db.session.execute(stmt.group_by(Document.state)).all())
    visible = scoping.documents_stmt().with_only_columns(Document.id)
    by_connector: dict[str, dict[str, int]] = {}
    for connector, state, n in db.session.execute(
        select(ExportStatus.connector, ExportStatus.state, func.count(ExportStatus.id))
        .where(ExportStatus.document_id.in_(visible))
        .group_by(ExportStatus.connector, ExportStatus.state)
    ):
        by_connector.setdefault(connector, {})[str(state)] = n
    errors = db.session.execute(
        select(ExportStatus, Document, Company)
        .join(Document, Document.id == ExportStatus.document_id)
        .join(Company, Company.id == Document.company_id)
        .where(ExportStatus.state == ExportState.ERROR, ExportStatus.document_id.in_(visible))
        .order_by(ExportStatus.updated_at.desc())
        .limit(100)
    ).all()
    warnings = db.session.execute(
        select(ExportStatus, Document, Company)
        .join(Document, Document.id == ExportStatus.document_id)
        .join(Company, Company.id == Document.company_id)
        .where(
            ExportStatus.state == ExportState.EXPORTED,
            ExportStatus.warning.is_(True),
            ExportStatus.document_id.in_(visible),
        )
        .order_by(ExportStatus.exported_at.desc(), ExportStatus.id.desc())
        .limit(100)
    ).all()
    # A document is named by the reference its binder type makes searchable (an invoice's
    # number...), else by its file name.
    generic = searchable_fields([document for _s, document, _c in [*errors, *warnings]])
    return render_template(
        "web/dashboard.html",
        references={doc_id: g.reference for doc_id, (_t, g) in generic.items() if g.reference},
        counts=counts,
        by_connector=by_connector,
        errors=errors,
        warnings=warnings,
        exporters={e.name: e for e in classeur().exporters.all()},
        upload_binder=last_upload_binder(),
    )


@bp.route("/admin")
@requires("admin.view")
def admin() -> Any:
    """ "Administration": installed plugins, binder types and connectors."""
    state = classeur()
    return render_template(
        "web/admin.html",
        plugins=state.plugins.all(),
        binder_types=state.binder_types.all(),
        binder_type_labels=dict(state.binder_types.choices()),
        exporters=state.exporters.all(),
    )


@bp.route("/favicon.ico")
@public
def favicon() -> Any:
    """The icon browsers ask for on their own: the SVG binder of the static files."""
    return send_from_directory(
        current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@bp.route("/healthz")
@public
def healthz() -> Any:
    """Liveness probe: answers without touching the database."""
    return {"status": "ok"}
