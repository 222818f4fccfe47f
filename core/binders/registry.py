"""Binder types: what kinds of binders exist, contributed by plugins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class FieldsError(ValueError):
    """Fields rejected by a binder type; ``field`` names the offending one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def accept_any_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Default validator: any JSON object."""
    if not isinstance(fields, dict):
        raise FieldsError("Les champs doivent être un objet JSON.")
    return fields


@dataclass(frozen=True)
class BinderType:
    """A kind of binder.

    ``validate_fields`` returns the cleaned fields or raises :class:`FieldsError`;
    ``review_endpoint`` (optional) names the view reviewing a document of this type;
    ``checks`` (optional) returns the checks shown on a document (list of dicts with
    ``code``, ``level`` — "error" blocks validation — ``message`` and ``field``).

    ``fields_schema`` (optional) is the JSON Schema of the fields: the core checks every
    change against it before ``validate_fields`` and serves it in the API documentation
    (``Fields_<name>``) and at ``GET /api/v1/binder-types``. ``media_types`` (optional) are
    the file types a binder of this type accepts (default: every type the intake reads).
    ``extract`` (optional) reads a document's fields once its text is known:
    ``extract(document=, text=, path=, layout=)`` returns the fields (or ``None``).
    """

    name: str
    label: str
    description: str = ""
    plugin: str = "core"
    validate_fields: Callable[[dict[str, Any]], dict[str, Any]] = accept_any_fields
    review_endpoint: str | None = None
    checks: Callable[..., list[dict[str, Any]]] | None = None
    #: Summary of the fields shown in the plugin's own lists (never indexed).
    summary: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: The generic searchable fields of a document (party, identifiers, reference, date,
    #: amount, keywords): ``searchable(fields) -> Searchable | dict``
    #: (``core.binders.searchable``); None indexes the text and file name only.
    searchable: Callable[[dict[str, Any]], Any] | None = None
    #: French names of those fields on the search page (``{"party_name": "Fournisseur"}``).
    searchable_labels: dict[str, str] = field(default_factory=dict)
    #: Extra query names of those fields (``{"fournisseur": "party_name"}``).
    search_aliases: dict[str, str] = field(default_factory=dict)
    fields_schema: dict[str, Any] | None = None
    media_types: frozenset[str] | None = None
    extract: Callable[..., dict[str, Any] | None] | None = None
    #: The company's binder of this type where documents arriving without a binder go (e-mail,
    #: a move offered by a check...): ``default_binder(company) -> Binder | None``; default: the
    #: company's first binder of this type.
    default_binder: Callable[[Any], Any] | None = None
    #: The columns of this type's trays, in order: ``(key, label, kind)`` tuples. ``kind`` is
    #: ``text``, ``date`` (ISO string), ``amount`` (decimal, in the fields' ``currency``),
    #: ``state`` (the document's state) or ``export`` (its export states, connectors named);
    #: ``key`` is the field's dotted path in the fields (``supplier.name``) and sorts the tray
    #: (``?sort=<key>``). Empty: the core's columns (document, pages, state, date of deposit).
    list_columns: tuple[tuple[str, str, str], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


class BinderTypeRegistry:
    """The binder types of one app, filled at start-up through ``register_binder_types``."""

    def __init__(self) -> None:
        self._types: dict[str, BinderType] = {}

    def register(self, binder_type: BinderType) -> None:
        if binder_type.name in self._types:
            raise RuntimeError(f"binder type {binder_type.name!r} registered twice")
        self._types[binder_type.name] = binder_type

    def get(self, name: str) -> BinderType | None:
        return self._types.get(name)

    def __getitem__(self, name: str) -> BinderType:
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def all(self) -> list[BinderType]:
        return sorted(self._types.values(), key=lambda t: t.label)

    def choices(self) -> list[tuple[str, str]]:
        return [(t.name, t.label) for t in self.all()]


_TYPE_LABELS = {
    "string": "un texte",
    "number": "un nombre",
    "integer": "un nombre entier",
    "boolean": "vrai ou faux",
    "object": "un objet",
    "array": "une liste",
    "null": "vide",
}


def _label(binder_type: BinderType, error: Any) -> str:
    """How the firm's staff call the field in error: the property's ``title`` in the schema,
    else the binder type's ``field_labels``, else its path."""
    path = [str(p) for p in error.absolute_path]
    if not path:
        return "Les champs"
    node: Any = binder_type.fields_schema or {}
    title = None
    for part in path:
        if not isinstance(node, dict):
            break
        if part.isdigit():
            node = node.get("items", {})
            continue
        node = (node.get("properties") or {}).get(part, {})
        title = node.get("title") if isinstance(node, dict) else None
    if title is None and len(path) == 1:
        title = (binder_type.extra or {}).get("field_labels", {}).get(path[0])
    return f"« {title or '.'.join(path)} »"


