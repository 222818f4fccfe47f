"""Payment terms ("30 jours fin de mois", "net 30", "à réception") and the due date they give.

French readings, as accountants apply them (and as the LME's limits are usually computed):

- "à réception", "paiement comptant", "upon receipt", "sofort": the invoice date;
- "30 jours", "à 30 jours", "30 jours date de facture", "net 30", "30 Tage netto": the invoice
  date + 30 days;
- "45 jours fin de mois": the invoice date + 45 days, then the end of that month;
- "30 jours fin de mois le 10": the end of the month of the invoice date + 30 days, then the
  10th of the following month ("fin de mois le 10" and "le 10 du mois suivant" without days);
- "fin de mois" alone: the end of the invoice's month;
- "fin de mois + 45 jours" (the other reading, said so): the end of the invoice's month, then
  + 45 days.

A clause about a discount for early payment, late-payment penalties, delivery, validity of an
offer or a warranty never gives terms ("Escompte pour paiement à 8 jours : 2 %"), nor do
working days ("30 jours ouvrés"). :func:`due_date_from_terms` reads a text given as payment
terms (an e-invoice's BT-20); with ``strict`` (a whole invoice's text) a clause counts only
when it, or the line above it, speaks of payment ("Conditions de paiement", "Échéance",
"payable", "règlement"...) or its form can only be payment terms ("30 jours fin de mois").
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .numbers import iter_dates

#: Longer terms than this are not believed (the LME allows 60 days, or 45 days end of month).
MAX_DAYS = 120


def end_of_month(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), on the same day of the month or the last
    day of a shorter month (31 March - 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Terms:
    """Payment terms read from a text.

    ``days`` after the invoice date; ``end_of_month``: then the end of that month;
    ``day_of_month``: then that day of the following month ("le 10"); ``month_end_first``:
    the end of the invoice's month first, then ``days``; ``immediate`` ("à réception",
    "comptant"): the invoice date.
    """

    days: int = 0
    end_of_month: bool = False
    day_of_month: int | None = None
    month_end_first: bool = False
    immediate: str | None = None
    #: "le 10 du mois suivant" said without "fin de mois".
    next_month_only: bool = False
    #: A date the terms state themselves ("Zahlbar innerhalb 30 Tagen netto bis 04.04.2018").
    stated: date | None = None

    def states_due(self, invoice_date: date) -> bool:
        """Whether the terms state the due date (a date not before the invoice's)."""
        return self.stated is not None and self.stated >= invoice_date

    @property
    def rule(self) -> str:
        """The rule in French, as shown to the accountant ("45 jours fin de mois")."""
        if self.immediate:
            return self.immediate
        if self.month_end_first:
            return f"fin de mois + {self.days} jours"
        if self.next_month_only:
            return f"le {self.day_of_month} du mois suivant"
        if not self.end_of_month:
            return f"{self.days} jours"
        rule = f"{self.days} jours fin de mois" if self.days else "fin de mois"
        if self.day_of_month:
            rule += f" le {self.day_of_month}"
        return rule

    def due(self, invoice_date: date) -> date:
        """The due date these terms give for an invoice of ``invoice_date``: the date they
        state, else the one their rule gives."""
        if self.stated is not None and self.stated >= invoice_date:
            return self.stated
        if self.immediate:
            return invoice_date
        if self.month_end_first:
            return end_of_month(invoice_date) + timedelta(days=self.days)
        day = invoice_date + timedelta(days=self.days)
        if not self.end_of_month:
            return day
        day = end_of_month(day)
        if self.day_of_month:
            following = day + timedelta(days=1)
            last = calendar.monthrange(following.year, following.month)[1]
            day = following.replace(day=min(self.day_of_month, last))
        return day


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_DAYS = r"(\d{1,3})\s*(?:jours?|jrs?\.?|j\b\.?|days?|tage?n?)\b"
_EOM = r"(?:fin\s+d[eu]\s+mois|fdm\b|end\s+of\s+(?:the\s+)?month|eom\b|monatsende)"
_ON_DAY = (
    r"(?:\s*,?\s*(?:le|au|on\s+the|am)\s*(\d{1,2})(?:er|e|eme|th|st|nd|rd|\.)?"
    r"(?!\s*[/.%-]?\d))"
)
_NET = r"(?:\s*(?:nets?|netto|net))?"
_FROM_INVOICE = (
    r"(?:\s*(?:date\s+d[e']\s*(?:la\s+)?(?:facture|facturation|emission)|de\s+date\s+de\s+facture"
    r"|a\s+compter\s+de\s+la\s+date\s+de\s+(?:la\s+)?facture|from\s+(?:the\s+)?invoice\s+date))?"
)

#: (kind, pattern) in the order they are tried on a clause.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "fin de mois + 45 jours": the end of the month first.
    ("month_end_first", re.compile(rf"{_EOM}\s*(?:\+|plus|puis|et)?\s*{_DAYS}")),
    # "45 jours fin de mois", "30 jours fin de mois le 10", "fin de mois", "fin de mois le 10".
    ("end_of_month", re.compile(rf"(?:{_DAYS}{_NET}{_FROM_INVOICE}\s*,?\s*)?{_EOM}{_ON_DAY}?")),
    # "le 10 du mois suivant".
    (
        "next_month",
        re.compile(r"\ble\s*(\d{1,2})(?:er|e|eme)?\s+du\s+mois\s+suivant"),
    ),
    # "30 jours", "à 30 jours net", "net 30", "within 30 days", "30 Tage netto".
    ("days", re.compile(rf"(?<![\d.,]){_DAYS}")),
    ("days", re.compile(r"\bnet\s*(\d{1,3})\b(?!\s*(?:€|eur|[.,]\d|%|\d|[/-]\d))")),
    (
        "reception",
        re.compile(
            r"\b(?:a|des|upon|on)\s+(?:la\s+)?(?:reception|receipt)"
            r"|\bnach\s+erhalt|\bbei\s+erhalt"
        ),
    ),
    (
        "cash",
        re.compile(r"\bcomptant\b|\bimmediat|\bimmediately\b|\bsofort\b|\bcash\s+on\s+delivery"),
    ),
)

