"""HTTP client of the MEG API (contract: ``plugins/meg_export/openapi.yaml``).

``MegOAuth`` links an account (authorization code + PKCE S256, refresh); ``MegClient`` calls
the API, refreshes the token once on a 401 and raises ``MegApiError`` with a ``transient``
flag the exporter turns into a retry or an error shown to the accountant.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

log = logging.getLogger("classeur.plugins.meg_export")

DEFAULT_SCOPE = "dossiers:read purchases:write purchases:read"
USER_AGENT = "Classeur-MEG-connector/1"


class MegApiError(Exception):
    """An error from MEG (or from reaching it), with what the exporter needs to decide.

    ``transient`` is True for 5xx, 429, connection errors and time-outs (retry later);
    False for validation and permission errors (the accountant must fix something).
    """

    def __init__(
        self,
        message: str,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status
        self.transient = transient
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"MegApiError({self.message!r}, code={self.code!r}, field={self.field!r}, "
            f"status={self.status!r}, transient={self.transient!r}, "
            f"retry_after={self.retry_after!r})"
        )


def _with_expires_at(token: dict) -> dict:
    token = dict(token)
    if "expires_at" not in token and token.get("expires_in"):
        token["expires_at"] = int(time.time()) + int(token["expires_in"])
    return token


class MegOAuth:
    """OAuth2 helpers to link a MEG account: authorization URL with PKCE, code exchange,
    refresh and revocation. Tokens are plain dicts (``access_token``, ``refresh_token``,
    ``expires_in``, ``expires_at``, ``scope``, ``token_type``)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        *,
        scope: str = DEFAULT_SCOPE,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.timeout = timeout

    @property
    def authorize_endpoint(self) -> str:
        """URL of the authorization (login + consent) page."""
        return f"{self.base_url}/oauth/authorize"

    @property
    def token_endpoint(self) -> str:
        """URL of the token endpoint."""
        return f"{self.base_url}/oauth/token"

    def _session(self) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
        )

    def authorization_url(
        self, *, state: str | None = None, dossier: str | None = None
    ) -> tuple[str, str, str]:
        """Build the authorization URL; return ``(url, state, code_verifier)``.

        Keep ``state`` and ``code_verifier`` in the user's session until the callback.
        ``dossier`` pre-selects that dossier code on MEG's consent page.
        """
        code_verifier = generate_token(64)
        extra = {"dossier": dossier} if dossier else {}
        url, state = self._session().create_authorization_url(
            self.authorize_endpoint, state=state, code_verifier=code_verifier, **extra
        )
        return url, state, code_verifier

    def exchange_code(
        self,
        *,
        code_verifier: str,
        code: str | None = None,
        authorization_response: str | None = None,
        state: str | None = None,
    ) -> dict:
        """Exchange the code (or the whole callback URL, which also checks ``state``).

        Raises ``MegApiError`` (not transient) when MEG refuses, e.g. an ``error=access_denied``
        callback or a wrong verifier.
        """
        if authorization_response:
            params = parse_qs(urlsplit(authorization_response).query)
            if "error" in params:
                raise _oauth_error(AuthlibBaseError(error=params["error"][0]))
        session = self._session()
        if state is not None:
            session.state = state
        try:
            token = session.fetch_token(
                self.token_endpoint,
                code=code,
                authorization_response=authorization_response,
                code_verifier=code_verifier,
                timeout=self.timeout,
            )
        except AuthlibBaseError as error:
            raise _oauth_error(error) from error
        except requests.RequestException as error:
            raise _network_error(error, self.timeout) from error
        return _with_expires_at(dict(token))

    def refresh(self, refresh_token: str) -> dict:
        """Get a new token from a refresh token (MEG rotates the refresh token)."""
        try:
            token = self._session().refresh_token(
                self.token_endpoint, refresh_token=refresh_token, timeout=self.timeout
            )
        except AuthlibBaseError as error:
            raise _oauth_error(error) from error
        except requests.RequestException as error:
            raise _network_error(error, self.timeout) from error
        token = dict(token)
        token.setdefault("refresh_token", refresh_token)
        return _with_expires_at(token)

    def revoke(
        self,
        token: str,
        token_type_hint: str = "refresh_token",  # noqa: S107 - a hint name, not a secret
    ) -> None:
        """Revoke a token when the account is unlinked (errors are not fatal, only logged)."""
        try:
            response = requests.post(
                f"{self.base_url}/oauth/revoke",
                data={"token": token, "token_type_hint": token_type_hint},
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
            )
            if response.status_code >= 400:
                log.warning("MEG refused to revoke a token: HTTP %s", response.status_code)
        except requests.RequestException as error:
            log.warning("could not revoke the MEG token: %s", error)


def _oauth_error(error: AuthlibBaseError) -> MegApiError:
    code = error.error or "oauth_error"
    if code == "access_denied":
        message = "L'accès au compte MEG a été refusé lors de l'autorisation."
    elif code == "invalid_grant":
        message = (
            "L'autorisation MEG n'est plus valable : reliez à nouveau le compte MEG à ce dossier."
        )
    elif code == "mismatching_state":
        message = "La réponse d'autorisation de MEG ne correspond pas à la demande envoyée."
    else:
        message = f"MEG a refusé l'autorisation ({code})."
    return MegApiError(message, code=code, status=400, transient=False)


