"""``classeur serve --with-meg-sandbox PORT`` (the README's run command): an option the
``meg_export`` plugin adds to the core's ``serve``, acted on in its ``before_serve`` hook."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import requests
from flask import Flask

import plugins.meg_export.sandbox as sandbox_package
from plugins import meg_export
from plugins.meg_export.cli import SANDBOX_COOKIE, add_serve_option


def _run(data_dir, *args, env_extra=None):
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir), **(env_extra or {})}
    env.pop("CLASSEUR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_answering(url: str, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=2, allow_redirects=False)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_option_comes_from_the_meg_plugin(tmp_path):
    data_dir = tmp_path / "var"
    with_meg = _run(data_dir, "serve", "--help")
    assert with_meg.returncode == 0, with_meg.stderr
    assert "--with-meg-sandbox" in with_meg.stdout
    without = _run(
        data_dir, "serve", "--help", env_extra={"CLASSEUR_DISABLED_PLUGINS": "meg_export"}
    )
    assert without.returncode == 0, without.stderr
    assert "--with-meg-sandbox" not in without.stdout
    assert "--port" in without.stdout


def test_add_serve_option_once_and_only_to_serve():
    group = click.Group()
    add_serve_option(group)  # no ``serve`` there: nothing to do, no error
    serve = click.Command("serve", params=[click.Option(["--port"], type=int)])
    group.add_command(serve)
    add_serve_option(group)
    add_serve_option(group)
    assert [p.name for p in serve.params] == ["port", "meg_port"]
    assert serve.params[1].opts == ["--with-meg-sandbox"]


def test_before_serve_starts_the_sandbox_and_points_the_app_at_it(tmp_path, monkeypatch):
    started: list[dict] = []
    monkeypatch.setattr(sandbox_package, "run_sandbox", lambda **kwargs: started.append(kwargs))
    monkeypatch.delenv("CLASSEUR_MEG_BASE_URL", raising=False)
    app = Flask("t")
    app.config.update(DATA_DIR=str(tmp_path), MEG_BASE_URL="http://127.0.0.1:8100")

    meg_export.before_serve(app=app, options={"host": "127.0.0.1", "port": 8000, "meg_port": None})
    time.sleep(0.1)
    assert started == [] and app.config["MEG_BASE_URL"] == "http://127.0.0.1:8100"

    meg_export.before_serve(app=app, options={"host": "127.0.0.2", "port": 8000, "meg_port": 8199})
    for _ in range(50):
        if started:
            break
        time.sleep(0.02)
    assert started == [
        {
            "host": "127.0.0.2",
            "port": 8199,
            "data_dir": str(Path(tmp_path) / "meg-sandbox"),
            "config": {"SESSION_COOKIE_NAME": SANDBOX_COOKIE},
            "threads": 8,
        }
    ]
    assert app.config["MEG_BASE_URL"] == "http://127.0.0.2:8199"

    # CLASSEUR_MEG_BASE_URL set: the sandbox is served, the configured MEG is kept.
    monkeypatch.setenv("CLASSEUR_MEG_BASE_URL", "https://meg.example")
    app.config["MEG_BASE_URL"] = "https://meg.example"
    meg_export.before_serve(app=app, options={"host": "127.0.0.1", "port": 8000, "meg_port": 8198})
    assert app.config["MEG_BASE_URL"] == "https://meg.example"


def test_serve_with_meg_sandbox_serves_both(tmp_path):
    data_dir = tmp_path / "var"
    assert _run(data_dir, "init").returncode == 0
    port, meg_port = _free_port(), _free_port()
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir)}
    env.pop("CLASSEUR_DATABASE_URL", None)
    env.pop("CLASSEUR_MEG_BASE_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--with-meg-sandbox",
            str(meg_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sandbox_page = _wait_answering(f"http://127.0.0.1:{meg_port}/")
        assert sandbox_page.status_code == 200
        assert _wait_answering(f"http://127.0.0.1:{port}/login").status_code == 200
        assert (data_dir / "meg-sandbox").is_dir()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert f"MEG sandbox on http://127.0.0.1:{meg_port} (demo@meg.example / demo)" in err
    assert f"Classeur is serving on http://127.0.0.1:{port}" in err
