"""Page "Rechercher" and ``GET /api/v1/search``: the same parameters, the same scoping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest import abort
from marshmallow import Schema, fields

from core.auth.permissions import requires
from core.binders.models import Binder
from core.binders.searchable import searchable_labels
from core.db import db
from core.documents.models import STATE_LABELS, Document
from core.search.backend import SearchQuery
from core.search.services import search, searchable_fields
from core.state import classeur
from core.tenancy import scoping
from core.tenancy.models import Company

bp = Blueprint("search", __name__, url_prefix="/search")
api_bp = ApiBlueprint(
    "api_search", __name__, url_prefix="/api/v1/search", description="Full-text search"
)

#: Accepted sorts; their labels name the date and amount as the binder type does.
SORTS = ("relevance", "-date", "date", "-amount", "amount", "-created", "created")
MAX_PER_PAGE = 100


def sort_labels(labels: dict[str, Any]) -> dict[str, str]:
    """The sort choices, with the generic date and amount named by ``labels``."""
    return {
        "relevance": _("Pertinence"),
        "-date": _("%(date)s (récentes)", date=labels["date"]),
        "date": _("%(date)s (anciennes)", date=labels["date"]),
        "-amount": _("%(amount)s (décroissant)", amount=labels["amount"]),
        "amount": _("%(amount)s (croissant)", amount=labels["amount"]),
        "-created": _("Dépôt (récents)"),
        "created": _("Dépôt (anciens)"),
    }


class SearchError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class ParsedSearch:
    query: SearchQuery
    export_error: bool


def _int(args: Any, name: str, default: int | None = None) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SearchError("Nombre entier attendu.", name) from exc


def _date(args: Any, name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise SearchError("Date attendue au format AAAA-MM-JJ.", name) from exc


def _amount(args: Any, name: str) -> Decimal | None:
    raw = (args.get(name) or "").strip().replace(" ", "").replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise SearchError("Montant attendu (par exemple 1234,56).", name) from exc
    if not value.is_finite():
        raise SearchError("Montant attendu (par exemple 1234,56).", name)
    return value


def parse_search(args: Any) -> ParsedSearch:
    """Read the parameters shared by the page and the API; scope them to the user."""
    membership = scoping.current_membership()
    visible = scoping.visible_company_ids()
    company = _int(args, "company")
    company_ids = visible
    if company is not None:
        if visible is not None and company not in visible:
            raise SearchError("Entreprise inconnue.", "company")
        company_ids = frozenset({company})
    elif visible is not None:
        company_ids = frozenset(visible)
    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        raise SearchError(f"Tri inconnu : {sort}.", "sort")
    state = args.get("state") or None
    if state is not None and state not in STATE_LABELS:
        raise SearchError(f"État inconnu : {state}.", "state")
    binder_type = args.get("binder_type") or None
    if binder_type is not None and binder_type not in classeur().binder_types:
        raise SearchError(f"Type de classeur inconnu : {binder_type}.", "binder_type")
    page = _int(args, "page", 1)
    per_page = _int(args, "per_page", 20)
    assert page is not None and per_page is not None
    if page < 1:
        raise SearchError("La page commence à 1.", "page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise SearchError(f"Entre 1 et {MAX_PER_PAGE} résultats par page.", "per_page")
    q = (args.get("q") or "").strip()
    if len(q) > 500:
        raise SearchError("Requête trop longue (500 caractères au plus).", "q")
    export_error = (args.get("export_error") or "").lower() in {"1", "true", "on", "yes", "oui"}
    query = SearchQuery(
        firm_id=membership.firm_id,
        q=q,
        company_ids=frozenset(company_ids) if company_ids is not None else None,
        binder_id=_int(args, "binder"),
        binder_type=binder_type,
        state=state,
        date_from=_date(args, "date_from"),
        date_to=_date(args, "date_to"),
        amount_min=_amount(args, "amount_min"),
        amount_max=_amount(args, "amount_max"),
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return ParsedSearch(query, export_error)


def run_search(parsed: ParsedSearch) -> tuple[Any, list[tuple[Document, dict[str, str]]]]:
    """Search, then load the hits through the scoped document query (defence in depth)."""

    # The index query may take a while: do not hold the database meanwhile (SQLite).
    from core.search.services import export_error_ids

    if parsed.export_error:
        errors = export_error_ids(parsed.query.firm_id)
        restrict = parsed.query.restrict_ids
        parsed.query.restrict_ids = errors if restrict is None else restrict & errors
    db.session.commit()
    result = search(parsed.query)
    ids = [h.id for h in result.hits]
    rows = (
        {d.id: d for d in db.session.scalars(scoping.documents_stmt().where(Document.id.in_(ids)))}
        if ids
        else {}
    )
    hits = [(rows[h.id], h.highlights) for h in result.hits if h.id in rows]
    return result, hits


def money(amount: Decimal) -> str:
    """An amount the French way: ``-1 234,56``."""
    return f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",")


@bp.route("")
@requires("search.use")
def search_page() -> Any:
    """ "Rechercher": query box, filters, the checkbox "Erreur lors de l'export", results."""
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    binders = db.session.scalars(scoping.binders_stmt().order_by(Binder.name)).all()
    error = None
    result, hits = None, []
    searched = bool(request.args)
    registry = classeur().binder_types
    chosen = registry.get(request.args.get("binder_type") or "")
    if searched:
        try:
            parsed = parse_search(request.args)
            result, hits = run_search(parsed)
        except SearchError as exc:
            error = exc
    args = request.args.to_dict()

    def page_url(n: int) -> str:
        return url_for("search.search_page", **{**args, "page": n})

    generic = searchable_fields([d for d, _h in hits])

    return render_template(
        "search/search.html",
        companies=companies,
        binders=binders,
        binder_types=registry.all(),
        labels=searchable_labels(chosen),
        type_labels={t.name: searchable_labels(t) for t in registry.all()},
        sorts=sort_labels(searchable_labels(chosen)),
        generic=generic,
        money=money,
        args=args,
        error=error,
        result=result,
        hits=hits,
        searched=searched,
        page_url=page_url,
        company_names={c.id: c for c in companies},
    )


class SearchArgsSchema(Schema):
    q = fields.String()
    company = fields.Integer()
    binder = fields.Integer()
    binder_type = fields.String()
    state = fields.String()
    date_from = fields.Date()
    date_to = fields.Date()
    amount_min = fields.Decimal(as_string=True)
    amount_max = fields.Decimal(as_string=True)
    export_error = fields.Boolean()
    sort = fields.String()
    page = fields.Integer()
    per_page = fields.Integer()


@api_bp.route("")
@requires("search.use")
@api_bp.doc(
    parameters=[
        {"in": "query", "name": name, "schema": {"type": "string"}}
        for name in SearchArgsSchema().fields
    ]
)
def api_search() -> Any:
    """Full-text search with filters; ``export_error=true`` keeps documents in export error."""
    try:
        parsed = parse_search(request.args)
    except SearchError as exc:
        abort(422, message=exc.message, field=exc.field, code="invalid")
    result, hits = run_search(parsed)
    generic = searchable_fields([d for d, _h in hits])
    return {
        "total": result.total,
        "total_is_exact": result.total_is_exact,
        "page": result.page,
        "per_page": result.per_page,
        "results": [
            {
                "id": d.id,
                "filename": d.filename,
                "company_id": d.company_id,
                "binder_id": d.binder_id,
                "binder_type": generic[d.id][0],
                "state": str(d.state),
                "searchable": generic[d.id][1].as_json(),
                "highlights": highlights,
                "url": url_for("documents.show", document_id=d.id),
            }
            for d, highlights in hits
        ],
    }
