"""Linking a company to its MEG dossier (seed §1, steps 8 and 9): OAuth, checks, storage.

The link lives in the company's ``meg_export`` plugin settings: ``dossier_code``,
``dossier_name``, ``capabilities``, ``modules``, ``licence``, ``linked_at``, ``linked_by``; its
OAuth token in a row of its own (``meg_export_tokens``, encrypted with ``encrypt_json``), locked
while it is refreshed (:mod:`plugins.meg_export.tokens`). Services flush; the view commits once.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy.orm.attributes import flag_modified

from core.plugin_api import (
    Company,
    SecretError,
    ServiceError,
    connector_setting,
    db,
    decrypt_json,
    release_skipped,
    set_connector_enabled,
    utcnow,
)
from plugins.meg_export import tokens
from plugins.meg_export.client import MegApiError, MegClient, MegOAuth

log = logging.getLogger("classeur.plugins.meg_export")

NAME = "meg_export"
LINK_KEYS = (
    "dossier_code",
    "dossier_name",
    "capabilities",
    "modules",
    "licence",
    "token",
    "linked_at",
    "linked_by",
)


def meg_oauth(redirect_uri: str | None = None, config: Any = None) -> MegOAuth:
    """The OAuth helper for the configured MEG server and client."""
    config = config if config is not None else current_app.config
    return MegOAuth(
        config["MEG_BASE_URL"],
        config["MEG_CLIENT_ID"],
        config["MEG_CLIENT_SECRET"],
        redirect_uri,
        timeout=float(config.get("MEG_TIMEOUT", 15)),
    )


def meg_client(
    token: dict[str, Any], on_token_refreshed: Any = None, timeout: float | None = None
) -> MegClient:
    """An API client for ``token`` against the configured MEG server."""
    config = current_app.config
    return MegClient(
        config["MEG_BASE_URL"],
        token,
        client_id=config["MEG_CLIENT_ID"],
        client_secret=config["MEG_CLIENT_SECRET"],
        on_token_refreshed=on_token_refreshed,
        timeout=timeout or float(config.get("MEG_TIMEOUT", 15)),
    )


def link_state(company: Company) -> dict[str, Any]:
    """The company's link data, never the token (``{}`` when not linked)."""
    setting = connector_setting(company.firm_id, company.id, NAME)
    settings = dict(setting.settings or {}) if setting else {}
    if not settings.get("dossier_code") or tokens.stored_raw(db.session, company.id) is None:
        return {}
    return {k: v for k, v in settings.items() if k in LINK_KEYS and k != "token"}


def stored_token(company: Company) -> dict[str, Any] | None:
    """The decrypted token of a linked company, or None."""
    raw = tokens.stored_raw(db.session, company.id)
    if not raw:
        return None
    try:
        return decrypt_json(raw)
    except SecretError:
        log.warning("MEG token of company %s cannot be decrypted", company.id)
        return None


def save_token(company: Company, token: dict[str, Any]) -> None:
    """Store a token (encrypted) in the company's row; flushes."""
    tokens.save(db.session, company.firm_id, company.id, token)


def token_store(company: Company) -> tokens.TokenStore:
    """The company's stored token, refreshed under its row's lock."""
    return tokens.TokenStore(company.firm_id, company.id, locks=_LOCKS)


#: The threads of this process queue on these before the database lock.
_LOCKS = tokens.ProcessLocks()


def check_dossier(company: Company, dossier: dict[str, Any]) -> None:
    """Refuse a dossier that cannot be linked to ``company`` (seed §1 and step 4)."""
    code = dossier.get("code")
    if code != company.dossier_code:
        raise ServiceError(
            f"Le code du dossier MEG ({code}) est différent du code dossier de l'entreprise "
            f"({company.dossier_code}) : il doit être identique dans MEG et dans Classeur "
            "(« Paramétrage général »).",
            "dossier",
            code="dossier_mismatch",
        )
    if "achats" not in (dossier.get("modules") or []):
        raise ServiceError(
            f"Le dossier MEG {code} ne dispose pas du module Achats : la liaison est réservée "
            "aux entreprises disposant du module Achats et d'une licence Premium.",
            "dossier",
            code="module_achats_missing",
        )
    if dossier.get("licence") != "premium":
        raise ServiceError(
            f"Le dossier MEG {code} n'a pas de licence Premium : la liaison est réservée aux "
            "entreprises disposant du module Achats et d'une licence Premium.",
            "dossier",
            code="licence_not_premium",
        )


def link_company(
    company: Company, token: dict[str, Any], dossier: dict[str, Any], user: Any
) -> list[int]:
    """Link ``company`` to the MEG ``dossier`` with ``token``; switch the connector on.

    Flushes; returns the export statuses that waited while the connector was off, to submit
    after the caller's commit. Raises ``ServiceError`` when the dossier is refused.
    """
    from core.plugin_api import audit

    check_dossier(company, dossier)
    setting = set_connector_enabled(company.firm_id, NAME, True, company.id)
    assert setting is not None
    setting.settings = {
        **(setting.settings or {}),
        "dossier_code": dossier["code"],
        "dossier_name": dossier.get("name") or "",
        "capabilities": dict(dossier.get("capabilities") or {}),
        "modules": list(dossier.get("modules") or []),
        "licence": dossier.get("licence"),
        "linked_at": utcnow().isoformat(timespec="seconds"),
        "linked_by": getattr(user, "email", None),
    }
    flag_modified(setting, "settings")
    tokens.save(db.session, company.firm_id, company.id, token)
    db.session.flush()
    audit(
        "meg_link",
        target=f"company:{company.id}",
        details={"dossier": dossier["code"], "licence": dossier.get("licence")},
    )
    return release_skipped(company.firm_id, NAME, company.id)


def unlink_company(company: Company) -> bool:
    """Remove the link (tokens revoked at MEG, best-effort) and switch the connector off.

    Flushes; returns False when the company was not linked.
    """
    from core.plugin_api import audit

    setting = connector_setting(company.firm_id, company.id, NAME)
    if setting is None or tokens.stored_raw(db.session, company.id) is None:
        return False
    token = stored_token(company)
    if token:
        oauth = meg_oauth()
        oauth.timeout = 5.0
        for kind in ("refresh_token", "access_token"):
            if token.get(kind):
                oauth.revoke(token[kind], kind)
    dossier = (setting.settings or {}).get("dossier_code")
    setting.settings = {k: v for k, v in (setting.settings or {}).items() if k not in LINK_KEYS}
    flag_modified(setting, "settings")
    setting.enabled = False
    tokens.forget(db.session, company.id)
    db.session.flush()
    audit("meg_unlink", target=f"company:{company.id}", details={"dossier": dossier})
    return True


def last_import(company: Company) -> dict[str, Any] | None:
    """MEG's "Date dernier import d'achat" and platform for the linked dossier (best-effort)."""
    state = link_state(company)
    token = stored_token(company)
    if not state or token is None:
        return None

    client = meg_client(token, timeout=3.0)
    client.token_store = token_store(company)
    try:
        return client.supervision(state["dossier_code"])
    except (MegApiError, ValueError, tokens.TokenMissing) as exc:
        log.info("MEG supervision unavailable for company %s: %s", company.id, exc)
        return None
