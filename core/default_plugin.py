"""The core's own plugin: the generic binder types every firm has."""

from __future__ import annotations

from collections.abc import Callable

from core.binders.registry import BinderType
from core.plugins.activation import PluginInfo
from core.plugins.hookspecs import hookimpl
from core.tasks.registry import TaskSpec


@hookimpl
def plugin_info() -> PluginInfo:
    """The core: always on (its generic binder types are every firm's)."""
    return PluginInfo(name="core", label="Classeur (cœur)", kind="core")


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


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """The core's tasks: reading a document, sending an export, notifying a period export,
    purging the trash, sending e-mail, the notifications' daily digest."""
    from core.documents import pipeline
    from core.documents.services import purge_task_spec
    from core.exports import periods, services
    from core.mail import services as mail
    from core.notifications import services as notifications

    register(pipeline.task_spec())
    register(services.task_spec())
    register(periods.task_spec())
    register(purge_task_spec())
    register(mail.task_spec())
    for spec in notifications.task_specs():
        register(spec)
