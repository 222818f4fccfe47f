"""Supplier templates: where one supplier prints each header field, learned from one invoice.

MEG's "modèle fournisseur": once an accountant has validated a supplier's invoice, the
validated values are looked for in that invoice's layout and, for each one found, the template
keeps its page and box, the label printed just left of it (or above it, as in a header table),
the value's offset from that label and its printed format. The next invoice of the supplier is
then read field by field at the same places: the same label (fuzzy) with the value at the same
offset, else the token of the same format at the same position (about 2 % of the page).

A template is a JSON-able dict::

    {"version": 1, "source": "text", "pages": 1,
     "anchors": [{"text": "moulin", "page": 1, "x0": 0.332, "y0": 0.037}, ...],
     "fields": {"invoice_number": {"kind": "number", "page": 1, "last_page": False,
                                   "box": [x0, y0, x1, y1], "format": "AA-9999-9999",
                                   "words": 1, "prefix": "",
                                   "label": {"text": "facture", "where": "left", "words": 1,
                                             "box": [...]} | None,
                                   "offset": [dx, dy] | None, "negate": False}, ...}}

``kind`` is number, date, amount, vat_number, siren, siret or iban; ``format`` the printed
shape of a number ("AA-9999-9999"), else the kind; ``offset`` is measured from the label's
right end (label on the left) or left end (label above) to the value's left end, and between
their vertical centres; ``last_page`` sends totals learned on the last page of a longer invoice
to the last page of the next one; ``negate`` reads a value printed with the other sign.

The anchors (stable words of the top of page 1) tell whether the next document has the same
layout; their median displacement is the page's shift (a scan placed a little off). A template
reading is kept only when the anchors match, at least half of the template's fields were
read, and it adds up (HT + TVA = TTC within a cent, with the generic totals for those not
templated; VAT below HT; an amount due of the invoice's sign; a due date not before the
invoice date). Otherwise the generic reading is returned unchanged, marked
``reading.template = "rejected"``.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from .fields import CENT, KNOWN_RATES, fmt_amount, to_decimal
from .identifiers import (
    compact,
    iter_ibans,
    iter_sirens,
    iter_sirets,
    iter_vat_numbers,
    vat_country,
)
from .layout import Layout, Line, Word
from .numbers import AMOUNT_IN_TEXT, iter_amounts, iter_dates, parse_date

log = logging.getLogger("classeur.plugins.binder_purchases.templates")

VERSION = 1

#: Header fields a template reads, in the order they are located (the ``supplier.`` ones are
#: keys of the nested ``supplier`` dictionary).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "amount_due",
    "supplier.vat_number",
    "supplier.siren",
    "supplier.siret",
    "supplier.iban",
)
TOTALS = ("total_excl_tax", "total_tax", "total_incl_tax")

#: What kind of value each field holds.
KINDS: dict[str, str] = {
    "invoice_number": "number",
    "invoice_date": "date",
    "due_date": "date",
    "total_excl_tax": "amount",
    "total_tax": "amount",
    "total_incl_tax": "amount",
    "amount_due": "amount",
    "supplier.vat_number": "vat_number",
    "supplier.siren": "siren",
    "supplier.siret": "siret",
    "supplier.iban": "iban",
}

#: A template located on fewer fields than this is not kept.
MIN_FIELDS = 3
#: Confidence of a field read through the template.
TEMPLATE_CONFIDENCE = 0.99
#: Position tolerance (fraction of the page) of a value read at the template's place.
POSITION_TOLERANCE = 0.02
#: Minimum rapidfuzz ratio between a template label and the words of the new layout.
LABEL_MIN_RATIO = 85
#: Anchors: how many, how far a matching word may stand, how many must agree.
MAX_ANCHORS = 12
ANCHOR_WINDOW = 0.1
ANCHOR_TOLERANCE = 0.02
ANCHOR_MIN_SHARE = 0.6
#: A label word is at most this far left of its value (fraction of the page width).
LABEL_MAX_GAP = 0.5

#: Words that tell which field a printed value is (folded, lower case).
_KEYWORDS: dict[str, tuple[str, str | None]] = {
    "invoice_number": (r"factur|invoice|avoir|credit|n°|\bno\b|num|\bref|piece|rechnung", None),
    "invoice_date": (
        r"date|emis|\bdu\b|\ble\b|datum|\bvom\b|\bof\b",
        r"echeanc|due|livraison|commande|limite|liefer|leistung|deliver|order|bestell|period|"
        r"faellig|fallig|paiement|payment|zahl",
    ),
    "due_date": (r"echeanc|due|payable|limite|avant|reglement|faellig|fallig", None),
    "total_excl_tax": (
        r"\bht\b|hors tax|net total|sous.total|subtotal|excl|netto|zwischen",
        r"ttc|brutto|gesamt",
    ),
    "total_tax": (r"tva|tax|vat|mwst|ust", r"\bht\b|ttc|hors"),
    "total_incl_tax": (
        r"ttc|total|incl|brutto|gesamt|montant",
        r"\bht\b|hors|tva\b(?! ?incl)|reste|solde|\bdu\b|due|virer|acompte",
    ),
    "amount_due": (r"payer|\bdu\b|due|solde|reste|balance|residual|regler|net a", None),
    "supplier.vat_number": (r"tva|vat|intra|ust", r"client|customer|acheteur"),
    "supplier.siren": (r"siren|rcs", r"client|customer"),
    "supplier.siret": (r"siret", r"client|customer"),
    "supplier.iban": (r"iban", None),
}

_CURRENCY_WORD = re.compile(r"(?i)^(?:€|eur|euros?|\$|usd|£|gbp|chf|:|-|–|—|\.+)$")
_DATE_WORD = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")
_PUNCT_EDGES = ":;,()[]{}\"'«»"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def norm_label(text: str) -> str:
    """A label as compared: accents folded, lower case, punctuation (but ``°`` and ``%``)
    dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^\w°%/ ]+", " ", _fold(text)).split())


