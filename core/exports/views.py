""" "Administration" → "Connecteurs": switch each connector on or off, per firm and company."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.auth.audit import audit
from core.auth.permissions import requires
from core.db import db
from core.documents.models import Document
from core.errors import ServiceError
from core.exports.models import ConnectorSetting, ExportState, ExportStatus
from core.exports.services import release_skipped, set_aside, set_connector_enabled
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("exports", __name__, url_prefix="/admin/connectors")


@bp.route("")
@requires("connectors.manage")
def connectors() -> Any:
    """Every installed connector, its firm switch, each company's switch, what waits."""
    firm_id = scoping.current_firm_id()
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    settings = db.session.scalars(
        select(ConnectorSetting).where(ConnectorSetting.firm_id == firm_id)
    ).all()
    firm_switch = {s.connector: s.enabled for s in settings if s.company_id is None}
    company_switch = {(s.connector, s.company_id): s.enabled for s in settings if s.company_id}
    waiting = dict(
        db.session.execute(
            select(ExportStatus.connector, func.count(ExportStatus.id))
            .where(ExportStatus.firm_id == firm_id, ExportStatus.state == ExportState.SKIPPED)
            .group_by(ExportStatus.connector)
        ).all()
    )
    waiting_docs: dict[str, list[Any]] = {}
    for connector, document_id, filename, company_name in db.session.execute(
        select(ExportStatus.connector, Document.id, Document.filename, Company.name)
        .join(Document, Document.id == ExportStatus.document_id)
        .join(Company, Company.id == Document.company_id)
        .where(ExportStatus.firm_id == firm_id, ExportStatus.state == ExportState.SKIPPED)
        .order_by(ExportStatus.id)
        .limit(200)
    ):
        waiting_docs.setdefault(connector, []).append((document_id, filename, company_name))
    return render_template(
        "exports/connectors.html",
        exporters=classeur().exporters.all(),
        binder_type_labels=dict(classeur().binder_types.choices()),
        # The module (plugin) of each connector: its switch on « Modules » is the same one when
        # they share their name, an extra condition otherwise.
        modules={
            e.name: classeur().plugins.get(classeur().plugins.plugin_of_exporter(e.name))
            for e in classeur().exporters.all()
        },
        companies=companies,
        firm_switch=firm_switch,
        company_switch=company_switch,
        waiting=waiting,
        waiting_docs=waiting_docs,
    )


@bp.route("/<connector>", methods=["POST"])
@requires("connectors.manage")
def switch(connector: str) -> Any:
    """Switch a connector for the firm (``company`` empty) or one company.

    ``enabled`` is ``on``, ``off`` or, for a company, ``inherit`` (follow the firm).
    """
    firm_id = scoping.current_firm_id()
    company_id = request.form.get("company", type=int)
    company = scoping.get_company(company_id) if company_id is not None else None
    value = request.form.get("enabled", "")
    if value not in {"on", "off", "inherit"} or (value == "inherit" and company_id is None):
        abort(400)
    enabled = None if value == "inherit" else value == "on"
    try:
        set_connector_enabled(firm_id, connector, enabled, company_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("exports.connectors"))
    audit(
        "connector_switch", target=f"{connector}:{company_id or 'firm'}", details={"enabled": value}
    )
    set_aside(firm_id, connector, company_id)
    to_run = release_skipped(firm_id, connector) if enabled else []
    db.session.commit()
    exporter = classeur().exporters.get(connector)
    flash(_switch_message(exporter.label if exporter else connector, value, company), "success")
    if to_run:
        flash(_("%(n)s document(s) en attente envoyé(s).", n=len(to_run)), "success")
    return redirect(url_for("exports.connectors"))


def _switch_message(label: str, value: str, company: Company | None) -> str:
    """ "Connecteur « MEG (RCA) » activé pour Boulangerie Martin." — names, no codes."""
    if value == "inherit":
        return _(
            "Connecteur « %(c)s » : %(company)s suit désormais le choix du cabinet.",
            c=label,
            company=company.name if company else "",
        )
    where = company.name if company else _("le cabinet")
    if value == "on":
        return _("Connecteur « %(c)s » activé pour %(where)s.", c=label, where=where)
    return _("Connecteur « %(c)s » désactivé pour %(where)s.", c=label, where=where)
