"""The import contracts of ``setup.cfg`` (import-linter), checked on every test run:
the core never imports ``plugins``, a plugin imports the plugin API (``core.plugin_api``) and
nothing else of the core, and no plugin imports another."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("binder_purchases", "fec_export", "mail_collect", "meg_export", "ocr_tesseract")


def lint_imports(cwd: Path, *config: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run from ``cwd`` (its packages importable), without a cache folder."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())",
            "--no-cache",
            "--no-logo",
            *config,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The core never imports plugins KEPT" in result.stdout
    assert "No plugin imports another KEPT" in result.stdout
    assert "nothing else of the core KEPT" in result.stdout


def test_the_api_contract_forbids_every_core_module_but_the_api():
    """A new core module is forbidden to plugins unless it is the API itself."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    contract = config["importlinter:contract:plugins-use-the-plugin-api"]
    forbidden = set(contract["forbidden_modules"].split())
    modules = {
        f"core.{p.name.removesuffix('.py')}"
        for p in (ROOT / "core").iterdir()
        if (p.suffix == ".py" and not p.name.startswith("__")) or (p / "__init__.py").exists()
    }
    assert "core.plugin_api" in modules
    assert forbidden == modules - {"core.plugin_api"}


def test_contracts_name_every_plugin():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    independent = config["importlinter:contract:plugins-are-independent"]["modules"].split()
    installed = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
    assert sorted(m.removeprefix("plugins.") for m in independent) == installed
    assert set(PLUGINS) <= set(installed)


def test_the_contracts_catch_a_core_importing_a_plugin_and_plugins_importing_each_other(tmp_path):
    """The same contracts, on a small tree breaking both: lint-imports fails and says why."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "cli.py").write_text(
        "def serve():\n    from plugins.meg_export.sandbox import run_sandbox\n"
    )
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "__init__.py").write_text("")
    for name in PLUGINS:
        (tmp_path / "plugins" / name).mkdir()
        (tmp_path / "plugins" / name / "__init__.py").write_text("import core\n")
    (tmp_path / "plugins" / "meg_export" / "sandbox.py").write_text("def run_sandbox(): ...\n")
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    api_contract = config["importlinter:contract:plugins-use-the-plugin-api"]
    for module in api_contract["forbidden_modules"].split():  # they must exist
        path = tmp_path / "core" / f"{module.removeprefix('core.')}.py"
        if not path.exists():
            path.write_text("")
    (tmp_path / "core" / "plugin_api.py").write_text("from core.db import db\n")
    (tmp_path / "core" / "db.py").write_text("db = None\n")
    (tmp_path / "plugins" / "ocr_tesseract" / "ocr.py").write_text(
        "from core.plugin_api import db\nfrom core.cli import serve\n"
    )
    (tmp_path / "plugins" / "meg_export" / "exporter.py").write_text(
        "from plugins.binder_purchases import __name__ as other\n"
    )
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    copied = configparser.ConfigParser()
    for section in config.sections():
        if section.startswith("importlinter"):
            copied[section] = dict(config[section])
    with open(tmp_path / ".importlinter", "w") as handle:
        copied.write(handle)

    result = lint_imports(tmp_path, ".importlinter")
    assert result.returncode != 0
    out = result.stdout
    assert "The core never imports plugins BROKEN" in out
    assert "No plugin imports another BROKEN" in out
    assert "core.cli -> plugins.meg_export.sandbox" in out
    assert "plugins.meg_export.exporter -> plugins.binder_purchases" in out
    assert "nothing else of the core BROKEN" in out
    assert "plugins.ocr_tesseract.ocr -> core.cli" in out
    assert "plugins.ocr_tesseract.ocr -> core.db" not in out  # through the API: allowed
