"""The permissions matrix: one place saying which role may do what, on pages and API alike.

Every view is decorated with :func:`requires` (or :func:`public`); a test walks the URL map
and fails for a view that declares nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, g, request
from flask_login import current_user

from core.tenancy.models import Role

F = TypeVar("F", bound=Callable[..., Any])

A, C, U = Role.ADMIN, Role.ACCOUNTANT, Role.UPLOADER

#: permission -> roles allowed. Scoping to the firm (and an uploader's companies) is applied
#: on top of this by the tenancy helpers.
MATRIX: dict[str, frozenset[Role]] = {
    "dashboard.view": frozenset({A, C, U}),
    "companies.read": frozenset({A, C, U}),
    "companies.write": frozenset({A, C}),
    "binders.read": frozenset({A, C, U}),
    "binders.write": frozenset({A, C}),
    "documents.read": frozenset({A, C, U}),
    "documents.upload": frozenset({A, C, U}),
    "documents.review": frozenset({A, C}),
    "documents.export": frozenset({A, C}),
    "search.use": frozenset({A, C, U}),
    # The company's "Comptabilité" tabs (settings, suppliers, MEG/mail links): staff only.
    "accounting.read": frozenset({A, C}),
    "accounting.write": frozenset({A, C}),
    "connectors.manage": frozenset({A}),
    "plugins.manage": frozenset({A}),
    "admin.view": frozenset({A}),
    "users.manage": frozenset({A}),
    "tokens.own": frozenset({A, C, U}),
    # One's own account, notifications and the client portal's home.
    "account.own": frozenset({A, C, U}),
    "notifications.own": frozenset({A, C, U}),
    "portal.use": frozenset({A, C, U}),
    # Asking a client company for a missing document, or to complete one.
    "requests.manage": frozenset({A, C}),
}

#: API token scope needed for a permission (read-only permissions need "read").
WRITE_PERMISSIONS = {
    "companies.write",
    "requests.manage",
    "binders.write",
    "documents.upload",
    "documents.review",
    "documents.export",
    "accounting.write",
}
ADMIN_PERMISSIONS = {"connectors.manage", "plugins.manage", "admin.view", "users.manage"}


def role_allows(role: Role, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (an unknown permission allows nobody)."""
    return role in MATRIX.get(permission, frozenset())


def scope_for(permission: str) -> str:
    if permission in ADMIN_PERMISSIONS:
        return "admin"
    if permission in WRITE_PERMISSIONS:
        return "write"
    return "read"


def requires(permission: str) -> Callable[[F], F]:
    """Allow the view to members whose role holds ``permission``; others get 403.

    Anonymous users are sent to the login page (pages) or get 401 (API).
    """
    if permission not in MATRIX:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from core.tenancy.scoping import current_membership

            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            membership = current_membership()
            if not role_allows(membership.role, permission):
                abort(403)
            token_scopes = g.get("token_scopes")
            if token_scopes is not None and scope_for(permission) not in token_scopes:
                abort(403)
            return view(*args, **kwargs)

        wrapper._classeur_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def operator_required(view: F) -> F:
    """Allow the view to the platform's operators only (``User.is_operator``, above the
    firms; no firm role gives it). Others get 403; a token needs the ``admin`` scope."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                abort(401)
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if not current_user.is_operator:
            abort(403)
        token_scopes = g.get("token_scopes")
        if token_scopes is not None and "admin" not in token_scopes:
            abort(403)
        return view(*args, **kwargs)

    wrapper._classeur_permission = "operator"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def public(view: F) -> F:
    """Mark a view as reachable without logging in (login page, static, health)."""
    view._classeur_permission = "public"  # type: ignore[attr-defined]
    return view
