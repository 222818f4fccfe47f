"""Fixtures for the Tesseract engine tests: imitation scans and one shared engine."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Importable without installing the package (pytest runs with --import-mode=importlib):
# the repository root, and the helper module beside this file.
for _path in (Path(__file__).resolve().parents[3], Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from ocrscans import INVOICE_LINES, SECOND_FRAME_LINES, scanned_page  # noqa: E402

from plugins.ocr_tesseract.ocr import OcrEngine  # noqa: E402


@pytest.fixture(scope="module")
def engine() -> Iterator[OcrEngine]:
    """One engine (two worker processes) for a whole test module."""
    with OcrEngine(processes=2) as ocr:
        yield ocr


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same scanned invoice as PNG, JPEG, image-only PDF, and a two-frame TIFF."""
    folder = tmp_path_factory.mktemp("scans")
    page = scanned_page(INVOICE_LINES)
    second = scanned_page(SECOND_FRAME_LINES, seed=2)
    files = {
        "png": folder / "scan.png",
        "jpeg": folder / "scan.jpg",
        "pdf": folder / "scan.pdf",
        "tiff": folder / "scan.tif",
    }
    page.save(files["png"])
    page.save(files["jpeg"], quality=75)
    page.save(files["pdf"], resolution=300)  # a 300 dpi scan, rendered back at 300 dpi
    page.save(files["tiff"], save_all=True, append_images=[second], compression="tiff_lzw")
    return files
