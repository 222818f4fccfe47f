"""The MEG sandbox: a local MEG-compatible server for demos and tests.

It implements ``plugins/meg_export/openapi.yaml``: OAuth2 (authorization code + PKCE S256,
refresh tokens), dossiers, suppliers, purchases with an idempotency key and the PDF attached,
pending payments, supervision, French validation errors, rate limits and fault injection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import create_engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from werkzeug.security import check_password_hash

from .faults import Faults
from .models import (
    Base,
    Dossier,
    DossierAccess,
    OAuthToken,
    Payment,
    Purchase,
    PurchaseLine,
    Supplier,
    User,
    add_missing_columns,
)
from .oauth import build_oauth
from .seed import seed_defaults
from .validation import ApiError, clean_purchase, clean_supplier

log = logging.getLogger("classeur.plugins.meg_export.sandbox")

DEFAULTS: dict[str, Any] = {
    "SANDBOX_DATA_DIR": None,
    "SANDBOX_DATABASE_URL": None,
    "SANDBOX_CLIENT_ID": "classeur",
    "SANDBOX_CLIENT_SECRET": "classeur-sandbox-secret",  # noqa: S105 - documented test secret
    "SANDBOX_REDIRECT_URI_PREFIXES": ["http://127.0.0.1", "http://localhost"],
    "SANDBOX_TOKEN_EXPIRES_IN": 3600,
    "SANDBOX_FAULTS": {},
    "SANDBOX_EXTRA_DOSSIERS": [],
    "SANDBOX_MAX_PDF_BYTES": 20 * 1024 * 1024,
}


@dataclass
class SandboxState:
    """Per-app state, kept in ``app.extensions["meg_sandbox"]``."""

    db: scoped_session[Session]
    faults: Faults
    limiter: Limiter


def state() -> SandboxState:
    """Return the current sandbox app's state."""
    return current_app.extensions["meg_sandbox"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _database_url(config: dict[str, Any]) -> str:
    if config.get("SANDBOX_DATABASE_URL"):
        return config["SANDBOX_DATABASE_URL"]
    data_dir = config.get("SANDBOX_DATA_DIR")
    if not data_dir:
        raise ValueError("SANDBOX_DATA_DIR or SANDBOX_DATABASE_URL must be set.")
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'meg-sandbox.sqlite3'}"


