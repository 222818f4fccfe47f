"""The period exporter: a company's purchase journal over a period, as a FEC and a CSV.

Registered through ``register_exporters``; the core tells it apart from a document exporter
by its ``export_period``. The core hands it the company's validated purchase invoices dated
(``invoice_date``) in the period, stores what it returns as a versioned batch and gives each
invoice its export status; the exporter only turns documents into bytes.
"""

from __future__ import annotations

import re
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from core.plugin_api import (
    Company,
    ExportError,
    PeriodExport,
    PeriodExportContext,
    ServiceError,
    audit,
    batch_file,
)
from plugins.fec_export.formats import render_csv, render_fec
from plugins.fec_export.journal import Entry, JournalSettings, build_entry

NAME = "fec_export"
#: The format of the batch's list of invoices to complete by hand (plain text).
NOTES_FORMAT = "notes"
#: The company settings' section of the tab "Journal d'achats".
SETTINGS_SECTION = NAME
PARIS = ZoneInfo("Europe/Paris")
_JOURNAL_CODE = re.compile(r"[A-Z0-9]{1,6}")


def journal_settings(company: Company) -> JournalSettings:
    """The company's journal settings (defaults: HA / Achats / 401, UTF-8)."""
    raw = dict((company.settings or {}).get(SETTINGS_SECTION) or {})
    defaults = JournalSettings()
    return JournalSettings(
        journal_code=str(raw.get("journal_code") or defaults.journal_code),
        journal_label=str(raw.get("journal_label") or defaults.journal_label),
        supplier_account=str(raw.get("supplier_account") or defaults.supplier_account),
        aux_prefix=str(raw.get("aux_prefix") or defaults.aux_prefix),
        encoding=str(raw.get("encoding") or defaults.encoding),
    )


def clean_settings(form: dict[str, Any]) -> dict[str, str]:
    """The tab's settings form, checked; ``ValueError`` with a French message otherwise."""
    code = str(form.get("journal_code") or "").strip().upper()
    if not _JOURNAL_CODE.fullmatch(code):
        raise ValueError("Le code journal compte 1 à 6 lettres ou chiffres (HA, ACH...).")
    label = " ".join(str(form.get("journal_label") or "").split())
    if not label or len(label) > 60:
        raise ValueError("Le libellé du journal est obligatoire (60 caractères au plus).")
    account = str(form.get("supplier_account") or "").strip()
    if not re.fullmatch(r"40\d{1,8}", account):
        raise ValueError("Le compte fournisseurs commence par 40 et ne compte que des chiffres.")
    encoding = str(form.get("encoding") or "utf-8").strip().lower()
    if encoding not in ("utf-8", "iso-8859-15"):
        raise ValueError("Encodage inconnu : UTF-8 ou ISO-8859-15.")
    return {
        "journal_code": code,
        "journal_label": label,
        "supplier_account": account,
        "encoding": encoding,
    }


def valid_date(document: Any, fallback: date) -> date:
    """The day the invoice was validated in Classeur (Paris time)."""
    validated = getattr(document, "validated_at", None)
    if validated is None:
        return fallback
    if validated.tzinfo is None:
        validated = validated.replace(tzinfo=UTC)
    return validated.astimezone(PARIS).date()


def entries_of(documents: list[Any], settings: JournalSettings, reject: Any = None) -> list[Entry]:
    """The entries of ``documents`` (in order), numbered 1, 2, 3... without gaps; a document
    that cannot make an entry is handed to ``reject(document, error)`` (raised without)."""
    entries: list[Entry] = []
    for document in documents:
        fields = document.fields or {}
        try:
            try:
                entry_date = date.fromisoformat(str(fields.get("invoice_date") or "")[:10])
            except ValueError:
                raise ExportError(
                    "Date de facture absente : complétez la facture.",
                    code="missing_date",
                    field="invoice_date",
                ) from None
            entry = build_entry(
                document,
                len(entries) + 1,
                settings,
                entry_date,
                valid_date(document, entry_date),
            )
        except ExportError as exc:
            if reject is None:
                raise
            reject(document, exc)
            continue
        entries.append(entry)
    return entries


def siren_of(company: Company) -> str:
    """The company's SIREN, which the FEC's name starts with; ``ExportError`` when absent."""
    siren = re.sub(r"\D", "", str(company.siren or ""))
    if len(siren) != 9:
        raise ExportError(
            f"Le SIREN de « {company.name} » est absent ou invalide : renseignez-le sur la page "
            "« Entreprise » (le nom du FEC commence par le SIREN).",
            code="missing_siren",
            field="siren",
        )
    return siren


