"""Marshmallow schemas of API v1 (they also produce the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_dump, validate


class StrictSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class ErrorDetailSchema(Schema):
    code = fields.String()
    message = fields.String()
    field = fields.String(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


class CompanySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    siren = fields.String(allow_none=True, load_default=None)
    created_at = fields.DateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _plugin_details(self, data: dict[str, Any], company: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the facts plugins give through the ``company_details`` hook (never overriding
        the core's own keys)."""
        from core.state import classeur

        for key, item in classeur().hooks.company_details(company=company).items():
            data.setdefault(key, item["value"])
        return data


class CompanyUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    dossier_code = fields.String(validate=validate.Length(min=1, max=40))
    siren = fields.String(allow_none=True)


class BinderSchema(Schema):
    id = fields.Integer(dump_only=True)
    company_id = fields.Integer(required=True)
    type = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    created_at = fields.DateTime(dump_only=True)


class BinderUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))


class BinderQuerySchema(StrictSchema):
    company_id = fields.Integer()


class CompanyQuerySchema(StrictSchema):
    pass


class BinderTypeSchema(Schema):
    name = fields.String()
    label = fields.String()
    description = fields.String()
    plugin = fields.String()
    media_types = fields.List(fields.String(), allow_none=True)
    fields_schema = fields.Dict(allow_none=True, metadata={"description": "JSON Schema"})
