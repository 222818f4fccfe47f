"""Company identifiers printed on invoices, validated by checksum (python-stdnum, schwifty)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from schwifty import IBAN
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

#: EU member states' VAT prefixes (Greece uses EL) plus XI (Northern Ireland).
EU_VAT_PREFIXES: frozenset[str] = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()  # noqa: SIM905
)

_SIRET = re.compile(r"(?<![\dA-Z])(\d{3}[ .]?\d{3}[ .]?\d{3}[ .]?\d{5})(?!\d)")
_SIREN = re.compile(r"(?<![\dA-Z])(\d{3}[ .]?\d{3}[ .]?\d{3})(?![\d])")
_VAT = re.compile(
    r"(?<![A-Z0-9])(?P<cc>AT|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|"
    r"PT|RO|SE|SI|SK|XI|CHE)[ \-.]?(?P<num>[0-9A-Z](?:[ .\-]?[0-9A-Z]){1,13})"
)
_IBAN = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30})")


def compact(value: str) -> str:
    """Remove spaces, dots and dashes, upper-case."""
    return re.sub(r"[\s.\-]", "", value).upper()


def valid_siren(value: str) -> str | None:
    """Return the compact SIREN when ``value`` is a valid one (Luhn), else None."""
    v = compact(value)
    return v if fr_siren.is_valid(v) else None


def valid_siret(value: str) -> str | None:
    """Return the compact SIRET when ``value`` is a valid one, else None."""
    v = compact(value)
    return v if len(v) == 14 and fr_siret.is_valid(v) else None


def valid_vat(value: str) -> str | None:
    """Return the compact EU VAT number when ``value`` passes its country's checksum."""
    v = compact(value)
    if v.startswith("GR"):
        v = "EL" + v[2:]
    try:
        return v if len(v) > 4 and eu_vat.is_valid(v) else None
    except Exception:  # noqa: BLE001 - stdnum may raise on exotic input
        return None


def valid_iban(value: str) -> str | None:
    """Return the compact IBAN when ``value`` is valid (schwifty), else None."""
    try:
        return str(IBAN(compact(value)).compact)
    except Exception:  # noqa: BLE001 - schwifty raises several exception types
        return None


def vat_country(vat_number: str | None) -> str | None:
    """ISO country code of an EU VAT number (EL -> GR)."""
    if not vat_number or len(vat_number) < 2:
        return None
    cc = vat_number[:2].upper()
    return {"EL": "GR", "XI": "GB"}.get(cc, cc)


def iter_vat_numbers(text: str) -> Iterator[tuple[int, str]]:
    """Yield (position, compact VAT number) for each valid EU VAT number in ``text``."""
    upper = text.upper()
    for m in _VAT.finditer(upper):
        raw = m.group("cc") + m.group("num")
        # The greedy match may swallow following words: try shrinking from the right.
        chars = raw
        while len(compact(chars)) > 4:
            found = valid_vat(chars)
            if found:
                yield m.start(), found
                break
            chars = chars[:-1].rstrip(" .-")


def iter_sirets(text: str) -> Iterator[tuple[int, str]]:
    """Yield (position, SIRET) for each valid SIRET in ``text``."""
    for m in _SIRET.finditer(text):
        found = valid_siret(m.group(1))
        if found:
            yield m.start(), found


def iter_sirens(text: str) -> Iterator[tuple[int, str]]:
    """Yield (position, SIREN) for each valid 9-digit SIREN in ``text`` (not part of a SIRET)."""
    for m in _SIREN.finditer(text):
        found = valid_siren(m.group(1))
        if found:
            yield m.start(), found


def iter_ibans(text: str) -> Iterator[tuple[int, str]]:
    """Yield (position, IBAN) for each valid IBAN in ``text``."""
    upper = text.upper()
    for m in _IBAN.finditer(upper):
        chars = m.group(1)
        while len(compact(chars)) >= 14:
            found = valid_iban(chars)
            if found:
                yield m.start(), found
                break
            chars = chars[:-1].rstrip()
