"""The application factory. No database query happens here: only wiring."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

import core.tasks.after_commit  # noqa: F401 - registers the after-commit step
from core.binders.registry import BinderTypeRegistry
from core.config import (
    CONTENT_SECURITY_POLICY,
    apply_plugin_defaults,
    load_config,
    read_or_create_secret,
    secret_key_path,
)
from core.db import db
from core.exports.registry import ExporterRegistry
from core.extensions import api, babel, csrf, limiter, login_manager
from core.plugins.activation import build_catalog
from core.plugins.manager import Hooks, build_plugin_manager
from core.state import ClasseurState
from core.storage import LocalStorage
from core.tasks.registry import TaskRegistry
from core.tenancy.tabs import CompanyTab

log = logging.getLogger("classeur")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build a Classeur app from the defaults, the environment and ``config``."""
    settings = load_config(config)
    app = Flask(
        __name__,
        template_folder="web/templates",
        static_folder="web/static",
        static_url_path="/static",
    )
    app.config.update(settings)
    data_dir = Path(settings["DATA_DIR"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = read_or_create_secret(secret_key_path(data_dir), create=True)
    app.config.update(
        # A whole request is bounded before it is read (each file again while streaming).
        MAX_CONTENT_LENGTH=int(settings["MAX_REQUEST_BYTES"]),
        # Own cookie name: another app on the same host (the MEG sandbox) must not clash.
        SESSION_COOKIE_NAME="classeur_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings["SESSION_COOKIE_SECURE"],
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        API_TITLE="Classeur API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.config.setdefault("TESTING", bool(settings.get("TESTING")))

    if not app.config.get("INSTALL_ID"):
        # Identifies this installation in idempotency keys sent to remote systems.
        app.config["INSTALL_ID"] = read_or_create_secret(
            data_dir / "install_id", create=True, nbytes=9
        )
    app.session_interface = TokenAwareSessionInterface()
    db.init_app(app)
    _init_auth(app)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": _security_schemes()},
            # Every operation needs a token (or the pages' session cookie) unless it says so.
            "security": [{"bearerAuth": []}],
            "info": {
                "description": "Classeur's JSON API. Send `Authorization: Bearer <token>` "
                "(`classeur tokens create --email ... [--scopes read,write,admin]`): `read` "
                "reads, `write` changes documents and companies, `admin` manages users and "
                'modules. Errors are `{"error": {"code", "message", "field"}}` '
                "with a French message."
            },
        },
    )

    pm = build_plugin_manager(app.config)
    hooks = Hooks(pm)
    apply_plugin_defaults(app.config, hooks.config_defaults())
    binder_types = BinderTypeRegistry()
    binder_type_owners = hooks.register_binder_types(register=binder_types.register)
    exporters = ExporterRegistry()
    exporter_owners = hooks.register_exporters(register=exporters.register)
    task_registry = TaskRegistry()
    hooks.register_tasks(register=task_registry.register)
    tabs: list[CompanyTab] = []
    hooks.register_company_tabs(register=tabs.append)
    tabs.sort(key=lambda t: (t.order, t.label))
    state = ClasseurState(
        pm=pm,
        hooks=hooks,
        binder_types=binder_types,
        exporters=exporters,
        company_tabs=tabs,
        storage=LocalStorage(data_dir),
        task_registry=task_registry,
    )
    state.plugins = build_catalog(pm, binder_type_owners, exporter_owners)
    app.extensions["classeur"] = state

    _register_blueprints(app, hooks)
    from core.api.views import register_fields_schemas

    register_fields_schemas(api, binder_types)
    _register_handlers(app)

    from core.tasks.runner import make_runner

    state.tasks = make_runner(app)
    if app.config["START_WORKERS"]:
        state.tasks.start()
    return app


def _select_locale() -> str:
    """The user's language (``User.locale``), else ``BABEL_DEFAULT_LOCALE``."""
    from core.auth.services import user_locale

    return user_locale()


class TokenAwareSessionInterface(SecureCookieSessionInterface):
    """No cookie session for bearer-token requests: a token client that keeps cookies is
    never logged out by a session cookie it happened to receive, and gets none back."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        from flask import request as current_request

        if current_request.headers.get("Authorization", "").startswith("Bearer "):
            return
        super().save_session(app, session, response)


def _security_schemes() -> dict[str, Any]:
    return {"bearerAuth": {"type": "http", "scheme": "bearer"}}


def _init_auth(app: Flask) -> None:
    from core.auth.models import User
    from core.auth.services import user_for_token

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @login_manager.request_loader
    def _load_from_token(req: Any) -> User | None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        found = user_for_token(header[7:].strip())
        if found is None:
            return None
        user, token = found
        g.token_scopes = set(token.scopes.split())
        g.api_token_id = token.id
        g.token_firm_id = token.firm_id
        return user

    from core.operator.services import firm_gate

    # A disabled firm's members are turned away at their next request (session or token).
    app.before_request(firm_gate)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        from flask import redirect, url_for

        if request.path.startswith("/api/"):
            return _json_error(401, "unauthorized", "Authentification requise.")
        return redirect(url_for("auth.login", next=request.full_path))


def _register_blueprints(app: Flask, hooks: Hooks) -> None:
    from core.api.views import register_api
    from core.auth.views import bp as auth_bp
    from core.binders.views import bp as binders_bp
    from core.documents.api import bp as documents_api
    from core.documents.views import bp as documents_bp
    from core.exports.api import bp as exports_api
    from core.exports.views import bp as exports_bp
    from core.plugins.views import api_bp as plugins_api
    from core.plugins.views import bp as plugins_bp
    from core.portal.api import bp as portal_api
    from core.portal.views import bp as portal_bp
    from core.search.views import api_bp as search_api
    from core.search.views import bp as search_bp
    from core.tenancy.views import bp as tenancy_bp
    from core.web.views import bp as web_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(tenancy_bp)
    app.register_blueprint(binders_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(plugins_bp)
    app.register_blueprint(portal_bp)
    from core.operator.views import bp as operator_bp

    app.register_blueprint(operator_bp)
    from core.operator.api import api_bp as operator_api

    api.register_blueprint(operator_api)
    # E-mail out (Administration → E-mails) and the user's notifications.
    from core.mail.views import bp as mail_bp
    from core.notifications.views import api_bp as notifications_api
    from core.notifications.views import bp as notifications_bp

    app.register_blueprint(mail_bp)
    app.register_blueprint(notifications_bp)
    api.register_blueprint(notifications_api)
    register_api(api)
    api.register_blueprint(documents_api)
    api.register_blueprint(exports_api)
    api.register_blueprint(search_api)
    api.register_blueprint(plugins_api)
    from core.auth.api import bp as users_api

    api.register_blueprint(users_api)
    api.register_blueprint(portal_api)

    def register(blueprint: Any, **options: Any) -> None:
        from flask_smorest import Blueprint as ApiBlueprint

        if isinstance(blueprint, ApiBlueprint):
            api.register_blueprint(blueprint, **options)  # documented in /api/v1's OpenAPI
        else:
            app.register_blueprint(blueprint, **options)

    hooks.register_blueprints(register=register)


def _json_error(status: int, code: str, message: str, field: str | None = None) -> Any:
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


_FRENCH_STATUS = {
    400: "Requête invalide.",
    401: "Authentification requise.",
    403: "Accès refusé.",
    404: "Introuvable.",
    405: "Méthode non autorisée.",
    409: "Conflit.",
    413: "Fichier trop volumineux.",
    422: "Données invalides.",
    429: "Trop de requêtes, réessayez plus tard.",
}


_FRENCH_VALIDATION = {
    "Missing data for required field.": "Champ obligatoire.",
    "Not a valid integer.": "Nombre entier attendu.",
    "Not a valid string.": "Texte attendu.",
    "Field may not be null.": "Ce champ ne peut pas être vide.",
    "Unknown field.": "Champ inconnu.",
    "Shorter than minimum length 1.": "Ce champ ne peut pas être vide.",
}


_FRENCH_VALIDATION.update(
    {
        "Not a valid date.": "Date attendue (AAAA-MM-JJ).",
        "Not a valid datetime.": "Date-heure ISO 8601 attendue.",
        "Not a valid boolean.": "Booléen attendu (true ou false).",
        "Not a valid list.": "Liste attendue.",
        "Invalid input type.": "Type de valeur invalide.",
    }
)


def _flat_messages(messages: Any) -> list[str]:
    """marshmallow's messages of one field, flattened: a list field's errors come by index
    (``{0: ["…"]}``), a nested one's by key; each translated when known, repeats dropped."""
    if isinstance(messages, dict):
        found = [m for value in messages.values() for m in _flat_messages(value)]
    elif isinstance(messages, list | tuple):
        found = [m for value in messages for m in _flat_messages(value)]
    else:
        found = [_FRENCH_VALIDATION.get(str(messages), str(messages))]
    return list(dict.fromkeys(found))


def _validation_message(errors: Any) -> tuple[str, str] | None:
    """The first invalid field and a readable French message naming every invalid field:
    « state : valeur inconnue « xyz » ; valeurs possibles : received, … »."""
    first, parts = None, []
    for _location, fields in errors.items():
        if not isinstance(fields, dict):
            continue
        for name, messages in fields.items():
            first = first or str(name)
            parts.append(f"{name} : {' ; '.join(_flat_messages(messages))}")
    return (first, " — ".join(parts)) if parts else None


_PAGE_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Fichier trop volumineux",
    429: "Trop de tentatives",
}
_PAGE_MESSAGES = {
    403: "Vous n'avez pas les droits nécessaires pour cette page.",
    404: "Cette page n'existe pas, ou vous n'y avez pas accès.",
    429: "Trop de tentatives : patientez une minute avant de réessayer.",
}


