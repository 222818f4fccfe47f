"""Values of a document for a person: French labels, translated enumerations, dates, amounts and
times formatted with Babel, connector names instead of identifiers.

:func:`display_fields` is driven by the binder type's JSON Schema, so any binder type gets it
from its schema:

* the label of a property is its ``title`` (else the binder type's ``extra["field_labels"]``,
  else the key made readable);
* an enumeration is shown through ``x-labels`` (``{"transfer": "Virement"}``) or the titles of a
  ``oneOf`` of ``const``;
* a date is a property of ``"format": "date"`` or ``"x-kind": "date"`` (or a key named
  ``date``/``*_date``), shown ``15/10/2026``;
* an amount is a property of ``"x-kind": "amount"`` (or a key named ``total_*``/``amount*``/
  ``*_amount``), shown ``1 250,00 €`` in the document's currency; ``"x-kind": "percent"`` is a
  rate (``5,5 %``);
* ``"x-hidden": true`` hides a property (internal ids, reading details); ``"x-link"``
  (``{"endpoint": ..., "arg": ...}``) turns an internal id into a link (the document's
  ``company_id`` and the value as ``arg`` are given to ``url_for``);
* ``"x-kind": "proposal"`` shows an accounting proposal as "Proposé par le modèle (confiance
  82 %)" followed by its account and VAT code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from flask_babel import format_currency, format_date, format_datetime, format_decimal, ngettext
from flask_babel import gettext as _
from werkzeug.routing import BuildError

EMPTY = "—"
#: Nested lists shown at most (a schema bounds them anyway).
MAX_ITEMS = 200


@dataclass
class DisplayRow:
    """One value for a person. ``key`` is the dotted path of the value in the fields
    (``supplier.name``); ``kind`` says how it was formatted (``text``, ``amount``, ``date``,
    ``percent``, ``enum``, ``link``, ``group`` — nested ``children`` —, ``table`` — ``columns``
    and ``cells``); ``raw`` is the stored scalar (to find it on the page)."""

    key: str
    label: str
    text: str = ""
    kind: str = "text"
    raw: Any = None
    url: str | None = None
    children: list[DisplayRow] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)

    @property
    def locatable(self) -> bool:
        """Whether the value may be looked for among the page's words."""
        return self.kind in ("text", "amount", "date", "link") and _present(self.raw)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def readable_key(key: str) -> str:
    """A key with no label, made readable: ``order_ref`` → ``Order ref``."""
    words = re.sub(r"[_\-.]+", " ", str(key)).strip()
    return words[:1].upper() + words[1:] if words else str(key)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(kind)} if kind else set()


def enum_labels(node: dict[str, Any]) -> dict[str, str]:
    """The labels of an enumeration's values: ``x-labels``, or the ``title`` of each ``const``
    of a ``oneOf``/``anyOf``."""
    labels = dict(node.get("x-labels") or {})
    for option in (node.get("oneOf") or []) + (node.get("anyOf") or []):
        if isinstance(option, dict) and "const" in option and option.get("title"):
            labels.setdefault(str(option["const"]), str(option["title"]))
    return labels


def value_kind(key: str, node: dict[str, Any]) -> str:
    """How a scalar of property ``key`` is shown: amount, date, percent, enum, proposal, text."""
    declared = node.get("x-kind")
    if declared:
        return str(declared)
    if node.get("format") in ("date", "date-time"):
        return "date"
    if enum_labels(node) or "enum" in node:
        return "enum"
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "date" or leaf.endswith("_date"):
        return "date"
    if leaf.startswith(("total_", "amount")) or leaf.endswith("_amount"):
        return "amount"
    return "text"


def to_decimal(value: Any) -> Decimal | None:
    """A stored amount ("1250.00", 1250, "1 250,00") as a Decimal; None when it is none."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_date(value: Any) -> date | None:
    """A stored date (``2026-10-15``, a date, ``15/10/2026``) as a date; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    parts = (m.group(1), m.group(2), m.group(3)) if m else None
    if parts is None:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        parts = (m.group(3), m.group(2), m.group(1)) if m else None
    if parts is None:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def format_amount(value: Any, currency: str | None = None) -> str:
    """``1 250,00 €`` (Babel, the currency's symbol); the raw value when it is no number."""
    number = to_decimal(value)
    if number is None:
        return EMPTY if not _present(value) else str(value)
    code = (currency or "EUR").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        code = "EUR"
    return format_currency(number, code)


