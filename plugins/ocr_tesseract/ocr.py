"""Tesseract OCR engine: scanned pages to words with positions and laid-out text.

Each worker process prepares one page image and runs one single-threaded ``tesseract`` on it
(``OMP_THREAD_LIMIT=1``). On a server, one single-threaded Tesseract per core is faster than
Tesseract's own OpenMP threads. The pool uses the ``spawn`` start method (safe from a threaded
web server) and is created on first use; the engine may be shared by several threads.

A page, step by step (all within the per-page time limit):

1. **Image.** A PDF page that is exactly one upright scanned image gives that image as is
   (``pdfimages``, its resolution known); any other PDF page is rendered by ``pdftoppm`` at
   300 dpi in grayscale (less for a huge page: at most 40 megapixels); an image frame is taken
   upright (EXIF orientation applied), its resolution read from the file when plausible.
2. **Preparation** (:mod:`plugins.ocr_tesseract.preprocess`, numpy on a half-size binarised
   copy, about 0.1 s for an A4 page at 300 dpi): the skew (±0.3° to ±5°) is measured by
   projection profiles; over 3.25° the image is straightened before reading, below that only
   the words' coordinates are (Tesseract reads small tilts better from the original pixels than
   from a resampled copy: measured, see docs/reading.md). A page whose text lines are under
   15 px is enlarged to 24 px lines (what matters to Tesseract is the size of the text in
   pixels: enlarging 200 dpi pages of 16-20 px lines cost 40 % more time for a slightly worse
   reading), a page without measurable lines below 250 dpi to 300 dpi; one above 450 dpi or
   40 megapixels is reduced.
3. **Orientation** by Tesseract's OSD (``--psm 0``), only when needed, because OSD costs 1 to
   2 s per page, as much as reading it (measured: 1.1-1.7 s on an A4 page, 1.1 s even on a
   half-size copy or an eighth of the page). It runs (a) before reading when the profiles show
   the text running vertically (the page lies on its side) or upside down (descenders rather
   than ascenders), and (b) after reading when the words' mean confidence is below 60 %
   (upside-down pages read at about 45 %, upright scans at 85-95 %): the page is then read
   again and the better reading kept. Its answer is applied only with an orientation
   confidence of at least 2; OSD failing (near-empty page) leaves the page as it is. Upright
   pages, the vast majority, pay nothing for it.
4. **Reading**: one ``tesseract ... tsv`` run gives the words with boxes
   (:func:`~plugins.ocr_tesseract.layout.words_from_tsv`); the text is laid out from them
   like ``pdftotext -layout`` (:func:`~plugins.ocr_tesseract.layout.layout_text`). The page
   comes back as a :class:`~plugins.ocr_tesseract.layout.PageText`: a ``str`` carrying
   ``.words`` and ``.transform``.

:meth:`OcrEngine.ocr_region` reads a box of a page again (enlarged ×2, ``--psm 6``, optionally
digits only), in the same page coordinates.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import re
import shlex
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from core.plugin_api import Inspection
from plugins.ocr_tesseract.layout import PageText, layout_text, words_from_tsv

__all__ = ["OcrEngine", "OcrError", "PageText", "ocr_file", "ocr_image_file"]

logger = logging.getLogger("classeur.plugins.ocr_tesseract")

_TIMEOUT_REASON = "délai dépassé"
#: Below this mean word confidence (0..1), the page may be upside down: OSD is asked.
LOW_CONFIDENCE = 0.6
#: Tesseract's OSD orientation confidence needed to turn a page.
OSD_MIN_CONFIDENCE = 2.0
#: Characters allowed by ``ocr_region(..., digits=True)``.
DIGITS_WHITELIST = "0123456789,.-/%€ "
#: Enlargement of a region read again by ``ocr_region``.
REGION_ZOOM = 2


class OcrError(Exception):
    """OCR of one page failed; ``reason`` is a short French explanation."""

    def __init__(self, page: int, reason: str) -> None:
        # Both values in args so the exception survives pickling back from a worker.
        super().__init__(page, reason)
        self.page = page
        self.reason = reason

    def __str__(self) -> str:
        return f"Reconnaissance du texte impossible (page {self.page}) : {self.reason}"


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OcrEngine:
    """Tesseract OCR over a pool of worker processes (one Tesseract thread per process).

    ``processes`` defaults to the number of CPUs available to this process;
    ``timeout_per_page`` bounds the work on each page, preparation and every Tesseract run
    included (seconds); ``lang`` is Tesseract's language string; ``dpi`` the rendering
    resolution for PDF pages; ``preprocess=False`` skips deskew, resolution changes and
    orientation (for comparison). Call :meth:`close` when done (or use the engine as a context
    manager).
    """

    def __init__(
        self,
        processes: int | None = None,
        timeout_per_page: float = 120,
        lang: str = "fra+eng",
        dpi: int = 300,
        *,
        preprocess: bool = True,
    ) -> None:
        self.processes = processes or _available_cpus()
        self.timeout_per_page = timeout_per_page
        self.lang = lang
        self.dpi = dpi
        self.preprocess = preprocess
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        # How recently read pages were prepared, for ocr_region (same coordinates).
        self._transforms: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def __enter__(self) -> OcrEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def ocr_pages(
        self,
        path: Path,
        inspection: Inspection,
        pages: Iterable[int],
        *,
        timeout: float | None = None,
    ) -> dict[int, PageText]:
        """OCR the given pages (1-based) of an accepted PDF or image; return ``{page: text}``.

        Each text is a :class:`PageText`: a ``str`` (the page laid out) with ``.words``, the
        words with their boxes in page fractions. Pages run in parallel. ``timeout`` overrides
        ``timeout_per_page`` for this call. Raises :class:`OcrError` for the first page (in
        page order) that fails; the engine stays usable.
        """
        pages = self._check(inspection, pages)
        if not pages:
            return {}
        limit = self.timeout_per_page if timeout is None else timeout
        job = (self._source(path), inspection.kind, self.dpi, self.lang, limit)
        results = self._run(
            pages, lambda page: (_ocr_page, (*job, page), {"preprocess": self.preprocess})
        )
        for page, text in results.items():
            self._remember(path, page, text.transform)
        return results

    def ocr_region(
        self,
        path: Path,
        inspection: Inspection,
        page: int,
        box: tuple[float, float, float, float],
        *,
        digits: bool = False,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Read the box ``(x0, y0, x1, y1)`` (page fractions) of ``page`` again; return its words.

        The box is in the coordinates of :meth:`ocr_pages`' words (the upright, deskewed page);
        it is cut with a small margin, enlarged ×2 and read as one block (``--psm 6``), with
        ``digits=True`` only digits and ``,.-/%€``. Words come back in page fractions. A page
        this engine read recently is prepared the same way at once; otherwise it is read whole
        first to learn how (one extra page reading).
        """
        (page,) = self._check(inspection, [page])
        x0, y0, x1, y1 = (float(value) for value in box)
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"box {box} is not within the page (fractions, x0 < x1, y0 < y1)")
        limit = self.timeout_per_page if timeout is None else timeout
        transform = self._transforms.get(self._key(path, page)) if self.preprocess else None
        args = (self._source(path), inspection.kind, self.dpi, self.lang, limit, page)
        options = {
            "box": (x0, y0, x1, y1),
            "digits": digits,
            "transform": transform,
            "preprocess": self.preprocess,
        }
        result = self._run([page], lambda _page: (_ocr_region, args, options))[page]
        words, transform = result
        self._remember(path, page, transform)
        return words

    def ocr_image_file(self, path: Path, *, timeout: float | None = None) -> PageText:
        """OCR a single-page image file without a prior inspection (convenience)."""
        inspection = Inspection(media_type="image/*", pages=1, kind="image")
        return self.ocr_pages(path, inspection, [1], timeout=timeout)[1]

    def close(self) -> None:
        """Stop the worker processes; the engine cannot be used afterwards."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    # ----------------------------------------------------------------------------------------

    @staticmethod
    def _check(inspection: Inspection, pages: Iterable[int]) -> list[int]:
        if inspection.kind not in ("pdf", "image"):
            raise ValueError("only PDF and image documents can be OCRed")
        pages = list(dict.fromkeys(pages))
        for page in pages:
            if not 1 <= page <= inspection.pages:
                raise ValueError(f"page {page} outside 1..{inspection.pages}")
        return pages

    @staticmethod
    def _source(path: Path) -> str:
        return str(Path(path).resolve())

    def _key(self, path: Path, page: int) -> tuple[Any, ...]:
        source = self._source(path)
        try:
            stat = os.stat(source)
        except OSError:
            return (source, None, None, page)
        return (source, stat.st_mtime_ns, stat.st_size, page)

    def _remember(self, path: Path, page: int, transform: dict[str, Any] | None) -> None:
        if not transform:
            return
        key = self._key(path, page)
        with self._lock:
            self._transforms[key] = transform
            self._transforms.move_to_end(key)
            while len(self._transforms) > 1024:
                self._transforms.popitem(last=False)

    def _run(self, pages: list[int], make: Any) -> dict[int, Any]:
        """Submit ``make(page) -> (function, args, kwargs)`` for each page; gather in order."""
        futures: dict[int, Future[Any]] = {}
        for attempt in (1, 2):
            executor = self._get_executor()
            try:
                for page in pages:
                    function, args, kwargs = make(page)
                    futures[page] = executor.submit(function, *args, **kwargs)
                break
            except BrokenProcessPool as exc:
                # A worker died during an earlier call: start a fresh pool once.
                for future in futures.values():
                    future.cancel()
                futures.clear()
                self._discard_executor(executor)
                if attempt == 2:
                    raise OcrError(pages[0], "le moteur OCR ne démarre pas") from exc
        results: dict[int, Any] = {}
        try:
            for page, future in futures.items():
                try:
                    results[page] = future.result()
                except BrokenProcessPool as exc:
                    self._discard_executor(executor)
                    raise OcrError(page, "le moteur OCR s'est arrêté brutalement") from exc
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
        return results

    def _get_executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("OcrEngine is closed")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                )
            return self._executor

    def _discard_executor(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        logger.warning("OCR worker pool broke; a new one will be started")
        executor.shutdown(wait=False, cancel_futures=True)


def ocr_file(
    path: Path, *, lang: str = "fra+eng", timeout: float = 120, preprocess: bool = True
) -> dict[int, PageText]:
    """OCR every page of a PDF or image in the current process (no pool): for scripts and
    benchmarks. Same preparation and output as :meth:`OcrEngine.ocr_pages`.

    The file is inspected first (:func:`core.documents.intake.inspect_file`, which raises
    ``RejectedFile`` for a file Classeur would refuse). Tesseract keeps its default threading.
    """
    from core.plugin_api import inspect_file

    inspection = inspect_file(Path(path))
    if inspection.kind not in ("pdf", "image"):
        raise ValueError("only PDF and image documents can be OCRed")
    source = str(Path(path).resolve())
    return {
        page: _ocr_page(source, inspection.kind, 300, lang, timeout, page, preprocess=preprocess)
        for page in range(1, inspection.pages + 1)
    }


def ocr_image_file(path: Path, *, lang: str = "fra+eng", timeout: float = 120) -> PageText:
    """OCR one image file in the current process (no pool): handy for scripts and tests.

    Tesseract keeps its default threading here: ``OMP_THREAD_LIMIT`` is only set inside the
    engine's worker processes, never in the caller's environment.
    """
    return _ocr_page(str(path), "image", 300, lang, timeout, 1)


# --------------------------------------------------------------------------------------------
# Worker side (runs in the pool's processes)
# --------------------------------------------------------------------------------------------


def _init_worker() -> None:
    # Inherited by the tesseract subprocesses that pytesseract starts.
    os.environ["OMP_THREAD_LIMIT"] = "1"


class _Deadline:
    """The time left for one page; every Tesseract run gets what remains."""

    def __init__(self, page: int, seconds: float) -> None:
        self.page = page
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise OcrError(self.page, _TIMEOUT_REASON)
        return remaining


def _ocr_page(
    path: str,
    kind: str,
    dpi: int,
    lang: str,
    timeout: float,
    page: int,
    *,
    preprocess: bool = True,
) -> PageText:
    deadline = _Deadline(page, timeout)
    with tempfile.TemporaryDirectory(prefix="classeur-ocr-") as tmp:
        folder = Path(tmp)
        source = _load_page(path, kind, dpi, page, folder, deadline)
        return _read_page(source, lang, page, folder, deadline, preprocess=preprocess)


def _ocr_region(
    path: str,
    kind: str,
    dpi: int,
    lang: str,
    timeout: float,
    page: int,
    *,
    box: tuple[float, float, float, float],
    digits: bool,
    transform: dict[str, Any] | None,
    preprocess: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from PIL import Image

    from plugins.ocr_tesseract import preprocess as prep

    deadline = _Deadline(page, timeout)
    with tempfile.TemporaryDirectory(prefix="classeur-ocr-") as tmp:
        folder = Path(tmp)
        source = _load_page(path, kind, dpi, page, folder, deadline)
        if transform is None and not preprocess:
            transform = _transform(source, 0, prep.bound_scale(source.image.size), 0.0).as_dict()
        elif transform is None:
            # Unknown preparation (orientation may need a first reading): read the page.
            transform = _read_page(source, lang, page, folder, deadline, preprocess=True).transform
        plan = prep.Transform(**transform)
        prepared = prep.apply(source.image, plan)
        width, height = prepared.size
        margin = max(4, round(0.004 * max(width, height)))
        x0, y0, x1, y1 = box
        # The box is on the straight page; the image may still be slightly tilted.
        corners = [
            prep.rotate_point(x * width, y * height, -plan.frame_skew, (width, height))
            for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))
        ]
        left = max(0, math.floor(min(x for x, _ in corners)) - margin)
        top = max(0, math.floor(min(y for _, y in corners)) - margin)
        right = min(width, math.ceil(max(x for x, _ in corners)) + margin)
        bottom = min(height, math.ceil(max(y for _, y in corners)) + margin)
        crop = prepared.crop((left, top, right, bottom))
        size = (crop.width * REGION_ZOOM, crop.height * REGION_ZOOM)
        crop = crop.resize(size, Image.Resampling.BICUBIC)
        crop_path = folder / "region.pgm"
        crop.save(crop_path)
        config = "--psm 6"
        if transform.get("dpi"):
            config += f" --dpi {round(transform['dpi'] * REGION_ZOOM)}"
        if digits:
            config += f" -c tessedit_char_whitelist={shlex.quote(DIGITS_WHITELIST)}"
        tsv = _tesseract_tsv(str(crop_path), lang, config, page, deadline)
        words = words_from_tsv(tsv, (width, height), origin=(left, top), zoom=REGION_ZOOM)
        return _straight(words, plan), transform


class _Source:
    """A page image loaded for OCR, with what is known of it."""

    def __init__(self, image: Any, dpi: float | None, file: str | None) -> None:
        self.image = image  # grayscale PIL image, upright as stored
        self.dpi = dpi  # resolution when known (rendering, scan, trustworthy file info)
        self.file = file  # a file Tesseract can read as is, when the image needs no change


def _read_page(
    source: _Source, lang: str, page: int, folder: Path, deadline: _Deadline, *, preprocess: bool
) -> PageText:
    """Prepare (unless ``preprocess`` is false) and read one page image; see module docstring."""
    from plugins.ocr_tesseract import preprocess as prep

    if not preprocess:
        scale = prep.bound_scale(source.image.size)
        transform = _transform(source, 0, scale, 0.0)
        return _recognise(source, transform, lang, page, folder, deadline)[0]

    analysis = prep.analyse(source.image)
    rotate = 0
    asked = analysis.vertical or analysis.upside_down
    if asked:
        rotate = _orientation(_write(source.image, folder / "osd.pgm"), page, deadline)
        if rotate:
            analysis = prep.analyse(prep.apply(source.image, prep.Transform(rotate=rotate)))
    result, image_path = _recognise(
        source, _plan(source, analysis, rotate), lang, page, folder, deadline
    )
    if asked or not _doubtful(result, analysis.ink):
        return result
    # Low confidence: the page may be upside down (or on its side, undetected).
    rotate = _orientation(image_path, page, deadline)
    if not rotate:
        return result
    analysis = prep.analyse(prep.apply(source.image, prep.Transform(rotate=rotate)))
    second, _ = _recognise(source, _plan(source, analysis, rotate), lang, page, folder, deadline)
    return second if _quality(second) > _quality(result) else result


def _plan(source: _Source, analysis: Any, rotate: int) -> Any:
    """The transform for a page: quarter turn, then scale and skew from the analysis."""
    from plugins.ocr_tesseract import preprocess as prep

    size = source.image.size if rotate in (0, 180) else source.image.size[::-1]
    scale, _ = prep.decide_scale(size, source.dpi, analysis.line_height)
    return _transform(source, rotate, scale, analysis.skew)


def _transform(source: _Source, rotate: int, scale: float, skew: float) -> Any:
    from plugins.ocr_tesseract import preprocess as prep

    width, height = source.image.size if rotate in (0, 180) else source.image.size[::-1]
    if scale != 1.0:
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    dpi = round(source.dpi * scale, 1) if source.dpi else None
    straighten = abs(skew) >= prep.STRAIGHTEN_SKEW
    return prep.Transform(rotate, scale, skew, width, height, dpi, straighten)


def _recognise(
    source: _Source, transform: Any, lang: str, page: int, folder: Path, deadline: _Deadline
) -> tuple[PageText, str]:
    """One Tesseract TSV run on the prepared page: its text and words, and the image read."""
    from plugins.ocr_tesseract import preprocess as prep

    identity = transform.rotate == 0 and transform.scale == 1.0 and not transform.skew
    if identity and source.file is not None:
        image_path = source.file  # Tesseract reads it as is: nothing to write
    else:
        image_path = _write(prep.apply(source.image, transform), folder / "page.pgm")
    config = "--psm 3" + (f" --dpi {round(transform.dpi)}" if transform.dpi else "")
    tsv = _tesseract_tsv(image_path, lang, config, page, deadline)
    words = _straight(words_from_tsv(tsv, (transform.width, transform.height)), transform)
    return PageText(layout_text(words), words, transform.as_dict()), image_path


def _straight(words: list[dict[str, Any]], transform: Any) -> list[dict[str, Any]]:
    """Words read on a slightly tilted image, placed on the straight page.

    Each box's centre turns about the page centre with the skew; its size becomes that of the
    word itself: a ``w × h`` word tilted by ``a`` has a ``w·cos a + h·sin a`` by
    ``w·sin a + h·cos a`` box, solved for ``w`` and ``h``.
    """
    angle = transform.frame_skew
    if not angle:
        return words
    from plugins.ocr_tesseract.preprocess import rotate_point

    size = (transform.width, transform.height)
    c, s = math.cos(math.radians(angle)), abs(math.sin(math.radians(angle)))
    for word in words:
        box_w = (word["x1"] - word["x0"]) * size[0]
        box_h = (word["y1"] - word["y0"]) * size[1]
        w = (box_w * c - box_h * s) / (c * c - s * s)
        h = (box_h * c - box_w * s) / (c * c - s * s)
        w, h = (w, h) if w > 0 and h > 0 else (box_w, box_h)
        cx = (word["x0"] + word["x1"]) / 2 * size[0]
        cy = (word["y0"] + word["y1"]) / 2 * size[1]
        x, y = rotate_point(cx, cy, angle, size)
        word["x0"], word["x1"] = _clamp((x - w / 2) / size[0]), _clamp((x + w / 2) / size[0])
        word["y0"], word["y1"] = _clamp((y - h / 2) / size[1]), _clamp((y + h / 2) / size[1])
    return words


def _clamp(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 5)


def _doubtful(result: PageText, ink: int) -> bool:
    if not result.words:
        return ink > 2000  # ink but no word at all
    mean = sum(word["conf"] for word in result.words) / len(result.words)
    return mean < LOW_CONFIDENCE


def _quality(result: PageText) -> float:
    """Confidently read text: the sum of the confidences of words read at 60 % or more."""
    return sum(word["conf"] for word in result.words if word["conf"] >= LOW_CONFIDENCE)


def _orientation(image_path: str, page: int, deadline: _Deadline) -> int:
    """Clockwise quarter turn that makes the page upright according to Tesseract's OSD (0 when
    OSD is unsure or fails, as on a page with too few characters)."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(
            image_path, output_type=pytesseract.Output.DICT, timeout=deadline.left()
        )
    except pytesseract.TesseractNotFoundError:
        raise OcrError(page, "Tesseract n'est pas installé sur le serveur") from None
    except pytesseract.TesseractError as exc:
        logger.debug("page %s: no orientation (%s)", page, _short(str(exc.message)))
        return 0
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise OcrError(page, _TIMEOUT_REASON) from None
        return 0
    rotate = int(osd.get("rotate", 0)) % 360
    if rotate not in (90, 180, 270) or float(osd.get("orientation_conf", 0)) < OSD_MIN_CONFIDENCE:
        return 0
    return rotate


