"""Export connectors: the interface a plugin implements, and the registry of one app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, runtime_checkable

if TYPE_CHECKING:
    from core.binders.models import Binder
    from core.documents.models import Document
    from core.tenancy.models import Company


class ExportError(Exception):
    """Raised by an exporter when a document could not be exported.

    ``transient`` errors (time-outs, 5xx, rate limits) are retried with back-off; others are
    shown to the firm as "Documents en erreur" until the document is corrected and resent.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        code: str | None = None,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code
        self.field = field
        self.retry_after = retry_after


@dataclass
class ExportResult:
    """What an exporter returns on success (or the core builds from an ``ExportError``).

    ``warnings`` (French) are what the accountant should check in the remote system although
    the document went through (e.g. a purchase MEG attached to another supplier): the core
    stores them as the status message and marks the status ``warning`` — "Exporté avec
    avertissement" on the document and in the dashboard block of that name.
    """

    ok: bool = True
    remote_id: str | None = None
    message: str | None = None
    code: str | None = None
    transient: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class ExportContext:
    """Everything an exporter may read; it never touches the database session itself."""

    document: Document
    binder: Binder
    company: Company
    settings: dict[str, Any]
    original_path: Path
    idempotency_key: str
    config: Mapping[str, Any]
    #: Persist connector settings (e.g. refreshed tokens) through the core.
    save_settings: Any = None


class ConnectorRules(TypedDict, total=False):
    """What a connector accepts, published so that a binder can refuse it before validation.

    Every key is optional; a key left out means no restriction from that connector.
    """

    #: Classes (first digit, as strings) of the general ledger accounts accepted on purchase
    #: lines, e.g. ``["2", "6"]``.
    account_classes: list[str]
    #: The VAT codes the connector knows, e.g. ``["FR_200", "FR_100", ..., "AE", "INTRA"]``.
    vat_codes: list[str]
    #: Fields (dotted names of the binder's fields) the connector cannot do without, e.g.
    #: ``["invoice_number", "due_date"]``.
    required_fields: list[str]


@runtime_checkable
class Exporter(Protocol):
    """An export connector. ``export`` returns an ``ExportResult`` or raises ``ExportError``.

    Optional attribute, not part of the protocol's required members (so that ``isinstance``
    keeps accepting exporters without it): ``rules: ConnectorRules`` — what the connector
    accepts, read with :func:`exporter_rules` and combined per company by
    ``core.exports.services.connector_rules``.
    """

    name: str
    label: str
    description: str
    binder_types: set[str]

    def export(self, context: ExportContext) -> ExportResult: ...


def exporter_rules(exporter: Exporter) -> ConnectorRules:
    """The rules an exporter publishes (``{}`` when it publishes none)."""
    rules = getattr(exporter, "rules", None)
    return rules if isinstance(rules, dict) else {}  # type: ignore[return-value]


@dataclass
class PeriodFile:
    """A further rendering of a period's file (the CSV beside the FEC), stored in its batch."""

    #: Short id used in download links ("csv").
    format: str
    filename: str
    media_type: str
    content: bytes


@dataclass
class PeriodExportContext:
    """What a period exporter reads: the company, the period and its validated documents.

    ``documents`` are the company's validated documents of the exporter's binder types whose
    date (``PeriodExporter.date_field``) falls in ``[start, end]``, ordered by that date then
    id. The exporter never touches the database session. It reports a document it cannot put
    in the file with :meth:`reject` (that document gets an ``error`` status, the others go
    on), and may :meth:`attach` further renderings of the same entries.
    """

    company: Company
    start: date
    end: date
    documents: list[Document]
    #: The exporter's settings for this company (firm's, then company's, merged).
    settings: dict[str, Any]
    config: Mapping[str, Any]
    #: document id -> the ``ExportError`` that kept it out of the file.
    rejected: dict[int, ExportError] = field(default_factory=dict)
    attachments: list[PeriodFile] = field(default_factory=list)
    #: The exporter may set the file's media type for this run (e.g. its charset), in place
    #: of its ``media_type``.
    media_type: str | None = None

    def reject(self, document: Document, error: ExportError) -> None:
        """Leave ``document`` out of the file; its status shows ``error.message`` (French)."""
        self.rejected[document.id] = error

    def attach(self, format: str, filename: str, media_type: str, content: bytes) -> None:
        """Store another file with the batch (same entries, another format)."""
        self.attachments.append(PeriodFile(format, filename, media_type, content))


