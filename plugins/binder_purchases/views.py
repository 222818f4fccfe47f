"""Pages of the ``binder_purchases`` plugin: the review page "À valider", the documents to
review of a binder, and the company tabs "Plan comptable" and "Fournisseurs"."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from core.plugin_api import (
    Binder,
    Company,
    Document,
    DocumentState,
    FieldsError,
    ServiceError,
    classeur,
    connector_rules,
    db,
    document_checks,
    public,
    requires,
    scoping,
    update_fields,
    validate_document,
)
from plugins.binder_purchases import services
from plugins.binder_purchases.accounting.vat import VAT_CODES
from plugins.binder_purchases.extraction.fields import PAYMENT_MODES, SUPPLIER_KEYS, VAT_REGIMES
from plugins.binder_purchases.fields import validate_fields
from plugins.binder_purchases.settings import accounting_settings, purchase_binder

STATIC = Path(__file__).resolve().parent / "static"

bp = Blueprint("binder_purchases", __name__, url_prefix="/purchases", template_folder="templates")

PAYMENT_LABELS = {
    "transfer": "Virement",
    "direct_debit": "Prélèvement",
    "cheque": "Chèque",
    "card": "Carte bancaire",
    "cash": "Espèces",
    "other": "Autre",
}
REGIME_LABELS = {
    "standard": "Normal",
    "reverse_charge": "Autoliquidation",
    "intra_eu": "Intracommunautaire",
    "extra_eu": "Hors UE",
    "exempt": "Exonéré",
    "mixed": "Mixte (par ligne)",
}
KIND_LABELS = {"invoice": "Facture", "credit_note": "Avoir"}
SUPPLIER_LABELS = {
    "name": "Fournisseur",
    "siren": "SIREN",
    "siret": "SIRET",
    "vat_number": "N° de TVA",
    "iban": "IBAN",
    "country": "Pays",
}
#: VAT codes offered on the form (the Corsican alias FR_13 is shown once, as FR_130).
VAT_CHOICES = [(code, label) for code, (label, _rate) in VAT_CODES.items() if code != "FR_13"]


@bp.route("/static/<path:filename>")
@public
def static(filename: str) -> Any:
    """The plugin's scripts and styles (CSP ``script-src 'self'``: no inline script)."""
    return send_from_directory(STATIC, filename, max_age=3600)


# --- helpers ---------------------------------------------------------------------------------


def _purchase_document(document_id: int) -> tuple[Document, Binder, Company]:
    document = scoping.get_document(document_id)
    binder = db.session.get(Binder, document.binder_id)
    if binder is None or binder.type != services.BINDER_TYPE:
        abort(404)
    company = db.session.get(Company, document.company_id)
    assert company is not None
    return document, binder, company


def fr_amount(value: Any) -> str:
    """ "1234.50" → "1234,50" for the form (accepted back by the validation)."""
    return "" if value in (None, "") else str(value).replace(".", ",")


def fr_date(value: Any) -> str:
    """ "2026-03-12" → "12/03/2026"."""
    if not value or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
        return value or ""
    y, m, d = str(value).split("-")
    return f"{d}/{m}/{y}"


def fr_money(value: Any, currency: str | None = None) -> str:
    """ "1250.00" → "1 250,00 €" (Babel, in the invoice's currency); "" when missing."""
    from decimal import Decimal, InvalidOperation

    from flask_babel import format_currency

    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return format_currency(amount, (currency or "EUR").upper())


def input_name(field: str | None) -> str | None:
    """The form input of a field named by a check or an error ("vat_lines[0].rate")."""
    if not field:
        return None
    found = re.fullmatch(r"vat_lines\[(\d+)\]\.(\w+)", field)
    if found:
        return f"vat-{found.group(1)}-{found.group(2)}"
    found = re.fullmatch(r"accounting\.lines\[(\d+)\]\.(\w+)", field)
    if found:
        return f"line-{found.group(1)}-{found.group(2)}"
    return field


