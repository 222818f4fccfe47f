"""What Classeur keeps per app: plugin manager, registries, task runner, search backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    import pluggy

    from core.binders.registry import BinderTypeRegistry
    from core.exports.registry import ExporterRegistry
    from core.plugins.activation import PluginCatalog
    from core.plugins.manager import Hooks
    from core.search.backend import SearchBackend
    from core.storage import Storage
    from core.tasks.registry import TaskRegistry
    from core.tasks.runner import TaskRunner
    from core.tenancy.tabs import CompanyTab


@dataclass
class ClasseurState:
    """The per-app objects; reached with :func:`classeur`."""

    pm: pluggy.PluginManager
    hooks: Hooks
    binder_types: BinderTypeRegistry
    exporters: ExporterRegistry
    company_tabs: list[CompanyTab]
    storage: Storage
    task_registry: TaskRegistry
    tasks: TaskRunner | None = None
    _search: SearchBackend | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The loaded plugins' declared information and what each registered (activation).
    plugins: PluginCatalog = field(default_factory=lambda: _empty_catalog())

    @property
    def search(self) -> SearchBackend:
        """The search backend, opened on first use (never at start-up)."""
        if self._search is None:
            from core.search.services import open_backend

            self._search = open_backend(current_app.config)
        return self._search


def _empty_catalog() -> PluginCatalog:
    from core.plugins.activation import PluginCatalog

    return PluginCatalog()


def classeur(app: Flask | None = None) -> ClasseurState:
    """The Classeur state of ``app`` (default: the current app)."""
    return (app or current_app).extensions["classeur"]
