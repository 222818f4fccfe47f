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
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.auth.models import User
from core.auth.permissions import role_allows
from core.db import db, utcnow
from core.documents.models import Document, DocumentState
from core.notifications.models import Notification, NotificationDigest
from core.tasks.registry import TaskSpec
from core.tenancy.models import Company, Firm, Membership, Role

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


def recipient_locale(user: User) -> Any:
    """Render a mail in its recipient's language (not in the language of whoever caused it)."""
    from core.auth.services import LOCALES

    default = str(current_app.config.get("BABEL_DEFAULT_LOCALE") or "fr")
    return force_locale(user.locale if user.locale in LOCALES else default)


def _email(notification: Notification, user: User) -> None:
    from core.mail.services import MailError, queue_mail

    try:
        with recipient_locale(user):
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


def _safe_link(link: str | None) -> str | None:
    """A link shown in the pages and e-mails: a path of Classeur or an http(s) address only
    (never ``javascript:`` nor a protocol-relative ``//host``)."""
    link = (link or "").strip()
    if not link or len(link) > LINK_MAX:
        return None
    if (link.startswith("/") and not link.startswith("//")) or link.startswith(
        ("https://", "http://")
    ):
        return link
    return None


def notify(
    user_ids: list[int],
    firm_id: int,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    key: str | None = None,
) -> list[Notification]:
    """Notify these users (active members of ``firm_id`` who chose their password; others,
    invited but not yet in or deactivated, are ignored) as each chose:
    in-app, plus an e-mail at once in "immediate" mode. With a ``key``, an unread notification
    of the same key is refreshed instead of repeated (and not e-mailed again). Adds to the
    session; the caller commits."""
    kind = (kind or "").strip()[:KIND_MAX] or "other"
    title = " ".join(str(title).split())[:TITLE_MAX]
    link = _safe_link(link)
    key = key[:KEY_MAX] if key else None
    wanted = sorted({int(i) for i in user_ids})
    if not wanted:
        return []
    users = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.id.in_(wanted),
            Membership.firm_id == firm_id,
            # Active users who accepted their invitation (chose a password) only.
            User.active.is_(True),
            User.invited_at.is_(None),
        )
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


# --- in-app ---------------------------------------------------------------------------------


