"""Words with positions, upright and straight pages, and the second pass on a region, with the
real Tesseract on small generated pages."""

from __future__ import annotations

import pickle
import statistics
from pathlib import Path

import pytest
from ocrscans import FONT, INVOICE_LINES, scanned_page
from PIL import Image, ImageDraw, ImageFont

from core.documents.intake import inspect_file
from plugins.ocr_tesseract.layout import PageText
from plugins.ocr_tesseract.ocr import OcrEngine, ocr_file

SIZE = (1240, 700)
FONT_SIZE = 34


def drawn_box(text: str, line: int) -> tuple[float, float, float, float]:
    """Where ``scanned_page`` draws ``text`` on line ``line``, in page fractions."""
    font = ImageFont.truetype(FONT, FONT_SIZE)
    y = 60 + line * int(FONT_SIZE * 1.6)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("L", SIZE)).textbbox((70, y), text, font=font)
    return x0 / SIZE[0], y0 / SIZE[1], x1 / SIZE[0], y1 / SIZE[1]


def find(page: PageText, text: str) -> dict:
    matches = [word for word in page.words if word["text"] == text]
    assert matches, f"{text!r} not among {[w['text'] for w in page.words]}"
    return matches[0]


def assert_near(word: dict, box: tuple[float, float, float, float], tol: float = 0.015) -> None:
    found = (word["x0"], word["y0"], word["x1"], word["y1"])
    assert all(abs(a - b) <= tol for a, b in zip(found, box, strict=True)), (found, box)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The imitation invoice upright, turned a quarter both ways, upside down, and skewed."""
    folder = tmp_path_factory.mktemp("turned")
    page = scanned_page(INVOICE_LINES)  # itself tilted by 0.6°
    variants = {
        "upright": page,
        "left": page.rotate(90, expand=True),
        "right": page.rotate(270, expand=True),
        "upside_down": page.rotate(180),
        "skewed": page.rotate(1.5, resample=Image.Resampling.BICUBIC, fillcolor=255),
        "skewed_more": page.rotate(3.5, resample=Image.Resampling.BICUBIC, fillcolor=255),
    }
    files = {}
    for name, image in variants.items():
        files[name] = folder / f"{name}.png"
        image.save(files[name])
    return files


def read(engine: OcrEngine, path: Path) -> PageText:
    return engine.ocr_pages(path, inspect_file(path), [1])[1]


def test_words_have_plausible_boxes(engine: OcrEngine, pages: dict[str, Path]) -> None:
    page = read(engine, pages["upright"])
    assert isinstance(page, PageText) and "Quincaillerie" in page
    word = find(page, "Quincaillerie")
    assert_near(word, drawn_box("Quincaillerie", 0))
    assert word["conf"] > 0.8 and isinstance(word["block"], int)
    assert all(0 <= w["x0"] < w["x1"] <= 1 and 0 <= w["y0"] < w["y1"] <= 1 for w in page.words)
    assert all(w["text"].strip() and 0 <= w["conf"] <= 1 for w in page.words)
    # One Tesseract line, one line id; the next printed line has another.
    first = {w["line"] for w in page.words if w["text"] in ("Quincaillerie", "Dupont", "SARL")}
    assert len(first) == 1 and find(page, "avenue")["line"] not in first
    # The text is laid out: the amount column stays apart from its label.
    total = next(line for line in page.splitlines() if "Total" in line)
    assert "TTC   " in total and "22,68" in total
    # The words came back from a worker process: a PageText pickles with them.
    copy = pickle.loads(pickle.dumps(page))
    assert copy == page and copy.words == page.words and copy.transform == page.transform


@pytest.mark.parametrize(("name", "rotate"), [("left", 90), ("right", 270), ("upside_down", 180)])
def test_turned_pages_are_read_upright(
    engine: OcrEngine, pages: dict[str, Path], name: str, rotate: int
) -> None:
    page = read(engine, pages[name])
    assert "Quincaillerie Dupont SARL" in page and "Q-2024-0815" in page
    assert page.transform["rotate"] == rotate
    # Boxes are those of the upright page.
    assert_near(find(page, "Quincaillerie"), drawn_box("Quincaillerie", 0))


@pytest.mark.parametrize(
    ("name", "skew", "straighten"), [("skewed", -2.1, False), ("skewed_more", -4.1, True)]
)
def test_skewed_page_is_straightened(
    engine: OcrEngine, pages: dict[str, Path], name: str, skew: float, straighten: bool
) -> None:
    page = read(engine, pages[name])
    assert page.transform["skew"] == pytest.approx(skew, abs=0.15)
    # Under 3.25°, Tesseract reads the tilted pixels and only the coordinates are straightened.
    assert page.transform["straighten"] is straighten
    # The words of one printed line, across its wide gap, share one height.
    printed = [find(page, text) for text in ("Vis", "inox", "200)", "18,90", "EUR")]
    centres = [(w["y0"] + w["y1"]) / 2 for w in printed]
    assert max(centres) - min(centres) < 0.015  # 10 px; a 2.1° tilt alone moves 25 px
    assert len({w["line"] for w in printed[:3]}) == 1
    assert_near(find(page, "Quincaillerie"), drawn_box("Quincaillerie", 0))
    line = next(text for text in page.splitlines() if "18,90" in text)
    assert line.split()[:2] == ["Vis", "inox"]
    # A region of the straight page is found on the image Tesseract reads, and mapped back.
    amount = find(page, "18,90")
    box = (amount["x0"], amount["y0"], amount["x1"], amount["y1"])
    path = pages[name]
    (again,) = [w for w in engine.ocr_region(path, inspect_file(path), 1, box) if "18" in w["text"]]
    assert again["text"] == "18,90"
    assert_near(again, box, tol=0.01)


def test_low_resolution_scan_is_enlarged(engine: OcrEngine, tmp_path: Path) -> None:
    # The invoice scanned at 100 dpi (its file says so): about 11 px high lines.
    small = scanned_page(INVOICE_LINES, size=(620, 350), font_size=13)
    path = tmp_path / "small.png"
    small.save(path, dpi=(100, 100))
    page = read(engine, path)
    # Lines of 11-12 px (the noise is random) are brought to 24 px: about twice as large.
    assert page.transform["scale"] >= 1.9 and page.transform["dpi"] >= 190
    assert "Quincaillerie" in page and "22,68" in page


@pytest.fixture(scope="module")
def amount_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A total line with small print, saved without resolution."""
    font = ImageFont.truetype(FONT, 30)
    image = Image.new("L", (1800, 420), 255)
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "Facture FA-2024-117 du 12/03/2024", fill=0, font=font)
    draw.text((60, 240), "Total TTC", fill=0, font=font)
    draw.text((1150, 240), "1 234,56 €", fill=0, font=font)
    path = tmp_path_factory.mktemp("amount") / "amount.png"
    image.resize((600, 140), Image.Resampling.BILINEAR).save(path)
    return path


