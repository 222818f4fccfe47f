"""The firm's audit log: one call records who did what, from where."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from core.auth.models import AuditEvent
from core.db import db


def audit(
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    firm_id: int | None = None,
    user_id: int | None = None,
) -> None:
    """Add an audit event to the session (committed with the caller's transaction)."""
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if user_id is None and current_user.is_authenticated:
            user_id = current_user.id
        if firm_id is None and current_user.is_authenticated:
            from core.tenancy.scoping import current_membership

            firm_id = current_membership().firm_id
    db.session.add(
        AuditEvent(
            firm_id=firm_id, user_id=user_id, action=action, target=target, details=details, ip=ip
        )
    )
