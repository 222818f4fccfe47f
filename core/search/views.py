"""Page "Rechercher" and ``GET /api/v1/search``: the same parameters, the same scoping.

The page shows each result's party, number, date, amount, company, binder and state with its
highlight, facets with counts (``core.search.results``), pagination that does not count every
hit, saved searches (``core.search.saved``) and a CSV of the results (page and API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest import abort
from marshmallow import Schema, fields

from core.auth.permissions import requires
from core.binders.models import Binder
from core.binders.searchable import searchable_labels
from core.db import db
from core.documents.models import STATE_LABELS
from core.search import saved as saved_searches
from core.search.backend import SearchQuery, SearchResult
from core.search.results import (
    CSV_MAX_ROWS,
    FACET_SAMPLE,
    Facets,
    ResultRow,
    build_rows,
    compute_facets,
    count,
    csv_lines,
    is_complete,
    matching_ids,
    money,
    snippet,
)
from core.search.services import export_error_ids, search
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
    # Typed the French way: "1 000,50 €" (spaces, no-break spaces, a currency sign).
    raw = re.sub(r"[\s\u00a0\u202f€]|eur(?:os?)?$", "", (args.get(name) or "").strip(), flags=re.I)
    raw = raw.replace(",", ".")
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


def facet_sample() -> int:
    """Matching ids the facets are counted over (``SEARCH_FACET_SAMPLE``)."""
    return max(1, int(current_app.config.get("SEARCH_FACET_SAMPLE") or FACET_SAMPLE))


def csv_max_rows() -> int:
    """Rows of a CSV of the results at most (``SEARCH_CSV_MAX_ROWS``)."""
    return max(1, int(current_app.config.get("SEARCH_CSV_MAX_ROWS") or CSV_MAX_ROWS))


@dataclass
class Outcome:
    """A page of results: the rows, the facets and what is known of the total."""

    result: SearchResult
    rows: list[ResultRow]
    facets: Facets | None
    #: Exact when ``total_is_exact``, otherwise a lower bound ("plus de N résultats").
    total: int
    total_is_exact: bool
    has_next: bool


def _restrict_to_export_errors(parsed: ParsedSearch) -> None:
    # The export state is in the database, never in the index.
    if parsed.export_error:
        errors = export_error_ids(parsed.query.firm_id)
        restrict = parsed.query.restrict_ids
        parsed.query.restrict_ids = errors if restrict is None else restrict & errors


def run_search(
    parsed: ParsedSearch, *, with_facets: bool = False, args: dict[str, str] | None = None
) -> Outcome:
    """Search, then load the hits through the scoped document query (defence in depth).

    With ``with_facets``, also count the facets over the first :func:`facet_sample` matches
    (or exactly in SQL when the database can apply every filter); this also turns an
    estimated total into an exact one or a sure lower bound.
    """
    _restrict_to_export_errors(parsed)
    # The index query may take a while: do not hold the database meanwhile (SQLite).
    db.session.commit()
    q = parsed.query
    result = search(q)
    rows = build_rows((h.id, h.highlights) for h in result.hits)
    total, exact = result.total, result.total_is_exact
    facets = None
    if with_facets:
        if q.page == 1 and exact and result.total <= len(result.hits):
            sample, complete = [h.id for h in result.hits], True
        else:
            limit = facet_sample()
            sample, answer = matching_ids(replace(q, sort="relevance"), limit)
            complete = is_complete(answer, sample, limit)
        facets = compute_facets(
            q, args or {}, export_error=parsed.export_error, sample=sample, complete=complete
        )
        if not exact:
            if complete:
                total, exact = len(sample), True
            elif facets.exact_total is not None:
                total, exact = facets.exact_total, True
    if not exact:
        # Never more than what was seen: "plus de N" must be true.
        seen = (q.page - 1) * q.per_page + len(result.hits)
        sampled = facets.counted if facets is not None else 0
        total = max(seen, sampled)
    has_next = len(result.hits) >= q.per_page and (not exact or q.page * q.per_page < total)
    return Outcome(result, rows, facets, total, exact, has_next)


def _page_context(args: dict[str, str]) -> dict[str, Any]:
    companies = db.session.scalars(scoping.companies_stmt().order_by(Company.name)).all()
    binders = db.session.scalars(scoping.binders_stmt().order_by(Binder.name)).all()
    registry = classeur().binder_types
    chosen = registry.get(args.get("binder_type") or "")
    company_names = {c.id: c for c in companies}
    return {
        "companies": companies,
        "binders": binders,
        "binder_types": registry.all(),
        "labels": searchable_labels(chosen),
        "sorts": sort_labels(searchable_labels(chosen)),
        "company_names": company_names,
        "money": money,
        "count": count,
        "snippet": snippet,
        "csv_max": csv_max_rows(),
        "saved_params": saved_searches.clean_params(args),
        # The selection bar's « Déplacer » (core/web/templates/binders/_bulk.html).
        "move_targets": [(b, company_names[b.company_id]) for b in binders],
        "bulk_actions": ("validate", "move", "trash", "resend", "archive", "download"),
    }


@bp.route("")
@requires("search.use")
def search_page() -> Any:
    """ "Rechercher": query box, filters, the checkbox "Erreur lors de l'export", results,
    facets, pages, "Enregistrer cette recherche" and "Exporter en CSV"."""
    error = None
    outcome = None
    searched = bool(request.args)
    args = request.args.to_dict()
    if searched:
        try:
            parsed = parse_search(request.args)
        except SearchError as exc:
            error = exc
        else:
            outcome = run_search(parsed, with_facets=True, args=args)

    def page_url(n: int) -> str:
        return url_for("search.search_page", **{**args, "page": n})

    def facet_url(params: dict[str, str]) -> str:
        return url_for("search.search_page", **params)

    def clear_url(names: list[str]) -> str:
        return url_for(
            "search.search_page",
            **{k: v for k, v in args.items() if k not in names and k != "page"},
        )

    csv_args = {k: v for k, v in args.items() if k not in {"page", "per_page"}}
    return render_template(
        "search/search.html",
        **_page_context(args),
        args=args,
        error=error,
        outcome=outcome,
        result=outcome.result if outcome else None,
        rows=outcome.rows if outcome else [],
        facets=outcome.facets if outcome else None,
        searched=searched,
        page_url=page_url,
        facet_url=facet_url,
        clear_url=clear_url,
        csv_url=url_for("search.export_csv", **csv_args),
    )


def _csv_response(parsed: ParsedSearch) -> Response:
    """The results of ``parsed`` (its sort, at most :func:`csv_max_rows`) as a CSV file."""
    _restrict_to_export_errors(parsed)
    db.session.commit()
    limit = csv_max_rows()
    ids, answer = matching_ids(parsed.query, limit)
    complete = is_complete(answer, ids, limit)
    rows: list[ResultRow] = []
    for start in range(0, len(ids), 500):
        rows.extend(build_rows((i, {}) for i in ids[start : start + 500]))
        db.session.expunge_all()  # rows keep their values; the session stays small

    def url_of(doc_id: int) -> str:
        return url_for("documents.show", document_id=doc_id, _external=True)

    body = "".join(csv_lines(rows, url_of)).encode("utf-8")
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="recherche.csv"'
    response.headers["X-Classeur-Rows"] = str(len(rows))
    # The file holds the first CSV_MAX_ROWS results only: said in a header, not in the data.
    response.headers["X-Classeur-Truncated"] = "0" if complete else "1"
    return response


@bp.route("/export.csv")
@requires("search.use")
def export_csv() -> Any:
    """ "Exporter en CSV": the results of the page's search, the same columns."""
    try:
        parsed = parse_search(request.args)
    except SearchError as exc:
        flash(exc.message, "error")
        return redirect(url_for("search.search_page", **request.args.to_dict()))
    return _csv_response(parsed)


