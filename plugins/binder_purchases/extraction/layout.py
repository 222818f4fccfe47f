"""Words with their positions on the page, grouped into lines: the layout an invoice is read on.

A :class:`Layout` comes from a PDF text layer (``pdftotext -bbox-layout``), from OCR words (the
OCR plugin's word dictionaries) or, for a plain string, from its character columns. Every
source ends in the same shape: words with a box normalised to the page (0..1, origin top-left)
and a confidence (1.0 for a text layer), grouped into visual lines across the whole page width
(the two columns of a header share one line). Each line is also rendered as text whose character
columns follow the words' x positions, so that label/value pairing can work on columns, and
every character of the rendering maps back to its word.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

#: Characters of rendered text for the width of a page (about 9 pt per column on A4).
COLUMNS = 120
#: A horizontal gap wider than this many line heights separates two cells of a line.
CELL_GAP = 1.1


@dataclass
class Word:
    """One word: its text, its box on the page (normalised 0..1) and a confidence (0..1)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    page: int = 1
    conf: float = 1.0
    #: Page height / page width: turns a height into the x unit.
    aspect: float = 842 / 595
    #: The line the OCR put the word on (its words stay on one visual line), if known.
    line_id: Any = None

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1e-4)

    @property
    def x_height(self) -> float:
        """The word's height measured in page widths (to compare with horizontal gaps)."""
        return self.height * self.aspect

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "x0": round(self.x0, 4),
            "y0": round(self.y0, 4),
            "x1": round(self.x1, 4),
            "y1": round(self.y1, 4),
            "page": self.page,
            "conf": round(self.conf, 3),
        }


@dataclass
class Line:
    """Words that share one visual line of a page, left to right, and their rendering."""

    words: list[Word]
    page: int
    text: str = ""
    #: (start, end) character span of each word of ``words`` in ``text``.
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    def words_in(self, start: int, end: int) -> list[Word]:
        """Words whose rendering overlaps the character span ``start:end``."""
        return [
            w for w, (s, e) in zip(self.words, self.spans, strict=True) if s < end and e > start
        ]

    def x_at(self, col: int) -> float:
        """Approximate page x (0..1) of a character column of the rendering."""
        for w, (s, e) in zip(self.words, self.spans, strict=True):
            if s <= col < e:
                return w.x0 + (w.x1 - w.x0) * (col - s) / max(e - s, 1)
        return col / COLUMNS


