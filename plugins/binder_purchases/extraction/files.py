"""Whole reading of one file: e-invoice XML first, then the text layer, then OCR."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .einvoice import read_einvoice
from .errors import InvoiceReadError
from .layout import Layout
from .text import extract_from_layout

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


def tesseract_ocr(path: Path, max_pages: int = 10) -> tuple[str, dict[int, list[dict]]]:
    """OCR fallback when no OCR engine is handed in (scripts, ``classeur extract``).

    Returns the text and the words with their boxes (normalised to the page) and confidences,
    from one Tesseract run per page (``fra+eng``), at most ``max_pages`` pages.
    """
    import pytesseract
    from PIL import Image

    if path.suffix.lower() == ".pdf":
        from pdf2image import convert_from_path

        images = convert_from_path(str(path), dpi=300, last_page=max_pages)
    else:
        images = [Image.open(path)]
    words: dict[int, list[dict]] = {}
    for page, img in enumerate(images, start=1):
        width, height = img.size
        data = pytesseract.image_to_data(
            img, lang="fra+eng", output_type=pytesseract.Output.DICT, timeout=120
        )
        items = []
        for i, text in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if not text.strip() or conf < 0:
                continue
            x, y, w, h = (data[k][i] for k in ("left", "top", "width", "height"))
            items.append(
                {
                    "text": text,
                    "x0": x / width,
                    "y0": y / height,
                    "x1": (x + w) / width,
                    "y1": (y + h) / height,
                    "conf": conf / 100,
                }
            )
        words[page] = items
    layout = Layout.from_words(words)
    return layout.text, words


def _usable(text: str) -> bool:
    return sum(1 for c in text if c.isalnum()) >= MIN_TEXT_CHARS


def extract_file(
    path: str | Path,
    *,
    use_einvoice: bool = True,
    text: str | None = None,
    ocr: Callable[[Path], str] | None = None,
    ocr_words: dict[int, list[dict[str, Any]]] | None = None,
    template: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read one invoice file (PDF, image or XML) into the fields dictionary.

    Order: the e-invoice XML (embedded Factur-X/ZUGFeRD, or a standalone CII/UBL file) when
    ``use_einvoice``; else ``text`` when given (source "text"); else the PDF text layer read
    with its layout; and when that holds no usable text, the OCR: ``ocr_words`` (the OCR
    plugin's words with their boxes, ``{page: [word, ...]}``) when given, else the text of
    ``ocr(path)``, else Tesseract run here (source "ocr"). ``template`` is a supplier template
    (``templates.learn_template``): tried first, kept only when its reading adds up.
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
    layout = read_layout(path, text=text, ocr=ocr, ocr_words=ocr_words, is_pdf=is_pdf)
    source = layout.source
    fields = extract_from_layout(layout, source=source)
    if template:
        from .templates import apply_template

        fields = apply_template(template, layout, fields)
    return fields


def read_layout(
    path: Path,
    *,
    text: str | None = None,
    ocr: Callable[[Path], str] | None = None,
    ocr_words: dict[int, list[dict[str, Any]]] | None = None,
    is_pdf: bool | None = None,
) -> Layout:
    """The words and lines of a PDF or image: its text layer, else its OCR (see extract_file)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if is_pdf is None:
        with path.open("rb") as fh:
            is_pdf = fh.read(5).startswith(b"%PDF") or suffix == ".pdf"
    if text is not None and _usable(text):
        return Layout.from_text(text, source="text")
    if is_pdf:
        layout = Layout.from_pdf(path)
        if _usable(layout.text):
            return layout
    elif suffix not in _IMAGE_SUFFIXES:
        head = path.open("rb").read(8)
        if head[:4] not in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1"):
            try:
                return Layout.from_text(path.read_text("utf-8"), source="text")
            except UnicodeDecodeError:
                pass
    if ocr_words:
        layout = Layout.from_words(ocr_words, source="ocr")
        if layout.lines:
            return layout
    try:
        if ocr is not None:
            return Layout.from_text(ocr(path) or "", source="ocr")
        _text, words = tesseract_ocr(path)
    except InvoiceReadError:
        raise
    except Exception as exc:
        raise InvoiceReadError("La lecture optique (OCR) du document a échoué.") from exc
    return Layout.from_words(words, source="ocr")
