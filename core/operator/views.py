""" "Opérateur": the platform's firms with their figures; create, disable and enable a firm.

Operators only (``operator_required``); an operator sees counts and sizes, never a
document's name or content. The JSON twin is :mod:`core.operator.api`.
"""

from __future__ import annotations

from typing import Any

from babel.units import format_unit
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from core.auth.permissions import operator_required
from core.db import db
from core.errors import ServiceError
from core.operator.services import firm_companies, firm_figures, firm_members, role_label
from core.tenancy.models import Firm
from core.tenancy.services import disable_firm, enable_firm, open_firm

bp = Blueprint("operator", __name__)


class FirmForm(FlaskForm):
    name = StringField(_l("Nom du cabinet"), validators=[DataRequired(), Length(max=200)])
    admin_email = StringField(
        _l("E-mail de son premier administrateur"), validators=[Optional(), Length(max=254)]
    )


def format_bytes(size: int) -> str:
    """``12,5 Mo``: a size in the reader's words (Babel's units)."""
    units = ("byte", "kilobyte", "megabyte", "gigabyte", "terabyte")
    value = float(size or 0)
    step = 0
    while value >= 1000 and step < len(units) - 1:
        value /= 1000
        step += 1
    value = round(value, 1) if step else int(value)
    return format_unit(value, f"digital-{units[step]}", length="short", locale=get_locale())


def operator_name() -> str:
    return current_user.name or current_user.email


def firm_or_404(firm_id: int) -> Firm:
    firm = db.session.get(Firm, firm_id)
    if firm is None:
        abort(404)
    return firm


def _opened_message(opened: Any) -> str:
    firm = opened.firm
    if opened.admin_access == "invited":
        return _(
            "Cabinet « %(name)s » créé ; une invitation a été envoyée à %(email)s.",
            name=firm.name,
            email=opened.admin.email,
        )
    if opened.admin_access == "existing":
        return _(
            "Cabinet « %(name)s » créé ; %(email)s, qui a déjà un compte, en est l'administrateur.",
            name=firm.name,
            email=opened.admin.email,
        )
    if opened.admin_access == "password":
        return _(
            "Cabinet « %(name)s » créé ; compte administrateur %(email)s, mot de passe "
            "provisoire (affiché une seule fois, à transmettre) : %(password)s",
            name=firm.name,
            email=opened.admin.email,
            password=opened.password,
        )
    return _("Cabinet « %(name)s » créé, sans administrateur pour l'instant.", name=firm.name)


@bp.route("/operator", methods=["GET", "POST"])
@operator_required
def index() -> Any:
    """The firms with their users, companies, documents, storage and last activity; the form
    creating a firm (its name and first administrator's e-mail)."""
    form = FirmForm()
    if form.validate_on_submit():
        try:
            opened = open_firm(
                form.name.data or "", form.admin_email.data, invited_by=operator_name()
            )
        except ServiceError as exc:
            db.session.rollback()
            target = getattr(form, exc.field or "", None) or form.name
            target.errors = [*target.errors, exc.message]
        else:
            db.session.commit()
            flash(_opened_message(opened), "success")
            return redirect(url_for("operator.firm", firm_id=opened.firm.id))
    status = 200 if not form.errors else 422
    return render_template(
        "operator/index.html", form=form, firms=firm_figures(), format_bytes=format_bytes
    ), status


@bp.route("/operator/firms/<int:firm_id>")
@operator_required
def firm(firm_id: int) -> Any:
    """One firm: its figures, users, companies and module switches (read only)."""
    from core.plugins.activation import plugin_states

    firm = firm_or_404(firm_id)
    figures = firm_figures([firm.id])[0]
    return render_template(
        "operator/firm.html",
        firm=firm,
        figures=figures,
        members=firm_members(firm.id),
        companies=firm_companies(firm.id),
        plugins=[p for p in plugin_states(firm.id) if p["switchable"]],
        role_label=role_label,
        format_bytes=format_bytes,
    )


@bp.route("/operator/firms/<int:firm_id>/disable", methods=["POST"])
@operator_required
def disable(firm_id: int) -> Any:
    """Disable a firm (confirmed on its page): its members are turned away, nothing deleted."""
    firm = firm_or_404(firm_id)
    if disable_firm(firm):
        db.session.commit()
        flash(
            _(
                "Cabinet « %(name)s » désactivé : ses utilisateurs ne peuvent plus se connecter "
                "ni utiliser l'API. Rien n'est effacé.",
                name=firm.name,
            ),
            "success",
        )
    else:
        flash(_("Le cabinet « %(name)s » était déjà désactivé.", name=firm.name), "info")
    return redirect(_back(firm))


@bp.route("/operator/firms/<int:firm_id>/enable", methods=["POST"])
@operator_required
def enable(firm_id: int) -> Any:
    """Enable a firm again: its members log in as before, with everything they had."""
    firm = firm_or_404(firm_id)
    if enable_firm(firm):
        db.session.commit()
        flash(_("Cabinet « %(name)s » réactivé.", name=firm.name), "success")
    else:
        flash(_("Le cabinet « %(name)s » était déjà actif.", name=firm.name), "info")
    return redirect(_back(firm))


@bp.route("/operator/firms/<int:firm_id>/users/<int:user_id>/invitation", methods=["POST"])
@operator_required
def resend_invitation(firm_id: int, user_id: int) -> Any:
    """Send a firm administrator's pending invitation again (a new 7-day link; the previous
    one becomes void), through the invitation service of the firm's own Utilisateurs page."""
    from sqlalchemy import select

    from core.auth.audit import audit
    from core.auth.services import send_invitation
    from core.tenancy.models import Membership, Role

    firm = firm_or_404(firm_id)
    membership = db.session.scalar(
        select(Membership).where(Membership.firm_id == firm.id, Membership.user_id == user_id)
    )
    if membership is None or membership.role != Role.ADMIN:
        abort(404)
    user = membership.user
    if user.invited_at is None or not user.active:
        flash(_("Cet utilisateur a déjà choisi son mot de passe."), "error")
        return redirect(url_for("operator.firm", firm_id=firm.id))
    send_invitation(user, firm, invited_by=operator_name())
    audit("invitation_resent", target=f"user:{user.id}", firm_id=firm.id)
    db.session.commit()
    flash(_("Invitation renvoyée à %(email)s.", email=user.email), "success")
    return redirect(url_for("operator.firm", firm_id=firm.id))


def _back(firm: Firm) -> str:
    if request.form.get("back") == "list":
        return url_for("operator.index")
    return url_for("operator.firm", firm_id=firm.id)