def format_day(value: Any) -> str:
    """``15/10/2026``; the raw value when it is no date. A stored (UTC) time gives its day
    in the firm's time zone."""
    if isinstance(value, datetime):
        return format_date(value, "dd/MM/yyyy")  # flask-babel converts to the time zone
    day = to_date(value)
    if day is None:
        return EMPTY if not _present(value) else str(value)
    return format_date(day, "dd/MM/yyyy")


def format_moment(value: datetime | None, seconds: bool = False) -> str:
    """A stored (UTC) time in the firm's time zone (``BABEL_DEFAULT_TIMEZONE``):
    ``15/10/2026 14:05``."""
    if value is None:
        return EMPTY
    return format_datetime(value, "dd/MM/yyyy HH:mm:ss" if seconds else "dd/MM/yyyy HH:mm")


def format_percent(value: Any) -> str:
    number = to_decimal(value)
    if number is None:
        return EMPTY if not _present(value) else str(value)
    return f"{format_decimal(number)} %"


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, int | float | Decimal):
        return format_decimal(value)
    return str(value)


class _Formatter:
    def __init__(
        self, schema: dict[str, Any] | None, labels: dict[str, str], currency: str | None, link
    ) -> None:
        self.schema = schema or {}
        self.labels = labels
        self.currency = currency
        self.link = link

    def label(self, key: str, node: dict[str, Any], path: str) -> str:
        return str(
            node.get("title") or self.labels.get(path) or self.labels.get(key) or readable_key(key)
        )

    def text(self, path: str, node: dict[str, Any], value: Any) -> tuple[str, str]:
        """(formatted text, kind) of a scalar."""
        kind = value_kind(path, node)
        if value is None or value == "":
            return EMPTY, kind
        if kind == "amount":
            return format_amount(value, self.currency), kind
        if kind == "date":
            return format_day(value), kind
        if kind == "percent":
            return format_percent(value), kind
        if kind == "enum":
            labels = enum_labels(node)
            return labels.get(str(value), _scalar(value)), kind
        if kind == "confidence":
            number = to_decimal(value)
            return (
                f"{format_decimal(round(number * 100))} %" if number is not None else EMPTY
            ), kind
        return _scalar(value), "text"

    def proposal(self, node: dict[str, Any], value: dict[str, Any]) -> str:
        props = node.get("properties") or {}
        source = value.get("source")
        sources = enum_labels(props.get("source") or {})
        head = sources.get(str(source)) if source else None
        head = head or _("Proposition")
        confidence = to_decimal(value.get("confidence"))
        if confidence is not None:
            head += " " + _(
                "(confiance %(percent)s %%)", percent=format_decimal(round(confidence * 100))
            )
        parts = []
        if value.get("account"):
            parts.append(_("compte %(account)s", account=value["account"]))
        if value.get("vat_code"):
            parts.append(_("code TVA %(code)s", code=value["vat_code"]))
        text = head + (" : " + ", ".join(parts) if parts else "")
        if value.get("reason"):
            text += f" — {value['reason']}"
        return text

    def row(self, key: str, path: str, node: dict[str, Any], value: Any) -> DisplayRow | None:
        if node.get("x-hidden"):
            link = node.get("x-link")
            if not (link and _present(value)):
                return None
        label = self.label(key, node, path)
        link = node.get("x-link")
        if link and _present(value):
            url = self.link(link, value)
            if url is None:
                return None
            return DisplayRow(path, label, _("Voir la fiche"), "link", None, url)
        if node.get("x-kind") == "proposal" and isinstance(value, dict):
            return DisplayRow(path, label, self.proposal(node, value), "proposal", None)
        if isinstance(value, dict):
            props = node.get("properties") or {}
            children = []
            for sub_key, sub_value in value.items():
                sub_node = props.get(sub_key) or {}
                child = self.row(sub_key, f"{path}.{sub_key}", sub_node, sub_value)
                if child is not None and (child.kind in ("group", "table") or _present(sub_value)):
                    children.append(child)
            if not children:
                return DisplayRow(path, label, EMPTY, "group", None)
            return DisplayRow(path, label, "", "group", None, children=children)
        if isinstance(value, list):
            return self.table(path, label, node, value[:MAX_ITEMS])
        text, kind = self.text(path, node, value)
        return DisplayRow(path, label, text, kind, value)

    def table(self, path: str, label: str, node: dict[str, Any], items: list[Any]) -> DisplayRow:
        if not items:
            return DisplayRow(path, label, EMPTY, "table", None)
        item_node = node.get("items") if isinstance(node.get("items"), dict) else {}
        if not all(isinstance(i, dict) for i in items):
            texts = [self.text(path, item_node, i)[0] for i in items]
            return DisplayRow(path, label, ", ".join(texts), "text", None)
        props = item_node.get("properties") or {}
        keys: list[str] = []
        for item in items:
            for k in item:
                sub = props.get(k) or {}
                if k not in keys and not sub.get("x-hidden"):
                    keys.append(k)
        # Columns never filled are left out (a VAT line's empty category, say).
        keys = [k for k in keys if any(_present(i.get(k)) for i in items)] or keys
        columns = [self.label(k, props.get(k) or {}, f"{path}.{k}") for k in keys]
        cells = [
            [self.text(f"{path}.{k}", props.get(k) or {}, item.get(k))[0] for k in keys]
            for item in items
        ]
        return DisplayRow(path, label, "", "table", None, columns=columns, cells=cells)


