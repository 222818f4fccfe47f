"""The published plugin API: the only module of the core that a plugin imports.

Everything a plugin may rely on is re-exported here, grouped by purpose; the rest of the core
is internal and may change without notice. The import contract "a plugin imports the plugin
API and its own package only" (``setup.cfg``, checked on every test run) keeps it so. The
surface is documented in ``docs/plugins/api.md`` (a test keeps it complete); ``__all__`` lists it.

A plugin's modules write ``from core.plugin_api import hookimpl, BinderType, db, ...``.
"""

from __future__ import annotations

from core.api.views import fail
from core.auth.audit import audit
from core.auth.models import User
from core.auth.permissions import public, requires, role_allows
from core.binders.models import Binder
from core.binders.registry import BinderType, FieldsError, default_binder
from core.binders.searchable import Searchable
from core.cli import app_context
from core.config import CONTENT_SECURITY_POLICY
from core.crypto import SecretError, decrypt_json, encrypt_json
from core.db import Base, UTCDateTime, db, utcnow
from core.documents import presenters
from core.documents.intake import Inspection, inspect_file, inspection_of
from core.documents.models import Document, DocumentEvent, DocumentState
from core.documents.reading import image_frame
from core.documents.services import (
    document_checks,
    store_upload,
    submit_processing,
    update_fields,
    validate_document,
)
from core.errors import ServiceError
from core.exports.batches import ExportBatch
from core.exports.models import ExportState, ExportStatus
from core.exports.periods import (
    PeriodExport,
    batch_file,
    check_period,
    export_period,
    get_batch,
    parse_day,
    period_batches,
    period_label,
)
from core.exports.registry import (
    ExportContext,
    ExportError,
    ExportResult,
    PeriodExportContext,
    PeriodExporter,
)
from core.exports.services import (
    connector_rules,
    connector_setting,
    release_skipped,
    retry_export,
    set_connector_enabled,
    submit_exports,
)
from core.notifications.services import notify_firm
from core.plugins.activation import PluginInfo, plugin_enabled
from core.plugins.hookspecs import hookimpl
from core.search.mentions import FRENCH_MONTHS
from core.state import classeur
from core.tasks import after_commit
from core.tasks.registry import Lease, TaskSpec
from core.tenancy import scoping
from core.tenancy.models import Company, Firm
from core.tenancy.services import create_binder, update_company, update_company_settings
from core.tenancy.tabs import CompanyTab

__all__ = [
    # hooks
    "hookimpl",
    # what a plugin is, and whether it is on for a firm or company
    "PluginInfo",
    "plugin_enabled",
    # database and models
    "Base",
    "UTCDateTime",
    "db",
    "utcnow",
    "User",
    "Company",
    "Firm",
    "Binder",
    "Document",
    "DocumentEvent",
    "DocumentState",
    "ExportState",
    "ExportStatus",
    # binder types
    "BinderType",
    "FieldsError",
    "default_binder",
    "Searchable",
    # exporters
    "ExportContext",
    "ExportError",
    "ExportResult",
    "connector_rules",
    "connector_setting",
    "release_skipped",
    "retry_export",
    "set_connector_enabled",
    "submit_exports",
    # period exporters
    "ExportBatch",
    "PeriodExport",
    "PeriodExportContext",
    "PeriodExporter",
    "batch_file",
    "check_period",
    "export_period",
    "get_batch",
    "parse_day",
    "period_batches",
    "period_label",
    # documents
    "Inspection",
    "inspect_file",
    "inspection_of",
    "image_frame",
    "document_checks",
    "store_upload",
    "submit_processing",
    "update_fields",
    "validate_document",
    "presenters",
    # companies
    "scoping",
    "create_binder",
    "update_company",
    "update_company_settings",
    "CompanyTab",
    # web, API, security
    "audit",
    "public",
    "requires",
    "role_allows",
    "fail",
    "ServiceError",
    "SecretError",
    "decrypt_json",
    "encrypt_json",
    "CONTENT_SECURITY_POLICY",
    # state, tasks, search, CLI
    "classeur",
    "Lease",
    "TaskSpec",
    "after_commit",
    "app_context",
    # notifications
    "notify_firm",
    "FRENCH_MONTHS",
]