def shape(text: str) -> str:
    """The printed format of a value: letters as ``A``, digits as ``9``, the rest kept."""
    return re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "A", text))


def loose_shape(text: str) -> str:
    """The format with runs collapsed ("FA-2017-0010" and "FA-17-100" agree)."""
    return re.sub(r"9+", "9", re.sub(r"A+", "A", shape(text)))


# --- tokens: the values printed on a layout ------------------------------------------------


@dataclass
class _Token:
    """One printed value: its normalised value, its printed text and its box."""

    value: Any
    text: str
    line: int
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    words: tuple[int, ...] = ()

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1e-4)

    def box(self) -> list[float]:
        return [round(v, 4) for v in (self.x0, self.y0, self.x1, self.y1)]


def _token(value: Any, text: str, index: int, line: Line, words: list[Word]) -> _Token | None:
    if not words:
        return None
    ids = tuple(i for i, w in enumerate(line.words) if any(w is x for x in words))
    return _Token(
        value,
        text,
        index,
        line.page,
        min(w.x0 for w in words),
        min(w.y0 for w in words),
        max(w.x1 for w in words),
        max(w.y1 for w in words),
        ids,
    )


def _compact_span(text: str, start: int, length: int) -> int:
    """End of the span from ``start`` that holds ``length`` characters once compacted."""
    count, pos = 0, start
    while pos < len(text) and count < length:
        if text[pos] not in " .-":
            count += 1
        pos += 1
    return pos


_ID_ITERS: dict[str, Callable[[str], Iterator[tuple[int, str]]]] = {
    "vat_number": iter_vat_numbers,
    "siren": iter_sirens,
    "siret": iter_sirets,
    "iban": iter_ibans,
}