# -- saved searches ---------------------------------------------------------------------------


@bp.app_context_processor
def _saved_search_menu() -> dict[str, Any]:
    def menu_saved_searches() -> list[saved_searches.SavedSearch]:
        from flask_login import current_user

        if not current_user.is_authenticated or not current_user.memberships:
            return []
        return saved_searches.saved_searches()

    return {"menu_saved_searches": menu_saved_searches}


@bp.route("/saved", methods=["GET"])
@requires("search.use")
def saved_list() -> Any:
    """ "Recherches enregistrées": the user's saved searches; open, rename, delete."""
    return render_template(
        "search/saved.html", saved=saved_searches.saved_searches(), max_name=saved_searches.MAX_NAME
    )


@bp.route("/saved", methods=["POST"])
@requires("search.use")
def save() -> Any:
    """ "Enregistrer cette recherche": the posted query and filters under a name."""
    params = saved_searches.clean_params(request.form)
    try:
        saved = saved_searches.save_search(
            request.form.get("name"), request.form, replace=request.form.get("replace") == "on"
        )
    except saved_searches.SavedSearchError as exc:
        flash(exc.message, "error")
        return redirect(url_for("search.search_page", **params))
    db.session.commit()
    flash(_("Recherche « %(name)s » enregistrée.", name=saved.name), "success")
    return redirect(url_for("search.search_page", **params))


