"""Words with positions from Tesseract's TSV output, and the page text laid out from them.

Pure functions (no Tesseract, no image): :func:`words_from_tsv` turns ``tesseract ... tsv``
into word dictionaries, :func:`layout_text` renders them as text the way
``pdftotext -layout`` renders a PDF, and :class:`PageText` carries both.

A word is a plain dictionary (JSON-ready)::

    {"text": "22,68", "x0": 0.61, "y0": 0.42, "x1": 0.67, "y1": 0.44,
     "conf": 0.93, "block": 3, "line": 7}

Coordinates are fractions of the page (0..1, origin top-left) of the page image Tesseract
read: upright and deskewed (see :mod:`plugins.ocr_tesseract.preprocess`). ``conf`` is
Tesseract's word confidence divided by 100; ``block`` is Tesseract's block number; ``line``
numbers the page's Tesseract lines (block, paragraph, line) from 0 in Tesseract's reading order.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

__all__ = ["PageText", "layout_text", "words_from_tsv"]

#: Character columns for the page width in the laid-out text (more for very small print, so
#: that words never need to be pushed right of their column).
COLUMNS = 120
MAX_COLUMNS = 250
#: Words further apart than this many character widths are separated by 3 spaces or more.
FAR_GAP = 2.0


class PageText(str):
    """The text of one OCRed page (a ``str``) with its words and how the page was prepared.

    ``words``: list of word dictionaries (module docstring); ``transform``: the preparation
    of the page image (quarter turn, scale, deskew, size; see
    :class:`plugins.ocr_tesseract.preprocess.Transform`), or an empty dict. Pickles with both,
    so it crosses the process pool intact; every ``str`` operation returns a plain ``str``.
    """

    words: list[dict[str, Any]]
    transform: dict[str, Any]

    def __new__(
        cls,
        text: str = "",
        words: Iterable[dict[str, Any]] = (),
        transform: dict[str, Any] | None = None,
    ) -> PageText:
        obj = super().__new__(cls, text)
        obj.words = list(words)
        obj.transform = dict(transform or {})
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (PageText, (str(self), self.words, self.transform))


def words_from_tsv(
    tsv: str,
    page_size: tuple[int, int],
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    zoom: float = 1.0,
) -> list[dict[str, Any]]:
    """Word dictionaries from Tesseract's TSV output, in page fractions.

    ``page_size`` is the (width, height) in pixels of the page the fractions refer to. When
    the TSV comes from a crop of that page enlarged ``zoom`` times whose top-left corner is at
    ``origin`` (page pixels), boxes are mapped back to the page. Words with confidence -1 or
    empty text are dropped.
    """
    width, height = page_size
    ox, oy = origin
    words: list[dict[str, Any]] = []
    lines: dict[tuple[int, int, int], int] = {}
    rows = tsv.splitlines()
    for row in rows[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].strip()
        try:
            conf = float(cells[10])
            block, par, line = int(cells[2]), int(cells[3]), int(cells[4])
            left, top, w, h = (int(value) for value in cells[6:10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        line_id = lines.setdefault((block, par, line), len(lines))
        words.append(
            {
                "text": text,
                "x0": _fraction(ox + left / zoom, width),
                "y0": _fraction(oy + top / zoom, height),
                "x1": _fraction(ox + (left + w) / zoom, width),
                "y1": _fraction(oy + (top + h) / zoom, height),
                "conf": round(min(conf, 100.0) / 100, 4),
                "block": block,
                "line": line_id,
            }
        )
    return words


def layout_text(words: list[dict[str, Any]]) -> str:
    """The page text from its words, laid out like ``pdftotext -layout``.

    One text line per Tesseract line, top to bottom; lines of different blocks in the same
    vertical band (table cells, label and value) share one text line. Within a line, words
    closer than two character widths are separated by one space; a farther word goes to the
    column proportional to its left edge (120 columns for the page width, more for very small
    print), at least 3 spaces after the previous word. A blank line marks a vertical gap taller
    than two text lines.
    """
    if not words:
        return ""
    lines: dict[int, list[dict[str, Any]]] = {}
    for word in words:
        lines.setdefault(word["line"], []).append(word)
    char_width = _char_width(words)
    columns = COLUMNS
    if char_width > 0:
        columns = max(COLUMNS, min(MAX_COLUMNS, round(1.15 / char_width)))
    boxes = [_line_box(line_words) for line_words in lines.values()]
    boxes.sort(key=lambda box: (box["centre"], box["x0"]))
    height = statistics.median(box["y1"] - box["y0"] for box in boxes)

    bands: list[list[dict[str, Any]]] = []
    for box in boxes:
        band = bands[-1] if bands else None
        if band is not None and _same_band(band, box):
            band.append(box)
        else:
            bands.append([box])

    out: list[str] = []
    previous_bottom: float | None = None
    for band in bands:
        top = min(box["y0"] for box in band)
        if previous_bottom is not None and top - previous_bottom > 2 * height:
            out.append("")
        previous_bottom = max(box["y1"] for box in band)
        out.append(_render_band(band, columns, char_width))
    return "\n".join(out)


# --------------------------------------------------------------------------------------------


def _fraction(value: float, size: int) -> float:
    return round(min(max(value / size, 0.0), 1.0), 5) if size else 0.0


def _char_width(words: list[dict[str, Any]]) -> float:
    """Median character width, as a fraction of the page width (0 if unknown)."""
    widths = [(w["x1"] - w["x0"]) / len(w["text"]) for w in words if len(w["text"]) >= 3]
    if not widths:
        widths = [(w["x1"] - w["x0"]) / len(w["text"]) for w in words]
    return statistics.median(widths) if widths else 0.0


def _line_box(words: list[dict[str, Any]]) -> dict[str, Any]:
    y0 = statistics.median(w["y0"] for w in words)
    y1 = statistics.median(w["y1"] for w in words)
    return {
        "words": sorted(words, key=lambda w: w["x0"]),
        "x0": min(w["x0"] for w in words),
        "x1": max(w["x1"] for w in words),
        "y0": y0,
        "y1": y1,
        "centre": (y0 + y1) / 2,
    }


def _same_band(band: list[dict[str, Any]], box: dict[str, Any]) -> bool:
    """``box`` continues the text line ``band``: same vertical position, no overlap."""
    height = min(box["y1"] - box["y0"], *(b["y1"] - b["y0"] for b in band))
    centre = statistics.fmean(b["centre"] for b in band)
    if abs(box["centre"] - centre) > 0.5 * height:
        return False
    return all(box["x0"] >= b["x1"] or box["x1"] <= b["x0"] for b in band)


def _render_band(band: list[dict[str, Any]], columns: int, char_width: float) -> str:
    words = sorted(
        ((word, index) for index, box in enumerate(band) for word in box["words"]),
        key=lambda item: item[0]["x0"],
    )
    text = ""
    previous: tuple[dict[str, Any], int] | None = None
    for word, line in words:
        column = round(word["x0"] * columns)
        if previous is None:
            text = " " * column
        else:
            gap = word["x0"] - previous[0]["x1"]
            if line == previous[1] and gap < FAR_GAP * char_width:
                text += " "
            else:
                text += " " * max(3, column - len(text))
        text += word["text"]
        previous = (word, line)
    return text
