"""The client portal: what a client (uploader) sees of its documents, in its own words, and
the firm's requests to it ("Demander un document au client", "À compléter par le client").

Every query goes through :mod:`core.tenancy.scoping`: an uploader reaches only the companies
it was given. Services flush; the views commit once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.binders.models import Binder
from core.binders.registry import default_binder
from core.db import db, utcnow
from core.documents.models import Document, DocumentState
from core.errors import ServiceError
from core.exports.models import ExportState, ExportStatus
from core.portal.models import DocumentRequest, RequestState
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company, Membership, Role, membership_companies

log = logging.getLogger("classeur.portal")

#: The binder type a client's files go to unless it chooses another binder.
PURCHASE_TYPE = "purchase_invoices"
#: Longest message of a request (characters).
MAX_MESSAGE = 2000
#: Documents listed on the portal's home (newest first).
PORTAL_LIMIT = 50

#: The client's words for where a document stands (key → French label).
CLIENT_STATES: dict[str, Any] = {
    "received": _l("Reçu"),
    "reading": _l("En cours de lecture"),
    "checking": _l("En cours de vérification par le cabinet"),
    "validated": _l("Validé par le cabinet"),
    "to_complete": _l("À compléter"),
    # Reading failures, export errors and documents set aside: the firm deals with them; the
    # client never sees their technical text.
    "processing": _l("En cours de traitement par le cabinet"),
}

_BY_STATE = {
    DocumentState.RECEIVED: "received",
    DocumentState.EXTRACTING: "reading",
    DocumentState.TO_REVIEW: "checking",
    DocumentState.VALIDATED: "validated",
    DocumentState.FAILED: "processing",
    DocumentState.TRASHED: "processing",
}


def client_state(document: Document, export_error: bool = False, to_complete: bool = False) -> str:
    """The client's word (a key of :data:`CLIENT_STATES`) for ``document``."""
    if to_complete:
        return "to_complete"
    state = _BY_STATE.get(document.state, "processing")
    if state == "validated" and export_error:
        return "processing"
    return state


@dataclass
class PortalDocument:
    """One line of the client's list."""

    document: Document
    company: Company
    state: str
    request: DocumentRequest | None
    payment: dict[str, Any] | None

    @property
    def state_label(self) -> str:
        return str(CLIENT_STATES[self.state])

    def as_json(self) -> dict[str, Any]:
        payment = None
        if self.payment:
            payment = {
                "state": self.payment.get("state"),
                "due_date": _iso(self.payment.get("due_date")),
                "paid_at": _iso(self.payment.get("paid_at")),
                "amount": _text(self.payment.get("amount")),
            }
        return {
            "id": self.document.id,
            "company_id": self.document.company_id,
            "filename": self.document.filename,
            "created_at": self.document.created_at,
            "state": self.state,
            "state_label": self.state_label,
            "request": request_json(self.request) if self.request else None,
            "payment": payment,
        }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def portal_companies() -> list[Company]:
    """The companies the current user may deposit for, by name."""
    return list(db.session.scalars(scoping.companies_stmt().order_by(Company.name, Company.id)))


def upload_binders(company: Company) -> tuple[list[Binder], Binder | None]:
    """The company's binders (visible to the user) and the one files go to by default: the
    purchase binder its binder type designates, else its first binder."""
    binders = list(
        db.session.scalars(
            scoping.binders_stmt().where(Binder.company_id == company.id).order_by(Binder.name)
        )
    )
    chosen = default_binder(company, PURCHASE_TYPE)
    if chosen is None or chosen.id not in {b.id for b in binders}:
        chosen = binders[0] if binders else None
    return binders, chosen


def upload_binder(company: Company, binder_id: int | None) -> Binder:
    """Where a client's file goes: the binder it chose (one of the company's), else the
    default one; ServiceError when the company has no binder."""
    binders, default = upload_binders(company)
    if binder_id is not None:
        for binder in binders:
            if binder.id == binder_id:
                return binder
        raise ServiceError("Classeur introuvable pour cette entreprise.", "binder_id")
    if default is None:
        raise ServiceError(
            "Cette entreprise n'a encore aucun classeur : contactez votre cabinet.",
            "binder_id",
            code="no_binder",
        )
    return default


