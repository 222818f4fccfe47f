"""Purchase invoices: chart of accounts, supplier directory, accounting proposal, checks,
extraction, and what happens after a validation (supplier memory, model training)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.plugin_api import (
    Binder,
    Company,
    Document,
    DocumentState,
    ServiceError,
    classeur,
    db,
)
from plugins.binder_purchases.accounting.pcg import SEED_ACCOUNTS
from plugins.binder_purchases.accounting.vat import vat_code_for
from plugins.binder_purchases.buyers import buyer_check
from plugins.binder_purchases.memory import main_line
from plugins.binder_purchases.models import Account, Supplier
from plugins.binder_purchases.settings import accounting_settings

log = logging.getLogger("classeur.plugins.binder_purchases")

BINDER_TYPE = "purchase_invoices"
TRAIN_TASK = "binder_purchases.train_model"
#: Below this probability the model's guess is not proposed (the keyword rules answer).
MODEL_MIN_CONFIDENCE = 0.5
#: Accepted invoices the firm's model needs before it proposes anything: on a handful of
#: invoices its probabilities are high and meaningless (``PURCHASES_MODEL_MIN_SAMPLES``).
MODEL_MIN_SAMPLES = 20
#: Confidence below which a field is highlighted on the review page: the reader's confidences
#: are calibrated so that fields at or above it are right at least 90 % of the time on real
#: invoices (`bench/extraction.py` prints the reliability table).
LOW_CONFIDENCE = 0.9

# --- chart of accounts -----------------------------------------------------------------------


def ensure_chart(company: Company) -> None:
    """Seed the company's chart from the PCG seed if it has no account yet; idempotent.

    Flushes; the caller commits. Two first uses at once: the unique constraint keeps one.
    """
    exists = db.session.scalar(select(Account.id).where(Account.company_id == company.id).limit(1))
    if exists is not None:
        return
    db.begin_write()  # first use may come from a page (GET): take the write lock first
    exists = db.session.scalar(select(Account.id).where(Account.company_id == company.id).limit(1))
    if exists is not None:
        return
    try:
        with db.session.begin_nested():
            for number, label in SEED_ACCOUNTS:
                db.session.add(Account(company_id=company.id, number=number, label=label))
    except IntegrityError:
        log.info("chart of company %s seeded concurrently", company.id)


def accounts(company: Company, *, active_only: bool = False) -> list[Account]:
    """The company's accounts by number (seeding the chart on first use)."""
    ensure_chart(company)
    stmt = select(Account).where(Account.company_id == company.id).order_by(Account.number)
    if active_only:
        stmt = stmt.where(Account.active.is_(True))
    return list(db.session.scalars(stmt))


def chart_numbers(company: Company) -> dict[str, bool]:
    """``{number: active}`` of the company's chart, without writing (the seed if empty)."""
    rows = db.session.execute(
        select(Account.number, Account.active).where(Account.company_id == company.id)
    ).all()
    if not rows:
        return {number: True for number, _label in SEED_ACCOUNTS}
    return dict(rows)


def add_account(company: Company, number: str, label: str) -> Account:
    """Add an account to the chart (or reactivate it); flushes."""
    from core.plugin_api import FieldsError
    from plugins.binder_purchases.fields import clean_account_number

    try:
        clean = clean_account_number(number, "number")
    except FieldsError as exc:
        raise ServiceError(exc.message, "number") from exc
    label = " ".join((label or "").split())
    if not clean:
        raise ServiceError("Le numéro de compte est obligatoire.", "number")
    if not label or len(label) > 200:
        raise ServiceError("Le libellé est obligatoire (200 caractères au plus).", "label")
    ensure_chart(company)
    account = db.session.scalar(
        select(Account).where(Account.company_id == company.id, Account.number == clean)
    )
    if account is None:
        account = Account(company_id=company.id, number=clean, label=label)
        db.session.add(account)
    else:
        account.label, account.active = label, True
    db.session.flush()
    return account


def get_account(company: Company, account_id: int) -> Account:
    """An account of this company, or a 404 error."""
    account = db.session.scalar(
        select(Account).where(Account.id == account_id, Account.company_id == company.id)
    )
    if account is None:
        raise ServiceError("Compte introuvable.", "account", code="not_found", status=404)
    return account


