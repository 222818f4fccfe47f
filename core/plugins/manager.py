"""The plugin host: one pluggy ``PluginManager`` per app, and a typed facade to call hooks."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click
import pluggy

from core.plugins import hookspecs

if TYPE_CHECKING:
    from core.documents.models import Document
    from core.exports.registry import ExportResult
    from core.tenancy.models import Company

log = logging.getLogger("classeur.plugins")

ENTRY_POINT_GROUP = "classeur.plugins"

#: The core's own plugin, always loaded first. Every other plugin, the ones shipped with
#: Classeur included, is declared once: as an entry point of the ``classeur.plugins`` group
#: (``setup.cfg``), in the order they are registered.
BUILTIN_PLUGINS: dict[str, str] = {"core": "core.default_plugin"}


class PluginConfigError(RuntimeError):
    """The configuration names a plugin that is not installed."""


def _split(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v.strip()]


def available_plugins() -> dict[str, Callable[[], ModuleType]]:
    """Every installed plugin: the core's, then the entry-point group's."""
    found: dict[str, Callable[[], ModuleType]] = {}
    for name, module in BUILTIN_PLUGINS.items():
        found[name] = lambda module=module: importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = ep.load
    return found


def build_plugin_manager(config: dict[str, Any]) -> pluggy.PluginManager:
    """Create the app's plugin manager from the ``PLUGINS`` / ``DISABLED_PLUGINS`` settings.

    An unknown name in either list stops start-up with a clear message; ``check_pending``
    makes a misspelled ``@hookimpl`` fail here rather than being silently ignored.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    available = available_plugins()
    allowed = _split(config.get("PLUGINS"))
    blocked = set(_split(config.get("DISABLED_PLUGINS")))
    unknown = [n for n in [*allowed, *blocked] if n not in available]
    if unknown:
        raise PluginConfigError(
            f"Unknown plugin(s) in configuration: {', '.join(sorted(set(unknown)))}. "
            f"Installed: {', '.join(sorted(available))}."
        )
    if "core" in blocked:
        raise PluginConfigError("The 'core' plugin cannot be disabled.")
    names = allowed if allowed else list(available)
    if "core" not in names:
        names = ["core", *names]
    for name in names:
        if name in blocked:
            continue
        module = available[name]()
        pm.register(module, name=name)
    # Plugin objects given directly (embedding applications, tests).
    for plugin in config.get("EXTRA_PLUGINS") or ():
        pm.register(plugin)
    pm.check_pending()
    return pm


