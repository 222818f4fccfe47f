"""Reading: text layers, OCR need, previews and page images, on real generated files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from docfiles import DATA, text_image, text_pdf_bytes
from PIL import Image

from core.documents.intake import inspect_file
from core.documents.reading import (
    PreviewUnavailable,
    page_images,
    page_needs_ocr,
    render_preview,
    text_layer,
)

Writer = Callable[[str, bytes], Path]


def test_pdf_text_layer_per_page(text_pdf: Path) -> None:
    pages = text_layer(text_pdf, inspect_file(text_pdf))
    assert len(pages) == 2
    assert "Boulangerie Martin" in pages[0] and "120,00 EUR" in pages[0]
    assert "Conditions de paiement" in pages[1] and "Boulangerie" not in pages[1]
    assert [page_needs_ocr(text) for text in pages] == [False, False]


def test_scanned_pdf_has_no_text_and_needs_ocr(scan_pdf: Path) -> None:
    pages = text_layer(scan_pdf, inspect_file(scan_pdf))
    assert pages == [""]
    assert page_needs_ocr(pages[0])


def test_blank_middle_page_keeps_page_numbers(write: Writer) -> None:
    path = write("trois.pdf", text_pdf_bytes(["Premiere page du devis", "", "Troisieme page"]))
    pages = text_layer(path, inspect_file(path))
    assert len(pages) == 3
    assert pages[1] == "" and "Troisieme" in pages[2]


def test_two_hundred_pages(write: Writer) -> None:
    path = write("long.pdf", text_pdf_bytes([f"Releve page {n}" for n in range(1, 201)]))
    pages = text_layer(path, inspect_file(path))
    assert len(pages) == 200
    assert "Releve page 137" in pages[136]


def test_images_have_empty_text(png_file: Path, tiff_2_frames: Path) -> None:
    assert text_layer(png_file, inspect_file(png_file)) == [""]
    assert text_layer(tiff_2_frames, inspect_file(tiff_2_frames)) == ["", ""]


def test_xml_text_rendering() -> None:
    path = DATA / "invoices" / "en16931" / "CII_example8.xml"
    (text,) = text_layer(path, inspect_file(path))
    lines = text.splitlines()
    assert len(lines) > 20
    assert {"Systeemdiensten", "Vastrecht Transportdienst"} <= set(lines)
    assert all(line == line.strip() and line for line in lines)
    assert "<" not in text  # text nodes only, no markup


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("", True),
        ("  \n\f  ", True),
        ("- - | . , ; 1 2 3", True),
        ("Facture n° 2024-001 du 03/01/2024", False),
        ("ÉÈÀÙ çàéèù 0123456789 ab", False),
    ],
)
def test_page_needs_ocr(text: str, needs: bool) -> None:
    assert page_needs_ocr(text) is needs


def test_pdf_preview(text_pdf: Path, tmp_path: Path) -> None:
    out = render_preview(text_pdf, inspect_file(text_pdf), 2, tmp_path / "p2.png", width=500)
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.width == 500
        assert 700 < im.height < 710  # A4 ratio


def test_tiff_frame_preview(tiff_2_frames: Path, tmp_path: Path) -> None:
    inspection = inspect_file(tiff_2_frames)
    out = render_preview(tiff_2_frames, inspection, 2, tmp_path / "f2.png", width=300)
    with Image.open(out) as im:
        assert im.size == (300, 450)  # second frame is 600 × 900
    small = render_preview(tiff_2_frames, inspection, 1, tmp_path / "f1.png", width=5000)
    with Image.open(small) as im:
        assert im.size == (800, 300)  # never enlarged


def test_jpeg_preview_from_cmyk(write: Writer, tmp_path: Path) -> None:
    buf = io.BytesIO()
    text_image("Note").convert("CMYK").save(buf, format="JPEG")
    path = write("cmyk.jpg", buf.getvalue())
    out = render_preview(path, inspect_file(path), 1, tmp_path / "c.png")
    with Image.open(out) as im:
        assert im.mode == "RGB"


def test_xml_has_no_preview(tmp_path: Path) -> None:
    path = DATA / "invoices" / "akretion" / "ubl-21-en16931.xml"
    with pytest.raises(PreviewUnavailable, match="XML"):
        render_preview(path, inspect_file(path), 1, tmp_path / "x.png")


def test_preview_page_out_of_range(text_pdf: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        render_preview(text_pdf, inspect_file(text_pdf), 3, tmp_path / "x.png")


def test_page_images(text_pdf: Path, tiff_2_frames: Path) -> None:
    rendered = list(page_images(text_pdf, inspect_file(text_pdf), [2], dpi=100))
    assert [page for page, _ in rendered] == [2]
    assert rendered[0][1].size == (827, 1170)  # A4 at 100 dpi (poppler rounds up)
    assert rendered[0][1].mode == "L"
    frames = dict(page_images(tiff_2_frames, inspect_file(tiff_2_frames), [1, 2]))
    assert frames[2].size == (600, 900)


def test_exif_orientation_is_applied(write: Writer, tmp_path: Path) -> None:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: display rotated 90° clockwise
    text_image("Photo", (400, 200)).rotate(90, expand=True).save(buf, format="JPEG", exif=exif)
    path = write("photo.jpg", buf.getvalue())
    out = render_preview(path, inspect_file(path), 1, tmp_path / "p.png")
    with Image.open(out) as im:
        assert im.size == (400, 200)
