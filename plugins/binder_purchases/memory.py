"""The supplier memory: what Classeur learned about each supplier, and from where.

A value is learned only once it was **accepted**: the invoice was validated and every
connector enabled for its company took it (or none is enabled). A connector's refusal of an
account or a VAT code is remembered as ``refused`` for the supplier: the value is never
proposed again for it, and a learned value that gets refused is unlearned. A new IBAN is never
learned silently: it waits for the accountant's confirmation on the supplier's card.

Every row keeps its source (invoice, date, user), shown on the supplier's card and in the
review page's proposal.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select

from core.plugin_api import (
    Company,
    Document,
    DocumentEvent,
    ExportState,
    ExportStatus,
    ServiceError,
    User,
    db,
    utcnow,
)
from plugins.binder_purchases.models import Supplier, SupplierMemory

log = logging.getLogger("classeur.plugins.binder_purchases")

LEARNED, REFUSED, PROPOSED = "learned", "refused", "proposed"
FIELDS = ("account", "vat_code", "iban")
FIELD_LABELS = {"account": "Compte", "vat_code": "Code TVA", "iban": "IBAN"}
#: The audit event of a document whose values were learned (one per document version).
LEARNED_EVENT = "supplier_learned"

#: Export states that end a connector's part: the invoice is accepted once all are here.
SETTLED = (ExportState.EXPORTED, ExportState.SKIPPED)

_LINE_FIELD = re.compile(r"(?:accounting\.)?lines\[(\d+)\]\.(account|vat_code)")


def accepted(document: Document) -> bool:
    """Validated, and no connector is still sending it or refused it."""
    waiting = db.session.scalar(
        select(ExportStatus.id)
        .where(
            ExportStatus.document_id == document.id,
            ExportStatus.state.not_in(SETTLED),
        )
        .limit(1)
    )
    return waiting is None


def _amount(value: Any) -> Decimal:
    try:
        return abs(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def main_line(fields: dict[str, Any]) -> dict[str, Any] | None:
    """The accounting line that speaks for the invoice: the largest base with an account."""
    lines = [
        line for line in (fields.get("accounting") or {}).get("lines") or [] if line.get("account")
    ]
    if not lines:
        return None
    return max(lines, key=lambda line: _amount(line.get("amount_excl_tax")))


def rows(supplier: Supplier) -> list[SupplierMemory]:
    """The supplier's memory, by field then status."""
    return list(
        db.session.scalars(
            select(SupplierMemory)
            .where(SupplierMemory.supplier_id == supplier.id)
            .order_by(SupplierMemory.field, SupplierMemory.status, SupplierMemory.id)
        )
    )


def learned(supplier: Supplier, field: str) -> SupplierMemory | None:
    """The learned value of a field, or None."""
    return db.session.scalar(
        select(SupplierMemory).where(
            SupplierMemory.supplier_id == supplier.id,
            SupplierMemory.field == field,
            SupplierMemory.status == LEARNED,
        )
    )


def refused_values(supplier_id: int | None, field: str) -> set[str]:
    """Values of a field a connector refused for this supplier."""
    if supplier_id is None:
        return set()
    return set(
        db.session.scalars(
            select(SupplierMemory.value).where(
                SupplierMemory.supplier_id == supplier_id,
                SupplierMemory.field == field,
                SupplierMemory.status == REFUSED,
            )
        )
    )


def _row(supplier: Supplier, field: str, value: str) -> SupplierMemory:
    row = db.session.scalar(
        select(SupplierMemory).where(
            SupplierMemory.supplier_id == supplier.id,
            SupplierMemory.field == field,
            SupplierMemory.value == value,
        )
    )
    if row is None:
        company = db.session.get(Company, supplier.company_id)
        assert company is not None
        row = SupplierMemory(
            firm_id=company.firm_id, supplier_id=supplier.id, field=field, value=value
        )
        db.session.add(row)
    return row


def _sync(supplier: Supplier) -> None:
    """Keep the supplier's summary columns equal to its learned values."""
    account = learned(supplier, "account")
    vat_code = learned(supplier, "vat_code")
    iban = learned(supplier, "iban")
    supplier.last_account = account.value if account else None
    supplier.last_vat_code = vat_code.value if vat_code else None
    if iban is not None:
        supplier.iban = iban.value


