"""Fixtures: a real MEG sandbox served on loopback, and tokens obtained through real OAuth.

Helpers are offered as fixtures (``authorize``, ``make_purchase``, ``serve_sandbox``) because
the test suite runs with ``--import-mode=importlib``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from core.binders.registry import BinderType
from core.plugins.hookspecs import hookimpl
from plugins.meg_export.client import MegClient, MegOAuth
from plugins.meg_export.sandbox import create_sandbox_app

CLIENT_ID = "classeur"
CLIENT_SECRET = "classeur-sandbox-secret"
REDIRECT_URI = "http://127.0.0.1:5000/meg/callback"
#: Public samples vendored with their licences (tests/data/invoices).
PDF_DIR = Path(__file__).resolve().parents[3] / "tests" / "data" / "invoices" / "invoice2data"
ALL_DOSSIERS = ["DEMO01", "DEMO02", "NOACH", "STD01"]


class Sandbox:
    """A running sandbox: its base URL and its Flask app."""

    def __init__(self, app, base_url: str) -> None:
        self.app = app
        self.base_url = base_url

    def faults(self, **values) -> dict:
        """Set fault switches over HTTP."""
        response = requests.post(f"{self.base_url}/_sandbox/faults", json=values, timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Wipe API purchases and faults."""
        requests.post(f"{self.base_url}/_sandbox/reset", timeout=5).raise_for_status()