def create_sandbox_app(config: dict | None = None) -> Flask:
    """Create the MEG sandbox Flask app.

    Config keys (all optional but one of the first two): ``SANDBOX_DATA_DIR`` (SQLite file
    ``meg-sandbox.sqlite3`` there), ``SANDBOX_DATABASE_URL``, ``SANDBOX_CLIENT_ID``,
    ``SANDBOX_CLIENT_SECRET``, ``SANDBOX_REDIRECT_URI_PREFIXES``, ``SANDBOX_TOKEN_EXPIRES_IN``
    (seconds), ``SANDBOX_FAULTS`` (initial fault switches), ``SANDBOX_EXTRA_DOSSIERS`` (list of
    ``seed_dossier`` keyword dicts), ``SANDBOX_MAX_PDF_BYTES``, ``SECRET_KEY``.

    Tables are created and the demo data seeded at the first start (idempotent).
    """
    app = Flask(__name__, template_folder="templates")
    app.config.update(DEFAULTS)
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(config or {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["SANDBOX_MAX_PDF_BYTES"] + 1024 * 1024

    url = _database_url(app.config)
    connect_args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect_args)
    Base.metadata.create_all(engine)
    for column in add_missing_columns(engine):
        log.info("sandbox database: column %s added", column)
    db = scoped_session(sessionmaker(engine, expire_on_commit=False))

    faults = Faults()
    faults.update(app.config["SANDBOX_FAULTS"])

    limiter = Limiter(
        key_func=_rate_limit_key,
        app=app,
        storage_uri="memory://",
        strategy="fixed-window",
        # Retry-After is set by our 429 handler only: the extension's headers would also
        # land on successful answers and truncate injected Retry-After values.
        headers_enabled=False,
    )
    app.extensions["meg_sandbox"] = SandboxState(db=db, faults=faults, limiter=limiter)

    server, protector = build_oauth(app, db, int(app.config["SANDBOX_TOKEN_EXPIRES_IN"]))
    app.extensions["meg_sandbox_oauth"] = server

    with app.app_context():
        seed_defaults(
            db,
            client_id=app.config["SANDBOX_CLIENT_ID"],
            client_secret=app.config["SANDBOX_CLIENT_SECRET"],
            redirect_uri_prefixes=list(app.config["SANDBOX_REDIRECT_URI_PREFIXES"]),
            extra_dossiers=list(app.config["SANDBOX_EXTRA_DOSSIERS"]),
        )
        db.remove()

    @app.teardown_appcontext
    def _remove_session(exc: BaseException | None) -> None:
        db.remove()

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        response = jsonify(error.to_dict())
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded) -> Response:
        current = state().limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current else 1
        response = jsonify(
            ApiError(
                429,
                "rate_limited",
                "Trop de requêtes vers MEG : réessayez dans quelques secondes.",
            ).to_dict()
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(max(1, wait))
        return response

    app.register_blueprint(_web_blueprint(server))
    api = _api_blueprint(protector)
    limiter.limit(
        lambda: f"{state().faults.rate_limit_per_second}/second",
        key_func=_rate_limit_key,
    )(api)
    app.register_blueprint(api)
    app.register_blueprint(_control_blueprint())
    for name in ("meg_sandbox", "meg_sandbox_control"):
        limiter.exempt(app.blueprints[name])
    return app


def _rate_limit_key() -> str:
    # Per token, as MEG would count; the token itself is not kept in memory.
    auth = request.headers.get("Authorization", "")
    if auth:
        return hashlib.sha256(auth.encode()).hexdigest()
    return request.remote_addr or "anonymous"


# --------------------------------------------------------------------------------------------
# Login, consent, OAuth endpoints, overview page
# --------------------------------------------------------------------------------------------


def _current_user() -> User | None:
    user_id = session.get("user_id")
    return state().db.get(User, user_id) if user_id else None


def _user_dossiers(user: User) -> list[Dossier]:
    db = state().db
    return list(
        db.scalars(
            select(Dossier)
            .join(DossierAccess, DossierAccess.dossier_id == Dossier.id)
            .where(DossierAccess.user_id == user.id)
            .order_by(Dossier.code)
        )
    )


def _safe_next(target: str | None) -> str:
    # Only local paths: the login page must not become an open redirect.
    if not target or urlsplit(target).netloc or not target.startswith("/"):
        return url_for("meg_sandbox.index")
    return target


def _web_blueprint(server: Any) -> Blueprint:
    bp = Blueprint("meg_sandbox", __name__)

    @bp.get("/")
    def index() -> str:
        db = state().db
        source = request.args.get("source") or None
        dossiers = list(db.scalars(select(Dossier).order_by(Dossier.code)))
        blocks = []
        for dossier in dossiers:
            query = select(Purchase).where(Purchase.dossier_id == dossier.id)
            if source:
                query = query.where(func.lower(Purchase.source_platform) == source.lower())
            purchases = list(db.scalars(query.order_by(Purchase.id.desc())).unique())
            payments = list(
                db.scalars(
                    select(Payment)
                    .where(Payment.dossier_id == dossier.id, Payment.status == "en_attente")
                    .order_by(Payment.due_date)
                ).unique()
            )
            blocks.append({"dossier": dossier, "purchases": purchases, "payments": payments})
        return render_template(
            "meg_sandbox/index.html", blocks=blocks, source=source, user=_current_user()
        )

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        next_url = request.values.get("next")
        if request.method == "POST":
            email = (request.form.get("email") or "").strip().lower()
            password = request.form.get("password") or ""
            user = state().db.scalar(select(User).filter_by(email=email))
            if user and check_password_hash(user.password_hash, password):
                session.clear()
                session["user_id"] = user.id
                return redirect(_safe_next(next_url))
            error = "Identifiant ou mot de passe incorrect."
        return render_template("meg_sandbox/login.html", error=error, next=next_url), (
            401 if error else 200
        )

    @bp.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("meg_sandbox.index"))

    @bp.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        from authlib.oauth2 import OAuth2Error

        user = _current_user()
        if user is None:
            return redirect(url_for("meg_sandbox.login", next=request.full_path))
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return render_template(
                "meg_sandbox/oauth_error.html", error=error.error, description=error.description
            ), 400
        dossiers = _user_dossiers(user)
        hint = request.values.get("dossier")
        if request.method == "GET":
            checked = {hint} if hint in {d.code for d in dossiers} else {d.code for d in dossiers}
            return render_template(
                "meg_sandbox/consent.html",
                grant=grant,
                user=user,
                dossiers=dossiers,
                checked=checked,
                error=None,
                query=urlencode(list(request.args.items(multi=True))),
            )
        if request.form.get("decision") != "allow":
            return server.create_authorization_response(grant=grant, grant_user=None)
        allowed = {d.code for d in dossiers}
        chosen = [code for code in request.form.getlist("dossiers") if code in allowed]
        if not chosen:
            return render_template(
                "meg_sandbox/consent.html",
                grant=grant,
                user=user,
                dossiers=dossiers,
                checked=set(),
                error="Sélectionnez au moins un dossier MEG.",
                query=urlencode(list(request.args.items(multi=True))),
            ), 400
        g.consented_dossiers = chosen
        return server.create_authorization_response(grant=grant, grant_user=user)

    @bp.post("/oauth/token")
    def issue_token() -> Any:
        return server.create_token_response()

    @bp.post("/oauth/revoke")
    def revoke_token() -> Any:
        return server.create_endpoint_response("revocation")

    return bp


