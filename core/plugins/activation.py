"""Which plugins are on for a firm and for one of its companies.

Every loaded plugin — binder types, readers (OCR), exporters, intake sources... — can be
switched on or off for a firm, and for one company, whose own switch wins over the firm's; a
plugin nobody switched follows the default it declares (:class:`PluginInfo`, hook
``plugin_info``). The switches are data (``plugin_settings`` rows), read when work is done,
never a change of the plugin manager: every worker process sees a switch at once.

The core enforces them in one place, :class:`core.plugins.manager.Hooks`, which calls a
document's hooks without the plugins switched off for its company; binder types and
exporters are checked where binders, uploads and exports are made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from core.db import db
from core.errors import ServiceError
from core.plugins.models import PluginSetting

if TYPE_CHECKING:
    import pluggy

    from core.tenancy.models import Company

#: Plugin kinds, with their French labels (the "Modules" page).
KINDS: dict[str, str] = {
    "core": "Cœur",
    "binder_type": "Type de classeur",
    "reader": "Lecture des documents (OCR)",
    "exporter": "Connecteur d'export",
    "period_exporter": "Export par période",
    "intake": "Source de documents",
    "other": "Autre",
}


@dataclass(frozen=True)
class PluginInfo:
    """What a plugin declares about itself (hook ``plugin_info``).

    ``kind`` is one of :data:`KINDS`; ``default_enabled`` is the switch of a firm or company
    where nobody switched the plugin (binder types and readers on; connectors off until
    switched on). A plugin without ``plugin_info`` gets one guessed from what it registers.
    """

    name: str
    label: str
    kind: str = "other"
    default_enabled: bool = True
    description: str = ""
    #: French names of the codes the plugin writes in documents' histories and the audit log
    #: (``{"email_received": "Reçu par e-mail"}``), shown instead of the codes.
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"plugin {self.name!r}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})"
            )

    @property
    def kind_label(self) -> str:
        """The kind's French label."""
        return KINDS[self.kind]

    @property
    def switchable(self) -> bool:
        """Only the core cannot be switched off."""
        return self.kind != "core"


@dataclass
class PluginCatalog:
    """The loaded plugins of one app (in load order) and what each registered."""

    infos: dict[str, PluginInfo] = field(default_factory=dict)
    #: binder type name → plugin name
    binder_types: dict[str, str] = field(default_factory=dict)
    #: exporter name → plugin name
    exporters: dict[str, str] = field(default_factory=dict)

    def labels(self) -> dict[str, str]:
        """Every plugin's names of its event and audit codes."""
        merged: dict[str, str] = {}
        for info in self.infos.values():
            for code, label in info.labels.items():
                merged.setdefault(code, label)
        return merged

    def get(self, name: str) -> PluginInfo | None:
        """The plugin ``name``'s information, or None when it is not loaded."""
        return self.infos.get(name)

    def all(self) -> list[PluginInfo]:
        """Every loaded plugin, the core first."""
        return list(self.infos.values())

    def default(self, name: str) -> bool:
        """The default switch of a plugin (as it declares), or of a connector that is not a
        plugin's own name (off until switched on); True for anything else."""
        info = self.infos.get(name)
        if info is not None:
            return info.default_enabled
        return name not in self.exporters

    def plugin_of_exporter(self, exporter: str) -> str:
        """The plugin whose switch governs ``exporter`` (its own name if unknown)."""
        return self.exporters.get(exporter, exporter)

    def plugin_of_binder_type(self, binder_type: str) -> str | None:
        """The plugin that registered ``binder_type``."""
        return self.binder_types.get(binder_type)

    def exporters_of(self, plugin: str) -> list[str]:
        """The exporters registered by ``plugin``."""
        return [e for e, p in self.exporters.items() if p == plugin]


def _guess_info(
    name: str, binder_types: Iterable[str], exporters: Iterable[str], reads: bool
) -> PluginInfo:
    if name == "core":
        return PluginInfo(name="core", label="Classeur", kind="core")
    if list(exporters):
        kind = "exporter"
    elif list(binder_types):
        kind = "binder_type"
    else:
        kind = "reader" if reads else "other"
    # An undeclared plugin is on, unless its own name is one of its connectors' (whose switch
    # it then is): a connector is off until switched on.
    own_connector = name in list(exporters)
    return PluginInfo(name=name, label=name, kind=kind, default_enabled=not own_connector)


