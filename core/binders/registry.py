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
    """

    name: str
    label: str
    description: str = ""
    plugin: str = "core"
    validate_fields: Callable[[dict[str, Any]], dict[str, Any]] = accept_any_fields
    review_endpoint: str | None = None
    checks: Callable[..., list[dict[str, Any]]] | None = None
    #: Summary of the fields shown in lists and indexed for search (supplier, number, ...).
    summary: Callable[[dict[str, Any]], dict[str, Any]] | None = None
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