def portal_documents(
    company_ids: list[int], limit: int = PORTAL_LIMIT, offset: int = 0
) -> list[PortalDocument]:
    """The newest documents of ``company_ids`` (already visible ones) in the client's words,
    with their open request and, for validated ones, the payment state a connector knows;
    ``offset`` skips the newer ones (the page's « Documents plus anciens »)."""
    if not company_ids:
        return []
    documents = list(
        db.session.scalars(
            scoping.documents_stmt()
            .where(Document.company_id.in_(company_ids))
            .order_by(Document.created_at.desc(), Document.id.desc())
            .offset(max(offset, 0))
            .limit(limit)
        )
    )
    ids = [d.id for d in documents]
    errors = set(
        db.session.scalars(
            select(ExportStatus.document_id).where(
                ExportStatus.document_id.in_(ids), ExportStatus.state == ExportState.ERROR
            )
        )
    )
    requests: dict[int, DocumentRequest] = {}
    for req in db.session.scalars(
        select(DocumentRequest)
        .where(
            DocumentRequest.document_id.in_(ids),
            DocumentRequest.state == RequestState.OPEN,
        )
        .order_by(DocumentRequest.id)
    ):
        requests.setdefault(req.document_id or 0, req)
    companies = {
        c.id: c for c in db.session.scalars(select(Company).where(Company.id.in_(company_ids)))
    }
    hooks = classeur().hooks
    out = []
    for document in documents:
        request = requests.get(document.id)
        state = client_state(document, document.id in errors, request is not None)
        payment = hooks.document_payment(document=document) if state == "validated" else None
        out.append(
            PortalDocument(document, companies[document.company_id], state, request, payment)
        )
    return out


# -- requests --------------------------------------------------------------------------------


def request_json(req: DocumentRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "company_id": req.company_id,
        "document_id": req.document_id,
        "message": req.message,
        "state": str(req.state),
        "created_at": req.created_at,
        "fulfilled_at": req.fulfilled_at,
        "fulfilled_document_id": req.fulfilled_document_id,
        "answer": req.answer,
    }


def clean_message(message: str | None) -> str:
    """A request's message, trimmed; ServiceError (French) when empty or too long."""
    text = (message or "").strip()
    if not text:
        raise ServiceError("Écrivez ce que vous demandez au client.", "message", code="required")
    if len(text) > MAX_MESSAGE:
        raise ServiceError(
            f"Message trop long : {MAX_MESSAGE} caractères au plus.", "message", code="too_long"
        )
    return text


def create_request(
    company: Company, message: str | None, user_id: int | None, document: Document | None = None
) -> DocumentRequest:
    """Ask the client company for a document (or, with ``document``, to complete that one);
    notifies its uploaders once committed. ``company`` and ``document`` are already scoped."""
    text = clean_message(message)
    if document is not None and document.company_id != company.id:
        raise ServiceError("Ce document n'est pas de cette entreprise.", "document_id")
    req = DocumentRequest(
        firm_id=company.firm_id,
        company_id=company.id,
        document_id=document.id if document is not None else None,
        requested_by_id=user_id,
        message=text,
        state=RequestState.OPEN,
    )
    db.session.add(req)
    db.session.flush()
    title = (
        f"À compléter : {document.filename}"
        if document is not None
        else f"Document demandé pour {company.name}"
    )
    _notify(
        client_user_ids(company),
        company.firm_id,
        title,
        text,
        link=url_for("portal.home", company=company.id),
        key=f"document_request:{req.id}",
    )
    return req


def client_user_ids(company: Company) -> list[int]:
    """The uploaders given this company (its clients' accounts)."""
    return list(
        db.session.scalars(
            select(Membership.user_id)
            .join(membership_companies, membership_companies.c.membership_id == Membership.id)
            .where(
                Membership.firm_id == company.firm_id,
                Membership.role == Role.UPLOADER,
                membership_companies.c.company_id == company.id,
            )
        )
    )


def company_requests(company: Company, limit: int = 100) -> list[DocumentRequest]:
    """The company's requests, open ones first, then newest."""
    return list(
        db.session.scalars(
            select(DocumentRequest)
            .where(
                DocumentRequest.company_id == company.id,
                DocumentRequest.firm_id == company.firm_id,
            )
            .order_by(
                (DocumentRequest.state == RequestState.OPEN).desc(),
                DocumentRequest.created_at.desc(),
                DocumentRequest.id.desc(),
            )
            .limit(limit)
        )
    )


def document_requests(document: Document) -> list[DocumentRequest]:
    """Requests tied to ``document`` (asked on it), newest first."""
    return list(
        db.session.scalars(
            select(DocumentRequest)
            .where(
                DocumentRequest.document_id == document.id,
                DocumentRequest.firm_id == document.firm_id,
            )
            .order_by(DocumentRequest.created_at.desc(), DocumentRequest.id.desc())
        )
    )


def open_requests(company_ids: list[int]) -> list[DocumentRequest]:
    """Open requests of the given (visible) companies, oldest first."""
    if not company_ids:
        return []
    return list(
        db.session.scalars(
            select(DocumentRequest)
            .where(
                DocumentRequest.firm_id == scoping.current_firm_id(),
                DocumentRequest.company_id.in_(company_ids),
                DocumentRequest.state == RequestState.OPEN,
            )
            .order_by(DocumentRequest.created_at, DocumentRequest.id)
        )
    )


