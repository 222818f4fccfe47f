""" "Administration" → "Modules": switch every plugin on or off, per firm and per company.

The page (admin only) and its JSON twin under ``/api/v1/plugins`` and
``/api/v1/companies/<id>/plugins``; both call :func:`core.plugins.activation.switch_plugin`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields

from core.auth.audit import audit
from core.auth.permissions import requires
from core.db import db
from core.errors import ServiceError
from core.exports.services import submit_exports
from core.plugins.activation import company_overrides, plugin_states, switch_plugin
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("plugins", __name__, url_prefix="/admin/modules")

SWITCH_VALUES = {"on": True, "off": False, "inherit": None}


@bp.route("")
@requires("plugins.manage")
def modules() -> Any:
    """Every loaded plugin: its kind, default, the firm's switch and each company's."""
    firm_id = scoping.current_firm_id()
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    return render_template(
        "plugins/modules.html",
        plugins=plugin_states(firm_id),
        companies=companies,
        overrides=company_overrides(firm_id),
    )


@bp.route("/<plugin>", methods=["POST"])
@requires("plugins.manage")
def switch(plugin: str) -> Any:
    """Switch a plugin for the firm (``company`` empty) or one company.

    ``enabled`` is ``on``, ``off`` or ``inherit`` (a company follows the firm; the firm
    follows the plugin's default).
    """
    firm_id = scoping.current_firm_id()
    company_id = request.form.get("company", type=int)
    if company_id is not None:
        scoping.get_company(company_id)
    value = request.form.get("enabled", "")
    if value not in SWITCH_VALUES:
        abort(400)
    try:
        to_run = switch_plugin(firm_id, plugin, SWITCH_VALUES[value], company_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("plugins.modules"))
    audit("plugin_switch", target=f"{plugin}:{company_id or 'firm'}", details={"enabled": value})
    db.session.commit()
    submit_exports(to_run)
    flash(_("Module mis à jour."), "success")
    if to_run:
        flash(_("%(n)s document(s) en attente envoyé(s).", n=len(to_run)), "success")
    return redirect(url_for("plugins.modules"))


# --- API ------------------------------------------------------------------------------------

api_bp = ApiBlueprint(
    "api_plugins", __name__, url_prefix="/api/v1", description="Modules (plugins) and switches"
)


class PluginStateSchema(Schema):
    name = fields.String()
    label = fields.String()
    kind = fields.String()
    description = fields.String()
    default = fields.Boolean(metadata={"description": "Switch where nobody switched it."})
    switchable = fields.Boolean()
    firm = fields.Boolean(
        allow_none=True, metadata={"description": "The firm's switch (null: the default)."}
    )
    company = fields.Boolean(
        allow_none=True, metadata={"description": "The company's own switch (null: the firm's)."}
    )
    enabled = fields.Boolean(metadata={"description": "Effective for the firm or company."})


class PluginSwitchSchema(Schema):
    enabled = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "true: on; false: off; null: inherit (firm, or default)."},
    )


def _state(firm_id: int, company_id: int | None, plugin: str) -> dict[str, Any]:
    for state in plugin_states(firm_id, company_id):
        if state["name"] == plugin:
            return state
    raise AssertionError(plugin)


def _put(plugin: str, enabled: bool | None, company_id: int | None) -> dict[str, Any]:
    from core.api.views import fail

    firm_id = scoping.current_firm_id()
    try:
        to_run = switch_plugin(firm_id, plugin, enabled, company_id)
    except ServiceError as exc:
        fail(exc)
    audit("plugin_switch", target=f"{plugin}:{company_id or 'firm'}", details={"enabled": enabled})
    db.session.commit()
    submit_exports(to_run)
    return _state(firm_id, company_id, plugin)


@api_bp.route("/plugins")
@requires("plugins.manage")
@api_bp.response(200, PluginStateSchema(many=True))
def list_plugins() -> Any:
    """Every loaded plugin with the firm's switch."""
    return plugin_states(scoping.current_firm_id())


@api_bp.route("/plugins/<plugin>", methods=["PUT"])
@requires("plugins.manage")
@api_bp.arguments(PluginSwitchSchema)
@api_bp.response(200, PluginStateSchema)
def put_plugin(data: dict[str, Any], plugin: str) -> Any:
    """Switch a plugin for the firm (``enabled`` null: back to the plugin's default)."""
    return _put(plugin, data["enabled"], None)


@api_bp.route("/companies/<int:company_id>/plugins")
@requires("plugins.manage")
@api_bp.response(200, PluginStateSchema(many=True))
def list_company_plugins(company_id: int) -> Any:
    """Every loaded plugin with the firm's switch, the company's own and the effective one."""
    company = scoping.get_company(company_id)
    return plugin_states(company.firm_id, company.id)


@api_bp.route("/companies/<int:company_id>/plugins/<plugin>", methods=["PUT"])
@requires("plugins.manage")
@api_bp.arguments(PluginSwitchSchema)
@api_bp.response(200, PluginStateSchema)
def put_company_plugin(data: dict[str, Any], company_id: int, plugin: str) -> Any:
    """Switch a plugin for one company (``enabled`` null: follow the firm)."""
    company = scoping.get_company(company_id)
    return _put(plugin, data["enabled"], company.id)