def _learn(
    supplier: Supplier,
    field: str,
    value: str,
    *,
    origin: str,
    document: Document | None,
    user_id: int | None,
    status: str = LEARNED,
) -> SupplierMemory:
    if status == LEARNED:
        db.session.execute(
            delete(SupplierMemory).where(
                SupplierMemory.supplier_id == supplier.id,
                SupplierMemory.field == field,
                SupplierMemory.status == LEARNED,
                SupplierMemory.value != value,
            )
        )
    row = _row(supplier, field, value)
    row.status, row.origin, row.user_id, row.note = status, origin, user_id, None
    row.document_id = document.id if document is not None else None
    row.invoice_number = (
        (document.fields or {}).get("invoice_number") if document is not None else None
    )
    row.created_at = utcnow()
    db.session.flush()
    return row


def validator_id(document: Document) -> int | None:
    """Who validated the document (its last "validated" event)."""
    return db.session.scalar(
        select(DocumentEvent.user_id)
        .where(DocumentEvent.document_id == document.id, DocumentEvent.action == "validated")
        .order_by(DocumentEvent.id.desc())
        .limit(1)
    )


def already_learned(document: Document) -> bool:
    """Whether this version of the document was already learned from."""
    events = db.session.scalars(
        select(DocumentEvent.after).where(
            DocumentEvent.document_id == document.id, DocumentEvent.action == LEARNED_EVENT
        )
    ).all()
    return any((after or {}).get("version") == document.version for after in events)


def _grouped_iban(iban: str) -> str:
    """ "FR7630006000011234567890189" → "FR76 3000 6000 0112 3456 7890 189"."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def learned_message(out: dict[str, str]) -> str:
    """What was learned, in French for the document's history: « compte 6262, code TVA FR_200
    (20 %), IBAN FR76 3000 … »; never the fields' raw keys."""
    from babel.numbers import format_decimal

    from plugins.binder_purchases.accounting.vat import VAT_CODES

    parts = []
    if out.get("account"):
        parts.append(f"compte {out['account']}")
    if out.get("vat_code"):
        code = out["vat_code"]
        known = VAT_CODES.get(code)
        rate = f" ({format_decimal(known[1], locale='fr_FR')}\u00a0%)" if known else ""
        parts.append(f"code TVA {code}{rate}")
    if out.get("iban"):
        parts.append(f"IBAN {_grouped_iban(out['iban'])}")
    if out.get("iban_proposed"):
        parts.append(f"nouvel IBAN {_grouped_iban(out['iban_proposed'])} à confirmer")
    return ", ".join(parts)


def learn_from_document(document: Document, supplier: Supplier) -> dict[str, str]:
    """Learn the account, VAT code and IBAN of an accepted invoice; flushes.

    A refused value that this invoice carries again and that was now accepted stops being
    refused. Returns what was learned (``{field: value}``), also kept as an audit event.
    """
    fields = document.fields or {}
    user_id = validator_id(document)
    out: dict[str, str] = {}
    line = main_line(fields)
    if line is not None:
        for field in ("account", "vat_code"):
            value = line.get(field)
            if value:
                _learn(
                    supplier, field, value, origin="validated", document=document, user_id=user_id
                )
                out[field] = value
    iban = ((fields.get("supplier") or {}).get("iban") or "").replace(" ", "").upper()
    if iban:
        known = learned(supplier, "iban")
        if known is None or known.value == iban:
            _learn(supplier, "iban", iban, origin="validated", document=document, user_id=user_id)
            out["iban"] = iban
        else:
            # Never learned silently: the accountant confirms it on the supplier's card.
            _learn(
                supplier,
                "iban",
                iban,
                origin="validated",
                document=document,
                user_id=user_id,
                status=PROPOSED,
            )
            out["iban_proposed"] = iban
    _sync(supplier)
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=None,
            action=LEARNED_EVENT,
            message=learned_message(out) or None,
            after={"version": document.version, "supplier_id": supplier.id, **out},
        )
    )
    db.session.flush()
    return out


def record_refusal(
    document: Document, supplier: Supplier, field_path: str | None, message: str | None
) -> SupplierMemory | None:
    """Remember a connector's refusal of an account or VAT code of the supplier; flushes.

    ``field_path`` is the field the connector named ("accounting.lines[0].account"). A learned
    value that is refused is unlearned at once.
    """
    found = _LINE_FIELD.fullmatch(field_path or "")
    if not found:
        return None
    index, field = int(found.group(1)), found.group(2)
    lines = ((document.fields or {}).get("accounting") or {}).get("lines") or []
    if index >= len(lines) or not lines[index].get(field):
        return None
    value = str(lines[index][field])
    row = _row(supplier, field, value)
    row.status, row.origin = REFUSED, "connector"
    row.document_id = document.id
    row.invoice_number = (document.fields or {}).get("invoice_number")
    row.user_id = None
    row.note = (message or "")[:500] or None
    row.created_at = utcnow()
    db.session.flush()
    _sync(supplier)
    return row