# --------------------------------------------------------------------------------------------
# The API (/api/v1)
# --------------------------------------------------------------------------------------------


def _inject_faults() -> None:
    faults = state().faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.take("timeout_next"):
        # The request is then served normally: a client that gave up may still see its
        # purchase stored, which is what the idempotency key is for.
        time.sleep(faults.timeout_seconds)
    if faults.take("status_429_next"):
        raise ApiError(
            429,
            "rate_limited",
            "Trop de requêtes vers MEG : réessayez dans quelques secondes.",
            headers={"Retry-After": str(faults.retry_after)},
        )
    if faults.take("error_5xx_next") or faults.random_5xx():
        raise ApiError(
            faults.error_5xx_status,
            "service_unavailable",
            "MEG est momentanément indisponible (erreur simulée par le bac à sable).",
        )


def _token() -> OAuthToken:
    from authlib.integrations.flask_oauth2 import current_token

    return current_token._get_current_object()  # type: ignore[attr-defined]


def _dossier_for(code: str, *, purchases: bool = False) -> Dossier:
    """The dossier ``code`` if the token may access it; for purchases, check module and licence."""
    token = _token()
    db = state().db
    dossier = db.scalar(
        select(Dossier)
        .join(DossierAccess, DossierAccess.dossier_id == Dossier.id)
        .where(Dossier.code == code, DossierAccess.user_id == token.user_id)
    )
    if dossier is None or (token.dossier_codes and code not in token.dossier_codes):
        raise ApiError(
            404,
            "dossier_not_found",
            f"Le dossier MEG « {code} » n'existe pas ou n'est pas accessible avec ce compte.",
            "dossier",
        )
    if purchases:
        if "achats" not in (dossier.modules or []):
            raise ApiError(
                403,
                "module_achats_missing",
                f"Le dossier MEG « {code} » ne dispose pas du module Achats : la liaison "
                "n'est possible qu'avec le module Achats et une licence Premium.",
                "dossier",
            )
        if dossier.licence != "premium":
            raise ApiError(
                403,
                "licence_not_premium",
                f"Le dossier MEG « {code} » n'a pas de licence Premium : la liaison n'est "
                "possible qu'avec le module Achats et une licence Premium.",
                "dossier",
            )
    return dossier


def _find_or_create_supplier(db: Session, dossier: Dossier, data: Any) -> Supplier:
    query = select(Supplier).where(Supplier.dossier_id == dossier.id)
    found = None
    if data.siren:
        found = db.scalar(query.where(Supplier.siren == data.siren))
    if found is None and data.vat_number:
        found = db.scalar(query.where(Supplier.vat_number == data.vat_number))
    if found is None:
        found = db.scalar(query.where(func.lower(Supplier.name) == data.name.lower()))
    if found is None:
        found = Supplier(
            dossier_id=dossier.id,
            name=data.name,
            siren=data.siren,
            vat_number=data.vat_number,
            country=data.country,
        )
        db.add(found)
        db.flush()
    return found


