"""The tab "Journal d'achats" of a company's "Comptabilité" page (blueprint ``fec_export``):
export a period, the journal's settings, the versions exported and their files."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.plugin_api import (
    Document,
    ExportStatus,
    ServiceError,
    audit,
    batch_file,
    classeur,
    db,
    export_period,
    get_batch,
    period_batches,
    period_label,
    plugin_enabled,
    requires,
    scoping,
    update_company_settings,
)
from plugins.fec_export.exporter import (
    NAME,
    NOTES_FORMAT,
    SETTINGS_SECTION,
    audit_export,
    batch_notes,
    clean_settings,
    journal_settings,
)

bp = Blueprint("fec_export", __name__, template_folder="templates")

#: Download formats: the FEC (the batch's file) and the CSV journal stored with it.
FORMATS = {"fec": None, "csv": "csv", NOTES_FORMAT: NOTES_FORMAT}


def _default_period() -> tuple[date, date]:
    """The previous month."""
    first = date.today().replace(day=1)
    end = first - timedelta(days=1)
    return end.replace(day=1), end


def _errors(company_id: int) -> list[tuple[ExportStatus, Document]]:
    return list(
        db.session.execute(
            select(ExportStatus, Document)
            .join(Document, Document.id == ExportStatus.document_id)
            .where(
                Document.company_id == company_id,
                ExportStatus.connector == NAME,
                ExportStatus.state == "error",
            )
            .order_by(ExportStatus.updated_at.desc())
            .limit(50)
        ).all()
    )


def _exported_count(company_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(ExportStatus.id))
            .join(Document, Document.id == ExportStatus.document_id)
            .where(
                Document.company_id == company_id,
                ExportStatus.connector == NAME,
                ExportStatus.state == "exported",
            )
        )
        or 0
    )


def _render(company: Any, *, start: str, end: str, error: str | None = None, status: int = 200):
    batches = period_batches(company, NAME)
    return (
        render_template(
            "fec_export/company_tab.html",
            company=company,
            tabs=classeur().company_tabs,
            active_tab="fec_export",
            connector_on=plugin_enabled(company.firm_id, company.id, NAME),
            batches=batches,
            notes={b.id: batch_notes(b) for b in batches[:20]},
            settings=journal_settings(company),
            start=start,
            end=end,
            error=error,
            errors=_errors(company.id),
            exported=_exported_count(company.id),
            period_label=period_label,
        ),
        status,
    )


@bp.route("/companies/<int:company_id>/fec-export")
@requires("documents.export")
def company_tab(company_id: int) -> Any:
    """Tab "Journal d'achats": the export form, the settings, the versions exported."""
    company = scoping.get_company(company_id)
    start, end = _default_period()
    return _render(
        company,
        start=request.args.get("start") or start.isoformat(),
        end=request.args.get("end") or end.isoformat(),
    )


@bp.route("/companies/<int:company_id>/fec-export", methods=["POST"])
@requires("documents.export")
def export(company_id: int) -> Any:
    """ "Exporter le journal d'achats": the FEC and the CSV of the period (a new version only
    when something changed)."""
    company = scoping.get_company(company_id)
    start = request.form.get("start", "").strip()
    end = request.form.get("end", "").strip()
    try:
        done = export_period(company, NAME, start, end, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        return _render(company, start=start, end=end, error=exc.message, status=exc.status)
    batch = done.batch
    audit_export(company, done, "page", current_user.id)
    db.session.commit()
    where = period_label(batch.period_start, batch.period_end)
    if done.created:
        flash(
            _(
                "Journal d'achats exporté %(period)s : version %(v)s, %(n)s facture(s).",
                period=where,
                v=batch.version,
                n=batch.document_count,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Rien n'a changé %(period)s depuis la version %(v)s : elle reste à jour.",
                period=where,
                v=batch.version,
            ),
            "success",
        )
    notes = batch_notes(batch)
    if notes:
        flash(
            _(
                "%(n)s facture(s) intracommunautaire(s), hors UE ou en autoliquidation sans taux "
                "de TVA : TVA autoliquidée non passée, à saisir (liste ci-dessous).",
                n=len(notes),
            ),
            "error",
        )
    if done.rejected:
        flash(
            _(
                "%(n)s facture(s) laissée(s) hors du journal : corrigez-les (liste ci-dessous) "
                "puis exportez à nouveau la période.",
                n=len(done.rejected),
            ),
            "error",
        )
    return redirect(
        url_for(
            "fec_export.company_tab",
            company_id=company.id,
            start=batch.period_start.isoformat(),
            end=batch.period_end.isoformat(),
        )
    )


@bp.route("/companies/<int:company_id>/fec-export/settings", methods=["POST"])
@requires("accounting.write")
def save_settings(company_id: int) -> Any:
    """The journal's code and label, the suppliers' account and the FEC's encoding."""
    company = scoping.get_company(company_id)
    try:
        values = clean_settings(request.form.to_dict())
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("fec_export.company_tab", company_id=company.id))
    current = dict((company.settings or {}).get(SETTINGS_SECTION) or {})
    update_company_settings(company, SETTINGS_SECTION, current | values)
    audit("fec_export_settings", target=f"company:{company.id}", details=values)
    db.session.commit()
    flash(_("Paramètres du journal d'achats enregistrés."), "success")
    return redirect(url_for("fec_export.company_tab", company_id=company.id))


@bp.route("/companies/<int:company_id>/fec-export/<int:batch_id>/<fmt>")
@requires("documents.export")
def download(company_id: int, batch_id: int, fmt: str) -> Any:
    """A version's FEC (``fec``) or CSV journal (``csv``), as stored when it was made."""
    company = scoping.get_company(company_id)
    if fmt not in FORMATS:
        abort(404)
    try:
        batch = get_batch(company, batch_id)
        path, filename, media_type = batch_file(batch, FORMATS[fmt])
    except ServiceError:
        abort(404)
    if batch.exporter != NAME or not path.exists():
        abort(404)
    response = send_file(
        path, mimetype=media_type.split(";")[0].strip(), as_attachment=True, download_name=filename
    )
    # The stored media type carries its charset already: set as it is (Flask would add
    # "; charset=utf-8" to a text/* mimetype a second time).
    response.headers["Content-Type"] = media_type
    return response
