"""The sandbox's OAuth2 server: authorization code with mandatory PKCE S256, refresh tokens."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import g
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, scoped_session

from .models import OAuthAuthorizationCode, OAuthClient, OAuthToken, User
from .validation import ApiError

SCOPES = ("dossiers:read", "purchases:write", "purchases:read")


class S256CodeChallenge(CodeChallenge):
    """PKCE required for every client, confidential ones included, and only with S256."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Refuse an authorization request without an S256 ``code_challenge``."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE S256 is required).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        super().validate_code_challenge(grant, redirect_uri)


def build_oauth(
    app: Any, db: scoped_session[Session], token_lifetime: int
) -> tuple[AuthorizationServer, ResourceProtector]:
    """Create the authorization server and resource protector bound to ``app`` and ``db``."""

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            db.add(
                OAuthAuthorizationCode(
                    code=code,
                    client_id=request.client.client_id,
                    user_id=request.user.id,
                    redirect_uri=request.payload.redirect_uri or "",
                    scope=request.payload.scope or "",
                    dossier_codes=list(g.get("consented_dossiers", [])),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )
            )
            db.commit()

        def query_authorization_code(
            self, code: str, client: OAuthClient
        ) -> OAuthAuthorizationCode | None:
            item = db.scalar(
                select(OAuthAuthorizationCode).filter_by(code=code, client_id=client.client_id)
            )
            if item is not None and not item.is_expired():
                return item
            return None

        def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
            db.delete(authorization_code)
            db.commit()

        def authenticate_user(self, authorization_code: OAuthAuthorizationCode) -> User | None:
            return db.get(User, authorization_code.user_id)

    class RefreshTokenGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken | None:
            item = db.scalar(select(OAuthToken).filter_by(refresh_token=refresh_token))
            if item is not None and not item.refresh_token_revoked_at:
                return item
            return None

        def authenticate_user(self, refresh_token: OAuthToken) -> User | None:
            return db.get(User, refresh_token.user_id)

        def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
            import time

            now = int(time.time())
            refresh_token.access_token_revoked_at = now
            refresh_token.refresh_token_revoked_at = now
            db.commit()

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
            return db.scalar(
                select(OAuthToken).where(
                    or_(
                        OAuthToken.access_token == token_string,
                        OAuthToken.refresh_token == token_string,
                    )
                )
            )

        def revoke_token(self, token: OAuthToken, request: Any) -> None:
            import time

            now = int(time.time())
            token.access_token_revoked_at = now
            if request.form.get("token_type_hint") != "access_token":
                token.refresh_token_revoked_at = now
            db.commit()

    def query_client(client_id: str) -> OAuthClient | None:
        return db.scalar(select(OAuthClient).filter_by(client_id=client_id))

    def save_token(token: dict, request: Any) -> None:
        if request.authorization_code is not None:
            dossiers = list(request.authorization_code.dossier_codes or [])
        elif request.refresh_token is not None:
            dossiers = list(request.refresh_token.dossier_codes or [])
        else:  # pragma: no cover - no other grant is registered
            dossiers = []
        db.add(
            OAuthToken(
                client_id=request.client.client_id,
                user_id=request.user.id,
                token_type=token.get("token_type", "Bearer"),
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                scope=token.get("scope", ""),
                expires_in=int(token.get("expires_in", token_lifetime)),
                dossier_codes=dossiers,
            )
        )
        db.commit()

    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": token_lifetime,
        "refresh_token": token_lifetime,
    }
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(SCOPES))
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> OAuthToken | None:
            return db.scalar(select(OAuthToken).filter_by(access_token=token_string))

    class Protector(ResourceProtector):
        def raise_error_response(self, error: OAuth2Error) -> None:
            if error.error == "insufficient_scope":
                raise ApiError(
                    403,
                    "insufficient_scope",
                    "L'autorisation accordée à l'application ne couvre pas cette opération.",
                )
            raise ApiError(
                401,
                "invalid_token",
                "Jeton d'accès absent, invalide ou expiré : rafraîchissez le jeton ou "
                "reconnectez le compte MEG.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    protector = Protector()
    protector.register_token_validator(Validator())
    return server, protector
