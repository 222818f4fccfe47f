"""The plugin API's surface is documented: every name of ``core.plugin_api.__all__`` is named
on ``docs/plugins/api.md``, and every name there exists."""

from __future__ import annotations

import re
from pathlib import Path

import core.plugin_api as plugin_api

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "api.md"


def _documented() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("| name") and "---" not in line:
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Za-z_]+)", first_cell))
    return names


def test_every_name_of_the_api_is_documented():
    missing = sorted(set(plugin_api.__all__) - _documented())
    assert not missing, f"add to docs/plugins/api.md: {missing}"


def test_every_documented_name_exists():
    unknown = sorted(_documented() - set(plugin_api.__all__))
    assert not unknown, f"not in core.plugin_api.__all__: {unknown}"


def test_all_lists_what_the_module_exports():
    for name in plugin_api.__all__:
        assert hasattr(plugin_api, name), name