@contextmanager
def _serve(config: dict) -> Iterator[Sandbox]:
    """Run a sandbox app with ``config`` on a free loopback port, threaded, until exit."""
    app = create_sandbox_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Sandbox(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _authorize(
    base_url: str,
    dossiers: list[str] | None = None,
    *,
    email: str = "demo@meg.example",
    password: str = "demo",
) -> tuple[dict, MegOAuth]:
    """Drive the whole code + PKCE flow as a browser would: login form, consent, redirect,
    then exchange the code. ``dossiers`` None means every dossier pre-checked."""
    oauth = MegOAuth(base_url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    url, state, verifier = oauth.authorization_url()
    browser = requests.Session()
    page = browser.get(url, timeout=5)  # redirected to the login page
    assert "/login" in page.url
    page = browser.post(
        f"{base_url}/login",
        data={
            "email": email,
            "password": password,
            "next": parse_qs(urlsplit(page.url).query)["next"][0],
        },
        timeout=5,
    )
    assert page.status_code == 200, page.text
    assert "Autoriser Classeur à accéder à vos dossiers MEG" in page.text
    if dossiers is None:
        dossiers = ALL_DOSSIERS
    answer = browser.post(
        url,
        data={"decision": "allow", "dossiers": dossiers},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT_URI)
    token = oauth.exchange_code(
        code_verifier=verifier, authorization_response=callback, state=state
    )
    return token, oauth


def _make_purchase(**overrides) -> dict:
    """A valid purchase body (1 line at 20 %), with overrides applied at the top level."""
    purchase = {
        "supplier": {
            "name": "Free",
            "siren": "421938861",
            "vat_number": "FR60421938861",
            "country": "france",
        },
        "invoice_number": "FA-2024-0001",
        "invoice_date": "2024-11-02",
        "due_date": "2024-12-02",
        "payment_mode": "prelevement",
        "currency": "EUR",
        "lines": [
            {
                "account": "626000",
                "label": "Abonnement fibre",
                "vat_code": "FR_200",
                "amount_excl_tax": "29.99",
                "vat_amount": "6.00",
            }
        ],
        "total_excl_tax": "29.99",
        "total_tax": "6.00",
        "total_incl_tax": "35.99",
        "vat_regime": "national",
        "source_platform": "Classeur",
        "partner_id": "doc-1",
    }
    purchase.update(overrides)
    return purchase


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One real sandbox server per test module, on a free loopback port."""
    with _serve({"SANDBOX_DATA_DIR": str(tmp_path_factory.mktemp("meg-sandbox"))}) as running:
        yield running


@pytest.fixture(scope="module")
def token(sandbox: Sandbox) -> dict:
    """A token for every dossier of the demo user."""
    return _authorize(sandbox.base_url)[0]


@pytest.fixture
def client(sandbox: Sandbox, token: dict) -> Iterator[MegClient]:
    """A MegClient on a clean sandbox (no API purchases, no faults)."""
    sandbox.reset()
    yield MegClient(
        sandbox.base_url, token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout=5
    )
    sandbox.reset()


@pytest.fixture(scope="session")
def pdf_bytes() -> bytes:
    """A real public invoice PDF."""
    return (PDF_DIR / "free_fiber.pdf").read_bytes()


@pytest.fixture(scope="session")
def authorize() -> Callable[..., tuple[dict, MegOAuth]]:
    """The browser-driven OAuth flow: ``authorize(base_url, dossiers=None)``."""
    return _authorize


@pytest.fixture(scope="session")
def make_purchase() -> Callable[..., dict]:
    """Build a valid purchase body: ``make_purchase(**overrides)``."""
    return _make_purchase


@pytest.fixture(scope="session")
def serve_sandbox() -> Callable[[dict], contextlib.AbstractContextManager[Sandbox]]:
    """Serve another sandbox with a given config: ``with serve_sandbox(config) as sb:``."""
    return _serve


# --- The connector wired into Classeur ------------------------------------------------------

PURCHASE_FIELDS = {
    "supplier": {
        "name": "Free",
        "siren": "421938861",
        "siret": None,
        "vat_number": "FR60421938861",
        "iban": None,
        "country": "FR",
    },
    "invoice_number": "FA-2024-0001",
    "invoice_date": "2024-11-02",
    "due_date": "2024-12-02",
    "currency": "EUR",
    "total_excl_tax": "100.00",
    "total_tax": "20.00",
    "total_incl_tax": "120.00",
    "vat_lines": [{"rate": "20", "base": "100.00", "amount": "20.00"}],
    "payment_mode": "direct_debit",
    "vat_regime": "standard",
    "document_kind": "invoice",
    "accounting": {
        "lines": [
            {
                "account": "626000",
                "label": "Abonnement fibre",
                "vat_code": "FR_200",
                "amount_excl_tax": "100.00",
                "vat_amount": "20.00",
            }
        ]
    },
}


class PurchaseBinderType:
    """A plain ``purchase_invoices`` binder type (any fields, no checks).

    The connector's tests load only ``core`` and ``meg_export``: what MEG receives and answers
    is under test here, not binder_purchases' review checks (chart of accounts, duplicates),
    which would otherwise refuse the invalid invoices these tests send on purpose.
    """

    @hookimpl
    def register_binder_types(self, register):
        register(BinderType(name="purchase_invoices", label="Factures d'achat", plugin="tests"))


@pytest.fixture
def app_config(app_config, sandbox):
    """Classeur's config pointing at this module's sandbox, with fast retries."""
    return {
        **app_config,
        "PLUGINS": "core,meg_export",
        "EXTRA_PLUGINS": [PurchaseBinderType()],
        "MEG_BASE_URL": sandbox.base_url,
        "MEG_TIMEOUT": 2,
        "WORKERS": 4,
        "EXPORT_RETRY_BASE": 0.05,
        "EXPORT_MAX_ATTEMPTS": 8,
    }


@pytest.fixture
def purchase_fields() -> Callable[..., dict]:
    """Fields of a purchase invoice as binder_purchases stores them:
    ``purchase_fields(**overrides)`` (top-level overrides)."""
    import copy

    def build(**overrides) -> dict:
        fields = copy.deepcopy(PURCHASE_FIELDS)
        fields.update(overrides)
        return fields

    return build


def _login(web, user) -> None:
    response = web.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 302, response.text


def _link_through_pages(
    web, sandbox: Sandbox, company, *, dossier: str | None = None, consent: list[str] | None = None
):
    """Drive the link from Classeur's tab: POST link → MEG login + consent (over HTTP) →
    Classeur's callback → "Choisir le dossier MEG" → POST the choice. Returns the last answer
    of Classeur (the redirect to the tab, or the choice page with an error)."""
    start = web.post(f"/companies/{company.id}/meg/link")
    assert start.status_code == 302, start.text
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(sandbox.base_url + "/oauth/authorize")
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=5)
    assert "/login" in page.url
    page = browser.post(
        f"{sandbox.base_url}/login",
        data={
            "email": "demo@meg.example",
            "password": "demo",
            "next": parse_qs(urlsplit(page.url).query)["next"][0],
        },
        timeout=5,
    )
    assert "Autoriser Classeur" in page.text
    answer = browser.post(
        authorize_url,
        data={"decision": "allow", "dossiers": consent or ALL_DOSSIERS},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == "/meg/callback"
    choose = web.get(f"{callback.path}?{callback.query}")
    assert choose.status_code == 200, choose.text
    assert "Choisir le dossier MEG" in choose.text
    return web.post("/meg/choose", data={"dossier": dossier or company.dossier_code})


@pytest.fixture(scope="session")
def login_web() -> Callable[..., None]:
    """Log a Flask test client in through the real form: ``login_web(web, user)``."""
    return _login


@pytest.fixture(scope="session")
def link_through_pages() -> Callable[..., object]:
    """The whole OAuth link through Classeur's pages: ``link_through_pages(web, sandbox,
    company, dossier=None, consent=None)``."""
    return _link_through_pages


@pytest.fixture
def meg_for(app, factory, sandbox, token, login_web, link_through_pages, authorize):
    """``meg_for("DEMO01")``: a firm whose company of that code is linked through the pages
    (a ``meg_helpers.Meg``)."""
    from tests.plugins.meg_export.meg_helpers import Meg

    sandbox.reset()

    def meg_token(server):
        return authorize(server.base_url)[0]

    def build(code: str = "DEMO01", own_sandbox=None) -> Meg:
        server = own_sandbox or sandbox
        app.config["MEG_BASE_URL"] = server.base_url
        firm = factory.firm()
        company = factory.company(firm, code=code)
        web = app.test_client()
        login_web(web, factory.user(firm, "admin"))
        answer = link_through_pages(web, server, company)
        assert answer.status_code == 302, answer.text
        return Meg(
            app, factory, server, token if own_sandbox is None else meg_token(server), web, company
        )

    yield build
    sandbox.reset()