def get_request(request_id: int | None) -> DocumentRequest:
    """A request of a company the current user sees, or ServiceError (404)."""
    req = None
    if request_id is not None:
        req = db.session.scalar(
            select(DocumentRequest).where(
                DocumentRequest.id == request_id,
                DocumentRequest.firm_id == scoping.current_firm_id(),
                DocumentRequest.company_id.in_(
                    scoping.companies_stmt().with_only_columns(Company.id)
                ),
            )
        )
    if req is None:
        raise ServiceError("Demande introuvable.", "request_id", code="not_found", status=404)
    return req


def clean_answer(answer: str | None) -> str | None:
    """The client's written answer, trimmed (None when empty); ServiceError when too long."""
    text = (answer or "").strip()
    if len(text) > MAX_MESSAGE:
        raise ServiceError(
            f"Réponse trop longue : {MAX_MESSAGE} caractères au plus.", "answer", code="too_long"
        )
    return text or None


def fulfil_request(
    req: DocumentRequest,
    document: Document | None,
    user_id: int | None,
    answer: str | None = None,
) -> None:
    """The client answered ``req`` with ``document`` and/or a written ``answer``; the firm is
    notified once committed."""
    if req.state != RequestState.OPEN:
        raise ServiceError(
            "Cette demande n'est plus ouverte.", "request_id", code="closed", status=409
        )
    text = clean_answer(answer)
    if document is None and text is None:
        raise ServiceError(
            "Ajoutez le document demandé ou écrivez votre réponse.", "answer", code="required"
        )
    if document is not None and document.company_id != req.company_id:
        raise ServiceError("Ce document n'est pas de l'entreprise de la demande.", "request_id")
    req.state = RequestState.FULFILLED
    req.fulfilled_at = utcnow()
    req.fulfilled_document_id = document.id if document is not None else None
    req.answer = text
    db.session.flush()
    company = db.session.get(Company, req.company_id)
    said = [f"Demande : {req.message}"]
    if document is not None:
        said.append(f"Document déposé : « {document.filename} »")
    if text:
        said.append(f"Réponse du client : {text}")
    if document is not None:
        link = url_for("documents.show", document_id=document.id)
    else:
        link = url_for("tenancy.edit_company", company_id=req.company_id) + "#requests"
    _notify_firm(
        req.firm_id,
        _answered_subject(company.name if company else "", req.message),
        "\n".join(said),
        link=link,
        key=f"document_request_fulfilled:{req.id}",
        company_id=req.company_id,
    )


def _answered_subject(company_name: str, message: str | None, words: int = 6) -> str:
    """« Le client a répondu : <company> — « <the request's first words…> » »: two answers of
    one company get distinct titles (and e-mail subjects)."""
    first = " ".join((message or "").split()[:words])
    if len((message or "").split()) > words or len(first) > 60:
        first = first[:60].rstrip() + "…"
    subject = f"Le client a répondu : {company_name}".strip()
    return f"{subject} — « {first} »" if first else subject


def cancel_request(req: DocumentRequest) -> None:
    """The firm withdraws an open request (kept, marked cancelled)."""
    if req.state != RequestState.OPEN:
        raise ServiceError(
            "Cette demande n'est plus ouverte.", "request_id", code="closed", status=409
        )
    req.state = RequestState.CANCELLED
    db.session.flush()


def answer_binder(req: DocumentRequest, company: Company, binder_id: int | None) -> Binder:
    """Where the answer to ``req`` goes: the binder chosen, else the binder of the document
    asked about, else the company's default binder."""
    if binder_id is None and req.document_id is not None:
        asked = db.session.get(Document, req.document_id)
        if asked is not None:
            binders, _default = upload_binders(company)
            for binder in binders:
                if binder.id == asked.binder_id:
                    return binder
    return upload_binder(company, binder_id)


# -- notifications (F's services, when present) ----------------------------------------------


def _notify(
    user_ids: list[int], firm_id: int, title: str, body: str, link: str | None, key: str
) -> None:
    if not user_ids:
        return
    try:
        from core.notifications.services import notify
    except ImportError:  # notifications not installed yet
        return
    try:
        with db.session.begin_nested():
            notify(user_ids, firm_id, "document_request", title, body, link=link, key=key)
    except Exception:  # a notification never loses the request
        log.exception("document_request notification failed")


def _notify_firm(
    firm_id: int, title: str, body: str, link: str | None, key: str, company_id: int
) -> None:
    try:
        from core.notifications.services import notify_firm
    except ImportError:
        return
    try:
        with db.session.begin_nested():
            notify_firm(
                firm_id, "document_request", title, body, link=link, key=key, company_id=company_id
            )
    except Exception:
        log.exception("document_request notification failed")
