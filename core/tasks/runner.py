"""The task runner: one interface, an in-process bounded pool by default.

The state of the work lives in the database (a document's processing state, an export's
status), never only in the runner's memory: a task is a plain, idempotent function of an id
that claims its row with a compare-and-set before working. So work cut short by a crash or a
stop is found again by :meth:`TaskRunner.recover` and :meth:`TaskRunner.poll` at the next start.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask

from core.tasks.registry import QUEUES, TaskRegistry, TaskSpec

log = logging.getLogger("classeur.tasks")


class TaskRunner(ABC):
    """Runs the app's named tasks (its :class:`~core.tasks.registry.TaskRegistry`) in the
    background."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    @property
    def registry(self) -> TaskRegistry:
        """The tasks of this runner's app."""
        return self.app.extensions["classeur"].task_registry

    def spec(self, name: str) -> TaskSpec:
        """The task ``name``; ``KeyError`` if no plugin registered it."""
        spec = self.registry.get(name)
        if spec is None:
            raise KeyError(f"unknown task {name!r}")
        return spec

    @abstractmethod
    def submit(self, name: str, *args: Any) -> None:
        """Queue task ``name`` with ``args``; duplicates of a queued task are dropped."""

    def start(self) -> None:  # noqa: B027 - optional for runners with nothing to start
        """Start working, after recovering what a previous process left unfinished."""

    def stop(self, wait: bool = True) -> None:  # noqa: B027 - optional, as start()
        """Stop taking work."""

    def run_now(self, name: str, *args: Any) -> Any:
        """Run a task synchronously in a fresh app context (its own DB session)."""
        spec = self.spec(name)
        with self.app.app_context():
            return spec.run(*args)

    def recover(self) -> int:
        """Put back the rows this process's predecessor claimed and left unfinished (this
        runner is the only one working on them); returns how many."""
        with self.app.app_context():
            return len(self.registry.recover())

    def poll(self) -> int:
        """Queue every piece of work waiting in the database; returns how many."""
        with self.app.app_context():
            found = self.registry.waiting()
        for name, args in found:
            self.submit(name, *args)
        return len(found)


def _hashable(value: Any) -> Any:
    """Arguments as a key (JSON-like lists become tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class InProcessRunner(TaskRunner):
    """Bounded thread pools in the server process, one per queue (reading gets ``workers``
    threads, the others :data:`QUEUE_THREADS`), with a poller for waiting work and due
    retries."""

    #: Threads of each queue but ``reading`` (whose size is the ``workers`` setting).
    QUEUE_THREADS = {"exports": 2, "training": 1, "default": 1}

    def __init__(self, app: Flask, workers: int = 0, poll_interval: float = 2.0) -> None:
        super().__init__(app)
        self.workers = workers or os.cpu_count() or 2
        self.poll_interval = poll_interval
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._queued: set[tuple[str, tuple[Any, ...]]] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return bool(self._executors)

    def start(self) -> None:
        if self._executors:
            return
        recovered = self.recover()
        if recovered:
            log.info("recovered %d unfinished task(s)", recovered)
        self._stop.clear()
        with self._lock:
            self._executors = {
                queue: ThreadPoolExecutor(
                    self.workers if queue == "reading" else self.QUEUE_THREADS.get(queue, 1),
                    thread_name_prefix=f"classeur-{queue}",
                )
                for queue in QUEUES
            }
        self.poll()
        self._poller = threading.Thread(target=self._poll_loop, name="classeur-poller", daemon=True)
        self._poller.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        with self._lock:
            executors, self._executors = self._executors, {}
        for executor in executors.values():
            executor.shutdown(wait=wait, cancel_futures=not wait)
        if self._poller is not None and wait:
            self._poller.join(timeout=5)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll()
            except Exception:  # the poller must outlive a database hiccup
                log.exception("task poller failed")

    def submit(self, name: str, *args: Any) -> None:
        spec = self.spec(name)
        key = (name, _hashable(args))
        with self._lock:
            executor = self._executors.get(spec.queue)
            if executor is None:
                return  # not started: the work stays in the database for the next start
            if key in self._queued:
                return
            self._queued.add(key)
            future = executor.submit(self._run, spec, args)
        future.add_done_callback(lambda f, key=key: self._done(key, f))

    def _run(self, spec: TaskSpec, args: tuple[Any, ...]) -> Any:
        with self.app.app_context():
            return spec.run(*args)

    def _done(self, key: tuple[str, tuple[Any, ...]], future: Future[Any]) -> None:
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:
            log.error("task %s%r failed", key[0], key[1], exc_info=exc)
        with self._lock:
            self._queued.discard(key)
            self._idle.notify_all()

    def pending(self) -> int:
        with self._lock:
            return len(self._queued)

    def wait_idle(self, timeout: float = 60.0, poll: bool = True) -> bool:
        """Wait until nothing is queued (polling the database too); True if idle in time."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._idle.wait_for(lambda: not self._queued, timeout=0.2)
                idle = not self._queued
            if idle and (not poll or self.poll() == 0):
                with self._lock:
                    if not self._queued:
                        return True
        return False


class EagerRunner(TaskRunner):
    """Runs each task at once, synchronously (for commands that must finish their work)."""

    def submit(self, name: str, *args: Any) -> None:
        self.run_now(name, *args)


def make_runner(app: Flask) -> TaskRunner:
    """The runner chosen by ``TASK_RUNNER``."""
    kind = app.config.get("TASK_RUNNER", "inprocess")
    if kind == "eager":
        return EagerRunner(app)
    if kind == "celery":
        from core.tasks.celery_runner import CeleryRunner

        return CeleryRunner(app)
    if kind != "inprocess":
        raise ValueError(f"CLASSEUR_TASK_RUNNER must be inprocess, eager or celery, not {kind!r}")
    return InProcessRunner(app, workers=int(app.config.get("WORKERS") or 0))
