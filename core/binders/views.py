"""Pages "Bannettes": the trays of the user's companies, and "déposer des documents"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select

from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents.models import Document, DocumentState
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("binders", __name__, url_prefix="/trays")

PER_PAGE = 50


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
        .where(Document.binder_id.in_(ids))
        .group_by(Document.binder_id, Document.state)
    ):
        counts.setdefault(binder_id, {})[str(state)] = n
    return render_template(
        "binders/trays.html", rows=rows, counts=counts, binder_types=classeur().binder_types
    )


@bp.route("/<int:binder_id>")
@requires("binders.read")
def binder(binder_id: int) -> Any:
    """One binder's documents, newest first, filtered by state."""
    b = scoping.get_binder(binder_id)
    state = request.args.get("state") or None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(Document).where(Document.binder_id == b.id)
    if state in {s.value for s in DocumentState}:
        stmt = stmt.where(Document.state == state)
    total = db.session.scalar(stmt.with_only_columns(func.count(Document.id))) or 0
    documents = db.session.scalars(
        stmt.order_by(Document.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    return render_template(
        "binders/binder.html",
        binder=b,
        documents=documents,
        state=state,
        page=page,
        total=total,
        per_page=PER_PAGE,
        binder_type=classeur().binder_types.get(b.type),
    )


@bp.route("/upload")
@requires("documents.upload")
def upload() -> Any:
    """ "+ ajouter" → "déposer des documents": pick the company and binder, drop files."""
    rows = db.session.execute(
        scoping.binders_stmt().add_columns(Company).order_by(Company.name, Binder.name)
    ).all()
    selected = request.args.get("binder", type=int)
    return render_template(
        "binders/upload.html",
        rows=rows,
        selected=selected,
        max_mb=int(current_app.config["MAX_UPLOAD_BYTES"]) // (1024 * 1024),
    )