def _tokens(layout: Layout, kind: str, *, words: int = 1, prefix: str = "") -> list[_Token]:
    """Every printed value of a kind: amounts and dates as read in each line's text, valid
    identifiers, and for ``number`` each run of ``words`` words (prefix and edges stripped)."""
    out: list[_Token] = []
    for index, line in enumerate(layout.lines):
        text = line.text
        if kind == "amount":
            for start, end, value in iter_amounts(text):
                tok = _token(value, text[start:end], index, line, line.words_in(start, end))
                if tok:
                    out.append(tok)
        elif kind == "date":
            for start, end, value in iter_dates(text):
                tok = _token(value, text[start:end], index, line, line.words_in(start, end))
                if tok:
                    out.append(tok)
        elif kind in _ID_ITERS:
            for start, value in _ID_ITERS[kind](text):
                end = _compact_span(text, start, len(value))
                tok = _token(value, text[start:end], index, line, line.words_in(start, end))
                if tok:
                    out.append(tok)
        elif kind == "number":
            n = max(1, words)
            for i in range(len(line.words) - n + 1):
                run = line.words[i : i + n]
                printed = " ".join(w.text for w in run).strip(_PUNCT_EDGES)
                if prefix and printed.lower().startswith(prefix.lower()):
                    printed = printed[len(prefix) :].strip(_PUNCT_EDGES)
                if printed:
                    tok = _token(printed, printed, index, line, run)
                    if tok:
                        out.append(tok)
    return out


# --- labels ----------------------------------------------------------------------------------


def _is_value_word(text: str) -> bool:
    """A word that is itself a value (amount, date, identifier), not part of a label."""
    t = text.strip(_PUNCT_EDGES + "€$£")
    if not t:
        return False
    return bool(
        AMOUNT_IN_TEXT.fullmatch(t)
        or _DATE_WORD.fullmatch(t)
        or sum(c.isdigit() for c in t) >= 5
        or re.fullmatch(r"[-\u2212]?\d+[.,]\d+", t)
    )


def _left_label(line: Line, first: int) -> list[Word]:
    """The words just left of word ``first`` that stand together as its label."""
    label: list[Word] = []
    edge = line.words[first].x0
    for j in range(first - 1, -1, -1):
        w = line.words[j]
        if _is_value_word(w.text):
            break
        gap = edge - w.x1
        limit = LABEL_MAX_GAP if not label else 2.5 * w.x_height
        if gap > limit:
            break
        edge = w.x0
        if _CURRENCY_WORD.match(w.text.strip()):
            continue
        label.insert(0, w)
        if len(label) >= 4:
            break
    return label


def _above_label(layout: Layout, tok: _Token) -> list[Word]:
    """The words of the nearest line above that stand over the value (a column header)."""
    for j in range(tok.line - 1, max(tok.line - 4, -1), -1):
        line = layout.lines[j]
        if line.page != tok.page or tok.y0 - line.y1 > 4 * tok.height:
            break
        over = [
            w
            for w in line.words
            if min(w.x1, tok.x1 + 0.02) - max(w.x0, tok.x0 - 0.02) > 0
            and not _is_value_word(w.text)
            and not _CURRENCY_WORD.match(w.text.strip())
        ]
        if over:
            return over[:4]
        if any(min(w.x1, tok.x1) - max(w.x0, tok.x0) > 0 for w in line.words):
            break  # a value stands above: no header for this one
    return []


def _label_of(layout: Layout, tok: _Token, where: str | None = None) -> dict[str, Any] | None:
    """The label of a printed value: the words left of it, else (or when ``where`` is
    "above") the column header over it."""
    line = layout.lines[tok.line]
    words = _left_label(line, tok.words[0]) if tok.words and where != "above" else []
    if where is None:
        where = "left" if norm_label(" ".join(w.text for w in words)) else "above"
    if where == "above":
        words = _above_label(layout, tok)
    text = norm_label(" ".join(w.text for w in words))
    if not text or not any(c.isalpha() for c in text):
        return None
    return {
        "text": text[:200],
        "where": where,
        "words": len(words),
        "box": [
            round(min(w.x0 for w in words), 4),
            round(min(w.y0 for w in words), 4),
            round(max(w.x1 for w in words), 4),
            round(max(w.y1 for w in words), 4),
        ],
    }


def _offset(label: dict[str, Any] | None, tok: _Token) -> list[float] | None:
    """The value's offset from its label: from the label's right end for a label on the left,
    from its left end for a label above; vertically between centres."""
    if label is None:
        return None
    x0, y0, x1, y1 = label["box"]
    dx = tok.x0 - (x1 if label["where"] == "left" else x0)
    return [round(dx, 4), round(tok.cy - (y0 + y1) / 2, 4)]