@runtime_checkable
class PeriodExporter(Protocol):
    """An exporter that produces one file over a company, a period and its documents.

    Registered through ``register_exporters`` like a document exporter; the registry tells
    them apart by ``export_period``. The core selects the documents (validated, of
    ``binder_types``, dated in the period on ``date_field``: a dotted key of the fields holding
    an ISO date ``YYYY-MM-DD``), calls :meth:`export_period`, stores the file, records an
    ``ExportBatch`` (a new version only when the file changed) and gives every document in the
    file an ``ExportStatus`` ``exported`` under ``name``. ``export_period`` returns the file's
    bytes (``media_type``, named by :meth:`filename`) or raises ``ExportError`` for the whole
    period.
    """

    name: str
    label: str
    description: str
    binder_types: set[str]
    #: Dotted key of the document's fields giving its date ("invoice_date").
    date_field: str
    media_type: str

    def filename(self, company: Company, start: date, end: date) -> str: ...

    def export_period(self, context: PeriodExportContext) -> bytes: ...


class ExporterRegistry:
    """The exporters of one app, filled at start-up through ``register_exporters``.

    Two kinds share it (and one namespace of names, the connector of ``ExportStatus``):
    document exporters (:class:`Exporter`, dispatched each validated document) and period
    exporters (:class:`PeriodExporter`, run over a period on demand). :meth:`all` and
    :meth:`get` see both (labels, switches); :meth:`for_binder_type` only the first kind.
    """

    def __init__(self) -> None:
        self._exporters: dict[str, Exporter | PeriodExporter] = {}

    def register(self, exporter: Exporter | PeriodExporter) -> None:
        if not isinstance(exporter, Exporter | PeriodExporter):
            raise TypeError(
                f"{exporter!r} implements neither the Exporter nor the PeriodExporter interface"
            )
        if exporter.name in self._exporters:
            raise RuntimeError(f"exporter {exporter.name!r} registered twice")
        self._exporters[exporter.name] = exporter

    def get(self, name: str) -> Exporter | PeriodExporter | None:
        """The exporter of that name, of either kind."""
        return self._exporters.get(name)

    def all(self) -> list[Exporter | PeriodExporter]:
        """Every exporter, of both kinds, by name."""
        return sorted(self._exporters.values(), key=lambda e: e.name)

    def for_binder_type(self, binder_type: str) -> list[Exporter]:
        """The document exporters subscribed to ``binder_type``: the only ones that may see
        each of its validated documents."""
        return [
            e
            for e in self.all()
            if is_document_exporter(e) and binder_type in e.binder_types  # type: ignore[misc]
        ]

    def period(self, name: str) -> PeriodExporter | None:
        """The period exporter of that name."""
        exporter = self._exporters.get(name)
        return exporter if is_period_exporter(exporter) else None  # type: ignore[return-value]

    def periods(self) -> list[PeriodExporter]:
        """Every period exporter, by name."""
        return [e for e in self.all() if is_period_exporter(e)]  # type: ignore[misc]


def is_period_exporter(exporter: object) -> bool:
    """True for a period exporter (it has ``export_period``)."""
    return exporter is not None and isinstance(exporter, PeriodExporter)


def is_document_exporter(exporter: object) -> bool:
    """True for a document exporter (``export``) that is not a period exporter."""
    return isinstance(exporter, Exporter) and not isinstance(exporter, PeriodExporter)
