"""The Celery worker of Classeur: ``classeur worker``, or
``celery -A core.tasks.worker:celery_app worker`` with the same ``CLASSEUR_*`` environment.

A worker process builds one Flask app (``core.app.create_app()`` from the environment, with
the Celery runner) on first use and runs each task in a fresh app context, in a pool of
threads. Two background threads complete the runner (see :mod:`core.tasks.celery_runner`):

* the **heartbeat** renews the lease of every row a task of this process has claimed;
* the **sweeper** puts back rows whose lease expired (their worker died) and queues waiting
  work and due export retries — once per ``POLL_INTERVAL`` for the whole cluster.

Celery is imported only when a worker starts (:func:`get_celery`): the ``classeur`` command
loads this module for ``classeur worker`` and must work without the ``celery`` extra.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from flask import Flask

from core.tasks.celery_runner import (
    CELERY_TASK,
    QUEUES,
    CeleryRunner,
    make_celery,
    require_celery,
)

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("classeur.tasks.worker")

_lock = threading.Lock()
_celery: Celery | None = None
_flask: Flask | None = None
_services: _Services | None = None


def flask_app() -> Flask:
    """The Flask app of this worker process, created on first use from the environment."""
    global _flask
    with _lock:
        if _flask is None:
            from core.app import create_app

            _flask = create_app({"TASK_RUNNER": "celery", "START_WORKERS": False})
        return _flask


def runner() -> CeleryRunner:
    """The Celery runner of this process's app."""
    tasks = flask_app().extensions["classeur"].tasks
    assert isinstance(tasks, CeleryRunner)
    return tasks


def run_task(name: str, args: list[Any]) -> Any:
    """Run the app's task ``name`` in a fresh app context, holding its row's lease meanwhile."""
    app = flask_app()
    try:
        spec = app.extensions["classeur"].task_registry.get(name)
        if spec is None:  # a plugin missing on this worker: say so, do not retry forever
            log.error("unknown task %r: is its plugin installed on this worker?", name)
            return None
        services = _services
        lease = services.heartbeat.hold(name, args) if services else _nothing()
        with lease, app.app_context():
            result = spec.run(*args)
        log.info("%s%r: %s", name, tuple(args), result)
        return result
    finally:
        runner().finished((name, tuple(args)))


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class _Periodic:
    """A daemon thread calling :meth:`tick` every ``interval`` seconds until stopped."""

    thread_name = "classeur-periodic"
    interval: float

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a broker or database hiccup must not end the thread
                log.exception("%s failed", self.thread_name)


class Heartbeat(_Periodic):
    """Renews, every ``interval`` seconds, the lease of the rows this process is working on."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__()
        self.app = app
        self.interval = interval
        self._held: Counter[tuple[str, int]] = Counter()
        self._registry = app.extensions["classeur"].task_registry
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, name: str, args: list[Any] | tuple[Any, ...]) -> Iterator[None]:
        """Keep the lease of the row of ``name(*args)`` alive while the block runs."""
        if name not in self._registry.leases() or not args:
            yield
            return
        key = (name, int(args[0]))
        with self._lock:
            self._held[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]

    def held(self) -> dict[str, list[int]]:
        """The rows held now, by task name."""
        out: dict[str, list[int]] = {}
        with self._lock:
            for name, row_id in self._held:
                out.setdefault(name, []).append(row_id)
        return out

    def beat(self) -> int:
        """Renew every held lease once; returns how many rows were touched."""
        held = self.held()
        if not held:
            return 0
        with self.app.app_context():
            return sum(self._registry.touch(name, ids) for name, ids in held.items())

    thread_name = "classeur-heartbeat"

    def tick(self) -> None:
        self.beat()


class Sweeper(_Periodic):
    """Runs :meth:`CeleryRunner.try_sweep` every ``POLL_INTERVAL`` seconds."""

    thread_name = "classeur-sweeper"

    def __init__(self, tasks: CeleryRunner) -> None:
        super().__init__()
        self.tasks = tasks
        self.interval = tasks.poll_interval

    def tick(self) -> None:
        queued = self.tasks.try_sweep()
        if queued:
            log.info("sweep queued %d task(s)", queued)


class _Services:
    def __init__(self, app: Flask, tasks: CeleryRunner) -> None:
        self.heartbeat = Heartbeat(app, tasks.lease_seconds / 3)
        self.sweeper = Sweeper(tasks)

    def start(self) -> None:
        self.heartbeat.start()
        self.sweeper.start()

    def stop(self) -> None:
        self.sweeper.stop()
        self.heartbeat.stop()


def _on_worker_ready(**_: Any) -> None:
    global _services
    services = _Services(flask_app(), runner())
    _services = services
    services.start()
    log.info("classeur worker ready (pid %d)", os.getpid())


def _on_worker_shutdown(**_: Any) -> None:
    global _services
    if _services is not None:
        _services.stop()
        _services = None


def get_celery() -> Celery:
    """The Celery app of the worker (built once from the environment), with its task."""
    global _celery
    with _lock:
        if _celery is None:
            from core.config import load_config

            require_celery()
            from celery import signals

            celery = make_celery(load_config())
            celery.task(name=CELERY_TASK, acks_late=True, reject_on_worker_lost=True)(run_task)
            signals.worker_ready.connect(_on_worker_ready, weak=False)
            signals.worker_shutdown.connect(_on_worker_shutdown, weak=False)
            _celery = celery
        return _celery


def __getattr__(name: str) -> Any:
    # ``celery -A core.tasks.worker:celery_app``: built on access, not at import, so importing
    # ``worker_command`` into the CLI needs no broker setting.
    if name == "celery_app":
        return get_celery()
    raise AttributeError(name)


@click.command("worker")
@click.option(
    "--queues",
    "-Q",
    default=",".join(QUEUES),
    show_default=True,
    help="Comma-separated queues to consume: reading, exports, default.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=0),
    default=0,
    help="Tasks run at once (threads); 0 means the number of CPUs.",
)
@click.option("--loglevel", "-l", default="info", show_default=True)
def worker_command(queues: str, concurrency: int, loglevel: str) -> None:
    """Run a Celery worker (needs CLASSEUR_TASK_RUNNER=celery and CLASSEUR_BROKER_URL)."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(QUEUES))
    if not wanted or unknown:
        raise click.BadParameter(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; choose among {', '.join(QUEUES)}",
            param_hint="--queues",
        )
    try:
        celery = get_celery()
        flask_app()  # fail now, with a clear message, on a bad setting
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    celery.worker_main(
        [
            "worker",
            "--queues",
            ",".join(wanted),
            "--concurrency",
            str(concurrency or os.cpu_count() or 2),
            "--loglevel",
            loglevel,
            "--pool",
            "threads",
            "--hostname",
            f"classeur-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
    )
