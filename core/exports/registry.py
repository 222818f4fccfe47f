"""Export connectors: the interface a plugin implements, and the registry of one app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


class ExporterRegistry:
    """The exporters of one app, filled at start-up through ``register_exporters``."""

    def __init__(self) -> None:
        self._exporters: dict[str, Exporter] = {}

    def register(self, exporter: Exporter) -> None:
        if not isinstance(exporter, Exporter):
            raise TypeError(f"{exporter!r} does not implement the Exporter interface")
        if exporter.name in self._exporters:
            raise RuntimeError(f"exporter {exporter.name!r} registered twice")
        self._exporters[exporter.name] = exporter

    def get(self, name: str) -> Exporter | None:
        return self._exporters.get(name)

    def all(self) -> list[Exporter]:
        return sorted(self._exporters.values(), key=lambda e: e.name)

    def for_binder_type(self, binder_type: str) -> list[Exporter]:
        """The exporters subscribed to ``binder_type``: the only ones that may see it."""
        return [e for e in self.all() if binder_type in e.binder_types]
