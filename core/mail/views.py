"""Administration → E-mails (``/admin/mails``): the firm's outbox (state, attempts, last
error, « Renvoyer » for a failed mail), whether sending is configured, and, when the demo's
mail catcher runs, the messages it caught (only those of the firm's own outbox)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from core.auth.audit import audit
from core.auth.models import User
from core.auth.permissions import requires
from core.db import db
from core.mail import catcher, services
from core.mail.models import MailState, OutgoingMail
from core.tenancy.scoping import current_firm_id

bp = Blueprint("mail", __name__, url_prefix="/admin/mails")


def _label_audit_actions() -> None:
    """Name this page's audit action in the « Journal d'audit »."""
    from core.auth.views import AUDIT_LABELS

    AUDIT_LABELS.setdefault("mail_retry", "E-mail renvoyé")


_label_audit_actions()

STATE_LABELS = {
    MailState.PENDING: _l("En attente"),
    MailState.SENDING: _l("En cours d'envoi"),
    MailState.SENT: _l("Envoyé"),
    MailState.FAILED: _l("Échec"),
}


def _state_label(state: MailState) -> str:
    return str(STATE_LABELS.get(state, state))


def _catcher_on() -> bool:
    return bool(current_app.config.get("MAIL_CATCHER_PORT"))


def _firm_caught(firm_id: int) -> list[catcher.CaughtMail]:
    """The caught messages that came from this firm's outbox (the catcher is shared by the
    instance: another firm's mail is never shown)."""
    caught = catcher.caught_mails(current_app.config["DATA_DIR"])
    ids = {c.mail_id for c in caught if c.mail_id is not None}
    if not ids:
        return []
    own = set(
        db.session.scalars(
            select(OutgoingMail.id).where(OutgoingMail.id.in_(ids), OutgoingMail.firm_id == firm_id)
        )
    )
    return [c for c in caught if c.mail_id in own]


@bp.route("")
@requires("admin.view")
def index() -> Any:
    """The firm's outbox, newest first, and the caught messages of the demo."""
    firm_id = current_firm_id()
    return render_template(
        "mail/pages/outbox.html",
        mails=services.outbox(firm_id),
        configured=services.mail_configured(),
        smtp_host=current_app.config.get("SMTP_HOST"),
        smtp_port=current_app.config.get("SMTP_PORT"),
        catcher_on=_catcher_on(),
        caught=_firm_caught(firm_id) if _catcher_on() else [],
        state_label=_state_label,
        states=MailState,
    )


@bp.route("/<int:mail_id>/retry", methods=["POST"])
@requires("admin.view")
def retry(mail_id: int) -> Any:
    """« Renvoyer »: a failed mail of the firm goes back to the queue."""
    mail = db.session.scalar(
        select(OutgoingMail).where(
            OutgoingMail.id == mail_id, OutgoingMail.firm_id == current_firm_id()
        )
    )
    if mail is None:
        abort(404)
    if services.retry(mail):
        audit("mail_retry", target=f"mail:{mail.id}")
        db.session.commit()
        flash(_("L'e-mail à %(to)s est remis dans la file d'envoi.", to=mail.to_address), "success")
    else:
        flash(_("Seul un e-mail en échec peut être renvoyé."), "error")
    return redirect(url_for("mail.index"))


@bp.route("/caught/<name>")
@requires("admin.view")
def caught(name: str) -> Any:
    """One message caught by the demo's mail catcher, as received (the firm's own only)."""
    if not _catcher_on():
        abort(404)
    message = catcher.caught_mail(current_app.config["DATA_DIR"], name)
    if message is None or message.mail_id is None:
        abort(404)
    firm_id = current_firm_id()
    owned = db.session.scalar(
        select(OutgoingMail).where(
            OutgoingMail.id == message.mail_id, OutgoingMail.firm_id == firm_id
        )
    )
    if owned is None:
        abort(404)
    return render_template(
        "mail/pages/caught.html",
        message=message,
        readable=_readable_here(owned, firm_id),
        text_html=linkify(message.text or ""),
    )


#: An http(s) address in escaped text (an escaped ``<``, ``>`` or quote ends it).
_URL = re.compile(r"https?://(?:(?!&(?:lt|gt|#\d+);)[^\s<>\"'«»])+")


def linkify(text: str) -> Markup:
    """The text escaped first, then its http(s) addresses made links (nothing else: no
    ``javascript:``); a sentence's final punctuation stays out of the link."""
    out: list[str] = []
    escaped = str(escape(text))
    last = 0
    for match in _URL.finditer(escaped):
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)]":
            trail = url[-1] + trail
            url = url[:-1]
        out.append(escaped[last : match.start()])
        out.append(f'<a href="{url}" rel="noopener noreferrer">{url}</a>{trail}')
        last = match.end()
    out.append(escaped[last:])
    return Markup("".join(out))  # noqa: S704 - built from escaped text only


def _readable_here(mail: OutgoingMail, firm_id: int) -> bool:
    """Whether this firm's administrator may read the message's text: not when it was sent to
    a person who is also in another firm or runs the platform (its links — a password reset —
    would open more than this firm)."""
    if mail.user_id is None:
        return True
    user = db.session.get(User, mail.user_id)
    if user is None:
        return True
    if user.is_operator:
        return False
    return all(m.firm_id == firm_id for m in user.memberships)