# --- learning --------------------------------------------------------------------------------


def _target(field: str, fields: dict[str, Any]) -> Any:
    """The validated value of a field, normalised as the tokens are (None when absent)."""
    if field.startswith("supplier."):
        raw = (fields.get("supplier") or {}).get(field.split(".", 1)[1])
    else:
        raw = fields.get(field)
    if raw is None or raw == "":
        return None
    kind = KINDS[field]
    if kind == "amount":
        return to_decimal(raw)
    if kind == "date":
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            return parse_date(str(raw))
    if kind == "number":
        text = str(raw).strip()
        return text if 0 < len(text) <= 60 else None
    return compact(str(raw)) or None


def _score(field: str, label: dict[str, Any] | None) -> int:
    if label is None:
        return 0
    good, bad = _KEYWORDS[field]
    score = 1
    if re.search(good, label["text"]):
        score += 2
    if bad and re.search(bad, label["text"]):
        score -= 3
    return score


def _number_tokens(layout: Layout, number: str) -> list[tuple[_Token, str]]:
    """Where an invoice number is printed, as a token (with the text printed before it in its
    first word, e.g. ``N°``)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(number)}(?![A-Za-z0-9])", re.I)
    out = []
    for index, line in enumerate(layout.lines):
        for m in pattern.finditer(line.text):
            words = line.words_in(m.start(), m.end())
            tok = _token(number, m.group(0), index, line, words)
            if tok is None:
                continue
            first = next(i for i, w in enumerate(line.words) if w is words[0])
            prefix = line.text[line.spans[first][0] : m.start()]
            out.append((tok, prefix.strip(_PUNCT_EDGES) if prefix.strip() else ""))
    return out


def _locate(
    layout: Layout, field: str, target: Any, taken: set[tuple[int, tuple[int, ...]]]
) -> dict[str, Any] | None:
    kind = KINDS[field]
    found: list[tuple[_Token, str, bool]] = []  # token, prefix, negated
    if kind == "number":
        found = [(tok, prefix, False) for tok, prefix in _number_tokens(layout, target)]
    else:
        for tok in _tokens(layout, kind):
            if tok.value == target:
                found.append((tok, "", False))
            elif kind == "amount" and target and tok.value == -target:
                found.append((tok, "", True))
    if not found:
        return None
    totals_like = kind == "amount"

    def rank(item: tuple[_Token, str, bool]) -> tuple[int, int, int, float]:
        tok, _prefix, negated = item
        label = _label_of(layout, tok)
        free = 0 if (tok.line, tok.words) in taken else 1
        # Totals stand at the bottom of the page, header fields at the top.
        where = tok.page * 10 + tok.cy if totals_like else -(tok.page * 10 + tok.cy)
        return (_score(field, label), free, 0 if negated else 1, where)

    tok, prefix, negated = max(found, key=rank)
    label = _label_of(layout, tok)
    score = _score(field, label)
    # A label that names another field, or a value already given to another field without a
    # label naming this one: an equality of this invoice (the amount due is the total, the
    # due date the invoice date), not where the supplier prints this field.
    if score < 0 or ((tok.line, tok.words) in taken and score < 3):
        return None
    taken.add((tok.line, tok.words))
    entry: dict[str, Any] = {
        "kind": kind,
        "page": tok.page,
        # Totals on the last page of a longer invoice: looked for on the last page.
        "last_page": layout.pages > 1 and tok.page == layout.pages,
        "box": tok.box(),
        "format": shape(tok.text) if kind == "number" else kind,
        "label": label,
        "offset": _offset(label, tok),
        "negate": negated,
    }
    if kind == "number":
        entry["words"] = len(tok.words)
        entry["prefix"] = prefix[:20]
    return entry


def _anchors(layout: Layout, skip: set[tuple[int, int]]) -> list[dict[str, Any]]:
    """Stable words of the top of page 1: alphabetic, 3 letters or more, not a value."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, line in enumerate(layout.lines):
        if line.page != 1 or len(out) >= MAX_ANCHORS:
            break
        for k, w in enumerate(line.words):
            text = norm_label(w.text)
            if (
                (index, k) in skip
                or not re.fullmatch(r"[^\W\d_]{3,}", text.replace(" ", ""))
                or text in seen
            ):
                continue
            seen.add(text)
            out.append({"text": text, "page": 1, "x0": round(w.x0, 4), "y0": round(w.y0, 4)})
            if len(out) >= MAX_ANCHORS:
                break
    return out


