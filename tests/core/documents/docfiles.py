"""Generators of real test files (PDF, images, hostile structures) for the document tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

DATA = Path(__file__).resolve().parents[2] / "data"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_pdf_bytes(pages: list[str]) -> bytes:
    """A born-digital PDF (reportlab) with one text block per page."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for text in pages:
        y = 780
        for line in text.splitlines():
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def text_image(text: str, size: tuple[int, int] = (1000, 400)) -> Image.Image:
    """A white grayscale page with black text (DejaVu Sans), for image/scan fixtures."""
    im = Image.new("L", size, 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(FONT, 40)
    draw.multiline_text((40, 40), text, fill=0, font=font, spacing=16)
    return im


def hand_made_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """Assemble a PDF from object bodies (object n is objects[n-1]) with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(objects) + 1, root))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def png_bomb_bytes(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width × height white pixels, compressed to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = bytearray()
    block = row * 256
    for _ in range(height // 256):
        idat += comp.compress(block)
    idat += comp.compress(row * (height % 256))
    idat += comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", bytes(idat))
        + chunk(b"IEND", b"")
    )
