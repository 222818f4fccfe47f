"""Fixtures for the purchase-invoice extraction tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The repository root must be importable (``plugins.binder_purchases``) when pytest is run
# without the package installed.
# ``bp_helpers`` (builders shared by these tests) sits beside this file.
for _path in (ROOT, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


@pytest.fixture()
def data_dir() -> Path:
    """The copied public samples (with their licences)."""
    return ROOT / "tests" / "data" / "invoices"