class Layout:
    """The lines of every page of a document, top to bottom."""

    def __init__(self, words: list[Word], *, source: str = "text") -> None:
        self.source = source
        self.words = [w for w in (_without_leaders(w) for w in words) if w.text.strip()]
        self.lines = _group_lines(self.words)
        for line in self.lines:
            _render(line)
        self.pages = max((w.page for w in self.words), default=0)

    @property
    def text(self) -> str:
        """The rendered text: one text line per visual line, pages separated by a blank line."""
        out: list[str] = []
        page = None
        for line in self.lines:
            if page is not None and line.page != page:
                out.append("")
            page = line.page
            out.append(line.text)
        return "\n".join(out)

    def mean_conf(self, words: list[Word]) -> float:
        return sum(w.conf for w in words) / len(words) if words else 0.0

    # -- sources ---------------------------------------------------------------------------
    @classmethod
    def from_pdf(cls, path: str | Path, *, max_pages: int = 20, timeout: float = 60) -> Layout:
        """The text layer of a PDF's first ``max_pages`` pages (empty layout on failure)."""
        try:
            run = subprocess.run(
                ["pdftotext", "-bbox-layout", "-l", str(max_pages), str(path), "-"],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return cls([], source="text")
        if run.returncode != 0 or not run.stdout:
            return cls([], source="text")
        return cls(parse_bbox_xhtml(run.stdout), source="text")

    @classmethod
    def from_words(cls, pages: dict[int, list[dict[str, Any]]], *, source: str = "ocr") -> Layout:
        """OCR words ``{page: [{"text", "x0", "y0", "x1", "y1", "conf"}, ...]}``."""
        words: list[Word] = []
        for page, items in sorted((int(k), v) for k, v in (pages or {}).items()):
            for item in items or ():
                try:
                    words.append(
                        Word(
                            str(item["text"]),
                            float(item["x0"]),
                            float(item["y0"]),
                            float(item["x1"]),
                            float(item["y1"]),
                            page,
                            max(0.0, min(1.0, float(item.get("conf", 1.0)))),
                            line_id=item.get("line"),
                        )
                    )
                except (KeyError, TypeError, ValueError):
                    continue
        return cls(words, source=source)

    @classmethod
    def from_text(cls, text: str, *, source: str = "text") -> Layout:
        """A plain string (e.g. ``pdftotext -layout`` output): character columns as positions."""
        raw_pages = text.replace("\r", "").split("\f")
        words: list[Word] = []
        for p, page_text in enumerate(raw_pages, start=1):
            lines = page_text.replace("\t", "    ").split("\n")
            width = max(COLUMNS, max((len(x) for x in lines), default=0))
            height = max(len(lines), 60)
            for i, line in enumerate(lines):
                col = 0
                for token in line.split(" "):
                    if token:
                        words.append(
                            Word(
                                token,
                                col / width,
                                i / height,
                                (col + len(token)) / width,
                                (i + 0.8) / height,
                                p,
                                aspect=2 * height / width,
                            )
                        )
                    col += len(token) + 1
        return cls(words, source=source)


_LEADERS = re.compile(r"[.…_·\-–—=*]{3,}")


def _without_leaders(word: Word) -> Word:
    """Dot leaders ("Date ........ 12/03/2026") are not words: drop them, or trim them."""
    if not _LEADERS.search(word.text):
        return word
    text = _LEADERS.sub(" ", word.text).strip()
    if text == word.text.strip():
        return word
    if not text:
        return Word("", word.x0, word.y0, word.x1, word.y1, word.page, word.conf)
    # Keep the box of the part that is left, in proportion to its characters.
    lead = len(word.text) - len(word.text.lstrip(".…_·-–—=* "))
    width = (word.x1 - word.x0) / max(len(word.text), 1)
    x0 = word.x0 + lead * width
    return Word(
        text, x0, word.y0, x0 + len(text) * width, word.y1, word.page, word.conf, word.aspect
    )


def parse_bbox_xhtml(data: bytes) -> list[Word]:
    """Words of ``pdftotext -bbox-layout`` output, normalised to each page's size."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    words: list[Word] = []
    for number, page in enumerate(root.iter("{*}page"), start=1):
        width = float(page.get("width") or 595) or 595.0
        height = float(page.get("height") or 842) or 842.0
        for word in page.iter("{*}word"):
            text = (word.text or "").strip()
            if not text:
                continue
            words.append(
                Word(
                    text,
                    float(word.get("xMin", 0)) / width,
                    float(word.get("yMin", 0)) / height,
                    float(word.get("xMax", 0)) / width,
                    float(word.get("yMax", 0)) / height,
                    number,
                    aspect=height / width,
                )
            )
    return words


def _group_lines(words: list[Word]) -> list[Line]:
    """Visual lines across the page width.

    Words that the OCR put on one line (same ``line_id``) stay together; those segments (or
    single words, for a text layer) are then joined into rows when their vertical extents
    overlap by half the smaller height: the two columns of a header share one row.
    """
    lines: list[Line] = []
    by_page: dict[int, list[Word]] = {}
    for w in words:
        by_page.setdefault(w.page, []).append(w)
    for page in sorted(by_page):
        segments: dict[Any, list[Word]] = {}
        for n, w in enumerate(by_page[page]):
            segments.setdefault(w.line_id if w.line_id is not None else ("w", n), []).append(w)
        boxes = []
        for seg in segments.values():
            heights = sorted(x.height for x in seg)
            centres = sorted((x.y0 + x.y1) / 2 for x in seg)
            h = heights[len(heights) // 2]
            c = centres[len(centres) // 2]
            boxes.append((c - h / 2, c + h / 2, seg))
        rows: list[tuple[float, float, list[Word]]] = []
        for y0, y1, seg in sorted(boxes, key=lambda b: ((b[0] + b[1]) / 2, b[2][0].x0)):
            h = y1 - y0
            for k in range(max(0, len(rows) - 3), len(rows)):
                top, bottom, row = rows[k]
                row_h = bottom - top
                overlap = min(bottom, y1) - max(top, y0)
                if (
                    overlap >= 0.5 * min(row_h, h)
                    and abs((y0 + y1) / 2 - (top + bottom) / 2) < 0.6 * max(row_h, h)
                    and not any(_collides(x, w) for x in row for w in seg)
                ):
                    rows[k] = (min(top, y0), max(bottom, y1), row + seg)
                    break
            else:
                rows.append((y0, y1, list(seg)))
        rows.sort(key=lambda r: r[0])
        for _top, _bottom, row in rows:
            row.sort(key=lambda x: x.x0)
            lines.append(Line(row, page))
    return lines


def _collides(a: Word, b: Word) -> bool:
    """Two words overlapping horizontally cannot be on one line (stacked table headers)."""
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return overlap > 0.5 * min(a.x1 - a.x0, b.x1 - b.x0)


def _render(line: Line) -> None:
    """Place each word at the column of its x position; far-apart words get 3+ spaces."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    cursor = 0
    prev: Word | None = None
    # The line's height (the median word's, ascenders included) sets what a wide gap is: a
    # short word ("ohne", "une") has a box smaller than the text's size.
    heights = sorted(w.x_height for w in line.words)
    line_h = heights[len(heights) * 3 // 4] if heights else 0.0
    for w in line.words:
        col = round(w.x0 * COLUMNS)
        if prev is None:
            start = col
        else:
            gap = w.x0 - prev.x1
            far = gap > CELL_GAP * max(prev.x_height, w.x_height, line_h) * 0.75
            start = max(col, cursor + (3 if far else 1))
            if not far:
                start = cursor + 1
        parts.append(" " * (start - cursor))
        parts.append(w.text)
        spans.append((start, start + len(w.text)))
        cursor = start + len(w.text)
        prev = w
    line.text = "".join(parts)
    line.spans = spans