@bp.route("/saved/<int:saved_id>")
@requires("search.use")
def saved_open(saved_id: int) -> Any:
    """Run a saved search (its parameters on the search page)."""
    saved = saved_searches.get_saved_search(saved_id)
    params = saved_searches.clean_params(saved.params)
    return redirect(url_for("search.search_page", **(params or {"q": ""})))


@bp.route("/saved/<int:saved_id>/rename", methods=["POST"])
@requires("search.use")
def saved_rename(saved_id: int) -> Any:
    """Rename a saved search."""
    saved = saved_searches.get_saved_search(saved_id)
    try:
        saved_searches.rename_search(saved, request.form.get("name"))
    except saved_searches.SavedSearchError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Recherche renommée « %(name)s ».", name=saved.name), "success")
    return redirect(url_for("search.saved_list"))


@bp.route("/saved/<int:saved_id>/delete", methods=["POST"])
@requires("search.use")
def saved_delete(saved_id: int) -> Any:
    """Delete a saved search."""
    saved = saved_searches.get_saved_search(saved_id)
    name = saved.name
    saved_searches.delete_search(saved)
    db.session.commit()
    flash(_("Recherche « %(name)s » supprimée.", name=name), "success")
    return redirect(url_for("search.saved_list"))


# -- API --------------------------------------------------------------------------------------


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
    format = fields.String()


@api_bp.route("")
@requires("search.use")
@api_bp.doc(
    parameters=[
        {"in": "query", "name": name, "schema": {"type": "string"}}
        for name in SearchArgsSchema().fields
    ]
)
def api_search() -> Any:
    """Full-text search with filters; ``export_error=true`` keeps documents in export error.

    ``format=csv`` (or ``GET /api/v1/search.csv``) answers with the results as CSV (the
    page's columns, at most 5,000 rows; ``X-Classeur-Truncated: 1`` when there were more).
    """
    try:
        parsed = parse_search(request.args)
    except SearchError as exc:
        abort(422, message=exc.message, field=exc.field, code="invalid")
    fmt = request.args.get("format") or "json"
    if fmt == "csv":
        return _csv_response(parsed)
    if fmt != "json":
        abort(422, message=f"Format inconnu : {fmt} (json ou csv).", field="format", code="invalid")
    outcome = run_search(parsed)
    return {
        "total": outcome.result.total,
        "total_is_exact": outcome.result.total_is_exact,
        "page": outcome.result.page,
        "per_page": outcome.result.per_page,
        "has_next": outcome.has_next,
        "results": [
            {
                "id": row.document.id,
                "filename": row.document.filename,
                "company_id": row.document.company_id,
                "company_name": row.company_name,
                "binder_id": row.document.binder_id,
                "binder_name": row.binder_name,
                "binder_type": row.binder_type,
                "state": str(row.document.state),
                "searchable": row.searchable.as_json(),
                "highlights": row.highlights,
                "url": url_for("documents.show", document_id=row.document.id),
            }
            for row in outcome.rows
        ],
    }


@requires("search.use")
def api_search_csv() -> Any:
    """``GET /api/v1/search.csv``: :func:`api_search` with ``format=csv``."""
    try:
        parsed = parse_search(request.args)
    except SearchError as exc:
        abort(422, message=exc.message, field=exc.field, code="invalid")
    return _csv_response(parsed)


@api_bp.record_once
def _register_csv_alias(state: Any) -> None:
    # A blueprint rule always gets the "/api/v1/search/" prefix: this one is the app's.
    state.app.add_url_rule("/api/v1/search.csv", "api_search_csv", api_search_csv)
