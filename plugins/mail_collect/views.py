"""Pages of the ``mail_collect`` plugin: the company tab "Collecte par e-mail" and the firm's
"Quarantaine" (release, delete, download the message)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.plugin_api import (
    Company,
    SecretError,
    ServiceError,
    audit,
    classeur,
    db,
    requires,
    role_allows,
    scoping,
)
from plugins.mail_collect import services
from plugins.mail_collect.models import MailMessage, QuarantineItem

bp = Blueprint("mail_collect", __name__, template_folder="templates")


def _imap_view(mailbox: Any) -> tuple[dict[str, Any], str | None]:
    """IMAP settings for the form (never the password), and an error if unreadable."""
    try:
        current = services.imap_settings(mailbox)
    except SecretError as exc:
        return {}, str(exc)
    current.pop("password", None)
    return current, None


@bp.route("/companies/<int:company_id>/mail-collect", methods=["GET", "POST"])
@requires("accounting.read")
def company_tab(company_id: int) -> Any:
    """Tab "Collecte par e-mail": the address, "Collecte activée", the allowed senders, the
    IMAP mailbox to poll, the last messages received."""
    company = scoping.get_company(company_id)
    if request.method == "POST":
        if not role_allows(scoping.current_membership().role, "accounting.write"):
            abort(403)
        mailbox = services.mailbox_in_session(company)
        form = request.form
        try:
            mailbox.allowed_senders = services.parse_senders(form.get("allowed_senders", ""))
            mailbox.enabled = form.get("enabled") == "on"
            services.set_imap_settings(
                mailbox,
                {
                    "host": form.get("imap_host", ""),
                    "port": form.get("imap_port", ""),
                    "security": form.get("imap_security", "ssl"),
                    "user": form.get("imap_user", ""),
                    "password": form.get("imap_password", ""),
                    "folder": form.get("imap_folder", ""),
                    "move_to": form.get("imap_move_to", ""),
                },
            )
            mailbox.imap_enabled = bool(mailbox.imap_secret) and form.get("imap_enabled") == "on"
        except (ServiceError, SecretError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", str(exc)), "error")
            return redirect(url_for("mail_collect.company_tab", company_id=company.id))
        audit(
            "company_settings",
            target=f"company:{company.id}",
            details={"section": "mail_collect", "enabled": mailbox.enabled},
        )
        db.session.commit()
        flash(_("Paramétrage enregistré."), "success")
        return redirect(url_for("mail_collect.company_tab", company_id=company.id))
    mailbox = services.mailbox_for(company)
    imap, imap_error = _imap_view(mailbox)
    messages = db.session.scalars(
        select(MailMessage)
        .where(MailMessage.company_id == company.id)
        .order_by(MailMessage.id.desc())
        .limit(20)
    ).all()
    waiting = db.session.scalar(
        select(func.count(QuarantineItem.id)).where(QuarantineItem.company_id == company.id)
    )
    return render_template(
        "mail_collect/company_tab.html",
        company=company,
        tabs=classeur().company_tabs,
        active_tab="mail_collect",
        mailbox=mailbox,
        address=services.collection_address(mailbox, company),
        imap=imap,
        imap_error=imap_error,
        security_choices=services.IMAP_SECURITY,
        messages=messages,
        waiting=waiting or 0,
    )


def _item(item_id: int) -> QuarantineItem:
    """A quarantine item of the current firm (admins see the whole firm), or 404."""
    item = db.session.scalar(
        select(QuarantineItem).where(
            QuarantineItem.id == item_id, QuarantineItem.firm_id == scoping.current_firm_id()
        )
    )
    if item is None:
        abort(404)
    return item


@bp.route("/mail-collect/quarantine")
@requires("admin.view")
def quarantine() -> Any:
    """ "Quarantaine": what e-mail collection could not file, for the whole firm."""
    rows = db.session.execute(
        select(QuarantineItem, MailMessage, Company)
        .join(MailMessage, MailMessage.id == QuarantineItem.message_pk)
        .join(Company, Company.id == QuarantineItem.company_id)
        .where(QuarantineItem.firm_id == scoping.current_firm_id())
        .order_by(QuarantineItem.id.desc())
        .limit(500)
    ).all()
    return render_template(
        "mail_collect/quarantine.html",
        rows=[(item, message, company, reason_parts(item)) for item, message, company in rows],
    )


def reason_parts(item: QuarantineItem) -> tuple[str | None, str]:
    """(label, detail) of an item's reason, each said once: a reason that starts with its
    label ("Expéditeur non autorisé : x") is split there rather than shown after it again."""
    label = services.REASON_LABELS.get(item.reason_code)
    reason = item.reason or ""
    if not label:
        return None, reason
    for text in (reason, reason.split(" : ", 1)[-1] if " : " in reason else ""):
        if text.startswith(label):
            detail = text[len(label) :].lstrip(" :—-")
            prefix = reason[: len(reason) - len(text)]
            return label, (prefix + detail).strip()
    return label, reason


@bp.route("/mail-collect/quarantine/<int:item_id>/release", methods=["POST"])
@requires("admin.view")
def release(item_id: int) -> Any:
    """ "Libérer": file the message or attachment despite its reason."""
    item = _item(item_id)
    target = f"mail_collect_quarantine:{item.id}"
    try:
        documents = services.release(item, current_user.id, current_user.email)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        audit("mail_collect_release", target=target, details={"documents": documents})
        db.session.commit()
        flash(_("Libéré : %(count)d document(s) classé(s).", count=len(documents)), "success")
    return redirect(url_for("mail_collect.quarantine"))


@bp.route("/mail-collect/quarantine/<int:item_id>/delete", methods=["POST"])
@requires("admin.view")
def delete(item_id: int) -> Any:
    """ "Supprimer": drop the item (and the message's copy once nothing refers to it), once
    « Confirmer la suppression » is ticked (a required checkbox of the form: no script)."""
    item = _item(item_id)
    if request.form.get("confirm") != "on":
        flash(
            _(
                "Cochez « Confirmer la suppression » pour supprimer ce message de la "
                "quarantaine : rien n'a été supprimé."
            ),
            "error",
        )
        return redirect(url_for("mail_collect.quarantine"))
    target = f"mail_collect_quarantine:{item.id}"
    services.delete(item)
    audit("mail_collect_delete", target=target)
    db.session.commit()
    flash(_("Supprimé de la quarantaine."), "success")
    return redirect(url_for("mail_collect.quarantine"))


@bp.route("/mail-collect/quarantine/<int:item_id>/message.eml")
@requires("admin.view")
def download(item_id: int) -> Any:
    """The quarantined message as received (``.eml``)."""
    item = _item(item_id)
    message = db.session.get(MailMessage, item.message_pk)
    path = services.raw_path(message.raw_sha256) if message else None
    if path is None or not path.exists():
        abort(404)
    return send_file(
        path, mimetype="message/rfc822", as_attachment=True, download_name=f"message-{item.id}.eml"
    )
