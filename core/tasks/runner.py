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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask

log = logging.getLogger("classeur.tasks")

#: Task functions by name. Each takes plain arguments (ids) and runs in an app context.
TASKS: dict[str, Callable[..., Any]] = {}


def task(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a task function under ``name``."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        TASKS[name] = fn
        return fn

    return decorator


def _load_tasks() -> None:
    # Importing the modules registers their tasks.
    import core.documents.pipeline  # noqa: F401
    import core.exports.services  # noqa: F401


#: Pollers return (task name, args) pairs of work found waiting in the database.
POLLERS: list[Callable[[], list[tuple[str, tuple[Any, ...]]]]] = []
#: Recoverers reset work left half-done by a dead process (run once at start).
RECOVERERS: list[Callable[[], int]] = []


class TaskRunner(ABC):
    """Runs named tasks in the background."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        _load_tasks()

    @abstractmethod
    def submit(self, name: str, *args: Any) -> None:
        """Queue ``TASKS[name](*args)``; duplicates of a queued task are dropped."""

    def start(self) -> None:  # noqa: B027 - optional for runners with nothing to start
        """Start working, after recovering what a previous process left unfinished."""

    def stop(self, wait: bool = True) -> None:  # noqa: B027 - optional, as start()
        """Stop taking work."""

    def run_now(self, name: str, *args: Any) -> Any:
        """Run a task synchronously in a fresh app context (its own DB session)."""
        with self.app.app_context():
            return TASKS[name](*args)

    def recover(self) -> int:
        """Reset work left half-done by a dead process; returns how many rows."""
        with self.app.app_context():
            return sum(fn() for fn in RECOVERERS)

    def poll(self) -> int:
        """Queue every piece of work waiting in the database; returns how many."""
        with self.app.app_context():
            found = [item for poller in POLLERS for item in poller()]
        for name, args in found:
            self.submit(name, *args)
        return len(found)


class InProcessRunner(TaskRunner):
    """A bounded thread pool in the server process, with a poller for due retries."""

    def __init__(self, app: Flask, workers: int = 0, poll_interval: float = 2.0) -> None:
        super().__init__(app)
        self.workers = workers or os.cpu_count() or 2
        self.poll_interval = poll_interval
        self._executor: ThreadPoolExecutor | None = None
        self._queued: set[tuple[str, tuple[Any, ...]]] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._executor is not None

    def start(self) -> None:
        if self._executor is not None:
            return
        recovered = self.recover()
        if recovered:
            log.info("recovered %d unfinished task(s)", recovered)
        self._stop.clear()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="classeur-task")
        self.poll()
        self._poller = threading.Thread(target=self._poll_loop, name="classeur-poller", daemon=True)
        self._poller.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        executor, self._executor = self._executor, None
        if executor is not None:
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
        if name not in TASKS:
            raise KeyError(f"unknown task {name!r}")
        key = (name, args)
        with self._lock:
            if self._executor is None:
                return  # not started: the work stays in the database for the next start
            if key in self._queued:
                return
            self._queued.add(key)
            future = self._executor.submit(self._run, name, args)
        future.add_done_callback(lambda f, key=key: self._done(key, f))

    def _run(self, name: str, args: tuple[Any, ...]) -> Any:
        with self.app.app_context():
            return TASKS[name](*args)

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
