"""The import contracts of ``setup.cfg`` (import-linter), checked on every test run:
the core never imports ``plugins``, and no plugin imports another."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("binder_purchases", "meg_export", "ocr_tesseract")


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