def learn_template(source: Layout | str | Path, fields: dict[str, Any]) -> dict[str, Any] | None:
    """Learn where a supplier prints each header field from one invoice and its validated
    ``fields``. ``source`` is the invoice's layout, or its file (read with ``read_layout``).

    Returns the template (a JSON-able dict), or None when fewer than ``MIN_FIELDS`` of the
    fields were found in the layout (or the layout cannot be read). Never raises.
    """
    try:
        if isinstance(source, Layout):
            layout = source
        else:
            from .files import read_layout

            layout = read_layout(Path(source))
        if not isinstance(fields, dict) or not layout.lines:
            return None
        taken: set[tuple[int, tuple[int, ...]]] = set()
        learned: dict[str, Any] = {}
        for field in TEMPLATE_FIELDS:
            target = _target(field, fields)
            if target is None:
                continue
            entry = _locate(layout, field, target, taken)
            if entry is not None:
                learned[field] = entry
        if len(learned) < MIN_FIELDS:
            return None
        skip = {(line, w) for line, words in taken for w in words}
        return {
            "version": VERSION,
            "source": layout.source,
            "pages": layout.pages,
            "anchors": _anchors(layout, skip),
            "fields": learned,
        }
    except Exception:  # noqa: BLE001 - learning is a bonus: never break a validation
        log.exception("supplier template not learned")
        return None


# --- checking a template dict ----------------------------------------------------------------


def _box(value: Any) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return None
        if not -1 <= v <= 2:
            return None
        out.append(float(v))
    return out


def _clean_template(template: Any) -> dict[str, Any] | None:
    """The template when its structure is sound, else None (a broken template is ignored)."""
    if not isinstance(template, dict) or template.get("version") != VERSION:
        return None
    raw_fields = template.get("fields")
    anchors = template.get("anchors")
    if not isinstance(raw_fields, dict) or not raw_fields or not isinstance(anchors, list):
        return None
    clean_fields: dict[str, Any] = {}
    for field, entry in raw_fields.items():
        if field not in KINDS or not isinstance(entry, dict) or entry.get("kind") != KINDS[field]:
            return None
        box = _box(entry.get("box"))
        page = entry.get("page")
        if (
            box is None
            or isinstance(page, bool)
            or not isinstance(page, int)
            or not 1 <= page <= 10_000
        ):
            return None
        label = entry.get("label")
        offset = entry.get("offset")
        if label is not None:
            if (
                not isinstance(label, dict)
                or not isinstance(label.get("text"), str)
                or not 0 < len(label["text"]) <= 200
                or label.get("where") not in ("left", "above")
                or _box(label.get("box")) is None
            ):
                return None
            offset = [*offset] if isinstance(offset, list | tuple) else None
            if offset is None or len(offset) != 2 or _box([*offset, 0, 0]) is None:
                return None
        fmt = entry.get("format")
        words = entry.get("words", 1)
        prefix = entry.get("prefix", "")
        if (
            not isinstance(fmt, str)
            or len(fmt) > 80
            or isinstance(words, bool)
            or not isinstance(words, int)
            or not 1 <= words <= 6
            or not isinstance(prefix, str)
            or len(prefix) > 20
        ):
            return None
        clean_fields[field] = {
            "kind": entry["kind"],
            "page": page,
            "box": box,
            "format": fmt,
            "label": None
            if label is None
            else {
                "text": label["text"],
                "where": label["where"],
                "box": _box(label["box"]),
                "words": label.get("words")
                if isinstance(label.get("words"), int) and 1 <= label["words"] <= 6
                else max(1, len(label["text"].split())),
            },
            "offset": [float(v) for v in offset] if label is not None else None,
            "negate": entry.get("negate") is True,
            "last_page": entry.get("last_page") is True,
            "words": words,
            "prefix": prefix,
        }
    clean_anchors = []
    for anchor in anchors[:64]:
        if (
            not isinstance(anchor, dict)
            or not isinstance(anchor.get("text"), str)
            or not 0 < len(anchor["text"]) <= 100
            or _box([anchor.get("x0"), anchor.get("y0"), 0, 0]) is None
        ):
            return None
        clean_anchors.append(
            {
                "text": anchor["text"],
                "page": anchor.get("page") if isinstance(anchor.get("page"), int) else 1,
                "x0": float(anchor["x0"]),
                "y0": float(anchor["y0"]),
            }
        )
    return {"fields": clean_fields, "anchors": clean_anchors}