def _rows(fields: dict[str, Any], proposal: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per VAT line with its accounting line (account and VAT code), plus a blank row
    to add a rate."""
    vat_lines = fields.get("vat_lines") or []
    lines = (fields.get("accounting") or {}).get("lines") or []
    suggested = services.build_lines(fields, proposal)
    rows = []
    count = max(len(vat_lines), 1)
    for i in range(count):
        vat = (
            vat_lines[i]
            if i < len(vat_lines)
            else {
                "rate": None,
                "base": fields.get("total_excl_tax"),
                "amount": fields.get("total_tax"),
            }
        )
        line = lines[i] if i < len(lines) else {}
        guess = suggested[i] if i < len(suggested) else {}
        rows.append(
            {
                "rate": fr_amount(vat.get("rate")),
                "base": fr_amount(vat.get("base")),
                "amount": fr_amount(vat.get("amount")),
                "account": line.get("account") or guess.get("account") or "",
                "vat_code": line.get("vat_code") or guess.get("vat_code") or "",
                "regime": vat.get("regime") or "",
            }
        )
    rows.append({"rate": "", "base": "", "amount": "", "account": "", "vat_code": "", "regime": ""})
    return rows


def _same_rate(old: Any, typed: str) -> bool:
    from plugins.binder_purchases.extraction.fields import to_decimal

    a, b = to_decimal(old), to_decimal(typed.replace(",", ".") if typed else None)
    return a is not None and a == b


#: The review form's date inputs and amount inputs, with their labels (the errors' summary).
DATE_INPUTS = {"invoice_date": _l("Date de facture"), "due_date": _l("Date d'échéance")}
AMOUNT_INPUTS = {
    "total_excl_tax": _l("Total HT"),
    "total_tax": _l("Total TVA"),
    "total_incl_tax": _l("Total TTC"),
    "amount_due": _l("Net à payer"),
}
LINE_INPUTS = ("rate", "base", "amount")


def form_errors(form: Any, elements: dict[str, Any], rows: int) -> dict[str, str]:
    """The unreadable dates and amounts typed on the review form, by input name: each with
    its own message (« Date invalide (jj/mm/aaaa) », « Montant invalide »), all at once."""
    from plugins.binder_purchases.fields import clean_amount, clean_date, clean_rate

    errors: dict[str, str] = {}
    for name in DATE_INPUTS:
        if name == "due_date" and not elements.get("due_date"):
            continue
        try:
            clean_date(form.get(name, ""), name)
        except FieldsError:
            errors[name] = _("Date invalide (jj/mm/aaaa)")
    for name in AMOUNT_INPUTS:
        try:
            clean_amount(form.get(name, ""), name)
        except FieldsError:
            errors[name] = _("Montant invalide")
    for i in range(rows):
        for key in LINE_INPUTS:
            name = f"vat-{i}-{key}"
            try:
                if key == "rate":
                    clean_rate(form.get(name, ""), name)
                else:
                    clean_amount(form.get(name, ""), name)
            except FieldsError:
                errors[name] = _("Taux invalide") if key == "rate" else _("Montant invalide")
    return errors


def error_label(name: str) -> str:
    """The label of a review input in the errors' summary (« Total TTC », « Base HT ligne 1 »)."""
    found = re.fullmatch(r"(vat|line)-(\d+)-(\w+)", name)
    if found:
        n, key = int(found.group(2)) + 1, found.group(3)
        labels = {
            "rate": _("Taux ligne %(n)s", n=n),
            "base": _("Base HT ligne %(n)s", n=n),
            "amount": _("TVA ligne %(n)s", n=n),
            "account": _("Compte ligne %(n)s", n=n),
            "vat_code": _("Code TVA ligne %(n)s", n=n),
        }
        return labels.get(key, name)
    if name.startswith("supplier."):
        return SUPPLIER_LABELS.get(name.split(".", 1)[1], name)
    others = {
        "invoice_number": _("N° de facture"),
        "currency": _("Devise"),
        "payment_mode": _("Mode de règlement"),
    }
    return str(DATE_INPUTS.get(name) or AMOUNT_INPUTS.get(name) or others.get(name, name))


def form_changes(
    form: Any, fields: dict[str, Any], elements: dict[str, Any], rows: int
) -> dict[str, Any]:
    """The field changes typed on the review form (only the inputs shown are read)."""
    changes: dict[str, Any] = {}
    supplier = dict(fields.get("supplier") or {})
    for key in SUPPLIER_KEYS:
        name = f"supplier.{key}"
        if name in form:
            supplier[key] = form.get(name, "").strip() or None
    changes["supplier"] = supplier
    simple = [
        "invoice_date",
        "currency",
        "total_excl_tax",
        "total_tax",
        "total_incl_tax",
        "amount_due",
        "document_kind",
        "vat_regime",
    ]
    for element in ("invoice_number", "due_date", "payment_mode"):
        if elements.get(element):
            simple.append(element)
    for key in simple:
        if key in form:
            changes[key] = form.get(key, "").strip() or None
    vat_lines, lines = [], []
    old_lines = fields.get("vat_lines") or []
    label = services.default_label({**fields, **changes})
    for i in range(rows):
        rate, base, amount = (
            form.get(f"vat-{i}-{k}", "").strip() for k in ("rate", "base", "amount")
        )
        account = form.get(f"line-{i}-account", "").strip()
        if f"line-{i}-vat_code" in form:
            vat_code = form.get(f"line-{i}-vat_code", "").strip()
        else:
            old = (fields.get("accounting") or {}).get("lines") or []
            vat_code = (old[i].get("vat_code") if i < len(old) else None) or ""
        if not any((rate, base, amount, account)):
            continue
        if rate or base or amount:
            vat = {"rate": rate or None, "base": base or None, "amount": amount or None}
            # A line keeps the VAT category and regime it was read with (an intra-EU line
            # among lines at 20 %) while its rate is unchanged.
            old_vat = old_lines[i] if i < len(old_lines) else {}
            if old_vat.get("regime") and _same_rate(old_vat.get("rate"), rate):
                vat["category"], vat["regime"] = old_vat.get("category"), old_vat["regime"]
            vat_lines.append(vat)
        lines.append(
            {
                "account": account or None,
                "label": label,
                "vat_code": vat_code or None,
                "amount_excl_tax": base or None,
                "vat_amount": amount or None,
            }
        )
    if vat_lines and any(v["rate"] for v in vat_lines):
        changes["vat_lines"] = vat_lines
    elif not vat_lines:
        changes["vat_lines"] = []
    else:  # amounts without a rate: keep them as the accounting lines only
        changes["vat_lines"] = [v for v in vat_lines if v["rate"]]
    accounting = fields.get("accounting") or {}
    changes["accounting"] = {
        "lines": lines,
        "proposal": accounting.get("proposal"),
        "supplier_id": accounting.get("supplier_id"),
    }
    return changes


def _confirmed(before: dict[str, Any], cleaned: dict[str, Any]) -> dict[str, float]:
    """Confidence 1.0 for every field the accountant changed (a person typed it)."""
    confidence = dict(before.get("confidence") or {})
    for key in (
        "invoice_number",
        "invoice_date",
        "due_date",
        "currency",
        "total_excl_tax",
        "total_tax",
        "total_incl_tax",
        "amount_due",
        "payment_mode",
        "document_kind",
        "vat_regime",
        "vat_lines",
    ):
        if cleaned.get(key) != before.get(key):
            confidence[key] = 1.0
    old_sup, new_sup = before.get("supplier") or {}, cleaned.get("supplier") or {}
    for key in SUPPLIER_KEYS:
        if old_sup.get(key) != new_sup.get(key):
            confidence[f"supplier.{key}"] = 1.0
    return confidence


def _refresh_due_date(before: dict[str, Any], changes: dict[str, Any]) -> None:
    """A due date computed from the payment terms follows the invoice date when the
    accountant corrects it (or empties the due date); a due date typed by hand stays."""
    from datetime import date

    from plugins.binder_purchases.extraction.terms import due_date_from_terms
    from plugins.binder_purchases.fields import clean_date

    rule = before.get("due_date_rule")
    if not rule or "due_date" not in changes:
        return
    try:
        typed = clean_date(changes.get("due_date"), "due_date")
        invoice_date = clean_date(
            changes.get("invoice_date") or before.get("invoice_date"), "invoice_date"
        )
    except FieldsError:
        return  # the fields' validation says what is wrong with the date
    if typed and typed != before.get("due_date"):
        changes["due_date_rule"] = None  # typed by hand: the rule no longer speaks for it
        return
    if invoice_date is None:
        return
    computed = due_date_from_terms(rule, date.fromisoformat(invoice_date))
    if computed is not None:
        changes["due_date"] = computed[0].isoformat()


def _shown_elements(company: Company) -> dict[str, Any]:
    """The company's accounting elements, with the fields its connectors require switched
    on (MEG needs the due date: the field is shown even if the company did not ask for it)."""
    elements = dict(accounting_settings(company)["elements"])
    for name in services.connector_rules(company).get("required_fields") or ():
        if name in ("invoice_number", "due_date", "payment_mode"):
            elements[name] = True
    return elements


def review_queue() -> str | None:
    """The list the review was started from (``?queue=``): "firm" (the firm's « À valider »),
    "company:<id>" (that list filtered on a company), None for the binder's own queue."""
    queue = request.values.get("queue") or ""
    if queue == "firm" or re.fullmatch(r"company:\d{1,12}", queue):
        return queue
    return None


def _queue(document: Document, queue: str | None = None) -> Any:
    """The documents waiting for review in the order of the review (by id): the binder's, or
    those of the list the review was started from (every company the user sees, or one)."""
    if queue is None:
        return select(Document.id).where(
            Document.binder_id == document.binder_id, Document.state == DocumentState.TO_REVIEW
        )
    stmt = (
        scoping.documents_stmt()
        .with_only_columns(Document.id)
        .where(Document.state == DocumentState.TO_REVIEW)
    )
    if queue.startswith("company:"):
        stmt = stmt.where(Document.company_id == int(queue.split(":", 1)[1]))
    return stmt


def _next_to_review(document: Document, queue: str | None = None) -> int | None:
    """The next document to review of the queue after this one (from the first again)."""
    base = _queue(document, queue).where(Document.id != document.id)
    return db.session.scalar(
        base.where(Document.id > document.id).order_by(Document.id)
    ) or db.session.scalar(base.order_by(Document.id))


def review_link(document_id: int, queue: str | None) -> str:
    """The review page of a document of the queue: in a list of several binders it may be of
    another binder type, opened through the core's redirect to its own review page."""
    if queue is None:
        return url_for("binder_purchases.review", document_id=document_id)
    return url_for("binders.open_review", document_id=document_id, queue=queue)


def _neighbours(document: Document, queue: str | None = None) -> dict[str, Any]:
    """ "Précédent" / "Suivant" in the queue and the position ("3 / 12"): three cheap
    queries, never the whole queue loaded."""
    ids = _queue(document, queue)
    total = db.session.scalar(ids.with_only_columns(func.count(Document.id))) or 0
    in_queue = document.state == DocumentState.TO_REVIEW
    before = (
        db.session.scalar(
            ids.with_only_columns(func.count(Document.id)).where(Document.id < document.id)
        )
        or 0
    )
    previous_id = db.session.scalar(
        ids.where(Document.id < document.id).order_by(Document.id.desc())
    )
    next_id = db.session.scalar(ids.where(Document.id > document.id).order_by(Document.id))
    return {
        "previous_id": previous_id,
        "next_id": next_id,
        "previous_url": review_link(previous_id, queue) if previous_id else None,
        "next_url": review_link(next_id, queue) if next_id else None,
        "position": before + 1 if in_queue else None,
        "queue_total": total,
        "queue": queue,
    }


def _after_validation(binder: Binder) -> Any:
    """Where « Valider » leads once the binder has nothing left to review: the firm's list
    « À valider » when other binders still wait, else the binder."""
    waiting = db.session.scalar(
        scoping.documents_stmt()
        .with_only_columns(Document.id)
        .where(Document.state == DocumentState.TO_REVIEW)
        .limit(1)
    )
    if waiting is not None:
        return redirect(url_for("binders.to_review"))
    return redirect(url_for("binders.binder", binder_id=binder.id))


# --- review ----------------------------------------------------------------------------------


@bp.route("/<int:document_id>/review", methods=["GET", "POST"])
@requires("documents.review")
def review(document_id: int) -> Any:
    """ "À valider": the page preview beside the fields, the checks, the proposal; "Enregistrer"
    saves (each change an audit event), "Valider" saves, validates and opens the next one."""
    document, binder, company = _purchase_document(document_id)
    queue = review_queue()
    elements = _shown_elements(company)
    errors: dict[str, str] = {}
    status = 200
    fields = dict(document.fields or {})
    form_values: dict[str, str] | None = None
    correcting = _in_export_error(document)
    if request.method == "POST":
        if document.state != DocumentState.TO_REVIEW and not correcting:
            flash(_("Ce document n'est pas à valider."), "error")
            return redirect(url_for("documents.show", document_id=document.id))
        services.ensure_chart(company)
        rows = min(request.form.get("rows", 1, type=int) or 1, 50)
        typed_errors = form_errors(request.form, elements, rows)
        if typed_errors:
            # Every unreadable date or amount at once, before anything is saved.
            errors.update(typed_errors)
            form_values = request.form.to_dict()
            return _render_review(
                document, binder, company, elements, fields, errors, form_values, 422
            )
        changes = form_changes(request.form, fields, elements, rows)
        _refresh_due_date(fields, changes)
        # The proposal follows the corrected supplier and amounts.
        proposal = services.propose(company, {**fields, **changes}, document.text)
        changes["accounting"].update(proposal)
        try:
            cleaned = validate_fields({**fields, **changes})
            changes["confidence"] = _confirmed(fields, cleaned)
            update_fields(document, changes, current_user.id)
            db.session.commit()
        except (FieldsError, ServiceError) as exc:
            db.session.rollback()
            errors[input_name(exc.field) or "_"] = exc.message
            form_values = request.form.to_dict()
            status = 422
        else:
            if request.form.get("action") != "validate":
                flash(_("Modifications enregistrées."), "success")
                return redirect(
                    url_for("binder_purchases.review", document_id=document.id, queue=queue)
                )
            if correcting:
                # Already validated, rejected by a connector: the correction is resent.
                resent = _resend_errors(document)
                flash(_("Facture corrigée et renvoyée vers %(n)s.", n=", ".join(resent)), "success")
                return redirect(url_for("documents.show", document_id=document.id))
            try:
                validate_document(document, current_user.id)
            except ServiceError as exc:
                db.session.rollback()
                errors[input_name(exc.field) or "_"] = exc.message
                status = 422
            else:
                credit = (document.fields or {}).get("document_kind") == "credit_note"
                flash(_("Avoir validé.") if credit else _("Facture validée."), "success")
                following = _next_to_review(document, queue)
                if following is not None:
                    return redirect(review_link(following, queue))
                return _after_validation(binder)
        document = scoping.get_document(document_id)
        fields = dict(document.fields or {})
    return _render_review(document, binder, company, elements, fields, errors, form_values, status)


def _in_export_error(document: Document) -> bool:
    """A validated invoice that a connector rejected may be corrected, then resent."""
    from core.plugin_api import ExportState, ExportStatus

    if document.state != DocumentState.VALIDATED:
        return False
    return (
        db.session.scalar(
            select(ExportStatus.id).where(
                ExportStatus.document_id == document.id, ExportStatus.state == ExportState.ERROR
            )
        )
        is not None
    )


def _resend_errors(document: Document) -> list[str]:
    from core.plugin_api import ExportState, ExportStatus, retry_export

    connectors = db.session.scalars(
        select(ExportStatus.connector).where(
            ExportStatus.document_id == document.id, ExportStatus.state == ExportState.ERROR
        )
    ).all()
    for connector in connectors:
        try:
            retry_export(document, connector, current_user.id)  # sent once committed
        except ServiceError as exc:
            flash(exc.message, "error")
    db.session.commit()
    # The connectors by their names for a person (« MEG (RCA) »), never their identifiers.
    exporters = classeur().exporters
    return [getattr(exporters.get(c), "label", None) or c for c in connectors]


def _render_review(
    document: Document,
    binder: Binder,
    company: Company,
    elements: dict[str, Any],
    fields: dict[str, Any],
    errors: dict[str, str],
    form_values: dict[str, str] | None,
    status: int,
) -> Any:
    proposal = services.propose(company, fields, document.text)
    checks = document_checks(document) if fields else []
    if errors:
        # A field typed wrong says so beside it: not also « Champ obligatoire manquant ».
        checks = [c for c in checks if not c.get("field") or input_name(c["field"]) not in errors]
    confidence = fields.get("confidence") or {}
    accounts = services.accounts(company, active_only=True)
    allowed = services.allowed_classes(company, elements)
    allowed_accounts = [a for a in accounts if services.class_allowed(a.number, elements, allowed)]
    known_codes = services.connector_rules(company).get("vat_codes")
    vat_choices = [c for c in VAT_CHOICES if known_codes is None or c[0] in known_codes]
    proposal_document = None
    source_id = (proposal["proposal"] or {}).get("document_id")
    if source_id:
        proposal_document = db.session.scalar(
            select(Document).where(Document.id == source_id, Document.company_id == company.id)
        )
    rows = _rows(fields, proposal["proposal"])
    values: dict[str, Any] = {
        f"supplier.{k}": (fields.get("supplier") or {}).get(k) or "" for k in SUPPLIER_KEYS
    }
    values.update(
        {
            "invoice_number": fields.get("invoice_number") or "",
            "invoice_date": fr_date(fields.get("invoice_date")),
            "due_date": fr_date(fields.get("due_date")),
            "currency": fields.get("currency") or "",
            "total_excl_tax": fr_amount(fields.get("total_excl_tax")),
            "total_tax": fr_amount(fields.get("total_tax")),
            "total_incl_tax": fr_amount(fields.get("total_incl_tax")),
            "amount_due": fr_amount(fields.get("amount_due")),
            "payment_mode": fields.get("payment_mode") or "",
            "vat_regime": fields.get("vat_regime") or "standard",
            "document_kind": fields.get("document_kind") or "invoice",
        }
    )
    if form_values:  # show back what was typed, with the error beside it
        values.update({k: v for k, v in form_values.items() if k in values})
        for i, row in enumerate(rows):
            for key in ("rate", "base", "amount"):
                row[key] = form_values.get(f"vat-{i}-{key}", row[key])
            for key in ("account", "vat_code"):
                row[key] = form_values.get(f"line-{i}-{key}", row[key])
    # Without a low-confidence field name from the text, an empty value needs a look too.

    def conf(key: str) -> float | None:
        value = confidence.get(key)
        return float(value) if value is not None else None

    def low(key: str) -> bool:
        value = conf(key)
        return value is None or value < services.LOW_CONFIDENCE

    db.session.commit()  # the chart may have been seeded on first use
    return render_template(
        "binder_purchases/review.html",
        read_with_template=(fields.get("reading") or {}).get("method") == "template",
        document=document,
        binder=binder,
        company=company,
        elements=elements,
        fields=fields,
        values=values,
        rows=rows,
        errors=errors,
        checks=checks,
        blocking=[c for c in checks if c["level"] == "error"],
        proposal=proposal["proposal"],
        accounts=allowed_accounts,
        allowed_classes=sorted(allowed),
        vat_choices=vat_choices,
        proposal_document=proposal_document,
        # A guess (keyword rule, weak model) is highlighted on the lines that still carry it.
        proposal_low=bool(
            proposal["proposal"]
            and (proposal["proposal"].get("confidence") or 0) < services.LOW_CONFIDENCE
        ),
        payment_labels=PAYMENT_LABELS,
        regime_labels=REGIME_LABELS,
        kind_labels=KIND_LABELS,
        payment_modes=PAYMENT_MODES,
        regimes=VAT_REGIMES,
        supplier_labels=SUPPLIER_LABELS,
        conf=conf,
        low=low,
        input_name=input_name,
        error_label=error_label,
        following_id=_next_to_review(document, review_queue()),
        **_neighbours(document, review_queue()),
    ), status


@bp.route("/binders/<int:binder_id>/to-review")
@requires("documents.review")
def to_review(binder_id: int) -> Any:
    """The documents of a purchase binder waiting for review, oldest first."""
    binder = scoping.get_binder(binder_id)
    if binder.type != services.BINDER_TYPE:
        abort(404)
    documents = db.session.scalars(
        select(Document)
        .where(Document.binder_id == binder.id, Document.state == DocumentState.TO_REVIEW)
        .order_by(Document.id)
        .limit(500)
    ).all()
    total = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.binder_id == binder.id, Document.state == DocumentState.TO_REVIEW
        )
    )
    return render_template(
        "binder_purchases/to_review.html",
        binder=binder,
        documents=documents,
        total=total,
        summary=services.summary,
        fr_date=fr_date,
        fr_money=fr_money,
        company=db.session.get(Company, binder.company_id),
    )


