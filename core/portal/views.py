"""The client portal's pages: the uploader's home (deposit, follow, answer requests) and the
firm's requests to a client ("Demander un document au client", "À compléter par le client")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.auth.permissions import requires
from core.db import db
from core.documents.services import store_upload
from core.errors import ServiceError
from core.portal import services
from core.portal.models import RequestState
from core.tenancy import scoping
from core.web.urls import local_path

bp = Blueprint("portal", __name__)

#: Files taken by one deposit (a phone's selection, a few scans).
MAX_FILES = 20
#: What "Choisir des fichiers" offers (the server checks the content anyway).
ACCEPT = ".pdf,.xml,.jpg,.jpeg,.png,.tif,.tiff,application/pdf,application/xml,text/xml,image/*"


def _chosen_company(companies: list[Any]) -> Any:
    """The company of ``?company=`` (one of ``companies``), the only one, or None."""
    if len(companies) == 1:
        return companies[0]
    wanted = request.args.get("company", type=int)
    return next((c for c in companies if c.id == wanted), None)


@bp.route("/portal")
@requires("portal.use")
def home() -> Any:
    """The client's home: open requests first, deposit (photo or files), then its documents
    in its own words with their payment state."""
    companies = services.portal_companies()
    company = _chosen_company(companies)
    shown = [company.id] if company is not None else [c.id for c in companies]
    binders, default = services.upload_binders(company) if company is not None else ([], None)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1000)
    per_page = services.PORTAL_LIMIT
    # One more than shown tells whether older documents remain.
    documents = services.portal_documents(shown, per_page + 1, (page - 1) * per_page)
    return render_template(
        "portal/home.html",
        companies=companies,
        company=company,
        binders=binders,
        default_binder=default,
        requests=services.open_requests(shown),
        documents=documents[:per_page],
        page=page,
        has_more=len(documents) > per_page,
        accept=ACCEPT,
        max_mb=int(current_app.config["MAX_UPLOAD_BYTES"]) // (1024 * 1024),
    )


@bp.route("/portal/upload", methods=["POST"])
@requires("documents.upload")
def upload() -> Any:
    """Store the files of the portal's form (``file``, several) in the chosen company's binder
    (``binder_id``, else its purchase binder); with ``request_id``, they answer that request,
    with or without a written ``answer``."""
    company_id = request.form.get("company_id", type=int)
    company = scoping.get_company(company_id) if company_id is not None else None
    back = url_for("portal.home", company=company.id) if company is not None else None
    files = [f for f in request.files.getlist("file") if f and f.filename]
    req = None
    try:
        if request.form.get("request_id"):
            req = services.get_request(request.form.get("request_id", type=int))
            if req.state != RequestState.OPEN:
                raise ServiceError(_("Cette demande n'est plus ouverte."), "request_id")
            company = scoping.get_company(req.company_id)
            back = url_for("portal.home", company=company.id)
        if company is None:
            raise ServiceError(_("Choisissez l'entreprise pour laquelle vous déposez."))
        answer = services.clean_answer(request.form.get("answer")) if req is not None else None
        if not files and answer is None:
            raise ServiceError(
                _("Ajoutez le document demandé ou écrivez votre réponse.")
                if req is not None
                else _("Choisissez un fichier ou prenez une photo."),
                "file",
            )
        if len(files) > MAX_FILES:
            raise ServiceError(
                _("%(n)d fichiers au plus par envoi.", n=MAX_FILES), "file", status=413
            )
        binder_id = request.form.get("binder_id", type=int)
        if req is not None:
            binder = services.answer_binder(req, company, binder_id)
        else:
            binder = services.upload_binder(company, binder_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(back or url_for("portal.home"))
    stored, refused = [], []
    for storage in files:
        try:
            result = store_upload(binder, storage.stream, storage.filename or "", current_user.id)
        except ServiceError as exc:
            db.session.rollback()
            refused.append(f"{storage.filename} : {exc.message}")
            continue
        stored.append(result.document)
    if req is not None and (stored or (answer is not None and not refused)):
        req = services.get_request(req.id)
        try:
            services.fulfil_request(req, stored[0] if stored else None, current_user.id, answer)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                _("Merci : votre cabinet a reçu le document demandé.")
                if stored
                else _("Merci : votre réponse a été transmise à votre cabinet."),
                "success",
            )
    elif stored:
        flash(
            ngettext(
                "%(num)d document reçu : votre cabinet va le traiter.",
                "%(num)d documents reçus : votre cabinet va les traiter.",
                len(stored),
            ),
            "success",
        )
    for message in refused:
        flash(message, "error")
    return redirect(back or url_for("portal.home"))


@bp.route("/companies/<int:company_id>/requests", methods=["POST"])
@requires("requests.manage")
def create_request(company_id: int) -> Any:
    """ "Demander un document au client" from the company page (``message``)."""
    company = scoping.get_company(company_id)
    try:
        services.create_request(company, request.form.get("message"), current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Demande envoyée au client."), "success")
    return redirect(url_for("tenancy.edit_company", company_id=company.id) + "#requests")


@bp.route("/documents/<int:document_id>/request", methods=["POST"])
@requires("requests.manage")
def request_document(document_id: int) -> Any:
    """ "À compléter par le client" on a document page (``message``)."""
    document = scoping.get_document(document_id)
    company = scoping.get_company(document.company_id)
    try:
        services.create_request(company, request.form.get("message"), current_user.id, document)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Demande envoyée au client : le document est « À compléter »."), "success")
    return redirect(url_for("documents.show", document_id=document.id) + "#requests")


@bp.route("/portal/requests/cancel", methods=["POST"])
@requires("requests.manage")
def cancel_request() -> Any:
    """Withdraw an open request (``request_id``); back to ``next`` (a local path)."""
    fallback = url_for("web.dashboard")
    try:
        req = services.get_request(request.form.get("request_id", type=int))
        services.cancel_request(req)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        fallback = url_for("tenancy.edit_company", company_id=req.company_id) + "#requests"
        flash(_("Demande annulée."), "success")
    return redirect(local_path(request.form.get("next"), fallback))
