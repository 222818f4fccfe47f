"""Whole reading of one file: e-invoice XML first, then the text layer, then OCR."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .einvoice import read_einvoice
from .errors import InvoiceReadError
from .fields import CENT, negate_amounts, settle_vat_lines, sign_credit_note, to_decimal
from .layout import Layout
from .text import extract_from_layout

_AMOUNT_KEYS = ("total_excl_tax", "total_tax", "total_incl_tax", "amount_due")

#: Fewer visible characters than this in a text layer means "scan": OCR is needed.
MIN_TEXT_CHARS = 40

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


def embedded_xml(path: Path) -> bytes | None:
    """Return the Factur-X / ZUGFeRD XML embedded in a PDF, or None."""
    from facturx import get_xml_from_pdf

    # pypdf and factur-x log (in English) what they think of odd PDFs: not for the user.
    quiet = [logging.getLogger(name) for name in ("pypdf", "factur-x", "facturx")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        with path.open("rb") as fh:
            _name, xml = get_xml_from_pdf(fh, check_xsd=False)
    except Exception:  # noqa: BLE001 - factur-x raises bare exceptions on odd PDFs
        return None
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    return xml or None


def _check_readable(path: Path, is_pdf: bool) -> None:
    """Refuse, with a French reason, a file that cannot be an invoice to read."""
    if path.stat().st_size == 0:
        raise InvoiceReadError("Le fichier est vide.")
    if is_pdf:
        try:
            run = subprocess.run(
                ["pdfinfo", str(path)], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        if run.returncode != 0:
            raise InvoiceReadError("Le fichier PDF est endommagé ou incomplet.")
        return
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() not in _IMAGE_SUFFIXES:
        try:
            path.read_text("utf-8")
            return  # plain text: read as it is laid out
        except (UnicodeDecodeError, OSError):
            pass
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvoiceReadError(
            "Ce fichier n'est ni un PDF, ni une image, ni une facture électronique lisible."
        ) from exc


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


class LocalOcr:
    """Tesseract run in this process (scripts, ``classeur extract``, no OCR plugin at hand).

    Pages are rendered (PDF) or loaded (image) once, brought to about 300 dpi, and kept so that
    a region can be read again (:meth:`region`) for the second pass on totals and header.
    """

    #: A page narrower than this (pixels, under about 190 dpi on A4) is upscaled.
    MIN_WIDTH = 1600
    #: A page wider than this is downscaled (bounded time and memory).
    MAX_WIDTH = 5000

    def __init__(self, path: Path, max_pages: int = 10, lang: str = "fra+eng") -> None:
        from PIL import Image, ImageOps

        self.lang = lang
        if path.suffix.lower() == ".pdf" or path.open("rb").read(4) == b"%PDF":
            from pdf2image import convert_from_path

            images = convert_from_path(str(path), dpi=300, last_page=max_pages, grayscale=True)
        else:
            with Image.open(path) as im:
                images = [ImageOps.exif_transpose(im).convert("L")]
        self.pages: list[Any] = []
        for img in images:
            if img.width < self.MIN_WIDTH or img.width > self.MAX_WIDTH:
                width = self.MIN_WIDTH if img.width < self.MIN_WIDTH else self.MAX_WIDTH
                img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
            self.pages.append(img)

    def words(self) -> dict[int, list[dict[str, Any]]]:
        """Every page's words with their boxes (normalised to the page) and confidences."""
        return {n: self._read(img, (0.0, 0.0, 1.0, 1.0)) for n, img in enumerate(self.pages, 1)}

    def region(
        self, page: int, box: tuple[float, float, float, float], digits: bool = False
    ) -> list[dict[str, Any]]:
        """Words of one region of a page read again, enlarged, as one block of text; with
        ``digits``, figures only (the space stays allowed, or Tesseract glues the words)."""
        if not 1 <= page <= len(self.pages):
            return []
        config = "--psm 6"
        if digits:
            config += " -c tessedit_char_whitelist=" + shlex.quote("0123456789,.-/%€ ")
        return self._read(self.pages[page - 1], box, scale=1.6, config=config)

    def _read(
        self, img: Any, box: tuple[float, float, float, float], scale: float = 1.0, config: str = ""
    ) -> list[dict[str, Any]]:
        import pytesseract
        from PIL import Image

        width, height = img.size
        x0, y0, x1, y1 = (
            round(box[0] * width),
            round(box[1] * height),
            round(box[2] * width),
            round(box[3] * height),
        )
        crop = img.crop((x0, y0, x1, y1)) if (x0, y0, x1, y1) != (0, 0, width, height) else img
        if scale != 1.0:
            crop = crop.resize(
                (round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS
            )
        data = pytesseract.image_to_data(
            crop, lang=self.lang, config=config, output_type=pytesseract.Output.DICT, timeout=120
        )
        items = []
        tag = box if scale != 1.0 else None  # lines of a second pass are not the first's
        for i, text in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if not text.strip() or conf < 0:
                continue
            left, top = data["left"][i] / scale + x0, data["top"][i] / scale + y0
            w, h = data["width"][i] / scale, data["height"][i] / scale
            items.append(
                {
                    "text": text,
                    "x0": left / width,
                    "y0": top / height,
                    "x1": (left + w) / width,
                    "y1": (top + h) / height,
                    "conf": conf / 100,
                    "line": (data["block_num"][i], data["par_num"][i], data["line_num"][i], tag),
                }
            )
        return items


def tesseract_ocr(path: Path, max_pages: int = 10) -> tuple[str, dict[int, list[dict]]]:
    """The text and the words (with boxes and confidences) of a scan, OCRed here."""
    words = LocalOcr(path, max_pages).words()
    return Layout.from_words(words).text, words


def _usable(text: str) -> bool:
    return sum(1 for c in text if c.isalnum()) >= MIN_TEXT_CHARS


def extract_file(
    path: str | Path,
    *,
    use_einvoice: bool = True,
    text: str | None = None,
    ocr: Callable[[Path], str] | None = None,
    ocr_words: dict[int, list[dict[str, Any]]] | None = None,
    reocr: Callable[..., list[dict[str, Any]]] | None = None,
    template: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read one invoice file (PDF, image or XML) into the fields dictionary.

    Order: the e-invoice XML (embedded Factur-X/ZUGFeRD, or a standalone CII/UBL file) when
    ``use_einvoice``; else ``text`` when given (source "text"); else the PDF text layer read
    with its layout; and when that holds no usable text, the OCR: ``ocr_words`` (the OCR
    plugin's words with their boxes, ``{page: [word, ...]}``) when given, else the text of
    ``ocr(path)``, else Tesseract run here (source "ocr"). When a scan's totals do not add up,
    its totals and header zones are read again (``reocr(page, box, digits=False)`` returns the
    words of a region, figures only with ``digits``; Tesseract run here by default) and the
    second reading is kept if it adds up.
    ``template`` is a supplier template (``templates.learn_template``): kept only when its
    reading adds up.
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
    if text is None and not ocr_words and ocr is None:
        _check_readable(path, is_pdf)
    local: list[LocalOcr] = []
    layout = read_layout(path, text=text, ocr=ocr, ocr_words=ocr_words, is_pdf=is_pdf, local=local)
    source = layout.source
    fields = extract_from_layout(layout, source=source)
    if source == "ocr" and not adds_up(fields):
        if reocr is None and local:
            reocr = local[0].region
        if reocr is not None:
            fields = _second_pass(layout, fields, reocr)
    if template:
        from .templates import apply_template

        generic = fields
        fields = apply_template(template, layout, generic)
        # The template may have re-read the totals, and a VAT line with them.
        settle_vat_lines(fields)
        _template_sign(generic, fields)
    return fields


def _template_sign(generic: dict[str, Any], fields: dict[str, Any]) -> None:
    """The sign of a template's amounts follows the document read, not the one the template
    was learned from: a credit note is in negative amounts; an invoice the generic reading
    found positive stays positive (a template learned from a credit note printed in positive
    reads the next invoice's amounts "negated")."""
    if fields.get("document_kind") == "credit_note":
        sign_credit_note(fields)
        return
    before = to_decimal(generic.get("total_incl_tax"))
    after = to_decimal(fields.get("total_incl_tax"))
    if before is not None and after is not None and before > 0 > after:
        # Only what the template turned negative: the generic reading's values stay.
        flipped: dict[str, Any] = {
            key: fields.get(key) for key in _AMOUNT_KEYS if (to_decimal(fields.get(key)) or 0) < 0
        }
        flipped["vat_lines"] = [
            line
            for line in fields.get("vat_lines") or []
            if (to_decimal(line.get("base")) or 0) < 0
        ]
        negate_amounts(flipped)
        fields.update({k: v for k, v in flipped.items() if k != "vat_lines"})


def read_layout(
    path: Path,
    *,
    text: str | None = None,
    ocr: Callable[[Path], str] | None = None,
    ocr_words: dict[int, list[dict[str, Any]]] | None = None,
    is_pdf: bool | None = None,
    local: list[LocalOcr] | None = None,
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
        engine = LocalOcr(path)
        if local is not None:
            local.append(engine)
        words = engine.words()
    except InvoiceReadError:
        raise
    except Exception as exc:
        raise InvoiceReadError("La lecture optique (OCR) du document a échoué.") from exc
    return Layout.from_words(words, source="ocr")


def adds_up(fields: dict[str, Any]) -> bool:
    """HT + TVA = TTC (within a cent), all three read."""
    values = [to_decimal(fields.get(k)) for k in ("total_excl_tax", "total_tax", "total_incl_tax")]
    if any(v is None for v in values):
        return False
    ht, tva, ttc = values
    return (
        abs(ht + tva - ttc) <= CENT
        and (fields.get("confidence") or {}).get("total_incl_tax", 0) >= 0.7
    )


def _in_box(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x, y = (word["x0"] + word["x1"]) / 2, (word["y0"] + word["y1"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _second_pass(
    layout: Layout,
    fields: dict[str, Any],
    reocr: Callable[..., list[dict[str, Any]]],
) -> dict[str, Any]:
    """Read the header and totals zones of a scan again; keep that reading if it adds up.

    First the zones are read again whole (enlarged, as one block). If that does not add up
    either, the figures alone are read again (``digits=True``) and put beside the words of the
    first reading that hold letters (the labels), so that each label finds its amount.
    """
    last = layout.pages or 1
    zones = [(1, (0.0, 0.0, 1.0, 0.4)), (last, (0.0, 0.45, 1.0, 1.0))]
    first: dict[int, list[dict[str, Any]]] = {}
    for word in layout.words:
        first.setdefault(word.page, []).append(word.as_dict())
    second = None
    for digits in (False, True):
        pages = {page: list(words) for page, words in first.items()}
        try:
            for page, box in zones:
                fresh = reocr(page, box, digits=True) if digits else reocr(page, box)
                if not fresh:
                    continue
                if digits:
                    fresh = [w for w in fresh if any(ch.isdigit() for ch in w["text"])]
                    kept = [
                        w
                        for w in pages.get(page, [])
                        if not _in_box(w, box) or not any(ch.isdigit() for ch in w["text"])
                    ]
                else:
                    kept = [w for w in pages.get(page, []) if not _in_box(w, box)]
                pages[page] = kept + fresh
        except Exception:  # noqa: BLE001 - the second pass is a bonus, never a failure
            return fields
        reading = extract_from_layout(Layout.from_words(pages, source="ocr"), source="ocr")
        if adds_up(reading):
            second = reading
            second["reading"] = {**second.get("reading", {}), "digits": digits}
            break
    if second is None:
        return fields
    second["reading"] = {**second.get("reading", {}), "second_pass": True}
    # Keep what the first pass read where the second found nothing.
    for key, value in fields.items():
        if key in ("confidence", "reading", "supplier", "buyer"):
            continue
        if second.get(key) in (None, [], "") and value not in (None, [], ""):
            second[key] = value
            if key in fields["confidence"]:
                second["confidence"][key] = fields["confidence"][key]
    for party in ("supplier", "buyer"):
        for key, value in fields[party].items():
            if second[party].get(key) is None and value is not None:
                second[party][key] = value
                name = f"{party}.{key}"
                if name in fields["confidence"]:
                    second["confidence"][name] = fields["confidence"][name]
    return second
