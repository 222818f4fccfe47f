"""Amounts, dates and identifiers as people type them, on both sides of the search.

A document *mentions* amounts (its total, VAT, lines, a bank statement's lines), dates and
identifiers (SIREN, SIRET, VAT number, IBAN, its reference) however they are printed; a user
types them however they like: ``23 958,12``, ``23958,12``, ``23 958.12``, ``23958.12 €``,
``"23 958,12"``; ``15/10/2026``, ``15 octobre 2026``, ``2026-10-15``, ``octobre 2026``; a SIREN
with or without its spaces; an invoice number with or without its punctuation. Both sides are
reduced to the same small tokens, indexed in one keyword field (``mentions``):

* ``a:2395812`` — an amount in cents (sign dropped: a credit note shows its amount positive);
* ``d:20261015`` — a day; ``m:202610`` — a month (every day also gives its month);
* ``i:FR7630006000011234567890189`` — an identifier, upper case, without spaces or punctuation:
  what has the shape of a SIREN (9 digits, spaced 3-3-3 or not), a SIRET (14), a VAT number or
  an IBAN in the text — not checked by its keys: a mistyped number printed on a document must
  be found as printed, and a stray token costs only a little index —, and the binder type's
  declared identifiers and reference.

:func:`understand` splits a query into these tokens (each a required group of alternatives)
and the remaining words, for the full-text parser: a recognised amount is never searched as the
words ``958`` and ``12``, and a query that holds nothing searchable is said so (no group, no
words), never replaced by something else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

#: Spaces printed inside numbers: space, no-break space, narrow no-break space, thin space.
_SP = " \u00a0\u202f\u2009"
_SPACE = f"[{_SP}]"

#: An amount with cents: thousands grouped by spaces or dots (French) or commas (English),
#: or not grouped; a comma or a dot before the two cents.
_AMOUNT = re.compile(
    rf"""(?<![\w.,])                    # not inside another number or word
    (?P<sign>[-−]\s?)?
    (?P<int>\d{{1,3}}(?:{_SPACE}\d{{3}})+   # 23 958
        |\d{{1,3}}(?:\.\d{{3}})+(?=,)       # 23.958 (then ,12)
        |\d{{1,3}}(?:,\d{{3}})+(?=\.)       # 23,958 (then .12)
        |\d+)
    (?P<sep>[,.])(?P<cents>\d{{2}})
    (?![\d])(?!(?:[.,/-]\d))             # not a date nor a longer number
    """,
    re.VERBOSE,
)
#: An amount without cents, only when it says it is money: "1 200 €", "1200 EUR", "€ 1 200".
_WHOLE_AMOUNT = re.compile(
    rf"(?<![\w.,])(?P<int>\d{{1,3}}(?:{_SPACE}\d{{3}})+|\d+){_SPACE}?(?:€|eur\b|euros?\b)",
    re.IGNORECASE,
)

#: French month names and abbreviations, accents folded (plugins reading dates use them too).
FRENCH_MONTHS: dict[str, int] = {
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_MONTH_NAMES = "|".join(sorted(FRENCH_MONTHS, key=len, reverse=True))
#: 15/10/2026, 15-10-2026, 15.10.2026, 15/10/26.
_DMY = re.compile(r"(?<![\d/.-])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?![\d/.-])")
#: 2026-10-15.
_YMD = re.compile(r"(?<![\d/.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d/.-])")
#: 15 octobre 2026, 1er octobre 2026 (accents folded first).
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\w)(\d{{1,2}})(?:er)?\s+({_MONTH_NAMES})\.?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
#: octobre 2026 (without a day), 10/2026.
_MONTH_YEAR = re.compile(rf"(?<![\w/])({_MONTH_NAMES})\.?\s+(\d{{4}})(?!\d)", re.IGNORECASE)
_NUMERIC_MONTH = re.compile(r"(?<![\d/.-])(\d{1,2})/(\d{4})(?![\d/.-])")
#: 2017-11, 2017/11 (a year then its month).
_YEAR_MONTH = re.compile(r"(?<![\d/.-])(\d{4})[-/](\d{1,2})(?![\d/.-])")

#: Identifier candidates in a text: groups of digits (SIREN 9, SIRET 14) possibly spaced, VAT
#: numbers (two letters then 2 to 13 characters), IBANs (two letters, two digits, groups).
_DIGIT_GROUPS = re.compile(
    rf"(?<![\w,.])\d{{3}}(?:{_SPACE}?\d{{3}}){{2}}(?:{_SPACE}?\d{{5}})?(?![\w,])"
)
_IBAN = re.compile(
    rf"(?<!\w)[A-Z]{{2}}\d{{2}}(?:{_SPACE}?[A-Z0-9]{{4}}){{2,7}}(?:{_SPACE}?[A-Z0-9]{{1,4}})?(?!\w)"
)
_VAT = re.compile(rf"(?<!\w)[A-Z]{{2}}{_SPACE}?[0-9A-Z]{{2}}(?:{_SPACE}?\d{{3}}){{3}}(?!\w)")
#: A VAT number of another country printed in groups: ``DE 232 446 240``, ``BE 0123 456 789``.
_VAT_GROUPS = re.compile(rf"(?<!\w)[A-Z]{{2}}(?:{_SPACE}?\d{{2,4}}){{3,5}}(?![\w,])")
#: A reference-like query word: letters and digits mixed, or digits with punctuation inside.
_REFERENCE_WORD = re.compile(
    r"(?=\S*\d)(?=\S*[A-Za-z/_.-])[A-Za-z0-9][A-Za-z0-9/_.\-#]*[A-Za-z0-9]"
)

#: A reference printed in a text: letters and digits with inner punctuation or mixed
#: (``FA-2026/00123``, ``F2023-026078``, ``2026.03.0123``, ``INV2026``), or a short prefix, a
#: space and digits (``F 000123``).
_REFERENCE_IN_TEXT = (
    re.compile(
        r"(?<![\w./-])(?=[A-Za-z0-9./_-]*\d)(?=[A-Za-z0-9./_-]*[A-Za-z./_-])"
        r"[A-Za-z0-9]+(?:[./_-][A-Za-z0-9]+)*(?![\w]|[./-]\w)"
    ),
    # Searched apart: "SARL 2025.05.2380" holds a prefix with digits and a reference.
    re.compile(r"(?<!\w)[A-Z]{1,4} \d{4,}(?!\w)"),
)
#: References kept from one text at most (a bank statement prints many).
MAX_TEXT_REFERENCES = 300

_QUOTES = "\"'«»“”„‘’"


def _fold(text: str) -> str:
    """Lower case, accents removed (``Décembre`` → ``decembre``), same length as ``text``."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFKD", char)
        kept = "".join(c for c in base if not unicodedata.combining(c))
        out.append((kept or char)[0])
    return "".join(out).lower()