def _fingerprint(raw: Any, pdf: bytes) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode())
    digest.update(b"\0")
    digest.update(hashlib.sha256(pdf).digest())
    return digest.hexdigest()


def _replay(db: Session, dossier: Dossier, key: str, fingerprint: str) -> Response | None:
    existing = db.scalar(select(Purchase).filter_by(dossier_id=dossier.id, idempotency_key=key))
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            "Cette clé d'idempotence a déjà servi pour un autre achat : le contenu envoyé "
            "diffère de celui du premier envoi.",
            "Idempotency-Key",
        )
    response = jsonify(existing.to_dict())
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _read_purchase_request() -> tuple[Any, bytes, str]:
    raw_json = request.form.get("purchase")
    if raw_json is None and "purchase" in request.files:
        raw_json = request.files["purchase"].read().decode("utf-8", "replace")
    if raw_json is None:
        raise ApiError(
            422,
            "required",
            "La partie « purchase » (JSON de l'achat) est absente de la requête multipart.",
            "purchase",
        )
    try:
        data = json.loads(raw_json)
    except ValueError:
        raise ApiError(
            400, "invalid_json", "La partie « purchase » n'est pas un JSON valide.", "purchase"
        ) from None
    upload = request.files.get("file")
    pdf = upload.read() if upload else b""
    return data, pdf, (upload.filename if upload else "") or "facture.pdf"


