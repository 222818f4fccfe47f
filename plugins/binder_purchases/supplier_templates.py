"""Supplier templates in the product: learned when a purchase invoice is validated, used when
the next invoice of the same supplier is read, shown and forgotten on the supplier page.

The template itself (what is learned, how it is matched and checked) is
:mod:`plugins.binder_purchases.extraction.templates`; here it is stored, one per supplier
(``SupplierTemplate``), and found for a new invoice through the supplier directory of the
document's firm (SIREN, VAT number, IBAN, else a close name), the document's own company first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.plugin_api import Document, classeur, db, utcnow
from plugins.binder_purchases.models import Supplier, SupplierTemplate

log = logging.getLogger("classeur.plugins.binder_purchases")


# --- layouts ---------------------------------------------------------------------------------


def stored_ocr_words(document: Document) -> dict[int, list[dict[str, Any]]] | None:
    """The OCR words the core kept for a scan (``{page: [word, ...]}``), None if it keeps none
    (the core's ``stored_ocr_words(document)`` when it has one)."""
    import importlib

    try:
        getter = None
        for name in ("core.documents.reading", "core.documents.pipeline"):
            getter = getattr(importlib.import_module(name), "stored_ocr_words", None)
            if getter is not None:
                break
        words = getter(document) if getter is not None else None
    except Exception:  # the core's store is optional: no words, no template for this scan
        log.exception("OCR words of document %s unreadable", document.id)
        return None
    return words if isinstance(words, dict) and words else None


def validated_layout(document: Document, path: Path | None = None) -> Any | None:
    """The layout of a validated document to learn from: the PDF text layer, else the OCR
    words kept by the core; None for an e-invoice XML or a scan without kept words (the
    template needs real positions, not text columns)."""
    from plugins.binder_purchases.extraction.files import _usable
    from plugins.binder_purchases.extraction.layout import Layout

    if "xml" in (document.media_type or ""):
        return None
    if path is None:
        path = classeur().storage.path(document.sha256)
    if not path.is_file():
        return None
    if document.media_type == "application/pdf":
        layout = Layout.from_pdf(path)
        if _usable(layout.text):
            return layout
    words = stored_ocr_words(document)
    if words:
        layout = Layout.from_words(words, source="ocr")
        if layout.lines:
            return layout
    return None


# --- learning --------------------------------------------------------------------------------


def supplier_of(document: Document, supplier: Supplier | None) -> Supplier | None:
    """The supplier a validated invoice was remembered under, else the one its accounting
    proposal named (same company only)."""
    if supplier is not None:
        return supplier
    supplier_id = ((document.fields or {}).get("accounting") or {}).get("supplier_id")
    if not isinstance(supplier_id, int):
        return None
    found = db.session.get(Supplier, supplier_id)
    return found if found is not None and found.company_id == document.company_id else None


def learn_from_validated(document: Document, supplier: Supplier | None) -> SupplierTemplate | None:
    """Learn the supplier's template from a validated invoice and store it (replacing the
    previous one; the use counters go on). Commits; never raises (learning is a bonus)."""
    from plugins.binder_purchases.extraction.templates import learn_template

    try:
        supplier = supplier_of(document, supplier)
        if supplier is None:
            return None
        layout = validated_layout(document)
        if layout is None:
            return None
        template = learn_template(layout, document.fields or {})
        if template is None:
            log.info("document %s: no supplier template (too few fields found)", document.id)
            return None
        row = save_template(document, supplier, template)
        db.session.commit()
        return row
    except Exception:
        db.session.rollback()
        log.exception("supplier template of document %s not learned", document.id)
        return None


def save_template(
    document: Document, supplier: Supplier, template: dict[str, Any]
) -> SupplierTemplate:
    """Insert or replace the supplier's template; flushes (two validations at once: the
    unique supplier keeps one row, the later one wins)."""
    row = db.session.scalar(
        select(SupplierTemplate).where(SupplierTemplate.supplier_id == supplier.id)
    )
    if row is None:
        try:
            with db.session.begin_nested():
                row = SupplierTemplate(
                    firm_id=document.firm_id,
                    supplier_id=supplier.id,
                    template=template,
                    learned_from_document_id=document.id,
                    learned_at=utcnow(),
                    uses=0,
                    rejections=0,
                )
                db.session.add(row)
            return row
        except IntegrityError:
            row = db.session.scalar(
                select(SupplierTemplate).where(SupplierTemplate.supplier_id == supplier.id)
            )
            assert row is not None
    row.template = template
    row.learned_from_document_id = document.id
    row.learned_at = utcnow()
    db.session.flush()
    return row


# --- reading ---------------------------------------------------------------------------------


def find_template(document: Document, fields: dict[str, Any]) -> SupplierTemplate | None:
    """The template of the supplier of these (generically read) fields within the document's
    firm: the supplier directory's lookup (SIREN, VAT number, IBAN, else a close name) over
    the suppliers that have a template, those of the document's company first."""
    from plugins.binder_purchases.accounting.suppliers import match_supplier

    rows = db.session.execute(
        select(
            SupplierTemplate.id,
            Supplier.company_id,
            Supplier.name,
            Supplier.siren,
            Supplier.vat_number,
            Supplier.iban,
        )
        .join(Supplier, Supplier.id == SupplierTemplate.supplier_id)
        .where(SupplierTemplate.firm_id == document.firm_id)
        .order_by(SupplierTemplate.id)
    ).all()
    if not rows:
        return None
    rows.sort(key=lambda r: r.company_id != document.company_id)
    candidates = [
        {"id": r.id, "name": r.name, "siren": r.siren, "vat_number": r.vat_number, "iban": r.iban}
        for r in rows
    ]
    found, _method = match_supplier(fields, candidates)
    if found is None:
        return None
    return db.session.get(SupplierTemplate, found["id"])


def reread_with_template(
    document: Document, path: Path, fields: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Re-read an invoice with its supplier's template when there is one.

    ``fields`` is the generic reading of ``path`` done with ``extract_file(path, **options)``;
    the same layout is read again (``read_layout(path, **options)``: no second OCR) and the
    template applied (``apply_template``). Counts the template's uses and rejections (committed).
    Never raises: the generic fields come back on any problem.
    """
    from plugins.binder_purchases.extraction.files import read_layout
    from plugins.binder_purchases.extraction.templates import apply_template

    if fields.get("source") == "einvoice" or (fields.get("reading") or {}).get("method") in (
        "einvoice",
        "template",
    ):
        return fields
    try:
        row = find_template(document, fields)
        if row is None:
            return fields
        allowed = {"text", "ocr", "ocr_words"}
        kwargs = {k: v for k, v in options.items() if k in allowed}
        # Never an OCR here: without the reader's OCR, a scan is read from the stored text.
        kwargs.setdefault("ocr", lambda _path: document.text or "")
        layout = read_layout(path, **kwargs)
        result = apply_template(row.template, layout, fields)
        method = (result.get("reading") or {}).get("method")
        rejected = (result.get("reading") or {}).get("template") == "rejected"
        if method == "template" or rejected:
            column = SupplierTemplate.uses if method == "template" else SupplierTemplate.rejections
            db.session.execute(
                update(SupplierTemplate)
                .where(SupplierTemplate.id == row.id)
                .values({column.key: column + 1})
            )
            db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        log.exception("document %s: supplier template not applied", document.id)
        return fields


# --- supplier page ---------------------------------------------------------------------------


def templates_by_supplier(supplier_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the supplier page shows of each supplier's template: learned from which invoice
    (document id and number), when, how many uses and rejections, how many fields."""
    if not supplier_ids:
        return {}
    rows = db.session.execute(
        select(SupplierTemplate, Document.fields, Document.filename)
        .outerjoin(Document, Document.id == SupplierTemplate.learned_from_document_id)
        .where(SupplierTemplate.supplier_id.in_(supplier_ids))
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for row, doc_fields, filename in rows:
        template = row.template if isinstance(row.template, dict) else {}
        out[row.supplier_id] = {
            "document_id": row.learned_from_document_id,
            "invoice_number": (doc_fields or {}).get("invoice_number") or filename,
            "learned_at": row.learned_at,
            "uses": row.uses,
            "rejections": row.rejections,
            "fields": len(template.get("fields") or {}),
        }
    return out


def forget_template(company_id: int, supplier_id: int) -> bool:
    """Delete the template of a supplier of this company; flushes. False when it has none."""
    row = db.session.scalar(
        select(SupplierTemplate)
        .join(Supplier, Supplier.id == SupplierTemplate.supplier_id)
        .where(SupplierTemplate.supplier_id == supplier_id, Supplier.company_id == company_id)
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
