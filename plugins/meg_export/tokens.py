"""Each linked company's MEG token, in the database and refreshed exactly once.

MEG rotates refresh tokens: a refresh token works once, and the second worker refreshing
with it is refused (``invalid_grant``), which would break the link. So a worker that needs a
refresh:

1. waits for its process's lock of that company (threads of one process queue here rather
   than on the database);
2. locks the company's ``meg_export_tokens`` row — ``SELECT ... FOR UPDATE`` on PostgreSQL;
   on SQLite, which serialises writers, a first no-op ``UPDATE`` takes the database's write
   lock before the row is read — so workers of every process and machine queue there;
3. re-reads the token: if it is no longer the one the worker found expired, another worker
   refreshed it meanwhile and this one adopts it; otherwise it refreshes, stores the new token
   (encrypted) and commits, which releases the lock.

Everything happens in sessions of its own (``db.fresh_session()``), never in the caller's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, update

from core.plugin_api import SecretError, db, decrypt_json, encrypt_json, utcnow
from plugins.meg_export.client import MegApiError
from plugins.meg_export.models import MegToken


class TokenMissing(MegApiError):
    """The company has no usable stored token (never linked, or unlinked meanwhile)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "Le jeton MEG est introuvable ou illisible : reliez à nouveau le compte MEG "
            f"({reason}).",
            code="invalid_token",
            status=401,
        )


class ProcessLocks:
    """One lock per company for the threads of this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}

    @contextmanager
    def hold(self, company_id: int) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(company_id, threading.Lock())
        with lock:
            yield


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("access_token") == b.get("access_token") and a.get("refresh_token") == b.get(
        "refresh_token"
    )


class TokenStore:
    """The stored token of one company (``firm_id``, ``company_id``)."""

    def __init__(
        self,
        firm_id: int,
        company_id: int,
        *,
        locks: ProcessLocks | None = None,
        config: Any = None,
    ) -> None:
        self.firm_id = firm_id
        self.company_id = company_id
        self.locks = locks or ProcessLocks()
        self.config = config
        #: Refreshes this store made (tests and logs).
        self.refreshes = 0

    def _decrypt(self, raw: str) -> dict[str, Any]:
        try:
            return decrypt_json(raw, self.config)
        except SecretError as exc:
            raise TokenMissing("token unreadable") from exc

    def _encrypt(self, token: dict[str, Any]) -> str:
        return encrypt_json(token, self.config)

    def load(self) -> dict[str, Any] | None:
        """The decrypted token, or None when the company is not linked."""
        with db.fresh_session() as session:
            raw = session.scalar(
                select(MegToken.token).where(MegToken.company_id == self.company_id)
            )
            session.rollback()
        if raw is None:
            return None
        return self._decrypt(raw)

    def refresh(
        self, stale: dict[str, Any], do_refresh: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        """The token to use instead of ``stale``: the one another worker stored since, or a
        new one from ``do_refresh(refresh_token)``, stored before the lock is released.

        Raises :class:`TokenMissing` when the company was unlinked meanwhile; whatever
        ``do_refresh`` raises (MEG refusing) leaves the stored token as it was.
        """
        with self.locks.hold(self.company_id), db.fresh_session() as session:
            try:
                if session.get_bind().dialect.name == "sqlite":
                    # Take SQLite's write lock before reading (a no-op write): the re-read
                    # below then sees the last committed refresh, and no other writer can
                    # commit one until this transaction ends.
                    session.execute(
                        update(MegToken)
                        .where(MegToken.company_id == self.company_id)
                        .values(version=MegToken.version)
                        .execution_options(synchronize_session=False)
                    )
                row = session.scalar(
                    select(MegToken).where(MegToken.company_id == self.company_id).with_for_update()
                )
                if row is None:
                    raise TokenMissing("not linked")
                current = self._decrypt(row.token)
                if not _same(current, stale):
                    session.rollback()
                    return current  # another worker refreshed it meanwhile
                refresh_token = current.get("refresh_token")
                if not refresh_token:
                    raise TokenMissing("no refresh token")
                new = do_refresh(refresh_token)
                row.token = self._encrypt(new)
                row.version = (row.version or 0) + 1
                row.refreshed_at = utcnow()
                session.commit()
                self.refreshes += 1
                return new
            except BaseException:
                session.rollback()
                raise


def save(session: Any, firm_id: int, company_id: int, token: dict[str, Any]) -> MegToken:
    """Store ``token`` (encrypted) for the company in ``session``; flushes."""
    row = session.scalar(select(MegToken).where(MegToken.company_id == company_id))
    if row is None:
        row = MegToken(firm_id=firm_id, company_id=company_id, token="", version=0)
        session.add(row)
    row.token = encrypt_json(token)
    row.version = (row.version or 0) + 1
    session.flush()
    return row


def forget(session: Any, company_id: int) -> bool:
    """Delete the company's token; flushes. False when there was none."""
    row = session.scalar(select(MegToken).where(MegToken.company_id == company_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def stored_raw(session: Any, company_id: int) -> str | None:
    """The encrypted token of the company, or None."""
    return session.scalar(select(MegToken.token).where(MegToken.company_id == company_id))
