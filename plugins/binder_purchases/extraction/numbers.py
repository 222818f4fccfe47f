"""Lenient parsing of amounts and dates as printed on French, English and German invoices.

``parse_amount`` and ``parse_date`` never raise: any string gives a value or None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from core.plugin_api import FRENCH_MONTHS

_SPACES = "\u00a0\u202f\u2009\u2007 "
_CURRENCY = re.compile(r"(?i)(€|eur(?:os?)?|\$|usd|£|gbp|chf)")
_AMOUNT_FULL = re.compile(r"[0-9][0-9 .,']*")

MONTHS: dict[str, int] = {
    **FRENCH_MONTHS,
    # English
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    # German
    "januar": 1,
    "februar": 2,
    "marz": 3,
    "maerz": 3,
    "juni": 6,
    "juli": 7,
    "oktober": 10,
    "dezember": 12,
    "mai.": 5,
}

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))

#: Date patterns found inside text; each has named groups d, m (number or name) and y.
DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?!\d)"),
    re.compile(
        r"(?<![\d.,])(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>(?:19|20)?\d{2})(?![\d,])"
    ),
    re.compile(
        rf"(?i)(?<![\w])(?P<d>\d{{1,2}})(?:er|st|nd|rd|th)?\.?(?:\s+|-)(?P<m>{_MONTH_ALT})\.?,?"
        r"(?:\s+|-)(?P<y>(?:19|20)\d{2}|\d{2})(?!\d)(?![,.]\d)"
    ),
    re.compile(
        rf"(?i)(?<![\w])(?P<m>{_MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s?,?\s+"
        r"(?P<y>(?:19|20)\d{2})(?!\d)"
    ),
)

#: An amount inside text: digits with optional thousands groups and a 2-decimal part.
AMOUNT_IN_TEXT = re.compile(
    r"(?<![\w.,/])(?P<sign>[-\u2212]\s?)?(?P<num>\d{1,3}(?:(?:[ \u00a0\u202f.,'])\d{3})*"
    r"(?:[.,]\d{2})|\d+(?:[.,]\d{2}))(?![\d%])(?!\s?%)(?![.,]\d)"
)


def _fold(text: str) -> str:
    """Lower-case and strip accents ("Mars", "mars", "März" -> "mars", "marz")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def parse_amount(s: str) -> Decimal | None:
    """Parse a printed amount ("1 234,56 €", "1.234,56", "1,234.56", "-12.50") into a Decimal.

    Returns None for anything that is not a plausible amount; never raises.
    """
    try:
        return _parse_amount(s)
    except Exception:  # noqa: BLE001 - contract: never raise on any input
        return None


def _parse_amount(s: str) -> Decimal | None:
    if not isinstance(s, str) or len(s) > 64:
        return None
    text = _CURRENCY.sub("", s)
    for sp in _SPACES:
        text = text.replace(sp, " ")
    text = text.strip(" \t")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip(_SPACES)
    if text[:1] in ("-", "\u2212"):
        negative, text = True, text[1:].strip(_SPACES)
    elif text[:1] == "+":
        text = text[1:].strip(_SPACES)
    if text.endswith("-"):
        negative, text = True, text[:-1].strip(_SPACES)
    if not text or not _AMOUNT_FULL.fullmatch(text):
        return None
    for sp in _SPACES + "'":
        text = text.replace(sp, "")
    if not text or not text[-1].isdigit():
        return None
    last_comma, last_dot = text.rfind(","), text.rfind(".")
    if last_comma >= 0 and last_dot >= 0:
        dec_sep = "," if last_comma > last_dot else "."
        thousands = "." if dec_sep == "," else ","
        int_part, _, frac = text.rpartition(dec_sep)
        if dec_sep in int_part or not re.fullmatch(rf"\d{{1,3}}(?:\{thousands}\d{{3}})*", int_part):
            return None
        int_part = int_part.replace(thousands, "")
    elif last_comma >= 0 or last_dot >= 0:
        sep = "," if last_comma >= 0 else "."
        parts = text.split(sep)
        if len(parts) > 2:
            if not (re.fullmatch(r"\d{1,3}", parts[0]) and all(len(p) == 3 for p in parts[1:])):
                return None
            int_part, frac = "".join(parts), ""
        elif len(parts[1]) == 3 and 1 <= len(parts[0]) <= 3 and parts[0] != "0":
            # "1.234" / "1,234": a thousands separator (money rarely has 3 decimals).
            int_part, frac = parts[0] + parts[1], ""
        else:
            int_part, frac = parts
    else:
        int_part, frac = text, ""
    if not int_part.isdigit() or (frac and not frac.isdigit()) or len(int_part) > 15:
        return None
    value = Decimal(f"{int_part}.{frac}" if frac else int_part)
    return -value if negative else value


def _make_date(y: str, m: str, d: str) -> date | None:
    year = int(y)
    if year < 100:
        year += 2000 if year < 70 else 1900
    month = int(m) if m.isdigit() else MONTHS.get(_fold(m).rstrip("."))
    if month is None:
        return None
    try:
        return date(year, month, int(d))
    except ValueError:
        return None


def parse_date(s: str) -> date | None:
    """Parse a printed date (12/03/2026, 12.03.2026, 2026-03-12, 12 mars 2026, 1er mars 2026,
    March 12, 2026, 12. März 2026, 20260312) into a date; None when not a date; never raises.
    """
    try:
        if not isinstance(s, str) or len(s) > 64:
            return None
        text = s.strip(_SPACES + "\t")
        if re.fullmatch(r"(19|20)\d{6}", text):
            return _make_date(text[:4], text[4:6], text[6:])
        for found in iter_dates(text):
            start, end, value = found
            if start == 0 and end == len(text):
                return value
        return None
    except Exception:  # noqa: BLE001 - contract: never raise on any input
        return None


def iter_dates(text: str) -> Iterator[tuple[int, int, date]]:
    """Yield (start, end, date) for every valid date printed in ``text``, in text order."""
    folded = _fold(text) if len(_fold(text)) == len(text) else text
    found: list[tuple[int, int, date]] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(folded):
            if any(s <= m.start() < e or s < m.end() <= e for s, e, _ in found):
                continue
            value = _make_date(m.group("y"), m.group("m"), m.group("d"))
            if value is not None:
                found.append((m.start(), m.end(), value))
    yield from sorted(found)


def iter_amounts(text: str) -> Iterator[tuple[int, int, Decimal]]:
    """Yield (start, end, amount) for every amount with two decimals printed in ``text``."""
    for m in AMOUNT_IN_TEXT.finditer(text):
        value = parse_amount(m.group("num"))
        if value is None:
            continue
        if m.group("sign"):
            value = -value
        yield m.start(), m.end(), value
