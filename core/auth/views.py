"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from core.auth.audit import audit
from core.auth.forms import LoginForm, TokenForm
from core.auth.models import ApiToken, AuditEvent, User
from core.auth.permissions import public, requires
from core.auth.services import AuthError, authenticate, create_token
from core.db import db, utcnow
from core.documents.models import EVENT_LABELS, Document, DocumentEvent
from core.extensions import limiter
from core.tenancy.models import Membership
from core.tenancy.scoping import current_membership

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if not target:
        return url_for("web.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.dashboard")
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives de connexion.")
def login() -> Any:
    """The login page ("Connexion"); attempts are throttled per client address."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            email = (form.email.data or "").strip().lower()[:254]
            target = db.session.scalar(select(User).where(User.email == email))
            firm_ids = sorted(m.firm_id for m in target.memberships) if target else []
            audit(
                "login_failed",
                details={"email": email},
                user_id=target.id if target else None,
                firm_id=firm_ids[0] if firm_ids else None,
            )
            db.session.commit()
            flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            return render_template("auth/login.html", form=form), 401
        user.last_login_at = utcnow()
        first = sorted(user.memberships, key=lambda m: m.id)
        audit("login", user_id=user.id, firm_id=first[0].firm_id if first else None)
        db.session.commit()
        login_user(user, remember=bool(form.remember.data))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
@login_required
def logout() -> Any:
    """Log out (POST only, CSRF-protected)."""
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires("tokens.own")
def tokens() -> Any:
    """ "Jetons d'API": the user's tokens; create one (shown once), revoke one."""
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        scopes = [s for s in ("read", "write", "admin") if getattr(form, f"scope_{s}").data]
        membership = current_membership()
        if "admin" in scopes and membership.role != "admin":
            flash(_("Seul un administrateur peut créer un jeton d'administration."), "error")
        else:
            try:
                token, created = create_token(
                    current_user,
                    name=form.name.data or "",
                    scopes=scopes,
                    expires_in_days=form.days.data or None,
                )
            except AuthError as exc:
                flash(exc.message, "error")
            else:
                audit("token_created", target=f"token:{token.prefix}")
                db.session.commit()
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template(
        "auth/tokens.html", form=form, tokens=rows, created=created, now=utcnow()
    )


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("tokens.own")
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's own tokens."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id)
    )
    if token is None:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit("token_revoked", target=f"token:{token.prefix}")
        db.session.commit()
    flash(_("Jeton révoqué."), "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/admin/audit")
@requires("admin.view")
def audit_log() -> Any:
    """The firm's audit log: logins, settings, connector switches, validations, exports."""
    firm_id = current_membership().firm_id
    from core.state import classeur

    labels = {**classeur().plugins.labels(), **EVENT_LABELS, **AUDIT_LABELS}
    users = {
        u.id: u.email
        for u in db.session.scalars(
            select(User).join(Membership).where(Membership.firm_id == firm_id)
        )
    }
    events = [
        (
            e.created_at,
            users.get(e.user_id, "—"),
            labels.get(e.action, e.action),
            e.target or "",
            e.ip or "",
        )
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.firm_id == firm_id)
            .order_by(AuditEvent.id.desc())
            .limit(300)
        )
    ]
    for e, filename in db.session.execute(
        select(DocumentEvent, Document.filename)
        .join(Document, Document.id == DocumentEvent.document_id)
        .where(
            Document.firm_id == firm_id,
            DocumentEvent.action.in_(
                ["validated", "exported", "export_error", "export_retry", "fields_changed"]
            ),
        )
        .order_by(DocumentEvent.id.desc())
        .limit(300)
    ):
        events.append(
            (
                e.created_at,
                users.get(e.user_id, "—"),
                labels.get(e.action, e.action),
                f"{filename} {e.message or ''}",
                "",
            )
        )
    events.sort(key=lambda row: row[0], reverse=True)
    return render_template("auth/audit.html", events=events[:300])


AUDIT_LABELS = {
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "token_created": "Jeton d'API créé",
    "token_revoked": "Jeton d'API révoqué",
    "company_settings": "Paramétrage modifié",
    "connector_switch": "Connecteur activé/désactivé",
    "connector_link": "Liaison de connecteur",
    "connector_unlink": "Déliaison de connecteur",
    "plugin_switch": "Module activé/désactivé",
}
