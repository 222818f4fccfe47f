"""``GET /api/v1/companies/{company_id}/fec?start=&end=``: the purchase journal as a FEC
(blueprint ``api_fec_export``, in the OpenAPI documentation)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.plugin_api import ServiceError, batch_file, db, export_period, fail, requires, scoping
from plugins.fec_export.exporter import NAME, audit_export, batch_notes

bp = Blueprint(
    "api_fec_export",
    __name__,
    url_prefix="/api/v1",
    description="Journal d'achats au format FEC",
)

#: Codes of a bad period: answered 400.
BAD_PERIOD = {"missing_date", "invalid_date", "end_before_start", "period_too_long"}


class PeriodQuery(Schema):
    start = fields.String(
        metadata={"description": "Premier jour de la période, AAAA-MM-JJ (inclus)"}
    )
    end = fields.String(metadata={"description": "Dernier jour de la période, AAAA-MM-JJ (inclus)"})


@bp.route("/companies/<int:company_id>/fec")
@requires("documents.export")
@bp.arguments(PeriodQuery, location="query")
@bp.doc(
    security=[{"bearerAuth": []}],
    responses={
        "200": {
            "description": (
                "Le FEC (texte, 18 colonnes séparées par des tabulations, ligne d'en-tête) ; "
                "Content-Disposition donne son nom <SIREN>FEC<AAAAMMJJ>.txt. X-Export-Version : "
                "la version de l'export de cette période (une nouvelle version seulement si "
                "des factures ont changé)."
            ),
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        "400": {"description": "Dates invalides (message en français)"},
        "404": {"description": "Entreprise introuvable"},
        "409": {"description": "Export FEC désactivé pour cette entreprise"},
        "422": {"description": "Aucune facture validée exportable sur la période"},
    },
)
def company_fec(query: dict[str, Any], company_id: int) -> Any:
    """The company's purchase journal over ``[start, end]`` in the FEC format.

    Records the export like the tab "Journal d'achats" does (the same version while nothing
    changed), in the firm's audit log too; each invoice in it shows « Exporté ».
    ``X-Export-Warnings``: the number of invoices whose self-assessed VAT (intra-EU, extra-EU,
    reverse charge) could not be computed — to enter by hand (listed on the tab).
    """
    company = scoping.get_company(company_id)
    try:
        done = export_period(company, NAME, query.get("start"), query.get("end"), current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.code in BAD_PERIOD:
            exc.status = 400
        fail(exc)
        raise
    batch = done.batch
    audit_export(company, done, "api", current_user.id)
    db.session.commit()
    path, filename, media_type = batch_file(batch)
    response = Response(path.read_bytes(), mimetype=None, content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Export-Version"] = str(batch.version)
    response.headers["X-Export-Documents"] = str(batch.document_count)
    if done.rejected:
        response.headers["X-Export-Rejected"] = str(len(done.rejected))
    notes = batch_notes(batch)
    if notes:
        # Invoices in the file whose self-assessed VAT could not be computed (to enter by hand).
        response.headers["X-Export-Warnings"] = str(len(notes))
    return response