def update_account(
    account: Account, *, label: str | None = None, active: bool | None = None
) -> Account:
    """Rename or (de)activate an account; flushes."""
    if label is not None:
        label = " ".join(label.split())
        if not label or len(label) > 200:
            raise ServiceError("Le libellé est obligatoire (200 caractères au plus).", "label")
        account.label = label
    if active is not None:
        account.active = active
    db.session.flush()
    return account


#: PCG classes a purchase line may be imputed to: fixed assets (2) and expenses (6), each
#: switched on per company in its accounting elements (seed, step 7).
PURCHASE_CLASSES = ("2", "6")


def connector_rules(company: Company) -> dict[str, Any]:
    """What the connectors enabled for the company accept on purchase invoices
    (``core.exports.services.connector_rules``): ``account_classes`` and ``vat_codes`` (sets,
    None for no restriction) and the ``connectors`` that publish them."""
    from core.plugin_api import connector_rules as rules_of

    return rules_of(company.firm_id, company.id, BINDER_TYPE)


def allowed_classes(company: Company, elements: dict[str, Any] | None = None) -> set[str]:
    """The account classes allowed on the company's purchase lines: those its accounting
    elements switch on, within what its connectors accept."""
    if elements is None:
        elements = accounting_settings(company)["elements"]
    allowed = {c for c in PURCHASE_CLASSES if elements.get(f"allow_class_{c}")}
    connector = connector_rules(company).get("account_classes")
    if connector is not None:
        allowed &= set(connector)
    return allowed


def class_allowed(number: str, elements: dict[str, Any], allowed: set[str] | None = None) -> bool:
    """Whether an account of this PCG class may be used on a purchase line."""
    if allowed is None:
        allowed = {c for c in PURCHASE_CLASSES if elements.get(f"allow_class_{c}")}
    return bool(number) and number[:1] in allowed


def account_refusal(
    company: Company, number: str, elements: dict[str, Any] | None = None
) -> str | None:
    """Why this account may not be used on the company's purchase lines (French), or None."""
    if elements is None:
        elements = accounting_settings(company)["elements"]
    allowed = allowed_classes(company, elements)
    if class_allowed(number, elements, allowed):
        return None
    rules = connector_rules(company)
    by_connector = ""
    if number[:1] in PURCHASE_CLASSES and elements.get(f"allow_class_{number[:1]}"):
        by_connector = f" (refusée par {', '.join(rules.get('connectors') or ['le connecteur'])})"
    if not allowed:
        which = "aucune classe de compte n'est autorisée"
    elif len(allowed) == 1:
        which = f"seule la classe {next(iter(allowed))} est autorisée"
    else:
        which = f"seules les classes {' et '.join(sorted(allowed))} sont autorisées"
    return (
        f"le compte {number} est de classe {number[:1]} : {which} sur les lignes d'achat de "
        f"cette entreprise{by_connector}."
    )


# --- suppliers -------------------------------------------------------------------------------


def suppliers(company: Company) -> list[Supplier]:
    """The company's supplier directory, by name."""
    return list(
        db.session.scalars(
            select(Supplier).where(Supplier.company_id == company.id).order_by(Supplier.name)
        )
    )


def get_supplier(company: Company, supplier_id: int) -> Supplier:
    """A supplier of this company, or a 404 error."""
    supplier = db.session.scalar(
        select(Supplier).where(Supplier.id == supplier_id, Supplier.company_id == company.id)
    )
    if supplier is None:
        raise ServiceError("Fournisseur introuvable.", "supplier", code="not_found", status=404)
    return supplier


def find_supplier(company: Company, fields: dict[str, Any]) -> tuple[Supplier | None, str]:
    """The known supplier of these fields: SIREN, VAT number, IBAN, else a close name."""
    from plugins.binder_purchases.accounting.suppliers import match_supplier

    known = suppliers(company)
    by_id = {s.id: s for s in known}
    found, method = match_supplier(fields, [s.as_match_dict() for s in known])
    return (by_id[found["id"]] if found else None), method


