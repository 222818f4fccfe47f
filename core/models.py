"""Import every core model so that ``Base.metadata`` is complete (alembic, tests)."""

from core.auth.models import ApiToken, AuditEvent, User
from core.binders.models import Binder
from core.documents.models import Document, DocumentEvent, DocumentState
from core.exports.batches import ExportBatch
from core.exports.models import ConnectorSetting, ExportState, ExportStatus
from core.mail.models import MailState, OutgoingMail
from core.notifications.models import Notification
from core.portal.models import DocumentRequest, RequestState
from core.search.models import SearchDocument
from core.search.saved import SavedSearch
from core.tenancy.models import Company, Firm, Membership, Role, membership_companies

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Binder",
    "Company",
    "ConnectorSetting",
    "Document",
    "DocumentEvent",
    "DocumentRequest",
    "DocumentState",
    "ExportBatch",
    "ExportState",
    "ExportStatus",
    "Firm",
    "MailState",
    "Membership",
    "Notification",
    "OutgoingMail",
    "RequestState",
    "Role",
    "SavedSearch",
    "SearchDocument",
    "User",
    "membership_companies",
]
