"""Page preparation before Tesseract: resolution, quarter turns, small-angle deskew.

Pure image code (Pillow and numpy), no Tesseract: the orientation decision that needs
Tesseract's OSD lives in :mod:`plugins.ocr_tesseract.ocr`.

Everything here works on a **small binarised copy** of the page (long side at most
:data:`ANALYSIS_SIDE` pixels, ink found by Otsu's threshold), so its cost does not grow with
the page: about 20-60 ms for an A4 page at 300 dpi.

* :func:`analyse` measures, on that copy, the skew angle (the angle whose projection profile of
  ink rows is the most peaked, searched over ±5° coarse-to-fine), whether the text runs
  vertically (the page lies on its side: empty columns rather than empty rows between lines),
  whether it looks upside down (more ink under the lines' body than above it: descenders
  rather than ascenders), and the median height of text lines (to avoid enlarging text that
  is already large). The two orientation signs only decide whether Tesseract's OSD is asked.
* :func:`decide_scale` turns the text's size in pixels and the page's resolution into a
  scale factor (see its docstring).
* :func:`apply` performs a :class:`Transform` on the full page: quarter turn (a transpose,
  exact), resize, then, for a skew over 3.25°, the deskew as two integer-shift shears
  (Leptonica's method for small angles): a few hundred block copies in numpy, 10-20× cheaper
  than Pillow's bilinear rotation of a 300 dpi page (0.25 s), and as good for Tesseract.
  Smaller skews are corrected in the word coordinates only (:func:`rotate_point`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

#: Long side of the binarised copy used for every measurement (pixels).
ANALYSIS_SIDE = 1800
#: Deskew only angles in this range (degrees); smaller ones do not matter to Tesseract.
MIN_SKEW = 0.3
MAX_SKEW = 5.0
#: From this angle (degrees) the image itself is straightened; below it only the word
#: coordinates are: Tesseract reads a page tilted by up to 3° better from its own pixels than
#: from a resampled copy (1-2 points of token recall), and worse from 3.5° (3 to 8 points)
#: (measured, docs/reading.md).
STRAIGHTEN_SKEW = 3.25
#: Text lines lower than this (pixels, as :func:`analyse` measures them: about 0.85 × the
#: font size) are enlarged to ``ENLARGED_LINE_HEIGHT``, at most ``MAX_ENLARGEMENT`` times.
#: Measured on 200 and 150 dpi scans: lines of 10-12 px gained 2.6 to 13 points of token
#: recall when enlarged, lines of 13-14 px 0 to 1.3, lines of 16-20 px lost 0.7 to 1.1 (and
#: cost 40 % more time): what matters is the text's size in pixels, not the dpi.
SMALL_LINE_HEIGHT = 15
ENLARGED_LINE_HEIGHT = 24
MAX_ENLARGEMENT = 4.0
#: Without measurable lines, a page below ``LOW_DPI`` is enlarged to ``TARGET_DPI``; a page
#: above ``HIGH_DPI`` is reduced to ``TARGET_DPI``, its lines kept at ``REDUCED_LINE_HEIGHT``
#: pixels at least (dots per inch, pixels).
TARGET_DPI = 300
LOW_DPI = 250
HIGH_DPI = 450
REDUCED_LINE_HEIGHT = 30
#: Pages are never larger than this (pixels) after preparation.
MAX_PIXELS = 40_000_000
#: A4 long side, in inches: the resolution of an image without usable dpi information is
#: guessed from it when the image has the proportions of a page (A4 or US Letter).
A4_LONG_INCHES = 11.69
#: The page lies on its side when its columns have this much more empty space than its rows.
VERTICAL_GAPS = 0.2
#: The page may be upside down when its lines have less ink above their body than this
#: fraction of the ink below it (ascenders against descenders).
UPSIDE_DOWN_RATIO = 0.5


@dataclass(frozen=True)
class Transform:
    """How a page image was turned into the page Tesseract read.

    ``rotate``: quarter turn applied first, clockwise degrees (0, 90, 180, 270); ``scale``:
    resize factor; ``skew``: deskew rotation, counter-clockwise degrees (Pillow's convention)
    about the centre, the size unchanged, that gives the straight page the coordinates refer
    to; ``straighten``: whether the image itself was rotated by ``skew`` (else only the
    coordinates of what Tesseract read are); ``width``/``height``: size of the page;
    ``dpi``: its resolution when known.
    """

    rotate: int = 0
    scale: float = 1.0
    skew: float = 0.0
    width: int = 0
    height: int = 0
    dpi: float | None = None
    straighten: bool = False

    @property
    def frame_skew(self) -> float:
        """The rotation from the image Tesseract reads to the straight page (0 if none)."""
        return 0.0 if self.straighten else self.skew

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyse` measured on the small copy of a page."""

    skew: float  # degrees to rotate counter-clockwise to straighten the rows (0 if unsure)
    vertical: bool  # the text runs vertically: the page lies on its side
    upside_down: bool  # the text lines look upside down (more ink below lines than above)
    line_height: float | None  # median text line height, in pixels of the analysed image
    ink: int  # ink pixels found (0 for a blank page)


def to_gray(image: Image.Image) -> Image.Image:
    """The page as an 8-bit grayscale image (what Tesseract binarises anyway)."""
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = background
    return image.convert("L")


def analyse(image: Image.Image) -> Analysis:
    """Measure skew, text direction and line height on a small binarised copy of ``image``."""
    factor = max(1, math.ceil(max(image.size) / ANALYSIS_SIDE))
    small = to_gray(image)
    if factor > 1:
        small = small.reduce(factor)
    ink_x, ink_y = _ink(np.asarray(small))
    if ink_x.size < 200:
        return Analysis(0.0, False, False, None, int(ink_x.size))
    rows_angle = _best_angle(ink_x, ink_y)
    cols_angle = _best_angle(ink_y, ink_x)
    # Horizontal text leaves empty rows between its lines and hardly any empty column.
    vertical = _gaps(ink_y, ink_x, cols_angle) - _gaps(ink_x, ink_y, rows_angle) > VERTICAL_GAPS
    angle = cols_angle if vertical else rows_angle
    skew = angle if MIN_SKEW <= abs(angle) <= MAX_SKEW else 0.0
    line_height = None
    upside_down = False
    if not vertical:
        line_height = _line_height(ink_x, ink_y, rows_angle)
        if line_height is not None:
            line_height *= factor
        upside_down = _ascenders_ratio(ink_x, ink_y, rows_angle) < UPSIDE_DOWN_RATIO
    return Analysis(skew, vertical, upside_down, line_height, int(ink_x.size))


def decide_scale(
    size: tuple[int, int], dpi: float | None, line_height: float | None
) -> tuple[float, float | None]:
    """Scale factor for a page of ``size`` pixels, and the resolution after scaling if known.

    ``line_height`` is the median height of the page's text lines (:func:`analyse`), ``dpi``
    the page's resolution when known (PDF rendering, a scan's own resolution, or an image's
    trustworthy dpi information), else guessed from the A4 size for an image with a page's
    proportions. Lines lower than ``SMALL_LINE_HEIGHT`` are enlarged to
    ``ENLARGED_LINE_HEIGHT`` (at most ×4); without measurable lines, a page below ``LOW_DPI``
    is enlarged to ``TARGET_DPI``. A page above ``HIGH_DPI`` is reduced to ``TARGET_DPI``
    (lines kept at ``REDUCED_LINE_HEIGHT`` at least). Changes under 25 % are not made; the
    result never exceeds ``MAX_PIXELS``.
    """
    width, height = size
    if dpi is None:
        dpi = guess_dpi(size)
    scale = 1.0
    if line_height is not None and line_height < SMALL_LINE_HEIGHT:
        scale = min(ENLARGED_LINE_HEIGHT / line_height, MAX_ENLARGEMENT)
    elif line_height is None and dpi is not None and dpi < LOW_DPI:
        scale = TARGET_DPI / dpi
    elif dpi is not None and dpi > HIGH_DPI:
        scale = TARGET_DPI / dpi
        if line_height:
            scale = max(scale, min(1.0, REDUCED_LINE_HEIGHT / line_height))
    if 1.0 < scale < 1.25:  # not worth a resampling
        scale = 1.0
    scale = round(scale, 4)
    if width * height * scale * scale > MAX_PIXELS:
        scale = math.floor(math.sqrt(MAX_PIXELS / (width * height)) * 10_000) / 10_000
    return scale, (dpi * scale if dpi is not None else None)


def bound_scale(size: tuple[int, int]) -> float:
    """Scale factor that keeps a page of ``size`` pixels within ``MAX_PIXELS`` (1 or less)."""
    pixels = size[0] * size[1]
    if pixels <= MAX_PIXELS:
        return 1.0
    return math.floor(math.sqrt(MAX_PIXELS / pixels) * 10_000) / 10_000


def guess_dpi(size: tuple[int, int]) -> float | None:
    """Resolution of a page image of ``size`` pixels if it has a page's proportions, else None.

    A4 (1.414) and US Letter (1.294), portrait or landscape: the long side is taken as A4's.
    Receipts, crops and photos have other proportions and are left at their resolution.
    """
    long_side, short_side = max(size), min(size)
    if short_side <= 0 or not 1.25 <= long_side / short_side <= 1.5:
        return None
    return long_side / A4_LONG_INCHES


def image_dpi(image: Image.Image) -> float | None:
    """The image's own resolution, when its file says one that gives a plausible page size.

    Many files carry a meaningless 72 or 96 dpi (cameras): the value is kept only if it is
    between 50 and 1200 dpi and the long side then measures 2 to 20 inches (a 4000-pixel
    photo "at 72 dpi" would be 55 inches long).
    """
    value = image.info.get("dpi")
    try:
        dpi = float(value[0]) if isinstance(value, tuple) else float(value)
    except (TypeError, ValueError, IndexError):
        return None
    if not 50 <= dpi <= 1200:
        return None
    inches = max(image.size) / dpi
    return dpi if 2 <= inches <= 20 else None


def apply(image: Image.Image, transform: Transform) -> Image.Image:
    """Perform ``transform`` (quarter turn, scale, deskew) on a grayscale page image."""
    image = to_gray(image)
    turn = {
        90: Image.Transpose.ROTATE_270,  # Pillow's ROTATE_n turn counter-clockwise
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }.get(transform.rotate % 360)
    if turn is not None:
        image = image.transpose(turn)
    if transform.scale != 1.0:
        size = (
            max(1, round(image.width * transform.scale)),
            max(1, round(image.height * transform.scale)),
        )
        method = Image.Resampling.BICUBIC if transform.scale > 1 else Image.Resampling.BOX
        image = image.resize(size, method)
    if transform.skew and transform.straighten:
        image = shear_rotate(image, transform.skew)
    return image


def rotate_point(
    x: float, y: float, angle: float, size: tuple[float, float]
) -> tuple[float, float]:
    """Where the pixel ``(x, y)`` of an image of ``size`` goes when the image is rotated by
    ``angle`` degrees counter-clockwise about its centre (Pillow's ``rotate``)."""
    cx, cy = size[0] / 2, size[1] / 2
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    dx, dy = x - cx, y - cy
    return cx + dx * c + dy * s, cy - dx * s + dy * c


def shear_rotate(image: Image.Image, angle: float) -> Image.Image:
    """Rotate a grayscale image by a small ``angle`` (degrees, counter-clockwise) about its
    centre, keeping its size, as a vertical then a horizontal integer-shift shear.

    For |angle| ≤ 5° the result differs from a true rotation by at most 0.4 % in scale; the
    uncovered corners are white.
    """
    a = np.asarray(to_gray(image))
    height, width = a.shape
    s = math.sin(math.radians(angle))
    # Vertical shear: out[y, x] = a[y + k(x), x], k(x) = round((x - cx) * s).
    shifts = np.rint((np.arange(width) - width / 2) * s).astype(np.int64)
    first = _shifted(a, shifts, axis=1)
    # Horizontal shear: out[y, x] = first[y, x - m(y)], m(y) = round((y - cy) * s).
    shifts = -np.rint((np.arange(height) - height / 2) * s).astype(np.int64)
    second = _shifted(first, shifts, axis=0)
    return Image.fromarray(second)


def _shifted(a: np.ndarray, shifts: np.ndarray, axis: int) -> np.ndarray:
    """``out`` with each column (``axis=1``) or row (``axis=0``) ``i`` read ``shifts[i]``
    pixels further along the other axis; pixels read from outside are white."""
    out = np.full_like(a, 255)
    length = a.shape[0] if axis == 1 else a.shape[1]
    breaks = np.flatnonzero(np.diff(shifts)) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [shifts.size]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        k = int(shifts[start])
        lo, hi = max(0, -k), min(length, length - k)
        if lo >= hi:
            continue
        if axis == 1:
            out[lo:hi, start:end] = a[lo + k : hi + k, start:end]
        else:
            out[start:end, lo:hi] = a[start:end, lo + k : hi + k]
    return out


# --------------------------------------------------------------------------------------------


def _ink(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (x, y), relative to the centre, of the dark pixels of a grayscale array.

    Otsu's threshold; a 2 % border is ignored (scanner edges, punched holes); at most 300,000
    pixels are kept (evenly strided) so every later step stays cheap.
    """
    height, width = gray.shape
    my, mx = max(1, height // 50), max(1, width // 50)
    core = gray[my : height - my, mx : width - mx]
    if core.size == 0:
        return np.empty(0), np.empty(0)
    threshold = _otsu(core)
    ys, xs = np.nonzero(core < threshold)
    if xs.size > 0.5 * core.size:  # mostly dark: a photo or an inverted page, no text rows
        return np.empty(0), np.empty(0)
    if xs.size > 300_000:
        step = math.ceil(xs.size / 300_000)
        xs, ys = xs[::step], ys[::step]
    return xs - core.shape[1] / 2, ys - core.shape[0] / 2


def _otsu(gray: np.ndarray) -> float:
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight / total - mean) ** 2 / (weight * (total - weight))
    between = np.nan_to_num(between)
    threshold = float(np.argmax(between))
    # A blank page has no dark mode: keep only clearly dark pixels then.
    return min(threshold + 1, 200.0)


def _profile_score(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """Peakedness of the ink profile along rows sheared by ``angle`` (sum of squared counts)."""
    counts = _rows(xs, ys, angle)
    return float(np.dot(counts, counts))


def _best_angle(xs: np.ndarray, ys: np.ndarray) -> float:
    """The angle (degrees) whose row profile is the most peaked (coarse to fine)."""
    best, best_score = 0.0, _profile_score(xs, ys, 0.0)
    for step, span in ((0.5, MAX_SKEW + 0.5), (0.1, 0.5), (0.02, 0.1)):
        centre = best
        count = round(span / step)
        for i in range(-count, count + 1):
            angle = round(centre + i * step, 4)
            if angle == centre or abs(angle) > MAX_SKEW + 0.5:
                continue
            score = _profile_score(xs, ys, angle)
            if score > best_score:
                best, best_score = angle, score
    return best


def _rows(xs: np.ndarray, ys: np.ndarray, angle: float) -> np.ndarray:
    s = math.sin(math.radians(angle))
    rows = np.rint(ys - xs * s).astype(np.int64)
    return np.bincount(rows - rows.min())


def _gaps(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """Share of the (nearly) empty rows at ``angle`` within the ink's extent (1-99 %)."""
    s = math.sin(math.radians(angle))
    rows = np.rint(ys - xs * s).astype(np.int64)
    low, high = np.percentile(rows, [1, 99])
    rows = rows[(rows >= low) & (rows <= high)]
    counts = np.bincount(rows - rows.min())
    if counts.size < 10:
        return 0.0
    return float(np.mean(counts <= 0.05 * np.median(counts[counts > 0])))


def _ascenders_ratio(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """Ink above the body of the text lines divided by ink below it (1 when unknown).

    Latin text has many more ascenders and capitals (b, d, h, l, t, A-Z, digits) than
    descenders (g, j, p, q, y): upright invoice pages measure 3.7 to 80, the same pages
    upside down 0 to 0.26. Capitals-only text measures about 1.
    """
    counts = _rows(xs, ys, angle).astype(np.float64)
    if counts.size < 3:
        return 1.0
    inked = counts > 0.05 * np.percentile(counts[counts > 0], 95)
    edges = np.diff(np.concatenate(([0], inked.astype(np.int8), [0])))
    above = below = 0.0
    lines = 0
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if end - start < 3:
            continue
        line = counts[start:end]
        body = np.flatnonzero(line >= 0.4 * line.max())  # the x-height band
        above += float(line[: body[0]].sum())
        below += float(line[body[-1] + 1 :].sum())
        lines += 1
    if lines < 2 or above + below < 100:
        return 1.0
    return above / (below + 1)


def _line_height(xs: np.ndarray, ys: np.ndarray, angle: float) -> float | None:
    """Median height of the runs of inked rows (text lines) at ``angle``, or None."""
    counts = _rows(xs, ys, angle)
    if counts.size < 3:
        return None
    inked = counts > 0.05 * np.percentile(counts[counts > 0], 95)
    edges = np.diff(np.concatenate(([0], inked.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = ends - starts
    runs = runs[runs >= 3]  # specks and rules are not text lines
    if runs.size < 2:
        return None
    return float(np.median(runs))
