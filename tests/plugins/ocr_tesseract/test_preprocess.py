"""Page preparation without Tesseract: skew, orientation signs, resolution, shear rotation."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ocrscans import INVOICE_LINES, scanned_page
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas

from plugins.ocr_tesseract import preprocess as prep
from plugins.ocr_tesseract.ocr import _render_dpi


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return scanned_page(INVOICE_LINES)  # drawn straight, then tilted 0.6° counter-clockwise


@pytest.mark.parametrize("extra", [0.0, 1.5, -3.0])
def test_skew_is_measured(page: Image.Image, extra: float) -> None:
    tilted = page.rotate(extra, resample=Image.Resampling.BICUBIC, fillcolor=255)
    analysis = prep.analyse(tilted)
    assert analysis.skew == pytest.approx(-(0.6 + extra), abs=0.1)
    assert not analysis.vertical and not analysis.upside_down
    assert analysis.line_height == pytest.approx(31, abs=5)  # 34 px DejaVu Sans


def test_small_skews_and_blank_pages_are_left_alone() -> None:
    blank = Image.new("L", (800, 600), 255)
    assert prep.analyse(blank) == prep.Analysis(0.0, False, False, None, 0)
    straight = scanned_page(INVOICE_LINES).rotate(-0.6, fillcolor=255)  # back to about 0°
    assert prep.analyse(straight).skew == 0.0


def test_orientation_signs(page: Image.Image) -> None:
    assert prep.analyse(page.rotate(90, expand=True)).vertical
    assert prep.analyse(page.rotate(270, expand=True)).vertical
    upside_down = prep.analyse(page.rotate(180))
    assert upside_down.upside_down and not upside_down.vertical


def test_shear_rotation_matches_a_true_rotation() -> None:
    image = Image.new("L", (600, 400), 255)
    ImageDraw.Draw(image).rectangle((440, 60, 450, 70), fill=0)  # a dot far from the centre
    for angle in (2.0, -4.0):
        ours = np.asarray(prep.shear_rotate(image, angle)) < 128
        theirs = np.asarray(image.rotate(angle, fillcolor=255)) < 128
        centre = [np.argwhere(found).mean(axis=0) for found in (ours, theirs)]
        assert np.abs(centre[0] - centre[1]).max() <= 1.5
        assert prep.shear_rotate(image, angle).size == image.size


def test_apply_turns_and_scales() -> None:
    image = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(image).rectangle((0, 0, 9, 9), fill=0)  # top-left corner
    turned = prep.apply(image, prep.Transform(rotate=90, scale=2.0))
    assert turned.size == (400, 600)
    # A quarter turn clockwise brings the top-left corner to the top-right.
    assert turned.getpixel((395, 5)) < 128 and turned.getpixel((5, 5)) > 128


def test_resolution_decisions() -> None:
    a4_150 = (1240, 1754)
    # Small text is enlarged to 24 px lines, whatever the resolution says.
    assert prep.decide_scale(a4_150, 150, 12.0) == (2.0, 300.0)
    assert prep.decide_scale((600, 2000), None, 8.0)[0] == 3.0  # a receipt, resolution unknown
    assert prep.decide_scale((600, 2000), None, 4.0)[0] == 4.0  # at most ×4
    # Text already 16 px high or more is read as it is, even at 150-200 dpi.
    assert prep.decide_scale(a4_150, 150, 16.0) == (1.0, 150.0)
    assert prep.decide_scale((1654, 2339), 200, 20.0)[0] == 1.0
    # No measurable lines: the resolution decides (known, or guessed from the A4 size).
    assert prep.decide_scale(a4_150, 150, None) == (2.0, 300.0)
    assert prep.decide_scale(a4_150, None, None)[0] == pytest.approx(2.0, abs=0.01)
    assert prep.decide_scale((600, 2000), None, None)[0] == 1.0  # not a page's proportions
    assert prep.decide_scale((2480, 3508), 300, 35.0) == (1.0, 300.0)
    # 600 dpi is reduced to 300, but small print keeps lines of 30 px.
    assert prep.decide_scale((4960, 7016), 600, None) == (0.5, 300.0)
    assert prep.decide_scale((4960, 7016), 600, 50.0)[0] == 0.6
    huge, _ = prep.decide_scale((10000, 9000), None, None)
    assert 10000 * 9000 * huge * huge <= prep.MAX_PIXELS
    assert prep.bound_scale((10000, 9000)) == pytest.approx(huge)


def test_image_dpi_is_trusted_only_when_plausible() -> None:
    def saved(size: tuple[int, int], dpi: int | None) -> Image.Image:
        buf = io.BytesIO()
        Image.new("L", size, 255).save(buf, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
        return Image.open(io.BytesIO(buf.getvalue()))

    assert prep.image_dpi(saved((1240, 1754), 150)) == pytest.approx(150, abs=0.1)
    assert prep.image_dpi(saved((4000, 3000), 72)) is None  # a camera's meaningless 72 dpi
    assert prep.image_dpi(saved((4000, 3000), 150)) is None  # a 27-inch "page"
    assert prep.image_dpi(saved((1240, 1754), None)) is None
    assert prep.image_dpi(saved((595, 842), 72)) == pytest.approx(72, abs=0.1)  # a real A4


def test_a_huge_pdf_page_is_rendered_within_the_pixel_bound(tmp_path: Path) -> None:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(5000, 5000))  # 69 × 69 inches
    pdf.drawString(100, 100, "Plan")
    pdf.showPage()
    pdf.save()
    path = tmp_path / "plan.pdf"
    path.write_bytes(buf.getvalue())
    dpi = _render_dpi(str(path), 1, 300)
    assert (5000 / 72 * dpi) ** 2 <= prep.MAX_PIXELS and dpi > 50
    normal = tmp_path / "a4.pdf"
    canvas.Canvas(str(normal)).save()
    assert _render_dpi(str(normal), 1, 300) == 300
    assert subprocess.run(["pdfinfo", str(path)], capture_output=True).returncode == 0


def test_enlargement_stops_at_the_pixel_bound() -> None:
    scale, _ = prep.decide_scale((2000, 3500), None, 6.0)  # small text on 7 megapixels
    assert 2.38 < scale < 2.4 and 2000 * 3500 * scale * scale <= prep.MAX_PIXELS