# --- applying --------------------------------------------------------------------------------


def _match_anchors(layout: Layout, anchors: list[dict[str, Any]]) -> tuple[float, float] | None:
    """The page shift (dx, dy) when the layout's top words agree with the anchors, else None."""
    if not anchors:
        return None
    by_page: dict[int, list[tuple[str, Word]]] = {}
    for w in layout.words:
        by_page.setdefault(w.page, []).append((norm_label(w.text), w))
    moves: list[tuple[float, float]] = []
    for anchor in anchors:
        best: tuple[float, float, float] | None = None
        for text, w in by_page.get(anchor["page"], ()):
            dx, dy = w.x0 - anchor["x0"], w.y0 - anchor["y0"]
            if abs(dx) > ANCHOR_WINDOW or abs(dy) > ANCHOR_WINDOW:
                continue
            if text != anchor["text"] and (
                len(anchor["text"]) < 5 or fuzz.ratio(text, anchor["text"]) < LABEL_MIN_RATIO
            ):
                continue
            dist = abs(dx) + abs(dy)
            if best is None or dist < best[0]:
                best = (dist, dx, dy)
        if best is not None:
            moves.append((best[1], best[2]))
    if not moves:
        return None
    shift_x = statistics.median(m[0] for m in moves)
    shift_y = statistics.median(m[1] for m in moves)
    agree = sum(
        1
        for dx, dy in moves
        if abs(dx - shift_x) <= ANCHOR_TOLERANCE and abs(dy - shift_y) <= ANCHOR_TOLERANCE
    )
    if agree < ANCHOR_MIN_SHARE * len(anchors):
        return None
    return shift_x, shift_y


def _same_format(entry: dict[str, Any], tok: _Token) -> bool:
    if entry["kind"] != "number":
        return True
    fmt = entry["format"]
    text = str(tok.value)
    return loose_shape(text) == loose_shape(fmt) and abs(len(text) - len(fmt)) <= 3


def _by_label(
    entry: dict[str, Any],
    tokens: list[_Token],
    shift: tuple[float, float],
    label_of: Callable[[_Token, str], dict[str, Any] | None],
) -> _Token | None:
    """The value whose own label (left of it, or above it) is the template's label, at the
    template's offset from it; the nearest to the template's place when several are."""
    label, (dx, dy) = entry["label"], entry["offset"]
    x0, y0, _x1, y1 = entry["box"]
    best: tuple[float, _Token] | None = None
    for tok in tokens:
        found = label_of(tok, label["where"])
        if found is None or fuzz.ratio(found["text"], label["text"]) < LABEL_MIN_RATIO:
            continue
        new_dx, new_dy = _offset(found, tok) or (0.0, 0.0)
        if abs(new_dy - dy) > max(0.6 * tok.height, 0.006):
            continue
        # A value next to its label stays next to it; a value in a column stays in it.
        if abs(new_dx - dx) > 0.15 and not (label["where"] == "left" and new_dx < 0.05):
            continue
        dist = abs(tok.x0 - x0 - shift[0]) + abs(tok.cy - (y0 + y1) / 2 - shift[1])
        if best is None or dist < best[0]:
            best = (dist, tok)
    return best[1] if best else None


