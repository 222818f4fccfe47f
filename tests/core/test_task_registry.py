"""The task registry of an app (``register_tasks``), the in-process runner's queues, the
generic lease recovery, and the one after-commit step that queues tasks and indexing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from core.app import create_app
from core.db import db
from core.documents.models import Document, DocumentState
from core.plugins.hookspecs import hookimpl
from core.search.backend import SearchQuery
from core.search.services import flush, search
from core.tasks import after_commit
from core.tasks.registry import QUEUES, TaskRegistry, TaskSpec
from tests.conftest import wait_for


class RecordingPlugin:
    """Registers a task on the ``training`` queue that records its thread and arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.done = threading.Event()

    def record(self, *args: Any) -> str:
        self.calls.append((threading.current_thread().name, args))
        self.done.set()
        return "ok"

    @hookimpl
    def register_tasks(self, register: Any) -> None:
        register(TaskSpec(name="test.record", run=self.record, queue="training"))


@pytest.fixture
def plugged(app_config: dict[str, Any]) -> Any:
    plugin = RecordingPlugin()
    application = create_app({**app_config, "EXTRA_PLUGINS": [plugin]})
    yield application, plugin
    state = application.extensions["classeur"]
    if state.tasks is not None:
        state.tasks.stop(wait=True)
    db.engine_for(application).dispose()


def test_hook_register_tasks(plugged: Any) -> None:
    """A plugin's task joins its app's registry with its queue, and the in-process runner runs
    it on that queue's own threads; the core's tasks are there too."""
    application, plugin = plugged
    registry = application.extensions["classeur"].task_registry
    assert registry.get("test.record").queue == "training"
    assert registry.queue_of("process_document") == "reading"
    assert registry.queue_of("run_export") == "exports"
    assert "binder_purchases.train_model" in registry
    runner = application.extensions["classeur"].tasks
    runner.start()
    runner.submit("test.record", 7)
    assert plugin.done.wait(10)
    thread, args = plugin.calls[0]
    assert args == (7,)
    assert thread.startswith("classeur-training")
    with pytest.raises(KeyError):
        runner.submit("no.such.task")


def test_another_app_in_the_same_process_has_its_own_tasks(plugged: Any, app: Any) -> None:
    application, _ = plugged
    assert "test.record" in application.extensions["classeur"].task_registry
    assert "test.record" not in app.extensions["classeur"].task_registry


def test_a_task_declares_a_known_queue_once() -> None:
    registry = TaskRegistry()
    registry.register(TaskSpec(name="a", run=print))
    with pytest.raises(RuntimeError):
        registry.register(TaskSpec(name="a", run=print))
    with pytest.raises(ValueError, match="unknown queue"):
        TaskSpec(name="b", run=print, queue="ocr")
    assert set(QUEUES) == {"reading", "exports", "training", "default"}


def test_recovery_puts_back_claimed_rows_from_the_lease(
    app: Any, world: dict[str, Any], factory: Any
) -> None:
    """A document left ``extracting`` by a dead process is put back to ``received`` by the
    reading task's declared lease, and the poll finds it again."""
    document = factory.document(world["a"]["binders"][0], state=DocumentState.EXTRACTING)
    with app.app_context():
        registry = app.extensions["classeur"].task_registry
        recovered = registry.recover()
        assert ("process_document", document.id) in recovered
        assert db.session.get(Document, document.id).state == DocumentState.RECEIVED
        assert ("process_document", (document.id,)) in registry.waiting()
        assert registry.outstanding() >= 1


def test_after_commit_runs_on_commit_and_forgets_on_rollback(plugged: Any) -> None:
    application, plugin = plugged
    application.extensions["classeur"].tasks.start()
    with application.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit.queue("test.record", "rolled back")
        db.session.rollback()
        db.session.execute(text("SELECT 1"))
        after_commit.queue("test.record", "committed")
        after_commit.queue("test.record", "committed")  # once per transaction
        assert plugin.calls == []  # nothing before the commit
        db.session.commit()
    wait_for(lambda: plugin.calls)
    application.extensions["classeur"].tasks.wait_idle(timeout=10, poll=False)
    assert [args for _, args in plugin.calls] == [("committed",)]


def test_after_commit_indexes_once_committed(app: Any, world: dict[str, Any], factory: Any) -> None:
    """Indexing asked by a service happens once its transaction commits, never before, and
    never for a rolled-back change."""
    binder = world["a"]["binders"][0]
    first = factory.document(binder, state=DocumentState.TO_REVIEW)
    second = factory.document(binder, state=DocumentState.TO_REVIEW)
    firm_id = world["a"]["firm"].id
    with app.test_request_context(method="POST"):
        db.session.get(Document, second.id)
        after_commit.reindex([second.id])
        db.session.rollback()
        db.session.get(Document, first.id)
        after_commit.reindex([first.id])
        assert _indexed(firm_id) == set()  # not before the commit
        db.session.commit()
        assert _indexed(firm_id) == {first.id}


def test_outside_a_transaction_the_work_runs_at_once(
    app: Any, world: dict[str, Any], factory: Any
) -> None:
    document = factory.document(world["a"]["binders"][0], state=DocumentState.TO_REVIEW)
    with app.test_request_context(method="POST"):
        assert not db.session.in_transaction()
        after_commit.reindex([document.id])
        assert _indexed(world["a"]["firm"].id) == {document.id}


def _indexed(firm_id: int) -> set[int]:
    flush()
    result = search(SearchQuery(firm_id=firm_id, q="texte", per_page=50))
    return {hit.id for hit in result.hits}
