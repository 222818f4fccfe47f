"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from core.auth.models import ApiToken, User
from core.db import db, utcnow
from core.tenancy.models import Company, Firm, Membership, Role

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "clsr_"  # noqa: S105 - a public prefix, not a secret
SCOPES = ("read", "write", "admin")


class AuthError(ValueError):
    """A user or token request Classeur refuses; ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check_password_policy(password: str) -> None:
    """At least 10 characters, not only letters or only digits."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.",
            "password",
        )
    if password.isalpha() or password.isdigit():
        raise AuthError("Le mot de passe doit mêler lettres et chiffres ou symboles.", "password")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise AuthError("Adresse e-mail invalide.", "email")
    return email


def create_user(
    email: str,
    password: str,
    firm: Firm,
    role: Role | str,
    *,
    name: str = "",
    companies: list[Company] | None = None,
) -> User:
    """Create a user with a membership in ``firm``; flushes, the caller commits."""
    email = normalise_email(email)
    check_password_policy(password)
    try:
        role = Role(role)
    except ValueError as exc:
        raise AuthError(f"Rôle inconnu : {role}.", "role") from exc
    session = db.session
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AuthError("Un utilisateur existe déjà avec cette adresse.", "email")
    method = current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"
    user = User(
        email=email, name=name, password_hash=generate_password_hash(password, method=method)
    )
    membership = Membership(firm=firm, role=role, companies=list(companies or []))
    user.memberships.append(membership)
    session.add(user)
    session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    try:
        email = normalise_email(email)
    except AuthError:
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: User,
    *,
    name: str = "",
    scopes: tuple[str, ...] | list[str] = ("read", "write"),
    expires_in_days: int | None = 365,
) -> tuple[ApiToken, str]:
    """Create an API token; returns the row and the clear token (shown once, never stored)."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise AuthError(f"Portée inconnue : {', '.join(bad) or '(aucune)'}.", "scopes")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at: datetime | None = None
    if expires_in_days:
        expires_at = utcnow() + timedelta(days=expires_in_days)
    token = ApiToken(
        user=user,
        name=name,
        token_hash=hash_token(clear),
        prefix=clear[: len(TOKEN_PREFIX) + 4],
        scopes=" ".join(scopes),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, clear


def user_for_token(clear: str) -> tuple[User, ApiToken] | None:
    """The user behind a valid (known, unexpired, unrevoked) token."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(clear)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token.user, token