def user_notifications(user_id: int, firm_id: int, limit: int = 100) -> list[Notification]:
    """The user's notifications in a firm, unread first then newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.firm_id == firm_id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc())
            .limit(limit)
        )
    )


def unread_count(user_id: int, firm_id: int) -> int:
    """How many unread notifications the user has in a firm (one COUNT)."""
    return int(
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id,
                Notification.firm_id == firm_id,
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def mark_read(user_id: int, firm_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of the user in a firm as read; how many. The caller
    commits."""
    stmt = (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.firm_id == firm_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return int(db.session.execute(stmt).rowcount or 0)


def save_settings(user: User, values: dict[str, str]) -> dict[str, str]:
    """Store the user's mode per kind (only declared kinds, only their allowed modes; a kind
    left out keeps its setting). Returns the settings; the caller commits."""
    settings = dict(user.notification_settings or {})
    for kind, mode in values.items():
        declared = KINDS.get(kind)
        if declared is None or mode not in declared.modes:
            raise ValueError(kind)
        settings[kind] = mode
    user.notification_settings = settings
    return settings


# --- what the core notifies ------------------------------------------------------------------


def page_url(endpoint: str, **values: Any) -> str:
    """The path of a page (no request needed: tasks build links too)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build(endpoint, values)


def notify_export_error(document: Any, status: Any) -> list[Notification]:
    """A document whose export ended in error: its firm's admins and accountants hear of it,
    linked to the document; one unread notification per document and connector. Never
    raises (the export's outcome is recorded whatever happens here); the caller commits."""
    from core.state import classeur

    try:
        with db.session.begin_nested():
            exporter = classeur().exporters.get(status.connector)
            connector = exporter.label if exporter is not None else status.connector
            title = _(
                "Erreur d'export : %(file)s (%(connector)s)",
                file=document.filename,
                connector=connector,
            )
            return notify_firm(
                document.firm_id,
                "export_error",
                title,
                body=status.message or "",
                link=page_url("documents.show", document_id=document.id),
                key=f"export_error:document:{document.id}:{status.connector}",
                company_id=document.company_id,
            )
    except Exception:
        log.exception("notifying the export error of document %s failed", document.id)
        return []


# --- the daily digest ------------------------------------------------------------------------

DIGEST_TASK = "notification_digest"
#: Digests claimed per poll.
DIGEST_BATCH = 200
#: Days the digests' rows are kept (then deleted when the user's next digest runs).
DIGEST_KEEP_DAYS = 60


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris"))


def digest_day(now: datetime | None = None) -> date | None:
    """The day whose digest is due at ``now`` (UTC; default: now): today in the firm's time
    zone once ``DIGEST_HOUR`` (an hour of that zone) has come, else ``None``."""
    local = (now or utcnow()).astimezone(_zone())
    hour = int(current_app.config.get("DIGEST_HOUR") or 0)
    return local.date() if local.hour >= hour else None


#: An empty digest (nothing to tell yet) is looked at again after this delay the same day: a
#: notification that arrives later that day, or a setting changed to "daily", still goes out
#: that day (an empty run used to mark the whole day done).
DIGEST_RETRY = timedelta(minutes=10)


def digest_candidates(
    day: date, limit: int = DIGEST_BATCH, now: datetime | None = None
) -> list[int]:
    """Active users of an active firm with no digest sent for ``day``: none tried yet, or an
    empty one tried more than :data:`DIGEST_RETRY` ago."""
    cutoff = (now or utcnow()) - DIGEST_RETRY
    done = select(NotificationDigest.user_id).where(
        NotificationDigest.day == day,
        (NotificationDigest.mail_id.is_not(None)) | (NotificationDigest.created_at > cutoff),
    )
    return list(
        db.session.scalars(
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .join(Firm, Firm.id == Membership.firm_id)
            .where(User.active.is_(True), Firm.active.is_(True), User.id.not_in(done))
            .group_by(User.id)
            .order_by(User.id)
            .limit(limit)
        )
    )


def _poll_digests(now: datetime | None = None) -> list[tuple[Any, ...]]:
    day = digest_day(now)
    if day is None:
        return []
    return [(user_id, day.isoformat()) for user_id in digest_candidates(day, now=now)]


def _to_review_counts(user: User) -> list[dict[str, Any]]:
    """Documents waiting for review per company the user may review, in its active firms."""
    rows: list[dict[str, Any]] = []
    for membership in sorted(user.memberships, key=lambda m: m.id):
        if not membership.firm.active or not role_allows(membership.role, "documents.review"):
            continue
        stmt = (
            select(Company.id, Company.name, func.count(Document.id))
            .join(Document, Document.company_id == Company.id)
            .where(
                Company.firm_id == membership.firm_id,
                Document.firm_id == membership.firm_id,
                Document.state == DocumentState.TO_REVIEW,
            )
            .group_by(Company.id, Company.name)
            .order_by(Company.name)
        )
        if membership.role == Role.UPLOADER:
            stmt = stmt.where(Company.id.in_([c.id for c in membership.companies]))
        for company_id, name, count in db.session.execute(stmt):
            rows.append(
                {
                    "firm_id": membership.firm_id,
                    "firm": membership.firm.name,
                    "company": name,
                    "count": int(count),
                    "url": absolute_url(page_url("binders.to_review", company=company_id)),
                }
            )
    return rows


def build_digest(user: User) -> tuple[list[Notification], list[dict[str, Any]]]:
    """What the user's digest holds: the unread notifications not yet e-mailed whose kind the
    user gets daily, and the documents waiting for review per company (if wanted)."""
    firm_ids = [m.firm_id for m in user.memberships if m.firm.active]
    pending = [
        n
        for n in db.session.scalars(
            select(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.firm_id.in_(firm_ids),
                Notification.read_at.is_(None),
                Notification.emailed_at.is_(None),
            )
            .order_by(Notification.created_at)
        )
        if mode_for(user, n.kind) == DAILY
    ]
    to_review = _to_review_counts(user) if mode_for(user, "to_review") == DAILY else []
    return pending, to_review


def _claim_digest(user_id: int, day: date, force: bool = False) -> NotificationDigest | None:
    """The user's digest row of ``day``, claimed for this run (committed): a new row, or an
    empty one older than :data:`DIGEST_RETRY` taken over (any row with ``force``); ``None``
    when another run has it or it was sent already."""
    claim = NotificationDigest(user_id=user_id, day=day)
    db.session.add(claim)
    try:
        db.session.commit()
        return claim
    except IntegrityError:
        db.session.rollback()
    now = utcnow()
    stmt = update(NotificationDigest).where(
        NotificationDigest.user_id == user_id, NotificationDigest.day == day
    )
    if not force:
        stmt = stmt.where(
            NotificationDigest.mail_id.is_(None),
            NotificationDigest.created_at <= now - DIGEST_RETRY,
        )
    taken = db.session.execute(stmt.values(created_at=now)).rowcount
    db.session.commit()
    if not taken:
        return None
    return db.session.scalars(
        select(NotificationDigest).where(
            NotificationDigest.user_id == user_id, NotificationDigest.day == day
        )
    ).one()


def run_digest(user_id: int, day_iso: str, force: bool = False) -> str | None:
    """The task: the user's digest of ``day`` — claimed first (one row per user and day), so
    it goes out at most once whichever worker runs it; an empty one is tried again later that
    day (:data:`DIGEST_RETRY`). ``force`` (the command) sends it even if sent already.
    ``sent``, ``empty`` or ``None`` (done already, or no such user)."""
    day = date.fromisoformat(day_iso)
    claim = _claim_digest(user_id, day, force)
    if claim is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    db.session.execute(
        delete(NotificationDigest).where(
            NotificationDigest.user_id == user_id,
            NotificationDigest.day < day - timedelta(days=DIGEST_KEEP_DAYS),
        )
    )
    pending, to_review = build_digest(user)
    if not pending and not to_review:
        db.session.commit()
        return "empty"
    from core.mail.services import MailError, queue_mail

    firm_ids = {m.firm_id for m in user.memberships if m.firm.active}
    try:
        with recipient_locale(user):
            mail = queue_mail(
                user.email,
                _("Classeur : votre résumé du %(day)s", day=format_date(day, "dd/MM/yyyy")),
                "digest",
                firm_id=next(iter(firm_ids)) if len(firm_ids) == 1 else None,
                user_id=user.id,
                kind="digest",
                day=day,
                notifications=[
                    {
                        "title": n.title,
                        "body": n.body,
                        "kind": kind_label(n.kind),
                        "url": absolute_url(n.link),
                    }
                    for n in pending
                ],
                to_review=to_review,
                to_review_total=sum(r["count"] for r in to_review),
                several_firms=len(firm_ids) > 1,
                settings_url=absolute_url(page_url("notifications.settings")),
            )
    except MailError:
        log.warning("digest of user %s: no mail for %r", user.id, user.email)
        db.session.commit()
        return "empty"
    now = utcnow()
    for n in pending:
        n.emailed_at = now
    claim.mail_id = mail.id
    db.session.commit()
    return "sent"


def task_specs() -> list[TaskSpec]:
    """The notifications' tasks: the daily digest, found by the poll once ``DIGEST_HOUR`` is
    past (the claim row makes it idempotent per user and day)."""
    return [TaskSpec(name=DIGEST_TASK, run=run_digest, queue="default", poll=_poll_digests)]
