"""VAT codes in the Pennylane style (``FR_200`` = 20 %, ``AE`` = reverse charge...)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: code -> (French label, rate in percent).
VAT_CODES: dict[str, tuple[str, Decimal]] = {
    "FR_200": ("TVA 20 %", Decimal("20")),
    "FR_130": ("TVA 13 % (Corse)", Decimal("13")),
    "FR_100": ("TVA 10 %", Decimal("10")),
    "FR_85": ("TVA 8,5 % (DOM)", Decimal("8.5")),
    "FR_55": ("TVA 5,5 %", Decimal("5.5")),
    "FR_21": ("TVA 2,1 %", Decimal("2.1")),
    "FR_175": ("TVA 1,75 % (DOM)", Decimal("1.75")),
    "FR_105": ("TVA 1,05 % (DOM)", Decimal("1.05")),
    "FR_09": ("TVA 0,9 % (Corse)", Decimal("0.9")),
    "FR_0": ("Exonéré ou non soumis (0 %)", Decimal("0")),
    "AE": ("Autoliquidation (art. 283-2 du CGI)", Decimal("20")),
    "INTRA": ("Acquisition intracommunautaire (art. 262 ter I du CGI)", Decimal("20")),
}
# The brief spells the Corsican 13 % code FR_13: accept both spellings.
VAT_CODES["FR_13"] = VAT_CODES["FR_130"]

_BY_RATE: dict[Decimal, str] = {
    rate: code for code, (_label, rate) in VAT_CODES.items() if code.startswith("FR_")
}
_BY_RATE[Decimal("13")] = "FR_13"


def vat_code_for(rate: Decimal | str | None, regime: str = "standard") -> str:
    """VAT code for a rate and a VAT regime.

    ``reverse_charge`` -> ``AE``, ``intra_eu`` -> ``INTRA``, ``exempt``/``extra_eu`` -> ``FR_0``;
    otherwise the code of the French rate (``FR_200`` for 20). An unknown rate gives ``FR_0``
    only when it is zero; other unknown rates raise ``ValueError``.
    """
    if regime == "reverse_charge":
        return "AE"
    if regime == "intra_eu":
        return "INTRA"
    if regime in ("exempt", "extra_eu"):
        return "FR_0"
    try:
        value = Decimal(str(rate)) if rate is not None else Decimal(0)
    except InvalidOperation as exc:
        raise ValueError(f"Taux de TVA illisible : {rate!r}") from exc
    code = _BY_RATE.get(value.normalize() if value else Decimal(0))
    if code is None:
        code = next((c for r, c in _BY_RATE.items() if r == value), None)
    if code is None:
        raise ValueError(f"Taux de TVA inconnu : {rate}")
    return code