def build_catalog(
    pm: pluggy.PluginManager, binder_types: dict[str, str], exporters: dict[str, str]
) -> PluginCatalog:
    """Gather each loaded plugin's ``plugin_info`` (or a guess from what it registered)."""
    declared: dict[str, PluginInfo] = {}
    for impl in pm.hook.plugin_info.get_hookimpls():
        value = impl.function()
        if value is None:
            continue
        if isinstance(value, dict):
            value = PluginInfo(**{"name": impl.plugin_name, **value})
        if not isinstance(value, PluginInfo):
            raise TypeError(f"plugin {impl.plugin_name!r}: plugin_info must return a PluginInfo")
        declared[impl.plugin_name] = value
    readers = {impl.plugin_name for impl in pm.hook.extract_text.get_hookimpls()}
    catalog = PluginCatalog(binder_types=dict(binder_types), exporters=dict(exporters))
    for name, _plugin in pm.list_name_plugin():
        info = declared.get(name)
        if info is None:
            info = _guess_info(
                name,
                [t for t, p in binder_types.items() if p == name],
                [e for e, p in exporters.items() if p == name],
                name in readers,
            )
        elif info.name != name:
            # The switch is keyed by the name the plugin was loaded under.
            info = PluginInfo(**{**info.__dict__, "name": name})
        catalog.infos[name] = info
    return catalog


def catalog() -> PluginCatalog:
    """The current app's plugin catalog."""
    from core.state import classeur

    return classeur().plugins


# --- reading the switches -------------------------------------------------------------------


def resolve(company: bool | None, firm: bool | None, default: bool) -> bool:
    """A company's own switch wins over the firm's, which wins over the plugin's default."""
    if company is not None:
        return company
    if firm is not None:
        return firm
    return default


def _switches(firm_id: int, company_id: int | None) -> tuple[dict[str, bool], dict[str, bool]]:
    """The firm's switches and the company's own (``None`` = inherit rows left out)."""
    stmt = select(PluginSetting.plugin, PluginSetting.company_id, PluginSetting.enabled).where(
        PluginSetting.firm_id == firm_id, PluginSetting.enabled.is_not(None)
    )
    if company_id is None:
        stmt = stmt.where(PluginSetting.company_id.is_(None))
    else:
        stmt = stmt.where(
            or_(PluginSetting.company_id.is_(None), PluginSetting.company_id == company_id)
        )
    firm: dict[str, bool] = {}
    own: dict[str, bool] = {}
    for plugin, owner, enabled in db.session.execute(stmt):
        (firm if owner is None else own)[plugin] = bool(enabled)
    return firm, own


def plugin_enabled(firm_id: int, company_id: int | None, plugin: str) -> bool:
    """Whether ``plugin`` is on for the company (or, ``company_id`` None, for the firm)."""
    info = catalog().get(plugin)
    if info is not None and not info.switchable:
        return True
    firm, own = _switches(firm_id, company_id)
    return resolve(own.get(plugin), firm.get(plugin), catalog().default(plugin))


def exporter_enabled(firm_id: int, company_id: int, exporter: str) -> bool:
    """Whether a connector sends for the company: its own switch (keyed by its name, off until
    switched on) and, when its plugin has another name, its plugin's switch."""
    cat = catalog()
    firm, own = _switches(firm_id, company_id)
    enabled = resolve(own.get(exporter), firm.get(exporter), cat.default(exporter))
    plugin = cat.plugin_of_exporter(exporter)
    if enabled and plugin != exporter:
        enabled = resolve(own.get(plugin), firm.get(plugin), cat.default(plugin))
    return enabled


def disabled_plugins(firm_id: int, company_id: int | None, *, explicit: bool = False) -> set[str]:
    """The loaded plugins switched off for the company (or the firm): one query.

    ``explicit`` counts only plugins someone switched off, not those off by default (a
    connector prepares a new demo company though nobody switched it on yet).
    """
    firm, own = _switches(firm_id, company_id)
    return {
        info.name
        for info in catalog().all()
        if info.switchable
        and not resolve(
            own.get(info.name), firm.get(info.name), True if explicit else info.default_enabled
        )
    }


def plugin_states(firm_id: int, company_id: int | None = None) -> list[dict[str, Any]]:
    """Every loaded plugin with its switches for the firm (and the company): for pages, API.

    ``firm`` / ``company`` are the stored switches (None = inherit), ``enabled`` the effective
    value for the company (the firm's when ``company_id`` is None).
    """
    firm, own = _switches(firm_id, company_id)
    states = []
    for info in catalog().all():
        firm_value = firm.get(info.name)
        company_value = own.get(info.name) if company_id is not None else None
        states.append(
            {
                "name": info.name,
                "label": info.label,
                "kind": info.kind,
                "kind_label": info.kind_label,
                "description": info.description,
                "default": info.default_enabled,
                "switchable": info.switchable,
                "firm": firm_value,
                "company": company_value,
                "firm_enabled": resolve(None, firm_value, info.default_enabled)
                or not info.switchable,
                "enabled": resolve(company_value, firm_value, info.default_enabled)
                or not info.switchable,
            }
        )
    return states


