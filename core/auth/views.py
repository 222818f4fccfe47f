"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from core.auth.forms import LoginForm
from core.auth.permissions import public
from core.auth.services import authenticate
from core.db import db, utcnow

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if not target:
        return url_for("web.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.dashboard")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    """The login page ("Connexion")."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            return render_template("auth/login.html", form=form), 401
        user.last_login_at = utcnow()
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