def _by_position(
    entry: dict[str, Any],
    tokens: list[_Token],
    shift: tuple[float, float],
    own_label: Callable[[_Token], str],
    other_labels: list[str],
) -> _Token | None:
    x0, y0, x1, y1 = entry["box"]
    x0, x1 = x0 + shift[0], x1 + shift[0]
    cy = (y0 + y1) / 2 + shift[1]
    best: tuple[float, _Token] | None = None
    for tok in tokens:
        dy = abs(tok.cy - cy)
        if dy > POSITION_TOLERANCE:
            continue
        dx = min(abs(tok.x0 - x0), abs(tok.x1 - x1), abs((tok.x0 + tok.x1 - x0 - x1) / 2))
        overlap = min(tok.x1, x1) - max(tok.x0, x0)
        if dx > POSITION_TOLERANCE and overlap < 0.5 * min(tok.x1 - tok.x0, x1 - x0):
            continue
        # The value another field's label stands beside is that field's, not this one's; an
        # amount labelled otherwise than the template's is another row of a moved block.
        text = own_label(tok)
        mine = entry["label"]["text"] if entry["label"] else ""
        if text and (not mine or fuzz.ratio(text, mine) < LABEL_MIN_RATIO):
            if any(fuzz.ratio(text, other) >= LABEL_MIN_RATIO for other in other_labels):
                continue
            if entry["kind"] == "amount" and mine:
                continue
        dist = dx + dy
        if best is None or dist < best[0]:
            best = (dist, tok)
    return best[1] if best else None


def _read(template: dict[str, Any], layout: Layout, shift: tuple[float, float]) -> dict[str, Any]:
    """The values the template reads on the layout: ``{field: value}`` (formatted)."""
    tokens_by_kind: dict[tuple[str, int, str], list[_Token]] = {}
    labels = {f: e["label"]["text"] for f, e in template["fields"].items() if e["label"]}
    read: dict[str, Any] = {}

    cache: dict[tuple[int, tuple[int, ...], str | None], dict[str, Any] | None] = {}

    def label_of(tok: _Token, where: str | None = None) -> dict[str, Any] | None:
        key = (tok.line, tok.words, where)
        if key not in cache:
            cache[key] = _label_of(layout, tok, where)
        return cache[key]

    def own_label(tok: _Token) -> str:
        found = label_of(tok)
        return found["text"] if found else ""

    for field, entry in template["fields"].items():
        page = layout.pages if entry["last_page"] else entry["page"]
        if page > layout.pages or page < 1:
            continue
        key = (entry["kind"], entry["words"], entry["prefix"])
        if key not in tokens_by_kind:
            tokens_by_kind[key] = _tokens(
                layout, entry["kind"], words=entry["words"], prefix=entry["prefix"]
            )
        tokens = [t for t in tokens_by_kind[key] if t.page == page and _same_format(entry, t)]
        tok = None
        if entry["label"] is not None:
            tok = _by_label(entry, tokens, shift, label_of)
        if tok is None:
            others = [text for f, text in labels.items() if f != field]
            tok = _by_position(entry, tokens, shift, own_label, others)
        if tok is None:
            continue
        value = tok.value
        if entry["kind"] == "amount":
            value = fmt_amount(-value if entry["negate"] else value)
        elif entry["kind"] == "date":
            value = value.isoformat()
        elif entry["kind"] == "number":
            value = str(value)[:100]
        read[field] = value
    return read


def _adds_up(read: dict[str, Any], generic: dict[str, Any]) -> bool:
    """HT + TVA = TTC (within a cent) with the template's totals, completed by the generic
    reading's when the template did not read them all; a due date not before the invoice's."""
    totals = {k: to_decimal(read.get(k, generic.get(k))) for k in TOTALS}
    if any(k in read for k in TOTALS) and all(v is not None for v in totals.values()):
        ht, tva, ttc = (totals[k] for k in TOTALS)
        assert ht is not None and tva is not None and ttc is not None
        if abs(ht + tva - ttc) > CENT:
            return False
        # VAT is less than the amount it is charged on (swapped totals add up when VAT is 0).
        if abs(tva) > abs(ht) or (ht == 0 and ttc != 0):
            return False
    ttc = totals["total_incl_tax"]
    due = to_decimal(read.get("amount_due"))
    if due is not None and ttc is not None and ttc * due < 0:
        return False  # an amount due of the other sign than the invoice
    issued = read.get("invoice_date", generic.get("invoice_date"))
    due_date = read.get("due_date", generic.get("due_date"))
    return not (
        ("invoice_date" in read or "due_date" in read)
        and issued
        and due_date
        and str(due_date) < str(issued)
    )