def _api_blueprint(protector: Any) -> Blueprint:
    bp = Blueprint("meg_api", __name__, url_prefix="/api/v1")
    bp.before_request(_inject_faults)

    @bp.get("/dossiers")
    @protector("dossiers:read")
    def list_dossiers() -> Any:
        token = _token()
        db = state().db
        user = db.get(User, token.user_id)
        dossiers = _user_dossiers(user) if user else []
        if token.dossier_codes:
            dossiers = [d for d in dossiers if d.code in token.dossier_codes]
        return jsonify([d.to_dict() for d in dossiers])

    @bp.get("/dossiers/<code>/suppliers")
    @protector("purchases:read")
    def list_suppliers(code: str) -> Any:
        dossier = _dossier_for(code)
        suppliers = state().db.scalars(
            select(Supplier).where(Supplier.dossier_id == dossier.id).order_by(Supplier.name)
        )
        return jsonify([s.to_dict() for s in suppliers])

    @bp.post("/dossiers/<code>/suppliers")
    @protector("purchases:write")
    def create_supplier(code: str) -> Any:
        dossier = _dossier_for(code)
        data = clean_supplier(request.get_json(silent=True))
        db = state().db
        if data.siren and db.scalar(
            select(Supplier).filter_by(dossier_id=dossier.id, siren=data.siren)
        ):
            raise ApiError(
                409,
                "supplier_exists",
                f"Un fournisseur de SIREN {data.siren} existe déjà dans ce dossier.",
                "siren",
            )
        supplier = Supplier(
            dossier_id=dossier.id,
            name=data.name,
            siren=data.siren,
            vat_number=data.vat_number,
            country=data.country,
        )
        db.add(supplier)
        db.commit()
        return jsonify(supplier.to_dict()), 201

    @bp.post("/dossiers/<code>/purchases")
    @protector("purchases:write")
    def create_purchase(code: str) -> Any:
        dossier = _dossier_for(code, purchases=True)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > 255:
            raise ApiError(
                400,
                "idempotency_key_required",
                "L'en-tête « Idempotency-Key » est obligatoire (255 caractères au plus).",
                "Idempotency-Key",
            )
        raw, pdf, filename = _read_purchase_request()
        fingerprint = _fingerprint(raw, pdf)
        db = state().db
        replay = _replay(db, dossier, key, fingerprint)
        if replay is not None:
            return replay

        capabilities = {"reverse_charge": dossier.reverse_charge, "intra_eu": dossier.intra_eu}
        clean = clean_purchase(raw, capabilities)
        closed = set(state().faults.closed_accounts)
        for index, line in enumerate(clean.lines):
            if line.account in closed:
                raise ApiError(
                    422,
                    "closed_account",
                    f"Le compte « {line.account} » de la ligne {index + 1} est fermé dans le "
                    f"dossier {dossier.code} : choisissez un autre compte.",
                    f"lines[{index}].account",
                )
        if not pdf:
            raise ApiError(
                422,
                "missing_file",
                "Le PDF de la facture est obligatoire (partie « file »).",
                "file",
            )
        if not pdf.startswith(b"%PDF-"):
            raise ApiError(422, "invalid_file", "Le fichier joint n'est pas un PDF.", "file")

        supplier = _find_or_create_supplier(db, dossier, clean.supplier)
        duplicate = db.scalar(
            select(Purchase.id).where(
                Purchase.dossier_id == dossier.id,
                Purchase.supplier_id == supplier.id,
                func.lower(Purchase.invoice_number) == clean.invoice_number.lower(),
            )
        )
        if duplicate is not None:
            db.rollback()
            raise ApiError(
                422,
                "duplicate_invoice",
                f"La facture n° {clean.invoice_number} du fournisseur {supplier.name} existe "
                f"déjà dans MEG (achat {duplicate}).",
                "invoice_number",
            )
        purchase = Purchase(
            dossier_id=dossier.id,
            supplier=supplier,
            invoice_number=clean.invoice_number,
            invoice_date=clean.invoice_date,
            due_date=clean.due_date,
            payment_mode=clean.payment_mode,
            currency=clean.currency,
            total_excl_tax=clean.total_excl_tax,
            total_tax=clean.total_tax,
            total_incl_tax=clean.total_incl_tax,
            vat_regime=clean.vat_regime,
            document_type=clean.document_type,
            source_platform=clean.source_platform,
            partner_id=clean.partner_id,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            pdf_filename=filename,
            pdf=pdf,
            created_at=_now(),
            lines=[
                PurchaseLine(
                    position=index,
                    account=line.account,
                    label=line.label,
                    vat_code=line.vat_code,
                    amount_excl_tax=line.amount_excl_tax,
                    vat_amount=line.vat_amount,
                )
                for index, line in enumerate(clean.lines)
            ],
        )
        # A credit note's pending "payment" is the refund the supplier owes the dossier.
        purchase.payment = Payment(
            dossier_id=dossier.id,
            due_date=clean.due_date,
            amount=clean.total_incl_tax,
            status="en_attente",
            kind="remboursement" if clean.document_type == "credit_note" else "reglement",
        )
        db.add(purchase)
        dossier.last_purchase_import_at = purchase.created_at
        dossier.last_purchase_import_platform = clean.source_platform
        try:
            db.commit()
        except IntegrityError:
            # A concurrent request with the same key won the race: answer as a replay.
            db.rollback()
            replay = _replay(db, dossier, key, fingerprint)
            if replay is not None:
                return replay
            raise
        log.info("purchase %s stored in dossier %s from %s", purchase.id, code, key)
        if state().faults.take("error_after_store_next"):
            raise ApiError(
                500,
                "internal_error",
                "Erreur interne de MEG après l'enregistrement (erreur simulée par le bac à sable).",
            )
        return jsonify(purchase.to_dict()), 201

    @bp.get("/dossiers/<code>/purchases")
    @protector("purchases:read")
    def list_purchases(code: str) -> Any:
        dossier = _dossier_for(code)
        query = select(Purchase).where(Purchase.dossier_id == dossier.id)
        if source := request.args.get("source"):
            query = query.where(func.lower(Purchase.source_platform) == source.lower())
        if partner_id := request.args.get("partner_id"):
            query = query.where(Purchase.partner_id == partner_id)
        if document_type := request.args.get("document_type"):
            query = query.where(Purchase.document_type == document_type)
        purchases = state().db.scalars(query.order_by(Purchase.id)).unique()
        return jsonify([p.to_dict() for p in purchases])

    @bp.get("/dossiers/<code>/purchases/<int:purchase_id>/file")
    @protector("purchases:read")
    def purchase_file(code: str, purchase_id: int) -> Any:
        dossier = _dossier_for(code)
        purchase = state().db.scalar(
            select(Purchase).filter_by(id=purchase_id, dossier_id=dossier.id)
        )
        if purchase is None or not purchase.pdf:
            raise ApiError(404, "not_found", "Cet achat ou son PDF est introuvable.", None)
        return Response(purchase.pdf, mimetype="application/pdf")

    @bp.get("/dossiers/<code>/payments")
    @protector("purchases:read")
    def list_payments(code: str) -> Any:
        dossier = _dossier_for(code)
        query = select(Payment).where(Payment.dossier_id == dossier.id)
        if status := request.args.get("status"):
            query = query.where(Payment.status == status)
        payments = state().db.scalars(query.order_by(Payment.due_date, Payment.id)).unique()
        return jsonify([p.to_dict() for p in payments])

    @bp.get("/dossiers/<code>/supervision")
    @protector("purchases:read")
    def supervision(code: str) -> Any:
        dossier = _dossier_for(code)
        at = dossier.last_purchase_import_at
        return jsonify(
            {
                "dossier": dossier.code,
                "last_purchase_import_at": at.isoformat(timespec="seconds") + "Z" if at else None,
                "platform": dossier.last_purchase_import_platform,
            }
        )

    return bp