def company_overrides(firm_id: int) -> dict[tuple[str, int], bool]:
    """Every company's own switches of the firm: ``{(plugin, company_id): enabled}``."""
    rows = db.session.execute(
        select(PluginSetting.plugin, PluginSetting.company_id, PluginSetting.enabled).where(
            PluginSetting.firm_id == firm_id,
            PluginSetting.company_id.is_not(None),
            PluginSetting.enabled.is_not(None),
        )
    )
    return {(plugin, company_id): bool(enabled) for plugin, company_id, enabled in rows}


def setting_row(firm_id: int, company_id: int | None, plugin: str) -> PluginSetting | None:
    """The settings row of a plugin for a firm (company None) or one company."""
    stmt = select(PluginSetting).where(
        PluginSetting.firm_id == firm_id,
        PluginSetting.plugin == plugin,
        PluginSetting.company_id.is_(None)
        if company_id is None
        else PluginSetting.company_id == company_id,
    )
    return db.session.scalar(stmt)


# --- switching ------------------------------------------------------------------------------


def set_plugin_enabled(
    firm_id: int, plugin: str, enabled: bool | None, company_id: int | None = None
) -> PluginSetting | None:
    """Switch ``plugin`` on (True), off (False) or back to inherit (None) for the firm or one
    company (already scoped by the caller); flushes and returns the row (None when none is
    left). A row holding the plugin's settings is kept when its switch goes back to inherit.
    """
    info = catalog().get(plugin)
    if info is None:
        raise ServiceError(f"Module inconnu : {plugin}.", "plugin", code="unknown", status=404)
    if not info.switchable:
        raise ServiceError(
            "Le cœur de Classeur ne peut pas être désactivé.", "plugin", code="core", status=409
        )
    return set_switch(firm_id, plugin, enabled, company_id)


def set_switch(
    firm_id: int, key: str, enabled: bool | None, company_id: int | None = None
) -> PluginSetting | None:
    """Store a switch keyed by a plugin's or a connector's name, unchecked; flushes."""
    plugin = key
    row = setting_row(firm_id, company_id, plugin)
    if row is None:
        if enabled is None:
            return None
        row = PluginSetting(firm_id=firm_id, company_id=company_id, plugin=plugin, settings={})
        db.session.add(row)
    row.enabled = enabled
    if enabled is None and not row.settings:
        db.session.delete(row)
        db.session.flush()
        return None
    db.session.flush()
    return row


def switch_plugin(
    firm_id: int, plugin: str, enabled: bool | None, company_id: int | None = None
) -> list[int]:
    """:func:`set_plugin_enabled`, then, for the plugin's exporters, put aside what waits or
    failed where it is now off and queue what waited where it is now on; flushes. Returns the
    export status ids queued (sent once committed)."""
    from core.exports.services import release_skipped, set_aside

    set_plugin_enabled(firm_id, plugin, enabled, company_id)
    to_run: list[int] = []
    for exporter in catalog().exporters_of(plugin):
        # Off somewhere now: what waited or failed there is put aside; on: released.
        set_aside(firm_id, exporter, company_id)
        if enabled is not False:
            to_run += release_skipped(firm_id, exporter, company_id)
    return to_run


# --- enforcement ----------------------------------------------------------------------------


def check_binder_type_enabled(company: Company, binder_type: str) -> None:
    """Refuse new binders and uploads of a binder type whose plugin is off for ``company``.

    Its existing documents stay readable: only what would add to it is refused.
    """
    from core.state import classeur

    plugin = catalog().plugin_of_binder_type(binder_type)
    if plugin is None or plugin_enabled(company.firm_id, company.id, plugin):
        return
    bt = classeur().binder_types.get(binder_type)
    label = bt.label if bt is not None else binder_type
    info = catalog().get(plugin)
    raise ServiceError(
        f"Le type de classeur « {label} » est désactivé pour l'entreprise {company.name} "
        f"(module « {info.label if info else plugin} ») : un administrateur peut l'activer "
        "dans « Administration », « Modules ».",
        "type",
        code="plugin_disabled",
        status=409,
    )


def without_disabled(
    pm: pluggy.PluginManager,
    hook: str,
    firm_id: int | None,
    company_id: int | None,
    *,
    explicit: bool = False,
) -> Callable[..., Any]:
    """The hook ``hook`` minus the plugins switched off for that firm and company
    (``explicit``: only those someone switched off, see :func:`disabled_plugins`)."""
    caller = getattr(pm.hook, hook)
    if firm_id is None:
        return caller
    disabled = disabled_plugins(firm_id, company_id, explicit=explicit)
    if not disabled:
        return caller
    remove = [p for name in disabled if (p := pm.get_plugin(name)) is not None]
    return pm.subset_hook_caller(hook, remove_plugins=remove)
