"""Imitation scans of PDF invoices, for the extraction benchmark.

``make_scan(pdf, out, seed)`` renders the PDF at 200 dpi (pdf2image), rotates each page by a
random skew within ±1.5°, adds Gaussian noise and a slight blur, and saves JPEG quality 60.
A one-page document becomes ``out.jpg``; a longer one becomes ``out.pdf``, an image-only PDF
(no text layer) holding the JPEG pages, as a scanner would make it. The result depends only on
the seed and the PDF, and is cached: an existing file is reused.
"""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path

DPI = 200
MAX_SKEW = 1.5
JPEG_QUALITY = 60


def degrade_page(image, rng: random.Random):
    """One rendered page made to look scanned: skew, noise, blur (greyscale PIL image)."""
    import numpy as np
    from PIL import Image, ImageFilter

    img = image.convert("L")
    angle = rng.uniform(-MAX_SKEW, MAX_SKEW)
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    arr = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(5, 10), arr.shape)
    img = Image.fromarray(np.clip(arr + noise, 0, 255).astype("uint8"))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))


def _jpeg(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=JPEG_QUALITY, dpi=(DPI, DPI))
    return buf.getvalue()


def _image_pdf(pages: list[bytes], out: Path) -> None:
    """An image-only PDF of JPEG pages (embedded as they are, no re-encoding)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(out))
    for data in pages:
        width, height = Image.open(io.BytesIO(data)).size
        size = (width * 72 / DPI, height * 72 / DPI)
        c.setPageSize(size)
        c.drawImage(ImageReader(io.BytesIO(data)), 0, 0, *size)
        c.showPage()
    c.save()


def make_scan(pdf: Path, out_stem: Path, seed: int, all_pages: bool = True) -> tuple[Path, int]:
    """Scan of ``pdf`` at ``out_stem`` + .jpg (one page) or .pdf; returns (path, pages).

    ``all_pages`` False keeps page 1 only. Cached: an existing scan is returned as is.
    """
    from pdf2image import convert_from_path, pdfinfo_from_path

    if out_stem.with_suffix(".jpg").is_file():
        return out_stem.with_suffix(".jpg"), 1
    if out_stem.with_suffix(".pdf").is_file():
        done = out_stem.with_suffix(".pdf")
        return done, int(pdfinfo_from_path(str(done)).get("Pages", 1))
    pages = int(pdfinfo_from_path(str(pdf)).get("Pages", 1)) if all_pages else 1
    out = out_stem.with_suffix(".jpg" if pages == 1 else ".pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed * 1_000_003 + zlib.crc32(out_stem.name.encode()))
    images = convert_from_path(str(pdf), dpi=DPI, first_page=1, last_page=pages, grayscale=True)
    jpegs = [_jpeg(degrade_page(img, rng)) for img in images]
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    if pages == 1:
        tmp.write_bytes(jpegs[0])
    else:
        _image_pdf(jpegs, tmp)
    tmp.replace(out)
    return out, pages
