"""Scale-out task runner: the same task functions, run by Celery workers through a broker.

The web process only *sends* work: :meth:`CeleryRunner.submit` publishes one generic Celery
task, ``classeur.run``, carrying the task name and its arguments, on the queue of that name
(``reading``, ``exports`` or ``default``), so a burst of OCR never delays an export. Workers
(``classeur worker``, see :mod:`core.tasks.worker`) consume those queues.

Nothing is lost when a worker dies, on two levels:

* the message: ``acks_late`` and ``reject_on_worker_lost`` keep it in the broker until the task
  ends, so it is delivered again (after the broker's visibility timeout with Redis);
* the row: a task claims its row (``received → extracting``, ``pending → sending``) before
  working, so a redelivered task whose first run died finds the row claimed and skips it. The
  row is therefore recovered by a **lease**: while a worker runs a task, a heartbeat thread
  touches the claimed row's ``updated_at`` every third of ``TASK_LEASE``; a periodic sweep puts
  back only rows claimed and untouched for longer than the lease (their worker is dead), then
  queues waiting work. A row a live worker is processing is never reset, whatever the number of
  web and worker processes.

With a Redis broker two small Redis keys complete this: ``classeur:queued:<task>:<args>``
drops duplicates of a queued or running task (as the in-process runner does), and ``classeur:sweep``
makes one worker of the cluster sweep per interval.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flask import Flask

from core.tasks.registry import QUEUES, TaskRegistry
from core.tasks.runner import TaskRunner

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("classeur.tasks")

#: Said when the Celery runner is asked for and Celery is not installed.
CELERY_MISSING = 'Celery n\'est pas installé : pip install "classeur[celery]"'


class CeleryNotInstalled(ValueError):
    """``CLASSEUR_TASK_RUNNER=celery`` (or ``classeur worker``) without the ``celery`` extra.

    A ``ValueError`` like the runner's other bad settings; its message is :data:`CELERY_MISSING`.
    """

    def __init__(self) -> None:
        super().__init__(CELERY_MISSING)


def require_celery() -> ModuleType:
    """The ``celery`` module, imported now: Classeur imports Celery only when its runner is
    used, so that ``pip install classeur`` without the ``celery`` extra works. Raises
    :class:`CeleryNotInstalled` when Celery (or its ``kombu``) cannot be imported."""
    try:
        import celery
        import kombu  # noqa: F401
    except ImportError as exc:
        raise CeleryNotInstalled() from exc
    return celery


#: The one Celery task: ``classeur.run(name, args)`` runs the app's task ``name``.
CELERY_TASK = "classeur.run"

__all__ = ["QUEUES", "CeleryRunner", "make_celery"]

#: Settings this module reads (``CLASSEUR_<NAME>`` in the environment), with their defaults.
SETTINGS: dict[str, float] = {
    # Seconds a claimed row may go without its worker's heartbeat before another may retake it.
    "TASK_LEASE": 60.0,
    # Seconds between two sweeps (stale leases put back, waiting work and due retries queued).
    "POLL_INTERVAL": 5.0,
    # Seconds before Redis gives an unacknowledged message (its worker died) to another worker.
    "BROKER_VISIBILITY_TIMEOUT": 3600.0,
    # Seconds a "queued" marker lives: a lost message is queued again after this at the latest.
    "QUEUED_TTL": 900.0,
}

QUEUED_PREFIX = "classeur:queued:"
SWEEP_LOCK = "classeur:sweep"


def setting(config: Mapping[str, Any], name: str) -> float:
    """A numeric setting of :data:`SETTINGS`: the app config, then the environment, then the
    default."""
    value = config.get(name)
    if value in (None, ""):
        value = os.environ.get(f"CLASSEUR_{name}", "")
    if value in (None, ""):
        return SETTINGS[name]
    return float(value)


def make_celery(config: Mapping[str, Any], name: str = "classeur") -> Celery:
    """The Celery app for ``config`` (its ``BROKER_URL``), used to send and to run tasks."""
    require_celery()
    from celery import Celery
    from kombu import Queue

    broker = config.get("BROKER_URL") or os.environ.get("CLASSEUR_BROKER_URL", "")
    if not broker:
        raise ValueError("CLASSEUR_TASK_RUNNER=celery needs CLASSEUR_BROKER_URL (redis://...)")
    celery = Celery(name, broker=broker, set_as_current=False)
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_default_queue="default",
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_create_missing_queues=False,
        # A task is acknowledged when it ends, and given back if its worker dies meanwhile.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Tasks run in threads of one process per worker: one Flask app, one OCR process pool
        # (a prefork child is daemonic and may not start the OCR engine's processes).
        worker_pool="threads",
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": setting(config, "BROKER_VISIBILITY_TIMEOUT"),
        },
        # A web request must not hang on a dead broker: the work stays in the database.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    )
    return celery


def redis_client(config: Mapping[str, Any]) -> Any | None:
    """A Redis client on the broker when it is Redis, else ``None`` (no deduplication)."""
    broker = config.get("BROKER_URL") or os.environ.get("CLASSEUR_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    return redis.Redis.from_url(broker, socket_timeout=5, socket_connect_timeout=5)


def queued_key(name: str, args: tuple[Any, ...]) -> str:
    """The Redis key marking ``name(*args)`` as queued or running."""
    return QUEUED_PREFIX + name + ":" + json.dumps(list(args), separators=(",", ":"))


def recover_stale(registry: TaskRegistry, lease_seconds: float) -> list[tuple[str, int]]:
    """Put back rows claimed by a worker that stopped renewing their lease ``lease_seconds``
    ago (it died); rows of live workers are left alone. Needs an app context."""
    return registry.recover(timedelta(seconds=lease_seconds))


# --- the runner ------------------------------------------------------------------------------


class CeleryRunner(TaskRunner):
    """Sends tasks to Celery workers; the process using it never runs a task itself."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.celery = make_celery(app.config)
        self._redis: Any | None = None
        self._redis_ready = False

    @property
    def lease_seconds(self) -> float:
        """Seconds after which a claimed row whose worker stopped heartbeating is retaken."""
        return setting(self.app.config, "TASK_LEASE")

    @property
    def poll_interval(self) -> float:
        """Seconds between two sweeps of the workers."""
        return setting(self.app.config, "POLL_INTERVAL")

    @property
    def redis(self) -> Any | None:
        """The Redis client of the broker (``None`` with another broker)."""
        if not self._redis_ready:
            self._redis = redis_client(self.app.config)
            self._redis_ready = True
        return self._redis

    def submit(self, name: str, *args: Any) -> None:
        """Queue task ``name`` with ``args`` on its queue; a task already queued (or running) is not
        queued twice.

        If the broker cannot be reached the work stays in the database and the next sweep
        queues it: the caller (a web request, after its commit) does not fail.
        """
        self.send(name, args)

    def send(self, name: str, args: tuple[Any, ...]) -> bool:
        """:meth:`submit`, returning whether a message was sent (False: a duplicate, or the
        broker is unreachable)."""
        spec = self.spec(name)
        key = queued_key(name, args)
        marked = False
        try:
            if self.redis is not None:
                ttl = int(setting(self.app.config, "QUEUED_TTL"))
                if not self.redis.set(key, b"1", nx=True, ex=ttl):
                    return False  # queued or running already
                marked = True
            self.celery.send_task(CELERY_TASK, args=[name, list(args)], queue=spec.queue)
            return True
        except Exception:
            log.exception("could not queue %s%r; the next sweep will", name, args)
            if marked:
                try:
                    self.redis.delete(key)  # type: ignore[union-attr]
                except Exception:
                    log.debug("could not clear the queued marker %s", key)
            return False

    def finished(self, *tasks: tuple[str, tuple[Any, ...]]) -> None:
        """Called when tasks ended (or died): they may be queued again from now on.

        The marker lives while the task runs, so a sweep never queues a duplicate of a task
        whose row is not claimed yet; the recovery clears the markers of dead workers' tasks.
        """
        if self.redis is None or not tasks:
            return
        try:
            self.redis.delete(*(queued_key(name, args) for name, args in tasks))
        except Exception:
            log.warning("could not clear the queued markers of %r", tasks)

    def start(self) -> None:
        """Queue the work waiting in the database (workers do the rest)."""
        try:
            found = self.poll()
        except Exception:  # the web must start even if the broker or the database is late
            log.exception("could not queue the waiting work at start-up")
            return
        if found:
            log.info("queued %d waiting task(s)", found)

    def stop(self, wait: bool = True) -> None:
        """Close the connections to the broker."""
        if self._redis is not None:
            self._redis.close()
        self._redis, self._redis_ready = None, False

    def recover(self) -> int:
        """Put back only rows whose lease expired (their worker died): safe with live workers."""
        with self.app.app_context():
            recovered = recover_stale(self.registry, self.lease_seconds)
        self.finished(*((name, (row_id,)) for name, row_id in recovered))
        return len(recovered)

    def poll(self) -> int:
        """Queue the work waiting in the database; returns how many messages were sent (work
        already queued or running is not queued again)."""
        with self.app.app_context():
            found = self.registry.waiting()
        return sum(self.send(name, tuple(args)) for name, args in found)

    def sweep(self) -> int:
        """One round of the periodic work: expired leases put back, then waiting work and due
        retries queued. Returns how many tasks were queued."""
        self.recover()
        return self.poll()

    def try_sweep(self) -> int | None:
        """Sweep unless another worker of the cluster swept less than an interval ago."""
        if self.redis is not None:
            lock = int(self.poll_interval * 1000 * 0.9) or 1
            if not self.redis.set(SWEEP_LOCK, b"1", nx=True, px=lock):
                return None
        return self.sweep()

    def pending(self) -> int:
        """Messages waiting in the broker's queues (Redis only; 0 otherwise)."""
        if self.redis is None:
            return 0
        return sum(int(self.redis.llen(queue)) for queue in QUEUES)

    def wait_idle(self, timeout: float = 60.0, poll: bool = True) -> bool:
        """Wait until the workers have no work left in the database; True if idle in time.

        ``poll`` also queues waiting work while waiting (as the in-process runner does).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if poll:
                self.poll()
            with self.app.app_context():
                if self.registry.outstanding() == 0:
                    return True
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        return False
