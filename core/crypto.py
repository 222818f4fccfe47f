"""Secrets at rest (connector tokens): Fernet encryption with a key from the configuration.

``ENCRYPTION_KEY`` (a Fernet key) is used when given; otherwise a key is generated once in the
data folder (``encryption_key``, mode 0600). Several keys may be given separated by commas:
the first encrypts, all decrypt (key rotation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from core.config import read_or_create_secret


class SecretError(Exception):
    """A secret could not be decrypted (wrong or rotated-away key)."""


def _fernet(config: Any) -> MultiFernet:
    raw = config.get("ENCRYPTION_KEY") or ""
    if not raw:
        path = Path(config["DATA_DIR"]) / "encryption_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key().decode()
            # Write through the same exclusive, private path as the secret key.
            import os

            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(key)
        raw = read_or_create_secret(path, create=False) or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_json(value: Any, config: Any = None) -> str:
    """Encrypt a JSON-serialisable value to a text token."""
    config = config if config is not None else current_app.config
    return _fernet(config).encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str, config: Any = None) -> Any:
    """Decrypt a token made by :func:`encrypt_json`."""
    config = config if config is not None else current_app.config
    try:
        return json.loads(_fernet(config).decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise SecretError("Secret illisible : clé de chiffrement changée ?") from exc
