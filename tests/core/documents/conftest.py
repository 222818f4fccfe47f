"""Fixtures for intake and reading tests: real files generated on the fly."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Importable without installing the package (pytest runs with --import-mode=importlib):
# the repository root, and the helper module beside this file.
for _path in (Path(__file__).resolve().parents[3], Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from docfiles import text_image, text_pdf_bytes  # noqa: E402


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes to a file named ``name`` in a temporary folder and return its path."""

    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture
def text_pdf(write: Callable[[str, bytes], Path]) -> Path:
    """A two-page born-digital PDF."""
    return write(
        "facture.pdf",
        text_pdf_bytes(
            [
                "FACTURE F-2024-001\nBoulangerie Martin, 12 rue des Lilas, 75011 Paris\n"
                "Total TTC : 120,00 EUR",
                "Conditions de paiement : 30 jours fin de mois\nPenalites de retard : 3 fois",
            ]
        ),
    )


@pytest.fixture
def scan_pdf(write: Callable[[str, bytes], Path]) -> Path:
    """A one-page image-only PDF (Pillow), no text layer."""
    buf = io.BytesIO()
    text_image("Facture scannee\nQuincaillerie Dupont").save(buf, format="PDF", resolution=150)
    return write("scan.pdf", buf.getvalue())


@pytest.fixture
def png_file(write: Callable[[str, bytes], Path]) -> Path:
    """A one-page PNG image."""
    buf = io.BytesIO()
    text_image("Ticket de caisse").save(buf, format="PNG")
    return write("ticket.png", buf.getvalue())


@pytest.fixture
def tiff_2_frames(write: Callable[[str, bytes], Path]) -> Path:
    """A two-frame TIFF of different sizes."""
    buf = io.BytesIO()
    first = text_image("Page un", (800, 300))
    second = text_image("Page deux", (600, 900))
    first.save(buf, format="TIFF", save_all=True, append_images=[second], compression="tiff_lzw")
    return write("scan.tiff", buf.getvalue())