def display_fields(
    binder_type: Any,
    fields: dict[str, Any] | None,
    *,
    company_id: int | None = None,
    currency: str | None = None,
) -> list[DisplayRow]:
    """The document's fields for a person, in the order of the schema's properties (then the
    others), the hidden ones left out; see the module's docstring."""
    if not fields:
        return []
    schema = getattr(binder_type, "fields_schema", None) or {}
    extra = getattr(binder_type, "extra", None) or {}
    labels = dict(extra.get("field_labels") or {})
    props = schema.get("properties") or {}
    if currency is None:
        raw = fields.get("currency")
        currency = raw if isinstance(raw, str) else None

    def link(spec: Any, value: Any) -> str | None:
        if not isinstance(spec, dict) or company_id is None:
            return None
        try:
            return url_for(
                spec["endpoint"], company_id=company_id, **{spec.get("arg", "id"): value}
            )
        except (BuildError, KeyError, ValueError):
            return None

    formatter = _Formatter(schema, labels, currency, link)
    order = [k for k in props if k in fields] + [k for k in fields if k not in props]
    rows = []
    for key in order:
        row = formatter.row(key, key, props.get(key) or {}, fields[key])
        if row is not None:
            rows.append(row)
    return rows


def leaf_rows(rows: list[DisplayRow]) -> list[DisplayRow]:
    """The rows holding one value (groups opened)."""
    out: list[DisplayRow] = []
    for row in rows:
        if row.children:
            out.extend(leaf_rows(row.children))
        else:
            out.append(row)
    return out


# -- Text sources, exports and history ------------------------------------------------------


def text_source_label(source: str | None) -> str | None:
    """How the text was read, in French (``text`` → "couche texte du PDF")."""
    return {
        "text": _("couche texte du PDF"),
        "ocr": _("reconnaissance de caractères (OCR)"),
        "mixed": _("couche texte et OCR"),
        "einvoice": _("facture électronique XML"),
        "none": _("non lu"),
    }.get(source or "")


def attempts_text(attempts: int | None) -> str:
    """ "3 tentatives"; empty for none."""
    if not attempts:
        return ""
    return ngettext("%(num)d tentative", "%(num)d tentatives", attempts)


def connector_label(name: str | None, exporter_labels: dict[str, str]) -> str:
    if not name:
        return ""
    return exporter_labels.get(name) or readable_key(name)


def event_text(
    event: Any,
    event_labels: dict[str, str],
    exporter_labels: dict[str, str],
    field_titles: dict[str, str] | None = None,
) -> str:
    """One history line without plugin identifiers: "Exporté vers MEG (RCA) : Achat n° 12
    créé…", "Lu (couche texte du PDF)", "Champs modifiés : Date de facture"."""
    action = event.action
    label = event_labels.get(action) or readable_key(action)
    message = (event.message or "").strip()
    if action == "read":
        source = text_source_label(message)
        return f"{label} ({source})" if source else label
    if action in ("exported", "export_error", "export_retry"):
        connector, rest = None, message
        if action == "export_retry":
            connector, rest = message, ""
        else:
            head, sep, tail = message.partition(":")
            if sep and head.strip() in exporter_labels:
                connector, rest = head.strip(), tail.strip()
        if connector:
            label = _(
                "%(action)s vers %(connector)s",
                action=label,
                connector=connector_label(connector, exporter_labels),
            )
        return f"{label} : {rest}" if rest else label
    if action == "fields_changed":
        after = event.after if isinstance(event.after, dict) else {}
        names = [(field_titles or {}).get(k) or readable_key(k) for k in after]
        return f"{label} : {', '.join(names)}" if names else label
    return f"{label} : {message}" if message else label