#: A clause about these is not the payment terms.
_NOT_TERMS = re.compile(
    r"escompte|penalit|retard|indemnit|interet|livr|expedi|valable|validit|garantie|retour"
    r"|retractation|rembours|skonto|verzug|delivery|warranty|discount|late\b|rappel|relance"
    r"|demeure|reclamation|contestation|anticip|en\s+cas\s+de|\bsi\b|\bif\b|ouvr|business"
    r"|working|werktag|arbeitstag|preavis|resiliation|essai|trial|acompte|deposit|recouvrement"
)
#: A clause or the line above it speaking of payment (needed in ``strict`` mode).
_PAYMENT_WORDS = re.compile(
    r"paiement|reglement|regler|reglable|payable|payer|echeance|conditions?\s+de|delai"
    r"|\bterms?\b|\bdue\b|zahlbar|zahlung|netto|payment|\bpay\b|modalit|mode\s+de\s+r|\bsolde\b"
)
#: Forms that can only be payment terms, even without a word about payment.
_TERMS_ONLY = re.compile(
    rf"{_DAYS}{_NET}\s*,?\s*{_EOM}|{_DAYS}\s*(?:nets?\s*)?date\s+de\s+facture"
    r"|\ba\s+reception\s+de\s+(?:la\s+)?facture|\ble\s*\d{1,2}\s+du\s+mois\s+suivant"
)
_CLAUSE_SPLIT = re.compile(
    r"[;\n\r]|\.(?=\s|$)|,(?!\s*(?:(?:le|au)\s*\d|fin\s+d|fdm\b|eom\b|end\s+of))|\s[-–•|/]\s"
)


def _clause_terms(clause: str) -> Terms | None:
    for kind, pattern in _PATTERNS:
        m = pattern.search(clause)
        if m is None:
            continue
        if kind == "month_end_first":
            days = int(m.group(1))
            if 0 < days <= MAX_DAYS:
                return Terms(days=days, month_end_first=True)
            return None
        if kind == "end_of_month":
            days = int(m.group(1)) if m.group(1) else 0
            on_day = int(m.group(2)) if m.group(2) else None
            if days > MAX_DAYS or (on_day is not None and not 1 <= on_day <= 31):
                return None
            return Terms(days=days, end_of_month=True, day_of_month=on_day)
        if kind == "next_month":
            on_day = int(m.group(1))
            if not 1 <= on_day <= 31:
                return None
            return Terms(end_of_month=True, day_of_month=on_day, next_month_only=True)
        if kind == "days":
            days = int(m.group(1))
            if 0 < days <= MAX_DAYS:
                return Terms(days=days)
            continue
        if kind == "reception":
            return Terms(immediate="à réception")
        return Terms(immediate="comptant")
    return None


def read_terms(text: str, *, strict: bool = False) -> Terms | None:
    """The first payment terms a text states, None when it states none (see the module)."""
    if not isinstance(text, str) or not text.strip():
        return None
    folded = _fold(text[:20_000])
    folded = re.sub(r"\bf\.\s?d\.\s?m\.?", "fdm", folded)
    folded = re.sub(r"\b(\d{1,3})\s*(?:j|jrs?)\.", r"\1 jours", folded)  # "30 j. fdm"
    lines = folded.split("\n")
    for index, line in enumerate(lines):
        above = lines[index - 1] if index else ""
        # The columns of a laid-out page stand three spaces apart or more: a label
        # ("Conditions de paiement :") may be the cell before its value.
        before = ""
        for cell in re.split(r"\s{3,}", line):
            for clause in _CLAUSE_SPLIT.split(cell):
                clause = " ".join(clause.split())
                if not clause or _NOT_TERMS.search(clause):
                    continue
                if strict and not (
                    _PAYMENT_WORDS.search(clause)
                    or _TERMS_ONLY.search(clause)
                    or (len(before.split()) <= 5 and _PAYMENT_WORDS.search(before))
                    or (len(line.split()) <= 8 and _PAYMENT_WORDS.search(above))
                ):
                    continue
                terms = _clause_terms(clause)
                if terms is not None:
                    stated = next((value for _s, _e, value in iter_dates(clause)), None)
                    return replace(terms, stated=stated) if stated else terms
            before = cell
    return None


def due_date_from_terms(
    text: str, invoice_date: date, *, strict: bool = False
) -> tuple[date, str] | None:
    """The due date the payment terms ``text`` give for an invoice of ``invoice_date``, with
    the rule in French as shown to the accountant ("45 jours fin de mois"); None when the text
    states no terms. A date the terms state in the same clause ("30 Tage netto bis 04.04.2018")
    is the due date. ``strict``: ``text`` is a whole invoice, not just its terms."""
    if not isinstance(invoice_date, date):
        return None
    terms = read_terms(text, strict=strict)
    if terms is None:
        return None
    return terms.due(invoice_date), terms.rule