_FORMATS = {
    "date": "une date AAAA-MM-JJ",
    "date-time": "une date et heure ISO 8601",
    "email": "une adresse e-mail",
    "uri": "une adresse web",
}


def _french(binder_type: BinderType, error: Any) -> FieldsError:
    """A JSON Schema error in the words of the firm's staff, naming the field."""
    path = ".".join(str(p) for p in error.absolute_path) or None
    where = _label(binder_type, error)
    kind = error.validator
    value = error.validator_value
    if kind == "type":
        expected = [value] if isinstance(value, str) else value
        labels = " ou ".join(_TYPE_LABELS.get(t, t) for t in expected)
        return FieldsError(f"{where} : {labels} attendu.", path)
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = ".".join([*(str(p) for p in error.absolute_path), extra[0]]) if extra else path
        return FieldsError(f"Champ inconnu : « {name} ».", name)
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return FieldsError(f"{where} : le champ « {missing} » est obligatoire.", path)
    if kind == "enum":
        allowed = ", ".join(str(v) for v in value if v is not None)
        return FieldsError(f"{where} : valeur non permise (au choix : {allowed}).", path)
    if kind in ("maxLength", "maxItems"):
        return FieldsError(f"{where} : trop long (au plus {value}).", path)
    if kind in ("minLength", "minItems"):
        return FieldsError(f"{where} : trop court (au moins {value}).", path)
    if kind in ("minimum", "exclusiveMinimum"):
        return FieldsError(f"{where} : doit être au moins {value}.", path)
    if kind in ("maximum", "exclusiveMaximum"):
        return FieldsError(f"{where} : doit être au plus {value}.", path)
    if kind == "format":
        expected = _FORMATS.get(str(value), str(value))
        return FieldsError(f"{where} : {expected} attendue, pas « {error.instance} ».", path)
    if kind == "pattern":
        return FieldsError(f"{where} : format non reconnu « {error.instance} ».", path)
    return FieldsError(f"{where} : valeur invalide.", path)


def check_fields_schema(binder_type: BinderType, fields: dict[str, Any]) -> None:
    """Check ``fields`` against the binder type's JSON Schema (if it has one); the first error
    is raised as a :class:`FieldsError` in French, naming the field."""
    if binder_type.fields_schema is None:
        return
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(
        binder_type.fields_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    error = best_match(validator.iter_errors(fields))
    if error is not None:
        raise _french(binder_type, error)


def default_binder(company: Any, binder_type: str) -> Any:
    """The company's binder of ``binder_type`` where documents arriving without a binder go:
    the one the binder type designates (e.g. the purchase binder chosen in "Paramétrage
    général"), else the company's first binder of that type; ``None`` if it has none."""
    from sqlalchemy import select

    from core.binders.models import Binder
    from core.db import db
    from core.state import classeur

    declared = classeur().binder_types.get(binder_type)
    if declared is not None and declared.default_binder is not None:
        chosen = declared.default_binder(company)
        if chosen is not None:
            return chosen
    return db.session.scalar(
        select(Binder)
        .where(Binder.company_id == company.id, Binder.type == binder_type)
        .order_by(Binder.id)
    )