def _fix_vat_lines(fields: dict[str, Any]) -> None:
    """After the template changed the totals, a single VAT line follows them."""
    ht, tva = to_decimal(fields.get("total_excl_tax")), to_decimal(fields.get("total_tax"))
    lines = fields.get("vat_lines") or []
    if ht is None or tva is None or len(lines) > 1:
        return
    if lines:
        base = sum((to_decimal(x.get("base")) or Decimal(0)) for x in lines)
        amount = sum((to_decimal(x.get("amount")) or Decimal(0)) for x in lines)
        if abs(base - ht) <= CENT and abs(amount - tva) <= CENT:
            return
    if ht == 0:
        return
    rate = next((r for r in KNOWN_RATES if abs(ht * r / 100 - tva) <= CENT), None)
    if rate is None:
        if lines:
            fields["vat_lines"] = []
        return
    fields["vat_lines"] = [
        {"rate": fmt_amount(rate), "base": fmt_amount(ht), "amount": fmt_amount(tva)}
    ]


def apply_template(template: Any, layout: Layout, fields: dict[str, Any]) -> dict[str, Any]:
    """Re-read a new invoice's header fields with its supplier's template.

    ``fields`` is the generic reading of ``layout``. The fields the template reads replace the
    generic ones (confidence 0.99) and ``reading`` becomes ``{"method": "template",
    "template_fields": "invoice_number,total_incl_tax,..."}`` (a comma-separated string: the
    stored ``reading`` holds scalars only) — when the layout's anchors match the template's
    and the amounts add up. Otherwise the generic fields come back with
    ``reading.template = "rejected"``. A broken template is ignored (fields unchanged).
    Never raises.
    """
    if not isinstance(fields, dict):
        return fields
    try:
        clean = _clean_template(template)
    except Exception:  # noqa: BLE001 - a corrupt template is ignored, whatever it holds
        clean = None
    if clean is None or not isinstance(layout, Layout):
        return fields
    try:
        return _apply(clean, layout, fields)
    except Exception:  # noqa: BLE001 - contract: the generic reading always comes back
        log.exception("supplier template could not be applied")
        return _rejected(fields)


def _rejected(fields: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(fields)
    reading = out.get("reading") if isinstance(out.get("reading"), dict) else {}
    out["reading"] = {"method": out.get("source") or "layout", **reading, "template": "rejected"}
    return out


def _apply(template: dict[str, Any], layout: Layout, fields: dict[str, Any]) -> dict[str, Any]:
    shift = _match_anchors(layout, template["anchors"])
    if shift is None:
        return _rejected(fields)
    read = _read(template, layout, shift)
    needed = max(1, math.ceil(len(template["fields"]) / 2))
    if len(read) < needed or not _adds_up(read, fields):
        return _rejected(fields)
    out = copy.deepcopy(fields)
    supplier = dict(out.get("supplier") or {})
    confidence = dict(out.get("confidence") or {})
    for field, value in read.items():
        if field.startswith("supplier."):
            key = field.split(".", 1)[1]
            supplier[key] = value
            if key == "vat_number":
                supplier["country"] = vat_country(value) or supplier.get("country")
            if key == "siret" and not supplier.get("siren"):
                supplier["siren"] = value[:9]
        else:
            out[field] = value
        confidence[field] = TEMPLATE_CONFIDENCE
    out["supplier"] = supplier
    out["confidence"] = confidence
    if any(k in read for k in TOTALS):
        _fix_vat_lines(out)
    out["reading"] = {
        "method": "template",
        "template_fields": ",".join(f for f in TEMPLATE_FIELDS if f in read),
    }
    return out
