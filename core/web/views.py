"""The dashboard ("Tableau de bord") and the administration page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func

from core.auth.permissions import public, requires
from core.db import db
from core.documents.models import Document
from core.state import classeur
from core.tenancy import scoping

bp = Blueprint("web", __name__)


@bp.route("/")
@requires("dashboard.view")
def dashboard() -> Any:
    """"Tableau de bord": documents by state."""
    stmt = scoping.documents_stmt().with_only_columns(Document.state, func.count(Document.id))
    counts = dict(db.session.execute(stmt.group_by(Document.state)).all())
    return render_template("web/dashboard.html", counts=counts)


@bp.route("/admin")
@requires("admin.view")
def admin() -> Any:
    """"Administration": installed plugins, binder types and connectors."""
    state = classeur()
    return render_template(
        "web/admin.html",
        plugins=state.hooks.plugin_names(),
        binder_types=state.binder_types.all(),
        exporters=state.exporters.all(),
    )


@bp.route("/healthz")
@public
def healthz() -> Any:
    """Liveness probe: answers without touching the database."""
    return {"status": "ok"}


