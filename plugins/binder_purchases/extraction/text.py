"""Invoice fields from plain text (PDF text layer or OCR), French first, English and German too.

The reading is label-driven: candidates are collected next to known labels, then the totals
are chosen so that HT + TVA = TTC with real French VAT rates. Confidence drops when a value is
guessed (no label, no arithmetic agreement).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .fields import CENT, KNOWN_RATES, empty_fields, fmt_amount, fmt_date
from .identifiers import (
    EU_VAT_PREFIXES,
    iter_ibans,
    iter_sirens,
    iter_sirets,
    iter_vat_numbers,
    valid_siren,
    vat_country,
)
from .numbers import iter_amounts, iter_dates

_NUMBER_LABELS = re.compile(
    r"(?i)(?:facture|avoir|invoice|credit\s*note|rechnung|gutschrift)\s*(?:number|num[ée]ro|-?nummer"
    r"|no\.?|nr\.?|n\s?[°º]|#)\s*[:.]?"
    r"|n[°oº]\s*(?:de\s+)?(?:la\s+)?(?:facture|d'avoir|avoir)\s*[:.]?"
    r"|num[ée]ro\s+de\s+(?:la\s+)?facture\s*[:.]?|r[ée]f[ée]rence\s+facture\s*[:.]?"
    r"|rechnungs-?nummer\s*[:.]?|rechnungs-?nr\.?\s*[:.]?|invoice\s*(?:id|ref\.?)\s*[:.]?"
)
_NUMBER_VALUE = re.compile(r"[A-Z0-9][A-Z0-9\-/_.]{1,30}", re.I)

_DATE_LABELS = re.compile(
    r"(?i)date\s+(?:de\s+(?:la\s+)?)?(?:facture|facturation|d'?[ée]mission)|date\s+de\s+l'avoir"
    r"|invoice\s+date|date\s+of\s+issue|issue\s+date|rechnungsdatum|datum\s+der\s+rechnung"
    r"|^\s*date\b|\bdate\s*:|\bdatum\s*:|\bfait\s+le|\bdu\b|\bdated\b|\ble\b"
)
_DUE_LABELS = re.compile(
    r"(?i)[ée]ch[ée]ance|date\s+limite|[àa]\s+r[ée]gler\s+(?:avant|au\s+plus\s+tard)|payable\s+"
    r"(?:le|avant|au|by|before|until)|due\s+(?:date|on|by)|payment\s+due|f[äa]llig|zahlbar\s+bis"
    r"|zahlungsziel|pay\s+by|paiement\s+(?:avant|le)"
)

_HT = re.compile(
    r"(?i)total\s*h\.?\s*t\b\.?|montant\s*h\.?\s*t\b\.?|total\s+hors\s+tax\w*|sous[- ]total"
    r"|base\s+h\.?t\.?|total\s+net\b|net\s+amount|subtotal|sub-total|total\s+excl|amount\s+excl"
    r"|total\s+\(?before\s+tax|net\s+total|nettobetrag|summe\s+netto|netto\s*summe|zwischensumme"
    r"|gesamt\s*netto|rechnungsbetrag\s+netto|\bnetto\b|\bht\b"
)
_TVA = re.compile(
    r"(?i)total\s+t\.?v\.?a\.?|montant\s+(?:de\s+(?:la\s+)?)?t\.?v\.?a\.?|\bt\.?v\.?a\b\.?"
    r"|total\s+vat|vat\s+amount|\bvat\b|\btax\b|sales\s+tax|mwst|mehrwertsteuer|umsatzsteuer"
    r"|\bust\b\.?"
)
_TTC = re.compile(
    r"(?i)total\s*t\.?t\.?c\.?|montant\s*t\.?t\.?c\.?|net\s+[àa]\s+payer|total\s+[àa]\s+payer"
    r"|montant\s+[àa]\s+payer|reste\s+[àa]\s+payer|montant\s+d[ûu]|total\s+due|amount\s+due"
    r"|balance\s+due|grand\s+total|total\s+\(?incl|amount\s+payable|total\s+amount"
    r"|gesamtbetrag|rechnungsbetrag|bruttobetrag|gesamtsumme|summe\s+brutto|zu\s+zahlen"
    r"|endbetrag|\bttc\b|^\s*total\b(?!\s*(?:h\.?t|hors|tva|vat|excl|net|tax))"
)
_BUYER_LABELS = re.compile(
    r"(?i)\b(?:factur[ée]\s+[àa]|adress[ée]\s+[àa]|client\s*:|client\b(?!\s*n)|destinataire"
    r"|livr[ée]\s+[àa]|adresse\s+de\s+(?:facturation|livraison)|bill(?:ed)?\s+to|ship\s+to"
    r"|customer\b|sold\s+to|rechnungsempf[äa]nger|kunde\b|lieferanschrift|an\s*:)"
)
_LEGAL_FORM = re.compile(
    r"(?i)\b(?:SAS|SASU|SARL|EURL|SA|SNC|SCI|SCOP|SELARL|EI|GmbH|AG|KG|Ltd|Limited|LLC|Inc\.?"
    r"|B\.V\.|BV|S\.A\.|S\.L\.|SRL|S\.r\.l\.)\b"
)
_TITLE_WORDS = re.compile(
    r"(?i)^(?:facture|invoice|rechnung|avoir|credit\s+note|gutschrift|page|date|devis|"
    r"original|duplicata|tax\s+invoice)\b"
)
_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")
_CREDIT = re.compile(
    r"(?i)^\s*(?:facture\s+d'?)?avoir\b|\bavoir\s*(?:n[°oº]|num[ée]ro|#)|credit\s+note"
    r"|gutschrift|note\s+de\s+cr[ée]dit"
)
_PAYMENT = (
    ("direct_debit", re.compile(r"(?i)pr[ée]l[èe]vement|direct\s+debit|lastschrift|sepa\s+dd")),
    (
        "transfer",
        re.compile(
            r"(?i)virement|bank\s+transfer|wire\s+transfer|[üu]berweisung"
            r"|credit\s+transfer|by\s+transfer"
        ),
    ),
    ("cheque", re.compile(r"(?i)ch[èe]que|\bcheck\b|scheck")),
    (
        "card",
        re.compile(
            r"(?i)carte\s+(?:bancaire|bleue|de\s+cr[ée]dit)|\bCB\b|credit\s+card"
            r"|debit\s+card|kreditkarte|\bvisa\b|mastercard|paid\s+by\s+card"
        ),
    ),
    ("cash", re.compile(r"(?i)esp[èe]ces|\bcash\b|\bbar(?:zahlung)?\b")),
)
_REGIME = (
    (
        "reverse_charge",
        re.compile(
            r"(?i)autoliquidation|auto-liquidation|reverse\s+charge|283[- ]2|steuerschuldnerschaft"
            r"|reverse-charge"
        ),
    ),
    (
        "intra_eu",
        re.compile(
            r"(?i)262\s*ter|livraison\s+intracommunautaire|exon[ée]ration\s+de\s+"
            r"tva.*intracommunautaire|intra-?community\s+supply"
            r"|innergemeinschaftliche"
        ),
    ),
    (
        "extra_eu",
        re.compile(
            r"(?i)art(?:icle|\.)?\s*262[- ]I\b(?!\s*ter)|exportation\s+hors\s+UE"
            r"|export\s+outside|ausfuhrlieferung"
        ),
    ),
    (
        "exempt",
        re.compile(
            r"(?i)293\s*B|TVA\s+non\s+applicable|exon[ée]r[ée]e?\s+de\s+TVA"
            r"|VAT\s+exempt|steuerfrei|kleinunternehmer"
        ),
    ),
)
_CURRENCIES = (
    ("EUR", re.compile(r"€|\bEUR\b|\beuros?\b", re.I)),
    ("USD", re.compile(r"\$|\bUSD\b")),
    ("GBP", re.compile(r"£|\bGBP\b")),
    ("CHF", re.compile(r"\bCHF\b")),
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class _Amount:
    line: int
    col: int
    value: Decimal


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def extract_from_text(text: str, *, source: str = "text") -> dict[str, Any]:
    """Read invoice fields from text (French, English, German).

    Returns the full fields dictionary (every key present) with a confidence per found field;
    nested confidences are named ``supplier.siren`` etc. Never raises on a string input.
    """
    fields = empty_fields(source)
    if not isinstance(text, str) or not text.strip():
        return fields
    text = text[:200_000].replace("\r", "").replace("\f", "\n").replace("\t", "    ")
    _Reader(text, fields).run()
    return fields


class _Reader:
    def __init__(self, text: str, fields: dict[str, Any]) -> None:
        self.text = text
        self.f = fields
        self.conf: dict[str, float] = fields["confidence"]
        self.lines = text.split("\n")
        self.offsets = list(itertools.accumulate([0] + [len(x) + 1 for x in self.lines[:-1]]))
        self.buyer_zone = self._buyer_zone()
        self.per_rate: dict[Decimal, Decimal] = {}

    # -- positions -------------------------------------------------------------------------
    def _line_col(self, pos: int) -> tuple[int, int]:
        lo, hi = 0, len(self.offsets) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.offsets[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo, pos - self.offsets[lo]

    def _buyer_zone(self) -> set[tuple[int, int]]:
        """(line, column-start) cells belonging to the customer's address block."""
        zone: set[tuple[int, int]] = set()
        for i, line in enumerate(self.lines):
            m = _BUYER_LABELS.search(line)
            if not m:
                continue
            col = m.start()
            for j in range(i, min(i + 8, len(self.lines))):
                if j > i and not self.lines[j].strip():
                    break
                zone.add((j, col))
        return zone

    def _in_buyer(self, pos: int) -> bool:
        line, col = self._line_col(pos)
        return any(zl == line and col >= zc - 2 for zl, zc in self.buyer_zone)

    # -- main ------------------------------------------------------------------------------
    def run(self) -> None:
        self._identifiers()
        self._number()
        self._dates()
        self._totals()
        self._misc()

    def _identifiers(self) -> None:
        sup = self.f["supplier"]
        text = self.text
        for kind, finder in (("siret", iter_sirets), ("iban", iter_ibans)):
            for pos, value in finder(text):
                if not self._in_buyer(pos):
                    sup[kind] = value
                    self.conf[f"supplier.{kind}"] = 0.9
                    break
        vats = [(p, v) for p, v in iter_vat_numbers(text) if not self._in_buyer(p)]
        if vats:
            # Prefer a number next to a VAT label.
            labelled = [
                (p, v)
                for p, v in vats
                if re.search(r"(?i)tva|vat|ust|mwst|steuer", self.text[max(0, p - 40) : p])
            ]
            pos, value = (labelled or vats)[0]
            sup["vat_number"] = value
            self.conf["supplier.vat_number"] = 0.95 if labelled else 0.8
        sirens = [
            (p, v)
            for p, v in iter_sirens(text)
            if not self._in_buyer(p)
            and re.search(r"(?i)siren|rcs|r\.c\.s|siret|immatricul", self.text[max(0, p - 30) : p])
        ]
        if sirens:
            sup["siren"] = sirens[0][1]
            self.conf["supplier.siren"] = 0.95
        elif sup["siret"]:
            sup["siren"] = sup["siret"][:9]
            self.conf["supplier.siren"] = 0.9
        elif sup["vat_number"] and sup["vat_number"].startswith("FR"):
            siren = valid_siren(sup["vat_number"][4:])
            if siren:
                sup["siren"] = siren
                self.conf["supplier.siren"] = 0.85
        if sup["vat_number"]:
            sup["country"] = vat_country(sup["vat_number"])
        elif sup["siren"]:
            sup["country"] = "FR"
        elif sup["iban"]:
            sup["country"] = sup["iban"][:2]
        if sup["country"]:
            self.conf["supplier.country"] = 0.8
        self._supplier_name()

    def _supplier_name(self) -> None:
        sup = self.f["supplier"]
        candidates: list[tuple[float, str]] = []
        for i, line in enumerate(self.lines[:40]):
            pos = self.offsets[i]
            for chunk_match in re.finditer(r"\S(?:.*?\S)?(?=\s{3,}|$)", line):
                chunk = chunk_match.group(0).strip()
                if len(chunk) < 3 or self._in_buyer(pos + chunk_match.start()):
                    continue
                if _TITLE_WORDS.match(chunk) or re.search(r"\d{3,}|@|www\.|:", chunk):
                    continue
                score = 1.0 - i / 50
                if _LEGAL_FORM.search(chunk):
                    score += 1.0
                if chunk_match.start() > 30:
                    score -= 0.3
                candidates.append((score, chunk))
        if candidates:
            score, name = max(candidates, key=lambda c: c[0])
            sup["name"] = name
            self.conf["supplier.name"] = 0.7 if score > 1.0 else 0.4

    def _value_after(self, line_no: int, end_col: int, pattern: re.Pattern[str]) -> str | None:
        line = self.lines[line_no]
        m = pattern.match(line[end_col:].lstrip(" :#.\u00b0"))
        if m:
            return m.group(0)
        return None

    def _number(self) -> None:
        best: tuple[float, str] | None = None
        for i, line in enumerate(self.lines):
            for m in _NUMBER_LABELS.finditer(line):
                value = self._value_after(i, m.end(), _NUMBER_VALUE)
                score = 0.95
                if value is None or not re.search(r"\d", value):
                    # Table layout: value below the label, same column.
                    value = None
                    if i + 1 < len(self.lines):
                        below = self.lines[i + 1]
                        seg = below[max(0, m.start() - 2) :]
                        vm = _NUMBER_VALUE.search(seg)
                        if vm and re.search(r"\d", vm.group(0)):
                            value, score = vm.group(0), 0.8
                if value is None:
                    continue
                value = value.rstrip(".-/_")
                if self._looks_like_date(value):
                    continue
                if best is None or score > best[0]:
                    best = (score, value)
        if best:
            self.f["invoice_number"] = best[1]
            self.conf["invoice_number"] = best[0]

    @staticmethod
    def _looks_like_date(value: str) -> bool:
        return bool(re.fullmatch(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}", value))

    def _dates(self) -> None:
        dates = []
        for start, end, value in iter_dates(self.text):
            line, col = self._line_col(start)
            dates.append((line, col, end - start, value))
        if not dates:
            return
        inv: list[tuple[float, date]] = []
        due: list[tuple[float, date]] = []
        for line, col, _length, value in dates:
            before = self.lines[line][:col]
            window = before[-45:]
            above = ""
            if line > 0:
                above_line = self.lines[line - 1]
                above = above_line[max(0, col - 12) : col + 25]
            if _DUE_LABELS.search(window):
                due.append((1.0, value))
            elif _DATE_LABELS.search(window):
                inv.append(
                    (0.95 if re.search(r"(?i)factur|invoice|rechnung", window) else 0.9, value)
                )
            elif _DUE_LABELS.search(above):
                due.append((0.8, value))
            elif _DATE_LABELS.search(above) or re.search(r"(?i)\bdate\b|datum", above):
                inv.append((0.8, value))
            else:
                inv.append((0.4 - line / 1000, value))
        if inv:
            score, value = max(inv, key=lambda c: c[0])
            self.f["invoice_date"] = fmt_date(value)
            self.conf["invoice_date"] = round(min(score, 0.95), 2)
        if due:
            candidates = [
                c for c in due if inv is None or not inv or c[1] >= max(inv, key=lambda x: x[0])[1]
            ] or due
            score, value = max(candidates, key=lambda c: c[0])
            self.f["due_date"] = fmt_date(value)
            self.conf["due_date"] = round(min(score, 0.95), 2)

    # -- totals ----------------------------------------------------------------------------
    def _amounts_by_line(self) -> dict[int, list[_Amount]]:
        spans: list[tuple[int, int]] = [(s, e) for s, e, _ in iter_dates(self.text)]
        for m in re.finditer(
            r"(?i)\b(?:iban|bic|siret|siren|rcs|tva\s+intra\w*|n°\s*tva|vat\s+"
            r"(?:no|number|id|reg)\w*|ust-?id\w*)\b[^\n]{0,45}",
            self.text,
        ):
            spans.append((m.start(), m.end()))
        masked = _mask(self.text, spans)
        by_line: dict[int, list[_Amount]] = {}
        for start, _end, value in iter_amounts(masked):
            line, col = self._line_col(start)
            by_line.setdefault(line, []).append(_Amount(line, col, value))
        return by_line

    def _labelled(
        self,
        by_line: dict[int, list[_Amount]],
        pattern: re.Pattern[str],
        exclude: tuple[re.Pattern[str], ...] = (),
    ) -> list[tuple[float, Decimal]]:
        out: list[tuple[float, Decimal]] = []
        for i, line in enumerate(self.lines):
            folded = line
            for m in pattern.finditer(folded):
                label_end = m.end()
                if any(x.search(folded[m.start() : m.start() + 30]) for x in exclude):
                    continue
                right = [a for a in by_line.get(i, []) if a.col >= label_end]
                # Stop at the next label on the same line (two totals on one line).
                nxt = [
                    n.start()
                    for p in (_HT, _TVA, _TTC)
                    for n in p.finditer(folded, label_end)
                    if n.start() > label_end + 1
                ]
                limit = min(nxt) if nxt else 10_000
                right = [a for a in right if a.col < limit]
                if right:
                    out.append((1.0, right[-1].value))
                    if len(right) > 1:
                        out.append((0.7, right[0].value))
                    continue
                for j in (i + 1, i + 2):
                    below = [
                        a for a in by_line.get(j, []) if m.start() - 12 <= a.col <= label_end + 16
                    ]
                    if below:
                        out.append((0.8 if j == i + 1 else 0.6, below[0].value))
                        break
        return out

    def _totals(self) -> None:
        by_line = self._amounts_by_line()
        ht = self._labelled(by_line, _HT)
        ttc = self._labelled(by_line, _TTC)
        tva = self._labelled(by_line, _TVA, exclude=(_TTC, _HT))
        tva += self._rate_line_sums(by_line)
        rates = self._rates()
        best: tuple[float, Decimal, Decimal, Decimal] | None = None
        for (sh, h), (st, t), (sc, c) in itertools.product(
            ht[:40], tva[:40] + [(0.5, Decimal("0"))], ttc[:40]
        ):
            if h <= 0 and c > 0:
                continue
            if abs(h + t - c) > CENT or c == 0:
                continue
            score = sh + st + sc
            if self._plausible_tax(h, t, rates):
                score += 1.0
            if t != 0:
                score += 0.3
            if best is None or score > best[0]:
                best = (score, h, t, c)
        conf = 0.95
        if best is None:
            best = self._guess_totals(by_line)
            conf = 0.6
        if best is None:
            for key, cands in (("total_excl_tax", ht), ("total_tax", tva), ("total_incl_tax", ttc)):
                if cands:
                    score, value = max(cands, key=lambda c: c[0])
                    self.f[key] = fmt_amount(value)
                    self.conf[key] = 0.4
            return
        _, h, t, c = best
        if best[0] < 2.5:
            conf = min(conf, 0.7)
        self.f["total_excl_tax"] = fmt_amount(h)
        self.f["total_tax"] = fmt_amount(t)
        self.f["total_incl_tax"] = fmt_amount(c)
        for key in ("total_excl_tax", "total_tax", "total_incl_tax"):
            self.conf[key] = conf
        self._vat_lines(by_line, h, t, rates)

    def _rate_line_sums(self, by_line: dict[int, list[_Amount]]) -> list[tuple[float, Decimal]]:
        """Total VAT printed as one line per rate ("TVA 20 % ... / TVA 5,5 % ..."): their sum."""
        per_rate: dict[Decimal, Decimal] = {}
        for i, line in enumerate(self.lines):
            labels = [m for m in _TVA.finditer(line) if not _TTC.match(line, m.start())]
            others = [m.start() for p in (_HT, _TTC) for m in p.finditer(line)]
            for m in labels:
                rate = _RATE.match(
                    line, m.end() + (len(line[m.end() :]) - len(line[m.end() :].lstrip()))
                )
                if not rate:
                    continue
                value = Decimal(rate.group(1).replace(",", "."))
                if value not in KNOWN_RATES or value in per_rate:
                    continue
                nxt = [p for p in [x.start() for x in labels] + others if p > rate.end()]
                limit = min(nxt) if nxt else 10_000
                right = [a for a in by_line.get(i, []) if rate.end() <= a.col < limit]
                if right:
                    per_rate[value] = right[-1].value
                    continue
                below = [
                    a for a in by_line.get(i + 1, []) if m.start() - 12 <= a.col <= rate.end() + 16
                ]
                if below:
                    per_rate[value] = below[0].value
        self.per_rate = per_rate
        if len(per_rate) > 1:
            return [(1.0, sum(per_rate.values(), Decimal(0)))]
        return []

    def _rates(self) -> list[Decimal]:
        found: list[Decimal] = []
        for m in _RATE.finditer(self.text):
            try:
                value = Decimal(m.group(1).replace(",", "."))
            except ArithmeticError:
                continue
            if value in KNOWN_RATES and value not in found:
                found.append(value)
        return found

    @staticmethod
    def _plausible_tax(h: Decimal, t: Decimal, rates: list[Decimal]) -> bool:
        if h == 0:
            return t == 0
        pool = rates or sorted(KNOWN_RATES)
        return any(
            abs(h * r / 100 - t) <= Decimal("0.02") + abs(h) * Decimal("0.0001") for r in pool
        ) or (len(rates) > 1 and 0 < t / h < Decimal("0.21"))

    def _guess_totals(
        self, by_line: dict[int, list[_Amount]]
    ) -> tuple[float, Decimal, Decimal, Decimal] | None:
        values = sorted({a.value for items in by_line.values() for a in items if a.value > 0})
        if len(values) > 150:
            values = values[-150:]
        vs = set(values)
        best = None
        for h in values:
            for r in sorted(KNOWN_RATES - {Decimal("0")}, reverse=True):
                t = (h * r / 100).quantize(CENT)
                if t in vs and (h + t) in vs:
                    cand = (2.0, h, t, h + t)
                    if best is None or h > best[1]:
                        best = cand
                    break
        return best

    def _vat_lines(
        self, by_line: dict[int, list[_Amount]], h: Decimal, t: Decimal, rates: list[Decimal]
    ) -> None:
        lines: list[dict[str, str | None]] = []
        if t == 0:
            lines.append({"rate": "0.00", "base": fmt_amount(h), "amount": "0.00"})
        else:
            single = [r for r in rates if abs(h * r / 100 - t) <= Decimal("0.02")]
            if single:
                lines.append(
                    {"rate": fmt_amount(single[0]), "base": fmt_amount(h), "amount": fmt_amount(t)}
                )
            else:
                lines = self._multi_rate_lines(by_line, h, t)
        if lines:
            self.f["vat_lines"] = lines
            self.conf["vat_lines"] = 0.9 if t == 0 or len(lines) == 1 else 0.8

    def _multi_rate_lines(
        self, by_line: dict[int, list[_Amount]], h: Decimal, t: Decimal
    ) -> list[dict[str, str | None]]:
        found: dict[Decimal, tuple[Decimal, Decimal]] = {}
        for i, line in enumerate(self.lines):
            line_rates = [
                Decimal(m.group(1).replace(",", "."))
                for m in _RATE.finditer(line)
                if Decimal(m.group(1).replace(",", ".")) in KNOWN_RATES
            ]
            amounts = [a.value for a in by_line.get(i, [])]
            for r in line_rates:
                for base, amount in itertools.permutations(amounts, 2):
                    if r and abs(base * r / 100 - amount) <= Decimal("0.02") and base <= h:
                        found.setdefault(r, (base, amount))
        if self.per_rate and abs(sum(self.per_rate.values(), Decimal(0)) - t) <= CENT:
            # Printed VAT amount per rate; the base only when printed and consistent.
            out: list[dict[str, str | None]] = []
            for r, amount in sorted(self.per_rate.items(), reverse=True):
                base = found.get(r, (None, None))[0]
                if base is not None and abs(base * r / 100 - amount) > Decimal("0.02"):
                    base = None
                out.append(
                    {"rate": fmt_amount(r), "base": fmt_amount(base), "amount": fmt_amount(amount)}
                )
            return out
        total_base = sum((b for b, _ in found.values()), Decimal("0"))
        total_tax = sum((a for _, a in found.values()), Decimal("0"))
        if found and abs(total_tax - t) <= CENT and total_base <= h + CENT:
            return [
                {"rate": fmt_amount(r), "base": fmt_amount(b), "amount": fmt_amount(a)}
                for r, (b, a) in sorted(found.items(), reverse=True)
            ]
        return []

    # -- the rest --------------------------------------------------------------------------
    def _misc(self) -> None:
        f, text = self.f, self.text
        head = "\n".join(self.lines[:15])
        if _CREDIT.search(head) or (
            f["total_incl_tax"] is not None and f["total_incl_tax"].startswith("-")
        ):
            f["document_kind"] = "credit_note"
            self.conf["document_kind"] = 0.85
        else:
            self.conf["document_kind"] = 0.9
        folded = _fold(text)
        for mode, pattern in _PAYMENT:
            if pattern.search(text) or pattern.search(folded):
                f["payment_mode"] = mode
                self.conf["payment_mode"] = 0.8
                break
        else:
            if f["supplier"]["iban"]:
                f["payment_mode"] = "transfer"
                self.conf["payment_mode"] = 0.5
        regime = None
        for name, pattern in _REGIME:
            if pattern.search(text):
                regime = name
                break
        vat = f["supplier"]["vat_number"]
        if regime is None and vat and f["total_tax"] in ("0.00", None):
            cc = vat[:2]
            if cc in EU_VAT_PREFIXES and cc != "FR":
                regime = "intra_eu"
        f["vat_regime"] = regime or "standard"
        self.conf["vat_regime"] = 0.8 if regime else 0.7
        for code, pattern in _CURRENCIES:
            if pattern.search(text):
                f["currency"] = code
                self.conf["currency"] = 0.9
                break
        else:
            f["currency"] = "EUR"
            self.conf["currency"] = 0.4
