"""The ``binder_purchases`` plugin: the binder type of purchase invoices.

Hook implementations only; the work is in the modules beside this one.
"""

from __future__ import annotations

from collections.abc import Callable

from core.binders.registry import BinderType
from core.plugins.hookspecs import hookimpl

NAME = "binder_purchases"
BINDER_TYPE = "purchase_invoices"


@hookimpl
def register_binder_types(register: Callable[[BinderType], None]) -> None:
    """Register ``purchase_invoices`` ("Factures d'achat")."""
    register(
        BinderType(
            name=BINDER_TYPE,
            label="Factures d'achat",
            description="Factures fournisseurs : lues, contrôlées et imputées.",
            plugin=NAME,
        )
    )
