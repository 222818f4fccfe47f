"""The tasks of one application: each declares once its queue, its lease, how waiting work is
found and how work left half-done is put back; both runners (in-process and Celery) read it.

Tasks are contributed through the ``register_tasks`` hook (the core's own by
``core.default_plugin``), so two apps in one process may have different tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from core.db import db, utcnow

log = logging.getLogger("classeur.tasks")

#: The queues. ``reading``: documents (OCR, extraction); ``exports``: sends to accounting
#: software; ``training``: learning from validated documents; ``default``: everything else.
#: Each has its own workers, so a burst of OCR never delays an export nor a model fit.
QUEUES: tuple[str, ...] = ("reading", "exports", "training", "default")


@dataclass(frozen=True)
class Lease:
    """How a task claims its row while working on it: the row's ``model`` (the task's first
    argument is the row's id), its ``state`` while claimed (``working``), and the values that
    put the row back (``reset``) when its worker died. The model has ``state`` and
    ``updated_at`` columns; a live worker renews ``updated_at`` (the lease)."""

    model: type
    working: str
    reset: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """A task: ``run(*args)`` runs in a fresh app context with plain (JSON) arguments.

    ``queue``: one of :data:`QUEUES`. ``lease``: the row the task claims, if any (recovered
    generically by both runners). ``poll``: returns the argument tuples of work waiting in the
    database (called periodically and at start). ``outstanding``: counts work waiting or under
    way (to wait until idle).
    """

    name: str
    run: Callable[..., Any]
    queue: str = "default"
    lease: Lease | None = None
    poll: Callable[[], list[tuple[Any, ...]]] | None = None
    outstanding: Callable[[], int] | None = None

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(
                f"task {self.name!r}: unknown queue {self.queue!r}; expected one of "
                f"{', '.join(QUEUES)}"
            )


class TaskRegistry:
    """The tasks of one app, filled at start-up through ``register_tasks``."""

    def __init__(self) -> None:
        self._specs: dict[str, TaskSpec] = {}

    def register(self, spec: TaskSpec) -> None:
        """Add a task; a name registered twice is a programming error."""
        if spec.name in self._specs:
            raise RuntimeError(f"task {spec.name!r} registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> TaskSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[TaskSpec]:
        return iter(self._specs.values())

    def queue_of(self, name: str) -> str:
        """The queue of the task ``name`` (``default`` for an unknown name)."""
        spec = self._specs.get(name)
        return spec.queue if spec else "default"

    def leases(self) -> dict[str, Lease]:
        """The leased tasks by name."""
        return {s.name: s.lease for s in self._specs.values() if s.lease is not None}

    def waiting(self) -> list[tuple[str, tuple[Any, ...]]]:
        """``(name, args)`` of every piece of work waiting in the database (app context)."""
        found: list[tuple[str, tuple[Any, ...]]] = []
        for spec in self._specs.values():
            if spec.poll is not None:
                found.extend((spec.name, tuple(args)) for args in spec.poll())
        return found

    def outstanding(self) -> int:
        """Work waiting or under way, over every task that can tell (app context)."""
        return sum(s.outstanding() for s in self._specs.values() if s.outstanding is not None)

    def recover(self, older_than: timedelta | None = None) -> list[tuple[str, int]]:
        """Put back rows claimed by a worker that is gone; ``(name, row id)`` of each.

        ``older_than``: only rows whose lease was not renewed for that long (several live
        processes: Celery workers); ``None``: every claimed row (one process that just started,
        so nothing it claimed is still being worked on). Needs an app context; commits.
        """
        cutoff: datetime | None = utcnow() - older_than if older_than is not None else None
        recovered: list[tuple[str, int]] = []
        for name, lease in self.leases().items():
            model: Any = lease.model
            stmt = update(model).where(model.state == lease.working)
            if cutoff is not None:
                stmt = stmt.where(model.updated_at < cutoff)
            ids = db.session.scalars(
                stmt.values(**lease.reset, updated_at=utcnow())
                .returning(model.id)
                .execution_options(synchronize_session=False)
            ).all()
            db.session.commit()
            if ids:
                log.warning("%s: put back %s left unfinished", name, sorted(ids))
            recovered.extend((name, i) for i in ids)
        return recovered

    def touch(self, name: str, ids: list[int]) -> int:
        """Renew the lease of the rows ``ids`` a live worker is processing for task ``name``."""
        lease = self.leases().get(name)
        if lease is None or not ids:
            return 0
        model: Any = lease.model
        result = db.session.execute(
            update(model)
            .where(model.id.in_(ids), model.state == lease.working)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return int(result.rowcount or 0)