# --- company tabs ----------------------------------------------------------------------------


def _may_write() -> bool:
    from core.plugin_api import role_allows

    return role_allows(scoping.current_membership().role, "accounting.write")


@bp.route("/companies/<int:company_id>/general", methods=["GET", "POST"])
@requires("accounting.read")
def general(company_id: int) -> Any:
    """Tab "Paramétrage général" (seed, steps 2 to 7): the software (one of the installed
    connectors), the dossier code, the purchase binder and the accounting elements."""
    from core.plugin_api import audit, create_binder, update_company, update_company_settings
    from plugins.binder_purchases.forms import GeneralSettingsForm
    from plugins.binder_purchases.settings import ELEMENTS

    company = scoping.get_company(company_id)
    current = accounting_settings(company)
    binder = purchase_binder(company)
    form = GeneralSettingsForm(
        data={
            "software": current["software"],
            "dossier_code": company.dossier_code,
            "binder_type": binder.type if binder else services.BINDER_TYPE,
            "binder_name": binder.name if binder else _("Factures d'achat"),
            **current["elements"],
        }
    )
    state = classeur()
    # The software: every installed connector that names one and takes purchases.
    form.software.choices = [("", _("— Aucun —"))] + [
        (e.software, e.label)
        for e in state.exporters.all()
        if getattr(e, "software", None) and services.BINDER_TYPE in e.binder_types
    ]
    form.binder_type.choices = state.binder_types.choices()
    if form.validate_on_submit():
        if not _may_write():
            return _("Accès refusé."), 403
        try:
            update_company(company, {"dossier_code": form.dossier_code.data})
            name = (form.binder_name.data or "").strip()
            binder = db.session.scalar(
                select(Binder).where(Binder.company_id == company.id, Binder.name == name)
            )
            if binder is None:
                binder = create_binder(company, type=form.binder_type.data or "", name=name)
            elif binder.type != form.binder_type.data:
                raise ServiceError(
                    _("Le classeur « %(name)s » existe déjà avec un autre type.", name=name),
                    "binder_name",
                )
            update_company_settings(
                company,
                "accounting",
                {
                    "software": form.software.data or "",
                    "purchase_binder_id": binder.id,
                    "elements": {e: bool(getattr(form, e).data) for e in ELEMENTS},
                },
            )
        except ServiceError as exc:
            db.session.rollback()
            target = getattr(form, exc.field, None) if exc.field else None
            if target is not None:
                target.errors = [*target.errors, exc.message]
            else:
                flash(exc.message, "error")
        else:
            audit(
                "company_settings",
                target=f"company:{company.id}",
                details={"section": "accounting"},
            )
            db.session.commit()
            flash(_("Paramétrage enregistré."), "success")
            return redirect(url_for("binder_purchases.general", company_id=company.id))
    binder = purchase_binder(company)
    rules = connector_rules(company.firm_id, company.id, binder.type) if binder else None
    if rules:
        binder_type = state.binder_types.get(binder.type)
        labels = (binder_type.extra or {}).get("field_labels", {}) if binder_type else {}
        rules["required_labels"] = sorted(
            labels.get(name.split(".")[0], name) for name in rules["required_fields"]
        )
    return render_template(
        "binder_purchases/general.html",
        company=company,
        form=form,
        tabs=state.company_tabs,
        active_tab="general",
        rules=rules,
    )


