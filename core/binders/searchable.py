"""The searchable fields of a document, in generic terms.

A binder type says what of its fields the search index knows through
``BinderType.searchable(fields) -> Searchable | dict``: the other party's name and
identifiers, a reference, a date, an amount and keywords. The index (both backends) has these
generic columns and nothing shaped after one kind of document; the search page names them with
the binder type's ``searchable_labels`` ("Fournisseur" for the party of a purchase invoice).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from core.binders.registry import BinderType

log = logging.getLogger("classeur.search")

#: The generic searchable fields, in display order.
SEARCHABLE_FIELDS: tuple[str, ...] = (
    "party_name",
    "party_ids",
    "reference",
    "date",
    "amount",
    "keywords",
)

#: Labels of the generic fields when the binder type names none (or no type is chosen).
DEFAULT_LABELS: dict[str, Any] = {
    "party_name": _l("Tiers"),
    "party_ids": _l("Identifiants"),
    "reference": _l("Référence"),
    # The date read on the document (an invoice's date), never the day it was dropped.
    "date": _l("Date du document"),
    "amount": _l("Montant"),
    "keywords": _l("Mots-clés"),
}

_MAX_ITEMS = 50  # identifiers or keywords kept per document
_MAX_CHARS = 500  # characters kept per value


@dataclass(frozen=True)
class Searchable:
    """What the search index knows of a document beyond its text and file name.

    :param party_name: the other party (supplier, customer, issuer, landlord...).
    :param party_ids: its identifiers (SIREN, SIRET, VAT number, IBAN... any strings), each
        found by an exact search, with or without its spaces.
    :param reference: the document's own number (invoice number, contract reference...).
    :param date: the document's date (filters "Date du / au", sort by date).
    :param amount: its amount (filters "Montant min. / max.", sort by amount; the total
        including tax for an invoice).
    :param keywords: extra words found by a text search ("Avoir", a category...).
    """

    party_name: str | None = None
    party_ids: tuple[str, ...] = ()
    reference: str | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    keywords: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: Searchable | Mapping[str, Any] | None) -> Searchable:
        """A clean :class:`Searchable` from what a binder type returned.

        A mapping may hold any of :data:`SEARCHABLE_FIELDS` (other keys raise
        :class:`ValueError`); dates may be ISO strings, amounts numbers or strings, lists a
        single string. Blank values are dropped; a value that cannot be read is left out.
        """
        if value is None:
            return cls()
        if isinstance(value, Searchable):
            data = {f.name: getattr(value, f.name) for f in fields(value)}
        elif isinstance(value, Mapping):
            unknown = sorted(set(value) - set(SEARCHABLE_FIELDS))
            if unknown:
                raise ValueError(
                    f"unknown searchable field(s) {', '.join(unknown)}; "
                    f"use {', '.join(SEARCHABLE_FIELDS)}"
                )
            data = dict(value)
        else:
            raise TypeError(f"searchable must return a Searchable or a dict, not {value!r}")
        return cls(
            party_name=_text(data.get("party_name")),
            party_ids=_texts(data.get("party_ids")),
            reference=_text(data.get("reference")),
            date=_date(data.get("date")),
            amount=_decimal(data.get("amount")),
            keywords=_texts(data.get("keywords")),
        )

    def as_json(self) -> dict[str, Any]:
        """The values as JSON (API results): ISO date, amount as a string, lists."""
        return {
            "party_name": self.party_name,
            "party_ids": list(self.party_ids),
            "reference": self.reference,
            "date": self.date.isoformat() if self.date else None,
            "amount": str(self.amount) if self.amount is not None else None,
            "keywords": list(self.keywords),
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())[:_MAX_CHARS]
    return text or None


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Iterable[Any] = [value] if isinstance(value, str | int) else value
    out: list[str] = []
    for item in items:
        text = _text(item)
        if text and text not in out:
            out.append(text)
        if len(out) >= _MAX_ITEMS:
            break
    return tuple(out)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def searchable_of(
    binder_type: BinderType | None, doc_fields: Mapping[str, Any] | None, *, doc_id: Any = None
) -> Searchable:
    """The searchable fields of a document of ``binder_type`` with these fields.

    Empty when the type declares nothing or has no fields; a binder type's failure is logged,
    never raised (the document is still searchable by its text and file name).
    """
    if binder_type is None or binder_type.searchable is None or not doc_fields:
        return Searchable()
    try:
        return Searchable.of(binder_type.searchable(dict(doc_fields)))
    except Exception:
        log.exception(
            "searchable fields of document %s (binder type %s) failed", doc_id, binder_type.name
        )
        return Searchable()


def searchable_labels(binder_type: BinderType | None) -> dict[str, Any]:
    """French labels of the generic fields: the binder type's, else the defaults."""
    labels = dict(DEFAULT_LABELS)
    if binder_type is not None:
        labels.update(binder_type.searchable_labels or {})
    return labels


def search_aliases(binder_types: Iterable[BinderType]) -> dict[str, str]:
    """Query names the binder types add (``fournisseur:`` → ``party_name``), first one wins."""
    aliases: dict[str, str] = {}
    for binder_type in sorted(binder_types, key=lambda t: t.name):
        for alias, name in (binder_type.search_aliases or {}).items():
            if name in SEARCHABLE_FIELDS:
                aliases.setdefault(alias.lower(), name)
    return aliases
