"""The Tesseract engine on real imitation scans, with the real tesseract binary."""

from __future__ import annotations

import io
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ocrscans import INVOICE_LINES, scanned_page
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from core.documents.intake import inspect_file
from core.documents.reading import page_needs_ocr, text_layer
from plugins.ocr_tesseract.ocr import OcrEngine, OcrError, _embedded_scan, ocr_image_file


def test_scanned_pdf_is_read_by_ocr_only(engine: OcrEngine, scans: dict[str, Path]) -> None:
    inspection = inspect_file(scans["pdf"])
    layer = text_layer(scans["pdf"], inspection)
    assert page_needs_ocr(layer[0]) and "Quincaillerie" not in layer[0]
    result = engine.ocr_pages(scans["pdf"], inspection, [1])
    assert list(result) == [1]
    assert "Quincaillerie" in result[1]
    assert "Q-2024-0815" in result[1]
    assert not page_needs_ocr(result[1])


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_single_images(engine: OcrEngine, scans: dict[str, Path], kind: str) -> None:
    result = engine.ocr_pages(scans[kind], inspect_file(scans[kind]), [1])
    assert "Quincaillerie" in result[1]


def test_tiff_frames(engine: OcrEngine, scans: dict[str, Path]) -> None:
    result = engine.ocr_pages(scans["tiff"], inspect_file(scans["tiff"]), [2, 1])
    assert set(result) == {1, 2}
    assert "Quincaillerie" in result[1] and "Quincaillerie" not in result[2]
    assert "Menuiserie" in result[2]


def test_ocr_image_file_helpers(engine: OcrEngine, scans: dict[str, Path]) -> None:
    assert "Quincaillerie" in engine.ocr_image_file(scans["png"])
    assert "Quincaillerie" in ocr_image_file(scans["png"])


def test_timeout_then_a_normal_page_still_works(
    engine: OcrEngine, scans: dict[str, Path], tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    scanned_page(INVOICE_LINES * 12, size=(2480, 3508), font_size=40).save(big)
    with pytest.raises(OcrError) as info:
        engine.ocr_pages(big, inspect_file(big), [1], timeout=0.05)
    assert info.value.page == 1
    assert info.value.reason == "délai dépassé"
    assert "délai dépassé" in str(info.value)
    result = engine.ocr_pages(scans["png"], inspect_file(scans["png"]), [1])
    assert "Quincaillerie" in result[1]


def test_tesseract_failure_is_a_clear_ocr_error(scans: dict[str, Path]) -> None:
    broken = OcrEngine(processes=1, lang="langue_inexistante")
    try:
        with pytest.raises(OcrError) as info:
            broken.ocr_pages(scans["png"], inspect_file(scans["png"]), [1])
    finally:
        broken.close()
    assert "Tesseract a échoué" in info.value.reason
    assert "langue_inexistante" in info.value.reason


def test_engine_shared_by_threads(engine: OcrEngine, scans: dict[str, Path]) -> None:
    jobs = [scans["png"], scans["jpeg"], scans["tiff"], scans["pdf"]]
    with ThreadPoolExecutor(4) as threads:
        results = list(
            threads.map(lambda path: engine.ocr_pages(path, inspect_file(path), [1]), jobs)
        )
    assert all("Quincaillerie" in result[1] for result in results)


def test_pool_recovers_from_a_dead_worker(engine: OcrEngine, scans: dict[str, Path]) -> None:
    # Kill a worker abruptly (what the OOM killer would do); the next call must still work.
    dying = engine._get_executor().submit(os._exit, 1)
    with pytest.raises(Exception):  # noqa: B017 - BrokenProcessPool, whatever its wording
        dying.result(timeout=60)
    result = engine.ocr_pages(scans["png"], inspect_file(scans["png"]), [1])
    assert "Quincaillerie" in result[1]


def test_invalid_requests(engine: OcrEngine, scans: dict[str, Path]) -> None:
    inspection = inspect_file(scans["png"])
    with pytest.raises(ValueError, match="outside"):
        engine.ocr_pages(scans["png"], inspection, [2])
    assert engine.ocr_pages(scans["png"], inspection, []) == {}


def test_ocr_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(OcrError(3, "délai dépassé")))
    assert (error.page, error.reason) == (3, "délai dépassé")


def test_closed_engine_refuses_work(scans: dict[str, Path]) -> None:
    engine = OcrEngine(processes=1)
    engine.close()
    with pytest.raises(RuntimeError):
        engine.ocr_pages(scans["png"], inspect_file(scans["png"]), [1])


def test_upright_scan_image_is_used_as_is(scans: dict[str, Path], tmp_path: Path) -> None:
    extracted = _embedded_scan(str(scans["pdf"]), 1, tmp_path)
    assert extracted is not None and extracted.endswith(".jpg")
    with Image.open(extracted) as im:
        assert im.size == (1240, 700)  # the scan itself, not a re-rendering


def test_rotated_page_is_rendered_upright(engine: OcrEngine, tmp_path: Path) -> None:
    # The scan is stored lying on its side and the page says /Rotate 90, as some scanners do:
    # the image must not be taken as is, the rendering honours the rotation.
    stored = tmp_path / "stored.pdf"
    scanned_page(INVOICE_LINES).rotate(90, expand=True).save(stored, resolution=300)
    writer = PdfWriter(clone_from=PdfReader(stored))
    writer.pages[0].rotate(90)
    rotated = tmp_path / "rotated.pdf"
    writer.write(rotated)
    assert _embedded_scan(str(rotated), 1, tmp_path) is None
    result = engine.ocr_pages(rotated, inspect_file(rotated), [1])
    assert "Quincaillerie" in result[1]


def test_text_pdf_page_is_rendered(tmp_path: Path) -> None:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawString(72, 720, "Quincaillerie en texte")
    pdf.save()
    path = tmp_path / "text.pdf"
    path.write_bytes(buf.getvalue())
    assert _embedded_scan(str(path), 1, tmp_path) is None


def test_phone_photo_exif_orientation(engine: OcrEngine, tmp_path: Path) -> None:
    # Stored on its side with EXIF orientation 6 ("rotate 90° clockwise to display").
    photo = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    scanned_page(INVOICE_LINES).rotate(90, expand=True).save(photo, quality=85, exif=exif)
    result = engine.ocr_pages(photo, inspect_file(photo), [1])
    assert "Quincaillerie" in result[1]