@bp.route("/companies/<int:company_id>/accounts", methods=["GET", "POST"])
@requires("accounting.read")
def accounts(company_id: int) -> Any:
    """Tab "Plan comptable": the company's chart; add an account (admins, accountants)."""
    company = scoping.get_company(company_id)
    error: ServiceError | None = None
    if request.method == "POST":
        if not _may_write():
            abort(403)
        try:
            account = services.add_account(
                company, request.form.get("number", ""), request.form.get("label", "")
            )
        except ServiceError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            flash(_("Compte %(number)s enregistré.", number=account.number), "success")
            return redirect(url_for("binder_purchases.accounts", company_id=company.id))
    rows = services.accounts(company)
    db.session.commit()
    return render_template(
        "binder_purchases/accounts.html",
        company=company,
        tabs=classeur().company_tabs,
        active_tab="accounts",
        accounts=rows,
        error=error,
        form=request.form,
        elements=accounting_settings(company)["elements"],
    ), (422 if error else 200)


@bp.route("/companies/<int:company_id>/accounts/<int:account_id>", methods=["POST"])
@requires("accounting.write")
def account(company_id: int, account_id: int) -> Any:
    """Rename, deactivate or reactivate one account."""
    company = scoping.get_company(company_id)
    try:
        acc = services.get_account(company, account_id)
        action = request.form.get("action", "rename")
        if action == "deactivate":
            services.update_account(acc, active=False)
        elif action == "activate":
            services.update_account(acc, active=True)
        else:
            services.update_account(acc, label=request.form.get("label", ""))
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Compte %(number)s enregistré.", number=acc.number), "success")
    return redirect(url_for("binder_purchases.accounts", company_id=company.id))


