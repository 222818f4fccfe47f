"""The ``ocr_tesseract`` plugin: text of scanned pages with Tesseract (French and English)."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any

from core.plugin_api import PluginInfo, hookimpl

NAME = "ocr_tesseract"


@hookimpl
def plugin_info() -> PluginInfo:
    """A reader: on unless switched off (a company's scans then get no OCR text)."""
    return PluginInfo(
        name=NAME,
        label="OCR Tesseract",
        kind="reader",
        default_enabled=True,
        description="Lit le texte des documents numérisés (français et anglais).",
    )


@hookimpl
def config_defaults() -> dict[str, Any]:
    """OCR: timeout per page in seconds, size of the Tesseract pool (0 = one per core)."""
    return {"OCR_TIMEOUT": 120, "OCR_PROCESSES": 0}


_engine: Any = None
_engine_lock = threading.Lock()


def engine(config: dict[str, Any]) -> Any:
    """The process-wide OCR engine (a pool of Tesseract processes), created on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from plugins.ocr_tesseract.ocr import OcrEngine

            _engine = OcrEngine(
                processes=int(config.get("OCR_PROCESSES") or 0) or None,
                timeout_per_page=float(config.get("OCR_TIMEOUT") or 120),
            )
            # Stop the Tesseract pool before the interpreter tears modules down.
            atexit.register(_engine.close)
        return _engine


@hookimpl
def extract_text(
    document: Any, path: Path, pages: list[int], config: dict[str, Any]
) -> dict[int, str] | None:
    """OCR the pages without a usable text layer (PDF scans and images)."""
    from core.plugin_api import inspection_of

    # The core inspected the file when it was accepted; its type and page count are stored.
    inspection = inspection_of(document.media_type, document.pages)
    if inspection.kind not in ("pdf", "image"):
        return None
    return engine(config).ocr_pages(path, inspection, pages)


@hookimpl
def read_region(
    document: Any,
    path: Path,
    page: int,
    box: tuple[float, float, float, float],
    digits: bool,
    config: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """Read a region of a scanned page again (enlarged, as one block): the second pass."""
    from core.plugin_api import inspection_of

    inspection = inspection_of(document.media_type, document.pages)
    if inspection.kind not in ("pdf", "image"):
        return None
    return engine(config).ocr_region(path, inspection, page, box, digits=digits)
