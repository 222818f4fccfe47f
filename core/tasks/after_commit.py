"""One after-commit step: services change state and say what must follow (tasks to queue,
documents to index or to drop from the index); it runs once the transaction that made the
change has committed, and is forgotten if that transaction rolls back.

A worker never picks up a row that is not committed yet, and a rolled-back change never
reaches the index nor a remote system. Callers only commit::

    document.state = DocumentState.VALIDATED
    after_commit.reindex([document.id])
    after_commit.queue("run_export", status.id)
    db.session.commit()          # → the index is updated, then the export is queued

Outside a transaction (nothing to wait for) the work runs at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("classeur.tasks")

_KEY = "classeur_after_commit"


@dataclass
class _Work:
    """What one transaction asked for, in order: index first, then tasks (a task may read
    the index, never the other way round)."""

    index: list[int] = field(default_factory=list)
    unindex: list[tuple[int, list[int]]] = field(default_factory=list)
    tasks: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


def _session() -> Session:
    from core.db import db

    return db.session


def _work(session: Session) -> _Work | None:
    """The session's pending work, or ``None`` when no transaction is open (run at once)."""
    if not session.in_transaction():
        return None
    work = session.info.get(_KEY)
    if work is None:
        work = session.info[_KEY] = _Work()
    return work


def queue(name: str, *args: Any) -> None:
    """Queue the task ``name`` once the current transaction commits."""
    work = _work(_session())
    if work is None:
        _run(current_app._get_current_object(), _Work(tasks=[(name, args)]))  # type: ignore[attr-defined]
    elif (name, args) not in work.tasks:
        work.tasks.append((name, args))


def reindex(document_ids: list[int]) -> None:
    """(Re)index these documents once the current transaction commits."""
    work = _work(_session())
    if work is None:
        _run(current_app._get_current_object(), _Work(index=list(document_ids)))  # type: ignore[attr-defined]
    else:
        work.index.extend(i for i in document_ids if i not in work.index)


def unindex(firm_id: int, document_ids: list[int]) -> None:
    """Drop these documents of ``firm_id`` from the index once the transaction commits."""
    work = _work(_session())
    if work is None:
        _run(current_app._get_current_object(), _Work(unindex=[(firm_id, list(document_ids))]))  # type: ignore[attr-defined]
    else:
        work.unindex.append((firm_id, list(document_ids)))


def _run(app: Flask, work: _Work) -> None:
    """Do ``work`` in a fresh app context (its own database session): the committing session
    may not emit SQL any more. Failures are logged, never raised: the change is committed,
    the index can be rebuilt (``classeur reindex``) and waiting tasks are found again by the
    runners' polling."""
    from core.state import classeur

    with app.app_context():
        state = classeur(app)
        if work.index:
            try:
                from core.search.services import index_documents

                index_documents(work.index)
            except Exception:
                log.exception("indexing documents %s failed", work.index)
        for firm_id, ids in work.unindex:
            try:
                state.search.delete(ids, firm_id)
            except Exception:
                log.exception("removing documents %s from the index failed", ids)
        # End this context's transaction before queueing: an eager runner runs a task at once
        # in a session of its own, which must not wait for this one's lock (SQLite).
        from core.db import db

        db.session.close()
        runner = state.tasks
        for name, args in work.tasks:
            if runner is None:
                break
            try:
                runner.submit(name, *args)
            except Exception:
                log.exception("could not queue %s%r; the runner's polling will", name, args)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    work = session.info.pop(_KEY, None)
    if work is None or not (work.index or work.unindex or work.tasks):
        return
    _run(current_app._get_current_object(), work)  # type: ignore[attr-defined]


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