def test_ocr_region_reads_an_amount_with_digits_only(engine: OcrEngine, amount_page: Path):
    inspection = inspect_file(amount_page)
    page = engine.ocr_pages(amount_page, inspection, [1])[1]
    amount = next(word for word in page.words if "234,56" in word["text"])
    # The amount's line, right half: read again, digits only.
    box = (0.5, amount["y0"] - 0.02, 1.0, amount["y1"] + 0.02)
    words = engine.ocr_region(amount_page, inspection, 1, box, digits=True)
    assert " ".join(w["text"] for w in words).replace(" ", "") in ("1234,56€", "1234,56")
    found = next(w for w in words if "234,56" in w["text"])
    assert abs(found["x1"] - amount["x1"]) < 0.02 and abs(found["y0"] - amount["y0"]) < 0.03
    # Without digits, the label is read too when the box covers it.
    everything = engine.ocr_region(amount_page, inspection, 1, (0.0, box[1], 1.0, box[3]))
    assert "Total" in [w["text"] for w in everything]
    with pytest.raises(ValueError):
        engine.ocr_region(amount_page, inspection, 1, (0.5, 0.2, 0.4, 0.3))


def test_ocr_region_on_a_page_not_read_before(engine: OcrEngine, pages: dict[str, Path]) -> None:
    # The engine has not read this copy: it reads the page first to know how it was turned.
    path = pages["upside_down"].with_name("upside_down_again.png")
    path.write_bytes(pages["upside_down"].read_bytes())
    box = drawn_box("Quincaillerie Dupont SARL", 0)
    words = engine.ocr_region(path, inspect_file(path), 1, box)
    assert [w["text"] for w in words][:3] == ["Quincaillerie", "Dupont", "SARL"]
    assert_near(words[0], drawn_box("Quincaillerie", 0))


def test_ocr_file_reads_every_page(scans: dict[str, Path]) -> None:
    result = ocr_file(scans["tiff"])
    assert sorted(result) == [1, 2]
    assert all(isinstance(page, PageText) and page.words for page in result.values())
    assert "Quincaillerie" in result[1] and "Menuiserie" in result[2]
    heights = [w["y1"] - w["y0"] for w in result[2].words]
    assert 0.02 < statistics.median(heights) < 0.08


def test_hook_read_region(app, tmp_path):
    """The ``read_region`` hook: the OCR plugin reads one region of a scan again and gives
    its words in page coordinates; a file it does not read gets None."""
    from types import SimpleNamespace

    from tests.conftest import make_scan_bytes

    scan = tmp_path / "scan.png"
    scan.write_bytes(make_scan_bytes(["FACTURE Quincaillerie", "Total TTC 1 234,56 EUR"]))
    document = SimpleNamespace(media_type="image/png", pages=1)
    hooks = app.extensions["classeur"].hooks
    with app.app_context():
        words = hooks.read_region(document, scan, 1, (0.0, 0.1, 1.0, 0.35), config={})
        assert words is not None
        texts = [w["text"] for w in words]
        assert "TTC" in texts and "1" in " ".join(texts)
        ttc = next(w for w in words if w["text"] == "TTC")
        # The second line of the page (y about 0.14 of 1200 px): inside the box, not at 0.
        assert 0.1 <= ttc["y0"] < ttc["y1"] <= 0.35 and 0 < ttc["x0"] < 0.5
        figures = hooks.read_region(document, scan, 1, (0.0, 0.1, 1.0, 0.35), digits=True)
        assert any("234,56" in w["text"] for w in figures)
        xml = SimpleNamespace(media_type="application/xml", pages=1)
        assert hooks.read_region(xml, scan, 1, (0.0, 0.0, 1.0, 1.0), config={}) is None