class FecExporter:
    """The purchase journal of a period in the FEC format, with its CSV rendering."""

    name = NAME
    label = "FEC"
    description = (
        "Journal des achats d'une période au format FEC (article A47 A-1 du LPF) et en CSV, "
        "depuis l'onglet « Journal d'achats » de l'entreprise, l'API ou la ligne de commande."
    )
    binder_types = {"purchase_invoices"}
    date_field = "invoice_date"
    media_type = "text/plain; charset=utf-8"
    max_months = 24

    def filename(self, company: Company, start: date, end: date) -> str:
        """``<SIREN>FEC<YYYYMMDD of the period's end>.txt``."""
        return f"{siren_of(company)}FEC{end:%Y%m%d}.txt"

    def csv_filename(self, company: Company, start: date, end: date) -> str:
        """``<SIREN>_journal_achats_<start>_<end>.csv``."""
        return f"{siren_of(company)}_journal_achats_{start:%Y%m%d}_{end:%Y%m%d}.csv"

    def notes_filename(self, company: Company, start: date, end: date) -> str:
        """``<SIREN>_a_saisir_<start>_<end>.txt``."""
        return f"{siren_of(company)}_a_saisir_{start:%Y%m%d}_{end:%Y%m%d}.txt"

    def export_period(self, context: PeriodExportContext) -> bytes:
        """The FEC's bytes; the CSV journal is attached, and the list of the invoices to
        complete by hand (``notes``) when there are any. Invoices that cannot make a balanced
        entry are rejected one by one (their status says why); the others are numbered."""
        company = context.company
        siren_of(company)
        settings = journal_settings(company)
        entries = entries_of(context.documents, settings, context.reject)
        context.media_type = f"text/plain; charset={settings.encoding}"
        if entries:
            context.attach(
                "csv",
                self.csv_filename(company, context.start, context.end),
                "text/csv; charset=utf-8",
                render_csv(entries, settings),
            )
        notes = render_notes(entries, context.documents)
        if notes:
            context.attach(
                NOTES_FORMAT,
                self.notes_filename(company, context.start, context.end),
                "text/plain; charset=utf-8",
                notes.encode("utf-8"),
            )
        return render_fec(entries, settings)


def warnings_of(entries: list[Entry], documents: list[Any]) -> list[tuple[int, str, str]]:
    """(document id, what: the entry's label, number and document, warning) for each
    warning of the entries."""
    names = {d.id: d.filename for d in documents}
    out = []
    for entry in entries:
        for warning in entry.warnings:
            what = f"{entry.label or entry.piece_ref} (écriture {entry.number}, "
            what += f"document {entry.document_id} « {names.get(entry.document_id, '')} »)"
            out.append((entry.document_id, what, warning))
    return out


def render_notes(entries: list[Entry], documents: list[Any]) -> str:
    """The invoices of the file to complete by hand, one a line (empty when none)."""
    lines = [f"{what} : {warning}" for _id, what, warning in warnings_of(entries, documents)]
    if not lines:
        return ""
    head = (
        "Factures du FEC à compléter dans le logiciel comptable (le FEC reste équilibré et "
        "valide ; ces écritures n'ont pas de TVA autoliquidée) :"
    )
    return "\r\n".join([head, *lines]) + "\r\n"


def batch_notes(batch: Any) -> list[str]:
    """The lines of a batch's list of invoices to complete by hand (none: ``[]``)."""
    if not any(item.get("format") == NOTES_FORMAT for item in batch.files or []):
        return []
    try:
        path, _name, _type = batch_file(batch, NOTES_FORMAT)
        text = path.read_bytes().decode("utf-8")
    except (ServiceError, OSError, UnicodeDecodeError):
        return []
    return [line for line in text.splitlines()[1:] if line.strip()]


def audit_export(
    company: Company, done: PeriodExport, via: str, user_id: int | None = None
) -> None:
    """Record an export in the firm's audit log (action ``fec_export``) — the tab's, the
    API's (``via`` "api") and the command line's ("cli") alike; the caller commits."""
    batch = done.batch
    audit(
        "fec_export",
        target=f"company:{company.id}",
        details={
            "batch": batch.id,
            "version": batch.version,
            "start": batch.period_start.isoformat(),
            "end": batch.period_end.isoformat(),
            "created": done.created,
            "documents": batch.document_count,
            "rejected": len(done.rejected),
            "via": via,
        },
        firm_id=company.firm_id,
        user_id=user_id,
    )
