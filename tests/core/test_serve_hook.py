"""``classeur serve`` and the ``before_serve`` hook: plugins add options to ``serve`` through
``register_cli_commands`` and act on them before the server runs; the core knows none of them.

``serve`` runs in-process here, with waitress's server replaced by one that returns at once.
"""

from __future__ import annotations

from typing import Any

import click
import pytest
import waitress
from click.testing import CliRunner

import core.app
import core.cli
from core.db import db
from core.plugins import hookspecs


class CompanionPlugin:
    """Adds ``serve --with-companion NAME`` and records what ``before_serve`` received."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookspecs.hookimpl
    def register_cli_commands(self, cli: click.Group) -> None:
        serve = cli.commands.get("serve")
        if serve is not None:
            serve.params.append(click.Option(["--with-companion", "companion"], default=None))

    @hookspecs.hookimpl
    def before_serve(self, app: Any, options: dict[str, Any]) -> None:
        self.calls.append({"app": app, "options": dict(options)})
        if options.get("companion"):
            app.config["COMPANION"] = options["companion"]


class FakeServer:
    ran = 0

    def run(self) -> None:
        FakeServer.ran += 1


@pytest.fixture
def serve_in_process(app_config, monkeypatch):
    """A ``classeur``-like group whose ``serve`` builds apps from ``app_config`` plus a
    :class:`CompanionPlugin`; returns ``(invoke, plugin, apps)``."""
    plugin = CompanionPlugin()
    apps: list[Any] = []
    real_create_app = core.app.create_app

    def create_app(overrides=None):
        application = real_create_app(
            {**app_config, **(overrides or {}), "EXTRA_PLUGINS": [plugin]}
        )
        apps.append(application)
        return application

    monkeypatch.setattr(core.app, "create_app", create_app)
    monkeypatch.setattr(waitress, "create_server", lambda app, **kwargs: FakeServer())
    # A copy of the core's ``serve`` (its own parameter list), so that the global command is
    # left as it was; the plugins (built-ins and the companion) add their options to it.
    group = click.Group()
    group.add_command(
        click.Command("serve", params=list(core.cli.serve.params), callback=core.cli.serve.callback)
    )
    create_app({"START_WORKERS": False}).extensions["classeur"].hooks.register_cli_commands(
        cli=group
    )

    def invoke(*args: str):
        return CliRunner().invoke(group, ["serve", *args], catch_exceptions=False)

    yield invoke, plugin, apps
    for application in apps:
        state = application.extensions["classeur"]
        if state.tasks is not None:
            state.tasks.stop(wait=True)
        if state._search is not None:
            state._search.close()
        db.engine_for(application).dispose()


def test_hook_before_serve(serve_in_process):
    invoke, plugin, apps = serve_in_process
    ran = FakeServer.ran
    result = invoke("--port", "8765", "--with-companion", "carillon")
    assert result.exit_code == 0, result.output
    assert FakeServer.ran == ran + 1
    assert len(plugin.calls) == 1
    call = plugin.calls[0]
    served = apps[-1]
    assert call["app"] is served
    assert call["options"]["host"] == "127.0.0.1"
    assert call["options"]["port"] == 8765
    assert call["options"]["threads"] == 8
    assert call["options"]["companion"] == "carillon"
    assert served.config["COMPANION"] == "carillon"
    # Another plugin's option not given is passed as None (meg_export's here).
    assert call["options"]["meg_port"] is None


def test_before_serve_is_not_called_when_the_port_is_busy(serve_in_process, monkeypatch):
    invoke, plugin, _ = serve_in_process

    def busy(app, **kwargs):
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(waitress, "create_server", busy)
    result = invoke("--port", "8765", "--with-companion", "carillon")
    assert result.exit_code == 1 and "Cannot listen" in result.output
    assert plugin.calls == []