class Hooks:
    """Typed facade over the hooks: keyword arguments only, one method per hook."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def _contribute(self, hook: str, register: Callable[..., None]) -> dict[str, str]:
        """Call a contribution hook plugin by plugin (in pluggy's order) and return which
        plugin registered what: ``{contribution name: plugin name}``. The switches of a
        binder type or an exporter are its plugin's."""
        owners: dict[str, str] = {}
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):

            def tracked(obj: Any, *args: Any, _plugin: str = impl.plugin_name, **kw: Any) -> None:
                register(obj, *args, **kw)
                name = getattr(obj, "name", None)
                if name:
                    owners[str(name)] = _plugin

            impl.function(**({"register": tracked} if "register" in impl.argnames else {}))
        return owners

    def register_binder_types(self, register: Callable[..., None]) -> dict[str, str]:
        """Returns ``{binder type: plugin name}``."""
        return self._contribute("register_binder_types", register)

    def register_exporters(self, register: Callable[..., None]) -> dict[str, str]:
        """Returns ``{exporter name: plugin name}``."""
        return self._contribute("register_exporters", register)

    def config_defaults(self) -> dict[str, Any]:
        """Every plugin's declared settings (the first plugin to declare a name wins)."""
        merged: dict[str, Any] = {}
        for declared in reversed(self.pm.hook.config_defaults()):
            for key, value in (declared or {}).items():
                merged.setdefault(key, value)
        return merged

    def register_tasks(self, register: Callable[..., None]) -> None:
        self.pm.hook.register_tasks(register=register)

    def register_blueprints(self, register: Callable[..., None]) -> None:
        self.pm.hook.register_blueprints(register=register)

    def register_cli_commands(self, cli: click.Group) -> None:
        self.pm.hook.register_cli_commands(cli=cli)

    def register_company_tabs(self, register: Callable[..., None]) -> None:
        self.pm.hook.register_company_tabs(register=register)

    def company_details(self, company: Company) -> dict[str, dict[str, Any]]:
        """Every plugin's facts about ``company``, merged (first registered wins a key).

        A failing plugin is logged and its facts are left out, never the page or the API
        answer."""
        from core.plugins.activation import disabled_plugins

        merged: dict[str, dict[str, Any]] = {}
        off = disabled_plugins(company.firm_id, company.id)  # switched off for this company
        # get_hookimpls() lists implementations in registration order.
        for impl in self.pm.hook.company_details.get_hookimpls():
            if impl.plugin_name in off:
                continue
            try:
                # An implementation may take fewer arguments than the spec.
                found = impl.function(**{k: company for k in impl.argnames if k == "company"})
            except Exception:
                log.exception("company_details of plugin %s failed", impl.plugin_name)
                continue
            for key, item in (found or {}).items():
                if isinstance(item, dict) and "value" in item:
                    merged.setdefault(key, {**item, "label": item.get("label") or key})
        return merged

    def _for(
        self, hook: str, firm_id: int | None, company_id: int | None, *, explicit: bool = False
    ) -> Any:
        # Switches are data read at call time (never pm.unregister, which would change one
        # worker process only): the hook runs without the plugins off for this company.
        from core.plugins.activation import without_disabled

        return without_disabled(self.pm, hook, firm_id, company_id, explicit=explicit)

    def _for_document(self, hook: str, document: Document) -> Any:
        # A document read outside any firm (``classeur extract FILE``) has no switches.
        return self._for(
            hook, getattr(document, "firm_id", None), getattr(document, "company_id", None)
        )

    def seed_demo_company(self, company: Company) -> None:
        # Plugins off by default (connectors) still prepare the demo; switched off, they don't.
        self._for("seed_demo_company", company.firm_id, company.id, explicit=True)(company=company)

    def extract_text(
        self, document: Document, path: Path, pages: list[int], config: dict[str, Any]
    ) -> dict[int, str] | None:
        return self._for_document("extract_text", document)(
            document=document, path=path, pages=pages, config=config
        )

    def read_region(
        self,
        document: Document,
        path: Path,
        page: int,
        box: tuple[float, float, float, float],
        *,
        digits: bool = False,
        config: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]] | None:
        return self._for_document("read_region", document)(
            document=document, path=path, page=page, box=box, digits=digits, config=config or {}
        )

    def after_document_stored(self, document: Document) -> None:
        self._for_document("after_document_stored", document)(document=document)

    def after_document_validated(self, document: Document, user_id: int | None) -> None:
        self._for_document("after_document_validated", document)(document=document, user_id=user_id)

    def after_export(self, document: Document, connector: str, result: ExportResult) -> None:
        self._for_document("after_export", document)(
            document=document, connector=connector, result=result
        )

    def document_payment(self, document: Document) -> dict[str, Any] | None:
        """The payment state a connector knows for ``document`` (first answer, in pluggy's
        order), or None; a failing plugin is logged and counts as not knowing, never hiding
        another plugin's answer. Plugins off for the document's company are not asked."""
        from core.plugins.activation import disabled_plugins

        off = disabled_plugins(document.firm_id, document.company_id)
        # pluggy calls the last registered implementation first.
        for impl in reversed(self.pm.hook.document_payment.get_hookimpls()):
            if impl.plugin_name in off:
                continue
            try:
                found = impl.function(**{k: document for k in impl.argnames if k == "document"})
            except Exception:
                log.exception(
                    "document_payment of plugin %s failed for document %s",
                    impl.plugin_name,
                    document.id,
                )
                continue
            if found is not None:
                return found
        return None

    def before_serve(self, app: Any, options: dict[str, Any]) -> None:
        self.pm.hook.before_serve(app=app, options=options)
