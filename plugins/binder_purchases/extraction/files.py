"""Whole reading of one file: e-invoice XML first, then the text layer, then OCR."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .einvoice import read_einvoice
from .errors import InvoiceReadError
from .text import extract_from_text

#: Fewer visible characters than this in a text layer means "scan": OCR is needed.
MIN_TEXT_CHARS = 40

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


def embedded_xml(path: Path) -> bytes | None:
    """Return the Factur-X / ZUGFeRD XML embedded in a PDF, or None."""
    from facturx import get_xml_from_pdf

    try:
        with path.open("rb") as fh:
            _name, xml = get_xml_from_pdf(fh, check_xsd=False)
    except Exception:  # noqa: BLE001 - factur-x raises bare exceptions on odd PDFs
        return None
    return xml or None


def pdf_text(path: Path) -> str:
    """The PDF text layer as laid out by ``pdftotext -layout`` (empty string on failure)."""
    try:
        run = subprocess.run(
            ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return run.stdout.decode("utf-8", "replace") if run.returncode == 0 else ""


def tesseract_ocr(path: Path) -> str:
    """Plain OCR fallback (pytesseract, ``fra+eng``) over the pages of a PDF or an image."""
    import pytesseract
    from PIL import Image

    if path.suffix.lower() == ".pdf":
        from pdf2image import convert_from_path

        images = convert_from_path(str(path), dpi=300)
    else:
        images = [Image.open(path)]
    return "\n\f".join(
        pytesseract.image_to_string(img, lang="fra+eng", config="--psm 6") for img in images
    )


def _usable(text: str) -> bool:
    return sum(1 for c in text if c.isalnum()) >= MIN_TEXT_CHARS


def extract_file(
    path: str | Path,
    *,
    use_einvoice: bool = True,
    text: str | None = None,
    ocr: Callable[[Path], str] | None = None,
) -> dict[str, Any]:
    """Read one invoice file (PDF, image or XML) into the fields dictionary.

    Order: the e-invoice XML (embedded Factur-X/ZUGFeRD, or a standalone CII/UBL file) when
    ``use_einvoice``; else ``text`` when given (source "text"); else the PDF text layer; and when
    that holds no usable text, ``ocr(path)`` (source "ocr"), or pytesseract if ``ocr`` is None.
    Raises ``InvoiceReadError`` (French message) for an unsafe or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise InvoiceReadError(f"Fichier introuvable : {path.name}")
    suffix = path.suffix.lower()
    head = path.open("rb").read(1024)
    is_pdf = head.startswith(b"%PDF") or suffix == ".pdf"
    is_xml = not is_pdf and (
        suffix == ".xml" or head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<")
    )

    if use_einvoice:
        xml = path.read_bytes() if is_xml else embedded_xml(path) if is_pdf else None
        if xml:
            fields = read_einvoice(xml)
            if fields is not None:
                return fields
    if is_xml:
        raise InvoiceReadError("Ce fichier XML n'est pas une facture électronique reconnue.")
    if text is not None and _usable(text):
        return extract_from_text(text, source="text")
    if is_pdf:
        layer = pdf_text(path)
        if _usable(layer):
            return extract_from_text(layer, source="text")
    elif suffix not in _IMAGE_SUFFIXES and head[:4] not in (b"\x89PNG", b"\xff\xd8\xff\xe0"):
        try:
            return extract_from_text(path.read_text("utf-8"), source="text")
        except UnicodeDecodeError:
            pass
    try:
        scanned = ocr(path) if ocr is not None else tesseract_ocr(path)
    except InvoiceReadError:
        raise
    except Exception as exc:
        raise InvoiceReadError("La lecture optique (OCR) du document a échoué.") from exc
    return extract_from_text(scanned or "", source="ocr")