def supplier_of(document: Document, *, create: bool = True) -> Supplier | None:
    """The supplier of a purchase invoice, created from its fields when unknown (``create``);
    its missing identifiers are filled in. Flushes. None when the invoice names no supplier."""
    fields = document.fields or {}
    sup = fields.get("supplier") or {}
    if not sup.get("name") and not sup.get("siren") and not sup.get("vat_number"):
        return None
    company = db.session.get(Company, document.company_id)
    assert company is not None
    supplier, _method = find_supplier(company, fields)
    if supplier is None:
        if not create:
            return None
        supplier = Supplier(
            company_id=company.id,
            name=sup.get("name") or sup.get("siren") or sup.get("vat_number"),
            invoice_count=0,
        )
        db.session.add(supplier)
    # The IBAN is learned by the memory only (never silently replaced).
    for key in ("siren", "vat_number", "country"):
        if sup.get(key) and not getattr(supplier, key):
            setattr(supplier, key, sup[key])
    db.session.flush()
    return supplier


def remember_supplier(document: Document) -> Supplier | None:
    """Learn from an accepted invoice: its supplier's account, VAT code and IBAN (with their
    source), its last invoice; flushes. Once per version of the document."""
    from plugins.binder_purchases import memory

    supplier = supplier_of(document)
    if supplier is None or memory.already_learned(document):
        return supplier
    memory.learn_from_document(document, supplier)
    supplier.last_document_id = document.id
    supplier.last_invoice_number = (document.fields or {}).get("invoice_number")
    supplier.invoice_count = (supplier.invoice_count or 0) + 1
    db.session.flush()
    return supplier


# --- proposal --------------------------------------------------------------------------------


def _line_vat_code(rate: Any, regime: str, fallback: str | None) -> str | None:
    if regime == "mixed":
        regime = "standard"
    try:
        return vat_code_for(rate, regime) if rate is not None or regime != "standard" else fallback
    except ValueError:
        return fallback


def model_path(firm_id: int) -> Path:
    """Where the firm's account model is kept."""
    return Path(current_app.config["DATA_DIR"]) / "firms" / str(firm_id) / "account_model.joblib"


_model_cache: dict[str, tuple[float, Any]] = {}
_model_lock = threading.Lock()


def load_model(firm_id: int) -> Any | None:
    """The firm's trained model, or None (reloaded when the file changes)."""
    path = model_path(firm_id)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    key = str(path)
    with _model_lock:
        cached = _model_cache.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    from plugins.binder_purchases.accounting.model import AccountModel

    try:
        model = AccountModel.load(path)
    except Exception:  # a corrupt file must not stop the review: retraining replaces it
        log.exception("account model of firm %s unreadable", firm_id)
        return None
    with _model_lock:
        _model_cache[key] = (mtime, model)
    return model


def _first_rate(fields: dict[str, Any]) -> str | None:
    lines = fields.get("vat_lines") or []
    return lines[0].get("rate") if lines else None


def sample_of(fields: dict[str, Any], text: str | None) -> dict[str, Any]:
    """What the account model sees of an invoice."""
    return {
        "supplier_name": (fields.get("supplier") or {}).get("name"),
        "text": text or "",
        "total_excl_tax": fields.get("total_excl_tax"),
        "vat_rate": _first_rate(fields),
    }


