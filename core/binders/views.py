"""Pages "Bannettes": the trays of the user's companies, a binder's documents and its
« Corbeille » (trashed documents), and "déposer des documents"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import func, select

from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents.models import STATE_LABELS, Document, DocumentState
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("binders", __name__, url_prefix="/trays")

PER_PAGE = 50

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
        .where(Document.binder_id.in_(ids))
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


@bp.route("/<int:binder_id>")
@requires("binders.read")
def binder(binder_id: int) -> Any:
    """One binder's documents, newest first, filtered by state (never the trashed ones)."""
    b = scoping.get_binder(binder_id)
    state = request.args.get("state") or None
    if state == DocumentState.TRASHED:
        return redirect(url_for("binders.trash", binder_id=b.id))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(Document).where(
        Document.binder_id == b.id, Document.state != DocumentState.TRASHED
    )
    if state in LISTED_STATES:
        stmt = stmt.where(Document.state == state)
    else:
        state = None
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
        listed_states=LISTED_STATES,
        trashed=_trashed_count(b.id),
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
