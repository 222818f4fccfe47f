"""Every hook of Classeur, typed and documented.

Hooks are called with keyword arguments only, through :class:`core.plugins.manager.Hooks`.
An implementation may accept fewer arguments than its spec, so a spec can gain an argument
without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pluggy

if TYPE_CHECKING:
    from flask import Flask

    from core.binders.registry import BinderType
    from core.documents.models import Document
    from core.exports.registry import Exporter, ExportResult
    from core.plugins.activation import PluginInfo
    from core.tasks.registry import TaskSpec
    from core.tenancy.models import Company
    from core.tenancy.tabs import CompanyTab

PROJECT = "classeur"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Contributions --------------------------------------------------------------------------


@hookspec
def plugin_info() -> PluginInfo | dict[str, Any] | None:
    """Declare what this plugin is: a :class:`core.plugin_api.PluginInfo` (or a dict of its
    fields) with ``label`` (French), ``kind`` (``binder_type``, ``reader``, ``exporter``,
    ``period_exporter``, ``intake`` or ``other``) and ``default_enabled``.

    Every plugin can be switched on or off per firm and per company (the "Modules" page);
    ``default_enabled`` is its switch where nobody switched it: on for binder types and
    readers, off for connectors until an administrator switches them on. Called once per
    plugin at start-up; the switch is keyed by the name the plugin was loaded under. A plugin
    without it is guessed from what it registers.
    """


@hookspec
def register_binder_types(register: Callable[[BinderType], None]) -> None:
    """Contribute binder types by calling ``register(BinderType(...))`` once for each.

    A binder type names a kind of binder (``purchase_invoices``, ``sales_invoices``...), its
    French label, and how its documents' fields are validated and reviewed. Registering the
    same name twice stops start-up.
    """


@hookspec
def register_exporters(register: Callable[[Exporter], None]) -> None:
    """Contribute export connectors by calling ``register(exporter)``.

    An exporter declares ``name``, ``label``, ``description`` and the ``binder_types`` it
    subscribes to; the core only ever hands it documents of those binder types, and records
    its outcome in ``ExportStatus`` itself.

    Two kinds are told apart by their method: a document exporter (``export(context)``, see
    ``core.exports.registry.Exporter``) gets each validated document; a period exporter
    (``export_period(context) -> bytes``, ``PeriodExporter``: ``date_field``,
    ``media_type``, ``filename(company, start, end)``) produces one file over a company and a
    period when asked (``core.exports.periods.export_period``), stored as a versioned
    ``ExportBatch``, each document in it getting its ``ExportStatus``.
    """


@hookspec
def config_defaults() -> dict[str, Any]:
    """Declare the plugin's settings with their defaults, e.g. ``{"MEG_TIMEOUT": 15}``.

    Each is set by ``CLASSEUR_<NAME>`` in the environment or by the ``config`` given to
    ``create_app`` (converted to the default's type) and is in ``app.config`` from start-up,
    before any other hook but the plugin manager's own. A plugin names its settings with its
    own prefix; the core keeps only its own.
    """


@hookspec
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Contribute background tasks by calling ``register(TaskSpec(...))``.

    A task declares once its ``name``, the function it runs (plain JSON arguments, a fresh app
    context), its ``queue`` (``reading``, ``exports``, ``training`` or ``default``, each with
    its own workers), and optionally the ``lease`` of the row it claims (put back by both
    runners when its worker died), ``poll`` (work waiting in the database) and
    ``outstanding`` (work left, to wait until idle). The in-process runner and the Celery
    workers both read these; ``classeur().tasks.submit(name, *args)`` queues one.
    """


@hookspec
def register_blueprints(register: Callable[..., None]) -> None:
    """Contribute Flask blueprints by calling ``register(blueprint, url_prefix=...)``.

    A ``flask_smorest.Blueprint`` (JSON endpoints under ``/api/v1``) is registered on the
    API, so its endpoints appear in the OpenAPI documentation; any other on the app.
    """


@hookspec
def register_cli_commands(cli: click.Group) -> None:
    """Add commands or groups to the ``classeur`` command line with ``cli.add_command``."""


@hookspec
def before_serve(app: Flask, options: dict[str, Any]) -> None:
    """Called by ``classeur serve`` once the app is migrated and its port bound, before serving.

    ``options`` holds every parsed option of ``serve`` by parameter name: the core's
    ``host``, ``port`` and ``threads``, and those plugins added to the command in
    ``register_cli_commands`` (``cli.commands["serve"].params.append(click.Option(...))``;
    ``None`` when not given). A plugin starts its companion processes or threads here (the
    ``meg_export`` plugin serves its MEG sandbox for ``--with-meg-sandbox PORT``) and may
    adjust ``app.config``. Not called by other WSGI servers (``wsgi:app`` under gunicorn).
    """


@hookspec
def register_company_tabs(register: Callable[[CompanyTab], None]) -> None:
    """Contribute tabs of the company's "Comptabilité" page by calling ``register(tab)``.

    A tab has an ``id``, a French ``label`` and an ``endpoint`` (a view taking ``company_id``)
    rendering its content; the core lists them beside "Paramétrage général".
    """


@hookspec
def company_details(company: Company) -> dict[str, dict[str, Any]] | None:
    """Facts a plugin adds about a company, shown on its page and returned by its API.

    Return ``{key: {"label": French label, "value": JSON-serialisable value}}`` (or None).
    Each ``key`` joins the company's JSON (``GET /api/v1/companies`` and
    ``/api/v1/companies/<id>``) with its ``value``; each ``label`` and ``value`` is listed on
    the company page ("Entreprise"). Keys are snake_case and prefixed or specific enough not to
    clash (``collection_address``); a key the core already returns (``id``, ``name``...) is
    ignored. Called once per company shown, in read-only requests too: keep it cheap. A
    failing implementation is logged and its facts are left out.
    """


@hookspec
def seed_demo_company(company: Company) -> None:
    """Called by ``classeur init --demo`` for each demo company it has just created.

    The core creates the company (name, dossier code, SIREN) and, after this hook, its own
    binders ("Factures de vente", "Documents administratifs"); a plugin adds what the demo
    needs of it: binders of its types, the company's settings (``binder_purchases``: the
    purchase binder and the accounting elements; ``meg_export``: MEG as accounting software).
    Settings sections are shared between plugins: merge into the section's current value
    rather than replacing it. Flush, do not commit (the command commits once). Not called for
    demo companies that already exist.
    """


# --- Document processing --------------------------------------------------------------------


@hookspec(firstresult=True)
def extract_text(
    document: Document, path: Path, pages: list[int], config: dict[str, Any]
) -> dict[int, str] | None:
    """Read the text of the given 1-based ``pages`` of a document that has no usable text.

    ``path`` is the stored original. Return ``{page: text}``, or None to let another plugin
    answer. Raise an exception with a clear message when reading fails: the document is then
    marked failed with that reason and can be retried.

    A page's text may carry its words with their positions: a ``str`` subclass with a
    ``words`` attribute, a list of dicts ``{"text", "x0", "y0", "x1", "y1", "conf", "block",
    "line"}`` (coordinates in fractions of the page, 0..1 from the top-left corner of the
    upright page; ``conf`` 0..1; ``line`` a line number unique within the page). The core
    hands them to the binder type's ``extract`` as ``layout`` and keeps them with the document (see
    :func:`core.documents.pipeline.stored_ocr_words`).
    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def read_region(
    document: Document,
    path: Path,
    page: int,
    box: tuple[float, float, float, float],
    digits: bool,
    config: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """Read one region of a scanned page again, more carefully; return its words.

    Asked by a plugin whose reading of a scan does not hold together (an invoice whose totals
    do not add up): ``box`` is ``(x0, y0, x1, y1)`` in fractions of the upright page (the
    coordinates of the words ``extract_text`` gave), ``page`` 1-based, ``digits`` asks for a
    reading of figures only. Return the words found, in the same form and page coordinates as
    ``extract_text``'s words, or None when this plugin does not read such files.
    Stops at first non-None result.
    """


@hookspec
def after_document_stored(document: Document) -> None:
    """Called after a new document's row and original are committed (before it is read)."""


@hookspec
def after_document_validated(document: Document, user_id: int | None) -> None:
    """Called after a document was validated and committed; exports are dispatched next."""


@hookspec(firstresult=True)
def document_payment(document: Document) -> dict[str, Any] | None:
    """The payment state of a validated document as a connector knows it (read back from the
    accounting software), or None when this plugin knows nothing of it.

    Return ``{"state": "pending" | "paid", "due_date": date | None, "paid_at": date | None,
    "amount": str | None, "connector": plugin or connector name}``: the client portal shows
    "Règlement en attente" with the due date, or "Réglé le …". Called for each document the
    portal lists (in read-only requests): read what the plugin stored, never call a remote
    system here. Not called for plugins switched off for the document's company; a failing
    implementation is logged and skipped.
    Stops at first non-None result.
    """


@hookspec
def after_export(document: Document, connector: str, result: ExportResult) -> None:
    """Called after an export attempt's outcome was committed (success or error)."""