def propose(company: Company, fields: dict[str, Any], text: str | None) -> dict[str, Any]:
    """The accounting proposal for an invoice: the supplier's memory, else the firm's model,
    else the keyword rules. Returns ``{"proposal": {...} | None, "supplier_id": int | None}``.

    The proposal says where it comes from: ``source`` (supplier, model, rules), ``reason``
    (French, shown on the review page) and, from the memory, ``document_id`` (the invoice it
    was learned from). An account is proposed only if it is active in the company's chart,
    its class is allowed on purchase lines, and no connector refused it for this supplier.
    """
    from plugins.binder_purchases import memory
    from plugins.binder_purchases.accounting.rules import propose_by_rules

    elements = accounting_settings(company)["elements"]
    allowed = allowed_classes(company, elements)
    chart = chart_numbers(company)
    regime = fields.get("vat_regime") or "standard"
    # A mixed invoice has a VAT code per line (build_lines), none for the whole invoice.
    default_code = None if regime == "mixed" else _line_vat_code(_first_rate(fields), regime, None)
    supplier, _method = find_supplier(company, fields)
    supplier_id = supplier.id if supplier else None
    refused = memory.refused_values(supplier_id, "account")
    refused_codes = memory.refused_values(supplier_id, "vat_code")

    def usable(number: str | None) -> bool:
        return (
            bool(number)
            and chart.get(number or "", False)
            and class_allowed(number or "", elements, allowed)
            and number not in refused
        )

    def code(value: str | None) -> str | None:
        return value if value and value not in refused_codes else default_code

    learned = memory.learned(supplier, "account") if supplier is not None else None
    if learned is not None and usable(learned.value):
        learned_code = memory.learned(supplier, "vat_code")
        return {
            "proposal": {
                "account": learned.value,
                "vat_code": code(learned_code.value if learned_code else None),
                "reason": memory.reason(learned),
                "confidence": 0.95,
                "source": "supplier",
                "document_id": learned.document_id,
            },
            "supplier_id": supplier_id,
        }
    model = load_model(company.firm_id)
    if model is not None:
        try:
            guess = model.predict(sample_of(fields, text))
        except Exception:
            log.exception("account model of firm %s failed", company.firm_id)
            guess = None
        if guess is not None and guess[1] >= MODEL_MIN_CONFIDENCE and usable(guess[0]):
            return {
                "proposal": {
                    "account": guess[0],
                    "vat_code": default_code,
                    "reason": "modèle du cabinet, appris sur ses factures acceptées "
                    f"(probabilité {round(guess[1] * 100)} %)",
                    "confidence": round(guess[1], 2),
                    "source": "model",
                    "document_id": None,
                },
                "supplier_id": supplier_id,
            }
    rule = propose_by_rules(fields, text or "", allow_class2="2" in allowed)
    if rule is not None and usable(rule.account):
        return {
            "proposal": {
                "account": rule.account,
                "vat_code": code(rule.vat_code) or default_code,
                "reason": f"{rule.reason} (« {rule.keyword} » lu sur la facture, à vérifier)",
                "confidence": rule.confidence,
                "source": "rules",
                "document_id": None,
            },
            "supplier_id": supplier_id,
        }
    return {"proposal": None, "supplier_id": supplier_id}


def default_label(fields: dict[str, Any]) -> str | None:
    """The label of an accounting line: supplier name and invoice number."""
    parts = [(fields.get("supplier") or {}).get("name"), fields.get("invoice_number")]
    return " ".join(p for p in parts if p) or None


