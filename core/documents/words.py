"""The words of a document's pages with their boxes, and where a field's value is printed.

Words are dicts ``{"text", "x0", "y0", "x1", "y1", "line"}`` in page fractions from the
top-left corner (as the OCR's, see ``core.documents.pipeline.stored_ocr_words``). The OCRed
pages come from the words kept at reading; a PDF's text layer is read on demand with
``pdftotext -bbox-layout`` (poppler) and cached in the document's derived folder.

:func:`locate` finds a value among the words the way the search reads what people type
(``core.search.mentions``): an amount ``1250.00`` is found printed ``1 250,00 €``, a date
``2026-10-15`` printed ``15/10/2026`` or ``15 octobre 2026``, a reference with or without its
punctuation, a name whatever its accents and case.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lxml import etree

from core.documents.display import DisplayRow, leaf_rows, to_date, to_decimal
from core.documents.models import Document
from core.search.mentions import (
    _fold,
    amount_token,
    date_tokens,
    normalize_reference,
    text_mentions,
)
from core.state import classeur

TEXT_WORDS_FILE = "text-words.json.gz"
#: Longest run of words a value may be printed in (a company name, an amount "1 250 000,00 €").
MAX_WINDOW = 8
#: Boxes kept per field (an amount printed in a table and in the totals).
MAX_BOXES = 6
PDFTOTEXT_TIMEOUT = 60

Words = dict[int, list[dict[str, Any]]]


def _pdf_words(path: Path) -> Words:
    """The words of a PDF's text layer with their boxes (``pdftotext -bbox-layout``)."""
    try:
        run = subprocess.run(
            ["pdftotext", "-bbox-layout", "-enc", "UTF-8", os.fspath(path), "-"],
            capture_output=True,
            timeout=PDFTOTEXT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if run.returncode != 0 or not run.stdout:
        return {}
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    try:
        root = etree.fromstring(run.stdout, parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    out: Words = {}
    for number, page in enumerate(root.iter("{*}page"), start=1):
        width = float(page.get("width") or 0)
        height = float(page.get("height") or 0)
        if width <= 0 or height <= 0:
            continue
        words = []
        for line_no, line in enumerate(page.iter("{*}line")):
            for word in line.iter("{*}word"):
                text = (word.text or "").strip()
                if not text:
                    continue
                words.append(
                    {
                        "text": text,
                        "x0": round(float(word.get("xMin", 0)) / width, 5),
                        "y0": round(float(word.get("yMin", 0)) / height, 5),
                        "x1": round(float(word.get("xMax", 0)) / width, 5),
                        "y1": round(float(word.get("yMax", 0)) / height, 5),
                        "line": line_no,
                    }
                )
        if words:
            out[number] = words
    return out


def _cached_text_words(document: Document) -> Words:
    folder = classeur().storage.derived_dir(document.sha256)
    target = folder / TEXT_WORDS_FILE
    try:
        payload = json.loads(gzip.decompress(target.read_bytes()))
        return {int(p): w for p, w in payload["pages"].items()}
    except (OSError, ValueError, KeyError, EOFError):
        pass
    words = _pdf_words(classeur().storage.path(document.sha256))
    folder.mkdir(parents=True, exist_ok=True)
    data = {"version": 1, "pages": {str(p): w for p, w in words.items()}}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".text-words-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(gzip.compress(json.dumps(data, ensure_ascii=False).encode(), mtime=0))
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return words


def page_words(document: Document) -> Words:
    """Every word of the document with its box, by page (1-based): the OCR's where a page was
    OCRed, else the PDF's text layer. Needs the application context."""
    from core.documents.pipeline import stored_ocr_words

    words: Words = {}
    if document.media_type == "application/pdf":
        words.update(_cached_text_words(document))
    for page, ocr in (stored_ocr_words(document) or {}).items():
        if ocr:
            words[int(page)] = [
                {
                    "text": w.get("text", ""),
                    "x0": w.get("x0"),
                    "y0": w.get("y0"),
                    "x1": w.get("x1"),
                    "y1": w.get("y1"),
                    "line": f"{w.get('block', 0)}-{w.get('line', 0)}",
                }
                for w in ocr
                if str(w.get("text", "")).strip()
            ]
    return words


def _targets(row: DisplayRow) -> tuple[set[str], str | None]:
    """What a value looks like among the words: mention tokens, and its folded text."""
    raw = row.raw
    tokens: set[str] = set()
    if row.kind == "amount":
        number = to_decimal(raw)
        token = amount_token(number) if number is not None else None
        return ({token} if token else set()), None
    if row.kind == "date":
        day = to_date(raw)
        return ({date_tokens(day)[0]} if day else set()), None
    text = str(raw).strip()
    compact = normalize_reference(text)
    if any(c.isdigit() for c in compact) and len(compact) >= 3:
        tokens.add(f"i:{compact}")
    folded = "".join(c for c in _fold(text) if c.isalnum())
    return tokens, (folded if len(folded) >= 3 else None)


def _lines(words: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    current: list[dict[str, Any]] = []
    key = object()
    for word in words:
        if word.get("line") != key and current:
            yield current
            current = []
        key = word.get("line")
        current.append(word)
    if current:
        yield current


def _box(page: int, run: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "page": page,
        "x0": min(w["x0"] for w in run),
        "y0": min(w["y0"] for w in run),
        "x1": max(w["x1"] for w in run),
        "y1": max(w["y1"] for w in run),
    }


class _Windows:
    """Every run of 1 to ``MAX_WINDOW`` words of one line, with its folded text and (computed
    once, on demand) the mentions it prints."""

    def __init__(self, words: Words) -> None:
        self.lines: list[tuple[int, list[dict[str, Any]]]] = [
            (page, line) for page in sorted(words) for line in _lines(words[page])
        ]
        self._folded: dict[tuple[int, int, int], str] = {}
        self._mentions: dict[tuple[int, int, int], set[str]] = {}

    def folded(self, key: tuple[int, int, int], run: list[dict[str, Any]]) -> str:
        if key not in self._folded:
            text = " ".join(str(w["text"]) for w in run)
            self._folded[key] = "".join(c for c in _fold(text) if c.isalnum())
        return self._folded[key]

    def mentions(self, key: tuple[int, int, int], run: list[dict[str, Any]]) -> set[str]:
        if key not in self._mentions:
            text = " ".join(str(w["text"]) for w in run)
            has_digit = any(c.isdigit() for c in text)
            self._mentions[key] = text_mentions(text) if has_digit else set()
        return self._mentions[key]


def locate(row: DisplayRow, words: Words | _Windows) -> list[dict[str, Any]]:
    """The boxes (``{"page", "x0", "y0", "x1", "y1"}``) where the row's value is printed: the
    shortest runs of words of one line that say it."""
    windows = words if isinstance(words, _Windows) else _Windows(words)
    tokens, folded = _targets(row)
    if not tokens and not folded:
        return []
    boxes: list[dict[str, Any]] = []
    for index, (page, line) in enumerate(windows.lines):
        used: set[int] = set()
        for size in range(1, MAX_WINDOW + 1):
            for start in range(0, len(line) - size + 1):
                span = range(start, start + size)
                if used.intersection(span):
                    continue
                run = line[start : start + size]
                key = (index, start, size)
                hit = folded is not None and windows.folded(key, run) == folded
                if not hit and tokens:
                    hit = bool(tokens & windows.mentions(key, run))
                if hit:
                    used.update(span)
                    boxes.append(_box(page, run))
                    if len(boxes) >= MAX_BOXES:
                        return boxes
    return boxes


def field_boxes(rows: list[DisplayRow], words: Words) -> dict[str, list[dict[str, Any]]]:
    """The boxes of every value of ``rows`` (by dotted key) found among ``words``."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not words:
        return out
    windows = _Windows(words)
    for row in leaf_rows(rows):
        if row.locatable:
            found = locate(row, windows)
            if found:
                out[row.key] = found
    return out


def words_json(document: Document) -> dict[str, Any]:
    """The words of every page and, for each field of the document found among them, its
    boxes: ``{"pages": {"1": [word, ...]}, "fields": {"invoice_number": [box, ...]}}``."""
    from core.binders.models import Binder
    from core.db import db
    from core.documents.display import display_fields

    binder = db.session.get(Binder, document.binder_id)
    binder_type = classeur().binder_types.get(binder.type) if binder else None
    fields = dict(document.fields or {})
    company_id = document.company_id
    # pdftotext may take a moment: no transaction held meanwhile (nor reopened by reading the
    # expired document: its file is named by a snapshot).
    snapshot = SimpleNamespace(sha256=document.sha256, media_type=document.media_type)
    db.session.commit()
    words = page_words(snapshot) if not snapshot.media_type.endswith("xml") else {}  # type: ignore[arg-type]
    rows = display_fields(binder_type, fields, company_id=company_id)
    return {
        "pages": {str(page): page_words_list for page, page_words_list in words.items()},
        "fields": field_boxes(rows, words),
    }