def _tesseract_tsv(image_path: str, lang: str, config: str, page: int, deadline: _Deadline) -> str:
    import pytesseract  # imported in the worker: the parent never needs it

    try:
        return pytesseract.image_to_data(
            image_path, lang=lang, config=config, timeout=deadline.left()
        )
    except pytesseract.TesseractNotFoundError:
        raise OcrError(page, "Tesseract n'est pas installé sur le serveur") from None
    except pytesseract.TesseractError as exc:  # a RuntimeError: must come first
        raise OcrError(page, _tesseract_failure(exc.status, str(exc.message), lang)) from None
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise OcrError(page, _TIMEOUT_REASON) from None
        raise OcrError(page, f"erreur de Tesseract : {_short(str(exc))}") from None


def _write(image: Any, path: Path) -> str:
    image.save(path)
    return str(path)


def _tesseract_failure(status: int, message: str, lang: str) -> str:
    if "loading language" in message or "load any languages" in message:
        detail = f"langue « {lang} » non installée"
    elif status < 0:
        detail = f"arrêt brutal (signal {-status})"
    else:
        detail = _short(message)
    return f"Tesseract a échoué (code {status}) : {detail}"


def _load_page(
    path: str, kind: str, dpi: int, page: int, tmp: Path, deadline: _Deadline
) -> _Source:
    """Load page ``page`` as a grayscale image, with its resolution when known."""
    from PIL import Image

    from plugins.ocr_tesseract import preprocess as prep

    try:
        if kind == "pdf":
            embedded = _embedded(path, page, tmp)
            if embedded is not None:
                file, ppi = embedded
                with Image.open(file) as im:
                    im.load()
                    image = prep.to_gray(im)
                return _Source(image, ppi, file if im.mode in ("L", "1", "RGB") else None)
            render_dpi = _render_dpi(path, page, dpi)
            image = prep.to_gray(_render(path, page, render_dpi, tmp, deadline))
            return _Source(image, render_dpi, None)
        from core.plugin_api import image_frame

        with Image.open(path) as im:
            if page > 1:
                im.seek(page - 1)
            dpi_info = prep.image_dpi(im)
            upright = im.getexif().get(0x0112, 1) == 1  # EXIF orientation
            direct = upright and page == 1 and getattr(im, "n_frames", 1) == 1
            direct = direct and im.format in ("PNG", "JPEG") and im.mode in ("1", "L", "RGB")
        image = prep.to_gray(image_frame(Path(path), page))
        return _Source(image, dpi_info, path if direct else None)
    except OcrError:
        raise
    except Exception as exc:  # noqa: BLE001 - rendering errors come in many types
        raise OcrError(page, f"page illisible ({type(exc).__name__})") from None