@bp.route("/companies/<int:company_id>/suppliers")
@requires("accounting.read")
def suppliers(company_id: int) -> Any:
    """Tab "Fournisseurs": the supplier directory and what Classeur remembers of each (its
    account, VAT code and template)."""
    from plugins.binder_purchases.supplier_templates import templates_by_supplier

    company = scoping.get_company(company_id)
    rows = services.suppliers(company)
    return render_template(
        "binder_purchases/suppliers.html",
        company=company,
        tabs=classeur().company_tabs,
        active_tab="suppliers",
        suppliers=rows,
        templates=templates_by_supplier([s.id for s in rows]),
        may_forget=_may_write(),
    )


@bp.route("/companies/<int:company_id>/suppliers/forget-template", methods=["POST"])
@requires("accounting.write")
def forget_supplier_template(company_id: int) -> Any:
    """Forget the template of the supplier ``supplier_id`` (form field): its next invoices
    are read without it, until the validation of one of them teaches it again."""
    from plugins.binder_purchases.supplier_templates import forget_template

    company = scoping.get_company(company_id)
    supplier_id = request.form.get("supplier_id", type=int)
    if supplier_id is None or not forget_template(company.id, supplier_id):
        abort(404)
    db.session.commit()
    flash(_("Modèle du fournisseur oublié."), "success")
    return redirect(url_for("binder_purchases.suppliers", company_id=company.id))