def _network_error(error: requests.RequestException, timeout: float) -> MegApiError:
    if isinstance(error, requests.Timeout):
        return MegApiError(
            f"MEG n'a pas répondu dans le délai imparti ({timeout:g} s).",
            code="timeout",
            transient=True,
        )
    return MegApiError(
        f"MEG est injoignable : {error.__class__.__name__}.",
        code="connection_error",
        transient=True,
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def error_from_response(response: requests.Response) -> MegApiError:
    """Turn an error response of the MEG API into a ``MegApiError``."""
    status = response.status_code
    code = message = field = None
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code, message, field = error.get("code"), error.get("message"), error.get("field")
    except ValueError:
        pass
    transient = status == 429 or status >= 500
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if message is None:
        message = (
            f"MEG est momentanément indisponible (HTTP {status})."
            if transient
            else f"MEG a refusé la requête (HTTP {status})."
        )
    return MegApiError(
        message,
        code=code or f"http_{status}",
        field=field,
        status=status,
        transient=transient,
        retry_after=retry_after if transient else None,
    )


class MegClient:
    """Client of the MEG API for one linked account (one token).

    On a 401 it refreshes the token once (``on_token_refreshed`` receives the new token dict,
    to be stored) and retries the request. With a ``token_store`` (an object with
    ``refresh(stale_token, do_refresh) -> token``, see :mod:`plugins.meg_export.tokens`) the
    refresh goes through it: it stores the new token, or hands back the one another worker
    refreshed meanwhile.
    """

    #: Where refreshes go when several workers share the token (None: refresh here).
    token_store: Any = None

    def __init__(
        self,
        base_url: str,
        token: dict,
        *,
        client_id: str,
        client_secret: str,
        on_token_refreshed: Callable[[dict], None] | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        token_store: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_store = token_store
        self.token = dict(token)
        self.on_token_refreshed = on_token_refreshed
        self.timeout = timeout
        self.session = session or requests.Session()
        self.oauth = MegOAuth(base_url, client_id, client_secret, timeout=timeout)

    # -- transport -----------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.token_store is not None:
            self.token = dict(self.token_store.refresh(dict(self.token), self.oauth.refresh))
            if self.on_token_refreshed is not None:
                self.on_token_refreshed(dict(self.token))
            return
        refresh_token = self.token.get("refresh_token")
        if not refresh_token:
            raise MegApiError(
                "Le jeton MEG a expiré et ne peut pas être renouvelé : reliez à nouveau le "
                "compte MEG.",
                code="invalid_token",
                status=401,
            )
        self.token = self.oauth.refresh(refresh_token)
        if self.on_token_refreshed is not None:
            self.on_token_refreshed(dict(self.token))

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/api/v1{path}"
        expires_at = self.token.get("expires_at")
        refreshed = False
        if expires_at and float(expires_at) <= time.time() and self.token.get("refresh_token"):
            self._refresh()
            refreshed = True
        while True:
            headers = dict(kwargs.pop("headers", {}) or {})
            headers["Authorization"] = f"Bearer {self.token['access_token']}"
            headers.setdefault("User-Agent", USER_AGENT)
            headers.setdefault("Accept", "application/json")
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as error:
                raise _network_error(error, self.timeout) from error
            kwargs["headers"] = headers
            if response.status_code == 401 and not refreshed:
                self._refresh()
                refreshed = True
                continue
            if response.status_code >= 400:
                raise error_from_response(response)
            return response

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._request("GET", path, params=params).json()

    # -- API -----------------------------------------------------------------------------

    def list_dossiers(self) -> list[dict]:
        """Dossiers the linked account may access (code, name, modules, licence,
        capabilities)."""
        return self._get("/dossiers")

    def list_suppliers(self, code: str) -> list[dict]:
        """Suppliers of dossier ``code``."""
        return self._get(f"/dossiers/{code}/suppliers")

    def create_supplier(self, code: str, supplier: dict) -> dict:
        """Create a supplier (name, siren, vat_number, country) in dossier ``code``."""
        return self._request("POST", f"/dossiers/{code}/suppliers", json=supplier).json()

    def create_purchase(
        self, code: str, purchase: dict, pdf: bytes, filename: str, idempotency_key: str
    ) -> dict:
        """Publish a purchase with its PDF; return the stored purchase (with ``payment``).

        Safe to retry with the same ``idempotency_key``: MEG answers the already stored
        purchase instead of creating a second one.
        """
        # The same bytes on every attempt: the idempotency check compares the request body.
        body = json.dumps(purchase, ensure_ascii=False, sort_keys=True)
        files = {
            "purchase": (None, body, "application/json"),
            "file": (filename or "facture.pdf", pdf, "application/pdf"),
        }
        response = self._request(
            "POST",
            f"/dossiers/{code}/purchases",
            files=files,
            headers={"Idempotency-Key": idempotency_key},
        )
        return response.json()

    def list_purchases(
        self, code: str, source: str | None = None, document_type: str | None = None
    ) -> list[dict]:
        """Purchases of dossier ``code``, optionally only those from ``source`` (e.g.
        "Classeur" or "MEG") and of one ``document_type`` (``invoice``, ``credit_note``)."""
        params = {"source": source, "document_type": document_type}
        return self._get(
            f"/dossiers/{code}/purchases", {k: v for k, v in params.items() if v} or None
        )

    def list_payments(self, code: str, status: str | None = None) -> list[dict]:
        """Payments of dossier ``code``, optionally filtered by status (``en_attente``)."""
        return self._get(f"/dossiers/{code}/payments", {"status": status} if status else None)

    def supervision(self, code: str) -> dict:
        """The supervision figure: ``last_purchase_import_at`` and ``platform``."""
        return self._get(f"/dossiers/{code}/supervision")
