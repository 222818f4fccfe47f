"""``pip install classeur`` (a wheel, not the checkout) carries everything Classeur needs at
run time: every module, template, static file and catalogue of ``core`` and ``plugins``, the
core's alembic environment and every migration of the core and of the plugins."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("core", "plugins", "migrations")
SKIPPED_PARTS = {"__pycache__"}


def _source_files() -> set[str]:
    files = set()
    for top in SHIPPED:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and not SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.mark.slow
def test_the_wheel_holds_every_file_and_migration(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("classeur-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.split("/")[0] in SHIPPED}
    missing = sorted(_source_files() - shipped)
    assert not missing, f"not in the wheel: {missing[:20]}"
    assert "migrations/env.py" in shipped
    assert any(n.startswith("plugins/binder_purchases/migrations/0001_") for n in shipped)
    assert any(n.startswith("core/web/templates/") for n in shipped)
