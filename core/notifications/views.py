"""Pages « Notifications » (the user's in-app notifications, marked read one by one or all at
once) and « Mes notifications » (per kind: e-mail at once, daily digest or off), the JSON API
of the same, and the header's unread count (``unread_notifications()`` in every template)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest import abort as api_abort

from core.auth.permissions import requires
from core.db import db
from core.notifications import services
from core.notifications.models import Notification
from core.tenancy.scoping import current_firm_id, current_membership_or_none

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
api_bp = ApiBlueprint(
    "notifications_api",
    __name__,
    url_prefix="/api/v1/notifications",
    description="The current user's in-app notifications.",
)


@bp.app_context_processor
def _unread_in_header() -> dict[str, Any]:
    def unread_notifications() -> int:
        """The header's count: one COUNT per request, cached."""
        if "_unread_notifications" not in g:
            membership = current_membership_or_none()
            g._unread_notifications = (
                services.unread_count(current_user.id, membership.firm_id)
                if membership is not None
                else 0
            )
        return int(g._unread_notifications)

    return {"unread_notifications": unread_notifications}


def _back() -> Any:
    return redirect(url_for("notifications.index"))


@bp.route("")
@requires("notifications.own")
def index() -> Any:
    """The user's notifications in the current firm, unread first."""
    items = services.user_notifications(current_user.id, current_firm_id())
    return render_template(
        "notifications/index.html",
        items=items,
        unread=sum(1 for n in items if n.read_at is None),
        kind_label=services.kind_label,
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@requires("notifications.own")
def read(notification_id: int) -> Any:
    """Mark one of the user's notifications as read (404 for anyone else's)."""
    notification = db.session.get(Notification, notification_id)
    if (
        notification is None
        or notification.user_id != current_user.id
        or notification.firm_id != current_firm_id()
    ):
        abort(404)
    services.mark_read(current_user.id, current_firm_id(), notification_id)
    db.session.commit()
    return _back()


@bp.route("/read-all", methods=["POST"])
@requires("notifications.own")
def read_all() -> Any:
    """Mark every notification of the user in the current firm as read."""
    count = services.mark_read(current_user.id, current_firm_id())
    db.session.commit()
    if count:
        flash(
            _("%(n)s notification(s) marquée(s) comme lue(s).", n=count),
            "success",
        )
    return _back()


@bp.route("/settings", methods=["GET", "POST"])
@requires("notifications.own")
def settings() -> Any:
    """« Mes notifications »: per kind, e-mail at once, daily digest or off."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    errors: list[str] = []
    if request.method == "POST":
        values: dict[str, str] = {}
        for kind in services.KINDS.values():
            mode = request.form.get(f"mode-{kind.name}", "")
            if mode not in kind.modes:
                errors.append(_("Choix invalide pour « %(kind)s ».", kind=kind.label))
            else:
                values[kind.name] = mode
        if not errors:
            services.save_settings(user, values)
            db.session.commit()
            flash(_("Vos préférences de notification sont enregistrées."), "success")
            return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        kinds=list(services.KINDS.values()),
        modes=services.MODE_LABELS,
        current={k: services.mode_for(user, k) for k in services.KINDS},
        digest_hour=int(current_app.config.get("DIGEST_HOUR") or 0),
        errors=errors,
    ), (400 if errors else 200)


# --- JSON API --------------------------------------------------------------------------------


def _as_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "kind_label": services.kind_label(n.kind),
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


@api_bp.route("", methods=["GET"])
@requires("notifications.own")
def api_list() -> Any:
    """The current user's notifications in its firm (unread first) and the unread count."""
    firm_id = current_firm_id()
    items = services.user_notifications(current_user.id, firm_id)
    return {
        "unread": services.unread_count(current_user.id, firm_id),
        "items": [_as_json(n) for n in items],
    }


@api_bp.route("/<int:notification_id>/read", methods=["POST"])
@requires("notifications.own")
def api_read(notification_id: int) -> Any:
    """Mark one notification as read."""
    firm_id = current_firm_id()
    notification = db.session.get(Notification, notification_id)
    if (
        notification is None
        or notification.user_id != current_user.id
        or notification.firm_id != firm_id
    ):
        api_abort(404, message="Notification introuvable.", code="not_found")
    services.mark_read(current_user.id, firm_id, notification_id)
    db.session.commit()
    return {"unread": services.unread_count(current_user.id, firm_id)}


@api_bp.route("/read-all", methods=["POST"])
@requires("notifications.own")
def api_read_all() -> Any:
    """Mark every notification as read."""
    firm_id = current_firm_id()
    count = services.mark_read(current_user.id, firm_id)
    db.session.commit()
    return {"marked": count, "unread": 0}
