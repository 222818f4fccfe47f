"""Telling the firm that a company's MEG link is lost (its token expired, refused or
unreadable): a « Connecteur déconnecté » notification for the members who may see the
company, once per company until read (in-app, and by e-mail as each member chose)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_request_context, url_for

from core.plugin_api import Company, db, notify_firm

log = logging.getLogger("classeur.plugins.meg_export")

#: Export error codes meaning the link itself is gone (not one document's problem).
LINK_LOST_CODES = frozenset({"link_expired", "link_unreadable"})


def _tab_path(company_id: int) -> str:
    if has_request_context():
        return url_for("meg_export.company_tab", company_id=company_id)
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build("meg_export.company_tab", {"company_id": company_id})


def link_lost(company: Company, reason: str = "") -> None:
    """Notify the firm that ``company``'s MEG link must be made again (adds to the session;
    the caller commits). Never raises: a failed notification must not hide the error."""
    try:
        with db.session.begin_nested():
            notify_firm(
                company.firm_id,
                "connector_disconnected",
                f"MEG déconnecté : {company.name} ({company.dossier_code})",
                body=(reason or "La liaison MEG a expiré ou a été refusée.")
                + " Reliez l'entreprise à MEG dans son onglet MEG.",
                link=_tab_path(company.id),
                key=f"connector_disconnected:meg_export:{company.id}",
                company_id=company.id,
            )
    except Exception:
        log.exception("notifying the lost MEG link of company %s failed", company.id)


def after_export(document: Any, result: Any) -> None:
    """After a MEG export: a link found expired or unreadable is notified (committed)."""
    if getattr(result, "ok", True) or getattr(result, "code", None) not in LINK_LOST_CODES:
        return
    company = db.session.get(Company, document.company_id)
    if company is None:
        return
    link_lost(company, getattr(result, "message", "") or "")
    db.session.commit()
