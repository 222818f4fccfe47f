"""Notifications: :func:`notify` (some users) and :func:`notify_firm` (the members of a firm who
may see a company) record an in-app notification per user (one unread per ``key``, refreshed
rather than repeated) and, as each user chose per kind (``notification_settings``), e-mail it
at once, gather it in the daily digest, or drop it ("off": neither e-mail nor in-app).

Kinds are declared in :data:`KINDS` with their French label and default mode; a kind not
declared there (a plugin's) is accepted, "immediate" by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.auth.models import User
from core.db import db, utcnow
from core.notifications.models import Notification
from core.tenancy.models import Membership, Role

log = logging.getLogger("classeur.notifications")

IMMEDIATE = "immediate"
DAILY = "daily"
OFF = "off"
MODES: tuple[str, ...] = (IMMEDIATE, DAILY, OFF)
MODE_LABELS = {
    IMMEDIATE: _l("E-mail immédiat"),
    DAILY: _l("Résumé quotidien"),
    OFF: _l("Désactivé"),
}


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its label on the settings page, its default mode and the modes
    a user may choose (``to_review`` is computed when the digest runs: daily or off)."""

    name: str
    label: Any
    default: str = IMMEDIATE
    modes: tuple[str, ...] = MODES
    description: Any = ""


#: The declared kinds (a plugin's other kinds are accepted, immediate by default).
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "export_error",
            _l("Documents en erreur d'export"),
            description=_l("Un document n'a pas pu être envoyé au logiciel comptable."),
        ),
        Kind(
            "to_review",
            _l("Documents à valider"),
            default=DAILY,
            modes=(DAILY, OFF),
            description=_l("Le nombre de documents qui attendent votre validation, par dossier."),
        ),
        Kind(
            "connector_disconnected",
            _l("Connecteur déconnecté"),
            description=_l("La liaison avec un logiciel est perdue ou son jeton a expiré."),
        ),
        Kind(
            "document_request",
            _l("Demandes de documents"),
            description=_l("Un client a déposé un document demandé, ou une demande vous attend."),
        ),
        Kind(
            "payment",
            _l("Règlements"),
            description=_l("L'état de règlement d'un achat a changé."),
        ),
    )
}

TITLE_MAX = 300
LINK_MAX = 500
KEY_MAX = 200
KIND_MAX = 50


def kind_label(kind: str) -> str:
    """The French label of a kind (its name for an undeclared one)."""
    declared = KINDS.get(kind)
    return str(declared.label) if declared is not None else kind


def mode_for(user: User, kind: str) -> str:
    """The user's mode for ``kind``: its setting if valid, else the kind's default."""
    declared = KINDS.get(kind)
    chosen = (user.notification_settings or {}).get(kind)
    allowed = declared.modes if declared is not None else MODES
    if chosen in allowed:
        return str(chosen)
    return declared.default if declared is not None else IMMEDIATE


def absolute_url(link: str | None) -> str | None:
    """A link of the pages as an absolute URL for an e-mail (``PUBLIC_URL``, else the current
    request's host); ``None`` when neither is known or there is no link."""
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    base = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    if not base:
        return None
    return base + (link if link.startswith("/") else "/" + link)


def _email(notification: Notification, user: User) -> None:
    from core.mail.services import MailError, queue_mail

    try:
        queue_mail(
            user.email,
            notification.title,
            "notification",
            firm_id=notification.firm_id,
            user_id=user.id,
            kind="notification",
            notification=notification,
            kind_label=kind_label(notification.kind),
            url=absolute_url(notification.link),
            settings_url=absolute_url("/notifications/settings"),
        )
    except MailError:
        log.warning("notification %s: no mail for %r", notification.id, user.email)
        return
    notification.emailed_at = utcnow()


def notify(
    user_ids: list[int],
    firm_id: int,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    key: str | None = None,
) -> list[Notification]:
    """Notify these users (members of ``firm_id`` only; others are ignored) as each chose:
    in-app, plus an e-mail at once in "immediate" mode. With a ``key``, an unread notification
    of the same key is refreshed instead of repeated (and not e-mailed again). Adds to the
    session; the caller commits."""
    kind = (kind or "").strip()[:KIND_MAX] or "other"
    title = " ".join(str(title).split())[:TITLE_MAX]
    link = link[:LINK_MAX] if link else None
    key = key[:KEY_MAX] if key else None
    wanted = sorted({int(i) for i in user_ids})
    if not wanted:
        return []
    users = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id.in_(wanted), Membership.firm_id == firm_id, User.active.is_(True))
    ).all()
    made: list[Notification] = []
    for user in users:
        mode = mode_for(user, kind)
        if mode == OFF:
            continue
        existing = None
        if key is not None:
            existing = db.session.scalar(
                select(Notification)
                .where(
                    Notification.user_id == user.id,
                    Notification.firm_id == firm_id,
                    Notification.key == key,
                    Notification.read_at.is_(None),
                )
                .order_by(Notification.id.desc())
                .limit(1)
            )
        if existing is not None:
            existing.kind, existing.title, existing.body = kind, title, body or ""
            existing.link = link
            existing.created_at = utcnow()
            notification = existing
        else:
            notification = Notification(
                user_id=user.id,
                firm_id=firm_id,
                kind=kind,
                title=title,
                body=body or "",
                link=link,
                key=key,
            )
            db.session.add(notification)
        db.session.flush()
        if mode == IMMEDIATE and notification.emailed_at is None:
            _email(notification, user)
        made.append(notification)
    db.session.flush()
    return made


def firm_members(
    firm_id: int,
    company_id: int | None = None,
    roles: tuple[str, ...] = (Role.ADMIN, Role.ACCOUNTANT),
) -> list[int]:
    """Ids of the firm's members with one of ``roles`` who may see ``company_id`` (an
    uploader only its own companies; any company when ``None``)."""
    memberships = db.session.scalars(
        select(Membership).where(
            Membership.firm_id == firm_id, Membership.role.in_([Role(r) for r in roles])
        )
    ).all()
    ids: list[int] = []
    for membership in memberships:
        if (
            company_id is not None
            and membership.role == Role.UPLOADER
            and company_id not in {c.id for c in membership.companies}
        ):
            continue
        ids.append(membership.user_id)
    return ids


def notify_firm(
    firm_id: int,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    key: str | None = None,
    company_id: int | None = None,
    roles: tuple[str, ...] = ("admin", "accountant"),
) -> list[Notification]:
    """:func:`notify` the members of ``firm_id`` with one of ``roles`` who may see
    ``company_id``. Adds to the session; the caller commits."""
    return notify(firm_members(firm_id, company_id, roles), firm_id, kind, title, body, link, key)


def task_specs() -> list[Any]:
    """The notifications' tasks (the daily digest)."""
    return []