def build_lines(fields: dict[str, Any], proposal: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Accounting lines, one per VAT line, with the proposal's account and each line's VAT
    code (``vat_code_for(rate, regime)``); one line from the totals when there is no VAT line."""
    regime = fields.get("vat_regime") or "standard"
    account = proposal.get("account") if proposal else None
    fallback = proposal.get("vat_code") if proposal else None
    label = default_label(fields)
    vat_lines = fields.get("vat_lines") or []
    if not vat_lines:
        return [
            {
                "account": account,
                "label": label,
                "vat_code": fallback,
                "amount_excl_tax": fields.get("total_excl_tax"),
                "vat_amount": fields.get("total_tax"),
            }
        ]
    # Each VAT line has its own regime (an intra-EU line among lines at 20 % and 10 %); the
    # invoice's regime is only a default for lines read without one.
    default_regime = regime if regime != "mixed" else "standard"
    return [
        {
            "account": account,
            "label": label,
            "vat_code": _line_vat_code(
                line.get("rate"), line.get("regime") or default_regime, fallback
            ),
            "amount_excl_tax": line.get("base"),
            "vat_amount": line.get("amount"),
        }
        for line in vat_lines
    ]


def with_proposal(company: Company, fields: dict[str, Any], text: str | None) -> dict[str, Any]:
    """``fields`` with ``accounting`` filled: the proposal, the supplier and the lines."""
    found = propose(company, fields, text)
    return {
        **fields,
        "accounting": {
            "lines": build_lines(fields, found["proposal"]),
            "proposal": found["proposal"],
            "supplier_id": found["supplier_id"],
        },
    }


# --- extraction ------------------------------------------------------------------------------


def extract_document(
    document: Document,
    text: str,
    path: Path,
    *,
    layout: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Fields of a purchase invoice read by the core (text layer, OCR or e-invoice) plus the
    accounting proposal. ``layout`` is the OCR words per page (the binder type's ``extract``), None
    when no page was OCRed. Never raises for a readable document: a failed reading gives
    empty fields with confidence 0."""
    import inspect

    from plugins.binder_purchases.extraction import InvoiceReadError, extract_file
    from plugins.binder_purchases.extraction.fields import empty_fields
    from plugins.binder_purchases.fields import sanitize_extracted
    from plugins.binder_purchases.supplier_templates import reread_with_template

    try:
        # The library reads the e-invoice, else the PDF text layer; for a scan it is handed
        # what the core's OCR plugin already read, its words with their boxes and its text
        # (never a second OCR). The core sets ``document.text_source`` only after this hook,
        # so "ocr" is known from the library.
        options: dict[str, Any] = {"ocr": lambda _path: text}
        if layout and "ocr_words" in inspect.signature(extract_file).parameters:
            options["ocr_words"] = layout
            # A scan whose totals do not add up has its header and totals read again by the
            # OCR plugin (``read_region`` hook).
            hooks, config = classeur().hooks, dict(current_app.config)
            options["reocr"] = lambda page, box, digits=False: (
                hooks.read_region(document, path, page, box, digits=digits, config=config) or []
            )
        fields = extract_file(path, **options)
        # The supplier's template, when one was learned, re-reads its header fields.
        fields = reread_with_template(document, path, fields, options)
    except InvoiceReadError as exc:
        log.info("document %s: invoice not read: %s", document.id, exc.message)
        fields = empty_fields("text")
    except Exception:
        log.exception("document %s: invoice extraction failed", document.id)
        fields = empty_fields("text")
    if fields.get("source") == "ocr" or (
        fields.get("source") != "einvoice" and document.text_source == "ocr"
    ):
        fields["source"] = "ocr"
    fields = sanitize_extracted(fields)
    company = db.session.get(Company, document.company_id)
    if company is None:
        return fields
    try:
        ensure_chart(company)
        fields = sanitize_extracted(with_proposal(company, fields, text))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("document %s: accounting proposal failed", document.id)
    return fields


# --- checks ----------------------------------------------------------------------------------


def _supplier_key(sup: dict[str, Any]) -> tuple[str | None, str | None, str]:
    from plugins.binder_purchases.accounting.suppliers import _norm_id, _norm_name

    siren = _norm_id(sup.get("siren")) or _norm_id(sup.get("siret"))[:9] or None
    return siren, _norm_id(sup.get("vat_number")) or None, _norm_name(sup.get("name"))


def same_supplier(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same SIREN, or same VAT number, or (without identifiers) the same normalised name."""
    sa, va, na = _supplier_key(a)
    sb, vb, nb = _supplier_key(b)
    if sa and sb:
        return sa == sb
    if va and vb:
        return va == vb
    return bool(na) and na == nb


def duplicates(document: Document) -> list[dict[str, Any]]:
    """Duplicate checks: the same invoice (supplier and number) or the same file elsewhere in
    the company. Only an earlier or validated document counts, so the first one can pass."""
    out: list[dict[str, Any]] = []
    fields = document.fields or {}
    earlier = (Document.id < document.id) | (Document.state == DocumentState.VALIDATED)
    same_file = db.session.scalar(
        select(Document.id)
        .where(
            Document.company_id == document.company_id,
            Document.id != document.id,
            Document.sha256 == document.sha256,
            Document.binder_id != document.binder_id,
            Document.state.not_in((DocumentState.FAILED, DocumentState.TRASHED)),
            earlier,
        )
        .order_by(Document.id)
        .limit(1)
    )
    dismissed = dismissed_duplicates(document)
    if same_file is not None and same_file not in dismissed:
        out.append(
            {
                "code": "duplicate",
                "level": "error",
                "field": None,
                "document_id": same_file,
                "message": f"Doublon : le même fichier est déjà le document n° {same_file} "
                "de cette entreprise.",
            }
        )
    number = fields.get("invoice_number")
    if number:
        candidates = db.session.execute(
            select(Document.id, Document.fields)
            .join(Binder, Binder.id == Document.binder_id)
            .where(
                Document.company_id == document.company_id,
                Document.id != document.id,
                Binder.type == BINDER_TYPE,
                Document.state.not_in((DocumentState.FAILED, DocumentState.TRASHED)),
                Document.fields["invoice_number"].as_string() == number,
                earlier,
            )
            .order_by(Document.id)
        ).all()
        sup = fields.get("supplier") or {}
        for other_id, other_fields in candidates:
            if not same_supplier(sup, (other_fields or {}).get("supplier") or {}):
                continue
            if other_id in dismissed:
                # Not a duplicate, says the accountant; but the number is the supplier's own
                # reference: accounting software refuses it twice.
                out.append(
                    {
                        "code": "same_number",
                        "level": "warning",
                        "field": "invoice_number",
                        "document_id": other_id,
                        "message": f"Ce n'est pas un doublon du document n° {other_id}, mais "
                        f"il porte le même numéro de facture ({number}) pour ce fournisseur : "
                        "le logiciel comptable refusera le second ; vérifiez le numéro lu.",
                    }
                )
                continue
            out.append(
                {
                    "code": "duplicate",
                    "level": "error",
                    "field": "invoice_number",
                    "document_id": other_id,
                    "message": f"Doublon : la facture {number} de ce fournisseur est déjà "
                    f"le document n° {other_id}.",
                }
            )
            break
    return out


def iban_check(supplier: Supplier | None, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """A supplier IBAN different from the one of its accepted invoices: the classic fraud
    signal, highlighted (and never learned without the accountant's confirmation)."""
    from plugins.binder_purchases import memory

    iban = ((fields.get("supplier") or {}).get("iban") or "").replace(" ", "").upper()
    if supplier is None or not iban:
        return []
    known = memory.learned(supplier, "iban")
    if known is None or known.value == iban:
        return []
    return [
        {
            "code": "iban_changed",
            "level": "warning",
            "field": "supplier.iban",
            "message": f"Attention : l'IBAN de cette facture ({iban}) diffère de celui de "
            f"{supplier.name} ({known.value}, {memory.describe(known)}). Vérifiez-le auprès "
            "du fournisseur par un autre moyen avant tout paiement : un changement de RIB "
            "est le signe classique d'une fraude. Il ne sera retenu qu'une fois confirmé sur "
            "la fiche du fournisseur.",
        }
    ]


NOT_DUPLICATE_EVENT = "not_duplicate"


def dismissed_duplicates(document: Document) -> set[int]:
    """Documents the accountant said this one is not a duplicate of."""
    from core.plugin_api import DocumentEvent

    events = db.session.scalars(
        select(DocumentEvent.after).where(
            DocumentEvent.document_id == document.id,
            DocumentEvent.action == NOT_DUPLICATE_EVENT,
        )
    ).all()
    return {int(after["of"]) for after in events if after and after.get("of")}


def dismiss_duplicate(document: Document, other_id: int, user_id: int | None) -> None:
    """ "Ce n'est pas un doublon": the duplicate check no longer compares the document with
    ``other_id``; an audit event; flushes."""
    from core.plugin_api import DocumentEvent

    found = [c for c in duplicates(document) if c.get("document_id") == other_id]
    if not found:
        raise ServiceError(
            "Ce document n'est pas signalé comme doublon de celui-ci.", "duplicate", status=409
        )
    db.session.add(
        DocumentEvent(
            document_id=document.id,
            user_id=user_id,
            action=NOT_DUPLICATE_EVENT,
            message=f"Pas un doublon du document n° {other_id}",
            after={"of": other_id},
        )
    )
    db.session.flush()


#: Fields every purchase invoice needs, whatever the company's settings.
ALWAYS_REQUIRED = ("supplier.name", "invoice_date", "total_incl_tax")


def required_fields(elements: dict[str, Any]) -> set[str]:
    """Fields required by the company's enabled accounting elements (and always required)."""
    required = set(ALWAYS_REQUIRED)
    for element in ("invoice_number", "due_date", "payment_mode"):
        if elements.get(element):
            required.add(element)
    return required


def check_document(document: Document) -> list[dict[str, Any]]:
    """Every check of a purchase invoice: the library's consistency checks with the company's
    required fields, the accounting lines against the chart and the allowed classes, and
    duplicates. Errors block validation."""
    from plugins.binder_purchases import memory
    from plugins.binder_purchases.extraction.checks import check_invoice

    fields = document.fields or {}
    if not fields:
        # Nothing was read (a row made outside the reading pipeline): nothing to check. The
        # pipeline always stores the full dictionary, so a read invoice is always checked.
        return []
    company = db.session.get(Company, document.company_id)
    assert company is not None
    elements = accounting_settings(company)["elements"]
    rules = connector_rules(company)
    by_connector = set(rules.get("required_fields") or ()) - required_fields(elements)
    received = document.created_at.date() if document.created_at else None
    out = []
    for c in check_invoice(
        fields, required=required_fields(elements) | by_connector, today=received
    ):
        message = c.message
        if c.code == "missing_field" and c.field in by_connector:
            message = f"{message[:-1]} (exigé par {', '.join(rules['connectors'])})."
        out.append({"code": c.code, "level": c.level, "message": message, "field": c.field})
    chart = chart_numbers(company)
    allowed = allowed_classes(company, elements)
    known_codes = rules.get("vat_codes")
    supplier, _method = find_supplier(company, fields)
    refused_accounts = memory.refused_values(supplier.id if supplier else None, "account")
    lines = (fields.get("accounting") or {}).get("lines") or []
    if not lines:
        out.append(
            {
                "code": "missing_account",
                "level": "error",
                "field": "accounting.lines",
                "message": "Aucune imputation comptable : choisissez un compte.",
            }
        )
    for index, line in enumerate(lines):
        where = f"accounting.lines[{index}]"
        number = line.get("account")
        n = index + 1
        if not number:
            out.append(
                {
                    "code": "missing_account",
                    "level": "error",
                    "field": f"{where}.account",
                    "message": f"Ligne {n} : compte comptable manquant.",
                }
            )
        elif number not in chart:
            out.append(
                {
                    "code": "unknown_account",
                    "level": "error",
                    "field": f"{where}.account",
                    "message": f"Ligne {n} : le compte {number} n'est pas dans le plan "
                    "comptable de l'entreprise.",
                }
            )
        elif not chart[number]:
            out.append(
                {
                    "code": "inactive_account",
                    "level": "error",
                    "field": f"{where}.account",
                    "message": f"Ligne {n} : le compte {number} est désactivé.",
                }
            )
        elif not class_allowed(number, elements, allowed):
            out.append(
                {
                    "code": f"class_{number[0]}_refused",
                    "level": "error",
                    "field": f"{where}.account",
                    "message": f"Ligne {n} : {account_refusal(company, number, elements)}",
                }
            )
        elif number in refused_accounts:
            out.append(
                {
                    "code": "account_refused_before",
                    "level": "warning",
                    "field": f"{where}.account",
                    "message": f"Ligne {n} : le compte {number} a déjà été refusé par le "
                    "connecteur pour ce fournisseur.",
                }
            )
        code = line.get("vat_code")
        if elements.get("vat_codes") and not code:
            out.append(
                {
                    "code": "missing_vat_code",
                    "level": "error",
                    "field": f"{where}.vat_code",
                    "message": f"Ligne {n} : code de TVA manquant.",
                }
            )
        elif code and known_codes is not None and code not in known_codes:
            out.append(
                {
                    "code": "vat_code_refused",
                    "level": "error",
                    "field": f"{where}.vat_code",
                    "message": f"Ligne {n} : le code de TVA {code} est inconnu de "
                    f"{', '.join(rules.get('connectors') or ['du connecteur'])} : "
                    "choisissez-en un autre.",
                }
            )
    out.extend(iban_check(supplier, fields))
    out.extend(buyer_check(company, fields, BINDER_TYPE))
    out.extend(duplicates(document))
    return out


def summary(fields: dict[str, Any]) -> dict[str, Any]:
    """What the search index and lists show of a purchase invoice."""
    sup = fields.get("supplier") or {}
    return {
        "supplier": sup.get("name"),
        "invoice_number": fields.get("invoice_number"),
        "siren": sup.get("siren"),
        "vat_number": sup.get("vat_number"),
        "invoice_date": fields.get("invoice_date"),
        "amount": fields.get("total_incl_tax"),
    }


# --- after validation ------------------------------------------------------------------------


def _purchase(document: Document) -> bool:
    binder = db.session.get(Binder, document.binder_id)
    return binder is not None and binder.type == BINDER_TYPE


def learn_if_accepted(document: Document) -> bool:
    """Learn from the invoice once it is accepted (validated, and taken by every connector
    enabled for its company), then queue the model training; commits. Returns whether it
    learned."""
    from plugins.binder_purchases import memory

    if document.state != DocumentState.VALIDATED or not memory.accepted(document):
        return False
    try:
        remember_supplier(document)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("supplier memory of document %s failed", document.id)
        return False
    runner = classeur().tasks
    if runner is not None:
        runner.submit(TRAIN_TASK, document.firm_id)
    return True


def after_validation(document: Document) -> None:
    """A validated invoice: its supplier exists from now on and its template (where it prints
    each field) is learned; its accounting values are learned once it is accepted."""
    from plugins.binder_purchases.supplier_templates import learn_from_validated

    if not _purchase(document):
        return
    supplier = None
    try:
        supplier = supplier_of(document)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("supplier of document %s failed", document.id)
    learn_from_validated(document, supplier)
    learn_if_accepted(document)


def after_export(document: Document, connector: str, ok: bool) -> None:
    """A connector answered: a refusal of an account or VAT code is remembered for the
    supplier (and unlearned); a success may make the invoice accepted, so it is learned."""
    from core.plugin_api import ExportStatus
    from plugins.binder_purchases import memory

    if not _purchase(document):
        return
    if ok:
        learn_if_accepted(document)
        return
    status = db.session.scalar(
        select(ExportStatus).where(
            ExportStatus.document_id == document.id, ExportStatus.connector == connector
        )
    )
    if status is None or not status.field:
        return
    try:
        supplier = supplier_of(document)
        if supplier is not None:
            memory.record_refusal(document, supplier, status.field, status.message)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("refusal of document %s by %s not remembered", document.id, connector)


def training_samples(firm_id: int) -> list[dict[str, Any]]:
    """One sample per accounting line's account of every validated purchase of the firm."""
    from sqlalchemy import exists

    from core.plugin_api import ExportStatus
    from plugins.binder_purchases.memory import SETTLED

    # Only accepted invoices teach: validated, and no connector refused or is still sending.
    waiting = exists().where(
        ExportStatus.document_id == Document.id, ExportStatus.state.not_in(SETTLED)
    )
    rows = db.session.execute(
        select(Document.fields, Document.text)
        .join(Binder, Binder.id == Document.binder_id)
        .where(
            Document.firm_id == firm_id,
            Document.state == DocumentState.VALIDATED,
            Binder.type == BINDER_TYPE,
            ~waiting,
        )
        .order_by(Document.id.desc())
        .limit(20_000)
    ).all()
    samples = []
    for fields, text in rows:
        fields = fields or {}
        line = main_line(fields)
        account = line.get("account") if line else None
        if account:
            samples.append({**sample_of(fields, text), "account": account})
    return samples


def train_model(firm_id: int) -> int:
    """Retrain the firm's account model from its validated purchases; returns the sample
    count. The file is replaced atomically, so a reader never sees half a model."""
    from plugins.binder_purchases.accounting.model import AccountModel

    samples = training_samples(firm_id)
    db.session.commit()  # do not hold the database while fitting
    minimum = int(current_app.config.get("PURCHASES_MODEL_MIN_SAMPLES", MODEL_MIN_SAMPLES))
    if len(samples) < minimum:
        return len(samples)
    model = AccountModel().fit(samples)
    if not model.trained:
        return len(samples)
    path = model_path(firm_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    model.save(tmp)
    tmp.replace(path)
    return len(samples)
