"""Tesseract OCR engine: scanned pages to text, spread over a process pool.

Each worker process prepares one page image and runs one single-threaded ``tesseract`` on it
(``OMP_THREAD_LIMIT=1``). A PDF page that is exactly one upright scanned image gives that image
as is (``pdfimages``); any other page is rendered by ``pdftoppm`` through pdf2image, one page
at a time, to a grayscale PGM file that Tesseract reads without decoding a compressed format.
On a server, one single-threaded Tesseract per core is faster than Tesseract's own OpenMP
threads. The pool uses the ``spawn`` start method
(safe from a threaded web server) and is created on first use; the engine may be shared by
several threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from core.documents.intake import Inspection

__all__ = ["OcrEngine", "OcrError", "ocr_image_file"]

logger = logging.getLogger("classeur.plugins.ocr_tesseract")

_TIMEOUT_REASON = "délai dépassé"


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
    ``timeout_per_page`` bounds each Tesseract run (seconds); ``lang`` is Tesseract's language
    string; ``dpi`` the rendering resolution for PDF pages. Call :meth:`close` when done (or use
    the engine as a context manager).
    """

    def __init__(
        self,
        processes: int | None = None,
        timeout_per_page: float = 120,
        lang: str = "fra+eng",
        dpi: int = 300,
    ) -> None:
        self.processes = processes or _available_cpus()
        self.timeout_per_page = timeout_per_page
        self.lang = lang
        self.dpi = dpi
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

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
    ) -> dict[int, str]:
        """OCR the given pages (1-based) of an accepted PDF or image; return ``{page: text}``.

        Pages run in parallel. ``timeout`` overrides ``timeout_per_page`` for this call. Raises
        :class:`OcrError` for the first page (in page order) that fails; the engine stays usable.
        """
        if inspection.kind not in ("pdf", "image"):
            raise ValueError("only PDF and image documents can be OCRed")
        pages = list(dict.fromkeys(pages))
        for page in pages:
            if not 1 <= page <= inspection.pages:
                raise ValueError(f"page {page} outside 1..{inspection.pages}")
        if not pages:
            return {}
        limit = self.timeout_per_page if timeout is None else timeout
        job = (str(Path(path).resolve()), inspection.kind, self.dpi, self.lang, limit)
        futures: dict[int, Future[str]] = {}
        for attempt in (1, 2):
            executor = self._get_executor()
            try:
                for page in pages:
                    futures[page] = executor.submit(_ocr_page, *job, page)
                break
            except BrokenProcessPool as exc:
                # A worker died during an earlier call: start a fresh pool once.
                for future in futures.values():
                    future.cancel()
                futures.clear()
                self._discard_executor(executor)
                if attempt == 2:
                    raise OcrError(pages[0], "le moteur OCR ne démarre pas") from exc
        results: dict[int, str] = {}
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

    def ocr_image_file(self, path: Path, *, timeout: float | None = None) -> str:
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


def ocr_image_file(path: Path, *, lang: str = "fra+eng", timeout: float = 120) -> str:
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


def _ocr_page(path: str, kind: str, dpi: int, lang: str, timeout: float, page: int) -> str:
    import pytesseract  # imported in the worker: the parent never needs it

    with tempfile.TemporaryDirectory(prefix="classeur-ocr-") as tmp:
        try:
            image_path = _page_file(path, kind, dpi, page, Path(tmp), timeout)
        except OcrError:
            raise
        except Exception as exc:  # noqa: BLE001 - rendering errors come in many types
            raise OcrError(page, f"page illisible ({type(exc).__name__})") from None
        try:
            return pytesseract.image_to_string(image_path, lang=lang, timeout=timeout)
        except pytesseract.TesseractNotFoundError:
            raise OcrError(page, "Tesseract n'est pas installé sur le serveur") from None
        except pytesseract.TesseractError as exc:  # a RuntimeError: must come first
            raise OcrError(page, _tesseract_failure(exc.status, str(exc.message), lang)) from None
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrError(page, _TIMEOUT_REASON) from None
            raise OcrError(page, f"erreur de Tesseract : {_short(str(exc))}") from None


def _tesseract_failure(status: int, message: str, lang: str) -> str:
    if "loading language" in message or "load any languages" in message:
        detail = f"langue « {lang} » non installée"
    elif status < 0:
        detail = f"arrêt brutal (signal {-status})"
    else:
        detail = _short(message)
    return f"Tesseract a échoué (code {status}) : {detail}"


def _page_file(path: str, kind: str, dpi: int, page: int, tmp: Path, timeout: float) -> str:
    """Write the page as an image file Tesseract reads fast; return its path."""
    if kind == "pdf":
        embedded = _embedded_scan(path, page, tmp)
        if embedded is not None:
            return embedded
        from pdf2image import convert_from_path
        from pdf2image.exceptions import PDFPopplerTimeoutError

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
                timeout=max(timeout, 30),
            )
        except PDFPopplerTimeoutError:
            raise OcrError(page, _TIMEOUT_REASON) from None
        if not paths:
            raise OcrError(page, "page introuvable dans le PDF")
        return paths[0]
    from PIL import Image

    from core.documents.reading import image_frame

    with Image.open(path) as im:
        upright = im.getexif().get(0x0112, 1) == 1  # EXIF orientation
        single = getattr(im, "n_frames", 1) == 1
        if upright and single and im.format in ("PNG", "JPEG") and im.mode in ("1", "L", "RGB"):
            return path  # Tesseract reads these directly
    frame = image_frame(Path(path), page)
    if frame.mode == "RGB":
        frame = frame.convert("L")
    out = tmp / (f"page-{page}.png" if frame.mode == "1" else f"page-{page}.pgm")
    frame.save(out)
    return str(out)


def _embedded_scan(path: str, page: int, tmp: Path) -> str | None:
    """The page's scanned image, extracted as is, when the page is exactly one upright scan.

    Most scanners write a page as one JPEG (or lossless) image filling the page at 200-600 dpi.
    Handing that image to Tesseract avoids re-rendering the page (``pdftoppm`` at 300 dpi costs
    about 15 % of Tesseract's time) and any resampling. Anything else - several images, masks,
    rotation, JBIG2/CCITT/JPEG 2000, CMYK - returns ``None`` and the page is rendered.
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
        if bpc not in ("1", "8") or not 200 <= float(xppi) <= 600 or xppi != yppi:
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
    return str(found[0])


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message[:200] or "raison inconnue"
