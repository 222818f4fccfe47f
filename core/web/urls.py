"""Where a page may send the user back to: only a path of this site (never an open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None, fallback: str) -> str:
    """``target`` when it is a path of this site, else ``fallback``.

    Refused: empty, absolute URLs, scheme-relative ``//host`` and ``/\\host`` (browsers read a
    backslash as a slash).
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target