def _html_error(exc: HTTPException) -> Any:
    from flask import render_template

    status = exc.code or 500
    if status < 400 or getattr(exc, "response", None) is not None:
        return exc
    title = _PAGE_TITLES.get(status, "Erreur")
    message = _PAGE_MESSAGES.get(status) or _FRENCH_STATUS.get(status, exc.description or "")
    try:
        return render_template("error.html", title=title, message=message), status
    except Exception:  # never fail while reporting a failure
        return exc


def _register_handlers(app: Flask) -> None:
    @app.before_request
    def _csrf_unless_token() -> None:
        # Bearer-token API calls carry no cookie, so they cannot be forged cross-site.
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.method in {"GET", "HEAD", "OPTIONS", "TRACE"}:
            return
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return
        csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        message = "Jeton CSRF manquant ou invalide : rechargez la page."
        if request.path.startswith("/api/"):
            return _json_error(400, "csrf", message)
        return message, 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return _html_error(exc)
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        field = None
        message = _FRENCH_STATUS.get(status, exc.description or exc.name)
        errors = None
        if isinstance(data, dict):
            errors = data.get("errors") or data.get("messages")
        if errors:  # webargs/marshmallow validation: {"json": {"field": ["msg"]}}
            field, message = _validation_message(errors) or (None, message)
        elif isinstance(data, dict) and data.get("message"):
            message = data["message"]
        if isinstance(data, dict) and data.get("field"):
            field = data["field"]
        code = (data.get("code") if isinstance(data, dict) else None) or exc.name.lower().replace(
            " ", "_"
        )
        return _json_error(status, code, message, field)

    endpoints = None

    # Dates and times for a person, in every template (plugins' included): ``{{ d|day }}``
    # gives 15/10/2026, ``{{ t|moment }}`` a stored UTC time in the firm's time zone.
    from core.documents.display import format_day, format_moment

    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        nonlocal endpoints
        from core.auth.permissions import role_allows
        from core.documents.models import EVENT_LABELS, STATE_LABELS
        from core.exports.models import EXPORT_LABELS
        from core.tenancy.scoping import current_membership_or_none

        if endpoints is None:
            endpoints = frozenset(app.view_functions)
        membership = current_membership_or_none()  # None: an operator outside the firms
        role = membership.role if membership is not None else None

        def can(permission: str) -> bool:
            return role is not None and role_allows(role, permission)

        return {
            "url_endpoints": endpoints,
            "current_role": role,
            "current_firm_id": membership.firm_id if membership is not None else None,
            "can": can,
            "state_labels": STATE_LABELS,
            "export_labels": EXPORT_LABELS,
            "event_labels": {**app.extensions["classeur"].plugins.labels(), **EVENT_LABELS},
        }

    @app.errorhandler(500)
    def _server_error(exc: Any) -> Any:
        if request.path.startswith("/api/"):
            return _json_error(500, "internal", "Erreur interne : elle a été enregistrée.")
        from flask import render_template

        return render_template(
            "error.html",
            title="Erreur interne",
            message="Une erreur inattendue s'est produite ; elle a été enregistrée.",
        ), 500

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