def normalize_reference(value: str) -> str:
    """An identifier or a reference without spaces and punctuation, upper case."""
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def amount_token(value: Decimal | str | float | int | None) -> str | None:
    """``a:<cents>`` of an amount (sign dropped); None when it is not a number."""
    if value is None or value == "":
        return None
    try:
        cents = (abs(Decimal(str(value))) * 100).quantize(Decimal(1))
    except (InvalidOperation, ValueError):
        return None
    return f"a:{int(cents)}"


def date_tokens(day: date | None) -> list[str]:
    """``d:YYYYMMDD`` and ``m:YYYYMM`` of a day."""
    if day is None:
        return []
    return [f"d:{day:%Y%m%d}", f"m:{day:%Y%m}"]


def _day(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass
class _Found:
    tokens: list[str]
    start: int
    end: int


def _amounts(text: str) -> Iterable[_Found]:
    for match in _AMOUNT.finditer(text):
        integer = re.sub(r"\D", "", match.group("int"))
        token = amount_token(f"{integer}.{match.group('cents')}")
        if token:
            yield _Found([token], match.start(), match.end())
    for match in _WHOLE_AMOUNT.finditer(text):
        token = amount_token(re.sub(r"\D", "", match.group("int")))
        if token:
            yield _Found([token], match.start(), match.end())


def _dates(text: str) -> Iterable[_Found]:
    folded = _fold(text)
    for match in _DMY.finditer(folded):
        day = _day(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if day:
            yield _Found(date_tokens(day), match.start(), match.end())
    for match in _YMD.finditer(folded):
        day = _day(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if day:
            yield _Found(date_tokens(day), match.start(), match.end())
    for match in _DAY_MONTH_YEAR.finditer(folded):
        day = _day(int(match.group(3)), FRENCH_MONTHS[match.group(2).lower()], int(match.group(1)))
        if day:
            yield _Found(date_tokens(day), match.start(), match.end())
    for match in _MONTH_YEAR.finditer(folded):
        month = FRENCH_MONTHS[match.group(1).lower()]
        yield _Found([f"m:{int(match.group(2)):04d}{month:02d}"], match.start(), match.end())
    for match in _NUMERIC_MONTH.finditer(folded):
        month, year = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            yield _Found([f"m:{year:04d}{month:02d}"], match.start(), match.end())
    for match in _YEAR_MONTH.finditer(folded):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12 and 1900 <= year <= 2199:
            yield _Found([f"m:{year:04d}{month:02d}"], match.start(), match.end())


def _identifiers(text: str) -> Iterable[_Found]:
    upper = text.upper()
    for pattern in (_IBAN, _VAT, _VAT_GROUPS, _DIGIT_GROUPS):
        for match in pattern.finditer(upper):
            compact = normalize_reference(match.group(0))
            tokens = [f"i:{compact}"]
            if len(compact) == 14 and compact.isdigit():
                tokens.append(f"i:{compact[:9]}")  # a SIRET names its SIREN
            yield _Found(tokens, match.start(), match.end())


def text_mentions(text: str) -> set[str]:
    """Every amount, date, identifier and reference printed in ``text``."""
    if not text:
        return set()
    found: set[str] = set()
    taken: list[tuple[int, int]] = []
    for finder in (_amounts(text), _dates(text), _identifiers(text)):
        for item in finder:
            found.update(item.tokens)
            taken.append((item.start, item.end))
    taken.sort()
    references = 0
    for match in (m for pattern in _REFERENCE_IN_TEXT for m in pattern.finditer(text)):
        if references >= MAX_TEXT_REFERENCES:
            break
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue  # an amount or a date is no reference
        compact = normalize_reference(match.group(0))
        if len(compact) >= 4 and not compact.isalpha():
            found.add(f"i:{compact}")
            references += 1
    return found


def document_mentions(doc: Any) -> list[str]:
    """The ``mentions`` of an indexed document: what its text prints, and its binder type's
    searchable values (amount, date, identifiers, reference) whatever their form."""
    found = text_mentions(getattr(doc, "text", "") or "")
    token = amount_token(getattr(doc, "amount", None))
    if token:
        found.add(token)
    found.update(date_tokens(getattr(doc, "date", None)))
    for value in list(getattr(doc, "party_ids", None) or ()) + [getattr(doc, "reference", None)]:
        compact = normalize_reference(str(value or ""))
        if len(compact) >= 2:
            found.add(f"i:{compact}")
    return sorted(found)


@dataclass
class Understood:
    """A query split in two: ``groups`` of mention tokens (each group is required, any of its
    tokens will do) and the remaining ``words`` for the full-text parser."""

    groups: list[list[str]] = field(default_factory=list)
    words: str = ""

    @property
    def empty(self) -> bool:
        """Nothing to look for (only punctuation, quotes, a currency sign...)."""
        return not self.groups and not re.search(r"[\w*?]", self.words)


def understand(query: str) -> Understood:
    """Find the amounts, dates and identifiers of a typed query; keep the rest as words.

    A reference-like word (``FA-2026/0042``) stays a word for the parser and also matches as
    ``i:FA20260042``; field syntax (``fournisseur:edf``) is left to the parser.
    """
    text = query.strip()
    # Quotes around an amount, a date or an identifier ("23 958,12") only mark it as one
    # thing: drop them there. A quoted phrase, or a field's value (fournisseur:"EDF Pro"),
    # stays the parser's.

    def unquote(match: re.Match[str]) -> str:
        inner = match.group(1)
        if match.start() > 0 and text[match.start() - 1] == ":":
            return match.group(0)
        holds = any(True for finder in (_amounts(inner), _dates(inner)) for _ in finder) or any(
            _looks_like_identifier(item) for item in _identifiers(inner)
        )
        return f" {inner} " if holds else match.group(0)

    text = re.sub(rf"[{_QUOTES}]([^{_QUOTES}]*)[{_QUOTES}]", unquote, text)
    # "n°", "N°", "no", "num." before a number only say that a number follows.
    text = re.sub(
        r"(?<!\w)(?:n\s?[°º]|no\.?|num\.?)(?![^\W\d_])\s*(?=\S*\d)", " ", text, flags=re.I
    )
    spans: list[_Found] = []
    for finder in (_dates(text), _amounts(text), _identifiers(text)):
        for item in finder:
            if any(item.start < s.end and s.start < item.end for s in spans):
                continue  # a date's digits are not also an amount
            if item.start > 0 and text[item.start - 1] == ":":
                continue  # field syntax (tva:FR03552081317) is the parser's
            if item.tokens[0].startswith("i:") and not _looks_like_identifier(item):
                continue
            spans.append(item)
    spans.sort(key=lambda s: s.start)
    # A typed day is that day (not its month), a typed SIRET that establishment (not every
    # establishment of its SIREN): the first token of each span is what was typed.
    groups = [[s.tokens[0]] for s in spans]
    rest, position = [], 0
    for span in spans:
        rest.append(text[position : span.start])
        position = span.end
    rest.append(text[position:])
    words = " ".join("".join(rest).split())
    # Currency signs and codes, and "n°" before a number, say nothing to search for.
    words = re.sub(
        r"(?<!\w)(?:€|\$|£|eur|euros?|usd|gbp|chf|kr|nok|sek|dkk)(?!\w)",
        " ",
        words,
        flags=re.IGNORECASE,
    )
    words = " ".join(words.split())
    return Understood(groups=[g for g in groups if g], words=words)


def _looks_like_identifier(item: _Found) -> bool:
    compact = item.tokens[0][2:]
    return len(compact) >= 9


def reference_alternatives(word: str) -> str | None:
    """``i:`` token of a reference-like query word (``FA-2026/0042`` → ``i:FA20260042``; a
    long number too: ``2026030123`` is ``2026.03.0123`` without its dots)."""
    if not (_REFERENCE_WORD.fullmatch(word) or re.fullmatch(r"\d{6,}", word)):
        return None
    compact = normalize_reference(word)
    return f"i:{compact}" if len(compact) >= 3 else None