# --- the accountant's changes on the supplier's card ------------------------------------------


def get_row(supplier: Supplier, row_id: int) -> SupplierMemory:
    """A memory row of this supplier, or a 404 error."""
    row = db.session.scalar(
        select(SupplierMemory).where(
            SupplierMemory.id == row_id, SupplierMemory.supplier_id == supplier.id
        )
    )
    if row is None:
        raise ServiceError("Valeur introuvable.", "memory", code="not_found", status=404)
    return row


def set_value(supplier: Supplier, field: str, value: str, user_id: int | None) -> SupplierMemory:
    """The accountant sets the value proposed for this supplier (it wins over what was
    learned until an accepted invoice says otherwise); flushes."""
    from core.plugin_api import FieldsError
    from plugins.binder_purchases.fields import clean_account_number, clean_vat_code

    if field not in FIELDS:
        raise ServiceError(f"Champ inconnu : {field}.", "field")
    value = (value or "").strip()
    try:
        if field == "account":
            cleaned = clean_account_number(value, "value")
        elif field == "vat_code":
            cleaned = clean_vat_code(value, "value")
        else:
            from plugins.binder_purchases.extraction.identifiers import valid_iban

            cleaned = value.replace(" ", "").upper() or None
            if cleaned and not valid_iban(cleaned):
                raise ServiceError(f"IBAN invalide : « {value} ».", "value")
    except FieldsError as exc:
        raise ServiceError(exc.message, "value") from exc
    if not cleaned:
        raise ServiceError("La valeur est obligatoire.", "value")
    if cleaned in refused_values(supplier.id, field):
        raise ServiceError(
            f"{FIELD_LABELS[field]} {cleaned} a été refusé par le connecteur pour ce "
            "fournisseur : si le logiciel comptable l'accepte désormais, oubliez d'abord ce "
            "refus (bouton « Oublier » sur sa ligne).",
            "value",
        )
    if field == "account":
        from plugins.binder_purchases.services import account_refusal

        company = db.session.get(Company, supplier.company_id)
        assert company is not None
        refusal = account_refusal(company, cleaned)
        if refusal:
            raise ServiceError(refusal, "value")
    row = _learn(supplier, field, cleaned, origin="manual", document=None, user_id=user_id)
    _sync(supplier)
    return row


def forget(row: SupplierMemory) -> None:
    """Forget a learned, refused or proposed value; flushes."""
    supplier = db.session.get(Supplier, row.supplier_id)
    db.session.delete(row)
    db.session.flush()
    if supplier is not None:
        if row.field == "iban" and row.status == LEARNED and supplier.iban == row.value:
            supplier.iban = None
        _sync(supplier)


def confirm_iban(row: SupplierMemory, user_id: int | None) -> SupplierMemory:
    """The accountant confirms a new IBAN (checked with the supplier); flushes."""
    if row.field != "iban" or row.status != PROPOSED:
        raise ServiceError("Seul un nouvel IBAN en attente peut être confirmé.", "memory")
    supplier = db.session.get(Supplier, row.supplier_id)
    assert supplier is not None
    document = db.session.get(Document, row.document_id) if row.document_id else None
    confirmed = _learn(
        supplier, "iban", row.value, origin="manual", document=document, user_id=user_id
    )
    _sync(supplier)
    return confirmed


def describe(row: SupplierMemory) -> str:
    """Where a value comes from, in French ("facture F124 du 12/03/2026, validée par …")."""
    who = db.session.get(User, row.user_id) if row.user_id else None
    when = row.created_at.strftime("%d/%m/%Y") if row.created_at else ""
    by = f" par {who.email}" if who is not None else ""
    invoice = f"facture {row.invoice_number}" if row.invoice_number else "facture"
    if row.origin == "manual" and row.document_id is None:
        return f"saisi sur la fiche du fournisseur{by} le {when}"
    if row.origin == "manual":
        return f"confirmé{by} le {when} ({invoice})"
    if row.status == REFUSED:
        return f"refusé par le connecteur sur la {invoice} le {when}"
    if row.status == PROPOSED:
        return f"lu sur la {invoice} le {when}, à confirmer"
    return f"{invoice} validée{by}, acceptée le {when}"


def reason(row: SupplierMemory) -> str:
    """The review page's reason for a proposal from the memory."""
    if row.origin == "manual" and row.document_id is None:
        return f"fiche du fournisseur : {describe(row)}"
    return f"même fournisseur que la {describe(row)}"