def _render_dpi(path: str, page: int, dpi: int) -> int:
    """``dpi``, lowered for a page so large that it would exceed the pixel bound."""
    from plugins.ocr_tesseract.preprocess import MAX_PIXELS

    try:
        info = subprocess.run(
            ["pdfinfo", "-f", str(page), "-l", str(page), path],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        found = re.search(rf"^Page\s+{page} size:\s+([\d.]+) x ([\d.]+)", info, re.MULTILINE)
    except Exception:  # noqa: BLE001 - pdftoppm will say what is wrong
        return dpi
    if found is None:
        return dpi
    square_inches = float(found.group(1)) / 72 * float(found.group(2)) / 72
    if square_inches <= 0 or square_inches * dpi * dpi <= MAX_PIXELS:
        return dpi
    return max(1, math.floor(math.sqrt(MAX_PIXELS / square_inches)))


def _render(path: str, page: int, dpi: int, tmp: Path, deadline: _Deadline) -> Any:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPopplerTimeoutError
    from PIL import Image

    try:
        paths = convert_from_path(
            path,
            dpi=dpi,
            first_page=page,
            last_page=page,
            grayscale=True,
            fmt="ppm",  # with grayscale: an uncompressed PGM, nothing to encode/decode
            output_folder=tmp,
            paths_only=True,
            timeout=max(1, math.ceil(deadline.left())),
        )
    except PDFPopplerTimeoutError:
        raise OcrError(page, _TIMEOUT_REASON) from None
    if not paths:
        raise OcrError(page, "page introuvable dans le PDF")
    with Image.open(paths[0]) as im:
        im.load()
        return im.copy()


def _embedded_scan(path: str, page: int, tmp: Path) -> str | None:
    """The file of the page's scanned image, extracted as is (see :func:`_embedded`)."""
    found = _embedded(path, page, tmp)
    return found[0] if found else None


def _embedded(path: str, page: int, tmp: Path) -> tuple[str, float] | None:
    """The page's scanned image, extracted as is, and its resolution, when the page is exactly
    one upright scan.

    Most scanners write a page as one JPEG (or lossless) image filling the page at 100-600 dpi.
    Taking that image avoids re-rendering the page (``pdftoppm`` at 300 dpi costs about 15 % of
    Tesseract's time) and a resampling decided by the PDF rather than by the size of its text
    (see :func:`plugins.ocr_tesseract.preprocess.decide_scale`). Anything else - several
    images, masks, rotation, JBIG2/CCITT/JPEG 2000, CMYK - returns ``None`` and the page is
    rendered.
    """
    pages = ["-f", str(page), "-l", str(page)]
    try:
        listing = subprocess.run(
            ["pdfimages", "-list", *pages, path],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        rows = [line.split() for line in listing.stdout.splitlines()[2:] if line.strip()]
        if len(rows) != 1 or len(rows[0]) < 14:
            return None
        _, _, kind, width, height, color, _, bpc, enc, _, _, _, xppi, yppi = rows[0][:14]
        if kind != "image" or color not in ("gray", "rgb") or enc not in ("jpeg", "image"):
            return None
        if bpc not in ("1", "8") or not 100 <= float(xppi) <= 600 or xppi != yppi:
            return None
        # pdfinfo reads only what it needs (pypdf would load the whole file for each page).
        info = subprocess.run(
            ["pdfinfo", "-box", *pages, path],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        rotation = re.search(rf"^Page\s+{page} rot:\s+(-?\d+)", info, re.MULTILINE)
        crop = re.search(rf"^Page\s+{page} CropBox:\s+(.+)$", info, re.MULTILINE)
        if rotation is None or crop is None or int(rotation.group(1)) % 360 != 0:
            return None
        x1, y1, x2, y2 = (float(value) for value in crop.group(1).split())
        expected = (int(width) / float(xppi) * 72, int(height) / float(yppi) * 72)
        actual = (abs(x2 - x1), abs(y2 - y1))
        if any(abs(e - a) > 0.03 * a for e, a in zip(expected, actual, strict=True)):
            return None  # the image does not fill the page: other content may matter
        subprocess.run(
            ["pdfimages", "-all", *pages, path, str(tmp / "scan")],
            capture_output=True,
            timeout=30,
            check=True,
        )
    except Exception:  # noqa: BLE001 - any doubt: render the page instead
        return None
    found = sorted(tmp.glob("scan-*"))
    if len(found) != 1 or found[0].suffix not in (".jpg", ".png"):
        return None
    return str(found[0]), float(xppi)


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message[:200] or "raison inconnue"
