"""The core's own plugin: the generic binder types every firm has."""

from __future__ import annotations

from collections.abc import Callable

from core.binders.registry import BinderType
from core.plugins.hookspecs import hookimpl


@hookimpl
def register_binder_types(register: Callable[[BinderType], None]) -> None:
    """Sales invoices, administrative documents and anything else: stored and searchable."""
    register(
        BinderType(
            name="sales_invoices",
            label="Factures de vente",
            description="Factures émises par l'entreprise.",
        )
    )
    register(
        BinderType(
            name="admin_documents",
            label="Documents administratifs",
            description="Statuts, Kbis, contrats, courriers…",
        )
    )
    register(BinderType(name="other", label="Autres documents", description="Tout le reste."))