@bp.route("/<int:document_id>/not-duplicate", methods=["POST"])
@requires("documents.review")
def not_duplicate(document_id: int) -> Any:
    """ "Ce n'est pas un doublon": the document is no longer compared with ``other_id``."""
    document, _binder, _company = _purchase_document(document_id)
    other_id = request.form.get("other_id", type=int)
    if other_id is None:
        abort(400)
    try:
        services.dismiss_duplicate(document, other_id, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(
            _("Noté : ce document n'est pas un doublon du document n° %(n)s.", n=other_id),
            "success",
        )
    return redirect(url_for("binder_purchases.review", document_id=document.id))


# --- the supplier's card ---------------------------------------------------------------------


def _supplier(company: Company, supplier_id: int) -> Any:
    try:
        return services.get_supplier(company, supplier_id)
    except ServiceError:
        abort(404)


@bp.route("/companies/<int:company_id>/suppliers/<int:supplier_id>")
@requires("accounting.read")
def supplier(company_id: int, supplier_id: int) -> Any:
    """The supplier's card: its identity, and each value Classeur learned (or was refused)
    with its source; the accountant changes or forgets them."""
    from plugins.binder_purchases import memory

    company = scoping.get_company(company_id)
    found = _supplier(company, supplier_id)
    rows = memory.rows(found)
    invoices = db.session.scalars(
        select(Document)
        .where(Document.company_id == company.id, Document.state != DocumentState.FAILED)
        .order_by(Document.id.desc())
        .limit(2000)
    ).all()
    mine = [
        d
        for d in invoices
        if services.same_supplier(
            (d.fields or {}).get("supplier") or {},
            {"name": found.name, "siren": found.siren, "vat_number": found.vat_number},
        )
    ][:20]
    return render_template(
        "binder_purchases/supplier.html",
        company=company,
        tabs=classeur().company_tabs,
        active_tab="suppliers",
        supplier=found,
        rows=rows,
        describe=memory.describe,
        field_labels=memory.FIELD_LABELS,
        status_labels={
            "learned": _("Retenu"),
            "refused": _("Refusé"),
            "proposed": _("À confirmer"),
        },
        invoices=mine,
        may_write=_may_write(),
        vat_choices=VAT_CHOICES,
    )


@bp.route("/companies/<int:company_id>/suppliers/<int:supplier_id>/memory", methods=["POST"])
@requires("accounting.write")
def supplier_memory(company_id: int, supplier_id: int) -> Any:
    """Change what is proposed for this supplier (``field``, ``value``), forget a value
    (``forget`` = row id) or confirm a new IBAN (``confirm`` = row id)."""
    from plugins.binder_purchases import memory

    company = scoping.get_company(company_id)
    found = _supplier(company, supplier_id)
    try:
        if request.form.get("forget"):
            row = memory.get_row(found, request.form.get("forget", type=int) or 0)
            memory.forget(row)
            message = _(
                "%(field)s %(value)s oublié.", field=memory.FIELD_LABELS[row.field], value=row.value
            )
        elif request.form.get("confirm"):
            row = memory.get_row(found, request.form.get("confirm", type=int) or 0)
            memory.confirm_iban(row, current_user.id)
            message = _("Nouvel IBAN %(value)s confirmé.", value=row.value)
        else:
            field = request.form.get("field", "")
            row = memory.set_value(found, field, request.form.get("value", ""), current_user.id)
            message = _(
                "%(field)s %(value)s retenu pour ce fournisseur.",
                field=memory.FIELD_LABELS.get(field, field),
                value=row.value,
            )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(
        url_for("binder_purchases.supplier", company_id=company.id, supplier_id=found.id)
    )