# --------------------------------------------------------------------------------------------
# Test controls (/_sandbox)
# --------------------------------------------------------------------------------------------


def _control_blueprint() -> Blueprint:
    bp = Blueprint("meg_sandbox_control", __name__, url_prefix="/_sandbox")

    @bp.get("/faults")
    def get_faults() -> Any:
        return jsonify(state().faults.as_dict())

    @bp.post("/faults")
    def set_faults() -> Any:
        values = request.get_json(silent=True)
        if not isinstance(values, dict):
            raise ApiError(400, "invalid_json", "Le corps doit être un objet JSON.", None)
        try:
            state().faults.update(values)
        except ValueError as error:
            raise ApiError(422, "invalid_fault", str(error), None) from None
        return jsonify(state().faults.as_dict())

    @bp.post("/reset")
    def reset() -> Any:
        """Wipe purchases and payments made through the API, clear faults and rate limits."""
        sandbox = state()
        db = sandbox.db
        ids = select(Purchase.id).where(Purchase.source_platform != "MEG")
        db.execute(delete(Payment).where(Payment.purchase_id.in_(ids)))
        db.execute(delete(PurchaseLine).where(PurchaseLine.purchase_id.in_(ids)))
        db.execute(delete(Purchase).where(Purchase.source_platform != "MEG"))
        db.execute(
            update(Dossier).values(last_purchase_import_at=None, last_purchase_import_platform=None)
        )
        db.commit()
        sandbox.faults.reset()
        sandbox.limiter.reset()
        return jsonify({"status": "ok"})

    @bp.post("/payments/<int:payment_id>/pay")
    def pay(payment_id: int) -> Any:
        """Record a payment as made (``paye``), as an accountant does in MEG's « Règlements »
        tab: body ``{"paid_at": "YYYY-MM-DD"}`` (today when absent)."""
        from datetime import date

        db = state().db
        payment = db.get(Payment, payment_id)
        if payment is None:
            raise ApiError(404, "not_found", "Règlement introuvable.", None)
        # JSON from tests and scripts; the overview page's « Marquer réglé » posts a form.
        from_page = not request.is_json
        values = request.get_json(silent=True) or request.form
        try:
            paid_at = date.fromisoformat(values["paid_at"]) if values.get("paid_at") else None
        except (TypeError, ValueError):
            raise ApiError(
                422, "invalid_date", "Date de règlement invalide (AAAA-MM-JJ).", "paid_at"
            ) from None
        payment.status = "paye"
        payment.paid_at = paid_at or datetime.now(UTC).date()
        db.commit()
        if from_page:
            return redirect(url_for("meg_sandbox.index"))
        return jsonify(payment.to_dict())

    @bp.post("/expire-tokens")
    def expire_tokens() -> Any:
        """Make every access token expired (refresh tokens stay valid)."""
        db = state().db
        db.execute(update(OAuthToken).values(issued_at=0))
        db.commit()
        return jsonify({"status": "ok"})

    return bp


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8100,
    data_dir: str | Path = "./data/meg-sandbox",
    *,
    config: dict | None = None,
    threads: int = 4,
) -> None:
    """Serve the sandbox with waitress until interrupted (used by ``classeur meg-sandbox``)."""
    from waitress import serve

    app = create_sandbox_app({"SANDBOX_DATA_DIR": str(data_dir), **(config or {})})
    log.info("MEG sandbox on http://%s:%s (demo@meg.example / demo)", host, port)
    serve(app, host=host, port=port, threads=threads)
