"""Alembic wiring: one environment, the core's versions plus each plugin's branch."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"


def _installed_plugin_folders() -> list[Path]:
    """The package folders of every installed plugin, enabled or not, found without
    importing them (a disabled plugin's code never runs)."""
    import importlib.util
    from importlib.metadata import entry_points

    from core.plugins.manager import BUILTIN_PLUGINS, ENTRY_POINT_GROUP

    modules = dict(BUILTIN_PLUGINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        modules.setdefault(ep.name, ep.value.split(":")[0])
    folders = []
    for name, module in modules.items():
        if name == "core":
            continue
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            folders.append(Path(spec.origin).resolve().parent)
    return folders


def plugin_migration_dirs(app: Flask) -> list[Path]:
    """``migrations/`` folders of the loaded plugins that have one, and of the installed ones
    that are disabled: a database migrated while a plugin was on must still upgrade (and keep
    that plugin's tables, nothing stored is lost) once it is switched off."""
    dirs = []
    for name, plugin in app.extensions["classeur"].pm.list_name_plugin():
        module_file = getattr(plugin, "__file__", None)
        if not module_file or name == "core":
            continue
        folder = Path(module_file).resolve().parent / "migrations"
        if folder.is_dir():
            dirs.append(folder)
    for package in _installed_plugin_folders():
        folder = package / "migrations"
        if folder.is_dir() and folder not in dirs:
            dirs.append(folder)
    return dirs


def import_plugin_models(app: Flask) -> None:
    """Import ``<plugin>.models`` so their tables join the metadata."""
    import core.models  # noqa: F401

    for name, plugin in app.extensions["classeur"].pm.list_name_plugin():
        if name == "core" or not isinstance(plugin, ModuleType):
            continue  # objects given through EXTRA_PLUGINS have no models module
        modname = f"{plugin.__name__}.models"
        try:
            importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise


def alembic_config(app: Flask) -> Config:
    """An alembic ``Config`` for this app's database and plugins."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [MIGRATIONS / "versions", *plugin_migration_dirs(app)]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    cfg.attributes["app"] = app
    return cfg


def upgrade(app: Flask, revision: str = "heads") -> None:
    """Bring the database to the latest revision of the core and every plugin."""
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(app), revision)
