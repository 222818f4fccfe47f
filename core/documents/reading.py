"""Reading accepted files: text layer, page previews and page images for OCR.

Works on files already accepted by :func:`core.documents.intake.inspect_file` and on the
:class:`~core.documents.intake.Inspection` it returned. Pure library code: no database, no Flask.

The PDF text layer comes from poppler's ``pdftotext`` (one call for the whole file, pages split
on form feeds): on a one-page PDF it is several times faster than pypdf's text extraction and
its ``-layout`` mode keeps invoice columns aligned (figures in ``docs/reading.md``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from pdf2image import convert_from_path
from PIL import Image, ImageOps

from core.documents.intake import Inspection, parse_xml_safely

__all__ = [
    "PreviewUnavailable",
    "ReadingError",
    "image_frame",
    "page_images",
    "page_needs_ocr",
    "render_preview",
    "text_layer",
]

#: Below this many letters and digits, a page is considered to have no usable text.
MIN_ALNUM_CHARS = 20
#: Seconds allowed to pdftotext for a whole file, and to pdftoppm for one page.
PDFTOTEXT_TIMEOUT = 120
RENDER_TIMEOUT = 120


class ReadingError(Exception):
    """A file accepted at intake could not be read; ``message`` is in French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PreviewUnavailable(ReadingError):
    """The document has no page to preview (XML e-invoices)."""


def text_layer(path: Path, inspection: Inspection) -> list[str]:
    """Return the text of each page (one string per page, ``inspection.pages`` strings).

    PDF: the embedded text layer (``pdftotext -layout``), empty strings for scanned pages.
    XML: one string, the document's text nodes one per line (for search).
    Images: empty strings (they need OCR).
    """
    if inspection.kind == "pdf":
        return _pdf_text(Path(path), inspection.pages)
    if inspection.kind == "xml":
        return [_xml_text(Path(path))]
    return [""] * inspection.pages


def page_needs_ocr(text: str) -> bool:
    """Tell whether a page's text layer is unusable (fewer than 20 letters and digits)."""
    count = 0
    for ch in text:
        if ch.isalnum():
            count += 1
            if count >= MIN_ALNUM_CHARS:
                return False
    return True


def render_preview(
    path: Path, inspection: Inspection, page: int, out_path: Path, *, width: int = 1000
) -> Path:
    """Write a PNG preview of ``page`` (1-based) at ``width`` pixels wide to ``out_path``.

    Images narrower than ``width`` are not enlarged. Raises :class:`PreviewUnavailable` for
    XML and ``ValueError`` for a page outside the document.
    """
    if inspection.kind == "xml":
        raise PreviewUnavailable(
            "Une facture électronique XML n'a pas d'aperçu de page : consultez ses données."
        )
    _check_page(inspection, page)
    out_path = Path(out_path)
    if inspection.kind == "pdf":
        images = _convert(path, page, size=(width, None))
        image = images[0]
    else:
        image = image_frame(Path(path), page)
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
    image.save(out_path, format="PNG", optimize=False)
    return out_path


def page_images(
    path: Path, inspection: Inspection, pages: list[int], dpi: int = 300
) -> Iterator[tuple[int, Image.Image]]:
    """Yield ``(page, image)`` for each requested page (1-based), one page in memory at a time.

    PDF pages are rendered at ``dpi`` in grayscale (what Tesseract binarises anyway); image
    frames are returned at their own resolution, converted to RGB or grayscale.
    """
    if inspection.kind == "xml":
        raise PreviewUnavailable("Une facture électronique XML n'a pas d'image de page.")
    for page in pages:
        _check_page(inspection, page)
        if inspection.kind == "pdf":
            yield page, _convert(path, page, dpi=dpi, grayscale=True)[0]
        else:
            yield page, image_frame(Path(path), page)


# --------------------------------------------------------------------------------------------


def _check_page(inspection: Inspection, page: int) -> None:
    if not 1 <= page <= inspection.pages:
        raise ValueError(f"page {page} outside 1..{inspection.pages}")


def _convert(path: Path, page: int, **options: object) -> list[Image.Image]:
    try:
        images = convert_from_path(
            path, first_page=page, last_page=page, timeout=RENDER_TIMEOUT, **options
        )
    except Exception as exc:  # noqa: BLE001 - pdf2image wraps poppler failures loosely
        raise ReadingError(f"Impossible d'afficher la page {page} du PDF.") from exc
    if not images:
        raise ReadingError(f"Impossible d'afficher la page {page} du PDF.")
    return images


def image_frame(path: Path, page: int) -> Image.Image:
    """Load frame ``page`` (1-based) of an accepted image, upright and in a plain mode.

    The EXIF orientation of phone photos is applied; the result is ``1``, ``L`` or ``RGB``.
    """
    with Image.open(path) as im:
        if page > 1:
            im.seek(page - 1)
        im.load()
        frame = ImageOps.exif_transpose(im) if page == 1 else im.copy()
    if frame.mode in ("1", "L", "RGB"):
        return frame
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return frame.convert("L")
    return frame.convert("RGB")


def _pdf_text(path: Path, pages: int) -> list[str]:
    try:
        result = subprocess.run(
            ["pdftotext", "-q", "-layout", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=PDFTOTEXT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ReadingError("La lecture du texte du PDF a pris trop de temps.") from exc
    if result.returncode != 0:
        raise ReadingError("Impossible de lire le texte du PDF.")
    text = result.stdout.decode("utf-8", errors="replace")
    # pdftotext ends every page with a form feed.
    chunks = text.split("\f")
    if chunks and chunks[-1].strip() == "":
        chunks.pop()
    chunks = [chunk.rstrip() for chunk in chunks[:pages]]
    return chunks + [""] * (pages - len(chunks))


def _xml_text(path: Path) -> str:
    tree = parse_xml_safely(path)
    lines = []
    for node in tree.iter():
        if not isinstance(node.tag, str):  # comments, processing instructions
            continue
        if node.text and node.text.strip():
            lines.append(" ".join(node.text.split()))
    return "\n".join(lines)
