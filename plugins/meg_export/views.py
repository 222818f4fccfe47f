"""The "MEG" tab of a company's "Comptabilité" page, and the OAuth link pages (blueprint
``meg_export``)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.plugin_api import (
    Document,
    ExportStatus,
    SecretError,
    ServiceError,
    classeur,
    db,
    decrypt_json,
    encrypt_json,
    plugin_enabled,
    requires,
    scoping,
)
from plugins.meg_export import link
from plugins.meg_export.client import MegApiError

bp = Blueprint("meg_export", __name__, template_folder="templates")

SESSION_KEY = "meg_link"


def _redirect_uri() -> str:
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public + url_for("meg_export.callback")
    return url_for("meg_export.callback", _external=True)


def _meg_origin() -> str:
    parts = urlsplit(current_app.config["MEG_BASE_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def _moment(value: Any) -> str | None:
    """An ISO date-time (ours or MEG's, naive = UTC) in French local time, "15/10/2026 14:03";
    an unreadable value as it is."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return format_datetime(moment, "dd/MM/yyyy HH:mm")


def _company_statuses(company_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(ExportStatus.state, func.count(ExportStatus.id))
        .join(Document, Document.id == ExportStatus.document_id)
        .where(Document.company_id == company_id, ExportStatus.connector == link.NAME)
        .group_by(ExportStatus.state)
    ).all()
    return {str(state): count for state, count in rows}


@bp.route("/companies/<int:company_id>/meg")
@requires("accounting.read")
def company_tab(company_id: int) -> Any:
    """Tab "MEG": the link state, the last purchase import seen by MEG, link / unlink."""
    company = scoping.get_company(company_id)
    state = link.link_state(company)
    supervision = link.last_import(company) if state else None
    response = make_response(
        render_template(
            "meg_export/company_tab.html",
            company=company,
            tabs=classeur().company_tabs,
            active_tab="meg",
            link=state,
            # "Liée" only when the link exists and the connector sends for this company.
            connector_on=plugin_enabled(company.firm_id, company.id, link.NAME),
            linked_at=_moment(state.get("linked_at")),
            last_import_at=_moment((supervision or {}).get("last_purchase_import_at")),
            supervision=supervision,
            statuses=_company_statuses(company.id),
            meg_url=current_app.config["MEG_BASE_URL"],
        )
    )
    # The link button's POST is answered by a redirect to MEG: the page's form-action must
    # allow MEG's origin, or the browser blocks that redirect.
    csp = current_app.config.get("CONTENT_SECURITY_POLICY")
    from core.plugin_api import CONTENT_SECURITY_POLICY

    base = csp or CONTENT_SECURITY_POLICY
    response.headers["Content-Security-Policy"] = base.replace(
        "form-action 'self'", f"form-action 'self' {_meg_origin()}"
    )
    return response


@bp.route("/companies/<int:company_id>/meg/link", methods=["POST"])
@requires("accounting.write")
def start_link(company_id: int) -> Any:
    """ "Lier un compte à ce dossier comptable": off to MEG's login and consent (PKCE)."""
    company = scoping.get_company(company_id)
    redirect_uri = _redirect_uri()
    url, state, verifier = link.meg_oauth(redirect_uri).authorization_url(
        state=secrets.token_urlsafe(24), dossier=company.dossier_code
    )
    session[SESSION_KEY] = {
        "company_id": company.id,
        "state": state,
        "code_verifier": verifier,
        "redirect_uri": redirect_uri,
    }
    return redirect(url)


def _pending() -> dict[str, Any]:
    pending = session.get(SESSION_KEY)
    if not pending:
        flash(
            _("Aucune liaison MEG en cours : recommencez depuis l'onglet MEG de l'entreprise."),
            "error",
        )
        abort(redirect(url_for("tenancy.list_companies")))
    return pending


@bp.route("/meg/callback")
@requires("accounting.write")
def callback() -> Any:
    """MEG's redirect after consent: exchange the code, then "Choisir le dossier MEG"."""
    pending = _pending()
    company = scoping.get_company(pending["company_id"])
    tab = url_for("meg_export.company_tab", company_id=company.id)
    if request.args.get("state") != pending["state"]:
        session.pop(SESSION_KEY, None)
        flash(
            _("La réponse de MEG ne correspond pas à la demande de liaison : recommencez."), "error"
        )
        return redirect(tab)
    if request.args.get("error"):
        session.pop(SESSION_KEY, None)
        flash(_("La liaison a été refusée dans MEG."), "error")
        return redirect(tab)
    oauth = link.meg_oauth(pending["redirect_uri"])
    try:
        token = oauth.exchange_code(
            code_verifier=pending["code_verifier"],
            code=request.args.get("code"),
            state=pending["state"],
        )
        dossiers = link.meg_client(token).list_dossiers()
    except MegApiError as exc:
        session.pop(SESSION_KEY, None)
        flash(exc.message, "error")
        return redirect(tab)
    # The token waits for the dossier choice encrypted: the session cookie is only signed.
    session[SESSION_KEY] = {"company_id": company.id, "token": encrypt_json(token)}
    return _choose_page(company, dossiers)


def _choose_page(
    company: Any, dossiers: list[dict[str, Any]], error: str | None = None, status: int = 200
) -> Any:
    return render_template(
        "meg_export/choose_dossier.html",
        company=company,
        dossiers=dossiers,
        error=error,
        tabs=classeur().company_tabs,
        active_tab="meg",
    ), status


@bp.route("/meg/choose", methods=["POST"])
@requires("accounting.write")
def choose_dossier() -> Any:
    """Link the company to the chosen dossier, after MEG's checks (code, Achats, Premium)."""
    pending = _pending()
    company = scoping.get_company(pending["company_id"])
    try:
        token = decrypt_json(pending.get("token") or "")
    except SecretError:
        session.pop(SESSION_KEY, None)
        flash(_("Liaison MEG expirée : recommencez."), "error")
        return redirect(url_for("meg_export.company_tab", company_id=company.id))

    def refreshed(new_token: dict[str, Any]) -> None:
        nonlocal token
        token = new_token

    try:
        # What MEG says now, not what the form claims.
        dossiers = link.meg_client(token, refreshed).list_dossiers()
    except MegApiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("meg_export.company_tab", company_id=company.id))
    code = request.form.get("dossier", "")
    dossier = next((d for d in dossiers if d.get("code") == code), None)
    if dossier is None:
        return _choose_page(company, dossiers, _("Choisissez un des dossiers MEG proposés."), 400)
    try:
        link.link_company(company, token, dossier, current_user)  # sends queued on commit
    except ServiceError as exc:
        db.session.rollback()
        return _choose_page(company, dossiers, exc.message, 422)
    db.session.commit()
    session.pop(SESSION_KEY, None)
    flash(_("Entreprise liée au dossier MEG %(code)s.", code=dossier["code"]), "success")
    return redirect(url_for("meg_export.company_tab", company_id=company.id))


@bp.route("/companies/<int:company_id>/meg/unlink", methods=["POST"])
@requires("accounting.write")
def unlink(company_id: int) -> Any:
    """ "Délier": forget the tokens (revoked at MEG) and switch the connector off."""
    company = scoping.get_company(company_id)
    if link.unlink_company(company):
        db.session.commit()
        flash(_("Liaison MEG supprimée."), "success")
    else:
        flash(_("Cette entreprise n'est pas liée à MEG."), "error")
    return redirect(url_for("meg_export.company_tab", company_id=company.id))
